"""Cost Explorer (with ``--cost``): the daily cost of the window by service, region, usage type and linked account,
and the cost anomalies, as ``aws ce get-cost-and-usage`` / ``get-anomalies`` print them:
``cost/ce/get-cost-and-usage.by-<dimension>.json`` and ``cost/ce/get-anomalies.json``. The cost investigation reads
them on the case folder (``source=CASE_DIR``, or ``cost_source=CASE_DIR/cost``; :mod:`trailtools.evidence.cost.local`).

Cost Explorer answers for up to 13 months back (and the current month); older days are noted as expired. The CUR
objects of the window are not copied (they are in your own bucket, under its lifecycle rules).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from trailtools.aws.errors import AWS_ERRORS, AwsDataUnavailable, pages
from trailtools.collect.context import Collection
from trailtools.evidence.cost.ce import METRICS

IAM_ACTIONS = ("ce:GetCostAndUsage", "ce:GetAnomalies")
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


def _months_later(day: date, months: int) -> date:
    n = day.year * 12 + day.month - 1 + months
    return date(n // 12, n % 12 + 1, 1)
