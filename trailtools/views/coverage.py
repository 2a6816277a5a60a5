"""Coverage on charts: gaps in the evidence shaded on any timeline, and a small chart of a window's coverage.

``shade_gaps(chart, coverage)`` returns a *new* layered chart with the gaps drawn behind the original layers as grey
bands (tooltip: when and why); the chart given is not changed. The chart's x channel must be a time (UTC) field:
the bands share its scale. ``coverage_chart(coverage)`` draws the window as one bar: covered, and each gap by kind.
Strings go into the spec unchanged: escaping belongs to whoever writes the spec into HTML (``views.spec_json``).
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from trailtools.views import offline  # noqa: F401 (its charts render offline: Vega bundled, no CDN)
from trailtools.views.time import AXIS_FORMAT, human_text, iso_text

#: Which gaps are drawn over which where they overlap: the calls that stopped logging show through silent hours.
DRAW_ORDER = {"no-digests": 0, "no-deliveries": 1, "events-excluded": 2, "logging-stopped": 3, "trail-deleted": 4}
GAP_COLORS = {"logging-stopped": "#7f7f7f", "trail-deleted": "#525252", "events-excluded": "#a6a6a6",
              "no-deliveries": "#bdbdbd", "no-digests": "#d9d9d9", "covered": "#74c476"}


def _rows(gaps, window=None) -> list[dict]:
    """Gaps (a Coverage, a list of Gap, or a frame with start/end/kind/reason) as rows for a chart."""
    if hasattr(gaps, "gaps"):
        window = window or gaps.window
        items = [(g.start, g.end, g.kind, g.reason) for g in gaps.gaps]
    elif isinstance(gaps, pd.DataFrame):
        items = list(gaps[["start", "end", "kind", "reason"]].itertuples(index=False, name=None))
    else:
        items = [(g.start, g.end, g.kind, g.reason) for g in gaps or ()]
    rows = []
    for start, end, kind, reason in items:
        if window is not None:
            lo, hi = (pd.Timestamp(t) for t in window)
            start, end = max(pd.Timestamp(start), lo), min(pd.Timestamp(end), hi)
            if end <= start:
                continue
        rows.append({"time": iso_text(start), "end": iso_text(end), "gap": str(kind),
                     "when": f"{human_text(start)} .. {human_text(end)}", "why": str(reason)})
    return rows


def gap_layer(gaps, window=None) -> alt.Chart:
    """The gaps as full-height grey bands on a UTC time axis (fields ``time`` and ``end``), with tooltips."""
    return _band(_rows(gaps, window))


def _band(rows: list[dict]) -> alt.Chart:
    return alt.Chart(alt.Data(values=rows)).mark_rect(opacity=0.35, clip=True, color="#9e9e9e").encode(
        x=alt.X("time:T", scale=alt.Scale(type="utc")), x2="end:T",
        tooltip=[alt.Tooltip("gap:N", title="no evidence"), alt.Tooltip("when:N", title="time"),
                 alt.Tooltip("why:N")])


def shade_gaps(chart, coverage, window=None):
    """A new chart: ``chart`` with the coverage's gaps shaded behind it (``chart`` itself is left unchanged).

    ``coverage`` is a :class:`trailtools.integrity.coverage.Coverage`, a list of gaps, or a frame of them; with no gaps
    the
    result is a copy of the chart. Top-level properties (size, title) of a layered chart are kept.
    """
    rows = _rows(coverage, window)
    if not rows:
        return chart.copy(deep=True)
    band = _band(rows)
    if isinstance(chart, alt.LayerChart):
        new = chart.copy(deep=True)
        new.layer = [band, *new.layer]
        return new
    return alt.layer(band, chart.copy(deep=True))


def coverage_chart(coverage, *, width: int = 800, title: str | None = None) -> alt.LayerChart:
    """The window as one horizontal bar: green where the trail speaks for it, a grey band per gap (darker: logging
    stopped or the trail deleted; lighter: silent hours, no digests), the covered share in the title."""
    lo, hi = coverage.window
    rows = [
        {
            "time": iso_text(lo),
            "end": iso_text(hi),
            "gap": "covered",
            "when": f"{human_text(lo)} .. {human_text(hi)}",
            "why": "events recorded",
        }
    ] + sorted(_rows(coverage), key=lambda r: DRAW_ORDER.get(r["gap"], 0))
    for r in rows:  # colours as data (scale=None): the chart can sit beside others without merging their scales
        r["color"] = GAP_COLORS.get(r["gap"], "#9e9e9e")
    color = alt.Color("color:N", scale=None, legend=None)
    x = alt.X(
        "time:T",
        title="time (UTC)",
        scale=alt.Scale(type="utc", domain=[iso_text(lo), iso_text(hi)]),
        axis=alt.Axis(format=AXIS_FORMAT, labelOverlap=True),
    )
    bar = (
        alt.Chart(alt.Data(values=rows))
        .mark_bar(height=18, clip=True)
        .encode(
            x=x,
            x2="end:T",
            color=color,
            tooltip=[alt.Tooltip("gap:N", title="coverage"), alt.Tooltip("when:N", title="time"), alt.Tooltip("why:N")],
        )
    )
    text = title or f"Logging coverage: {coverage.covered_fraction():.1%} of the window"
    return alt.layer(bar).properties(width=width, height=30, title=alt.TitleParams(text=text, anchor="start"))
