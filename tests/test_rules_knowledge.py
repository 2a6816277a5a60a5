"""TrailDiscover's knowledge (CC-BY-4.0, credited): the committed extract is what extract() builds from the dataset,
it credits the source, findings carry the card of their call, and each rule's MITRE tactic agrees with
TrailDiscover's for one of its calls, or the rule says why not."""
import json

from conftest import DATASETS, need

from trailtools.rules import knowledge, registry
from trailtools.rules.examples import examples, frame_of

EXTRACT = knowledge.__file__.replace("knowledge.py", "knowledge/traildiscover.json")


def test_extract_is_current_and_credits_traildiscover():
    built = knowledge.extract(need(DATASETS / "traildiscover" / "events.json"),
                              registry.event_names(registry.select()))
    committed = json.loads(open(EXTRACT, encoding="utf-8").read())
    assert committed == built
    assert "TrailDiscover by Adan Alvarez" in committed["source"] and committed["license"] == "CC-BY-4.0"
    assert set(committed["events"]) <= set(registry.event_names(registry.select()))   # small: the rules' calls only


def test_card_of_a_call():
    c = knowledge.card("ModifySnapshotAttribute")
    assert c.tactics == ("TA0010 - Exfiltration",) and c.techniques[0].startswith("T1537")
    assert c.used_in_wild and c.incidents and "snapshot" in c.how_attackers_use.lower()
    assert knowledge.card("PutBucketPublicAccessBlock") is None     # not catalogued
    assert "Adan Alvarez" in c.to_dict()["credit"]


def test_findings_carry_the_card_of_their_call():
    rule = registry.RULES["defense-evasion.flow-logs-deleted"]
    (f,) = rule.run(frame_of(examples("defense_evasion")[rule.id]["fire"]))
    assert f.extra["attackers"]["how_attackers_use"].startswith("Attackers might use DeleteFlowLogs")
    assert f.extra["attackers"]["credit"] == knowledge.CREDIT


def test_rule_tactics_agree_with_traildiscover_or_say_why_not():
    for rule in registry.RULES.values():
        theirs = {t.split(" ")[0] for c in rule.cards() for t in c.tactics}
        ours = rule.tactic.split(" ")[0]
        assert ours in theirs or rule.mitre_note or not theirs, rule.id
        if rule.mitre_note:
            assert "TrailDiscover" in rule.mitre_note, rule.id
