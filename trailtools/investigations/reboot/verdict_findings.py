"""The reboot verdict as findings (pure; no I/O): the verdict's own, and what else deserves attention (an upcoming
scheduled event)."""
from __future__ import annotations

import pandas as pd

from trailtools.findings.model import EvidenceRef, Finding, iso_time
from trailtools.investigations.reboot.analysis import CAUSES, InstanceEvidence, Verdict, records

_SEVERITY = {
    "api-call": "medium",
    "ssm": "medium",
    "spot-interruption": "low",
    "unclean-shutdown": "medium",
    "automation": "low",
    "aws-maintenance": "low",
    "aws-host-failure": "medium",
    "guest": "medium",
    "undetermined": "info",
}
_REMEDIATION = {
    "ssm": "Confirm with the caller that the command or session was meant to restart it; if not, treat the "
    "principal's credentials as compromised and review its other Systems Manager calls.",
    "spot-interruption": "Nothing to fix on this instance: Spot capacity can be reclaimed at any time; diversify "
    "instance types and zones, or use On-Demand for work that cannot be interrupted.",
    "unclean-shutdown": "Check the guest for a crash (kernel log, serial console) and AWS Health for the host; "
    "enable auto-recovery and collect the console output at the next occurrence.",
    "api-call": "Confirm with the caller that the restart was intended; if not, treat the principal's credentials "
    "as compromised and review its other calls.",
    "automation": "Confirm the automation is expected to act on this instance (schedule, tags); exclude it if not.",
    "aws-maintenance": "Nothing to fix; to choose the time yourself, reschedule future events "
    "(ModifyInstanceEventStartTime) or use event windows.",
    "aws-host-failure": "Nothing caused it from your side; keep auto-recovery enabled and check the application "
    "came back cleanly.",
    "guest": "Ask the person who ran the command, or check the automation inside the guest (updates, cron).",
    "undetermined": "Collect guest logs from before the restart and widen the window or the sources.",
}


def findings(ev: InstanceEvidence, verdict: Verdict, now: pd.Timestamp | None = None) -> list[Finding]:
    """The verdict as a finding, plus what else deserves attention (upcoming scheduled events)."""
    out = [
        Finding(
            f"reboot.{verdict.cause}",
            _SEVERITY[verdict.cause],
            verdict.summary,
            f"Cause: {CAUSES[verdict.cause]} (confidence {verdict.confidence}). {verdict.would_change}",
            ev.instance,
            tuple(verdict.evidence),
            _REMEDIATION[verdict.cause],
            status="INFO" if verdict.cause == "undetermined" else "FAIL",
        )
    ]
    now = now or ev.window[1]
    for s in records(ev.scheduled):
        if not s.get("completed") and not s.get("canceled") and pd.notna(s.get("notBefore")) and s["notBefore"] > now:
            out.append(
                Finding(
                    "reboot.upcoming-event",
                    "medium",
                    f"{ev.instance} has a scheduled {s.get('code')} from {iso_time(s['notBefore'])}",
                    str(s.get("description") or ""),
                    ev.instance,
                    (
                        EvidenceRef(
                            "scheduled-event", str(s.get("eventId")), iso_time(s["notBefore"]), str(s.get("code"))
                        ),
                    ),
                    "Reschedule it (ModifyInstanceEventStartTime) or stop and start the instance "
                    "yourself before then to move it to healthy hardware.",
                )
            )
    return out
