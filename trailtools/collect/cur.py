"""The Cost and Usage Report's objects of the window (``--cur s3://BUCKET/PREFIX``): each billing period's current
manifest and the data files it lists, into ``cost/cur/<the key from PREFIX on>``, where the cost investigation reads
them on the case folder (:mod:`trailtools.evidence.cost.local`).

The three layouts AWS writes are recognized by their billing-period folder (:func:`trailtools.evidence.cost.cur.
billing_period`), and only the periods that overlap the window are copied:

- Data Exports (CUR 2.0, FOCUS): ``PREFIX/EXPORT/data/BILLING_PERIOD=YYYY-MM/[EXECUTION/]EXPORT-00001.csv.gz|.parquet``
  and ``PREFIX/EXPORT/metadata/BILLING_PERIOD=YYYY-MM/[EXECUTION/]EXPORT-Manifest.json`` (``dataFiles``: S3 URIs);
- legacy CUR, CSV: ``PREFIX/REPORT/yyyymmdd-yyyymmdd/[ASSEMBLY/]REPORT-1.csv.gz|.csv.zip`` and
  ``PREFIX/REPORT/yyyymmdd-yyyymmdd/REPORT-Manifest.json`` (``reportKeys``);
- legacy CUR, Parquet (Athena): ``PREFIX/REPORT/REPORT/year=YYYY/month=M/REPORT-00001.snappy.parquet``, its manifest
  in the ``yyyymmdd-yyyymmdd`` folder.

A period's current manifest is its newest (LastModified; the one directly in the period folder on a tie): a report
that keeps earlier versions holds a full copy of the month per update, and only the files the current manifest
lists are copied (all the period's data files of its newest folder when no manifest can be read). The copy is
:func:`trailtools.collect.objects.copy_objects`' (resumable, append-only, ETag and S3 URI in the manifest), bounded
by :data:`MAX_OBJECTS` objects and :data:`MAX_BYTES` bytes a run (``TRAILTOOLS_COLLECT_CUR_MAX_OBJECTS``,
``TRAILTOOLS_COLLECT_CUR_MAX_BYTES``); the cut is said in the run's notes. A report lives in the bucket as long as
its lifecycle rules keep it; AWS rewrites the current month's files at each update (a rerun keeps both copies).
"""
from __future__ import annotations

import json
import os
from collections import defaultdict

from trailtools.aws.errors import AWS_ERRORS
from trailtools.aws.session import explain
from trailtools.collect.context import Collection
from trailtools.collect.objects import copy_objects, list_objects
from trailtools.collect.store import UnsafeName, safe_relative
from trailtools.errors import TrailtoolsError
from trailtools.events import layout
from trailtools.events.limits import from_env
from trailtools.evidence.cost.cur import billing_period, period_overlaps
from trailtools.evidence.cost.local import period_tail, report_keys
from trailtools.integrity.case import newest_copy
from trailtools.sources.s3 import S3Object

IAM_ACTIONS = ("s3:ListBucket", "s3:GetObject")
TARGET = "cost/cur"
MAX_PAGES = 50                 # 50,000 keys: give the report's own prefix when a bucket holds more
MAX_OBJECTS = 500
MAX_BYTES = 5 * 1024 ** 3
DATA_SUFFIXES = (".csv.gz", ".csv.zip", ".zip", ".parquet", ".csv")
MANIFEST_SUFFIX = "manifest.json"


def _limit(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, "") or default)
    except ValueError:
        raise TrailtoolsError(f"{name} must be a whole number, not {os.environ.get(name)!r}.") from None
    return max(value, 0)


def _target(prefix: str, key: str) -> str:
    """``cost/cur/`` and the key from under the prefix (a folder: ``exports`` and ``exports/`` are the same) or its
    last folder on (UnsafeName for a key that cannot be a path)."""
    base = prefix.rstrip("/") + "/" if prefix and key.startswith(prefix.rstrip("/") + "/") \
        else prefix[:prefix.rfind("/") + 1]
    rest = key[len(base):] if base and key.startswith(base) else key
    return str(safe_relative(f"{TARGET}/{rest}"))


def _by_period(c: Collection, keys: list[tuple]) -> tuple[dict, dict, int]:
    """({period: [manifest objects]}, {period: [data objects]}, objects in no billing-period folder) of the window."""
    manifests, data, outside = defaultdict(list), defaultdict(list), 0
    for key, etag, size, modified in keys:
        if key.endswith("/"):
            continue
        found = billing_period(key)
        if found is None:
            outside += 1
            continue
        if not period_overlaps(found[0], c.scope.start, c.scope.end):
            continue
        lower = key.lower()
        if lower.endswith(MANIFEST_SUFFIX):
            manifests[found[0]].append((key, etag, size, modified, found[1]))
        elif lower.endswith(DATA_SUFFIXES):
            data[found[0]].append((key, etag, size, modified))
    return manifests, data, outside


def _current(manifests: list[tuple]) -> tuple:
    """The period's current manifest: the newest, the one directly in the period folder on a tie."""
    return max(manifests, key=lambda m: (m[3] is not None, m[3] or 0, -len(m[0].split("/")), m[0]))


def _manifest_doc(c: Collection, prefix: str, key: str) -> dict | None:
    """The manifest as the case holds it (its newest copy), or None."""
    try:
        _, path = newest_copy(c.store.root, _target(prefix, key))
        doc = json.loads(c.store.path(path).read_bytes()[:50 * 1024 ** 2])
    except (UnsafeName, OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def _listed(data: list[tuple], doc: dict | None) -> list[tuple]:
    """The data objects the manifest lists; with no readable manifest, those of the period's newest folder."""
    tails = {t for k in report_keys(doc) if (t := period_tail(k))} if doc else set()
    if tails:
        return [d for d in data if period_tail(d[0]) in tails]
    folders = defaultdict(list)
    for d in data:
        folders[d[0].rsplit("/", 1)[0]].append(d)
    if not folders:
        return []
    newest = max(folders, key=lambda f: max((d[3] is not None, d[3] or 0) for d in folders[f]))
    return folders[newest]


def _objects(c: Collection, prefix: str, items: list[tuple], kind: str) -> list:
    limit = from_env().max_file_bytes
    out = []
    for key, etag, size, *_ in items:
        why = layout.unsafe_key(key)
        target = None
        if why is None:
            try:
                target = _target(prefix, key)
            except UnsafeName as exc:
                why = str(exc)
        if why is None and size > limit:
            why = f"it is {size:,} bytes, over the reader's limit of {limit:,} (TRAILTOOLS_MAX_FILE_BYTES)"
        if why is not None:
            c.not_collected(f"s3://{c.scope.cur_bucket}/{layout.shown_name(key)}", f"Not downloaded: {why}.")
            continue
        out.append((S3Object(key, etag, size), target, kind))
    return out


def collect_cur(c: Collection) -> None:
    """The window's billing periods of the report under ``--cur``: current manifests, then the data they list."""
    s = c.scope
    bucket, prefix, where = s.cur_bucket, s.cur_prefix, s.cur
    try:
        s3 = c.client("s3", s.regions[0] if s.regions else None)
        keys, truncated = list_objects(s3, bucket, prefix, max_pages=MAX_PAGES)
    except AWS_ERRORS as exc:
        c.not_collected(f"the Cost and Usage Report in {where}", explain(exc, "s3", "ListObjectsV2"))
        return
    except TrailtoolsError as exc:
        c.not_collected(f"the Cost and Usage Report in {where}", exc)
        return
    if truncated:
        c.not_collected(f"the Cost and Usage Report in {where} past {MAX_PAGES * 1000:,} keys",
                        "The listing was cut there: give the report's own prefix (s3://BUCKET/PREFIX/REPORT-NAME).")
    manifests, data, _ = _by_period(c, keys)
    periods = sorted(set(manifests) | set(data))
    if not periods:
        c.not_collected(f"the Cost and Usage Report in {where}",
                        f"No report files under it for the window's billing periods ({s.start:%Y-%m} to "
                        f"{s.end:%Y-%m}): check the prefix, and that the report was being delivered then.")
        return
    chosen = {p: _current(manifests[p]) for p in periods if manifests[p]}
    copy_objects(c, s3, bucket, _objects(c, prefix, list(chosen.values()), "manifest"), what="CUR manifests")
    wanted = []
    for period in periods:
        doc = _manifest_doc(c, prefix, chosen[period][0]) if period in chosen else None
        listed = _listed(data[period], doc)
        if not listed:
            c.not_collected(f"the Cost and Usage Report of {period} in {where}",
                            "Its manifest lists no data file found under the prefix." if period in chosen
                            else "No data file of that billing period under the prefix.")
        wanted += _objects(c, prefix, listed, "data")
    copy_objects(c, s3, bucket, wanted, what="CUR data files",
                 max_objects=_limit("TRAILTOOLS_COLLECT_CUR_MAX_OBJECTS", MAX_OBJECTS),
                 max_bytes=_limit("TRAILTOOLS_COLLECT_CUR_MAX_BYTES", MAX_BYTES),
                 setting="TRAILTOOLS_COLLECT_CUR_MAX_OBJECTS, TRAILTOOLS_COLLECT_CUR_MAX_BYTES")
    c.counts["cur_objects"] = len(wanted) + len(chosen)
    c.expiring(f"the Cost and Usage Report in {where} ({', '.join(periods)})", None,
               "It lives as long as the bucket's lifecycle rules keep it; AWS rewrites the current month's files at "
               "each update and may update a closed month later.")
