"""EC2 and CloudWatch, per region: what the reboot investigation reads about instances.

Files written (the layout :mod:`trailtools.evidence.ec2` and :mod:`trailtools.evidence.cloudwatch` read):

- ``ec2/<region>/describe-instances.json``, ``describe-instance-status.json`` (``IncludeAllInstances``: stopped
  instances and scheduled events, completed ones included, for as long as EC2 still lists them: about a week);
- ``ec2/<region>/get-console-output/<instance>.json`` (the last 64 KB the instance wrote to its console, since its
  last boot) and ``get-console-screenshot/<instance>.json`` + ``.jpg`` (what its screen shows now: a kernel panic);
- ``cloudwatch/<region>/get-metric-data.json`` + ``.input.json``: the three status-check metrics of the instances
  at the finest period CloudWatch still keeps for each part of the window (1 minute for the last 15 days, 5
  minutes up to 63 days, 1 hour up to 455 days), and ``describe-alarm-history.json`` for the alarms on them.

Instance IDs are checked (``i-`` and 8 or 17 hex digits) before they name a file.
"""
from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta

from trailtools.aws.errors import AWS_ERRORS, AwsDataUnavailable, call, pages
from trailtools.collect.context import Collection
from trailtools.collect.store import safe_relative
from trailtools.evidence.cloudwatch import STATUS_METRICS, status_check_queries
from trailtools.evidence.ec2 import INSTANCE_ID

IAM_ACTIONS = ("ec2:DescribeInstances", "ec2:DescribeInstanceStatus", "ec2:GetConsoleOutput",
               "ec2:GetConsoleScreenshot", "cloudwatch:GetMetricData", "cloudwatch:DescribeAlarmsForMetric",
               "cloudwatch:DescribeAlarmHistory")
MAX_PAGES = 20
#: (period in seconds, how long CloudWatch keeps datapoints of that period): finest first.
RESOLUTIONS = ((60, timedelta(days=15)), (300, timedelta(days=63)), (3600, timedelta(days=455)))
COMPLETED_EVENTS_KEPT = timedelta(days=7)
#: Metrics per GetMetricData request (AWS allows 500).
METRICS_PER_REQUEST = 450


def regions(c: Collection) -> list[str]:
    if c.scope.regions:
        return list(c.scope.regions)
    return [c.client("ec2", None).meta.region_name]


def _merge(resps: list[dict], key: str) -> dict:
    return {key: [item for r in resps for item in r.get(key) or []]}


def collect_ec2(c: Collection) -> dict[str, list[str]]:
    """Every region's instances (those of the scope, or all), their status, console output and screenshot;
    returns {region: [instance IDs found there]}."""
    found: dict[str, list[str]] = {}
    try:
        names = regions(c)
    except (AwsDataUnavailable, *AWS_ERRORS) as exc:
        c.not_collected("Amazon EC2", exc)
        return found
    for region in names:
        r = str(safe_relative(region))
        ec2 = c.client("ec2", region)
        wanted = c.scope.instances
        params = {"Filters": [{"Name": "instance-id", "Values": wanted}]} if wanted else {}
        try:
            resps, cut = pages(ec2, "describe_instances", max_pages=MAX_PAGES, **params)
        except AwsDataUnavailable as exc:
            c.not_collected(f"EC2 instances in {region}", exc)
            continue
        described = _merge(resps, "Reservations")
        ids = [i.get("InstanceId") for res in described["Reservations"] for i in res.get("Instances") or []]
        ids = [i for i in dict.fromkeys(ids) if isinstance(i, str) and INSTANCE_ID.match(i)]
        if cut:
            c.not_collected(f"EC2 instances in {region}", f"More than {MAX_PAGES} pages of instances: only those were "
                            "saved; name the instances with --instance.")
        if not ids:
            continue
        found[region] = ids
        c.save_response(f"ec2/{r}/describe-instances.json", described, "ec2:DescribeInstances", params, region=region)
        status_params = {"InstanceIds": ids, "IncludeAllInstances": True}
        try:
            resps, _ = pages(ec2, "describe_instance_status", max_pages=MAX_PAGES, **status_params)
            status = _merge(resps, "InstanceStatuses")
            c.save_response(f"ec2/{r}/describe-instance-status.json", status, "ec2:DescribeInstanceStatus",
                            status_params, region=region)
            _event_expiry(c, region, status)
        except AwsDataUnavailable as exc:
            c.not_collected(f"EC2 instance status and scheduled events in {region}", exc)
        for instance in ids:
            _console(c, ec2, region, r, instance)
    return found


def _event_expiry(c: Collection, region: str, status: dict) -> None:
    for st in status.get("InstanceStatuses") or []:
        for ev in st.get("Events") or []:
            desc = ev.get("Description") or ""
            ends = ev.get("NotAfter") or ev.get("NotBefore")
            if desc.startswith(("[Completed]", "[Canceled]")) and isinstance(ends, datetime):
                c.expiring(f"EC2 scheduled event {ev.get('InstanceEventId')} ({ev.get('Code')}) of "
                           f"{st.get('InstanceId')} in {region}", ends + COMPLETED_EVENTS_KEPT,
                           "EC2 describes a completed or canceled scheduled event for up to a week after it ends.")


def _console(c: Collection, ec2, region: str, r: str, instance: str) -> None:
    try:
        out = call(ec2, "get_console_output", InstanceId=instance)
        c.save_response(f"ec2/{r}/get-console-output/{instance}.json", out, "ec2:GetConsoleOutput",
                        {"InstanceId": instance}, region=region)
        c.expiring(f"console output of {instance}", None, "EC2 keeps only the last 64 KB the instance wrote to its "
                   "console since its last boot: the next boot or more output replaces it.")
    except AwsDataUnavailable as exc:
        c.not_collected(f"console output of {instance}", exc)
    try:
        shot = call(ec2, "get_console_screenshot", InstanceId=instance, WakeUp=False)
    except AwsDataUnavailable as exc:
        c.not_collected(f"console screenshot of {instance}", exc)
        return
    c.save_response(f"ec2/{r}/get-console-screenshot/{instance}.json", shot, "ec2:GetConsoleScreenshot",
                    {"InstanceId": instance, "WakeUp": False}, region=region)
    try:
        image = base64.b64decode(shot.get("ImageData") or "", validate=True)
    except (binascii.Error, ValueError):
        image = b""
    if image:
        c.save(f"ec2/{r}/get-console-screenshot/{instance}.jpg", image,
               {"api": "ec2:GetConsoleScreenshot", "decoded_from": f"ec2/{r}/get-console-screenshot/{instance}.json"},
               region=region)


def segments(start: datetime, end: datetime, now: datetime) -> tuple[list[tuple[datetime, datetime, int]], bool]:
    """The window in parts, each at the finest period CloudWatch still keeps for it: [(start, end, period)], and
    whether part of the window is older than anything CloudWatch keeps (455 days)."""
    out, hi = [], end
    for period, kept in RESOLUTIONS:
        lo = max(start, now - kept)
        if lo < hi:
            out.append((lo, hi, period))
            hi = lo
        if hi <= start:
            break
    return sorted(out), start < now - RESOLUTIONS[-1][1]


def collect_cloudwatch(c: Collection, found: dict[str, list[str]]) -> None:
    """The status-check metrics and alarm history of the instances found, region by region."""
    s = c.scope
    parts, too_old = segments(s.start, s.end, s.now)
    if too_old:
        c.not_collected("CloudWatch status checks before " + (s.now - RESOLUTIONS[-1][1]).strftime("%Y-%m-%d"),
                        "Expired: CloudWatch keeps datapoints 455 days at most.")
    for region, ids in sorted(found.items()):
        r = str(safe_relative(region))
        cw = c.client("cloudwatch", region)
        queries = [q for i in ids for q in status_check_queries(i, parts[0][2] if parts else 60)]
        results: dict[str, dict] = {}
        requests = []
        try:
            for lo, hi, period in parts:
                for n in range(0, len(queries), METRICS_PER_REQUEST):
                    batch = [{**q, "MetricStat": {**q["MetricStat"], "Period": period}}
                             for q in queries[n:n + METRICS_PER_REQUEST]]
                    params = {"MetricDataQueries": batch, "StartTime": lo, "EndTime": hi,
                              "ScanBy": "TimestampAscending"}
                    resps, cut = pages(cw, "get_metric_data", max_pages=MAX_PAGES, **params)
                    requests.append({"StartTime": lo, "EndTime": hi, "Period": period, "truncated": cut})
                    for resp in resps:
                        for res in resp.get("MetricDataResults") or []:
                            into = results.setdefault(res["Id"], {"Id": res["Id"], "Label": res.get("Label"),
                                                                  "Timestamps": [], "Values": [],
                                                                  "StatusCode": "Complete"})
                            into["Timestamps"] += res.get("Timestamps") or []
                            into["Values"] += res.get("Values") or []
                            if res.get("StatusCode") != "Complete":
                                into["StatusCode"] = res.get("StatusCode")
        except AwsDataUnavailable as exc:
            c.not_collected(f"CloudWatch status checks in {region}", exc)
            continue
        c.save_response(f"cloudwatch/{r}/get-metric-data.json", {"MetricDataResults": list(results.values())},
                        "cloudwatch:GetMetricData", {"segments": requests}, region=region)
        c.save_response(f"cloudwatch/{r}/get-metric-data.input.json", {"MetricDataQueries": queries},
                        "cloudwatch:GetMetricData", {"what": "the request's MetricDataQueries"}, region=region)
        for lo, _, period in parts:
            c.expiring(f"CloudWatch {period // 60}-minute status-check datapoints of {', '.join(ids)} from "
                       f"{lo:%Y-%m-%dT%H:%MZ}", lo + dict(RESOLUTIONS)[period],
                       f"CloudWatch keeps {period // 60}-minute datapoints {dict(RESOLUTIONS)[period].days} days.")
        _alarms(c, cw, region, r, ids)


def _alarms(c: Collection, cw, region: str, r: str, ids: list[str]) -> None:
    s = c.scope
    try:
        names = []
        for instance in ids:
            for metric in STATUS_METRICS.values():
                resps, _ = pages(cw, "describe_alarms_for_metric", max_pages=1, MetricName=metric, Namespace="AWS/EC2",
                                 Dimensions=[{"Name": "InstanceId", "Value": instance}])
                names += [a["AlarmName"] for x in resps for a in x.get("MetricAlarms") or [] if a.get("AlarmName")]
        items = []
        for name in dict.fromkeys(names):
            resps, _ = pages(cw, "describe_alarm_history", max_pages=MAX_PAGES, AlarmName=name, StartDate=s.start,
                             EndDate=s.end)
            items += [i for x in resps for i in x.get("AlarmHistoryItems") or []]
    except AwsDataUnavailable as exc:
        c.not_collected(f"CloudWatch alarm history in {region}", exc)
        return
    if items:
        c.save_response(f"cloudwatch/{r}/describe-alarm-history.json", {"AlarmHistoryItems": items},
                        "cloudwatch:DescribeAlarmHistory", {"AlarmNames": list(dict.fromkeys(names)),
                                                            "StartDate": s.start, "EndDate": s.end}, region=region)
