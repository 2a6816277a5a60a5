"""The login investigation's compact engine on an ``athena://`` source: the baseline compacted by Athena, where the
trail lives, and only the rows the analysis reads whole fetched, assembled into the frame :mod:`.history` gives for
a scan (:func:`~.history.assemble`), so that the analysis gives the same answers.

Four statements, each pruned by the table's day partitions (:func:`~trailtools.sources.athena_sql.where_clauses`):
- the baseline [start - baseline_days, start) compacted (:func:`trailtools.sources.compact.athena_sql` of
  :data:`~.history.LOGIN_HISTORY`): one row per principal x features, and the hourly counts per account;
- the window [start, end), whole (every column of every event);
- the baseline's events the checks read whole: sign-ins, CreateAccessKey, the trail's control calls
  (:data:`~.history.WHOLE_EVENTS`), and in its last :data:`~.history.RECENT_HOURS` the credential-issuing calls and
  the sequences' steps (:data:`~.history.RECENT_EVENTS`).
The whole rows come back through the Athena loader (:func:`trailtools.sources.athena.load_athena_union`: one file,
read as a local file is); the compact rows are a few thousand lines of text. Athena groups by the columns ``actor`` is
derived from (its table has no ``actor``): the actor is derived here (:func:`trailtools.events.derive.actor_of`) and
rows that end alike are merged, so the compact rows are those DuckDB gives. Unlike a scan, Athena does not drop
identical copies of a baseline event before counting it (``calls`` may count a copy CloudTrail delivered twice: the
first and last times, what the checks read, are the same).
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from trailtools.events.derive import actor_of
from trailtools.events.query import Query
from trailtools.events.result import LoadOptions
from trailtools.investigations.login.history import LOGIN_HISTORY, CompactLoad, assemble
from trailtools.sources import athena
from trailtools.sources.compact import ATHENA_DERIVED, CompactSpec, athena_sql

#: The compact statement's own columns (Athena gives every name in lower case).
_OWN = ("_set", "_whole", "_by", "_hour", "eventTime", "lastTime", "calls", "eventID")


def _time(values: pd.Series) -> pd.Series:
    """Athena's text of a time (``2026-10-01T10:00:00Z`` from the table, ``2026-10-01 10:00:00.000 UTC`` from a
    timestamp) -> UTC times (a value that is not one is missing)."""
    return pd.to_datetime(values, utc=True, errors="coerce", format="mixed")


def compact_frames(rows: list[dict], spec: CompactSpec = LOGIN_HISTORY) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The compact statement's rows (column -> text, as GetQueryResults gives them) -> (the compact rows: the spec's
    keys, ``eventTime``, ``lastTime``, ``calls``, ``eventID``, sorted by time; the hourly counts:
    ``recipientAccountId``, ``eventTime`` the hour, ``calls``)."""
    derived = {k: ATHENA_DERIVED.get(k, (k,)) for k in spec.keys}
    names = list(dict.fromkeys([n for parts in derived.values() for n in parts] + list(_OWN)))
    proper = {n.lower(): n for n in names}
    raw = pd.DataFrame([{proper.get(k, k): v for k, v in r.items()} for r in rows], columns=names, dtype=object)
    sets = pd.to_numeric(raw["_set"], errors="coerce")
    calls = pd.to_numeric(raw["calls"], errors="coerce").fillna(0).astype("int64")
    hourly = pd.DataFrame({"recipientAccountId": raw.loc[sets == 1, "_by"].astype(object),
                           "eventTime": _time(raw.loc[sets == 1, "_hour"]),
                           "calls": calls[sets == 1]}).reset_index(drop=True)
    part = raw[(sets == 0) & (raw["_whole"].astype(str).str.lower() != "true")]
    out = pd.DataFrame({"eventTime": _time(part["eventTime"]), "lastTime": _time(part["lastTime"]),
                        "calls": calls[part.index], "eventID": part["eventID"]})
    for key, parts in derived.items():
        if parts == (key,):
            out[key] = part[key]
        else:
            out[key] = [actor_of(*vals) for vals in zip(*(part[p].tolist() for p in parts))] if len(part) else []
    keys = list(spec.keys)
    out = out.sort_values("eventTime", kind="stable")
    merged = out.groupby(keys, dropna=False, sort=False).agg(
        eventTime=("eventTime", "first"), eventID=("eventID", "first"), lastTime=("lastTime", "max"),
        calls=("calls", "sum")).reset_index()
    merged = merged.sort_values("eventTime", kind="stable").reset_index(drop=True)
    return merged[[*keys, "eventTime", "lastTime", "calls", "eventID"]], hourly


def load_compact_athena(uri: str, start: pd.Timestamp, end: pd.Timestamp, baseline_days: int,
                        options: LoadOptions | None = None, spec: CompactSpec = LOGIN_HISTORY, *, client=None,
                        sleep=time.sleep) -> CompactLoad:
    """``uri`` (``athena://``) for [start - baseline_days, end): the window whole, the baseline compacted by Athena
    (see the module's docstring). ``client`` and ``sleep`` are for tests."""
    first = start - pd.Timedelta(days=int(baseline_days))
    lo, mid, hi = (t.to_pydatetime() for t in (first, start, end))
    conn = athena.connect(uri, client=client, sleep=sleep)
    queries = [Query(start=mid, end=hi), Query(start=lo, end=mid, event_names=list(spec.whole_events))]
    if spec.recent_events:
        queries.append(Query(start=spec.whole_since(lo, mid), end=mid, event_names=list(spec.recent_events)))
    res = athena.load_athena_union(uri, queries, Query(start=lo, end=hi), options or LoadOptions(), conn=conn)
    rows = conn.run(athena_sql(spec, conn.table, lo, mid), "compact rows (the baseline)", res.stats.notes)
    compact, hourly = compact_frames(rows, spec)
    frame = res.frame
    frame["calls"] = np.ones(len(frame), dtype=np.int64)
    frame["lastTime"] = frame["eventTime"]
    compact["_index"] = np.full(len(compact), -1, dtype=np.int32)   # no file holds a compact row's first event here
    history_events = int(compact["calls"].sum()) + int((frame["eventTime"] < start).sum())
    res.stats.events = len(frame) + int(compact["calls"].sum())
    both, compact_at = assemble(frame, compact, start)
    return CompactLoad(both, hourly, res.stats, len(compact), history_events, compact_at)
