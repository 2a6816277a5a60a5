"""The login investigation's compact engine on ``athena://`` (issue 21): the baseline compacted by Athena, the window
and the rows the checks read whole fetched by the Athena loader, the same answers as the memory engine.

Athena is botocore's Stubber: each statement is checked word for word, and answered with rows shaped as
GetQueryResults gives them (``ResultSet.Rows[].Data[].VarCharValue``, the header row first, NULL as ``{}``, pages of
1,000 with ``NextToken``). The compact statement's rows are computed by running its exact text in DuckDB, standing
in for Trino (two macros for the functions DuckDB names otherwise), over the records as AWS's CloudTrail table holds
them; the other statements' rows are the records of their query. The records: two days of the demo account (its
stolen workload credentials and backdoor login) and the four days before them.
"""
import json
from datetime import datetime

import boto3
import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from botocore.stub import Stubber
from test_athena_sql import athena_row
from test_login_engines import _answer

from trailtools import load_events
from trailtools.events.query import Query
from trailtools.events.result import raw_records
from trailtools.investigations.login.gather import investigate
from trailtools.investigations.login.history import LOGIN_HISTORY, RECENT_HOURS
from trailtools.investigations.login.history_athena import compact_frames
from trailtools.sources import athena
from trailtools.sources.athena_sql import COLUMNS, CloudTrailTable, compile_query
from trailtools.sources.compact import athena_sql

START, END, DAYS = "2026-10-13T00:00:00Z", "2026-10-15T00:00:00Z", 4
URI = "athena://security.cloudtrail_logs?workgroup=forensics&output=s3://athena-results/login/"
TABLE = CloudTrailTable("security", "cloudtrail_logs")
IDENTITY = ("type", "principalid", "arn", "accountid", "invokedby", "accesskeyid", "username")
TEXT = ("eventtime", "eventsource", "eventname", "awsregion", "sourceipaddress", "useragent", "errorcode",
        "recipientaccountid", "sessioncredentialfromconsole", "eventid")


@pytest.fixture(scope="module")
def records() -> list[dict]:
    first = pd.Timestamp(START, tz="UTC") - pd.Timedelta(days=DAYS)
    res = load_events("demo", Query(start=first.to_pydatetime(), end=END))
    return [rec for _, rec in raw_records(res.frame)]


def _text(value) -> str | None:
    """A value as Athena's text: booleans and numbers as Trino prints them, a timestamp with its zone."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.000 UTC")
    return str(value)


def _compact_rows(sql: str, records: list[dict]) -> tuple[list[str], list[dict]]:
    """The compact statement run in DuckDB over the records as the CloudTrail table's columns (and its day
    partition, ``timestamp``)."""
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'; CREATE SCHEMA security")
    con.execute("CREATE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)")
    con.execute("CREATE MACRO regexp_like(s, p) AS regexp_matches(s, p)")
    cols: dict[str, list] = {"useridentity": [], **{c: [] for c in TEXT}, "timestamp": []}
    for rec in records:
        row = athena_row(rec)
        who = json.loads(row["useridentity"]) if row["useridentity"] else {}
        cols["useridentity"].append({k: who.get(k) for k in IDENTITY})
        for c in TEXT:
            cols[c].append(row[c])
        cols["timestamp"].append(rec["eventTime"][:10].replace("-", "/"))
    ident = pa.struct([(k, pa.string()) for k in IDENTITY])
    table = pa.table({k: pa.array(v, ident if k == "useridentity" else pa.string()) for k, v in cols.items()})
    con.register("_records", table)
    con.execute("CREATE TABLE security.cloudtrail_logs AS SELECT * FROM _records")
    cur = con.execute(sql)
    names = [d[0].lower() for d in cur.description]   # Athena gives the names in lower case
    out = [dict(zip(names, (_text(v) for v in r))) for r in cur.fetchall()]
    con.close()
    return names, out


def _pages(names: list[str], rows: list[dict], qid: str) -> list[tuple[dict, dict]]:
    """GetQueryResults' answers (and the parameters each is asked with): the header row first, 1,000 rows a page."""
    data = [{"Data": [{"VarCharValue": n} for n in names]}]
    data += [{"Data": [({"VarCharValue": r[n]} if r[n] is not None else {}) for n in names]} for r in rows]
    info = [{"Name": n, "Label": n, "Type": "varchar"} for n in names]
    pages = [data[i:i + athena.PAGE_ROWS] for i in range(0, len(data), athena.PAGE_ROWS)]
    out = []
    for i, page in enumerate(pages):
        resp = {"ResultSet": {"Rows": page, "ResultSetMetadata": {"ColumnInfo": info}}}
        if i + 1 < len(pages):
            resp["NextToken"] = f"{qid}-p{i + 2}"
        params = {"QueryExecutionId": qid, "MaxResults": athena.PAGE_ROWS}
        if i:
            params["NextToken"] = f"{qid}-p{i + 1}"
        out.append((resp, params))
    return out


def _statements(records: list[dict]) -> list[tuple[str, list[str], list[dict], int]]:
    """What the compact engine must ask, in order, and what Athena answers: (SQL, columns, rows, bytes scanned)."""
    start, end = pd.Timestamp(START, tz="UTC").to_pydatetime(), pd.Timestamp(END, tz="UTC").to_pydatetime()
    first = start - pd.Timedelta(days=DAYS)
    since = start - pd.Timedelta(hours=RECENT_HOURS)

    def select(q: Query) -> tuple[str, list[str], list[dict], int]:
        lo, hi = q.start.strftime("%Y-%m-%dT%H:%M:%SZ"), q.end.strftime("%Y-%m-%dT%H:%M:%SZ")
        rows = [athena_row(r) for r in records if lo <= r["eventTime"] < hi
                and (not q.event_names or r["eventName"] in q.event_names)]
        return compile_query(q, TABLE), list(COLUMNS), rows, 2 * 1024 ** 2

    out = [select(Query(start=start, end=end)),
           select(Query(start=first, end=start, event_names=list(LOGIN_HISTORY.whole_events))),
           select(Query(start=since, end=start, event_names=list(LOGIN_HISTORY.recent_events)))]
    sql = athena_sql(LOGIN_HISTORY, TABLE, first, start)
    names, rows = _compact_rows(sql, [r for r in records if r["eventTime"] < START])
    return [*out, (sql, names, rows, 3 * 1024 ** 3)]


def _investigate(statements, monkeypatch):
    """The login investigation on ``URI``, Athena answering ``statements`` (and checking each word for word)."""
    client = boto3.client("athena", region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    monkeypatch.setattr(athena, "make_client", lambda *a, **k: client)
    with Stubber(client) as stub:
        for i, (sql, names, rows, scanned) in enumerate(statements):
            qid = f"0f1e2d3c-0000-4000-8000-00000000000{i}"
            stub.add_response("start_query_execution", {"QueryExecutionId": qid},
                              {"QueryString": sql, "WorkGroup": "forensics",
                               "QueryExecutionContext": {"Database": "security"},
                               "ResultConfiguration": {"OutputLocation": "s3://athena-results/login/"}})
            stub.add_response("get_query_execution", {"QueryExecution": {
                "QueryExecutionId": qid, "Status": {"State": "SUCCEEDED"},
                "Statistics": {"DataScannedInBytes": scanned}}}, {"QueryExecutionId": qid})
            for resp, params in _pages(names, rows, qid):
                stub.add_response("get_query_results", resp, params)
        inv = investigate(source=URI, start=START, end=END, baseline_days=DAYS)
        stub.assert_no_pending_responses()
    return inv


def test_compact_in_athena_same_answers_as_memory(records, tmp_path, monkeypatch):
    statements = _statements(records)
    inv = _investigate(statements, monkeypatch)
    assert inv.engine == "duckdb"       # athena:// takes the compact engine by default
    assert len(statements[0][2]) > 1000 and len(statements[3][2]) > 100   # pages, and something compacted
    # the same records, read whole from a file by the memory engine
    trail = tmp_path / "same.json"
    trail.write_text(json.dumps({"Records": records}))
    mem = investigate(source=str(trail), start=START, end=END, baseline_days=DAYS, engine="memory")
    assert _answer(inv) == _answer(mem)
    assert {f.check for f in mem.findings} >= {"credential-access.workload-credentials-stolen",
                                               "sequences.backdoor-login"}
    for name in ("sessions", "credentials", "signins", "follow_ups"):
        pd.testing.assert_frame_equal(getattr(inv.analysis, name), getattr(mem.analysis, name))
    assert inv.coverage.to_dict() == mem.coverage.to_dict()
    # Athena's bill: what each statement scanned, the compact one with the baseline's compact rows
    notes = inv.load_stats["notes"]
    assert any("scanned 3,072.0 MB: about $0.0146 at $5 per TB" in n and "compact rows (the baseline)" in n
               for n in notes)
    assert sum("Athena query 0f1e2d3c" in n for n in notes) == 4
    assert inv.load_stats["events"] == mem.load_stats["events"] == len(records)
    assert len(inv.events) < len(mem.events)
    assert any(n.startswith("Engine duckdb (the baseline compacted by Athena):") for n in inv.analysis.notes)


def test_nothing_in_athena(monkeypatch):
    """A window and a baseline where the table has nothing: every statement answers its header row only, and the
    investigation says so as the memory engine does."""
    inv = _investigate(_statements([]), monkeypatch)
    assert inv.engine == "duckdb" and inv.findings == [] and inv.load_stats["events"] == 0
    assert inv.signins_in_window() == 0 and len(inv.events) == 0


def test_compact_rows_from_athena_text():
    """Athena groups by what ``actor`` is derived from: rows that end as one actor and the same features are one,
    with the first time and its eventID, the last time and the sum of calls; the hourly counts beside them."""
    base = {"useridentity.type": "AssumedRole", "useridentity.username": None, "useridentity.accountid": "1",
            "useridentity.invokedby": None, "useridentity.accesskeyid": None, "eventname": "GetObject",
            "eventsource": "s3.amazonaws.com", "awsregion": "us-east-1", "sourceipaddress": "10.0.0.1",
            "useragent": "Boto3/1.34", "errorcode": None, "sessioncredentialfromconsole": None,
            "useridentity.arn": "arn:aws:sts::1:assumed-role/app/i-1", "_by": None, "_hour": None}
    rows = [{**base, "_set": "0", "_whole": "false", "useridentity.principalid": "AROA:i-1",
             "eventtime": "2026-10-02T05:00:00Z", "lasttime": "2026-10-03T05:00:00Z", "calls": "3", "eventid": "b"},
            {**base, "_set": "0", "_whole": "false", "useridentity.principalid": "AROA:i-1x",
             "eventtime": "2026-10-01T05:00:00Z", "lasttime": "2026-10-01T06:00:00Z", "calls": "2", "eventid": "a"},
            {**base, "_set": "0", "_whole": "true", "useridentity.principalid": "AROA:i-1",
             "eventtime": "2026-10-01T01:00:00Z", "lasttime": "2026-10-01T01:00:00Z", "calls": "1", "eventid": "w"},
            {**{k: None for k in base}, "_set": "1", "_whole": None, "_by": "111122223333",
             "_hour": "2026-10-01 05:00:00.000 UTC", "eventtime": "2026-10-01T05:00:00Z",
             "lasttime": "2026-10-01T05:59:00Z", "calls": "7", "eventid": "a"}]
    compact, hourly = compact_frames(rows)
    assert len(compact) == 1
    row = compact.iloc[0]
    assert row["actor"] == "app/i-1" and row["eventID"] == "a" and row["calls"] == 5
    assert row["eventTime"] == pd.Timestamp("2026-10-01T05:00:00Z")
    assert row["lastTime"] == pd.Timestamp("2026-10-03T05:00:00Z")
    assert list(compact.columns) == [*LOGIN_HISTORY.keys, "eventTime", "lastTime", "calls", "eventID"]
    assert hourly.to_dict("records") == [{"recipientAccountId": "111122223333",
                                          "eventTime": pd.Timestamp("2026-10-01T05:00:00Z"), "calls": 7}]
