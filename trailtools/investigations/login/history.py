"""The login investigation out of core: the window whole, its baseline compact, computed by DuckDB over a scan.

The baseline period [start - baseline_days, start) is read as :data:`LOGIN_HISTORY` says: one row per distinct
combination of the columns the login analysis reads on history rows (``eventTime`` the first time, ``lastTime`` the
last, ``calls`` how many, ``eventID`` / ``_file`` / ``_index`` the first event's), and whole rows for the events the
analysis needs whole (sign-ins, credential-issuing calls, the trail's own control calls, and every eventName the
rules library's sequences read). The window [start, end) is kept whole but for the calls AWS services make as
themselves (``userIdentity.type`` ``AWSService``, no access key: KMS decrypts for EBS, CloudTrail's own writes, EC2
Auto Scaling; a sixth of the generated 10M-event trail's window), which no check reads one by one: they are compact
rows of the window (:data:`WINDOW_PART`), grouped apart from the baseline's, unless their eventName is one whose
rows or bodies a check reads. Memory then grows with the window's other calls and with distinct principals x
features of the baseline, not with its events.

Which columns the analysis reads on history rows (kept as :data:`KEYS`):
- sessions and credentials (:mod:`.sessions`): ``actor``, ``userIdentity.accessKeyId``, ``userIdentity.invokedBy``,
  ``sourceIPAddress``, ``userAgent``, ``eventName``, ``sessionCredentialFromConsole``;
- baseline features (:mod:`.baseline`): ``userIdentity.type`` / ``arn``, ``eventSource``, ``awsRegion``;
- access keys' new addresses (:mod:`.credentials`) and workload credentials
  (:mod:`trailtools.rules.credential_access`): the same, and ``errorCode``;
- sign-ins, STS and CreateAccessKey calls, the sequences' steps, the trail's control calls: whole rows.
The logging-coverage check gets the baseline's hourly counts per account from the same statement.
"""
from __future__ import annotations

import ctypes
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.arrays import ArrowExtensionArray

from trailtools.events import frame as frame_mod
from trailtools.events import parallel
from trailtools.events import table as tbl
from trailtools.events.cache import cache_root
from trailtools.events.derive import string_offsets
from trailtools.events.duplicates import DuplicateReport
from trailtools.events.query import Query
from trailtools.events.result import LoadOptions
from trailtools.events.stats import LoadStats
from trailtools.integrity.coverage import CONTROL_EVENTS
from trailtools.investigations.base import TEXT_COLUMNS, Needs
from trailtools.investigations.login.rules import CONSOLE_AGENT, ISSUING, PHRASES, STS_ISSUERS
from trailtools.investigations.login.sessions import SIGNIN_EVENTS
from trailtools.rules import chains, credential_access, registry
from trailtools.sources.compact import PART_WHOLE, CompactSpec, duckdb_sql
from trailtools.sources.scan import ORD, Scan

if TYPE_CHECKING:
    import duckdb

KEYS = (
    "actor", "eventName", "eventSource", "awsRegion", "sourceIPAddress", "userAgent", "errorCode",
    "userIdentity.type", "userIdentity.arn", "userIdentity.accessKeyId", "userIdentity.invokedBy",
    "sessionCredentialFromConsole",
)
#: eventNames the analysis reads whole on every history row: sign-ins (the baseline's usual places and times),
#: long-term keys handed out, the trail's own control calls (a logging gap opened before the window).
WHOLE_EVENTS = tuple(sorted(set(SIGNIN_EVENTS + ("CreateAccessKey",) + CONTROL_EVENTS)))
_SEQUENCES = registry.select(["sequences"])
#: eventNames read whole only where they can still lead into the window: temporary credentials (they last at most
#: 36 h) and the steps of the rules library's sequences (each spans at most its ``*_hours`` parameter).
RECENT_EVENTS = tuple(sorted(set(STS_ISSUERS + ("AssumeRoleForPodIdentity",) + tuple(
    registry.pushed_down(_SEQUENCES))) - set(WHOLE_EVENTS)))
RECENT_HOURS = max([36] + [int(v) for r in _SEQUENCES for k, v in r.parameters.items() if k.endswith("_hours")]) + 12
#: A temporary (``ASIA``) key of a call that is not a console call is read on history rows by nothing (its credential
#: counts only in the window; what the issued keys did later is in the window too): grouped as none, so that the
#: baseline holds one row per principal x features rather than one per role session. Long-term keys (new addresses
#: per key) and the console's keys (a console session's calls stay with the sign-in of the key's first call, which
#: may lie in the baseline) are kept: the conditions of :func:`~.sessions.console_calls`, widened.
KEY_KEPT = ("CASE WHEN {c[userIdentity.accessKeyId]} LIKE 'AKIA%' "
            "OR lower({c[sessionCredentialFromConsole]}) = 'true' "
            "OR ({c[sessionCredentialFromConsole]} IS NULL AND {regexp_like}({c[userAgent]}, '" + "(?i)"
            + CONSOLE_AGENT.replace("'", "''") + "')) THEN {c[userIdentity.accessKeyId]} END")
#: eventNames whose JSON bodies (:data:`~trailtools.investigations.base.TEXT_COLUMNS`) the login's checks read: the
#: rows kept whole in the baseline (sign-ins, issued keys, the trail's control calls, the sequences' steps), the
#: calls issuing credentials (their responses name the keys and sessions), the follow-ups whose title names a policy.
#: Empty (every event's) when a sequence reads every event.
TEXT_EVENTS = () if any(r.reads_every_event for r in _SEQUENCES) else tuple(sorted(set(
    WHOLE_EVENTS + RECENT_EVENTS + ISSUING + tuple(chains.ISSUERS) + tuple(credential_access.ISSUING)
    + tuple(name for name, phrase in PHRASES.items() if "{" in phrase))))
LOGIN_HISTORY = CompactSpec("login-history", KEYS, WHOLE_EVENTS, recent_events=RECENT_EVENTS,
                            recent_hours=RECENT_HOURS, transforms=(("userIdentity.accessKeyId", KEY_KEPT),))
#: The session token in an STS response's credentials (``"sessionToken": "IQoJ..."``, most of the response's bytes):
#: read by no check, not kept in the rows kept whole (the record in its file keeps it, :func:`~trailtools.events.
#: result.raw_record`).
SESSION_TOKEN = r'"sessionToken"\s*:\s*"[^"]*"'
#: What replaces it (the pattern has no group: RE2 finds the matches without tracking one, about 1.8x faster).
NO_TOKEN = '"sessionToken":"(not kept)"'
#: Text columns of the rows kept whole held as categories (one code a row): few distinct values on many rows (an
#: account's access keys: thousands on millions of calls; error messages), and the analysis's copies of them share
#: each value's text instead of making one a row.
CATEGORIES = ("userIdentity.accessKeyId", "errorMessage")
CATEGORY_TYPE = pa.dictionary(pa.int32(), pa.string())
#: ``_part`` (:func:`~trailtools.sources.compact.duckdb_sql`) of the baseline's compact rows, and of the window's: the
#: calls an AWS service makes as itself (:data:`SERVICE_TYPE`, no access key) whose eventName no check reads whole.
HISTORY_PART, WINDOW_PART = 0, 2
SERVICE_TYPE = "AWSService"
#: What DuckDB may hold in memory before it spills to its temporary folder.
MEMORY_LIMIT = "400MB"


@dataclass
class CompactLoad:
    """The window whole and its baseline compact, in one frame sorted by time (``calls`` and ``lastTime`` on every
    row: 1 and ``eventTime`` for whole rows), the hourly counts per account (``recipientAccountId``, ``eventTime``
    the hour, ``calls``) of every event compacted (the baseline's, the window's AWS services' calls), and the load
    statistics a whole load of the same files gives."""

    frame: pd.DataFrame
    hourly: pd.DataFrame
    stats: LoadStats
    compact_rows: int
    history_events: int
    #: the positions in ``frame`` of the compact rows (the baseline's and the window's): their other columns are empty
    compact_at: np.ndarray
    #: the window's calls by AWS services held compact (:data:`WINDOW_PART`): how many rows, standing for how many
    window_compact_rows: int = 0
    window_compact_events: int = 0


def _reader_type(t: pa.DataType) -> pa.DataType:
    """The type a column goes to DuckDB as: strings as ``large_string`` (the cache's), dictionaries kept (DuckDB reads
    each batch's own dictionary)."""
    if pa.types.is_dictionary(t):
        return pa.dictionary(t.index_type, _reader_type(t.value_type))
    return pa.large_string() if t == pa.string() else t


#: A dictionary longer than this is cut down to the values its rows use when a table is made its own (:func:`_own`).
OWN_DICTIONARY = 256


def _own(table: pa.Table) -> pa.Table:
    """The table (rows a filter or take made) with every buffer its own: a chunk from the cache is a memory-mapped
    file, and a filtered dictionary column still points into it (its dictionary is shared as it is), which would
    keep every file of the scan mapped. A long dictionary keeps only the values its rows use: each slice of a chunk
    carries the whole chunk's dictionary (a day's file names: thousands), and the scan keeps many slices (10M-event
    trail: 123 MB of ``_file`` names, 20 MB once cut); indices as narrow as the dictionary allows (:func:`_index_type`:
    the tables' types then differ, which :func:`~trailtools.events.frame.finish` takes)."""
    def own(chunk: pa.Array) -> pa.Array:
        if not pa.types.is_dictionary(chunk.type):
            return chunk
        indices, dictionary = chunk.indices, chunk.dictionary
        if len(dictionary) > OWN_DICTIONARY and len(indices):
            codes = np.asarray(pc.fill_null(indices, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
            present = np.bincount(codes, minlength=len(dictionary)) > 0     # (a count, not a sort, of the codes)
            used = np.flatnonzero(present)
            if len(used) < len(dictionary):
                kind = _index_type(len(used))
                remapped = (np.cumsum(present) - 1).astype(kind.to_pandas_dtype())[codes]
                return pa.DictionaryArray.from_arrays(
                    pa.array(remapped, kind, mask=np.asarray(indices.is_null().to_numpy(zero_copy_only=False),
                                                             bool) if indices.null_count else None),
                    dictionary.take(pa.array(used)))
        # (the indices are the filter's, already their own: only the dictionary is copied out of the mapping)
        return pa.DictionaryArray.from_arrays(indices.cast(_index_type(len(dictionary))),
                                              pa.concat_arrays([dictionary]))

    columns = []
    for col in table.columns:
        chunks = [own(c) for c in col.chunks]
        kinds = {c.type for c in chunks}
        if len(kinds) > 1:      # a column of several chunks: one type, the widest (its chunks' indices cast to it)
            widest = max(kinds, key=lambda k: k.index_type.bit_width)
            chunks = [c.cast(widest) for c in chunks]
        columns.append(pa.chunked_array(chunks, type=chunks[0].type if chunks else col.type))
    return pa.Table.from_arrays(columns, names=table.column_names)


def _index_type(n: int) -> pa.DataType:
    """The narrowest index type of a dictionary of ``n`` values: the rows kept whole hold 21 dictionary columns,
    whose 32-bit indices were a third of their memory (10M-event trail: 166 MB of the scan's 520)."""
    return pa.int8() if n <= 127 else pa.int16() if n <= 32767 else pa.int32()


def assemble(frame: pd.DataFrame, compact: pd.DataFrame, start: pd.Timestamp) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows kept whole and the compact rows (the baseline's, and the window's where there are some) in one frame
    sorted by time, then file order (``_ord``, where the frame has it; a compact row sits where its first event
    would; ``_ord`` then dropped), every other column with the whole frame's dtype (categories widened to the
    compact rows' values). Built a
    column at a time, each column taken out of ``frame`` as it is done (``frame`` is left empty): the whole rows are
    never held twice. Also the positions of the compact rows in it. Used by every compact engine (DuckDB here,
    Athena in :mod:`.history_athena`)."""
    del start   # (the compact rows sort among the whole ones by time wherever they are)
    n = len(compact)
    cols = {}
    absent = {col: col not in compact.columns for col in frame.columns}
    for col in frame.columns:
        dtype = frame[col].dtype
        values = compact[col] if col in compact.columns else None
        if isinstance(dtype, pd.CategoricalDtype):
            if values is not None:
                extra = pd.Index(pd.unique(values.dropna().astype(str))).difference(dtype.categories)
                if len(extra):
                    frame[col] = frame[col].cat.add_categories(extra)
                    dtype = frame[col].dtype
            cols[col] = pd.Categorical(values if values is not None else [None] * n, dtype=dtype)
        elif values is not None:
            cols[col] = values.astype(dtype) if str(dtype) != str(values.dtype) else values
        else:
            cols[col] = pd.Series([None] * n, dtype=dtype)
    compact = pd.DataFrame({k: pd.Series(v).reset_index(drop=True) for k, v in cols.items()})
    del cols
    order = _time_order(frame, compact)
    if ORD in frame.columns:    # (it has sorted the rows: read by nothing after, 8 bytes a row)
        del frame[ORD]
        compact = compact.drop(columns=[ORD], errors="ignore")
    compact_at = np.flatnonzero(order >= len(frame))
    whole_at = np.flatnonzero(order < len(frame))   # the whole rows' places, in the frame's order where it is sorted
    in_order = bool(np.all(order[whole_at][1:] > order[whole_at][:-1]))
    out = {}
    for col in list(frame.columns):
        dtype = frame[col].dtype
        if in_order and _is_text(frame[col]):
            if absent[col]:
                # a text the compact rows lack (the JSON bodies): spread among them without a copy of the column
                out[col] = pd.Series(pd.array(pa.chunked_array(
                    [_spread(_chunks(frame.pop(col)), whole_at, len(order))]), dtype=dtype))
                continue
            # a text as wide on every row (eventIDs: UUIDs): rows of bytes put in place, no second copy
            extra = pa.array(compact[col].to_numpy(dtype=object, na_value=None), pa.large_string())
            width = _common_width([*_chunks(frame[col]), extra])
            if width is not None:
                compact = compact.drop(columns=[col])
                out[col] = pd.Series(pd.array(pa.chunked_array([_fixed_width(
                    _chunks(frame.pop(col)), extra, width, whole_at, compact_at, order[compact_at] - len(frame))]),
                    dtype=dtype))
                continue
        if isinstance(frame[col].array, ArrowExtensionArray):
            # Arrow's take of a column in pieces first copies it into one: done here, and the pieces let go
            # before the take, so that at most two copies of one column exist at once (not three)
            kind = frame[col].array.__arrow_array__().type
            pieces = [*_chunks(frame.pop(col)), *_chunks(compact.pop(col).astype(dtype))]
            one = pa.chunked_array(pieces, type=kind).combine_chunks()
            del pieces
            out[col] = pd.Series(pd.array(pa.chunked_array([one.take(order)]), dtype=dtype))
            del one
            continue
        both = pd.concat([frame.pop(col).reset_index(drop=True), compact.pop(col)], ignore_index=True)
        out[col] = both.take(order).reset_index(drop=True)
        del both
    return pd.DataFrame(out, copy=False), compact_at     # (a dict is copied by default)


def _chunks(values: pd.Series) -> list[pa.Array]:
    return values.array.__arrow_array__().chunks


def _common_width(arrays: list[pa.Array]) -> int | None:
    """The length every text of ``arrays`` has (``large_string``, none missing), or None when they differ, one is
    missing or there is none."""
    width = None
    for a in arrays:
        if not len(a):
            continue
        lengths = np.diff(string_offsets(a))
        if a.null_count or not (lengths == lengths[0]).all() or width not in (None, int(lengths[0])):
            return None
        width = int(lengths[0])
    return width


def _fixed_width(chunks: list[pa.Array], extra: pa.Array, width: int, at: np.ndarray, extra_at: np.ndarray,
                 extra_rows: np.ndarray) -> pa.Array:
    """One ``large_string`` array of texts all ``width`` long (:func:`_common_width`): those of ``chunks`` (the
    whole rows, in order) at positions ``at``, those of ``extra`` (the compact rows: its row ``extra_rows[k]`` at
    ``extra_at[k]``). Built as a matrix of one row of bytes a text, each chunk let go once copied: the column is held
    once, not twice (Arrow's take combines the chunks first; CloudTrail's eventIDs are UUIDs, 36 bytes)."""
    n = sum(len(c) for c in chunks) + len(extra)
    data = np.empty((n, width), np.uint8)

    def rows(a: pa.Array) -> np.ndarray:
        offsets = string_offsets(a)
        if not width:
            return np.empty((len(a), 0), np.uint8)
        return np.frombuffer(a.buffers()[2], np.uint8)[int(offsets[0]):int(offsets[-1])].reshape(len(a), width)

    start = 0
    for i in range(len(chunks)):
        chunk, chunks[i] = chunks[i], None
        if len(chunk):
            data[at[start:start + len(chunk)]] = rows(chunk)
            start += len(chunk)
        del chunk
    if len(extra):
        data[extra_at] = rows(extra)[extra_rows]
    ends = np.arange(n + 1, dtype=np.int64) * width
    return pa.Array.from_buffers(pa.large_string(), n, [None, pa.py_buffer(ends), pa.py_buffer(data.reshape(-1))], 0)


def _is_text(values: pd.Series) -> bool:
    """An Arrow-backed column of ``large_string`` chunks (the frame's texts)."""
    array = values.array
    return isinstance(array, ArrowExtensionArray) and array.__arrow_array__().type == pa.large_string()


def _spread(chunks: list[pa.Array], at: np.ndarray, n: int) -> pa.Array:
    """One ``large_string`` array of ``n`` rows: the texts of ``chunks`` (the whole rows, in order) at the increasing
    positions ``at``, null elsewhere (the compact rows). Its bytes are the chunks' bytes one after the other (the
    nulls between them take none): a single chunk's own buffer, new offsets over it; several chunks' copied a chunk at
    a time into one buffer, each let go once copied. The column is never held twice (an Arrow take would copy it;
    the STS responses of the 10M-event trail's window are 131 MB)."""
    lengths, valid = np.zeros(n, np.int64), np.zeros(n, bool)
    start = 0
    for chunk in chunks:
        m = len(chunk)
        if not m:
            continue
        lengths[at[start:start + m]] = np.diff(string_offsets(chunk))
        valid[at[start:start + m]] = ~np.asarray(chunk.is_null().to_numpy(zero_copy_only=False), bool) \
            if chunk.null_count else True
        start += m
    ends = np.empty(n + 1, np.int64)
    full = [c for c in chunks if len(c)]
    ends[0] = int(string_offsets(full[0])[0]) if len(full) == 1 else 0
    np.cumsum(lengths, out=ends[1:])
    ends[1:] += ends[0]
    del lengths
    nulls = int(n - np.count_nonzero(valid))
    validity = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    if len(full) == 1:
        # one chunk (the frame's sort took the column whole): its bytes are the result's as they are, not copied
        data = full[0].buffers()[2] or pa.py_buffer(b"")
        return pa.Array.from_buffers(pa.large_string(), n, [validity, pa.py_buffer(ends), data], nulls)
    del full
    data = np.empty(int(ends[-1]), np.uint8)
    filled = 0
    for i in range(len(chunks)):
        chunk, chunks[i] = chunks[i], None
        if not len(chunk):
            continue
        offsets = string_offsets(chunk)
        first, last = int(offsets[0]), int(offsets[-1])
        if last > first:
            data[filled:filled + last - first] = np.frombuffer(chunk.buffers()[2], np.uint8)[first:last]
        filled += last - first
        del chunk
    return pa.Array.from_buffers(pa.large_string(), n, [validity, pa.py_buffer(ends), pa.py_buffer(data)], nulls)


def _time_order(frame: pd.DataFrame, compact: pd.DataFrame) -> np.ndarray:
    """Positions of the rows of ``frame`` then ``compact`` sorted by eventTime (missing last), then ``_ord`` where
    the frame has it (missing last), stable: the order a sort of both frames' rows by those columns gives."""
    last = np.iinfo(np.int64).max

    def key(values: pd.Series) -> np.ndarray:
        ints = values.to_numpy(dtype="datetime64[us]", na_value=np.datetime64("NaT")).view(np.int64).copy() \
            if len(values) else np.zeros(0, np.int64)
        ints[ints == np.iinfo(np.int64).min] = last
        return ints

    times = np.concatenate([key(frame["eventTime"]), key(compact["eventTime"])])
    if ORD not in frame.columns:
        return np.argsort(times, kind="stable")
    ords = np.concatenate([pd.to_numeric(part[ORD]).fillna(last).to_numpy(dtype=np.int64)
                           for part in (frame, compact)])
    return np.lexsort((ords, times))


def load_compact(uri: str, start: pd.Timestamp, end: pd.Timestamp, baseline_days: int,
                 options: LoadOptions | None = None, spec: CompactSpec = LOGIN_HISTORY,
                 needs: Needs | None = None) -> CompactLoad:
    """Scan ``uri`` for [start - baseline_days, end): the window [start, end) whole, the rest compact
    (see the module's docstring). ``needs``: what the analysis reads (the login's ``NEEDS``): the rows kept whole
    hold only its columns (and the spec's), their JSON bodies only on its ``text_events``; None: every column."""
    _returning_pool()
    first = start - pd.Timedelta(days=int(baseline_days))
    query = Query(start=first.to_pydatetime(), end=end.to_pydatetime())
    scan = Scan(uri, query, options)
    shape = _Shape.of(needs, spec)
    out = _consume(scan, query, start, spec, shape, drops=set())
    report = DuplicateReport()
    drops = scan.copies(report)
    if drops:   # identical copies of an event: dropped as the loader drops them, everything done again without them
        del out     # (the first pass's rows let go before the second keeps its own)
        out = _consume(scan, query, start, spec, shape, drops=drops)
    kept, result, filtered_out, duplicates = out
    if not kept:    # nothing whole: an empty table of the chunks' columns, so the frame still has every one
        kept = [shape.table(tbl.CHUNK_SCHEMA.append(pa.field(ORD, pa.int64())).empty_table())]
    frame, _, _ = frame_mod.finish(kept, Query(), DuplicateReport())
    frame["calls"] = np.ones(len(frame), dtype=np.int64)
    frame["lastTime"] = frame["eventTime"]
    sets = result.column("_set").to_numpy()
    part = result.column("_part").to_numpy(zero_copy_only=False)
    compact = result.filter(pa.array((sets == 0) & (part != PART_WHOLE)))
    in_window = compact.column("_part").to_numpy(zero_copy_only=False) == WINDOW_PART
    hourly = result.filter(pa.array(sets == 1)).select(["_by", "_hour", "calls"])
    del result, sets, part
    compact = _categories_as_in(compact.drop_columns(["_set", "_part", "_by", "_hour"]), frame).to_pandas()
    window_calls = int(compact["calls"][in_window].sum())
    history_events = int(compact["calls"].sum()) - window_calls + int((frame["eventTime"] < start).sum())
    events = len(frame) + int(compact["calls"].sum())
    _release()      # (what the scan, DuckDB's result and the frame's making freed: before assemble's copies)
    both, compact_at = assemble(frame, compact, start)
    del frame
    both = _one_chunk(both)
    hourly = pd.DataFrame({"recipientAccountId": hourly.column("_by").to_pandas().astype(object),
                           "eventTime": hourly.column("_hour").to_pandas(),
                           "calls": hourly.column("calls").to_pandas()})
    stats = scan.finish(filtered_out=filtered_out, duplicates=duplicates,
                        events=events, report=report)
    window_rows = int(in_window.sum())
    compact_rows = len(compact) - window_rows
    del kept, compact
    _release()
    return CompactLoad(both, hourly, stats, compact_rows, history_events, compact_at, window_rows, window_calls)


def _categories_as_in(compact: pa.Table, frame: pd.DataFrame) -> pa.Table:
    """The compact rows' texts as dictionaries where the frame holds them as categories (``assemble`` makes them so):
    a text a row was 113 MB of the 10M-event trail's 178,318 compact rows, held beside the whole frame as it is
    assembled; as codes 30 MB."""
    for i, name in enumerate(compact.column_names):
        column = compact.column(i)
        if (name in frame.columns and isinstance(frame[name].dtype, pd.CategoricalDtype)
                and (pa.types.is_string(column.type) or pa.types.is_large_string(column.type))):
            compact = compact.set_column(i, name, pc.dictionary_encode(column))
    return compact


def _one_chunk(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every Arrow-backed column (text, lists) in one chunk: a column stays in the pieces the scan
    read it in (one per file), and selecting rows of a column of many pieces first copies the whole column into
    one (pyarrow's take), so that every ``frame[mask]`` of the analysis would copy every text column whole."""
    for col in frame.columns:
        values = frame[col].array
        if not hasattr(values, "__arrow_array__"):
            continue
        chunks = values.__arrow_array__()
        if isinstance(chunks, pa.ChunkedArray) and chunks.num_chunks > 1:
            frame[col] = pd.Series(pd.array(pa.chunked_array([chunks.combine_chunks()]), dtype=frame[col].dtype),
                                   index=frame.index)
    return frame


def _returning_pool() -> None:
    """Arrow's allocations (the scan's tables, the frame's text columns) from jemalloc where pyarrow has it: the
    default mimalloc keeps what the load and the analysis's transient copies free, jemalloc gives it back (measured
    on the 1M-event, 30-day corpus: peak 1022 MB with mimalloc, 870 MB with jemalloc, 965 MB with the system's);
    and glibc's large blocks (the analysis's numpy and pandas copies) given back when freed
    (:func:`~trailtools.events.parallel.return_freed_memory`; a warm scan starts no workers, which set it otherwise:
    measured on the 10M-event trail, the analysis's peak 2.1 -> 1.7 GB, no slower)."""
    parallel.return_freed_memory()
    if pa.default_memory_pool().backend_name == "jemalloc":
        return
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
        pa.jemalloc_set_decay_ms(0)
    except NotImplementedError:     # a pyarrow built without it (some platforms): the default stays
        pass


def _release() -> None:
    """Give the memory the scan freed back to the system: Arrow's pool (jemalloc, or the default mimalloc where pyarrow
    has no jemalloc, keeps freed pages for reuse) and glibc's heap (the scan's and DuckDB's freed blocks), which the
    analysis after the load would not reuse."""
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):   # not glibc: nothing to trim
        pass


@dataclass(frozen=True)
class _Shape:
    """What a row kept whole holds: ``columns`` (None: all), the JSON bodies only where ``text_events`` (None: on
    every row) has its eventName."""

    columns: frozenset | None
    text_events: pa.Array | None

    @classmethod
    def of(cls, needs: Needs | None, spec: CompactSpec) -> _Shape:
        if needs is None:
            return cls(None, None)
        columns = needs.query().frame_columns()
        columns = None if columns is None else frozenset((*columns, *spec.columns(), ORD, tbl.ROW))
        return cls(columns, pa.array(needs.text_events, pa.string()) if needs.text_events else None)

    def table(self, t: pa.Table) -> pa.Table:
        """``t`` (rows of the scan) as kept: its columns, its JSON bodies where read (the others' null)."""
        return self.strip(self.select(t))

    def select(self, t: pa.Table) -> pa.Table:
        return t if self.columns is None else t.select([c for c in t.column_names if c in self.columns])

    def strip(self, t: pa.Table) -> pa.Table:
        """``t`` as kept: the JSON bodies null on the rows whose eventName is not in ``text_events``, the
        :data:`CATEGORIES` as dictionaries, no STS session token."""
        if self.text_events is None or not t.num_rows:
            return t
        names = t.column("eventName")
        names = names.cast(pa.string()) if pa.types.is_dictionary(names.type) else names
        read = np.asarray(pc.fill_null(pc.is_in(names, value_set=self.text_events), False)
                          .to_numpy(zero_copy_only=False), bool)
        if not read.all():
            # a take with null positions: only the bodies kept are copied (an if_else would keep every body's bytes)
            positions = pa.array(np.arange(t.num_rows), mask=~read)
            for col in TEXT_COLUMNS:
                if col in t.column_names:
                    t = t.set_column(t.column_names.index(col), col, t.column(col).take(positions))
        for col in CATEGORIES:     # (one type whichever the chunk had: a dictionary already, or large strings)
            if col in t.column_names and t.schema.field(col).type != CATEGORY_TYPE:
                values = t.column(col)
                values = values if pa.types.is_dictionary(values.type) else pc.dictionary_encode(values)
                t = t.set_column(t.column_names.index(col), col, values.cast(CATEGORY_TYPE))
        if "responseElements" in t.column_names:     # most of an STS response, read by no check
            t = t.set_column(t.column_names.index("responseElements"), "responseElements", pc.replace_substring_regex(
                t.column("responseElements"), pattern=SESSION_TOKEN, replacement=NO_TOKEN))
        return t


def connect(threads: int) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for the history's aggregate: UTC, bounded memory (spilling into the cache's folder), no
    insertion order, and no progress bar (DuckDB draws one on stdout for a query of more than 2 s, into the JSON or
    the events a command writes there)."""
    import duckdb  # noqa: PLC0415 - heavy, and only the out-of-core engine needs it

    con = duckdb.connect(config={"threads": threads})
    spill = str(cache_root() / "duckdb-tmp").replace("'", "''")
    con.execute(f"SET TimeZone='UTC'; SET memory_limit='{MEMORY_LIMIT}'; SET temp_directory='{spill}'; "
                "SET preserve_insertion_order=false; SET enable_progress_bar=false")
    return con


def _consume(scan: Scan, query: Query, start: pd.Timestamp, spec: CompactSpec, shape: _Shape, drops: set):
    """One pass: the rows kept whole (chunk tables), the DuckDB result, rows outside the query, copies dropped."""
    kept: list[pa.Table] = []
    counts = {"out": 0, "dups": 0, "window": False}
    always, recent = pa.array(spec.whole_events, pa.string()), pa.array(spec.recent_events, pa.string())
    since = pa.scalar(spec.whole_since(query.start, start.to_pydatetime()), pa.timestamp("us", tz="UTC"))
    columns = spec.columns()
    wanted = drops and np.array(sorted(drops), dtype=np.int64)
    start_s = pa.scalar(start.to_pydatetime(), pa.timestamp("us", tz="UTC"))
    # the window's calls whose eventName a check reads whole (or whose bodies it reads) are never compacted; when
    # every event's bodies are read (a sequence reads every event), none is
    named = None if shape.text_events is None else pa.array(sorted(
        set(shape.text_events.to_pylist()) | set(spec.whole_events) | set(spec.recent_events)), pa.string())

    source = scan.results()
    carried: list[pa.RecordBatch] = []  # the batches of the slice that ended the first statement
    # The rows kept whole are made as they will be kept (the session tokens cut out of STS responses, the buffers
    # their own) in a thread of their own while DuckDB reads the next slice, one slice behind at most (10M-event
    # trail, warm: the window's statement had one core busy, this thread, 3.7 s): only where the scan is warm, since
    # a cold scan may fork its parsing workers from here, and a fork must not find another thread running.
    keeper = ThreadPoolExecutor(1, thread_name_prefix="kept") if scan.warm() else None
    making: list[Future] = []

    def keep_rows(rows: pa.Table) -> None:
        if making:
            kept.append(making.pop().result())
        if keeper is None:
            kept.append(_own(shape.strip(rows)))
        else:
            making.append(keeper.submit(lambda: _own(shape.strip(rows))))

    def batches(until_window: bool):
        """DuckDB's batches of the rows read next; ``until_window``: stop after the first slice with rows of the
        window (its batches carried to the next statement)."""
        yield from carried
        carried.clear()
        for t in source:
            mask = frame_mod.query_mask(t, query)
            inq = np.ones(t.num_rows, bool) if mask is None else np.asarray(mask.to_numpy(zero_copy_only=False), bool)
            counts["out"] += int(t.num_rows - inq.sum())
            if drops:
                gone = np.isin(t.column(ORD).to_numpy(), wanted)
                counts["dups"] += int((gone & inq).sum())
                inq &= ~gone
            times = t.column("eventTime")
            win = inq & np.asarray(pc.fill_null(pc.greater_equal(times, start_s), False)
                                   .to_numpy(zero_copy_only=False), bool)
            hist = inq & ~win
            reached = bool(win.any())
            event = t.column("eventName")
            whole = _is_in(event, always) | (_is_in(event, recent) & np.asarray(
                pc.fill_null(pc.greater_equal(times, since), False).to_numpy(zero_copy_only=False), bool))
            service = win & _by_service(t, event, named) if named is not None and reached else None
            keep = win & ~service if service is not None else win.copy()
            keep |= hist & whole
            if keep.any():
                keep_rows(shape.select(t).filter(pa.array(keep)))
            h = None
            feed = hist | service if service is not None else hist
            if feed.any():
                part = np.where(whole, PART_WHOLE, HISTORY_PART).astype(np.int8)
                if service is not None:
                    part[service] = WINDOW_PART
                # (a slice of the baseline's days is fed whole: its columns as they are, not a filter's copy)
                h = t.select(columns) if feed.all() else t.select(columns).filter(pa.array(feed))
                h = h.append_column("_part", pa.array(part[feed])).cast(schema)
            # the chunk (from the cache: a slice of a mapped file) let go before DuckDB reads the rows and the next
            # one is read; the rows DuckDB reads are the filter's copy, or the slice's own columns where every row
            # goes (DuckDB keeps no batch once read, so the mapping goes with the batch, and nothing is copied for it)
            del t, times, event, mask
            if h is not None:
                if until_window and reached:
                    carried.extend(h.to_batches())
                else:
                    yield from h.to_batches()
            if until_window and reached:
                counts["window"] = True
                return

    base = scan_schema(columns).schema
    schema = pa.schema([f.with_type(_reader_type(f.type)) for f in base]).append(pa.field("_part", pa.int8()))
    # one thread where the scan parses files: it forks its parsing workers from DuckDB's callback, and a fork must
    # not find other threads running (the aggregation is cheap beside the parsing); every core where the cache holds
    # every chunk (10M-event trail, warm: the scan 19-26 s -> 16.5-17 s)
    threads = parallel.default_workers() if scan.warm() else 1
    # Two statements: the baseline's rows up to the first slice with rows of the window, then the rest (the window's
    # compact rows, the baseline's late deliveries), their results one after the other: the first statement's hash
    # tables are gone before the window's whole rows pile up (10M-event trail: the scan's peak 1.29 -> 1.15 GB; a
    # statement merging the two results cost more at the end than it saved). A group of the baseline's calls whose
    # events came in both parts is two compact rows alike, as two whole rows alike are (merging them would change no
    # count, first or last time the analysis reads).
    try:
        parts = [_aggregate(spec, threads, pa.RecordBatchReader.from_batches(schema, batches(until_window=True)))]
        if counts["window"]:
            _release()
            parts.append(_aggregate(spec, threads,
                                    pa.RecordBatchReader.from_batches(schema, batches(until_window=False))))
        if making:
            kept.append(making.pop().result())
    finally:
        if keeper is not None:
            keeper.shutdown(cancel_futures=True)
    result = pa.concat_tables([p.cast(parts[0].schema) for p in parts]) if len(parts) > 1 else parts[0]
    return kept, result, counts["out"], counts["dups"]


def _aggregate(spec: CompactSpec, threads: int, reader: pa.RecordBatchReader) -> pa.Table:
    """The spec's statement over the reader's batches, in a connection of its own (closed after: DuckDB's memory
    freed)."""
    con = connect(threads)
    try:
        con.register("history", reader)
        return con.sql(duckdb_sql(spec, "history")).to_arrow_table()
    finally:
        con.close()


def _is_in(values: pa.ChunkedArray, names: pa.Array) -> np.ndarray:
    """Which rows' values are in ``names`` (missing: no). A dictionary column is looked up once per value of its
    dictionary, not once per row (a slice's eventNames are 65,536 rows of a few hundred names)."""
    parts = []
    for chunk in values.chunks:
        if pa.types.is_dictionary(chunk.type):
            known = np.asarray(pc.fill_null(pc.is_in(chunk.dictionary, value_set=names), False)
                               .to_numpy(zero_copy_only=False), bool)
            codes = np.asarray(pc.fill_null(chunk.indices, -1).to_numpy(zero_copy_only=False), np.int64)
            parts.append(np.append(known, False)[codes])     # (-1, a missing value: the False appended)
        else:
            parts.append(np.asarray(pc.fill_null(pc.is_in(chunk, value_set=names), False)
                                    .to_numpy(zero_copy_only=False), bool))
    return np.concatenate(parts) if parts else np.zeros(0, bool)


def _by_service(t: pa.Table, event: pa.ChunkedArray, named: pa.Array) -> np.ndarray:
    """Which rows of ``t`` are calls an AWS service made as itself (:data:`SERVICE_TYPE`, no access key) whose
    eventName is not in ``named``."""
    keyless = np.asarray(pc.is_null(t.column("userIdentity.accessKeyId")).to_numpy(zero_copy_only=False), bool)
    return _is_in(t.column("userIdentity.type"), pa.array([SERVICE_TYPE])) & keyless & ~_is_in(event, named)


def scan_schema(columns: list[str]) -> pa.Table:
    """An empty table of the scan's columns (the chunk schema's, and ``_ord``)."""
    schema = tbl.CHUNK_SCHEMA.append(pa.field(ORD, pa.int64()))
    return schema.empty_table().select(columns)
