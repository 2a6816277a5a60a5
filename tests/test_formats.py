"""Every container and layout a responder is handed reads into the same frame."""
import json

import pytest
from conftest import record, s3_path, write_gz

from trailtools import load_events
from trailtools.errors import SourceError

R1 = record("11111111-1111-4111-8111-111111111111", "2026-11-03T10:00:00Z", "RebootInstances",
            requestParameters={"instancesSet": {"items": [{"instanceId": "i-0123456789abcdef0"}]}})
R2 = record("22222222-2222-4222-8222-222222222222", "2026-11-03T09:00:00Z")


def _ids(res):
    return list(res.frame["eventID"])


@pytest.mark.parametrize("name,content", [
    ("records.json", json.dumps({"Records": [R1, R2]})),
    ("array.json", json.dumps([R1, R2])),
    ("lines.jsonl", json.dumps(R1) + "\n\n" + json.dumps(R2) + "\n"),
    ("lines.json", json.dumps(R1) + "\n" + json.dumps(R2)),
    ("lookup.json", json.dumps({"Events": [
        {"EventId": r["eventID"], "EventName": r["eventName"], "EventTime": r["eventTime"],
         "CloudTrailEvent": json.dumps(r), "Resources": []} for r in (R1, R2)], "NextToken": "abc"})),
    ("pretty.json", json.dumps({"Records": [R1, R2]}, indent=4)),
])
def test_containers(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    res = load_events(str(path), cache=False)
    assert _ids(res) == [R2["eventID"], R1["eventID"]]  # sorted by time
    assert res.stats.events == 2 and res.stats.records_seen == 2
    assert list(res.frame["instanceIds"].iloc[1]) == ["i-0123456789abcdef0"]
    assert res.raw(1) == R1


def test_gzip_and_plain_alike(tmp_path):
    write_gz(tmp_path / "a.json.gz", {"Records": [R1]})
    (tmp_path / "b.json").write_text(json.dumps({"Records": [R2]}))
    res = load_events(str(tmp_path), cache=False)
    assert _ids(res) == [R2["eventID"], R1["eventID"]]
    assert res.raw(1) == R1


def test_single_record_object(tmp_path):
    (tmp_path / "one.json").write_text(json.dumps(R1))
    assert _ids(load_events(str(tmp_path / "one.json"), cache=False)) == [R1["eventID"]]


def test_s3_layout_org_trail_digests_insights_and_other_files(tmp_path):
    acct = "111122223333"
    write_gz(s3_path(tmp_path, acct, "us-east-1", "20261103T1005Z"), {"Records": [R1]})
    write_gz(s3_path(tmp_path, "444455556666", "eu-west-1", "20261103T0905Z", org="o-abcdef1234"),
             {"Records": [dict(R2, recipientAccountId="444455556666", awsRegion="eu-west-1")]})
    write_gz(s3_path(tmp_path, acct, "us-east-1", "20261103T1100Z", kind="CloudTrail-Digest"),
             {"digestStartTime": "2026-11-03T10:00:00Z", "logFiles": []})
    insight = {"eventVersion": "1.08", "eventTime": "2026-11-03T10:30:00Z", "awsRegion": "us-east-1",
               "eventID": "33333333-3333-4333-8333-333333333333", "eventType": "AwsCloudTrailInsight",
               "recipientAccountId": acct, "sharedEventID": "x", "eventCategory": "Insight"}
    write_gz(s3_path(tmp_path, acct, "us-east-1", "20261103T1035Z", kind="CloudTrail-Insight"), {"Records": [insight]})
    (tmp_path / "AWSLogs" / acct / "CloudTrail" / "README.txt").write_text("notes")
    write_gz(tmp_path / "AWSLogs" / acct / "vpcflowlogs" / "us-east-1" / "flow.json.gz", {"x": 1})
    res = load_events(str(tmp_path), cache=False)
    s = res.stats
    assert (s.events, s.files_seen, s.digest_files, s.insight_files, s.other_files) == (3, 6, 1, 1, 2)
    assert s.files_skipped == 0 and s.skipped == []
    assert set(res.frame["recipientAccountId"]) == {acct, "444455556666"}
    assert set(res.frame["eventType"]) == {"AwsApiCall", "AwsCloudTrailInsight"}


def test_duplicates_across_files_are_dropped_and_counted(tmp_path):
    write_gz(s3_path(tmp_path, "111122223333", "us-east-1", "20261103T1005Z", uid="A1"), {"Records": [R1, R2]})
    write_gz(s3_path(tmp_path, "111122223333", "us-east-1", "20261103T1010Z", uid="B2"), {"Records": [R1]})
    res = load_events(str(tmp_path), cache=False)
    assert res.stats.duplicates_dropped == 1 and res.stats.events == 2
    assert res.frame["eventID"].is_unique
    assert res.frame["_file"].iloc[1].endswith("_A1.json.gz")  # the first copy in file order is kept


def test_folder_without_cloudtrail_is_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(SourceError, match="No CloudTrail log files under .*found 1 other files"):
        load_events(str(tmp_path), cache=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceError, match="it is empty"):
        load_events(str(empty), cache=False)


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="No such file or folder"):
        load_events(str(tmp_path / "nope"), cache=False)


def test_only_non_cloudtrail_json_is_a_clear_error(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"foo": 1}))
    with pytest.raises(SourceError, match="No CloudTrail could be read .*not CloudTrail: a JSON object with keys foo"):
        load_events(str(tmp_path), cache=False)


def test_parallel_and_in_process_give_the_same_frame(tmp_path, monkeypatch):
    import trailtools.events.parallel as par

    for n in range(30):
        recs = [record(f"{n:08d}-0000-4000-8000-{i:012d}", f"2026-11-0{1 + n % 5}T{i % 24:02d}:00:00Z")
                for i in range(50)]
        write_gz(s3_path(tmp_path, "111122223333", "us-east-1", f"202611{1 + n % 5:02d}T23{n:02d}Z", uid=f"U{n}"),
                 {"Records": recs})
    one = load_events(str(tmp_path), cache=False, workers=1)
    monkeypatch.setattr(par, "IN_PROCESS_BYTES", 0)
    monkeypatch.setattr("trailtools.sources.local.CHUNK_FILES", 7)
    two = load_events(str(tmp_path), cache=False, workers=2)
    assert one.stats.events == two.stats.events == 1500
    assert one.frame.drop(columns="_file").equals(two.frame.drop(columns="_file"))
    assert list(one.frame["_file"].astype(str)) == list(two.frame["_file"].astype(str))
