"""``cwlogs://LOG_GROUP[?region=R&profile=P&mode=auto&...]``: the CloudWatch Logs log group a trail delivers to.

A trail that sends its events to CloudWatch Logs (``aws cloudtrail describe-trails``: ``CloudWatchLogsLogGroupArn``)
writes each event as one log event whose message is the record. Two ways to read them, with their limits:

- ``mode=filter``: ``FilterLogEvents``, paginated (``nextToken``), up to 10,000 events or 1 MB a page, at most
  ``max_pages`` pages (default 1,000) and ``max_events`` events (default 1,000,000); AWS allows about 5 calls a
  second per account and region (the client's adaptive retries slow down when throttled). The query's event names,
  sources, regions and accounts are pushed down as a JSON filter pattern (:data:`FILTER_FIELDS`, at most 1,024
  characters; what does not fit is filtered locally, as everything is anyway).
- ``mode=insights``: Logs Insights (``StartQuery`` / ``GetQueryResults``), for large windows: one query returns at
  most ``insights_limit`` rows (default 10,000), so a window whose query fills that is split in halves and each
  queried again, at most ``max_queries`` queries (default 200); a query may run ``timeout`` seconds (default 900;
  AWS stops one at 60 minutes), one at a time (AWS allows 30 at once per account). Insights bills the data it
  scans ($0.005 per GB): the load notes give the bytes scanned and the cost.
- ``mode=auto`` (the default): FilterLogEvents for a window of up to a day, Logs Insights beyond.

A start time is required (a log group holds what its retention kept). What was fetched is written as one
``filter-log-events`` document under the cache root and read by the same reader as a file of that format.
"""
from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import UTC, datetime, timedelta

from trailtools.aws.errors import AWS_ERRORS, call
from trailtools.aws.session import client as make_client
from trailtools.errors import SourceError
from trailtools.events import cache
from trailtools.events.query import Query
from trailtools.events.result import LoadOptions, LoadResult
from trailtools.events.stats import LoadStats
from trailtools.sources.files import read_files, write_cache_file
from trailtools.sources.uri import int_option, split_uri

#: What this source calls (docs/iam-policy.json must allow them).
IAM_ACTIONS = ("logs:FilterLogEvents", "logs:StartQuery", "logs:GetQueryResults")
PAGE_EVENTS = 10_000
INSIGHTS_AFTER = timedelta(days=1)
INSIGHTS_LIMIT = 10_000
PRICE_PER_GB = 0.005
POLL_FIRST, POLL_MAX = 0.5, 5.0
MAX_PATTERN = 1024
#: the query's fields -> the JSON path of a filter pattern and the field name of Logs Insights (the mapping, as data)
FILTER_FIELDS = {"event_names": "eventName", "event_sources": "eventSource", "regions": "awsRegion",
                 "accounts": "recipientAccountId"}
_PLAIN = re.compile(r"^[A-Za-z0-9._:/@+-]{1,128}$")
_GROUP = re.compile(r"^[A-Za-z0-9._/#-]{1,512}$")


def _values(query: Query, attr: str) -> list[str] | None:
    """The query's values for one field, or None when one cannot be written safely in a pattern (then the field
    is not pushed down)."""
    values = list(getattr(query, attr) or ())
    if not values or not all(_PLAIN.match(v) for v in values):
        return None
    return values


def filter_pattern(query: Query) -> str | None:
    """The JSON filter pattern for FilterLogEvents (``{ ($.eventName = "A" || $.eventName = "B") && ... }``), or
    None; fields are added in :data:`FILTER_FIELDS`' order while the pattern stays within 1,024 characters."""
    parts: list[str] = []
    for attr, name in FILTER_FIELDS.items():
        values = _values(query, attr)
        if values is None:
            continue
        part = "(" + " || ".join(f'$.{name} = "{v}"' for v in values) + ")"
        if len("{ " + " && ".join(parts + [part]) + " }") > MAX_PATTERN:
            continue
        parts.append(part)
    return "{ " + " && ".join(parts) + " }" if parts else None


def insights_query(query: Query, limit: int) -> str:
    """The Logs Insights query: the records' messages in time order, filtered by the same fields."""
    lines = ["fields @timestamp, @message, @logStream"]
    for attr, name in FILTER_FIELDS.items():
        values = _values(query, attr)
        if values is not None:
            lines.append(f"filter {name} in [{', '.join(json.dumps(v) for v in values)}]")
    lines += ["sort @timestamp asc", f"limit {limit}"]
    return "\n| ".join(lines)


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


class Fetch:
    """What was fetched, and what to say of it."""

    def __init__(self):
        self.events: list[dict] = []
        self.notes: list[str] = []
        self.calls = 0
        self.scanned = 0


def filter_events(client, group: str, start: datetime, end: datetime, query: Query, *, max_pages: int,
                  max_events: int) -> Fetch:
    out = Fetch()
    params = {"logGroupName": group, "startTime": _ms(start), "endTime": _ms(end) - 1, "limit": PAGE_EVENTS}
    pattern = filter_pattern(query)
    if pattern:
        params["filterPattern"] = pattern
    while True:
        resp = call(client, "filter_log_events", **params)
        out.calls += 1
        for event in resp.get("events") or []:
            out.events.append({k: event.get(k) for k in ("timestamp", "message", "logStreamName", "eventId")})
            if len(out.events) >= max_events:
                out.notes.append(f"CloudWatch Logs had more than {max_events:,} events in the window: only those "
                                 "were read; narrow the query or raise max_events=")
                return out
        token = resp.get("nextToken")
        if not token:
            break
        if out.calls >= max_pages:
            out.notes.append(f"CloudWatch Logs had more than {max_pages:,} pages of events: only those were read; "
                             "narrow the query, raise max_pages= or use mode=insights")
            break
        params["nextToken"] = token
    out.notes.append(f"CloudWatch Logs FilterLogEvents on {group}: {len(out.events):,} events in {out.calls:,} "
                     f"pages" + (f" (filter pattern {pattern})" if pattern else ""))
    return out


class Insights:
    """Logs Insights queries, one at a time, each waited for; a window whose query fills ``limit`` is split."""

    def __init__(self, client, group: str, *, limit: int, max_queries: int, timeout: float, sleep=time.sleep,
                 clock=time.monotonic):
        self.client, self.group, self.limit, self.max_queries = client, group, limit, max_queries
        self.timeout, self.sleep, self.clock = timeout, sleep, clock

    def run(self, start: datetime, end: datetime, query: Query) -> Fetch:
        out = Fetch()
        todo = [(start, end)]
        text = insights_query(query, self.limit)
        while todo:
            s, e = todo.pop(0)
            if out.calls >= self.max_queries:
                out.notes.append(f"Logs Insights: {self.max_queries:,} queries run and the window not covered "
                                 f"(from {s:%Y-%m-%d %H:%M:%S} on, nothing was read); raise max_queries= or "
                                 "narrow the query")
                break
            rows, scanned = self._one(s, e, text)
            out.calls += 1
            out.scanned += scanned
            if len(rows) >= self.limit:
                if (e - s) > timedelta(seconds=2) and out.calls + len(todo) + 2 <= self.max_queries:
                    middle = s + (e - s) / 2
                    todo[:0] = [(s, middle), (middle, e)]  # the same window again, in halves: earlier half first
                    continue
                out.notes.append(f"Logs Insights: the query from {s:%Y-%m-%d %H:%M:%S} to {e:%Y-%m-%d %H:%M:%S} "
                                 f"returned its limit of {self.limit:,} events and could not be split further "
                                 "(max_queries=, or one second): only those were read")
            out.events.extend(rows)
        out.notes.append(f"CloudWatch Logs Insights on {self.group}: {len(out.events):,} events from {out.calls:,} "
                         f"queries, {out.scanned / 1024 ** 2:,.1f} MB scanned: about "
                         f"${out.scanned / 1024 ** 3 * PRICE_PER_GB:.4f} at $0.005 per GB")
        return out

    def _one(self, start: datetime, end: datetime, text: str) -> tuple[list[dict], int]:
        qid = call(self.client, "start_query", logGroupName=self.group, startTime=int(start.timestamp()),
                   endTime=max(int(start.timestamp()), int(end.timestamp()) - 1), queryString=text,
                   limit=self.limit)["queryId"]
        began, interval = self.clock(), POLL_FIRST
        while True:
            resp = call(self.client, "get_query_results", queryId=qid)
            status = resp.get("status")
            if status == "Complete":
                break
            if status in ("Failed", "Cancelled", "Timeout", "Unknown"):
                raise SourceError(f"The Logs Insights query {qid} on {self.group} ended {status}: narrow the time "
                                  "window, or use mode=filter.")
            if self.clock() - began > self.timeout:
                try:
                    self.client.stop_query(queryId=qid)
                except AWS_ERRORS:
                    pass
                raise SourceError(f"The Logs Insights query {qid} ran longer than {self.timeout:.0f} s and was "
                                  "stopped: narrow the time window or raise timeout= in the source URI.")
            self.sleep(interval)
            interval = min(POLL_MAX, interval * 1.5)
        rows = []
        for result in resp.get("results") or []:
            fields = {f.get("field"): f.get("value") for f in result if isinstance(f, dict)}
            rows.append({"timestamp": fields.get("@timestamp"), "message": fields.get("@message"),
                         "logStreamName": fields.get("@logStream")})
        return rows, int((resp.get("statistics") or {}).get("bytesScanned") or 0)


def load_cwlogs(uri: str, query: Query, options: LoadOptions, *, client=None, sleep=time.sleep) -> LoadResult:
    """Load a trail's events from its CloudWatch Logs log group. ``client`` and ``sleep`` are for tests."""
    started = time.perf_counter()
    group, opts = split_uri(uri, "cwlogs")
    if not _GROUP.match(group):
        raise SourceError(f"{uri!r}: name the log group right after cwlogs://, for example "
                          "cwlogs://aws-cloudtrail-logs-111122223333 (aws logs describe-log-groups).")
    if query.start is None:
        raise SourceError(f"{uri}: give a start time (--start): a log group is read for a time window.")
    mode = opts.get("mode", "auto")
    if mode not in ("auto", "filter", "insights"):
        raise SourceError(f"mode={mode!r} in {uri}: give filter, insights or auto.")
    start = query.start
    end = query.end or datetime.now(UTC)
    if mode == "auto":
        mode = "insights" if end - start > INSIGHTS_AFTER else "filter"
    client = client or make_client("logs", region=opts.get("region"), profile=opts.get("profile"))
    if mode == "filter":
        fetched = filter_events(client, group, start, end, query,
                                max_pages=int_option(opts, "max_pages", 1000, uri),
                                max_events=int_option(opts, "max_events", 1_000_000, uri))
    else:
        fetched = Insights(client, group, limit=min(int_option(opts, "insights_limit", INSIGHTS_LIMIT, uri), 10_000),
                           max_queries=int_option(opts, "max_queries", 200, uri),
                           timeout=int_option(opts, "timeout", 900, uri), sleep=sleep).run(start, end, query)
    stats = LoadStats(source=uri, query=query.describe())
    stats.notes.extend(fetched.notes)
    digest = hashlib.sha256(f"{uri}\0{start}\0{end}\0{time.time_ns()}".encode("utf-8", "surrogatepass")).hexdigest()
    out = cache.cache_root() / "cwlogs" / f"{digest}.json"
    write_cache_file(out, json.dumps({"events": fetched.events, "searchedLogStreams": []}, separators=(",", ":")))
    if not fetched.events:
        stats.elapsed_s = time.perf_counter() - started
        return read_files([], query, stats, options)
    result = read_files([([str(out)], False)], query, stats, options)
    stats.elapsed_s = time.perf_counter() - started
    return result
