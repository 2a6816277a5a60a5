"""SSH logins from guest logs (trailtools.investigations.login.ssh over trailtools.evidence.guest_logs' ssh frame): a hand-written auth.log, and
the demo's jump host with its daily scanners (docs/demo-account.md, incident 4)."""
import pytest
from conftest import ts

from trailtools.evidence.guest_logs import read_guest_logs
from trailtools.investigations.login.ssh import ssh_findings
from trailtools.sources.resolve import resolve_source

AUTH_LOG = """\
2024-01-02T09:00:00+00:00 web sshd[100]: Accepted publickey for ubuntu from 192.0.2.10 port 50000 ssh2: ED25519 SHA256:abc
2024-01-03T09:00:00+00:00 web sshd[101]: Accepted publickey for ubuntu from 192.0.2.10 port 50001 ssh2: ED25519 SHA256:abc
2024-01-08T03:00:00+00:00 web sshd[200]: Failed password for ubuntu from 198.51.100.9 port 40000 ssh2
2024-01-08T03:00:20+00:00 web sshd[200]: Failed password for ubuntu from 198.51.100.9 port 40000 ssh2
2024-01-08T03:01:00+00:00 web sshd[201]: Invalid user admin from 198.51.100.9 port 40001
2024-01-08T03:01:01+00:00 web sshd[201]: Failed password for invalid user admin from 198.51.100.9 port 40001 ssh2
2024-01-08T03:02:00+00:00 web sshd[202]: Failed password for root from 198.51.100.9 port 40002 ssh2
2024-01-08T03:03:00+00:00 web sshd[203]: Failed password for ubuntu from 198.51.100.9 port 40003 ssh2
2024-01-08T03:04:00+00:00 web sshd[204]: Accepted password for ubuntu from 198.51.100.9 port 40004 ssh2
2024-01-08T03:04:00+00:00 web sshd[204]: pam_unix(sshd:session): session opened for user ubuntu by (uid=0)
2024-01-08T04:00:00+00:00 web sshd[300]: Accepted publickey for root from 192.0.2.10 port 50002 ssh2: RSA SHA256:def
2024-01-08T05:00:00+00:00 web sudo:   ubuntu : TTY=pts/0 ; PWD=/home/ubuntu ; USER=root ; COMMAND=/bin/ls
"""


@pytest.fixture
def ssh(tmp_path):
    path = tmp_path / "auth.log"
    path.write_text(AUTH_LOG)
    return read_guest_logs([path]).ssh


def test_attempts_are_counted_once(ssh):
    assert len(ssh) == 9 and (ssh["result"] == "accepted").sum() == 4
    admin = ssh[ssh["user"] == "admin"]
    assert len(admin) == 1 and admin["invalid_user"].iloc[0] and admin["method"].iloc[0] is None   # not twice
    assert ssh["host"].unique().tolist() == ["web"] and ssh["line"].iloc[-1] == 11


def test_brute_force_then_in(ssh):
    found = ssh_findings(ssh, ts("2024-01-08"), ts("2024-01-09"))
    bf = [f for f in found if f.check == "login.ssh-brute-force"]
    assert len(bf) == 1 and bf[0].severity == "high" and bf[0].extra["failures"] == 5
    assert bf[0].extra["source"] == "198.51.100.9" and "then logged in as ubuntu" in bf[0].title
    assert bf[0].evidence[-1].ref.endswith("auth.log:9") and bf[0].evidence[0].kind == "guest-log"
    new = next(f for f in found if f.check == "login.ssh-new-source")
    assert new.severity == "medium" and new.extra["principal"] == "ubuntu@web" and "after 5 failed" in new.title
    root = next(f for f in found if f.check == "login.ssh-root")
    assert root.severity == "medium" and root.extra["source"] == "192.0.2.10"
    summary = next(f for f in found if f.check == "login.ssh-summary")
    assert summary.severity == "info" and summary.extra == {**summary.extra, "accepted": 2, "failed": 5}
    assert "root x1" in summary.explanation and "198.51.100.9 x5" in summary.explanation


def test_ssh_findings_fit_the_findings_document(ssh):
    import json

    from trailtools.findings.schema import build_document, validate
    found = ssh_findings(ssh, ts("2024-01-08"), ts("2024-01-09"))
    doc = build_document("login", {"source": "demo"}, verdict=None, findings=[f.to_dict() for f in found],
                         sources=[], load_stats=None, generated_at="2024-01-09T00:00:00Z")
    assert validate(json.loads(json.dumps(doc, default=str))) == []


def test_fewer_failures_are_no_burst(ssh):
    calm = ssh[~ssh["line"].isin([3, 4])]
    found = ssh_findings(calm, ts("2024-01-08"), ts("2024-01-09"))
    assert not [f for f in found if f.check == "login.ssh-brute-force"]
    assert ssh_findings(ssh.iloc[:0], ts("2024-01-08"), ts("2024-01-09")) == []


def test_demo_jump_host_scanners_stay_low(_demo_cache):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRAILTOOLS_DEMO_CACHE_DIR", str(_demo_cache))
        folder = resolve_source("demo").folder
    ssh = read_guest_logs([folder / "oslogs" / "i-0f2a6c8e4b1d97a35" / "var" / "log" / "secure"], year=2026).ssh
    found = ssh_findings(ssh, ts("2026-10-07"), ts("2026-10-15"))
    assert all(f.severity in ("low", "info") for f in found), [(f.check, f.title) for f in found]
    summary = next(f for f in found if f.check == "login.ssh-summary")
    assert summary.extra["failed"] > 50 and summary.extra["accepted"] > 10
    accepted = ssh[(ssh["result"] == "accepted") & (ssh["source"] == "198.51.100.61")]   # frank.chen's key
    assert len(accepted) and (accepted["user"] == "ec2-user").all()
    assert str(ssh["time"].dtype) == "datetime64[us, UTC]"


def test_hostile_user_names_are_escaped(tmp_path):
    """An sshd user name is whatever the client sent: stored as-is, escaped in every HTML the investigation shows."""
    from test_login import _frame, _login

    from trailtools.investigations.login.analysis import analyze_logins
    from trailtools.investigations.login.gather import LoginInvestigation

    evil = "<img src=x onerror=alert(1)>"
    lines = [f"2024-01-08T03:0{i}:00+00:00 web sshd[9{i}]: Invalid user {evil} from 198.51.100.9 port 4000{i}"
             for i in range(6)]
    (tmp_path / "secure").write_text("\n".join(lines) + "\n")
    ssh = read_guest_logs([tmp_path / "secure"]).ssh
    assert (ssh["user"] == evil).all() and len(ssh) == 6
    events = _frame([_login("s1", "2024-01-08T09:00:00Z", "ann")])
    analysis = analyze_logins(events, start="2024-01-08", end="2024-01-09", ssh=ssh)
    assert analysis.findings[0].check == "login.ssh-brute-force" and evil in analysis.findings[0].explanation
    inv = LoginInvestigation("test", analysis.window, events, analysis, {})
    for shown in (inv.ssh_table()._repr_html_(), inv.findings_table()._repr_html_(), inv.answer_box().data,
                  inv.checks_table()._repr_html_()):
        assert "<img" not in shown
    assert "&lt;img src=x onerror=alert(1)&gt;" in inv.ssh_table()._repr_html_()
