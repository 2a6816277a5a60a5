"""Cost Explorer (with ``--cost``): the daily cost of the window by service, region, usage type and linked account,
the resource-level daily cost of EC2 (which instance), and the cost anomalies, as ``aws ce get-cost-and-usage``,
``get-cost-and-usage-with-resources`` and ``get-anomalies`` print them:
``cost/ce/get-cost-and-usage.by-<dimension>.json``, ``cost/ce/get-cost-and-usage-with-resources.json`` and
``cost/ce/get-anomalies.json``. The cost investigation reads them on the case folder (``source=CASE_DIR``, or
``cost_source=CASE_DIR/cost``; :mod:`trailtools.evidence.cost.local`).

Cost Explorer answers for up to 13 months back (and the current month); older days are noted as expired. Resource-level
data covers the last 14 days only, for EC2 only, and only once turned on in Cost Management's preferences: a window
older than that, AccessDenied, or resource-level data not turned on is one sentence in the notes. The CUR objects of
the window are :mod:`.cur`'s (``--cur``).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd

from trailtools.aws.errors import ACCESS_DENIED, AWS_ERRORS, AwsDataUnavailable, pages
from trailtools.collect.context import Collection
from trailtools.evidence.cost.ce import METRICS, RESOURCE_DAYS, resource_request

IAM_ACTIONS = ("ce:GetCostAndUsage", "ce:GetCostAndUsageWithResources", "ce:GetAnomalies")
RESOURCES_FILE = "cost/ce/get-cost-and-usage-with-resources.json"
#: words of the answer when resource-level data is not turned on for the account
_OPT_IN = ("opt", "not enabled", "resource-level", "resource level", "enable")
#: (dimension, file name part), as the demo account saves them.
GROUPS = (("SERVICE", "service"), ("REGION", "region"), ("USAGE_TYPE", "usage-type"),
          ("LINKED_ACCOUNT", "linked-account"))
MAX_PAGES = 20
#: How far back Cost Explorer answers: 13 months, and the current month.
KEPT_MONTHS = 13


def _days(c: Collection) -> tuple[date, date]:
    """[first day, day after the last) of the window, clipped to what Cost Explorer still has."""
    s = c.scope
    first = s.start.date()
    last = (s.end - timedelta(microseconds=1)).date() + timedelta(days=1)
    return first, min(last, s.now.date() + timedelta(days=1))


def oldest_day(now: datetime) -> date:
    """The first day Cost Explorer still has: the 1st of the month 13 months before ``now``'s."""
    months = now.year * 12 + now.month - 1 - KEPT_MONTHS
    return date(months // 12, months % 12 + 1, 1)


def collect_cost(c: Collection) -> None:
    first, end = _days(c)
    oldest = oldest_day(c.scope.now)
    if first < oldest:
        c.not_collected(f"cost before {oldest}", "Expired: Cost Explorer answers for the last 13 months only.")
        first = oldest
    if first >= end:
        return
    period = {"Start": first.isoformat(), "End": end.isoformat()}
    try:
        ce = c.client("ce", "us-east-1")
    except AWS_ERRORS as exc:
        c.not_collected("Cost Explorer", exc)
        return
    for dimension, name in GROUPS:
        params = {"TimePeriod": period, "Granularity": "DAILY", "Metrics": list(METRICS),
                  "GroupBy": [{"Type": "DIMENSION", "Key": dimension}]}
        try:
            resps, cut = pages(ce, "get_cost_and_usage", token="NextPageToken", max_pages=MAX_PAGES, **params)
        except AwsDataUnavailable as exc:
            c.not_collected(f"Cost Explorer cost by {dimension}", exc)
            if exc.code is None or "AccessDenied" in (exc.code or ""):
                return  # no credentials or no right to Cost Explorer: the other groupings fail the same way
            continue
        if cut:
            c.not_collected(f"Cost Explorer cost by {dimension}",
                            f"More than {MAX_PAGES} pages: only those were saved.")
        merged = {"GroupDefinitions": resps[0].get("GroupDefinitions") or [],
                  "ResultsByTime": [r for resp in resps for r in resp.get("ResultsByTime") or []]}
        if any(resp.get("DimensionValueAttributes") for resp in resps):
            merged["DimensionValueAttributes"] = [a for resp in resps for a in resp.get("DimensionValueAttributes")
                                                  or []]
        c.save_response(f"cost/ce/get-cost-and-usage.by-{name}.json", merged, "ce:GetCostAndUsage", params,
                        region="us-east-1")
    _resources(c, ce)
    interval = {"StartDate": period["Start"], "EndDate": period["End"]}
    try:
        resps, _ = pages(ce, "get_anomalies", token="NextPageToken", max_pages=MAX_PAGES, DateInterval=interval,
                         MaxResults=100)
    except AwsDataUnavailable as exc:
        c.not_collected("Cost anomalies", exc)
        return
    c.save_response("cost/ce/get-anomalies.json", {"Anomalies": [a for r in resps for a in r.get("Anomalies") or []]},
                    "ce:GetAnomalies", {"DateInterval": interval}, region="us-east-1")
    c.expiring(f"Cost Explorer data of {first}", _months_later(first, KEPT_MONTHS + 1),
               "Cost Explorer answers for the last 13 months (and the current month).")


def _resources(c: Collection, ce) -> None:
    """GetCostAndUsageWithResources: EC2's daily cost per resource (instance) for the part of the window within the
    last 14 days."""
    s = c.scope
    what = "Resource-level cost of EC2 (GetCostAndUsageWithResources)"
    params = resource_request(s.start, s.end, now=pd.Timestamp(s.now))
    if params is None:
        c.not_collected(what, f"Expired: Cost Explorer serves resource-level data for the last {RESOURCE_DAYS} days "
                              "only, and the window is older.")
        return
    try:
        resps, cut = pages(ce, "get_cost_and_usage_with_resources", token="NextPageToken", max_pages=MAX_PAGES,
                           **params)
    except AwsDataUnavailable as exc:
        text = str(exc).lower()
        if exc.code not in ACCESS_DENIED and exc.code is not None and (
                exc.code == "DataUnavailableException" or any(w in text for w in _OPT_IN)):
            c.not_collected(what, f"Cost Explorer has no resource-level data for this account ({exc.code}): turn "
                                  "on daily resource-level data for EC2 in Cost Management preferences, and it then "
                                  f"covers the last {RESOURCE_DAYS} days.")
        else:
            c.not_collected(what, exc)
        return
    if cut:
        c.not_collected(what, f"More than {MAX_PAGES} pages: only those were saved.")
    merged = {"GroupDefinitions": resps[0].get("GroupDefinitions") or [],
              "ResultsByTime": [r for resp in resps for r in resp.get("ResultsByTime") or []]}
    c.save_response(RESOURCES_FILE, merged, "ce:GetCostAndUsageWithResources", params, region="us-east-1")
    first = date.fromisoformat(params["TimePeriod"]["Start"])
    c.expiring(f"resource-level cost of EC2 of {first}", first + timedelta(days=RESOURCE_DAYS),
               f"Cost Explorer serves resource-level data for the last {RESOURCE_DAYS} days.")


def _months_later(day: date, months: int) -> date:
    n = day.year * 12 + day.month - 1 + months
    return date(n // 12, n % 12 + 1, 1)
