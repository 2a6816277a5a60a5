"""Findings: what an analysis concluded, with its evidence, in one shape for notebooks, reports and tickets.

Modelled on prowler's findings: a status, a severity, a one-line title, an explanation, the resource, the evidence
that supports it (CloudTrail eventIDs, Health event ARNs, metric datapoints, log lines) and what to do about it.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

SEVERITIES = ("critical", "high", "medium", "low", "info")


def iso_time(t) -> str | None:
    """A time as CloudTrail writes it (``2026-10-06T14:22:31Z``, UTC); None for a missing one."""
    return None if t is None or pd.isna(t) else pd.Timestamp(t).strftime("%Y-%m-%dT%H:%M:%SZ")


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


class JsonOutput:
    """What an investigation hands to tickets and report tooling: ``to_dict()`` as JSON, to a string or a file."""

    def to_dict(self) -> dict:  # pragma: no cover - every investigation defines it
        raise NotImplementedError

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str)

    def write_json(self, path: str | None) -> None:
        """Write :meth:`to_json` to ``path`` (nothing when path is empty)."""
        if path:
            Path(path).write_text(self.to_json() + "\n", encoding="utf-8")
