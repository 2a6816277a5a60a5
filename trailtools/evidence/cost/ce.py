"""``ce://``: AWS Cost Explorer (GetCostAndUsage, GetCostAndUsageWithResources) and Cost Anomaly Detection
(GetAnomalies).

Kept in layers, like the other AWS readers (:mod:`trailtools.aws`):

- ``transform_*``: responses exactly as boto3 returns them or ``aws ce ... --output json`` prints them -> frames;
- ``get_*``: one boto3 client the caller made (the standard credential chain), pagination by ``NextPageToken``
  with an explicit page limit (``truncated`` says when AWS had more), every failure one
  :class:`~trailtools.aws.errors.AwsDataUnavailable`;
- :func:`read_ce`: the ``ce://`` reader (daily cost by service and region for the window, resource-level cost for
  the part of the window within the last 14 days, which is all GetCostAndUsageWithResources serves, and anomalies).

``ce://`` takes an optional ``?group_by=SERVICE,USAGE_TYPE`` (at most two dimensions, the API's limit).
"""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from trailtools import aws
from trailtools.aws.errors import AwsDataUnavailable, pages
from trailtools.errors import QueryError
from trailtools.evidence.cost.frame import CostData, CostStats, conform, tags_json, utc

IAM_ACTIONS = ("ce:GetCostAndUsage", "ce:GetCostAndUsageWithResources", "ce:GetAnomalies")
#: Cost Explorer dimension -> cost-frame column.
DIMENSIONS = {"SERVICE": "service", "REGION": "region", "USAGE_TYPE": "usage_type", "LINKED_ACCOUNT": "account",
              "RESOURCE_ID": "resource_id", "INSTANCE_TYPE": "instance_type", "RECORD_TYPE": "line_item_type"}
METRICS = ("UnblendedCost", "UsageQuantity")
DEFAULT_GROUP_BY = ("SERVICE", "REGION")
RESOURCE_DAYS = 14          # GetCostAndUsageWithResources serves the last 14 days only
MAX_PAGES = 20              # per call; a month of daily groups fits in far fewer
EC2_COMPUTE = "Amazon Elastic Compute Cloud - Compute"
ANOMALY_COLUMNS = ["anomaly_id", "start", "end", "service", "total_impact", "total_actual", "total_expected",
                   "impact_percentage", "max_score", "feedback", "root_causes", "usage_types", "regions",
                   "accounts", "monitor_arn"]


def _day(t) -> str:
    return utc(t).strftime("%Y-%m-%d")


# ---- transform -------------------------------------------------------------------------------------------------

def transform_cost_and_usage(responses) -> pd.DataFrame:
    """GetCostAndUsage / GetCostAndUsageWithResources responses (one or several pages) -> the cost frame.

    Group keys land in the columns of their dimension; a ``TAG`` group key (``Environment$Dev``) becomes a tag
    (``aws:createdBy$...`` fills ``created_by``); results without groups use ``Total``."""
    if isinstance(responses, dict):
        responses = [responses]
    rows = []
    for resp in responses:
        defs = resp.get("GroupDefinitions") or []
        for period in resp.get("ResultsByTime") or []:
            tp = period.get("TimePeriod") or {}
            groups = period.get("Groups") or []
            if not groups and period.get("Total"):
                groups = [{"Keys": [], "Metrics": period["Total"]}]
            for g in groups:
                metrics = g.get("Metrics") or {}
                cost = metrics.get("UnblendedCost") or metrics.get("BlendedCost") or metrics.get("NetUnblendedCost") \
                    or next(iter(metrics.values()), {})
                row = {"usage_start": tp.get("Start"), "usage_end": tp.get("End"), "cost": cost.get("Amount"),
                       "currency": cost.get("Unit"), "usage_amount": (metrics.get("UsageQuantity") or {}).get("Amount")}
                tags = {}
                for d, key in zip(defs, g.get("Keys") or []):
                    if d.get("Type") == "TAG" or (d.get("Type") != "DIMENSION" and "$" in key):
                        name, _, value = key.partition("$")
                        if value:
                            tags[name or d.get("Key", "")] = value
                    elif d.get("Type") == "DIMENSION" and d.get("Key") in DIMENSIONS:
                        row[DIMENSIONS[d["Key"]]] = "" if key.startswith("No") and key[2:3].isupper() else key
                row["tags"] = tags_json(tags)
                row["created_by"] = tags.get("aws:createdBy", "")
                rows.append(row)
    return conform(pd.DataFrame(rows))


def transform_anomalies(responses) -> pd.DataFrame:
    """GetAnomalies responses -> one row per anomaly, its root causes summarized (newest first, as AWS gives)."""
    if isinstance(responses, dict):
        responses = [responses]
    rows = []
    for resp in responses:
        for a in resp.get("Anomalies") or []:
            causes = a.get("RootCauses") or []
            impact = a.get("Impact") or {}
            rows.append({
                "anomaly_id": a.get("AnomalyId", ""), "start": a.get("AnomalyStartDate"),
                "end": a.get("AnomalyEndDate"), "service": a.get("DimensionValue", ""),
                "total_impact": impact.get("TotalImpact"), "total_actual": impact.get("TotalActualSpend"),
                "total_expected": impact.get("TotalExpectedSpend"),
                "impact_percentage": impact.get("TotalImpactPercentage"),
                "max_score": (a.get("AnomalyScore") or {}).get("MaxScore"), "feedback": a.get("Feedback") or "",
                "root_causes": json.dumps(causes, ensure_ascii=False),
                "usage_types": ", ".join(c.get("UsageType", "") for c in causes if c.get("UsageType")),
                "regions": ", ".join(sorted({c.get("Region", "") for c in causes if c.get("Region")})),
                "accounts": ", ".join(sorted({c.get("LinkedAccount", "") for c in causes if c.get("LinkedAccount")})),
                "monitor_arn": a.get("MonitorArn", "")})
    df = pd.DataFrame(rows, columns=ANOMALY_COLUMNS)
    for c in ("start", "end"):
        df[c] = pd.to_datetime(df[c], utc=True, format="ISO8601").astype("datetime64[us, UTC]")
    for c in ("total_impact", "total_actual", "total_expected", "impact_percentage", "max_score"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    return df


# ---- get (live AWS) ---------------------------------------------------------------------------------------------

def _service_filter(service: str | None) -> dict | None:
    return {"Dimensions": {"Key": "SERVICE", "Values": [service]}} if service else None


def get_cost_and_usage(client, start, end, *, granularity: str = "DAILY", group_by=DEFAULT_GROUP_BY,
                       service: str | None = None, max_pages: int = MAX_PAGES) -> tuple[list[dict], bool]:
    """GetCostAndUsage for [start, end) (``End`` is exclusive), grouped by up to two dimensions."""
    if len(group_by) > 2:
        raise QueryError(f"Cost Explorer groups by at most two dimensions, not {len(group_by)} ({group_by}).")
    params = {"TimePeriod": {"Start": _day(start), "End": _day(end)}, "Granularity": granularity,
              "Metrics": list(METRICS), "GroupBy": [{"Type": "DIMENSION", "Key": k} for k in group_by]}
    if service:
        params["Filter"] = _service_filter(service)
    return pages(client, "get_cost_and_usage", token="NextPageToken", max_pages=max_pages, **params)


def resource_window(start, end, now) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The part of [start, end) GetCostAndUsageWithResources can serve (the 14 days before ``now``), or None."""
    lo = max(utc(start), utc(now).floor("D") - pd.Timedelta(days=RESOURCE_DAYS))
    hi = min(utc(end), utc(now).ceil("D"))
    return (lo, hi) if hi > lo else None


def resource_request(start, end, *, now=None, granularity: str = "DAILY",
                     service: str = EC2_COMPUTE) -> dict | None:
    """The GetCostAndUsageWithResources parameters for the part of [start, end) within the last 14 days (grouped by
    RESOURCE_ID and USAGE_TYPE, filtered to one service as the API requires), or None when the window is older."""
    win = resource_window(start, end, now or pd.Timestamp.now(tz="UTC"))
    if win is None:
        return None
    return {"TimePeriod": {"Start": _day(win[0]), "End": _day(win[1])}, "Granularity": granularity,
            "Metrics": list(METRICS), "Filter": _service_filter(service),
            "GroupBy": [{"Type": "DIMENSION", "Key": "RESOURCE_ID"}, {"Type": "DIMENSION", "Key": "USAGE_TYPE"}]}


def get_cost_and_usage_with_resources(client, start, end, *, now=None, granularity: str = "DAILY",
                                      service: str = EC2_COMPUTE,
                                      max_pages: int = MAX_PAGES) -> tuple[list[dict], bool]:
    """Resource-level daily cost of one service (the API requires a filter) for the part of [start, end) within
    the last 14 days; grouped by RESOURCE_ID and USAGE_TYPE. ([], False) when the window is older than that."""
    params = resource_request(start, end, now=now, granularity=granularity, service=service)
    if params is None:
        return [], False
    return pages(client, "get_cost_and_usage_with_resources", token="NextPageToken", max_pages=max_pages, **params)


def get_anomalies(client, start, end, *, max_pages: int = MAX_PAGES) -> tuple[list[dict], bool]:
    """Cost Anomaly Detection's anomalies whose dates fall in [start, end]."""
    return pages(client, "get_anomalies", token="NextPageToken", max_pages=max_pages,
                 DateInterval={"StartDate": _day(start), "EndDate": _day(end)}, MaxResults=100)


# ---- the ce:// reader ---------------------------------------------------------------------------------------------

def _group_by(uri: str) -> tuple[str, ...]:
    query = parse_qs(urlsplit(uri).query)
    raw = ",".join(query.get("group_by", []))
    keys = tuple(k.strip().upper() for k in raw.split(",") if k.strip()) or DEFAULT_GROUP_BY
    unknown = [k for k in keys if k not in DIMENSIONS]
    if unknown:
        raise QueryError(f"ce:// cannot group by {unknown[0]!r}: use one or two of {', '.join(DIMENSIONS)}.")
    return keys


def read_ce(uri: str, q) -> CostData:
    if q.start is None or q.end is None:
        raise QueryError("ce:// needs a time window (start and end).")
    client = aws.client("ce", region="us-east-1", profile=q.profile)   # Cost Explorer answers in us-east-1
    stats = CostStats(source=uri)
    gran = "HOURLY" if q.granularity == "HOURLY" else "DAILY"   # a spike is found in days (or hours)
    resp, truncated = get_cost_and_usage(client, q.start, q.end, granularity=gran, group_by=_group_by(uri),
                                         service=q.service, max_pages=q.max_pages)
    stats.api_calls += len(resp)
    stats.truncated |= truncated
    data = CostData(transform_cost_and_usage(resp), stats, granularity=gran, kind="Cost Explorer")
    try:
        res, truncated = get_cost_and_usage_with_resources(client, q.start, q.end,
                                                           service=q.service or EC2_COMPUTE, max_pages=q.max_pages)
        stats.api_calls += len(res)
        stats.truncated |= truncated
        data.resources = transform_cost_and_usage(res) if res else None
        if data.resources is not None:  # grouped by resource and usage type: the service is the filter's
            data.resources["service"] = q.service or EC2_COMPUTE
        if not res:
            data.notes.append("Resource-level cost (GetCostAndUsageWithResources) covers only the last 14 days; "
                              "the window is older, so no resource IDs.")
    except AwsDataUnavailable as exc:  # it needs opting in (Cost Explorer settings): go on without resources
        data.notes.append(f"No resource-level cost: {exc}")
    try:
        an, truncated = get_anomalies(client, q.start, q.end, max_pages=q.max_pages)
        stats.api_calls += len(an)
        data.anomalies = transform_anomalies(an)
    except AwsDataUnavailable as exc:
        data.notes.append(f"No Cost Anomaly Detection anomalies: {exc}")
    if stats.truncated:
        data.notes.append(f"Cost Explorer had more pages than the limit ({q.max_pages}); narrow the window.")
    return data
