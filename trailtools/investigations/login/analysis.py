"""Suspicious sign-ins: who got in, from where, how, and what they did next. The pure analysis (no I/O).

Events frame in, ranked findings out. Every console sign-in (``ConsoleLogin``, root included) in the window is judged
against the same principal's sign-ins in the baseline before it (addresses, /24 networks, user agents, hours of the
day), and each successful sign-in opens a *session* (until that principal's next successful sign-in, at most 12 h)
whose follow-up actions are classified by the rule tables below (persistence, privilege escalation, defense
evasion, discovery bursts, AccessDenied storms). The signals of a session add up to a score that sets its severity;
a sign-in with MFA and no risky follow-up stays at most low.

With a GeoIP/ASN database (:mod:`trailtools.evidence.geoip`) a sign-in is also judged by country and network owner, and
consecutive sign-ins of a principal by their distance (impossible travel); with ``business_hours`` a sign-in
outside them is a signal too. API credentials (access keys from new addresses, STS chains, instance credentials
used outside AWS) are :mod:`trailtools.investigations.login.credentials`; SSH logins from guest logs
:mod:`trailtools.investigations.login.ssh`.
The rules and thresholds are documented in docs/login.md.

The detectors are separate pure functions so each can be tested alone: :func:`signins`, :func:`classify_follow_ups`,
:func:`brute_force`, :func:`password_spray`, :func:`unknown_users`, :func:`root_activity`, :func:`baseline_profile`,
:func:`novelty`, :func:`travel`, :func:`outside_hours`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import pandas as pd

from trailtools.events.query import user_name_pattern
from trailtools.evidence.geoip import GeoIP, Location, impossible_travel
from trailtools.findings.model import SEVERITIES, EvidenceRef, Finding, iso_time
from trailtools.investigations.login.credentials import (
    credential_chains,
    key_follow_ups,
    key_new_addresses,
)
from trailtools.investigations.login.hours import DAYS, BusinessHours, outside_hours
from trailtools.investigations.login.rules import (
    CHAIN_DEPTH,
    MITRE_VALID_ACCOUNTS,
    REMEDIATION,
    STS_ISSUERS,
    FollowUp,
    bursts,
    call_phrase,
    classify_follow_ups,
    evidence_ref,
    issued_key,
    join_words,
    network,
    severity_for,
    text_or_none,
)
from trailtools.investigations.login.ssh import ssh_findings
from trailtools.rules.credential_access import judge_workloads

SIGNIN_EVENTS = ("ConsoleLogin",)
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
SESSION_LENGTH = pd.Timedelta(hours=12)
FAILURE_LOOKBACK = pd.Timedelta(minutes=15)     # failures this long before a success count as "right before" it
BRUTE_FORCE_COUNT, BRUTE_FORCE_WITHIN = 3, pd.Timedelta(minutes=10)
SPRAY_PRINCIPALS, SPRAY_WITHIN = 3, pd.Timedelta(hours=1)
HOUR_TOLERANCE_MIN = 120                        # a sign-in within +-2 h of a baseline one's time of day is usual
MIN_BASELINE_FOR_HOURS = 3
NO_MFA_TYPES = ("IAMUser", "Root")              # federated (SSO, SAML) sign-ins do MFA at the identity provider


class Signal(NamedTuple):
    weight: int
    phrase: str         # how it reads after "<principal> signed in"
    mitre: str
    check: str
    severity: str       # of its own finding (see _signal_severity for the exceptions)
    remedy: str         # key of REMEDIATION


SIGNALS = {
    "root": Signal(3, "as root", "T1078.004", "login.root-signin", "medium", "root"),
    "no-mfa": Signal(3, "without MFA", "T1078.004", "login.no-mfa", "medium", "no-mfa"),
    "new-ip": Signal(1, "from a new address", "T1078.004", "login.new-ip", "low", "novelty"),
    "new-network": Signal(1, "from a new network", "T1078.004", "login.new-network", "low", "novelty"),
    "new-user-agent": Signal(1, "with a new user agent", "T1078.004", "login.new-user-agent", "low", "novelty"),
    "unusual-hour": Signal(1, "at an unusual hour", "T1078.004", "login.unusual-hour", "low", "novelty"),
    "new-country": Signal(2, "from a new country ({country})", "T1078.004", "login.new-country", "medium", "novelty"),
    "new-asn": Signal(1, "from a new network owner ({asn})", "T1078.004", "login.new-asn", "low", "novelty"),
    "impossible-travel": Signal(3, "after impossible travel ({travel})", "T1078.004", "login.impossible-travel",
                                "medium", "travel"),
    "outside-hours": Signal(1, "outside business hours ({local})", "T1078.004", "login.outside-business-hours",
                            "low", "novelty"),
    "failures-before": Signal(1, "after {n} failed attempt{s}", "T1110.001", "login.success-after-failures", "info",
                              "failures"),
}
BASELINE_SIGNALS = ("new-ip", "new-network", "new-user-agent", "unusual-hour", "new-country", "new-asn")
FAILURES_BEFORE_MANY = 3        # this many failures right before a success: weight 3 and high instead of 1 and info


class Check(NamedTuple):
    """One family of checks, and whether it could be done on this input (``detail`` says why not, or what ran)."""
    name: str
    done: bool
    detail: str


#: The columns of ``LoginAnalysis.follow_ups``: one row per risky call after a sign-in.
FOLLOW_UP_COLUMNS = ["time", "principal", "eventName", "category", "mitre", "sourceIPAddress", "eventID"]


@dataclass
class LoginAnalysis:
    signins: pd.DataFrame       # time, principal, arn, type, result, mfa, sourceIPAddress, userAgent, errorMessage,
                                # eventID, country, asn (window and baseline sign-ins; ``in_window`` says which)
    sessions: pd.DataFrame      # principal, arn, start, end, sourceIPAddress, userAgent, mfa, signin_event,
                                # actions (count), risky (list of eventNames), signals (list), score, severity
    findings: list[Finding]     # most severe first
    notes: list[str] = field(default_factory=list)   # the checks that could not be done, and why
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None
    baseline: tuple[pd.Timestamp, pd.Timestamp] | None = None
    checks: list[Check] = field(default_factory=list)
    ssh: pd.DataFrame | None = None
    follow_ups: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FOLLOW_UP_COLUMNS))
    # the follow-up actions of every session that a rule calls risky (FOLLOW_UP_COLUMNS), for the timeline


# ---- business hours -----------------------------------------------------------------------------------------------


# ---- sign-ins -----------------------------------------------------------------------------------------------------


def signins(events: pd.DataFrame, geo: GeoIP | None = None) -> pd.DataFrame:
    """One row per console sign-in: time, principal, arn, type, result, mfa, sourceIPAddress, userAgent, ...,
    and where the address is (country, city, latitude, longitude, asn, org: None without ``geo``)."""
    rows = events[events["eventName"].astype(object).isin(SIGNIN_EVENTS)]
    result = rows["responseElements.ConsoleLogin"].astype(object)
    failed = rows["errorMessage"].astype(object).notna() | rows["errorCode"].astype(object).notna()
    result = result.where(result.notna(), failed.map({True: "Failure", False: "Success"}))
    user = rows["userIdentity.userName"].astype(object)
    arn = rows["userIdentity.arn"].astype(object)
    out = pd.DataFrame(
        {
            "time": rows["eventTime"],
            "principal": rows["actor"].astype(object),
            "arn": arn,
            "type": rows["userIdentity.type"].astype(object),
            "result": result,
            "mfa": rows["additionalEventData.MFAUsed"].astype(object),
            "sourceIPAddress": rows["sourceIPAddress"].astype(object),
            "userAgent": rows["userAgent"].astype(object),
            "errorMessage": rows["errorMessage"].astype(object),
            "eventID": rows["eventID"].astype(object),
            "unknown_user": (user == HIDDEN) | (arn == HIDDEN),
        }
    ).reset_index(drop=True)
    locs = [geo.locate(ip) if geo is not None else Location() for ip in out["sourceIPAddress"]]
    for col in Location._fields:
        out[col] = pd.Series([getattr(loc, col) for loc in locs], index=out.index, dtype=object)
    return out


def baseline_profile(baseline: pd.DataFrame) -> dict[str, dict]:
    """What is usual per principal, from its successful baseline sign-ins: ips, networks, agents, minutes of day."""
    out: dict[str, dict] = {}
    for r in baseline[baseline["result"] == "Success"].to_dict("records"):
        p = out.setdefault(
            r["principal"],
            {"ips": set(), "networks": set(), "agents": set(), "minutes": [], "countries": set(), "asns": set()},
        )
        for key, col in (("countries", "country"), ("asns", "asn")):
            if text_or_none(r.get(col)):
                p[key].add(r[col])
        p["ips"].add(r["sourceIPAddress"])
        p["networks"].add(network(text_or_none(r["sourceIPAddress"])))
        p["agents"].add(r["userAgent"])
        p["minutes"].append(r["time"].hour * 60 + r["time"].minute)
    return out


def novelty(signin: dict, usual: dict | None) -> list[str]:
    """Which of new-ip, new-network, new-user-agent, unusual-hour, new-country, new-asn hold for a sign-in against
    its principal's usual (country and ASN only when both are known: a GeoIP database was given)."""
    if not usual:
        return []
    out = []
    if signin["sourceIPAddress"] not in usual["ips"]:
        out.append("new-ip")
    if network(text_or_none(signin["sourceIPAddress"])) not in usual["networks"]:
        out.append("new-network")
    if signin["userAgent"] not in usual["agents"]:
        out.append("new-user-agent")
    if len(usual["minutes"]) >= MIN_BASELINE_FOR_HOURS:
        m = signin["time"].hour * 60 + signin["time"].minute
        if all(min(abs(m - b), 1440 - abs(m - b)) > HOUR_TOLERANCE_MIN for b in usual["minutes"]):
            out.append("unusual-hour")
    for key, col, signal in (("countries", "country", "new-country"), ("asns", "asn", "new-asn")):
        if text_or_none(signin.get(col)) and usual.get(key) and signin[col] not in usual[key]:
            out.append(signal)
    return out


def travel(sign: pd.DataFrame) -> dict[str, dict]:
    """Impossible travel between consecutive successful sign-ins of each principal: eventID of the later one ->
    ``{"km", "kmh", "hours", "from", "from_event", "travel"}`` (see trailtools.evidence.geoip for the thresholds)."""
    out = {}
    ok = sign[(sign["result"] == "Success") & sign["latitude"].notna()].sort_values("time", kind="stable")
    for _principal, rows in ok.groupby("principal", sort=False):
        recs = rows.to_dict("records")
        for a, b in zip(recs, recs[1:]):
            la, lb = (Location(*(r[c] for c in Location._fields)) for r in (a, b))
            seconds = (b["time"] - a["time"]).total_seconds()
            hit = impossible_travel(la, lb, seconds)
            if hit:
                km, kmh = hit
                out[b["eventID"]] = {
                    "km": round(km),
                    "kmh": round(kmh),
                    "hours": round(seconds / 3600, 1),
                    "from": la.place or a["sourceIPAddress"],
                    "from_event": a["eventID"],
                    "from_time": a["time"],
                    "travel": f"{round(km):,} km from {la.place} in {seconds / 3600:.1f} h",
                }
    return out


# ---- failed sign-ins ---------------------------------------------------------------------------------------------


def _failures(sign: pd.DataFrame) -> pd.DataFrame:
    return sign[sign["result"] == "Failure"].sort_values("time", kind="stable")


def brute_force(sign: pd.DataFrame) -> list[Finding]:
    """>= 3 failed sign-ins against one principal within 10 minutes (T1110.001)."""
    out = []
    fails = _failures(sign)
    fails = fails[~fails["unknown_user"]]  # those are unknown_users()
    succ = sign[sign["result"] == "Success"]
    for principal, rows in fails.groupby("principal", sort=True):
        for sl in bursts(rows["time"], BRUTE_FORCE_COUNT, BRUTE_FORCE_WITHIN):
            burst = rows.iloc[sl].to_dict("records")
            last, ips = burst[-1]["time"], sorted({str(b["sourceIPAddress"]) for b in burst})
            won = succ[
                (succ["principal"] == principal)
                & (succ["time"] > last)
                & (succ["time"] <= last + FAILURE_LOOKBACK)
                & succ["sourceIPAddress"].isin(ips)
            ]
            then = " and then succeeded" if len(won) else ""
            out.append(
                Finding(
                    "login.brute-force",
                    "high" if len(won) else "medium",
                    f"{len(burst)} failed sign-ins for {principal} within {_minutes(last - burst[0]['time'])}{then}",
                    f"{len(burst)} console sign-ins for {principal} failed between {iso_time(burst[0]['time'])} and "
                    f"{iso_time(last)} from {', '.join(ips)}"
                    + (
                        f"; a sign-in from the same address succeeded at {iso_time(won['time'].iloc[0])}."
                        if len(won)
                        else "."
                    ),
                    text_or_none(burst[0]["arn"]) or str(principal),
                    tuple(evidence_ref(b, "failed sign-in") for b in burst)
                    + tuple(evidence_ref(r, "successful sign-in") for r in won.to_dict("records")[:1]),
                    REMEDIATION["failures"],
                    extra={
                        "mitre": "T1110.001",
                        "principal": principal,
                        "score": 3 + (3 if len(won) else 0),
                        "failures": len(burst),
                    },
                )
            )
    return out


def password_spray(sign: pd.DataFrame) -> list[Finding]:
    """One source address failing against >= 3 principals within an hour (T1110.003)."""
    out = []
    for ip, fails in _failures(sign).groupby("sourceIPAddress", sort=True):
        for sl in bursts(fails["time"], SPRAY_PRINCIPALS, SPRAY_WITHIN):
            rows = fails.iloc[sl]
            names = sorted(rows["principal"].dropna().astype(str).unique())
            if len(names) < SPRAY_PRINCIPALS:
                continue
            out.append(
                Finding(
                    "login.password-spray",
                    "high",
                    f"{ip} failed to sign in as {len(names)} different principals",
                    f"{len(rows)} failed console sign-ins from {ip} between {iso_time(rows['time'].iloc[0])} and "
                    f"{iso_time(rows['time'].iloc[-1])} against "
                    f"{', '.join(names[:10])}{' ...' if len(names) > 10 else ''}"
                    ": password spraying.",
                    str(ip),
                    tuple(evidence_ref(r, f"failed sign-in as {r['principal']}") for r in rows.to_dict("records")[:50]),
                    REMEDIATION["failures"],
                    extra={"mitre": "T1110.003", "principal": None, "score": 5, "principals": names},
                )
            )
    return out


def unknown_users(sign: pd.DataFrame) -> list[Finding]:
    """Failed sign-ins to user names that do not exist (CloudTrail hides the name: HIDDEN_DUE_TO_SECURITY_REASONS)."""
    out = []
    rows = _failures(sign)
    for ip, grp in rows[rows["unknown_user"]].groupby("sourceIPAddress", sort=True):
        n = len(grp)
        out.append(
            Finding(
                "login.unknown-user",
                "medium" if n >= BRUTE_FORCE_COUNT else "low",
                f"{n} sign-in attempt{'s' if n > 1 else ''} from {ip} to user names that do not exist",
                "CloudTrail hides the user name of a failed sign-in when no such user exists (mistyped names, or "
                "someone guessing).",
                str(ip),
                tuple(evidence_ref(r, "failed sign-in, unknown user") for r in grp.to_dict("records")[:50]),
                REMEDIATION["failures"],
                extra={"mitre": "T1110.001", "principal": None, "score": min(n, 4)},
            )
        )
    return out


def root_activity(events: pd.DataFrame) -> list[Finding]:
    """Any use of the root user other than signing in (sign-ins are judged as sessions)."""
    rows = events[
        (events["userIdentity.type"].astype(object) == "Root")
        & ~events["eventName"].astype(object).isin(SIGNIN_EVENTS + ("CheckMfa",))
    ]
    if rows.empty:
        return []
    recs = rows.to_dict("records")
    names = rows["eventName"].astype(object).value_counts()
    return [
        Finding(
            "login.root-activity",
            "medium",
            f"The root user made {len(recs)} API call{'s' if len(recs) > 1 else ''}",
            f"Root calls between {iso_time(recs[0]['eventTime'])} and {iso_time(recs[-1]['eventTime'])}: "
            + ", ".join(f"{k} x{v}" for k, v in names.head(10).items())
            + ".",
            text_or_none(recs[0].get("userIdentity.arn")) or "root",
            tuple(evidence_ref(r) for r in recs[:50]),
            REMEDIATION["root"],
            extra={"mitre": MITRE_VALID_ACCOUNTS, "principal": "root", "score": 3},
        )
    ]


# ---- what a session did -------------------------------------------------------------------------------------------


def _new_keys(rows: pd.DataFrame) -> list[str]:
    picked = rows.loc[
        rows["eventName"].astype(object).isin(STS_ISSUERS + ("CreateAccessKey",)),
        ["eventName", "errorCode", "responseElements"],
    ]
    return [k for k in (issued_key(r) for r in picked.to_dict("records")) if k] if len(picked) else []


def _minutes(d: pd.Timedelta) -> str:
    return f"{max(1, round(d.total_seconds() / 60))} min"


def _signal_severity(key: str, s: dict, failures: int) -> str:
    """A signal's own finding: failures before a success are high when many; root without MFA is high; a new
    place or hour with MFA is info."""
    if (
        key == "failures-before"
        and failures >= FAILURES_BEFORE_MANY
        or key in ("no-mfa", "root")
        and s["type"] == "Root"
        and s["mfa"] == "No"
    ):
        return "high"
    return "info" if SIGNALS[key].remedy == "novelty" and s["mfa"] == "Yes" else SIGNALS[key].severity


def _logging_gap(ups: list[FollowUp], all_times: pd.Series) -> pd.Timedelta | None:
    """How long the trail is silent after a StopLogging/DeleteTrail of the session (if more than an hour)."""
    for r in (r for u in ups for r in u.rows if r["eventName"] in ("StopLogging", "DeleteTrail")):
        nxt = all_times.searchsorted(r["eventTime"], side="right")
        if nxt < len(all_times) and all_times.iloc[nxt] - r["eventTime"] > pd.Timedelta(hours=1):
            return all_times.iloc[nxt] - r["eventTime"]
    return None


def _session(
    s: dict,
    end,
    actions: pd.DataFrame,
    sign: pd.DataFrame,
    usual: dict | None,
    all_times: pd.Series,
    context: dict[str, dict],
):
    """One session: its signals, follow-ups, score, and findings (the combined one first). ``context``: the signals
    found outside the baseline comparison (impossible-travel, outside-hours) with what their phrases need."""
    principal, arn, when, ip = (
        s["principal"],
        text_or_none(s["arn"]) or str(s["principal"]),
        iso_time(s["time"]),
        s["sourceIPAddress"],
    )
    before = sign[
        (sign["principal"] == principal)
        & (sign["result"] == "Failure")
        & (sign["sourceIPAddress"] == ip)
        & (sign["time"] < s["time"])
        & (sign["time"] >= s["time"] - FAILURE_LOOKBACK)
    ].to_dict("records")
    keys = (
        (["root"] if s["type"] == "Root" else [])
        + (["no-mfa"] if s["mfa"] == "No" and s["type"] in NO_MFA_TYPES else [])
        + novelty(s, usual)
        + (["failures-before"] if before else [])
        + list(context)
    )
    signals = {
        k: 3 if k == "failures-before" and len(before) >= FAILURES_BEFORE_MANY else SIGNALS[k].weight for k in keys
    }
    ups = classify_follow_ups(actions)
    score = sum(signals.values()) + sum(u.weight for u in ups)
    severity = severity_for(score)
    if s["mfa"] == "Yes" and not any(u.weight >= 2 for u in ups) and len(before) < FAILURES_BEFORE_MANY:
        severity = max(severity, "low", key=SEVERITIES.index)  # a new place with MFA and nothing risky after it
    sref, fails = evidence_ref(s, "successful sign-in"), [evidence_ref(r, "failed sign-in") for r in before]
    base = {"principal": principal, "session_start": when}
    words = {
        "n": len(before),
        "s": "s" if len(before) > 1 else "",
        "country": s.get("country"),
        "asn": f"AS{s.get('asn')} {s.get('org') or ''}".strip(),
    }
    for ctx in context.values():
        words.update(ctx)
    phrase = {k: SIGNALS[k].phrase.format(**words) for k in signals}
    travelled = context.get("impossible-travel")
    prev = (
        (
            EvidenceRef(
                "cloudtrail",
                str(travelled["from_event"]),
                iso_time(travelled["from_time"]),
                f"previous sign-in, from {travelled['from']}",
            ),
        )
        if travelled
        else ()
    )
    found = [
        Finding(
            SIGNALS[k].check,
            _signal_severity(k, s, len(before)),
            f"{principal} signed in {phrase[k]} ({ip}, {when})",
            f"Console sign-in of {principal} at {when} from {ip} ({s['userAgent']}), MFA: {s['mfa']}: {phrase[k]}"
            + (" compared with its baseline sign-ins." if k in BASELINE_SIGNALS else "."),
            arn,
            (sref, *fails) if k == "failures-before" else (*prev, sref) if k == "impossible-travel" else (sref,),
            REMEDIATION[SIGNALS[k].remedy],
            extra={"mitre": SIGNALS[k].mitre, **base, "score": w},
        )
        for k, w in signals.items()
    ]
    for u in ups:
        found.append(
            Finding(
                f"login.{u.category}",
                u.severity,
                f"{principal} {u.what} after signing in: " + join_words(sorted({call_phrase(r) for r in u.rows})),
                f"In the session that began with the sign-in at {when} from {ip}, {principal} {u.what} ({len(u.rows)} "
                f"call{'s' if len(u.rows) > 1 else ''} from {iso_time(u.rows[0]['eventTime'])}).",
                arn,
                tuple(evidence_ref(r) for r in u.rows[:50]),
                REMEDIATION["follow-up"],
                extra={"mitre": u.mitre, **base, "score": u.weight},
            )
        )
    risky = [r for u in ups if u.category != "discovery" for r in u.rows]
    if signals or ups:
        how = [phrase[k] for k in SIGNALS if k in signals and not (k == "new-network" and "new-ip" in signals)]
        if "new-ip" in signals and "new-network" in signals:
            how[how.index(phrase["new-ip"])] += " in a new network"
        did = list(dict.fromkeys(call_phrase(r) for r in risky)) + [u.what for u in ups if u.category == "discovery"]
        title = f"{principal} signed in " + ", ".join(how) + (f", then {join_words(did)}" if did else "")
        why = (
            f"Sign-in at {when} from {ip} ({s['userAgent']}), MFA: {s['mfa']}. Signals: "
            f"{', '.join(f'{k} (+{w})' for k, w in signals.items()) or 'none'}; follow-ups: "
            f"{', '.join(f'{u.category}/{u.mitre} (+{u.weight})' for u in ups) or 'none'}; {len(actions)} calls "
            f"in the session (until {iso_time(end)}). Score {score}."
        )
        gap = _logging_gap(ups, all_times)
        if gap is not None:
            why += f" The trail then has no events for {gap.total_seconds() / 3600:.1f} h."
        discovery = [evidence_ref(r) for u in ups if u.category == "discovery" for r in u.rows[:3]]
        found.insert(
            0,
            Finding(
                "login.session",
                severity,
                title.replace("signed in , then", "signed in, then").strip(),
                why,
                arn,
                (sref, *fails, *(evidence_ref(r) for r in risky), *discovery),
                REMEDIATION["session"],
                status="INFO" if severity == "info" else "FAIL",
                extra={
                    "mitre": MITRE_VALID_ACCOUNTS,
                    **base,
                    "score": score,
                    "techniques": sorted({SIGNALS[k].mitre for k in signals} | {u.mitre for u in ups}),
                    "signals": dict(signals),
                    "follow_ups": [u.category for u in ups],
                },
            ),
        )
    row = {
        "principal": principal,
        "arn": arn,
        "start": s["time"],
        "end": end,
        "sourceIPAddress": ip,
        "userAgent": s["userAgent"],
        "mfa": s["mfa"],
        "signin_event": s["eventID"],
        "actions": len(actions),
        "risky": [r["eventName"] for r in risky] + [u.category for u in ups if u.category == "discovery"],
        "signals": list(signals),
        "score": score,
        "severity": severity,
    }
    follow = [
        {
            "time": r.get("eventTime"),
            "principal": principal,
            "eventName": r.get("eventName"),
            "category": u.category,
            "mitre": u.mitre,
            "sourceIPAddress": r.get("sourceIPAddress"),
            "eventID": r.get("eventID"),
        }
        for u in ups
        for r in u.rows
    ]
    return row, found, follow


# ---- the analysis -------------------------------------------------------------------------------------------------


def _utc(t) -> pd.Timestamp:
    t = pd.Timestamp(t)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def _matches(frame: pd.DataFrame, principal: str, actor_col: str, arn_col: str) -> pd.Series:
    """The rows of ``principal``: its actor or ARN, the session name ending the ARN, or (a bare user name) the part
    before the ``@`` of an e-mail-style name (``alice`` -> ``.../alice@example.com``; as the events query)."""
    arn = frame[arn_col].astype(object).fillna("").astype(str)
    out = (frame[actor_col].astype(object) == principal) | (arn == principal) | arn.str.endswith("/" + principal)
    pattern = user_name_pattern(principal)
    if pattern:
        actor = frame[actor_col].astype(object).fillna("").astype(str)
        out |= arn.str.lower().str.contains(pattern, regex=True) | actor.str.lower().str.contains(pattern, regex=True)
    return out


def _by_actor(events: pd.DataFrame) -> dict:
    """Each actor's rows (the ``mine`` of :func:`session_events`), split once for all sessions."""
    return {k: g for k, g in events.groupby(events["actor"].astype(object), sort=False)}


def session_events(
    events: pd.DataFrame, principal: str, start, end, *, mine: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Everything a sign-in session did, in order: the principal's calls after the sign-in until the session ends,
    and whatever the credentials it handed out did later: access keys it created, temporary credentials it got from
    STS, and the credentials those got in turn (``mine``: the principal's rows, when already at hand)."""
    if mine is None:
        mine = events[events["actor"].astype(object) == principal]
    acts = mine[
        (mine["eventTime"] > start) & (mine["eventTime"] < end) & ~mine["eventName"].astype(object).isin(SIGNIN_EVENTS)
    ]
    keys, seen = _new_keys(acts), set()
    for _ in range(CHAIN_DEPTH):  # what the keys handed out in the session did, whenever
        keys = [k for k in keys if k not in seen]
        if not keys:
            break
        seen.update(keys)
        extra = events[
            events["userIdentity.accessKeyId"].astype(object).isin(keys)
            & (events["eventTime"] > start)
            & ~events.index.isin(acts.index)
        ]
        acts = pd.concat([acts, extra]).sort_values("eventTime", kind="stable")
        keys = _new_keys(extra)
    return acts


def _checks(
    geo: GeoIP | None, hours: BusinessHours | None, ssh: pd.DataFrame | None, has_baseline: bool
) -> list[Check]:
    """Which families of checks this run could do, and why not."""
    located = geo is not None and geo.has_location
    with_asn = geo is not None and geo.has_asn
    return [
        Check("console sign-ins (no MFA, root, failures, brute force, spraying, unknown users)", True, "CloudTrail"),
        Check(
            "new address, /24 network, user agent, unusual hour",
            has_baseline,
            "against each principal's baseline sign-ins" if has_baseline else "no sign-ins in the baseline",
        ),
        Check(
            "new country, impossible travel",
            located,
            f"GeoIP database {geo.city_path}" if located else "no GeoIP database (geoip_db)",
        ),
        Check(
            "new network owner (ASN)",
            with_asn,
            f"ASN database {geo.asn_path}" if with_asn else "no ASN database (asn_db)",
        ),
        Check(
            "outside business hours",
            hours is not None,
            f"{hours.start // 60:02d}:{hours.start % 60:02d}-{hours.end // 60:02d}:{hours.end % 60:02d} "
            f"{'/'.join(DAYS[d] for d in sorted(hours.days))} {hours.zone}"
            if hours
            else "business_hours not given",
        ),
        Check("access keys: new addresses and what they did; STS credential chains", True, "CloudTrail"),
        Check(
            "workload credentials (EC2, Lambda, ECS, EKS ...) used outside the workload",
            True,
            "the workloads' own addresses and user agents, addresses people use, and AWS's IP ranges (the bundled "
            "snapshot)" + (" with the ASN database naming network owners" if with_asn else ""),
        ),
        Check("what each session did next", True, "CloudTrail"),
        Check(
            "SSH logins on instances",
            ssh is not None,
            f"{len(ssh):,} sshd attempts from the guest logs" if ssh is not None else "no guest logs (os_logs)",
        ),
    ]


def analyze_logins(
    events: pd.DataFrame,
    *,
    start=None,
    end=None,
    baseline_days: int = 30,
    principal: str | None = None,
    geo: GeoIP | None = None,
    hours: BusinessHours | None = None,
    ssh: pd.DataFrame | None = None,
) -> LoginAnalysis:
    """Sign-ins in [start, end) (default: the frame's last 7 days) judged against the ``baseline_days`` before.

    ``geo``: open GeoIP/ASN databases (:func:`trailtools.evidence.geoip.open_geoip`); ``hours``: from
    :func:`parse_business_hours`; ``ssh``: the ``ssh`` frame of
    :func:`trailtools.evidence.guest_logs.read_guest_logs`."""

    notes = geo.missing() if geo is not None else GeoIP().missing()
    if hours is None:
        notes.append("No business_hours given: the outside-business-hours check was not done.")
    if ssh is None:
        notes.append("No guest logs (os_logs): SSH logins on instances were not looked at.")
    if events.empty:
        return LoginAnalysis(
            signins(events) if len(events.columns) else pd.DataFrame(),
            pd.DataFrame(),
            [],
            notes + ["No events."],
            checks=_checks(geo, hours, ssh, False),
            ssh=ssh,
        )
    times = events["eventTime"]
    end = _utc(end) if end is not None else times.max() + pd.Timedelta(microseconds=1)
    start = _utc(start) if start is not None else end - pd.Timedelta(days=7)
    b_start = start - pd.Timedelta(days=baseline_days)
    sign = signins(events, geo)
    if principal:
        sign = sign[_matches(sign, principal, "principal", "arn")]
    sign = sign[(sign["time"] >= b_start) & (sign["time"] < end)].reset_index(drop=True)
    sign["in_window"] = sign["time"] >= start
    base, win = sign[~sign["in_window"]], sign[sign["in_window"]]
    if base.empty:
        notes.append(
            f"No sign-ins in the baseline ({iso_time(b_start)} to {iso_time(start)}): new address, network, "
            "user agent and hour checks were not done."
        )
    if times.min() > b_start:
        notes.append(
            f"The events begin at {iso_time(times.min())}, after the baseline's start ({iso_time(b_start)}): "
            "the baseline is shorter than asked."
        )
    usual = baseline_profile(base)
    no_history = sorted({str(p) for p in win.loc[win["result"] == "Success", "principal"] if p not in usual})
    if no_history and not base.empty:
        notes.append(
            "No baseline sign-ins for "
            + ", ".join(no_history[:10])
            + (" ..." if len(no_history) > 10 else "")
            + ": not judged as new."
        )
    findings = brute_force(win) + password_spray(win) + unknown_users(win)
    scope = events[(times >= b_start) & (times < end)]
    if principal:
        scope = scope[_matches(scope, principal, "actor", "userIdentity.arn")]
    in_window = scope[scope["eventTime"] >= start]
    findings += root_activity(in_window)
    findings += (
        key_new_addresses(scope, start, end, geo)
        + key_follow_ups(scope, start, end)
        + credential_chains(scope, start, end)
    )
    stolen = judge_workloads(events[(times >= b_start) & (times < end)], start, end, geo=geo)
    findings += [
        f
        for f in stolen
        if not principal or principal in (f.extra["principal"], f.extra["workload"], f.extra["principal"].split("/")[0])
    ]
    if ssh is not None:
        findings += ssh_findings(ssh, start, end)
    trips = travel(sign)
    by_actor = _by_actor(events)
    succ = win[win["result"] == "Success"].sort_values("time", kind="stable")
    all_next = sign[sign["result"] == "Success"]
    sessions, follow_ups = [], []
    for s in succ.to_dict("records"):
        later = all_next[(all_next["principal"] == s["principal"]) & (all_next["time"] > s["time"])]["time"]
        s_end = min(s["time"] + SESSION_LENGTH, later.min() if len(later) else s["time"] + SESSION_LENGTH)
        acts = session_events(
            events, s["principal"], s["time"], s_end, mine=by_actor.get(s["principal"], events.iloc[:0])
        )
        context = {
            k: v
            for k, v in (("impossible-travel", trips.get(s["eventID"])), ("outside-hours", outside_hours(s, hours)))
            if v
        }
        row, found, follow = _session(s, s_end, acts, win, usual.get(s["principal"]), times, context)
        sessions.append(row)
        findings += found
        follow_ups += follow
    order = {sev: i for i, sev in enumerate(SEVERITIES)}
    findings.sort(key=lambda f: (-f.extra.get("score", 0), order[f.severity], f.check != "login.session"))
    cols = [
        "principal",
        "arn",
        "start",
        "end",
        "sourceIPAddress",
        "userAgent",
        "mfa",
        "signin_event",
        "actions",
        "risky",
        "signals",
        "score",
        "severity",
    ]
    return LoginAnalysis(
        sign,
        pd.DataFrame(sessions, columns=cols),
        findings,
        notes,
        (start, end),
        (b_start, start),
        _checks(geo, hours, ssh, not base.empty),
        ssh,
        pd.DataFrame(follow_ups, columns=FOLLOW_UP_COLUMNS),
    )
