"""``s3://bucket/prefix``: a CUR (legacy or 2.0) or FOCUS export in its S3 bucket, read without a local copy.

``list_objects_v2`` is paginated by continuation token with an explicit limit (:data:`MAX_PAGES` pages of 1,000
keys); CUR 2.0's ``BILLING_PERIOD=YYYY-MM``, legacy CUR's ``YYYYMMDD-YYYYMMDD`` and ``year=YYYY/month=M`` folders
outside the window are not fetched (pushed down, like the trail reader's date pruning). At most :data:`MAX_FILES`
files are read; the rest are listed as skipped. Needs ``s3:ListBucket`` and ``s3:GetObject``.
"""
from __future__ import annotations

from trailtools import aws
from trailtools.aws.errors import call
from trailtools.errors import SourceError
from trailtools.evidence.cost import local
from trailtools.evidence.cost.cur import billing_period, period_overlaps
from trailtools.evidence.cost.frame import CostData, CostStats

IAM_ACTIONS = ("s3:ListBucket", "s3:GetObject")
MAX_PAGES = 50
MAX_FILES = 500


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


def in_window(key: str, start, end) -> bool:
    """False only when the key's billing-period folder (:func:`~trailtools.evidence.cost.cur.billing_period`: Data
    Exports, legacy CUR, legacy CUR Parquet) is wholly outside [start, end)."""
    found = billing_period(key)
    return found is None or period_overlaps(found[0], start, end)


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
