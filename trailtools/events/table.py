"""Records -> an Arrow table of the events frame's columns (one table per chunk of files)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import attrgetter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trailtools.events import derive
from trailtools.events.layout import NAME_PATTERN, classify_name
from trailtools.events.records import FIELDS, Record, extract
from trailtools.events.stats import MAX_SUSPICIOUS_LISTED

try:  # the native fast path (trailtools/events/_scan.c), built where a C compiler was available at install time
    from trailtools.events import _scan
except ImportError:  # pragma: no cover - the pure Python path gives the same tables
    _scan = None

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
#: A chunk's table as the workers and the cache hold it: sorted by eventTime (stable), with ``_row``, each row's
#: place in the chunk's file order (the order duplicates and ties are resolved in); dropped from the frame.
ROW = "_row"
CHUNK_SCHEMA = SCHEMA.append(pa.field(ROW, pa.int32()))
_ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# Times that are kept but suspicious (see :class:`TimeNotes`), by kind.
NO_ZONE = "no time zone (read as UTC)"
BEFORE_CLOUDTRAIL = "before CloudTrail existed (2013-11-01)"
AFTER_DELIVERY = "more than 24 h after the file's delivery time"
#: The earliest time CloudTrail could have recorded (it was launched in November 2013).
CLOUDTRAIL_START = datetime(2013, 11, 1, tzinfo=UTC)
#: How far after the delivery time in its file's name an event may be before it is suspicious (CloudTrail delivers
#: a file within minutes of its events; a file's name carries the time it was delivered).
DELIVERY_SLACK = timedelta(hours=24)


def _lenient_time(text: str) -> tuple[datetime | None, str | None]:
    """(the time in UTC, None), (the time read as UTC, :data:`NO_ZONE`) when the text has no zone, or (None, the
    reason it cannot be read)."""
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError) as exc:
        why = str(exc)
        # an impossible date or time ('day is out of range for month') is said; "Invalid isoformat string" is not
        return None, (f"unparseable eventTime {text[:40]!r}" if why.startswith("Invalid isoformat")
                      else f"unparseable eventTime {text[:40]!r} ({why[:60]})")
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC), NO_ZONE
    return dt.astimezone(UTC), None


#: CloudTrail's own form of eventTime; Arrow's strptime alone also takes other widths and rolls impossible dates over
_STRICT_FORM = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"
_NO_TIME = pa.scalar(None, TIME_TYPE)


def _digits(texts: pa.Array, start: int, stop: int) -> pa.Array:
    return pc.cast(pc.utf8_slice_codeunits(texts, start, stop), pa.int64())


def _strict_times(texts: pa.Array) -> pa.Array:
    """eventTime strings in CloudTrail's own form (``2026-10-08T19:38:05Z``) with a valid date and time ->
    timestamps; null for other forms, and for impossible dates and times, which Arrow's strptime would roll over
    (``2026-02-30`` to March 2, a 60th second to the next minute, year 0): exactly what the native scanner's
    parse_time reads (tests/test_times.py compares them)."""
    shaped = pc.if_else(pc.match_substring_regex(texts, _STRICT_FORM), texts, pa.scalar(None, pa.string()))
    stamps = pc.strptime(shaped, format=_ISO_FORMAT, unit="us", error_is_null=True)
    exact = pc.and_(pc.and_(pc.equal(pc.day(stamps), _digits(shaped, 8, 10)),
                            pc.equal(pc.second(stamps), _digits(shaped, 17, 19))),
                    pc.greater_equal(pc.year(stamps), 1))
    return pc.if_else(exact, stamps.cast(TIME_TYPE), _NO_TIME)


def parse_times(texts, fast: pa.Array | None = None) -> tuple[pa.Array, list[tuple[int, str]], list[int]]:
    """Timestamps (UTC, microseconds) for CloudTrail's eventTime strings (a sequence or an Arrow string array), the
    positions that could not be read with the reason, and the positions read without a time zone (taken as UTC).

    ``fast``: timestamps already read from the strings in CloudTrail's own form (by the native scanner or
    :func:`_strict_times`, which read the same), null elsewhere; the other forms are then read here.
    """
    arr = texts if isinstance(texts, pa.Array) else pa.array(texts, pa.string())
    if fast is None:
        fast = _strict_times(arr)
    retry = pc.indices_nonzero(pc.and_(pc.is_null(fast), pc.is_valid(arr))).to_pylist()
    if not retry:
        return fast, [], []
    values = fast.to_pylist()
    failed, naive = [], []
    for i in retry:
        values[i], problem = _lenient_time(arr[i].as_py())
        if values[i] is None:
            failed.append((i, problem))
        elif problem is not None:
            naive.append(i)
    return pa.array(values, TIME_TYPE), failed, naive


def _json_text(raw) -> pa.Array:
    """Raw JSON bytes (a sequence of bytes, or an Arrow binary array) -> text, with JSON null (or nothing) as a
    missing value."""
    arr = raw if isinstance(raw, pa.Array) else pa.array(raw, pa.binary())
    try:
        text = arr.cast(pa.string())
    except pa.ArrowInvalid:  # bytes that are not UTF-8: keep what can be read
        text = pa.array([b.decode("utf-8", "replace") for b in arr.to_pylist()], pa.string())
    missing = pc.or_(pc.equal(text, "null"), pc.equal(text, ""))
    return pc.if_else(missing, pa.scalar(None, pa.string()), text)


_GETTERS = tuple(attrgetter(name) for name, _ in FIELDS)
_PLAIN_TYPES = tuple(pa.binary() if kind == "json" else pa.bool_() if kind == "bool" else pa.string()
                     for _, kind in FIELDS)
_JSON_AT = frozenset(i for i, (_, kind) in enumerate(FIELDS) if kind == "json")
_NAMES = tuple(name for name, _ in FIELDS)
#: Where derive.instance_ids looks for instance IDs, in this order (the native scanner reads the same).
ID_SOURCES = ("requestParameters", "responseElements", "resources", "serviceEventDetails")
#: Set TRAILTOOLS_NATIVE=0 to use the pure Python paths only (same results; for comparisons): here and for counting
#: pruned files (trailtools/sources/local.py).
NATIVE_WANTED = os.environ.get("TRAILTOOLS_NATIVE", "1") != "0"
NATIVE = _scan is not None and NATIVE_WANTED


def _plain_columns(plain: dict[str, pa.Array]) -> dict[str, pa.Array]:
    """Record fields as Arrow arrays ("json" ones as raw bytes) -> the frame's plain columns ("json" ones as text)."""
    return {name: _json_text(plain[name]) if kind == "json" else plain[name] for name, kind in FIELDS}


def _native_arrays(taken) -> tuple[int, list[pa.Array], pa.Array, pa.Array]:
    """The native scanner's buffers -> (rows, one array per FIELDS entry, timestamps, instance IDs)."""
    n, columns, (times, times_valid, time_nulls), (lists, id_offsets, ids) = taken
    arrays = []
    for (valid, nulls, data, offsets), (_, kind) in zip(columns, FIELDS):
        if kind == "bool":
            arrays.append(pa.BooleanArray.from_buffers(pa.bool_(), n, [pa.py_buffer(valid), pa.py_buffer(data)], nulls))
        else:
            arrays.append(
                pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data), pa.py_buffer(valid), nulls)
            )
    stamps = pa.Array.from_buffers(TIME_TYPE, n, [pa.py_buffer(times_valid), pa.py_buffer(times)], time_nulls)
    values = pa.StringArray.from_buffers(len(id_offsets) // 4 - 1, pa.py_buffer(id_offsets), pa.py_buffer(ids))
    offsets = pa.Array.from_buffers(pa.int32(), n + 1, [None, pa.py_buffer(lists)])
    return n, arrays, stamps, pa.ListArray.from_arrays(offsets, values)


class Builder:
    """Rows added file by file and turned into Arrow columns as they come.

    Files in the common containers go to the native scanner (trailtools/events/_scan.c), which writes Arrow buffers with
    no Python object per value; the others come as msgspec records (:meth:`add`). Reading fields out of msgspec
    structs and converting Python strings to Arrow is memory-bound: done while the records just decoded are still
    in the CPU cache, it costs about half of what it costs over a whole chunk of records (and the records are freed
    as it goes, which lowers peak memory). Rows keep the order they were added in, whichever path read them.
    :meth:`table` gives the same table as :func:`build` over all the records at once.
    """

    EXTRACT_ROWS = 48  # records decoded, then copied into the column lists
    FLUSH_ROWS = 512  # rows in the column lists, then converted to Arrow
    NATIVE_BYTES = 128 << 20  # bytes held by the native scanner, then turned into Arrow arrays

    def __init__(self, native: bool | None = None, limits=None):
        """``limits`` (:class:`trailtools.events.limits.Limits`): records nested deeper or larger are left to the Python
        path, which skips them with the reason."""
        self._pending: list[Record] = []
        self._lists: list[list] = [[] for _ in FIELDS]
        self._listed = 0
        self._arrays: list[list[pa.Array]] = [[] for _ in FIELDS]
        self._times: list[pa.Array] = []
        self._ids: list[pa.Array] = []
        use_native = NATIVE if native is None else native and _scan is not None
        bounds = {} if limits is None else {"max_depth": min(limits.max_depth, 255),
                                            "max_record": limits.max_record_bytes}
        self._native = _scan.Scanner(_NAMES, **bounds) if use_native else None
        self.paths: list[str] = []        # files with at least one row, in order
        self.counts: list[int] = []       # rows of each of them
        self.indices: list[int] = []      # each row's position in its file
        self.rows = 0
        self.time_notes = TimeNotes()     # the suspicious times, once table() has read them

    def _added(self, path: str, indices) -> None:
        """Book one file's rows: ``indices``, their positions in the file."""
        self.paths.append(path)
        self.counts.append(len(indices))
        self.indices.extend(indices)
        self.rows += len(indices)

    def add_text(self, text: bytes, path: str) -> int | None:
        """Rows of one file's JSON text (decompressed) through the native scanner: how many (0 for a file with no
        records), or None when the file must be read by :func:`trailtools.events.reader.parse` and :meth:`add`."""
        if self._native is None:
            return None
        n = self._native.add(text)
        if n < 0:
            return None
        if n:
            self._flush_python()  # rows added before these come first
            self._added(path, range(n))
            if self._native.nbytes >= self.NATIVE_BYTES:
                self._take_native()
        return n

    def add(self, records: list[Record], path: str, indices: list[int]) -> None:
        if not records:
            return
        if self._native is not None and self._native.rows:
            self._take_native()  # rows added before these come first
        self._pending.extend(records)
        self._added(path, indices)
        if len(self._pending) >= self.EXTRACT_ROWS:
            self._extract()

    def _extract(self) -> None:
        records, self._pending = self._pending, []
        for values, get in zip(self._lists, _GETTERS):
            values.extend(map(get, records))
        self._listed += len(records)
        if self._listed >= self.FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        lists, self._lists, self._listed = self._lists, [[] for _ in FIELDS], 0
        piece = {}
        for i, ((name, _), values, type_) in enumerate(zip(FIELDS, lists, _PLAIN_TYPES)):
            if i in _JSON_AT:
                values = list(map(bytes, values))
            piece[name] = pa.array(values, type_)
            lists[i] = None
        piece = _plain_columns(piece)
        for i, name in enumerate(_NAMES):
            self._arrays[i].append(piece[name])
        self._times.append(_strict_times(piece["eventTime"]))
        self._ids.append(derive.instance_ids(*(piece[name] for name in ID_SOURCES)))

    def _flush_python(self) -> None:
        if self._pending:
            self._extract()
        if self._listed:
            self._flush()

    def _take_native(self) -> None:
        if self._native is None or not self._native.rows:
            return
        _, arrays, times, ids = _native_arrays(self._native.take())
        for parts, arr in zip(self._arrays, arrays):
            parts.append(arr)
        self._times.append(times)
        self._ids.append(ids)

    def table(self) -> tuple[pa.Table, list[tuple[int, str]]]:
        """The chunk's table and, for rows whose eventTime cannot be parsed, (row number, reason): see :func:`build`.
        The rows kept with a suspicious eventTime are in :attr:`time_notes` then."""
        self._flush_python()
        self._take_native()
        self.time_notes = TimeNotes()
        if not self.rows:
            return empty(), []
        plain = {}
        for i, (name, _) in enumerate(FIELDS):
            parts, self._arrays[i] = self._arrays[i], None
            plain[name] = _joined(parts)
            del parts
        times, self._times = _joined(self._times), None
        ids, self._ids = _joined(self._ids), None
        codes = np.repeat(np.arange(len(self.paths), dtype=np.int32), self.counts)
        files = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(self.paths, pa.string()))
        if len(set(self.paths)) != len(self.paths):  # the same file twice: one dictionary entry, as build() gives
            files = files.cast(pa.string()).dictionary_encode()
        return _assemble(plain, files, pa.array(self.indices, pa.int32()), times=times, ids=ids,
                         notes=self.time_notes)

    def file_of(self, row: int) -> str:
        """The file a row (of the table before unreadable times were dropped) came from."""
        return self.paths[int(np.searchsorted(np.cumsum(self.counts), row, side="right"))]


def _joined(parts: list[pa.Array]) -> pa.Array:
    return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)


def build(records: list[Record], files: list[str], indices: list[int]) -> tuple[pa.Table, list[tuple[int, str]]]:
    """A table for records that came from ``files[i]`` at position ``indices[i]``.

    Returns the table and, for rows whose eventTime cannot be parsed, (row number in the input, reason); those rows
    are left out of the table.
    """
    raw = extract(records)
    plain = _plain_columns({name: pa.array(raw[name], type_) for (name, _), type_ in zip(FIELDS, _PLAIN_TYPES)})
    return _assemble(plain, pa.array(files, pa.string()).dictionary_encode(), pa.array(indices, pa.int32()))


#: The columns :func:`derive.actor` reads, in its order.
_IDENTITY = ("userIdentity.type", "userIdentity.arn", "userIdentity.userName", "userIdentity.principalId",
             "userIdentity.accountId", "userIdentity.invokedBy")
_ENCODED = frozenset(_IDENTITY + ("_file",))  # dictionary columns that _assemble has by then


def _assemble(plain: dict[str, pa.Array], files: pa.Array, indices: pa.Array, *, times: pa.Array | None = None,
              ids: pa.Array | None = None, notes: TimeNotes | None = None) -> tuple[pa.Table, list[tuple[int, str]]]:
    """The frame's columns from the plain columns (see :func:`_plain_columns`); ``times`` (see
    :func:`parse_times`) and ``ids`` (the instanceIds column) when they were already read; ``notes``: filled with
    the rows whose time is suspicious."""
    times, failed, naive = parse_times(plain["eventTime"], times)
    if notes is not None:
        notes.find(times, files, naive, plain["eventTime"], plain["eventID"])
    cols: dict[str, pa.Array] = {"eventTime": times}
    for name, _ in FIELDS[1:]:
        cols[name] = plain[name]
    for name in _IDENTITY:  # encoded now (as below), for the actor to read their codes
        cols[name] = cols[name].dictionary_encode()
    cols["actor"] = derive.actor(*(cols[name] for name in _IDENTITY))
    cols["additionalEventData.MFAUsed"] = derive.lifted(cols["additionalEventData"], "MFAUsed")
    cols["additionalEventData.LoginTo"] = derive.lifted(cols["additionalEventData"], "LoginTo")
    cols["responseElements.ConsoleLogin"] = derive.lifted(cols["responseElements"], "ConsoleLogin")
    cols["instanceIds"] = ids if ids is not None else derive.instance_ids(*(cols[name] for name in ID_SOURCES))
    cols["_file"] = files
    cols["_index"] = indices
    arrays = [
        cols[f.name].dictionary_encode() if pa.types.is_dictionary(f.type) and f.name not in _ENCODED else cols[f.name]
        for f in SCHEMA
    ]
    n = len(times)
    table = pa.Table.from_arrays(arrays, schema=SCHEMA)
    reasons = failed
    if failed:
        mask = np.ones(n, dtype=bool)
        mask[[i for i, _ in failed]] = False
        table = table.filter(pa.array(mask))
    return table, reasons


@dataclass
class TimeNotes:
    """Rows kept whose eventTime is suspicious: read without a time zone, before CloudTrail existed, or more than
    :data:`DELIVERY_SLACK` after the delivery time in the name of their file. Counted by kind (a row may be of
    several) and in all; the first :data:`trailtools.events.stats.MAX_SUSPICIOUS_LISTED` are listed."""

    rows: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    sample: list[tuple[int, str | None, str, str]] = field(default_factory=list)  # (row, eventID, eventTime, why)

    def find(self, times: pa.Array, files: pa.Array, naive: list[int], texts: pa.Array, event_ids: pa.Array) -> None:
        """Note the suspicious rows among ``times`` (rows numbered as in the input, unreadable times null)."""
        found: dict[str, np.ndarray] = {}
        if naive:
            found[NO_ZONE] = np.asarray(naive, dtype=np.int64)
        early = pc.indices_nonzero(pc.fill_null(pc.less(times, pa.scalar(CLOUDTRAIL_START, TIME_TYPE)), False))
        if len(early):
            found[BEFORE_CLOUDTRAIL] = early.to_numpy().astype(np.int64)
        delivered = delivery_times(files.dictionary)  # the name tells, not the folder
        if delivered.null_count < len(delivered):
            per_row = pc.take(pc.add(delivered, pa.scalar(DELIVERY_SLACK, pa.duration("us"))), files.indices)
            late = pc.indices_nonzero(pc.fill_null(pc.greater(times, per_row), False))
            if len(late):
                found[AFTER_DELIVERY] = late.to_numpy().astype(np.int64)
        if not found:
            return
        rows = np.unique(np.concatenate(list(found.values())))
        self.rows += len(rows)
        for kind, where in found.items():
            self.kinds[kind] = self.kinds.get(kind, 0) + len(where)
        listed = rows[:MAX_SUSPICIOUS_LISTED]
        marks = {kind: np.isin(listed, where) for kind, where in found.items()}
        for k, row in enumerate(listed.tolist()):
            why = []
            for kind, marked in marks.items():
                if not marked[k]:
                    continue
                if kind == AFTER_DELIVERY:
                    kind = f"{kind} ({delivered[files.indices[row].as_py()].as_py():%Y-%m-%dT%H:%M:%SZ})"
                why.append(kind)
            event_id = event_ids[row].as_py()
            self.sample.append((row, None if event_id is None else event_id[:100], texts[row].as_py()[:40],
                                "; ".join(why)))


def delivery_times(paths: pa.Array) -> pa.Array:
    """Per path, the delivery time its file's name tells (null where it tells none): what
    ``classify_name(<the name after the last slash or backslash>).delivered`` gives, for a whole column at once.

    Names of ASCII without a line break (all that CloudTrail writes) are matched by Arrow's regular expressions and
    their times read as eventTime is (:func:`_strict_times`): 120,000 names in 1 M events cost 0.5 s of the load one
    by one. The others, where Python's ``\\d`` (any script's digits) and ``$`` (before a final line break) differ
    from RE2's, one by one.
    """
    if not len(paths):
        return pa.array([], TIME_TYPE)
    names = pc.replace_substring_regex(pc.replace_substring(paths, "\\", "/"), "^.*/", "")
    plain = pc.fill_null(pc.and_(pc.string_is_ascii(names), pc.invert(pc.match_substring(names, "\n"))), False)
    stamp = pc.struct_field(pc.extract_regex(pc.if_else(plain, names, pa.scalar(None, pa.string())), NAME_PATTERN),
                            "time")  # YYYYMMDDTHHMM[SS]Z, null where the name does not match
    # as _parse_name_time reads it: seconds where there are six digits of time, else 0
    seconds = pc.if_else(pc.equal(pc.utf8_length(stamp), 16), pc.utf8_slice_codeunits(stamp, 13, 15), "00")
    parts = [pc.utf8_slice_codeunits(stamp, a, b) for a, b in ((0, 4), (4, 6), (6, 8), (9, 11), (11, 13))]
    iso = pc.binary_join_element_wise(parts[0], "-", parts[1], "-", parts[2], "T", parts[3], ":", parts[4], ":",
                                      seconds, "Z", "")
    times = _strict_times(iso)
    others = np.flatnonzero(~plain.to_numpy(zero_copy_only=False))
    if not len(others):
        return times
    values = times.to_pylist()
    for i, path in zip(others.tolist(), pc.take(paths, pa.array(others)).to_pylist()):
        values[i] = None if path is None else classify_name(path.replace("\\", "/").rpartition("/")[2]).delivered
    return pa.array(values, TIME_TYPE)


def sort_chunk(table: pa.Table) -> pa.Table:
    """A chunk's table (:data:`SCHEMA`, file order) sorted by eventTime, stable, with its ``_row`` column.

    Done in the workers, so that the parent's sort finds long runs already in order and rearranges them without
    copying them (see :func:`trailtools.events.frame.finish`).
    """
    n = table.num_rows
    times = table.column("eventTime").to_numpy().view("int64") if n else np.zeros(0, "int64")
    rows = np.arange(n, dtype=np.int32)
    if not bool(np.all(times[1:] >= times[:-1])):
        order = np.argsort(times, kind="stable").astype(np.int32)
        table = table.take(pa.array(order))
        rows = order
    return table.append_column(CHUNK_SCHEMA.field(ROW), pa.array(rows, pa.int32()))


_EMPTY = CHUNK_SCHEMA.empty_table()


def empty() -> pa.Table:
    """A chunk's table with no rows (:data:`CHUNK_SCHEMA`; Arrow tables are immutable: one serves everyone)."""
    return _EMPTY
