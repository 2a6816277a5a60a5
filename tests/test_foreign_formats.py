"""CloudTrail as other tools hand it over (trailtools/events/containers.py): every record read, or a counted skip."""
import gzip
import json

from conftest import record

from trailtools import load_events

R1 = record("11111111-1111-4111-8111-111111111111", "2026-11-03T10:00:00Z", "RunInstances")
R2 = record("22222222-2222-4222-8222-222222222222", "2026-11-03T09:00:00Z", "StopInstances")
R3 = record("33333333-3333-4333-8333-333333333333", "2026-11-03T11:00:00Z", "ConsoleLogin",
            eventSource="signin.amazonaws.com")
RECS = [R1, R2, R3]
IDS = sorted(r["eventID"] for r in RECS)


def _load(path):
    res = load_events(str(path), cache=False)
    return res, res.stats


def _logstash(rec):
    """A record as Logstash's json codec stores it: eventTime moved to @timestamp, pipeline fields beside it."""
    doc = {k: v for k, v in rec.items() if k != "eventTime"}
    doc.update({"@timestamp": rec["eventTime"].replace("Z", ".000Z"), "@version": "1", "tags": ["cloudtrail"],
                "host": {"name": "ingest-1"}, "log": {"file": {"path": "/var/log/ct.json"}},
                "ecs": {"version": "8.0.0"}, "agent": {"type": "filebeat"}})
    return doc


def test_logstash_export_uses_timestamp_and_drops_pipeline_fields(tmp_path):
    path = tmp_path / "logstash.ndjson"
    path.write_text("\n".join(json.dumps(_logstash(r)) for r in RECS) + "\n")
    res, s = _load(path)
    assert sorted(res.frame["eventID"]) == IDS and s.records_seen == 3 and s.records_skipped == 0
    raw = res.raw(int((res.frame["eventID"] == R1["eventID"]).to_numpy().nonzero()[0][0]))
    assert raw["eventTime"] == "2026-11-03T10:00:00.000Z"
    assert not {"@timestamp", "@version", "tags", "host", "log", "ecs", "agent"} & set(raw)
    assert str(res.frame["eventTime"].min()) == "2026-11-03 09:00:00+00:00"


def test_logstash_array_and_elasticsearch_hits(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps([_logstash(r) for r in RECS]))
    (tmp_path / "hits.json").write_text(json.dumps({"took": 3, "hits": {"total": {"value": 3}, "hits": [
        {"_index": "cloudtrail-2026.11.03", "_id": str(n), "_source": _logstash(r)} for n, r in enumerate(RECS)]}}))
    res, s = _load(tmp_path)
    assert s.records_seen == 6 and s.duplicates_dropped == 3 and sorted(res.frame["eventID"]) == IDS


def test_a_pipeline_document_that_is_not_cloudtrail_is_a_counted_skip(tmp_path):
    path = tmp_path / "mixed.ndjson"
    other = {"@timestamp": "2026-11-03T10:00:00.000Z", "@version": "1", "message": "GET /health 200"}
    path.write_text("\n".join([json.dumps(_logstash(R1)), json.dumps(other), json.dumps(_logstash(R2))]))
    res, s = _load(path)
    assert s.records_seen == 3 and s.events == 2 and s.records_skipped == 1


def _cw_event(n, rec):
    return {"logStreamName": "111122223333_CloudTrail_us-east-1", "timestamp": 1793700000000 + n,
            "message": json.dumps(rec), "ingestionTime": 1793700000500 + n, "eventId": f"3{n:055d}"}


def test_cloudwatch_filter_log_events_and_get_log_events(tmp_path):
    (tmp_path / "filter.json").write_text(json.dumps({
        "events": [_cw_event(n, r) for n, r in enumerate(RECS)] + [_cw_event(9, R1) | {"message": "not json"}],
        "searchedLogStreams": [{"logStreamName": "111122223333_CloudTrail_us-east-1", "searchedCompletely": True}]},
        indent=4))
    (tmp_path / "get.json").write_text(json.dumps({
        "events": [{k: v for k, v in _cw_event(n, r).items() if k in ("timestamp", "message", "ingestionTime")}
                   for n, r in enumerate([R1])],
        "nextForwardToken": "f/3", "nextBackwardToken": "b/3"}))
    res, s = _load(tmp_path)
    assert s.records_seen == 5 and s.records_skipped == 1 and s.duplicates_dropped == 1
    assert sorted(res.frame["eventID"]) == IDS
    assert any("CloudWatch Logs event 3: message is not valid JSON" in k.reason for k in s.skipped)


def test_cloudwatch_log_group_export_to_s3(tmp_path):
    """CreateExportTask writes <prefix>/<task>/<stream>/000000.gz: one event per line after its timestamp."""
    lines = [f"2026-11-03T10:00:0{n}.000Z {json.dumps(r, separators=(',', ':'))}" for n, r in enumerate(RECS)]
    lines.insert(1, "garbage without a timestamp")
    path = tmp_path / "exportedlogs" / "a1b2c3" / "111122223333_CloudTrail_us-east-1" / "000000.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    res, s = _load(tmp_path)
    assert sorted(res.frame["eventID"]) == IDS
    assert (s.files_read, s.records_seen, s.records_skipped) == (1, 4, 1)


def test_a_whole_log_group_export_counts_as_an_independent_count(tmp_path):
    """A CreateExportTask prefix as S3 holds it: the write test object AWS puts first, several streams, several
    gzip parts per stream (000000.gz, 000001.gz), a part cut short; the events read equal the lines counted here."""
    from hostile_bombs import record

    prefix = tmp_path / "ct-export"
    prefix.mkdir()
    (prefix / "aws-logs-write-test").write_text("Permission Check Successful")
    expected, n = set(), 0
    for stream in ("111122223333_CloudTrail_us-east-1", "111122223333_CloudTrail_eu-west-1"):
        for part in range(2):
            lines = []
            for i in range(5):
                rec = record(f"{n:08x}-0000-4000-8000-{i:012d}", f"2026-11-03T1{part}:0{i}:00Z")
                n += 1
                expected.add(rec["eventID"])
                lines.append(f"2026-11-03T1{part}:0{i}:01.123Z {json.dumps(rec, separators=(',', ':'))}")
            path = prefix / "0f9e8d7c-task" / stream / f"{part:06d}.gz"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    cut = prefix / "0f9e8d7c-task" / "111122223333_CloudTrail_us-east-1" / "000002.gz"
    whole = gzip.compress(("\n".join(f"2026-11-03T12:00:0{i}.000Z " + json.dumps(record(f"cccccccc-0000-4000-8000-"
                                                                                      f"{i:012d}")) for i in range(3))
                           + "\n").encode())
    cut.write_bytes(whole[: len(whole) - 30])
    res, s = _load(prefix)
    kept_from_cut = s.records_seen - s.records_skipped - len(expected)  # the whole lines before the cut
    assert expected <= set(res.frame["eventID"]) and s.events == len(expected) + kept_from_cut
    assert s.other_files == 1 and s.files_read == 5 and 0 <= kept_from_cut < 3 and s.records_skipped <= 1
    assert any("truncated or corrupt gzip" in k.reason for k in s.skipped)


def _lake_rows(rec):
    flat = {"eventVersion": rec["eventVersion"], "eventTime": rec["eventTime"].replace("T", " ").replace("Z", ".000"),
            "eventSource": rec["eventSource"], "eventName": rec["eventName"], "awsRegion": rec["awsRegion"],
            "sourceIPAddress": rec["sourceIPAddress"], "eventID": rec["eventID"], "readOnly": "true",
            "userIdentity.arn": rec["userIdentity"]["arn"], "recipientAccountId": rec["recipientAccountId"]}
    return [{k: v} for k, v in flat.items()]


def test_cloudtrail_lake_query_results(tmp_path):
    path = tmp_path / "lake-results.json"
    path.write_text(json.dumps({
        "QueryStatus": "FINISHED",
        "QueryStatistics": {"ResultsCount": 4, "TotalResultsCount": 4, "BytesScanned": 2048},
        "QueryResultRows": [_lake_rows(r) for r in RECS] + [[{"eventName": "NoTime"}]]}))
    res, s = _load(path)
    assert sorted(res.frame["eventID"]) == IDS and s.records_seen == 4 and s.records_skipped == 1
    row = res.frame[res.frame["eventID"] == R1["eventID"]].iloc[0]
    assert str(row["eventTime"]) == "2026-11-03 10:00:00+00:00"
    assert row["userIdentity.arn"] == R1["userIdentity"]["arn"] and bool(row["readOnly"]) is True


def test_splunk_exports(tmp_path):
    (tmp_path / "export.json").write_text("\n".join(
        json.dumps({"preview": False, "offset": n, "result": {"_raw": json.dumps(r), "_time": r["eventTime"],
                                                               "host": "hf-1", "sourcetype": "aws:cloudtrail"}})
        for n, r in enumerate(RECS)))
    (tmp_path / "results.json").write_text(json.dumps({"preview": False, "init_offset": 0, "results": [
        {"_raw": json.dumps(R1), "_time": "2026-11-03T10:00:00.000+00:00"}, {"_raw": "{\"eventTime\": "}]}))
    res, s = _load(tmp_path)
    assert sorted(res.frame["eventID"]) == IDS
    assert s.records_seen == 5 and s.records_skipped == 1 and s.duplicates_dropped == 1


def test_splunk_raw_wins_over_extracted_fields_and_a_plain_record_is_untouched(tmp_path):
    extracted = {"_raw": json.dumps(R1), "eventName": "RunInstances", "eventSource": "ec2.amazonaws.com",
                 "_time": "2026-11-03T10:00:00.000+00:00", "host": "hf-1"}
    (tmp_path / "splunk.json").write_text(json.dumps([extracted]))
    (tmp_path / "plain.json").write_text(json.dumps([dict(R2, eventTime=None), R3]))  # a record with no time
    res, s = _load(tmp_path)
    assert sorted(res.frame["eventID"]) == sorted([R1["eventID"], R3["eventID"]])
    assert s.records_seen == 3 and s.records_skipped == 1
    assert [(k.path.endswith("plain.json"), k.record, k.reason) for k in s.skipped] == [
        (True, 0, "record has no eventTime")]


def test_a_truncated_logstash_array_gives_up_its_complete_records(tmp_path):
    text = json.dumps([_logstash(r) for r in RECS], indent=2)
    path = tmp_path / "cut.json"
    path.write_text(text[:text.rindex('"@version"')])  # the third document cut short
    res, s = _load(path)
    assert sorted(res.frame["eventID"]) == sorted([R1["eventID"], R2["eventID"]])
    assert res.raw(0)["eventTime"] == "2026-11-03T09:00:00.000Z" and "@version" not in res.raw(0)
    assert any("2 complete records recovered" in k.reason for k in s.skipped)
