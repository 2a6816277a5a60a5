"""Charts of the cost-spike investigation: daily cost by service with the spike marked, cost by principal, and
the calls that created resources drawn on the cost curve. Builders return new Altair charts and never display.

Values (service names, principals, tags) come from cost files and CloudTrail: they go into the spec unchanged;
whoever writes the spec into HTML escapes it (:func:`trailtools.views.spec_json`, the report renderer).
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from trailtools.investigations.cost.analysis import money, short_name
from trailtools.views import offline  # noqa: F401 (its charts render offline: Vega bundled, no CDN)
from trailtools.views.tables import Table, date, percent

MAX_ROWS = 4500          # below Altair's 5,000-row limit for data embedded in a spec
TOP = 7                  # series drawn by name; the rest are summed as "other"
WIDTH, HEIGHT = 760, 260
SPIKE_COLOR = "#d62728"
OTHER_CALLS = "calls without cost in the data"
PALETTE = ["#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]


def _iso(values) -> pd.Series:
    ts = pd.to_datetime(pd.Series(values), utc=True)
    return ts.dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _fit(df: pd.DataFrame, key: str) -> pd.DataFrame:
    """At most TOP named series (the costliest), the rest as "other"; hourly rows summed to days if too many."""
    if df.empty:
        return df
    df = df.copy()
    order = df.groupby(key)["cost"].sum().sort_values(ascending=False)
    keep = set(order.index[:TOP])
    df[key] = df[key].where(df[key].isin(keep), "other")
    df["period"] = pd.to_datetime(df["period"], utc=True)
    df = df.groupby(["period", key], as_index=False)["cost"].sum()
    if len(df) > MAX_ROWS:
        df["period"] = df["period"].dt.floor("D")
        df = df.groupby(["period", key], as_index=False)["cost"].sum()
    return df


def _spike_layer(spike, y_field: str = "cost"):
    if spike is None:
        return None
    band = pd.DataFrame({"start": _iso([spike.start]), "end": _iso([spike.end]), "label": ["spike"]})
    return alt.Chart(band).mark_rect(color=SPIKE_COLOR, opacity=0.12).encode(
        x=alt.X("start:T", scale=alt.Scale(type="utc")), x2="end:T",
        tooltip=[alt.Tooltip("label:N"), alt.Tooltip("start:T", format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("end:T", format="%Y-%m-%d %H:%M")])


def _x(unit: str = "day", bars: bool = False):
    """The time axis in UTC; bars span their whole day (or hour)."""
    field = ("utcyearmonthdatehours(period)" if unit == "hour" else "utcyearmonthdate(period)") if bars else "period"
    return alt.X(f"{field}:T", title="UTC", scale=alt.Scale(type="utc"), axis=alt.Axis(format="%b %d"))


def _stacked(df: pd.DataFrame, key: str, title: str, spike, unit: str):
    df = _fit(df, key)
    data = pd.DataFrame({"period": _iso(df["period"]) if len(df) else pd.Series(dtype=str),
                         key: df[key].astype(str) if len(df) else pd.Series(dtype=str),
                         "cost": df["cost"].round(4) if len(df) else pd.Series(dtype=float)})
    legend = alt.selection_point(fields=[key], bind="legend")
    bars = alt.Chart(data).mark_bar().encode(
        x=_x(unit, bars=True), y=alt.Y("sum(cost):Q", title=f"cost per {unit}"),
        color=alt.Color(f"{key}:N", title=key, legend=alt.Legend(labelLimit=320)),
        opacity=alt.condition(legend, alt.value(1.0), alt.value(0.2)),
        tooltip=[alt.Tooltip("period:T", title=unit, format="%Y-%m-%d %H:%M"), alt.Tooltip(f"{key}:N"),
                 alt.Tooltip("cost:Q", format=",.2f")],
    ).add_params(legend)
    band = _spike_layer(spike)
    chart = (band + bars) if band is not None else bars
    return chart.properties(width=WIDTH, height=HEIGHT, title=title).interactive(bind_y=False)


def cost_by_service_chart(per_service: pd.DataFrame, spike=None, *, unit: str = "day"):
    """Cost per period stacked by service (columns period, service, cost), the spike shaded."""
    return _stacked(per_service, "service", f"Cost per {unit} by service" + (" (spike shaded)" if spike else ""),
                    spike, unit)


def cost_by_principal_chart(by_principal: pd.DataFrame, spike=None, *, unit: str = "day"):
    """Cost per period stacked by the principal that created the resources (columns period, principal, cost)."""

    named = by_principal.assign(principal=by_principal["principal"].map(short_name)) if len(by_principal) \
        else by_principal
    return _stacked(named, "principal", f"Cost per {unit} by the principal who created the resources",
                    spike, unit)


def creations_chart(total: pd.Series, creations: pd.DataFrame, spike=None, *, unit: str = "day",
                    costed: set | None = None):
    """The total cost per period as a line, and each resource-creating call as a point on it at its time;
    calls that created a resource with cost in the data are coloured by who made them, the others are grey
    (``costed``: the resource IDs with cost; None colours all); hover for who, what and the eventID."""
    line_df = pd.DataFrame({"period": _iso(total.index) if len(total) else pd.Series(dtype=str),
                            "cost": total.round(4).to_numpy() if len(total) else pd.Series(dtype=float)})
    line = alt.Chart(line_df).mark_line(point=True, color="#444").encode(
        x=_x(), y=alt.Y("cost:Q", title=f"total cost per {unit}"),
        tooltip=[alt.Tooltip("period:T", title=unit, format="%Y-%m-%d %H:%M"),
                 alt.Tooltip("cost:Q", format=",.2f")])
    layers = [line]
    if len(creations) and len(total):
        c = creations.drop_duplicates("eventID").copy()
        freq = "h" if unit == "hour" else "D"
        level = pd.Series(total.to_numpy(), index=pd.DatetimeIndex(total.index).tz_convert("UTC"))
        at = pd.to_datetime(c["eventTime"], utc=True)
        c["cost"] = [float(level.get(t.floor(freq), 0.0)) for t in at]
        per_event = creations.groupby("eventID")["resource_id"].agg(lambda s: " ".join(x for x in s if x))
        c["resources"] = c["eventID"].map(per_event).fillna("")
        c["result"] = ["failed: " + e if e else "ok" for e in c["errorCode"]]

        has_cost = creations.groupby("eventID")["resource_id"].agg(
            lambda s: costed is None or any(x in costed for x in s if x))
        c["group"] = [short_name(p) if has_cost.get(e, False) else OTHER_CALLS
                      for p, e in zip(c["principal"], c["eventID"])]
        pts = pd.DataFrame({"period": _iso(at), "cost": c["cost"].round(4), "call": c["eventName"].astype(str),
                            "who": c["principal"].astype(str), "result": c["result"], "region": c["awsRegion"],
                            "resources": c["resources"], "detail": c["detail"].astype(str),
                            "eventID": c["eventID"].astype(str), "group": c["group"]})
        # the calls behind resources with cost are drawn last (on top) and in colour; the others grey
        pts = pts.assign(_other=pts["group"] == OTHER_CALLS).sort_values("_other", ascending=False,
                                                                          kind="stable").drop(columns="_other")
        named = sorted(set(pts["group"]) - {OTHER_CALLS})
        domain = named + ([OTHER_CALLS] if (pts["group"] == OTHER_CALLS).any() else [])
        colors = [PALETTE[i % len(PALETTE)] for i in range(len(named))] + ["#bbbbbb"] * (len(domain) - len(named))
        layers.append(alt.Chart(pts).mark_point(size=110, filled=True).encode(
            x=_x(), y="cost:Q", color=alt.Color("group:N", title="created by (resources with cost)",
                                                scale=alt.Scale(domain=domain, range=colors)),
            shape=alt.Shape("result:N", scale=alt.Scale(domain=["ok"], range=["circle"]), legend=None),
            tooltip=[alt.Tooltip("period:T", title="time", format="%Y-%m-%d %H:%M:%S"), "call:N", "who:N",
                     "result:N", "region:N", "resources:N", "detail:N", "eventID:N"]))
    band = _spike_layer(spike)
    if band is not None:
        layers.insert(0, band)
    return alt.layer(*layers).properties(
        width=WIDTH, height=HEIGHT, title="Resource-creating API calls against the total cost").interactive(
        bind_y=False)


# ---- tables: money in the data's currency, shares as percentages, days as dates, whole names ----------------------

def _money_columns(columns, currency: str) -> dict:
    return {c: (lambda v, cur=currency: money(float(v), cur)) for c in columns}


def _rise(df: pd.DataFrame, total_rise: float | None) -> pd.DataFrame:
    """``rise`` = a typical period of the spike (its median) - the median period before, as in the answer; its
    ``share`` of the whole bill's rise computed the same way."""
    df = df.copy()
    df["rise"] = df["typical"] - df["baseline"]
    df["share"] = df["rise"] / total_rise if total_rise else float("nan")
    return df


SPIKE_HEADERS = {"baseline": "before (median {u})", "typical": "spike (typical {u})", "during": "spike (mean {u})",
                 "rise": "rise per {u}", "share": "share of the bill's rise"}


def _headers(unit: str, extra: dict | None = None) -> dict:
    return {**{k: v.format(u=unit) for k, v in SPIKE_HEADERS.items()}, **(extra or {})}


def contributions_table(contrib: pd.DataFrame, spike, currency: str, *, unit: str = "day", top: int = 5) -> Table:
    """What accounts for the rise, per dimension: the values that rose, the largest first."""
    if contrib.empty or spike is None:
        return Table(contrib)
    df = _rise(contrib, spike.typical - spike.baseline)
    df = df[df["rise"] > 0].sort_values("rise", ascending=False, kind="stable").groupby("dimension", sort=False)
    df = df.head(top)[["dimension", "value", "baseline", "typical", "during", "rise", "share"]]
    h = _headers(unit)
    return Table(df.rename(columns=h), formats={**_money_columns([h[c] for c in ("baseline", "typical", "during",
                                                                                 "rise")], currency),
                                                h["share"]: percent})


def dimension_spikes_table(ds: pd.DataFrame, currency: str, *, unit: str = "day", top: int = 30) -> Table:
    """Rises of single services, regions, usage types and accounts against their own baselines."""
    if ds.empty:
        return Table(ds)
    h = {"baseline": f"before (median {unit})", "typical": f"during (typical {unit})", "peak": f"peak {unit}",
         "excess": "above the baseline in all", "periods": f"{unit}s"}
    formats = _money_columns([h[c] for c in ("baseline", "typical", "peak", "excess")], currency)
    if unit == "day":
        formats.update({"start": date, "end": date})
    return Table(ds.rename(columns=h), max_rows=top, formats=formats)


def principals_table(principals: pd.DataFrame, spike, currency: str, *, unit: str = "day") -> Table:
    """Per principal (the whole ARN: two people's roles can share their short names): before and during the
    spike, what they cost in the window, on what."""
    if principals.empty:
        return Table(principals)
    h = _headers(unit, {"cost": "cost in the window", "usage_types": "top usage types"})
    if spike is None:
        df = principals[["principal", "cost", "resources", "usage_types"]]
    else:
        df = _rise(principals, spike.typical - spike.baseline)[
            ["principal", "baseline", "typical", "during", "rise", "share", "cost", "resources", "usage_types"]]
    df = df.rename(columns=h)
    money_cols = [h[c] for c in ("baseline", "typical", "during", "rise", "cost") if h[c] in df.columns]
    return Table(df, formats={**_money_columns(money_cols, currency), h["share"]: percent})


def resources_table(res: pd.DataFrame, spike, currency: str, *, unit: str = "day", top: int = 50) -> Table:
    """Resources with cost, the biggest movers first, each with who created it (or why nobody is known)."""
    if res.empty:
        return Table(res)
    df = res if spike is None else _rise(res, spike.typical - spike.baseline)
    df = df.assign(what=[t or u for t, u in zip(df["instance_type"], df["usage_types"])],
                   created_by=df["principal"].map(short_name))
    cols = ["resource_id", "service", "region", "what", "cost"]
    if spike is not None:
        cols += ["baseline", "typical", "rise", "share"]
    cols += ["created_by", "created_at", "attribution"]
    if df["account"].nunique() > 1:
        cols.insert(3, "account")
    h = _headers(unit, {"what": "type / usage", "cost": "cost in the window", "created_by": "created by",
                        "created_at": "created at (UTC)", "resource_id": "resource"})
    df = df[cols].rename(columns=h)
    money_cols = [h[c] for c in ("cost", "baseline", "typical", "rise") if h[c] in df.columns]
    return Table(df, max_rows=top, formats={**_money_columns(money_cols, currency), h["share"]: percent})


def creations_table(creations: pd.DataFrame) -> Table:
    """The calls that created resources: when, what, who (the whole ARN), the result, the eventID."""
    if creations.empty:
        return Table(creations)
    df = creations.assign(result=["failed: " + e if e else "ok" for e in creations["errorCode"]])
    df = df[["eventTime", "eventName", "resource_id", "principal", "result", "awsRegion", "sourceIPAddress",
             "detail", "eventID"]]
    return Table(df.rename(columns={"eventTime": "time (UTC)", "eventName": "call", "resource_id": "resource",
                                   "principal": "who", "awsRegion": "region", "sourceIPAddress": "from"}))


def anomalies_table(anomalies: pd.DataFrame, currency: str) -> Table:
    """Cost Anomaly Detection's anomalies: when, what, how much above expected, and the feedback given."""
    if anomalies.empty:
        return Table(anomalies)
    cols = [c for c in ("start", "end", "service", "total_impact", "total_actual", "total_expected",
                        "impact_percentage", "max_score", "feedback", "usage_types", "regions", "accounts",
                        "anomaly_id") if c in anomalies.columns]
    h = {"total_impact": "above expected", "total_actual": "actual", "total_expected": "expected",
         "impact_percentage": "impact", "max_score": "score"}
    df = anomalies[cols].rename(columns=h)
    return Table(df, formats={**_money_columns(["above expected", "actual", "expected"], currency),
                              "impact": lambda v: f"{float(v):,.1f} %", "start": date, "end": date})
