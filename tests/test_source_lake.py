"""``lake://`` through botocore's Stubber (moto has no CloudTrail Lake queries): StartQuery, DescribeQuery polled
until FINISHED, GetQueryResults paged; the rows become the records they came from, the same frame as a file of
those records; bytes scanned and cost in the notes; AWS errors and failed queries are one sentence."""
import json

import boto3
import pytest
from botocore.stub import Stubber
from conftest import record

from trailtools import Query, load_events
from trailtools.aws.errors import AwsDataUnavailable
from trailtools.errors import SourceError
from trailtools.events.result import LoadOptions
from trailtools.sources import get_loader, lake
from trailtools.sources.lake_sql import COLUMNS

STORE = "EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"
QID = "0123abcd-0000-4000-8000-00000000abcd"
INSTANCE = "i-04c2a9e71d3b58f06"


def recs():
    out = []
    for i, name in enumerate(("RunInstances", "StopInstances", "TerminateInstances")):
        out.append(record(f"eeeeeeee-0000-4000-8000-{i:012d}", f"2026-11-03T10:0{i}:00.000Z", name,
                          requestParameters={"instancesSet": {"items": [{"instanceId": INSTANCE}]}, "force": "true"},
                          additionalEventData={"MFAUsed": "No"}, readOnly=False,
                          resources=[{"ARN": f"arn:aws:ec2:us-east-1:111122223333:instance/{INSTANCE}",
                                      "accountId": "111122223333", "type": "AWS::EC2::Instance"}]))
    return out


def lake_row(rec: dict) -> list[dict]:
    """A record as Lake's GetQueryResults gives the compiled SELECT: one {column: text} cell per column; a map's
    nested objects as JSON text (Lake's maps hold text), structures as JSON."""
    row = []
    for name, kind in COLUMNS.items():
        value = rec.get(name)
        if value is None:
            continue
        if name in ("requestParameters", "responseElements", "additionalEventData", "serviceEventDetails"):
            value = json.dumps({k: v if isinstance(v, str) else json.dumps(v) for k, v in value.items()})
        elif kind == "json":
            value = json.dumps(value)
        elif kind == "bool":
            value = "true" if value else "false"
        row.append({name: value})
    return row


def stubbed(pages, *, states=("QUEUED", "RUNNING", "FINISHED"), scanned=3 * 1024 ** 3):
    client = boto3.client("cloudtrail", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    stub = Stubber(client)
    stub.add_response("start_query", {"QueryId": QID})
    for state in states:
        resp = {"QueryId": QID, "QueryStatus": state}
        if state == "FINISHED":
            resp["QueryStatistics"] = {"EventsMatched": 3, "EventsScanned": 900, "BytesScanned": scanned}
        if state == "FAILED":
            resp["ErrorMessage"] = "Query syntax error."
        stub.add_response("describe_query", resp, {"QueryId": QID})
    for n, rows in enumerate(pages):
        resp = {"QueryStatus": "FINISHED", "QueryResultRows": rows,
                "QueryStatistics": {"ResultsCount": len(rows), "TotalResultsCount": 3, "BytesScanned": scanned}}
        expected = {"QueryId": QID, "MaxQueryResults": 1000}
        if n:
            expected["NextToken"] = f"page{n}"
        if n < len(pages) - 1:
            resp["NextToken"] = f"page{n + 1}"
        stub.add_response("get_query_results", resp, expected)
    stub.activate()
    return client, stub


def test_lake_rows_are_the_records_same_frame_as_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAILTOOLS_CACHE_DIR", str(tmp_path / "cache"))
    rows = [lake_row(r) for r in recs()]
    client, stub = stubbed([rows[:2], rows[2:]])
    q = Query(start="2026-11-03", end="2026-11-03", resource=INSTANCE)
    res = lake.load_lake(f"lake://arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/{STORE}", q,
                         LoadOptions(cache=False, progress=False), client=client, sleep=lambda s: None)
    stub.assert_no_pending_responses()
    f = tmp_path / "same.json"
    f.write_text(json.dumps({"Records": recs()}))
    local = load_events(str(f), q, cache=False)
    cols = ["eventID", "eventTime", "eventName", "userIdentity.arn", "additionalEventData.MFAUsed", "readOnly"]
    assert res.frame[cols].reset_index(drop=True).equals(local.frame[cols].reset_index(drop=True))
    assert res.stats.events == 3 == res.stats.records_seen
    raw = res.raw(0)
    assert raw["requestParameters"] == recs()[0]["requestParameters"]
    assert raw["resources"] == recs()[0]["resources"] and raw["userIdentity"] == recs()[0]["userIdentity"]
    note = " ".join(res.stats.notes)
    assert f"CloudTrail Lake query {QID} over {STORE} scanned 3,072.0 MB: about $0.0150 at $0.005 per GB; 3 rows" \
        in note


def test_sql_sent_is_the_compiled_query(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAILTOOLS_CACHE_DIR", str(tmp_path / "cache"))
    client, stub = stubbed([[]], states=("FINISHED",))
    sent = {}
    client.meta.events.register("provide-client-params.cloudtrail.StartQuery",
                                lambda params, **kw: sent.update(params))
    q = Query(start="2026-11-03", end="2026-11-04", event_names=["ConsoleLogin"])
    res = lake.load_lake(f"lake://{STORE}", q, LoadOptions(cache=False, progress=False), client=client,
                         sleep=lambda s: None)
    assert res.stats.events == 0
    assert sent["QueryStatement"].endswith(
        f"FROM {STORE}\nWHERE eventTime >= timestamp '2026-11-03 00:00:00'\n"
        "  AND eventTime < timestamp '2026-11-05 00:00:00'\n  AND eventName = 'ConsoleLogin'\n"
        "ORDER BY eventTime, eventID")


def test_a_failed_query_and_an_aws_error_are_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAILTOOLS_CACHE_DIR", str(tmp_path / "cache"))
    client, _ = stubbed([], states=("RUNNING", "FAILED"))
    q = Query(start="2026-11-03", end="2026-11-03")
    with pytest.raises(SourceError, match=f"The CloudTrail Lake query {QID} ended FAILED: Query syntax error; "):
        lake.load_lake(f"lake://{STORE}", q, LoadOptions(cache=False), client=client, sleep=lambda s: None)
    client = boto3.client("cloudtrail", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    stub = Stubber(client)
    stub.add_client_error("start_query", "AccessDeniedException", "User is not authorized", 400)
    stub.activate()
    with pytest.raises(AwsDataUnavailable) as err:
        lake.load_lake(f"lake://{STORE}", q, LoadOptions(cache=False), client=client, sleep=lambda s: None)
    assert str(err.value).startswith("The credentials in use may not call cloudtrail:StartQuery "
                                     "(AccessDeniedException); add the IAM permission")
    assert "\n" not in str(err.value)


def test_bad_uris_and_a_missing_window_are_one_sentence():
    with pytest.raises(SourceError, match="name the event data store by its ID or ARN"):
        lake.load_lake("lake://x;DROP TABLE", Query(start="2026-11-03"), LoadOptions())
    with pytest.raises(SourceError, match="give a start time"):
        lake.load_lake(f"lake://{STORE}", Query(), LoadOptions())
    assert get_loader(f"lake://{STORE}").__name__ == "load_lake"
