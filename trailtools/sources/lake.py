"""``lake://EVENT_DATA_STORE[?region=R&profile=P&timeout=900&max_rows=1000000]``: a CloudTrail Lake event data store.

``EVENT_DATA_STORE`` is the store's ID or ARN (``aws cloudtrail list-event-data-stores``). The query spec is
compiled to SQL (:mod:`trailtools.sources.lake_sql`: ``eventTime`` first, the field mapping as data), started with
``StartQuery``, polled with ``DescribeQuery`` (a growing interval, at most ``timeout`` seconds, then the query is
cancelled), and its rows paged with ``GetQueryResults`` (1,000 rows a page, at most ``max_rows`` rows). The rows are
turned back into CloudTrail records, written as one ``{"Records": [...]}`` file under the cache root, and parsed by
the same reader as local files. The load notes give the query ID, the bytes Lake scanned and their cost ($0.005 per
GB scanned). Lake answers for the events its store kept (up to 10 years), in the store's own region.
"""
from __future__ import annotations

import hashlib
import json
import time

from trailtools.aws.errors import AWS_ERRORS, call
from trailtools.aws.session import client as make_client
from trailtools.errors import SourceError
from trailtools.events import cache
from trailtools.events.query import Query
from trailtools.events.result import LoadOptions, LoadResult
from trailtools.events.stats import LoadStats
from trailtools.sources.files import read_files, write_cache_file
from trailtools.sources.lake_sql import compile_query, cost_usd, row_to_record, store_id
from trailtools.sources.uri import int_option, split_uri

#: What this source calls (docs/iam-policy.json must allow them).
IAM_ACTIONS = ("cloudtrail:StartQuery", "cloudtrail:DescribeQuery", "cloudtrail:GetQueryResults")
PAGE_ROWS = 1000
POLL_FIRST, POLL_MAX = 0.5, 5.0
DONE, FAILED = "FINISHED", ("FAILED", "CANCELLED", "TIMED_OUT")


def _region_of(name: str) -> str | None:
    parts = name.split(":")
    return parts[3] if name.startswith("arn:") and len(parts) > 4 and parts[3] else None


class LakeRunner:
    """Start a query, wait for it, page its rows; every AWS failure is one sentence (trailtools/aws/errors.py)."""

    def __init__(self, client, *, timeout: float, sleep=time.sleep, clock=time.monotonic):
        self.client, self.timeout, self.sleep, self.clock = client, timeout, sleep, clock

    def start(self, sql: str) -> str:
        return call(self.client, "start_query", QueryStatement=sql)["QueryId"]

    def wait(self, qid: str) -> dict:
        started, interval = self.clock(), POLL_FIRST
        while True:
            resp = call(self.client, "describe_query", QueryId=qid)
            state = resp.get("QueryStatus")
            if state == DONE:
                return resp
            if state in FAILED:
                reason = (resp.get("ErrorMessage") or "no reason given").strip().rstrip(".")
                raise SourceError(f"The CloudTrail Lake query {qid} ended {state}: {reason}; check the event data "
                                  "store and the time window.")
            if self.clock() - started > self.timeout:
                try:
                    self.client.cancel_query(QueryId=qid)
                except AWS_ERRORS:
                    pass
                raise SourceError(f"The CloudTrail Lake query {qid} ran longer than {self.timeout:.0f} s and was "
                                  "cancelled: narrow the time window or raise timeout= in the source URI.")
            self.sleep(interval)
            interval = min(POLL_MAX, interval * 1.5)

    def rows(self, qid: str, max_rows: int) -> tuple[list, bool, dict]:
        """Every result row: (rows, truncated, the last page's QueryStatistics)."""
        out: list = []
        params = {"QueryId": qid, "MaxQueryResults": PAGE_ROWS}
        while True:
            resp = call(self.client, "get_query_results", **params)
            for row in resp.get("QueryResultRows") or []:
                out.append(row)
                if len(out) >= max_rows:
                    return out, True, resp.get("QueryStatistics") or {}
            token = resp.get("NextToken")
            if not token:
                return out, False, resp.get("QueryStatistics") or {}
            params["NextToken"] = token


def load_lake(uri: str, query: Query, options: LoadOptions, *, client=None, sleep=time.sleep) -> LoadResult:
    """Load events from a CloudTrail Lake event data store. ``client`` and ``sleep`` are for tests."""
    started = time.perf_counter()
    name, opts = split_uri(uri, "lake")
    store = store_id(name)
    if store is None:
        raise SourceError(f"{uri!r}: name the event data store by its ID or ARN, for example "
                          "lake://EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE (aws cloudtrail list-event-data-stores).")
    if query.start is None:
        raise SourceError(f"{uri}: give a start time (--start): CloudTrail Lake bills every byte a query scans, and "
                          "a query without a time window scans the whole event data store.")
    client = client or make_client("cloudtrail", region=opts.get("region") or _region_of(name),
                                   profile=opts.get("profile"))
    runner = LakeRunner(client, timeout=int_option(opts, "timeout", 900, uri), sleep=sleep)
    sql = compile_query(query, store)
    qid = runner.start(sql)
    described = runner.wait(qid)
    rows, truncated, page_stats = runner.rows(qid, int_option(opts, "max_rows", 1_000_000, uri))
    scanned = int((described.get("QueryStatistics") or {}).get("BytesScanned") or page_stats.get("BytesScanned")
                  or 0)
    stats = LoadStats(source=uri, query=query.describe())
    stats.notes.append(f"CloudTrail Lake query {qid} over {store} scanned {scanned / 1024 ** 2:,.1f} MB: about "
                       f"${cost_usd(scanned):.4f} at $0.005 per GB; {len(rows):,} rows")
    if truncated:
        stats.notes.append(f"CloudTrail Lake returned more than {len(rows):,} rows: only those were read; narrow "
                           "the query or raise max_rows=")
    records = [row_to_record(r) if isinstance(r, list) else r for r in rows]
    digest = hashlib.sha256(f"{store}\0{qid}".encode("utf-8", "surrogatepass")).hexdigest()
    out = cache.cache_root() / "lake" / f"{digest}.json"
    write_cache_file(out, json.dumps({"Records": records}, separators=(",", ":")))
    result = read_files([([str(out)], False)], query, stats, options)
    stats.elapsed_s = time.perf_counter() - started
    return result
