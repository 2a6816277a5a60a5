"""The explorer's charts: a timeline to brush (bins of events, or the events themselves when few enough to click)
and an activity heat map by principal and hour of the day.

Inputs are the small frames of :mod:`trailtools.views.explorer` (already aggregated or sampled: never a million rows).
The builders return new Altair charts and never display them. Selection names are part of the contract with the
explorer: ``brush`` (an x interval on the timeline), ``pick`` (a clicked event: its ``eventID``), ``cell`` (a clicked
heat-map cell: its ``actor``).
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from trailtools.views import offline  # noqa: F401 (its charts render offline: Vega bundled, no CDN)

__all__ = ["timeline_chart", "heatmap_chart", "BRUSH", "PICK", "CELL"]

BRUSH, PICK, CELL = "brush", "pick", "cell"
WIDTH = 760
STATUS_COLORS = alt.Scale(domain=["ok", "error"], range=["#4c78a8", "#e45756"])
POINT_FIELDS = ["time", "eventName", "eventSource", "awsRegion", "actor", "sourceIPAddress", "errorCode", "eventID"]


def _iso(times: pd.Series) -> pd.Series:
    """UTC times as ISO text with a Z, which every browser reads as UTC."""
    return pd.to_datetime(times, utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _brush() -> alt.Parameter:
    return alt.selection_interval(name=BRUSH, encodings=["x"])


def timeline_chart(data: pd.DataFrame, *, points: bool, title: str = "Events over time (drag to select)"):
    """Bins (``points`` false; columns ``start``, ``end``, ``status``, ``events``: stacked bars) or events
    (columns :data:`POINT_FIELDS` and ``status``: one dot each, by service, a click picks one) with an x brush."""
    if not points:
        data = data.assign(start=_iso(data["start"]), end=_iso(data["end"]))
    base = alt.Chart(data).properties(width=WIDTH, height=180 if not points else 220, title=title)
    color = alt.Color("status:N", scale=STATUS_COLORS, title="result")
    if points:
        pick = alt.selection_point(name=PICK, fields=["eventID"], on="click", empty=False)
        chart = base.mark_circle(size=60, opacity=0.8).encode(
            x=alt.X("time:T", title="UTC", axis=alt.Axis(format="%b %d %H:%M")),
            y=alt.Y("eventSource:N", title=None),
            color=color,
            size=alt.condition(pick, alt.value(220), alt.value(60)),
            tooltip=[alt.Tooltip("time:T", format="%Y-%m-%d %H:%M:%S"), *POINT_FIELDS[1:]],
        ).add_params(_brush(), pick)
    else:
        chart = base.mark_bar().encode(
            x=alt.X("start:T", title="UTC", axis=alt.Axis(format="%b %d %H:%M")),
            x2="end:T",
            y=alt.Y("sum(events):Q", title="events"),
            color=color,
            tooltip=[alt.Tooltip("start:T", format="%Y-%m-%d %H:%M", title="from"),
                     alt.Tooltip("end:T", format="%Y-%m-%d %H:%M", title="to"), "status:N", "events:Q"],
        ).add_params(_brush())
    return chart


def heatmap_chart(data: pd.DataFrame, *, title: str = "Activity by principal and hour (UTC); click a row to filter"):
    """Columns ``actor``, ``hour`` (0-23) and ``events``: one row per principal, busiest first."""
    order = data.groupby("actor", sort=False)["events"].sum().sort_values(ascending=False).index.tolist()
    cell = alt.selection_point(name=CELL, fields=["actor"], on="click", empty=False)
    return alt.Chart(data).mark_rect(stroke="white").encode(
        x=alt.X("hour:O", title="hour of day (UTC)", scale=alt.Scale(domain=list(range(24)))),
        y=alt.Y("actor:N", sort=order, title=None),
        color=alt.Color("events:Q", scale=alt.Scale(scheme="blues", type="symlog"), title="events"),
        opacity=alt.condition(cell, alt.value(1.0), alt.value(0.85)),
        tooltip=["actor:N", "hour:O", "events:Q"],
    ).add_params(cell).properties(width=WIDTH - 260, height=max(60, 16 * len(order)), title=title)
