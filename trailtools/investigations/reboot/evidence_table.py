"""The reboot investigation's evidence as rows: every piece of evidence for the timeline (:func:`evidence_frame`),
and what bears on the restart for the evidence table (:func:`evidence_rows`). Pure; no I/O."""
from __future__ import annotations

import re

import pandas as pd

from trailtools.findings.model import iso_time
from trailtools.investigations.reboot.analysis import (
    CONTEXT_CALLS,
    RESTART_CALLS,
    InstanceEvidence,
    Verdict,
    how_called,
    records,
    restart_times,
)

_PID = re.compile(r"^([^\s\[:]+)\[\d+\]:")


def evidence_frame(ev: InstanceEvidence) -> pd.DataFrame:
    """Every piece of evidence as one row (time, end, lane, what, who, where, how, ref, detail) for the timeline;
    a guest event logged in several files once, with its message (not a journal entry's JSON) as detail."""
    rows = []
    for c in records(ev.calls):
        rows.append(
            {
                "time": c["eventTime"],
                "lane": "API calls",
                "what": str(c.get("eventName")) + (f" ({c['errorCode']})" if c.get("errorCode") else ""),
                "who": c.get("actor"),
                "where": c.get("sourceIPAddress"),
                "how": how_called(c),
                "ref": c.get("eventID"),
                "detail": c.get("userAgent"),
            }
        )
    for h in records(ev.health):
        rows.append(
            {
                "time": h.get("startTime"),
                "end": h.get("endTime"),
                "lane": "AWS Health",
                "what": h.get("eventTypeCode"),
                "who": "AWS",
                "where": h.get("region"),
                "how": None,
                "ref": h.get("arn"),
                "detail": h.get("latestDescription"),
            }
        )
    for s in records(ev.scheduled):
        state = " [Completed]" if s.get("completed") else " [Canceled]" if s.get("canceled") else ""
        rows.append(
            {
                "time": s.get("notBefore"),
                "end": s.get("notAfter"),
                "lane": "Scheduled events",
                "what": f"{s.get('code')}{state}",
                "who": "AWS",
                "where": s.get("availabilityZone"),
                "how": None,
                "ref": s.get("eventId"),
                "detail": s.get("description"),
            }
        )
    for n in records(ev.spot_notices):
        rows.append({"time": n.get("time"), "lane": "Spot notices", "what": n.get("kind"), "who": "AWS",
                     "where": None, "how": "EventBridge", "ref": n.get("id"), "detail": n.get("action")})
    for f in records(ev.status_failures):
        rows.append(
            {
                "time": f.get("start"),
                "end": f.get("end"),
                "lane": "Status checks",
                "what": f.get("metric"),
                "who": None,
                "where": None,
                "how": None,
                "ref": f"{f.get('metric')}:{iso_time(f.get('start'))}",
                "detail": f"{f.get('datapoints')} failed datapoints",
            }
        )
    seen = set()
    for g in records(ev.guest_events):  # once: the journal and syslog log most twice
        message = g.get("message") or g.get("text")
        key = (pd.Timestamp(g["time"]).floor("s") if g.get("time") is not None else None, g.get("kind"),
               _PID.sub(r"\1:", str(message)))  # rsyslog's "systemd:" is the journal's "systemd[1]:"
        if key in seen:
            continue
        seen.add(key)
        rows.append(
            {
                "time": g.get("time"),
                "lane": "Guest OS",
                "what": g.get("kind"),
                "who": g.get("user"),
                "where": g.get("host"),
                "how": g.get("command"),
                "ref": f"{g.get('file')}:{g.get('line')}",
                "detail": message,
            }
        )
    frame = pd.DataFrame(rows, columns=["time", "end", "lane", "what", "who", "where", "how", "ref", "detail"])
    for col in ("time", "end"):
        frame[col] = pd.to_datetime(frame[col], utc=True).astype("datetime64[us, UTC]")
    return frame.sort_values("time", kind="stable").reset_index(drop=True)


#: How far from a restart an ordinary call of the instance's still bears on it (the evidence table).
AROUND_RESTART = pd.Timedelta(minutes=30)
DETAIL_WIDTH = 140


def evidence_rows(ev: InstanceEvidence, verdict: Verdict) -> pd.DataFrame:
    """The evidence that bears on the restart, for a table: the verdict's chain first, then the calls that restart
    or explain a restart, the instance's other calls within AROUND_RESTART of a restart, and everything else but
    the API calls (AWS Health, scheduled events, status checks, the guest); each part in time order. Columns that
    fit a page: no empty ``end``, the detail cut to DETAIL_WIDTH characters."""
    frame = evidence_frame(ev)
    chain = {e.ref for e in verdict.evidence}
    guest_times = {e.time for e in verdict.evidence if e.kind == "guest-log"}  # the same event from another file
    in_chain = frame["ref"].astype(str).isin(chain) | ((frame["lane"] == "Guest OS")
                                                       & frame["time"].map(iso_time).isin(guest_times))
    restarts = [t for t in restart_times(ev) if t is not None] + ([verdict.restart] if verdict.restart is not None
                                                                  else [])
    api = frame["lane"] == "API calls"
    named = frame["what"].str.split(" ").str[0].isin(RESTART_CALLS + CONTEXT_CALLS)
    near = frame["time"].map(lambda t: any(abs(t - r) <= AROUND_RESTART for r in restarts) if pd.notna(t) else False)
    keep = in_chain | ~api | named | near
    out = pd.concat([frame[in_chain], frame[keep & ~in_chain]], ignore_index=True)
    if out["end"].isna().all():
        out = out.drop(columns="end")
    out["detail"] = [v if not isinstance(v, str) or len(v) <= DETAIL_WIDTH else v[:DETAIL_WIDTH - 1] + "\u2026"
                     for v in out["detail"]]
    return out
