"""Amazon CloudWatch: an instance's status-check metrics (and the history of its alarms, such as a recover alarm).

- transform: ``get-metric-data`` responses (with the request's ``MetricDataQueries`` when there is one: it says
  which metric and instance each result ``Id`` is) and ``describe-alarm-history`` responses -> frames.
- read: ``<account>/cloudwatch/<region>/get-metric-data.json`` (+ ``.input.json``), ``describe-alarm-history.json``.
- get: ``GetMetricData`` for the three status checks of one instance, paginated; alarm history through
  ``DescribeAlarmsForMetric`` + ``DescribeAlarmHistory``.

Columns (times ``datetime64[us, UTC]``):

- metrics: ``instanceId, metric, time, value`` (metric: ``StatusCheckFailed_System``, ``StatusCheckFailed_Instance``,
  ``StatusCheckFailed_AttachedEBS``), sorted by instance, metric and time
- failures (:func:`failures`): ``instanceId, metric, start, end, datapoints``: runs of consecutive datapoints
  with a value above 0 (``end`` is the last failing datapoint's time)
- alarms: ``alarmName, time, type, summary, action, instanceId`` (``action``: the ARN an ``Action`` item ran, such as
  ``arn:aws:automate:us-east-1:ec2:recover``; ``instanceId`` from the alarm's dimensions where the history has
  its configuration)
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pandas as pd

from trailtools.aws.errors import AwsDataUnavailable, pages
from trailtools.evidence.ec2 import check_instance_id
from trailtools.evidence.saved import TIME_DTYPE, frame, load_saved, only_instance, region_folders, to_utc

# what get_status_checks calls (docs/iam-policy.json must allow them)
IAM_ACTIONS = ("cloudwatch:GetMetricData", "cloudwatch:DescribeAlarmsForMetric", "cloudwatch:DescribeAlarmHistory")
STATUS_METRICS = {"sys": "StatusCheckFailed_System", "inst": "StatusCheckFailed_Instance",
                  "ebs": "StatusCheckFailed_AttachedEBS"}
METRIC_COLUMNS = {"instanceId": "str", "metric": "str", "time": "time", "value": "float"}
FAILURE_COLUMNS = {"instanceId": "str", "metric": "str", "start": "time", "end": "time", "datapoints": "int"}
ALARM_COLUMNS = {"alarmName": "str", "time": "time", "type": "str", "summary": "str", "action": "str",
                 "instanceId": "str"}
_LABEL_INSTANCE = re.compile(r"\bi-[0-9a-f]{8,17}\b")
_LABEL_METRIC = re.compile(r"\bStatusCheckFailed(?:_[A-Za-z]+)?\b")
_ID = re.compile(r"^(sys|inst|ebs)_i([0-9a-f]{8,17})$")


# ---------------------------------------------------------------- transform

def _query_map(queries) -> dict[str, tuple[str | None, str | None]]:
    if isinstance(queries, dict):
        queries = queries.get("MetricDataQueries") or []
    out = {}
    for q in queries or []:
        metric = ((q.get("MetricStat") or {}).get("Metric") or {})
        dims = {d.get("Name"): d.get("Value") for d in metric.get("Dimensions") or []}
        out[q.get("Id")] = (dims.get("InstanceId"), metric.get("MetricName"))
    return out


def _identify(result: dict, known: dict) -> tuple[str | None, str | None]:
    """(instanceId, metric) of one result: from the request's query, else its Label, else its Id."""
    inst, metric = known.get(result.get("Id"), (None, None))
    label = result.get("Label") or ""
    if inst is None and (m := _LABEL_INSTANCE.search(label)):
        inst = m.group(0)
    if metric is None and (m := _LABEL_METRIC.search(label)):
        metric = m.group(0)
    if (inst is None or metric is None) and (m := _ID.match(result.get("Id") or "")):
        inst, metric = inst or "i-" + m.group(2), metric or STATUS_METRICS[m.group(1)]
    return inst, metric


def transform_metric_data(resp: dict, queries=None) -> pd.DataFrame:
    """``GetMetricData`` -> one row per datapoint: instanceId, metric, time, value.

    ``queries``: the request's ``MetricDataQueries`` (a list, or the request dict holding it), which maps each
    result's ``Id`` to its metric and instance; without it the ``Label`` (``"<instance-id> <metric>"``) or an Id
    like ``sys_i0abc...`` is read instead.
    """
    known = _query_map(queries)
    inst_col, metric_col, times, values = [], [], [], []
    for result in resp.get("MetricDataResults") or []:
        inst, metric = _identify(result, known)
        ts, vs = result.get("Timestamps") or [], result.get("Values") or []
        inst_col += [inst] * len(ts)
        metric_col += [metric] * len(ts)
        times += ts
        values += vs[:len(ts)] + [None] * (len(ts) - len(vs))
    df = pd.DataFrame({"instanceId": pd.Series(inst_col, dtype="str"), "metric": pd.Series(metric_col, dtype="str"),
                       "time": to_utc(times),
                       "value": pd.to_numeric(pd.Series(values, dtype=object)).astype("float64")})
    return df.sort_values(["instanceId", "metric", "time"], kind="stable", ignore_index=True)


def failures(metrics: pd.DataFrame) -> pd.DataFrame:
    """Runs of consecutive datapoints with value > 0, per instance and metric, oldest first."""
    if not len(metrics):
        return frame([], FAILURE_COLUMNS)
    df = metrics.sort_values(["instanceId", "metric", "time"], kind="stable", ignore_index=True)
    failing = df["value"].fillna(0) > 0
    key = df["instanceId"].astype(object).fillna("") + "\0" + df["metric"].astype(object).fillna("")
    run = ((failing != failing.shift()) | (key != key.shift())).cumsum()
    runs = df[failing].groupby(run[failing], sort=False).agg(
        instanceId=("instanceId", "first"), metric=("metric", "first"), start=("time", "min"), end=("time", "max"),
        datapoints=("time", "size"))
    out = runs.sort_values(["start", "instanceId", "metric"], kind="stable", ignore_index=True)
    return out.astype({"start": TIME_DTYPE, "end": TIME_DTYPE, "datapoints": "int64"})


def _history_data(item: dict) -> dict:
    try:
        data = json.loads(item.get("HistoryData") or "{}")
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def transform_alarm_history(resp: dict) -> pd.DataFrame:
    """``DescribeAlarmHistory`` -> one row per history item, newest first as AWS lists them."""
    items = resp.get("AlarmHistoryItems") or []
    instance_of: dict[str, str] = {}
    rows = []
    for item in items:
        data = _history_data(item)
        for key in ("createdAlarm", "updatedAlarm", "deletedAlarm"):
            dims = (data.get(key) or {}).get("dimensions") or []
            for d in dims:
                if d.get("name") == "InstanceId":
                    instance_of.setdefault(item.get("AlarmName"), d.get("value"))
        rows.append({"alarmName": item.get("AlarmName"), "time": item.get("Timestamp"),
                     "type": item.get("HistoryItemType"), "summary": item.get("HistorySummary"),
                     "action": data.get("notificationResource") if item.get("HistoryItemType") == "Action" else None})
    for row in rows:
        row["instanceId"] = instance_of.get(row["alarmName"])
    return frame(rows, ALARM_COLUMNS)


# ---------------------------------------------------------------- the result

@dataclass
class CloudWatchData:
    """An instance's status-check datapoints and alarm history (columns in the module's docstring)."""
    instance_id: str
    region: str | None = None
    metrics: pd.DataFrame = field(default_factory=lambda: transform_metric_data({}))
    alarms: pd.DataFrame = field(default_factory=lambda: frame([], ALARM_COLUMNS))
    source: str = ""
    truncated: bool = False
    notes: list[str] = field(default_factory=list)
    unavailable: list[AwsDataUnavailable] = field(default_factory=list)

    @property
    def failures(self) -> pd.DataFrame:
        return failures(self.metrics)


# ---------------------------------------------------------------- read (saved responses)

def read_cloudwatch(folder, instance_id: str) -> CloudWatchData:
    """One instance's saved CloudWatch data from ``<folder>/cloudwatch/<region>/`` (the region that has it).

    An instance found in no region gives an empty CloudWatchData with ``region`` None and a note.
    """
    check_instance_id(instance_id)
    base, regions = region_folders(folder, "cloudwatch")
    for region_dir in regions:
        resp = load_saved(region_dir / "get-metric-data.json")
        metrics = transform_metric_data(resp or {}, load_saved(region_dir / "get-metric-data.input.json"))
        history = load_saved(region_dir / "describe-alarm-history.json")
        alarms = only_instance(transform_alarm_history(history or {}), instance_id)
        data = CloudWatchData(instance_id, region_dir.name, only_instance(metrics, instance_id), alarms,
                              source=str(region_dir))
        if len(data.metrics) or len(data.alarms):
            if not len(data.metrics):
                data.notes.append(f"no saved status-check metrics for {instance_id} in {region_dir}")
            return data
    return CloudWatchData(
        instance_id, source=str(base), notes=[f"no saved CloudWatch data for {instance_id} in {base}"]
    )


# ---------------------------------------------------------------- get (live AWS)


def status_check_queries(instance_id: str, period: int = 60, stat: str = "Maximum") -> list[dict]:
    """The ``MetricDataQueries`` for an instance's three status-check metrics (Ids ``sys_i0abc...`` ...)."""
    compact = instance_id.replace("-", "")
    return [
        {
            "Id": f"{prefix}_{compact}",
            "Label": f"{instance_id} {metric}",
            "ReturnData": True,
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/EC2",
                    "MetricName": metric,
                    "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
                },
                "Period": period,
                "Stat": stat,
            },
        }
        for prefix, metric in STATUS_METRICS.items()
    ]


def get_status_checks(
    client, instance_id: str, start, end, period: int = 60, *, max_pages: int = 20, alarms: bool = True
) -> CloudWatchData:
    """The instance's status-check metrics between start and end (``Maximum`` per ``period`` seconds).

    ``client`` is a ``cloudwatch`` client of the instance's region. With ``alarms``, the history of the alarms
    on the instance's status checks (a recover alarm, say) too; that part failing is listed in ``unavailable``.
    Raises AwsDataUnavailable when the metrics cannot be read.
    """
    check_instance_id(instance_id)
    start, end = to_utc([start, end]).dt.to_pydatetime()
    queries = status_check_queries(instance_id, period)
    data = CloudWatchData(instance_id, client.meta.region_name, source="Amazon CloudWatch API")
    resps, data.truncated = pages(
        client,
        "get_metric_data",
        token="NextToken",
        max_pages=max_pages,
        MetricDataQueries=queries,
        StartTime=start,
        EndTime=end,
        ScanBy="TimestampAscending",
    )
    metrics = pd.concat([transform_metric_data(r, queries) for r in resps], ignore_index=True)
    data.metrics = metrics.drop_duplicates(ignore_index=True).sort_values(
        ["instanceId", "metric", "time"], kind="stable", ignore_index=True
    )
    if alarms:
        try:
            data.alarms = get_alarm_history(client, instance_id, start, end, max_pages=max_pages)
        except AwsDataUnavailable as exc:
            data.unavailable.append(exc)
    return data


def get_alarm_history(client, instance_id: str, start, end, *, max_pages: int = 20) -> pd.DataFrame:
    """The history (between start and end) of the alarms watching the instance's status-check metrics."""
    names = []
    for metric in STATUS_METRICS.values():
        resps, _ = pages(
            client,
            "describe_alarms_for_metric",
            token="NextToken",
            max_pages=1,
            MetricName=metric,
            Namespace="AWS/EC2",
            Dimensions=[{"Name": "InstanceId", "Value": instance_id}],
        )
        names += [a["AlarmName"] for r in resps for a in r.get("MetricAlarms") or [] if a.get("AlarmName")]
    frames = []
    for name in dict.fromkeys(names):
        resps, _ = pages(
            client,
            "describe_alarm_history",
            token="NextToken",
            max_pages=max_pages,
            AlarmName=name,
            StartDate=start,
            EndDate=end,
        )
        for r in resps:
            df = transform_alarm_history(r)
            df["instanceId"] = instance_id
            frames.append(df)
    if not frames:
        return frame([], ALARM_COLUMNS)
    return pd.concat(frames, ignore_index=True).sort_values("time", ascending=False, ignore_index=True)
