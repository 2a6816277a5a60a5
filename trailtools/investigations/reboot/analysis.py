"""Why did this instance restart? The pure analysis: evidence in, verdict and findings out (no I/O).

The evidence about one instance (CloudTrail calls, AWS Health, EC2 scheduled events, status-check failures, guest
logs) is gathered by :mod:`trailtools.instance_evidence`; this module finds the restart and judges its cause:

- ``api-call``: a person or role called the EC2 API (RebootInstances, StopInstances + StartInstances, ...);
- ``automation``: a restart, stop or replacement by automation or an AWS service (Auto Scaling, a Lambda function);
- ``ssm``: a person or role through AWS Systems Manager (Run Command, Session Manager, Automation: the request's
  caller, matched to the guest's shutdown by command ID or time, see :mod:`.remote`);
- ``spot-interruption``: EC2 reclaimed a Spot Instance's capacity (``BidEvictedEvent``);
- ``aws-maintenance``: AWS scheduled maintenance (a Health scheduled change, a completed EC2 scheduled event);
- ``aws-host-failure``: a failure of the AWS host, with or without auto-recovery (Health issue, failed system
  status checks, EC2's ``Server.InternalError`` state reason);
- ``unclean-shutdown``: the guest booted with no shutdown before it and nothing on the AWS side explains it (power
  loss, host failure or kernel crash);
- ``guest``: a reboot from inside the guest OS (a clean shutdown, often a ``sudo reboot`` in the auth log);
- ``undetermined``: nothing found explains it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from trailtools.evidence.guest_logs import CRASH_KINDS
from trailtools.findings.model import EvidenceRef, iso_time
from trailtools.findings.tampering import conflicting_event_ids
from trailtools.investigations.base import SourceStatus
from trailtools.investigations.reboot import access, aws_side, remote, schedules, shape

CAUSES = {
    "api-call": "a person or role called the EC2 API",
    "automation": "automation or an AWS service restarted, stopped or replaced it",
    "ssm": "a command sent through AWS Systems Manager (Run Command, Session Manager, Automation)",
    "spot-interruption": "Spot interruption (AWS reclaimed the capacity)",
    "aws-maintenance": "AWS scheduled maintenance",
    "aws-host-failure": "a failure of the AWS host",
    "unclean-shutdown": "unclean shutdown (power loss, host failure or kernel crash); no AWS-side evidence available",
    "guest": "a reboot from inside the guest operating system",
    "undetermined": "undetermined",
}
#: CloudTrail events that restart, stop or end an instance.
RESTART_CALLS = ("RebootInstances", "StopInstances", "StartInstances", "TerminateInstances", "BidEvictedEvent")
#: Calls that do not restart by themselves but explain one (shown as context).
CONTEXT_CALLS = ("ModifyInstanceAttribute", *remote.SSM_REQUESTS, "TerminateSession", "SendSSHPublicKey",
                 *schedules.ASSOCIATION_CALLS,
                 "TerminateInstanceInAutoScalingGroup", "SetInstanceHealth", "CreateReplaceRootVolumeTask",
                 "ModifyInstanceMaintenanceOptions", "ModifyInstanceEventStartTime", "RunInstances")
#: Health event codes that mean planned work on the host.
MAINTENANCE_WORDS = ("MAINTENANCE", "RETIREMENT", "REBOOT", "STOP_SCHEDULED", "SCHEDULED")
SCHEDULED_RESTART_CODES = ("system-reboot", "instance-reboot", "system-maintenance", "instance-stop",
                           "instance-retirement")
CRASH_WORDS = {"kernel-panic": "a kernel panic", "lockup": "a CPU lockup (the kernel hung)",
               "watchdog": "a watchdog reset", "hung-task": "a hung task (blocked I/O)",
               "fs-error": "a file system error", "oom-kill": "the out-of-memory killer"}
#: How far before a boot a restart-causing call (or AWS event) is taken as its cause.
CALL_LEAD = pd.Timedelta(minutes=30)
EVENT_SLACK = pd.Timedelta(hours=2)


@dataclass
class InstanceEvidence:
    """Everything known about one instance in a window; frames may be empty, never None."""

    instance: str
    window: tuple[pd.Timestamp, pd.Timestamp]
    source: str = ""
    calls: pd.DataFrame = field(default_factory=pd.DataFrame)            # events frame rows touching it
    health: pd.DataFrame = field(default_factory=pd.DataFrame)           # arn, eventTypeCode, eventTypeCategory,
                                                                         # startTime, endTime, statusCode, ...
    scheduled: pd.DataFrame = field(default_factory=pd.DataFrame)        # code, description, notBefore, notAfter,
                                                                         # completed, canceled, eventId
    status_failures: pd.DataFrame = field(default_factory=pd.DataFrame)  # metric, start, end, datapoints
    guest_events: pd.DataFrame = field(default_factory=pd.DataFrame)     # time, kind, user, command, file, line, text
    guest_boots: pd.DataFrame = field(default_factory=pd.DataFrame)      # time, clean, initiated_by, command, ...
    guest_ssh: pd.DataFrame = field(default_factory=pd.DataFrame)        # time, result, user, source, method, text
    spot_notices: pd.DataFrame = field(default_factory=pd.DataFrame)     # EventBridge: time, kind, action, id, file
    ssm_setups: pd.DataFrame = field(default_factory=pd.DataFrame)       # the trail's maintenance window and State
                                                                         # Manager calls (schedules.SETUP_CALLS)
    instance_facts: pd.DataFrame = field(default_factory=pd.DataFrame)   # describe-instances: name, instanceType,
                                                                         # state, stateTransitionReason, stateReason
    sources: list[SourceStatus] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)                      # provenance: every file the evidence
    load_stats: dict | None = None                                       # came from; the trail's load stats
    search: object = None      # no start given: how the last restart was looked for (reboot/search.py Search)


@dataclass
class Verdict:
    instance: str
    cause: str
    summary: str
    confidence: str                     # "high", "medium", "low"
    restart: pd.Timestamp | None
    actor: str | None = None
    how: str | None = None
    where: str | None = None
    evidence: list[EvidenceRef] = field(default_factory=list)
    would_change: str = ""
    name: str | None = None             # the instance's Name tag
    instance_type: str | None = None

    def to_dict(self) -> dict:
        return {
            "instance": self.instance, "name": self.name, "instance_type": self.instance_type,
            "cause": self.cause, "cause_text": CAUSES[self.cause],
            "summary": self.summary, "confidence": self.confidence,
            "restart": iso_time(self.restart), "actor": self.actor, "how": self.how, "where": self.where,
            "evidence": [e.__dict__ for e in self.evidence], "would_change": self.would_change,
        }


def _missing(value) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):  # lists and arrays are values, not missing
        return False


def _rows(frame: pd.DataFrame) -> list[dict]:
    """Records with every missing value (NaN, NaT, NA) as None."""
    if frame is None or frame.empty:
        return []
    return [{k: None if _missing(v) else v for k, v in row.items()} for row in frame.to_dict("records")]


def records(frame: pd.DataFrame) -> list[dict]:
    """A frame's rows as dicts, every missing value as None (what the analysis and :mod:`.remote` read)."""
    return _rows(frame)


# ---- how a call was made, and by whom ---------------------------------------------------------------------------

def how_called(call: dict) -> str:
    """Console, CLI, an SDK, a Lambda function, an AWS service ... from userAgent, invokedBy and the identity."""
    ua = str(call.get("userAgent") or "")
    invoked = call.get("userIdentity.invokedBy")
    if call.get("userIdentity.type") == "AWSService" or (isinstance(invoked, str) and invoked):
        return f"AWS service ({invoked or call.get('actor')})"
    if str(call.get("sessionCredentialFromConsole")) == "true" or ua.startswith("Mozilla/") or "console." in ua:
        return "AWS console"
    if "exec-env/AWS_Lambda" in ua:
        return "Lambda function (SDK)"
    if ua.startswith("aws-cli/"):
        return "AWS CLI"
    if "terraform" in ua.lower():
        return "Terraform"
    if ua.split("/")[0].lower() in ("boto3", "botocore") or ua.startswith("aws-sdk-"):
        return f"SDK ({ua.split(' ')[0]})"
    return f"API ({ua[:60]})" if ua else "API"


def is_automation(call: dict, how: str) -> bool:
    """A service, a function or a scheduler rather than a person (or a person's role session)."""
    if how.startswith("AWS service") or how == "Lambda function (SDK)":
        return True
    if call.get("eventName") == "BidEvictedEvent":
        return True
    issuer = str(call.get("userIdentity.sessionContext.sessionIssuer.userName") or "")
    return issuer.startswith("AWSServiceRoleFor")


def _call_ref(call: dict) -> EvidenceRef:
    who = call.get("actor") or "?"
    return EvidenceRef("cloudtrail", str(call.get("eventID")), iso_time(call.get("eventTime")),
                       f"{call.get('eventName')} by {who} from {call.get('sourceIPAddress')}")


# ---- the restart --------------------------------------------------------------------------------------------------

def restart_times(ev: InstanceEvidence) -> list[pd.Timestamp]:
    """Every restart the evidence shows, oldest first: guest boots; else reboot/start/terminate calls and Spot
    interruptions; else AWS events."""
    boots = [pd.Timestamp(t) for t in ev.guest_boots.get("time", pd.Series(dtype=object)) if pd.notna(t)]
    if boots:
        return sorted(boots)
    times = [c["eventTime"] for c in _rows(ev.calls)
             if c.get("eventName") in ("RebootInstances", "StartInstances", "BidEvictedEvent", "TerminateInstances")
             and not c.get("errorCode")]
    if times:
        return sorted(times)
    for h in _rows(ev.health):  # only what has happened: not an upcoming scheduled change
        if h.get("statusCode") != "upcoming":
            times.append(h.get("endTime") or h.get("startTime"))
    for s in _rows(ev.scheduled):
        if s.get("completed"):
            times.append(s.get("notBefore"))
    for f in _rows(ev.status_failures):
        times.append(f.get("end"))
    return sorted(pd.Timestamp(t) for t in times if t is not None and t <= ev.window[1])


def _near(t, restart, before, after) -> bool:
    return t is not None and pd.notna(t) and restart - before <= t <= restart + after


def _boot_at(ev: InstanceEvidence, restart) -> dict | None:
    for b in _rows(ev.guest_boots):
        if pd.notna(b.get("time")) and abs(pd.Timestamp(b["time"]) - restart) <= pd.Timedelta(minutes=1):
            return b
    return None


def said(row: dict, width: int = 160) -> str:
    """A guest fact in words: "ec2-user ran /sbin/reboot", else its log line as a person reads it."""
    if row.get("user") and row.get("command"):
        return f"{row['user']} ran {row['command']}"
    return str(row.get("message") or row.get("text") or row.get("kind") or "")[:width]


def _guest_ref(row: dict, summary: str) -> EvidenceRef:
    return EvidenceRef("guest-log", f"{row.get('file')}:{row.get('line')}", iso_time(row.get("time")), summary)


def _consulted(ev: InstanceEvidence, name: str) -> bool:
    return any(s.name == name and s.status != "unavailable" for s in ev.sources)


def analyze(ev: InstanceEvidence) -> Verdict:
    """The verdict for the last restart in the window (see the module docstring for the causes), which says so when
    a CloudTrail record it looked at has conflicting copies in the trail (possible tampering)."""
    return _named(ev, _disputed(ev, _with_state_reason(ev, _analyze(ev))))


def _named(ev: InstanceEvidence, verdict: Verdict) -> Verdict:
    """The instance's Name tag and type in the verdict, and after its ID in the summary: "i-0abc (web-01, t3.small)"."""
    verdict.name, verdict.instance_type = shape.name_and_type(ev.instance, _rows(ev.calls), _rows(ev.instance_facts))
    label = ", ".join(x for x in (verdict.name, verdict.instance_type) if x)
    if label:
        verdict.summary = verdict.summary.replace(ev.instance, f"{ev.instance} ({label})", 1)
    return verdict


#: EC2's own reason for an instance's last stop or termination (describe-instances StateReason, and the code in
#: StateTransitionReason) -> (the cause it supports, actor, how, what it means).
STATE_REASONS = {
    "Server.SpotInstanceTermination": ("spot-interruption", "AWS", "Spot interruption",
                                       "EC2 terminated the Spot Instance (capacity reclaimed)"),
    "Server.SpotInstanceShutdown": ("spot-interruption", "AWS", "Spot interruption",
                                    "EC2 stopped the Spot Instance (capacity reclaimed)"),
    "Server.ScheduledStop": ("aws-maintenance", "AWS", "scheduled maintenance",
                             "EC2 stopped it for a scheduled retirement or maintenance"),
    "Server.InternalError": ("aws-host-failure", "AWS", "host failure", "an internal error on the AWS side"),
    "Client.UserInitiatedShutdown": ("api-call", None, "EC2 API (caller not in the trail)",
                                     "someone stopped or terminated it through the EC2 API or console"),
    "Client.InstanceInitiatedShutdown": ("guest", None, "inside the guest",
                                         "the guest shut itself down (shutdown, poweroff or halt inside it)"),
}
#: Reasons that bear out more than their own cause: a user-initiated stop is any API stop (a person's, an
#: automation's, a Systems Manager automation's); an instance-initiated one any shutdown from inside.
SUPPORTS = {"Client.UserInitiatedShutdown": ("api-call", "automation", "ssm"),
            "Client.InstanceInitiatedShutdown": ("guest", "ssm")}
_REASON_CODE = re.compile(r"\b(?:Server|Client)\.[A-Za-z]+")
_REASON_TIME = re.compile(r"\((\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) GMT\)")


def state_reason(ev: InstanceEvidence) -> tuple[str, str, pd.Timestamp | None] | None:
    """EC2's reason for the last state change: (code, the text EC2 gave, when, if StateTransitionReason says), or
    None when describe-instances gave none (a running instance usually has none)."""
    for f in _rows(ev.instance_facts):
        texts = [str(f.get(k)) for k in ("stateReason", "stateTransitionReason") if f.get(k)]
        codes = [m.group(0) for t in texts for m in _REASON_CODE.finditer(t)]
        if codes:
            when = next((m.group(1) for t in texts if (m := _REASON_TIME.search(t))), None)
            return codes[0], "; ".join(texts), pd.Timestamp(when, tz="UTC") if when else None
    return None


def _with_state_reason(ev: InstanceEvidence, verdict: Verdict) -> Verdict:
    """EC2's own reason as evidence: it joins the chain of a verdict it supports (a medium one becomes high), says
    when it disagrees, and decides when nothing else did."""
    found = state_reason(ev)
    if found is None or found[0] not in STATE_REASONS:
        return verdict
    code, text, when = found
    cause, actor, how, meaning = STATE_REASONS[code]
    ref = EvidenceRef("ec2-state", code, iso_time(when), f"describe-instances: {text}")
    if verdict.cause in SUPPORTS.get(code, (cause,)) or (cause == "aws-host-failure"
                                                         and verdict.cause == "unclean-shutdown"):
        verdict.evidence.append(ref)
        if verdict.cause == "unclean-shutdown":
            verdict.cause, verdict.actor, verdict.how = cause, "AWS", how
            verdict.summary += f" EC2's state reason {code} ({meaning}) points to the AWS side."
        verdict.confidence = {"low": "medium", "medium": "high"}.get(verdict.confidence, verdict.confidence)
        return verdict
    if verdict.cause == "undetermined":
        restart = verdict.restart if verdict.restart is not None else when
        return Verdict(ev.instance, cause,
                       f"{ev.instance}: EC2 gives {code} as the reason for its last stop or termination"
                       f"{' at ' + iso_time(when) if when else ''}: {meaning}; no other evidence names the cause.",
                       "medium" if cause in ("spot-interruption", "aws-maintenance") else "low", restart,
                       actor, how, None, [ref, *verdict.evidence],
                       "CloudTrail for that time (the call, or the BidEvictedEvent) and the guest logs would "
                       "confirm it and name who acted. " + verdict.would_change)
    verdict.evidence.append(ref)
    verdict.would_change = (f"EC2's state reason {code} ({meaning}) points to {CAUSES[cause]} instead: it is "
                            "the reason for the last state change, which may be another one. " + verdict.would_change)
    return verdict


def _disputed(ev: InstanceEvidence, verdict: Verdict) -> Verdict:
    """The verdict, noting the instance's calls that have conflicting copies: in the evidence chain, the confidence
    drops to low; elsewhere among the instance's calls, one step. Every copy is kept: none is chosen silently."""
    disputed = conflicting_event_ids(ev.load_stats, ev.calls)
    calls = _rows(ev.calls)
    touching = {str(c.get("eventID")) for c in calls} & disputed
    if not touching:
        return verdict
    chain = {e.ref for e in verdict.evidence if e.kind == "cloudtrail"} & disputed
    ids = sorted(chain or touching)
    names = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
    where = "behind this verdict" if chain else f"among the calls touching {ev.instance}"
    verdict.summary += (f" Caution: the trail holds conflicting copies of {len(ids)} CloudTrail event"
                        f"{'' if len(ids) == 1 else 's'} {where} ({names}): possible tampering; every copy is "
                        "kept and none is trusted over another (see the evidence.conflicting-duplicate finding).")
    verdict.confidence = "low" if chain else {"high": "medium"}.get(verdict.confidence, "low")
    seen = {(e.ref, e.summary) for e in verdict.evidence}
    for c in calls:  # every copy of a disputed event the instance's calls hold, so the chain shows both
        if str(c.get("eventID")) in disputed:
            ref = _call_ref(c)
            if (ref.ref, ref.summary) not in seen:
                seen.add((ref.ref, ref.summary))
                verdict.evidence.append(EvidenceRef(ref.kind, ref.ref, ref.time, f"conflicting copy: {ref.summary}"))
    verdict.would_change = ("Verifying the trail against its digest files (trailtools verify) shows which copy "
                            "CloudTrail delivered. " + verdict.would_change).strip()
    return verdict


def _analyze(ev: InstanceEvidence) -> Verdict:
    restarts = [t for t in restart_times(ev) if ev.window[0] <= t <= ev.window[1]] or restart_times(ev)
    every_call = _rows(ev.calls)
    calls = [c for c in every_call if c.get("eventName") in RESTART_CALLS and not c.get("errorCode")]
    requests = remote.ssm_requests(every_call, ev.instance)
    if not restarts and not calls:
        sent = [r for r in requests if remote.may_restart(r) and ev.window[0] <= r.time <= ev.window[1]]
        if sent and not _consulted(ev, "Guest OS logs"):
            return _ssm_unconfirmed(ev, sent[-1])
        anything = any(not f.empty for f in (ev.calls, ev.health, ev.scheduled, ev.status_failures, ev.guest_events))
        what = "no restart" if anything else "no evidence"
        return Verdict(ev.instance, "undetermined",
                       f"No restart found: {what} for {ev.instance} between {iso_time(ev.window[0])} and "
                       f"{iso_time(ev.window[1])} in {ev.source or 'the source'}.", "low", None,
                       would_change=_missing_sources(ev) or "A wider window, or another source.")
    restart = restarts[-1] if restarts else calls[-1]["eventTime"]
    boot = _boot_at(ev, restart)
    boot_ref = [_guest_ref(boot, "boot" + ("" if boot.get("clean") is not False else " without a clean shutdown"))
                ] if boot else []

    # 1. an API call just before the restart
    near_calls = [c for c in calls if _near(c["eventTime"], restart, CALL_LEAD, pd.Timedelta(minutes=2))]
    if near_calls:
        call = near_calls[-1]
        if call["eventName"] == "BidEvictedEvent":
            return _spot(ev, call, restart, boot_ref)
        automation = remote.automation_behind(requests, call)
        if automation is not None:
            return _ssm_verdict(ev, automation, restart, [_call_ref(automation.call)]
                                + [_call_ref(c) for c in near_calls] + boot_ref, "high",
                                f"its {call['eventName']} call was made by the automation at "
                                f"{iso_time(call['eventTime'])}")
        how = how_called(call)
        stop = [c for c in near_calls if c.get("eventName") == "StopInstances"]
        chain = [_call_ref(c) for c in near_calls] + boot_ref
        cause = "automation" if is_automation(call, how) else "api-call"
        confidence = "high" if boot or stop or len(near_calls) > 1 or call["eventName"] == "RebootInstances" \
            else "medium"
        hibernate = aws_side.hibernated(stop or [call])
        verb = {"RebootInstances": "rebooted",
                "StartInstances": ("hibernated and resumed" if hibernate else "stopped and started") if stop
                else "started", "StopInstances": "hibernated" if hibernate else "stopped",
                "TerminateInstances": "terminated", "BidEvictedEvent": "interrupted (Spot)"}[call["eventName"]]
        if call["eventName"] == "TerminateInstances" and _by_auto_scaling(call):
            return _auto_scaling(ev, call, every_call, restart, chain)
        if call["eventName"] == "StartInstances" and not stop:
            retired = _retired_before(ev, call["eventTime"])
            if retired:  # AWS stopped it for a retirement; someone started it again
                codes = ", ".join(dict.fromkeys(r.summary.split(":")[0] for r in retired))
                return Verdict(ev.instance, "aws-maintenance",
                               f"{ev.instance} was stopped by AWS for a scheduled instance retirement (the host's "
                               f"hardware is degraded; {codes}) and started again by {call.get('actor')} through "
                               f"{how} from {call.get('sourceIPAddress')} at {iso_time(call['eventTime'])}.",
                               "high" if len({r.kind for r in retired}) > 1 or boot else "medium",
                               pd.Timestamp(restart), "AWS", "scheduled maintenance", None, [*retired, *chain],
                               "A StopInstances by someone before the retirement date would mean they acted first.")
        extra = ""
        if call["eventName"] == "StartInstances" and stop:
            resized = aws_side.resize(every_call, ev.instance, stop[0]["eventTime"], call["eventTime"])
            extra = f" Between the stop and the start it was {resized}." if resized else ""
        if hibernate:
            extra += " It was hibernated (StopInstances with hibernate: memory saved to the root volume)."
        service = aws_side.service_behind(call)
        if service and call["eventName"] in ("TerminateInstances", "StopInstances"):
            extra += f" The caller is {service}."
        return Verdict(ev.instance, cause,
                       f"{ev.instance} was {verb} by {call.get('actor')} through {how} from "
                       f"{call.get('sourceIPAddress')} at {iso_time(call['eventTime'])}.{extra}",
                       confidence, pd.Timestamp(restart), call.get("actor"), how, call.get("sourceIPAddress"), chain,
                       "Only a CloudTrail record forged or replayed by someone with access to the trail; check the "
                       "caller's other activity around that time.")

    # 2. AWS scheduled maintenance
    health = [h for h in _rows(ev.health) if _near(h.get("startTime"), restart, EVENT_SLACK, EVENT_SLACK)
              or (pd.notna(h.get("startTime")) and h["startTime"] <= restart
                  and (pd.isna(h.get("endTime")) or h["endTime"] >= restart - EVENT_SLACK))]
    planned = [h for h in health if h.get("eventTypeCategory") == "scheduledChange"
               or any(w in str(h.get("eventTypeCode")) for w in MAINTENANCE_WORDS[:3])]
    scheduled = [s for s in _rows(ev.scheduled) if s.get("code") in SCHEDULED_RESTART_CODES
                 and not s.get("canceled") and pd.notna(s.get("notBefore"))
                 and s["notBefore"] - EVENT_SLACK <= restart
                 <= (s["notAfter"] if pd.notna(s.get("notAfter")) else s["notBefore"]) + EVENT_SLACK]
    if planned or scheduled:
        chain = [EvidenceRef("health", h["arn"], iso_time(h.get("startTime")), str(h.get("eventTypeCode")))
                 for h in planned]
        chain += [EvidenceRef("scheduled-event", str(s.get("eventId")), iso_time(s.get("notBefore")),
                              f"{s.get('code')}: {s.get('description')}") for s in scheduled]
        chain += boot_ref
        confidence = "high" if (planned and scheduled) or ((planned or scheduled) and boot) else "medium"
        codes = [h.get("eventTypeCode") for h in planned] + [s.get("code") for s in scheduled]
        did = ("stopped by AWS for a scheduled instance retirement (the host's hardware is degraded)"
               if aws_side.retirement(codes) else "restarted by AWS scheduled maintenance")
        return Verdict(ev.instance, "aws-maintenance",
                       f"{ev.instance} was {did} at {iso_time(restart)} ({', '.join(dict.fromkeys(map(str, codes)))})"
                       "; no API call restarted it.", confidence, pd.Timestamp(restart), "AWS",
                       "scheduled maintenance", None,
                       chain, "A RebootInstances/StopInstances call at that time would mean someone acted first.")

    # 3. a failure of the AWS host
    failed = [h for h in health if h not in planned]
    checks = [f for f in _rows(ev.status_failures)
              if _near(f.get("end"), restart, EVENT_SLACK, pd.Timedelta(minutes=30))
              and f.get("metric") in ("StatusCheckFailed_System", "StatusCheckFailed_AttachedEBS")]
    unclean = boot is not None and boot.get("clean") is False
    panic = [e for e in _rows(ev.guest_events) if e.get("kind") in CRASH_KINDS  # the kernel crashed or hung
             and _near(e.get("time"), restart, pd.Timedelta(hours=1), pd.Timedelta(0))
             and (unclean or e.get("kind") in ("kernel-panic", "watchdog", "lockup"))]
    if unclean and not (failed or checks or panic):
        return _unclean(ev, restart, boot_ref)
    if (failed or checks or unclean) and not panic:
        recovered = any("AUTO_RECOVERY_SUCCESS" in str(h.get("eventTypeCode")) for h in failed)
        chain = [EvidenceRef("health", h["arn"], iso_time(h.get("startTime")), str(h.get("eventTypeCode")))
                 for h in failed]
        chain += [EvidenceRef("metric", f"{f['metric']}:{iso_time(f['start'])}", iso_time(f["start"]),
                              f"{f['metric']} failed from {iso_time(f['start'])} to {iso_time(f['end'])}")
                  for f in checks]
        chain += boot_ref
        confidence = "high" if failed and checks else "medium" if (failed or checks) else "low"
        kind = "a failure of the AWS host, recovered automatically" if recovered else "a failure of the AWS host"
        return Verdict(
            ev.instance,
            "aws-host-failure",
            f"{ev.instance} restarted at {iso_time(restart)} after {kind}; no API call and no shutdown "
            "from inside the guest preceded it.",
            confidence,
            pd.Timestamp(restart),
            "AWS",
            "automatic recovery" if recovered else "host failure",
            None,
            chain,
            "A shutdown sequence in the guest log before the boot would point inside the guest."
            + (
                ""
                if _consulted(ev, "AWS Health")
                else " AWS Health could not be consulted: its event would confirm the failure."
            ),
        )

    # 4. through AWS Systems Manager: a reboot command in the guest from a Run Command or a session
    commands = [e for e in _rows(ev.guest_events) if e.get("kind") in ("reboot-command", "shutdown-command")
                and _near(e.get("time"), restart, pd.Timedelta(hours=1), pd.Timedelta(0))]
    if boot is not None and boot.get("clean") is not False:
        matched = remote.guest_match(requests, commands, every_call)
        if matched:
            request, row, how = matched
            line = _guest_ref(row, said(row))
            did = ("the SSM agent rebooted the instance for it" if remote.by_agent(row) else
                   f"{row.get('user') or 'the guest'} ran {row.get('command')} from it" if row.get("command") else
                   f"the guest logged {said(row)!r}")
            return _ssm_verdict(ev, request, restart, [_call_ref(request.call), line, *boot_ref], "high",
                                f"{did} at {iso_time(row.get('time'))} (matched by {how})")
        quiet = [c for c in commands if remote.by_agent(c) or (c.get("user") in (None, "root")
                                                               and not remote.TERMINAL.search(str(c.get("text"))))]
        row = min(reversed(quiet), key=lambda r: not remote.command_id(r.get("text"))) if quiet else None
        run = schedules.association_run(every_call, _rows(ev.ssm_setups), ev.instance,
                                        row["time"] if row is not None else restart)
        if run is not None and (quiet or not commands):
            by = "association ID" if row is not None and remote.command_id(row.get("text")) == str(run.ident).lower() \
                else "time"
            lines = [_guest_ref(row, said(row))] if row is not None else []
            did = (f"{'the SSM agent' if remote.by_agent(row) else row.get('user') or 'the guest'} rebooted it at "
                   f"{iso_time(row.get('time'))} (matched by {by})" if row is not None
                   else "the guest shut down cleanly after it")
            return _scheduled_verdict(ev, run, restart, [*lines, *boot_ref], "high" if row is not None else "medium",
                                      did)
        sent = [r for r in requests if remote.may_restart(r) and _near(r.time, restart, CALL_LEAD, pd.Timedelta(0))]
        if sent and not commands:
            return _ssm_verdict(ev, sent[-1], restart, [_call_ref(sent[-1].call), *boot_ref], "medium",
                                "the guest shut down cleanly after it; its logs show no command of their own")

    # 5. from inside the guest
    if boot is not None and boot.get("clean") or panic:
        who, command = boot.get("initiated_by") if boot else None, boot.get("command") if boot else None
        commands = [
            e
            for e in _rows(ev.guest_events)
            if e.get("kind") in ("reboot-command", "shutdown-command")
            and _near(e.get("time"), restart, pd.Timedelta(hours=1), pd.Timedelta(0))
        ]
        if commands and not who:
            who, command = commands[-1].get("user"), commands[-1].get("command")
        chain = [_guest_ref(c, said(c) if c.get("user") and c.get("command") else f"{c.get('kind')}: {said(c, 120)}")
                 for c in commands]
        chain += [_guest_ref(p, f"{CRASH_WORDS[p['kind']]}: {said(p, 120)}") for p in panic] + boot_ref
        detail = (
            f"{who} ran {command}"
            if who and command
            else f"{CRASH_WORDS[panic[-1]['kind']]} logged at {iso_time(panic[-1]['time'])}"
                 + (", then a boot with no clean shutdown before it" if boot and boot.get("clean") is False else "")
            if panic
            else "a clean shutdown with no command found"
        )
        cloudtrail = _consulted(ev, "CloudTrail")
        sure = who or any(p["kind"] in ("kernel-panic", "watchdog", "lockup") for p in panic)
        confidence = "high" if sure and cloudtrail else "medium" if cloudtrail else "low"
        ran_at = max((c["time"] for c in commands if c.get("user") == who), default=restart)
        pushed = access.pushed_login(every_call, _rows(ev.guest_ssh), who, ran_at)
        actor, how, where = who, "inside the guest", None
        if pushed is not None:  # the OS user was whoever pushed the key through EC2 Instance Connect
            p, login = pushed.push, pushed.login
            actor, how, where = p.get("actor"), f"inside the guest ({who}, through EC2 Instance Connect)", \
                p.get("sourceIPAddress")
            detail += (f"; {who} was {actor}: EC2 Instance Connect SendSSHPublicKey at {iso_time(p['eventTime'])} "
                       f"from {p.get('sourceIPAddress')}, the key {pushed.fingerprint or '(not logged)'} accepted "
                       f"by sshd for {who} from {login.get('source')} at {iso_time(login['time'])} (matched by "
                       f"{pushed.matched_by})")
            chain = [_call_ref(p), _guest_ref(login, f"sshd accepted publickey for {who} from {login.get('source')}"),
                     *chain]
        return Verdict(
            ev.instance,
            "guest",
            f"{ev.instance} was restarted from inside the guest at {iso_time(restart)}: {detail}; no API "
            "call restarted it.",
            confidence,
            pd.Timestamp(restart),
            actor,
            how,
            where,
            chain,
            "A RebootInstances call at that time missing from this trail (a gap in logging) would "
            "change it; check the trail's coverage.",
        )

    chain = boot_ref
    return Verdict(
        ev.instance,
        "undetermined",
        f"{ev.instance} restarted at {iso_time(restart)} but nothing found explains it.",
        "low",
        pd.Timestamp(restart),
        evidence=chain,
        would_change=_missing_sources(ev)
        or "Guest logs from before the restart would show whether it shut down cleanly.",
    )


RETIREMENT_LEAD = pd.Timedelta(days=7)


def _retired_before(ev: InstanceEvidence, t, lead=RETIREMENT_LEAD) -> list[EvidenceRef]:
    """Health retirement events and EC2 retirement/stop events that began in the ``lead`` before ``t``."""
    refs = [EvidenceRef("health", h["arn"], iso_time(h.get("startTime")), str(h.get("eventTypeCode")))
            for h in _rows(ev.health) if aws_side.retirement([h.get("eventTypeCode")])
            and pd.notna(h.get("startTime")) and t - lead <= h["startTime"] <= t]
    refs += [EvidenceRef("scheduled-event", str(s.get("eventId")), iso_time(s.get("notBefore")),
                         f"{s.get('code')}: {s.get('description')}")
             for s in _rows(ev.scheduled) if aws_side.retirement([s.get("code")]) and not s.get("canceled")
             and pd.notna(s.get("notBefore")) and t - lead <= s["notBefore"] <= t]
    return refs


def _by_auto_scaling(call: dict) -> bool:
    return "autoscaling.amazonaws.com" in (str(call.get("userIdentity.invokedBy") or ""), str(call.get("userAgent"))) \
        or str(call.get("userIdentity.sessionContext.sessionIssuer.userName") or "").startswith(
            "AWSServiceRoleForAutoScaling")


def _auto_scaling(ev: InstanceEvidence, call: dict, every_call: list[dict], restart, chain: list) -> Verdict:
    """A termination by Auto Scaling: a replacement (a new instance is launched in its place), or a removal when
    someone asked the group to terminate it and decrement its desired capacity (scale-in)."""
    asked = [c for c in every_call if c.get("eventName") == "TerminateInstanceInAutoScalingGroup"
             and not c.get("errorCode") and _near(c.get("eventTime"), restart, CALL_LEAD, pd.Timedelta(0))]
    removed = any(remote.parsed_json(c.get("requestParameters")).get("shouldDecrementDesiredCapacity") is True
                  for c in asked)
    what = ("removed by Auto Scaling (terminated and its group's desired capacity decremented: a scale-in, no "
            "replacement)" if removed else "replaced by Auto Scaling (terminated, and a new instance launched in its "
            "place to keep the group's desired capacity)")
    service = aws_side.service_behind(asked[-1] if asked else None) or aws_side.service_behind(call)
    reason = None if removed else aws_side.health_check_reason(every_call, _rows(ev.status_failures), ev.instance,
                                                               call["eventTime"])
    rebalance = [] if removed or reason else _notices(ev, call["eventTime"], ("rebalance-recommendation",))
    if rebalance:  # Capacity Rebalancing: the group replaces an at-risk Spot Instance before EC2 reclaims it
        reason = (f"Capacity Rebalancing: EC2 recommended a rebalance at {iso_time(rebalance[-1]['time'])} (the Spot "
                  "Instance was at elevated risk of interruption)")
        chain = [*map(_notice_ref, rebalance), *chain]
    by = f"; {asked[-1].get('actor')} asked for it" if asked else ""
    by += f" ({service})" if service else ""
    by += f"; {reason}" if reason else ""
    return Verdict(ev.instance, "automation",
                   f"{ev.instance} was {what} by {call.get('actor')} at {iso_time(call['eventTime'])}{by}; it was "
                   "not stopped and started.", "high", pd.Timestamp(restart), call.get("actor"), how_called(call),
                   call.get("sourceIPAddress"), [*map(_call_ref, asked), *chain],
                   "The group's scaling activities (aws autoscaling describe-scaling-activities) say why: a failed "
                   "health check, a scale-in, a rebalance or an instance refresh.")


def _unclean(ev: InstanceEvidence, restart, boot_ref: list) -> Verdict:
    """A boot with no shutdown before it, and nothing on the AWS side: the guest cannot tell a power loss, a host
    failure and a crash that left no log line apart. Medium when CloudTrail, AWS Health and the status checks were
    all consulted (and are silent), low otherwise."""
    aws_side = ("CloudTrail", "AWS Health", "Status checks (CloudWatch)")
    missing = [n for n in aws_side if not _consulted(ev, n)]
    return Verdict(ev.instance, "unclean-shutdown",
                   f"{ev.instance} restarted at {iso_time(restart)} after an unclean shutdown (power loss, host "
                   "failure or kernel crash): the guest log stops with no shutdown sequence, and no API call, AWS "
                   "Health event or failed status check explains it (no AWS-side evidence available).",
                   "low" if missing else "medium", pd.Timestamp(restart), None, "unclean shutdown", None, boot_ref,
                   (f"{', '.join(missing)} could not be consulted: " if missing else "")
                   + "an AWS Health issue or a failed system status check at that time would make it a host "
                   "failure; a kernel panic or out-of-memory message (console output, kdump) a crash.")


def _notices(ev: InstanceEvidence, t, kinds=("rebalance-recommendation", "interruption-warning")) -> list[dict]:
    """EC2's Spot notices (EventBridge) in the hour before ``t``."""
    return [n for n in _rows(ev.spot_notices) if n.get("kind") in kinds
            and _near(n.get("time"), pd.Timestamp(t), pd.Timedelta(hours=1), pd.Timedelta(minutes=1))]


def _notice_ref(n: dict) -> EvidenceRef:
    return EvidenceRef("eventbridge", str(n.get("id")), iso_time(n.get("time")),
                       f"EC2 {n.get('kind')}" + (f" ({n.get('action')})" if n.get("action") else ""))


def _spot(ev: InstanceEvidence, call: dict, restart, boot_ref: list) -> Verdict:
    notices = _notices(ev, call["eventTime"])
    said_before = "".join(f" EC2 sent a {n['kind'].replace('-', ' ')} at {iso_time(n['time'])}"
                          + (f" ({n['action']})" if n.get("action") else "") + "." for n in notices)
    return Verdict(ev.instance, "spot-interruption",
                   f"{ev.instance} was interrupted at {iso_time(call['eventTime'])}: Spot interruption (AWS "
                   "reclaimed the capacity; CloudTrail's BidEvictedEvent); no API call by a person stopped it."
                   + said_before, "high", pd.Timestamp(restart), "AWS", "Spot interruption", None,
                   [*map(_notice_ref, notices), _call_ref(call), *boot_ref],
                   "A TerminateInstances or StopInstances call by a person just before would mean someone acted "
                   "first; a Spot rebalance recommendation or interruption notice in the guest confirms it.")


def _scheduled_verdict(ev: InstanceEvidence, run: schedules.Scheduled, restart, chain: list, confidence: str,
                       detail: str) -> Verdict:
    """The restart attributed to whoever set up (or started) a maintenance window task or an association."""
    who, setup = run.person, run.setup
    refs = [_call_ref(setup)] + ([_call_ref(run.trigger)] if run.trigger is not None else [])
    label = {"Maintenance Window task": "window", "State Manager association": "association"}[run.kind]
    started = (f"; {who.get('actor')} started it now (StartAssociationsOnce at {iso_time(who['eventTime'])})"
               if who is not setup else "")
    execution = (f"; the window ran it as SendCommand {_command_id(run.trigger)} at "  # Systems Manager's own call
                 f"{iso_time(run.trigger['eventTime'])} (Systems Manager's own call)"
                 if run.kind == "Maintenance Window task" else "")
    patch = (f" {run.document} installs patches and reboots when one needs it (RebootOption RebootIfNeeded, its "
             "default; CloudTrail hides the parameters)." if run.document in remote.PATCH_DOCUMENTS else "")
    return Verdict(ev.instance, "ssm",
                   f"{ev.instance} was restarted through an SSM {run.kind} ({run.document or 'document not logged'},"
                   f" {label} {run.ident}) set up by {setup.get('actor')} with {setup.get('eventName')} at "
                   f"{iso_time(setup['eventTime'])} from {setup.get('sourceIPAddress')}{started}{execution}; {detail}."
                   f"{patch}", confidence, pd.Timestamp(restart), who.get("actor"), run.how(),
                   who.get("sourceIPAddress"), [*refs, *chain],
                   f"The {label}'s execution history (aws ssm describe-maintenance-window-executions / "
                   "describe-association-executions) shows what it ran and when; a reboot command from another login "
                   "at that time would point elsewhere.")


def _command_id(call: dict) -> str:
    command = remote.parsed_json(call.get("responseElements")).get("command")
    return str(command.get("commandId")) if isinstance(command, dict) else "?"


def _ssm_verdict(ev: InstanceEvidence, request: remote.SsmRequest, restart, chain: list, confidence: str,
                 detail: str) -> Verdict:
    """The restart attributed to the person or role behind a Systems Manager request (for a maintenance window's
    SendCommand, whoever registered the task)."""
    if schedules.by_ssm_service(request.call):
        task = schedules.window_task(_rows(ev.ssm_setups), request.call, ev.instance)
        if task is not None:
            return _scheduled_verdict(ev, task, restart, [c for c in chain if c.ref != str(request.call.get(
                "eventID"))], confidence, detail)
    c = request.call
    what = {"Run Command": "SSM Run Command", "Session Manager": "an SSM Session Manager session",
            "Automation": "SSM Automation"}[request.kind]
    ident = f" {request.ident}" if request.ident else ""
    patch = (f" {request.document} installs patches and reboots when one needs it (RebootOption RebootIfNeeded, its "
             "default; CloudTrail hides the parameters)." if remote.is_patching(request) else "")
    return Verdict(ev.instance, "ssm",
                   f"{ev.instance} was restarted by {c.get('actor')} through {what}"
                   f"{f' ({request.document})' if request.document else ''}: {request.call['eventName']}{ident} "
                   f"at {iso_time(request.time)} from {c.get('sourceIPAddress')}; {detail}.{patch}",
                   confidence, pd.Timestamp(restart), c.get("actor"), request.how(), c.get("sourceIPAddress"),
                   chain, "A reboot command in the guest from another login at that time would point elsewhere; "
                   "the command's output (GetCommandInvocation, or its S3/CloudWatch output) shows what it ran.")


def _ssm_unconfirmed(ev: InstanceEvidence, request: remote.SsmRequest) -> Verdict:
    """The trail alone: a command that can restart was sent and CloudTrail hides what it ran."""
    if schedules.by_ssm_service(request.call):
        task = schedules.window_task(_rows(ev.ssm_setups), request.call, ev.instance)
        if task is not None:
            v = _scheduled_verdict(ev, task, None, [], "low", "CloudTrail hides the command's parameters, and "
                                   "nothing else in the trail restarted it")
            v.summary = v.summary.replace("was restarted", "was most likely restarted", 1)
            v.restart = None
            return v
    c = request.call
    return Verdict(ev.instance, "ssm",
                   f"{ev.instance} was most likely restarted by {c.get('actor')} through SSM {request.kind} "
                   f"({request.document or 'document not logged'}{', ' + request.ident if request.ident else ''}) "
                   f"at {iso_time(request.time)} from {c.get('sourceIPAddress')}: CloudTrail hides the command's "
                   "parameters, and nothing else in the trail restarted it.",
                   "low", None, c.get("actor"), request.how(), c.get("sourceIPAddress"), [_call_ref(c)],
                   "The guest logs (a sudo reboot run from /var/lib/amazon/ssm/.../orchestration/<command ID>/) "
                   "or the command's output would confirm it; " + (_missing_sources(ev) or "none were given."))


def _missing_sources(ev: InstanceEvidence) -> str:
    missing = [f"{s.name} ({s.detail})" if s.detail else s.name for s in ev.sources if s.status == "unavailable"]
    return ("Evidence from sources that could not be consulted: " + "; ".join(missing) + ".") if missing else ""
