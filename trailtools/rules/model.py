"""A detection rule: what it is (stable id, title, severity, MITRE ATT&CK tactic and technique), the events it needs
(so a query can load only those), its logic (a pure function from the events frame to findings), the explanation a
finding carries, and what to check next.

Rules build their findings from :class:`Hit` s (one matched event and what it did) with :func:`findings_from_hits`,
so every rule's findings read alike:

- one finding per credential (access key ID, else the acting principal), outcome and severity: five SendCommand
  calls by one key are one finding naming five eventIDs;
- a call that failed (``errorCode`` set: denied, or rejected) is reported one severity step lower than the same call
  that succeeded, as "tried ... and failed": an attempt to disable GuardDuty says who tried, even when it was denied;
- the evidence names every event's eventID (the first :data:`MAX_EVIDENCE`; ``extra.events`` counts them all);
- ``extra.attackers`` is TrailDiscover's card for the call (:mod:`trailtools.rules.knowledge`: its MITRE mapping,
  whether attackers used it in real incidents, "how attackers use this").
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trailtools.findings.model import SEVERITIES, EvidenceRef, Finding, iso_time
from trailtools.rules.knowledge import card

#: At most this many eventIDs are listed in one finding's evidence (``extra.events`` counts them all).
MAX_EVIDENCE = 50
#: A rule whose ``events`` hold this pair reads every event (how a credential was used: any call it made); a query
#: for it cannot be narrowed to event names.
ANY_EVENT = ("*", "*")

def lower(severity: str) -> str:
    """One step less severe (``high`` -> ``medium``; ``info`` stays ``info``)."""
    return SEVERITIES[min(SEVERITIES.index(severity) + 1, len(SEVERITIES) - 1)]


@dataclass(frozen=True)
class Rule:
    """One detection. ``events`` are the (eventSource, eventName) pairs the logic reads: :meth:`run` hands the logic
    only those rows, and a query can push :attr:`event_names` down to the source."""

    id: str                     # "<family>.<name>", stable: findings carry it as their check
    title: str                  # what it detects, a few words
    severity: str               # of a successful call; a failed one is one step lower (some rules raise it)
    tactic: str                 # MITRE ATT&CK tactic, "TA0005 Defense Evasion"
    technique: str              # MITRE ATT&CK technique, "T1562.008 Impair Defenses: Disable or Modify Cloud Logs"
    events: tuple[tuple[str, str], ...]
    logic: Callable[[pd.DataFrame, Rule], list[Finding]]
    explanation: str            # why it matters, shown on every finding
    next_steps: str             # what to check next (the finding's remediation)
    parameters: Mapping = field(default_factory=dict)   # thresholds, as data
    mitre_note: str = ""        # where this mapping differs from TrailDiscover's, and why
    #: (eventSource, eventName) pairs one of which every finding of the rule holds (a sequence's key step: the
    #: password set, the user created, logging stopped): a frame holding none of them gets no rows selected (the
    #: logic could find nothing). Empty: no such step.
    triggers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"{self.id}: severity must be one of {SEVERITIES}, not {self.severity!r}")
        if not set(self.triggers) <= set(self.events):
            raise ValueError(f"{self.id}: its triggers must be among the events it reads")

    @property
    def family(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def reads_every_event(self) -> bool:
        return ANY_EVENT in self.events

    @property
    def event_names(self) -> tuple[str, ...]:
        """The eventNames this rule reads (empty for a rule that reads every event)."""
        return tuple(dict.fromkeys(name for source, name in self.events if (source, name) != ANY_EVENT))

    @property
    def event_sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(source for source, _ in self.events))

    def cards(self) -> list:
        """TrailDiscover's cards for the calls this rule reads (those it catalogues)."""
        return [c for c in map(card, self.event_names) if c is not None]

    def select(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of the events this rule reads, in time order."""
        if frame.empty or self.reads_every_event:
            return frame
        return frame[self.mask(frame)]

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Which rows are of the events this rule reads (every row for a rule that reads every event; none when the
        rule has :attr:`triggers` and the frame none of them): the (eventSource, eventName) pair of each row told by
        the columns' codes (a category's own), not compared a text at a time for each source."""
        if self.reads_every_event:
            return np.ones(len(frame), dtype=bool)
        pairs = _Pairs(frame)
        if self.triggers and not pairs.of(self.triggers).any():
            return np.zeros(len(frame), dtype=bool)
        return pairs.of(self.events)

    def run(self, frame: pd.DataFrame) -> list[Finding]:
        """The rule's findings on an events frame (any columns of docs/events-frame.md)."""
        return self.judge(self.select(frame))

    def judge(self, rows: pd.DataFrame) -> list[Finding]:
        """The rule's findings on rows :meth:`select` chose (a rule reading the same events may share them: the
        logic gets its own frame over the same columns, pandas copying a column only where one is written)."""
        return list(self.logic(rows.copy(deep=False), self)) if len(rows) else []


@dataclass(frozen=True)
class Hit:
    """One matched event: its row label in the frame, the resource it touched and what it did, in a few words
    ("shared snap-0abc with account 111122223333"). ``severity`` overrides the rule's (a public share is critical)."""

    row: object
    resource: str
    what: str
    severity: str | None = None


class _Pairs:
    """Each row's (eventSource, eventName) as one integer, from the two columns' codes."""

    def __init__(self, frame: pd.DataFrame):
        (sources, self.source_at), (names, self.name_at) = (_codes(frame[c]) for c in ("eventSource", "eventName"))
        self.width = max(len(self.name_at), 1)
        self.codes = np.where((sources >= 0) & (names >= 0), sources.astype(np.int64) * self.width + names, -1)

    def of(self, events) -> np.ndarray:
        """Which rows are of one of ``events`` ((eventSource, eventName) pairs)."""
        wanted = [self.source_at[s] * self.width + self.name_at[n] for s, n in events
                  if s in self.source_at and n in self.name_at]
        return np.isin(self.codes, wanted) if wanted else np.zeros(len(self.codes), dtype=bool)


def _codes(values: pd.Series) -> tuple[np.ndarray, dict]:
    """Each row's code (-1: missing) and the code of each distinct value: a category's own, or factorized."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, distinct = values.cat.codes.to_numpy(), values.cat.categories
    else:
        codes, distinct = pd.factorize(values, use_na_sentinel=True)
    return codes, {v: i for i, v in enumerate(distinct)}


def params(text) -> dict:
    """A JSON text column's object (``requestParameters``, ``responseElements``), or {} when empty or not an
    object."""
    if not isinstance(text, str) or not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def items(value) -> list:
    """CloudTrail's list shapes as a list: ``{"items": [...]}``, a list, one object, or nothing."""
    if isinstance(value, dict) and "items" in value:
        value = value["items"]
    if value is None or value == "" or value == {}:
        return []
    return list(value) if isinstance(value, list) else [value]


def by_value(values: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``fn`` (element-wise, of a Series) over a Series: for a categorical one over each category once (and a
    missing value), spread back to the rows by their codes, instead of over every row (texts as objects that the
    rows of one value share)."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        return fn(values)
    cats = values.cat.categories
    distinct = pd.Series(pd.Categorical.from_codes(list(range(len(cats))) + [-1], dtype=values.dtype))
    done = fn(distinct)
    if pd.api.types.is_string_dtype(done.dtype) and done.dtype != object:
        # texts spread as the distinct values' own objects: an Arrow text column would copy each row's text
        done = done.astype(object)
    codes = values.cat.codes.to_numpy()
    out = done.iloc[np.where(codes < 0, len(cats), codes)]
    out.index = values.index
    return out


def text(value) -> str:
    """A frame value as text ("" for a missing one)."""
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def credential(row: pd.Series) -> str:
    """The credential that made a call: its access key ID, else the acting principal."""
    return text(row.get("userIdentity.accessKeyId")) or text(row.get("actor")) or "unknown"


def _severity(rule: Rule, hit: Hit, failed: bool) -> str:
    sev = hit.severity or rule.severity
    return lower(sev) if failed else sev


def per_call(field: str, fallback: str, what: str) -> Callable[[pd.DataFrame, Rule], list[Finding]]:
    """The logic of a rule whose every call is a hit: its resource is the request's ``field`` (``fallback`` when the
    request has none), and ``what`` says what the call did, ``{}`` standing for the resource."""
    def logic(rows: pd.DataFrame, rule: Rule) -> list[Finding]:
        hits = []
        for label, row in rows.iterrows():
            resource = text(params(row["requestParameters"]).get(field)) or fallback
            hits.append(Hit(label, resource, what.format(resource)))
        return findings_from_hits(rule, rows, hits)
    return logic


def findings_from_hits(rule: Rule, frame: pd.DataFrame, hits: list[Hit]) -> list[Finding]:
    """The findings of some hits: one per credential, outcome (succeeded or failed) and severity."""
    groups: dict[tuple, list[tuple[Hit, pd.Series]]] = {}
    for hit in hits:
        row = frame.loc[hit.row]
        failed = bool(text(row.get("errorCode")))
        key = (credential(row), failed, _severity(rule, hit, failed))
        groups.setdefault(key, []).append((hit, row))
    out = [_finding(rule, key[1], key[2], members) for key, members in groups.items()]
    return sorted(out, key=lambda f: (SEVERITIES.index(f.severity), f.evidence[0].time or ""))


def evidence(row: pd.Series, what: str) -> EvidenceRef:
    error = text(row.get("errorCode"))
    return EvidenceRef("cloudtrail", text(row.get("eventID")), iso_time(row.get("eventTime")),
                       f"{text(row.get('eventName'))} by {text(row.get('actor'))} from "
                       f"{text(row.get('sourceIPAddress'))}: {what}" + (f" (failed: {error})" if error else ""))


def _finding(rule: Rule, failed: bool, severity: str, members: list[tuple[Hit, pd.Series]]) -> Finding:
    first_hit, first = members[0]
    actor = text(first.get("actor")) or "someone"
    n = len(members)
    # several events that each did something: "(and 2 more such calls)"; one thing seen in several events (a
    # burst of reads) is said once
    more = f" (and {n - 1} more such call{'s' if n > 2 else ''})" if len({h.what for h, _ in members}) > 1 else ""
    if failed:
        title = (f"{actor} tried {text(first.get('eventName'))} on {first_hit.resource} and failed "
                 f"({text(first.get('errorCode'))}){more}")
    else:
        title = f"{actor} {first_hit.what}{more}"
    times = [iso_time(r.get("eventTime")) for _, r in members]
    addresses = sorted({text(r.get("sourceIPAddress")) for _, r in members} - {""})
    resources = list(dict.fromkeys(h.resource for h, _ in members))
    key = text(first.get("userIdentity.accessKeyId"))
    facts = (f" {n} call{'s' if n > 1 else ''} from {', '.join(addresses[:5]) or 'an unknown address'}"
             f"{' (and more)' if len(addresses) > 5 else ''}, {times[0]}"
             + (f" to {times[-1]}" if n > 1 else "") + (f", with access key {key}" if key else "") + ".")
    if failed:
        facts += " The calls failed: someone tried, and may try again with other credentials."
    extra = {"rule": rule.id, "actor": actor, "credential": credential(first), "events": n,
             "resources": resources, "tactic": rule.tactic, "technique": rule.technique}
    if n > MAX_EVIDENCE:
        extra["evidence_not_listed"] = n - MAX_EVIDENCE
    known = card(text(first.get("eventName")))
    if known is not None:   # "how attackers use this", from TrailDiscover by Adan Alvarez (CC-BY-4.0)
        extra["attackers"] = known.to_dict()
    return Finding(check=rule.id, severity=severity, title=title, explanation=rule.explanation + facts,
                   resource=first_hit.resource, remediation=rule.next_steps,
                   evidence=tuple(evidence(r, h.what) for h, r in members[:MAX_EVIDENCE]), extra=extra)
