"""The rules library's attack sequences in the login investigation: the same rules ``trailtools hunt`` runs
(:mod:`trailtools.rules.sequences`: a console password set for another user and used minutes later, a user created
and used within the hour, privilege escalation then use, a role's trust changed then used, logging switched off early
in a session), over the window and its baseline, keeping the sign-in focus: one finding per fact.

- A sequence whose every step is already in one login finding (a console session that shows the same calls) adds
  nothing: it is left out, and that finding tells it.
- A sequence that ties facts the login findings report apart (the ``CreateLoginProfile`` by one key and the sign-in
  without MFA nine seconds later) replaces the login findings whose evidence it holds, at its own severity.
"""
from __future__ import annotations

import pandas as pd

from trailtools.findings.model import Finding
from trailtools.investigations.login.rules import SCORE_SEVERITY
from trailtools.rules import registry

#: The rule families the login investigation runs beside its own checks.
FAMILIES = ("sequences",)
#: The columns the sequences read (:mod:`trailtools.rules.sequences` and the helpers of :mod:`trailtools.rules.model`
#: it calls): each rule copies the rows it selects, and only these columns of them, not the frame's every column.
SEQUENCE_COLUMNS = (
    "eventTime", "eventSource", "eventName", "eventID", "recipientAccountId", "actor", "userIdentity.type",
    "userIdentity.arn", "userIdentity.userName", "userIdentity.accountId", "userIdentity.accessKeyId",
    "userIdentity.sessionContext.sessionIssuer.userName", "sourceIPAddress", "errorCode",
    "sessionCredentialFromConsole", "additionalEventData.MFAUsed", "responseElements.ConsoleLogin",
    "requestParameters", "responseElements",
)
#: A sequence's score in the login's ranking (by its severity: the floor of that severity's band).
SCORES = {sev: floor for floor, sev in SCORE_SEVERITY}


def _refs(f: Finding) -> set[str]:
    return {e.ref for e in f.evidence}


def _about(f: Finding, principal: str | None) -> bool:
    if not principal:
        return True
    text = " ".join(str(x) for x in (f.title, f.resource, f.extra.get("actor", ""))).lower()
    return principal.lower() in text


def sequence_findings(events: pd.DataFrame, start, end, principal: str | None = None) -> list[Finding]:
    """The sequences whose last step is in [start, end), over ``events`` (the window and its baseline: earlier steps
    may lie before the window), about ``principal`` when one is named."""
    found = registry.run(events[[c for c in SEQUENCE_COLUMNS if c in events.columns]],  # (a view: no copy)
                         registry.select(list(FAMILIES)))
    out = []
    for f in found:
        last = max((e.time for e in f.evidence if e.time), default="")
        if last and pd.Timestamp(start) <= pd.Timestamp(last) < pd.Timestamp(end) and _about(f, principal):
            f.extra.setdefault("score", SCORES.get(f.severity, 0))
            out.append(f)
    return out


def merge(findings: list[Finding], sequences: list[Finding]) -> list[Finding]:
    """The login's findings with the sequences: one finding per fact (see the module's docstring)."""
    out = list(findings)
    for seq in sequences:
        steps = _refs(seq)
        if any(steps <= _refs(f) for f in out):
            continue
        out = [f for f in out if not (_refs(f) and _refs(f) <= steps)]
        out.append(seq)
    return out
