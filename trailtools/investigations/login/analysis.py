"""Suspicious sign-ins: who got in, from where, how, and what they did next. The pure analysis (no I/O).

Events frame in, ranked findings out. Every console sign-in (``ConsoleLogin``, root included) in the window is judged
against the same principal's sign-ins in the baseline before it (addresses, /24 networks, user agents, hours of the
day; a principal without baseline sign-ins against its API calls, :mod:`.baseline`; one without any call before the
window is a new identity), and each successful sign-in opens a *session*: the calls made with the credentials the
console minted at that sign-in (:mod:`.sessions`; the principal's access keys are other credentials, judged on
their own), whose follow-up actions are classified by the rule tables (persistence, privilege escalation, defense
evasion, discovery bursts, AccessDenied storms). The signals of a session add up to a score that sets its severity;
a sign-in with MFA (or through IAM Identity Center) and no risky follow-up stays at most low. A session is one
finding; what holds for every sign-in of a principal (no MFA, root) is one finding per principal.

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
from trailtools.investigations.login.attacks import merge, sequence_findings
from trailtools.investigations.login.baseline import (
    agent_family,
    call_features,
    first_seen,
    known_before,
    new_identities,
)
from trailtools.investigations.login.credentials import (
    credential_chains,
    key_follow_ups,
    key_new_addresses,
)
from trailtools.investigations.login.failures import (
    FAILURE_LOOKBACK,
    brute_force,
    password_spray,
    root_activity,
    unknown_users,
)
from trailtools.investigations.login.hours import DAYS, BusinessHours, outside_hours
from trailtools.investigations.login.rules import (
    ASK,
    ISSUED_KEY,
    MITRE_VALID_ACCOUNTS,
    REMEDIATION,
    FollowUp,
    call_phrase,
    classify_follow_ups,
    evidence_ref,
    join_words,
    network,
    remedy,
    severity_for,
    text_or_none,
    with_issued_keys,
)
from trailtools.investigations.login.sessions import (
    CREDENTIAL_COLUMNS,
    SESSION_COLUMNS,
    SESSION_LENGTH,
    SIGNIN_EVENTS,
    as_text,
    assign_console_sessions,
    between,
    console_calls,
    credential_ids,
    credential_table,
    issued_keys,
    rows_by_key,
    session_credentials,
    session_events,
)
from trailtools.investigations.login.ssh import ssh_findings
from trailtools.rules.credential_access import judge_workloads
from trailtools.rules.model import by_value

__all__ = ["analyze_logins", "baseline_profile", "brute_force", "novelty", "password_spray", "root_activity",
           "session_events", "signins", "travel", "unknown_users"]

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
HOUR_TOLERANCE_MIN = 120                        # a sign-in within +-2 h of a baseline one's time of day is usual
MIN_BASELINE_FOR_HOURS = 3
NO_MFA_TYPES = ("IAMUser", "Root")              # federated (SSO, SAML) sign-ins do MFA at the identity provider
MFA_AT_IDP_TYPES = ("AssumedRole",)             # IAM Identity Center and SAML federation: MFAUsed is always "No"
PEOPLE = ("IAMUser", "Root", "FederatedUser")   # new identities worth naming (plus IAM Identity Center sessions)


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
    "new-identity": Signal(2, "as a new identity (no calls before the window)", "T1078.004", "login.new-identity",
                           "low", "novelty"),
}
#: signals that hold for every sign-in of a principal (how the account is set up): one finding per principal
#: (:func:`posture`), not a reason for a session finding on their own
POSTURE_SIGNALS = ("root", "no-mfa")
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
    credentials: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CREDENTIAL_COLUMNS))
    # one row per credential used in the window (CREDENTIAL_COLUMNS): what made the calls, and what was new


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


def novelty(signin: dict, usual: dict | None, history: dict | None = None) -> list[str]:
    """Which of new-ip, new-network, new-user-agent, unusual-hour, new-country, new-asn hold for a sign-in against
    its principal's usual (country and ASN only when both are known: a GeoIP database was given). A principal with
    no baseline sign-in but with API calls before the window (``history``: its :func:`~.baseline.known_before`) is
    judged against the addresses and user agent families of those calls."""
    if not usual:
        if not history or not history.get("address"):
            return []
        ip = text_or_none(signin["sourceIPAddress"])
        out = [] if ip in history["address"] else ["new-ip"]
        if network(ip) not in {network(a) for a in history["address"]}:
            out.append("new-network")
        if agent_family(signin["userAgent"]) not in history.get("agent", set()):
            out.append("new-user-agent")
        return out
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



# ---- what a session did -------------------------------------------------------------------------------------------


def _mfa_at_idp(s: dict) -> bool:
    """A federated sign-in (IAM Identity Center's ``AWSReservedSSO_*`` roles, SAML): MFA happens at the identity
    provider, so CloudTrail's ``MFAUsed`` is "No" even when the person used it."""
    return s["type"] in MFA_AT_IDP_TYPES


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
    judged: list[str],
    all_times: pd.Series,
    context: dict[str, dict],
    console: pd.Series | None = None,
    failures: dict | None = None,
):
    """One session: its signals, follow-ups, score, and its one finding (None when it has nothing beyond the
    principal's posture: a sign-in without MFA and nothing else is :func:`posture`'s fact, not a second one).
    ``judged``: the baseline signals (:func:`novelty`, new-identity); ``context``: the signals found outside the
    baseline comparison (impossible-travel, outside-hours) with what their phrases need; ``console``: which rows of
    ``actions`` the console made (its page loads are no discovery burst); ``failures``: :func:`_failures_by_place`
    of ``sign``, when at hand."""
    principal, arn, when, ip = (
        s["principal"],
        text_or_none(s["arn"]) or str(s["principal"]),
        iso_time(s["time"]),
        s["sourceIPAddress"],
    )
    tried = (failures if failures is not None else _failures_by_place(sign)).get((principal, ip))
    before = []
    if tried is not None:   # the failed sign-ins from the same address in the lookback before this one (in order)
        times = tried["time"]
        lo, hi = (int(times.searchsorted(t, side="left")) for t in (s["time"] - FAILURE_LOOKBACK, s["time"]))
        before = tried.iloc[lo:hi].to_dict("records") if hi > lo else []
    keys = (
        (["root"] if s["type"] == "Root" else [])
        + (["no-mfa"] if s["mfa"] == "No" and s["type"] in NO_MFA_TYPES else [])
        + judged
        + (["failures-before"] if before else [])
        + list(context)
    )
    signals = {
        k: 3 if k == "failures-before" and len(before) >= FAILURES_BEFORE_MANY else SIGNALS[k].weight for k in keys
    }
    ups = classify_follow_ups(actions, console)
    score = sum(signals.values()) + sum(u.weight for u in ups)
    severity = severity_for(score)
    mfa = s["mfa"] == "Yes" or _mfa_at_idp(s)
    if mfa and not any(u.weight >= 2 for u in ups) and len(before) < FAILURES_BEFORE_MANY:
        severity = max(severity, "low", key=SEVERITIES.index)  # a new place with MFA and nothing risky after it
    sref, fails = evidence_ref(s, "successful sign-in"), [evidence_ref(r, "failed sign-in") for r in before]
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
    found = []
    risky = [r for u in ups if u.category != "discovery" for r in u.rows]
    if ups or set(signals) - set(POSTURE_SIGNALS):
        how = [phrase[k] for k in SIGNALS if k in signals and not (k == "new-network" and "new-ip" in signals)]
        if "new-ip" in signals and "new-network" in signals:
            how[how.index(phrase["new-ip"])] += " in a new network"
        did = list(dict.fromkeys(call_phrase(r) for r in risky)) + [u.what for u in ups if u.category == "discovery"]
        title = f"{principal} signed in " + ", ".join(how) + (f", then {join_words(did)}" if did else "")
        mfa_text = f"MFA: {s['mfa']}" + (" (MFA is at the identity provider)" if _mfa_at_idp(s) else "")
        why = (
            f"Sign-in at {when} from {ip} ({s['userAgent']}), {mfa_text}. Signals: "
            f"{', '.join(f'{k} (+{w})' for k, w in signals.items()) or 'none'}; follow-ups: "
            + (
                "; ".join(
                    f"{u.category}/{u.mitre} (+{u.weight}): {u.what}, {len(u.rows)} call"
                    f"{'s' if len(u.rows) > 1 else ''} from {iso_time(u.rows[0]['eventTime'])}"
                    for u in ups
                )
                or "none"
            )
            + f"; {len(actions)} calls in the session (until {iso_time(end)}). Score {score}."
        )
        gap = _logging_gap(ups, all_times)
        if gap is not None:
            why += f" The trail then has no events for {gap.total_seconds() / 3600:.1f} h."
        discovery = [evidence_ref(r) for u in ups if u.category == "discovery" for r in u.rows[:3]]
        found.append(
            Finding(
                "login.session",
                severity,
                title.replace("signed in , then", "signed in, then").strip() + f" ({ip}, {when})",
                why,
                arn,
                (*prev, sref, *fails, *(evidence_ref(r) for r in risky[:50]), *discovery),
                remedy(severity, REMEDIATION["session"], ASK["session"]),
                status="INFO" if severity == "info" else "FAIL",
                extra={
                    "mitre": MITRE_VALID_ACCOUNTS,
                    "principal": principal,
                    "session_start": when,
                    "signin_event": str(s["eventID"]),
                    "score": score,
                    "techniques": sorted({SIGNALS[k].mitre for k in signals} | {u.mitre for u in ups}),
                    "signals": dict(signals),
                    "follow_ups": [u.category for u in ups],
                    "failures": len(before),
                },
            )
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


def posture(succ: pd.DataFrame) -> list[Finding]:
    """One finding per principal for what holds at every sign-in: root signing in (``login.root-signin``), an IAM
    user or root signing in without MFA (``login.no-mfa``), with all its sign-ins of the window as evidence.
    Medium; high for root without MFA."""
    out = []
    for key in POSTURE_SIGNALS:
        sig = SIGNALS[key]
        hit = succ[succ["type"] == "Root"] if key == "root" else succ[
            (succ["mfa"] == "No") & succ["type"].isin(NO_MFA_TYPES)]
        for principal, rows in hit.sort_values("time", kind="stable").groupby("principal", sort=True):
            recs = rows.to_dict("records")
            bare = sum(r["mfa"] == "No" for r in recs)
            severity = "high" if recs[0]["type"] == "Root" and bare else sig.severity
            n = len(recs)
            times = f"at {iso_time(recs[0]['time'])}" if n == 1 else (
                f"{n} times between {iso_time(recs[0]['time'])} and {iso_time(recs[-1]['time'])}")
            places = sorted({str(r["sourceIPAddress"]) for r in recs})
            out.append(
                Finding(
                    sig.check,
                    severity,
                    f"{principal} signed in {sig.phrase} {times}",
                    f"Console sign-ins of {principal} {sig.phrase} in the window: {n}, from "
                    f"{', '.join(places[:5])}{' ...' if len(places) > 5 else ''}"
                    + (f"; {bare} without MFA." if key == "root" else "."),
                    text_or_none(recs[0]["arn"]) or str(principal),
                    tuple(evidence_ref(r, "successful sign-in") for r in recs[:50]),
                    remedy(severity, REMEDIATION[sig.remedy]),
                    extra={"mitre": sig.mitre, "principal": principal, "score": sig.weight, "signins": n},
                )
            )
    return out


def new_identity_findings(feats: pd.DataFrame, new_ids: set, start, end, covered: set,
                          event_ids: pd.Series) -> list[Finding]:
    """People (IAM users, root, federated users, IAM Identity Center sessions) with calls in [start, end) and none
    before it, whose calls no other finding already names (``covered``: eventIDs): one low finding each.
    ``event_ids``: the frame's ``eventID`` column (the features' index is the frame's: each call's read from it only
    for the few principals judged, not copied for every call)."""
    out = []
    win = feats[(feats["eventTime"] >= start) & (feats["eventTime"] < end) & feats["principal"].isin(new_ids)]
    for principal, g in win.groupby("principal", sort=True, observed=True):
        if not (g["type"].isin(PEOPLE).any() or str(principal).startswith("AWSReservedSSO_")):
            continue
        g = g.assign(eventID=event_ids.loc[g.index].astype(object))
        if set(g["eventID"]) & covered:
            continue
        recs = g.sort_values("eventTime", kind="stable").to_dict("records")
        first = recs[0]
        places = sorted(g["address"].dropna().unique().tolist())
        agents = sorted(g["agent"].dropna().unique().tolist())
        out.append(
            Finding(
                "login.new-identity",
                "low",
                f"{principal} made its first calls in this window ({len(recs)} from {iso_time(first['eventTime'])})",
                f"{principal} has no calls before the window; its first was {first['api']} at "
                f"{iso_time(first['eventTime'])}"
                + (f", from {', '.join(places[:5])}" if places else "")
                + (f" with {', '.join(agents[:3])}" if agents else "")
                + ". A new principal is normal after someone creates it; a principal nobody expected is how "
                "backdoors look.",
                text_or_none(first.get("arn")) or str(principal),
                tuple(EvidenceRef("cloudtrail", str(r["eventID"]), iso_time(r["eventTime"]),
                                  f"{r['api'].split(':', 1)[-1]} by {principal}") for r in recs[:10]),
                ASK["identity"],
                extra={"mitre": MITRE_VALID_ACCOUNTS, "principal": principal, "score": 2, "calls": len(recs)},
            )
        )
    return out


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
    """Each actor's rows (the ``mine`` of :func:`session_events` with the ``owner`` of
    :func:`assign_console_sessions`), split once for all sessions: only the actors that signed in to the console (no
    other has a session), only the calls that may be console calls (``sessionCredentialFromConsole`` set, or a
    temporary key: a session's own calls are among them) and only the columns a session is judged on."""
    actor = events["actor"]
    signed = pd.unique(actor[events["eventName"].isin(SIGNIN_EVENTS).fillna(False).to_numpy(dtype=bool)].dropna())
    maybe = events["sessionCredentialFromConsole"].notna() | by_value(    # (each distinct key tested once)
        events["userIdentity.accessKeyId"], lambda k: as_text(k).str.startswith("ASIA"))
    rows = events.loc[(actor.isin(signed) & maybe).fillna(False).to_numpy(dtype=bool),
                      [c for c in (*SESSION_COLUMNS, ISSUED_KEY) if c in events.columns]]
    return {k: g for k, g in rows.groupby(rows["actor"].astype(object), sort=False)}


def _in_order(frames: dict) -> dict:
    """Which of the frames (by key) are in time order without missing times: checked once for every session."""
    return {k: bool(g["eventTime"].is_monotonic_increasing and not g["eventTime"].hasnans) for k, g in frames.items()}


def _failures_by_place(sign: pd.DataFrame) -> dict:
    """(principal, address) -> their failed sign-ins, sorted by time (rows without either, or without a time, match
    none): a session finds those right before it by binary search."""
    failed = sign[(sign["result"] == "Failure") & sign["principal"].notna() & sign["sourceIPAddress"].notna()
                  & sign["time"].notna()].sort_values("time", kind="stable")
    return dict(iter(failed.groupby(["principal", "sourceIPAddress"], sort=False, observed=True)))


def _signins_by_place(ok: pd.DataFrame) -> dict:
    """(principal, address) -> the times of their successful sign-ins, sorted (rows without either match none)."""
    known = ok[ok["principal"].notna() & ok["sourceIPAddress"].notna()]
    return {key: times.sort_values(kind="stable").reset_index(drop=True)
            for key, times in known.groupby(["principal", "sourceIPAddress"], sort=False, observed=True)["time"]}


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
    events = with_issued_keys(events)   # each issuing call's response read once
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
            "user agent and hour checks were done only against the API calls before the window."
        )
    if times.min() > b_start:
        notes.append(
            f"The events begin at {iso_time(times.min())}, after the baseline's start ({iso_time(b_start)}): "
            "the baseline is shorter than asked."
        )
    inside = (times >= b_start) & (times < end)
    rng = events if bool(inside.all()) else events[inside]   # (a copy only when some rows lie outside)
    console = console_calls(rng, issued_keys(rng))
    all_ok = sign[sign["result"] == "Success"]
    owner = assign_console_sessions(rng[console], all_ok)
    creds = session_credentials(credential_ids(rng, console), rng, owner, all_ok)
    feats = call_features(rng, creds, geo)
    seen = first_seen(feats, "principal")
    history = known_before(seen, "principal", start)
    new_ids = new_identities(feats, "principal", start, end)
    usual = baseline_profile(base)
    _history_notes(notes, win, usual, history, new_ids)
    findings = brute_force(win) + password_spray(win) + unknown_users(win)
    scope = rng
    if principal:
        scope = scope[_matches(scope, principal, "actor", "userIdentity.arn")]
    in_window = between(scope, start, from_start=True)   # (a slice: both engines give the frame in time order)
    findings += root_activity(in_window)
    keyed = key_new_addresses(scope, start, end, geo) + key_follow_ups(scope, start, end, new_ids)
    chains = credential_chains(scope, start, end)
    stolen = judge_workloads(rng, start, end, geo=geo)
    findings += [
        f
        for f in stolen
        if not principal or principal in (f.extra["principal"], f.extra["workload"], f.extra["principal"].split("/")[0])
    ]
    if ssh is not None:
        findings += ssh_findings(ssh, start, end)
    trips = travel(sign)
    by_actor = _by_actor(events)
    ordered = _in_order(by_actor)
    by_key = rows_by_key(events)
    again, failures = _signins_by_place(all_ok), _failures_by_place(win)
    succ = win[win["result"] == "Success"].sort_values("time", kind="stable")
    sessions, follow_ups, covered, reported = [], [], set(), set()
    owned = set(owner.dropna().tolist())  # the sign-ins some console call belongs to (most of a busy trail's: none)
    no_calls = next(iter(by_actor.values()), events).iloc[:0]   # (every actor's rows have the same columns)
    for s in succ.to_dict("records"):
        # the session lasts until the next successful sign-in of the principal from the same address, at most
        later = again.get((s["principal"], s["sourceIPAddress"]))
        at = int(later.searchsorted(s["time"], side="right")) if later is not None else 0
        s_end = min(s["time"] + SESSION_LENGTH, later.iloc[at] if later is not None and at < len(later)
                    else s["time"] + SESSION_LENGTH)
        mine = by_actor.get(s["principal"], no_calls)
        acts = session_events(
            events,
            s["principal"],
            s["time"],
            s_end,
            mine=mine,
            signin_event=s["eventID"],
            owner=owner,
            by_key=by_key,
            in_order=ordered.get(s["principal"], False),
        ) if s["eventID"] in owned else no_calls   # no console call of its own: nothing, and no key handed out
        context = {
            k: v
            for k, v in (("impossible-travel", trips.get(s["eventID"])), ("outside-hours", outside_hours(s, hours)))
            if v
        }
        judged = novelty(s, usual.get(s["principal"]), history.get(s["principal"]))
        judged += ["new-identity"] if s["principal"] in new_ids else []
        row, found, follow = _session(s, s_end, acts, win, judged, times, context, console, failures)
        sessions.append(row)
        findings += found
        follow_ups += follow
        covered.update(str(e) for e in acts["eventID"])  # the session's: no key or chain finding restates it
        if found:
            reported.add(str(s["eventID"]))
    by_actor = ordered = by_key = no_calls = None   # (the sessions' indexes, copies of rows: let go here)
    findings += posture(succ)
    findings = [f for f in findings if f.check != "login.brute-force" or f.extra.get("success_event") not in reported]
    findings += [f for f in keyed if not {e.ref for e in f.evidence} <= covered]
    findings += [f for f in chains if f.evidence[0].ref not in covered]
    named = {e.ref for f in findings for e in f.evidence}
    mine = feats if not principal else feats[_matches(feats, principal, "principal", "arn")]
    findings += new_identity_findings(mine, new_ids, start, end, named, rng["eventID"])
    findings = merge(findings, sequence_findings(rng, start, end, principal))   # the library's attack sequences
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
    creds_table = credential_table(mine if principal else feats, owner, start, end, new_ids, seen)
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
        creds_table,
    )


def _history_notes(notes: list[str], win: pd.DataFrame, usual: dict, history: dict, new_ids: set) -> None:
    """Say which principals were judged against something other than their baseline sign-ins."""
    no_signins = sorted({str(p) for p in win.loc[win["result"] == "Success", "principal"] if p not in usual})
    for words, names in (
        ("No baseline sign-ins for {}: judged against their API calls before the window.",
         [p for p in no_signins if p in history]),
        ("No calls at all before the window for {}: judged as new identities.",
         [p for p in no_signins if p in new_ids]),
    ):
        if names:
            notes.append(words.format(", ".join(names[:10]) + (" ..." if len(names) > 10 else "")))
