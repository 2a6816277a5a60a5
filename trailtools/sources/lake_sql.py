"""The query spec compiled to CloudTrail Lake SQL over an event data store (the field mapping is data, as for Athena).

    from trailtools.sources.lake_sql import compile_query
    sql = compile_query(Query(start="2026-11-03", end="2026-11-04", principal="alice"), "EXAMPLE-f852-4e8f-8bd1")

CloudTrail Lake is Trino over the event data store (``FROM <event data store ID>``, the last part of its ARN). Its
schema for CloudTrail events has CloudTrail's field names (Trino compares them case-insensitively): ``eventTime`` a
timestamp, ``userIdentity``, ``resources``, ``tlsDetails``, ``addendum`` structures, ``requestParameters``,
``responseElements``, ``additionalEventData``, ``serviceEventDetails`` maps of text to text. The SELECT list gives
each back as JSON text (``json_format(CAST(x AS JSON))``) under CloudTrail's own name, and the time as ISO 8601, so
that a result row becomes the record it came from (:func:`row_to_record`).

What the way back loses (docs/sources.md): a map's values are text in Lake, so a number or boolean inside
``requestParameters`` comes back as text (an object or array inside it, kept by Lake as JSON text, is decoded); the
time keeps milliseconds; fields Lake's schema does not have are not there.

The WHERE clause narrows by ``eventTime`` first (Lake bills the data it scans, and prunes by time), then by region,
account, event name and source, errors, resource and principal: a superset of the query, which is applied to the
frame again as for every source. Golden-tested in tests/test_lake_sql.py.
"""
from __future__ import annotations

import json
import re

from trailtools.events.mapping import json_text, record_fields
from trailtools.events.query import Query, user_name_pattern
from trailtools.sources.athena_sql import literal

#: CloudTrail's fields as Lake has them, and how each is selected: "text" as is, "time" as ISO 8601, "json" a
#: structure or map selected as JSON text (parsed back), "bool" as true/false.
COLUMNS: dict[str, str] = {
    "eventVersion": "text", "userIdentity": "json", "eventTime": "time", "eventSource": "text",
    "eventName": "text", "awsRegion": "text", "sourceIPAddress": "text", "userAgent": "text",
    "errorCode": "text", "errorMessage": "text", "requestParameters": "json", "responseElements": "json",
    "additionalEventData": "json", "requestID": "text", "eventID": "text", "readOnly": "bool",
    "resources": "json", "eventType": "text", "apiVersion": "text", "managementEvent": "bool",
    "recipientAccountId": "text", "serviceEventDetails": "json", "sharedEventID": "text",
    "vpcEndpointId": "text", "vpcEndpointAccountId": "text", "eventCategory": "text", "addendum": "json",
    "sessionCredentialFromConsole": "text", "tlsDetails": "json",
}
#: The query's fields -> Lake's columns (used in WHERE).
FIELDS: dict[str, str] = {
    "eventTime": "eventTime", "awsRegion": "awsRegion", "recipientAccountId": "recipientAccountId",
    "eventName": "eventName", "eventSource": "eventSource", "errorCode": "errorCode",
    "requestParameters": "requestParameters", "responseElements": "responseElements",
    "serviceEventDetails": "serviceEventDetails",
}
#: Where a principal is matched (lowercased), as in the frame's own filter.
PRINCIPAL_FIELDS = ("userIdentity.arn", "userIdentity.username", "userIdentity.principalid",
                    "userIdentity.accesskeyid", "userIdentity.sessioncontext.sessionissuer.username",
                    "userIdentity.sessioncontext.sessionissuer.arn")
#: Lake's query price (2026): $0.005 per GB scanned (GB = 2**30).
PRICE_PER_GB = 0.005
_STORE_ID = re.compile(r"^[A-Za-z0-9-]{1,128}$")


def cost_usd(scanned_bytes: int) -> float:
    """What a Lake query that scanned this much costs."""
    return int(scanned_bytes) / 1024 ** 3 * PRICE_PER_GB


def store_id(name: str) -> str | None:
    """The event data store's ID from its ID or ARN (``arn:aws:cloudtrail:REGION:ACCOUNT:eventdatastore/ID``), or
    None when it is neither."""
    last = name.rsplit("/", 1)[-1] if name.startswith("arn:") else name
    return last if _STORE_ID.match(last) else None


def _time(ts) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S")


def _in(column: str, values) -> str:
    values = list(values)
    if len(values) == 1:
        return f"{column} = {literal(values[0])}"
    return f"{column} IN ({', '.join(literal(v) for v in values)})"


def select_list(query: Query | None = None) -> str:
    """Every field, or with column projection (``query.columns``) only those the frame's columns and the query's
    filters are read from."""
    read = query.read_columns() if query is not None else None
    wanted = None if read is None else set(record_fields(read))
    out = []
    for name, kind in COLUMNS.items():
        if wanted is not None and name not in wanted:
            continue
        if kind == "json":
            out.append(f'json_format(CAST({name} AS JSON)) AS "{name}"')
        elif kind == "time":
            out.append(f'to_iso8601({name}) AS "{name}"')
        else:
            out.append(f'{name} AS "{name}"')
    return ",\n  ".join(out)


def where_clauses(query: Query) -> list[str]:
    """The conditions, time first."""
    where = []
    if query.start:
        where.append(f"{FIELDS['eventTime']} >= timestamp {literal(_time(query.start))}")
    if query.end:
        where.append(f"{FIELDS['eventTime']} < timestamp {literal(_time(query.end))}")
    if query.regions:
        where.append(_in(FIELDS["awsRegion"], query.regions))
    if query.accounts:
        where.append(_in(FIELDS["recipientAccountId"], query.accounts))
    if query.event_names:
        where.append(_in(FIELDS["eventName"], query.event_names))
    if query.event_sources:
        where.append(_in(FIELDS["eventSource"], query.event_sources))
    if query.errors_only:
        where.append(f"{FIELDS['errorCode']} IS NOT NULL")
    if query.resource:
        r = literal(query.resource)
        checks = [f"strpos(json_format(CAST({FIELDS[f]} AS JSON)), {r}) > 0"
                  for f in ("requestParameters", "responseElements", "serviceEventDetails")]
        checks.append(f"any_match(resources, x -> strpos(x.arn, {r}) > 0)")
        where.append("(" + " OR ".join(checks) + ")")
    if query.principal:
        p = literal(query.principal.lower())
        checks = [f"lower({f}) = {p}" for f in PRINCIPAL_FIELDS]
        checks.append(f"lower(userIdentity.arn) LIKE {literal('%/' + query.principal.lower())}")
        pattern = user_name_pattern(query.principal)
        if pattern:  # as the frame filter: alice -> alice@example.com
            checks += [f"regexp_like(lower({f}), {literal(pattern)})"
                       for f in ("userIdentity.arn", "userIdentity.username")]
        where.append("(" + " OR ".join(checks) + ")")
    return where


def compile_query(query: Query, store: str) -> str:
    """The SELECT for a query over the event data store ``store`` (its ID)."""
    where = where_clauses(query)
    sql = f"SELECT\n  {select_list(query)}\nFROM {store}"
    if where:
        sql += "\nWHERE " + "\n  AND ".join(where)
    return sql + "\nORDER BY eventTime, eventID"


def _decode(value):
    """A map's text values that hold JSON (an object or an array) decoded; the rest as Lake gave them."""
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return json_text(value)


def row_to_record(row: list[dict]) -> dict:
    """One row of GetQueryResults (``[{"eventName": "RunInstances"}, ...]``) -> the CloudTrail record."""
    rec: dict = {}
    for cell in row:
        for name, value in cell.items():
            kind = COLUMNS.get(name)
            if value is None or kind is None:
                continue
            if kind == "json":
                try:
                    value = _decode(json.loads(value))
                except (ValueError, RecursionError):
                    pass  # not JSON after all: kept as the text it is
                if value is None:
                    continue
            elif kind == "bool":
                value = value == "true" if value in ("true", "false") else value
            rec[name] = value
    return rec
