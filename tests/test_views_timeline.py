"""The instance timeline, tested through chart.to_dict() (the Vega-Lite spec), plus one render with vl-convert."""
import json

import numpy as np
import pandas as pd
import pytest

alt = pytest.importorskip("altair")

from trailtools.views import instance_timeline, spec_json  # noqa: E402
from trailtools.views.timeline import MAX_ROWS  # noqa: E402

COLUMNS = ["time", "end", "lane", "what", "who", "where", "how", "ref", "detail"]
XSS = "</script><script>alert(1)</script>"


def T(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


def frame(rows: list[dict]) -> pd.DataFrame:
    """An evidence frame with the analysis's dtypes."""
    df = pd.DataFrame(rows, columns=COLUMNS)
    for col in ["time", "end"]:
        df[col] = pd.to_datetime(df[col], utc=True).astype("datetime64[us, UTC]")
    return df


def reboot_case() -> pd.DataFrame:
    return frame([
        dict(time="2026-11-03 13:58:00", lane="API calls", what="RebootInstances", who=XSS, where="192.0.2.10",
             how="console", ref="6f1c0b0e-0000-4000-8000-000000000001"),
        dict(time="2026-11-03 14:00:00", lane="AWS Health", what="AWS_EC2_INSTANCE_AUTO_RECOVERY_SUCCESS",
             where="us-east-1", how="AWS service", ref="arn:aws:health:us-east-1::event/EC2/X/abc"),
        dict(time="2026-11-03 14:01:00", end="2026-11-03 14:02:30", lane="Status checks",
             what="StatusCheckFailed_System", ref="cloudwatch:StatusCheckFailed_System"),
        dict(time="2026-11-03 14:03:10", lane="Guest OS", what="boot (unclean)", ref="messages:1042",
             detail="kernel: Linux version 6.1"),
    ])


def layers(spec: dict) -> list[dict]:
    return spec["layer"]


def layer(spec: dict, mark: str) -> dict:
    found = [lay for lay in layers(spec) if lay["mark"]["type"] == mark]
    assert len(found) == 1, [lay["mark"]["type"] for lay in layers(spec)]
    return found[0]


def rows(spec: dict, lay: dict) -> list[dict]:
    data = lay.get("data") or spec["data"]  # Altair moves data all layers share to the top
    return spec["datasets"][data["name"]] if "name" in data else data["values"]


def all_rows(spec: dict) -> list[dict]:
    inline = [r for lay in layers(spec) if "values" in lay.get("data", {}) for r in lay["data"]["values"]]
    return [r for ds in spec.get("datasets", {}).values() for r in ds] + inline


def test_lanes_are_the_present_ones_in_order_plus_the_two_defaults():
    spec = instance_timeline(reboot_case().iloc[1:]).to_dict()  # no API call
    points = layer(spec, "point")
    want = ["API calls", "AWS Health", "Status checks", "Guest OS"]
    assert points["encoding"]["y"]["scale"]["domain"] == want
    assert points["encoding"]["y"]["sort"] == want
    assert points["encoding"]["color"]["scale"]["domain"] == want
    assert points["encoding"]["shape"]["scale"]["domain"] == want
    # The empty default lane says so.
    note = layer(spec, "text")
    assert note["data"]["values"] == [{"lane": "API calls", "note": "nothing here"}]
    assert spec["height"] == 4 * 48


def test_encodings_points_for_instants_bars_for_intervals():
    spec = instance_timeline(reboot_case()).to_dict()
    points, bars = layer(spec, "point"), layer(spec, "bar")
    assert points["transform"] == [{"filter": "datum.kind !== 'interval'"}]
    assert bars["transform"] == [{"filter": "datum.kind === 'interval'"}]
    for lay in (points, bars):
        enc = lay["encoding"]
        assert enc["x"]["field"] == "time" and enc["x"]["type"] == "temporal"
        assert enc["x"]["scale"]["type"] == "utc" and enc["x"]["title"] == "time (UTC)"
        assert enc["y"]["field"] == "lane" and enc["y"]["type"] == "nominal"
        assert enc["color"]["field"] == "lane"
        tips = [t["field"] for t in enc["tooltip"]]
        assert {"when", "what", "who", "where", "how", "ref"} <= set(tips)
        assert lay["mark"]["clip"] is True  # zoomed-out marks stay inside the plot
    assert bars["encoding"]["x2"] == {"field": "end"}
    assert points["encoding"]["shape"]["field"] == "lane"

    data = {r["what"]: r for r in rows(spec, points)}
    assert data["RebootInstances"]["time"] == "2026-11-03T13:58:00.000Z"
    assert data["RebootInstances"]["kind"] == "instant" and data["RebootInstances"]["end"] == ""
    run = data["StatusCheckFailed_System"]
    assert (run["kind"], run["end"]) == ("interval", "2026-11-03T14:02:30.000Z")
    assert run["when"] == "2026-11-03 14:01:00 UTC .. 2026-11-03 14:02:30 UTC"
    assert data["boot (unclean)"]["detail"] == "kernel: Linux version 6.1"
    assert data["AWS_EC2_INSTANCE_AUTO_RECOVERY_SUCCESS"]["who"] == ""  # None is "", never NaN


def test_restart_rule_and_label():
    spec = instance_timeline(reboot_case(), restart=T("2026-11-03 14:02:00")).to_dict()
    rule = layer(spec, "rule")
    assert rule["encoding"]["x"]["field"] == "time"
    assert rule["data"]["values"][0]["time"] == "2026-11-03T14:02:00.000Z"
    labels = [lay for lay in layers(spec) if lay["encoding"].get("text", {}).get("field") == "label"]
    assert [lay["data"]["values"][0]["label"] for lay in labels] == ["restart"]

    no_restart = instance_timeline(reboot_case()).to_dict()
    assert "rule" not in [lay["mark"]["type"] for lay in layers(no_restart)]


def test_zoom_pan_and_lane_highlight_params():
    spec = instance_timeline(reboot_case()).to_dict()
    params = {p["name"]: p for p in spec["params"]}
    assert params["zoom"]["select"] == {"type": "interval", "encodings": ["x"]}
    assert params["zoom"]["bind"] == "scales"
    assert params["lane_pick"]["select"] == {"type": "point", "fields": ["lane"]}
    assert params["lane_pick"]["bind"] == "legend"
    for lay in (layer(spec, "point"), layer(spec, "bar")):
        assert lay["encoding"]["opacity"]["condition"][0]["param"] == "lane_pick"


def test_window_is_the_x_domain_and_rows_outside_are_left_out():
    lo, hi = T("2026-11-03 13:59"), T("2026-11-03 14:30")
    spec = instance_timeline(reboot_case(), window=(lo, hi), restart=T("2026-11-03 14:02")).to_dict()
    ms = [int(lo.value // 10**6), int(hi.value // 10**6)]
    for lay in layers(spec):
        if "x" in lay["encoding"] and "field" in lay["encoding"]["x"]:
            assert lay["encoding"]["x"]["scale"]["domain"] == ms
    whats = {r["what"] for r in rows(spec, layer(spec, "point"))}
    assert "RebootInstances" not in whats and "boot (unclean)" in whats
    assert "domain" not in layer(instance_timeline(reboot_case()).to_dict(), "point")["encoding"]["x"]["scale"]


def big_frame(n: int, lanes: list[str], days: float = 7, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t0 = T("2026-11-01")
    times = t0 + pd.to_timedelta(rng.integers(0, int(days * 86400), n), unit="s")
    return frame([]).reindex(range(n)).assign(
        time=pd.Series(times).astype("datetime64[us, UTC]"), lane=lanes,
        what=rng.choice(["DescribeInstances", "RebootInstances", "StopInstances", "StartInstances", "X"], n),
        who=rng.choice(["alice", "bob", None], n), where="192.0.2.10", how="AWS CLI",
        ref=[f"ev-{i}" for i in range(n)])


def test_twenty_thousand_rows_are_binned_under_the_limit_keeping_rare_evidence():
    lanes = ["API calls"] * 19_990 + ["AWS Health"] * 2 + ["Guest OS"] * 5 + ["Status checks"] * 3
    ev = big_frame(20_000, lanes)
    spec = instance_timeline(ev, restart=T("2026-11-04")).to_dict()  # to_dict raises MaxRowsError above 5,000
    assert len(all_rows(spec)) <= MAX_ROWS
    assert "20,000 rows: API calls counted per" in spec["title"]["subtitle"]
    data = rows(spec, layer(spec, "point"))
    bins = [r for r in data if r["kind"] == "bin"]
    assert sum(r["count"] for r in bins) == 19_990 and {r["lane"] for r in bins} == {"API calls"}
    raw = [r for r in data if r["kind"] != "bin"]
    assert len(raw) == 10 and all(r["ref"].startswith("ev-") for r in raw)  # the rare lanes stay event by event
    tip = bins[0]
    assert "(" in tip["what"] and tip["ref"].startswith(f"{tip['count']} events; first: ev-")
    assert " .. " in tip["when"] and tip["when"].endswith("UTC")
    size = layer(spec, "point")["encoding"]["size"]
    assert size["condition"]["field"] == "count" and size["condition"]["test"] == "datum.kind === 'bin'"


@pytest.mark.parametrize("days", [7, 3650, 0.01])
def test_every_lane_big_and_any_span_stays_under_the_limit(days):
    lanes = ["API calls", "AWS Health", "Scheduled events", "Status checks", "Guest OS"] * 4_000
    spec = instance_timeline(big_frame(20_000, lanes, days=days)).to_dict()
    assert len(all_rows(spec)) <= MAX_ROWS
    assert sum(r["count"] for r in rows(spec, layer(spec, "point"))) == 20_000


@pytest.mark.parametrize("empty", [pd.DataFrame(columns=COLUMNS), pd.DataFrame(), frame([])])
def test_empty_frame_gives_a_valid_chart_with_the_two_default_lanes(empty):
    vlc = pytest.importorskip("vl_convert")

    chart = instance_timeline(empty, window=(T("2026-11-03"), T("2026-11-04")))
    spec = chart.to_dict()
    assert layer(spec, "point")["encoding"]["y"]["scale"]["domain"] == ["API calls", "Guest OS"]
    assert [r["lane"] for r in layer(spec, "text")["data"]["values"]] == ["API calls", "Guest OS"]
    assert "nothing here" in vlc.vegalite_to_svg(spec)


def test_attacker_strings_survive_in_the_spec_and_spec_json_escapes_them():
    chart = instance_timeline(reboot_case(), restart=T("2026-11-03 14:02"))
    spec = chart.to_dict()
    assert XSS in [r.get("who") for r in all_rows(spec)]  # unchanged: escaping is the HTML writer's job
    text = spec_json(chart)
    assert json.loads(text) == spec
    assert "</script" not in text.lower() and "<" not in text and ">" not in text
    assert "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in text
    assert spec_json(spec) == text  # a spec dict works too
    odd = {"a": "x & y \u2028 <!-- -->"}
    assert json.loads(spec_json(odd)) == odd and "&" not in spec_json(odd) and "\u2028" not in spec_json(odd)


def test_vl_convert_renders_the_spec():
    vlc = pytest.importorskip("vl_convert")

    spec = instance_timeline(reboot_case(), restart=T("2026-11-03 14:02"), title="i-0123456789abcdef0").to_dict()
    svg = vlc.vegalite_to_svg(spec)
    assert svg.startswith("<svg")
    for text in ["restart", "API calls", "AWS Health", "Status checks", "Guest OS", "i-0123456789abcdef0", "14:00"]:
        assert text in svg


def test_builder_is_pure_and_accepts_naive_times_as_utc():
    ev = reboot_case()
    before = ev.copy()
    first, second = instance_timeline(ev), instance_timeline(ev)
    assert first is not second and first.to_dict() == second.to_dict()
    pd.testing.assert_frame_equal(ev, before)

    naive = ev.assign(time=ev["time"].dt.tz_localize(None), end=ev["end"].dt.tz_localize(None))
    assert instance_timeline(naive).to_dict() == first.to_dict()


def test_unknown_and_missing_lanes_are_drawn_not_dropped():
    ev = frame([dict(time="2026-11-03 14:00", lane="Spot", what="interruption", ref="x"),
                dict(time="2026-11-03 14:01", lane=None, what="?", ref="y")])
    spec = instance_timeline(ev).to_dict()
    assert layer(spec, "point")["encoding"]["y"]["scale"]["domain"] == ["API calls", "Guest OS", "Spot", "other"]
