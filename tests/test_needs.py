"""Each investigation declares what it reads of the trail (``Needs``) and its loads push it down: the same verdicts
and findings as with every column, on the demo account (and for ``hunt`` on Stratus Red Team's detonations too)."""
import pytest
from conftest import STRATUS
from test_reboot_demo import EXPECTED

from trailtools.investigations.base import Needs
from trailtools.investigations.cost import gather as cost_gather
from trailtools.investigations.reboot import gather as reboot_gather
from trailtools.rules import hunt as hunt_mod


def _without_query(doc):
    """A JSON document without what says how the trail was queried (the columns asked are part of it)."""
    if isinstance(doc, dict):
        return {k: _without_query(v) for k, v in doc.items() if k not in ("query", "generated_at", "elapsed_s",
                                                                              "files_cached")}
    if isinstance(doc, list):
        return [_without_query(v) for v in doc]
    return doc


def test_needs_are_data_and_become_the_query():
    needs = Needs(event_names=("RunInstances", "RunInstances"), columns=("userAgent",))
    assert needs.event_names == ("RunInstances",)
    q = needs.query(start="2026-10-01", end="2026-10-02", resource="i-0123456789abcdef0")
    assert (q.event_names, q.columns, q.resource) == (("RunInstances",), ("userAgent",), "i-0123456789abcdef0")
    assert needs.query(event_names=("CreateVolume",)).event_names == ("CreateVolume",)
    assert needs.to_dict() == {"event_names": ["RunInstances"], "columns": ["userAgent"]}
    for declared in (reboot_gather.NEEDS, cost_gather.NEEDS, hunt_mod.NEEDS):
        assert declared.columns and declared.query().frame_columns()   # every column it names exists


@pytest.mark.slow
@pytest.mark.parametrize("instance", sorted(EXPECTED))
def test_reboot_verdicts_are_the_same_with_every_column(instance, monkeypatch):
    projected = reboot_gather.investigate(instance)
    assert set(projected.evidence.calls.columns) == set(reboot_gather.NEEDS.query().frame_columns())
    monkeypatch.setattr(reboot_gather, "NEEDS", Needs())
    whole = reboot_gather.investigate(instance)
    assert len(whole.evidence.calls.columns) > len(projected.evidence.calls.columns)
    assert _without_query(projected.to_dict()) == _without_query(whole.to_dict())
    assert projected.evidence_table().frame.equals(whole.evidence_table().frame)


@pytest.mark.slow
def test_cost_findings_are_the_same_with_every_column(monkeypatch):
    projected = cost_gather.investigate()
    monkeypatch.setattr(cost_gather, "NEEDS", Needs(event_names=cost_gather.NEEDS.event_names))
    whole = cost_gather.investigate()
    assert len(whole.evidence.events.columns) > len(projected.evidence.events.columns)
    assert _without_query(projected.to_dict()) == _without_query(whole.to_dict())


@pytest.mark.slow
@pytest.mark.parametrize("source", ["demo", "stratus"])
def test_hunt_findings_are_the_same_with_every_column(source, monkeypatch):
    if source == "stratus":
        if not STRATUS.exists():
            pytest.skip("shared dataset not found")
        source = str(STRATUS)
    projected = hunt_mod.hunt(source)
    monkeypatch.setattr(hunt_mod, "NEEDS", Needs())
    whole = hunt_mod.hunt(source)
    assert len(whole.frame.columns) > len(projected.frame.columns)
    assert projected.findings and [f.to_dict() for f in projected.findings] == [f.to_dict() for f in whole.findings]
    assert _without_query(projected.to_dict()) == _without_query(whole.to_dict())
