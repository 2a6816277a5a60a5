"""Exports larger than memory: a local trail written out day by day.

The files are read in parts of consecutive delivery days (:class:`trailtools.sources.local.Parts`: every file read
once, a part at a time), and the events are written by the day of their ``eventTime``, each day sorted by time. A day
is written once the part after it has been read: CloudTrail delivers an event within minutes, so the files of the
next delivery day hold that day's last late events. An event delivered later still (more than a part late) is
written when it arrives, after its day (with ``--partition day``: as another file of its day's partition), and
counted in the notes.

Copies of one event (the same eventID) are compared within a part, and across neighbouring parts, as a whole load
compares them (:mod:`trailtools.events.duplicates`: their records read again): an identical copy is dropped,
differing copies are all kept and listed as conflicting (possible tampering).

Memory holds two parts' events and the days still open: it grows with events per day,
not with the trail.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trailtools import sources
from trailtools.events.duplicates import DuplicateReport, identical_copies
from trailtools.events.output import PartWriter
from trailtools.events.query import Query
from trailtools.events.result import LoadOptions
from trailtools.events.stats import LoadStats
from trailtools.sources.local import Parts


def _days(frame: pd.DataFrame) -> list[tuple[date, slice]]:
    """The days of a frame sorted by time, each with the rows it spans."""
    days = frame["eventTime"].to_numpy(dtype="datetime64[us]").astype("datetime64[D]")
    cuts = np.flatnonzero(days[1:] != days[:-1]) + 1
    starts, ends = np.r_[0, cuts], np.r_[cuts, len(days)]
    return [(days[a].astype(object), slice(int(a), int(b))) for a, b in zip(starts, ends)]


def _sorted(pieces: list) -> pd.DataFrame | pa.Table:
    """Pieces of one day (from several parts) as one, sorted by time (stable: ties keep the parts' order)."""
    if isinstance(pieces[0], pa.Table):
        table = pa.concat_tables(pieces).unify_dictionaries()
        return table.take(pc.sort_indices(table, sort_keys=[("eventTime", "ascending")]))
    return pd.concat(pieces).sort_values("eventTime", kind="stable")


@dataclass
class DayStream:
    """Receives parts' frames, writes whole days. ``columns``: the columns to write (None: all)."""

    writer: PartWriter
    stats: LoadStats
    columns: list[str] | None = None
    pending: dict[date, list] = field(default_factory=dict)   # day -> pieces (frames, or Arrow tables)
    written: set[date] = field(default_factory=set)
    late_rows: int = 0
    _previous: pd.DataFrame | None = None   # the previous part's events, to compare copies with

    def add(self, frame: pd.DataFrame, complete_before: date | None) -> None:
        """A part's events (sorted by time); every day before ``complete_before`` is then written."""
        frame = self._without_copies(frame)
        if len(frame):
            shown = frame if self.columns is None else frame[self.columns]
            # Parquet: the part as one Arrow table, its days zero-copy slices of it (text formats take the frame)
            rows = self.writer.arrow(shown) if self.writer.fmt == "parquet" else shown
            for day, span in _days(frame):
                piece = rows.slice(span.start, span.stop - span.start) if isinstance(rows, pa.Table) else rows[span]
                if day in self.written:   # delivered more than a part late
                    self.late_rows += len(piece)
                    self._write(day, piece)
                else:
                    self.pending.setdefault(day, []).append(piece)
        for day in sorted(d for d in self.pending if complete_before is None or d < complete_before):
            self._flush(day)

    def finish(self) -> None:
        for day in sorted(self.pending):
            self._flush(day)
        if self.late_rows:
            self.stats.notes.append(f"{self.late_rows:,} events were delivered more than a day after their day had "
                                    "been written: they follow it in the export, sorted among themselves.")

    def _flush(self, day: date) -> None:
        pieces = self.pending.pop(day)
        self.written.add(day)
        self._write(day, pieces[0] if len(pieces) == 1 else _sorted(pieces))

    def _write(self, day: date, rows: pd.DataFrame | pa.Table) -> None:
        self.writer.write(rows, day.isoformat())
        self.stats.events += len(rows)

    def _without_copies(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Compare the events of this part whose eventID the previous part holds with those copies, as a whole load
        compares copies (:func:`trailtools.events.duplicates.identical_copies`: their records read again): drop the
        identical ones, count and list the differing ones."""
        previous, self._previous = self._previous, frame
        if previous is None or not len(frame) or not len(previous):
            return frame
        ids, before = pa.array(frame["eventID"]), pa.array(previous["eventID"])
        again = pc.fill_null(pc.is_in(ids, value_set=before), False).to_numpy(zero_copy_only=False)
        if not again.any():
            return frame
        found = pc.fill_null(pc.is_in(before, value_set=ids.filter(pa.array(again))), False)
        earlier, later = previous[found.to_numpy(zero_copy_only=False)], frame[again]
        # the copies grouped by eventID, the previous part's first in each group (file order across the parts)
        both = pd.concat([earlier, later], ignore_index=True)
        order = np.argsort(both["eventID"].to_numpy(dtype=object), kind="stable")
        both = both.iloc[order]
        grouped = both["eventID"].to_numpy(dtype=object)
        starts = np.flatnonzero(np.concatenate(([True], grouped[1:] != grouped[:-1]))).tolist()
        labels = np.concatenate([np.full(len(earlier), None, dtype=object), later.index.to_numpy(dtype=object)])
        report = DuplicateReport()
        gone = identical_copies(pa.Table.from_pandas(both, preserve_index=False), starts, report)
        drop = [label for label in labels[order[gone]] if label is not None]   # never a row already written
        report.fold_into(self.stats, len(drop))
        return frame.drop(index=drop) if drop else frame


def export_by_day(parts: Parts, writer: PartWriter, *, columns: list[str] | None = None) -> LoadStats:
    """Write every event of ``parts`` through ``writer``, day by day; the load's statistics, as a whole load's."""
    started = time.perf_counter()
    stats = LoadStats(source=parts.uri, query=parts.query.describe())
    stream = DayStream(writer, stats, columns)
    groups = parts.groups()
    for i, (last_day, chunks) in enumerate(groups):
        result = parts.load(chunks)
        stats.add_part(result.stats)
        # the next part's files start the day after last_day: the days before last_day are complete
        stream.add(result.frame, last_day if i + 1 < len(groups) else None)
        del result
    stream.finish()
    plan = parts.plan
    stats.files_seen, stats.files_pruned, stats.insight_files = plan.files_seen, plan.pruned, plan.insights
    stats.digest_files += plan.digests
    stats.other_files += plan.others
    for folder, reason in plan.unlistable:
        stats.add_skip(folder, reason)
    stats.elapsed_s = time.perf_counter() - started
    return stats


def streamable(source: str, query: Query, options: LoadOptions) -> Parts | None:
    """The parts of a local source (a folder, or ``demo``) whose files are all in CloudTrail's dated folders; None
    when the source is read another way (live sources, a file, loose files): load it whole."""
    folder = sources.local_folder(source)
    if folder is None or not folder.is_dir():
        return None
    parts = Parts(str(folder), query, options)
    if not parts.dated or len(parts.groups()) < 2:
        return None
    parts.uri = source
    return parts
