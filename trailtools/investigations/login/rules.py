"""The building blocks the login analyses share: what a session did next (the follow-up rules and their bursts),
severity by score, remediation texts, the STS calls that issue credentials, and small helpers for evidence.

Pure functions and data; :mod:`.analysis` (console sign-ins), :mod:`.credentials` (API credentials) and :mod:`.ssh`
(guest SSH logins) import from here, never from each other.
"""
from __future__ import annotations

import functools
import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
import pandas as pd
from pandas.api.types import is_datetime64_any_dtype

from trailtools.findings.model import EvidenceRef, iso_time

MITRE_VALID_ACCOUNTS = "T1078.004"


DENIED_CODES = r"AccessDenied|UnauthorizedOperation|Unauthorized|Forbidden"
#: the user agent of the console's own calls: a browser's, "AWS Internal", a console host name (not CloudShell's
#: aws-cli, whose calls also carry console credentials but are typed by a person)
CONSOLE_AGENT = r"^(?:Mozilla/|AWS Internal)|console\.aws|console\.[a-z0-9-]+\.amazonaws\.com"


@dataclass(frozen=True)
class Rule:
    """Follow-up calls that matter: any successful call named in ``names``."""

    category: str
    names: frozenset
    mitre: str
    weight: int
    severity: str
    what: str


@dataclass(frozen=True)
class BurstRule:
    """Calls that matter in numbers: >= ``count`` rows whose ``column`` matches ``pattern`` within ``within``.
    ``console``: whether the console's own calls count (console-minted credentials and the console's user agent:
    its page loads list and describe a dozen things every time a page opens, that is not someone enumerating the
    account; CloudShell's aws-cli uses console credentials too, and does count)."""

    category: str
    column: str
    pattern: str
    count: int
    within: pd.Timedelta
    mitre: str
    weight: int
    severity: str
    what: str
    console: bool = True


FOLLOW_UP_RULES = (
    Rule("persistence", frozenset({"CreateAccessKey", "CreateLoginProfile", "UpdateLoginProfile"}), "T1098.001", 3,
         "high", "created or changed credentials"),
    Rule("persistence", frozenset({"CreateUser"}), "T1136.003", 3, "high", "created an IAM user"),
    Rule("persistence", frozenset({"CreateRole", "UpdateAssumeRolePolicy"}), "T1098.003", 3, "high",
         "created a role or changed who may assume one"),
    Rule("privilege-escalation", frozenset({"AttachUserPolicy", "PutUserPolicy", "AttachRolePolicy", "PutRolePolicy",
                                            "AttachGroupPolicy", "PutGroupPolicy", "AddUserToGroup"}),
         "T1098.003", 3, "high", "granted permissions"),
    Rule("defense-evasion", frozenset({"StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors",
                                       "DeleteFlowLogs"}), "T1562.008", 4, "high", "disabled or reduced logging"),
    Rule("defense-evasion", frozenset({"DeleteDetector", "UpdateDetector", "StopConfigurationRecorder",
                                       "DeleteConfigurationRecorder"}), "T1562.001", 4, "high",
         "disabled a security service (GuardDuty, Config)"),
)


BURST_RULES = (
    BurstRule("discovery", "eventName", r"^(?:List|Describe|Get)", 10, pd.Timedelta(minutes=5), "T1087.004", 1, "low",
              "enumerated the account", console=False),
    BurstRule("access-denied", "errorCode", DENIED_CODES, 5, pd.Timedelta(minutes=10), "T1580", 2, "medium",
              "was denied access again and again"),
)


#: How a follow-up call reads in a title ({policy}: the policy's name).
PHRASES = {
    "CreateAccessKey": "created an access key", "CreateLoginProfile": "gave a user a console password",
    "UpdateLoginProfile": "changed a console password", "CreateUser": "created a user",
    "CreateRole": "created a role", "UpdateAssumeRolePolicy": "changed a role's trust policy",
    "AttachUserPolicy": "attached {policy}", "AttachRolePolicy": "attached {policy} to a role",
    "AttachGroupPolicy": "attached {policy} to a group", "PutUserPolicy": "put an inline user policy",
    "PutRolePolicy": "put an inline role policy", "AddUserToGroup": "added a user to a group",
    "StopLogging": "stopped CloudTrail", "DeleteTrail": "deleted the trail", "UpdateTrail": "changed the trail",
    "PutEventSelectors": "changed the trail's event selectors", "DeleteFlowLogs": "deleted VPC flow logs",
    "DeleteDetector": "deleted GuardDuty", "UpdateDetector": "changed GuardDuty",
    "StopConfigurationRecorder": "stopped AWS Config", "DeleteConfigurationRecorder": "deleted AWS Config",
}


SCORE_SEVERITY = ((10, "critical"), (7, "high"), (4, "medium"), (2, "low"), (0, "info"))


REMEDIATION = {
    "session": "Confirm with the person that the session was theirs. If not: disable the user's console password "
               "and access keys, revert what the session changed (keys, policies, users, roles, logging), and review "
               "everything it did.",
    "no-mfa": "Require MFA for console sign-in (an IAM policy denying everything without aws:MultiFactorAuthPresent, "
              "or move the user to IAM Identity Center).",
    "root": "Use root only for the tasks that need it; protect it with MFA and alert on every root sign-in.",
    "failures": "Check whether the attempts were the user; enforce a strong password policy and MFA; block the source.",
    "novelty": "Ask the principal whether the sign-in was theirs.",
    "travel": "Ask the principal where they were: one of the two sign-ins may not be theirs (or a VPN moved them).",
    "follow-up": "Review and revert the changes unless they were planned.",
}

#: What to do about a finding that is worth a look but no alarm (low): ask, change nothing yet. Info findings
#: recommend nothing (see :func:`remedy`).
ASK = {
    "session": "Ask the person whether the sign-in and what followed were theirs.",
    "key": "Ask the key's owner whether the calls were theirs.",
    "chain": "Check that the temporary credentials were expected.",
    "identity": "Ask who created the principal and whether its first calls were expected.",
}


def remedy(severity: str, full: str, ask: str = "") -> str:
    """The remediation a finding of ``severity`` carries: ``full`` (disable, revoke, revert ...) from medium up,
    ``ask`` for low, nothing for info: containment is for what the severity says may be an attack."""
    if severity == "info":
        return ""
    return ask if severity == "low" else full


def text_or_none(v) -> str | None:
    try:
        if v is None or pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v) if str(v) != "" else None


def evidence_ref(row: dict, summary: str | None = None) -> EvidenceRef:
    t = row.get("eventTime", row.get("time"))
    return EvidenceRef("cloudtrail", str(row.get("eventID")), iso_time(t), summary or
                       f"{row.get('eventName', 'ConsoleLogin')} by {row.get('actor', row.get('principal'))} "
                       f"from {row.get('sourceIPAddress')}")


def severity_for(score: float) -> str:
    return next(sev for floor, sev in SCORE_SEVERITY if score >= floor)


@functools.lru_cache(maxsize=1 << 16)
def network(ip: str | None) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) around an address; the text itself for service names (``ec2.amazonaws.com``).
    Remembered for the last 65,536 addresses: a busy trail asks for the same few thousand again and again (each
    sign-in against its principal's known addresses: 21,000 calls on the 10M-event trail)."""
    if not ip:
        return None
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    return str(ipaddress.ip_network(f"{addr}/{24 if addr.version == 4 else 48}", strict=False))


def bursts(times: pd.Series, count: int, within: pd.Timedelta) -> list[slice]:
    """Maximal runs of times (sorted) holding >= count within any ``within``: as slices of positions."""
    if is_datetime64_any_dtype(times.dtype) and not times.hasnans:
        t = times.to_numpy(dtype="datetime64[ns]").view("i8")   # the same search on the integers, without boxing
        step = pd.Timedelta(within).value
    else:
        t = times.reset_index(drop=True)
        step = within
    out, i, n = [], 0, len(t)
    while i < n:
        j = int(t.searchsorted(t[i] + step, side="left"))
        if j - i >= count:
            end = j
            while end < n and t[end] - t[end - 1] <= step:
                end += 1
            out.append(slice(i, end))
            i = end
        else:
            i += 1
    return out


@dataclass
class FollowUp:
    category: str
    mitre: str
    weight: int
    severity: str
    what: str
    rows: list[dict]


def classify_follow_ups(events: pd.DataFrame, console: pd.Series | None = None,
                        without: frozenset = frozenset()) -> list[FollowUp]:
    """The risky calls among some events (a session's, or any), by the rule tables: one FollowUp per matching rule.
    ``console``: which rows were made with console-minted credentials (default: ``sessionCredentialFromConsole``
    says so); a burst rule with ``console=False`` does not count those the console itself made (its user agent,
    :data:`CONSOLE_AGENT`), nor calls AWS services made (``invokedBy``); the rules of a category in ``without`` are
    not applied. Called once per session (thousands on a busy trail, most of a few calls): the masks are numpy arrays
    over the values, not pandas operations."""
    out = []
    if events.empty:
        return out
    names = events["eventName"].astype(object).to_numpy()
    ok = events["errorCode"].isna().to_numpy(dtype=bool)
    risky = ok & np.fromiter((n in RISKY_NAMES for n in names), dtype=bool, count=len(names))
    if risky.any():
        for rule in (r for r in FOLLOW_UP_RULES if r.category not in without):
            mask = risky & np.fromiter((n in rule.names for n in names), dtype=bool, count=len(names))
            if mask.any():
                out.append(FollowUp(rule.category, rule.mitre, rule.weight, rule.severity, rule.what,
                                    events[mask].to_dict("records")))
    quiet = None
    for rule in (r for r in BURST_RULES if r.category not in without):
        if len(events) < rule.count:
            continue    # fewer calls than a burst
        if rule.column == "errorCode" and ok.all() and not _matches_empty(rule.pattern):
            continue    # no error at all: nothing to match
        match = contains(events[rule.column], rule.pattern)
        if match.sum() < rule.count:
            continue
        if not rule.console:
            if quiet is None:
                quiet = _quiet(events, console)
            match &= quiet
            if match.sum() < rule.count:
                continue
        hit = events[match].sort_values("eventTime", kind="stable")
        spans = bursts(hit["eventTime"], rule.count, rule.within)
        if spans:
            best = max(spans, key=lambda s: s.stop - s.start)
            out.append(FollowUp(rule.category, rule.mitre, rule.weight, rule.severity, rule.what,
                                hit.iloc[best].to_dict("records")))
    return out


@functools.cache
def _regex(pattern: str, flags: int = 0) -> re.Pattern:
    return re.compile(pattern, flags)


def contains(values: pd.Series, pattern: str, flags: int = 0) -> np.ndarray:
    """Which values ``pattern`` matches anywhere (``re.search``; a missing value read as the empty text), as
    ``values.astype(object).fillna("").astype(str).str.contains(pattern, flags=flags)`` says: the same loop over the
    values, without pandas' work per call (a few calls each, on thousands of sessions)."""
    search = _regex(pattern, flags).search
    texts = values.astype(object).to_numpy()
    return np.fromiter((search(v if isinstance(v, str) else "" if pd.isna(v) else str(v)) is not None
                        for v in texts), dtype=bool, count=len(texts))


#: every call name a follow-up rule names
RISKY_NAMES = frozenset().union(*(rule.names for rule in FOLLOW_UP_RULES))


@functools.cache
def _matches_empty(pattern: str) -> bool:
    """Whether a burst rule's pattern matches a missing value (the empty text it is read as)."""
    return _regex(pattern).search("") is not None


def _quiet(events: pd.DataFrame, console: pd.Series | None) -> np.ndarray:
    """The calls neither the console itself (console credentials and its user agent) nor an AWS service made."""
    if console is None:
        console = events["sessionCredentialFromConsole"].astype(object).astype(str).str.lower() == "true"
    by_console = console.reindex(events.index, fill_value=False).astype(bool).to_numpy(dtype=bool) & contains(
        events["userAgent"], CONSOLE_AGENT, re.IGNORECASE)
    by_service = events["userIdentity.invokedBy"].astype(object).notna().to_numpy(dtype=bool)
    return ~by_console & ~by_service


def call_phrase(row: dict) -> str:
    text = PHRASES.get(row["eventName"], f"called {row['eventName']}")
    if "{policy}" in text:
        try:
            params = json.loads(row.get("requestParameters") or "{}") or {}
        except (TypeError, ValueError):
            params = {}
        policy = str(params.get("policyArn") or params.get("policyName") or "a policy").rsplit("/", 1)[-1]
        text = text.format(policy=policy)
    return text


STS_ISSUERS = ("GetSessionToken", "GetFederationToken", "AssumeRole", "AssumeRoleWithSAML",
               "AssumeRoleWithWebIdentity")


#: The columns of a call the follow-up rules, the evidence and the credential chains read.
CALL_COLUMNS = ["eventTime", "eventSource", "eventName", "eventID", "actor", "sourceIPAddress", "userAgent",
                "errorCode", "requestParameters", "responseElements", "userIdentity.type", "userIdentity.arn",
                "userIdentity.accessKeyId", "userIdentity.invokedBy", "sessionCredentialFromConsole"]


CHAIN_DEPTH = 5         # credentials issued by credentials issued by ...: followed this many steps


def _keys_at(frame: pd.DataFrame, positions: np.ndarray) -> list[str | None]:
    """:func:`issued_key` of the rows at ``positions``, their :data:`KEY_COLUMNS` read a few thousand rows at a time:
    no copy of the rows, nor a dict a row, at once (a response text is read and dropped)."""
    cols = [frame.columns.get_loc(c) for c in KEY_COLUMNS]
    out: list[str | None] = []
    for i in range(0, len(positions), RECORDS_CHUNK):
        part = frame.iloc[positions[i:i + RECORDS_CHUNK], cols]
        out += map(_issued, *(part[c].astype(object).to_numpy() for c in KEY_COLUMNS))
    return out


RECORDS_CHUNK = 4096
ISSUING = STS_ISSUERS + ("CreateAccessKey",)
KEY_COLUMNS = ["eventName", "errorCode", "responseElements"]    # what :func:`issued_key` reads


#: The column :func:`with_issued_keys` adds: the access key ID each call handed out (None for the others).
ISSUED_KEY = "issuedKey"


def with_issued_keys(events: pd.DataFrame) -> pd.DataFrame:
    """``events`` with :data:`ISSUED_KEY`: each issuing call's response read once for a whole analysis, which asks
    for the keys of the same calls many times (every session, every chain). A new frame sharing the columns (pandas
    copies on write), one 8-byte column more. The issuing calls' columns are read a few thousand rows at a time, each
    response decoded for the key alone (:func:`_keys_at`)."""
    if ISSUED_KEY in events.columns:
        return events
    at = np.flatnonzero(events["eventName"].isin(ISSUING).fillna(False).to_numpy(dtype=bool))
    values = np.full(len(events), None, dtype=object)
    values[at] = _keys_at(events, at)
    return events.assign(**{ISSUED_KEY: values})


def issued_keys_of(rows: pd.DataFrame, positions: np.ndarray | None = None) -> list[str]:
    """The access key IDs some calls handed out (:func:`issued_key` of each), in order: of every row, or of the rows
    at ``positions``. Read from :data:`ISSUED_KEY` where the rows have it."""
    if ISSUED_KEY in rows.columns:     # set on the issuing calls only
        values = rows[ISSUED_KEY].to_numpy(dtype=object)
        return [k for k in (values if positions is None else values[np.asarray(positions, dtype=np.int64)])
                if isinstance(k, str) and k]
    names = rows["eventName"].isin(ISSUING).fillna(False).to_numpy(dtype=bool)
    at = np.flatnonzero(names) if positions is None else np.asarray(positions)[names[positions]]
    if not len(at):
        return []
    return [k for k in _keys_at(rows, at) if k]


def issued_key(row: dict) -> str | None:
    """The access key ID a successful call handed out: ``CreateAccessKey``'s new key, or the temporary credentials
    of ``GetSessionToken`` / ``GetFederationToken`` / ``AssumeRole*``."""
    return _issued(*(row.get(c) for c in KEY_COLUMNS))


def _issued(name, error, body) -> str | None:
    """:func:`issued_key` of a call's :data:`KEY_COLUMNS`."""
    if name not in ISSUING or text_or_none(error):
        return None
    return _key_in(name, body)


class _Key(msgspec.Struct):
    accessKeyId: Any = msgspec.UNSET


class _Credentials(msgspec.Struct):
    credentials: _Key | None = None


class _AccessKey(msgspec.Struct):
    accessKey: _Key | None = None


#: What :func:`_key_in` decodes of a response: the one object that holds the key; the rest is skipped, not built.
_DECODERS = {name: msgspec.json.Decoder(_AccessKey if name == "CreateAccessKey" else _Credentials)
             for name in ISSUING}


def _key_in(name, body) -> str | None:
    """The key ID in the response ``body`` (a JSON text) of the issuing call ``name``: ``accessKey.accessKeyId``
    (CreateAccessKey) or ``credentials.accessKeyId`` (STS), as the JSON has it (a non-text value as its text);
    None when the call issues none, or the text is not JSON, or not of that shape, or the key is not there."""
    decoder = _DECODERS.get(name)
    if decoder is None or not isinstance(body, str) or not body:
        return None
    try:
        issued = decoder.decode(body)
    except msgspec.DecodeError:    # not JSON, or not an object of that shape (ValidationError is one)
        return None
    inner = issued.accessKey if name == "CreateAccessKey" else issued.credentials
    if inner is None or inner.accessKeyId is msgspec.UNSET:
        return None
    return str(inner.accessKeyId)


def join_words(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
