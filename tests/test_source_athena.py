"""``athena://`` against moto in server mode (results seeded through moto's own API, as its docs describe) and
through botocore's Stubber for what moto does not do (pages of results, a running query, data scanned, a failed
query): the same frame as the same records read from a file."""
import json
import urllib.request

import boto3
import pytest
from botocore.stub import ANY, Stubber
from conftest import record
from test_athena_sql import athena_row

from trailtools import Query, load_events
from trailtools.aws.errors import AwsDataUnavailable
from trailtools.errors import SourceError
from trailtools.events.result import LoadOptions
from trailtools.sources import athena
from trailtools.sources.athena_sql import COLUMNS

INSTANCE = "i-04c2a9e71d3b58f06"


def recs():
    out = []
    for i, (name, region) in enumerate((("RebootInstances", "us-east-1"), ("DescribeInstances", "us-east-1"),
                                        ("StopInstances", "eu-west-1"))):
        out.append(record(f"ffffffff-0000-4000-8000-{i:012d}", f"2026-10-06T14:2{i}:31Z", name, awsRegion=region,
                          requestParameters={"instancesSet": {"items": [{"instanceId": INSTANCE}]}},
                          additionalEventData={"MFAUsed": "No"}, readOnly=name.startswith("Describe")))
    return out


def result_set(rows: list[dict], header: bool = True) -> tuple[list, list]:
    """Rows of the compiled SELECT as GetQueryResults gives them (the first row repeats the column names)."""
    cols = list(COLUMNS)
    data = [{"Data": [{"VarCharValue": c} for c in cols]}] if header else []
    data += [{"Data": [({"VarCharValue": r[c]} if r[c] is not None else {}) for c in cols]} for r in rows]
    info = [{"Name": c, "Label": c, "Type": "varchar"} for c in cols]
    return data, info


def seed(moto_server: str, rows, info, region="us-east-1"):
    body = json.dumps({"account_id": "123456789012", "region": region,
                       "results": [{"rows": rows, "column_info": info}]}).encode()
    req = urllib.request.Request(f"{moto_server}/moto-api/static/athena/query-results", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        assert resp.status == 201


def _cols(frame):
    cols = ["eventID", "eventTime", "eventName", "awsRegion", "userIdentity.arn", "additionalEventData.MFAUsed",
            "readOnly"]
    return frame[cols].reset_index(drop=True)


def test_moto_athena_end_to_end_same_frame_as_files(aws_env, tmp_path):
    boto3.client("s3").create_bucket(Bucket="athena-results")
    rows, info = result_set([athena_row(r) for r in recs()])
    seed(aws_env, rows, info)
    q = Query(start="2026-10-06", end="2026-10-06", resource=INSTANCE, regions=["us-east-1"])
    res = load_events("athena://security.cloudtrail_logs?workgroup=primary&output=s3://athena-results/q/", q)
    f = tmp_path / "same.json"
    f.write_text(json.dumps({"Records": recs()}))
    local = load_events(str(f), q)
    assert list(res.frame["eventName"]) == ["RebootInstances", "DescribeInstances"]  # eu-west-1 filtered locally
    assert _cols(res.frame).equals(_cols(local.frame))
    assert res.raw(0)["requestParameters"]["instancesSet"]["items"][0]["instanceId"] == INSTANCE
    note = " ".join(res.stats.notes)
    assert "scanned 0.0 MB" in note and "at $5 per TB" in note and "3 rows" in note
    # the SQL Athena was given: the partition columns first
    ath = boto3.client("athena")
    qid = note.split("Athena query ")[1].split(" ")[0]
    sql = ath.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Query"]
    assert "WHERE \"timestamp\" >= '2026/10/05'\n  AND \"timestamp\" <= '2026/10/07'\n  AND \"region\" = 'us-east-1'" in sql


def test_moto_creates_the_table_first_when_asked(aws_env):
    boto3.client("s3").create_bucket(Bucket="athena-results2")
    rows, info = result_set([athena_row(r) for r in recs()[:1]])
    seed(aws_env, [], [])  # the CREATE TABLE statement's (empty) result
    seed(aws_env, rows, info)
    res = load_events("athena://security.ct?output=s3://athena-results2/&create=s3://trail/AWSLogs/"
                      "&accounts=111122223333&regions=us-east-1,eu-west-1", Query(start="2026-10-06"))
    assert len(res.frame) == 1
    ath = boto3.client("athena")
    queries = [ath.get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"]
               for i in ath.list_query_executions()["QueryExecutionIds"]]
    assert any(q.startswith("CREATE EXTERNAL TABLE IF NOT EXISTS `security`.`ct`") for q in queries)
    with pytest.raises(SourceError, match="give accounts= and regions="):
        load_events("athena://security.ct?create=s3://trail/AWSLogs/", Query())


def stubbed():
    return boto3.client("athena", region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def test_polls_pages_and_reports_the_cost():
    client = stubbed()
    rs = [athena_row(r) for r in recs()]
    rows, info = result_set(rs)
    sleeps = []
    with Stubber(client) as stub:
        stub.add_response("start_query_execution", {"QueryExecutionId": "q-1"},
                          {"QueryString": ANY, "WorkGroup": "forensics", "QueryExecutionContext": {"Database": "db"},
                           "ResultConfiguration": {"OutputLocation": "s3://r/"}})
        stub.add_response("get_query_execution", {"QueryExecution": {"QueryExecutionId": "q-1",
                                                                     "Status": {"State": "QUEUED"}}})
        stub.add_response("get_query_execution", {"QueryExecution": {"QueryExecutionId": "q-1",
                                                                     "Status": {"State": "RUNNING"}}})
        stub.add_response("get_query_execution", {"QueryExecution": {
            "QueryExecutionId": "q-1", "Status": {"State": "SUCCEEDED"},
            "Statistics": {"DataScannedInBytes": 3 * 1024 ** 3}}})
        stub.add_response("get_query_results", {"ResultSet": {"Rows": rows[:2], "ResultSetMetadata": {"ColumnInfo": info}},
                                                "NextToken": "p2"}, {"QueryExecutionId": "q-1", "MaxResults": 1000})
        stub.add_response("get_query_results", {"ResultSet": {"Rows": rows[2:], "ResultSetMetadata": {"ColumnInfo": info}}},
                          {"QueryExecutionId": "q-1", "MaxResults": 1000, "NextToken": "p2"})
        res = athena.load_athena("athena://db.t?workgroup=forensics&output=s3://r/", Query(),
                                 LoadOptions(progress=False), client=client, sleep=sleeps.append)
        stub.assert_no_pending_responses()
    assert len(res.frame) == 3  # the header row of page 1 is not an event
    assert sleeps == [0.2, pytest.approx(0.3)]
    note = " ".join(res.stats.notes)
    assert "scanned 3,072.0 MB: about $0.0146 at $5 per TB" in note


def test_a_failed_query_and_a_denied_call_are_one_sentence():
    client = stubbed()
    with Stubber(client) as stub:
        stub.add_response("start_query_execution", {"QueryExecutionId": "q-2"})
        stub.add_response("get_query_execution", {"QueryExecution": {"QueryExecutionId": "q-2", "Status": {
            "State": "FAILED", "StateChangeReason": "TABLE_NOT_FOUND: line 30:6: Table 'db.t' does not exist"}}})
        with pytest.raises(SourceError, match=r"The Athena query q-2 failed: TABLE_NOT_FOUND.*does not exist; check"):
            athena.load_athena("athena://db.t", Query(), LoadOptions(), client=client, sleep=lambda s: None)
    with Stubber(client) as stub:
        stub.add_client_error("start_query_execution", "AccessDeniedException", "not authorized", 400)
        with pytest.raises(AwsDataUnavailable, match="`athena:StartQueryExecution`"):
            athena.load_athena("athena://db.t", Query(), LoadOptions(), client=client)


@pytest.mark.parametrize("uri, message", [
    ("athena://justonename", "name the table as athena://DATABASE.TABLE"),
    ("athena://db.t?partitions=day", "give role:column pairs"),
    ("athena://db.t?output=/tmp/x", "give the S3 location"),
    ("athena://db.t/x", "no path"),
])
def test_bad_uris(uri, message):
    with pytest.raises(SourceError, match=message):
        athena.load_athena(uri, Query(), LoadOptions(), client=object())


def test_every_call_is_in_the_iam_policy(aws_env, api_calls):
    boto3.client("s3").create_bucket(Bucket="athena-results3")
    rows, info = result_set([athena_row(r) for r in recs()[:1]])
    seed(aws_env, rows, info)
    api_calls.clear()
    load_events("athena://security.cloudtrail_logs?output=s3://athena-results3/", Query())
    assert api_calls <= set(athena.IAM_ACTIONS) and "athena:GetQueryResults" in api_calls
