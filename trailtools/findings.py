"""Findings: what an analysis concluded, with its evidence, in one shape for notebooks, reports and tickets.

Modelled on prowler's findings: a status, a severity, a one-line title, an explanation, the resource, the evidence
that supports it (CloudTrail eventIDs, Health event ARNs, metric datapoints, log lines) and what to do about it.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

SEVERITIES = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True)
class EvidenceRef:
    """One piece of evidence: where it is (kind + ref) and what it says, in a few words."""

    kind: str      # "cloudtrail", "health", "scheduled-event", "metric", "guest-log", "console-output"
    ref: str       # eventID, Health event ARN, "metric:<name>:<time>", "file:line"
    time: str | None = None   # ISO-8601 UTC
    summary: str = ""


@dataclass(frozen=True)
class Finding:
    check: str                  # a stable identifier, e.g. "reboot.api-call"
    severity: str               # one of SEVERITIES
    title: str                  # one line, plain words
    explanation: str
    resource: str               # the instance ID, user ARN, ...
    evidence: tuple[EvidenceRef, ...] = ()
    remediation: str = ""
    status: str = "FAIL"        # FAIL (something to look at), PASS (checked, fine), INFO
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, not {self.severity!r}")

    def to_dict(self) -> dict:
        out = asdict(self)
        out["evidence"] = [asdict(e) for e in self.evidence]
        return out


def to_json(findings: list[Finding], **context) -> str:
    """The machine-readable form written beside every report: context (instance, window, source...) + findings."""
    return json.dumps({**context, "findings": [f.to_dict() for f in findings]}, indent=2, default=str)
