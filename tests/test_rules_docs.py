"""docs/rules.md is generated from the rules and kept current."""
from conftest import ROOT

from trailtools.rules import registry
from trailtools.rules.docs import render


def test_docs_rules_md_is_current():
    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8") == render(), \
        "docs/rules.md is stale: python -m trailtools.rules.docs > docs/rules.md"


def test_every_rule_has_its_section_and_traildiscover_is_credited():
    page = render()
    for rule in registry.RULES.values():
        assert f"### `{rule.id}`: {rule.title}" in page and rule.next_steps in page
    assert "TrailDiscover by Adan Alvarez" in page and "CC-BY-4.0" in page
