"""Golden tests of the compact-history spec (trailtools.sources.compact): a spec in, the exact SQL out, for the DuckDB
and the Athena backends (pySigma style); and the login's spec run by DuckDB on a few rows."""
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from trailtools.investigations.login.history import KEY_KEPT, LOGIN_HISTORY, RECENT_EVENTS, WHOLE_EVENTS
from trailtools.sources.athena_sql import CloudTrailTable
from trailtools.sources.compact import CompactSpec, athena_sql, duckdb_sql

SPEC = CompactSpec(
    "t", ("actor", "userIdentity.accessKeyId"), ("ConsoleLogin",), recent_events=("AssumeRole",), recent_hours=48,
    transforms=(("userIdentity.accessKeyId", "CASE WHEN {c[userIdentity.accessKeyId]} LIKE 'AKIA%' OR "
                 "{regexp_like}({c[userAgent]}, '^Mozilla/') THEN {c[userIdentity.accessKeyId]} END"),))
START, END = datetime(2026, 9, 24, tzinfo=UTC), datetime(2026, 10, 24, tzinfo=UTC)

DUCKDB = '''WITH rows AS (
  SELECT * REPLACE (CASE WHEN "userIdentity.accessKeyId" LIKE 'AKIA%' OR regexp_matches("userAgent", '^Mozilla/') THEN "userIdentity.accessKeyId" END AS "userIdentity.accessKeyId"), date_trunc('hour', "eventTime") AS "_hour" FROM "history"
), grouped AS (
  SELECT
  GROUPING("_part") AS "_set",
  "_part",
  "actor",
  "userIdentity.accessKeyId",
  "recipientAccountId" AS "_by",
  "_hour",
  min({'eventTime': "eventTime", '_ord': "_ord", 'eventID': "eventID", '_file': "_file", '_index': "_index"}) AS _first,
  max("eventTime") AS "lastTime",
  count(*) AS "calls"
  FROM rows
  GROUP BY GROUPING SETS (("_part", "actor", "userIdentity.accessKeyId"), ("recipientAccountId", "_hour"))
)
SELECT
  "_set",
  "_part",
  "actor",
  "userIdentity.accessKeyId",
  "_by",
  "_hour",
  _first."eventTime" AS "eventTime",
  "lastTime",
  "calls",
  _first."eventID" AS "eventID",
  _first."_file" AS "_file",
  _first."_index" AS "_index",
  _first."_ord" AS "_ord"
FROM grouped
ORDER BY "_set", "eventTime", "_ord"'''

ATHENA = '''WITH rows AS (
  SELECT
    useridentity.type AS "userIdentity.type",
    useridentity.arn AS "userIdentity.arn",
    useridentity.username AS "userIdentity.userName",
    useridentity.principalid AS "userIdentity.principalId",
    useridentity.accountid AS "userIdentity.accountId",
    useridentity.invokedby AS "userIdentity.invokedBy",
    CASE WHEN useridentity.accesskeyid LIKE 'AKIA%' OR regexp_like(useragent, '^Mozilla/') THEN useridentity.accesskeyid END AS "userIdentity.accessKeyId",
    recipientaccountid AS "_by",
    (eventname IN ('ConsoleLogin') OR (eventname IN ('AssumeRole') AND eventtime >= '2026-10-22T00:00:00Z')) AS "_whole",
    date_trunc('hour', from_iso8601_timestamp(eventtime)) AS "_hour",
    eventtime,
    eventid
  FROM "security"."cloudtrail_logs"
  WHERE "timestamp" >= '2026/09/23'
    AND "timestamp" <= '2026/10/24'
    AND eventtime >= '2026-09-24T00:00:00Z'
    AND eventtime < '2026-10-24T00:00:00Z'
)
SELECT
  GROUPING("_whole") AS "_set",
  "_whole",
  "userIdentity.type", "userIdentity.arn", "userIdentity.userName", "userIdentity.principalId", "userIdentity.accountId", "userIdentity.invokedBy", "userIdentity.accessKeyId",
  "_by",
  "_hour",
  min(eventtime) AS "eventTime",
  max(eventtime) AS "lastTime",
  count(*) AS "calls",
  min_by(eventid, eventtime) AS "eventID"
FROM rows
GROUP BY GROUPING SETS (("_whole", "userIdentity.type", "userIdentity.arn", "userIdentity.userName", "userIdentity.principalId", "userIdentity.accountId", "userIdentity.invokedBy", "userIdentity.accessKeyId"), ("_by", "_hour"))'''


def test_duckdb_golden():
    assert duckdb_sql(SPEC, "history") == DUCKDB


def test_athena_golden():
    assert athena_sql(SPEC, CloudTrailTable("security", "cloudtrail_logs"), START, END) == ATHENA


def test_whole_rows_rule():
    since = SPEC.whole_since(START, END)
    assert since == datetime(2026, 10, 22, tzinfo=UTC)
    assert SPEC.whole(["ConsoleLogin", "AssumeRole", "AssumeRole", "ListBuckets"],
                      [START, START, since, since], START, END) == [True, False, True, False]


def test_login_spec_reads_what_the_checks_need():
    assert {"ConsoleLogin", "CreateAccessKey", "StopLogging", "DeleteTrail"} <= set(WHOLE_EVENTS)
    assert {"AssumeRole", "GetSessionToken", "GetFederationToken", "CreateLoginProfile"} <= set(RECENT_EVENTS)
    assert LOGIN_HISTORY.recent_hours >= 36      # temporary credentials last at most 36 h
    sql = athena_sql(LOGIN_HISTORY, CloudTrailTable("security", "cloudtrail_logs"), START, END)
    assert "regexp_like(useragent, '(?i)^(?:Mozilla/|AWS Internal)" in sql
    assert "useridentity.principalid AS \"userIdentity.principalId\"" in sql     # actor: grouped by what it comes from
    assert KEY_KEPT.count("{c[userIdentity.accessKeyId]}") == 2


def _rows(**cols) -> pa.Table:
    n = len(cols["eventID"])
    base = {c: [None] * n for c in LOGIN_HISTORY.columns()}
    base.update(cols)
    base["_ord"] = list(range(n))
    base["_index"] = list(range(n))
    base["_part"] = cols.pop("_part", [0] * n)
    t = pa.table({k: v for k, v in base.items() if k not in ("eventTime", "_ord", "_index", "_part")})
    return t.append_column("eventTime", pa.array(cols["eventTime"], pa.timestamp("us", tz="UTC"))) \
        .append_column("_ord", pa.array(base["_ord"], pa.int64())) \
        .append_column("_index", pa.array(base["_index"], pa.int32())) \
        .append_column("_part", pa.array(base["_part"], pa.int8()))


def test_login_spec_in_duckdb():
    """Calls alike are one row (first time and eventID, last time, count); a temporary key outside the console is
    grouped as none, a long-term or console key kept; hourly counts per account beside them."""
    t0 = datetime(2026, 10, 1, 10, tzinfo=UTC)
    rows = _rows(
        eventID=["a", "b", "c", "d", "e"],
        eventTime=[t0.replace(minute=5), t0, t0.replace(hour=12), t0, t0],
        actor=["role/app"] * 3 + ["alice", "alice"],
        eventName=["GetObject"] * 3 + ["ListBuckets", "ListBuckets"],
        **{"userIdentity.accessKeyId": ["ASIA1", "ASIA2", "ASIA3", "AKIAALICE", "ASIACONSOLE"],
           "sessionCredentialFromConsole": [None, None, None, None, "true"],
           "userAgent": ["Boto3/1.34"] * 3 + ["aws-cli/2", "Mozilla/5.0"],
           "recipientAccountId": ["111122223333"] * 5},
    )
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.register("history", rows)
    out = con.sql(duckdb_sql(LOGIN_HISTORY, "history")).to_arrow_table().to_pylist()
    compact = [r for r in out if r["_set"] == 0]
    hourly = sorted((r["_hour"].hour, r["calls"]) for r in out if r["_set"] == 1)
    app = [r for r in compact if r["actor"] == "role/app"]
    assert len(app) == 1 and app[0]["calls"] == 3 and app[0]["eventID"] == "b"
    assert app[0]["userIdentity.accessKeyId"] is None
    assert app[0]["eventTime"].hour == 10 and app[0]["eventTime"].minute == 0 and app[0]["lastTime"].hour == 12
    assert sorted(r["userIdentity.accessKeyId"] for r in compact if r["actor"] == "alice") == ["AKIAALICE",
                                                                                                 "ASIACONSOLE"]
    assert hourly == [(10, 4), (12, 1)]


def test_parts_are_never_grouped_together():
    """Rows alike in two parts (the baseline's and the window's) are two compact rows; whole rows (``_part`` 1) come
    back as their own groups (dropped by the caller) and count in the hourly counts like the others."""
    t0 = datetime(2026, 10, 1, 10, tzinfo=UTC)
    rows = _rows(eventID=["a", "b", "c", "d"], eventTime=[t0, t0.replace(hour=11), t0.replace(hour=12), t0],
                 actor=["ec2.amazonaws.com"] * 4, eventName=["Decrypt"] * 4, _part=[0, 0, 2, 1],
                 recipientAccountId=["111122223333"] * 4)
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.register("history", rows)
    out = con.sql(duckdb_sql(LOGIN_HISTORY, "history")).to_arrow_table().to_pylist()
    parts = sorted((r["_part"], r["calls"], r["eventID"]) for r in out if r["_set"] == 0)
    assert parts == [(0, 2, "a"), (1, 1, "d"), (2, 1, "c")]
    assert sum(r["calls"] for r in out if r["_set"] == 1) == 4


# The login's spec on Athena for a 30-day baseline, word for word: reviewed against Athena's engine 3 (Trino) dialect:
# struct fields by dot, ``regexp_like`` (Java patterns, ``(?i)``), ``from_iso8601_timestamp`` of the text eventtime,
# ``min_by``, ``GROUPING`` with ``GROUPING SETS``; the day partition (``timestamp``, yyyy/MM/dd) first in the WHERE.
LOGIN_ATHENA = '''WITH rows AS (
  SELECT
    useridentity.type AS "userIdentity.type",
    useridentity.arn AS "userIdentity.arn",
    useridentity.username AS "userIdentity.userName",
    useridentity.principalid AS "userIdentity.principalId",
    useridentity.accountid AS "userIdentity.accountId",
    useridentity.invokedby AS "userIdentity.invokedBy",
    eventname AS "eventName",
    eventsource AS "eventSource",
    awsregion AS "awsRegion",
    sourceipaddress AS "sourceIPAddress",
    useragent AS "userAgent",
    errorcode AS "errorCode",
    CASE WHEN useridentity.accesskeyid LIKE 'AKIA%' OR lower(sessioncredentialfromconsole) = 'true' OR (sessioncredentialfromconsole IS NULL AND regexp_like(useragent, '(?i)^(?:Mozilla/|AWS Internal)|console\\.aws|console\\.[a-z0-9-]+\\.amazonaws\\.com')) THEN useridentity.accesskeyid END AS "userIdentity.accessKeyId",
    sessioncredentialfromconsole AS "sessionCredentialFromConsole",
    recipientaccountid AS "_by",
    (eventname IN ('ConsoleLogin', 'CreateAccessKey', 'CreateTrail', 'DeleteTrail', 'PutEventSelectors', 'PutInsightSelectors', 'StartLogging', 'StopLogging', 'UpdateTrail') OR (eventname IN ('AssumeRole', 'AssumeRoleForPodIdentity', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity', 'AttachGroupPolicy', 'AttachRolePolicy', 'AttachUserPolicy', 'CreateFunction20150331', 'CreateLoginProfile', 'CreatePolicyVersion', 'CreateUser', 'DeleteConfigurationRecorder', 'DeleteDetector', 'DeleteFlowLogs', 'DeleteLogGroup', 'GetAccountAuthorizationDetails', 'GetCallerIdentity', 'GetFederationToken', 'GetSessionToken', 'ListAttachedUserPolicies', 'ListBuckets', 'ListRoles', 'ListUsers', 'PutGroupPolicy', 'PutRolePolicy', 'PutUserPolicy', 'RunInstances', 'SetDefaultPolicyVersion', 'StopConfigurationRecorder', 'UpdateAssumeRolePolicy', 'UpdateDetector', 'UpdateLoginProfile') AND eventtime >= '2026-10-22T00:00:00Z')) AS "_whole",
    date_trunc('hour', from_iso8601_timestamp(eventtime)) AS "_hour",
    eventtime,
    eventid
  FROM "security"."cloudtrail_logs"
  WHERE "timestamp" >= '2026/09/23'
    AND "timestamp" <= '2026/10/24'
    AND eventtime >= '2026-09-24T00:00:00Z'
    AND eventtime < '2026-10-24T00:00:00Z'
)
SELECT
  GROUPING("_whole") AS "_set",
  "_whole",
  "userIdentity.type", "userIdentity.arn", "userIdentity.userName", "userIdentity.principalId", "userIdentity.accountId", "userIdentity.invokedBy", "eventName", "eventSource", "awsRegion", "sourceIPAddress", "userAgent", "errorCode", "userIdentity.accessKeyId", "sessionCredentialFromConsole",
  "_by",
  "_hour",
  min(eventtime) AS "eventTime",
  max(eventtime) AS "lastTime",
  count(*) AS "calls",
  min_by(eventid, eventtime) AS "eventID"
FROM rows
GROUP BY GROUPING SETS (("_whole", "userIdentity.type", "userIdentity.arn", "userIdentity.userName", "userIdentity.principalId", "userIdentity.accountId", "userIdentity.invokedBy", "eventName", "eventSource", "awsRegion", "sourceIPAddress", "userAgent", "errorCode", "userIdentity.accessKeyId", "sessionCredentialFromConsole"), ("_by", "_hour"))'''


def test_login_spec_athena_golden():
    assert athena_sql(LOGIN_HISTORY, CloudTrailTable("security", "cloudtrail_logs"), START, END) == LOGIN_ATHENA
