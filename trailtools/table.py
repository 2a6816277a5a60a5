"""Records -> an Arrow table of the events frame's columns (one table per chunk of files)."""
from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.compute as pc

from . import derive
from .records import FIELDS, Record, extract

TIME_TYPE = pa.timestamp("us", tz="UTC")
_TYPES = {
    "str": pa.string(),
    "json": pa.string(),
    "cat": pa.dictionary(pa.int32(), pa.string()),
    "bool": pa.bool_(),
    "time": TIME_TYPE,
    "list": pa.list_(pa.string()),
}
_KIND = dict(FIELDS)
#: The frame's columns in order: CloudTrail's fields with the derived ones beside what they come from.
COLUMNS: tuple[tuple[str, str], ...] = (
    FIELDS[:5] + (("actor", "cat"),) + FIELDS[5:29]
    + (("additionalEventData.MFAUsed", "cat"), ("additionalEventData.LoginTo", "str"),
       ("responseElements.ConsoleLogin", "cat"))
    + FIELDS[29:34] + (("instanceIds", "list"),) + FIELDS[34:]
)
#: The Arrow schema of every chunk: the frame's columns, then where each row came from (file and position).
SCHEMA = pa.schema(
    [pa.field(name, _TYPES[kind]) for name, kind in COLUMNS]
    + [pa.field("_file", pa.dictionary(pa.int32(), pa.string())), pa.field("_index", pa.int32())]
)
_ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _lenient_time(text: str) -> datetime | None:
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def parse_times(texts) -> tuple[pa.Array, list[int]]:
    """Timestamps (UTC, microseconds) for CloudTrail's eventTime strings, and the positions that could not be read."""
    arr = pa.array(texts, pa.string())
    fast = pc.strptime(arr, format=_ISO_FORMAT, unit="us", error_is_null=True).cast(TIME_TYPE)
    retry = pc.indices_nonzero(pc.and_(pc.is_null(fast), pc.is_valid(arr))).to_pylist()
    if not retry:
        return fast, []
    values = fast.to_pylist()
    failed = []
    for i in retry:
        values[i] = _lenient_time(texts[i])
        if values[i] is None:
            failed.append(i)
    return pa.array(values, TIME_TYPE), failed


def _json_text(raw: tuple) -> pa.Array:
    """Raw JSON bytes -> text, with JSON null (or nothing) as a missing value."""
    arr = pa.array(raw, pa.binary())
    try:
        text = arr.cast(pa.string())
    except pa.ArrowInvalid:  # bytes that are not UTF-8: keep what can be read
        text = pa.array([b.decode("utf-8", "replace") for b in raw], pa.string())
    missing = pc.or_(pc.equal(text, "null"), pc.equal(text, ""))
    return pc.if_else(missing, pa.scalar(None, pa.string()), text)


def build(records: list[Record], files: list[str], indices: list[int]) -> tuple[pa.Table, list[tuple[int, str]]]:
    """A table for records that came from ``files[i]`` at position ``indices[i]``.

    Returns the table and, for rows whose eventTime cannot be parsed, (row number in the input, reason); those rows
    are left out of the table.
    """
    raw = extract(records)
    times, failed = parse_times(raw["eventTime"])
    cols: dict[str, pa.Array] = {"eventTime": times}
    for name, kind in FIELDS[1:]:
        if kind == "json":
            cols[name] = _json_text(raw[name])
        elif kind == "bool":
            cols[name] = pa.array(raw[name], pa.bool_())
        else:
            cols[name] = pa.array(raw[name], pa.string())
    cols["actor"] = derive.actor(cols["userIdentity.type"], cols["userIdentity.arn"], cols["userIdentity.userName"],
                                 cols["userIdentity.principalId"], cols["userIdentity.accountId"],
                                 cols["userIdentity.invokedBy"])
    cols["additionalEventData.MFAUsed"] = derive.lifted(cols["additionalEventData"], "MFAUsed")
    cols["additionalEventData.LoginTo"] = derive.lifted(cols["additionalEventData"], "LoginTo")
    cols["responseElements.ConsoleLogin"] = derive.lifted(cols["responseElements"], "ConsoleLogin")
    cols["instanceIds"] = derive.instance_ids(cols["requestParameters"], cols["responseElements"],
                                              cols["resources"], cols["serviceEventDetails"])
    cols["_file"] = pa.array(files, pa.string()).dictionary_encode()
    cols["_index"] = pa.array(indices, pa.int32())
    arrays = [cols[f.name].dictionary_encode() if pa.types.is_dictionary(f.type) and f.name != "_file"
              else cols[f.name] for f in SCHEMA]
    table = pa.Table.from_arrays(arrays, schema=SCHEMA)
    reasons = [(i, f"unparseable eventTime {raw['eventTime'][i][:40]!r}") for i in failed]
    if failed:
        mask = [True] * len(records)
        for i in failed:
            mask[i] = False
        table = table.filter(pa.array(mask))
    return table, reasons


_EMPTY = SCHEMA.empty_table()


def empty() -> pa.Table:
    """A table with no rows (Arrow tables are immutable: one serves everyone)."""
    return _EMPTY
