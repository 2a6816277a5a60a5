"""The cost frame: one row per line item (or Cost Explorer group and period), whatever the cost source.

Columns (documented in docs/cost.md; every column is always present, "" or NaN where the source has no value):

=================  ======================  ==========================================================================
column             type                    what
=================  ======================  ==========================================================================
``usage_start``    datetime64[us, UTC]     start of the charge period (an hour in a CUR, a day or month in CE)
``usage_end``      datetime64[us, UTC]     end of the charge period (exclusive)
``cost``           float64                 unblended cost (CUR ``line_item_unblended_cost``, FOCUS ``BilledCost``,
                                           CE ``UnblendedCost``)
``currency``       str                     ``USD`` ...
``service``        str                     CUR ``line_item_product_code`` (``AmazonEC2``), FOCUS ``ServiceName``,
                                           CE ``SERVICE`` ("Amazon Elastic Compute Cloud - Compute")
``region``         str                     ``ap-northeast-1`` ("" for global usage)
``usage_type``     str                     ``APN1-BoxUsage:p4d.24xlarge`` (FOCUS: ``SkuId``-less, so ChargeDescription)
``account``        str                     the usage (linked / sub-) account ID
``resource_id``    str                     instance ID, volume ID or ARN ("" when the line has none)
``instance_type``  str                     ``p4d.24xlarge`` where the source says
``usage_amount``   float64                 usage quantity in the pricing unit
``line_item_type`` str                     Usage, Tax, Credit, Fee ... (FOCUS ``ChargeCategory``)
``created_by``     str                     the ``aws:createdBy`` tag (``AssumedRole:AROA...:henry``), "" if absent
``tags``           str                     the resource's tags as a JSON object text (attacker-controlled!)
=================  ======================  ==========================================================================

Every string in this frame comes from a cost file or API response: treat it as attacker-controlled (a tag value
can hold ``<script>``); views and reports escape it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd

from trailtools.findings.model import iso_time

TIME_DTYPE = "datetime64[us, UTC]"
COLUMNS = {"usage_start": "time", "usage_end": "time", "cost": "float", "currency": "str", "service": "str",
           "region": "str", "usage_type": "str", "account": "str", "resource_id": "str", "instance_type": "str",
           "usage_amount": "float", "line_item_type": "str", "created_by": "str", "tags": "str"}
#: The spellings of the ``aws:createdBy`` tag key: as written, CUR 2.0's normalized key, legacy CUR's column.
CREATED_BY_KEYS = ("aws:createdBy", "aws_created_by", "resourceTags/aws:createdBy", "resource_tags_aws_created_by")
GRANULARITIES = ("HOURLY", "DAILY", "MONTHLY")


def utc(t) -> pd.Timestamp:
    """A time as a UTC timestamp (naive times are taken as UTC)."""
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def empty() -> pd.DataFrame:
    return conform(pd.DataFrame(columns=list(COLUMNS)))


def _time(values) -> pd.Series:
    s = pd.Series(values)
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        s = s.replace({"NULL": None, "": None})
        s = pd.to_datetime(s, utc=True, format="ISO8601")
    elif pd.api.types.is_datetime64_any_dtype(s):
        s = s.dt.tz_localize("UTC") if s.dt.tz is None else s.dt.tz_convert("UTC")
    else:
        s = pd.to_datetime(s, utc=True)
    return s.astype(TIME_DTYPE)


#: where a source has no instance-type column, the type is read from the usage type (``APN1-BoxUsage:p4d.24xlarge``,
#: Cost Explorer's resource rows) or the charge description (FOCUS: ``$2.00 per On Demand Linux m4.10xlarge
#: Instance Hour``).
_INSTANCE_TYPE = (r"(?:BoxUsage|SpotUsage|DedicatedUsage|HostUsage):([a-z0-9-]+\.[a-z0-9]+)"
                  r"|per On Demand .*? ([a-z0-9-]+\.[0-9]*[a-z]+) Instance Hour")


def conform(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with exactly the documented columns and types (missing ones added empty); ``instance_type`` filled
    from the usage type where the source has no such column."""
    out = pd.DataFrame(index=df.index)
    for name, kind in COLUMNS.items():
        col = df[name] if name in df else pd.Series([None] * len(df), index=df.index, dtype=object)
        if kind == "time":
            out[name] = _time(col).set_axis(df.index)
        elif kind == "float":
            out[name] = pd.to_numeric(
                col.replace({"NULL": None, "": None}) if col.dtype == object else col, errors="coerce"
            ).astype("float64")
        else:
            out[name] = col.map(
                lambda v: "" if v is None or (isinstance(v, float) and v != v) or v == "NULL" else str(v)
            ).astype(str)
    missing = out["instance_type"] == ""
    if missing.any():
        found = out.loc[missing, "usage_type"].str.extract(_INSTANCE_TYPE)
        out.loc[missing, "instance_type"] = found[0].fillna(found[1]).fillna("")
    return out.reset_index(drop=True)


def tags_json(tags: dict) -> str:
    return json.dumps({str(k): str(v) for k, v in sorted(tags.items())}, ensure_ascii=False) if tags else ""


def created_by_of(tags: dict) -> str:
    for key in CREATED_BY_KEYS:
        if tags.get(key):
            return str(tags[key])
    return ""


def as_tags(value) -> dict:
    """A tag map as a CUR 2.0 Parquet map column (list of pairs), a dict, or JSON text (CUR 2.0 CSV, FOCUS)."""
    if value is None or (isinstance(value, float) and value != value):
        return {}
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text or text == "NULL":
            return {}
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    try:
        return {k: v for k, v in value}
    except (TypeError, ValueError):
        return {}


@dataclass
class CostStats:
    """What a cost read did: files read, rows kept, what was skipped and why (nothing is dropped silently)."""

    source: str = ""
    files_read: int = 0
    rows: int = 0
    rows_outside_window: int = 0
    data_start: str | None = None  # the first and last period of the data before the window was applied
    data_end: str | None = None
    api_calls: int = 0
    truncated: bool = False
    skipped: list[dict] = field(default_factory=list)  # {"path": ..., "reason": ...}

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def summary(self) -> str:
        parts = [f"{self.rows:,} cost rows from {self.source}"]
        if self.files_read:
            parts.append(f"{self.files_read} files read")
        if self.api_calls:
            parts.append(f"{self.api_calls} API calls")
        if self.rows_outside_window:
            parts.append(f"{self.rows_outside_window:,} rows outside the window")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        if self.truncated:
            parts.append("TRUNCATED at the page limit")
        return ", ".join(parts)


@dataclass
class CostData:
    """What a cost source returns: the cost frame, resource-level rows when the frame has none (Cost Explorer's
    GetCostAndUsageWithResources), Cost Anomaly Detection anomalies, the stats, the input files and notes."""

    frame: pd.DataFrame
    stats: CostStats
    granularity: str = "DAILY"  # the finest period of the frame's rows
    kind: str = ""  # "CUR 2.0", "CUR (legacy)", "FOCUS 1.x", "Cost Explorer", ...
    resources: pd.DataFrame | None = None
    anomalies: pd.DataFrame | None = None
    inputs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def resource_frame(self) -> pd.DataFrame:
        """The rows that carry resource IDs: the resource-level rows when there are some, else the frame."""
        return self.resources if self.resources is not None and len(self.resources) else self.frame


def clip(data: CostData, start: pd.Timestamp | None, end: pd.Timestamp | None, service: str | None) -> CostData:
    """Keep the rows whose period overlaps [start, end), and of ``service`` when given (case-insensitive
    substring of the service name or code); the rest are counted."""

    def keep(df):
        if df is None or df.empty:
            return df
        m = pd.Series(True, index=df.index)
        if start is not None:
            m &= df["usage_end"].fillna(df["usage_start"]) > start
        if end is not None:
            m &= df["usage_start"] < end
        if service:
            m &= df["service"].str.lower().str.contains(service.lower(), regex=False)
        return df[m].reset_index(drop=True), int((~m).sum())

    if len(data.frame):
        data.stats.data_start = iso_time(data.frame["usage_start"].min())
        data.stats.data_end = iso_time(data.frame["usage_end"].fillna(data.frame["usage_start"]).max())
    frame, outside = keep(data.frame) if len(data.frame) else (data.frame, 0)
    data.frame = frame
    data.stats.rows_outside_window += outside
    data.stats.rows = len(frame)
    if data.resources is not None and len(data.resources):
        data.resources = keep(data.resources)[0]
    if data.anomalies is not None and len(data.anomalies):  # anomalies that overlap the window
        a = data.anomalies
        m = pd.Series(True, index=a.index)
        if start is not None:
            m &= a["end"].fillna(a["start"]) >= start.floor("D")
        if end is not None:
            m &= a["start"] < end
        data.anomalies = a[m].reset_index(drop=True)
    return data
