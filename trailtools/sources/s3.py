"""``s3://BUCKET[/PREFIX][?profile=NAME&region=REGION&workers=N]``: a CloudTrail trail bucket, read in place.

Only the query's prefixes are listed, never the whole bucket: the accounts (and Organization IDs) under
``AWSLogs/`` and each account's regions are discovered with ``Delimiter='/'`` listings (one request a level), then
for each account and region only the ``YYYY/MM/DD/`` folders of the query's window are listed (the window widened
by the same delivery margins as local files; a query without a start lists the region whole). Objects whose name
puts them outside the query are not downloaded. Digest files are never listed.

Objects are downloaded with a bounded pool of threads into the download cache,
``<cache root>/s3/<h[:2]>/<h>.json.gz`` where ``h`` is the SHA-256 of the bucket, the key and the ETag (the cache
root of :mod:`trailtools.events.cache`): a key is never part of a path, since whoever can write to the trail bucket
chooses it. The key is kept as data, in ``<h>.object.json`` beside the copy, so reports name the object
(:func:`object_uri`). A rerun downloads nothing that has not changed (a rewritten object has a new ETag); then the
copies are parsed exactly like local files (:mod:`trailtools.events.chunk`), so the same events frame comes out, and
``LoadResult.raw`` reads a row's record from the downloaded copy. Objects are recognized by their key's text
(:mod:`trailtools.events.layout`), never by the copy's name; an object whose key says nothing of what it holds
(``*.json.cloudtrail``, no extension, an archive, Parquet, a CloudWatch Logs export's ``000000.gz``) is recognized
by its first bytes, by the local source's :func:`trailtools.events.sniff.sniff`: fetched whole up to
:data:`WHOLE_FETCH_BYTES`, a larger one's first bytes first (a ranged GetObject). One that holds no CloudTrail is
counted as an other file, as a local file is.

A key CloudTrail never writes and that would be dangerous as a name (a ``..`` segment, an absolute path, a NUL or
another control character: :func:`trailtools.events.layout.unsafe_key`) is not downloaded: it is listed as skipped, with
the reason, and every other object is read.

``PREFIX`` may be the folder holding ``AWSLogs/`` or any folder inside it (``AWSLogs/o-abc/111122223333/``). A
prefix with no ``AWSLogs/`` under it is another layout (:mod:`trailtools.sources.s3_layouts`): Security Lake's
partitions, walked and pruned by ``region=``, ``accountId=`` and ``eventDay=``, or a flat folder, every object under
it listed (no date to prune by: the frame is filtered after reading). Those two are bounded by ``?max_keys=`` and
``?max_bytes=`` (one sentence before anything is read when a load would pass them).
Credentials: the standard chain, or the profile named in the URI; ``region`` is only a hint (S3 redirects).
"""
from __future__ import annotations

import hashlib
import json
import re
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from trailtools.aws.errors import AWS_ERRORS, AwsDataUnavailable, NotAwsResponse, looks_html
from trailtools.aws.session import client as make_client
from trailtools.aws.session import explain
from trailtools.errors import SourceError, TrailtoolsError
from trailtools.events import cache, compression, layout
from trailtools.events.limits import describe, from_env
from trailtools.events.query import Query
from trailtools.events.result import LoadOptions, LoadResult, collect
from trailtools.events.sniff import BZ2_SNIFF_BYTES, SNIFF_BYTES, sniff
from trailtools.events.stats import LoadStats
from trailtools.progress import Progress
from trailtools.sources import s3_layouts
from trailtools.sources.files import read_files, write_cache_file
from trailtools.sources.s3_layouts import Bounds, Layout
from trailtools.sources.uri import int_option, uri_parts

#: What this source calls (docs/iam-policy.json must allow them).
IAM_ACTIONS = ("s3:ListBucket", "s3:GetObject")
#: Objects downloaded at once.
DOWNLOAD_WORKERS = 8
#: Prefixes listed at once.
LIST_WORKERS = 8
#: ListObjectsV2 pages of 1,000 keys followed for one prefix at most (a day of one region holds about 300).
MAX_LIST_PAGES = 1000
#: An object whose key says nothing of what it holds is fetched whole up to this size, then recognized by its content
#: as a local file is (:mod:`trailtools.events.sniff`); a larger one's first bytes are fetched first.
WHOLE_FETCH_BYTES = 1 << 20
_ACCOUNT = re.compile(r"^\d{12}$")
_ORG = re.compile(r"^o-[a-z0-9]{10,32}$")
_READ_KINDS = ("CloudTrail", "CloudTrail-Insight")

#: The requests of the last load in this process (by API operation): the benchmark and tests read it.
last_requests: Counter = Counter()


# ---------------------------------------------------------------- listing

class _Counter:
    def __init__(self):
        self.counts: Counter = Counter()
        self._lock = threading.Lock()

    def add(self, op: str, n: int = 1) -> None:
        with self._lock:
            self.counts[op] += n


@dataclass
class S3Object:
    key: str
    etag: str
    size: int


@dataclass
class Listing:
    """What the listings found: the objects to read by group (one listed prefix), and what was left alone."""

    groups: dict[str, list[S3Object]] = field(default_factory=lambda: defaultdict(list))
    whole: dict[str, bool] = field(default_factory=dict)     # group -> every event file in it is wanted
    seen: int = 0
    pruned: int = 0
    digests: int = 0
    insights: int = 0
    others: int = 0
    prefixes: list[str] = field(default_factory=list)        # the prefixes whose objects were listed
    unlistable: list[tuple[str, AwsDataUnavailable]] = field(default_factory=list)
    unsafe: list[tuple[str, str]] = field(default_factory=list)  # (key, why it is not downloaded)
    by_content: set[str] = field(default_factory=set)  # keys of objects to recognize by their content once fetched
    undated: int = 0  # objects wanted whose keys tell no day (the window could not leave them out)


def _list(s3, bucket: str, prefix: str, counter: _Counter, *, delimiter: bool, bounds: Bounds | None = None):
    """(sub-prefixes, objects) under prefix; every page followed, up to MAX_LIST_PAGES (and ``bounds``' keys)."""
    subs, objects, token = [], [], None
    for _ in range(MAX_LIST_PAGES):
        params = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": 1000}
        if delimiter:
            params["Delimiter"] = "/"
        if token:
            params["ContinuationToken"] = token
        counter.add("ListObjectsV2")
        try:
            resp = s3.list_objects_v2(**params)
        except AWS_ERRORS as exc:
            raise explain(exc, "s3", "ListObjectsV2") from exc
        subs += [p["Prefix"] for p in resp.get("CommonPrefixes") or []]
        objects += [S3Object(o["Key"], (o.get("ETag") or "").strip('"'), int(o.get("Size") or 0))
                    for o in resp.get("Contents") or []]
        if bounds is not None:
            bounds.take(len(resp.get("CommonPrefixes") or []) + len(resp.get("Contents") or []))
        if not resp.get("IsTruncated"):
            return subs, objects
        token = resp.get("NextContinuationToken")
    raise SourceError(f"s3://{bucket}/{prefix} holds more than {MAX_LIST_PAGES * 1000:,} objects in one folder: "
                      "narrow the time window.")


def list_keys(s3, bucket: str, prefix: str) -> list[str]:
    """Every key under a prefix (every page, up to MAX_LIST_PAGES)."""
    return [o.key for o in _list(s3, bucket, prefix, _Counter(), delimiter=False)[1]]


def window_days(query: Query, today: date | None = None) -> list[date] | None:
    """The YYYY/MM/DD folders that may hold files of the query's window, or None to list everything."""
    low, high, _ = query.delivery_bounds()  # the time window's, with its margins (and any delivery bounds)
    if low is None:
        return None
    first = low.date()
    end = high if high is not None else datetime.now(UTC)
    return day_range(first, min(end.date(), today or datetime.now(UTC).date() + timedelta(days=1)))


def day_range(first: date, last: date) -> list[date]:
    """The days from ``first`` to ``last``, both included."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _name(prefix: str) -> str:
    return prefix.rstrip("/").rsplit("/", 1)[-1]


def plan_prefixes(s3, bucket: str, prefix: str, query: Query, counter: _Counter | None = None, *,
                  kinds=_READ_KINDS, days: list[date] | None = None,
                  layout_of: Layout | None = None) -> list[tuple[str, bool]]:
    """The prefixes whose objects are to be listed: (prefix, recursive). Discovery lists one level at a time.

    ``kinds``: the folders under an account to go into (``CloudTrail``, ``CloudTrail-Insight``, ...); ``days``: the
    day folders to list (default: those of the query's window, all when it has no start). ``layout_of``: where a
    prefix with no ``AWSLogs/`` may be another layout (:mod:`trailtools.sources.s3_layouts`: Security Lake's
    partitions are walked, pruned by the query), what was found is recorded in it; without it such a prefix is flat.
    """
    out: list[tuple[str, bool]] = []
    days = window_days(query) if days is None else days
    counter = counter or _Counter()

    def region_level(region_prefix: str):
        if days is None:
            out.append((region_prefix, True))
        else:
            out.extend((f"{region_prefix}{d:%Y/%m/%d}/", False) for d in days)

    def walk(pfx: str, level: str):
        if level == "top":
            subs, objects = _list(s3, bucket, pfx, counter, delimiter=True,
                                  bounds=layout_of.bounds if layout_of is not None else None)
            if layout_of is not None:
                layout_of.bounds.listed = 0  # counted again by the listings that follow
            if f"{pfx}AWSLogs/" in subs:
                return walk(f"{pfx}AWSLogs/", "awslogs")
            if layout_of is not None and s3_layouts.is_lake(pfx, subs):
                def level(p: str) -> tuple[list[str], int]:
                    found = _list(s3, bucket, p, counter, delimiter=True, bounds=layout_of.bounds)
                    return found[0], len(found[1])

                layout_of.mode = "lake"
                layout_of.lake = s3_layouts.walk_lake(level, pfx, query, first=(subs, len(objects)))
                out.extend(layout_of.lake.prefixes)
                return None
            if not pfx:  # never list a whole bucket: say where the trail may be instead
                shown = ", ".join(f"s3://{bucket}/{s}" for s in subs[:5]) or "nothing"
                raise SourceError(f"s3://{bucket} has no AWSLogs/ folder at its top (it holds {shown}): the "
                                  "trail may write under a key prefix; give s3://BUCKET/PREFIX (a prefix without "
                                  "AWSLogs/ is read as a flat folder).")
            if layout_of is not None:
                layout_of.mode = "flat"
            out.append((pfx, True))  # a flat folder: everything under it
            return None
        subs, _ = _list(s3, bucket, pfx, counter, delimiter=True)
        if level in ("awslogs", "org"):
            orgs = [s for s in subs if level == "awslogs" and _ORG.match(_name(s))]
            accounts = [s for s in subs if _ACCOUNT.match(_name(s))
                        and (not query.accounts or _name(s) in query.accounts)]
            for sub in orgs:
                walk(sub, "org")
            # an Organization trail may hold hundreds of accounts: their folders are discovered concurrently
            with ThreadPoolExecutor(max_workers=LIST_WORKERS) as pool:
                list(pool.map(lambda sub: walk(sub, "account"), accounts))
            return None
        for sub in subs:
            name = _name(sub)
            if level == "account":
                if name in kinds:
                    walk(sub, "kind")
            elif level == "kind":
                if not query.regions or name in query.regions:
                    region_level(sub)
        return None

    parts = prefix.split("/") if prefix else []
    if "AWSLogs" not in parts:
        walk(prefix, "top")
        return sorted(out)
    rest = [p for p in parts[parts.index("AWSLogs") + 1:] if p]
    if rest and _ORG.match(rest[0]):
        rest_after_org = rest[1:]
    else:
        rest_after_org = rest
    depth = len(rest_after_org)
    if depth == 0:
        walk(prefix, "org" if rest else "awslogs")
    elif depth == 1:
        walk(prefix, "account")
    elif depth == 2:
        walk(prefix, "kind")
    elif depth == 3:
        region_level(prefix)
    else:
        out.append((prefix, True))
    return sorted(out)


def list_window(s3, bucket: str, prefix: str, query: Query, counter: _Counter,
                workers: int = LIST_WORKERS, layout_of: Layout | None = None) -> Listing:
    """List only the window's prefixes; classify every object by its key and keep those the query may want.

    An object whose key says nothing of what it holds (``*.json.cloudtrail``, no extension, an archive, Parquet)
    outside the folders of the layout that are not CloudTrail's is kept too, marked ``by_content``: it is recognized
    by its first bytes once fetched, as the local source recognizes a file (:mod:`trailtools.events.sniff`)."""
    listing = Listing()
    prefixes = plan_prefixes(s3, bucket, prefix, query, counter, layout_of=layout_of)
    listing.prefixes = [p for p, _ in prefixes]
    bounds = layout_of.bounds if layout_of is not None and layout_of.mode != "awslogs" else None

    def objects_of(pr):
        try:
            return _list(s3, bucket, pr[0], counter, delimiter=False, bounds=bounds)[1]
        except AwsDataUnavailable as exc:  # e.g. a bucket policy denying one account's folder: the rest is read
            listing.unlistable.append((pr[0], exc))
            return []

    with ThreadPoolExecutor(max_workers=workers) as pool:
        found = list(pool.map(objects_of, prefixes))
    if listing.unlistable and len(listing.unlistable) == len(prefixes):
        raise listing.unlistable[0][1]
    for (pfx, recursive), objects in zip(prefixes, found):
        for obj in objects:
            if obj.key.endswith("/"):
                continue
            listing.seen += 1
            # a day's folder is one group; a recursive listing is grouped by each object's folder
            group = obj.key.rpartition("/")[0] if recursive else pfx
            unsafe = layout.unsafe_key(obj.key)
            if unsafe:  # never downloaded, whatever its name says it is
                listing.unsafe.append((obj.key, unsafe))
                listing.whole[group] = False
                continue
            info = layout.classify(obj.key)
            where = layout.classify_folder(obj.key.rpartition("/")[0])
            by_content = info.kind == layout.OTHER and where.kind != layout.OTHER and \
                not layout.has_event_extension(obj.key)
            if by_content:  # as the local source's planner takes a file its name says nothing of
                kind = where.kind if where.kind in (layout.LOG, layout.INSIGHT) else layout.LOG
                info = layout.PathInfo(kind, where.account, where.region, where.org, where.day)
            if info.kind == layout.DIGEST:
                listing.digests += 1
            elif info.kind == layout.OTHER or info.kind is None:
                listing.others += 1
            elif not query.wants_path(info):
                listing.pruned += 1
                listing.whole[group] = False  # only whole groups are cached, as for local files
            else:
                listing.insights += info.kind == layout.INSIGHT
                listing.groups[group].append(obj)
                listing.whole.setdefault(group, True)
                if by_content:
                    listing.by_content.add(obj.key)
                if info.day is None and info.delivered is None and not s3_layouts.key_has_day(obj.key):
                    listing.undated += 1
    return listing


# ---------------------------------------------------------------- downloading

#: The extensions a copy keeps (for people looking at the cache); any other key's copy has none.
_COPY_EXTENSIONS = (".json.gz", ".jsonl.gz", ".ndjson.gz", ".json", ".jsonl", ".ndjson", ".gz")
_HASH_NAME = re.compile(r"^[0-9a-f]{64}")
_OBJECT_SUFFIX = ".object.json"


def _object_hash(bucket: str, key: str, etag: str) -> str:
    text = json.dumps([bucket, key, etag], ensure_ascii=True)  # any key, even one no file system would take
    return hashlib.sha256(text.encode()).hexdigest()


def local_path(bucket: str, obj: S3Object) -> Path:
    """Where an object is kept in the download cache: named by the SHA-256 of bucket, key and ETag, never by the
    key itself (whoever can write to the bucket chooses it)."""
    h = _object_hash(bucket, obj.key, obj.etag)
    ext = next((e for e in _COPY_EXTENSIONS if obj.key.lower().endswith(e)), "")
    return cache.cache_root() / "s3" / h[:2] / f"{h}{ext}"


def _about(path: Path) -> Path:
    """The record of which object a copy holds, beside it."""
    return path.with_name(path.name.split(".", 1)[0] + _OBJECT_SUFFIX)


def keep_object(bucket: str, obj: S3Object, body: bytes) -> Path:
    """Write an object's copy into the download cache, and beside it the bucket, key and ETag it holds (as data).
    A folder that refuses them is a SourceError."""
    path = local_path(bucket, obj)
    about = json.dumps({"bucket": bucket, "key": obj.key, "etag": obj.etag}, ensure_ascii=True)
    write_cache_file(_about(path), about, "the downloaded object")
    write_cache_file(path, body, "the downloaded object")
    return path


def _kept(bucket: str, obj: S3Object) -> Path | None:
    path = local_path(bucket, obj)
    return path if path.is_file() and _about(path).is_file() else None


def object_uri(path) -> str | None:
    """The ``s3://bucket/key`` (and ETag) a copy in the download cache holds, as recorded beside it (control
    characters escaped), or None for any other path: reports name the object, not the cache copy."""
    path = Path(path)
    try:
        path.resolve().relative_to((cache.cache_root() / "s3").resolve())
    except (ValueError, OSError):
        return None
    if not _HASH_NAME.match(path.name):
        return None
    try:
        about = json.loads(_about(path).read_text(encoding="utf-8"))
        bucket, key, etag = str(about["bucket"]), str(about["key"]), str(about["etag"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if _object_hash(bucket, key, etag) != path.name[:64]:  # a record that is not this copy's
        return None
    return f"s3://{bucket}/{layout.shown_name(key)} (ETag {layout.shown_name(etag)})"


def _get_object(s3, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def _get_range(s3, bucket: str, key: str, size: int) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{size - 1}")["Body"].read()


def _not_the_object(obj: S3Object, body: bytes, *, html_ok: bool = False) -> TrailtoolsError | None:
    """Why a body is not the object listed (an HTML page from a proxy, or not its size), or None. ``html_ok``: an
    object recognized by its content may be an HTML page itself (a bucket's ``index.html``) when it is the size
    listed."""
    if looks_html(body) and not (html_ok and len(body) == obj.size):
        return explain(NotAwsResponse(operation="GetObject", what="an HTML page", status=200), "s3", "GetObject")
    if obj.size and len(body) != obj.size:
        return SourceError(f"{len(body):,} bytes were read where the listing said {obj.size:,}: the object changed "
                           "while it was read, or something else answered; run again.")
    return None


def download(s3, bucket: str, objects: list[S3Object], counter: _Counter, *, workers: int = DOWNLOAD_WORKERS,
             progress=None, by_content: set[str] | frozenset = frozenset(),
             ) -> tuple[dict[str, Path], list[tuple[str, TrailtoolsError]], int]:
    """Fetch the objects not in the download cache: ({key: local path}, [(key, error)], objects already cached)."""
    paths: dict[str, Path] = {}
    failed: list[tuple[str, TrailtoolsError]] = []  # AwsDataUnavailable, or the cache folder refusing the file
    todo = []
    for obj in objects:
        path = _kept(bucket, obj)
        if path is not None:
            paths[obj.key] = path
        else:
            todo.append(obj)
    hits = len(paths)
    if progress:
        progress(hits)
    lock = threading.Lock()

    def fetch(obj):
        counter.add("GetObject")
        try:
            body = _get_object(s3, bucket, obj.key)
        except AWS_ERRORS as exc:
            with lock:
                failed.append((obj.key, explain(exc, "s3", "GetObject")))
            return
        wrong = _not_the_object(obj, body, html_ok=obj.key in by_content)
        if wrong is not None:  # never kept: a rerun would serve it from the cache as the object
            with lock:
                failed.append((obj.key, wrong))
            return
        try:
            path = keep_object(bucket, obj, body)
        except SourceError as exc:
            with lock:
                failed.append((obj.key, exc))
            return
        with lock:
            paths[obj.key] = path
            if progress:
                progress(1)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(fetch, todo))
    return paths, failed, hits


def probe(s3, bucket: str, objects: list[S3Object], counter: _Counter, *, workers: int = DOWNLOAD_WORKERS,
          ) -> tuple[set[str], list[tuple[str, TrailtoolsError]], int]:
    """Fetch the first bytes of objects whose keys say nothing of what they hold (a ranged GetObject: as many as
    :func:`trailtools.events.sniff.head` reads, a megabyte for bzip2) and recognize them by the local source's
    :func:`trailtools.events.sniff.sniff`, from a temporary file: (keys that may hold CloudTrail, [(key, error)],
    bytes fetched)."""
    events: set[str] = set()
    failed: list[tuple[str, TrailtoolsError]] = []
    fetched = [0]
    lock = threading.Lock()
    with tempfile.TemporaryDirectory(prefix="trailtools-probe-") as folder:
        def one(n_obj):
            n, obj = n_obj
            head = b""
            try:
                for size in (SNIFF_BYTES, BZ2_SNIFF_BYTES):
                    counter.add("GetObject")
                    head = _get_range(s3, bucket, obj.key, min(size, obj.size))
                    if compression.kind(head) != "bzip2" or len(head) >= obj.size:
                        break
            except AWS_ERRORS as exc:
                with lock:
                    failed.append((obj.key, explain(exc, "s3", "GetObject")))
                return
            path = Path(folder) / f"{n}.head"  # our own name, never the key
            path.write_bytes(head)
            found = sniff(str(path))
            path.unlink()
            with lock:
                fetched[0] += len(head)
                if found:
                    events.add(obj.key)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(one, enumerate(objects)))
    return events, failed, fetched[0]


# ---------------------------------------------------------------- the source

def load_s3(uri: str, query: Query, options: LoadOptions) -> LoadResult:
    started = time.perf_counter()
    bucket, prefix, opts = uri_parts(uri, "s3")
    if not bucket:
        raise SourceError(f"{uri!r} names no bucket: give s3://BUCKET or s3://BUCKET/PREFIX.")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    workers = int_option(opts, "workers", DOWNLOAD_WORKERS, uri)
    bounds = Bounds(max_keys=int_option(opts, "max_keys", s3_layouts.MAX_KEYS, uri),
                    max_bytes=s3_layouts.size_option(opts, "max_bytes", s3_layouts.MAX_BYTES, uri),
                    where=f"s3://{bucket}/{prefix}")
    s3 = make_client("s3", region=opts.get("region"), profile=opts.get("profile"), max_pool=max(workers, 10))
    counter = _Counter()
    found = Layout(bounds)
    listing = list_window(s3, bucket, prefix, query, counter, layout_of=found)
    stats = LoadStats(source=uri, query=query.describe(), files_seen=listing.seen, files_pruned=listing.pruned,
                      digest_files=listing.digests, insight_files=listing.insights, other_files=listing.others)
    limits = options.limits or from_env()
    if not listing.prefixes and found.mode != "lake":
        raise SourceError(
            f"No CloudTrail under s3://{bucket}/{prefix}{_filters(query)}: give the bucket (and prefix) that holds "
            "AWSLogs/<account>/CloudTrail/, as `aws cloudtrail describe-trails` shows it.")
    if found.mode == "lake" and found.lake is not None and not found.lake.prefixes and not found.lake.pruned:
        others = ", ".join(layout.shown_name(n) for n in sorted(set(found.lake.not_cloudtrail))[:5]) or "nothing"
        raise SourceError(f"No CloudTrail under s3://{bucket}/{prefix}: Security Lake keeps it under "
                          f"aws/CLOUD_TRAIL_MGMT/ (and S3_DATA/, LAMBDA_EXECUTION/) or a custom source under ext/, "
                          f"and this prefix holds {others}.")
    cached = {o.key for objs in listing.groups.values() for o in objs if _kept(bucket, o) is not None}
    # objects whose keys say nothing: a large one's first bytes (or one too large to download) are fetched and
    # recognized before it is downloaded
    heads = [o for objs in listing.groups.values() for o in objs if o.key in listing.by_content and
             o.key not in cached and o.size > min(WHOLE_FETCH_BYTES, limits.max_file_bytes)]
    if found.mode != "awslogs":  # no dates to prune by: what would be downloaded is bounded before anything is
        whole = [o for objs in listing.groups.values() for o in objs
                 if o.key not in cached and o.size <= limits.max_file_bytes]
        bounds.check_bytes(sum(o.size for o in whole) + len(heads) * BZ2_SNIFF_BYTES, len(whole))
    before = counter.counts["GetObject"]
    probed, probe_failed, probe_bytes = probe(s3, bucket, heads, counter, workers=workers) if heads else \
        (set(), [], 0)
    probes = counter.counts["GetObject"] - before  # ranged requests for first bytes, not downloads
    not_events = {o.key for o in heads} - probed - {k for k, _ in probe_failed}
    for key, err in probe_failed:
        stats.add_skip(f"s3://{bucket}/{layout.shown_name(key)}", f"not downloaded: {err}")
    unread = {k for k, _ in probe_failed}
    for group, objs in listing.groups.items():
        kept = [o for o in objs if o.key not in not_events and o.key not in unread]
        if any(o.key in unread for o in objs):
            listing.whole[group] = False
        listing.groups[group] = kept
        # a body is held in memory once downloaded: an object larger than a file may be is never fetched
        big = [o for o in kept if o.size and o.size > limits.max_file_bytes]
        for o in big:
            stats.add_skip(f"s3://{bucket}/{layout.shown_name(o.key)}",
                           f"not downloaded: {o.size:,} bytes, more than a file may hold "
                           f"({describe(limits.max_file_bytes)}; TRAILTOOLS_MAX_FILE_BYTES raises it)")
        if big:
            listing.groups[group] = [o for o in kept if o not in big]
            listing.whole[group] = False
    wanted = [o for objs in listing.groups.values() for o in objs]
    for pfx, err in listing.unlistable:
        stats.add_skip(f"s3://{bucket}/{layout.shown_name(pfx)}", f"not listed: {err}")
    for key, why in listing.unsafe:
        stats.add_skip(f"s3://{bucket}/{layout.shown_name(key)}",
                       f"not downloaded: {why}; CloudTrail never writes such a key (planted?)")
    if not listing.seen:
        stats.notes.append(f"no object in the window's {len(listing.prefixes)} prefixes of s3://{bucket}/{prefix}")
    bar = Progress(len(wanted), label="objects", enabled=options.progress if options.progress is not None
                   else (None if len(wanted) > 200 else False))
    try:
        paths, failed, hits = download(s3, bucket, wanted, counter, workers=workers, progress=bar,
                                       by_content=listing.by_content)
    finally:
        bar.close()
    if failed and not paths:
        raise failed[0][1]
    for key, err in failed:
        stats.add_skip(f"s3://{bucket}/{layout.shown_name(key)}", f"not downloaded: {err}")
    # the objects recognized by their content, as the local source recognizes a file: the others are other files
    not_events |= {k for k in listing.by_content if k in paths and not sniff(str(paths[k]))}
    recognized = len({k for k in listing.by_content if k in paths} | not_events)
    for key in not_events:
        paths.pop(key, None)
        stats.insight_files -= layout.classify_folder(key.rpartition("/")[0]).kind == layout.INSIGHT
    stats.other_files += len(not_events)
    groups = [([str(paths[o.key]) for o in objs if o.key in paths], listing.whole.get(g, False) and not failed)
              for g, objs in sorted(listing.groups.items())]
    result = read_files(groups, query, stats, options) if paths else _empty(query, stats)
    # the skips name the objects, not their copies in the cache
    objects = {str(path): f"s3://{bucket}/{layout.shown_name(key)}" for key, path in paths.items()}
    for skip in stats.skipped:
        skip.path = objects.get(skip.path, skip.path)
    last_requests.clear()
    last_requests.update(counter.counts)
    stats.notes.append(
        f"S3: {counter.counts['ListObjectsV2']} ListObjectsV2 requests over {len(listing.prefixes)} prefixes, "
        f"{counter.counts['GetObject'] - probes} objects downloaded, {hits} from the download cache")
    stats.notes.extend(_layout_notes(bucket, prefix, query, found, listing, (recognized, len(not_events)),
                                     len(heads), probe_bytes))
    stats.elapsed_s = time.perf_counter() - started
    return result


def _layout_notes(bucket: str, prefix: str, query: Query, found: Layout, listing: Listing,
                  by_content: tuple[int, int], heads: int, head_bytes: int) -> list[str]:
    """What the load statistics say of a layout other than AWSLogs/ and of the objects recognized by content."""
    notes = []
    if found.mode == "flat":
        notes.append(f"s3://{bucket}/{prefix} holds no AWSLogs/ folder: read as a flat folder, every object under "
                     f"it listed ({listing.seen:,})")
    if found.mode == "lake" and found.lake is not None:
        notes.append(f"Security Lake partitions: {len(found.lake.pruned):,} left out by the query's window, regions "
                     f"or accounts (not listed), {len(found.lake.prefixes):,} listed")
        if found.lake.not_cloudtrail:
            notes.append("Security Lake sources that hold no CloudTrail, not listed: "
                         + ", ".join(layout.shown_name(n) for n in sorted(set(found.lake.not_cloudtrail))))
        if found.lake.not_lake:
            notes.append(f"{len(found.lake.not_lake):,} folders beside aws/ and ext/ at the top of s3://{bucket} not "
                         "listed (give s3://BUCKET/PREFIX to read one): "
                         + ", ".join(layout.shown_name(n) for n in sorted(found.lake.not_lake)[:10]))
    if listing.undated and (query.start or query.end):
        notes.append(f"{listing.undated:,} objects were fetched although they may hold no event of the window: "
                     "their keys carry no date to prune by; the events outside the window were dropped once read")
    recognized, not_events = by_content
    if recognized:
        large = f"; {heads:,} large ones by their first {head_bytes:,} bytes" if heads else ""
        notes.append(f"{recognized:,} objects whose keys say nothing of what they hold were recognized by their "
                     f"content ({not_events:,} hold no CloudTrail: counted as other files{large})")
    return notes


def _filters(query: Query) -> str:
    parts = [f"accounts {', '.join(query.accounts)}" if query.accounts else "",
             f"regions {', '.join(query.regions)}" if query.regions else ""]
    parts = [p for p in parts if p]
    return f" for {' and '.join(parts)}" if parts else ""


def _empty(query: Query, stats: LoadStats) -> LoadResult:
    return collect([], query, stats)
