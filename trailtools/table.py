"""Records -> an Arrow table of the events frame's columns (one table per chunk of files)."""
from __future__ import annotations

from datetime import datetime, timezone
from operator import attrgetter

import numpy as np
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
#: A chunk's table as the workers and the cache hold it: sorted by eventTime (stable), with ``_row``, each row's
#: place in the chunk's file order (the order duplicates and ties are resolved in); dropped from the frame.
ROW = "_row"
CHUNK_SCHEMA = SCHEMA.append(pa.field(ROW, pa.int32()))
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
    """Timestamps (UTC, microseconds) for CloudTrail's eventTime strings (a sequence or an Arrow string array), and
    the positions that could not be read."""
    arr = texts if isinstance(texts, pa.Array) else pa.array(texts, pa.string())
    fast = pc.strptime(arr, format=_ISO_FORMAT, unit="us", error_is_null=True).cast(TIME_TYPE)
    retry = pc.indices_nonzero(pc.and_(pc.is_null(fast), pc.is_valid(arr))).to_pylist()
    if not retry:
        return fast, []
    values = fast.to_pylist()
    failed = []
    for i in retry:
        values[i] = _lenient_time(arr[i].as_py())
        if values[i] is None:
            failed.append(i)
    return pa.array(values, TIME_TYPE), failed


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


class Builder:
    """Rows added file by file and turned into Arrow columns a few hundred rows at a time.

    Reading fields out of msgspec structs and converting Python strings to Arrow is memory-bound: done while the
    records just decoded are still in the CPU cache, it costs about half of what it costs over a whole chunk of
    records (and the records are freed as it goes, which lowers peak memory). :meth:`table` gives the same table
    as :func:`build` over all the records at once.
    """

    EXTRACT_ROWS = 48      # records decoded, then copied into the column lists
    FLUSH_ROWS = 512       # rows in the column lists, then converted to Arrow

    def __init__(self):
        self._pending: list[Record] = []
        self._lists: list[list] = [[] for _ in FIELDS]
        self._listed = 0
        self._arrays: list[list[pa.Array]] = [[] for _ in FIELDS]
        self.paths: list[str] = []        # files with at least one row, in order
        self.counts: list[int] = []       # rows of each of them
        self.indices: list[int] = []      # each row's position in its file
        self.rows = 0

    def add(self, records: list[Record], path: str, indices: list[int]) -> None:
        if not records:
            return
        self._pending.extend(records)
        self.paths.append(path)
        self.counts.append(len(records))
        self.indices.extend(indices)
        self.rows += len(records)
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
        for i, (values, type_) in enumerate(zip(lists, _PLAIN_TYPES)):
            if i in _JSON_AT:
                values = list(map(bytes, values))
            self._arrays[i].append(pa.array(values, type_))
            lists[i] = None

    def table(self) -> tuple[pa.Table, list[tuple[int, str]]]:
        """The chunk's table and, for rows whose eventTime cannot be parsed, (row number, reason): see :func:`build`."""
        if self._pending:
            self._extract()
        if self._listed:
            self._flush()
        if not self.rows:
            return empty(), []
        plain = {}
        for i, (name, _) in enumerate(FIELDS):
            parts, self._arrays[i] = self._arrays[i], None
            plain[name] = parts[0] if len(parts) == 1 else pa.concat_arrays(parts)
            del parts
        codes = np.repeat(np.arange(len(self.paths), dtype=np.int32), self.counts)
        files = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(self.paths, pa.string()))
        if len(set(self.paths)) != len(self.paths):  # the same file twice: one dictionary entry, as build() gives
            files = files.cast(pa.string()).dictionary_encode()
        return _assemble(plain, files, pa.array(self.indices, pa.int32()))

    def file_of(self, row: int) -> str:
        """The file a row (of the table before unreadable times were dropped) came from."""
        return self.paths[int(np.searchsorted(np.cumsum(self.counts), row, side="right"))]


def build(records: list[Record], files: list[str], indices: list[int]) -> tuple[pa.Table, list[tuple[int, str]]]:
    """A table for records that came from ``files[i]`` at position ``indices[i]``.

    Returns the table and, for rows whose eventTime cannot be parsed, (row number in the input, reason); those rows
    are left out of the table.
    """
    raw = extract(records)
    plain = {name: pa.array(raw[name], type_) for (name, _), type_ in zip(FIELDS, _PLAIN_TYPES)}
    return _assemble(plain, pa.array(files, pa.string()).dictionary_encode(), pa.array(indices, pa.int32()))


def _assemble(plain: dict[str, pa.Array], files: pa.Array, indices: pa.Array
              ) -> tuple[pa.Table, list[tuple[int, str]]]:
    """The frame's columns from the record fields as plain Arrow arrays ("json" ones as binary)."""
    times, failed = parse_times(plain["eventTime"])
    cols: dict[str, pa.Array] = {"eventTime": times}
    for name, kind in FIELDS[1:]:
        cols[name] = _json_text(plain[name]) if kind == "json" else plain[name]
    cols["actor"] = derive.actor(cols["userIdentity.type"], cols["userIdentity.arn"], cols["userIdentity.userName"],
                                 cols["userIdentity.principalId"], cols["userIdentity.accountId"],
                                 cols["userIdentity.invokedBy"])
    cols["additionalEventData.MFAUsed"] = derive.lifted(cols["additionalEventData"], "MFAUsed")
    cols["additionalEventData.LoginTo"] = derive.lifted(cols["additionalEventData"], "LoginTo")
    cols["responseElements.ConsoleLogin"] = derive.lifted(cols["responseElements"], "ConsoleLogin")
    cols["instanceIds"] = derive.instance_ids(cols["requestParameters"], cols["responseElements"],
                                              cols["resources"], cols["serviceEventDetails"])
    cols["_file"] = files
    cols["_index"] = indices
    arrays = [cols[f.name].dictionary_encode() if pa.types.is_dictionary(f.type) and f.name != "_file"
              else cols[f.name] for f in SCHEMA]
    n = len(times)
    table = pa.Table.from_arrays(arrays, schema=SCHEMA)
    texts = plain["eventTime"]
    reasons = [(i, f"unparseable eventTime {texts[i].as_py()[:40]!r}") for i in failed]
    if failed:
        mask = np.ones(n, dtype=bool)
        mask[failed] = False
        table = table.filter(pa.array(mask))
    return table, reasons


def sort_chunk(table: pa.Table) -> pa.Table:
    """A chunk's table (:data:`SCHEMA`, file order) sorted by eventTime, stable, with its ``_row`` column.

    Done in the workers, so that the parent's sort finds long runs already in order and rearranges them without
    copying them (see :func:`trailtools.frame.finish`).
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
