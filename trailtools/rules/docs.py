"""docs/rules.md, generated from the rules: ``python -m trailtools.rules.docs > docs/rules.md`` (a test keeps the
committed page equal to :func:`render`)."""
from __future__ import annotations

import sys

from trailtools.rules import knowledge, registry
from trailtools.rules.examples import examples, records
from trailtools.rules.model import ANY_EVENT

FAMILY_TITLES = {"defense-evasion": "Defense evasion", "exposure": "Exposure", "execution": "Execution",
                 "collection": "Collection", "credential-access": "Credential access", "sequences": "Sequences"}

#: How a family's severity differs from the rule "a failed call: one step lower".
SEVERITY_NOTES = {"sequences": "the sequence's baseline; the rule's text says when it is raised; a denied step does "
                               "not make a sequence, except a denied evasion call, one step lower"}

INTRO = """\
# Detection rules

<!-- Generated from trailtools/rules by `python -m trailtools.rules.docs > docs/rules.md`: do not edit by hand. -->

Small detections over the [events frame](events-frame.md), one module per family in `trailtools/rules/`.
`trailtools hunt SOURCE [--start] [--end] [--rules ID,...] [--json FILE]` runs them over a window (loading only the
events they read) and prints the findings most severe first, each with the eventIDs of its evidence.

How every rule reports:

- **One finding per credential** (the access key ID, else the acting principal), outcome and severity: five
  SendCommand calls by one key are one finding naming the five eventIDs (the first 50; `extra.events` counts all).
- **A call that failed** (`errorCode` set: denied or rejected) is reported one severity step lower than the same
  call that succeeded, titled "tried ... and failed": an attempt says who tried, even when it was denied.
- The finding's `check` is the rule's id; `remediation` is "what to check next"; `extra` holds the rule, actor,
  credential, resources, MITRE tactic and technique, and `attackers`: TrailDiscover's card for the call.
- Every rule ships labelled examples, realistic CloudTrail records that must make it fire and near misses that must
  not (`trailtools/rules/examples/<family>.json`; an example of a sequence is a list of records, read together);
  tests run every rule on them, and on the real Stratus Red Team detonations and TrailDiscover events in
  `../shared/datasets/`.
- **A sequence** (the Sequences family) is one finding per attack: its evidence names the eventID of every step in
  time order, and `extra.steps` says what each step did.

"How attackers use this" lines and TrailDiscover's MITRE mappings come from **TrailDiscover by Adan Alvarez**
(https://github.com/adanalvarez/TrailDiscover, CC-BY-4.0,
https://creativecommons.org/licenses/by/4.0/), read from a small extract shipped with the package
(`trailtools/rules/knowledge/traildiscover.json`: the calls these rules read, unchanged values).
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _count(entries: list) -> str:
    """"3" records, or "7 (3 sequences)" when some examples are sequences of records."""
    n, sequences = len(records(entries)), sum(isinstance(e, list) for e in entries)
    return f"{n} ({sequences} sequence{'s' if sequences != 1 else ''})" if sequences else str(n)


def _rule(rule) -> list[str]:
    ex = examples(rule.family.replace("-", "_")).get(rule.id, {})
    events = ", ".join("every event" if (source, name) == ANY_EVENT else f"`{name}` ({source})"
                       for source, name in rule.events)
    lines = [f"### `{rule.id}`: {rule.title}", "",
             f"- **Severity:** {rule.severity} ({SEVERITY_NOTES.get(rule.family, 'a failed call: one step lower')})",
             f"- **MITRE ATT&CK:** {rule.tactic}; {rule.technique}"]
    if rule.mitre_note:
        lines.append(f"- **Mapping note:** {rule.mitre_note}")
    lines.append(f"- **Events read:** {events}")
    if rule.triggers:
        lines.append("- **Needs one of:** " + ", ".join(f"`{name}`" for _, name in rule.triggers)
                     + " (a window without one of them is not read further)")
    if rule.parameters:
        lines.append("- **Parameters:** " + ", ".join(f"`{k}` = {v}" for k, v in rule.parameters.items()))
    lines += [f"- **Why it matters:** {rule.explanation}", f"- **What to check next:** {rule.next_steps}",
              f"- **Examples:** {_count(ex.get('fire', []))} should-fire and {_count(ex.get('quiet', []))} "
              f"should-not-fire records in `trailtools/rules/examples/{rule.family.replace('-', '_')}.json`"]
    cards = rule.cards()
    if cards:
        lines += ["", "How attackers use these calls (TrailDiscover):", ""]
        for c in cards:
            wild = (f"used in real incidents ({len(c.incidents)} reported)" if c.used_in_wild
                    else "no real incident listed")
            lines.append(f"- `{c.event_name}`: {c.how_attackers_use} TrailDiscover: {', '.join(c.tactics)}; "
                         f"{', '.join(c.techniques)}; {wild}.")
    return lines + [""]


def render() -> str:
    """The whole page."""
    rules = list(registry.RULES.values())
    lines = [INTRO, "## The rules", "", "| id | what | severity | tactic | technique |", "|---|---|---|---|---|"]
    lines += [f"| [`{r.id}`](#{r.id.replace('.', '')}-{r.title.lower().replace(' ', '-')}) | {_cell(r.title)} | "
              f"{r.severity} | {_cell(r.tactic)} | {_cell(r.technique)} |" for r in rules]
    lines.append("")
    for family in dict.fromkeys(r.family for r in rules):
        lines += [f"## {FAMILY_TITLES.get(family, family)}", ""]
        for rule in (r for r in rules if r.family == family):
            lines += _rule(rule)
    return "\n".join(lines).rstrip("\n") + "\n" + f"\n---\nKnowledge: {knowledge.CREDIT}.\n"


if __name__ == "__main__":
    sys.stdout.write(render())
