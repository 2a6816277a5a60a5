"""AWS Health: transforms against AWS's own CLI examples, read_health against the demo account, get_health against
botocore's Stubber (moto has no Health), errors as one sentence each."""
import datetime as dt
import json
import re

import boto3
import pandas as pd
import pytest
from botocore import exceptions as bx
from botocore.config import Config
from botocore.stub import Stubber
from conftest import CLI_EXAMPLES, cli_outputs, ts

from trailtools.aws.errors import AwsDataUnavailable, unavailable
from trailtools.demo import ensure_demo_account
from trailtools.evidence import health

CLI = CLI_EXAMPLES
UTC = dt.UTC
DB02, BATCH03 = "i-0b81f3d6c2e9a4775", "i-07e5d2b9a1c4f3806"
BATCH01, WEB01 = "i-08e1a3c5f7b9d2460", "i-04c2a9e71d3b58f06"


# ------------------------------------------------------------------ transforms on AWS's examples

def test_describe_events_cli_examples():
    first, second = cli_outputs(CLI / "health" / "describe-events.rst")
    df = health.transform_events(first)
    assert list(df.columns) == ["arn", "service", "eventTypeCode", "eventTypeCategory", "region", "startTime",
                                "endTime", "lastUpdatedTime", "statusCode", "eventScopeCode"]
    assert len(df) == 10
    for col in ("startTime", "endTime", "lastUpdatedTime"):
        assert str(df[col].dtype) == "datetime64[us, UTC]"
    assert df.loc[0, "service"] == "ECS" and df.loc[0, "eventScopeCode"] == "PUBLIC"
    assert df.loc[0, "startTime"] == ts("2020-05-10T02:31:30.530Z")  # 1589077890.53
    billing = df[df["eventTypeCode"] == "AWS_BILLING_NOTIFICATION"].iloc[0]
    assert billing["region"] == "global" and billing["statusCode"] == "open" and pd.isna(billing["endTime"])
    assert set(df["eventTypeCategory"]) == {"issue", "accountNotification"}
    ec2 = health.transform_events(second)
    assert len(ec2) == 3 and set(ec2["eventTypeCode"]) == {"AWS_EC2_OPERATIONAL_ISSUE"}
    assert (ec2["statusCode"] == "closed").all() and ec2["endTime"].notna().all()


def test_describe_event_details_cli_example():
    (resp,) = cli_outputs(CLI / "health" / "describe-event-details.rst")
    df = health.transform_event_details(resp)
    assert list(df.columns)[:6] == ["arn", "eventTypeCode", "latestDescription", "startTime", "endTime", "statusCode"]
    assert len(df) == 1
    row = df.iloc[0]
    assert row["eventTypeCode"] == "AWS_EC2_OPERATIONAL_ISSUE" and row["statusCode"] == "closed"
    assert row["latestDescription"].startswith("[RESOLVED] Increased API Error Rates")
    assert row["startTime"] == ts("2020-04-21T09:45:25.096Z") and pd.isna(row["errorName"])


def test_describe_affected_entities_cli_example():
    (resp,) = cli_outputs(CLI / "health" / "describe-affected-entities.rst")
    df = health.transform_affected_entities(resp)
    assert list(df.columns)[:6] == ["eventArn", "entityValue", "entityArn", "awsAccountId", "lastUpdatedTime",
                                    "statusCode"]
    assert df.loc[0, "entityValue"] == "AWS_ACCOUNT" and df.loc[0, "awsAccountId"] == "123456789012"
    assert pd.isna(df.loc[0, "statusCode"])  # the example has none
    assert df.loc[0, "lastUpdatedTime"] == ts("2020-05-01T18:07:34.080Z")


def test_all_timestamp_shapes_give_the_same_frame():
    """boto3 gives datetime objects, the CLI v1 epoch numbers, CLI v2 ISO strings: one frame."""
    (resp,) = cli_outputs(CLI / "health" / "describe-event-details.rst")
    event = resp["successfulSet"][0]["event"]
    as_epoch = health.transform_events({"events": [event]})
    as_dt = {k: (dt.datetime.fromtimestamp(v, UTC) if k.endswith("Time") else v) for k, v in event.items()}
    as_iso = {k: (v.isoformat() if k.endswith("Time") else v) for k, v in as_dt.items()}
    as_z = {k: (v.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z" if k.endswith("Time") else v) for k, v in as_dt.items()}
    for shape in (as_dt, as_iso, as_z):
        pd.testing.assert_frame_equal(health.transform_events({"events": [shape]}), as_epoch)


def test_failed_set_is_reported_not_dropped():
    arn = "arn:aws:health:us-east-1::event/EC2/AWS_EC2_OPERATIONAL_ISSUE/AWS_EC2_OPERATIONAL_ISSUE_X"
    df = health.transform_event_details({"successfulSet": [], "failedSet": [
        {"eventArn": arn, "errorName": "UnsupportedEventArn", "errorMessage": "no such event"}]})
    assert len(df) == 1 and df.loc[0, "arn"] == arn and df.loc[0, "errorName"] == "UnsupportedEventArn"
    data = health.HealthData(details=df)
    assert data.failed.to_dict("records")[0]["errorMessage"] == "no such event"


def test_empty_responses_have_the_columns():
    for fn in (health.transform_events, health.transform_affected_entities, health.transform_event_details):
        df = fn({})
        assert len(df) == 0 and len(df.columns) >= 6


# ------------------------------------------------------------------ read_health on the demo account

@pytest.fixture(scope="module")
def demo_health():
    return health.read_health(ensure_demo_account())


def test_demo_incident_2_auto_recovery(demo_health):
    ev = demo_health.events_for(DB02)
    assert len(ev) == 1
    row = ev.iloc[0]
    assert row["eventTypeCode"] == "AWS_EC2_INSTANCE_AUTO_RECOVERY_SUCCESS"
    assert row["eventTypeCategory"] == "accountNotification" and row["statusCode"] == "closed"
    assert row["region"] == "us-east-1" and row["entityStatusCode"] == "RESOLVED"
    assert row["startTime"] == ts("2026-10-08T03:43:07.417Z") and row["endTime"] == ts("2026-10-08T03:52:00Z")
    assert isinstance(row["latestDescription"], str) and row["latestDescription"]


def test_demo_incident_3_scheduled_reboot(demo_health):
    ev = demo_health.events_for(BATCH03)
    assert ev["eventTypeCode"].tolist() == ["AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED"]
    row = ev.iloc[0]
    assert row["eventTypeCategory"] == "scheduledChange" and row["region"] == "eu-west-1"
    assert (row["startTime"], row["endTime"]) == (ts("2026-10-09T02:00Z"), ts("2026-10-09T04:00Z"))
    # the September look-alike belongs to batch-worker-01, not to batch-worker-03
    old = demo_health.events_for(BATCH01)
    assert old["startTime"].tolist() == [ts("2026-09-16T01:00Z")]


def test_demo_incident_1_has_no_health_event(demo_health):
    assert demo_health.events_for(WEB01).empty
    assert demo_health.failed.empty and demo_health.notes == []


def test_events_for_matches_an_entity_given_as_an_arn(demo_health):
    ent = demo_health.entities.copy()
    ent.loc[ent["entityValue"] == DB02, "entityValue"] = f"arn:aws:ec2:us-east-1:314159265358:instance/{DB02}"
    data = health.HealthData(demo_health.events, ent, demo_health.details)
    assert len(data.events_for(DB02)) == 1


def test_read_health_without_saved_files(tmp_path):
    data = health.read_health(tmp_path)
    assert data.events.empty and data.events_for(DB02).empty
    assert len(data.notes) == 3 and "describe-events.json" in data.notes[0]


# ------------------------------------------------------------------ get_health with Stubber

def _client():
    return boto3.client("health", region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(retries={"total_max_attempts": 1}))


ARN2 = ("arn:aws:health:us-east-1::event/EC2/AWS_EC2_INSTANCE_AUTO_RECOVERY_SUCCESS/"
        "AWS_EC2_INSTANCE_AUTO_RECOVERY_SUCCESS_1")
ARN3 = ("arn:aws:health:eu-west-1::event/EC2/AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED/"
        "AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED_1")


def _event(arn, code, category, region, start, end):
    return {"arn": arn, "service": "EC2", "eventTypeCode": code, "eventTypeCategory": category, "region": region,
            "startTime": start, "endTime": end, "lastUpdatedTime": end, "statusCode": "closed",
            "eventScopeCode": "ACCOUNT_SPECIFIC"}


E2 = _event(ARN2, "AWS_EC2_INSTANCE_AUTO_RECOVERY_SUCCESS", "accountNotification", "us-east-1",
            dt.datetime(2026, 10, 8, 3, 43, 7, 417000, UTC), dt.datetime(2026, 10, 8, 3, 52, tzinfo=UTC))
E3 = _event(ARN3, "AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED", "scheduledChange", "eu-west-1",
            dt.datetime(2026, 10, 9, 2, tzinfo=UTC), dt.datetime(2026, 10, 9, 4, tzinfo=UTC))


def _entity(arn, value):
    return {"eventArn": arn, "entityValue": value, "entityArn": f"arn:aws:health:us-east-1:314159265358:entity/{value}",
            "awsAccountId": "314159265358", "lastUpdatedTime": dt.datetime(2026, 10, 9, 5, tzinfo=UTC),
            "statusCode": "RESOLVED"}


def _details(*events):
    return {"successfulSet": [{"event": e, "eventDescription": {"latestDescription": f"about {e['eventTypeCode']}"}}
                              for e in events], "failedSet": []}


def test_get_health_account_view_follows_next_token():
    client = _client()
    end = dt.datetime(2026, 10, 15, tzinfo=UTC)
    values = [DB02, BATCH03]
    with Stubber(client) as stub:
        stub.add_response("describe_events", {"events": [E2], "nextToken": "page-2"},
                          {"filter": {"entityValues": values, "startTimes": [{"to": end}]}, "maxResults": 100})
        stub.add_response("describe_events", {"events": [E3]},
                          {"filter": {"entityValues": values, "startTimes": [{"to": end}]}, "maxResults": 100,
                           "nextToken": "page-2"})
        stub.add_response("describe_affected_entities",
                          {"entities": [_entity(ARN2, DB02), _entity(ARN3, BATCH03)]},
                          {"filter": {"eventArns": [ARN2, ARN3], "entityValues": values}, "maxResults": 100})
        stub.add_response("describe_event_details", _details(E2, E3), {"eventArns": [ARN2, ARN3]})
        data = health.get_health(client, entity_values=values, end="2026-10-15T00:00:00Z")
        stub.assert_no_pending_responses()
    assert not data.truncated
    assert data.events["arn"].tolist() == [ARN2, ARN3]
    assert str(data.events["startTime"].dtype) == "datetime64[us, UTC]"
    ev = data.events_for(BATCH03)
    assert ev["eventTypeCode"].tolist() == ["AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED"]
    assert ev.loc[0, "latestDescription"] == "about AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED"


def test_get_health_stops_at_the_page_limit():
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("describe_events", {"events": [E2], "nextToken": "page-2"},
                          {"filter": {"entityValues": [DB02]}, "maxResults": 100})
        stub.add_response("describe_affected_entities", {"entities": [_entity(ARN2, DB02)]},
                          {"filter": {"eventArns": [ARN2], "entityValues": [DB02]}, "maxResults": 100})
        stub.add_response("describe_event_details", _details(E2), {"eventArns": [ARN2]})
        data = health.get_health(client, entity_values=DB02, max_pages=1)
        stub.assert_no_pending_responses()
    assert data.truncated and data.events["arn"].tolist() == [ARN2]


def test_get_health_start_drops_events_that_ended_before():
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("describe_events", {"events": [E2, E3]}, {"filter": {}, "maxResults": 100})
        stub.add_response("describe_affected_entities", {"entities": [_entity(ARN3, BATCH03)]},
                          {"filter": {"eventArns": [ARN3]}, "maxResults": 100})
        stub.add_response("describe_event_details", _details(E3), {"eventArns": [ARN3]})
        data = health.get_health(client, start=dt.datetime(2026, 10, 9, 1, tzinfo=UTC))
    assert data.events["arn"].tolist() == [ARN3]


def test_get_health_organization_view():
    client = _client()
    org_event = {k: v for k, v in E2.items()}
    with Stubber(client) as stub:
        stub.add_response("describe_events_for_organization", {"events": [org_event]},
                          {"filter": {"entityValues": [DB02]}, "maxResults": 100})
        stub.add_response("describe_affected_entities_for_organization",
                          {"entities": [_entity(ARN2, DB02), _entity(ARN2, "i-0ffffffffffffffff")], "failedSet": []},
                          {"organizationEntityAccountFilters": [{"eventArn": ARN2}], "maxResults": 100})
        stub.add_response("describe_event_details_for_organization",
                          {"successfulSet": [{"awsAccountId": "314159265358", "event": org_event,
                                              "eventDescription": {"latestDescription": "recovered"}}],
                           "failedSet": [{"awsAccountId": "271828182845", "eventArn": ARN2,
                                          "errorName": "UnsupportedEventArn", "errorMessage": "not here"}]},
                          {"organizationEventDetailFilters": [{"eventArn": ARN2, "awsAccountId": "314159265358"}]})
        data = health.get_health(client, entity_values=[DB02], organization=True)
        stub.assert_no_pending_responses()
    assert data.entities["entityValue"].tolist() == [DB02]  # the other instance is filtered out locally
    ev = data.events_for(DB02)
    assert ev.loc[0, "latestDescription"] == "recovered" and ev.loc[0, "awsAccountId"] == "314159265358"
    assert data.failed["errorName"].tolist() == ["UnsupportedEventArn"]
    assert "organization" in data.source


def test_subscription_required_is_one_sentence():
    client = _client()
    with Stubber(client) as stub:
        stub.add_client_error("describe_events", "SubscriptionRequiredException",
                              "The AWS Support plan does not allow this", http_status_code=400)
        with pytest.raises(AwsDataUnavailable) as err:
            health.get_health(client, entity_values=DB02)
    e = err.value
    assert (e.service, e.operation, e.code) == ("health", "DescribeEvents", "SubscriptionRequiredException")
    msg = str(e)
    assert "Business" in msg and "Enterprise" in msg and "support plan" in msg
    assert "the investigation goes on with the other sources" in msg
    assert msg.count(".") == 1 and msg.endswith(".")


@pytest.mark.parametrize("organization, operation", [(False, "DescribeEvents"),
                                                      (True, "DescribeEventsForOrganization")])
def test_access_denied_names_the_permission(organization, operation):
    client = _client()
    with Stubber(client) as stub:
        stub.add_client_error("describe_events" + ("_for_organization" if organization else ""),
                              "AccessDeniedException", "User is not authorized", http_status_code=403)
        with pytest.raises(AwsDataUnavailable) as err:
            health.get_health(client, organization=organization)
    assert err.value.code == "AccessDeniedException" and err.value.operation == operation
    assert f"health:{operation}" in str(err.value)


def test_access_denied_on_details_is_raised_too():
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("describe_events", {"events": [E2]}, None)
        stub.add_response("describe_affected_entities", {"entities": []}, None)
        stub.add_client_error("describe_event_details", "AccessDeniedException", "no", http_status_code=403)
        with pytest.raises(AwsDataUnavailable, match=re.escape("health:DescribeEventDetails")):
            health.get_health(client)


def test_throttling_after_retries():
    client = _client()
    with Stubber(client) as stub:
        stub.add_client_error("describe_events", "ThrottlingException", "Rate exceeded", http_status_code=400)
        with pytest.raises(AwsDataUnavailable, match="throttling DescribeEvents even after retries"):
            health.get_health(client)


def test_no_credentials(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client = boto3.Session().client("health", region_name="us-east-1")
    with pytest.raises(AwsDataUnavailable) as err:
        health.get_health(client)
    assert err.value.code is None and "aws sso login" in str(err.value)


def test_unreachable_endpoint():
    client = boto3.client("health", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
                          aws_access_key_id="testing", aws_secret_access_key="testing",
                          config=Config(retries={"total_max_attempts": 1}, connect_timeout=2))
    with pytest.raises(AwsDataUnavailable, match="could not be reached") as err:
        health.get_health(client)
    assert "127.0.0.1:9" in str(err.value)


@pytest.mark.parametrize("exc", [bx.UnauthorizedSSOTokenError(), bx.SSOTokenLoadError(error_msg="expired"),
                                 bx.TokenRetrievalError(provider="sso", error_msg="expired")])
def test_expired_sso_session(exc):
    e = unavailable(exc, "health", "DescribeEvents")
    assert "aws sso login" in str(e) and "SSO session" in str(e) and e.code is None


def test_expired_token_client_error():
    exc = bx.ClientError({"Error": {"Code": "ExpiredTokenException", "Message": "expired"}}, "DescribeEvents")
    e = unavailable(exc, "health", "DescribeEvents")
    assert e.code == "ExpiredTokenException" and "aws sso login" in str(e)


def test_client_helper_puts_health_in_us_east_1(monkeypatch):
    from trailtools import aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # botocore names Health's global endpoint's region "aws-global" (https://global.health.amazonaws.com)
    assert aws.client("health", region="eu-west-1").meta.region_name in ("us-east-1", "aws-global")
    assert aws.client("ec2", region="eu-west-1").meta.region_name == "eu-west-1"


def test_iam_actions_are_the_operations_called():
    """Every operation name in IAM_ACTIONS exists in the service model (so the IAM policy can be checked)."""
    import botocore.session

    from trailtools.evidence import cloudwatch, ec2
    from trailtools.evidence.cost import ce as cost_ce
    from trailtools.integrity import verify
    from trailtools.sources import athena, cwlogs, lake, lookup, s3

    session = botocore.session.get_session()
    # IAM actions named unlike the API operation they allow
    operation_of = {"s3:ListBucket": "s3:ListObjectsV2"}
    from trailtools.collect import cost as collect_cost
    from trailtools.collect import health as collect_health
    from trailtools.collect import instances as collect_instances
    from trailtools.collect import run as collect_run
    from trailtools.collect import trail as collect_trail

    for module in (health, ec2, cloudwatch, verify, cost_ce, s3, lookup, athena, cwlogs, lake, collect_trail, collect_instances,
                   collect_health, collect_run, collect_cost):
        for action in module.IAM_ACTIONS:
            service, operation = operation_of.get(action, action).split(":")
            assert operation in session.get_service_model(service).operation_names, action


def test_docs_iam_policy_lists_every_action_the_modules_call():
    from conftest import ROOT

    from trailtools.collect import cost as collect_cost
    from trailtools.collect import health as collect_health
    from trailtools.collect import instances as collect_instances
    from trailtools.collect import run as collect_run
    from trailtools.collect import trail as collect_trail
    from trailtools.evidence import cloudwatch, ec2
    from trailtools.evidence.cost import ce as cost_ce
    from trailtools.evidence.cost import s3 as cost_s3
    from trailtools.integrity import verify
    from trailtools.sources import athena, cwlogs, lake, lookup, s3

    policy = json.loads((ROOT / "docs" / "iam-policy.json").read_text())
    assert all(s["Effect"] == "Allow" for s in policy["Statement"])
    allowed = [a for s in policy["Statement"] for a in s["Action"]]
    assert len(allowed) == len(set(allowed))
    # the live sources too: s3://, lookup://, athena://, cwlogs://, lake:// (creating the table and writing results included)
    assert sorted(allowed) == sorted(set(health.IAM_ACTIONS) | set(ec2.IAM_ACTIONS) | set(cloudwatch.IAM_ACTIONS)
                                     | set(s3.IAM_ACTIONS) | set(lookup.IAM_ACTIONS) | set(athena.IAM_ACTIONS)
                                     | set(athena.IAM_ACTIONS_CREATE)
                                     | set(cost_ce.IAM_ACTIONS) | set(cost_s3.IAM_ACTIONS)
                                     | set(verify.IAM_ACTIONS) | set(cwlogs.IAM_ACTIONS) | set(lake.IAM_ACTIONS)
                                     | set(collect_trail.IAM_ACTIONS)
                                     | set(collect_instances.IAM_ACTIONS) | set(collect_health.IAM_ACTIONS)
                                     | set(collect_run.IAM_ACTIONS) | set(collect_cost.IAM_ACTIONS))
    # the first statement is read-only: what writes (Athena's results, its table) is apart and named so
    read_only = policy["Statement"][0]["Action"]
    assert not [a for a in read_only if a.split(":")[1].startswith(("Put", "Create", "Delete", "Update"))]
