"""AWS Health: the events of the window (those affecting the scope's instances when some are named), their
affected entities and details, in the layout :func:`trailtools.evidence.health.read_health` reads:
``health/describe-events.json``, ``describe-affected-entities.json``, ``describe-event-details.json`` (or the
``...-for-organization.json`` files when the organization view is on).

The API answers only with a Business, Enterprise On-Ramp or Enterprise support plan; without one the run notes it
(``SubscriptionRequiredException``) and goes on.
"""
from __future__ import annotations

import datetime as dt

from trailtools.aws.errors import AWS_ERRORS, AwsDataUnavailable, call, pages
from trailtools.collect.context import Collection

IAM_ACTIONS = ("health:DescribeHealthServiceStatusForOrganization", "health:DescribeEvents",
               "health:DescribeAffectedEntities", "health:DescribeEventDetails",
               "health:DescribeEventsForOrganization", "health:DescribeAffectedEntitiesForOrganization",
               "health:DescribeEventDetailsForOrganization")
MAX_PAGES = 20
HEALTH_KEPT = dt.timedelta(days=90)


def _batches(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def organization_view(client) -> bool:
    """Whether the organization view is on (False when it cannot be told: not in an organization, no right)."""
    try:
        resp = call(client, "describe_health_service_status_for_organization")
    except AwsDataUnavailable:
        return False
    return resp.get("healthServiceAccessStatusForOrganization") == "ENABLED"


def collect_health(c: Collection) -> None:
    s = c.scope
    try:
        client = c.client("health", "us-east-1")
        org = organization_view(client)
        suffix = "_for_organization" if org else ""
        name = "-for-organization" if org else ""
        filt: dict = {"entityValues": s.instances[:99]} if s.instances else {}
        if org:
            filt["startTime"] = {"to": s.end}
            filt["endTime"] = {"from": s.start}
        else:
            filt["startTimes"] = [{"to": s.end}]
            filt["endTimes"] = [{"from": s.start}]
        params = {"filter": filt, "maxResults": 100}
        resps, cut = pages(client, "describe_events" + suffix, token="nextToken", max_pages=MAX_PAGES, **params)
        # open events have no end time: asked for apart, since an endTimes filter leaves them out
        open_filt = {k: v for k, v in filt.items() if k not in ("endTimes", "endTime")}
        open_filt["eventStatusCodes"] = ["open", "upcoming"]
        more, cut2 = pages(client, "describe_events" + suffix, token="nextToken", max_pages=MAX_PAGES,
                           filter=open_filt, maxResults=100)
        events = list({e["arn"]: e for r in resps + more for e in r.get("events") or [] if e.get("arn")}.values())
        arns = [e["arn"] for e in events]
        entities, failed = [], []
        for batch in _batches(arns, 10):
            if org:
                ent_params = {"organizationEntityAccountFilters": [{"eventArn": a} for a in batch]}
            else:
                ent_params = {"filter": {"eventArns": batch}}
            for r in pages(client, "describe_affected_entities" + suffix, token="nextToken", max_pages=MAX_PAGES,
                           maxResults=100, **ent_params)[0]:
                entities += r.get("entities") or []
                failed += r.get("failedSet") or []
        details: dict = {"successfulSet": [], "failedSet": []}
        for batch in _batches(arns, 10):
            if org:
                r = call(client, "describe_event_details_for_organization",
                         organizationEventDetailFilters=[{"eventArn": a} for a in batch])
            else:
                r = call(client, "describe_event_details", eventArns=batch)
            details["successfulSet"] += r.get("successfulSet") or []
            details["failedSet"] += r.get("failedSet") or []
    except (AwsDataUnavailable, *AWS_ERRORS) as exc:
        c.not_collected("AWS Health", exc)
        return
    if cut or cut2:
        c.not_collected("AWS Health events", f"More than {MAX_PAGES} pages of events: only those were saved.")
    org_name = "ForOrganization" if org else ""
    c.save_response(f"health/describe-events{name}.json", {"events": events}, f"health:DescribeEvents{org_name}",
                    params, region="us-east-1")
    ent = {"entities": entities, **({"failedSet": failed} if org else {})}
    c.save_response(f"health/describe-affected-entities{name}.json", ent,
                    f"health:DescribeAffectedEntities{org_name}", {"eventArns": arns},
                    region="us-east-1")
    c.save_response(f"health/describe-event-details{name}.json", details,
                    f"health:DescribeEventDetails{org_name}", {"eventArns": arns},
                    region="us-east-1")
    ends = [e.get("endTime") or e.get("lastUpdatedTime") for e in events]
    ends = [t for t in ends if isinstance(t, dt.datetime)]
    c.expiring("AWS Health events of the window", min(ends) + HEALTH_KEPT if ends else None,
               "AWS Health answers queries for events up to its 90-day limit.")
