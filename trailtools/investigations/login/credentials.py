"""API sign-ins: how credentials other than a console password were used. Pure functions, events frame in, findings
out; the rules and thresholds are in docs/login.md.

- :func:`key_new_addresses`: a long-term access key (``AKIA...``) used in the window from an address it never used
  in the baseline (per key, against the key's own history).
- :func:`key_follow_ups`: what a long-term access key did in the window, by the same follow-up rules as a console
  session (persistence, privilege escalation, defense evasion, AccessDenied storms).
- :func:`credential_chains`: ``GetSessionToken`` / ``GetFederationToken`` / ``AssumeRole`` calls by a person's
  credentials whose issued temporary credentials (``responseElements.credentials.accessKeyId``) were then used,
  followed through further STS calls (role chaining) to everything they did.

Workload credentials (an EC2 instance's, a Lambda function's, an ECS task's, an EKS pod's role session) used outside
the workload are judged by the rule ``credential-access.workload-credentials-stolen``
(:func:`trailtools.rules.credential_access.judge_workloads`), which the login analysis runs over its window.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from trailtools.evidence.geoip import GeoIP, public_ip
from trailtools.findings.model import Finding, iso_time
from trailtools.investigations.login.baseline import agent_family
from trailtools.investigations.login.rules import (
    ASK,
    CALL_COLUMNS,
    CHAIN_DEPTH,
    REMEDIATION,
    STS_ISSUERS,
    call_phrase,
    classify_follow_ups,
    evidence_ref,
    issued_key,
    issued_keys_of,
    join_words,
    network,
    remedy,
    severity_for,
    text_or_none,
)
from trailtools.investigations.login.sessions import as_text
from trailtools.rules.model import by_value

MITRE_KEYS = "T1078.004"            # Valid Accounts: Cloud Accounts
MITRE_TOKENS = "T1550.001"          # Use Alternate Authentication Material: Application Access Token
LONG_TERM_KEY = re.compile(r"^AKIA[0-9A-Z]{12,}$")
PEOPLE_TYPES = ("IAMUser", "Root", "FederatedUser")
ISSUER_COLUMNS = ["eventTime", "eventName", "errorCode", "responseElements", "eventID", "actor", "sourceIPAddress",
                  "userIdentity.type", "userIdentity.arn", "userIdentity.accessKeyId"]
#: base score of a chain by the call that started it (GetFederationToken outlives deleting the caller's key)
CHAIN_SCORE = {"GetFederationToken": 4, "GetSessionToken": 1, "AssumeRole": 1}
CHAIN_DEEP = 2                      # this many STS steps or more (role chaining): +2
MAX_EVIDENCE = 50
REMEDY_KEY = ("Ask the key's owner whether the calls were theirs; if not, deactivate the key (UpdateAccessKey "
              "Inactive), create a new one for the owner, and review what the key did.")
REMEDY_CHAIN = ("Check that the temporary credentials were expected; if not, revoke them (for a role: Revoke active "
                "sessions; for a federation token: deny the federated user with a policy on the issuing user) and "
                "rotate the issuing key.")


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name].astype(object)


def _long_term(events: pd.DataFrame) -> pd.Series:
    """Which calls were made with a long-term access key (:data:`LONG_TERM_KEY`): each distinct key matched once
    where the keys are a category (thousands of keys on millions of calls)."""
    return by_value(events["userIdentity.accessKeyId"],
                    lambda k: as_text(k).str.match(LONG_TERM_KEY.pattern)).astype(bool)


def _call_columns(events: pd.DataFrame) -> list[str]:
    """The columns of a call a finding about it reads (:data:`CALL_COLUMNS` the frame has)."""
    return [c for c in CALL_COLUMNS if c in events.columns]


def _public(addresses: pd.Series) -> pd.Series:
    """Which addresses are public IP literals (computed once per distinct address: a trail has few)."""
    known = {a: public_ip(a) is not None for a in pd.unique(addresses)}
    return addresses.map(known).astype(bool)


def _window(events: pd.DataFrame, start, end) -> pd.Series:
    return (events["eventTime"] >= start) & (events["eventTime"] < end)


def key_new_addresses(events: pd.DataFrame, start, end, geo: GeoIP | None = None) -> list[Finding]:
    """Long-term access keys used in [start, end) from an address the key did not use before ``start``.

    Only keys with calls before ``start`` are judged; calls AWS services make on the key's behalf (a host name as
    the source) do not count. Severity: low for a new address in a known /24, medium in a new /24 (or a new network
    owner), high from a new country (with a GeoIP database)."""
    usable = _long_term(events) & by_value(events["sourceIPAddress"],
                                                              lambda a: _public(a.astype(object)))
    rows = events.loc[usable, _call_columns(events)]
    if rows.empty:
        return []
    before = rows[rows["eventTime"] < start]
    history = {k: set(g) for k, g in _col(before, "sourceIPAddress").groupby(_col(before, "userIdentity.accessKeyId"),
                                                                            sort=False)}
    families = {k: {agent_family(a) for a in g} for k, g in _col(before, "userAgent").groupby(
        _col(before, "userIdentity.accessKeyId"), sort=False)}
    out = []
    win = rows[_window(rows, start, end)]
    for (k, addr), grp in win.groupby([_col(win, "userIdentity.accessKeyId"), _col(win, "sourceIPAddress")],
                                      sort=True):
        known = history.get(k)
        if not known or addr in known:
            continue
        recs = grp.to_dict("records")
        who = text_or_none(recs[0].get("actor")) or k
        nets = {network(str(a)) for a in known}
        why, score = [], 1
        if network(str(addr)) not in nets:
            why.append("a new /24 network")
            score = 2
        tools = sorted({str(agent_family(a)) for a in grp["userAgent"].astype(object)} - {
            str(f) for f in families.get(k, ())})
        if tools:
            why.append(f"a new user agent ({', '.join(tools[:3])})")
            score += 1
        place = ""
        if geo is not None:
            here, seen = geo.locate(addr), [geo.locate(a) for a in known]
            place = f" ({here.place})" if here.place else ""
            countries = {s.country for s in seen if s.country}
            if here.country and countries and here.country not in countries:
                why.append(f"a new country ({here.country})")
                score = 4
            elif here.asn and here.asn not in {s.asn for s in seen if s.asn} and any(s.asn for s in seen):
                why.append(f"a new network owner (AS{here.asn} {here.org or ''})".strip())
                score = max(score, 2)
        severity = severity_for(score) if score > 1 else "low"
        out.append(
            Finding(
                "login.key-new-address",
                severity,
                f"Access key {k} of {who} used from a new address {addr}{place}",
                f"{len(recs)} call{'s' if len(recs) > 1 else ''} with access key {k} ({who}) from {addr} between "
                f"{iso_time(recs[0]['eventTime'])} and {iso_time(recs[-1]['eventTime'])}; "
                f"before the window the key was "
                f"used only from {', '.join(sorted(map(str, known))[:5])}{' ...' if len(known) > 5 else ''}"
                + (f": {' and '.join(why)}." if why else "."),
                text_or_none(recs[0].get("userIdentity.arn")) or who,
                tuple(evidence_ref(r) for r in recs[:MAX_EVIDENCE]),
                remedy(severity, REMEDY_KEY, ASK["key"]),
                extra={"mitre": MITRE_KEYS, "principal": who, "access_key": k, "score": score, "calls": len(recs)},
            )
        )
    return out


def key_follow_ups(events: pd.DataFrame, start, end, new: set | frozenset = frozenset()) -> list[Finding]:
    """Long-term access keys whose calls in [start, end) match a follow-up rule other than discovery: one finding per
    key, as severe as its most severe rule, scored by the rules' weights (the same tables as a console session).
    ``new``: principals with no calls before ``start`` (new identities): +2, and the finding says so."""
    rows = events.loc[_long_term(events) & _window(events, start, end), _call_columns(events)]
    out = []
    for k, grp in rows.groupby(_col(rows, "userIdentity.accessKeyId"), sort=True):
        ups = classify_follow_ups(grp, without=frozenset({"discovery"}))
        if not ups:
            continue
        recs = [r for u in ups for r in u.rows]
        recs.sort(key=lambda r: r["eventTime"])
        first = grp.iloc[0].to_dict()
        who = text_or_none(first.get("actor")) or k
        fresh = first.get("actor") in new
        score = sum(u.weight for u in ups) + (2 if fresh else 0)
        worst = min((u.severity for u in ups), key=("critical", "high", "medium", "low", "info").index)
        did = list(dict.fromkeys(call_phrase(r) for u in ups if u.category != "access-denied" for r in u.rows)) + [
            u.what for u in ups if u.category == "access-denied"
        ]
        out.append(
            Finding(
                "login.key-activity",
                worst,
                f"Access key {k} of {who} " + join_words(did),
                f"With access key {k} ({who}, from "
                f"{', '.join(sorted({str(r.get('sourceIPAddress')) for r in recs})[:3])})"
                f" between {iso_time(recs[0]['eventTime'])} and {iso_time(recs[-1]['eventTime'])}: "
                + "; ".join(
                    f"{u.category}/{u.mitre} (+{u.weight}): {len(u.rows)} call{'s' if len(u.rows) > 1 else ''}"
                    for u in ups
                )
                + ("; new identity (+2): the principal has no calls before the window" if fresh else "")
                + f". Score {score}.",
                text_or_none(first.get("userIdentity.arn")) or who,
                tuple(evidence_ref(r) for r in recs[:MAX_EVIDENCE]),
                remedy(worst, REMEDIATION["follow-up"], ASK["key"]),
                extra={
                    "mitre": ups[0].mitre,
                    "principal": who,
                    "access_key": k,
                    "score": score,
                    "techniques": sorted({u.mitre for u in ups}),
                    "follow_ups": [u.category for u in ups],
                    "signals": {"new-identity": 2} if fresh else {},
                },
            )
        )
    return out


class _Uses:
    """The calls made with each of some access keys (accessKeyId -> its rows, in the frame's order, with only
    :data:`CALL_COLUMNS`), taken from the frame when first asked for: a chain reads the calls of its own keys."""

    def __init__(self, events: pd.DataFrame, keys: set):
        key_col = events["userIdentity.accessKeyId"]
        hit = key_col.isin(list(keys)).fillna(False).to_numpy(dtype=bool)
        found = key_col[hit].astype(object).to_numpy()
        self.events = events
        self.columns = [events.columns.get_loc(c) for c in _call_columns(events)]
        self.positions = np.flatnonzero(hit)
        self.groups = pd.Series(found).groupby(found, sort=False).indices

    def get(self, key) -> pd.DataFrame | None:
        at = self.groups.get(key)
        return None if at is None else self.events.iloc[self.positions[at], self.columns]


def _chain(events: pd.DataFrame, first: dict, keyed) -> tuple[list[dict], list[dict]]:
    """The STS steps from ``first`` on and every call made with the credentials they issued (keyed: accessKeyId ->
    its rows), following at most CHAIN_DEPTH steps."""
    steps, uses, todo = [first], [], [first]
    for _ in range(CHAIN_DEPTH):
        nxt = []
        for step in todo:
            rows = keyed.get(issued_key(step))
            if rows is None:
                continue
            rows = rows[rows["eventTime"] >= step["eventTime"]].to_dict("records")
            uses.extend(rows)
            nxt.extend(r for r in rows if issued_key(r))
        steps.extend(nxt)
        todo = nxt
        if not todo:
            break
    uses.sort(key=lambda r: r["eventTime"])
    return steps, uses


def credential_chains(events: pd.DataFrame, start, end) -> list[Finding]:
    """STS calls in [start, end) by a person's credentials (IAM user, root, federated user, or temporary
    credentials a person got) whose issued credentials were used afterwards: one finding per chain, with
    everything the issued credentials did as evidence."""
    sts = (events["eventName"].isin(STS_ISSUERS) & events["errorCode"].isna()).fillna(False).to_numpy(dtype=bool)
    issued = set(issued_keys_of(events, np.flatnonzero(sts)))
    if not issued:
        return []
    keyed = _Uses(events, issued)
    out = []
    mine = sts & (_window(events, start, end) & events["userIdentity.type"].isin(PEOPLE_TYPES)).fillna(
        False).to_numpy(dtype=bool)
    for r in events.loc[mine, ISSUER_COLUMNS].to_dict("records"):
        if text_or_none(r.get("userIdentity.accessKeyId")) in issued:  # part of a chain that starts earlier
            continue
        steps, uses = _chain(events, r, keyed)
        if not uses:
            continue
        who = text_or_none(r.get("actor")) or str(r.get("userIdentity.arn"))
        as_whom = list(dict.fromkeys(str(u.get("actor")) for u in uses))
        ups = classify_follow_ups(pd.DataFrame(uses))
        score = CHAIN_SCORE.get(r["eventName"], 1) + (2 if len(steps) >= CHAIN_DEEP else 0) + sum(u.weight for u in ups)
        elsewhere = sorted({str(u.get("sourceIPAddress")) for u in uses} - {str(r.get("sourceIPAddress"))})
        score += 1 if elsewhere else 0
        path = " -> ".join(s["eventName"] for s in steps)
        severity = severity_for(score) if score >= 2 else "low"
        out.append(
            Finding(
                "login.credential-chain",
                severity,
                f"{who} got temporary credentials ({path}) that then made "
                f"{len(uses)} call{'s' if len(uses) > 1 else ''}"
                f" as {', '.join(as_whom[:3])}",
                f"At {iso_time(r['eventTime'])} {who} called {r['eventName']} from {r.get('sourceIPAddress')} and got "
                f"access key {issued_key(r)}; {len(steps)} STS step{'s' if len(steps) > 1 else ''} ({path}); the "
                f"credentials were used from {iso_time(uses[0]['eventTime'])} to {iso_time(uses[-1]['eventTime'])}: "
                + ", ".join(
                    f"{n} x{c}" for n, c in pd.Series([u["eventName"] for u in uses]).value_counts().head(8).items()
                )
                + (f"; from other addresses: {', '.join(elsewhere[:5])}" if elsewhere else "")
                + (f"; follow-ups: {', '.join(u.category for u in ups)}" if ups else "")
                + f". Score {score}.",
                text_or_none(r.get("userIdentity.arn")) or who,
                tuple(evidence_ref(s, f"{s['eventName']} issued {issued_key(s)}") for s in steps)
                + tuple(evidence_ref(u) for u in uses[:MAX_EVIDENCE]),
                remedy(severity, REMEDY_CHAIN, ASK["chain"]),
                extra={
                    "mitre": MITRE_TOKENS,
                    "principal": who,
                    "score": score,
                    "issued_keys": [issued_key(s) for s in steps],
                    "used_as": as_whom,
                    "follow_ups": [u.category for u in ups],
                },
            )
        )
    return out

