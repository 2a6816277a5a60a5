"""Records -> Arrow table of the events frame's columns (one table per chunk of files)."""
from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.compute as pc

from .records import COLUMNS, Record, columns

TIME_TYPE = pa.timestamp("us", tz="UTC")
_TYPES = {
    "str": pa.string(),
    "json": pa.string(),
    "cat": pa.dictionary(pa.int32(), pa.string()),
    "bool": pa.bool_(),
    "time": TIME_TYPE,
    "list": pa.list_(pa.string()),
}
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


def parse_times(texts: list[str | None]) -> tuple[pa.Array, list[int]]:
    """Timestamps (UTC, microseconds) for CloudTrail's eventTime strings, and the positions that could not be read."""
    arr = pa.array(texts, pa.string())
    fast = pc.strptime(arr, format=_ISO_FORMAT, unit="us", error_is_null=True)
    bad_mask = pc.and_(pc.is_null(fast), pc.is_valid(arr)).to_pylist()
    if not any(bad_mask):
        return fast.cast(TIME_TYPE), []
    values = fast.cast(TIME_TYPE).to_pylist()
    failed = []
    for i, bad in enumerate(bad_mask):
        if bad:
            values[i] = _lenient_time(texts[i])
            if values[i] is None:
                failed.append(i)
    return pa.array(values, TIME_TYPE), failed


def build(records: list[Record], files: list[str], indices: list[int]) -> tuple[pa.Table, list[tuple[int, str]]]:
    """A table for records that came from ``files[i]`` at position ``indices[i]``.

    Returns the table and, for rows whose eventTime cannot be parsed, (row number in the input, reason); those rows
    are left out of the table.
    """
    cols = columns(records)
    times, failed = parse_times(cols["eventTime"])
    arrays = []
    for field in SCHEMA:
        name = field.name
        if name == "eventTime":
            arrays.append(times)
        elif name == "_file":
            arrays.append(pa.array(files, pa.string()).dictionary_encode())
        elif name == "_index":
            arrays.append(pa.array(indices, pa.int32()))
        elif pa.types.is_dictionary(field.type):
            arrays.append(pa.array(cols[name], pa.string()).dictionary_encode())
        else:
            arrays.append(pa.array(cols[name], field.type))
    table = pa.Table.from_arrays(arrays, schema=SCHEMA)
    reasons = [(i, f"unparseable eventTime {cols['eventTime'][i][:40]!r}") for i in failed]
    if failed:
        keep = pa.array([True] * len(records))
        mask = keep.to_pylist()
        for i in failed:
            mask[i] = False
        table = table.filter(pa.array(mask))
    return table, reasons


def empty() -> pa.Table:
    return SCHEMA.empty_table()
