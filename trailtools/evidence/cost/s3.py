"""``s3://bucket/prefix``: a CUR (legacy or 2.0) or FOCUS export in its S3 bucket, read without a local copy.

``list_objects_v2`` is paginated by continuation token with an explicit limit (:data:`MAX_PAGES` pages of 1,000
keys); CUR 2.0's ``BILLING_PERIOD=YYYY-MM`` and legacy CUR's ``YYYYMMDD-YYYYMMDD`` folders outside the window are
not fetched (pushed down, like the trail reader's date pruning). At most :data:`MAX_FILES` files are read; the rest
are listed as skipped. Needs ``s3:ListBucket`` and ``s3:GetObject``.
"""
from __future__ import annotations

import re

import pandas as pd

from trailtools import aws
from trailtools.aws.errors import call
from trailtools.errors import SourceError
from trailtools.evidence.cost import local
from trailtools.evidence.cost.frame import CostData, CostStats

IAM_ACTIONS = ("s3:ListBucket", "s3:GetObject")
MAX_PAGES = 50
MAX_FILES = 500
_PERIOD = re.compile(r"BILLING_PERIOD=(\d{4})-(\d{2})")
_LEGACY_PERIOD = re.compile(r"/(\d{8})-(\d{8})/")
#: The billing-period folder of a key, one pattern per layout: Data Exports (CUR 2.0, FOCUS) ``BILLING_PERIOD=YYYY-MM``,
#: legacy CUR ``yyyymmdd-yyyymmdd``, legacy CUR Parquet (Athena) ``year=YYYY/month=M``.
_SEGMENT_PERIODS = (re.compile(r"^BILLING_PERIOD=(\d{4})-(\d{2})$"), re.compile(r"^(\d{4})(\d{2})01-\d{8}$"),
                    re.compile(r"^year=(\d{4})$"))
_MONTH = re.compile(r"^month=(\d{1,2})$")


def split_uri(uri: str) -> tuple[str, str]:
    rest = uri[len("s3://"):]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise SourceError(f"{uri!r} names no bucket: give s3://BUCKET/PREFIX of the cost export.")
    return bucket, prefix


def list_keys(client, bucket: str, prefix: str, *, max_pages: int = MAX_PAGES) -> tuple[list[dict], bool]:
    """Every object under the prefix, at most ``max_pages`` pages: (objects, truncated)."""
    params = {"Bucket": bucket, "Prefix": prefix}
    out: list[dict] = []
    for _ in range(max_pages):
        resp = call(client, "list_objects_v2", **params)
        out.extend(resp.get("Contents") or [])
        if not resp.get("IsTruncated"):
            return out, False
        params["ContinuationToken"] = resp["NextContinuationToken"]
    return out, True


def billing_period(key: str) -> tuple[str, int] | None:
    """(``YYYY-MM``, the index of its folder among the key's ``/`` segments) of a CUR or Data Exports key's
    billing-period folder, or None when the key is in none."""
    parts = key.split("/")[:-1]
    for i, part in enumerate(parts):
        for pattern in _SEGMENT_PERIODS:
            m = pattern.match(part)
            if not m:
                continue
            if pattern.pattern.startswith("^year"):
                month = _MONTH.match(parts[i + 1]) if i + 1 < len(parts) else None
                if not month or not 1 <= int(month[1]) <= 12:
                    continue
                return f"{m[1]}-{int(month[1]):02d}", i
            if 1 <= int(m[2]) <= 12:
                return f"{m[1]}-{m[2]}", i
    return None


def period_overlaps(period: str, start, end) -> bool:
    """Whether the billing month ``YYYY-MM`` overlaps [start, end) (None: open)."""
    lo = pd.Timestamp(f"{period}-01", tz="UTC")
    hi = lo + pd.offsets.MonthBegin(1)
    return not ((start is not None and hi <= start) or (end is not None and lo >= end))


def in_window(key: str, start, end) -> bool:
    """False only when the key's billing-period folder is wholly outside [start, end)."""
    m = _PERIOD.search(key)
    if m:
        lo = pd.Timestamp(f"{m[1]}-{m[2]}-01", tz="UTC")
        hi = lo + pd.offsets.MonthBegin(1)
    else:
        m = _LEGACY_PERIOD.search(key)
        if not m:
            return True
        lo, hi = pd.Timestamp(m[1], tz="UTC"), pd.Timestamp(m[2], tz="UTC")
    return not ((start is not None and hi <= start) or (end is not None and lo >= end))


def read_s3(uri: str, q) -> CostData:
    bucket, prefix = split_uri(uri)
    client = aws.client("s3", region=q.region, profile=q.profile)
    stats = CostStats(source=uri)
    objects, truncated = list_keys(client, bucket, prefix, max_pages=q.max_pages)
    stats.api_calls += 1
    stats.truncated = truncated
    items = []
    for obj in objects:
        key = obj["Key"]
        if local._suffix(key) is None or key.lower().endswith("manifest.json"):
            continue
        if not in_window(key, q.start, q.end):
            continue
        if stats.files_read >= MAX_FILES:
            stats.skipped.append({"path": f"s3://{bucket}/{key}", "reason": f"over the {MAX_FILES}-file limit"})
            continue
        body = call(client, "get_object", Bucket=bucket, Key=key)["Body"].read()
        stats.api_calls += 1
        try:
            items.append((f"s3://{bucket}/{key}", local.read_table(key, body)))
            stats.files_read += 1
        except local.UNREADABLE as exc:
            stats.skipped.append({"path": f"s3://{bucket}/{key}", "reason": local._reason(exc)})
    return local.assemble(items, stats, uri)
