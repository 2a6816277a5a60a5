"""Failed sign-ins and root use, judged on their own: brute force, password spraying, unknown user names, root API
calls. Pure functions: the sign-ins frame of :func:`trailtools.investigations.login.analysis.signins` (or the events
frame, for root) in, findings out; the thresholds are in docs/login.md."""
from __future__ import annotations

import pandas as pd

from trailtools.findings.model import Finding, iso_time
from trailtools.investigations.login.rules import (
    MITRE_VALID_ACCOUNTS,
    REMEDIATION,
    bursts,
    evidence_ref,
    remedy,
    text_or_none,
)
from trailtools.investigations.login.sessions import SIGNIN_EVENTS

FAILURE_LOOKBACK = pd.Timedelta(minutes=15)     # failures this long before a success count as "right before" it
BRUTE_FORCE_COUNT, BRUTE_FORCE_WITHIN = 3, pd.Timedelta(minutes=10)
SPRAY_PRINCIPALS, SPRAY_WITHIN = 3, pd.Timedelta(hours=1)


def minutes(d: pd.Timedelta) -> str:
    return f"{max(1, round(d.total_seconds() / 60))} min"


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
                    f"{len(burst)} failed sign-ins for {principal} within {minutes(last - burst[0]['time'])}{then}",
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
                        "success_event": str(won["eventID"].iloc[0]) if len(won) else None,
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
        severity = "medium" if n >= BRUTE_FORCE_COUNT else "low"
        out.append(
            Finding(
                "login.unknown-user",
                severity,
                f"{n} sign-in attempt{'s' if n > 1 else ''} from {ip} to user names that do not exist",
                "CloudTrail hides the user name of a failed sign-in when no such user exists (mistyped names, or "
                "someone guessing).",
                str(ip),
                tuple(evidence_ref(r, "failed sign-in, unknown user") for r in grp.to_dict("records")[:50]),
                remedy(severity, REMEDIATION["failures"], "Ask whether someone mistyped a user name there."),
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
