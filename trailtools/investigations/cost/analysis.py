"""Who or what made the bill jump: pure functions from a cost frame (:mod:`trailtools.evidence.cost`) and CloudTrail's
events frame to the spike, what accounts for it, who created it, and findings. No I/O.

The method (also in docs/cost.md):

1. **Periods.** Cost is summed per day (or per hour with ``granularity="HOURLY"`` and an hourly CUR); periods with
   no rows count as zero.
2. **Baseline, robust.** Each period is compared with the median of the last :data:`BASELINE_PERIODS` *normal*
   periods before it (periods already flagged are left out, so a spike that lasts does not become its own
   baseline). The spread is the median absolute deviation (MAD) scaled by 1.4826 (the standard deviation for
   normal data), with floors so that a flat baseline (a region that costs $0.0003 a day) does not make every cent a
   spike: the scale is at least :data:`REL_FLOOR` of the median and ``min_delta / threshold``.
3. **Spike.** A period is flagged when ``(cost - median) / scale >= threshold`` (default 5) and it exceeds the
   median by at least ``min_delta`` (default: the larger of 1 currency unit per day and :data:`REL_MIN` of the
   median). At least :data:`MIN_BASELINE` normal periods are needed before anything can be flagged. Consecutive
   flagged periods form an episode; the episode with the largest excess (sum of cost above the baseline) is *the*
   spike, the others are listed.
4. **What accounts for it.** For each dimension (service, region, usage type, account, resource, and service with
   region) and each value: ``delta = mean cost per period during the episode - median cost per period over the
   baseline periods``; ``share = delta / (the same for the total)``. Medians are not additive, so shares are close
   to, not exactly, 100 % in sum.
5. **Who.** Resource IDs in the cost data are joined to the CloudTrail calls that created them (RunInstances'
   ``responseElements.instancesSet``, CreateVolume, CreateNatGateway, CreateDBInstance, CreateFunction ..., see
   :data:`CREATE_CALLS`; ARNs and bare IDs reduce to the same key, :func:`resource_key`) and to the
   ``aws:createdBy`` tag (whose principal ID is matched to the caller's ARN where the trail knows it). Resources
   with cost but no creation event in the trail window are listed as such, never dropped. Cost per principal per
   period and per principal before and during the spike follow.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trailtools.findings.model import EvidenceRef, Finding, iso_time

BASELINE_PERIODS = 14     # normal periods in the baseline (14 days; with hourly data, 14 * 24 hours)
MIN_BASELINE = 5          # normal periods needed before a period can be judged (5 days / 5 * 24 hours)
THRESHOLD = 5.0           # robust z-score that makes a spike
MAD_SCALE = 1.4826        # MAD -> standard deviation for normal data
REL_FLOOR = 0.05          # the spread is at least 5 % of the baseline median
REL_MIN = 0.20            # and a spike is at least 20 % above the median ...
ABS_MIN_PER_DAY = 1.0     # ... and at least 1 currency unit a day above it
DIMENSIONS = ("service", "region", "usage_type", "account", "resource_id")
NO_RESOURCE = "(no resource ID)"
UNKNOWN_CREATOR = "(creator unknown)"
SPARSE_ROWS = 50          # fewer line items a day than this: say the data may be a sample

#: The calls that create a billable resource: eventName -> [(field, path to the ID, path to a detail)].
#: A path is dotted; ``[]`` walks a list. IDs may be ARNs or bare IDs (:func:`resource_key` makes them comparable).
CREATE_CALLS: dict[str, list[tuple[str, str, str | None]]] = {
    "RunInstances": [("responseElements", "instancesSet.items[].instanceId", "instancesSet.items[].instanceType")],
    "CreateVolume": [("responseElements", "volumeId", "volumeType")],
    "CreateNatGateway": [("responseElements", "CreateNatGatewayResponse.natGateway.natGatewayId", None),
                         ("responseElements", "natGateway.natGatewayId", None)],
    "CreateDBInstance": [("responseElements", "dBInstanceArn", "dBInstanceClass"),
                         ("responseElements", "dBInstanceIdentifier", "dBInstanceClass")],
    "CreateDBCluster": [("responseElements", "dBClusterArn", None)],
    "CreateFunction": [("responseElements", "functionArn", "runtime")],
    "CreateFunction20150331": [("responseElements", "functionArn", "runtime")],
    "CreateBucket": [("requestParameters", "bucketName", None)],
    "CreateLoadBalancer": [("responseElements", "loadBalancers[].loadBalancerArn", "loadBalancers[].type")],
    "CreateCacheCluster": [("responseElements", "cacheClusterId", "cacheNodeType")],
    "AllocateAddress": [("responseElements", "allocationId", None)],
    "CreateSnapshot": [("responseElements", "snapshotId", None)],
    "CreateKey": [("responseElements", "keyMetadata.arn", None)],
    "CreateTable": [("responseElements", "tableDescription.tableArn", None)],
}
CREATION_COLUMNS = ["resource_key", "resource_id", "eventTime", "eventName", "eventID", "errorCode", "principal",
                    "principal_id", "actor", "awsRegion", "sourceIPAddress", "userAgent", "detail"]


# ---- periods and baselines ------------------------------------------------------------------------------------

def period_of(granularity: str) -> str:
    return "h" if str(granularity).upper() == "HOURLY" else "D"


def per_period(frame: pd.DataFrame, granularity: str = "DAILY", by: str | list[str] | None = None) -> pd.DataFrame:
    """Cost per period (and per value of ``by``): columns ``period``, [by], ``cost``; empty periods are absent."""
    if frame.empty:
        return pd.DataFrame(columns=["period", *([by] if isinstance(by, str) else by or []), "cost"])
    p = frame["usage_start"].dt.floor(period_of(granularity))
    keys = [p.rename("period")] + ([frame[b] for b in ([by] if isinstance(by, str) else by)] if by else [])
    return frame.groupby(keys, observed=True, sort=True)["cost"].sum().reset_index()


def total_series(frame: pd.DataFrame, granularity: str = "DAILY", start=None, end=None) -> pd.Series:
    """Total cost per period over every period of [start, end) (or of the data), missing periods as 0."""
    freq = period_of(granularity)
    if frame.empty and (start is None or end is None):
        return pd.Series(dtype="float64")
    lo = pd.Timestamp(start).floor(freq) if start is not None else frame["usage_start"].min().floor(freq)
    hi = pd.Timestamp(end) if end is not None else frame["usage_start"].max().floor(freq) + pd.Timedelta(1, freq)
    index = pd.date_range(lo, hi, freq=freq, inclusive="left", tz="UTC")
    s = per_period(frame, granularity).set_index("period")["cost"] if len(frame) else pd.Series(dtype="float64")
    s.index = pd.DatetimeIndex(s.index).as_unit("ns") if len(s) else s.index
    return s.reindex(index.as_unit("ns"), fill_value=0.0).astype("float64")


@dataclass
class Episode:
    """Consecutive periods above their baseline."""

    start: pd.Timestamp                # first period flagged
    end: pd.Timestamp                  # end of the last period flagged (exclusive)
    periods: list[pd.Timestamp]        # the flagged periods
    baseline_periods: list[pd.Timestamp]  # the normal periods its baseline was computed from
    baseline: float                    # median cost per period before it
    spread: float                      # scaled MAD (after the floors)
    typical: float                     # median cost per period during it
    peak: float
    peak_period: pd.Timestamp
    excess: float                      # sum of (cost - baseline) over its periods
    z_max: float

    @property
    def ratio(self) -> float:
        return self.typical / self.baseline if self.baseline > 0 else float("inf")

    def to_dict(self) -> dict:
        return {"start": iso_time(self.start), "end": iso_time(self.end), "periods": len(self.periods),
                "baseline": round(self.baseline, 4), "spread": round(self.spread, 4),
                "typical": round(self.typical, 4), "peak": round(self.peak, 4),
                "peak_period": iso_time(self.peak_period), "excess": round(self.excess, 4),
                "z_max": round(float(self.z_max), 2) if np.isfinite(self.z_max) else None}


def robust_baseline(values) -> tuple[float, float]:
    """(median, MAD * 1.4826) of the values."""
    v = np.asarray(values, dtype="float64")
    med = float(np.median(v))
    return med, float(np.median(np.abs(v - med))) * MAD_SCALE


def find_spikes(series: pd.Series, *, granularity: str = "DAILY", threshold: float = THRESHOLD,
                baseline_periods: int | None = None, min_baseline: int | None = None,
                min_delta: float | None = None) -> list[Episode]:
    """The episodes of ``series`` (cost per period, every period present) above their robust baseline."""
    per_day = 24 if period_of(granularity) == "h" else 1
    baseline_periods = baseline_periods or BASELINE_PERIODS * per_day
    min_baseline = min_baseline or MIN_BASELINE * per_day
    abs_min = ABS_MIN_PER_DAY / per_day if min_delta is None else min_delta
    values = series.to_numpy(dtype="float64")
    times = list(series.index)
    normal: list[int] = []
    flags: dict[int, tuple] = {}
    for i, x in enumerate(values):
        window = normal[-baseline_periods:]
        if len(window) < min_baseline:
            normal.append(i)
            continue
        med, spread = robust_baseline(values[window])
        need = max(abs_min, REL_MIN * med)
        scale = max(spread, REL_FLOOR * med, need / threshold)
        z = (x - med) / scale
        if z >= threshold and x - med >= need:
            flags[i] = (med, scale, z, [times[j] for j in window])
        else:
            normal.append(i)
    episodes = []
    run: list[int] = []
    step = pd.Timedelta(1, period_of(granularity))
    for i in sorted(flags) + [None]:
        if run and (i is None or i != run[-1] + 1):
            med, scale, _, base = flags[run[0]]
            vals = values[run]
            k = int(np.argmax(vals))
            episodes.append(Episode(times[run[0]], times[run[-1]] + step, [times[j] for j in run], base, med, scale,
                                    float(np.median(vals)), float(vals[k]), times[run[k]],
                                    float(np.sum(vals - med)), max(flags[j][2] for j in run)))
            run = []
        if i is not None:
            run.append(i)
    return episodes


def main_episode(episodes: list[Episode]) -> Episode | None:
    """The spike: the episode with the largest excess (the latest of equals)."""
    return max(episodes, key=lambda e: (round(e.excess, 6), e.start), default=None)


#: The dimensions whose own series are searched for spikes too (a small service's jump is lost in a big bill).
SPIKE_DIMENSIONS = (("service", "region"), ("usage_type",), ("account",))
DIMENSION_SPIKE_COLUMNS = ["dimension", "value", "start", "end", "periods", "baseline", "typical", "peak",
                           "excess"]


def dimension_spikes(frame: pd.DataFrame, granularity: str = "DAILY", start=None, end=None, *,
                     threshold: float = THRESHOLD) -> pd.DataFrame:
    """Each value of each of :data:`SPIKE_DIMENSIONS` judged against its own robust baseline (the same method as
    the total): one row per episode, the largest excess first."""
    rows = []
    if frame.empty:
        return pd.DataFrame(columns=DIMENSION_SPIKE_COLUMNS)
    full = total_series(frame, granularity, start, end).index
    for dims in SPIKE_DIMENSIONS:
        pv = per_period(frame, granularity, list(dims))
        key = pv[list(dims)].astype(str).agg(" in ".join, axis=1) if len(dims) > 1 else pv[dims[0]].astype(str)
        table = pv.assign(value=key).pivot_table(index="period", columns="value", values="cost", aggfunc="sum")
        table.index = pd.DatetimeIndex(table.index).as_unit("ns")
        table = table.reindex(full, fill_value=0.0).fillna(0.0)
        for value in table.columns:
            for e in find_spikes(table[value], granularity=granularity, threshold=threshold):
                rows.append({"dimension": "+".join(dims), "value": value, "start": e.start, "end": e.end,
                             "periods": len(e.periods), "baseline": e.baseline, "typical": e.typical,
                             "peak": e.peak, "excess": e.excess})
    out = pd.DataFrame(rows, columns=DIMENSION_SPIKE_COLUMNS)
    return out.sort_values("excess", ascending=False, kind="stable").reset_index(drop=True)


def contributions(frame: pd.DataFrame, episode: Episode, dimension: str | list[str],
                  granularity: str = "DAILY") -> pd.DataFrame:
    """Per value of ``dimension``: baseline (median per period over the episode's baseline periods), during (mean
    per period over the episode), delta, share of the total's delta; largest delta first."""
    dims = [dimension] if isinstance(dimension, str) else list(dimension)
    periods = pd.DatetimeIndex(episode.baseline_periods + episode.periods)
    freq = period_of(granularity)
    sub = frame[frame["usage_start"].dt.floor(freq).isin(periods)]
    cols = ["dimension", "value", "baseline", "during", "typical", "delta", "share"]
    if sub.empty:
        return pd.DataFrame(columns=cols)
    pv = per_period(sub, granularity, dims)
    key = pv[dims].astype(str).agg(" in ".join, axis=1) if len(dims) > 1 else pv[dims[0]].astype(str)
    table = pv.assign(value=key).pivot_table(index="period", columns="value", values="cost", aggfunc="sum")
    table.index = pd.DatetimeIndex(table.index).as_unit("ns")
    table = table.reindex(periods.as_unit("ns"), fill_value=0.0).fillna(0.0)
    before = table.loc[pd.DatetimeIndex(episode.baseline_periods).as_unit("ns")]
    spike = table.loc[pd.DatetimeIndex(episode.periods).as_unit("ns")]
    base, during, typical = before.median(), spike.mean(), spike.median()
    total_delta = spike.sum(axis=1).mean() - before.sum(axis=1).median()
    out = pd.DataFrame({"dimension": "+".join(dims), "value": table.columns, "baseline": base.to_numpy(),
                        "during": during.to_numpy(), "typical": typical.to_numpy()})
    out["delta"] = out["during"] - out["baseline"]
    out["share"] = out["delta"] / total_delta if total_delta else np.nan
    return out.sort_values("delta", ascending=False, kind="stable").reset_index(drop=True)[cols]


# ---- creators ---------------------------------------------------------------------------------------------------

def resource_key(value) -> str:
    """An ARN or an ID -> the key both reduce to: ``arn:aws:ec2:...:instance/i-0abc`` -> ``i-0abc``,
    ``arn:aws:rds:...:db:name`` -> ``name``, ``arn:aws:lambda:...:function:name[:qualifier]`` -> ``name``,
    ``arn:aws:s3:::bucket`` -> ``bucket``; load balancer ARNs stay whole (their IDs are not unique alone)."""
    v = str(value or "").strip()
    if not v.startswith("arn:"):
        return v
    parts = v.split(":", 5)
    if len(parts) < 6:
        return v
    service, res = parts[2], parts[5]
    if service == "elasticloadbalancing":
        return v
    if "/" in res:
        return res.split("/", 1)[1]
    if ":" in res:
        return res.split(":")[1]
    return res


def _walk(obj, path: str) -> list:
    items = [obj]
    for part in path.split("."):
        many = part.endswith("[]")
        name = part[:-2] if many else part
        nxt = []
        for it in items:
            v = it.get(name) if isinstance(it, dict) else None
            if v is None:
                continue
            if many:
                nxt.extend(v if isinstance(v, list) else [])
            else:
                nxt.append(v)
        items = nxt
    return items


def _json(text):
    if not isinstance(text, str) or not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def creation_events(events: pd.DataFrame) -> pd.DataFrame:
    """One row per resource a call in ``events`` created (failed calls kept with their ``errorCode`` and no
    resource, so a failed launch is seen too)."""
    if events is None or events.empty or "eventName" not in events:
        return pd.DataFrame(columns=CREATION_COLUMNS)
    calls = events[events["eventName"].astype(str).isin(CREATE_CALLS)]
    rows = []
    for rec in calls.to_dict("records"):
        base = {"eventTime": rec.get("eventTime"), "eventName": str(rec.get("eventName")),
                "eventID": str(rec.get("eventID")), "errorCode": rec.get("errorCode") if isinstance(
                    rec.get("errorCode"), str) else "", "principal": str(rec.get("userIdentity.arn") or ""),
                "principal_id": str(rec.get("userIdentity.principalId") or ""), "actor": str(rec.get("actor") or ""),
                "awsRegion": str(rec.get("awsRegion") or ""), "sourceIPAddress": str(rec.get("sourceIPAddress") or ""),
                "userAgent": str(rec.get("userAgent") or "")}
        found = []
        for where, path, detail in CREATE_CALLS[base["eventName"]]:
            doc = _json(rec.get(where))
            if doc is None:
                continue
            ids = _walk(doc, path)
            details = _walk(doc, detail) if detail else []
            for k, rid in enumerate(ids):
                if isinstance(rid, str) and rid:
                    found.append((rid, str(details[k]) if k < len(details) else ""))
            if found:
                break
        if not found:
            rows.append({**base, "resource_key": "", "resource_id": "", "detail": ""})
        for rid, det in found:
            rows.append({**base, "resource_key": resource_key(rid), "resource_id": rid, "detail": det})
    return pd.DataFrame(rows, columns=CREATION_COLUMNS)


def parse_created_by(tag: str) -> tuple[str, str]:
    """The ``aws:createdBy`` tag -> (principal type, principalId as CloudTrail writes it): ``AssumedRole:AROA..:
    henry`` -> ("AssumedRole", "AROA..:henry"); ``IAMUser:AIDA..:dave`` -> ("IAMUser", "AIDA.."); ``Root:1234``."""
    kind, _, rest = str(tag or "").partition(":")
    if kind == "IAMUser":
        return kind, rest.split(":")[0]
    return kind, rest


def principal_names(events: pd.DataFrame) -> dict[str, str]:
    """principalId -> ARN, from every event whose caller has both."""
    if events is None or events.empty or "userIdentity.principalId" not in events:
        return {}
    pairs = events[["userIdentity.principalId", "userIdentity.arn"]].astype(str).drop_duplicates()
    return {pid: arn for pid, arn in pairs.itertuples(index=False) if pid and arn and arn != "nan" and pid != "nan"}


def short_name(principal: str) -> str:
    """``arn:aws:sts::1:assumed-role/Role/henry@example.com`` -> ``henry@example.com``; ``...:user/dev-b`` ->
    ``dev-b``; anything else unchanged."""
    p = str(principal)
    if p.startswith("arn:") and "/" in p:
        return p.rsplit("/", 1)[1]
    if p.startswith(("AssumedRole:", "IAMUser:")):
        return p.rsplit(":", 1)[1]
    return p


def resources(frame: pd.DataFrame, creations: pd.DataFrame, events: pd.DataFrame | None = None, *,
              episode: Episode | None = None, granularity: str = "DAILY",
              trail_window: tuple | None = None) -> pd.DataFrame:
    """One row per resource with cost: what it is, what it cost (in the window, and before/during the spike),
    and who created it (CloudTrail, the ``aws:createdBy`` tag, both, or none, with the reason)."""
    rf = frame[frame["resource_id"] != ""]
    cols = ["resource_id", "service", "region", "account", "usage_types", "instance_type", "cost", "first_cost",
            "baseline", "during", "typical", "delta", "share", "principal", "created_at", "creating_call",
            "eventID", "attribution", "created_by_tag"]
    if rf.empty:
        return pd.DataFrame(columns=cols)
    g = rf.groupby("resource_id", sort=False)
    out = pd.DataFrame({
        "service": g["service"].first(), "region": g["region"].first(), "account": g["account"].first(),
        "usage_types": g["usage_type"].agg(lambda s: ", ".join(sorted(set(s) - {""}))),
        "instance_type": g["instance_type"].agg(lambda s: next((x for x in s if x), "")),
        "cost": g["cost"].sum(), "first_cost": g["usage_start"].min(),
        "created_by_tag": g["created_by"].agg(lambda s: next((x for x in s if x), "")),
    }).reset_index()
    if episode is not None:
        c = contributions(rf, episode, "resource_id", granularity).set_index("value")
        out = out.join(c[["baseline", "during", "typical", "delta", "share"]], on="resource_id")
    else:
        out[["baseline", "during", "typical", "delta", "share"]] = np.nan
    ok = creations[(creations["resource_key"] != "") & (creations["errorCode"] == "")] if len(creations) else creations
    first = ok.sort_values("eventTime").drop_duplicates("resource_key") if len(ok) else ok
    by_key = {r["resource_key"]: r for r in first.to_dict("records")} if len(first) else {}
    arns = principal_names(events) if events is not None else {}
    lo, hi = (trail_window or (None, None))
    principal, created, call, eid, how = [], [], [], [], []
    for rid, tag, first_cost in zip(out["resource_id"], out["created_by_tag"], out["first_cost"]):
        ev = by_key.get(resource_key(rid))
        tag_id = parse_created_by(tag)[1] if tag else ""
        if ev is not None:
            principal.append(ev["principal"] or ev["actor"])
            created.append(ev["eventTime"])
            call.append(ev["eventName"])
            eid.append(ev["eventID"])
            if tag and tag_id and tag_id != ev["principal_id"]:
                how.append(f"CloudTrail {ev['eventName']}; the aws:createdBy tag names someone else ({tag})")
            else:
                how.append(f"CloudTrail {ev['eventName']}" + (" and aws:createdBy tag" if tag else ""))
            continue
        created.append(pd.NaT)
        call.append("")
        eid.append("")
        if tag:
            principal.append(arns.get(tag_id, tag))
            how.append("aws:createdBy tag only (no creating call in the trail window)")
        else:
            principal.append(UNKNOWN_CREATOR)
            if lo is not None and pd.notna(first_cost) and first_cost <= pd.Timestamp(lo):
                how.append("none: cost since before the trail window (created earlier); no aws:createdBy tag")
            else:
                how.append("none: no creating call in the trail (another account or region not logged, or an "
                           "AWS service) and no aws:createdBy tag")
    out["principal"], out["created_at"], out["creating_call"], out["eventID"], out["attribution"] = (
        principal, pd.to_datetime(pd.Series(created, dtype="object"), utc=True), call, eid, how)
    order = "delta" if episode is not None else "cost"
    return out.sort_values(order, ascending=False, kind="stable", na_position="last").reset_index(drop=True)[cols]


def principal_of_rows(frame: pd.DataFrame, res: pd.DataFrame) -> pd.Series:
    """The principal each cost row is attributed to (through its resource)."""
    mapping = dict(zip(res["resource_id"], res["principal"])) if len(res) else {}
    return frame["resource_id"].map(lambda r: mapping.get(r, UNKNOWN_CREATOR) if r else NO_RESOURCE)


def cost_by_principal(frame: pd.DataFrame, res: pd.DataFrame, granularity: str = "DAILY") -> pd.DataFrame:
    """Cost per period per principal: columns period, principal, cost."""
    if frame.empty:
        return pd.DataFrame(columns=["period", "principal", "cost"])
    return per_period(frame.assign(principal=principal_of_rows(frame, res)), granularity, "principal")


def compare_principals(frame: pd.DataFrame, res: pd.DataFrame, episode: Episode | None,
                       granularity: str = "DAILY") -> pd.DataFrame:
    """Per principal: what they spend per period before and during the spike (or in the window), on what, and
    how many resources."""
    cols = ["principal", "baseline", "during", "typical", "delta", "share", "cost", "resources", "usage_types"]
    if frame.empty:
        return pd.DataFrame(columns=cols)
    f = frame.assign(principal=principal_of_rows(frame, res))
    g = f.groupby("principal")
    out = pd.DataFrame({"cost": g["cost"].sum(),
                        "resources": g["resource_id"].agg(lambda s: len(set(s) - {""})),
                        "usage_types": g.apply(lambda d: ", ".join(
                            d.groupby("usage_type")["cost"].sum().sort_values(ascending=False).index[:3]),
                            include_groups=False)})
    if episode is not None:
        c = contributions(f, episode, "principal", granularity).set_index("value")
        out = out.join(c[["baseline", "during", "typical", "delta", "share"]])
        out = out.sort_values("delta", ascending=False)
    else:
        out[["baseline", "during", "typical", "delta", "share"]] = np.nan
        out = out.sort_values("cost", ascending=False)
    return out.reset_index().rename(columns={"index": "principal"})[cols]


# ---- the analysis -------------------------------------------------------------------------------------------------

@dataclass
class CostAnalysis:
    granularity: str
    total: pd.Series                       # cost per period over the window
    episodes: list[Episode]
    spike: Episode | None
    contributions: pd.DataFrame            # per dimension and value (the spike's)
    resources: pd.DataFrame
    creations: pd.DataFrame
    by_principal: pd.DataFrame             # period, principal, cost
    principals: pd.DataFrame
    anomalies: pd.DataFrame
    headline: str
    dimension_spikes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=DIMENSION_SPIKE_COLUMNS))
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    currency: str = "USD"

    def to_dict(self) -> dict:
        return {"granularity": self.granularity, "headline": self.headline,
                "spike": self.spike.to_dict() if self.spike else None,
                "episodes": [e.to_dict() for e in self.episodes], "notes": self.notes}


#: currency code (CUR ``lineItem/CurrencyCode``, Cost Explorer ``Unit``, FOCUS ``BillingCurrency``) -> its symbol
SYMBOLS = {"USD": "$", "EUR": "\u20ac", "GBP": "\u00a3", "JPY": "\u00a5", "CNY": "CN\u00a5", "INR": "\u20b9"}
NO_CENTS = {"JPY", "KRW"}


def money(x: float, currency: str = "USD") -> str:
    """An amount in its currency: ``$1,570.64``, ``-$2.01``, ``\u20ac12.00``, ``CHF 3.50``; below a cent, to six
    places."""
    code = str(currency or "USD").upper()
    sign = SYMBOLS.get(code, f"{code} ")
    minus = "-" if x < 0 else ""
    x = abs(float(x))
    places = 0 if code in NO_CENTS else 2
    if x >= 0.01 or x == 0 or places == 0:
        return f"{minus}{sign}{x:,.{places}f}"
    return f"{minus}{sign}{x:.6f}".rstrip("0")


def _unit(granularity: str) -> str:
    return "hour" if period_of(granularity) == "h" else "day"


def _top(contrib: pd.DataFrame, dim: str) -> pd.Series | None:
    rows = contrib[(contrib["dimension"] == dim) & (contrib["delta"] > 0)]
    return rows.iloc[0] if len(rows) else None


def _headline(spike: Episode | None, contrib: pd.DataFrame, res: pd.DataFrame, total: pd.Series,
              granularity: str, currency: str, dim_spikes: pd.DataFrame | None = None) -> str:
    unit = _unit(granularity)
    if total.empty or float(total.sum()) == 0:
        return "No cost in this window."
    if spike is None:
        med = float(total.median())
        if dim_spikes is not None and len(dim_spikes):
            d = dim_spikes.iloc[0]
            when = d["start"].strftime("%Y-%m-%d" if unit == "day" else "%Y-%m-%d %H:00 UTC")
            return (f"No spike in the whole bill (median {money(med, currency)}/{unit}), but {d['value']} "
                    f"({d['dimension']}) rose from {money(d['baseline'], currency)}/{unit} to "
                    f"{money(d['typical'], currency)}/{unit} on {when}"
                    + (f"; {len(dim_spikes) - 1} more such rises in the table" if len(dim_spikes) > 1 else "")
                    + ".")
        return (f"No spike: no {unit} rose above its robust baseline (median {money(med, currency)}/{unit} over "
                f"the window, {len(total)} {unit}s), in the whole bill or in any service, region, usage type or "
                "account; see the charts for the trend.")
    when = spike.start.strftime("%Y-%m-%d" if unit == "day" else "%Y-%m-%d %H:00 UTC")
    top = _top(contrib, "service+region")
    if top is None:
        return (f"The bill rose from {money(spike.baseline, currency)}/{unit} to {money(spike.typical, currency)}/"
                f"{unit} on {when}.")
    service, _, region = str(top["value"]).partition(" in ")
    text = (f"{service} in {region or 'no region'} rose from {money(top['baseline'], currency)}/{unit} to "
            f"{money(top['typical'], currency)}/{unit} on {when}")
    # the movers: resources of this service and region whose rise is at least 1 % of its rise
    # (resource rows that do not say their service or region, as Cost Explorer's, match any)
    pair = res[res["service"].isin([service, ""]) & res["region"].isin([region, ""])
               & (res["delta"] >= max(0.01 * float(top["delta"]), 1e-9))] if len(res) else res
    total_rise = spike.typical - spike.baseline
    text += (f" (the whole bill: {money(spike.baseline, currency)}/{unit} -> {money(spike.typical, currency)}/{unit}"
             f", {spike.ratio:.1f}x)" if np.isfinite(spike.ratio) else "")
    if len(pair) and top["delta"] > 0:
        lead = pair.groupby("principal")["delta"].sum().sort_values(ascending=False)
        who = lead.index[0]
        mine = pair[pair["principal"] == who]
        share = float(mine["delta"].sum() / top["delta"])
        sized = mine[mine["instance_type"] != ""]
        kinds = sized.groupby("instance_type")["delta"].agg(["size", "sum"]).sort_values("sum", ascending=False)
        what = ", ".join(f"{n} {k}" for k, n in kinds["size"].items()) or ", ".join(
            f"{r}: {u}" for r, u in zip(mine["resource_id"].head(3), mine["usage_types"].head(3)))
        if not len(kinds) and len(mine) > 3:
            what += f", and {len(mine) - 3} more"
        share_sized = float(sized["delta"].sum() / top["delta"]) if len(sized) else 0.0
        if len(sized) and share_sized >= 0.5:  # say what the money is: the instances, not their volumes
            mine, share = sized, share_sized
        noun = (f"instance{'s' if len(mine) > 1 else ''}" if len(sized) and len(mine) == len(sized)
                else f"resource{'s' if len(mine) > 1 else ''}")
        if who in (UNKNOWN_CREATOR, NO_RESOURCE):
            text += (f"; {share:.0%} of it is {len(mine)} {noun} ({what}) with no known creator "
                     "(no creating call in the trail window, no aws:createdBy tag).")
        else:
            first = mine["created_at"].dropna().min() if mine["created_at"].notna().any() else None
            at = f" at {first.strftime('%Y-%m-%d %H:%M')} UTC" if first is not None else " (per the aws:createdBy tag)"
            text += f"; {share:.0%} of it is {len(mine)} {noun} ({what}) created by {who}{at}."
    else:
        text += f"; no resource IDs in the cost data explain it (total rise {money(total_rise, currency)}/{unit})."
    return text


def analyze(frame: pd.DataFrame, events: pd.DataFrame | None = None, *, granularity: str = "DAILY",
            start=None, end=None, resource_frame: pd.DataFrame | None = None,
            anomalies: pd.DataFrame | None = None, trail_window: tuple | None = None,
            threshold: float = THRESHOLD) -> CostAnalysis:
    """The whole analysis: spike, contributions, attribution, principals, findings."""
    currency = next((c for c in frame["currency"] if c), "USD") if len(frame) else "USD"
    total = total_series(frame, granularity, start, end)
    episodes = find_spikes(total, granularity=granularity, threshold=threshold) if len(total) else []
    spike = main_episode(episodes)
    events = events if events is not None else pd.DataFrame()
    creations = creation_events(events)
    rframe = resource_frame if resource_frame is not None and len(resource_frame) else frame
    res = resources(rframe, creations, events, episode=spike, granularity=granularity, trail_window=trail_window)
    contrib = pd.DataFrame(columns=["dimension", "value", "baseline", "during", "typical", "delta", "share"])
    if spike is not None:
        parts = [contributions(frame, spike, d, granularity) for d in DIMENSIONS if d != "resource_id"]
        parts.append(contributions(frame, spike, ["service", "region"], granularity))
        parts.append(contributions(rframe, spike, "resource_id", granularity))
        contrib = pd.concat([p for p in parts if len(p)], ignore_index=True)
    notes = []
    if len(frame) and (frame["resource_id"] == "").all() and (resource_frame is None or not len(resource_frame)):
        notes.append("The cost data has no resource IDs, so cost cannot be joined to the calls that created "
                     "resources (CUR with resource IDs, or Cost Explorer's resource-level data, can).")
    if events.empty:
        notes.append("No CloudTrail events were given: creators come from the aws:createdBy tag only.")
    if len(frame):
        rows = frame["usage_start"].dt.floor(period_of(granularity)).value_counts()
        typical_rows = float(rows.median())
        if typical_rows < SPARSE_ROWS and period_of(granularity) == "D":
            notes.append(f"The cost data is sparse: a median of {typical_rows:.0f} line items a day over "
                         f"{len(rows)} days (a sample, or a very small account), so a spike in it may be sampling "
                         "noise rather than spending.")
    a = CostAnalysis(granularity, total, episodes, spike, contrib, res, creations,
                     cost_by_principal(rframe, res, granularity), compare_principals(rframe, res, spike, granularity),
                     anomalies if anomalies is not None else pd.DataFrame(), "", notes=notes, currency=currency)
    a.dimension_spikes = dimension_spikes(frame, granularity, start, end, threshold=threshold)
    a.headline = _headline(spike, contrib, res, total, granularity, currency, a.dimension_spikes)
    a.findings = findings(a)
    return a


def _severity(e: Episode, unit: str) -> str:
    daily_rise = (e.typical - e.baseline) * (24 if unit == "hour" else 1)
    if e.ratio >= 2 and daily_rise >= 100:
        return "high"
    if daily_rise >= 20 or (e.ratio >= 1.5 and daily_rise >= 5):
        return "medium"
    return "low"


def findings(a: CostAnalysis) -> list[Finding]:
    out: list[Finding] = []
    unit = _unit(a.granularity)
    cur = a.currency
    if a.spike is None:
        out.append(Finding("cost.no-spike", "info", a.headline,
                           f"Each {unit} was compared with the median of the {BASELINE_PERIODS} normal {unit}s "
                           f"before it (robust z-score >= {THRESHOLD}, at least {REL_MIN:.0%} above the median).",
                           "account", status="PASS"))
    for e in sorted(a.episodes, key=lambda e: e is not a.spike):
        main = e is a.spike
        top = _top(a.contributions, "service+region") if main else None
        ev = [EvidenceRef("cost", f"cost:total:{iso_time(e.peak_period)}", iso_time(e.peak_period),
                          f"{money(e.peak, cur)} that {unit} (baseline {money(e.baseline, cur)})")]
        resources_, principal = [], None
        if main and len(a.resources):
            movers = a.resources[a.resources["delta"] > 0].head(10)
            resources_ = list(movers["resource_id"])
            for r in movers.itertuples():
                if r.eventID:
                    ev.append(EvidenceRef("cloudtrail", r.eventID, iso_time(r.created_at),
                                          f"{r.creating_call} {r.resource_id} by {r.principal}"))
            known = movers[~movers["principal"].isin([UNKNOWN_CREATOR, NO_RESOURCE])]
            if len(known):
                principal = known.groupby("principal")["delta"].sum().idxmax()
        overlapping = []
        if len(a.anomalies):
            for an in a.anomalies.to_dict("records"):
                if pd.notna(an["start"]) and an["start"] < e.end and (pd.isna(an["end"]) or an["end"] >= e.start):
                    overlapping.append(f"{an['service']} from {iso_time(an['start'])}"
                                       + (f" (feedback: {an['feedback']})" if an["feedback"] else " (no feedback)"))
        title = a.headline if main else (f"Cost rose from {money(e.baseline, cur)}/{unit} to "
                                         f"{money(e.typical, cur)}/{unit} from {iso_time(e.start)} to "
                                         f"{iso_time(e.end)}")
        out.append(Finding(
            "cost.spike", _severity(e, unit), title,
            f"{len(e.periods)} {unit}(s) above the robust baseline (median {money(e.baseline, cur)}/{unit}, spread "
            f"{money(e.spread, cur)}); peak {money(e.peak, cur)} on {iso_time(e.peak_period)}; "
            f"{money(e.excess, cur)} above the baseline in all."
            + (f" Largest contributor: {top['value']} (+{money(top['typical'] - top['baseline'], cur)} on a "
               f"typical {unit})." if top is not None
               else "")
            + (f" Cost Anomaly Detection saw it too: {'; '.join(overlapping)}." if overlapping else ""),
            str(top["value"]) if top is not None else "account", tuple(ev),
            "Confirm with the owner that the spend is intended; stop or resize what is not; add a budget or a "
            "Cost Anomaly Detection monitor with an alert for this service and region.",
            extra={"principal": principal, "episode": e.to_dict(), "resources": resources_, "main": main}))
    ds = a.dimension_spikes
    if len(ds):
        # rises of one service, region, usage type or account that the total's spike does not cover
        apart = ds
        for ep in a.episodes:  # covered by that episode's own finding
            apart = apart[(apart["end"] <= ep.start) | (apart["start"] >= ep.end)]
        for d in apart.drop_duplicates("start").head(5).itertuples():
            e = Episode(d.start, d.end, [], [], d.baseline, 0.0, d.typical, d.peak, d.start, d.excess, np.nan)
            out.append(Finding(
                "cost.dimension-spike", _severity(e, unit),
                f"{d.value} ({d.dimension}) rose from {money(d.baseline, cur)}/{unit} to {money(d.typical, cur)}/"
                f"{unit} from {iso_time(d.start)} to {iso_time(d.end)}",
                f"Judged against its own robust baseline (median of the {BASELINE_PERIODS} normal {unit}s before); "
                f"{money(d.excess, cur)} above it in all; too small to move the whole bill out of its own range.",
                str(d.value), (EvidenceRef("cost", f"cost:{d.dimension}:{d.value}:{iso_time(d.start)}",
                                           iso_time(d.start), f"peak {money(d.peak, cur)}"),),
                "Check what changed in this service, region or account at that time (the resources table, the "
                "creating calls).", extra={"dimension": d.dimension, "value": d.value}))
    if a.spike is not None and len(a.principals):
        total_rise = total_typical_rise = a.spike.typical - a.spike.baseline
        for p in a.principals.itertuples():
            if p.principal in (UNKNOWN_CREATOR, NO_RESOURCE) or not (p.delta > 0 and p.delta >= 0.1 * total_rise):
                continue
            mine = a.resources[(a.resources["principal"] == p.principal) & (a.resources["delta"] > 0)]
            ev = tuple(EvidenceRef("cloudtrail", r.eventID, iso_time(r.created_at),
                                   f"{r.creating_call} {r.resource_id} ({r.instance_type or r.usage_types})")
                       for r in mine.itertuples() if r.eventID)
            fails = a.creations[(a.creations["principal"] == p.principal) & (a.creations["errorCode"] != "")]
            ev += tuple(EvidenceRef("cloudtrail", r.eventID, iso_time(r.eventTime), f"{r.eventName} failed: "
                                    f"{r.errorCode}") for r in fails.itertuples())
            rise = p.typical - p.baseline
            out.append(Finding(
                "cost.principal", _severity(a.spike, unit),
                f"{short_name(p.principal)} went from {money(p.baseline, cur)}/{unit} to {money(p.typical, cur)}/"
                f"{unit} ({rise / total_typical_rise if total_typical_rise else 0:.0%} of the whole bill's rise of "
                f"{money(total_typical_rise, cur)}/{unit}), on {p.usage_types}",
                f"{p.resources} resource(s) with cost attributed to {p.principal} (by the CloudTrail calls that "
                f"created them, or their aws:createdBy tag). Per-{unit} figures compare a typical {unit} of the "
                f"spike (the median, as in the answer) with the median {unit} before it; averaged over all "
                f"{len(a.spike.periods)} {unit}s of the spike it is {money(p.during, cur)}/{unit} (less when the "
                f"spike began or ended part-way through a {unit}).", p.principal, ev,
                "Ask the principal whether these resources are needed; if the launch was not expected, review the "
                "credentials' recent activity (the login investigation) and restrict who may launch costly "
                "instance types (an SCP or permission boundary on ec2:InstanceType).",
                extra={"principal": p.principal, "resources": list(mine["resource_id"])}))
        # resources whose rise matters (1 % of the total rise); all of them are in the resources table anyway
        orphans = a.resources[(a.resources["principal"] == UNKNOWN_CREATOR)
                              & (a.resources["delta"] >= max(0.01 * total_rise, 1e-9))]
        if len(orphans):
            share = float(orphans["delta"].sum() / total_rise) if total_rise else 0.0
            out.append(Finding(
                "cost.unattributed",
                "medium" if share >= 0.1 and _severity(a.spike, unit) in ("high", "medium") else "low",
                f"{len(orphans)} resource(s) whose cost rose have no known creator ({share:.0%} of the rise)",
                "; ".join(f"{r.resource_id}: {r.attribution}" for r in orphans.head(10).itertuples()),
                str(orphans.iloc[0]["resource_id"]),
                tuple(EvidenceRef("cost", f"cost:resource:{r.resource_id}", iso_time(r.first_cost),
                                  f"+{money(r.delta, cur)}/{unit}") for r in orphans.head(10).itertuples()),
                "Widen the trail window (or read the trail of the account/region that created them), and activate "
                "the aws:createdBy cost allocation tag.", extra={"resources": list(orphans["resource_id"])}))
    for an in (a.anomalies.to_dict("records") if len(a.anomalies) else []):
        planned = bool(an.get("feedback"))
        out.append(Finding(
            "cost.anomaly", "info" if planned else "medium",
            f"Cost Anomaly Detection: {an['service']} from {iso_time(an['start'])} to {iso_time(an['end'])}, "
            f"{money(an['total_impact'] or 0, cur)} above expected"
            + (f" (feedback: {an['feedback']})" if planned else ""),
            f"Root causes: {an['usage_types'] or 'none given'} in {an['regions'] or '?'}, account(s) "
            f"{an['accounts'] or '?'}; actual {money(an['total_actual'] or 0, cur)}, expected "
            f"{money(an['total_expected'] or 0, cur)}.", an["service"],
            (EvidenceRef("cost-anomaly", an["anomaly_id"] or "anomaly", iso_time(an["start"]),
                         f"score {an['max_score']}"),),
            "Give feedback on the anomaly in Cost Anomaly Detection once explained.",
            status="INFO" if planned else "FAIL", extra={"anomaly_id": an["anomaly_id"]}))
    return out
