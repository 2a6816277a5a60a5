"""Systems Manager work set up earlier and run later, and the person behind it (pure; no I/O).

- **Maintenance Window tasks**: someone registers a task (``RegisterTaskWithMaintenanceWindow``: ``taskArn`` the
  document, e.g. ``AWS-RunPatchBaseline``; ``targets`` the instances or the window's targets, registered with
  ``RegisterTargetWithMaintenanceWindow``). When the window opens, Systems Manager itself calls ``SendCommand``
  (invoked by ``ssm.amazonaws.com``): that call's caller is the service, the person is whoever registered the task.
- **State Manager associations**: someone creates one (``CreateAssociation``: ``name`` the document, ``targets``,
  a schedule) or runs it now (``StartAssociationsOnce``). The agent on the instance applies it (no SendCommand) and
  reports with ``UpdateInstanceAssociationStatus`` (the instance's own call, naming the association). The person is
  whoever started it, else whoever created or last updated it.

The calls that set these up rarely name the instance (a window's targets, an association ID), so the investigation
reads them from the whole trail (:data:`SETUP_CALLS`, :data:`LOOKBACK` before the window) when the instance's calls
show Systems Manager acting on its own (:func:`needs_setups`).
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from trailtools.investigations.reboot.remote import COMMAND_LAG, parsed_json

SETUP_CALLS = ("CreateAssociation", "UpdateAssociation", "StartAssociationsOnce", "RegisterTaskWithMaintenanceWindow",
               "UpdateMaintenanceWindowTask", "RegisterTargetWithMaintenanceWindow")
#: How far before the window the calls that set up a task or an association are looked for.
LOOKBACK = pd.Timedelta(days=90)
ASSOCIATION_CALLS = ("CreateAssociation", "UpdateAssociation", "StartAssociationsOnce",
                     "UpdateInstanceAssociationStatus")


def by_ssm_service(call: dict) -> bool:
    """A call Systems Manager made itself (a maintenance window's execution), not a person's."""
    if any("ssm.amazonaws.com" in str(call.get(k) or "") for k in ("userIdentity.invokedBy", "sourceIPAddress")):
        return True
    issuer = str(call.get("userIdentity.sessionContext.sessionIssuer.userName") or "")
    return issuer.startswith("AWSServiceRoleForAmazonSSM")


def needs_setups(calls: list[dict]) -> bool:
    """The instance's calls show Systems Manager running something set up elsewhere."""
    return any((c.get("eventName") == "SendCommand" and by_ssm_service(c)) or c.get("eventName") in ASSOCIATION_CALLS
               for c in calls)


@dataclass
class Scheduled:
    """A maintenance window task or a State Manager association that ran on the instance."""

    kind: str                  # "Maintenance Window task" | "State Manager association"
    setup: dict                # the call that set it up (the person's)
    ident: str | None          # the window ID or the association ID
    document: str | None
    trigger: dict | None       # the window's SendCommand, or a person's StartAssociationsOnce
    ran: pd.Timestamp          # when it ran (the trigger, or the instance's status report)

    @property
    def person(self) -> dict:
        """Whoever asked for this run: a person's StartAssociationsOnce, else the setup's caller."""
        if self.trigger is not None and self.trigger.get("eventName") == "StartAssociationsOnce":
            return self.trigger
        return self.setup

    def how(self) -> str:
        return f"SSM {self.kind}" + (f" ({self.document})" if self.document else "")


def _targets(req: dict, instance: str, window_targets: set[str] = frozenset()) -> bool:
    if req.get("instanceId") == instance:
        return True
    for t in req.get("targets") or []:
        if isinstance(t, dict):
            values = t.get("values") or t.get("Values") or []
            if instance in values or window_targets & set(values):
                return True
    return False


def _ok(calls: list[dict], *names: str) -> list[dict]:
    return sorted((c for c in calls if c.get("eventName") in names and not c.get("errorCode")),
                  key=lambda c: c["eventTime"])


def window_task(setups: list[dict], command: dict, instance: str) -> Scheduled | None:
    """The maintenance window task behind a SendCommand Systems Manager made itself: the last one registered (or
    updated) before it with the same document, targeting the instance (itself or through a window target) when
    any such task exists, else the last with that document."""
    doc = parsed_json(command.get("requestParameters")).get("documentName")
    t = command["eventTime"]
    window_targets = {str(parsed_json(c.get("responseElements")).get("windowTargetId")) for c in
                      _ok(setups, "RegisterTargetWithMaintenanceWindow")
                      if _targets(parsed_json(c.get("requestParameters")), instance)}
    tasks = [c for c in _ok(setups, "RegisterTaskWithMaintenanceWindow", "UpdateMaintenanceWindowTask")
             if c["eventTime"] <= t and parsed_json(c.get("requestParameters")).get("taskArn") == doc]
    mine = [c for c in tasks if _targets(parsed_json(c.get("requestParameters")), instance, window_targets)]
    chosen = (mine or tasks)[-1] if (mine or tasks) else None
    if chosen is None:
        return None
    return Scheduled("Maintenance Window task", chosen, parsed_json(chosen.get("requestParameters")).get("windowId"),
                     doc, command, pd.Timestamp(t))


def _association_id(call: dict) -> str | None:
    desc = parsed_json(call.get("responseElements")).get("associationDescription")
    aid = desc.get("associationId") if isinstance(desc, dict) else None
    return aid or parsed_json(call.get("requestParameters")).get("associationId")


def association_run(calls: list[dict], setups: list[dict], instance: str, t) -> Scheduled | None:
    """The State Manager association that ran on the instance shortly before ``t`` (a restart or a reboot line):
    started by a person (StartAssociationsOnce), just created (an association runs once at creation), or run on
    its schedule (the instance's UpdateInstanceAssociationStatus within COMMAND_LAG of ``t``). None when the
    association's creation is not in the trail: nobody can be named."""
    every = list({str(c.get("eventID")): c for c in [*setups, *calls]}.values())
    created: dict[str, dict] = {}
    for c in _ok(every, "CreateAssociation", "UpdateAssociation"):
        aid = _association_id(c)
        if aid:
            created[aid] = c
    t = pd.Timestamp(t)
    runs = []  # (time, association ID, the trigger)
    for c in _ok(every, "StartAssociationsOnce", "CreateAssociation", "UpdateInstanceAssociationStatus"):
        when, req = pd.Timestamp(c["eventTime"]), parsed_json(c.get("requestParameters"))
        name = c["eventName"]
        if name == "StartAssociationsOnce" and t - COMMAND_LAG <= when <= t:
            runs += [(when, aid, c) for aid in req.get("associationIds") or [] if aid in created
                     and _targets(parsed_json(created[aid].get("requestParameters")), instance)]
        elif name == "CreateAssociation" and t - COMMAND_LAG <= when <= t and _targets(req, instance):
            runs.append((when, _association_id(c), None))
        elif name == "UpdateInstanceAssociationStatus" and req.get("instanceId") == instance \
                and abs(when - t) <= COMMAND_LAG and req.get("associationId") in created:
            runs.append((when, req.get("associationId"), None))
    runs = [r for r in runs if r[1] in created]
    if not runs:
        return None
    # a person's start beats the schedule; among equals the latest
    when, aid, trigger = max(runs, key=lambda r: (r[2] is not None and r[2]["eventName"] == "StartAssociationsOnce",
                                                  r[0]))
    setup = created[aid]
    return Scheduled("State Manager association", setup, aid, parsed_json(setup.get("requestParameters")).get("name"),
                     trigger, when)
