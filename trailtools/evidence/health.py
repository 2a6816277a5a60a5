"""AWS Health: events (maintenance, retirement, auto-recovery, service issues), their affected entities, details.

- transform: ``describe-events`` / ``describe-affected-entities`` / ``describe-event-details`` responses (account
  or ``...-for-organization`` view) -> frames.
- read: ``<account>/health/*.json`` as ``aws health ... --output json`` saves them.
- get: the live API (us-east-1 only: Health is global; :func:`trailtools.aws.client` makes such a client). Without
  a Business, Enterprise On-Ramp or Enterprise support plan AWS answers ``SubscriptionRequiredException``, which
  becomes an :class:`~trailtools.aws.errors.AwsDataUnavailable` saying so.

Columns (times ``datetime64[us, UTC]``, everything else strings, missing values NaN/NaT):

- events: ``arn, service, eventTypeCode, eventTypeCategory, region, startTime, endTime, lastUpdatedTime,
  statusCode, eventScopeCode``
- entities: ``eventArn, entityValue, entityArn, awsAccountId, lastUpdatedTime, statusCode`` then ``errorName,
  errorMessage`` (set on the rows of an organization view's ``failedSet``, NaN otherwise)
- details: ``arn, eventTypeCode, latestDescription, startTime, endTime, statusCode`` then ``awsAccountId`` (the
  organization view), ``errorName, errorMessage`` (the rows of ``failedSet``: kept, not dropped)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from trailtools.aws.errors import call, pages
from trailtools.evidence.saved import frame, load_saved, service_folder, to_utc

# what get_health calls (docs/iam-policy.json must allow them)
IAM_ACTIONS = ("health:DescribeEvents", "health:DescribeAffectedEntities", "health:DescribeEventDetails",
               "health:DescribeEventsForOrganization", "health:DescribeAffectedEntitiesForOrganization",
               "health:DescribeEventDetailsForOrganization")
EVENT_COLUMNS = {"arn": "str", "service": "str", "eventTypeCode": "str", "eventTypeCategory": "str",
                 "region": "str", "startTime": "time", "endTime": "time", "lastUpdatedTime": "time",
                 "statusCode": "str", "eventScopeCode": "str"}
ENTITY_COLUMNS = {"eventArn": "str", "entityValue": "str", "entityArn": "str", "awsAccountId": "str",
                  "lastUpdatedTime": "time", "statusCode": "str", "errorName": "str", "errorMessage": "str"}
DETAIL_COLUMNS = {"arn": "str", "eventTypeCode": "str", "latestDescription": "str", "startTime": "time",
                  "endTime": "time", "statusCode": "str", "awsAccountId": "str", "errorName": "str",
                  "errorMessage": "str"}
FILES = {"events": ("describe-events.json", "describe-events-for-organization.json"),
         "entities": ("describe-affected-entities.json", "describe-affected-entities-for-organization.json"),
         "details": ("describe-event-details.json", "describe-event-details-for-organization.json")}


# ---------------------------------------------------------------- transform

def transform_events(resp: dict) -> pd.DataFrame:
    """``DescribeEvents`` (or ``DescribeEventsForOrganization``) -> one row per event."""
    return frame([{k: e.get(k) for k in EVENT_COLUMNS} for e in resp.get("events") or []], EVENT_COLUMNS)


def transform_affected_entities(resp: dict) -> pd.DataFrame:
    """``DescribeAffectedEntities`` (or ``...ForOrganization``) -> one row per entity, then one per failure."""
    rows = [{k: e.get(k) for k in ENTITY_COLUMNS} for e in resp.get("entities") or []]
    rows += [{"eventArn": f.get("eventArn"), "awsAccountId": f.get("awsAccountId"),
              "errorName": f.get("errorName"), "errorMessage": f.get("errorMessage")}
             for f in resp.get("failedSet") or []]
    return frame(rows, ENTITY_COLUMNS)


def transform_event_details(resp: dict) -> pd.DataFrame:
    """``DescribeEventDetails`` (or ``...ForOrganization``) -> one row per event, then one per ``failedSet`` item."""
    rows = []
    for item in resp.get("successfulSet") or []:
        event = item.get("event") or {}
        rows.append({**{k: event.get(k) for k in ("arn", "eventTypeCode", "startTime", "endTime", "statusCode")},
                     "latestDescription": (item.get("eventDescription") or {}).get("latestDescription"),
                     "awsAccountId": item.get("awsAccountId")})
    rows += [{"arn": f.get("eventArn"), "awsAccountId": f.get("awsAccountId"), "errorName": f.get("errorName"),
              "errorMessage": f.get("errorMessage")} for f in resp.get("failedSet") or []]
    return frame(rows, DETAIL_COLUMNS)


# ---------------------------------------------------------------- the result

def _concat(frames: list[pd.DataFrame], columns: dict) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return frame([], columns)
    return pd.concat(frames, ignore_index=True).drop_duplicates(ignore_index=True)


@dataclass
class HealthData:
    """What AWS Health says: three frames (see the module's docstring for their columns) and how they were got.

    ``truncated`` is True when a page limit cut a listing short; ``notes`` says what was missing (a file that was
    not saved, for instance).
    """
    events: pd.DataFrame = field(default_factory=lambda: frame([], EVENT_COLUMNS))
    entities: pd.DataFrame = field(default_factory=lambda: frame([], ENTITY_COLUMNS))
    details: pd.DataFrame = field(default_factory=lambda: frame([], DETAIL_COLUMNS))
    source: str = ""
    truncated: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> pd.DataFrame:
        """The entities and details AWS could not return: eventArn, awsAccountId, errorName, errorMessage."""
        ent = self.entities.loc[self.entities["errorName"].notna(), ["eventArn", "awsAccountId", "errorName",
                                                                    "errorMessage"]]
        det = self.details.loc[self.details["errorName"].notna(), ["arn", "awsAccountId", "errorName",
                                                                   "errorMessage"]]
        return pd.concat([ent, det.rename(columns={"arn": "eventArn"})], ignore_index=True)

    def events_for(self, entity_value: str) -> pd.DataFrame:
        """The events that affected one entity (an instance ID, a volume ID, an ARN ...), oldest first.

        Columns: the events' columns, then ``entityValue, entityArn, awsAccountId, entityStatusCode,
        entityLastUpdatedTime, latestDescription``. An entity given as an ARN ending in ``/<entity_value>``
        matches too.
        """
        ent = self.entities[self.entities["errorName"].isna()]
        values = ent["entityValue"].fillna("")
        hit = ent[(values == entity_value) | values.str.endswith("/" + entity_value)]
        hit = hit.drop_duplicates(["eventArn", "entityValue", "awsAccountId"])
        hit = hit.rename(columns={"eventArn": "arn", "statusCode": "entityStatusCode",
                                  "lastUpdatedTime": "entityLastUpdatedTime"})
        hit = hit[["arn", "entityValue", "entityArn", "awsAccountId", "entityStatusCode", "entityLastUpdatedTime"]]
        out = self.events.merge(hit, on="arn", how="inner")
        desc = self.details[self.details["errorName"].isna()].drop_duplicates("arn")[["arn", "latestDescription"]]
        out = out.merge(desc, on="arn", how="left")
        return out.sort_values(["startTime", "arn"], kind="stable", ignore_index=True)


# ---------------------------------------------------------------- read (saved responses)

def read_health(folder) -> HealthData:
    """The saved Health responses of an account folder (``<folder>/health/describe-*.json``) or a health folder.

    A response that was not saved gives an empty frame and a note; the ``...-for-organization.json`` files of the
    organization view are read too when present.
    """
    base = service_folder(folder, "health")
    transforms = {"events": (transform_events, EVENT_COLUMNS),
                  "entities": (transform_affected_entities, ENTITY_COLUMNS),
                  "details": (transform_event_details, DETAIL_COLUMNS)}
    data = HealthData(source=str(base))
    for kind, names in FILES.items():
        transform, columns = transforms[kind]
        paths = [base / n for n in names if (base / n).is_file()]
        if not paths:
            data.notes.append(f"no saved AWS Health {names[0]} in {base}")
        frames = [transform(load_saved(p)) for p in paths]
        setattr(data, kind, _concat(frames, columns))
    return data


# ---------------------------------------------------------------- get (live AWS)

def _when(value):
    return None if value is None else to_utc([value]).iloc[0].to_pydatetime()


def _batches(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def get_health(client, *, entity_values=None, start=None, end=None, organization: bool = False,
               max_pages: int = 20) -> HealthData:
    """AWS Health events (and their entities and details) from the live API, through a ``health`` client.

    ``entity_values``: an instance ID or a list of them (the events that affected them; all events otherwise).
    ``end``: only events that started before it; ``start``: events that ended before it are dropped (open
    events have no end and are kept). ``organization=True`` uses the organization view
    (``DescribeEventsForOrganization`` ...; needs it enabled in the management or delegated admin account).
    ``max_pages`` bounds every listing (``truncated`` says when it was reached). Raises AwsDataUnavailable.
    """
    if isinstance(entity_values, str):
        entity_values = [entity_values]
    values = list(entity_values or [])
    start, end = _when(start), _when(end)
    suffix = "_for_organization" if organization else ""
    data = HealthData(source="AWS Health API" + (" (organization view)" if organization else ""))

    # events
    frames = []
    for batch in (_batches(values, 99) or [None]):
        filt: dict = {"entityValues": batch} if batch else {}
        if end is not None:
            if organization:
                filt["startTime"] = {"to": end}
            else:
                filt["startTimes"] = [{"to": end}]
        resps, cut = pages(client, "describe_events" + suffix, token="nextToken", max_pages=max_pages,
                           filter=filt, maxResults=100)
        data.truncated |= cut
        frames += [transform_events(r) for r in resps]
    events = _concat(frames, EVENT_COLUMNS).drop_duplicates("arn", ignore_index=True)
    if start is not None:
        events = events[events["endTime"].isna() | (events["endTime"] >= start)].reset_index(drop=True)
    data.events = events
    arns = events["arn"].tolist()

    # affected entities
    frames = []
    for batch in _batches(arns, 10):
        if organization:
            params = {"organizationEntityAccountFilters": [{"eventArn": a} for a in batch]}
        else:
            params = {"filter": {"eventArns": batch, **({"entityValues": values} if 0 < len(values) <= 99 else {})}}
        resps, cut = pages(client, "describe_affected_entities" + suffix, token="nextToken",
                           max_pages=max_pages, maxResults=100, **params)
        data.truncated |= cut
        frames += [transform_affected_entities(r) for r in resps]
    entities = _concat(frames, ENTITY_COLUMNS)
    if values:
        keep = entities["errorName"].notna() | entities["entityValue"].fillna("").map(
            lambda v: any(v == x or v.endswith("/" + x) for x in values))
        entities = entities[keep].reset_index(drop=True)
    data.entities = entities

    # details (in the organization view: one filter per event and affected account)
    frames = []
    if organization:
        accounts = entities.dropna(subset=["awsAccountId"]).groupby("eventArn")["awsAccountId"].unique()
        filters = [{"eventArn": a, "awsAccountId": acct} for a in arns for acct in accounts.get(a, [])]
        filters += [{"eventArn": a} for a in arns if a not in accounts.index]
        for batch in _batches(filters, 10):
            frames.append(transform_event_details(call(client, "describe_event_details_for_organization",
                                                       organizationEventDetailFilters=batch)))
    else:
        for batch in _batches(arns, 10):
            frames.append(transform_event_details(call(client, "describe_event_details", eventArns=batch)))
    data.details = _concat(frames, DETAIL_COLUMNS)
    return data
