"""Logging coverage: which parts of a time window the trail can speak for, read from the trail itself.

"No evidence here" is not "nothing happened". :func:`compute` (pure, from an events frame) finds:

- **logging off**: ``StopLogging`` on a trail until its next ``StartLogging`` (or the end of the window);
- **trail deleted**: ``DeleteTrail`` until logging is started again on a trail of that name;
- **events no longer recorded**: ``PutEventSelectors`` that leaves out management events (``includeManagementEvents``
  false, or advanced selectors without ``eventCategory = Management``) or write events (``readWriteType``
  ``ReadOnly``), until selectors that record them again;
- **trail changed** (not a gap, a finding): ``UpdateTrail`` (another bucket, one region only, validation off ...),
  ``PutInsightSelectors``, selectors that drop read events (``WriteOnly``); and failed attempts at all of these;
- **silent hours**: UTC hours with no event at all for an account that normally has some. The rule: with at least
  ``MIN_DAYS`` days of history for the account (the frame should hold some days before the window: the one-call
  :func:`coverage_for` loads ``baseline_days``), an hour of the day is *usual* when at least ``USUAL_SHARE`` of the
  days had an event in it; a usual hour with no event is a gap. With less history but at least ``MIN_HOURS`` hours,
  an account with events in at least ``BUSY_SHARE`` of its hours is busy around the clock and any silent hour is a
  gap. With less than that nothing is judged (and :attr:`Coverage.notes` says so).

Only successful calls (no ``errorCode``) open or close a gap. A gap on one trail is a gap in the evidence even if
another trail still logs: which trail delivered a file is not in the events, so the gaps are conservative.
Digest verification (:mod:`trailtools.integrity.verify`) adds the periods no digest covers when it is given.

One call for an investigation::

    cov = coverage_for(source, start, end)        # loads what it needs from the source
    cov.covered_fraction()                        # 0.0 .. 1.0 of the window
    cov.gaps                                      # [Gap(start, end, kind, reason, trail, ...)]
    cov.findings()                                # prowler-style findings for the anti-forensic events
    views.coverage.shade_gaps(chart, cov)         # a timeline with the gaps shaded
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import pandas as pd

from trailtools.events.load import load_events
from trailtools.events.query import Query
from trailtools.findings.model import EvidenceRef, Finding, JsonOutput, iso_time
from trailtools.templating import render

MIN_DAYS = 3
USUAL_SHARE = 0.75
MIN_HOURS = 24
BUSY_SHARE = 0.9
#: The kinds of gap, and what each means.
GAP_KINDS = {
    "logging-stopped": "logging stopped",
    "trail-deleted": "trail deleted",
    "events-excluded": "event selectors leave events out",
    "no-deliveries": "no events where the account usually has some",
    "no-digests": "no digest files",
}
CONTROL_EVENTS = ("StopLogging", "StartLogging", "DeleteTrail", "CreateTrail", "UpdateTrail", "PutEventSelectors",
                  "PutInsightSelectors")


@dataclass(frozen=True)
class Gap:
    start: pd.Timestamp
    end: pd.Timestamp
    kind: str                 # one of GAP_KINDS
    reason: str               # one sentence
    trail: str | None = None
    opened_by: str | None = None   # eventID of the call that opened it
    closed_by: str | None = None   # eventID of the call that closed it (None: still open at the window's end)

    def to_dict(self) -> dict:
        return {**asdict(self), "start": iso_time(self.start), "end": iso_time(self.end)}


@dataclass(frozen=True)
class Change:
    """A call on a trail's configuration or logging, successful or not."""

    time: pd.Timestamp
    event_name: str
    trail: str | None
    actor: str
    event_id: str
    error: str | None
    what: str

    def to_dict(self) -> dict:
        return {**asdict(self), "time": iso_time(self.time)}


def _merge(intervals) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    out: list[list] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


@dataclass
class Coverage(JsonOutput):
    window: tuple[pd.Timestamp, pd.Timestamp]
    gaps: list[Gap] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def intervals(self, window=None) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
        """The gaps as disjoint intervals, clipped to the window (default: the coverage's own)."""
        lo, hi = (pd.Timestamp(t) for t in (window or self.window))
        return [(max(a, lo), min(b, hi)) for a, b in _merge((g.start, g.end) for g in self.gaps) if b > lo and a < hi]

    def covered_fraction(self, window=None) -> float:
        """The share of the window (default: the coverage's own) that no gap touches, 0.0 .. 1.0."""
        lo, hi = (pd.Timestamp(t) for t in (window or self.window))
        if hi <= lo:
            return 1.0
        missing = sum(((b - a) for a, b in self.intervals((lo, hi))), pd.Timedelta(0))
        return max(0.0, 1.0 - missing / (hi - lo))

    def frame(self) -> pd.DataFrame:
        """One row per gap: start, end, kind, reason, trail (for charts and tables)."""
        cols = ["start", "end", "kind", "reason", "trail"]
        return pd.DataFrame([{c: getattr(g, c) for c in cols} for g in self.gaps], columns=cols)

    def summary(self) -> str:
        lo, hi = self.window
        pct = self.covered_fraction() * 100
        head = f"Logging coverage {pct:.1f}% of {iso_time(lo)} .. {iso_time(hi)}"
        if not self.gaps:
            return head + ": no gaps found."
        parts = [f"{iso_time(g.start)} .. {iso_time(g.end)} {GAP_KINDS.get(g.kind, g.kind)}"
                 + (f" ({g.trail})" if g.trail else "") for g in self.gaps]
        return head + "; gaps: " + "; ".join(parts) + "."

    def to_dict(self) -> dict:
        return {"window": [iso_time(self.window[0]), iso_time(self.window[1])],
                "covered_fraction": round(self.covered_fraction(), 4),
                "gaps": [g.to_dict() for g in self.gaps], "changes": [c.to_dict() for c in self.changes],
                "notes": list(self.notes), "summary": self.summary()}

    def to_html(self) -> str:
        """The coverage as a small HTML block, every value escaped by its template (trail names and actors are
        attacker-chosen)."""
        return str(render("coverage.html.j2", headline=self.summary().split(";")[0].rstrip(":. "), notes=self.notes,
                          gaps=[(iso_time(g.start) or "", iso_time(g.end) or "", g) for g in self.gaps]))

    def findings(self) -> list[Finding]:
        """The anti-forensic calls and silent periods as findings."""
        out = []
        for c in self.changes:
            sev, title, remediation = _judge(c)
            if sev is None:
                continue
            out.append(Finding(
                f"coverage.{c.event_name}", sev, title,
                f"{c.actor} called {c.event_name} on {c.trail or 'a trail'} at {iso_time(c.time)}"
                + (f" and was refused ({c.error})." if c.error else f": {c.what}."),
                c.trail or "cloudtrail", (EvidenceRef("cloudtrail", c.event_id, iso_time(c.time),
                                                      f"{c.event_name} by {c.actor}"),),
                remediation=remediation, status="FAIL" if not c.error else "INFO"))
        silent = [g for g in self.gaps if g.kind == "no-deliveries"]
        if silent:
            hours = sum(((g.end - g.start) for g in silent), pd.Timedelta(0)) / pd.Timedelta(hours=1)
            out.append(Finding(
                "coverage.no-deliveries", "medium", f"{hours:.0f} h with no events where the account usually has some",
                "; ".join(f"{iso_time(g.start)} .. {iso_time(g.end)}" for g in silent[:10]), "cloudtrail",
                evidence=tuple(EvidenceRef("coverage", f"gap:{iso_time(g.start)}", iso_time(g.start), g.reason)
                               for g in silent[:50]),
                remediation="Check whether logging was off (StopLogging, DeleteTrail) or files were removed from "
                            "the bucket (trailtools verify); events in these hours are not in this evidence.",
                status="FAIL"))
        return out


def _judge(c: Change) -> tuple[str | None, str, str]:
    trail = c.trail or "a trail"
    if c.error:
        return "low", f"Attempted {c.event_name} on {trail} (refused)", \
            "Someone tried to weaken logging: find out who and why."
    if c.event_name == "StopLogging":
        return "high", f"Logging stopped on {trail}", "Start logging again and find out who stopped it and why."
    if c.event_name == "DeleteTrail":
        return "high", f"Trail {trail} deleted", "Recreate the trail; protect it with an SCP denying DeleteTrail."
    if c.event_name == "PutEventSelectors":
        reduced = c.what.startswith("management") or c.what.startswith("write") or c.what.startswith("read events")
        return ("high" if not c.what.startswith("read events") else "medium") if reduced else "info", \
            f"Event selectors of {trail} changed", "Restore selectors that record all management events."
    if c.event_name == "UpdateTrail":
        return "medium", f"Trail {trail} updated", "Check the trail's bucket, regions and log file validation."
    if c.event_name == "PutInsightSelectors":
        return "low", f"Insights selectors of {trail} changed", "Check that Insights still covers what it should."
    return None, "", ""


# ---- computing it -------------------------------------------------------------------------------------------------

def trail_name(value) -> str | None:
    """``arn:aws:cloudtrail:...:trail/NAME`` or ``NAME`` -> NAME."""
    if not value:
        return None
    text = str(value)
    return text.rsplit("trail/", 1)[-1] if text.startswith("arn:") else text


def _params(text) -> dict:
    if not isinstance(text, str) or not text:
        return {}
    try:
        obj = json.loads(text)
    except ValueError:
        return {}
    return obj if isinstance(obj, dict) else {}


def selectors_effect(params: dict) -> str:
    """What PutEventSelectors leaves out: 'management events', 'write events', 'read events' or '' (nothing)."""
    basic = params.get("eventSelectors")
    advanced = params.get("advancedEventSelectors")
    if isinstance(advanced, list) and advanced:
        for sel in advanced:
            for f in (sel or {}).get("fieldSelectors") or []:
                if f.get("field") == "eventCategory" and "Management" in (f.get("equals") or []):
                    return ""
        return "management events"
    if isinstance(basic, list) and basic:
        mgmt = [s for s in basic if isinstance(s, dict) and s.get("includeManagementEvents", True)]
        if not mgmt:
            return "management events"
        kinds = {str(s.get("readWriteType", "All")) for s in mgmt}
        if "All" in kinds or {"ReadOnly", "WriteOnly"} <= kinds:
            return ""
        return "write events" if kinds == {"ReadOnly"} else "read events"
    return ""


def _update_what(params: dict) -> str:
    bits = []
    if params.get("s3BucketName"):
        bits.append(f"logs now go to bucket {params['s3BucketName']}")
    if params.get("isMultiRegionTrail") is False:
        bits.append("only its home region is logged now")
    if params.get("includeGlobalServiceEvents") is False:
        bits.append("global service events (IAM, STS, sign-in) are no longer logged")
    if params.get("enableLogFileValidation") is False:
        bits.append("log file validation is off (no more digests)")
    if params.get("kmsKeyId"):
        bits.append(f"files are now encrypted with {params['kmsKeyId']}")
    return "; ".join(bits) or "its settings changed"


def _utc(t) -> pd.Timestamp:
    """A time as a UTC timestamp (a naive one is taken to be UTC already)."""
    t = pd.Timestamp(t)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame.columns else pd.Series([None] * len(frame), index=frame.index)


def compute(frame: pd.DataFrame, window, *, verification=None) -> Coverage:
    """The coverage of ``window`` (start, end) from an events frame (see the module docstring for the rules).

    The frame should hold every event of the window and, for the silent-hour rule, some days before it; a frame
    filtered to one resource cannot tell silent hours and misses the trail's own calls.
    """
    lo, hi = (_utc(t) for t in window)
    cov = Coverage((lo, hi))
    if frame is None or frame.empty or "eventTime" not in frame.columns:
        cov.notes.append("No events to judge the coverage from.")
        frame = pd.DataFrame(columns=["eventTime", "eventName", "eventSource"])
    times = pd.to_datetime(frame["eventTime"], utc=True)
    ct = frame[(_col(frame, "eventSource").astype(str) == "cloudtrail.amazonaws.com")
               & _col(frame, "eventName").isin(CONTROL_EVENTS) & (times < hi)]
    ct = ct.assign(_t=times[ct.index]).sort_values("_t", kind="stable")
    _control_gaps(ct, cov, hi)
    _silent_hours(frame.assign(_t=times), cov, lo, hi)
    if verification is not None:
        for a, b, why in verification.gaps():
            if b > lo and a < hi:
                cov.gaps.append(Gap(max(a, lo), min(b, hi), "no-digests", why))
    cov.gaps.sort(key=lambda g: (g.start, g.end, g.kind))
    cov.gaps[:] = [g for g in cov.gaps if g.end > lo and g.start < hi]
    return cov


def _control_gaps(ct: pd.DataFrame, cov: Coverage, hi: pd.Timestamp) -> None:
    lo = cov.window[0]
    open_: dict[tuple[str, str | None], tuple[pd.Timestamp, str, str, str]] = {}  # (kind, trail) -> opened

    def close(kind, trail, t, closer):
        start, reason, opener, _ = open_.pop((kind, trail))
        cov.gaps.append(Gap(start, t, kind, reason, trail, opener, closer))

    for row in ct.to_dict("records"):
        name, t = row.get("eventName"), row["_t"]
        params = _params(row.get("requestParameters"))
        trail = trail_name(params.get("name") or params.get("trailName"))
        actor = str(row.get("actor") or row.get("userIdentity.arn") or "someone")
        eid = str(row.get("eventID") or "")
        error = row.get("errorCode")
        error = None if error is None or pd.isna(error) or error == "" else str(error)
        what = ""
        if name == "PutEventSelectors":
            left_out = selectors_effect(params)
            what = f"{left_out} are no longer recorded" if left_out else "the selectors record management events"
        elif name == "UpdateTrail":
            what = _update_what(params)
        elif name == "StopLogging":
            what = "nothing is recorded until StartLogging"
        elif name == "DeleteTrail":
            what = "the trail and its logging are gone"
        elif name in ("StartLogging", "CreateTrail"):
            what = "logging resumes" if name == "StartLogging" else "a trail was created (it logs after StartLogging)"
        elif name == "PutInsightSelectors":
            what = "Insights selectors changed"
        cov.changes.append(Change(t, name, trail, actor, eid, error, what))
        if error:
            continue
        if name == "StopLogging" and ("logging-stopped", trail) not in open_:
            open_[("logging-stopped", trail)] = (t, f"{actor} stopped logging on trail {trail}.", eid, actor)
        elif name == "DeleteTrail":
            open_.setdefault(("trail-deleted", trail), (t, f"{actor} deleted trail {trail}.", eid, actor))
        elif name == "StartLogging":
            for kind in ("logging-stopped", "trail-deleted"):
                if (kind, trail) in open_:
                    close(kind, trail, t, eid)
        elif name == "PutEventSelectors":
            left_out = selectors_effect(params)
            if left_out in ("management events", "write events"):
                if ("events-excluded", trail) not in open_:
                    open_[("events-excluded", trail)] = (
                        t, f"{actor} changed the event selectors of trail {trail}: {left_out} are no longer "
                           "recorded.", eid, actor)
            elif ("events-excluded", trail) in open_:
                close("events-excluded", trail, t, eid)
    for (kind, trail), (start, reason, opener, _) in sorted(open_.items(), key=lambda kv: kv[1][0]):
        cov.gaps.append(Gap(start, hi, kind, reason + " Still so at the end of the window.", trail, opener, None))
    # a gap opened before the window by a call in the frame counts from the window's start (clipped in intervals())
    cov.gaps[:] = [g for g in cov.gaps if g.end > lo]


def _silent_hours(frame: pd.DataFrame, cov: Coverage, lo: pd.Timestamp, hi: pd.Timestamp) -> None:
    if frame.empty:
        return
    accounts = _col(frame, "recipientAccountId").astype(object).where(_col(frame, "recipientAccountId").notna(), "")
    for account, times in frame["_t"].groupby(accounts.values, observed=True):
        hours = times.dt.floor("h")
        first, last = hours.min(), max(hours.max(), hi.ceil("h") - pd.Timedelta(hours=1))
        counts = hours.value_counts().reindex(pd.date_range(first, last, freq="h"), fill_value=0)
        span_hours = (hours.max() - first) / pd.Timedelta(hours=1) + 1
        history = counts[counts.index < max(lo.floor("h"), first + pd.Timedelta(hours=1))]
        days = history.index.normalize().nunique()
        label = f"account {account}" if account else "the account"
        if days >= MIN_DAYS:
            active = (history > 0).groupby(history.index.hour).mean()
            usual = set(active[active >= USUAL_SHARE].index)
            rule = f"hour of day active on >= {USUAL_SHARE:.0%} of {days} days before"
        elif span_hours >= MIN_HOURS and (counts[counts.index <= hours.max()] > 0).mean() >= BUSY_SHARE:
            usual = set(range(24))
            rule = f"events in >= {BUSY_SHARE:.0%} of its hours"
        else:
            cov.notes.append(f"Too little history for {label} to judge silent hours (fewer than {MIN_DAYS} days "
                             "before the window): load more days before it.")
            continue
        inside = counts[(counts.index + pd.Timedelta(hours=1) > lo) & (counts.index < hi)]
        silent = [h for h, n in inside.items() if n == 0 and h.hour in usual]
        for a, b in _merge((h, h + pd.Timedelta(hours=1)) for h in silent):
            cov.gaps.append(Gap(max(a, lo), min(b, hi), "no-deliveries",
                                f"No events for {label} from {iso_time(a)} to {iso_time(b)}, hours that usually "
                                f"have some ({rule})."))


def coverage_for(source: str, start, end, *, baseline_days: float = 7, verification=None) -> Coverage:
    """Load what coverage needs from ``source`` (every event of the window and ``baseline_days`` before it, plus
    the trail's own calls of the 90 days before, so a gap opened earlier is seen) and compute it."""

    lo, hi = _utc(start), _utc(end)
    events = load_events(source, Query(start=(lo - pd.Timedelta(days=baseline_days)).to_pydatetime(),
                                       end=hi.to_pydatetime())).frame
    earlier = load_events(source, Query(start=(lo - pd.Timedelta(days=90)).to_pydatetime(),
                                        end=(lo - pd.Timedelta(days=baseline_days)).to_pydatetime(),
                                        event_names=list(CONTROL_EVENTS))).frame
    frame = pd.concat([earlier, events], ignore_index=True) if len(earlier) else events
    return compute(frame, (lo, hi), verification=verification)
