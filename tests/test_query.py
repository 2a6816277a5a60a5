"""The query spec: time parsing, path pruning (files outside the query are never opened) and exact filters."""
from datetime import timedelta

import pandas as pd
import pytest
from conftest import record, s3_path, write_gz

from trailtools import Query, load_events
from trailtools.errors import QueryError
from trailtools.events.layout import DIGEST, INSIGHT, LOG, OTHER, classify

ACCT, ACCT2 = "111122223333", "444455556666"


def test_time_parsing():
    q = Query(start="2026-11-03", end="2026-11-03")
    assert q.start == pd.Timestamp("2026-11-03T00:00Z") and q.end == pd.Timestamp("2026-11-04T00:00Z")
    q = Query(start="2026-11-03T10:00:00+02:00", end="2026-11-03T12:00:00")
    assert q.start == pd.Timestamp("2026-11-03T08:00Z") and q.end == pd.Timestamp("2026-11-03T12:00Z")
    with pytest.raises(QueryError, match="Cannot read the time 'tomorrow'"):
        Query(start="tomorrow")
    with pytest.raises(QueryError, match="is not after its start"):
        Query(start="2026-11-04", end="2026-11-03T00:00Z")
    with pytest.raises(QueryError, match="not an AWS account ID"):
        Query(accounts=["12345"])
    assert Query(regions="us-east-1, eu-west-1").regions == ("us-east-1", "eu-west-1")


def test_classify_paths():
    p = classify(f"x/AWSLogs/o-abcdef1234/{ACCT}/CloudTrail/eu-west-1/2026/11/03/"
                 f"{ACCT}_CloudTrail_eu-west-1_20261103T1005Z_AbC123.json.gz")
    assert (p.kind, p.org, p.account, p.region, p.day.day, p.delivered.minute) == (LOG, "o-abcdef1234", ACCT,
                                                                                   "eu-west-1", 3, 5)
    assert classify(f"AWSLogs/{ACCT}/CloudTrail-Digest/us-east-1/2026/11/03/"
                    f"{ACCT}_CloudTrail-Digest_us-east-1_t_us-east-1_20261103T110000Z.json.gz").kind == DIGEST
    assert classify(f"AWSLogs/{ACCT}/CloudTrail-Insight/us-east-1/2026/11/03/x.json.gz").kind == INSIGHT
    assert classify(f"AWSLogs/{ACCT}/vpcflowlogs/us-east-1/2026/11/03/x.log.gz").kind == OTHER
    assert classify("flat/123456789012_CloudTrail_us-west-2_20261103T1005Z_x.json.gz").region == "us-west-2"
    assert classify("some/events.jsonl").kind == LOG and classify("notes.md").kind == OTHER


@pytest.fixture
def corpus(tmp_path):
    """3 days x 2 regions x 2 accounts; one file per hour; one event 4 minutes before each delivery."""
    for account in (ACCT, ACCT2):
        for region in ("us-east-1", "eu-west-1"):
            for day in (2, 3, 4):
                for hour in range(24):
                    t = pd.Timestamp(f"2026-11-{day:02d}T{hour:02d}:00Z")
                    ev = record(f"{account[:4]}{day:02d}{hour:02d}-{region[:2]}00-4000-8000-000000000000",
                                (t - timedelta(minutes=4)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                                awsRegion=region, recipientAccountId=account)
                    write_gz(s3_path(tmp_path, account, region, t.strftime("%Y%m%dT%H%MZ")), {"Records": [ev]})
    return tmp_path


def test_pruning_by_time_region_and_account(corpus):
    full = load_events(str(corpus), cache=False)
    assert full.stats.events == 288 and full.stats.files_pruned == 0
    q = Query(start="2026-11-03T10:00Z", end="2026-11-03T12:00Z", regions=["eu-west-1"], accounts=[ACCT2])
    res = load_events(str(corpus), q, cache=False)
    # files delivered 10:00 .. 15:00 (end + 3 h late margin) in one account and region are opened; no others
    assert res.stats.files_read == 6 and res.stats.files_pruned == 282
    assert res.stats.events == 2  # events at 10:56 and 11:56; the file delivered at 10:00 held 09:56
    assert set(res.frame["awsRegion"]) == {"eu-west-1"} and set(res.frame["recipientAccountId"]) == {ACCT2}
    assert res.stats.filtered_out == 4


def test_late_delivery_inside_the_margin_is_not_lost(tmp_path):
    late = record("late0000-0000-4000-8000-000000000000", "2026-11-03T23:50:00Z")
    write_gz(s3_path(tmp_path, ACCT, "us-east-1", "20261104T0130Z"), {"Records": [late]})
    q = Query(start="2026-11-03", end="2026-11-03")
    assert load_events(str(tmp_path), q, cache=False).stats.events == 1
    tight = q.replace(late_margin=timedelta(hours=1))
    res = load_events(str(tmp_path), tight, cache=False)
    assert res.stats.events == 0 and res.stats.files_pruned == 1


def test_a_query_that_prunes_every_file_is_not_an_error(corpus):
    res = load_events(str(corpus), Query(start="2025-01-01", end="2025-01-02"), cache=False)
    assert res.stats.events == 0 and res.stats.files_pruned == 288 and len(res.frame.columns) > 40


@pytest.fixture
def varied(tmp_path):
    recs = [
        record("a0000000-0000-4000-8000-000000000001", "2026-11-03T10:00:00Z", "RebootInstances",
               requestParameters={"instancesSet": {"items": [{"instanceId": "i-0123456789abcdef0"}]}}),
        record("a0000000-0000-4000-8000-000000000002", "2026-11-03T10:01:00Z", "StopInstances",
               requestParameters={"instancesSet": {"items": [{"instanceId": "i-0123456789abcdef01"}]}},
               errorCode="Client.UnauthorizedOperation", errorMessage="nope"),
        record("a0000000-0000-4000-8000-000000000003", "2026-11-03T10:02:00Z", "PutObject",
               eventSource="s3.amazonaws.com",
               resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::bucket/key.txt"}],
               userIdentity={"type": "AssumedRole", "principalId": "AROAEXAMPLE:bob@example.com",
                             "arn": f"arn:aws:sts::{ACCT}:assumed-role/AWSReservedSSO_Dev_0123/bob@example.com",
                             "accountId": ACCT, "accessKeyId": "ASIAEXAMPLE",
                             "sessionContext": {"sessionIssuer": {
                                 "type": "Role", "arn": f"arn:aws:iam::{ACCT}:role/AWSReservedSSO_Dev_0123",
                                 "userName": "AWSReservedSSO_Dev_0123"}}}),
    ]
    (tmp_path / "t.json").write_text(__import__("json").dumps(recs))
    return str(tmp_path / "t.json")


@pytest.mark.parametrize("query,expected", [
    (Query(resource="i-0123456789abcdef0"), ["RebootInstances"]),          # not the longer ID that starts the same
    (Query(resource="arn:aws:s3:::bucket/key.txt"), ["PutObject"]),
    (Query(event_names=["StopInstances", "PutObject"]), ["StopInstances", "PutObject"]),
    (Query(event_sources=["s3.amazonaws.com"]), ["PutObject"]),
    (Query(errors_only=True), ["StopInstances"]),
    (Query(principal="alice"), ["RebootInstances", "StopInstances"]),
    (Query(principal="bob@example.com"), ["PutObject"]),                    # role session name
    (Query(principal="bob"), ["PutObject"]),                                # ... by its user part
    (Query(principal="BOB"), ["PutObject"]),
    (Query(principal="bo"), []),                                            # not a prefix of it
    (Query(principal="example.com"), []),                                   # nor its domain
    (Query(principal="AWSReservedSSO_Dev_0123"), ["PutObject"]),             # role name
    (Query(principal=f"arn:aws:iam::{ACCT}:user/ALICE"), ["RebootInstances", "StopInstances"]),
    (Query(principal="ASIAEXAMPLE"), ["PutObject"]),                         # access key
    (Query(start="2026-11-03T10:01:00Z", end="2026-11-03T10:02:00Z"), ["StopInstances"]),
])
def test_filters(varied, query, expected):
    assert list(load_events(varied, query, cache=False).frame["eventName"]) == expected


def test_actor_for_sso_role(varied):
    f = load_events(varied, cache=False).frame
    assert f["actor"].iloc[2] == "AWSReservedSSO_Dev_0123/bob@example.com"
