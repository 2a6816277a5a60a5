"""The events frame written out by ``trailtools events``: a table for people, or csv, jsonl, Parquet and Timesketch
JSONL for other tools; whole (:func:`write_frame`) or part by part (:class:`PartWriter`, for exports larger than
memory: :mod:`trailtools.events.by_day`).

Everything written to a terminal passes :func:`trailtools.terminal.visible` (evidence text is attacker-controlled).
Parquet is written without pandas' metadata and with the categories as plain strings, so every part of an export has
the same schema, and DuckDB, Athena or Spark read it without pandas.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from trailtools.errors import TrailtoolsError
from trailtools.events.export import timesketch_records
from trailtools.events.result import raw_records
from trailtools.terminal import json_visible, visible

#: The columns of ``--format table`` (every column goes to csv and parquet; jsonl writes CloudTrail's own records).
TABLE_COLUMNS = ("eventTime", "eventName", "actor", "sourceIPAddress", "awsRegion", "errorCode", "instanceIds")
FORMATS = ("table", "csv", "jsonl", "parquet", "timesketch")
#: The formats written part by part (a table is for a screen: its first rows).
STREAMED = ("csv", "jsonl", "parquet", "timesketch")


def export_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with list columns as text, for formats without lists."""
    if "instanceIds" not in frame.columns:
        return frame
    out = frame.copy()
    out["instanceIds"] = [" ".join(v) if v is not None else "" for v in frame["instanceIds"]]
    return out


def _plain(value):
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value.microsecond == 0 else value.isoformat()
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def write_jsonl(frame: pd.DataFrame, stream) -> None:
    """One JSON object per event, the frame's columns as keys (times in CloudTrail's own form)."""
    names = list(frame.columns)
    for row in frame.itertuples(index=False, name=None):
        # control and bidi characters as JSON escapes: the same data, safe to show on a terminal
        stream.write(json_visible(json.dumps({k: _plain(v) for k, v in zip(names, row)}, ensure_ascii=False)) + "\n")


def write_records(frame: pd.DataFrame, stream) -> int:
    """``--format jsonl``: CloudTrail's own record for each event, as its file holds it (read again, without the
    other tool's wrapping), one per line; a row whose file cannot be read again is written from the frame's columns.
    Returns how many were."""
    names = list(frame.columns)
    rows = frame.itertuples(index=False, name=None)
    fallback = 0
    for (_, raw), row in zip(raw_records(frame), rows):
        if raw is None:
            fallback += 1
            raw = {k: _plain(v) for k, v in zip(names, row)}
        stream.write(json_visible(json.dumps(raw, ensure_ascii=False, default=str)) + "\n")
    return fallback


def select_columns(frame: pd.DataFrame, columns: str | None, fmt: str) -> pd.DataFrame:
    """The columns asked for, in that order; an unknown name is one clear error."""
    if not columns:
        return frame[list(TABLE_COLUMNS)] if fmt == "table" else frame
    names = [c.strip() for c in columns.split(",") if c.strip()]
    unknown = [n for n in names if n not in frame.columns]
    if unknown:
        raise TrailtoolsError(f"No column named {unknown[0]!r}: the columns are listed in docs/events-frame.md "
                              "(for example eventTime, eventName, actor, userIdentity.arn, sourceIPAddress).")
    return frame[names]


def visible_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as text for people: every value and column name made :func:`visible` (one line each)."""
    out = frame.astype(object).fillna("")
    # strings, and what is shown through str(): lists, dicts, arrays of strings (numbers and times are safe)
    out = out.apply(lambda col: col.map(lambda v: v if isinstance(v, (int, float, pd.Timestamp)) else visible(v)))
    return out.rename(columns=lambda c: visible(c) if isinstance(c, str) else c)


def has_cr(frame: pd.DataFrame) -> bool:
    return any(frame[c].astype(str).str.contains("\r", regex=False).any()
               for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c]))


def isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def plain_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with one dictionary type for pandas' categories (their indices as int32, whatever their number),
    large strings as strings and columns with no value at all as strings: the same schema for every part of an
    export, whatever each part held."""
    fields = []
    for f in schema:
        kind = f.type
        if pa.types.is_dictionary(kind):
            value = kind.value_type
            kind = pa.dictionary(pa.int32(), pa.string() if pa.types.is_null(value) or
                                 pa.types.is_large_string(value) else value)
        elif pa.types.is_large_string(kind) or pa.types.is_null(kind):
            kind = pa.string()
        fields.append(pa.field(f.name, kind))
    return pa.schema(fields)


def arrow_table(frame: pd.DataFrame, schema: pa.Schema | None = None) -> pa.Table:
    """The frame as an Arrow table without pandas' metadata (pandas cannot rebuild its Arrow list dtype from it;
    readers get plain lists), cast to ``schema`` (default: :func:`plain_schema` of its own)."""
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    target = schema or plain_schema(table.schema)
    missing = [f for f in target if f.name not in table.column_names]
    for f in missing:  # a column a part lacks: empty there (every part of one load has the same columns)
        table = table.append_column(f, pa.nulls(table.num_rows, f.type))
    return table.select(target.names).cast(target)


def write_frame(frame: pd.DataFrame, fmt: str, output: str | None, limit: int, fields=None) -> int:
    """A whole frame in ``fmt``, to ``output`` or standard output. ``fields``: for ``timesketch``, the columns to add
    as fields (``frame`` is then the whole frame: the message and times are made from its columns); for ``jsonl``,
    ``[]`` writes CloudTrail's own records (None: the frame's columns, as ``--columns`` asks). Returns how many
    records had to be written from the frame's columns (their files could not be read again)."""
    if fmt == "table":
        stream = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            view = export_frame(frame)
            shown = visible_frame(view if limit <= 0 else view.head(limit))
            stream.write(shown.to_string(index=False) + "\n" if len(view) else "(no events)\n")
            if len(shown) < len(view):
                stream.write(f"... {len(view) - len(shown):,} more rows (use --limit 0, or --format csv -o FILE)\n")
        finally:
            if output:
                stream.close()
        return 0
    writer = PartWriter(fmt, output, fields=fields)
    try:
        writer.write(frame)
    finally:
        writer.close()
    return writer.fallback


class PartWriter:
    """Writes an export in parts: each :meth:`write` appends a frame (csv writes its header once; Parquet one row
    group per part, every part cast to the first part's schema; jsonl with ``fields=[]`` CloudTrail's own records).
    With ``partition="day"`` (Parquet only), ``output`` is a folder that receives hive-style partitions
    ``day=YYYY-MM-DD/part-NNNNN.parquet``, one file per part of a day, for DuckDB, Athena or Spark."""

    def __init__(self, fmt: str, output: str | None, *, fields=None, partition: str | None = None):
        if fmt not in STREAMED:
            raise ValueError(fmt)
        if fmt == "parquet" and not output:
            raise TrailtoolsError("--format parquet needs an output file: add -o events.parquet.")
        if partition and (fmt != "parquet" or not output):
            raise TrailtoolsError("--partition day writes Parquet into a folder: add --format parquet -o FOLDER.")
        self.fmt, self.output, self.fields, self.partition = fmt, output, fields, partition
        self.schema: pa.Schema | None = None
        self.rows = 0
        self.fallback = 0   # jsonl records written from the frame's columns (their files could not be read again)
        self.files: list[str] = []
        self._parquet: pq.ParquetWriter | None = None
        self._parts_of_day: dict[str, int] = {}
        self._header = True
        self._crlf: bool | None = None
        self._stream = None
        if partition:
            Path(output).mkdir(parents=True, exist_ok=True)
        elif fmt != "parquet":
            self._stream = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout

    def write(self, frame: pd.DataFrame | pa.Table, day: str | None = None) -> None:
        """Append ``frame`` (``day``: its day, ``YYYY-MM-DD``, with ``partition="day"``). Parquet also takes an
        Arrow table made by :meth:`arrow`."""
        if self.fmt == "parquet":
            self._write_parquet(frame, day)
        elif self.fmt == "csv":
            table = export_frame(frame)
            if not self.output and isatty(self._stream):
                table = visible_frame(table)
            # Python's csv quotes a field holding a line terminator character, but "\n" alone lets a bare "\r"
            # through unquoted, and a reader splits the row there: with one in the data, end rows with "\r\n" (the
            # choice is made on the first part that has rows; a later "\r" is quoted, as every field with one is)
            if self._crlf is None and len(table):
                self._crlf = has_cr(table)
            if len(table) or self._header:
                table.to_csv(self._stream, index=False, header=self._header,
                             lineterminator="\r\n" if self._crlf else "\n")
                self._header = False
        elif self.fmt == "jsonl" and self.fields == []:
            self.fallback += write_records(frame, self._stream)
        elif self.fmt == "jsonl":
            write_jsonl(frame, self._stream)
        else:
            for event in timesketch_records(frame, self.fields):
                self._stream.write(json_visible(json.dumps(event, ensure_ascii=False)) + "\n")
        self.rows += len(frame)

    def arrow(self, frame: pd.DataFrame) -> pa.Table:
        """``frame`` as this export's Arrow table (the first one sets the schema every later part is cast to)."""
        table = arrow_table(frame, self.schema)
        if self.schema is None:
            self.schema = table.schema
        return table

    def _write_parquet(self, frame: pd.DataFrame | pa.Table, day: str | None) -> None:
        table = frame if isinstance(frame, pa.Table) else self.arrow(frame)
        if self.partition:
            if not len(table):
                return
            n = self._parts_of_day.get(day, 0)
            self._parts_of_day[day] = n + 1
            folder = Path(self.output) / f"day={day}"   # day is a date we formatted, never text from the evidence
            folder.mkdir(exist_ok=True)
            path = folder / f"part-{n:05d}.parquet"
            pq.write_table(table, path)
            self.files.append(str(path))
            return
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self.output, self.schema)
            self.files.append(self.output)
        if len(table):
            self._parquet.write_table(table)

    def close(self) -> None:
        if self.fmt == "parquet" and not self.partition and self._parquet is None and self.schema is not None:
            self._parquet = pq.ParquetWriter(self.output, self.schema)  # no rows at all: a file with the columns
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        if self._stream is not None and self.output:
            self._stream.close()
        self._stream = None
