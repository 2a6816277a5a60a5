"""``cwlogs://`` over HTTP against moto in server mode (FilterLogEvents, paginated) and through botocore's Stubber
for Logs Insights (StartQuery / GetQueryResults, which moto does not answer as AWS does): the messages are the
records, the same frame as a file of those records; limits stated in the notes; AWS errors one sentence."""
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import ANY, Stubber
from conftest import record

from trailtools import Query, load_events
from trailtools.aws.errors import AwsDataUnavailable
from trailtools.errors import SourceError
from trailtools.events.result import LoadOptions
from trailtools.sources import cwlogs, get_loader

GROUP = "aws-cloudtrail-logs-111122223333-2f1c"
STREAM = "111122223333_CloudTrail_us-east-1"


#: CloudWatch Logs (and moto) refuse log events older than 14 days: the moto tests put theirs two hours ago
RECENT = (datetime.now(UTC) - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)


def recs(n=25, base: datetime = datetime(2026, 11, 3, 10, tzinfo=UTC)):
    names = ("RunInstances", "DescribeInstances", "ConsoleLogin", "StopInstances", "AssumeRole")
    return [record(f"cccccccc-0000-4000-8000-{i:012d}", f"{base + timedelta(seconds=i):%Y-%m-%dT%H:%M:%SZ}",
                   names[i % len(names)], awsRegion="us-east-1" if i % 3 else "eu-west-1") for i in range(n)]


def _ms(rec):
    return int(datetime.fromisoformat(rec["eventTime"].replace("Z", "+00:00")).timestamp() * 1000)


def seed(group, n=25):
    """A log group as a trail fills it (moto's server lives for the session: each test its own group)."""
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=STREAM)
    logs.put_log_events(logGroupName=group, logStreamName=STREAM,
                        logEvents=[{"timestamp": _ms(r), "message": json.dumps(r)} for r in recs(n, RECENT)])


def _cols(frame):
    return frame[["eventID", "eventTime", "eventName", "awsRegion", "userIdentity.arn"]].reset_index(drop=True)


def test_filter_log_events_over_http_same_frame_as_a_file(aws_env, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAILTOOLS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cwlogs, "PAGE_EVENTS", 10)  # 25 events: three pages
    seed(GROUP)
    q = Query(start=RECENT, end=RECENT + timedelta(hours=1))
    res = load_events(f"cwlogs://{GROUP}", q, cache=False)
    f = tmp_path / "same.json"
    f.write_text(json.dumps({"Records": recs(25, RECENT)}))
    local = load_events(str(f), q, cache=False)
    assert res.stats.events == 25 == res.stats.records_seen
    assert _cols(res.frame).equals(_cols(local.frame))
    assert res.raw(3) == recs(25, RECENT)[3]
    assert f"CloudWatch Logs FilterLogEvents on {GROUP}: 25 events in 3 pages" in res.stats.notes


def test_the_page_and_event_limits_are_said(aws_env, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAILTOOLS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cwlogs, "PAGE_EVENTS", 10)
    seed("/aws/cloudtrail/limits")
    q = Query(start=RECENT, end=RECENT + timedelta(hours=1))
    res = load_events("cwlogs:///aws/cloudtrail/limits?max_pages=2", q, cache=False)
    assert res.stats.events == 20
    assert any("more than 2 pages of events: only those were read" in n for n in res.stats.notes)
    res = load_events("cwlogs:///aws/cloudtrail/limits?max_events=7&mode=filter", q, cache=False)
    assert res.stats.events == 7
    assert any("more than 7 events in the window" in n for n in res.stats.notes)


def test_a_missing_log_group_is_one_sentence(aws_env):
    with pytest.raises(AwsDataUnavailable) as err:
        load_events("cwlogs://no-such-group", Query(start="2026-11-03", end="2026-11-03"), cache=False)
    assert str(err.value).startswith("Amazon CloudWatch Logs FilterLogEvents failed (ResourceNotFoundException")


def test_the_filter_pattern_and_insights_query_are_compiled_from_the_query():
    q = Query(start="2026-11-03", event_names=["RunInstances", "StopInstances"], regions=["us-east-1"],
              event_sources=['ec2.amazonaws.com" || $.x = "y'])  # not pushed down: it cannot be written safely
    assert cwlogs.filter_pattern(q) == \
        '{ ($.eventName = "RunInstances" || $.eventName = "StopInstances") && ($.awsRegion = "us-east-1") }'
    assert cwlogs.insights_query(q, 10000) == (
        'fields @timestamp, @message, @logStream\n| filter eventName in ["RunInstances", "StopInstances"]\n'
        '| filter awsRegion in ["us-east-1"]\n| sort @timestamp asc\n| limit 10000')
    assert cwlogs.filter_pattern(Query(start="2026-11-03")) is None
    many = Query(start="2026-11-03", event_names=[f"Event{i:03d}Name" for i in range(60)], regions=["us-east-1"])
    assert len(cwlogs.filter_pattern(many)) <= 1024 and "awsRegion" in cwlogs.filter_pattern(many)


def _insights_rows(rs):
    return [[{"field": "@timestamp", "value": r["eventTime"].replace("T", " ").replace("Z", ".000")},
             {"field": "@message", "value": json.dumps(r)}, {"field": "@logStream", "value": STREAM},
             {"field": "@ptr", "value": "CmAKJwoj"}] for r in rs]


def test_logs_insights_splits_a_full_window_and_reports_the_bytes_scanned(tmp_path, monkeypatch):
    """A two-day window (auto: Insights) with a limit of 10 rows: the first query fills it, so the window is queried
    again in halves; the notes give the queries, bytes scanned and cost."""
    monkeypatch.setenv("TRAILTOOLS_CACHE_DIR", str(tmp_path / "cache"))
    rs = recs(16)
    client = boto3.client("logs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    stub = Stubber(client)
    start, middle, end = (int(datetime(2026, 11, d, tzinfo=UTC).timestamp()) for d in (3, 4, 5))

    def one(qid, s, e, rows, scanned, running=True):
        stub.add_response("start_query", {"queryId": qid},
                          {"logGroupName": GROUP, "startTime": s, "endTime": e - 1, "queryString": ANY, "limit": 10})
        if running:
            stub.add_response("get_query_results", {"status": "Running", "results": []}, {"queryId": qid})
        stub.add_response("get_query_results", {"status": "Complete", "results": _insights_rows(rows),
                                                "statistics": {"recordsMatched": float(len(rows)),
                                                               "recordsScanned": 1e6, "bytesScanned": scanned}},
                          {"queryId": qid})

    one("q-whole", start, end, rs[:10], 512 * 1024 ** 2)
    one("q-first", start, middle, rs, 256 * 1024 ** 2, running=False)  # 16 > 10: split again
    first_quarter = start + (middle - start) // 2
    one("q-1a", start, first_quarter, rs[:9], 128 * 1024 ** 2)
    one("q-1b", first_quarter, middle, rs[9:], 128 * 1024 ** 2)
    one("q-second", middle, end, [], 256 * 1024 ** 2)
    stub.activate()
    q = Query(start="2026-11-03", end="2026-11-04")
    res = cwlogs.load_cwlogs(f"cwlogs://{GROUP}?insights_limit=10", q, LoadOptions(cache=False, progress=False),
                             client=client, sleep=lambda s: None)
    stub.assert_no_pending_responses()
    assert res.stats.events == 16 and sorted(res.frame["eventID"]) == sorted(r["eventID"] for r in rs)
    assert (f"CloudWatch Logs Insights on {GROUP}: 16 events from 5 queries, 1,280.0 MB scanned: about $0.0063 at "
            "$0.005 per GB") in res.stats.notes


def test_insights_query_limit_and_failures_are_said(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAILTOOLS_CACHE_DIR", str(tmp_path / "cache"))
    client = boto3.client("logs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    stub = Stubber(client)
    stub.add_response("start_query", {"queryId": "q1"})
    stub.add_response("get_query_results", {"status": "Complete", "results": _insights_rows(recs(10)),
                                            "statistics": {"bytesScanned": 1024.0}})
    stub.add_response("start_query", {"queryId": "q2"})
    stub.add_response("get_query_results", {"status": "Failed", "results": []})
    stub.activate()
    q = Query(start="2026-11-03", end="2026-11-04")
    with pytest.raises(SourceError, match=f"The Logs Insights query q2 on {GROUP} ended Failed: narrow the time"):
        cwlogs.load_cwlogs(f"cwlogs://{GROUP}?insights_limit=10", q, LoadOptions(cache=False), client=client,
                           sleep=lambda s: None)
    client = boto3.client("logs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    stub = Stubber(client)
    stub.add_response("start_query", {"queryId": "q3"})
    stub.add_response("get_query_results", {"status": "Complete", "results": _insights_rows(recs(10)),
                                            "statistics": {"bytesScanned": 1024.0}})
    stub.activate()
    res = cwlogs.load_cwlogs(f"cwlogs://{GROUP}?insights_limit=10&max_queries=1", q,
                             LoadOptions(cache=False, progress=False), client=client, sleep=lambda s: None)
    assert res.stats.events == 10  # the full answer kept: one query may not be split
    assert any("returned its limit of 10 events and could not be split further" in n for n in res.stats.notes)


def test_bad_uris_are_one_sentence():
    with pytest.raises(SourceError, match="name the log group right after cwlogs://"):
        cwlogs.load_cwlogs("cwlogs://a group?x", Query(start="2026-11-03"), LoadOptions())
    with pytest.raises(SourceError, match="give a start time"):
        cwlogs.load_cwlogs(f"cwlogs://{GROUP}", Query(), LoadOptions())
    with pytest.raises(SourceError, match="mode='fast' in"):
        cwlogs.load_cwlogs(f"cwlogs://{GROUP}?mode=fast", Query(start="2026-11-03"), LoadOptions())
    assert get_loader(f"cwlogs:///aws/cloudtrail/{GROUP}").__name__ == "load_cwlogs"
