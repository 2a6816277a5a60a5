"""Bring your own detections: Sigma rules (SigmaHQ's ``logsource: product: aws, service: cloudtrail`` format) run
over the events the loader already holds, through pySigma and its SQLite backend.

- **Reading** (:func:`read_rules`): a file or a folder of ``.yml`` / ``.yaml`` files. Rule files are
  attacker-influenced input (downloaded, shared): at most :data:`MAX_FILES` files of :data:`MAX_FILE_BYTES` each,
  :data:`MAX_RULES_PER_FILE` documents a file, YAML anchors and aliases refused (an alias bomb costs nothing to
  write), symbolic links not followed. A rule that cannot be run (invalid YAML, another logsource, an unsupported
  modifier, a keyword search, a field the events frame does not hold, a correlation rule) is listed with the reason
  (:class:`Rejected`); the others still run.
- **Converting** (:func:`convert`): pySigma turns the rule into one SQLite ``SELECT``, matching case-insensitively
  as Sigma does (``COLLATE NOCASE``; ``LIKE`` is case-insensitive in SQLite). Column names in the SQL are the Sigma
  field names.
- **Where a field is** (:data:`FIELD_MAP`, :func:`locate`): the mapping is data. The events frame keeps
  CloudTrail's own names (docs/events-frame.md), so most Sigma fields are a frame column of the same name
  (``eventName``, ``userIdentity.arn``, ``additionalEventData.MFAUsed`` ...); :data:`FIELD_MAP` holds the names
  that differ. A field under one of the frame's JSON text columns (``requestParameters.bucketName``,
  ``responseElements.credentials.accessKeyId``) is read with SQLite's ``json_extract`` on that column
  (``json_extract(requestParameters, '$."bucketName"')``; a path does not go into lists, and a value that is not
  valid JSON is NULL). The JSON column itself (``requestParameters|contains: ...``) is its text.
- **Running** (:func:`run`): the frame's columns the rules read are copied into an in-memory SQLite table once,
  the Sigma fields become columns of a second table, and each rule's query runs on it, under an authorizer that
  allows only reading (no ATTACH, PRAGMA or writes) and a time bound per rule. Each hit is an event; hits become
  findings (:func:`findings`): check ``sigma.<rule id or title>``, severity from the rule's ``level``, MITRE
  ATT&CK from its ``attack.*`` tags, one finding per credential naming the eventIDs of its events.
"""
from __future__ import annotations

import json
import re
import sqlite3
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from trailtools.errors import TrailtoolsError
from trailtools.findings.model import SEVERITIES, Finding, iso_time
from trailtools.rules.model import MAX_EVIDENCE, credential, evidence, text

MAX_FILES = 500
MAX_FILE_BYTES = 256 * 1024
MAX_RULES_PER_FILE = 50
MAX_REGEX = 1000              # characters of one |re pattern
MAX_SECONDS_PER_RULE = 60.0   # a rule's query is stopped after this long (and listed as not run)
MAX_HITS = 100_000            # events kept per rule (the finding counts them all up to this)
SUFFIXES = (".yml", ".yaml")
#: Sigma ``level`` -> finding severity (a rule without a level is medium, and says so).
LEVELS = {"informational": "info", "low": "low", "medium": "medium", "high": "high", "critical": "critical"}
#: The events frame's columns that hold JSON text: a Sigma field under one of them is read with json_extract.
JSON_COLUMNS = ("requestParameters", "responseElements", "additionalEventData", "serviceEventDetails")
#: Sigma field -> events frame column, where the names differ (every other field is the column of the same name).
FIELD_MAP = {
    "eventtime": "eventTime",
    "userIdentity.sessionContext.sessionIssuer.accountId": "userIdentity.accountId",
    "userIdentity.sessionContext.attributes.mfaauthenticated":
        "userIdentity.sessionContext.attributes.mfaAuthenticated",
    "additionalEventData.mfaUsed": "additionalEventData.MFAUsed",
}
#: ATT&CK tactics by the name Sigma tags use.
TACTICS = {"reconnaissance": "TA0043", "resource-development": "TA0042", "initial-access": "TA0001",
           "execution": "TA0002", "persistence": "TA0003", "privilege-escalation": "TA0004",
           "defense-evasion": "TA0005", "credential-access": "TA0006", "discovery": "TA0007",
           "lateral-movement": "TA0008", "collection": "TA0009", "command-and-control": "TA0011",
           "exfiltration": "TA0010", "impact": "TA0040"}
_NAME = re.compile(r"^[A-Za-z0-9_@$:-]{1,128}(\.[A-Za-z0-9_@$:-]{1,128}){0,15}$")
_DENY = sqlite3.SQLITE_DENY
_ALLOWED = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION}


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without anchors and aliases (Sigma rules need none; an alias bomb is a few lines)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("YAML aliases are not accepted in a Sigma rule")
        return super().compose_node(parent, index)


@dataclass(frozen=True)
class SigmaRule:
    """A rule converted to SQL, ready to run."""

    id: str
    title: str
    level: str | None
    file: str
    sql: str
    fields: tuple[str, ...]          # the Sigma fields its SQL reads
    description: str = ""
    tags: tuple[str, ...] = ()
    falsepositives: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    author: str = ""

    @property
    def check(self) -> str:
        return f"sigma.{self.id or self.title}"

    @property
    def severity(self) -> str:
        return LEVELS.get((self.level or "").lower(), "medium")

    @property
    def tactic(self) -> str:
        names = [t.split(".", 1)[1] for t in self.tags if t.startswith("attack.") and not _technique(t)]
        return ", ".join(f"{TACTICS[n]} {n.replace('-', ' ').title()}" for n in names if n in TACTICS)

    @property
    def technique(self) -> str:
        return ", ".join(t.split(".", 1)[1].upper() for t in self.tags if _technique(t))

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "level": self.level, "file": self.file, "tags": list(self.tags)}


def _technique(tag: str) -> bool:
    return bool(re.fullmatch(r"attack\.t\d{4}(\.\d{3})?", tag.lower()))


@dataclass(frozen=True)
class Rejected:
    """A rule (or a file) that could not be run, and why."""

    file: str
    title: str
    reason: str

    def to_dict(self) -> dict:
        return {"file": self.file, "title": self.title, "reason": self.reason}


@dataclass
class SigmaResult:
    rules: list[SigmaRule] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def _reason(exc: BaseException) -> str:
    words = " ".join(str(exc).split()) or type(exc).__name__
    return words[:300] + ("..." if len(words) > 300 else "")


def rule_files(path: str | Path) -> tuple[list[Path], list[Rejected]]:
    """The rule files of ``path`` (a file, or a folder searched recursively for .yml/.yaml), at most MAX_FILES."""
    root = Path(path)
    if not root.exists():
        raise TrailtoolsError(f"No Sigma rules at {path}: give a .yml file or a folder of them.")
    if root.is_file():
        return [root], []
    found, skipped = [], []
    for p in sorted(root.rglob("*")):
        if p.suffix.lower() not in SUFFIXES:
            continue
        if p.is_symlink() or not p.is_file():
            skipped.append(Rejected(str(p.relative_to(root)), "", "not a regular file (links are not followed)"))
        elif len(found) >= MAX_FILES:
            skipped.append(Rejected(str(p.relative_to(root)), "", f"more than {MAX_FILES} rule files: not read"))
        else:
            found.append(p)
    return found, skipped


def _documents(p: Path) -> list[dict]:
    with p.open("rb") as fh:
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValueError(f"larger than {MAX_FILE_BYTES // 1024} KB")
    docs = []
    for doc in yaml.load_all(data.decode("utf-8"), Loader=_NoAliasLoader):  # noqa: S506 (a SafeLoader)
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ValueError("a rule must be a YAML mapping")
        docs.append(doc)
        if len(docs) > MAX_RULES_PER_FILE:
            raise ValueError(f"more than {MAX_RULES_PER_FILE} rules in one file")
    return docs


def _backend():
    from sigma.backends.sqlite import sqliteBackend  # noqa: PLC0415 (pySigma costs ~0.5 s: only with --sigma)

    return sqliteBackend(collate_nocase=True)


def convert(rule_dict: dict, file: str = "") -> SigmaRule | Rejected:
    """One Sigma rule (a parsed YAML mapping) as a :class:`SigmaRule`, or why it cannot run."""
    from sigma.collection import SigmaCollection  # noqa: PLC0415 (pySigma: only with --sigma)
    from sigma.rule import SigmaRule as PySigmaRule  # noqa: PLC0415 (pySigma: only with --sigma)

    title = text(rule_dict.get("title"))[:200] if isinstance(rule_dict, dict) else ""
    try:
        collection = SigmaCollection.from_dicts([rule_dict], collect_errors=True)
        (rule,) = collection.rules
        if not isinstance(rule, PySigmaRule):
            return Rejected(file, title, "correlation rules are not run (only single-event detection rules)")
        if rule.errors:
            return Rejected(file, title, _reason(rule.errors[0]))
        ls = rule.logsource
        if (ls.product or "").lower() != "aws" or (ls.service or "").lower() != "cloudtrail":
            return Rejected(file, title, f"its logsource is product {ls.product!r}, service {ls.service!r}: only "
                                         "product aws, service cloudtrail rules read CloudTrail")
        backend = _backend()
        queries = backend.convert_rule(rule)
        fields = tuple(backend.required_fields(rule))
    except Exception as exc:  # noqa: BLE001 (pySigma raises many kinds; each rule is judged alone)
        return Rejected(file, title, _reason(exc))
    if len(queries) != 1 or not isinstance(queries[0], str):
        return Rejected(file, title, "it does not convert to one query")
    bad = [f for f in fields if not _NAME.match(f)]
    if bad:
        return Rejected(file, title, f"the field name {bad[0][:80]!r} is not a CloudTrail field name")
    return SigmaRule(id=text(rule.id), title=text(rule.title), level=rule.level.name.lower() if rule.level else None,
                     file=file, sql=queries[0], fields=fields, description=text(rule.description),
                     tags=tuple(f"{t.namespace}.{t.name}".lower() for t in rule.tags),
                     falsepositives=tuple(map(str, rule.falsepositives or ())),
                     references=tuple(map(str, rule.references or ())), author=text(rule.author))


def read_rules(path: str | Path) -> tuple[list[SigmaRule], list[Rejected]]:
    """Every rule of ``path`` converted, and those that could not be, with the reason."""
    files, rejected = rule_files(path)
    root = Path(path)
    rules: list[SigmaRule] = []
    for p in files:
        name = p.name if root.is_file() else str(p.relative_to(root))
        try:
            docs = _documents(p)
        except (ValueError, UnicodeDecodeError, yaml.YAMLError, OSError) as exc:
            rejected.append(Rejected(name, "", f"cannot be read: {_reason(exc)}"))
            continue
        for doc in docs:
            out = convert(doc, name)
            (rules if isinstance(out, SigmaRule) else rejected).append(out)
    return rules, rejected


def locate(name: str, columns) -> str | None:
    """Where Sigma field ``name`` is in an events frame with ``columns``: a SQL expression over the ``events`` table
    (a column, or ``json_extract`` into a JSON text column), or None when the frame does not hold it."""
    lower = {c.lower(): c for c in columns}
    column = FIELD_MAP.get(name) or FIELD_MAP.get(name.lower()) or lower.get(name.lower())
    if column is not None and column in columns:
        return _quote(column)
    head, _, rest = name.partition(".")
    json_col = next((c for c in JSON_COLUMNS if c.lower() == head.lower() and c in columns), None)
    if json_col is None or not rest:
        return None
    path = "$" + "".join(f'."{part}"' for part in rest.split("."))
    return f"CASE WHEN json_valid({_quote(json_col)}) THEN json_extract({_quote(json_col)}, '{path}') END"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_value(value):
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (bool, int, float, str)):
        return None if isinstance(value, float) and value != value else value
    if isinstance(value, np.generic):
        return _sql_value(value.item())
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if hasattr(value, "tolist"):
        return json.dumps(value.tolist(), default=str)
    return str(value)


@lru_cache(maxsize=256)
def _regex(pattern: str):
    return re.compile(pattern)


def _regexp(pattern, value) -> int:
    """SQLite's ``X REGEXP Y``: Sigma's ``|re`` (case-sensitive, searched anywhere in the value)."""
    if pattern is None or value is None:
        return 0
    if len(pattern) > MAX_REGEX:
        raise ValueError(f"a regular expression longer than {MAX_REGEX} characters")
    return int(_regex(pattern).search(str(value)) is not None)


def _database(frame: pd.DataFrame, rules: list[SigmaRule]) -> tuple[sqlite3.Connection, list[SigmaRule],
                                                                     list[Rejected]]:
    """An in-memory database: ``events`` (the frame's columns the rules read, ``_row`` its position) and ``logs``
    (one column per Sigma field); the rules whose fields the frame does not hold are rejected."""
    columns = list(frame.columns)
    runnable, rejected, where = [], [], {}
    for rule in rules:
        places = {f: locate(f, columns) for f in rule.fields}
        missing = [f for f, p in places.items() if p is None]
        if missing:
            rejected.append(Rejected(rule.file, rule.title, f"the field {missing[0]!r} is not in the events frame "
                                                            "(docs/events-frame.md lists its columns)"))
            continue
        runnable.append(rule)
        for f, p in places.items():
            where.setdefault(f.lower(), (f, p))
    base = sorted({c for c in columns if any(_quote(c) in p for _, p in where.values())})
    conn = sqlite3.connect(":memory:")
    conn.create_function("REGEXP", 2, _regexp, deterministic=True)
    conn.execute("CREATE TABLE events (_row INTEGER PRIMARY KEY" + "".join(f", {_quote(c)}" for c in base) + ")")
    rows = zip(range(len(frame)), *([_sql_value(v) for v in frame[c].astype(object)] for c in base))
    conn.executemany(f"INSERT INTO events VALUES ({', '.join('?' * (len(base) + 1))})", rows)
    select = ", ".join(["_row", *(f"{p} AS {_quote(f)}" for f, p in where.values())])
    conn.execute(f"CREATE TABLE logs AS SELECT {select} FROM events")
    return conn, runnable, rejected


def _authorize(action, *args) -> int:
    return sqlite3.SQLITE_OK if action in _ALLOWED else _DENY


def run(frame: pd.DataFrame, rules: list[SigmaRule]) -> tuple[dict[SigmaRule, list[int]], list[Rejected]]:
    """Each rule's hits (positions in ``frame``), and the rules that could not run on it, with the reason."""
    if not rules:
        return {}, []
    conn, runnable, rejected = _database(frame, rules)
    hits: dict[SigmaRule, list[int]] = {}
    try:
        conn.set_authorizer(_authorize)
        for rule in runnable:
            deadline = time.monotonic() + MAX_SECONDS_PER_RULE
            conn.set_progress_handler(lambda d=deadline: int(time.monotonic() > d), 10_000)
            try:
                rows = conn.execute(rule.sql).fetchmany(MAX_HITS)
            except sqlite3.Error as exc:
                reason = (f"its query ran longer than {MAX_SECONDS_PER_RULE:.0f} s" if "interrupt" in str(exc)
                          else f"its query failed: {_reason(exc)}")
                rejected.append(Rejected(rule.file, rule.title, reason))
                continue
            positions = sorted({int(r[0]) for r in rows})
            if positions:
                hits[rule] = positions
    finally:
        conn.close()
    return hits, rejected


def findings(frame: pd.DataFrame, hits: dict[SigmaRule, list[int]]) -> list[Finding]:
    """The findings of the rules' hits: one per rule and credential, most severe first."""
    out = []
    for rule, positions in hits.items():
        rows = frame.iloc[positions].sort_values("eventTime", kind="stable")
        groups: dict[str, list[pd.Series]] = {}
        for _, row in rows.iterrows():
            groups.setdefault(credential(row), []).append(row)
        out += [_finding(rule, cred, members) for cred, members in groups.items()]
    return sorted(out, key=lambda f: (SEVERITIES.index(f.severity), f.evidence[0].time or "", f.check))


def _finding(rule: SigmaRule, cred: str, members: list[pd.Series]) -> Finding:
    first, n = members[0], len(members)
    actor = text(first.get("actor")) or "someone"
    names = list(dict.fromkeys(text(r.get("eventName")) for r in members))
    calls = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    title = f"{actor} matched the Sigma rule '{rule.title}' ({n} event{'s' if n > 1 else ''}: {calls})"
    level = f"level {rule.level}" if rule.level else "no level given: medium"
    explanation = (f"{rule.description} " if rule.description else "") + (
        f"Sigma rule '{rule.title}' ({rule.id or 'no id'}, {level}) from {rule.file}"
        + (f", by {rule.author}" if rule.author else "") + f": {n} matching event{'s' if n > 1 else ''} made with "
        f"{cred}, {iso_time(first.get('eventTime'))} onwards.")
    remediation = ("Read the events it matched (the evidence names each eventID) and what the credential did around "
                   "them.")
    if rule.falsepositives:
        remediation += " The rule's known false positives: " + "; ".join(rule.falsepositives[:5]) + "."
    extra = {"rule": rule.check, "actor": actor, "credential": cred, "events": n, "tactic": rule.tactic,
             "technique": rule.technique, "sigma": {**rule.to_dict(), "references": list(rule.references[:10])}}
    if n > MAX_EVIDENCE:
        extra["evidence_not_listed"] = n - MAX_EVIDENCE
    return Finding(check=rule.check, severity=rule.severity, title=title, explanation=explanation,
                   resource=text(first.get("eventSource")) or "CloudTrail", remediation=remediation,
                   evidence=tuple(evidence(r, f"matched Sigma rule {rule.title}") for r in members[:MAX_EVIDENCE]),
                   extra=extra)


def hunt_sigma(frame: pd.DataFrame, path: str | Path) -> SigmaResult:
    """Read the rules of ``path``, run them over ``frame``, and return the rules, those rejected, the findings."""
    rules, rejected = read_rules(path)
    hits, failed = run(frame, rules)
    not_run = {(r.file, r.title) for r in failed}
    return SigmaResult([r for r in rules if (r.file, r.title) not in not_run], rejected + failed,
                       findings(frame, hits))
