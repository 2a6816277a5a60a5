"""S3 objects into the case folder, shared by the trail (:mod:`.trail`) and the Cost and Usage Report (:mod:`.cur`):
listing with ETags, and a bounded, resumable, parallel copy.

- :func:`list_objects`: every object under a prefix (key, ETag, size), at most ``max_pages`` pages of 1,000;
- :func:`copy_objects`: downloads what the case does not hold yet (an object whose newest copy in the case has the
  same ETag and size is not downloaded again: a rerun resumes), at most ``max_objects`` objects and ``max_bytes``
  bytes a run (the cut is one sentence in the run's notes), each object read up to the reader's size limit and
  refused if it is not what the listing said (an HTML page from a proxy, another size). Each file lands through
  :meth:`~trailtools.collect.context.Collection.save` (append-only), its manifest origin the S3 URI, ETag and
  LastModified.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from trailtools.aws.errors import AWS_ERRORS, call, looks_html
from trailtools.aws.session import explain
from trailtools.collect.context import Collection, cli_json
from trailtools.events import layout
from trailtools.events.limits import from_env
from trailtools.integrity.case import newest_copy
from trailtools.progress import Progress
from trailtools.sources.s3 import S3Object

WORKERS = 8


def list_objects(s3, bucket: str, prefix: str, *, max_pages: int | None = None) -> tuple[list[tuple], bool]:
    """(every (key, ETag, size, LastModified) under ``prefix``, whether the listing stopped at ``max_pages``)."""
    out, token, n = [], None, 0
    while True:
        params = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": 1000}
        if token:
            params["ContinuationToken"] = token
        resp = call(s3, "list_objects_v2", **params)
        n += 1
        out += [(o["Key"], (o.get("ETag") or "").strip('"'), int(o.get("Size") or 0), o.get("LastModified"))
                for o in resp.get("Contents") or []]
        if not resp.get("IsTruncated") or not resp.get("NextContinuationToken"):
            return out, False
        if max_pages is not None and n >= max_pages:
            return out, True
        token = resp["NextContinuationToken"]


def plain_origin(origin: dict) -> dict:
    return json.loads(cli_json(origin))


def _resumable(c: Collection, objects, also: Callable | None) -> list:
    """The objects the case does not hold yet with the same ETag and size (in its newest copy)."""
    known = c.manifest.known()
    todo = []
    for obj, target, kind in objects:
        _, path = newest_copy(c.store.root, target)
        entry = known.get(path)
        if c.store.exists(path) and entry is not None and (entry.get("origin") or {}).get("etag") == obj.etag \
                and entry.get("size") == obj.size and (also is None or also(target, kind, known)):
            c.counts["resumed"] = c.counts.get("resumed", 0) + 1  # already in the case: not downloaded again
            continue
        todo.append((obj, target, kind))
    return todo


def _bounded(c: Collection, todo: list, what: str, max_objects: int | None, max_bytes: int | None,
             setting: str) -> list:
    """The first objects within the run's limits; the cut, if any, noted in one sentence."""
    kept, total = [], 0
    for item in todo:
        size = item[0].size
        if (max_objects is not None and len(kept) >= max_objects) or (max_bytes is not None
                                                                       and total + size > max_bytes):
            break
        kept.append(item)
        total += size
    if len(kept) < len(todo):
        rest = todo[len(kept):]
        c.not_collected(f"{len(rest)} {what} ({sum(o.size for o, _, _ in rest):,} bytes)",
                        f"Not downloaded in this run: over its limit of {max_objects:,} objects or "
                        f"{max_bytes:,} bytes ({setting}); run collect again (it resumes) or raise the limit.")
    return kept


def copy_objects(c: Collection, s3, bucket: str, objects: list[tuple[S3Object, str, str]], *, what: str = "objects",
                 also: Callable | None = None, region_of: Callable | None = None, max_objects: int | None = None,
                 max_bytes: int | None = None, setting: str = "") -> list[tuple[str, str, dict, str]]:
    """Copy ``objects`` ([(S3Object, target path, kind)]) of ``bucket`` into the case; returns [(target, key, the
    object's S3 metadata, kind)] of those saved. ``also(target, kind, known)``: a further condition for an object
    already held to count as done (a digest's signature sidecar)."""
    todo = _resumable(c, objects, also)
    todo = _bounded(c, todo, what, max_objects, max_bytes, setting)
    lock = threading.Lock()
    saved: list[tuple[str, str, dict, str]] = []
    bar = Progress(len(todo), label=what, enabled=c.progress if c.progress is not None
                   else (None if len(todo) > 50 else False))
    limit = from_env().max_file_bytes

    def fetch(item):
        obj, target, kind = item
        try:
            resp = s3.get_object(Bucket=bucket, Key=obj.key)
            body = resp["Body"].read(limit + 1)
        except AWS_ERRORS as exc:
            with lock:
                c.not_collected(f"s3://{bucket}/{layout.shown_name(obj.key)}", explain(exc, "s3", "GetObject"))
            return
        etag = (resp.get("ETag") or obj.etag).strip('"')
        problem = None
        if looks_html(body) and not body.startswith(b"\x1f\x8b"):
            problem = "the endpoint answered with an HTML page, not the object (a proxy?)"
        elif obj.size and len(body) != obj.size:
            problem = f"{len(body):,} bytes were read where the listing said {obj.size:,} (it changed meanwhile?)"
        with lock:
            if problem:
                c.not_collected(f"s3://{bucket}/{layout.shown_name(obj.key)}", f"Not saved: {problem}.")
                return
            origin = {"s3": f"s3://{bucket}/{obj.key}", "etag": etag, "last_modified": resp.get("LastModified")}
            if c.save(target, body, plain_origin(origin), region=region_of(obj.key) if region_of else None):
                saved.append((target, obj.key, resp.get("Metadata") or {}, kind))
            bar(1)

    try:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            list(pool.map(fetch, todo))
    finally:
        bar.close()
    return saved
