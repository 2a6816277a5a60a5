"""CloudWatch: the EC2 status-check metrics (``get-metric-data``) and the alarm history of incident 2's recover
alarm (``describe-alarm-history``), as the AWS CLI prints them.

``cloudwatch/<region>/get-metric-data.json`` holds, for each instance with OS logs (plus web-02 as a healthy
reference), ``StatusCheckFailed_System`` and ``StatusCheckFailed_Instance`` (statistic Maximum, period 300 s,
the whole window, newest first as GetMetricData returns them). Each result's ``Label`` is
``"<instance-id> <metric>"`` and its ``Id`` is ``sys_<id>`` / ``inst_<id>``; the request that produced it is
saved beside it as ``get-metric-data.input.json`` (``--cli-input-json``). Status checks are only reported
while an instance runs: report-gen-05 has no datapoint while it was stopped.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from trailtools.demo import scenario as S
from trailtools.demo._io import write_files

PERIOD = 300
METRICS = (("sys", "StatusCheckFailed_System"), ("inst", "StatusCheckFailed_Instance"))


def _instances(region: str) -> list[S.Instance]:
    return [i for i in S.INSTANCES if i.region == region and (i.os_logs or i is S.OTHERS[0])]


def _value(inst: S.Instance, metric: str, ts: datetime) -> float:
    end = ts + timedelta(seconds=PERIOD)
    if inst is S.DB02 and ts < S.INC2_OK and end > S.INC2_FAIL:
        # the host fails at 03:41: both checks fail until the instance runs on new hardware (ok 03:52)
        return 1.0
    return 0.0


def metric_data(region: str) -> tuple[dict, dict]:
    start, end = S.START, S.END
    stamps = []
    ts = end - timedelta(seconds=PERIOD)
    while ts >= start:
        stamps.append(ts)
        ts -= timedelta(seconds=PERIOD)
    queries, results = [], []
    for inst in _instances(region):
        for short, metric in METRICS:
            qid = f"{short}_{inst.id.replace('-', '')}"
            label = f"{inst.id} {metric}"
            queries.append({"Id": qid, "Label": label, "ReturnData": True, "MetricStat": {
                "Metric": {"Namespace": "AWS/EC2", "MetricName": metric,
                           "Dimensions": [{"Name": "InstanceId", "Value": inst.id}]},
                "Period": PERIOD, "Stat": "Maximum"}})
            tss, vals = [], []
            for s in stamps:
                tss.append(S.iso_z(s))
                vals.append(_value(inst, metric, s))
            results.append({"Id": qid, "Label": label, "Timestamps": tss, "Values": vals, "StatusCode": "Complete"})
    request = {"MetricDataQueries": queries, "StartTime": S.iso_z(start), "EndTime": S.iso_z(end),
               "ScanBy": "TimestampDescending"}
    return request, {"MetricDataResults": results, "Messages": []}


def alarm_history() -> dict:
    """Incident 2: the alarm that recovered db-replica-02 (newest first)."""
    name = S.INC2_ALARM_NAME
    ms = lambda d, n: d + timedelta(milliseconds=n)  # noqa: E731

    def state(old: str, new: str, when: datetime, reason: str, data: dict) -> dict:
        hd = {"version": "1.0", "oldState": {"stateValue": old, "stateReason": "Threshold Crossed"},
              "newState": {"stateValue": new, "stateReason": reason, "stateReasonData": data}}
        return {"AlarmName": name, "AlarmType": "MetricAlarm", "Timestamp": S.iso_ms_z(when),
                "HistoryItemType": "StateUpdate", "HistorySummary": f"Alarm updated from {old} to {new}",
                "HistoryData": json.dumps(hd, separators=(",", ":"))}

    alarm_data = {"version": "1.0", "queryDate": S.iso_ms_z(ms(S.INC2_ALARM, 388)).replace("Z", "+0000"),
                  "startDate": S.iso_ms_z(S.INC2_FAIL).replace("Z", "+0000"), "statistic": "Maximum",
                  "period": 60, "recentDatapoints": [1.0, 1.0], "threshold": 1.0,
                  "evaluatedDatapoints": [{"timestamp": S.iso_ms_z(S.INC2_FAIL + timedelta(minutes=1))
                                           .replace("Z", "+0000"), "sampleCount": 1.0, "value": 1.0}]}
    ok_data = dict(alarm_data, recentDatapoints=[0.0, 0.0],
                   queryDate=S.iso_ms_z(ms(S.INC2_ALARM_OK, 211)).replace("Z", "+0000"),
                   startDate=S.iso_ms_z(S.INC2_ALARM_OK - timedelta(minutes=3)).replace("Z", "+0000"),
                   evaluatedDatapoints=[{"timestamp": S.iso_ms_z(S.INC2_ALARM_OK - timedelta(minutes=2))
                                         .replace("Z", "+0000"), "sampleCount": 1.0, "value": 0.0}])
    action = {"actionState": "Succeeded", "stateUpdateTimestamp": int(ms(S.INC2_ALARM, 412).timestamp() * 1000),
              "notificationResource": "arn:aws:automate:us-east-1:ec2:recover",
              "publishedMessage": None, "error": None}
    items = [
        state("ALARM", "OK", ms(S.INC2_ALARM_OK, 212),
              "Threshold Crossed: 2 out of the last 2 datapoints [0.0 (08/10/26 03:53:00), 0.0 (08/10/26 03:52:00)] "
              "were not greater than or equal to the threshold (1.0) (minimum 2 datapoints for ALARM -> OK "
              "transition).", ok_data),
        {"AlarmName": name, "AlarmType": "MetricAlarm", "Timestamp": S.iso_ms_z(ms(S.INC2_ALARM, 903)),
         "HistoryItemType": "Action",
         "HistorySummary": "Successfully executed action arn:aws:automate:us-east-1:ec2:recover",
         "HistoryData": json.dumps(action, separators=(",", ":"))},
        state("OK", "ALARM", ms(S.INC2_ALARM, 412),
              "Threshold Crossed: 2 out of the last 2 datapoints [1.0 (08/10/26 03:42:00), 1.0 (08/10/26 03:41:00)] "
              "were greater than or equal to the threshold (1.0) (minimum 2 datapoints for OK -> ALARM "
              "transition).", alarm_data),
        {"AlarmName": name, "AlarmType": "MetricAlarm", "Timestamp": "2026-06-02T09:14:51.118Z",
         "HistoryItemType": "ConfigurationUpdate", "HistorySummary": f'Alarm "{name}" created',
         "HistoryData": json.dumps({"type": "Create", "version": "1.0", "createdAlarm": {
             "alarmName": name, "namespace": "AWS/EC2", "metricName": "StatusCheckFailed_System",
             "dimensions": [{"name": "InstanceId", "value": S.DB02.id}], "statistic": "Maximum", "period": 60,
             "evaluationPeriods": 2, "threshold": 1.0, "comparisonOperator": "GreaterThanOrEqualToThreshold",
             "actionsEnabled": True, "alarmActions": ["arn:aws:automate:us-east-1:ec2:recover"]}},
             separators=(",", ":"))},
    ]
    return {"AlarmHistoryItems": items}


def build(seed: int | None = None) -> dict[str, dict]:
    files: dict[str, dict] = {}
    for region in sorted({i.region for i in S.INSTANCES if i.os_logs}):
        req, resp = metric_data(region)
        files[f"cloudwatch/{region}/get-metric-data.input.json"] = req
        files[f"cloudwatch/{region}/get-metric-data.json"] = resp
    files["cloudwatch/us-east-1/describe-alarm-history.json"] = alarm_history()
    return files


def write(out_dir: Path, seed: int | None = None) -> dict:
    files = build(seed)
    paths = write_files(out_dir, files)
    n = sum(len(r["Values"]) for k, v in files.items() if k.endswith("get-metric-data.json")
            for r in v["MetricDataResults"])
    return {"files": paths, "datapoints": n}
