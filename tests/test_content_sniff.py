"""A file is recognized by what it holds, whatever its name (trailtools.events.sniff, sources/local.py)."""
import json
import os
import shutil
from datetime import UTC, datetime

import pytest
from conftest import DATASETS, need, record, s3_path, write_gz

from trailtools import load_events
from trailtools.events import sniff
from trailtools.events.query import Query

R1 = record("11111111-1111-4111-8111-111111111111", "2026-11-03T10:00:00Z", "RunInstances")
R2 = record("22222222-2222-4222-8222-222222222222", "2026-11-03T09:00:00Z")


def test_traildiscover_examples_are_read_whatever_their_extension(tmp_path):
    """TrailDiscover's logExamples are real events in files named *.json.cloudtrail; 21 of them hold only []."""
    examples = need(DATASETS / "traildiscover" / "logExamples")
    names = sorted(os.listdir(examples))
    # an independent count: every file json-loaded whole
    holding = {n: json.loads((examples / n).read_text()) for n in names if n.endswith(".json.cloudtrail")}
    holding = {n: got if isinstance(got, list) else [got] for n, got in holding.items()}  # an array, or one record
    with_records = {n: recs for n, recs in holding.items() if recs}
    res = load_events(str(examples), cache=False)
    s = res.stats
    assert s.files_seen == len(names)
    assert s.files_read == len(with_records)
    assert s.records_seen == sum(len(recs) for recs in with_records.values()) and s.records_skipped == 0
    assert s.other_files == len(names) - len(with_records)  # index.html, script.js and the files holding []
    assert s.events + s.duplicates_dropped == s.records_seen
    ids = {r["eventID"] for recs in with_records.values() for r in recs}
    assert set(res.frame["eventID"]) == ids


def test_odd_names_inside_and_outside_the_layout(tmp_path):
    acct = "111122223333"
    day = s3_path(tmp_path, acct, "us-east-1", "20261103T1005Z").parent
    day.mkdir(parents=True)
    (day / "copied-by-hand.cloudtrail").write_text(json.dumps({"Records": [R1]}))
    write_gz(tmp_path / "export" / "000000", [R2])  # gzip, no extension at all
    (tmp_path / "export" / "notes.txt").write_text("eventTime was 10:00\n")  # text, not JSON: stays other
    (tmp_path / "export" / "settings.conf").write_text(json.dumps({"foo": 1}))  # JSON without a CloudTrail field
    # not CloudTrail's folder of the layout: never opened, even when it looks like CloudTrail
    flow = tmp_path / "AWSLogs" / acct / "vpcflowlogs" / "us-east-1" / "flow.log"
    flow.parent.mkdir(parents=True)
    flow.write_text(json.dumps({"Records": [R1]}))
    res = load_events(str(tmp_path), cache=False)
    s = res.stats
    assert sorted(res.frame["eventID"]) == sorted([R1["eventID"], R2["eventID"]])
    assert (s.files_seen, s.files_read, s.other_files, s.records_seen) == (5, 2, 3, 2)
    # the same with a window, which takes the planner's path for CloudTrail's day folders
    window = Query(start=datetime(2026, 11, 3, 8, tzinfo=UTC), end=datetime(2026, 11, 3, 11, tzinfo=UTC))
    res = load_events(str(tmp_path), window, cache=False)
    assert sorted(res.frame["eventID"]) == sorted([R1["eventID"], R2["eventID"]])
    assert res.stats.other_files == 3


def test_only_the_first_bytes_are_read_and_fifos_and_links_are_not_opened(tmp_path, monkeypatch):
    big = tmp_path / "big.dat"
    big.write_bytes(b"[" + b" " * 10_000_000 + json.dumps(R1).encode() + b"]")
    assert len(sniff.head(str(big))) == sniff.SNIFF_BYTES
    assert not sniff.sniff(str(big))  # no CloudTrail field in its first bytes: an other file
    fifo = tmp_path / "pipe.log"
    os.mkfifo(fifo)
    assert sniff.head(str(fifo)) is None  # would block a plain open
    target = tmp_path / "outside" / "events.txt"
    target.parent.mkdir()
    target.write_text(json.dumps([R1]))
    assert sniff.sniff(str(target))
    (tmp_path / "link.txt").symlink_to(target)
    assert not sniff.sniff(str(tmp_path / "link.txt"))


@pytest.mark.parametrize("head,expected", [
    (b'\xef\xbb\xbf  {"Records": [', True),
    (b'[{"eventVersion": "1.09", ', True),
    (b'{"events": [{"message": "{\\"eventVersion\\":\\"1.09\\"', True),  # filter-log-events
    (b'2026-11-03T10:00:00.000Z {"eventVersion":"1.09"', True),  # a log group exported to S3
    (b'{"QueryStatus": "FINISHED", "QueryResultRows": [[{"eventVersion": "1.09"}', True),  # CloudTrail Lake
    (b'{"preview":false,"offset":0,"result":{"_raw":"{\\"eventVersion\\"', True),  # Splunk
    (b'{"took": 3, "hits": {"hits": [{"_index": "ct", "_source": {"@timestamp": "2026-11-03T10:00:00.000Z", '
     b'"@version": "1", "eventName": "RunInstances"', True),  # Elasticsearch
    (b'{"@timestamp": "2026-11-03T10:00:00.000Z", "@version": "1", "message": "GET / 200", "host": {}}', False),
    (b'{"preview":false,"result":{"_raw":"127.0.0.1 - - [03/Nov/2026] GET /"}}', False),  # Splunk, not CloudTrail
    (b'{"name": "package", "version": "1.0"}', False),
    (b"<html><body>eventTime</body></html>", False),
    (b"", False),
])
def test_what_counts_as_a_candidate(head, expected):
    assert sniff.looks_like_events(head) is expected


def test_a_copied_bucket_with_odd_names_reads_like_the_original(tmp_path):
    acct = "111122223333"
    orig = write_gz(s3_path(tmp_path / "a", acct, "us-east-1", "20261103T1005Z"), {"Records": [R1, R2]})
    copy = tmp_path / "b" / "evidence-item-7.bin"
    copy.parent.mkdir()
    shutil.copy(orig, copy)
    a, b = load_events(str(tmp_path / "a"), cache=False), load_events(str(tmp_path / "b"), cache=False)
    assert list(a.frame["eventID"]) == list(b.frame["eventID"])
