"""The login investigation runs the rules library's attack sequences and keeps one finding per fact (issue 18 item 6):
the backdoor login of the demo account (incident 8) is one critical finding in the login report, not a medium
no-MFA sign-in beside a key's activity; a sequence the console session already tells is not said twice."""
from __future__ import annotations

from trailtools.findings.model import EvidenceRef, Finding
from trailtools.investigations.login.attacks import merge
from trailtools.investigations.login.gather import investigate


def _finding(check, severity, refs):
    return Finding(check, severity, check, "", "r", tuple(EvidenceRef("cloudtrail", r, "2026-11-03T10:00:00Z", r)
                                                          for r in refs), "")


def test_a_sequence_replaces_the_findings_it_ties_together():
    signin = _finding("login.no-mfa", "medium", ["login"])
    key = _finding("login.key-activity", "high", ["create-user", "create-profile"])
    other = _finding("login.root-activity", "medium", ["root-call"])
    seq = _finding("sequences.backdoor-login", "critical", ["create-user", "create-profile", "login"])
    assert merge([signin, key, other], [seq]) == [other, seq]


def test_a_sequence_a_session_already_tells_is_left_out():
    session = _finding("login.session", "critical", ["login", "attach-policy", "stop-logging", "create-key"])
    seq = _finding("sequences.evasion-after-sign-in", "high", ["login", "stop-logging"])
    assert merge([session], [seq]) == [session]


def test_demo_backdoor_login_is_one_critical_finding_in_the_login_investigation():
    inv = investigate(source="demo", start="2026-10-14", end="2026-10-14")
    top = inv.analysis.findings[0]
    assert top.check == "sequences.backdoor-login" and top.severity == "critical"
    assert "support-ops" in top.title and "9 seconds later without MFA" in top.title
    # the sign-in without MFA and legacy-deploy's key activity are in it, not beside it
    about = [f for f in inv.analysis.findings if "support-ops" in f.title or "legacy-deploy" in f.title]
    assert about == [top]


def test_demo_incident_6_keeps_its_session_finding_first():
    inv = investigate(source="demo", start="2026-10-11", end="2026-10-11")
    top = inv.analysis.findings[0]
    assert top.check == "login.session" and top.severity == "critical" and "emma.wilson" in top.title
    assert not [f for f in inv.analysis.findings if f.check.startswith("sequences.") and "emma" in f.title]
