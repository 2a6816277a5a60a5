"""Suspicious sign-ins (trailtools.investigations.login.analysis): the demo's incident 6 and its look-alikes, real detonation logs, the AWS
docs' sign-in examples, and each detector alone on small frames."""
import pandas as pd
import pytest
from conftest import AWSDOCS, STRATUS, need, record, ts

from trailtools import load_events
from trailtools.findings.model import SEVERITIES
from trailtools.investigations.login.analysis import (
    analyze_logins,
    baseline_profile,
    brute_force,
    novelty,
    password_spray,
    session_events,
    signins,
    unknown_users,
)
from trailtools.investigations.login.rules import BURST_RULES, FOLLOW_UP_RULES, classify_follow_ups

AT_MOST_LOW = ("low", "info")


def _rank(sev: str) -> int:
    return SEVERITIES.index(sev)


@pytest.fixture(scope="module")
def demo_frame():
    return load_events("demo").frame


@pytest.fixture(scope="module")
def demo(demo_frame):
    return analyze_logins(demo_frame, start="2026-10-07", end="2026-10-15", baseline_days=30)


@pytest.fixture(scope="module")
def stratus():
    return load_events(str(need(STRATUS)), cache=False).frame


def _file(frame, part):
    return frame[frame["_file"].astype(str).str.contains(part, regex=False)]


# ---- the demo account: incident 6 --------------------------------------------------------------------------------

def test_emma_session_is_the_top_finding(demo):
    top = demo.findings[0]
    assert top.check == "login.session" and top.extra["principal"] == "emma.wilson"
    assert top.severity in ("high", "critical")
    assert top.extra["mitre"] == "T1078.004" and top.resource == "arn:aws:iam::314159265358:user/emma.wilson"
    summaries = " ".join(e.summary for e in top.evidence)
    for name in ("CreateAccessKey", "AttachUserPolicy", "StopLogging"):
        assert name in summaries
    assert "without MFA" in top.title and "4 failed" in top.title and "AdministratorAccess" in top.title
    assert "stopped CloudTrail" in top.title
    assert top.evidence[0].time == "2026-10-11T02:16:30Z"
    assert sum(e.summary == "failed sign-in" for e in top.evidence) == 4
    assert "11.7 h" in top.explanation   # the logging gap after StopLogging
    assert {"T1098.001", "T1098.003", "T1562.008", "T1110.001"} <= set(top.extra["techniques"])


def test_emma_one_finding_per_fact(demo):
    """Issue 20 item 5: the session is one finding holding its signals and follow-ups; the brute force that ended
    in it is part of it; her sign-ins without MFA are one posture finding, not one per sign-in."""
    emma = [f for f in demo.findings if f.extra.get("principal") == "emma.wilson"]
    attack = [f for f in emma if f.extra.get("session_start") == "2026-10-11T02:16:30Z"]
    assert [f.check for f in attack] == ["login.session"]
    top = attack[0]
    assert {"no-mfa", "new-ip", "new-network", "failures-before"} <= set(top.extra["signals"])
    assert {"persistence", "privilege-escalation", "defense-evasion"} <= set(top.extra["follow_ups"])
    assert top.extra["failures"] == 4 and top.extra["signals"]["failures-before"] == 3
    assert not [f for f in emma if f.check in ("login.brute-force", "login.persistence", "login.defense-evasion",
                                               "login.success-after-failures", "login.new-ip")]
    [nomfa] = [f for f in emma if f.check == "login.no-mfa"]
    assert nomfa.severity == "medium" and len(nomfa.evidence) == nomfa.extra["signins"] > 1
    assert "2026-10-11T02:16:30Z" in {e.time for e in nomfa.evidence}
    [root] = [f for f in demo.findings if f.check == "login.root-signin"]
    assert root.extra["signins"] == len(root.evidence) > 1
    titles = [f.title for f in demo.findings]
    assert len(titles) == len(set(titles))


def test_remediation_only_where_the_severity_warrants_it(demo):
    """Info findings recommend nothing; low ones ask; only medium and above say disable, revoke or revert."""
    containment = ("disable", "deactivate", "revoke", "revert")
    for f in demo.findings:
        if f.severity == "info":
            assert f.remediation == "", (f.check, f.title)
        elif f.severity == "low":
            assert not any(w in f.remediation.lower() for w in containment), (f.check, f.remediation)
    assert "disable" in demo.findings[0].remediation


def test_session_table(demo):
    s = demo.sessions
    emma = s[(s["principal"] == "emma.wilson") & (s["start"] == ts("2026-10-11T02:16:30Z"))].iloc[0]
    assert emma["sourceIPAddress"] == "203.0.113.201" and emma["mfa"] == "No"
    assert emma["risky"] == ["CreateAccessKey", "AttachUserPolicy", "StopLogging"]
    assert emma["actions"] == 5     # ListUsers, ListAttachedUserPolicies and the three above
    assert emma["end"] == ts("2026-10-11T14:16:30Z")
    sig = demo.signins
    assert set(sig.columns) >= {"time", "principal", "arn", "type", "result", "mfa", "sourceIPAddress", "userAgent",
                                "errorMessage", "eventID"}
    assert ((sig["principal"] == "emma.wilson") & (sig["result"] == "Failure") & sig["in_window"]).sum() == 4


@pytest.mark.slow
def test_follow_ups_are_the_sessions_classified_calls(demo, demo_frame):
    # the timeline's rows come from the same classification as the findings (done once, in analyze_logins)
    ups = demo.follow_ups
    assert list(ups.columns) == ["time", "principal", "eventName", "category", "mitre", "sourceIPAddress", "eventID"]
    emma = ups[ups["principal"] == "emma.wilson"]
    assert {"CreateAccessKey", "AttachUserPolicy", "StopLogging"} <= set(emma["eventName"])
    want = []
    for s in demo.sessions.to_dict("records"):
        acts = session_events(demo_frame, s["principal"], s["start"], s["end"], signin_event=s["signin_event"])
        want += [(r["eventID"], s["principal"], u.category) for u in classify_follow_ups(acts) for r in u.rows]
    assert list(zip(ups["eventID"], ups["principal"], ups["category"])) == want and want
    assert analyze_logins(demo_frame.iloc[:0]).follow_ups.empty


def test_benign_lookalikes_at_most_low(demo):
    for who in ("frank.chen", "grace.kim"):
        mine = [f for f in demo.findings if f.extra.get("principal") == who]
        assert all(f.severity in AT_MOST_LOW for f in mine), [(f.check, f.severity) for f in mine]
    [frank] = [f for f in demo.findings if f.extra.get("principal") == "frank.chen"
               and f.extra.get("session_start") == "2026-10-07T13:12:40Z"]
    assert frank.check == "login.session" and "new-ip" in frank.extra["signals"]     # seen, but not raised
    [grace] = [f for f in demo.findings if f.extra.get("principal") == "grace.kim"
               and f.extra.get("session_start") == "2026-10-09T07:58:41Z"]
    assert grace.severity == "info" and grace.extra["signals"] == {"failures-before": 1} and not grace.remediation


def test_principal_alice_finds_her_sso_session_name(demo_frame):
    """She signs in through IAM Identity Center: AWSReservedSSO_.../alice@example.com. The user part finds her; the
    exact session name and ARN still do; a name that is only a prefix does not."""
    a = analyze_logins(demo_frame, start="2026-10-07", end="2026-10-15", principal="alice")
    assert len(a.signins) and {p.rsplit("/", 1)[1] for p in a.signins["principal"]} == {"alice@example.com"}
    exact = analyze_logins(demo_frame, start="2026-10-07", end="2026-10-15", principal="alice@example.com")
    assert list(exact.signins["eventID"]) == list(a.signins["eventID"])
    by_arn = analyze_logins(demo_frame, start="2026-10-07", end="2026-10-15", principal=a.signins["arn"].iloc[0])
    assert list(by_arn.signins["eventID"]) == list(a.signins["eventID"])
    assert analyze_logins(demo_frame, start="2026-10-07", end="2026-10-15", principal="ali").signins.empty
    frank = analyze_logins(demo_frame, start="2026-10-07", end="2026-10-15", principal="frank.chen").signins
    assert len(frank) and set(frank["principal"]) == {"frank.chen"}    # an IAM user, exactly


def test_principal_filter_and_notes(demo_frame):
    a = analyze_logins(demo_frame, start="2026-10-07", end="2026-10-15", principal="grace.kim")
    assert set(a.signins["principal"]) == {"grace.kim"}
    assert all(f.extra.get("principal") in ("grace.kim", None) for f in a.findings)
    assert any("GeoIP" in n for n in a.notes)
    assert a.window == (ts("2026-10-07"), ts("2026-10-15")) and a.baseline[0] == ts("2026-09-07")


def test_default_window_is_last_seven_days(demo_frame):
    a = analyze_logins(demo_frame, principal="emma.wilson")
    assert a.window[1] - a.window[0] == pd.Timedelta(days=7) and a.window[1] > ts("2026-10-14T23:59")
    assert a.findings[0].extra["session_start"] == "2026-10-11T02:16:30Z"


# ---- real data: Stratus Red Team detonations ---------------------------------------------------------------------

def test_stratus_console_login_without_mfa(stratus):
    a = analyze_logins(_file(stratus, "console-login-without-mfa"), start="2024-08-01", end="2024-08-03")
    nomfa = [f for f in a.findings if f.check == "login.no-mfa"]
    assert len(nomfa) == 1 and nomfa[0].evidence[0].ref == a.signins["eventID"].iloc[0]
    assert nomfa[0].severity == "medium" and nomfa[0].resource.endswith(":user/stratus-red-team-nmfalu-jfzdtsvchl")
    assert any("No sign-ins in the baseline" in n for n in a.notes)


@pytest.mark.parametrize("part, category, names", [
    ("iam-backdoor-user", "persistence", {"CreateAccessKey"}),
    ("iam-create-admin-user", "persistence", {"CreateUser", "CreateAccessKey"}),
    ("iam-create-admin-user", "privilege-escalation", {"AttachUserPolicy"}),
    ("iam-create-backdoor-role", "persistence", {"CreateRole"}),
    ("iam-create-backdoor-role", "privilege-escalation", {"AttachRolePolicy"}),
    ("iam-backdoor-role", "persistence", {"UpdateAssumeRolePolicy"}),
    ("iam-create-user-login-profile", "persistence", {"CreateLoginProfile"}),
    ("iam-update-user-login-profile", "persistence", {"UpdateLoginProfile"}),
    ("cloudtrail-stop", "defense-evasion", {"StopLogging"}),
    ("cloudtrail-delete", "defense-evasion", {"DeleteTrail"}),
    ("cloudtrail-event-selectors", "defense-evasion", {"PutEventSelectors"}),
    ("vpc-remove-flow-logs", "defense-evasion", {"DeleteFlowLogs"}),
])
def test_stratus_follow_up_detector(stratus, part, category, names):
    # these detonations call the API with access keys (no sign-in precedes them): the detector alone
    ups = classify_follow_ups(_file(stratus, part))
    got = set().union(*[{r["eventName"] for r in u.rows} for u in ups if u.category == category])
    assert names <= got
    assert all(u.mitre.startswith(("T1098", "T1136", "T1562")) for u in ups if u.category != "discovery")


def test_stratus_persistence_after_a_sign_in(stratus):
    """The admin-user detonation (made with christophe's access key) right after a console sign-in of christophe:
    the key's calls are the key's, not the console session's (a session is one credential); the same calls made
    with console-minted credentials are the session's."""
    login = _file(stratus, "console-login-without-mfa").copy()
    calls = _file(stratus, "iam-create-admin-user")
    t0 = calls["eventTime"].min() - pd.Timedelta(minutes=5)
    login["eventTime"] = t0
    login["actor"] = pd.Categorical(["christophe"])
    frame = pd.concat([login, calls]).sort_values("eventTime", kind="stable").reset_index(drop=True)
    a = analyze_logins(frame, start=t0 - pd.Timedelta(hours=1), end=t0 + pd.Timedelta(hours=1))
    top = a.findings[0]
    assert top.check == "login.key-activity" and top.severity == "high"
    assert {"persistence", "privilege-escalation"} <= set(top.extra["follow_ups"])
    assert a.sessions["risky"].iloc[0] == [] and not [f for f in a.findings if f.check == "login.session"]
    console = calls.copy()
    console["sessionCredentialFromConsole"] = pd.Categorical(["true"] * len(console))
    console["userIdentity.accessKeyId"] = pd.Categorical(["ASIA" + "C" * 16] * len(console))
    frame = pd.concat([login, console]).sort_values("eventTime", kind="stable").reset_index(drop=True)
    a = analyze_logins(frame, start=t0 - pd.Timedelta(hours=1), end=t0 + pd.Timedelta(hours=1))
    top = a.findings[0]
    assert top.check == "login.session" and top.severity in ("high", "critical")
    assert {"persistence", "privilege-escalation"} <= set(top.extra["follow_ups"])


# ---- real data: the AWS docs' sign-in examples -------------------------------------------------------------------

def test_awsdocs_sign_in_examples():
    frame = load_events(str(need(AWSDOCS)), cache=False).frame
    frame = _file(frame, "console-sign-in")
    a = analyze_logins(frame, start="2022-11-01", end="2022-12-01")
    root = [f for f in a.findings if f.check == "login.root-signin"]
    assert root and root[0].severity == "high"
    assert any(f.check == "login.no-mfa" and f.extra["principal"] == "root" and f.severity == "high"
               for f in a.findings)
    fails = a.signins[a.signins["result"] == "Failure"]
    assert len(fails) == 2 and set(fails["principal"]) == {"anaya", "root"}
    assert (fails["errorMessage"] == "Failed authentication").all()
    assert any(f.check == "login.root-activity" for f in a.findings)      # EnableMFADevice, PasswordUpdated
    no_mfa = {f.evidence[0].ref: f for f in a.findings if f.check == "login.no-mfa"}
    anaya = a.signins[(a.signins["principal"] == "anaya") & (a.signins["result"] == "Success")]
    without, with_mfa = (anaya.loc[anaya["mfa"] == m, "eventID"].iloc[0] for m in ("No", "Yes"))
    assert no_mfa[without].severity == "medium" and with_mfa not in no_mfa     # IAM user: example 01 yes, 02 no


# ---- the detectors alone -----------------------------------------------------------------------------------------

def _frame(records):
    import json
    import tempfile
    from pathlib import Path
    d = Path(tempfile.mkdtemp())
    (d / "t.json").write_text(json.dumps({"Records": records}))
    return load_events(str(d), cache=False).frame


def _login(eid, time, user, ip="192.0.2.10", ok=True, mfa="No", hidden=False):
    ident = {"type": "IAMUser", "principalId": "AIDAX", "accountId": "111122223333", "accessKeyId": "",
             "userName": "HIDDEN_DUE_TO_SECURITY_REASONS" if hidden else user}
    if ok:
        ident["arn"] = f"arn:aws:iam::111122223333:user/{user}"
    return record(eid, time, "ConsoleLogin", userIdentity=ident, eventSource="signin.amazonaws.com",
                  userAgent="Mozilla/5.0", eventType="AwsConsoleSignIn", readOnly=False, sourceIPAddress=ip,
                  responseElements={"ConsoleLogin": "Success" if ok else "Failure"},
                  additionalEventData={"MFAUsed": mfa, "LoginTo": "https://console.aws.amazon.com/"},
                  **({} if ok else {"errorMessage": "Failed authentication"}))


def test_spraying_unknown_users_and_bursts():
    recs = [_login(f"f{i}", f"2024-01-01T10:0{i}:00Z", u, ip="198.51.100.9", ok=False)
            for i, u in enumerate(["ann", "ben", "cat", "dan"])]
    recs += [_login(f"h{i}", f"2024-01-01T11:0{i}:00Z", "x", ip="198.51.100.8", ok=False, hidden=True)
             for i in range(3)]
    sign = signins(_frame(recs))
    spray = password_spray(sign)
    assert len(spray) == 1 and spray[0].extra["mitre"] == "T1110.003" and len(spray[0].evidence) == 4
    unknown = unknown_users(sign)
    assert len(unknown) == 1 and unknown[0].resource == "198.51.100.8" and unknown[0].severity == "medium"
    assert brute_force(sign) == []      # unknown names are unknown_users(), not a burst against one user


def test_brute_force_needs_three_within_ten_minutes():
    spread = [_login(f"s{i}", f"2024-01-01T1{i}:00:00Z", "ann", ok=False) for i in range(4)]
    assert brute_force(signins(_frame(spread))) == []
    close = [_login(f"c{i}", f"2024-01-01T10:0{i}:00Z", "ann", ok=False) for i in range(3)]
    found = brute_force(signins(_frame(close)))
    assert len(found) == 1 and found[0].severity == "medium" and found[0].extra["failures"] == 3


def test_novelty_and_hours():
    base = signins(_frame([_login(f"b{i}", f"2024-01-0{i + 1}T09:00:00Z", "ann", ip="192.0.2.10")
                           for i in range(3)]))
    usual = baseline_profile(base)["ann"]
    row = {"sourceIPAddress": "192.0.2.99", "userAgent": "Mozilla/5.0", "time": ts("2024-01-09T10:30:00Z")}
    assert novelty(row, usual) == ["new-ip"]
    row = {"sourceIPAddress": "203.0.113.5", "userAgent": "curl", "time": ts("2024-01-09T03:00:00Z")}
    assert novelty(row, usual) == ["new-ip", "new-network", "new-user-agent", "unusual-hour"]
    assert novelty(row, None) == []


def test_discovery_burst_and_access_denied_storm():
    recs = [record(f"d{i}", f"2024-01-01T10:00:{i:02d}Z", "DescribeInstances") for i in range(12)]
    recs += [record(f"e{i}", f"2024-01-01T11:00:{i:02d}Z", "GetSecretValue", errorCode="AccessDenied")
             for i in range(5)]
    ups = {u.category: u for u in classify_follow_ups(_frame(recs))}
    assert len(ups["discovery"].rows) == 12
    assert len(ups["access-denied"].rows) == 5


def test_rules_are_data():
    names = set().union(*[r.names for r in FOLLOW_UP_RULES])
    assert {"CreateAccessKey", "StopLogging", "DeleteDetector", "StopConfigurationRecorder"} <= names
    assert all(r.severity in SEVERITIES for r in FOLLOW_UP_RULES + BURST_RULES)


def test_spraying_needs_the_failures_close_together():
    recs = [_login(f"f{i}", f"2024-01-0{i + 1}T10:00:00Z", u, ip="198.51.100.9", ok=False)
            for i, u in enumerate(["ann", "ben", "cat"])]
    assert password_spray(signins(_frame(recs))) == []     # three typos on three days from one office address


def test_findings_fit_the_findings_document(demo):
    import json

    from trailtools.findings.schema import build_document, validate
    doc = build_document("login", {"source": "demo"}, verdict=None, findings=[f.to_dict() for f in demo.findings],
                         sources=[], load_stats=None, generated_at="2026-10-15T00:00:00Z")
    assert validate(json.loads(json.dumps(doc, default=str))) == []
    assert doc["findings"][0]["principal"] == "emma.wilson"
