"""``athena://[CATALOG.]DATABASE.TABLE?workgroup=W&output=s3://RESULTS/&...``: a CloudTrail table in Athena.

For accounts whose trail has outgrown one machine: Athena reads the bucket where it is, and only the rows of the
query come back. Parameters (all optional but the table):

- ``workgroup``: the Athena workgroup (default ``primary``);
- ``output``: where Athena writes results (``s3://BUCKET/PREFIX/``), unless the workgroup sets one;
- ``region``, ``profile``: where Athena is, and which credentials (else the standard chain);
- ``partitions``: the table's partition columns, as ``role:column`` pairs, default
  ``account:account,region:region,day:timestamp`` (the table :func:`~trailtools.sources.athena_sql.create_table_ddl`
  makes); ``partitions=day:timestamp`` for AWS's single-region table, ``partitions=none`` for a table without;
- ``create``: ``s3://TRAIL-BUCKET/AWSLogs/`` (or ``.../AWSLogs/o-ORGID/``) to create the table first if it does not
  exist (AWS's documented DDL with partition projection), with ``accounts=`` and ``regions=`` (comma-separated, the
  values projected) and optionally ``since=YYYY/MM/DD``;
- ``timeout``: seconds to wait for the query (default 900); ``max_rows`` (default 2,000,000).

The query spec is compiled to SQL (:mod:`trailtools.sources.athena_sql`, partition columns first in the WHERE clause),
started, polled (with a growing interval), and its results paged (``GetQueryResults``, 1,000 rows a page). The
rows are turned back into CloudTrail records, written as one ``{"Records": [...]}`` file per query under the cache
root, and parsed by the same reader as local files: the same events frame comes out. The load notes give the
query ID, the data Athena scanned and what that cost ($5 per TB, 10 MB minimum). Needs Athena engine version 3
(``CAST(row AS JSON)`` keeps the field names).

For an analysis that runs part of its work in Athena (the login investigation's compact baseline,
:mod:`trailtools.investigations.login.history_athena`): :func:`connect` opens the URI, :meth:`Connection.run` runs
any statement and notes its cost, and :func:`load_athena_union` reads the events of several queries as one frame.
"""
from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass

from trailtools.aws.errors import AWS_ERRORS, call
from trailtools.aws.session import client as make_client
from trailtools.errors import SourceError
from trailtools.events import cache
from trailtools.events.query import Query
from trailtools.events.result import LoadOptions, LoadResult
from trailtools.events.stats import LoadStats
from trailtools.sources.athena_sql import (
    DEFAULT_PARTITIONS,
    CloudTrailTable,
    compile_query,
    cost_usd,
    create_table_ddl,
    row_to_record,
)
from trailtools.sources.files import read_files, write_cache_file
from trailtools.sources.uri import int_option, uri_parts

#: What this source calls (docs/iam-policy.json must allow them). Athena reads the table's definition from Glue
#: and the trail from S3 with the caller's rights, and writes the results to the output location.
IAM_ACTIONS = ("athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
               "glue:GetDatabase", "glue:GetTable", "s3:GetBucketLocation", "s3:PutObject")
#: Only with ``create=``: defining the table.
IAM_ACTIONS_CREATE = ("glue:CreateTable",)
PAGE_ROWS = 1000
POLL_FIRST, POLL_MAX = 0.2, 5.0


def parse_table(name: str, uri: str) -> tuple[str | None, str, str]:
    parts = [p for p in name.split(".")]
    if len(parts) == 2 and all(parts):
        return None, parts[0], parts[1]
    if len(parts) == 3 and all(parts):
        return parts[0], parts[1], parts[2]
    raise SourceError(f"{uri!r}: name the table as athena://DATABASE.TABLE (or CATALOG.DATABASE.TABLE), for example "
                      "athena://security.cloudtrail_logs?workgroup=primary&output=s3://my-athena-results/.")


def parse_partitions(text: str | None, uri: str) -> dict[str, str]:
    if text is None:
        return dict(DEFAULT_PARTITIONS)
    if text.strip().lower() == "none":
        return {}
    out = {}
    for pair in text.split(","):
        role, _, column = pair.partition(":")
        if role.strip() not in DEFAULT_PARTITIONS or not column.strip():
            raise SourceError(f"partitions={text!r} in {uri}: give role:column pairs with roles account, region, "
                              "day (for example day:timestamp), or none.")
        out[role.strip()] = column.strip()
    return out


class Runner:
    """Start a statement, wait for it, page its results; every AWS failure becomes one sentence."""

    def __init__(self, client, *, workgroup: str, output: str | None, database: str, catalog: str | None,
                 timeout: float, sleep=time.sleep, clock=time.monotonic):
        self.client, self.workgroup, self.output = client, workgroup, output
        self.database, self.catalog = database, catalog
        self.timeout, self.sleep, self.clock = timeout, sleep, clock

    def _call(self, method: str, **params):
        return call(self.client, method, **params)

    def start(self, sql: str) -> str:
        params = {"QueryString": sql, "WorkGroup": self.workgroup,
                  "QueryExecutionContext": {"Database": self.database, **({"Catalog": self.catalog}
                                                                          if self.catalog else {})}}
        if self.output:
            params["ResultConfiguration"] = {"OutputLocation": self.output}
        return self._call("start_query_execution", **params)["QueryExecutionId"]

    def wait(self, qid: str) -> dict:
        started, interval = self.clock(), POLL_FIRST
        while True:
            ex = self._call("get_query_execution", QueryExecutionId=qid)["QueryExecution"]
            state = ex.get("Status", {}).get("State")
            if state == "SUCCEEDED":
                return ex
            if state in ("FAILED", "CANCELLED"):
                reason = (ex.get("Status", {}).get("StateChangeReason") or "no reason given").strip().rstrip(".")
                raise SourceError(f"The Athena query {qid} {state.lower()}: {reason}; check the table and the "
                                  "workgroup's output location.")
            if self.clock() - started > self.timeout:
                try:
                    self.client.stop_query_execution(QueryExecutionId=qid)
                except AWS_ERRORS:
                    pass
                raise SourceError(f"The Athena query {qid} ran longer than {self.timeout:.0f} s and was stopped: "
                                  "narrow the time window or raise timeout= in the source URI.")
            self.sleep(interval)
            interval = min(POLL_MAX, interval * 1.5)

    def rows(self, qid: str, max_rows: int) -> tuple[list[dict], bool]:
        """Every result row as {column: text or None}: (rows, truncated)."""
        out: list[dict] = []
        params = {"QueryExecutionId": qid, "MaxResults": PAGE_ROWS}
        columns = None
        first = True
        while True:
            resp = self._call("get_query_results", **params)
            rs = resp.get("ResultSet", {})
            if columns is None:
                columns = [c.get("Name", "").lower() for c in rs.get("ResultSetMetadata", {}).get("ColumnInfo", [])]
            for row in rs.get("Rows", []):
                values = [d.get("VarCharValue") for d in row.get("Data", [])]
                if first and [v.lower() if isinstance(v, str) else v for v in values] == columns:
                    first = False  # Athena's first row of a SELECT repeats the column names
                    continue
                first = False
                out.append(dict(zip(columns, values)))
                if len(out) >= max_rows:
                    return out, True
            token = resp.get("NextToken")
            if not token:
                return out, False
            params["NextToken"] = token


@dataclass
class Connection:
    """An ``athena://`` URI opened: its table, the runner of its statements, its options, the bytes scanned so far
    and the load notes (one per statement)."""

    uri: str
    table: CloudTrailTable
    runner: Runner
    opts: dict
    scanned: int = 0
    last_id: str = ""     # the query ID of the last statement run

    def run(self, sql: str, what: str, notes: list[str]) -> list[dict]:
        """Run ``sql``, page its rows (at most ``max_rows``), note what it scanned and cost; ``what`` names the rows
        in the note ("rows", "compact rows")."""
        qid = self.runner.start(sql)
        ex = self.runner.wait(qid)
        rows, truncated = self.runner.rows(qid, int_option(self.opts, "max_rows", 2_000_000, self.uri))
        scanned = int(ex.get("Statistics", {}).get("DataScannedInBytes") or 0)
        self.scanned += scanned
        notes.append(f"Athena query {qid} (workgroup {self.runner.workgroup}) scanned {scanned / 1024 ** 2:,.1f} MB: "
                     f"about ${cost_usd(scanned):.4f} at $5 per TB (10 MB minimum); {len(rows):,} {what}")
        if truncated:
            notes.append(f"Athena returned more than {len(rows):,} rows: only those were read; narrow the query "
                         "or raise max_rows=")
        self.last_id = qid
        return rows


def connect(uri: str, *, client=None, sleep=time.sleep) -> Connection:
    """Open an ``athena://`` URI (bad options are one sentence). ``client`` and ``sleep`` are for tests."""
    netloc, path, opts = uri_parts(uri, "athena")
    if path:
        raise SourceError(f"{uri!r}: the table goes right after athena:// (athena://DATABASE.TABLE), no path.")
    catalog, database, table_name = parse_table(netloc, uri)
    table = CloudTrailTable(database, table_name, catalog, parse_partitions(opts.get("partitions"), uri))
    output = opts.get("output")
    if output and not output.startswith("s3://"):
        raise SourceError(f"output={output!r} in {uri}: give the S3 location for Athena's results, s3://BUCKET/PREFIX/.")
    client = client or make_client("athena", region=opts.get("region"), profile=opts.get("profile"))
    runner = Runner(client, workgroup=opts.get("workgroup", "primary"), output=output, database=database,
                    catalog=catalog, timeout=int_option(opts, "timeout", 900, uri), sleep=sleep)
    return Connection(uri, table, runner, opts)


def create_if_asked(conn: Connection, query: Query, stats: LoadStats) -> None:
    """With ``create=``: define the table first if it does not exist (AWS's DDL with partition projection)."""
    opts, table, uri = conn.opts, conn.table, conn.uri
    if not opts.get("create"):
        return
    accounts = [a for a in opts.get("accounts", ",".join(query.accounts)).split(",") if a]
    regions = [r for r in opts.get("regions", ",".join(query.regions)).split(",") if r]
    if set(table.partitions) != set(DEFAULT_PARTITIONS) or not accounts or not regions:
        raise SourceError(f"{uri}: to create the table give accounts= and regions= (the values to project), "
                          "and keep the default partitions.")
    ddl = create_table_ddl(table, opts["create"], accounts=accounts, regions=regions,
                           since=opts.get("since", "2020/01/01"))
    ex = conn.runner.wait(conn.runner.start(ddl))
    conn.scanned += int(ex.get("Statistics", {}).get("DataScannedInBytes") or 0)
    stats.notes.append(f"Athena: table {table.name} created if it did not exist, over {opts['create']}")


def load_athena(uri: str, query: Query, options: LoadOptions, *, client=None, sleep=time.sleep) -> LoadResult:
    """Load events from an Athena CloudTrail table. ``client`` and ``sleep`` are for tests."""
    return load_athena_union(uri, [query], query, options, client=client, sleep=sleep)


def load_athena_union(uri: str, queries: list[Query], query: Query, options: LoadOptions, *, client=None,
                      sleep=time.sleep, conn: Connection | None = None) -> LoadResult:
    """The events of every query of ``queries`` (one statement each, the records written to one file) read as one
    frame by ``query`` (which must cover them all): e.g. a window whole and the rows of a baseline an analysis
    needs whole. ``conn``: an open :func:`connect` (its notes and bytes scanned carry on)."""
    started = time.perf_counter()
    conn = conn or connect(uri, client=client, sleep=sleep)
    stats = LoadStats(source=uri, query=query.describe())
    create_if_asked(conn, query, stats)
    records, ids = [], []
    for q in queries:
        records += [row_to_record(r) for r in conn.run(compile_query(q, conn.table), "rows", stats.notes)]
        ids.append(conn.last_id)
    # the query ID comes from the endpoint's answer: a name only when it looks like Athena's, else its hash
    qid = "-".join(ids)
    name = qid if re.fullmatch(r"[A-Za-z0-9-]{1,128}", str(qid)) else hashlib.sha256(str(qid).encode(
        "utf-8", "surrogatepass")).hexdigest()
    out = cache.cache_root() / "athena" / f"{name}.json"
    write_cache_file(out, json.dumps({"Records": records}, separators=(",", ":")))
    result = read_files([([str(out)], False)], query, stats, options)
    stats.elapsed_s = time.perf_counter() - started
    return result
