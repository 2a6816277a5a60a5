"""EC2: scheduled events and status from AWS's published examples, read_ec2 on the demo account, get_ec2 over HTTP
against moto in server mode (and Stubber for the scheduled events moto never returns)."""
import base64
import datetime as dt
import json

import boto3
import pandas as pd
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from conftest import CLI_EXAMPLES, DATASETS, cli_outputs, ts

from trailtools.aws.errors import AwsDataUnavailable
from trailtools.demo import ensure_demo_account
from trailtools.errors import QueryError
from trailtools.evidence import ec2

CLI = CLI_EXAMPLES
GUIDE = DATASETS / "awsdocs-examples" / "ec2-user-guide"
WEB01, DB02, BATCH03 = "i-04c2a9e71d3b58f06", "i-0b81f3d6c2e9a4775", "i-07e5d2b9a1c4f3806"
DBPRIMARY = "i-0a7c9e1b3d5f72468"
EVENT_COLUMNS = ["instanceId", "availabilityZone", "code", "description", "notBefore", "notAfter",
                 "notBeforeDeadline", "eventId", "completed", "canceled"]


def guide_example(name_start: str):
    """An EC2 user guide example as published; the ``[ "Events": [...] ]`` ones (not JSON) become
    ``{"InstanceStatuses": [{"Events": [...]}]}`` by turning the outer brackets into braces."""
    matches = sorted(GUIDE.glob(name_start + "*")) if GUIDE.exists() else []
    if not matches:
        pytest.skip(f"shared dataset not found: {GUIDE}/{name_start}*")
    text = matches[0].read_text(encoding="utf-8").strip()
    if matches[0].suffix == ".json":
        return json.loads(text)
    assert text.startswith("[") and text.endswith("]")
    return {"InstanceStatuses": [json.loads("{" + text[1:-1] + "}")]}


# ------------------------------------------------------------------ transforms on AWS's examples

def test_cli_example_running_instance_without_events():
    (resp,) = cli_outputs(CLI / "ec2" / "describe-instance-status.rst")
    events = ec2.transform_instance_status(resp)
    assert list(events.columns) == EVENT_COLUMNS and events.empty
    states = ec2.transform_instance_states(resp)
    assert states[["instanceId", "state", "systemStatus", "instanceStatus"]].to_dict("records") == [
        {"instanceId": "i-1234567890abcdef0", "state": "running", "systemStatus": "ok", "instanceStatus": "ok"}]
    assert states.loc[0, "availabilityZone"] == "us-east-1d"


@pytest.mark.parametrize("name, code, not_before, not_after, deadline", [
    ("scheduled-events-01", "system-reboot", "2019-03-14T20:00Z", "2019-03-15T22:00Z", "2019-04-05T11:00Z"),
    ("scheduled-events-02", "instance-stop", "2015-05-23T00:00Z", None, None),
    ("scheduled-events-05", "system-reboot", "2019-03-14T20:00Z", "2019-03-14T22:00Z", "2019-04-05T11:00Z"),
    ("scheduled-events-06", "system-reboot", "2019-03-14T20:00Z", "2019-03-14T22:00Z", "2019-04-05T11:00Z"),
])
def test_user_guide_scheduled_events(name, code, not_before, not_after, deadline):
    df = ec2.transform_instance_status(guide_example(name))
    assert list(df.columns) == EVENT_COLUMNS and len(df) == 1
    row = df.iloc[0]
    assert row["code"] == code and row["eventId"].startswith("instance-event-")
    assert row["notBefore"] == ts(not_before)
    for col, want in (("notAfter", not_after), ("notBeforeDeadline", deadline)):
        assert (pd.isna(row[col]) if want is None else row[col] == ts(want))
    assert not row["completed"] and not row["canceled"] and pd.isna(row["instanceId"])
    assert str(df["notBefore"].dtype) == "datetime64[us, UTC]" and df["completed"].dtype == bool


def test_user_guide_completed_and_canceled_history():
    """The instance metadata's event history (IMDS shape, RFC 1123 dates) put in DescribeInstanceStatus's shape."""
    history = guide_example("scheduled-events-04")
    events = [{"InstanceEventId": e["EventId"], "Code": e["Code"], "Description": e["Description"],
               "NotBefore": e["NotBefore"], "NotAfter": e["NotAfter"]} for e in history]
    df = ec2.transform_instance_status({"InstanceStatuses": [{"InstanceId": "i-1234567890abcdef0", "Events": events}]})
    assert df["canceled"].tolist() == [True, False] and df["completed"].tolist() == [False, True]
    assert df["notBefore"].tolist() == [ts("2019-01-21T09:00:43Z"), ts("2019-01-29T09:00:43Z")]


def test_cli_example_event_fragment():
    (resp,) = cli_outputs(CLI / "ec2" / "modify-instance-event-start-time.rst")
    df = ec2.transform_instance_status({"InstanceStatuses": [{"InstanceId": "i-1234567890abcdef0",
                                                              "Events": [resp["Event"]]}]})
    assert df.loc[0, "code"] == "system-reboot" and df.loc[0, "notBeforeDeadline"] == ts("2019-04-22T21:00Z")


def test_boto3_shape_with_datetimes():
    when = dt.datetime(2026, 10, 9, 2, tzinfo=dt.UTC)
    resp = {"InstanceStatuses": [{"InstanceId": BATCH03, "AvailabilityZone": "eu-west-1c", "Events": [
        {"InstanceEventId": "instance-event-0b6e3d0f9a1c27e45", "Code": "system-reboot",
         "Description": "[Completed] The instance is scheduled for a reboot", "NotBefore": when,
         "NotAfter": when + dt.timedelta(hours=2)}]}]}
    row = ec2.transform_instance_status(resp).iloc[0]
    assert row["completed"] and row["notAfter"] == ts("2026-10-09T04:00Z") and pd.isna(row["notBeforeDeadline"])


def test_console_output_base64_and_decoded():
    text = "[    0.000000] Linux version 4.14\r\nreboot: Restarting system\r\n"
    encoded = {"InstanceId": WEB01, "Timestamp": dt.datetime(2026, 10, 6, 14, 23, tzinfo=dt.UTC),
               "Output": base64.b64encode(text.encode()).decode()}
    out = ec2.transform_console_output(encoded)
    assert out == (WEB01, ts("2026-10-06T14:23Z"), text)
    assert ec2.transform_console_output({**encoded, "Output": text, "Timestamp": "2026-10-06T14:23:00.000Z"}) == out
    assert ec2.transform_console_output({"InstanceId": WEB01}).text == ""


# ------------------------------------------------------------------ read_ec2 on the demo account

@pytest.fixture(scope="module")
def demo():
    return ensure_demo_account()


def test_demo_incident_3_completed_system_reboot(demo):
    data = ec2.read_ec2(demo, BATCH03)
    assert data.region == "eu-west-1" and data.notes == []
    row = data.events.iloc[0]
    assert len(data.events) == 1 and row["code"] == "system-reboot" and row["completed"] and not row["canceled"]
    assert row["description"].startswith("[Completed]") and row["eventId"] == "instance-event-0b6e3d0f9a1c27e45"
    assert (row["notBefore"], row["notAfter"]) == (ts("2026-10-09T02:00Z"), ts("2026-10-09T04:00Z"))
    assert data.states.loc[0, "state"] == "running" and data.instances.loc[0, "name"] == "batch-worker-03"
    assert data.console.instance_id == BATCH03 and "Stopped target Multi-User System" in data.console.text


@pytest.mark.parametrize("instance, name", [(DB02, "db-replica-02"), (WEB01, "web-01")])
def test_demo_incidents_1_and_2_have_no_scheduled_event(demo, instance, name):
    data = ec2.read_ec2(demo, instance)
    assert data.region == "us-east-1" and data.events.empty
    assert data.instances.loc[0, "name"] == name and data.console.instance_id == instance
    assert str(data.console.timestamp.tz) == "UTC"


def test_demo_upcoming_retirement_look_alike(demo):
    data = ec2.read_ec2(demo, DBPRIMARY)
    assert data.events[["code", "completed"]].to_dict("records") == [{"code": "instance-stop", "completed": False}]
    assert data.events.loc[0, "notBefore"] == ts("2026-10-22T09:00Z")
    assert data.console is None and data.notes  # no console output saved: said, not hidden


def test_read_ec2_unknown_and_bad_instance(demo):
    data = ec2.read_ec2(demo, "i-0123456789abcdef0")
    assert data.region is None and data.events.empty and "no saved EC2 data" in data.notes[0]
    with pytest.raises(QueryError, match="not an EC2 instance ID"):
        ec2.read_ec2(demo, "web-01")


# ------------------------------------------------------------------ get_ec2: moto server over HTTP

def test_get_ec2_against_moto(aws_env):
    client = boto3.client("ec2", region_name="eu-west-1")
    assert client.meta.endpoint_url == aws_env  # really over HTTP to the local server
    image = client.describe_images()["Images"][0]["ImageId"]
    inst = client.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="c5.2xlarge",
                                TagSpecifications=[{"ResourceType": "instance",
                                                    "Tags": [{"Key": "Name", "Value": "batch-worker-03"}]}])
    instance_id = inst["Instances"][0]["InstanceId"]
    client.stop_instances(InstanceIds=[instance_id])
    data = ec2.get_ec2(client, instance_id)
    assert data.region == "eu-west-1" and data.unavailable == [] and not data.truncated
    assert data.events.empty and list(data.events.columns) == EVENT_COLUMNS  # moto never returns scheduled events
    assert data.states.loc[0, "state"] == "stopped"  # listed only with IncludeAllInstances
    assert data.instances.loc[0, "name"] == "batch-worker-03"
    assert data.instances.loc[0, "instanceType"] == "c5.2xlarge"
    assert data.console.instance_id == instance_id and isinstance(data.console.text, str)


def test_get_ec2_unknown_instance_against_moto(aws_env):
    client = boto3.client("ec2", region_name="us-east-1")
    with pytest.raises(AwsDataUnavailable) as err:
        ec2.get_ec2(client, "i-0123456789abcdef0")
    assert err.value.code.startswith("InvalidInstanceID") and "check the instance ID and the region" in str(err.value)


# ------------------------------------------------------------------ get_ec2: Stubber for events and errors

def _client():
    return boto3.client("ec2", region_name="eu-west-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(retries={"total_max_attempts": 1}))


def _status(events):
    return {"InstanceId": BATCH03, "AvailabilityZone": "eu-west-1c", "InstanceState": {"Code": 16, "Name": "running"},
            "SystemStatus": {"Status": "ok"}, "InstanceStatus": {"Status": "ok"}, "Events": events}


REBOOT = {"InstanceEventId": "instance-event-0b6e3d0f9a1c27e45", "Code": "system-reboot",
          "Description": "[Completed] The instance is scheduled for a reboot",
          "NotBefore": dt.datetime(2026, 10, 9, 2, tzinfo=dt.UTC),
          "NotAfter": dt.datetime(2026, 10, 9, 4, tzinfo=dt.UTC)}
CANCELED = {**REBOOT, "InstanceEventId": "instance-event-0aaaaaaaaaaaaaaaa", "Description": "[Canceled] maintenance",
            "Code": "system-maintenance"}


def test_get_ec2_scheduled_events_pages_and_console_denied():
    client = _client()
    params = {"InstanceIds": [BATCH03], "IncludeAllInstances": True}
    with Stubber(client) as stub:
        stub.add_response("describe_instance_status", {"InstanceStatuses": [_status([REBOOT])], "NextToken": "t2"},
                          params)
        stub.add_response("describe_instance_status", {"InstanceStatuses": [_status([CANCELED])]},
                          {**params, "NextToken": "t2"})
        stub.add_response("describe_instances", {"Reservations": []}, {"InstanceIds": [BATCH03]})
        stub.add_client_error("get_console_output", "UnauthorizedOperation", "You are not authorized",
                              http_status_code=403, expected_params={"InstanceId": BATCH03})
        data = ec2.get_ec2(client, BATCH03)
        stub.assert_no_pending_responses()
    assert data.events["code"].tolist() == ["system-reboot", "system-maintenance"]
    assert data.events["completed"].tolist() == [True, False] and data.events["canceled"].tolist() == [False, True]
    assert data.console is None and len(data.unavailable) == 1
    assert "ec2:GetConsoleOutput" in str(data.unavailable[0])


def test_get_ec2_page_limit():
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("describe_instance_status", {"InstanceStatuses": [_status([REBOOT])], "NextToken": "t2"})
        stub.add_response("describe_instances", {"Reservations": []})
        data = ec2.get_ec2(client, BATCH03, max_pages=1, console=False)
        stub.assert_no_pending_responses()
    assert data.truncated and len(data.events) == 1


def test_get_ec2_denied_status_names_the_permission():
    client = _client()
    with Stubber(client) as stub:
        stub.add_client_error("describe_instance_status", "UnauthorizedOperation", "You are not authorized",
                              http_status_code=403)
        with pytest.raises(AwsDataUnavailable, match="ec2:DescribeInstanceStatus") as err:
            ec2.get_ec2(client, BATCH03)
    assert (err.value.service, err.value.code) == ("ec2", "UnauthorizedOperation")


def test_get_ec2_throttled():
    client = _client()
    with Stubber(client) as stub:
        stub.add_client_error("describe_instance_status", "RequestLimitExceeded", "Request limit exceeded.")
        with pytest.raises(AwsDataUnavailable, match="throttling DescribeInstanceStatus"):
            ec2.get_ec2(client, BATCH03)
