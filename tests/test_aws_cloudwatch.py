"""CloudWatch status checks: transform and failure runs, read_cloudwatch on the demo account, get_status_checks
over HTTP against moto in server mode (Stubber for pagination and alarm history, which moto lacks)."""
import datetime as dt
import json

import boto3
import pandas as pd
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from conftest import ts

from trailtools.aws.errors import AwsDataUnavailable
from trailtools.demo import ensure_demo_account
from trailtools.evidence import cloudwatch as cw

UTC = dt.UTC
WEB01, DB02, BATCH03 = "i-04c2a9e71d3b58f06", "i-0b81f3d6c2e9a4775", "i-07e5d2b9a1c4f3806"
SYS, INST, EBS = "StatusCheckFailed_System", "StatusCheckFailed_Instance", "StatusCheckFailed_AttachedEBS"


def _metrics(rows):
    return pd.DataFrame({"instanceId": pd.Series([r[0] for r in rows], dtype="str"),
                         "metric": pd.Series([r[1] for r in rows], dtype="str"),
                         "time": pd.Series([ts(r[2]) for r in rows], dtype="datetime64[us, UTC]"),
                         "value": pd.Series([r[3] for r in rows], dtype="float64")})


# ------------------------------------------------------------------ transform and failures

def test_transform_maps_ids_with_the_queries_or_the_labels():
    queries = cw.status_check_queries(DB02, period=300)
    resp = {"MetricDataResults": [
        {"Id": f"sys_{DB02.replace('-', '')}", "Label": "anything", "StatusCode": "Complete",
         "Timestamps": ["2026-10-08T03:45:00Z", "2026-10-08T03:40:00Z"], "Values": [1.0, 1.0]},
        {"Id": "m2", "Label": f"{DB02} {INST}", "StatusCode": "Complete",
         "Timestamps": [dt.datetime(2026, 10, 8, 3, 40, tzinfo=UTC)], "Values": [0.0]}]}
    df = cw.transform_metric_data(resp, queries)
    assert list(df.columns) == ["instanceId", "metric", "time", "value"]
    assert str(df["time"].dtype) == "datetime64[us, UTC]" and df["value"].dtype == "float64"
    assert df[["metric", "value"]].values.tolist() == [[INST, 0.0], [SYS, 1.0], [SYS, 1.0]]
    assert (df["instanceId"] == DB02).all()
    assert df["time"].tolist()[1:] == [ts("2026-10-08T03:40Z"), ts("2026-10-08T03:45Z")]  # oldest first
    # without the request: the Id pattern and the Label still say it
    assert cw.transform_metric_data(resp)[["instanceId", "metric"]].equals(df[["instanceId", "metric"]])
    assert cw.transform_metric_data({}).empty


def test_failures_are_runs_per_instance_and_metric():
    df = _metrics([(DB02, SYS, "2026-10-08T03:35Z", 0), (DB02, SYS, "2026-10-08T03:40Z", 1),
                   (DB02, SYS, "2026-10-08T03:45Z", 1), (DB02, SYS, "2026-10-08T03:50Z", 0),
                   (DB02, SYS, "2026-10-08T04:10Z", 1), (DB02, INST, "2026-10-08T03:40Z", 1),
                   (WEB01, SYS, "2026-10-08T03:45Z", 0)])
    out = cw.failures(df)
    assert list(out.columns) == ["instanceId", "metric", "start", "end", "datapoints"]
    assert out[["metric", "start", "end", "datapoints"]].values.tolist() == [
        [INST, ts("2026-10-08T03:40Z"), ts("2026-10-08T03:40Z"), 1],
        [SYS, ts("2026-10-08T03:40Z"), ts("2026-10-08T03:45Z"), 2],
        [SYS, ts("2026-10-08T04:10Z"), ts("2026-10-08T04:10Z"), 1]]
    assert cw.failures(df.iloc[:0]).empty and list(cw.failures(df.iloc[:0]).columns) == list(out.columns)


def test_alarm_history_recover_action():
    resp = {"AlarmHistoryItems": [
        {"AlarmName": "a", "Timestamp": "2026-10-08T03:43:07.903Z", "HistoryItemType": "Action",
         "HistorySummary": "Successfully executed action arn:aws:automate:us-east-1:ec2:recover",
         "HistoryData": json.dumps({"actionState": "Succeeded",
                                    "notificationResource": "arn:aws:automate:us-east-1:ec2:recover"})},
        {"AlarmName": "a", "Timestamp": "2026-06-02T09:14:51.118Z", "HistoryItemType": "ConfigurationUpdate",
         "HistorySummary": "created", "HistoryData": json.dumps({"type": "Create", "createdAlarm": {
             "dimensions": [{"name": "InstanceId", "value": DB02}]}})},
        {"AlarmName": "b", "Timestamp": "2026-06-02T09:14:51Z", "HistoryItemType": "StateUpdate",
         "HistorySummary": "x", "HistoryData": "not json"}]}
    df = cw.transform_alarm_history(resp)
    assert df["action"].tolist()[0] == "arn:aws:automate:us-east-1:ec2:recover"
    assert df["instanceId"].tolist()[:2] == [DB02, DB02] and pd.isna(df["instanceId"].iloc[2])


# ------------------------------------------------------------------ read_cloudwatch on the demo account

@pytest.fixture(scope="module")
def demo():
    return ensure_demo_account()


def test_demo_incident_2_failed_system_check(demo):
    data = cw.read_cloudwatch(demo, DB02)
    assert data.region == "us-east-1" and set(data.metrics["instanceId"]) == {DB02}
    assert set(data.metrics["metric"]) == {SYS, INST}
    fail = data.failures
    assert fail[["metric", "start", "end", "datapoints"]].values.tolist() == [
        [INST, ts("2026-10-08T03:40Z"), ts("2026-10-08T03:50Z"), 3],
        [SYS, ts("2026-10-08T03:40Z"), ts("2026-10-08T03:50Z"), 3]]
    recover = data.alarms[data.alarms["type"] == "Action"]
    assert recover["action"].tolist() == ["arn:aws:automate:us-east-1:ec2:recover"]
    assert recover["time"].tolist() == [ts("2026-10-08T03:43:07.903Z")]


@pytest.mark.parametrize("instance, region", [(WEB01, "us-east-1"), (BATCH03, "eu-west-1")])
def test_demo_incidents_1_and_3_no_failed_checks(demo, instance, region):
    data = cw.read_cloudwatch(demo, instance)
    assert data.region == region and len(data.metrics) > 1000
    assert data.failures.empty and data.alarms.empty


def test_read_cloudwatch_unknown_instance(demo):
    data = cw.read_cloudwatch(demo, "i-0123456789abcdef0")
    assert data.region is None and data.metrics.empty and data.notes


# ------------------------------------------------------------------ get_status_checks: moto server over HTTP

def test_get_status_checks_against_moto(aws_env):  # noqa: F811
    client = boto3.client("cloudwatch", region_name="us-east-1")
    assert client.meta.endpoint_url == aws_env
    start = dt.datetime.now(UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=30)
    instance = "i-0feedfacecafe1234"
    values = {5: 0.0, 6: 1.0, 7: 1.0, 8: 0.0}
    client.put_metric_data(Namespace="AWS/EC2", MetricData=[
        {"MetricName": SYS, "Dimensions": [{"Name": "InstanceId", "Value": instance}],
         "Timestamp": start + dt.timedelta(minutes=m), "Value": v} for m, v in values.items()])
    client.put_metric_data(Namespace="AWS/EC2", MetricData=[
        {"MetricName": INST, "Dimensions": [{"Name": "InstanceId", "Value": instance}],
         "Timestamp": start + dt.timedelta(minutes=m), "Value": 0.0} for m in values])
    data = cw.get_status_checks(client, instance, start, start + dt.timedelta(minutes=30), period=60)
    assert data.region == "us-east-1" and not data.truncated and data.unavailable == []
    sys_rows = data.metrics[data.metrics["metric"] == SYS]
    assert sys_rows["value"].tolist() == [0.0, 1.0, 1.0, 0.0]
    assert (data.metrics["instanceId"] == instance).all() and set(data.metrics["metric"]) == {SYS, INST}
    fail = data.failures
    assert fail[["metric", "start", "end", "datapoints"]].values.tolist() == [
        [SYS, pd.Timestamp(start + dt.timedelta(minutes=6)), pd.Timestamp(start + dt.timedelta(minutes=7)), 2]]


# ------------------------------------------------------------------ Stubber: pagination, page limit, alarms, errors

def _client():
    return boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(retries={"total_max_attempts": 1}))


START, END = dt.datetime(2026, 10, 8, 3, tzinfo=UTC), dt.datetime(2026, 10, 8, 5, tzinfo=UTC)
SYS_ID = f"sys_{DB02.replace('-', '')}"


def _page(minutes, value, token=None):
    resp = {"MetricDataResults": [{"Id": SYS_ID, "Label": f"{DB02} {SYS}", "StatusCode": "PartialData" if token
                                   else "Complete", "Timestamps": [START + dt.timedelta(minutes=m) for m in minutes],
                                   "Values": [value] * len(minutes)}], "Messages": []}
    if token:
        resp["NextToken"] = token
    return resp


def test_get_status_checks_follows_next_token_and_reads_alarms():
    client = _client()
    params = {"MetricDataQueries": cw.status_check_queries(DB02, 60), "StartTime": START, "EndTime": END,
              "ScanBy": "TimestampAscending"}
    with Stubber(client) as stub:
        stub.add_response("get_metric_data", _page([40, 41], 1.0, token="p2"), params)
        stub.add_response("get_metric_data", _page([42, 43], 0.0), {**params, "NextToken": "p2"})
        stub.add_response("describe_alarms_for_metric", {"MetricAlarms": [{"AlarmName": "db-replica-02-auto-recover"}]},
                          {"MetricName": SYS, "Namespace": "AWS/EC2",
                           "Dimensions": [{"Name": "InstanceId", "Value": DB02}]})
        for metric in (INST, EBS):
            stub.add_response("describe_alarms_for_metric", {"MetricAlarms": []},
                              {"MetricName": metric, "Namespace": "AWS/EC2",
                               "Dimensions": [{"Name": "InstanceId", "Value": DB02}]})
        stub.add_response("describe_alarm_history", {"AlarmHistoryItems": [
            {"AlarmName": "db-replica-02-auto-recover", "Timestamp": dt.datetime(2026, 10, 8, 3, 43, 7, 903000, UTC),
             "HistoryItemType": "Action", "HistorySummary": "Successfully executed action",
             "HistoryData": json.dumps({"notificationResource": "arn:aws:automate:us-east-1:ec2:recover"})}]},
            {"AlarmName": "db-replica-02-auto-recover", "StartDate": START, "EndDate": END})
        data = cw.get_status_checks(client, DB02, "2026-10-08T03:00:00Z", "2026-10-08T05:00:00Z")
        stub.assert_no_pending_responses()
    assert data.metrics["value"].tolist() == [1.0, 1.0, 0.0, 0.0] and not data.truncated
    assert data.failures["datapoints"].tolist() == [2]
    assert data.alarms[["action", "instanceId"]].values.tolist() == [["arn:aws:automate:us-east-1:ec2:recover", DB02]]


def test_get_status_checks_page_limit_and_alarms_denied():
    client = _client()
    with Stubber(client) as stub:
        stub.add_response("get_metric_data", _page([40], 1.0, token="p2"))
        stub.add_client_error("describe_alarms_for_metric", "AccessDenied", "not authorized", http_status_code=403)
        data = cw.get_status_checks(client, DB02, START, END, max_pages=1)
        stub.assert_no_pending_responses()
    assert data.truncated and len(data.metrics) == 1
    assert len(data.unavailable) == 1 and "cloudwatch:DescribeAlarmsForMetric" in str(data.unavailable[0])


def test_get_status_checks_denied_names_the_permission():
    client = _client()
    with Stubber(client) as stub:
        stub.add_client_error("get_metric_data", "AccessDenied", "not authorized", http_status_code=403)
        with pytest.raises(AwsDataUnavailable, match="cloudwatch:GetMetricData") as err:
            cw.get_status_checks(client, DB02, START, END)
    assert (err.value.service, err.value.operation, err.value.code) == ("cloudwatch", "GetMetricData", "AccessDenied")
