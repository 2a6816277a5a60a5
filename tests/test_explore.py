"""The explorer: its pure filtering and aggregation functions, its chart specs, and its widgets wired to them
(driven here from Python the way the browser drives them; in a real browser: tests/test_lab_browser.py)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest
import vl_convert

from trailtools import explore as explore_fn
from trailtools.views.explore import BRUSH, CELL, PICK, heatmap_chart, timeline_chart
from trailtools.views.explorer import (
    MAX_BINS,
    POINT_LIMIT,
    TABLE_ROWS,
    Explorer,
    Filter,
    activity_by_hour,
    bin_width,
    brush_window,
    choices,
    event_points,
    filter_events,
    table_rows,
    time_bins,
    time_steps,
)
from trailtools.views.rerun import rerun

T0 = pd.Timestamp("2026-10-01T00:00:00Z")
_spec = importlib.util.spec_from_file_location(
    "bench_explore", Path(__file__).resolve().parents[1] / "benchmarks" / "bench_explore.py")
bench_explore = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_explore)  # the million-event frame the benchmark times


def frame_of(rows: list[dict]) -> pd.DataFrame:
    """A small events frame: the columns the explorer reads, as the reader types them."""
    cats = ["eventName", "eventSource", "awsRegion", "actor", "userIdentity.arn", "sourceIPAddress", "userAgent",
            "errorCode"]
    df = pd.DataFrame(rows)
    df["eventTime"] = pd.to_datetime(df["eventTime"], utc=True).astype("datetime64[us, UTC]")
    for col in cats:
        df[col] = (df[col] if col in df else pd.Series([None] * len(df))).astype("category")
    for col in ["errorMessage", "requestParameters", "responseElements", "resources", "eventID",
                "userIdentity.accessKeyId"]:
        df[col] = (df[col] if col in df else pd.Series([None] * len(df))).astype("str")
    return df


def ev(i: int, minutes: float, name="DescribeInstances", actor="alice", region="us-east-1", error=None, **kw):
    return {"eventTime": T0 + pd.Timedelta(minutes=minutes), "eventName": name, "eventSource": kw.pop(
        "source", "ec2.amazonaws.com"), "awsRegion": region, "actor": actor, "errorCode": error,
            "eventID": f"id-{i}", **kw}


@pytest.fixture
def small():
    return frame_of([
        ev(0, 0, sourceIPAddress="192.0.2.1", userAgent="aws-cli/2.15"),
        ev(1, 30, "RebootInstances", actor="bob", requestParameters='{"instancesSet": {"items": '
                                                                    '[{"instanceId": "i-0abc"}]}}'),
        ev(2, 61, "ConsoleLogin", actor="bob", source="signin.amazonaws.com", error="Failed authentication",
           errorMessage="Failed authentication"),
        ev(3, 125, "GetObject", actor="carol", region="eu-west-1", source="s3.amazonaws.com",
           userAgent="Mozilla/5.0 <script>"),
        ev(4, 24 * 60 + 5, "RunInstances", actor="alice", region="ap-northeast-1", error="AccessDenied"),
    ])


# ---- filtering ---------------------------------------------------------------------------------------------------

def ids(frame):
    return list(frame["eventID"])


def test_empty_filter_keeps_everything(small):
    assert ids(filter_events(small, Filter())) == [f"id-{i}" for i in range(5)]


@pytest.mark.parametrize("flt, expected", [
    (Filter(principal="bob"), [1, 2]),
    (Filter(event_name="GetObject"), [3]),
    (Filter(event_source="ec2.amazonaws.com"), [0, 1, 4]),
    (Filter(region="eu-west-1"), [3]),
    (Filter(errors_only=True), [2, 4]),
    (Filter(principal="alice", errors_only=True), [4]),
    (Filter(start="2026-10-01T00:30:00Z"), [1, 2, 3, 4]),
    (Filter(end="2026-10-01T00:30:00Z"), [0]),  # end is exclusive
    (Filter(start="2026-10-01T01:00:00", end="2026-10-02"), [2, 3]),  # naive times are UTC
    (Filter(principal="nobody"), []),
])
def test_each_filter(small, flt, expected):
    assert ids(filter_events(small, flt)) == [f"id-{i}" for i in expected]


@pytest.mark.parametrize("text, expected", [
    ("i-0ABC", [1]),          # in requestParameters (str column), any case
    ("mozilla", [3]),         # in userAgent (categorical column)
    ("<script>", [3]),        # literal text, markup and all
    ("192.0.2.", [0]),        # a dot is a dot, not a regex wildcard
    ("192.0.2.1x", []),
    ("failed auth", [2]),     # errorCode and errorMessage
    ("id-4", [4]),            # eventID
    ("   ", [0, 1, 2, 3, 4]),  # blank: no restriction
])
def test_text_search(small, text, expected):
    assert ids(filter_events(small, Filter(text=text))) == [f"id-{i}" for i in expected]


def test_missing_values_never_match(small):
    assert ids(filter_events(small, Filter(text="None"))) == []
    assert ids(filter_events(small, Filter(text="nan"))) == []


# ---- aggregation -------------------------------------------------------------------------------------------------

def test_bin_width_picks_the_smallest_width_within_the_limit():
    assert bin_width(T0, T0 + pd.Timedelta("2h")) == pd.Timedelta("1min")
    assert bin_width(T0, T0 + pd.Timedelta("14D")) == pd.Timedelta("3h")
    assert bin_width(T0, T0 + pd.Timedelta("14D"), max_bins=10) == pd.Timedelta("7D")
    assert bin_width(T0, T0) == pd.Timedelta("1s")


def test_time_bins_count_every_event_once_split_by_result(small):
    bins = time_bins(small, "2026-10-01", "2026-10-03")
    assert bins["events"].sum() == len(small)
    assert list(bins.columns) == ["start", "end", "status", "events"]
    width = bin_width(pd.Timestamp("2026-10-01", tz="UTC"), pd.Timestamp("2026-10-03", tz="UTC"))
    assert ((bins["end"] - bins["start"]) == width).all()
    assert (bins["start"] == bins["start"].dt.floor(width)).all()  # aligned on the width
    errors = bins[bins["status"] == "error"]
    assert errors["events"].sum() == 2
    # every event falls inside its bin
    for _, row in small.iterrows():
        status = "error" if pd.notna(row["errorCode"]) else "ok"
        hit = bins[(bins["start"] <= row["eventTime"]) & (row["eventTime"] < bins["end"]) & (bins["status"] == status)]
        assert len(hit) == 1


def test_time_bins_of_nothing(small):
    bins = time_bins(small.iloc[:0])
    assert bins.empty and list(bins.columns) == ["start", "end", "status", "events"]


def test_activity_by_hour(small):
    heat = activity_by_hour(small)
    assert heat["events"].sum() == len(small)
    bob = heat[heat["actor"] == "bob"].set_index("hour")["events"].to_dict()
    assert bob == {0: 1, 1: 1}
    top1 = activity_by_hour(small, top=1)
    assert set(top1["actor"]) == {"alice", "(2 other principals)"}
    assert top1["events"].sum() == len(small)


def test_event_points_sample_evenly_and_keep_what_the_tooltip_shows(small):
    pts = event_points(small)
    assert list(pts["eventID"]) == ids(small)
    assert pts.loc[0, "time"] == "2026-10-01T00:00:00.000Z"
    assert list(pts["status"]) == ["ok", "ok", "error", "ok", "error"]
    assert pts.loc[1, "errorCode"] == "" and pts.loc[2, "errorCode"] == "Failed authentication"
    two = event_points(small, limit=2)
    assert list(two["eventID"]) == ["id-0", "id-4"]  # first and last


def test_choices_most_frequent_first(small):
    assert choices(small, "actor") == ["alice", "bob", "carol"]
    assert choices(small, "errorCode") == ["AccessDenied", "Failed authentication"]


def test_table_rows_are_text_and_limited(small):
    rows = table_rows(small, limit=3)
    assert len(rows) == 3 and rows.loc[0, "eventTime"] == "2026-10-01 00:00:00"
    assert rows.loc[0, "errorCode"] == ""


def test_time_steps_cover_the_span():
    steps = time_steps(T0 + pd.Timedelta("5min"), T0 + pd.Timedelta("3h"))
    assert steps[0] == T0 and steps[-1] == T0 + pd.Timedelta("3h") and len(steps) == 4
    days = time_steps(T0, T0 + pd.Timedelta("90D"))
    assert days[0] == T0 and days[-1] >= T0 + pd.Timedelta("90D") and len(days) <= 400


@pytest.mark.parametrize("value, expected", [
    (None, None), ({}, None), ({"start": [1]}, None),
    ({"start": [1_790_000_000_000, 1_789_000_000_000]},
     (pd.Timestamp(1_789_000_000_000, unit="ms", tz="UTC"), pd.Timestamp(1_790_000_000_000, unit="ms", tz="UTC"))),
    ({"time": ["2026-10-01T01:00:00.000Z", "2026-10-01T02:00:00Z"]},
     (pd.Timestamp("2026-10-01T01:00Z"), pd.Timestamp("2026-10-01T02:00Z"))),
])
def test_brush_window(value, expected):
    assert brush_window(value) == expected


# ---- a million events ------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_million_events_stay_small_for_the_charts():
    # How long this takes is measured by benchmarks/bench_explore.py, beside a baseline, not asserted here.
    big = bench_explore.million()
    flt = Filter(start="2026-10-03", end="2026-10-20", errors_only=True)
    rows = filter_events(big, flt)
    bins, heat = time_bins(rows, flt.start, flt.end), activity_by_hour(rows)
    table = table_rows(rows)
    searched = filter_events(big, Filter(text="198.51.100.7"))
    assert 0 < len(rows) < len(big) and bins["events"].sum() == len(rows)
    assert len(bins) <= 2 * MAX_BINS and len(heat) <= 26 * 24 and len(table) == TABLE_ROWS
    assert len(searched) > 0 and searched["sourceIPAddress"].astype(str).str.startswith("198.51.100.7").all()
    assert len(event_points(big)) == POINT_LIMIT


# ---- chart specs -------------------------------------------------------------------------------------------------

def _params(spec: dict) -> dict:
    return {p["name"]: p for p in spec.get("params", [])}


def test_timeline_bins_spec(small):
    spec = timeline_chart(time_bins(small), points=False).to_dict()
    assert spec["mark"]["type"] == "bar" and spec["encoding"]["x"]["field"] == "start"
    assert _params(spec)[BRUSH]["select"] == {"type": "interval", "encodings": ["x"]}
    data = next(iter(spec["datasets"].values()))
    assert all(r["start"].endswith("Z") and r["end"].endswith("Z") for r in data)
    assert "<svg" in vl_convert.vegalite_to_svg(spec)


def test_timeline_points_spec_picks_an_event_by_id(small):
    spec = timeline_chart(event_points(small), points=True).to_dict()
    params = _params(spec)
    assert params[PICK]["select"] == {"type": "point", "fields": ["eventID"], "on": "click"}
    assert BRUSH in params and spec["mark"]["type"] == "circle"
    data = next(iter(spec["datasets"].values()))
    assert [r["eventID"] for r in data] == ids(small)
    assert "<svg" in vl_convert.vegalite_to_svg(spec)


def test_heatmap_spec(small):
    spec = heatmap_chart(activity_by_hour(small)).to_dict()
    assert _params(spec)[CELL]["select"]["fields"] == ["actor"]
    assert spec["encoding"]["y"]["sort"] == ["alice", "bob", "carol"]
    assert spec["encoding"]["x"]["scale"]["domain"] == list(range(24))
    assert "<svg" in vl_convert.vegalite_to_svg(spec)


def test_builders_do_not_change_their_input(small):
    bins = time_bins(small)
    before = bins.copy()
    timeline_chart(bins, points=False)
    pd.testing.assert_frame_equal(bins, before)


# ---- the widgets, driven from Python -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_frame(_demo_cache, tmp_path_factory):
    from trailtools import load_events

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRAILTOOLS_DEMO_CACHE_DIR", str(_demo_cache))
        mp.setenv("TRAILTOOLS_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        return load_events("demo").frame


def _data(jchart) -> list[dict]:
    return next(iter(jchart.spec["datasets"].values()))


@pytest.mark.slow
def test_explorer_widgets_filter_the_table_and_charts(demo_frame):
    ex = explore_fn(demo_frame)
    assert isinstance(ex, Explorer) and len(ex.filtered) == len(demo_frame)
    assert f"{len(demo_frame):,}" in ex.summary.value
    assert ex.timeline.spec["mark"]["type"] == "bar"  # too many events to draw one by one
    heat_before = _data(ex.heatmap)
    ex.principal.value = "legacy-deploy"
    assert set(ex.filtered["actor"]) == {"legacy-deploy"}
    assert f"<b>{len(ex.filtered):,}</b>" in ex.summary.value
    assert "legacy-deploy" in ex.table.value and _data(ex.heatmap) != heat_before
    assert {r["actor"] for r in _data(ex.heatmap)} == {"legacy-deploy"}
    ex.errors_only.value = True
    assert len(ex.filtered) and ex.filtered["errorCode"].notna().all()
    assert ex.timeline.spec["mark"]["type"] == "circle"  # few enough: single events, clickable
    ex.clear()
    assert len(ex.filtered) == len(demo_frame) and ex.principal.value == "(all)"


def test_brush_filters_the_table_and_zoom_narrows_the_range(demo_frame):
    ex = Explorer(demo_frame)
    lo, hi = pd.Timestamp("2026-10-05T00:00Z"), pd.Timestamp("2026-10-05T06:00Z")
    # what the browser sends when the analyst drags on the timeline (epoch ms, as Vega gives them)
    ex.timeline._vl_selections = {BRUSH: {"value": {"start": [lo.value // 10**6, hi.value // 10**6]}, "store": []}}
    times = ex.rows()["eventTime"]
    inside = ((demo_frame["eventTime"] >= lo) & (demo_frame["eventTime"] <= hi)).sum()
    assert len(times) == inside and times.between(lo, hi).all()
    assert f"<b>{inside:,}</b>" in ex.summary.value and not ex.zoom.disabled
    ex.zoom_to_brush()
    assert ex.time.value[0] <= lo and ex.time.value[1] > hi
    assert ex.filtered["eventTime"].min() >= ex.time.value[0] and len(ex.filtered) < len(demo_frame)


def test_click_shows_the_raw_record_escaped(demo_frame):
    ex = Explorer(demo_frame)
    ex.principal.value = "legacy-deploy"
    ex.errors_only.value = True
    event_id = ex.filtered["eventID"].iloc[0]
    ex.timeline._vl_selections = {**ex.timeline._vl_selections,
                                  PICK: {"value": {"vlPoint": {"or": [{"eventID": event_id}]}}, "store": []}}
    assert event_id in ex.record.value and "&quot;eventID&quot;" in ex.record.value
    assert "legacy-deploy" in ex.record.value


def test_heatmap_click_picks_the_principal(demo_frame):
    ex = Explorer(demo_frame)
    ex.heatmap._vl_selections = {CELL: {"value": {"vlPoint": {"or": [{"actor": "legacy-deploy"}]}}, "store": []}}
    assert ex.principal.value == "legacy-deploy"


def test_log_strings_reach_the_page_escaped(small):
    ex = Explorer(small)
    ex.text.value = "mozilla"
    assert "Mozilla/5.0 &lt;script&gt;" in ex.table.value and "<script>" not in ex.table.value
    ex.show_record("id-3")  # no file behind this frame: the row as the frame holds it
    assert "&lt;script&gt;" in ex.record.value and "<script>" not in ex.record.value


def test_an_empty_frame_still_shows(small):
    ex = Explorer(small.iloc[:0])
    assert "<b>0</b>" in ex.summary.value and _data(ex.heatmap) == []


def test_static_renderings_get_a_line_of_text(small):
    data = Explorer(small)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/plain"].startswith("Explorer over 5 events: open this notebook in JupyterLab")
    assert not [m for m in data if "vega" in m]  # no second chart in the reports


def test_rerun_runs_only_when_asked_and_shows_the_views():
    calls = []

    class Result:
        def view(self):
            return "shown"

    def run(**kw):
        calls.append(kw)
        return Result()

    r = rerun(run, ["view"], fixed={"source": "demo"}, instance="i-0abc", start=None)
    assert calls == [] and r.inputs["start"].value == ""
    assert "JupyterLab" in r._repr_mimebundle_()["text/plain"]
    r.inputs["instance"].value = "i-0def"  # what Enter in the box does
    assert calls == [{"source": "demo", "instance": "i-0def", "start": None}]
    r.run()
    assert len(calls) == 2


def test_rerun_says_a_bad_value_in_one_sentence(capsys):
    from trailtools.investigations.reboot.gather import investigate

    r = rerun(investigate, ["answer_box"], instance="i-nothex")
    r.run()  # no exception: the error is printed (in the output widget, in a kernel)
    assert "'i-nothex' is not an EC2 instance ID" in capsys.readouterr().out
