"""Cost and Usage Report line items (legacy CUR and CUR 2.0) -> the cost frame.

The two generations spell the same columns differently; both are accepted, in CSV (``.csv``, ``.csv.gz``) and
Parquet:

- legacy CUR, CSV: ``lineItem/UnblendedCost``, ``lineItem/ResourceId``, ``product/region``,
  ``resourceTags/aws:createdBy``, ``resourceTags/user:Name`` (one column per tag);
- legacy CUR, Parquet / Athena: ``line_item_unblended_cost``, ``resource_tags_aws_created_by`` (one column per tag);
- CUR 2.0 (Data Exports): ``line_item_unblended_cost``, ``product_region_code``, and one ``resource_tags`` map column
  whose keys are normalized (``aws:createdBy`` -> ``aws_created_by``, ``user:Name`` -> ``user_name``); in CSV the
  map is JSON text.

Legacy names are first turned into snake case (``lineItem/UsageStartDate`` -> ``line_item_usage_start_date``), so
one mapping (:data:`FIELDS`, data rather than code) serves both.
"""
from __future__ import annotations

import re

import pandas as pd

from trailtools.evidence.cost.frame import as_tags, conform, created_by_of, tags_json

#: cost-frame column -> the CUR columns (snake case) it is read from, the first present wins.
FIELDS = {
    "usage_start": ("line_item_usage_start_date",),
    "usage_end": ("line_item_usage_end_date",),
    "cost": ("line_item_unblended_cost", "line_item_blended_cost"),
    "currency": ("line_item_currency_code", "pricing_currency"),
    "service": ("line_item_product_code", "product_servicecode"),
    "region": ("product_region_code", "product_region"),
    "usage_type": ("line_item_usage_type", "product_usagetype"),
    "account": ("line_item_usage_account_id", "bill_payer_account_id"),
    "resource_id": ("line_item_resource_id",),
    "instance_type": ("product_instance_type",),
    "usage_amount": ("line_item_usage_amount",),
    "line_item_type": ("line_item_line_item_type",),
}
REQUIRED = ("line_item_usage_start_date", "line_item_unblended_cost")
#: The billing-period folder of a key, one pattern per layout: Data Exports (CUR 2.0, FOCUS) ``BILLING_PERIOD=YYYY-MM``,
#: legacy CUR ``yyyymmdd-yyyymmdd``, legacy CUR Parquet (Athena) ``year=YYYY/month=M``.
_SEGMENT_PERIODS = (re.compile(r"^BILLING_PERIOD=(\d{4})-(\d{2})$"), re.compile(r"^(\d{4})(\d{2})01-\d{8}$"),
                    re.compile(r"^year=(\d{4})$"))
_MONTH = re.compile(r"^month=(\d{1,2})$")
LEGACY_TAG_PREFIXES = ("resourceTags/", "resource_tags_")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


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


def snake(name: str) -> str:
    """``lineItem/UsageStartDate`` -> ``line_item_usage_start_date`` (CUR 2.0 and Athena names stay as they are)."""
    return "_".join(_CAMEL.sub("_", part).lower() for part in name.split("/"))


def is_cur(columns) -> bool:
    names = {snake(c) for c in columns if not c.startswith(LEGACY_TAG_PREFIXES)}
    return all(r in names for r in REQUIRED)


def kind_of(columns) -> str:
    legacy = any("/" in c for c in columns) or any(c.startswith("resource_tags_") for c in columns)
    return "CUR (legacy)" if legacy else "CUR 2.0"


def _tag_maps(df: pd.DataFrame) -> list[dict]:
    """Each row's tags: CUR 2.0's ``resource_tags`` map, or legacy CUR's one column per tag."""
    maps: list[dict] = [{} for _ in range(len(df))]
    if "resource_tags" in df:
        maps = [as_tags(v) for v in df["resource_tags"]]
    for col in df.columns:
        for prefix in LEGACY_TAG_PREFIXES:
            if col.startswith(prefix):
                key = col[len(prefix):]
                for m, v in zip(maps, df[col]):
                    if v is not None and not (isinstance(v, float) and v != v) and str(v) not in ("", "NULL"):
                        m[key] = str(v)
    return maps


def transform_cur(df: pd.DataFrame) -> pd.DataFrame:
    """A CUR table (legacy or 2.0, as read from CSV or Parquet) -> the cost frame."""
    tags = _tag_maps(df)
    cols = {snake(c): c for c in df.columns if not c.startswith(LEGACY_TAG_PREFIXES) and c != "resource_tags"}
    out = pd.DataFrame(index=df.index)
    for name, candidates in FIELDS.items():
        src = next((cols[c] for c in candidates if c in cols), None)
        if src is not None:
            out[name] = df[src]
    if "region" not in out and "line_item_availability_zone" in cols:  # us-east-1a -> us-east-1
        out["region"] = df[cols["line_item_availability_zone"]].astype(str).str.replace(r"[a-z]$", "", regex=True)
    if "usage_end" not in out and "usage_start" in out:
        out["usage_end"] = None
    out["created_by"] = [created_by_of(m) for m in tags]
    out["tags"] = [tags_json(m) for m in tags]
    frame = conform(out)
    if frame["usage_end"].isna().all() and len(frame):
        frame["usage_end"] = frame["usage_start"] + pd.Timedelta(hours=1)
    return frame
