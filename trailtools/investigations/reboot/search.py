"""No start given: the trail is read for the last restart step by step, from the newest slice back, until one is found.

The last day first, then the rest of the last week, of the last month, of the last 90 days, of the last year
(:data:`STEPS`; ``lookup://`` stops at 90 days, all that LookupEvents keeps). Each step reads only the slice it adds:
for a trail of files (a folder, the demo, ``s3://``) the files delivered in that slice (``Query.delivered_from`` /
``delivered_before``, so that no file is read by two steps, and a late file's older events are kept for the steps to
come); for the other sources the events of that slice. The steps' frames together are the frame one load of the
whole range gives: identical copies of an event read by two steps are dropped as a load drops them
(:mod:`trailtools.events.duplicates`: their records read again). What was read, step by step, and what was found is
said in the answer's notes and in the JSON (:meth:`Search.to_dict`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.api.types import union_categoricals

from trailtools import sources
from trailtools.events.duplicates import DuplicateReport, identical_copies
from trailtools.events.load import load_events
from trailtools.events.query import EARLY_MARGIN, Query
from trailtools.events.stats import LoadStats
from trailtools.findings.model import iso_time

#: How far back each step reads (from the end of the window), newest first.
STEPS = tuple(pd.Timedelta(days=d) for d in (1, 7, 30, 90, 365))
#: LookupEvents keeps 90 days: no step reads further back.
LOOKUP_REACH = pd.Timedelta(days=90)


def _days(span: pd.Timedelta) -> str:
    days = int(span / pd.Timedelta(days=1))
    return f"{days} day" + ("s" if days != 1 else "")


def steps_for(trail: str) -> tuple[pd.Timedelta, ...]:
    """The steps for a trail URI (fewer for ``lookup://``)."""
    return tuple(s for s in STEPS if s <= LOOKUP_REACH) if trail.startswith("lookup://") else STEPS


def by_files(trail: str) -> bool:
    """Whether the source reads log files named by their delivery time (sliced by file, not by event time)."""
    return sources.local_folder(trail) is not None or trail.startswith("s3://")


@dataclass
class Step:
    reach: pd.Timedelta      # how far back from the end this step has read
    start: pd.Timestamp      # the slice it added: [start, end)
    end: pd.Timestamp
    files_read: int
    events: int              # events of the slice (of those its reads returned)

    def to_dict(self) -> dict:
        return {"days": int(self.reach / pd.Timedelta(days=1)), "start": iso_time(self.start),
                "end": iso_time(self.end), "files_read": self.files_read, "events": self.events}


@dataclass
class Search:
    """How the last restart was looked for: the steps read, and the restart found (None: none in reach)."""

    end: pd.Timestamp
    steps: list[Step] = field(default_factory=list)
    restart: pd.Timestamp | None = None

    @property
    def start(self) -> pd.Timestamp:
        return self.end - (self.steps[-1].reach if self.steps else pd.Timedelta(0))

    def note(self) -> str:
        """The search in words: "no start given: read the last 1 day, then 7 days: the last restart is at ..."."""
        read = ", then ".join(_days(s.reach) for s in self.steps)
        if self.restart is not None:
            return f"No start given: read the last {read}: the last restart is at {iso_time(self.restart)}."
        reach = self.steps[-1].reach if self.steps else pd.Timedelta(0)
        return f"No start given: read the last {read}: no restart in the last {_days(reach)}."

    def to_dict(self) -> dict:
        return {"end": iso_time(self.end), "steps": [s.to_dict() for s in self.steps],
                "restart": iso_time(self.restart), "note": self.note()}


def _slice_query(base: Query, trail: str, end: pd.Timestamp, lo: pd.Timestamp, hi: pd.Timestamp,
                 first: bool) -> Query:
    if by_files(trail):
        # the files delivered in this slice (as a load of [lo, end) would read them, less those read already); every
        # event they hold before ``end`` is kept, for this slice or the ones to come
        return base.replace(start=None, end=end.to_pydatetime(),
                            delivered_from=(lo - EARLY_MARGIN).to_pydatetime(),
                            delivered_before=None if first else (hi - EARLY_MARGIN).to_pydatetime())
    return base.replace(start=lo.to_pydatetime(), end=hi.to_pydatetime())


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Frames as one, their categorical columns staying categorical (the categories joined)."""
    frames = [f for f in frames if len(f)] or frames[:1]   # (an empty frame's categories have no type of their own)
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    frames = [f.copy() for f in frames]   # the instance's events: small
    for name in frames[0].columns:
        if isinstance(frames[0][name].dtype, pd.CategoricalDtype):
            categories = union_categoricals([f[name] for f in frames]).categories
            for f in frames:
                f[name] = f[name].cat.set_categories(categories)
    return pd.concat(frames, ignore_index=True)


def _without_copies(frames: list[pd.DataFrame], report: DuplicateReport) -> tuple[pd.DataFrame, int]:
    """The steps' frames (oldest first) as one, sorted by time, with the identical copies of an event that two steps
    read dropped (the first in the steps' order kept), as one load drops them; copies that differ are all kept and
    go to ``report`` (once: an eventID whose differing copies one step already held was counted by its load)."""
    frame = _concat(frames)
    if len(frames) < 2 or not len(frame):
        return frame, 0
    step = np.repeat(np.arange(len(frames)), [len(f) for f in frames])
    ids = frame["eventID"].astype(object)
    steps_per_id = pd.Series(step).groupby(ids.to_numpy(), dropna=True).nunique()
    shared = set(steps_per_id.index[steps_per_id.to_numpy() > 1])
    if not shared:
        return frame.sort_values("eventTime", kind="stable", ignore_index=True), 0
    rows = np.flatnonzero(ids.isin(shared).to_numpy())
    rows = rows[np.lexsort((rows, ids.to_numpy()[rows]))]   # grouped by eventID, in the steps' order within
    grouped = ids.to_numpy()[rows]
    starts = np.flatnonzero(np.concatenate(([True], grouped[1:] != grouped[:-1]))).tolist()
    found = DuplicateReport()
    gone = identical_copies(pa.Table.from_pandas(frame.iloc[rows], preserve_index=False), starts, found)
    frame = frame.drop(index=frame.index[rows[gone]]) if gone else frame
    # an eventID whose differing copies one frame kept was reported by its load already: not again
    known = {i for f in frames for i, n in f["eventID"].astype(object).value_counts().items() if n > 1}
    again = [c for c in found.conflicts if c["eventID"] in known]
    report.conflicting += found.conflicting - len(again)
    report.conflicts += [c for c in found.conflicts if c["eventID"] not in known]
    report.conflicts_not_listed += found.conflicts_not_listed
    report.compared_by_columns += found.compared_by_columns
    return frame.sort_values("eventTime", kind="stable", ignore_index=True), len(gone)


def widen(trail: str, base: Query, end: pd.Timestamp,
          found: Callable[[pd.DataFrame, pd.Timestamp], pd.Timestamp | None]) -> tuple[pd.DataFrame, LoadStats,
                                                                                       Search]:
    """Read ``trail`` back from ``end`` step by step until ``found(frame, start)`` (the events read so far, from
    ``start`` to ``end``) names a restart, or the steps run out. ``base``: the query's other parts (resource,
    regions, columns). Returns the events of the range read (``[search.start, end)``), the loads' statistics
    together, and the search."""
    search = Search(end)
    frames: list[pd.DataFrame] = []
    total: LoadStats | None = None
    read_before = 0          # event files read by the steps so far (each file by one step only)
    frame = None
    previous = pd.Timedelta(0)
    for reach in steps_for(trail):
        lo, hi = end - reach, end - previous
        res = load_events(trail, _slice_query(base, trail, end, lo, hi, first=not frames))
        frames.insert(0, res.frame)   # oldest first: the order a whole load reads the files in
        stats = res.stats
        if total is None:
            total = LoadStats(source=stats.source, query=base.replace(start=lo.to_pydatetime(),
                                                                      end=end.to_pydatetime()).describe())
        total.add_part(stats)
        # the listing is the same at every step: the files no step read are the last step's pruned less the others'
        total.files_seen, total.insight_files = stats.files_seen, total.insight_files + stats.insight_files
        total.files_pruned = max(0, stats.files_pruned - read_before)
        read_before += stats.files_read + stats.files_skipped
        times = res.frame["eventTime"]
        search.steps.append(Step(reach, lo, hi, stats.files_read, int(((times >= lo) & (times < hi)).sum())))
        report = DuplicateReport()
        frame, dropped = _without_copies(frames, report)
        frames = [frame]
        report.fold_into(total, dropped)
        restart = found(frame[frame["eventTime"] >= lo], lo)
        previous = reach
        if restart is not None:
            search.restart = restart
            break
    kept = frame["eventTime"] >= search.start
    total.filtered_out += int((~kept).sum())
    frame = frame[kept].reset_index(drop=True)
    total.events = len(frame)
    total.query = base.replace(start=search.start.to_pydatetime(), end=end.to_pydatetime()).describe()
    return frame, total, search
