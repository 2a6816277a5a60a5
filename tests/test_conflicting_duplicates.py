"""Issue 17 item 2: a planted copy of an event (its eventID, other content) must not hide the event.

Identical copies (CloudTrail delivering an event twice) are one event: dropped and counted. Copies that differ are
all kept, counted as ``conflicting_duplicates`` with their files, and every investigation raises a high
``evidence.conflicting-duplicate`` finding; the reboot verdict says so when its evidence is disputed.
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import hostile_h17_dups as h
import pytest
from cost_fixtures import write_cur2_csv_gz

from trailtools import Query, load_events
from trailtools.events import chunk, frame, parallel, table
from trailtools.findings import schema as findings_schema
from trailtools.findings.model import Finding

# trailtools.events.duplicates and trailtools.findings.tampering are imported in the tests that use them, so that each test says
# for itself what the code before them got wrong
CONFLICTING_DUPLICATE = "evidence.conflicting-duplicate"

DAY = {"start": "2026-11-03T00:00:00Z", "end": "2026-11-04T00:00:00Z"}


def _document(inv, name: str) -> dict:
    d = inv.to_dict()
    doc = findings_schema.build_document(name, {}, verdict=d["verdict"], findings=d["findings"],
                                         sources=d["sources"], load_stats=None, generated_at="2026-12-04T00:00:00Z")
    assert findings_schema.validate(doc) == []
    return doc


def _tampering(findings) -> list:
    return [f for f in findings if (f.check if isinstance(f, Finding) else f["check"]) == CONFLICTING_DUPLICATE]


# ---- the planted copy ---------------------------------------------------------------------------------------------

def test_planted_copy_does_not_hide_the_reboot(tmp_path):
    from trailtools.investigations.reboot.gather import investigate

    root, real, planted = h.planted_reboot_trail(tmp_path / "trail")
    inv = investigate(h.INSTANCE, source=str(root), **DAY)
    v = inv.verdict
    # the reboot is still found, by the real caller, and the verdict says its evidence is disputed
    assert v.cause == "api-call" and v.actor == "mallory"
    assert v.confidence == "low"
    assert "conflicting copies" in v.summary and "possible tampering" in v.summary
    assert {e.summary.split(" by ")[0] for e in v.evidence if e.ref == h.REBOOT_ID} == {
        "RebootInstances", "conflicting copy: DescribeInstances"}
    # the stats count one conflicting duplicate and name both files; nothing was dropped
    stats = inv.evidence.load_stats
    assert stats["conflicting_duplicates"] == 1 and stats["duplicates_dropped"] == 0
    (conflict,) = stats["conflicts"]
    assert conflict["eventID"] == h.REBOOT_ID
    assert [c["path"] for c in conflict["copies"]] == [str(planted), str(real)]  # file order
    assert [c["eventName"] for c in conflict["copies"]] == ["DescribeInstances", "RebootInstances"]
    # the high finding, first, with the eventID and both files as evidence, and the digests as the remedy
    (finding,) = _tampering(inv.findings)
    assert inv.findings[0] is finding
    assert finding.severity == "high" and finding.status == "FAIL"
    assert finding.title.startswith("Possible tampering")
    assert [e.ref for e in finding.evidence] == [h.REBOOT_ID]
    assert planted.name in finding.evidence[0].summary and real.name in finding.evidence[0].summary
    assert "trailtools verify" in finding.remediation
    doc = _document(inv, "reboot")
    assert [f["severity"] for f in _tampering(doc["findings"])] == ["high"]


def test_stats_summary_names_the_conflict(tmp_path):
    root, real, planted = h.planted_reboot_trail(tmp_path / "trail")
    res = load_events(str(root), cache=False, progress=False)
    s = res.stats
    assert (s.events, s.duplicates_dropped, s.conflicting_duplicates) == (7, 0, 1)
    assert s.records_seen == s.events + s.records_skipped + s.duplicates_dropped
    line = s.summary()
    assert "1 conflicting duplicates kept" in line and "possible tampering" in line
    assert planted.name in line and real.name in line
    assert sorted(res.frame.loc[res.frame["eventID"] == h.REBOOT_ID, "eventName"]) == [
        "DescribeInstances", "RebootInstances"]
    assert res.stats.to_dict()["conflicts"][0]["copies_total"] == 2


def test_a_conflict_outside_the_query_is_still_reported(tmp_path):
    """The planted copy does not touch the instance (a query by resource drops it): the reboot is kept, and the
    conflict of its eventID is still counted and disputes the verdict."""
    from trailtools.investigations.reboot.gather import investigate

    root = tmp_path / "trail"
    h.planted_reboot_trail(root)
    planted = next(root.rglob("*AAAAplanted*"))
    rec = h.benign_copy()
    rec["requestParameters"] = {"instancesSet": {"items": [{"instanceId": "i-0fedcba9876543210"}]}}
    planted.write_bytes(gzip.compress(json.dumps({"Records": [rec]}).encode()))
    inv = investigate(h.INSTANCE, source=str(root), **DAY)
    assert list(inv.evidence.calls["eventName"]) == ["RebootInstances"]
    assert inv.evidence.load_stats["conflicting_duplicates"] == 1
    assert inv.verdict.cause == "api-call" and inv.verdict.confidence == "low"
    assert "behind this verdict" in inv.verdict.summary
    assert _tampering(inv.findings)


def test_login_and_cost_investigations_raise_the_finding(tmp_path):
    from trailtools.investigations.cost.gather import investigate as cost
    from trailtools.investigations.login.gather import investigate as login

    root, _, _ = h.planted_reboot_trail(tmp_path / "trail")
    li = login(source=str(root), baseline_days=1, **DAY)
    assert [f.severity for f in _tampering(li.findings)] == ["high"]
    assert li.findings[0].check == CONFLICTING_DUPLICATE
    assert _tampering(_document(li, "login")["findings"])
    cur = write_cur2_csv_gz(tmp_path / "cur" / "cur.csv.gz")  # October; the trail is read for creating calls only
    ci = cost(source=str(root), cost_source=str(cur), start="2026-10-01", end="2026-11-04")
    assert [f.severity for f in _tampering(ci.findings)] == ["high"]
    assert _tampering(_document(ci, "cost")["findings"])


# ---- identical copies ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [h.redelivered_trail, h.reformatted_copy], ids=["byte-identical", "reformatted"])
def test_identical_copies_are_dropped_and_counted_without_a_finding(tmp_path, make):
    from trailtools.investigations.reboot.gather import investigate

    root, _, _ = make(tmp_path / "trail")
    inv = investigate(h.INSTANCE, source=str(root), **DAY)
    stats = inv.evidence.load_stats
    assert (stats["duplicates_dropped"], stats["conflicting_duplicates"], stats["conflicts"]) == (1, 0, [])
    assert list(inv.evidence.calls["eventName"]) == ["RebootInstances"]
    assert inv.verdict.cause == "api-call" and inv.verdict.confidence == "high"
    assert "conflicting" not in inv.verdict.summary
    assert not _tampering(inv.findings)
    from trailtools.findings.tampering import conflicting_duplicate_findings
    assert conflicting_duplicate_findings(stats) == []


def test_copies_differing_only_outside_the_frame_columns_conflict(tmp_path):
    """The comparison is of the whole record, not only the columns the frame keeps (tlsDetails.cipherSuite)."""
    root, real, _ = h.redelivered_trail(tmp_path / "trail")
    again = next(p for p in root.rglob("*.json.gz") if p != real)
    rec = h.reboot_record()
    rec["tlsDetails"]["cipherSuite"] = "ECDHE-RSA-AES128-GCM-SHA256"
    again.write_bytes(gzip.compress(json.dumps({"Records": [rec]}).encode()))
    res = load_events(str(root), cache=False, progress=False)
    assert (res.stats.duplicates_dropped, res.stats.conflicting_duplicates) == (0, 1)
    assert (res.frame["eventID"] == h.REBOOT_ID).sum() == 2


# ---- the same answer by every path ------------------------------------------------------------------------------

def _answer(res) -> tuple:
    s = res.stats
    return (s.events, s.duplicates_dropped, s.conflicting_duplicates, json.dumps(s.conflicts, sort_keys=True),
            tuple(res.frame["eventID"]), tuple(res.frame["eventName"]), tuple(map(str, res.frame["_file"])))


def test_native_python_cold_and_warm_loads_agree(tmp_path, monkeypatch):
    root, _, _ = h.planted_reboot_trail(tmp_path / "trail")
    h.redelivered_trail(tmp_path / "trail")  # adds the re-delivery beside the planted file
    answers = []
    for native in (True, False):
        monkeypatch.setattr(table, "NATIVE", native and table._scan is not None)
        answers.append(_answer(load_events(str(root), cache=False, workers=1, progress=False)))
    monkeypatch.setattr(table, "NATIVE", table._scan is not None and table.NATIVE_WANTED)
    monkeypatch.setattr(parallel, "IN_PROCESS_BYTES", 0)  # worker processes, each with its own chunks
    answers.append(_answer(load_events(str(root), cache=False, workers=2, progress=False)))
    cold = load_events(str(root), cache=True, progress=False)
    warm = load_events(str(root), cache=True, progress=False)
    assert warm.stats.files_cached == warm.stats.files_read > 0
    answers += [_answer(cold), _answer(warm)]
    assert len(set(answers)) == 1, answers
    assert answers[0][1:3] == (1, 1)


# ---- bounds and fallbacks -----------------------------------------------------------------------------------------

def _tables(paths):
    return [chunk.parse_chunk(chunk.Chunk([str(p) for p in paths])).table]


def test_a_file_gone_since_the_load_is_compared_by_the_frame_columns(tmp_path):
    from trailtools.events import duplicates

    root, real, planted = h.planted_reboot_trail(tmp_path / "trail")
    again = h._write(real.with_name(real.name.replace("Xq7RealDelivery1", "Xq7RealDelivery2")), [h.reboot_record()])
    tables = _tables(sorted(root.rglob("*.json.gz")))
    planted.unlink()
    again.unlink()
    report = duplicates.DuplicateReport()
    got, _, dropped = frame.finish(tables, Query(), report)
    # without the files: the copies are still told apart (or alike) by the frame's columns, and this is said
    assert (dropped, report.conflicting, report.compared_by_columns) == (1, 1, 1)
    assert (got["eventID"] == h.REBOOT_ID).sum() == 2


def test_conflicts_are_listed_up_to_a_bound_and_counted_beyond(tmp_path, monkeypatch):
    from trailtools.events import duplicates
    from trailtools.findings.tampering import conflicting_duplicate_findings

    monkeypatch.setattr(duplicates, "MAX_LISTED_CONFLICTS", 2)
    root = tmp_path / "trail"
    first, second = [], []
    for i in range(3):
        rec = h.reboot_record()
        rec["eventID"] = f"c0nf1{i:03d}-0000-4000-8000-000000000000"
        first.append(rec)
        second.append(dict(rec, sourceIPAddress=f"198.51.100.{i + 1}"))
    h._write(h._path(root, "20261103T1405Z", "AAAA"), first)
    h._write(h._path(root, "20261103T1410Z", "BBBB"), second)
    s = load_events(str(root), cache=False, progress=False).stats
    assert (s.conflicting_duplicates, len(s.conflicts), s.conflicts_not_listed, s.events) == (3, 2, 1, 6)
    (f,) = conflicting_duplicate_findings(s)
    assert len(f.evidence) == 2 and "1 more" in f.explanation and f.title.startswith("Possible tampering: 3 ")


def test_rereading_is_bounded(tmp_path, monkeypatch):
    from trailtools.events import duplicates

    monkeypatch.setattr(duplicates, "REREAD_BYTES", 0)  # nothing may be read again: columns only, and said so
    root, _, _ = h.planted_reboot_trail(tmp_path / "trail")
    s = load_events(str(root), cache=False, progress=False).stats
    assert s.conflicting_duplicates == 1
    assert any("compared by the frame's columns only" in n for n in s.notes)


def test_canonical_json_ignores_key_order_and_spacing_only():
    from trailtools.events import duplicates

    a = {"b": 1, "a": {"y": [1, 2], "x": "é"}}
    b = json.loads(json.dumps({"a": {"x": "é", "y": [1, 2]}, "b": 1}, indent=4))
    assert duplicates.canonical(a) == duplicates.canonical(b)
    assert duplicates.canonical({"readOnly": True}) != duplicates.canonical({"readOnly": 1})
    assert duplicates.canonical({"a": [1, 2]}) != duplicates.canonical({"a": [2, 1]})


def test_every_listed_copy_path_is_a_string(tmp_path):
    root, _, _ = h.planted_reboot_trail(tmp_path / "trail")
    s = load_events(str(root), cache=False, progress=False).stats
    assert all(isinstance(c["path"], str) and Path(c["path"]).is_file() for c in s.conflicts[0]["copies"])


def test_many_copies_are_compared_in_bounded_batches(tmp_path, monkeypatch):
    """However many copies a trail holds, they are turned into Python objects a batch at a time, and a group larger
    than a batch is compared by columns a slice at a time: the same answer."""
    from trailtools.events import duplicates

    root = tmp_path / "trail"
    rec = h.reboot_record()
    other = dict(rec, eventID="0ther000-0000-4000-8000-000000000000")
    copies = [rec, rec, dict(rec, sourceIPAddress="198.51.100.9"), rec, dict(rec, eventName="DescribeInstances")]
    h._write(h._path(root, "20261103T1405Z", "AAAA"), copies + [other])
    h._write(h._path(root, "20261103T1410Z", "BBBB"), [other, dict(other, awsRegion="eu-west-1")])
    answers = []
    for batch in (duplicates.BATCH_ROWS, 2):
        monkeypatch.setattr(duplicates, "BATCH_ROWS", batch)
        res = load_events(str(root), cache=False, progress=False)
        s = res.stats
        answers.append((s.events, s.duplicates_dropped, s.conflicting_duplicates,
                        [(c["eventID"], c["copies_total"], [x["record"] for x in c["copies"]]) for c in s.conflicts]))
    assert answers[0] == answers[1] == (5, 3, 2, [(h.REBOOT_ID, 3, [0, 2, 4]),  # in file order
                                                  ("0ther000-0000-4000-8000-000000000000", 2, [5, 1])])
