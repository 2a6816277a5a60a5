"""Compact history: a period's events as one row per distinct combination of the columns an analysis reads, as data
compiled to SQL by a backend (pySigma style: one model, a DuckDB backend and an Athena backend, golden tests).

    spec = CompactSpec("login-history", keys=("actor", "eventName", ...), whole_events=("ConsoleLogin", ...))
    sql = duckdb_sql(spec, "history")            # over a relation of the frame's columns (a scan's batches)
    sql = athena_sql(spec, table, start, end)    # over AWS's CloudTrail table, for the period [start, end)

A compact row carries the key columns, ``eventTime`` (the first time), ``lastTime`` (the last), ``calls`` (how many
events) and the first event's ``eventID`` (and, from files, its ``_file``/``_index``/``_ord``, so that evidence can
be traced to a trail file). Events whose ``eventName`` is in ``whole_events`` (or in ``recent_events`` and in the
period's last ``recent_hours``) are kept whole by the caller and only counted here (their groups come back with
``_whole`` true: drop them). One statement also gives the period's hourly counts per account (``GROUPING SETS``),
for the logging-coverage check: rows whose ``_set`` is 1. In DuckDB, the caller marks each row with a small integer
``_part`` instead (:data:`PART_WHOLE` for the rows it keeps whole; others to keep groups apart, e.g. rows of the
window compacted apart from the baseline's): groups never span two parts.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from trailtools.events.query import Query
from trailtools.sources.athena_sql import CloudTrailTable, literal, where_clauses

#: The frame's columns as AWS's CloudTrail table in Athena has them (the field mapping, as data).
ATHENA_FIELDS: dict[str, str] = {
    "eventName": "eventname", "eventSource": "eventsource", "awsRegion": "awsregion",
    "sourceIPAddress": "sourceipaddress", "userAgent": "useragent", "errorCode": "errorcode",
    "errorMessage": "errormessage", "recipientAccountId": "recipientaccountid",
    "sessionCredentialFromConsole": "sessioncredentialfromconsole", "eventID": "eventid",
    "userIdentity.type": "useridentity.type", "userIdentity.arn": "useridentity.arn",
    "userIdentity.accessKeyId": "useridentity.accesskeyid", "userIdentity.invokedBy": "useridentity.invokedby",
    "userIdentity.principalId": "useridentity.principalid", "userIdentity.userName": "useridentity.username",
    "userIdentity.accountId": "useridentity.accountid",
}
#: Derived columns of the frame that Athena's table does not have: the columns they are derived from
#: (:mod:`trailtools.events.derive`), grouped by instead and derived again from the result.
ATHENA_DERIVED: dict[str, tuple[str, ...]] = {
    "actor": ("userIdentity.type", "userIdentity.arn", "userIdentity.userName", "userIdentity.principalId",
              "userIdentity.accountId", "userIdentity.invokedBy"),
}
FIRST = ("eventID", "_file", "_index", "_ord")     # the first event's, from files (Athena: eventID only)
#: ``_part`` of the rows the caller keeps whole (:func:`duckdb_sql`): only counted in the hourly counts.
PART_WHOLE = 1


@dataclass(frozen=True)
class CompactSpec:
    """What a compact history keeps: ``keys`` (the frame's columns grouped by), ``whole_events`` (eventNames the
    analysis needs whole: kept apart, counted here), ``hourly_by`` (the column the hourly counts are per)."""

    name: str
    keys: tuple[str, ...]
    whole_events: tuple[str, ...]
    hourly_by: str = "recipientAccountId"
    #: eventNames kept whole only in the last ``recent_hours`` of the period (what a check reads whole only when it
    #: can still lead into the window: temporary credentials, steps of a sequence that lasts hours)
    recent_events: tuple[str, ...] = ()
    recent_hours: int = 0
    #: a key grouped by an expression of the row instead of as it is: a template over the frame's columns
    #: (``{c[userAgent]}``) and the backend's functions (``{regexp_like}``), e.g. a value kept only where it matters
    transforms: tuple[tuple[str, str], ...] = ()

    def whole_since(self, start: datetime, end: datetime) -> datetime:
        """From when in the period [start, end) the ``recent_events`` are kept whole."""
        return max(start, end - timedelta(hours=self.recent_hours))

    def whole(self, names: list, times: list, start: datetime, end: datetime) -> list[bool]:
        """Which rows (eventName, eventTime) are kept whole (the rule the backends compile)."""
        since = self.whole_since(start, end)
        always, recent = set(self.whole_events), set(self.recent_events)
        return [n in always or (n in recent and t >= since) for n, t in zip(names, times)]

    def key_expression(self, key: str, column, regexp_like: str) -> str:
        """``key`` as the backend groups by it: its transform, or the column itself (``column(name)`` names a
        frame column in the backend's SQL)."""
        template = dict(self.transforms).get(key)
        if template is None:
            return column(key)
        return template.format(c=_Columns(column), regexp_like=regexp_like)

    def columns(self) -> list[str]:
        """The columns a scan must hand over for this spec (keys, then what the aggregates read)."""
        out = list(dict.fromkeys((*self.keys, self.hourly_by, "eventTime", *FIRST)))
        return out


class _Columns:
    """``{c[name]}`` in a transform's template: the backend's SQL for the frame's column ``name``."""

    def __init__(self, column):
        self.column = column

    def __getitem__(self, name: str) -> str:
        return self.column(name)


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def duckdb_sql(spec: CompactSpec, relation: str) -> str:
    """The DuckDB statement over ``relation`` (the spec's :meth:`~CompactSpec.columns` and ``_part``, a small
    integer: :data:`PART_WHOLE` where the row is kept whole, e.g. its eventName is in ``whole_events``; rows of
    different parts are never grouped together). ``_set`` 0: compact rows, with their ``_part`` (those of
    :data:`PART_WHOLE` to be dropped), 1: hourly counts of every part (``hourly_by``, ``_hour``, ``calls``)."""
    keys = ",\n  ".join(q(k) for k in spec.keys)
    changed = [k for k, _ in spec.transforms if k in spec.keys]
    replace = (" REPLACE (" + ", ".join(f"{spec.key_expression(k, q, 'regexp_matches')} AS {q(k)}" for k in changed)
               + ")") if changed else ""
    first = ", ".join(f"'{c}': {q(c)}" for c in ("eventTime", "_ord", *FIRST[:-1]))
    picked = ",\n  ".join(f"_first.{q(c)} AS {q(c)}" for c in FIRST)
    return f"""WITH rows AS (
  SELECT *{replace}, date_trunc('hour', "eventTime") AS "_hour" FROM {q(relation)}
), grouped AS (
  SELECT
  GROUPING("_part") AS "_set",
  "_part",
  {keys},
  {q(spec.hourly_by)} AS "_by",
  "_hour",
  min({{{first}}}) AS _first,
  max("eventTime") AS "lastTime",
  count(*) AS "calls"
  FROM rows
  GROUP BY GROUPING SETS (("_part", {", ".join(q(k) for k in spec.keys)}), ({q(spec.hourly_by)}, "_hour"))
)
SELECT
  "_set",
  "_part",
  {keys},
  "_by",
  "_hour",
  _first."eventTime" AS "eventTime",
  "lastTime",
  "calls",
  {picked}
FROM grouped
ORDER BY "_set", "eventTime", "_ord\""""


def _athena_keys(spec: CompactSpec) -> list[str]:
    out: list[str] = []
    for k in spec.keys:
        for name in ATHENA_DERIVED.get(k, (k,)):
            if name not in out:
                out.append(name)
    return out


def athena_sql(spec: CompactSpec, table: CloudTrailTable, start: datetime, end: datetime) -> str:
    """The Athena (Trino) statement over AWS's CloudTrail table for the period [start, end) (UTC): the same rows as
    :func:`duckdb_sql` (derived keys grouped by what they derive from, the first event by ``min_by``), ``_whole``
    computed in SQL (:meth:`CompactSpec.whole_since`). The WHERE is the events query's
    (:func:`~trailtools.sources.athena_sql.where_clauses`: the day partitions first, with the same margins)."""
    keys = _athena_keys(spec)
    exprs = [spec.key_expression(k, ATHENA_FIELDS.__getitem__, "regexp_like") for k in keys]
    cols = ",\n    ".join(f"{e} AS {q(k)}" for k, e in zip(keys, exprs))
    whole = f"eventname IN ({', '.join(literal(n) for n in spec.whole_events)})"
    if spec.recent_events:
        since = spec.whole_since(start, end)
        whole = (f"({whole} OR (eventname IN ({', '.join(literal(n) for n in spec.recent_events)}) "
                 f"AND eventtime >= {literal(_iso(since))}))")
    conditions = "\n    AND ".join(where_clauses(Query(start=start, end=end), table))
    names = ", ".join(q(k) for k in keys)
    return f"""WITH rows AS (
  SELECT
    {cols},
    {ATHENA_FIELDS[spec.hourly_by]} AS "_by",
    {whole} AS "_whole",
    date_trunc('hour', from_iso8601_timestamp(eventtime)) AS "_hour",
    eventtime,
    eventid
  FROM {table.name}
  WHERE {conditions}
)
SELECT
  GROUPING("_whole") AS "_set",
  "_whole",
  {names},
  "_by",
  "_hour",
  min(eventtime) AS "eventTime",
  max(eventtime) AS "lastTime",
  count(*) AS "calls",
  min_by(eventid, eventtime) AS "eventID"
FROM rows
GROUP BY GROUPING SETS (("_whole", {names}), ("_by", "_hour"))"""


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")
