"""Every rule, by id: the families' ``RULES`` tuples gathered in one place, and running them over an events frame."""
from __future__ import annotations

from dataclasses import replace

import pandas as pd

from trailtools.errors import TrailtoolsError
from trailtools.findings.model import SEVERITIES, Finding
from trailtools.rules import collection, credential_access, defense_evasion, execution, exposure, sequences
from trailtools.rules.model import Rule

#: The families, in the order docs/rules.md lists them.
FAMILIES = (defense_evasion, exposure, execution, collection, credential_access, sequences)
RULES: dict[str, Rule] = {r.id: r for family in FAMILIES for r in family.RULES}


def select(ids: str | list[str] | None = None) -> list[Rule]:
    """The rules named (comma-separated ids, or a list; a family name such as ``exposure`` takes all of its rules);
    every rule when none are named. An unknown name is one clear error."""
    if not ids:
        return list(RULES.values())
    names = [n.strip() for n in (ids.split(",") if isinstance(ids, str) else ids) if n and n.strip()]
    out = []
    for name in names:
        found = [r for r in RULES.values() if r.id == name or r.family == name]
        if not found:
            raise TrailtoolsError(f"No rule named {name!r}: the rules are listed in docs/rules.md "
                                  f"(for example {next(iter(RULES))}, or a family such as exposure).")
        out += [r for r in found if r not in out]
    return out


def with_aws_ranges(rules: list[Rule], path: str | None) -> list[Rule]:
    """The rules, those that tell AWS addresses from others judging with AWS's ``ip-ranges.json`` at ``path``
    (None: the bundled snapshot)."""
    return [replace(r, parameters={**r.parameters, "aws_ip_ranges": path or "bundled"})
            if "aws_ip_ranges" in r.parameters else r for r in rules]


def event_names(rules: list[Rule]) -> list[str]:
    """Every eventName the rules name (a rule that reads every event names none)."""
    return sorted({n for r in rules for n in r.event_names})


def pushed_down(rules: list[Rule]) -> list[str]:
    """The eventNames a query for these rules can keep: :func:`event_names`, or none (every event) when a rule reads
    every event."""
    return [] if any(r.reads_every_event for r in rules) else event_names(rules)


def run(frame: pd.DataFrame, rules: list[Rule] | None = None) -> list[Finding]:
    """Every rule's findings on an events frame, most severe first, then by time. Rules reading the same events
    share one selection of the rows (the login's sequences: three read the same 32 calls, 573,204 rows of the
    10M-event trail's month)."""
    selected: dict[frozenset, pd.DataFrame] = {}
    found = []
    for rule in rules if rules is not None else RULES.values():
        key = (frozenset(rule.events), frozenset(rule.triggers))
        if key not in selected:
            selected[key] = rule.select(frame)
        found += rule.judge(selected[key])
    return sorted(found, key=lambda f: (SEVERITIES.index(f.severity), f.evidence[0].time or "" if f.evidence else "",
                                        f.check))
