"""The trail of the window: its log files and digests from the bucket (with each digest's signature as a sidecar,
and ``ListPublicKeys`` for the period), or its events from LookupEvents when there is no bucket.

From the bucket, only the window's prefixes are listed, exactly as the ``s3://`` source does
(:func:`trailtools.sources.s3.plan_prefixes`, with the ``CloudTrail-Digest`` folders too); a log file whose name
puts it outside the window is not downloaded. An object lands at its key from ``AWSLogs/`` on (the layout of
``aws s3 sync``, which the ``verify`` command and the folder source read), once :func:`~trailtools.collect.store.
safe_relative` accepts the key; any other key is noted and never downloaded. Objects larger than the reader's size
limit are not downloaded either. A rerun downloads nothing already in the case with the same ETag and size.

Files written:

- ``AWSLogs/.../CloudTrail/<region>/YYYY/MM/DD/*.json.gz`` the log files; ``AWSLogs/.../CloudTrail-Digest/...`` the
  digests, each with ``<digest>.metadata.json`` (its S3 metadata: the signature and its algorithm);
- ``cloudtrail/<region>/list-public-keys.json``: ``ListPublicKeys`` over the digests' period;
- ``cloudtrail-lookup/<region>/<start>_<end>.json`` (LookupEvents): the ``CloudTrailEvent`` of every event of one
  day, verbatim, as ``{"Records": [...]}``.
"""
from __future__ import annotations

import json
from datetime import timedelta

from trailtools.aws.errors import AWS_ERRORS, AwsDataUnavailable, call
from trailtools.aws.ratelimit import TokenBucket
from trailtools.aws.session import explain
from trailtools.collect.context import Collection, cli_json
from trailtools.collect.objects import copy_objects, list_objects
from trailtools.collect.store import UnsafeName, safe_relative
from trailtools.errors import TrailtoolsError
from trailtools.events import layout
from trailtools.events.limits import from_env
from trailtools.events.query import EARLY_MARGIN, Query
from trailtools.integrity.digests import DIGEST_NAME, aws_suffix, name_time, parse_signature_metadata, sidecar_path
from trailtools.progress import Progress
from trailtools.sources import lookup as lookup_source
from trailtools.sources.s3 import S3Object, day_range, plan_prefixes

IAM_ACTIONS = ("s3:ListBucket", "s3:GetObject", "cloudtrail:ListPublicKeys", "cloudtrail:LookupEvents")
#: Digests around the window that are kept: the one before its start (the chain's link) and the late ones.
AROUND = timedelta(hours=3)


def _query(c: Collection) -> Query:
    return Query(start=c.scope.start, end=c.scope.end, regions=c.scope.regions)


def _target(key: str) -> str:
    """Where an object goes in the case: its key from ``AWSLogs/`` on (or ``trail/<key>`` for a flat trail)."""
    suffix = aws_suffix(key)
    return str(safe_relative(suffix if suffix.startswith("AWSLogs/") else f"trail/{key}"))


def _wanted(c: Collection, keys: list[tuple]) -> tuple[list, list]:
    """(objects to copy [(S3Object, target, kind)], [(key, why not)])."""
    q = _query(c)
    lo, hi = c.scope.start - AROUND, c.scope.end + q.late_margin + AROUND
    out, refused = [], []
    limit = from_env().max_file_bytes
    for key, etag, size, *_ in keys:
        if key.endswith("/"):
            continue
        why = layout.unsafe_key(key)
        if why is None:
            try:
                target = _target(key)
            except UnsafeName as exc:
                why = str(exc)
        if why is not None:
            refused.append((key, why))
            continue
        info = layout.classify(key)
        name = key.rsplit("/", 1)[-1]
        if info.kind == layout.DIGEST and DIGEST_NAME.match(name):
            when = name_time(name)
            if when is not None and not (lo <= when.to_pydatetime() <= hi):
                continue
            kind = "digest"
        elif info.kind in (layout.LOG, layout.INSIGHT) and q.wants_path(info):
            kind = "log"
        else:
            continue
        if size > limit:
            refused.append((key, f"it is {size:,} bytes, over the reader's limit of {limit:,}"))
            continue
        out.append((S3Object(key, etag, size), target, kind))
    return out, refused


def _listing(c: Collection, s3) -> list[tuple]:
    q = _query(c)
    first = (c.scope.start - EARLY_MARGIN - AROUND).date()
    last = min((c.scope.end + q.late_margin + AROUND).date(), (c.scope.now + timedelta(days=1)).date())
    prefixes = plan_prefixes(s3, c.scope.bucket, c.scope.prefix, q, kinds=("CloudTrail", "CloudTrail-Digest"),
                             days=day_range(first, last))
    found = []
    for prefix, _ in prefixes:
        found += list_objects(s3, c.scope.bucket, prefix)[0]
    return found


def collect_s3(c: Collection) -> None:
    """The window's log files and digests from the trail bucket, and the public keys of the digests' regions."""
    bucket = c.scope.bucket
    try:
        s3 = c.client("s3", c.scope.regions[0] if c.scope.regions else None)
        keys = _listing(c, s3)
    except (TrailtoolsError, *AWS_ERRORS) as exc:
        c.not_collected(f"the trail in {c.scope.trail}", exc if isinstance(exc, TrailtoolsError)
                        else explain(exc, "s3", "ListObjectsV2"))
        return
    objects, refused = _wanted(c, keys)
    for key, why in refused:
        c.not_collected(f"s3://{bucket}/{layout.shown_name(key)}", f"Not downloaded: {why}.")

    def signed(target, kind, known):  # a digest held counts as done once its signature sidecar is held too
        return kind != "digest" or known.get(str(sidecar_path(target))) is not None

    saved = copy_objects(c, s3, bucket, objects, what="objects", also=signed,
                         region_of=lambda key: layout.classify(key).region)
    for target, key, meta, kind in saved:
        if kind != "digest":
            continue
        sig, alg = parse_signature_metadata(meta)
        if not sig:
            c.not_collected(f"the signature of s3://{bucket}/{layout.shown_name(key)}",
                            "The digest object has no signature in its S3 metadata (x-amz-meta-signature).")
            continue
        text = json.dumps({"Metadata": {"signature": sig, "signature-algorithm": alg or ""}}, indent=4) + "\n"
        c.save(str(sidecar_path(target)), text.encode(), {"s3": f"s3://{bucket}/{key}", "metadata_of": target,
                                                           "api": "s3:GetObject"})
    c.counts["trail_objects"] = len(objects)
    _public_keys(c, [t for _, t, k in objects if k == "digest"])


def _public_keys(c: Collection, digest_paths: list[str]) -> None:
    """``ListPublicKeys`` in every region with digests, over the period of its digests (and a day each side)."""
    by_region: dict[str, list] = {}
    for path in digest_paths:
        info = layout.classify(path)
        when = name_time(path)
        if info.region and when is not None:
            by_region.setdefault(info.region, []).append(when.to_pydatetime())
    for region, times in sorted(by_region.items()):
        start, end = min(times) - timedelta(days=1), max(times) + timedelta(hours=1)
        params = {"StartTime": start, "EndTime": end}
        try:
            ct = c.client("cloudtrail", region)
            keys, token = [], None
            for _ in range(20):
                resp = call(ct, "list_public_keys", **params, **({"NextToken": token} if token else {}))
                keys += resp.get("PublicKeyList") or []
                token = resp.get("NextToken")
                if not token:
                    break
        except (AwsDataUnavailable, *AWS_ERRORS) as exc:
            c.not_collected(f"the CloudTrail public keys of {region}", exc)
            continue
        c.save_response(f"cloudtrail/{safe_relative(region)}/list-public-keys.json", {"PublicKeyList": keys},
                        "cloudtrail:ListPublicKeys", params, region=region)


# ---------------------------------------------------------------- LookupEvents

def collect_lookup(c: Collection) -> None:
    """The window's management events from LookupEvents (90 days at most), one file per region and day."""
    s = c.scope
    regions = s.regions or [None]
    q = Query(start=s.start, end=s.end, regions=s.regions, principal=s.principals[0] if s.principals else None)
    try:
        if regions == [None]:
            regions = [c.client("cloudtrail", None).meta.region_name]
        p = lookup_source.plan(q, regions, now=s.now)
    except (TrailtoolsError, *AWS_ERRORS) as exc:
        c.not_collected("the trail (LookupEvents)", exc)
        return
    for note in p.notes:
        if "90 days" in note:
            c.not_collected("LookupEvents before its 90 days", note + ".")
    bar = Progress(len(p.calls), label="LookupEvents windows", enabled=c.progress)
    failed: set[str] = set()
    try:
        for lc in p.calls:
            bar(1)
            if lc.region in failed:
                continue
            try:
                client = c.client("cloudtrail", lc.region)
                events, _, truncated = lookup_source.fetch(client, lc, TokenBucket(lookup_source.RATE_PER_SECOND))
            except (AwsDataUnavailable, *AWS_ERRORS) as exc:
                failed.add(lc.region)
                c.not_collected(f"LookupEvents in {lc.region}", exc)
                continue
            if truncated:
                c.not_collected(f"LookupEvents in {lc.region} {lc.start:%Y-%m-%dT%H:%MZ}",
                                "More events than the page limit: only the first pages were saved; narrow the window.")
            good = [e["CloudTrailEvent"] for e in events if isinstance(e.get("CloudTrailEvent"), str)]
            body = ('{"Records":[' + ",".join(good) + "]}\n").encode("utf-8")
            attr = (f"_{lc.attribute['AttributeKey']}" if lc.attribute else "") + ("_global" if lc.only else "")
            rel = (f"cloudtrail-lookup/{safe_relative(lc.region)}/"
                   f"{lc.start:%Y%m%dT%H%MZ}_{lc.end:%Y%m%dT%H%MZ}{attr}.json")
            request = {"StartTime": lc.start, "EndTime": lc.end, "LookupAttributes": [lc.attribute] if lc.attribute
                       else [], "only_event_sources": list(lc.only)}
            c.save(rel, body, {"api": "cloudtrail:LookupEvents", "request": json.loads(cli_json(request)),
                               "events": len(good)}, region=lc.region)
    finally:
        bar.close()

