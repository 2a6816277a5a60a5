"""Restarts requested through AWS Systems Manager, and the person behind each (pure; no I/O).

- **Run Command** (``SendCommand``): CloudTrail logs the document and the targets but hides the parameters
  (``"parameters": "HIDDEN_DUE_TO_SECURITY_REASONS"``), so the command's text is never in the trail. The guest
  shows it: the SSM agent runs each command from ``/var/lib/amazon/ssm/<instance>/document/orchestration/
  <command-id>/...``, and ``sudo`` logs that working directory (``PWD=``) with the command. A reboot command from
  that directory is matched to the ``SendCommand`` by its command ID, else by time.
- **Session Manager** (``StartSession``): the shell runs as ``ssm-user``; a reboot command in the guest while the
  session was open is matched by time.
- **Automation** (``StartAutomationExecution``, e.g. ``AWS-RestartEC2Instance``): the EC2 calls that restart the
  instance are made by Systems Manager (the automation's assumed role, whose session is named after the execution,
  or the starter's own identity invoked by ``ssm.amazonaws.com``): the restart is the starter's.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pandas as pd

SSM_REQUESTS = ("SendCommand", "StartSession", "StartAutomationExecution")
#: The working directory of a Run Command document in the guest: the instance and the command ID.
SSM_WORKDIR = re.compile(r"/var/lib/amazon/ssm/(?P<instance>[\w.-]+)/document/orchestration/"
                         r"(?P<command>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})")
#: The SSM agent's own log lines name the document they run as ``[<command-id>.<instance-id>]``.
SSM_AGENT_DOC = re.compile(r"\[(?P<command>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                           r"[0-9a-fA-F]{12})\.(?P<instance>i-[0-9a-f]{8,17})\]")
#: Run Command documents that run what they are given (a shell, a patch run with its reboot): one of these with
#: hidden parameters can have restarted the instance; AWS-UpdateSSMAgent or AWS-GetInventory cannot.
RUNS_ANYTHING = ("AWS-RunShellScript", "AWS-RunPowerShellScript", "AWS-RunRemoteScript", "AWS-RunPatchBaseline",
                 "AWS-RunPatchBaselineWithHooks", "AWS-InstallWindowsUpdates", "AWS-RunAnsiblePlaybook",
                 "AWS-ApplyPatchBaseline", "AWS-RunDocument")
#: A sudo line from a terminal (an SSH or console login, a Session Manager shell): no Run Command has one.
TERMINAL = re.compile(r"TTY=(?:pts|tty|console)")
#: How long after a SendCommand its command may run (the agent polls; a reboot at the end of a script).
COMMAND_LAG = pd.Timedelta(minutes=30)
#: How long a Session Manager session is taken to be open when no TerminateSession says otherwise.
SESSION_LENGTH = pd.Timedelta(hours=2)


@dataclass
class SsmRequest:
    """One successful Systems Manager request that targets the instance."""

    kind: str               # "Run Command", "Session Manager", "Automation"
    call: dict              # the CloudTrail row
    ident: str | None       # commandId, sessionId or automationExecutionId
    document: str | None

    @property
    def time(self) -> pd.Timestamp:
        return pd.Timestamp(self.call["eventTime"])

    def how(self) -> str:
        return f"SSM {self.kind}" + (f" ({self.document})" if self.document else "")


def parsed_json(value) -> dict:
    """A CloudTrail JSON field (its text, or already parsed) as a dict; anything else as an empty one."""
    if isinstance(value, dict):
        return value
    try:
        out = json.loads(value) if isinstance(value, (str, bytes)) else {}
    except ValueError:
        return {}
    return out if isinstance(out, dict) else {}


def _targets(request: dict, instance: str) -> bool:
    """The request names the instance: in instanceIds, as a session target, in an InstanceId parameter or in
    Targets values."""
    if instance in (request.get("instanceIds") or []) or request.get("target") == instance:
        return True
    params = request.get("parameters")
    if isinstance(params, dict):
        values = params.get("InstanceId") or params.get("InstanceIds") or []
        if instance in (values if isinstance(values, list) else [values]):
            return True
    return any(instance in (t.get("values") or t.get("Values") or []) for t in request.get("targets") or []
               if isinstance(t, dict))


def ssm_requests(calls: list[dict], instance: str) -> list[SsmRequest]:
    """The successful SendCommand / StartSession / StartAutomationExecution calls on ``instance``, oldest first."""
    out = []
    for c in calls:
        name = c.get("eventName")
        if name not in SSM_REQUESTS or c.get("errorCode"):
            continue
        req, resp = parsed_json(c.get("requestParameters")), parsed_json(c.get("responseElements"))
        if not _targets(req, instance):
            continue
        if name == "SendCommand":
            command = resp.get("command") if isinstance(resp.get("command"), dict) else {}
            out.append(SsmRequest("Run Command", c, command.get("commandId"), req.get("documentName")))
        elif name == "StartSession":
            out.append(SsmRequest("Session Manager", c, resp.get("sessionId"), req.get("documentName")))
        else:
            out.append(SsmRequest("Automation", c, resp.get("automationExecutionId"), req.get("documentName")))
    return sorted(out, key=lambda r: r.time)


def command_id(text) -> str | None:
    """The Run Command ID in a guest log line run from the SSM agent's working directory, or None."""
    m = SSM_WORKDIR.search(str(text or "")) or SSM_AGENT_DOC.search(str(text or ""))
    return m["command"].lower() if m else None


def _ended(calls: list[dict], session: SsmRequest) -> pd.Timestamp | None:
    for c in calls:
        if c.get("eventName") == "TerminateSession" and not c.get("errorCode") and c["eventTime"] >= session.time \
                and parsed_json(c.get("requestParameters")).get("sessionId") == session.ident:
            return pd.Timestamp(c["eventTime"])
    return None


def guest_match(requests: list[SsmRequest], commands: list[dict], calls: list[dict]) -> tuple | None:
    """The request behind a reboot/shutdown command in the guest: (request, guest row, "command ID" | "time"), or
    None. A command run from an SSM working directory is matched by its command ID (else to the last Run Command
    before it); any other command to a session open at the time (Session Manager shells run as ssm-user)."""
    if not commands:
        return None
    # the line that says most: a command ID, else a command (sudo), else logind's notice
    row = min(reversed(commands), key=lambda r: (not command_id(r.get("text")), not r.get("command")))
    t = pd.Timestamp(row["time"])
    cid = command_id(row.get("text"))
    runs = [r for r in requests if r.kind == "Run Command"]
    if cid:
        same = [r for r in runs if str(r.ident or "").lower() == cid]
        if same:
            return same[-1], row, "command ID"
    if cid or (row.get("user") in (None, "root") and not TERMINAL.search(str(row.get("text") or ""))):
        before = [r for r in runs if r.time <= t <= r.time + COMMAND_LAG]
        if before and not (cid and any(r.ident for r in before)):  # an unknown ID is not another command's
            return before[-1], row, "time"
    sessions = [r for r in requests if r.kind == "Session Manager"
                and r.time <= t <= min(_ended(calls, r) or r.time + SESSION_LENGTH, r.time + SESSION_LENGTH)]
    if sessions and row.get("user") in ("ssm-user", "root", None):
        return sessions[-1], row, "time"
    return None


def _session_name(call: dict) -> str:
    return str(call.get("userIdentity.arn") or "").rsplit("/", 1)[-1]


def automation_behind(requests: list[SsmRequest], call: dict) -> SsmRequest | None:
    """The automation execution that made ``call`` (a restart call): one started at most COMMAND_LAG before it, when
    the call was made by Systems Manager (its role session named after the execution, or invoked by or called from
    ssm.amazonaws.com). Another role's call in that time is that role's: a person's SSO session is no automation."""
    t = pd.Timestamp(call["eventTime"])
    runs = [r for r in requests if r.kind == "Automation" and r.time <= t <= r.time + COMMAND_LAG]
    for r in reversed(runs):
        by_ssm = any("ssm.amazonaws.com" in str(call.get(k) or "") for k in
                     ("userIdentity.invokedBy", "userAgent", "sourceIPAddress"))
        if (r.ident and _session_name(call) == r.ident) or by_ssm:
            return r
    return None


def may_restart(request: SsmRequest) -> bool:
    """A request that can have restarted the instance by itself: a Run Command document that runs what it is
    given (or a custom document), or an automation that restarts or stops."""
    doc = str(request.document or "")
    if request.kind == "Run Command":
        return doc in RUNS_ANYTHING or not doc.startswith("AWS-")
    if request.kind == "Automation":
        return bool(re.search(r"Restart|Reboot|Stop|Patch", doc)) or not doc.startswith("AWS-")
    return False


#: Documents that patch the instance and reboot it when a patch needs it (RebootOption RebootIfNeeded, the default).
PATCH_DOCUMENTS = ("AWS-RunPatchBaseline", "AWS-RunPatchBaselineWithHooks", "AWS-RunPatchBaselineAssociation",
                   "AWS-PatchInstanceWithRollback", "AWS-InstallWindowsUpdates", "AWS-ApplyPatchBaseline")


def is_patching(request: SsmRequest) -> bool:
    return str(request.document or "") in PATCH_DOCUMENTS


def by_agent(row: dict) -> bool:
    """A guest fact logged by the SSM agent itself (it reboots for a document that asks, exit code 194)."""
    text = str(row.get("message") or row.get("text") or "")
    return bool(re.search(r"\b(?:amazon-ssm-agent|ssm-agent-worker|ssm-document-worker)\b", text))
