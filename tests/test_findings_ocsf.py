"""Findings as OCSF Detection Findings (class 2004): `trailtools hunt --ocsf FILE` (trailtools/findings/ocsf.py)."""
import copy
import json

import pandas as pd
from conftest import record, s3_path, write_gz

from trailtools import cli
from trailtools.findings import schema
from trailtools.findings.model import EvidenceRef, Finding
from trailtools.findings.ocsf import detection_findings
from trailtools.rules.examples import examples

#: what OCSF 1.1 requires of every event (base_event) and of a finding's finding_info
REQUIRED = ("activity_id", "category_uid", "class_uid", "metadata", "severity_id", "time", "type_uid", "finding_info")


def _trail(tmp_path):
    day3 = (copy.deepcopy(examples("exposure")["exposure.snapshot-shared"]["fire"])
            + copy.deepcopy(examples("execution")["execution.ssm-start-session"]["fire"])
            + [record(f"noise-{i}", f"2026-11-03T09:{i:02d}:00Z") for i in range(5)])
    write_gz(s3_path(tmp_path, "111122223333", "eu-west-1", "20261103T1200Z"), {"Records": day3})
    return tmp_path


def test_hunt_writes_one_detection_finding_per_finding(tmp_path, capsys):
    trail = _trail(tmp_path / "trail")
    doc, ocsf = tmp_path / "hunt.json", tmp_path / "ocsf.json"
    assert cli.main(["hunt", str(trail), "--json", str(doc), "--ocsf", str(ocsf), "--no-cache"]) == 0
    findings, events = json.loads(doc.read_text())["findings"], json.loads(ocsf.read_text())
    assert len(events) == len(findings) == 3
    for f, e in zip(findings, events):
        assert all(k in e for k in REQUIRED)
        assert (e["class_uid"], e["category_uid"], e["activity_id"], e["type_uid"]) == (2004, 2, 1, 200401)
        assert e["severity_id"] == {"critical": 5, "high": 4, "medium": 3, "low": 2, "info": 1}[f["severity"]]
        assert e["metadata"]["product"]["name"] == "trailtools" and e["metadata"]["version"] == "1.1.0"
        info = e["finding_info"]
        assert info["uid"] and info["title"] == f["title"] == e["message"] and info["desc"] == f["explanation"]
        assert info["uid"] == f["id"] and info["analytic"]["uid"] == f["check"]
        assert e["resources"] == [{"uid": r} for r in f["resources"]] and e["actor"]["user"]["uid"] == f["principal"]
        assert [x["data"]["ref"] for x in e["evidences"]] == [x["ref"] for x in f["evidence"]]
        times = [int(pd.Timestamp(x["time"]).timestamp() * 1000) for x in f["evidence"]]
        assert (e["start_time"], e["end_time"]) == (min(times), max(times))
        assert e["is_alert"] is True and e["status_detail"] == "FAIL"
    assert events[0]["severity_id"] == 5 and events[0]["finding_info"]["types"] == ["exposure.snapshot-shared"]


def test_a_pass_is_no_alert_and_missing_parts_are_left_out():
    f = Finding("reboot.api-call", "info", "No API call rebooted i-0123456789abcdef0", "Checked the window.",
                "i-0123456789abcdef0", evidence=(EvidenceRef("cloudtrail", "ev-1", "2026-11-03T10:00:00Z", "x"),),
                status="PASS")
    bare = Finding("x.y", "low", "t", "e", "")
    doc = schema.build_document("reboot", {}, verdict=None, findings=[f.to_dict(), bare.to_dict()], sources=[],
                                load_stats=None, generated_at="2026-11-04T00:00:00Z")
    a, b = detection_findings(doc)
    assert a["finding_info"]["uid"] == doc["findings"][0]["id"] and a["time"] == 1793750400000
    assert a["is_alert"] is False and a["status_detail"] == "PASS" and a["severity_id"] == 1
    assert a["start_time"] == a["end_time"] == 1793700000000 and "remediation" not in a and "actor" not in a
    assert a["unmapped"]["trailtools"]["investigation"] == "reboot"
    assert b["resources"] == [] and "start_time" not in b and b["evidences"] == [] and b["severity_id"] == 2
