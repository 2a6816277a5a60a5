"""The instance timeline: one lane per kind of evidence about one EC2 instance, the restart marked.

Input is the evidence frame of the reboot analysis (columns `time`, `end`, `lane`, `what`, `who`, `where`, `how`,
`ref`, `detail`). The builder returns an Altair chart and never displays it. Strings are put into the spec unchanged:
escaping belongs to whoever writes the spec into HTML (`trailtools.views.spec_json`).
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from trailtools.views import offline  # noqa: F401 (its charts render offline: Vega bundled, no CDN)
from trailtools.views.coverage import gap_layer
from trailtools.views.time import AXIS_FORMAT, epoch_ms, human_series, iso_series, utc_series

LANES = ["API calls", "AWS Health", "Scheduled events", "Status checks", "Guest OS"]
ALWAYS = ["API calls", "Guest OS"]  # shown even when empty, so an empty lane says "nothing here"
COLORS = {"API calls": "#1f77b4", "AWS Health": "#d62728", "Scheduled events": "#ff7f0e",
          "Status checks": "#9467bd", "Guest OS": "#2ca02c"}
SHAPES = {"API calls": "circle", "AWS Health": "diamond", "Scheduled events": "square",
          "Status checks": "triangle-up", "Guest OS": "cross"}
TEXT = ["what", "who", "where", "how", "ref", "detail"]
MAX_ROWS = 5000  # Altair's default limit for data embedded in a spec
RAW_ROWS, BINS = 2500, 1500  # above MAX_ROWS: rows of small lanes drawn as they are, bins for the big lanes
WIDTH, LANE_HEIGHT = 800, 48
# Bin widths tried in order when the frame is too big to draw event by event.
BIN_WIDTHS = ["1s", "10s", "1min", "5min", "15min", "1h", "3h", "6h", "1D", "7D", "30D"]


def _normalize(evidence: pd.DataFrame, window) -> pd.DataFrame:
    """The columns the chart needs, times in UTC, missing text as "", rows outside the window dropped."""
    df = evidence.reindex(columns=["time", "end", "lane", *TEXT]).copy()
    df["time"], df["end"] = utc_series(df["time"]), utc_series(df["end"])
    df = df[df["time"].notna()]
    for col in ["lane", *TEXT]:
        df[col] = df[col].astype(object).where(df[col].notna(), "").astype(str)
    df.loc[df["lane"] == "", "lane"] = "other"
    if window is not None:
        lo, hi = (utc_series([t]).iloc[0] for t in window)
        df = df[(df["time"] <= hi) & (df["end"].fillna(df["time"]) >= lo)]
    return df.reset_index(drop=True)


def _lanes(df: pd.DataFrame) -> list[str]:
    """Known lanes in their fixed order (the two defaults always), then any unknown lane as it appears."""
    present = set(df["lane"])
    known = [lane for lane in LANES if lane in present or lane in ALWAYS]
    return known + [lane for lane in dict.fromkeys(df["lane"]) if lane not in LANES]


def _top(df: pd.DataFrame, col: str, k: int = 3) -> pd.Series:
    """Per (lane, bin): 'RebootInstances (120), StopInstances (3), +2 more', most frequent values first."""
    keys = ["lane", "bin"]
    c = df[df[col] != ""].groupby([*keys, col]).size().rename("n").reset_index()
    c = c.sort_values([*keys, "n", col], ascending=[True, True, False, True])
    c["item"] = c[col] + " (" + c["n"].astype(str) + ")"
    text = c[c.groupby(keys).cumcount() < k].groupby(keys)["item"].agg(", ".join)
    more = c.groupby(keys).size() - k
    return text + more.map(lambda m: f", +{m} more" if m > 0 else "")


def _bin(df: pd.DataFrame, budget: int) -> tuple[pd.DataFrame, str]:
    """Count rows per (lane, time bin), the narrowest bin that fits in budget rows; tooltips summarize each bin."""
    df = df.sort_values("time", kind="stable")
    per_lane = max(budget // max(df["lane"].nunique(), 1) - 2, 1)
    days = (df["time"].max() - df["time"].min()) / pd.Timedelta("1D") / per_lane
    for width in [*BIN_WIDTHS, f"{int(days) + 1}D"]:  # the last always fits: <= per_lane + 2 bins a lane
        df = df.assign(bin=df["time"].dt.floor(width))
        if len(df[["lane", "bin"]].drop_duplicates()) <= budget:
            break
    groups = df.groupby(["lane", "bin"], sort=True)
    out = groups.agg(count=("time", "size"), first=("time", "min"), last=("time", "max"), ref=("ref", "first"))
    for col in ["what", "who", "where", "how"]:
        out[col] = _top(df, col).reindex(out.index).fillna("")
    out = out.reset_index()
    out["ref"] = out["count"].astype(str) + " events; first: " + out["ref"]
    out["detail"] = ""
    out["time"], out["end"] = out["bin"] + pd.Timedelta(width) / 2, pd.NaT
    out["when"] = human_series(out["first"]) + " .. " + human_series(out["last"])
    return out.drop(columns=["bin", "first", "last"]), width


def _when(df: pd.DataFrame) -> pd.Series:
    """The tooltip's time: the instant, or 'start .. end' for an interval."""
    return human_series(df["time"]).where(df["end"].isna(), human_series(df["time"]) + " .. " + human_series(df["end"]))


def _data(df: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """The rows to embed (<= MAX_ROWS), `kind` instant, interval or bin, and a note when some lanes are binned.

    Under MAX_ROWS every row is drawn. Above it the smallest lanes (where the rare evidence is: Health, scheduled
    events, boots) stay event by event up to RAW_ROWS, and the big ones are counted per time bin.
    """
    if len(df) <= MAX_ROWS:
        out, note = df.assign(count=1, when=_when(df), kind=""), None
    else:
        sizes = df["lane"].value_counts(ascending=True)
        raw = df["lane"].isin(sizes.index[sizes.cumsum() <= RAW_ROWS])
        bins, width = _bin(df[~raw], BINS)
        out = pd.concat([df[raw].assign(count=1, when=_when(df[raw]), kind=""), bins.assign(kind="bin")],
                        ignore_index=True)
        big = ", ".join(lane for lane in _lanes(df) if lane in set(bins["lane"]))
        note = f"{len(df):,} rows: {big} counted per {width} (point size = events)"
    out.loc[out["kind"] == "", "kind"] = out["end"].notna().map({True: "interval", False: "instant"})
    out["time"], out["end"] = iso_series(out["time"]), iso_series(out["end"])
    cols = ["time", "end", "lane", "kind", "count", "when", *TEXT]
    return out[cols].reset_index(drop=True), note


def instance_timeline(evidence: pd.DataFrame, *, restart: pd.Timestamp | None = None,
                      window: tuple[pd.Timestamp, pd.Timestamp] | None = None,
                      title: str = "", gaps=None) -> alt.LayerChart | alt.Chart:
    """A zoomable timeline of the evidence about one instance: lanes on y, UTC time on x, the restart marked.

    Instants are points, intervals (rows with an `end`) are bars. Drag to pan and scroll to zoom on x; click a legend
    entry to highlight its lane. Lanes that are empty say so. Above MAX_ROWS rows the big lanes are counted per time
    bin (the subtitle says so). With `window`, rows outside it are left out and the x domain is the window.
    With `gaps` (a `trailtools.integrity.coverage.Coverage` or a list of its gaps), the periods without evidence are
    shaded
    (`trailtools.views.coverage.shade_gaps`): no evidence there is not nothing happening.
    """
    df = _normalize(evidence, window)
    lanes = _lanes(df)
    data, note = _data(df)

    zoom = alt.selection_interval(bind="scales", encodings=["x"], name="zoom")
    pick = alt.selection_point(fields=["lane"], bind="legend", name="lane_pick")
    x_scale = alt.Scale(type="utc", domain=[epoch_ms(t) for t in window] if window is not None else alt.Undefined)
    x = alt.X("time:T", title="time (UTC)", scale=x_scale,
              axis=alt.Axis(format=AXIS_FORMAT, tickCount=10, labelOverlap=True, labelSeparation=6))
    y = alt.Y("lane:N", title=None, sort=lanes, scale=alt.Scale(domain=lanes))
    color = alt.Color("lane:N", title="evidence", scale=alt.Scale(
        domain=lanes, range=[COLORS.get(lane, "#7f7f7f") for lane in lanes]))
    shape = alt.Shape("lane:N", title="evidence", scale=alt.Scale(
        domain=lanes, range=[SHAPES.get(lane, "circle") for lane in lanes]))
    opacity = alt.when(pick).then(alt.value(0.9)).otherwise(alt.value(0.15))
    size = alt.value(90)
    if note is not None:  # binned rows: size by count; single events keep the fixed size
        counts = alt.Size("count:Q", title="events per bin", scale=alt.Scale(range=[20, 400]))
        size = alt.when("datum.kind === 'bin'").then(counts).otherwise(alt.value(90))
    tooltip = [alt.Tooltip("when:N", title="time"), alt.Tooltip("lane:N"), alt.Tooltip("what:N"),
               alt.Tooltip("who:N"), alt.Tooltip("where:N"), alt.Tooltip("how:N"), alt.Tooltip("ref:N"),
               alt.Tooltip("detail:N"), alt.Tooltip("count:Q", title="events")]
    base = alt.Chart(data)

    points = base.transform_filter("datum.kind !== 'interval'").mark_point(filled=True, clip=True).encode(
        x=x, y=y, color=color, shape=shape, opacity=opacity, size=size, tooltip=tooltip).add_params(zoom, pick)
    bars = base.transform_filter("datum.kind === 'interval'").mark_bar(size=14, clip=True).encode(
        x=x, x2="end:T", y=y, color=color, opacity=opacity, tooltip=tooltip)
    layers = [bars, points]

    present = set(df["lane"])
    empty = [lane for lane in lanes if lane not in present]
    if empty:
        layers.append(alt.Chart(alt.Data(values=[{"lane": lane, "note": "nothing here"} for lane in empty]))
                      .mark_text(align="left", dx=6, color="#888", fontStyle="italic")
                      .encode(y=y, x=alt.value(0), text="note:N"))
    if restart is not None and not pd.isna(restart):
        when = utc_series([restart])
        mark = alt.Data(values=[{"time": iso_series(when).iloc[0], "label": "restart",
                                 "when": human_series(when).iloc[0]}])
        rule = alt.Chart(mark).encode(x=x, tooltip=[alt.Tooltip("label:N"), alt.Tooltip("when:N", title="time")])
        layers += [
            rule.mark_rule(color="black", strokeDash=[6, 3], strokeWidth=2, clip=True),
            rule.mark_text(align="left", baseline="top", dx=4, dy=2, fontWeight="bold", clip=True).encode(
                y=alt.value(0), text="label:N"
            ),
        ]

    if gaps is not None:
        shade = gap_layer(gaps, window)
        if shade.data.values:  # behind everything else, on the same time scale
            layers.insert(0, shade.encode(x=x))
    chart = alt.layer(*layers).properties(width=WIDTH, height=LANE_HEIGHT * len(lanes))
    if title or note:
        chart = chart.properties(
            title=alt.TitleParams(text=title or "Instance timeline", subtitle=note or alt.Undefined, anchor="start")
        )
    return chart
