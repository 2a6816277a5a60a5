"""Chunks of rows -> the events frame: query filters, identical copies of an event dropped, sorted by time, as pandas.

The frame keeps CloudTrail's field names (dotted for nested ones); see docs/events-frame.md for every column.
"""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trailtools.events import table as tbl
from trailtools.events.cache import large_strings
from trailtools.events.derive import string_offsets
from trailtools.events.duplicates import DuplicateReport, identical_copies
from trailtools.events.query import PRINCIPAL_COLUMNS, RESOURCE_COLUMNS, Query, user_name_pattern


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
        # the identifier as a whole word: "i-0abc" must not match "i-0abcd"; ARNs and IDs inside JSON text alike;
        # AWS service events (a Spot interruption's BidEvictedEvent) name their instances in serviceEventDetails
        pattern = f"(^|[^A-Za-z0-9_-]){re.escape(query.resource)}([^A-Za-z0-9_-]|$)"
        masks.append(_or(pc.match_substring_regex(_text(table, name), pattern) for name in RESOURCE_COLUMNS))
    if query.principal:
        wanted = query.principal.lower()
        session = _text(table, "userIdentity.arn")
        checks = [pc.equal(pc.utf8_lower(_text(table, name)), wanted) for name in PRINCIPAL_COLUMNS]
        # the role session name: the last part of an assumed-role ARN
        checks.append(pc.ends_with(pc.utf8_lower(session), "/" + wanted))
        pattern = user_name_pattern(query.principal)
        if pattern:  # alice -> alice@example.com (the user name, or the session name ending the ARN)
            checks += [pc.match_substring_regex(pc.utf8_lower(_text(table, name)), pattern)
                       for name in ("userIdentity.arn", "userIdentity.userName", "actor")]
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
    h = np.empty(n, dtype=np.uint64)
    mix = np.uint64(0x9E3779B97F4A7C15)
    width, start = None, 0
    for arr in event_ids.chunks:  # chunk by chunk, reading the IDs where they are (no concatenated copy)
        m = len(arr)
        if not m:
            continue
        if arr.type not in (pa.string(), pa.large_string()):
            return False
        offsets = string_offsets(arr)
        width = int(offsets[1] - offsets[0]) if width is None else width
        if width == 0 or width > 64 or not bool(np.all(np.diff(offsets) == width)):
            return False
        data, first, out = arr.buffers()[2], int(offsets[0]), h[start:start + m]
        # any function of the bytes will do (equal IDs, equal hashes): the first and the last 8 bytes, where UUIDs
        # differ (shorter IDs: their bytes padded with zeros, twice)
        if width >= 8:
            head = np.ndarray((m,), dtype=np.uint64, buffer=data, offset=first, strides=(width,))
            tail = np.ndarray((m,), dtype=np.uint64, buffer=data, offset=first + width - 8, strides=(width,))
        else:
            padded = np.zeros((m, 8), dtype=np.uint8)
            padded[:, :width] = np.frombuffer(data, dtype=np.uint8, count=width * m, offset=first).reshape(m, width)
            head = tail = padded.view(np.uint64).ravel()
        np.multiply(tail, mix, out=out)
        np.bitwise_xor(out, head, out=out)
        start += m
    h.sort()
    return not bool(np.any(h[1:] == h[:-1]))


def _shared_ids(event_ids: pa.ChunkedArray, file_order: np.ndarray) -> tuple[np.ndarray, list[int]] | None:
    """The rows whose eventID another row has too, grouped by eventID and in file order within a group, with the
    position where each group starts; None when every eventID is distinct (one hash pass: the usual case)."""
    if _all_distinct(event_ids):
        return None
    encoded = event_ids.combine_chunks().dictionary_encode()
    if len(encoded.dictionary) == len(event_ids) - event_ids.null_count:
        return None
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    codes = np.where(np.isnan(codes), -1, codes).astype(np.int64) if codes.dtype.kind == "f" else codes
    codes = codes.astype(np.int64, copy=False)
    counts = np.bincount(codes[codes >= 0], minlength=len(encoded.dictionary))
    rows = np.flatnonzero((codes >= 0) & (counts[np.maximum(codes, 0)] > 1))  # rows without an eventID: never
    # the groups in the file order of their first copy, each in file order: the same whatever the chunks were
    first = np.full(len(counts), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, codes[rows], file_order[rows])
    rows = rows[np.lexsort((file_order[rows], first[codes[rows]]))]
    grouped = codes[rows]
    starts = np.flatnonzero(np.concatenate(([True], grouped[1:] != grouped[:-1])))
    return rows, starts.tolist()


def _types_mapper(arrow_type):
    if arrow_type == pa.bool_():
        return pd.BooleanDtype()
    if pa.types.is_list(arrow_type):
        return pd.ArrowDtype(arrow_type)
    if arrow_type == pa.string():
        return pd.StringDtype(na_value=float("nan"))
    return None


def _each(fn, n: int, threads: int) -> None:
    """``fn(i)`` for i in range(n), on up to ``threads`` threads (Arrow's and numpy's work runs outside the GIL)."""
    if threads <= 1 or n <= 1:
        for i in range(n):
            fn(i)
        return
    with ThreadPoolExecutor(min(threads, n)) as pool:
        for _ in pool.map(fn, range(n)):
            pass


def _columnwise(holder: list, op, threads: int = 1) -> None:
    """Replace the table in ``holder`` by ``op`` applied to each of its columns, letting each old column go as soon
    as it is done (the caller must hold the table only through ``holder``: one more reference keeps it all alive).

    ``threads`` above 1: two lanes, one after the other within each, side by side: the largest columns that make
    half the bytes, and the others. The two largest (a trail's request and response texts) are then never copied
    at the same time: the peak grows by the largest of the small lane's columns only.
    """
    table = holder.pop()
    schema, columns = table.schema, list(table.columns)
    del table
    out: list = [None] * len(columns)

    def lane(positions: list[int]) -> None:
        for i in positions:
            out[i] = op(columns[i])
            columns[i] = None

    big: list[int] = []
    if threads > 1:
        total, half = 0, sum(c.nbytes for c in columns) / 2
        for i in sorted(range(len(columns)), key=lambda i: -columns[i].nbytes):
            if total >= half:
                break
            big.append(i)
            total += columns[i].nbytes
    small = sorted(set(range(len(columns))) - set(big))
    if not big or not small:
        lane(list(range(len(columns))))
    else:
        with ThreadPoolExecutor(1) as pool:
            other = pool.submit(lane, small)
            lane(big)
            other.result()
    holder.append(pa.Table.from_arrays(out, schema=schema))


#: A run of rows already in order at least this long is kept as a slice of its chunk (no copy); shorter runs are
#: copied together. Past MAX_PIECES pieces a column is simply copied in the new order.
MIN_RUN = 512
MAX_PIECES = 4096


def _reorder(holder: list, order: np.ndarray, threads: int = 1) -> None:
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
        _columnwise(holder, lambda col: col.take(indices), threads)
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
                local = pa.array((idx[x:y] - offsets[c]).astype(np.int32))
                out.append((False, int(offsets[c]), int(lengths[c]), local))
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

    _columnwise(holder, rearranged, threads)


class _Categorical:
    """A dictionary column taken out of the table: its codes into one dictionary for all chunks, in the rows' order
    before any rearranging (see :func:`_categoricals`)."""

    def __init__(self, position: int, field: pa.Field, codes: np.ndarray, dictionary: pa.Array):
        self.position, self.field, self.codes, self.dictionary = position, field, codes, dictionary

    def to_pandas(self, rows: np.ndarray | None) -> pd.Categorical:
        """The column as pandas gets it from Arrow (``to_pandas`` of the unified dictionary column), for ``rows``."""
        if len(self.dictionary):
            categories = pd.Index(_types_mapper(pa.string()).__from_arrow__(self.dictionary))
        else:
            categories = pd.Index([], dtype=object)  # what pyarrow gives for an empty dictionary
        codes = self.codes if rows is None else self.codes[rows]
        return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories, ordered=self.field.type.ordered))


def _code_type(n_categories: int) -> type:
    """The integer type pandas gives the codes of a categorical with that many categories (it converts others)."""
    for kind in (np.int8, np.int16, np.int32):
        if n_categories < np.iinfo(kind).max:
            return kind
    return np.int64


def _nulls(array: pa.Array) -> np.ndarray:
    """A boolean mask of the array's nulls, from its validity bitmap."""
    bits = np.unpackbits(np.frombuffer(array.buffers()[0], dtype=np.uint8), bitorder="little")
    return bits[array.offset : array.offset + len(array)] == 0


#: The dictionaries' index types :func:`_categoricals` reads as they are (the chunks of a column may differ).
_INDEX_TYPES = {pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32}


def _categoricals(table: pa.Table, threads: int = 1) -> list[_Categorical] | None:
    """The table's dictionary columns as codes into one dictionary each, or None when one does not fit.

    The dictionary is the chunks' dictionaries unified in chunk order (first appearance wins, as
    ``unify_dictionaries`` makes it); each chunk's indices go straight through their chunk's mapping into codes of
    the type pandas will use. Done this way, a column is never rewritten in Arrow (unify, concatenate) before pandas
    copies it once more, and the categories are made from the Arrow dictionary rather than from Python strings: on a
    1M-event load (``_file`` has 120,000 values) that was most of the cost of ``to_pandas``. ``threads`` columns at
    a time.
    """
    positions = [i for i, f in enumerate(table.schema) if pa.types.is_dictionary(f.type)]
    for position in positions:
        field = table.schema.field(position)
        if field.type.index_type not in _INDEX_TYPES or not (
            pa.types.is_string(field.type.value_type) or pa.types.is_large_string(field.type.value_type)
        ):
            return None
        if any(c.dictionary.null_count for c in table.column(position).chunks):
            return None
    out: list = [None] * len(positions)

    def one(k: int) -> None:
        out[k] = _categorical(table, positions[k])

    _each(one, len(positions), threads)
    return out


def _identity(array: pa.Array) -> tuple:
    """What makes two arrays the same array: their type, offset, length and buffers (by address)."""
    return (str(array.type), array.offset, len(array),
            tuple(0 if b is None else b.address for b in array.buffers()))


def _categorical(table: pa.Table, position: int) -> _Categorical:
    """One dictionary column of the table (see :func:`_categoricals`)."""
    n = table.num_rows
    field = table.schema.field(position)
    chunks = table.column(position).chunks
    dictionaries = [c.dictionary for c in chunks]  # those of empty chunks too, as unify_dictionaries takes them
    # chunks that share one dictionary (unified where they were parsed) are mapped once
    same: dict[tuple, int] = {}
    distinct: list[pa.Array] = []
    which = []
    for d in dictionaries:
        k = same.setdefault(_identity(d), len(same))
        if k == len(distinct):
            distinct.append(d)
        which.append(k)
    if len(distinct) == 1:
        dictionary, maps = distinct[0], [None] * len(chunks)
    elif distinct:
        encoded = pa.concat_arrays(distinct).dictionary_encode()
        dictionary = encoded.dictionary
        where = encoded.indices.to_numpy()
        bounds = np.cumsum([0] + [len(d) for d in distinct])
        maps = [where[bounds[k]:bounds[k + 1]] for k in which]
    else:
        dictionary, maps = pa.array([], field.type.value_type), []
    kind = _code_type(len(dictionary))
    codes = np.empty(n, dtype=kind)
    start = 0
    for chunk, mapping in zip(chunks, maps):
        indices = chunk.indices
        stop = start + len(indices)
        target = codes[start:stop]
        if not len(indices):
            continue
        if indices.null_count == len(indices):
            target[:] = -1
        else:
            # the index buffer as it is (no copy); what lies under a null is undefined, hence "clip", then -1
            width = _INDEX_TYPES[indices.type]
            raw = np.frombuffer(indices.buffers()[1], dtype=width, count=len(indices),
                                offset=indices.offset * np.dtype(width).itemsize)
            if mapping is None:
                target[:] = raw
            else:
                np.take(mapping.astype(kind), raw, out=target, mode="clip")
            if indices.null_count:
                target[_nulls(indices)] = -1
        start = stop
    return _Categorical(position, field, codes, dictionary)


def _file_order(tables: list[pa.Table]) -> np.ndarray:
    """Each row's place in file order over all the tables (chunk tables arrive sorted by time, with ``_row``)."""
    parts, offset = [], 0
    for t in tables:
        parts.append(t.column(tbl.ROW).to_numpy().astype(np.int64) + offset)
        offset += t.num_rows
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


#: The frame's columns that pandas holds as plain numpy arrays.
_NUMPY_COLUMNS = tuple(f.name for f in tbl.SCHEMA if pa.types.is_timestamp(f.type) or pa.types.is_integer(f.type))


def _concat(parts: list[pa.Table]) -> pa.Table:
    """The tables one after the other; a dictionary column whose tables have different index types (tables that keep
    theirs narrow, :func:`trailtools.investigations.login.history._own`) takes the widest: the narrower chunks'
    indices are cast to it (a column's chunks share one type), the other columns are not copied."""
    first = parts[0].schema
    if all(p.schema.equals(first) for p in parts[1:]):
        return pa.concat_tables(parts)
    fields = []
    for i, f in enumerate(first):
        kinds = {p.schema.field(i).type for p in parts}
        if len(kinds) > 1 and all(pa.types.is_dictionary(k) and k.value_type == f.type.value_type for k in kinds):
            f = f.with_type(max(kinds, key=lambda k: k.index_type.bit_width))
        fields.append(f)
    schema = pa.schema(fields, metadata=first.metadata)
    return pa.concat_tables([p.cast(schema) for p in parts])


def finish(tables: list[pa.Table], query: Query, report: DuplicateReport | None = None,
           threads: int = 1) -> tuple[pd.DataFrame, int, int]:
    """The frame from chunk tables, and (rows outside the query, duplicates dropped).

    Rows that share an eventID are compared by content (:mod:`trailtools.events.duplicates`), among all the rows read:
    identical copies (CloudTrail delivering an event twice) are one event, the first in file order is kept and the
    others are dropped, counted among the rows that satisfy the query; copies that differ are all kept and listed
    in ``report``. Rows end sorted by eventTime (stable, so file order breaks ties). ``tables`` is emptied: the
    caller's references would otherwise keep every intermediate copy alive (peak memory).

    Chunk tables come sorted by time with ``_row`` (:func:`trailtools.events.table.sort_chunk`): a stable sort of their
    concatenation orders ties by chunk, then by ``_row``, which is file order, so the result is the one a sort of
    the rows in file order gives; dropping copies does not change the order of the rows kept.

    ``threads``: how many tables are converted, and dictionary columns read, at a time (a load whose parsing
    processes are done leaves the cores free); above 1, the rows are rearranged in two lanes (see
    :func:`_columnwise`): on the 1M-event load with 2 cores, 2 % faster, 35 MB more at the peak (two columns at a
    time: 77 MB).
    """
    file_order = _file_order(tables)
    # with column projection (``query.columns``), only the columns read (the chunks may hold more: a cache entry or a
    # parse of old): those of the frame and of the query's filters, which leave once the query is applied
    read = query.read_columns()
    parts: list = [None] * len(tables)

    def convert(i: int) -> None:  # the strings as pandas keeps them (and the cache)
        t, tables[i] = tables[i], None
        parts[i] = large_strings(t.drop_columns([tbl.ROW]) if read is None else t.select(list(read)))

    _each(convert, len(tables), threads)
    tables.clear()
    empty = tbl.SCHEMA.empty_table()
    holder = [_concat(parts) if parts else empty if read is None else empty.select(list(read))]
    parts.clear()
    mask = query_mask(holder[0], query)
    # copies of one event, before the query: a differing copy outside it is still a sign of tampering (only the
    # rows whose eventID is shared are compared, in file order)
    shared = _shared_ids(holder[0].column("eventID"), file_order)
    del file_order
    drop = None
    if shared is not None:
        rows_shared, starts = shared
        gone = identical_copies(holder[0].take(pa.array(rows_shared)), starts, report)
        if gone:
            drop = np.zeros(holder[0].num_rows, dtype=bool)
            drop[rows_shared[gone]] = True
        del shared, rows_shared, gone
    kept_columns = query.frame_columns()
    if kept_columns is not None and len(kept_columns) < holder[0].num_columns:  # the filters' own columns go
        holder.append(holder.pop().select(list(kept_columns)))
    # the dictionary columns leave the table as codes into one dictionary per column, unified in file order (as
    # concatenating the chunks in file order gives: the pandas categories must not depend on how rows move below);
    # their rows are rearranged at the end, with ``rows``
    categoricals = _categoricals(holder[0], threads) if holder[0].num_rows else None
    if categoricals:
        holder.append(holder.pop().drop_columns([c.field.name for c in categoricals]))
    elif any(col.num_chunks > 1 for col in holder[0].columns):
        holder.append(holder.pop().unify_dictionaries())
    rows: np.ndarray | None = None  # the rows kept, in their new order, as positions in the concatenated table

    def reorder(order: np.ndarray) -> None:
        nonlocal rows
        _reorder(holder, order, threads)
        rows = order if rows is None else rows[order]

    # the query's filter, the copies dropped and the sort by time are composed into one rearrangement of the rows
    # (``pending``, positions in the table), done once at the end
    pending: np.ndarray | None = None
    filtered_out = duplicates = 0
    kept = None
    if mask is not None and not pc.all(mask).as_py():
        kept = mask.to_numpy(zero_copy_only=False)
        filtered_out = holder[0].num_rows - int(np.count_nonzero(kept))
    del mask
    if drop is not None:
        duplicates = int(np.count_nonzero(drop if kept is None else drop & kept))
        kept = ~drop if kept is None else kept & ~drop
        del drop
    if kept is not None:
        pending = np.flatnonzero(kept)
        del kept
    times = holder[0].column("eventTime")
    times = times.to_numpy().view("int64") if len(times) else np.zeros(0, "int64")
    if pending is not None:
        times = times[pending]
    if not bool(np.all(times[1:] >= times[:-1])):  # a load of one region's files is often in order already
        order = np.argsort(times, kind="stable")
        pending = order if pending is None else pending[order]
    del times
    if pending is not None:
        reorder(pending)
        del pending
    if categoricals and not holder[0].num_rows:
        # no rows left: the dictionary columns go back empty, as a filter that keeps none leaves them
        table = holder.pop()
        for c in categoricals:
            table = table.add_column(c.position, c.field, pa.chunked_array([], type=c.field.type))
        holder.append(table)
        categoricals = None
    frame = holder.pop().to_pandas(types_mapper=_types_mapper, split_blocks=True, self_destruct=True)
    for c in categoricals or ():  # in the order of the columns, each where it was
        frame.insert(c.position, c.field.name, c.to_pandas(rows))
    for name in _NUMPY_COLUMNS:
        # a column that ended as one Arrow chunk comes out of to_pandas as a read-only view: make it the user's own
        # (8 bytes a row), so that the frame can be edited like any other
        if name in frame.columns:
            frame[name] = frame[name].copy()
    return frame, filtered_out, duplicates


def empty_frame() -> pd.DataFrame:
    """An events frame with no rows: every column, with its dtype (for an investigation that had no trail)."""
    return finish([tbl.empty()], Query())[0]
