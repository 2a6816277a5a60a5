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


def _all_distinct(event_ids: pa.ChunkedArray) -> bool:
    """True when no two rows share an eventID, decided cheaply; False means "maybe": check exactly.

    CloudTrail's eventIDs are UUIDs, all of one length: their first and last 8 bytes are mixed into 64 bits with
    numpy and the hashes sorted. Distinct hashes prove distinct IDs (equal IDs hash alike); a shared hash, nulls or
    IDs of other lengths leave it to the exact check. Several times cheaper than hashing the strings in Arrow.
    """
    n = len(event_ids)
    if n < 2:
        return True
    if event_ids.null_count:
        return False
    arr = event_ids.combine_chunks()
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32, count=n + 1, offset=arr.offset * 4)
    width = int(offsets[1] - offsets[0])
    if width == 0 or width > 64 or not bool(np.all(np.diff(offsets) == width)):
        return False
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8, count=width * n, offset=int(offsets[0]))
    rows = data.reshape(n, width)
    # any function of the bytes will do (equal IDs, equal hashes): the first and the last 8 bytes, where UUIDs differ
    head = np.zeros((n, 8), dtype=np.uint8)
    tail = np.zeros((n, 8), dtype=np.uint8)
    head[:, :min(8, width)] = rows[:, :8]
    tail[:, :min(8, width)] = rows[:, -8:]
    h = head.view(np.uint64).ravel() ^ (tail.view(np.uint64).ravel() * np.uint64(0x9E3779B97F4A7C15))
    h.sort()
    return not bool(np.any(h[1:] == h[:-1]))


def _duplicates(event_ids: pa.ChunkedArray) -> pa.Array | None:
    """A mask of the rows whose eventID was seen in an earlier row, or None when there are none (one hash pass)."""
    if _all_distinct(event_ids):
        return None
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


def _columnwise(holder: list, op) -> None:
    """Replace the table in ``holder`` by ``op`` applied to each of its columns, letting each old column go as soon
    as it is done (the caller must hold the table only through ``holder``: one more reference keeps it all alive)."""
    table = holder.pop()
    schema, columns = table.schema, list(table.columns)
    del table
    out = []
    for i in range(len(columns)):
        out.append(op(columns[i]))
        columns[i] = None
    holder.append(pa.Table.from_arrays(out, schema=schema))


#: A run of rows already in order at least this long is kept as a slice of its chunk (no copy); shorter runs are
#: copied together. Past MAX_PIECES pieces a column is simply copied in the new order.
MIN_RUN = 512
MAX_PIECES = 4096


def _reorder(holder: list, order: np.ndarray) -> None:
    """Make the table in ``holder`` hold the rows at ``order`` (a permutation, or the rows a filter keeps), copying
    as little as possible.

    The chunks arrive sorted by time, so the order is mostly long runs of consecutive rows: those become slices of
    the existing columns (zero-copy), the rows between them are taken (copied) together.
    """
    n = len(order)
    if n == 0:  # no rows left: as a filter that keeps none gives it (pandas then sees no categories at all)
        table = holder.pop()
        holder.append(table.filter(pa.array(np.zeros(table.num_rows, dtype=bool))))
        return
    starts = np.flatnonzero(np.diff(order) != 1) + 1
    bounds = np.concatenate(([0], starts, [n]))
    pieces: list[tuple[bool, int, int]] = []   # (is a slice, start, length): slice of the old rows, or positions
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        if b - a >= MIN_RUN:
            pieces.append((True, int(order[a]), b - a))
        elif pieces and not pieces[-1][0]:
            pieces[-1] = (False, pieces[-1][1], pieces[-1][2] + b - a)
        else:
            pieces.append((False, a, b - a))
    if len(pieces) > MAX_PIECES:
        indices = pa.array(order)
        _columnwise(holder, lambda col: col.take(indices))
        return
    plans: dict[tuple, list] = {}

    def plan(lengths: tuple) -> list:
        """Per piece: (True, start, length): a slice; (False, start, length, positions): a take from a slice."""
        offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        out = []
        for is_slice, a, length in pieces:
            if is_slice:
                out.append((True, a, length, None))
                continue
            idx = order[a:a + length].astype(np.int64)
            lo, hi = int(idx.min()), int(idx.max()) + 1
            if hi - lo <= 8 * len(idx) + 65536:  # the rows lie close together: one take from that window
                out.append((False, lo, hi - lo, pa.array((idx - lo).astype(np.int32))))
                continue
            chunk = np.searchsorted(offsets, idx, side="right") - 1
            cuts = np.concatenate(([0], np.flatnonzero(np.diff(chunk)) + 1, [len(idx)]))
            for x, y in zip(cuts[:-1].tolist(), cuts[1:].tolist()):
                c = int(chunk[x])
                out.append((False, int(offsets[c]), int(lengths[c]), pa.array((idx[x:y] - offsets[c]).astype(np.int32))))
        return out

    def rearranged(col: pa.ChunkedArray) -> pa.ChunkedArray:
        # taking from a chunked array concatenates its chunks first: take from a slice that just holds the rows
        lengths = tuple(len(c) for c in col.chunks)
        steps = plans.get(lengths)
        if steps is None:
            steps = plans[lengths] = plan(lengths)
        parts = []
        for step in steps:
            window = col.slice(step[1], step[2])
            parts.extend(window.chunks if step[0] else window.take(step[3]).chunks)
        return pa.chunked_array(parts, type=col.type)

    _columnwise(holder, rearranged)


def _file_order(tables: list[pa.Table]) -> np.ndarray:
    """Each row's place in file order over all the tables (chunk tables arrive sorted by time, with ``_row``)."""
    parts, offset = [], 0
    for t in tables:
        parts.append(t.column(tbl.ROW).to_numpy().astype(np.int64) + offset)
        offset += t.num_rows
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def finish(tables: list[pa.Table], query: Query) -> tuple[pd.DataFrame, int, int]:
    """The frame from chunk tables, and (rows outside the query, duplicates dropped).

    Duplicates (the same eventID delivered twice) are counted among the rows that satisfy the query; the copy kept
    is the first in file order. Rows end sorted by eventTime (stable, so file order breaks ties). ``tables`` is
    emptied: the caller's references would otherwise keep every intermediate copy alive (peak memory).

    Chunk tables come sorted by time with ``_row`` (:func:`trailtools.table.sort_chunk`): a stable sort of their
    concatenation orders ties by chunk, then by ``_row``, which is file order, so the result is the one a sort of
    the rows in file order gives; only when there are duplicates to drop is file order restored first.
    """
    file_order = _file_order(tables)
    parts = [t.drop_columns([tbl.ROW]) for t in tables]
    tables.clear()
    holder = [pa.concat_tables(parts) if parts else tbl.SCHEMA.empty_table()]
    parts.clear()
    if any(col.num_chunks > 1 for col in holder[0].columns):
        # one dictionary per column, unified in file order, as concatenating the chunks in file order gives: the
        # rows are rearranged below, and the pandas categories must not depend on how
        holder.append(holder.pop().unify_dictionaries())
    mask = query_mask(holder[0], query)
    filtered_out = 0
    if mask is not None:
        before = holder[0].num_rows
        if not pc.all(mask).as_py():
            kept = mask.to_numpy(zero_copy_only=False)
            _reorder(holder, np.flatnonzero(kept))
            file_order = file_order[kept]
            del kept
        filtered_out = before - holder[0].num_rows
    del mask
    dup = _duplicates(holder[0].column("eventID"))
    duplicates = 0
    if dup is not None:
        if bool(np.any(np.diff(file_order) < 0)):  # back to file order, so that the first copy is kept
            _reorder(holder, np.argsort(file_order, kind="stable"))
            dup = _duplicates(holder[0].column("eventID"))
        duplicates = pc.sum(dup).as_py()
        _reorder(holder, np.flatnonzero(~dup.to_numpy(zero_copy_only=False)))
    del file_order
    times = holder[0].column("eventTime")
    times = times.to_numpy().view("int64") if len(times) else np.zeros(0, "int64")
    if not bool(np.all(times[1:] >= times[:-1])):  # a load of one region's files is often in order already
        _reorder(holder, np.argsort(times, kind="stable"))
    del times
    frame = holder.pop().to_pandas(types_mapper=_types_mapper, split_blocks=True, self_destruct=True)
    return frame, filtered_out, duplicates


def empty_frame() -> pd.DataFrame:
    """An events frame with no rows: every column, with its dtype (for an investigation that had no trail)."""
    return finish([tbl.empty()], Query())[0]
