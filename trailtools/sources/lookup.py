"""``lookup://[REGION[,REGION...]][?profile=NAME&chunk_hours=24&max_pages=200]``: CloudTrail LookupEvents.

No trail needed: LookupEvents answers for the last 90 days of management events, per region. Its limits shape
everything here:

- **2 requests a second per account and region**: every request first takes a token from that region's
  :class:`~trailtools.aws.ratelimit.TokenBucket`; a ``ThrottlingException`` halves the bucket's rate and the call
  is retried (at most :data:`MAX_THROTTLE_RETRIES` times), so the pace adapts instead of sleeping after errors.
- **50 events a page** (``MaxResults=50``), followed by ``NextToken`` up to ``max_pages`` pages a window (a window
  that has more says so in the load notes).
- **one lookup attribute a call**: :func:`choose_attributes` picks the most selective the query offers (an access
  key, then the resource, then event names, then the user name, then event sources: one call per value); the
  rest of the query is applied to the frame exactly as for files.
- **IAM, STS and console sign-in events are recorded in us-east-1 only**: when the regions asked for leave
  us-east-1 out (and the query does not restrict regions), those services' events are fetched from us-east-1 too.
- **90 days**: the part of a window older than that is not searched, and the load notes say so; a window wholly
  older is an error that points to ``s3://`` and ``athena://``.

The window is split into chunks (``chunk_hours``, default a day), one progress step each. The ``CloudTrailEvent``
strings of each chunk are written verbatim as a ``{"Records": [...]}`` file under the cache root and parsed by
the same reader as local files, so the same events frame comes out and ``raw()`` works;
a chunk that ended more than an hour ago is reused from there on the next run.

Regions: those in the URI, else the query's, else the profile's default region.
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
from botocore import exceptions as bx

from trailtools.aws.errors import AWS_ERRORS, THROTTLED, AwsDataUnavailable
from trailtools.aws.ratelimit import TokenBucket, bucket_for
from trailtools.aws.session import client as make_client
from trailtools.aws.session import explain
from trailtools.aws.session import session as make_session
from trailtools.errors import SourceError
from trailtools.events import cache
from trailtools.events.query import Query
from trailtools.events.result import LoadOptions, LoadResult
from trailtools.events.stats import LoadStats
from trailtools.progress import Progress
from trailtools.sources.files import read_files, write_cache_file
from trailtools.sources.uri import int_option, uri_parts
from trailtools.terminal import echo

#: What this source calls (docs/iam-policy.json must allow them).
IAM_ACTIONS = ("cloudtrail:LookupEvents",)
HORIZON = timedelta(days=90)
PAGE_SIZE = 50
RATE_PER_SECOND = 2.0
MAX_THROTTLE_RETRIES = 6
MAX_PAGES = 200
#: A chunk whose end is older than this is complete (events reach LookupEvents within minutes) and is cached.
SETTLED = timedelta(hours=1)
GLOBAL_REGION = "us-east-1"
GLOBAL_SOURCES = ("iam.amazonaws.com", "sts.amazonaws.com", "signin.amazonaws.com")
#: More values than this for one attribute are not worth one call each: the next attribute is tried.
MAX_VALUES = 5
_ACCESS_KEY = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{12,}$")


def choose_attributes(query: Query) -> list[dict | None]:
    """The LookupAttributes to send, one call each: the most selective single attribute the query allows.

    ``[None]`` when the query offers none (the time range alone is pushed down).
    """
    principal = query.principal
    if principal and _ACCESS_KEY.match(principal):
        return [{"AttributeKey": "AccessKeyId", "AttributeValue": principal}]
    if query.resource:
        return [{"AttributeKey": "ResourceName", "AttributeValue": query.resource}]
    if query.event_names and len(query.event_names) <= MAX_VALUES:
        return [{"AttributeKey": "EventName", "AttributeValue": n} for n in query.event_names]
    if principal:
        # an ARN's last part is the user name, or an assumed role's session name: what LookupEvents calls Username
        name = principal.rsplit("/", 1)[-1] if principal.startswith("arn:") else principal
        return [{"AttributeKey": "Username", "AttributeValue": name}]
    if query.event_sources and len(query.event_sources) <= MAX_VALUES:
        return [{"AttributeKey": "EventSource", "AttributeValue": s} for s in query.event_sources]
    return [None]


def windows(start: datetime, end: datetime, step: timedelta) -> list[tuple[datetime, datetime]]:
    """[start, end) in pieces whose boundaries are multiples of ``step`` since the epoch (UTC midnights for a
    day), so that the same settled piece, and its cache entry, comes back whatever the window around it."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    out, t = [], start
    while t < end:
        boundary = epoch + ((t - epoch) // step + 1) * step
        out.append((t, min(end, boundary)))
        t = boundary
    return out


@dataclass
class Call:
    """One LookupEvents search: a region, an attribute (or none), a time window; ``only`` keeps these sources."""

    region: str
    attribute: dict | None
    start: datetime
    end: datetime
    only: tuple[str, ...] = ()


@dataclass
class Fetched:
    path: Path
    events: int
    requests: int
    truncated: bool
    cached: bool


@dataclass
class Plan:
    calls: list[Call] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def plan(query: Query, regions: list[str], *, now: datetime, chunk: timedelta = timedelta(days=1)) -> Plan:
    """Which calls to make for a query: regions x attributes x time chunks, clipped to the 90-day horizon."""
    p = Plan()
    horizon = now - HORIZON
    end = min(query.end or now, now)
    start = query.start or horizon
    if end <= horizon:
        raise SourceError(
            f"LookupEvents keeps only the last 90 days (since {horizon:%Y-%m-%d %H:%MZ}) and the whole window "
            f"ends before that: read the trail bucket (s3://BUCKET) or an Athena table (athena://) instead.")
    if start < horizon:
        p.notes.append(
            f"LookupEvents keeps only the last 90 days: the window before {horizon:%Y-%m-%dT%H:%MZ} was not "
            f"searched (asked from {start:%Y-%m-%dT%H:%MZ}); read the trail bucket (s3://) or Athena for older events.")
        start = horizon
    attrs = choose_attributes(query)
    chunks = windows(start, end, chunk)
    for region in regions:
        for attr in attrs:
            p.calls += [Call(region, attr, a, b) for a, b in chunks]
    if not query.regions and GLOBAL_REGION not in regions:
        # IAM, STS and sign-in events are only in us-east-1
        if attrs == [None]:
            globals_ = [({"AttributeKey": "EventSource", "AttributeValue": s}, ()) for s in GLOBAL_SOURCES]
        else:
            globals_ = [(a, GLOBAL_SOURCES) for a in attrs]
        for attr, only in globals_:
            p.calls += [Call(GLOBAL_REGION, attr, a, b, only) for a, b in chunks]
        p.notes.append("IAM, STS and console sign-in events were also read from us-east-1, where CloudTrail "
                       "records them")
    return p


def _cache_path(identity: str, call: Call) -> Path:
    key = json.dumps([identity, call.region, call.attribute, call.start.isoformat(), call.end.isoformat(),
                      call.only], sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()
    return cache.cache_root() / "lookup" / call.region / f"{call.start:%Y%m%dT%H%M}-{digest[:20]}.json"


def fetch(client, call: Call, bucket: TokenBucket, *, max_pages: int = MAX_PAGES) -> tuple[list[dict], int, bool]:
    """Every page of one call, paced by ``bucket``: (events, requests made, truncated)."""
    params = {"StartTime": call.start, "EndTime": call.end, "MaxResults": PAGE_SIZE}
    if call.attribute:
        params["LookupAttributes"] = [call.attribute]
    events: list[dict] = []
    requests = 0
    for _ in range(max_pages):
        throttles = 0
        while True:
            bucket.acquire()
            requests += 1
            try:
                resp = client.lookup_events(**params)
            except bx.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in THROTTLED and throttles < MAX_THROTTLE_RETRIES:
                    throttles += 1
                    bucket.throttled()
                    continue
                raise explain(exc, "cloudtrail", "LookupEvents", region=call.region) from exc
            except AWS_ERRORS as exc:
                raise explain(exc, "cloudtrail", "LookupEvents", region=call.region) from exc
            bucket.succeeded()
            break
        page = resp.get("Events") or []
        if call.only:
            page = [e for e in page if e.get("EventSource") in call.only]
        events += page
        token = resp.get("NextToken")
        if not token:
            return events, requests, False
        params["NextToken"] = token
    return events, requests, True


def _is_object(text) -> bool:
    if not isinstance(text, str):
        return False
    try:
        return isinstance(msgspec.json.decode(text), dict)
    except msgspec.DecodeError:
        return False


def _records_document(events: list[dict]) -> str:
    """The entries' ``CloudTrailEvent`` strings, verbatim, as a ``{"Records": [...]}`` file: the reader then sees
    exactly the bytes AWS sent, as it does for a trail's own files. An entry without one is kept as a LookupEvents
    entry, so that the reader counts it as skipped with its reason."""
    good = [e["CloudTrailEvent"] for e in events if _is_object(e.get("CloudTrailEvent"))]
    if len(good) == len(events):
        return '{"Records":[' + ",".join(good) + "]}"
    return json.dumps({"Events": [{k: v for k, v in e.items() if k != "EventTime"} for e in events]})


def run_call(client, call: Call, bucket: TokenBucket, identity: str, *, now: datetime,
             max_pages: int = MAX_PAGES) -> Fetched:
    path = _cache_path(identity, call)
    settled = call.end <= now - SETTLED
    if settled and path.is_file():
        return Fetched(path, -1, 0, False, True)
    events, requests, truncated = fetch(client, call, bucket, max_pages=max_pages)
    if not settled or truncated:  # an unfinished window is fetched again next time: not under its cache name
        path = path.with_name(path.stem + f"-{time.time_ns()}.json")
    write_cache_file(path, _records_document(events))
    return Fetched(path, len(events), requests, truncated, False)


def _describe(attr: dict | None) -> str:
    return f"{attr['AttributeKey']}={attr['AttributeValue']}" if attr else "no attribute (time range only)"


def load_lookup(uri: str, query: Query, options: LoadOptions, *, clients=None, now: datetime | None = None,
                sleep=None) -> LoadResult:
    """Load events through LookupEvents. ``clients`` ({region: client}), ``now`` and ``sleep`` are for tests."""
    started = time.perf_counter()
    netloc, path, opts = uri_parts(uri, "lookup")
    if path:
        raise SourceError(f"{uri!r}: give lookup://REGION or lookup://REGION1,REGION2 (no path).")
    profile = opts.get("profile")
    chunk = timedelta(hours=int_option(opts, "chunk_hours", 24, uri))
    max_pages = int_option(opts, "max_pages", MAX_PAGES, uri)
    now = now or datetime.now(UTC)
    regions = [r.strip() for r in netloc.split(",") if r.strip()] or list(query.regions)
    region_note = None
    if query.regions and not set(regions) & set(query.regions):
        # the query's regions win: asking elsewhere could only find events the frame then drops
        region_note = (f"LookupEvents was asked in {', '.join(query.regions)} (the query's regions), not in "
                       f"{', '.join(regions)}")
        regions = list(query.regions)
    elif query.regions:
        regions = [r for r in regions if r in query.regions]
    sess = None
    if clients is None:
        sess = make_session(profile)
        if not regions:
            if not sess.region_name:
                raise SourceError("No region for lookup://: give lookup://REGION (for example lookup://us-east-1), "
                                  "or set a default region for the profile.")
            regions = [sess.region_name]
    p = plan(query, regions, now=now, chunk=chunk)
    for note in p.notes:
        if "90 days" in note:  # said at once, not only in the load's notes: the answer may be incomplete
            echo(f"trailtools: {note}.", file=sys.stderr)
    identity = "test"
    if sess is not None:
        try:
            creds = sess.get_credentials()
            if creds is None:
                raise bx.NoCredentialsError()
            identity = creds.access_key  # one bucket per credentials and region: the same account's limit
        except AWS_ERRORS as exc:  # an expired SSO session shows here, before any request
            raise explain(exc, "cloudtrail", "LookupEvents") from exc
    needed = sorted({c.region for c in p.calls})
    # our own pacing and retries: botocore must not retry throttling behind the token bucket's back
    clients = clients or {r: make_client("cloudtrail", region=r, boto_session=sess,
                                         retries={"mode": "standard", "total_max_attempts": 1}) for r in needed}
    buckets = {r: (TokenBucket(RATE_PER_SECOND, sleep=sleep) if sleep else bucket_for((identity, r), RATE_PER_SECOND))
               for r in needed}
    bar = Progress(len(p.calls), label="LookupEvents windows",
                   enabled=options.progress if options.progress is not None else None)

    failed: dict[str, AwsDataUnavailable] = {}

    def region_calls(region):
        out = []
        mine = [c for c in p.calls if c.region == region]
        for n, call in enumerate(mine):
            try:
                out.append((call, run_call(clients[region], call, buckets[region], identity, now=now,
                                           max_pages=max_pages)))
            except AwsDataUnavailable as exc:  # this region cannot be read: the others still can
                failed[region] = exc
                bar(len(mine) - n)
                return out
            bar(1)
        return out

    try:
        with ThreadPoolExecutor(max_workers=min(8, len(needed))) as pool:
            done = [x for part in pool.map(region_calls, needed) for x in part]
    finally:
        bar.close()
    if failed and len(failed) == len(needed):
        raise failed[needed[0]]
    stats = LoadStats(source=uri, query=query.describe())
    stats.notes.extend(p.notes + ([region_note] if region_note else []))
    for region, exc in sorted(failed.items()):
        stats.notes.append(f"LookupEvents could not be read in {region}: {exc}")
        stats.add_skip(f"lookup://{region}", f"not read: {exc}")
    requests = sum(f.requests for _, f in done)
    throttles = sum(b.throttles for b in buckets.values())
    stats.notes.append(
        f"LookupEvents: {requests} requests in {', '.join(needed)} "
        f"with {_describe(p.calls[0].attribute if p.calls else None)}"
        f", {sum(1 for _, f in done if f.cached)} of {len(done)} windows from the cache"
        + (f", throttled {throttles} times (slowed down and retried)" if throttles else "")
    )
    for call, f in done:
        if f.truncated:
            stats.notes.append(
                f"LookupEvents had more than {max_pages * PAGE_SIZE:,} events in {call.region} "
                f"{call.start:%Y-%m-%dT%H:%MZ}..{call.end:%H:%MZ} ({_describe(call.attribute)}): only "
                "those were read; narrow the query or use s3://"
            )
    groups = [([str(f.path) for c, f in done if c.region == r], False) for r in needed]
    result = read_files(groups, query, stats, options)
    stats.elapsed_s = time.perf_counter() - started
    return result
