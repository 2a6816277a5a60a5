"""The query spec compiled to Athena SQL over a CloudTrail table (pySigma style: the field mapping is data).

    from trailtools.sources.athena_sql import CloudTrailTable, compile_query, create_table_ddl
    table = CloudTrailTable("security", "cloudtrail_logs")            # AWS's partition-projected table
    sql = compile_query(Query(start="2026-10-01", end="2026-10-02", resource="i-0abc..."), table)

The table is the one AWS documents ("Create the table for CloudTrail logs in Athena using partition projection"):
the same columns (lowercase, structs for ``useridentity``, ``resources``, ``tlsdetails``, JSON strings for
``requestparameters`` and the like), partitioned by the delivery folder's day (``timestamp``, ``yyyy/MM/dd``);
:func:`create_table_ddl` also projects the account and region folders, so one table spans a bucket. Which
partition columns a table has is data (:attr:`CloudTrailTable.partitions`): a table without one pushes the same
filter down as a plain column (``recipientaccountid``, ``awsregion``) instead.

The WHERE clause always narrows by the partition columns first (the day folders of the window, widened by the same
delivery margins as file pruning; the regions and accounts), so Athena reads only those objects; the other
conditions make the result smaller but are a superset of the query: the exact query is applied again to the
frame, as for every source. The SELECT list turns each struct into JSON (``json_format(CAST(x AS JSON))``), so
that a row can be turned back into the CloudTrail record it came from (:func:`row_to_record`); with column
projection (``Query.columns``) it holds only the columns the frame's columns are read from (:func:`selected`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from trailtools.events.mapping import record_fields
from trailtools.events.query import EARLY_MARGIN, Query, user_name_pattern

#: Columns of AWS's documented CloudTrail table, in its order, and how each is selected: "text" as is, "json" a
#: string column holding JSON (parsed back), "struct" a STRUCT/ARRAY column selected as JSON.
COLUMNS: dict[str, str] = {
    "eventversion": "text", "useridentity": "struct", "eventtime": "text", "eventsource": "text",
    "eventname": "text", "awsregion": "text", "sourceipaddress": "text", "useragent": "text", "errorcode": "text",
    "errormessage": "text", "requestparameters": "json", "responseelements": "json",
    "additionaleventdata": "json", "requestid": "text", "eventid": "text", "readonly": "bool",
    "resources": "struct", "eventtype": "text", "apiversion": "text", "recipientaccountid": "text",
    "serviceeventdetails": "json", "sharedeventid": "text", "vpcendpointid": "text",
    "vpcendpointaccountid": "text", "eventcategory": "text", "addendum": "struct",
    "sessioncredentialfromconsole": "text", "edgedevicedetails": "json", "tlsdetails": "struct",
}

#: Hive lowercases every name: CloudTrail's own names, restored on the way back (the field mapping, as data).
NAMES: dict[str, str] = {
    "eventversion": "eventVersion", "useridentity": "userIdentity", "eventtime": "eventTime",
    "eventsource": "eventSource", "eventname": "eventName", "awsregion": "awsRegion",
    "sourceipaddress": "sourceIPAddress", "useragent": "userAgent", "errorcode": "errorCode",
    "errormessage": "errorMessage", "requestparameters": "requestParameters", "responseelements":
    "responseElements", "additionaleventdata": "additionalEventData", "requestid": "requestID",
    "eventid": "eventID", "readonly": "readOnly", "resources": "resources", "eventtype": "eventType",
    "apiversion": "apiVersion", "recipientaccountid": "recipientAccountId",
    "serviceeventdetails": "serviceEventDetails", "sharedeventid": "sharedEventID",
    "vpcendpointid": "vpcEndpointId", "vpcendpointaccountid": "vpcEndpointAccountId",
    "eventcategory": "eventCategory", "addendum": "addendum",
    "sessioncredentialfromconsole": "sessionCredentialFromConsole", "edgedevicedetails": "edgeDeviceDetails",
    "tlsdetails": "tlsDetails",
    # inside the structs
    "type": "type", "principalid": "principalId", "arn": "arn", "accountid": "accountId", "invokedby": "invokedBy",
    "accesskeyid": "accessKeyId", "username": "userName", "onbehalfof": "onBehalfOf", "userid": "userId",
    "identitystorearn": "identityStoreArn", "sessioncontext": "sessionContext", "attributes": "attributes",
    "mfaauthenticated": "mfaAuthenticated", "creationdate": "creationDate", "sessionissuer": "sessionIssuer",
    "ec2roledelivery": "ec2RoleDelivery", "webidfederationdata": "webIdFederationData",
    "federatedprovider": "federatedProvider", "sourceidentity": "sourceIdentity", "reason": "reason",
    "updatedfields": "updatedFields", "originalrequestid": "originalRequestID",
    "originaleventid": "originalEventID", "tlsversion": "tlsVersion", "ciphersuite": "cipherSuite",
    "clientprovidedhostheader": "clientProvidedHostHeader",
}
#: Names that differ by where they are: a resource's ARN is upper case in CloudTrail.
NAMES_IN = {"resources": {"arn": "ARN"}}

#: The query's fields -> the table's columns (used in WHERE).
FIELDS: dict[str, str] = {
    "eventTime": "eventtime", "awsRegion": "awsregion", "recipientAccountId": "recipientaccountid",
    "eventName": "eventname", "eventSource": "eventsource", "errorCode": "errorcode",
    "requestParameters": "requestparameters", "responseElements": "responseelements",
    "serviceEventDetails": "serviceeventdetails",
}
#: Where a principal is matched (lowercased), as in the frame's own filter.
PRINCIPAL_FIELDS = ("useridentity.arn", "useridentity.username", "useridentity.principalid",
                    "useridentity.accesskeyid", "useridentity.sessioncontext.sessionissuer.username",
                    "useridentity.sessioncontext.sessionissuer.arn")

#: What Athena charges for the data a query scans (US regions, 2026): $5 per TB, at least 10 MB a query.
PRICE_PER_TB = 5.0
MIN_BILLED_BYTES = 10 * 1024 ** 2
#: The partition columns of the table :func:`create_table_ddl` makes (role -> column).
DEFAULT_PARTITIONS = {"account": "account", "region": "region", "day": "timestamp"}


def cost_usd(scanned_bytes: int) -> float:
    """Athena's price for a query that scanned this much (rounded up to the MB, at least 10 MB; TB = 2**40)."""
    billed = max(MIN_BILLED_BYTES, -(-int(scanned_bytes) // 1024 ** 2) * 1024 ** 2)
    return billed / 1024 ** 4 * PRICE_PER_TB


@dataclass(frozen=True)
class CloudTrailTable:
    """Where the CloudTrail table is, and which partition columns it has (role -> column; empty: none)."""

    database: str
    table: str
    catalog: str | None = None
    partitions: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PARTITIONS))
    day_format: str = "%Y/%m/%d"

    @property
    def name(self) -> str:
        parts = ([self.catalog] if self.catalog else []) + [self.database, self.table]
        return ".".join(ident(p) for p in parts)


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _in(column: str, values) -> str:
    values = list(values)
    if len(values) == 1:
        return f"{column} = {literal(values[0])}"
    return f"{column} IN ({', '.join(literal(v) for v in values)})"


def selected(query: Query | None = None) -> list[str]:
    """The table's columns to select: all of them, or with column projection (``query.columns``) only those the
    frame's columns and the query's filters are read from (:func:`trailtools.events.mapping.record_fields`)."""
    read = query.read_columns() if query is not None else None
    if read is None:
        return list(COLUMNS)
    wanted = {f.lower() for f in record_fields(read)}
    return [col for col in COLUMNS if col in wanted]


def select_list(query: Query | None = None) -> str:
    out = []
    for col in selected(query):
        out.append(f"json_format(CAST({col} AS JSON)) AS {col}" if COLUMNS[col] == "struct" else col)
    return ",\n  ".join(out)


def where_clauses(query: Query, table: CloudTrailTable) -> list[str]:
    """The conditions, partition columns first."""
    parts = table.partitions
    where = []
    if "day" in parts and (query.start or query.end):
        col = ident(parts["day"])
        if query.start:
            where.append(f"{col} >= {literal((query.start - EARLY_MARGIN).strftime(table.day_format))}")
        if query.end:
            where.append(f"{col} <= {literal((query.end + query.late_margin).strftime(table.day_format))}")
    for role, values, plain in (("region", query.regions, FIELDS["awsRegion"]),
                                ("account", query.accounts, FIELDS["recipientAccountId"])):
        if values:
            where.append(_in(ident(parts[role]) if role in parts else plain, values))
    if query.start:
        where.append(f"{FIELDS['eventTime']} >= {literal(query.start.strftime('%Y-%m-%dT%H:%M:%SZ'))}")
    if query.end:
        where.append(f"{FIELDS['eventTime']} < {literal(query.end.strftime('%Y-%m-%dT%H:%M:%SZ'))}")
    if query.event_names:
        where.append(_in(FIELDS["eventName"], query.event_names))
    if query.event_sources:
        where.append(_in(FIELDS["eventSource"], query.event_sources))
    if query.errors_only:
        where.append(f"{FIELDS['errorCode']} IS NOT NULL")
    if query.resource:
        r = literal(query.resource)
        where.append(f"(strpos({FIELDS['requestParameters']}, {r}) > 0 OR strpos({FIELDS['responseElements']}, {r}) > 0"
                     f" OR strpos({FIELDS['serviceEventDetails']}, {r}) > 0"
                     f" OR any_match(resources, x -> strpos(x.arn, {r}) > 0))")
    if query.principal:
        p = literal(query.principal.lower())
        checks = [f"lower({f}) = {p}" for f in PRINCIPAL_FIELDS]
        checks.append(f"lower(useridentity.arn) LIKE {literal('%/' + query.principal.lower())}")
        pattern = user_name_pattern(query.principal)
        if pattern:  # as the frame filter: alice -> alice@example.com
            checks += [f"regexp_like(lower({f}), {literal(pattern)})"
                       for f in ("useridentity.arn", "useridentity.username")]
        where.append("(" + " OR ".join(checks) + ")")
    return where


def compile_query(query: Query, table: CloudTrailTable) -> str:
    """The SELECT for a query (see the module's doc); golden-tested in tests/test_athena_sql.py."""
    where = where_clauses(query, table)
    sql = f"SELECT\n  {select_list(query)}\nFROM {table.name}"
    if where:
        sql += "\nWHERE " + "\n  AND ".join(where)
    return sql + "\nORDER BY eventtime, eventid"


# ---------------------------------------------------------------- the table

_STRUCTS = {
    "useridentity": """STRUCT<
        type: STRING,
        principalid: STRING,
        arn: STRING,
        accountid: STRING,
        invokedby: STRING,
        accesskeyid: STRING,
        username: STRING,
        onbehalfof: STRUCT<
             userid: STRING,
             identitystorearn: STRING>,
        sessioncontext: STRUCT<
            attributes: STRUCT<
                mfaauthenticated: STRING,
                creationdate: STRING>,
            sessionissuer: STRUCT<
                type: STRING,
                principalid: STRING,
                arn: STRING,
                accountid: STRING,
                username: STRING>,
            ec2roledelivery:string,
            webidfederationdata: STRUCT<
                federatedprovider: STRING,
                attributes: map<string,string>>
        >
    >""",
    "resources": """ARRAY<STRUCT<
        arn: STRING,
        accountid: STRING,
        type: STRING>>""",
    "addendum": """STRUCT<
      reason:STRING,
      updatedfields:STRING,
      originalrequestid:STRING,
      originaleventid:STRING>""",
    "tlsdetails": """STRUCT<
      tlsversion:STRING,
      ciphersuite:STRING,
      clientprovidedhostheader:STRING>""",
}


def create_table_ddl(table: CloudTrailTable, location: str, *, accounts, regions, since: str = "2020/01/01") -> str:
    """AWS's documented CREATE TABLE with partition projection, projecting the account and region folders too.

    ``location``: ``s3://BUCKET[/PREFIX]/AWSLogs/`` (or ``.../AWSLogs/o-ORGID/`` for an Organization trail);
    ``accounts`` and ``regions``: the values projected (enum projections need them listed).
    """
    if not accounts or not regions:
        raise ValueError("accounts and regions are needed to project the account and region folders")
    location = location.rstrip("/") + "/"
    cols = ",\n    ".join(f"{c} {_STRUCTS.get(c, 'STRING')}" for c in COLUMNS)
    p = table.partitions
    props = {
        "projection.enabled": "true",
        f"projection.{p['account']}.type": "enum",
        f"projection.{p['account']}.values": ",".join(accounts),
        f"projection.{p['region']}.type": "enum",
        f"projection.{p['region']}.values": ",".join(regions),
        f"projection.{p['day']}.format": "yyyy/MM/dd",
        f"projection.{p['day']}.interval": "1",
        f"projection.{p['day']}.interval.unit": "DAYS",
        f"projection.{p['day']}.range": f"{since},NOW",
        f"projection.{p['day']}.type": "date",
        "storage.location.template": f"{location}${{{p['account']}}}/CloudTrail/${{{p['region']}}}/${{{p['day']}}}",
    }
    tblprops = ",\n  ".join(f"{literal(k)}={literal(v)}" for k, v in props.items())
    name = ".".join(f"`{x}`" for x in (table.database, table.table))
    return (f"CREATE EXTERNAL TABLE IF NOT EXISTS {name}(\n    {cols}\n  )\n"
            f"PARTITIONED BY (\n   `{p['account']}` string,\n   `{p['region']}` string,\n   `{p['day']}` string)\n"
            "ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'\n"
            "STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'\n"
            "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n"
            f"LOCATION\n  {literal(location)}\n"
            f"TBLPROPERTIES (\n  {tblprops})")


# ---------------------------------------------------------------- rows back to records

def _rename(obj, where: str | None = None):
    if isinstance(obj, dict):
        local = NAMES_IN.get(where or "", {})
        return {local.get(k, NAMES.get(k, k)): _rename(v, where) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_rename(v, where) for v in obj]
    return obj


def row_to_record(row: dict[str, str | None]) -> dict:
    """One result row (column -> text, as GetQueryResults gives it) -> the CloudTrail record it came from."""
    rec = {}
    for col, value in row.items():
        kind = COLUMNS.get(col)
        if value is None or kind is None:
            continue
        name = NAMES.get(col, col)
        if kind in ("json", "struct"):
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = value  # not JSON after all: kept as the text it is
            if kind == "struct":
                parsed = _rename(parsed, col)
            rec[name] = parsed
        elif kind == "bool":
            rec[name] = value == "true" if value in ("true", "false") else value
        else:
            rec[name] = value
    return rec
