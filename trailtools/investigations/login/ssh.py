"""SSH logins on instances, from the guest's ``secure`` / ``auth.log`` (read by
:func:`trailtools.evidence.guest_logs.read_guest_logs`,
its ``ssh`` frame). Pure functions, attempts in, findings out; the rules and thresholds are in docs/login.md.

- ``login.ssh-brute-force``: >= :data:`BURST_COUNT` failed attempts from one address within :data:`BURST_WITHIN`
  (high when the same address then got in within :data:`GOT_IN_WITHIN`).
- ``login.ssh-new-source``: an accepted login for a user on a host from an address that user never logged in from
  before the window (only judged when the user has logins before the window); medium after failures from there.
- ``login.ssh-root``: an accepted login as ``root``.
- ``login.ssh-summary``: per host, accepted and failed attempts by user and by address (informational).
"""
from __future__ import annotations

import pandas as pd

from trailtools.findings.model import EvidenceRef, Finding, iso_time
from trailtools.investigations.login.rules import bursts, remedy

BURST_COUNT, BURST_WITHIN = 5, pd.Timedelta(minutes=10)
GOT_IN_WITHIN = pd.Timedelta(minutes=15)
MITRE_SSH = "T1021.004"             # Remote Services: SSH
MITRE_BRUTE = "T1110.001"
MAX_EVIDENCE = 50
REMEDY_BRUTE = ("Block the address (security group, fail2ban), allow SSH only from known networks or use SSM Session "
                "Manager, and disable password authentication.")
REMEDY_LOGIN = ("Ask the user whether the login was theirs; if not, remove the key from authorized_keys, look at what "
                "the session did (shell history, sudo lines), and rotate credentials stored on the instance.")


def evidence_ref(r: dict, summary: str) -> EvidenceRef:
    return EvidenceRef("guest-log", f"{r['file']}:{r['line']}", iso_time(r["time"]), summary)


def _who(r: dict) -> str:
    return f"{r['user']}@{r['host']}" if r.get("host") else str(r["user"])


def _top(series: pd.Series, n: int = 5) -> str:
    counts = series.astype(str).value_counts()
    return ", ".join(f"{k} x{v}" for k, v in counts.head(n).items()) + (" ..." if len(counts) > n else "")


def ssh_brute_force(window: pd.DataFrame) -> list[Finding]:
    out = []
    fails = window[window["result"] == "failed"]
    ok = window[window["result"] == "accepted"]
    for source, rows in fails.groupby("source", sort=True):
        for sl in bursts(rows["time"], BURST_COUNT, BURST_WITHIN):
            burst = rows.iloc[sl]
            last = burst["time"].iloc[-1]
            won = ok[(ok["source"] == source) & (ok["time"] > last) & (ok["time"] <= last + GOT_IN_WITHIN)]
            host = ", ".join(sorted(burst["host"].dropna().astype(str).unique())) or "the instance"
            then = f" and then logged in as {won['user'].iloc[0]}" if len(won) else ""
            recs = burst.to_dict("records")
            out.append(Finding(
                "login.ssh-brute-force", "high" if len(won) else "medium",
                f"{len(burst)} failed SSH logins from {source} on {host} within "
                f"{max(1, round((last - recs[0]['time']).total_seconds() / 60))} min{then}",
                f"{len(burst)} failed SSH authentications from {source} between {iso_time(recs[0]['time'])} and "
                f"{iso_time(last)} for the users {_top(burst['user'])}"
                + (f"; {int(burst['invalid_user'].sum())} of them to users that do not exist" if
                   burst["invalid_user"].any() else "")
                + (f"; an SSH login as {won['user'].iloc[0]} from the same address succeeded at "
                   f"{iso_time(won['time'].iloc[0])}." if len(won) else "."),
                host, tuple(evidence_ref(r, f"failed SSH login as {r['user']}") for r in recs[:MAX_EVIDENCE])
                + tuple(evidence_ref(r, f"accepted SSH login as {r['user']}") for r in won.to_dict("records")[:1]),
                REMEDY_BRUTE,
                extra={"mitre": MITRE_BRUTE, "principal": _who(won.iloc[0].to_dict()) if len(won) else None,
                       "source": source, "score": 6 if len(won) else 3, "failures": len(burst)}))
    return out


def ssh_logins(window: pd.DataFrame, before: pd.DataFrame) -> list[Finding]:
    out = []
    known = {k: set(g) for k, g in before[before["result"] == "accepted"].groupby(["host", "user"], dropna=False)
             ["source"]}
    fails = window[window["result"] == "failed"]
    for r in window[window["result"] == "accepted"].to_dict("records"):
        earlier = fails[(fails["source"] == r["source"]) & (fails["time"] < r["time"])].to_dict("records")
        history = known.get((r["host"], r["user"]))
        new = bool(history) and r["source"] not in history
        root = r["user"] == "root"
        if not (new or root):
            continue
        score = (2 if root else 0) + (1 if new else 0) + (2 if earlier and new else 0)
        what = " and ".join(w for w, on in (("as root", root), ("from a new address", new)) if on)
        severity = "medium" if score >= 2 else "low"
        out.append(Finding(
            "login.ssh-root" if root else "login.ssh-new-source", severity,
            f"SSH login {what}: {_who(r)} from {r['source']} ({iso_time(r['time'])})"
            + (f" after {len(earlier)} failed attempt{'s' if len(earlier) > 1 else ''} from there" if earlier else ""),
            f"sshd accepted {r['method']} authentication for {r['user']} on {r['host']} from {r['source']} port "
            f"{r['port']} at {iso_time(r['time'])}"
            + (f"; before the window {r['user']} logged in only from {', '.join(sorted(map(str, history))[:5])}"
               if new else "") + ".",
            str(r["host"] or r["file"]), (evidence_ref(r, f"accepted SSH login as {r['user']}"),)
            + tuple(evidence_ref(f, f"failed SSH login as {f['user']}") for f in earlier[-10:]),
            remedy(severity, REMEDY_LOGIN, "Ask the user whether the login was theirs."),
            extra={"mitre": MITRE_SSH, "principal": _who(r), "source": r["source"], "score": score}))
    return out


def ssh_summary(window: pd.DataFrame) -> list[Finding]:
    out = []
    for host, rows in window.groupby(window["host"].fillna("(no host)"), sort=True):
        ok, bad = rows[rows["result"] == "accepted"], rows[rows["result"] == "failed"]
        text = (f"{len(ok)} accepted SSH login{'s' if len(ok) != 1 else ''}"
                + (f" ({_top(ok['user'])}; from {_top(ok['source'])})" if len(ok) else "")
                + f", {len(bad)} failed" + (f" from {bad['source'].nunique()} addresses ({_top(bad['source'])}; "
                                            f"users {_top(bad['user'])}; {int(bad['invalid_user'].sum())} to users "
                                            "that do not exist)" if len(bad) else ""))
        evidence = [evidence_ref(r, f"accepted SSH login as {r['user']} from {r['source']}")
                    for r in ok.to_dict("records")[:10]]
        evidence += [
            evidence_ref(r, f"failed SSH login as {r['user']} from {r['source']}") for r in bad.to_dict("records")[:5]
        ]
        out.append(
            Finding(
                "login.ssh-summary",
                "info",
                f"{host}: {len(ok)} accepted and {len(bad)} failed SSH logins",
                f"On {host} between {iso_time(rows['time'].min())} and {iso_time(rows['time'].max())}: {text}.",
                str(host),
                tuple(evidence),
                "",
                status="INFO",
                extra={"mitre": MITRE_SSH, "principal": None, "score": 0, "accepted": len(ok), "failed": len(bad)},
            )
        )
    return out


def ssh_findings(ssh: pd.DataFrame, start, end) -> list[Finding]:
    """All SSH findings for the attempts in [start, end), judged against the attempts before ``start``."""
    if ssh is None or ssh.empty:
        return []
    window = ssh[(ssh["time"] >= start) & (ssh["time"] < end)]
    before = ssh[ssh["time"] < start]
    return ssh_brute_force(window) + ssh_logins(window, before) + ssh_summary(window)
