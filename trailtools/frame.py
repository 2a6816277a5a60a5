"""Chunks of rows -> the events frame: query filters, duplicate eventIDs dropped, sorted by time, as pandas.

The frame keeps CloudTrail's field names (dotted for nested ones); see docs/events-frame.md for every column.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import table as tbl
from .query import Query

_PRINCIPAL_COLUMNS = (
    "userIdentity.arn", "userIdentity.userName", "actor", "userIdentity.principalId", "userIdentity.accessKeyId",
    "userIdentity.sessionContext.sessionIssuer.userName", "userIdentity.sessionContext.sessionIssuer.arn",
)


def _text(table: pa.Table, name: str) -> pa.ChunkedArray:
    col = table.column(name)
    return col.cast(pa.string()) if pa.types.is_dictionary(col.type) else col


def _or(masks):
    out = None
    for m in masks:
        m = pc.fill_null(m, False)
        out = m if out is None else pc.or_(out, m)
    return out


def query_mask(table: pa.Table, query: Query) -> pa.ChunkedArray | None:
    """A boolean mask of the rows that satisfy the query, or None when the query keeps everything."""
    masks = []
    times = table.column("eventTime")
    if query.start is not None:
        masks.append(pc.greater_equal(times, pa.scalar(query.start, tbl.TIME_TYPE)))
    if query.end is not None:
        masks.append(pc.less(times, pa.scalar(query.end, tbl.TIME_TYPE)))
    for name, values in (("awsRegion", query.regions), ("recipientAccountId", query.accounts),
                         ("eventName", query.event_names), ("eventSource", query.event_sources)):
        if values:
            masks.append(pc.is_in(_text(table, name), value_set=pa.array(values, pa.string())))
    if query.errors_only:
        masks.append(pc.is_valid(table.column("errorCode")))
    if query.resource:
        # the identifier as a whole word: "i-0abc" must not match "i-0abcd"; ARNs and IDs inside JSON text alike
        pattern = f"(^|[^A-Za-z0-9_-]){re.escape(query.resource)}([^A-Za-z0-9_-]|$)"
        masks.append(_or(pc.match_substring_regex(_text(table, name), pattern)
                         for name in ("resources", "requestParameters", "responseElements")))
    if query.principal:
        wanted = query.principal.lower()
        session = _text(table, "userIdentity.arn")
        checks = [pc.equal(pc.utf8_lower(_text(table, name)), wanted) for name in _PRINCIPAL_COLUMNS]
        # the role session name: the last part of an assumed-role ARN
        checks.append(pc.ends_with(pc.utf8_lower(session), "/" + wanted))
        masks.append(_or(checks))
    if not masks:
        return None
    out = masks[0]
    for m in masks[1:]:
        out = pc.and_(out, m)
    return pc.fill_null(out, False)


def _duplicates(event_ids: pa.ChunkedArray) -> pa.Array | None:
    """A mask of the rows whose eventID was seen in an earlier row, or None when there are none (one hash pass)."""
    encoded = event_ids.combine_chunks().dictionary_encode()
    if len(encoded.dictionary) == len(event_ids) - event_ids.null_count:
        return None
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    codes = np.where(np.isnan(codes), -1, codes).astype(np.int64) if codes.dtype.kind == "f" else codes
    dup = np.ones(len(codes), dtype=bool)
    _, first = np.unique(codes, return_index=True)
    dup[first] = False
    dup[codes < 0] = False  # rows without an eventID are never duplicates
    return pa.array(dup)


def _types_mapper(arrow_type):
    if arrow_type == pa.bool_():
        return pd.BooleanDtype()
    if pa.types.is_list(arrow_type):
        return pd.ArrowDtype(arrow_type)
    if arrow_type == pa.string():
        return pd.StringDtype(na_value=float("nan"))
    return None


def _take_columnwise(table: pa.Table, indices: pa.Array) -> pa.Table:
    """``table.take(indices)``, one column at a time, letting each old column go as soon as it is copied."""
    schema, columns = table.schema, list(table.columns)
    del table
    out = []
    for i in range(len(columns)):
        out.append(columns[i].take(indices))
        columns[i] = None
    return pa.Table.from_arrays(out, schema=schema)


def finish(tables: list[pa.Table], query: Query) -> tuple[pd.DataFrame, int, int]:
    """The frame from chunk tables, and (rows outside the query, duplicates dropped).

    Duplicates (the same eventID delivered twice) are counted among the rows that satisfy the query; the copy kept
    is the first in file order. Rows end sorted by eventTime (stable, so file order breaks ties). ``tables`` is
    emptied: the caller's references would otherwise keep every intermediate copy alive (peak memory).
    """
    table = pa.concat_tables(tables) if tables else tbl.empty()
    tables.clear()
    mask = query_mask(table, query)
    filtered_out = 0
    if mask is not None:
        kept = table.filter(mask)
        filtered_out = table.num_rows - kept.num_rows
        table = kept
    dup = _duplicates(table.column("eventID"))
    duplicates = 0
    if dup is not None:
        duplicates = pc.sum(dup).as_py()
        table = table.filter(pc.invert(dup))
    times = table.column("eventTime").to_numpy().view("int64") if table.num_rows else np.zeros(0, "int64")
    if not bool(np.all(times[1:] >= times[:-1])):  # a load of one region's files is often in order already
        table = _take_columnwise(table, pc.sort_indices(table, sort_keys=[("eventTime", "ascending")]))
    frame = table.to_pandas(types_mapper=_types_mapper, split_blocks=True, self_destruct=True)
    return frame, filtered_out, duplicates
