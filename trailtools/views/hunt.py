"""The hunt timeline: the events that are evidence of findings, one lane per attack chain, coloured by severity,
above the number of events read per time bin (so a finding is seen against the window's activity).

Inputs are the hunt's findings (:class:`trailtools.findings.model.Finding`), its chains (objects with ``name`` and
``findings``: :class:`trailtools.rules.chains.Group`) and the events per bin of
:func:`trailtools.views.explorer.time_bins`. The builder returns an Altair chart and never displays it; strings go
into the spec unchanged (escaping belongs to whoever writes the spec into HTML).
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from trailtools.views import offline  # noqa: F401 (its charts render offline: Vega bundled, no CDN)
from trailtools.views.time import axis_format, human_series, iso_series, utc_series

SEVERITY_ORDER = ["critical", "high", "medium", "low", "info"]
SEVERITY_COLORS = ["#7b0000", "#d62728", "#ff7f0e", "#1f77b4", "#7f7f7f"]
MAX_POINTS = 5000        # Altair's default limit for data embedded in a spec
MAX_LANES = 20           # chains shown as lanes; the others share the lane "other chains"
WIDTH, LANE_HEIGHT, VOLUME_HEIGHT = 800, 36, 80


def finding_points(findings, chains) -> pd.DataFrame:
    """One row per evidence event of each finding (at most MAX_POINTS, the most severe findings first): time,
    lane (its chain), severity, check, title, credential, eventID, summary."""
    lane_of = {}
    for n, g in enumerate(chains):
        for f in g.findings:
            lane_of[id(f)] = g.name if n < MAX_LANES else "other chains"
    rows = []
    for f in sorted(findings, key=lambda f: SEVERITY_ORDER.index(f.severity)):
        for e in f.evidence:
            if e.time and len(rows) < MAX_POINTS:
                rows.append({"time": e.time, "lane": lane_of.get(id(f), "no credential"), "severity": f.severity,
                             "check": f.check, "title": f.title, "credential": str(f.extra.get("credential") or ""),
                             "eventID": e.ref, "summary": e.summary})
    cols = ["time", "lane", "severity", "check", "title", "credential", "eventID", "summary"]
    return pd.DataFrame(rows, columns=cols)


def findings_timeline(findings, chains, volume: pd.DataFrame | None = None, *, title: str = "Findings over time"):
    """The chart: findings' events as points (lane = attack chain, colour = severity; hover for the finding, drag to
    pan, scroll to zoom), over bars of the events read per time bin (``volume``: columns start, end, events)."""
    points = finding_points(findings, chains)
    times = utc_series(points["time"])
    lanes = list(dict.fromkeys(points["lane"]))
    data = points.assign(time=iso_series(times), when=human_series(times))
    zoom = alt.selection_interval(bind="scales", encodings=["x"], name="zoom")
    all_times = list(times) + (list(volume["start"]) if volume is not None and len(volume) else [])
    x = alt.X("time:T", title="time (UTC)", scale=alt.Scale(type="utc"),
              axis=alt.Axis(format=axis_format(all_times), tickCount=10, labelOverlap=True))
    color = alt.Color("severity:N", title="severity", scale=alt.Scale(domain=SEVERITY_ORDER, range=SEVERITY_COLORS))
    tooltip = [alt.Tooltip("when:N", title="time"), alt.Tooltip("severity:N"), alt.Tooltip("check:N"),
               alt.Tooltip("title:N"), alt.Tooltip("lane:N", title="chain"), alt.Tooltip("credential:N"),
               alt.Tooltip("eventID:N"), alt.Tooltip("summary:N")]
    chart = alt.Chart(data).mark_point(filled=True, size=110, opacity=0.85, clip=True).encode(
        x=x, y=alt.Y("lane:N", title=None, sort=lanes, scale=alt.Scale(domain=lanes)), color=color,
        shape=alt.Shape("severity:N", scale=alt.Scale(domain=SEVERITY_ORDER), legend=None), tooltip=tooltip,
    ).add_params(zoom).properties(width=WIDTH, height=LANE_HEIGHT * max(len(lanes), 1))
    if volume is None or not len(volume):
        return chart.properties(title=alt.TitleParams(title, subtitle="no finding in this window" if not len(points)
                                                      else alt.Undefined, anchor="start"))
    bars = pd.DataFrame({"time": iso_series(volume["start"]), "end": iso_series(volume["end"]),
                         "events": volume["events"].astype("int64"), "status": volume["status"].astype(str),
                         "when": human_series(utc_series(volume["start"])) + " .. "
                         + human_series(utc_series(volume["end"]))})
    counts = alt.Chart(bars).mark_bar(clip=True).encode(
        x=x, x2="end:T", y=alt.Y("sum(events):Q", title="events read"),
        color=alt.Color("status:N", title="result", scale=alt.Scale(domain=["ok", "error"],
                                                                    range=["#9ecae1", "#fc9272"])),
        tooltip=[alt.Tooltip("when:N", title="bin"), alt.Tooltip("status:N"), alt.Tooltip("events:Q")],
    ).properties(width=WIDTH, height=VOLUME_HEIGHT)
    subtitle = (f"{len(points):,} evidence events of {len(findings):,} findings; bars: events read per bin"
                if len(points) else "no finding in this window; bars: events read per bin")
    return alt.vconcat(chart, counts).resolve_scale(x="shared", color="independent").properties(
        title=alt.TitleParams(title, subtitle=subtitle, anchor="start"))
