"""Free-form hunting in any events frame: ``trailtools.explore(events)`` in JupyterLab.

Widgets for the time range, principal, event name and source, region, errors only and a text search; a timeline to
brush (the table below shows the brushed span; "Zoom to selection" narrows the time range to it; with few enough
events it draws each one, and a click shows its raw record) and a heat map of activity by principal and hour (a
click filters on that principal).

The frame can hold a million events: the charts get aggregates (:func:`time_bins`, :func:`activity_by_hour`) or at
most :data:`POINT_LIMIT` events (:func:`event_points`), the table the first :data:`TABLE_ROWS` rows of the filtered
frame. Those functions and :func:`filter_events` are pure (frames in, frames out) and tested on their own; the
:class:`Explorer` only wires widgets to them. Strings from the logs reach the page only through escaped HTML.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from trailtools.events.result import raw_record
from trailtools.templating import macros
from trailtools.views.explore import BRUSH, CELL, PICK, heatmap_chart, timeline_chart
from trailtools.views.offline import jupyterchart_offline

__all__ = ["Filter", "filter_events", "time_bins", "event_points", "activity_by_hour", "choices", "table_rows",
           "time_steps", "brush_window", "explore", "Explorer", "POINT_LIMIT", "TABLE_ROWS"]

POINT_LIMIT = 1500  # at most this many events drawn one by one (clickable); above it, bins
MAX_BINS = 240
TABLE_ROWS = 200
TOP_PRINCIPALS = 25
ALL = "(all)"
#: What the text search looks in (case-insensitive, literal): the caller, the call, its result and its parameters.
SEARCH_COLUMNS = ["eventName", "eventSource", "awsRegion", "actor", "userIdentity.arn", "userIdentity.accessKeyId",
                  "sourceIPAddress", "userAgent", "errorCode", "errorMessage", "requestParameters",
                  "responseElements", "resources", "eventID"]
TABLE_COLUMNS = ["eventTime", "eventName", "eventSource", "awsRegion", "actor", "sourceIPAddress", "userAgent",
                 "errorCode", "eventID"]
#: The HTML pieces (title, match summary, record), from a template that escapes every value.
_PIECES = macros("explorer.html.j2")
BIN_WIDTHS = [pd.Timedelta(x) for x in ("1s", "10s", "1min", "5min", "15min", "1h", "3h", "6h", "12h", "1D", "7D",
                                        "30D")]


@dataclass(frozen=True)
class Filter:
    """What the analyst narrowed the frame to. ``None``/empty means no restriction; ``end`` is exclusive."""

    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    principal: str | None = None  # an `actor` value
    event_name: str | None = None
    event_source: str | None = None
    region: str | None = None
    errors_only: bool = False
    text: str = ""


def _utc(value) -> pd.Timestamp | None:
    if value is None or value == "":
        return None
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _equals(col: pd.Series, value: str) -> np.ndarray:
    return (col == value).to_numpy(dtype=bool, na_value=False)


def _contains(col: pd.Series, text: str) -> np.ndarray:
    """Case-insensitive literal search; on a categorical column, in its distinct values only (fast on 1M rows)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = col.cat.categories
        hit = np.asarray(cats.astype(str).str.contains(text, case=False, regex=False), dtype=bool)
        return np.isin(col.cat.codes.to_numpy(), np.flatnonzero(hit))
    return col.astype("str").str.contains(text, case=False, regex=False).to_numpy(dtype=bool, na_value=False)


def errors(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose call failed (an `errorCode`)."""
    code = frame["errorCode"]
    return (code.notna() & (code.astype("str") != "")).to_numpy(dtype=bool, na_value=False)


def filter_mask(frame: pd.DataFrame, flt: Filter) -> np.ndarray:
    """Which rows of an events frame pass the filter (a boolean array, one per row)."""
    keep = np.ones(len(frame), dtype=bool)
    start, end = _utc(flt.start), _utc(flt.end)
    if start is not None:
        keep &= (frame["eventTime"] >= start).to_numpy(dtype=bool)
    if end is not None:
        keep &= (frame["eventTime"] < end).to_numpy(dtype=bool)
    for column, value in (("actor", flt.principal), ("eventName", flt.event_name),
                          ("eventSource", flt.event_source), ("awsRegion", flt.region)):
        if value:
            keep &= _equals(frame[column], value)
    if flt.errors_only:
        keep &= errors(frame)
    text = flt.text.strip()
    if text:
        found = np.zeros(len(frame), dtype=bool)
        for column in SEARCH_COLUMNS:
            if column in frame:
                found |= _contains(frame[column], text)
        keep &= found
    return keep


def filter_events(frame: pd.DataFrame, flt: Filter) -> pd.DataFrame:
    """The rows of an events frame that pass the filter, in the frame's order."""
    return frame[filter_mask(frame, flt)]


def bin_width(start: pd.Timestamp, end: pd.Timestamp, max_bins: int = MAX_BINS) -> pd.Timedelta:
    """The smallest of the usual bin widths that cuts [start, end) into at most ``max_bins`` bins."""
    span = max(end - start, pd.Timedelta("1s"))
    return next((w for w in BIN_WIDTHS if span / w <= max_bins), BIN_WIDTHS[-1])


def time_bins(frame: pd.DataFrame, start=None, end=None, max_bins: int = MAX_BINS) -> pd.DataFrame:
    """Events per time bin and result: columns ``start``, ``end`` (UTC), ``status`` ("ok"/"error"), ``events``.

    Bins are aligned on the width (an hour's bins start on the hour); empty bins are left out.
    """
    cols = ["start", "end", "status", "events"]
    times = frame["eventTime"]
    if not len(frame):
        return pd.DataFrame({c: pd.Series(dtype="datetime64[us, UTC]" if c in ("start", "end") else
                                           "int64" if c == "events" else "str") for c in cols})
    lo = _utc(start) if start is not None else times.min()
    hi = _utc(end) if end is not None else times.max() + pd.Timedelta("1s")
    width = bin_width(lo, hi, max_bins)
    origin = lo.floor(width) if width <= pd.Timedelta("1D") else lo.floor("1D")
    index = ((times - origin) // width).to_numpy(dtype="int64")
    status = errors(frame).astype("int64")
    key = index * 2 + status
    uniq, counts = np.unique(key, return_counts=True)
    starts = origin + pd.to_timedelta(uniq // 2 * int(width / pd.Timedelta("1s")), unit="s")
    out = pd.DataFrame({"start": starts, "end": starts + width,
                        "status": np.where(uniq % 2 == 1, "error", "ok"), "events": counts.astype("int64")})
    return out[cols].reset_index(drop=True)


def _text(col: pd.Series) -> pd.Series:
    return col.astype(object).where(col.notna(), "").astype(str)


def event_points(frame: pd.DataFrame, limit: int = POINT_LIMIT) -> pd.DataFrame:
    """The events themselves for the timeline (at most ``limit``: evenly spaced if there are more), with the
    fields the tooltip shows, times as ISO text and ``status``."""
    if len(frame) > limit:
        frame = frame.iloc[np.linspace(0, len(frame) - 1, limit).round().astype(int)]
    out = pd.DataFrame({"time": frame["eventTime"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ").str.slice(0, 23) + "Z"})
    for col in ["eventName", "eventSource", "awsRegion", "actor", "sourceIPAddress", "errorCode", "eventID"]:
        out[col] = _text(frame[col])
    out["status"] = np.where(errors(frame), "error", "ok")
    return out.reset_index(drop=True)


def activity_by_hour(frame: pd.DataFrame, top: int = TOP_PRINCIPALS) -> pd.DataFrame:
    """Events per principal (`actor`) and UTC hour of the day: the ``top`` busiest principals (ties by name), the
    rest summed as "(N other principals)". Columns ``actor``, ``hour``, ``events``; only non-zero cells."""
    if not len(frame):
        return pd.DataFrame({"actor": pd.Series(dtype="str"), "hour": pd.Series(dtype="int64"),
                             "events": pd.Series(dtype="int64")})
    actor = frame["actor"]
    actor = actor if isinstance(actor.dtype, pd.CategoricalDtype) else actor.astype("category")
    names = [str(c) or "(unknown)" for c in actor.cat.categories] + ["(unknown)"]
    codes = actor.cat.codes.to_numpy().astype("int64")
    codes[codes < 0] = len(names) - 1  # missing
    totals = np.bincount(codes, minlength=len(names))
    busy = sorted((i for i in range(len(names)) if totals[i]), key=lambda i: (-totals[i], names[i]))
    label = np.full(len(names), min(top, len(busy)), dtype="int64")  # everyone past the top: one "other" row
    label[busy[:top]] = np.arange(min(top, len(busy)))
    labels = [names[i] for i in busy[:top]] + [f"({len(busy) - top} other principals)"]
    hours = frame["eventTime"].dt.hour.to_numpy().astype("int64")
    cells = np.bincount(label[codes] * 24 + hours, minlength=len(labels) * 24)
    nonzero = np.flatnonzero(cells)
    return pd.DataFrame({"actor": [labels[k // 24] for k in nonzero], "hour": (nonzero % 24).astype("int64"),
                         "events": cells[nonzero].astype("int64")})


def choices(frame: pd.DataFrame, column: str, limit: int = 1000) -> list[str]:
    """The distinct non-empty values of a column, most frequent first (ties by name)."""
    counts = _text(frame[column]).value_counts()
    counts = counts[counts.index != ""]
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [value for value, _ in ordered[:limit]]


def table_rows(frame: pd.DataFrame, limit: int = TABLE_ROWS) -> pd.DataFrame:
    """The first ``limit`` rows, the columns an analyst reads first, times in ISO text."""
    rows = frame.iloc[:limit]
    out = pd.DataFrame({"eventTime": rows["eventTime"].dt.strftime("%Y-%m-%d %H:%M:%S")})
    for col in TABLE_COLUMNS[1:]:
        out[col] = _text(rows[col])
    return out.reset_index(drop=True)


def time_steps(start: pd.Timestamp, end: pd.Timestamp, max_steps: int = 400) -> list[pd.Timestamp]:
    """Boundaries for the time-range slider: whole days (or hours, for a short span) covering [start, end]."""
    start, end = _utc(start), _utc(end)
    for unit in ("1h", "6h", "1D", "7D"):
        lo, hi = start.floor(unit), end.ceil(unit)
        if hi == lo:
            hi = lo + pd.Timedelta(unit)
        if (hi - lo) / pd.Timedelta(unit) <= max_steps:
            return list(pd.date_range(lo, hi, freq=unit))
    return list(pd.date_range(start.floor("1D"), end.ceil("1D"), periods=max_steps))


def brush_window(value: dict | None) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The time span of a timeline brush (an Altair interval selection's value: ``{field: [a, b]}``, the ends as
    epoch milliseconds or ISO text), or None when nothing is brushed."""
    if not value:
        return None
    ends = next(iter(value.values()))
    if not isinstance(ends, (list, tuple)) or len(ends) != 2:
        return None
    stamps = [pd.Timestamp(x, unit="ms", tz="UTC") if isinstance(x, (int, float)) else _utc(x) for x in ends]
    lo, hi = sorted(stamps)
    return lo, hi


# ---- the widget ------------------------------------------------------------------------------------------------

def _label(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d") if ts == ts.floor("1D") else ts.strftime("%Y-%m-%d %H:%M")


class Explorer:
    """The widgets and charts of :func:`explore` over one events frame (display it, or its ``widget``)."""

    def __init__(self, frame: pd.DataFrame, *, title: str = "Explore events"):
        import ipywidgets as w  # noqa: PLC0415 (heavy, loaded on use)
        from altair import JupyterChart  # noqa: PLC0415 (heavy, loaded on use)


        jupyterchart_offline()  # Vega from vl-convert's bundle, never a CDN
        self.frame = frame.reset_index(drop=True)
        self._quiet = False  # while clear() sets several widgets: one refresh at the end
        self.brushed: tuple[pd.Timestamp, pd.Timestamp] | None = None
        self.filtered = self.frame

        if len(self.frame):
            steps = time_steps(self.frame["eventTime"].min(), self.frame["eventTime"].max())
        else:
            now = pd.Timestamp.now(tz="UTC").floor("1D")
            steps = [now, now + pd.Timedelta("1D")]
        self.time = w.SelectionRangeSlider(options=[(_label(t), t) for t in steps], index=(0, len(steps) - 1),
                                           description="Time (UTC)", continuous_update=False,
                                           layout=w.Layout(width="760px"))

        def dropdown(name: str, column: str, css: str):
            return w.Dropdown(options=[ALL, *choices(self.frame, column)], value=ALL, description=name,
                              layout=w.Layout(width="370px")).add_class(css)

        self.principal = dropdown("Principal", "actor", "trailtools-principal")
        self.event_name = dropdown("Event", "eventName", "trailtools-event-name")
        self.event_source = dropdown("Service", "eventSource", "trailtools-event-source")
        self.region = dropdown("Region", "awsRegion", "trailtools-region")
        self.errors_only = w.Checkbox(value=False, description="errors only").add_class("trailtools-errors")
        self.text = w.Text(placeholder="search: IP, user agent, parameter, error... (Enter)", description="Search",
                           continuous_update=False, layout=w.Layout(width="370px")).add_class("trailtools-search")
        self.zoom = w.Button(description="Zoom to selection", disabled=True).add_class("trailtools-zoom")
        self.reset = w.Button(description="Reset").add_class("trailtools-reset")
        self.summary = w.HTML().add_class("trailtools-summary")
        svg = {"renderer": "svg", "actions": False}  # SVG: each drawn event is an element one can click
        self.timeline = JupyterChart(chart=None, embed_options=svg).add_class("trailtools-timeline")
        self.heatmap = JupyterChart(chart=None, embed_options=svg).add_class("trailtools-heatmap")
        self.table = w.HTML().add_class("trailtools-table")
        self.record = w.HTML("<i>Click an event on the timeline (when it shows single events) to see its raw "
                             "record.</i>").add_class("trailtools-record")

        for control in (self.time, self.principal, self.event_name, self.event_source, self.region,
                        self.errors_only, self.text):
            control.observe(lambda _change: self._quiet or self.refresh(), names="value")
        self.zoom.on_click(lambda _b: self.zoom_to_brush())
        self.reset.on_click(lambda _b: self.clear())

        self.widget = w.VBox([
            w.HTML(str(_PIECES.title(title))),
            self.time,
            w.HBox([self.principal, self.event_name]),
            w.HBox([self.event_source, self.region]),
            w.HBox([self.text, self.errors_only, self.zoom, self.reset]),
            self.summary, self.timeline, self.heatmap, self.table,
            w.HTML("<b>Raw record</b>"), self.record,
        ]).add_class("trailtools-explorer")
        self.refresh()

    # -- state --------------------------------------------------------------------------------------------------
    def current_filter(self) -> Filter:
        lo, hi = self.time.value
        opt = lambda d: None if d.value == ALL else d.value  # noqa: E731
        return Filter(start=lo, end=hi, principal=opt(self.principal), event_name=opt(self.event_name),
                      event_source=opt(self.event_source), region=opt(self.region),
                      errors_only=bool(self.errors_only.value), text=self.text.value)

    def refresh(self) -> None:
        """Filter the frame with the widgets' values and redraw the charts and the table."""

        flt = self.current_filter()
        self.filtered = filter_events(self.frame, flt)
        self.brushed = None
        self.zoom.disabled = True
        points = len(self.filtered) <= POINT_LIMIT
        data = event_points(self.filtered) if points else time_bins(self.filtered, flt.start, flt.end)
        self.timeline.chart = timeline_chart(data, points=points, title=(
            "Events (drag to select, click one for its raw record)" if points else
            "Events per time bin (drag to select; zoom in to see single events)"))
        # a new chart comes with new selection objects: watch them again
        self.timeline.selections.observe(self._on_brush, names=BRUSH)
        if points:
            self.timeline.selections.observe(self._on_pick, names=PICK)
        self.heatmap.chart = heatmap_chart(activity_by_hour(self.filtered))
        self.heatmap.selections.observe(self._on_cell, names=CELL)
        self._show_table()

    def rows(self) -> pd.DataFrame:
        """The filtered events in the brushed span (all of them when nothing is brushed)."""
        if self.brushed is None:
            return self.filtered
        lo, hi = self.brushed
        times = self.filtered["eventTime"]
        return self.filtered[((times >= lo) & (times <= hi)).to_numpy(dtype=bool)]

    def _show_table(self) -> None:
        rows = self.rows()
        span = "" if self.brushed is None else (
            f" in the selection {self.brushed[0]:%Y-%m-%d %H:%M:%S} to {self.brushed[1]:%Y-%m-%d %H:%M:%S}")
        shown = f"; the first {TABLE_ROWS} below" if len(rows) > TABLE_ROWS else ""
        self.summary.value = str(_PIECES.summary(len(rows), len(self.frame), span, shown))
        self.table.value = table_rows(rows).to_html(index=False, escape=True, border=0, classes="trailtools-rows")

    # -- chart events -------------------------------------------------------------------------------------------
    def _on_brush(self, change) -> None:
        self.brushed = brush_window(change["new"].value)
        self.zoom.disabled = self.brushed is None
        self._show_table()

    def _on_pick(self, change) -> None:
        picked = [p.get("eventID") for p in change["new"].value if isinstance(p, dict)]
        if picked and picked[0]:
            self.show_record(picked[0])

    def _on_cell(self, change) -> None:
        actors = [p.get("actor") for p in change["new"].value if isinstance(p, dict)]
        if actors and actors[0] in self.principal.options:
            self.principal.value = actors[0]

    # -- actions ------------------------------------------------------------------------------------------------
    def show_record(self, event_id: str) -> None:
        """Show the full original record of one event (read back from its file), escaped."""
        try:
            text = json.dumps(self.raw_record(event_id), indent=2, default=str)
        except (KeyError, OSError, ValueError) as exc:  # the file moved or changed since the frame was loaded
            self.record.value = str(_PIECES.unreadable(event_id, exc))
            return
        self.record.value = str(_PIECES.record(text))

    def raw_record(self, event_id: str) -> dict[str, Any]:
        try:
            return raw_record(self.frame, event_id)
        except (KeyError, OSError, IndexError):  # no file behind the frame: the row as the frame holds it
            row = self.frame[self.frame["eventID"] == event_id]
            if not len(row):
                raise KeyError(f"no event with eventID {event_id!r}") from None
            return {k: v for k, v in row.iloc[0].items() if not k.startswith("_")}

    def zoom_to_brush(self) -> None:
        """Narrow the time range to the brushed span (to the slider's steps around it)."""
        if self.brushed is None:
            return
        steps = [v for _, v in self.time.options]
        lo = max((t for t in steps if t <= self.brushed[0]), default=steps[0])
        hi = min((t for t in steps if t > self.brushed[1]), default=steps[-1])
        if (lo, hi) == tuple(self.time.value) and len(self.filtered) > POINT_LIMIT:
            # already at the slider's finest step: filter on the exact span instead
            self.time.options = [(_label(t), t) for t in sorted({*steps, *self.brushed})]
            lo, hi = self.brushed
        self.time.value = (lo, hi)

    def clear(self) -> None:
        """Every filter back to "all"."""
        self._quiet = True
        try:
            self.time.index = (0, len(self.time.options) - 1)
            for d in (self.principal, self.event_name, self.event_source, self.region):
                d.value = ALL
            self.errors_only.value = False
            self.text.value = ""
        finally:
            self._quiet = False
        self.refresh()

    def _repr_mimebundle_(self, **kwargs):
        """The widgets in JupyterLab; a line of text where widgets cannot run (the static HTML report)."""
        data = self.widget._repr_mimebundle_(**kwargs)
        data = dict(data[0] if isinstance(data, tuple) else data)
        data["text/plain"] = (f"Explorer over {len(self.frame):,} events: open this notebook in JupyterLab to "
                              "filter, brush and drill down.")
        return data


def explore(events, *, title: str = "Explore events") -> Explorer:
    """An explorer over an events frame (or a :class:`~trailtools.LoadResult`): display it in JupyterLab."""
    frame = getattr(events, "frame", events)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"explore() takes an events frame or a LoadResult, not {type(events).__name__}")
    return Explorer(frame, title=title)
