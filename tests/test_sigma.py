"""``hunt --sigma``: Sigma rules written here, spec in -> exact SQL out (pySigma's SQLite backend), their hits on
realistic records (the rules library's labelled examples, Stratus Red Team detonations) as findings ranked beside
the built-in ones, fields under requestParameters read with json_extract, and every rule that cannot be run listed
with its reason while the others still run."""
import copy
import json
import shutil

import pytest
import yaml
from conftest import STRATUS, need, s3_path, write_gz

from trailtools import cli
from trailtools.findings import schema
from trailtools.rules import sigma
from trailtools.rules.examples import examples, frame_of
from trailtools.rules.hunt import hunt

SNAPSHOT_RULE = """
title: EBS snapshot shared
id: 5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d
status: experimental
description: An EBS snapshot's create-volume permission was changed.
author: trailtools tests
level: high
tags: [attack.exfiltration, attack.t1537]
logsource: {product: aws, service: cloudtrail}
detection:
  selection:
    eventSource: ec2.amazonaws.com
    eventName: ModifySnapshotAttribute
    requestParameters.attributeType: CREATE_VOLUME_PERMISSION
  filter:
    errorCode|exists: true
  condition: selection and not filter
falsepositives: [Sharing with your own backup account]
"""
#: One snapshot, by the value inside requestParameters (json_extract), with a case-insensitive event name.
ONE_SNAPSHOT_RULE = """
title: One snapshot touched
id: 0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9
level: medium
logsource: {product: aws, service: cloudtrail}
detection:
  selection:
    eventName: modifysnapshotattribute
    requestParameters.snapshotId: snap-066877671789bd71b
  condition: selection
"""
STOP_LOGGING_RULE = """
title: CloudTrail logging stopped
id: 4db60cc0-36fb-42b7-9b58-a5b53019fb74
level: critical
tags: [attack.defense-evasion, attack.t1562.008]
logsource: {product: aws, service: cloudtrail}
detection:
  selection:
    eventSource: cloudtrail.amazonaws.com
    eventName|re: '^(StopLogging|DeleteTrail)$'
    readOnly: false
  condition: selection
"""


def _rule(text):
    return sigma.convert(yaml.safe_load(text), "rules.yml")


def _fire(family, rule_id):
    return copy.deepcopy(examples(family)[rule_id]["fire"])


# ---- spec in, SQL out --------------------------------------------------------------------------------------------

def test_a_rule_becomes_one_sqlite_query():
    rule = _rule(SNAPSHOT_RULE)
    assert rule.sql == (
        "SELECT * FROM logs WHERE (eventSource='ec2.amazonaws.com' COLLATE NOCASE AND "
        "eventName='ModifySnapshotAttribute' COLLATE NOCASE AND `requestParameters.attributeType` LIKE "
        "'CREATE\\_VOLUME\\_PERMISSION' ESCAPE '\\') AND (NOT COALESCE((errorCode IS NOT NULL), 0))")
    assert rule.fields == ("errorCode", "eventName", "eventSource", "requestParameters.attributeType")
    assert (rule.check, rule.severity) == ("sigma.5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d", "high")
    assert (rule.tactic, rule.technique) == ("TA0010 Exfiltration", "T1537")


def test_regex_and_boolean_modifiers_convert():
    rule = _rule(STOP_LOGGING_RULE)
    assert rule.sql == ("SELECT * FROM logs WHERE eventSource='cloudtrail.amazonaws.com' COLLATE NOCASE AND "
                        "eventName REGEXP '^(StopLogging|DeleteTrail)$' AND (readOnly='false' OR readOnly=0)")
    assert (rule.tactic, rule.technique) == ("TA0005 Defense Evasion", "T1562.008")


def test_where_each_sigma_field_is_in_the_events_frame():
    columns = ["eventName", "userIdentity.arn", "additionalEventData.MFAUsed", "requestParameters",
               "responseElements"]
    assert sigma.locate("eventName", columns) == '"eventName"'
    assert sigma.locate("userIdentity.arn", columns) == '"userIdentity.arn"'
    assert sigma.locate("additionalEventData.mfaUsed", columns) == '"additionalEventData.MFAUsed"'   # FIELD_MAP
    assert sigma.locate("requestParameters", columns) == '"requestParameters"'                       # its JSON text
    assert sigma.locate("requestParameters.ipPermissions.items", columns) == (
        'CASE WHEN json_valid("requestParameters") THEN json_extract("requestParameters", '
        "'$.\"ipPermissions\".\"items\"') END")
    assert sigma.locate("responseElements.credentials.accessKeyId", columns).startswith("CASE WHEN json_valid(")
    assert sigma.locate("userIdentity.webIdFederationData", columns) is None
    assert sigma.locate("requestParameters", ["eventName"]) is None


# ---- hits on realistic records -----------------------------------------------------------------------------------

def test_hits_on_the_snapshot_examples_and_not_on_the_quiet_ones():
    fire = _fire("exposure", "exposure.snapshot-shared")
    quiet = copy.deepcopy(examples("exposure")["exposure.snapshot-shared"]["quiet"])
    rule = _rule(SNAPSHOT_RULE)
    frame = frame_of(fire + quiet)
    hits, rejected = sigma.run(frame, [rule])
    assert rejected == []
    matched = set(frame.iloc[hits[rule]]["eventID"])
    should = {r["eventID"] for r in fire + quiet if r["eventName"] == "ModifySnapshotAttribute"
              and (r.get("requestParameters") or {}).get("attributeType") == "CREATE_VOLUME_PERMISSION"
              and not r.get("errorCode")}
    assert matched == should and {r["eventID"] for r in fire} <= matched
    found = sigma.findings(frame, hits)
    # one finding per credential, together naming each event matched
    assert {e.ref for f in found for e in f.evidence} == matched
    assert all(f.check == rule.check and f.severity == "high" for f in found)
    (f,) = [f for f in found if f.extra["credential"] == "AKIAIOSFODNN7EXAMPLE"]
    assert {r["eventID"] for r in fire} <= {e.ref for e in f.evidence} and f.extra["technique"] == "T1537"
    assert "Sharing with your own backup account" in f.remediation


def test_a_field_inside_request_parameters_matches_its_value_only():
    fire = _fire("exposure", "exposure.snapshot-shared")
    frame = frame_of(fire)
    rule = _rule(ONE_SNAPSHOT_RULE)
    hits, _ = sigma.run(frame, [rule])
    wanted = [r["eventID"] for r in fire if r["requestParameters"]["snapshotId"] == "snap-066877671789bd71b"]
    assert len(wanted) == 1 and list(frame.iloc[hits[rule]]["eventID"]) == wanted


def test_stratus_cloudtrail_stop_is_found(tmp_path):
    shutil.copy(need(STRATUS) / "aws.defense-evasion.cloudtrail-stop.json", tmp_path / "stop.json")
    shutil.copy(need(STRATUS) / "aws.defense-evasion.vpc-remove-flow-logs.json", tmp_path / "flow.json")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "stop.yml").write_text(STOP_LOGGING_RULE)
    res = hunt(str(tmp_path), sigma_rules=str(tmp_path / "rules"), cache=False)
    sig = [f for f in res.findings if f.check.startswith("sigma.")]
    assert [(f.check, f.severity, [e.ref for e in f.evidence]) for f in sig] == [
        ("sigma.4db60cc0-36fb-42b7-9b58-a5b53019fb74", "critical", ["10163ed2-2253-469d-a5ee-cbc6651f8934"])]
    # ranked beside the built-in finding of the same trail (flow logs deleted: high), above it
    assert [f.check for f in res.findings][:2] == ["sigma.4db60cc0-36fb-42b7-9b58-a5b53019fb74",
                                                   "defense-evasion.flow-logs-deleted"]


# ---- rules that cannot run ---------------------------------------------------------------------------------------

BAD_RULES = {
    "keywords.yml": ("title: Keyword search\nlogsource: {product: aws, service: cloudtrail}\n"
                     "detection:\n  keywords: [evil]\n  condition: keywords\n", "Keyword search requires"),
    "windows.yml": ("title: Windows rule\nlogsource: {product: windows, service: security}\n"
                    "detection:\n  sel: {EventID: 4624}\n  condition: sel\n", "its logsource is product 'windows'"),
    "modifier.yml": ("title: Odd modifier\nlogsource: {product: aws, service: cloudtrail}\n"
                     "detection:\n  sel: {eventName|sounds_like: StopLogging}\n  condition: sel\n",
                     "Unknown modifier 'sounds_like'"),
    "broken.yml": ("title: Broken\ndetection: [unclosed\n", "cannot be read"),
    "alias.yml": ("title: &a Alias\nlogsource: {product: aws, service: cloudtrail}\n"
                  "detection:\n  sel: {eventName: *a}\n  condition: sel\n", "YAML aliases are not accepted"),
    "field.yml": ("title: Unknown field\nlogsource: {product: aws, service: cloudtrail}\n"
                  "detection:\n  sel: {userIdentity.webIdFederationData.federatedProvider: x}\n  condition: sel\n",
                  "is not in the events frame"),
    "huge.yml": ("title: Huge\n#" + "x" * (sigma.MAX_FILE_BYTES + 10) + "\n", "larger than 256 KB"),
}


@pytest.fixture
def rules_folder(tmp_path):
    folder = tmp_path / "rules"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "snapshot.yaml").write_text(SNAPSHOT_RULE)
    (folder / "notes.txt").write_text("not a rule")
    for name, (body, _) in BAD_RULES.items():
        (folder / name).write_text(body)
    return folder


def test_each_rule_that_cannot_run_is_listed_with_its_reason_and_the_others_run(rules_folder, tmp_path):
    trail = tmp_path / "trail"
    write_gz(s3_path(trail, "111122223333", "eu-west-1", "20261103T1200Z"),
             {"Records": _fire("exposure", "exposure.snapshot-shared")})
    res = hunt(str(trail), sigma_rules=str(rules_folder), cache=False)
    assert [r.file for r in res.sigma.rules] == ["sub/snapshot.yaml"]
    reasons = {r.file: r.reason for r in res.sigma.rejected}
    assert set(reasons) == set(BAD_RULES)
    for name, (_, reason) in BAD_RULES.items():
        assert reason in reasons[name], (name, reasons[name])
    assert any(f.check == "sigma.5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d" for f in res.findings)


def test_too_many_rule_files_are_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(sigma, "MAX_FILES", 2)
    for i in range(3):
        (tmp_path / f"r{i}.yml").write_text(SNAPSHOT_RULE)
    files, skipped = sigma.rule_files(tmp_path)
    assert [p.name for p in files] == ["r0.yml", "r1.yml"]
    assert [(s.file, s.reason) for s in skipped] == [("r2.yml", "more than 2 rule files: not read")]


def test_hunt_sigma_on_the_command_line(rules_folder, tmp_path, capsys):
    trail = tmp_path / "trail"
    write_gz(s3_path(trail, "111122223333", "eu-west-1", "20261103T1200Z"),
             {"Records": _fire("exposure", "exposure.snapshot-shared")})
    out_file = tmp_path / "hunt.json"
    assert cli.main(["hunt", str(trail), "--sigma", str(rules_folder), "--json", str(out_file), "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert "and 1 Sigma rules over" in out and "matched the Sigma rule 'EBS snapshot shared'" in out
    assert "Sigma rule not run: windows.yml: Windows rule: its logsource is product 'windows'" in out
    doc = json.loads(out_file.read_text())
    assert schema.validate(doc) == []
    assert doc["parameters"]["sigma"] == ["sigma.5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"]
    assert {r["file"] for r in doc["sigma"]["rejected"]} == set(BAD_RULES)
    assert cli.main(["hunt", str(trail), "--sigma", str(tmp_path / "nope"), "--no-cache"]) == 2
    assert "No Sigma rules at" in capsys.readouterr().err
