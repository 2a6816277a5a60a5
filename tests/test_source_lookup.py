"""``lookup://``: CloudTrail LookupEvents through botocore's Stubber (moto has no LookupEvents), which checks every
request and response against the real service model: pagination, ThrottlingException, the token bucket, the one
pushed-down attribute, us-east-1 for global events, the 90-day horizon, and the same frame as from files."""
import datetime as dt
import json

import boto3
import pytest
from botocore.stub import ANY, Stubber
from conftest import record

from trailtools import Query, load_events
from trailtools.aws.errors import AwsDataUnavailable
from trailtools.aws.ratelimit import TokenBucket
from trailtools.errors import SourceError
from trailtools.events.result import LoadOptions
from trailtools.sources import lookup

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
INSTANCE = "i-0123456789abcdef0"


class FakeClock:
    def __init__(self):
        self.t = 0.0
        self.sleeps = []

    def __call__(self):
        return self.t

    def sleep(self, s):
        self.sleeps.append(s)
        self.t += s


def entry(rec: dict) -> dict:
    """A LookupEvents entry as AWS returns it: the record as a JSON string, and a few fields beside it."""
    return {"EventId": rec["eventID"], "EventName": rec["eventName"], "ReadOnly": "false",
            "EventTime": dt.datetime.fromisoformat(rec["eventTime"].replace("Z", "+00:00")),
            "EventSource": rec["eventSource"], "Username": "alice",
            "Resources": [{"ResourceType": "AWS::EC2::Instance", "ResourceName": INSTANCE}],
            "CloudTrailEvent": json.dumps(rec)}


def recs(n, day="2026-11-20", name="RebootInstances", region="eu-west-1", **extra):
    return [record(f"cccccccc-0000-4000-8000-{i:012d}", f"{day}T10:{i % 60:02d}:00Z", name, awsRegion=region,
                   requestParameters={"instancesSet": {"items": [{"instanceId": INSTANCE}]}}, **extra)
            for i in range(n)]


def cloudtrail(region="eu-west-1"):
    return boto3.client("cloudtrail", region_name=region, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


# ---------------------------------------------------------------- what is pushed down

@pytest.mark.parametrize("query, expected", [
    (Query(principal="AKIAIOSFODNN7EXAMPLE", resource=INSTANCE), [("AccessKeyId", "AKIAIOSFODNN7EXAMPLE")]),
    (Query(resource=INSTANCE, event_names=["RebootInstances"]), [("ResourceName", INSTANCE)]),
    (Query(event_names=["ConsoleLogin", "CreateAccessKey"], principal="alice"),
     [("EventName", "ConsoleLogin"), ("EventName", "CreateAccessKey")]),
    (Query(principal="arn:aws:iam::111122223333:user/alice", event_sources=["ec2.amazonaws.com"]),
     [("Username", "alice")]),
    (Query(event_sources=["iam.amazonaws.com"]), [("EventSource", "iam.amazonaws.com")]),
    (Query(event_names=[f"E{i}" for i in range(6)], event_sources=["ec2.amazonaws.com"]),
     [("EventSource", "ec2.amazonaws.com")]),
    (Query(start="2026-11-01"), [None]),
])
def test_the_most_selective_attribute_is_pushed_down(query, expected):
    got = [(a["AttributeKey"], a["AttributeValue"]) if a else None for a in lookup.choose_attributes(query)]
    assert got == expected


def test_plan_chunks_the_window_and_adds_us_east_1_for_global_events():
    p = lookup.plan(Query(start="2026-11-20", end="2026-11-22"), ["eu-west-1"], now=NOW)
    eu = [c for c in p.calls if c.region == "eu-west-1"]
    us = [c for c in p.calls if c.region == "us-east-1"]
    assert [(c.start.day, c.end.day) for c in eu] == [(20, 21), (21, 22), (22, 23)]
    assert {c.attribute["AttributeValue"] for c in us} == set(lookup.GLOBAL_SOURCES) and len(us) == 9
    # a query restricted to regions asks only those
    p2 = lookup.plan(Query(start="2026-11-20", end="2026-11-22", regions=["eu-west-1"]), ["eu-west-1"], now=NOW)
    assert {c.region for c in p2.calls} == {"eu-west-1"}


def test_the_90_day_horizon_is_stated():
    p = lookup.plan(Query(start="2026-08-01", end="2026-09-01", regions=["us-east-1"]), ["us-east-1"], now=NOW)
    assert "only the last 90 days" in p.notes[0] and "2026-08-29" in p.notes[0]
    assert p.calls[0].start == NOW - lookup.HORIZON
    with pytest.raises(SourceError, match="only the last 90 days.*s3://BUCKET"):
        lookup.plan(Query(start="2026-05-01", end="2026-06-01"), ["us-east-1"], now=NOW)


# ---------------------------------------------------------------- pacing

def test_token_bucket_paces_two_requests_a_second():
    clock = FakeClock()
    b = TokenBucket(2.0, clock=clock, sleep=clock.sleep)
    for _ in range(10):
        b.acquire()
    assert clock.t == pytest.approx(4.0)  # 2 saved up, then one every half second
    b.throttled()
    assert b.rate == 1.0
    t = clock.t
    b.acquire()
    assert clock.t - t == pytest.approx(1.0)
    for _ in range(200):
        b.succeeded()
    assert b.rate == 2.0


def test_pages_and_throttling_through_the_real_service_model():
    client = cloudtrail()
    clock = FakeClock()
    bucket = TokenBucket(2.0, clock=clock, sleep=clock.sleep)
    rs = recs(120)
    call = lookup.Call("eu-west-1", {"AttributeKey": "ResourceName", "AttributeValue": INSTANCE},
                       dt.datetime(2026, 11, 20, tzinfo=dt.UTC), dt.datetime(2026, 11, 21, tzinfo=dt.UTC))
    base = {"StartTime": call.start, "EndTime": call.end, "MaxResults": 50, "LookupAttributes": [call.attribute]}
    with Stubber(client) as stub:
        stub.add_response("lookup_events", {"Events": [entry(r) for r in rs[:50]], "NextToken": "t1"}, base)
        stub.add_client_error("lookup_events", "ThrottlingException", "Rate exceeded", 400,
                              expected_params={**base, "NextToken": "t1"})
        stub.add_client_error("lookup_events", "ThrottlingException", "Rate exceeded", 400,
                              expected_params={**base, "NextToken": "t1"})
        stub.add_response("lookup_events", {"Events": [entry(r) for r in rs[50:100]], "NextToken": "t2"},
                          {**base, "NextToken": "t1"})
        stub.add_response("lookup_events", {"Events": [entry(r) for r in rs[100:]]}, {**base, "NextToken": "t2"})
        events, requests, truncated = lookup.fetch(client, call, bucket)
        stub.assert_no_pending_responses()
    assert len(events) == 120 and requests == 5 and not truncated
    assert bucket.throttles == 2 and bucket.rate < 2.0
    # the bucket, not a fixed sleep, did the waiting: after each throttle it started empty at a lower rate
    assert clock.sleeps and clock.t >= 1 / 1.0 + 1 / 0.5


def test_throttling_that_does_not_stop_is_one_sentence():
    client = cloudtrail()
    clock = FakeClock()
    call = lookup.Call("eu-west-1", None, NOW - dt.timedelta(days=1), NOW)
    with Stubber(client) as stub:
        for _ in range(lookup.MAX_THROTTLE_RETRIES + 1):
            stub.add_client_error("lookup_events", "ThrottlingException", "Rate exceeded", 400)
        with pytest.raises(AwsDataUnavailable, match="kept throttling LookupEvents"):
            lookup.fetch(client, call, TokenBucket(2.0, clock=clock, sleep=clock.sleep))


def test_access_denied_names_the_permission():
    client = cloudtrail()
    call = lookup.Call("eu-west-1", None, NOW - dt.timedelta(days=1), NOW)
    with Stubber(client) as stub:
        stub.add_client_error("lookup_events", "AccessDeniedException", "not authorized", 400)
        with pytest.raises(AwsDataUnavailable, match="`cloudtrail:LookupEvents`"):
            lookup.fetch(client, call, TokenBucket(2.0))


# ---------------------------------------------------------------- end to end

def test_same_frame_as_from_files_with_the_rest_filtered_locally(tmp_path):
    eu = cloudtrail("eu-west-1")
    us = cloudtrail("us-east-1")
    mine = recs(3, name="RebootInstances") + recs(2, day="2026-11-21", name="StopInstances")
    login = record("dddddddd-0000-4000-8000-000000000001", "2026-11-20T09:00:00Z", "ConsoleLogin",
                   eventSource="signin.amazonaws.com", awsRegion="us-east-1",
                   requestParameters={"note": INSTANCE})
    clock = FakeClock()
    q = Query(start="2026-11-20", end="2026-11-21", resource=INSTANCE, event_names=["RebootInstances", "ConsoleLogin"])
    with Stubber(eu) as s_eu, Stubber(us) as s_us:
        # one call per day for the resource, in eu-west-1 (2 days) and in us-east-1 for global events (2 days)
        s_eu.add_response("lookup_events", {"Events": [entry(r) for r in mine[:3]]},
                          {"StartTime": ANY, "EndTime": ANY, "MaxResults": 50,
                           "LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": INSTANCE}]})
        s_eu.add_response("lookup_events", {"Events": [entry(r) for r in mine[3:]]}, {
            "StartTime": ANY, "EndTime": ANY, "MaxResults": 50, "LookupAttributes": ANY})
        s_us.add_response("lookup_events", {"Events": [entry(login), entry(recs(1, region="us-east-1")[0])]})
        s_us.add_response("lookup_events", {"Events": []})
        res = lookup.load_lookup("lookup://eu-west-1", q, LoadOptions(progress=False), clients={"eu-west-1": eu,
                                 "us-east-1": us}, now=NOW, sleep=clock.sleep)
        s_eu.assert_no_pending_responses()
        s_us.assert_no_pending_responses()
    # the non-global us-east-1 event was dropped; StopInstances filtered locally
    assert sorted(res.frame["eventName"]) == ["ConsoleLogin"] + ["RebootInstances"] * 3
    files = tmp_path / "f.json"
    files.write_text(json.dumps({"Records": mine + [login]}))
    local = load_events(str(files), q)
    cols = ["eventID", "eventTime", "eventName", "awsRegion", "userIdentity.arn", "requestParameters"]
    assert res.frame[cols].reset_index(drop=True).equals(local.frame[cols].reset_index(drop=True))
    assert res.raw(0)["eventID"] == res.frame["eventID"].iloc[0]
    note = " ".join(res.stats.notes)
    assert "LookupEvents: 4 requests" in note and "ResourceName=" in note and "us-east-1" in note

    # a rerun takes the settled windows from the cache: no request at all (the Stubber would fail on one)
    with Stubber(eu), Stubber(us):
        again = lookup.load_lookup("lookup://eu-west-1", q, LoadOptions(progress=False),
                                   clients={"eu-west-1": eu, "us-east-1": us}, now=NOW, sleep=clock.sleep)
    assert again.frame["eventID"].tolist() == res.frame["eventID"].tolist()
    assert "4 of 4 windows from the cache" in " ".join(again.stats.notes)


def test_registered_scheme_and_bad_uri():
    with pytest.raises(SourceError, match="no path"):
        load_events("lookup://eu-west-1/x", Query())


def test_an_entry_with_a_broken_cloudtrail_event_is_skipped_with_its_reason():
    client = cloudtrail()
    good = recs(2)
    bad = {**entry(good[0]), "EventId": "x", "CloudTrailEvent": '{"eventVersion": "1.09", "eventTime'}
    with Stubber(client) as stub:
        stub.add_response("lookup_events", {"Events": [entry(good[0]), bad, entry(good[1])]})
        res = lookup.load_lookup("lookup://eu-west-1", Query(start="2026-11-20", end="2026-11-20",
                                 regions=["eu-west-1"]), LoadOptions(progress=False), clients={"eu-west-1": client},
                                 now=NOW, sleep=FakeClock().sleep)
    assert len(res.frame) == 2 and res.stats.records_skipped == 1
    assert "CloudTrailEvent is not valid JSON" in res.stats.skipped[0].reason


def test_every_call_is_in_the_iam_policy(api_calls):
    client = cloudtrail()
    with Stubber(client) as stub:
        stub.add_response("lookup_events", {"Events": [entry(r) for r in recs(1)]})
        lookup.load_lookup("lookup://eu-west-1", Query(start="2026-11-20", end="2026-11-20", regions=["eu-west-1"]),
                           LoadOptions(progress=False), clients={"eu-west-1": client}, now=NOW,
                           sleep=FakeClock().sleep)
    assert api_calls == set(lookup.IAM_ACTIONS)


def test_an_expired_sso_session_is_one_sentence(tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.write_text("[profile sso-user]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n"
                      "sso_account_id = 111122223333\nsso_role_name = ReadOnly\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("HOME", str(tmp_path))  # no cached SSO token
    for v in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(v, raising=False)
    with pytest.raises(AwsDataUnavailable, match="aws sso login"):
        load_events("lookup://eu-west-1?profile=sso-user", Query(start="2026-11-20"))
    with pytest.raises(AwsDataUnavailable, match="no AWS profile named 'nobody'"):
        load_events("lookup://eu-west-1?profile=nobody", Query(start="2026-11-20"))


def test_a_disabled_opt_in_region_is_named():
    from botocore.exceptions import ClientError

    from trailtools.aws.session import explain

    exc = ClientError({"Error": {"Code": "UnrecognizedClientException", "Message": "invalid token"}}, "LookupEvents")
    assert "opt-in region and looks disabled" in str(explain(exc, "cloudtrail", "LookupEvents", region="af-south-1"))
    assert "did not accept the credentials" in str(explain(exc, "cloudtrail", "LookupEvents", region="eu-west-1"))


def test_a_region_that_cannot_be_read_is_listed_and_the_others_are_read():
    eu, af = cloudtrail("eu-west-1"), cloudtrail("af-south-1")
    with Stubber(eu) as s_eu, Stubber(af) as s_af:
        s_eu.add_response("lookup_events", {"Events": [entry(r) for r in recs(2)]})
        s_af.add_client_error("lookup_events", "UnrecognizedClientException", "The security token is invalid", 400)
        res = lookup.load_lookup("lookup://eu-west-1,af-south-1",
                                 Query(start="2026-11-20", end="2026-11-20", regions=["eu-west-1", "af-south-1"]),
                                 LoadOptions(progress=False), clients={"eu-west-1": eu, "af-south-1": af}, now=NOW,
                                 sleep=FakeClock().sleep)
    assert len(res.frame) == 2
    assert [s.path for s in res.stats.skipped] == ["lookup://af-south-1"]
    assert "opt-in region and looks disabled" in res.stats.skipped[0].reason
    with Stubber(af) as s_af:
        s_af.add_client_error("lookup_events", "AccessDeniedException", "no", 400)
        with pytest.raises(AwsDataUnavailable, match="cloudtrail:LookupEvents"):
            lookup.load_lookup("lookup://af-south-1", Query(start="2026-11-20", end="2026-11-20",
                               regions=["af-south-1"]), LoadOptions(progress=False), clients={"af-south-1": af},
                               now=NOW, sleep=FakeClock().sleep)


def test_the_querys_regions_decide_where_to_ask():
    eu = cloudtrail("eu-west-1")
    with Stubber(eu) as stub:
        stub.add_response("lookup_events", {"Events": [entry(r) for r in recs(1)]})
        res = lookup.load_lookup("lookup://us-east-1", Query(start="2026-11-20", end="2026-11-20",
                                 regions=["eu-west-1"]), LoadOptions(progress=False), clients={"eu-west-1": eu},
                                 now=NOW, sleep=FakeClock().sleep)
    assert len(res.frame) == 1
    assert "asked in eu-west-1 (the query's regions), not in us-east-1" in " ".join(res.stats.notes)


def test_a_window_past_the_horizon_says_so_at_once(capsys):
    eu = cloudtrail("eu-west-1")
    with Stubber(eu) as stub:
        for _ in range(2):  # 2026-08-29T12:00 (the horizon) to 2026-10-01 in 30-day pieces
            stub.add_response("lookup_events", {"Events": []})
        res = lookup.load_lookup("lookup://eu-west-1?chunk_hours=720", Query(start="2026-07-01", end="2026-09-30",
                                 regions=["eu-west-1"]), LoadOptions(progress=False), clients={"eu-west-1": eu},
                                 now=NOW, sleep=FakeClock().sleep)
        stub.assert_no_pending_responses()
    err = capsys.readouterr().err
    assert err.startswith("trailtools: LookupEvents keeps only the last 90 days: the window before 2026-08-29T12:00Z")
    assert "read the trail bucket (s3://) or Athena" in err and res.stats.notes[0] in err


def test_pieces_are_aligned_so_that_settled_ones_are_reused():
    utc = dt.UTC
    got = lookup.windows(dt.datetime(2026, 11, 20, 15, 30, tzinfo=utc), dt.datetime(2026, 11, 22, 6, tzinfo=utc),
                         dt.timedelta(days=1))
    assert [(a.isoformat()[5:16], b.isoformat()[5:16]) for a, b in got] == [
        ("11-20T15:30", "11-21T00:00"), ("11-21T00:00", "11-22T00:00"), ("11-22T00:00", "11-22T06:00")]
    six = lookup.windows(dt.datetime(2026, 11, 20, 1, tzinfo=utc), dt.datetime(2026, 11, 20, 13, tzinfo=utc),
                         dt.timedelta(hours=6))
    assert [a.hour for a, _ in six] == [1, 6, 12]
