"""The guest OS log reader: the demo account's planted reboots, and hand-written samples (tests/data/oslogs)."""
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from trailtools.evidence.guest_logs import BOOT_COLUMNS, EVENT_COLUMNS, KINDS, classify, read_guest_logs

DATA = Path(__file__).parent / "data" / "oslogs"
UBUNTU = DATA / "ubuntu"


def ts(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


@pytest.fixture(scope="session")
def demo_oslogs(_demo_cache):
    from trailtools.demo import ensure_demo_account
    with pytest.MonkeyPatch.context() as mp:  # the session's demo account (conftest's folder)
        mp.setenv("TRAILTOOLS_DEMO_CACHE_DIR", str(_demo_cache))
        return ensure_demo_account() / "oslogs"


def files_of(root, inst, which):
    names = {"messages": "var/log/messages", "secure": "var/log/secure", "journal": "journal.json"}
    return [root / inst / names[w] for w in which]


def test_frames_have_the_documented_columns_and_types():
    g = read_guest_logs([UBUNTU / "syslog"], year=2025)
    assert list(g.events.columns) == EVENT_COLUMNS
    assert list(g.boots.columns) == BOOT_COLUMNS
    assert str(g.events["time"].dtype) == "datetime64[us, UTC]"
    assert str(g.boots["time"].dtype) == str(g.boots["previous_shutdown"].dtype) == "datetime64[us, UTC]"
    assert set(g.events["kind"]) <= set(KINDS)
    assert g.events["time"].is_monotonic_increasing
    assert g.events["user"].map(lambda v: v is None or isinstance(v, str)).all()
    empty = read_guest_logs([])
    assert list(empty.events.columns) == EVENT_COLUMNS and empty.events.empty and empty.boots.empty


# -- the demo account: docs/demo-account.md is the answer key --------------------------------------------------

@pytest.mark.parametrize("which", [["messages"], ["journal"], ["messages", "secure", "journal"]])
def test_demo_incident1_clean_reboot_without_guest_command(demo_oslogs, which):
    g = read_guest_logs(files_of(demo_oslogs, "i-04c2a9e71d3b58f06", which), year=2026 if which == ["messages"] else None)
    assert len(g.boots) == 1
    b = g.boots.iloc[0]
    assert b["time"].floor("s") == ts("2026-10-06T14:22:58Z")
    assert b["clean"] is True
    assert ts("2026-10-06T14:22:31Z") <= b["previous_shutdown"] < b["time"]
    assert not b["guest_request"] and b["initiated_by"] is None and b["command"] is None
    assert not g.events["kind"].isin(["reboot-command", "shutdown-command"]).any()
    if "journal" in which:
        assert b["boot_id"] and len(b["boot_id"]) == 32


def test_demo_incident1_secure_holds_only_the_service_restart(demo_oslogs):
    g = read_guest_logs(files_of(demo_oslogs, "i-04c2a9e71d3b58f06", ["secure"]), year=2026)
    assert g.files[0]["format"] == "auth" and g.files[0]["skipped"] == 0
    assert g.events.empty and g.boots.empty  # "sudo systemctl restart httpd" is no reboot


@pytest.mark.parametrize("which", [["messages"], ["journal"], ["messages", "secure", "journal"]])
def test_demo_incident2_unclean_boot(demo_oslogs, which):
    g = read_guest_logs(files_of(demo_oslogs, "i-0b81f3d6c2e9a4775", which), year=2026 if which == ["messages"] else None)
    assert len(g.boots) == 1
    b = g.boots.iloc[0]
    assert b["time"].floor("s") == ts("2026-10-08T03:49:12Z")
    assert b["clean"] is False and pd.isna(b["previous_shutdown"]) and not b["guest_request"]
    ev = g.events
    assert not ev["kind"].isin(["shutdown-begin", "shutdown-complete"]).any()
    assert (ev["kind"] == "recovery").sum() >= 2  # XFS log recovery, journal uncleanly shut down


def test_demo_incident3_clean_maintenance_reboot(demo_oslogs):
    g = read_guest_logs(files_of(demo_oslogs, "i-07e5d2b9a1c4f3806", ["messages", "secure", "journal"]))
    (b,) = g.boots.itertuples()
    assert b.time.floor("s") == ts("2026-10-09T02:37:49Z") and b.clean is True and not b.guest_request
    assert b.previous_shutdown.floor("s") >= ts("2026-10-09T02:37:14Z")


@pytest.mark.parametrize("which", [["messages"], ["secure"], ["journal"], ["messages", "secure", "journal"]])
def test_demo_incident4_sudo_reboot_inside_the_guest(demo_oslogs, which):
    g = read_guest_logs(files_of(demo_oslogs, "i-0f2a6c8e4b1d97a35", which), year=2026 if "journal" not in which else None)
    cmds = g.events[g.events["kind"] == "reboot-command"]
    assert len(cmds) >= 1
    assert (cmds["time"].dt.floor("s") == ts("2026-10-13T16:05:12Z")).all()
    if "secure" in which or "journal" in which:
        sudo = cmds[cmds["user"].notna()].iloc[0]
        assert sudo["user"] == "ec2-user" and sudo["command"] == "/sbin/reboot"
        assert "COMMAND=/sbin/reboot" in sudo["text"]
    if which == ["secure"]:
        assert g.boots.empty  # secure has no boot markers
        return
    (b,) = g.boots.itertuples()
    assert b.time.floor("s") == ts("2026-10-13T16:05:41Z") and b.clean is True and b.guest_request
    if "secure" in which or "journal" in which:
        assert (b.initiated_by, b.command) == ("ec2-user", "/sbin/reboot")
    else:  # messages: logind says "System is rebooting." without a user
        assert b.initiated_by is None
    assert g.events[g.events["kind"] == "boot"]["text"].str.contains("4.14.353-270.569.amzn2").any()


def test_demo_incident5_power_key_is_no_guest_request(demo_oslogs):
    g = read_guest_logs(files_of(demo_oslogs, "i-09d4b7e2f6a3c1508", ["messages", "secure", "journal"]))
    (b,) = g.boots.itertuples()
    assert b.time.floor("s") == ts("2026-10-12T01:02:20Z") and b.clean is True and not b.guest_request
    begin = g.events[g.events["kind"] == "shutdown-begin"]
    assert begin["text"].str.contains("Power key pressed").any()
    assert begin["time"].min().floor("s") == ts("2026-10-12T01:00:08Z")


def test_demo_year_is_inferred_from_the_journal(demo_oslogs):
    g = read_guest_logs(files_of(demo_oslogs, "i-04c2a9e71d3b58f06", ["messages", "journal"]))
    assert any("messages has no year: assumed 2026" in n and "dated logs" in n for n in g.notes)
    assert {f["format"] for f in g.files} == {"syslog", "journal-json"}
    assert all(f["skipped"] == 0 and f["reason"] is None for f in g.files)


# -- hand-written samples ---------------------------------------------------------------------------------------

def test_ubuntu_syslog_and_auth_log_across_new_year():
    g = read_guest_logs([UBUNTU / "syslog", UBUNTU / "auth.log"], year=2025)
    assert [f["format"] for f in g.files] == ["syslog", "auth"]
    assert g.files[0]["skipped"] == 1  # the truncated line
    assert len(g.boots) == 2
    first, second = g.boots.iloc[0], g.boots.iloc[1]
    assert first["time"] == ts("2026-01-01T00:00:21Z") and first["clean"] is True
    assert first["previous_shutdown"] == ts("2025-12-31T23:58:04Z")
    assert (first["initiated_by"], first["command"]) == ("ubuntu", "/usr/sbin/shutdown -r now")
    assert second["time"] == ts("2026-01-01T00:23:10Z") and second["clean"] is False and not second["guest_request"]
    ev = g.events
    assert (ev["kind"] == "kernel-panic").sum() == 1
    # a failed sudo, a service restart, a cancelled shutdown and a user manager's targets are no facts
    cmds = ev[ev["kind"].isin(["reboot-command", "shutdown-command"]) & ev["user"].notna()]
    assert list(cmds["user"]) == ["ubuntu"]
    assert not ev["text"].str.contains("systemd\\[1701\\]|restart nginx|Stopping nginx").any()
    assert ev.loc[ev["kind"] == "boot", "host"].eq("web-7").all()


def test_last_x_output():
    g = read_guest_logs([DATA / "last-x.txt"])
    assert g.files[0]["format"] == "last-x" and g.files[0]["skipped"] == 0
    assert list(g.boots["time"]) == [ts("2025-12-29T09:12Z"), ts("2026-01-01T00:00Z"), ts("2026-01-01T00:23Z")]
    assert [g.boots["clean"].iloc[i] for i in range(3)] == [None, True, False]
    crash = g.events[g.events["kind"] == "crash"]
    assert list(crash["user"]) == ["ubuntu"]
    assert not g.notes or all("year" not in n for n in g.notes)  # "wtmp begins ... 2025" gives the year


def test_last_x_merges_with_syslog_and_dates_it():
    g = read_guest_logs([UBUNTU / "syslog", UBUNTU / "auth.log", DATA / "last-x.txt"])
    assert any("syslog has no year: assumed 2025" in n for n in g.notes)
    assert len(g.boots) == 3  # Dec 29 only in last; the two others seen by both, merged
    assert list(g.boots["time"][1:]) == [ts("2026-01-01T00:00:21Z"), ts("2026-01-01T00:23:10Z")]
    assert list(g.boots["clean"]) == [None, True, False]
    assert g.boots["initiated_by"].iloc[1] == "ubuntu"


def test_journal_with_two_boots():
    g = read_guest_logs([DATA / "journal-two-boots.json"])
    f = g.files[0]
    assert (f["format"], f["lines"], f["skipped"]) == ("journal-json", 12, 1)
    (b,) = g.boots.itertuples()
    assert b.boot_id == "9a8b7c6d5e4f30211f2e3d4c5b6a7980" and b.clean is True
    assert b.time == ts("2026-03-14T09:14:31.000050Z") and b.previous_shutdown == ts("2026-03-14T09:14:03.010Z")
    assert (b.initiated_by, b.command) == ("alice", "/usr/bin/systemctl reboot")
    assert set(g.events["boot_id"].dropna()) == {"3f1c9e7a5b2d4e608a1b2c3d4e5f6071", "9a8b7c6d5e4f30211f2e3d4c5b6a7980"}
    assert g.events["host"].eq("build-2").all()
    assert g.events["line"].min() >= 1


def test_rfc3339_timestamps_with_offset():
    g = read_guest_logs([DATA / "rfc3339-syslog"])
    assert g.files[0]["format"] == "syslog" and not g.notes  # the timestamps carry their year
    (b,) = g.boots.itertuples()
    assert b.time == ts("2026-10-06T14:31:40.002231Z") and b.clean is False
    assert (g.events["kind"] == "recovery").sum() == 1


def test_classic_timestamps_in_a_given_time_zone(tmp_path):
    p = tmp_path / "messages"
    p.write_text("Oct  6 16:22:05 h kernel: Linux version 5.10.0 (x)\nOct  6 16:22:09 h systemd: Startup finished "
                 "in 1.0s (kernel) + 2.0s (userspace) = 3.0s.\n")
    g = read_guest_logs([p], year=2026, tz="Europe/Berlin")
    assert g.boots["time"].iloc[0] == ts("2026-10-06T14:22:05Z") and g.boots["clean"].iloc[0] is None
    assert len(g.boots) == 1 and (g.events["kind"] == "boot").sum() == 2
    with pytest.raises(ValueError):
        read_guest_logs([p], tz="Mars/Olympus")


def test_year_from_the_file_modification_time(tmp_path):
    p = tmp_path / "syslog"
    shutil.copy(UBUNTU / "syslog", p)
    jan = datetime(2031, 1, 2, tzinfo=UTC).timestamp()
    os.utime(p, (jan, jan))
    g = read_guest_logs([p])
    assert "syslog has no year: assumed 2030 from the file's modification time." in g.notes
    assert g.events["time"].min().year == 2030 and g.events["time"].max().year == 2031


def test_bad_inputs_never_raise(tmp_path):
    binary = tmp_path / "wtmp"
    binary.write_bytes(b"\x07\x00\x00\x00" + b"\x00" * 380)
    journal = tmp_path / "system.journal"
    journal.write_bytes(b"LPKSHHRH" + b"\x00" * 64)
    g = read_guest_logs([tmp_path / "missing.log", DATA / "empty.log", DATA / "garbage.txt", binary, journal])
    by = {Path(f["path"]).name: f for f in g.files}
    assert by["missing.log"]["reason"].startswith("cannot read")
    assert by["empty.log"]["reason"] == "empty file"
    assert by["garbage.txt"]["format"] == "unknown" and by["garbage.txt"]["skipped"] == 4
    assert "binary" in by["wtmp"]["reason"] and "journalctl" in by["system.journal"]["reason"]
    assert g.events.empty and g.boots.empty


def test_folders_and_gzip(tmp_path):
    import gzip
    (tmp_path / "log").mkdir()
    (tmp_path / "log" / "auth.log.1.gz").write_bytes(gzip.compress((UBUNTU / "auth.log").read_bytes()))
    shutil.copy(UBUNTU / "syslog", tmp_path / "log" / "syslog")
    g = read_guest_logs([tmp_path], year=2025)
    assert sorted(f["format"] for f in g.files) == ["auth", "syslog"]
    assert g.boots["initiated_by"].iloc[0] == "ubuntu"


def test_hostile_text_is_stored_as_is(tmp_path):
    evil = 'Oct  6 14:00:00 h sudo: <script>x</script> : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/sbin/reboot {0} %s'
    p = tmp_path / "secure"
    p.write_text(evil + "\n")
    g = read_guest_logs([p], year=2026)
    row = g.events.iloc[0]
    assert row["text"] == evil and row["user"] == "<script>x</script>" and row["command"] == "/sbin/reboot {0} %s"


@pytest.mark.parametrize("command, kind", [
    ("/sbin/reboot", "reboot-command"), ("/usr/bin/systemctl reboot", "reboot-command"),
    ("/sbin/shutdown -r +5", "reboot-command"), ("/sbin/init 6", "reboot-command"),
    ("/usr/sbin/poweroff", "shutdown-command"), ("/sbin/shutdown -h now", "shutdown-command"),
    ("/sbin/halt", "shutdown-command"), ("/usr/bin/systemctl poweroff", "shutdown-command"),
    ("/sbin/shutdown -c", None), ("/bin/systemctl restart httpd", None), ("/bin/vi /etc/reboot.conf", None),
    ("/bin/systemctl status reboot.target", None),
])
def test_sudo_commands(command, kind):
    fact = classify("sudo", f"alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND={command}")
    assert (fact[0] if fact else None) == kind
    if fact:
        assert fact[1:3] == ("alice", command)


def test_ssh_attempts_across_the_year_boundary():
    """sshd's accepted and failed authentications (the suspicious-login investigation's input), one row each."""
    from trailtools.evidence.guest_logs import SSH_COLUMNS, ssh_attempt

    g = read_guest_logs([UBUNTU / "auth.log"], year=2025)
    ssh = g.ssh
    assert list(ssh.columns) == SSH_COLUMNS and str(ssh["time"].dtype) == "datetime64[us, UTC]"
    assert list(ssh["result"]) == ["accepted", "failed", "accepted"]
    assert ssh["time"].iloc[0] == ts("2025-12-31T23:40:11Z") and ssh["time"].iloc[-1] == ts("2026-01-01T00:06:30Z")
    bad = ssh.iloc[1]
    assert (bad["user"], bad["source"], bad["port"], bad["invalid_user"]) == ("admin", "203.0.113.9", 41220, True)
    assert ssh.iloc[0]["method"] == "publickey" and ssh.iloc[0]["host"] == "web-7"
    assert ssh_attempt("sshd", "Server listening on 0.0.0.0 port 22.") is None
    assert ssh_attempt("sudo", "Accepted password for x from 192.0.2.1 port 1 ssh2") is None
    assert ssh_attempt("sshd-session", "Failed password for invalid user  from 192.0.2.1 port 2 ssh2") == \
        ("failed", "", "192.0.2.1", 2, "password", True)          # an empty user name, as sshd logs it
    assert read_guest_logs([]).ssh.empty


LOGROTATE = """\
Oct 19 23:59:01 ip-10-0-1-23 systemd[1]: Started session-9.scope - Session 9 of User ec2-user.
Oct 20 00:00:01 ip-10-0-1-23 systemd[1]: Starting logrotate.service - Rotate log files...
Oct 20 00:00:01 ip-10-0-1-23 rsyslogd[1650]: [origin software="rsyslogd" swVersion="8.2204.0" x-pid="1650" \
x-info="https://www.rsyslog.com"] rsyslogd was HUPed
Oct 20 00:00:01 ip-10-0-1-23 systemd[1]: Finished logrotate.service - Rotate log files.
Oct 20 03:10:01 ip-10-0-1-23 systemd[1]: Stopping rsyslog.service - System Logging Service...
Oct 20 03:10:01 ip-10-0-1-23 rsyslogd[1650]: [origin software="rsyslogd" swVersion="8.2204.0" x-pid="1650" \
x-info="https://www.rsyslog.com"] exiting on signal 15.
Oct 20 03:10:01 ip-10-0-1-23 systemd[1]: Stopped rsyslog.service - System Logging Service.
Oct 20 03:10:01 ip-10-0-1-23 systemd[1]: Starting rsyslog.service - System Logging Service...
Oct 20 03:10:02 ip-10-0-1-23 rsyslogd[4410]: [origin software="rsyslogd" swVersion="8.2204.0" x-pid="4410" \
x-info="https://www.rsyslog.com"] start
Oct 20 03:10:02 ip-10-0-1-23 systemd[1]: Started rsyslog.service - System Logging Service.
Oct 20 03:11:30 ip-10-0-1-23 CRON[4420]: (root) CMD (/usr/local/bin/backup.sh)
"""
CRASH_BOOT = """\
Oct 20 03:13:02 ip-10-0-1-23 kernel: Linux version 6.1.109-118.189.amzn2023.x86_64 (mockbuild@ip-10-0-33-20) \
(gcc (GCC) 11.4.1 20230605) #1 SMP PREEMPT_DYNAMIC Tue Sep 10 08:59:12 UTC 2024
Oct 20 03:13:04 ip-10-0-1-23 systemd[1]: Startup finished in 1.027s (kernel) + 2.211s (initrd) + 5.302s \
(userspace) = 8.541s.
"""


def test_log_rotation_of_the_syslog_daemon_is_no_boot_and_no_shutdown(tmp_path):
    """logrotate HUPs rsyslog (or restarts it): neither is a boot, and a restart is no clean shutdown before a crash
    three minutes later."""
    quiet = tmp_path / "messages"
    quiet.write_text(LOGROTATE)
    g = read_guest_logs([quiet], year=2026)
    assert g.boots.empty and "rsyslogd was HUPed" not in " ".join(g.events["text"])
    crashed = tmp_path / "crashed" / "messages"
    crashed.parent.mkdir()
    crashed.write_text(LOGROTATE + CRASH_BOOT)
    boots = read_guest_logs([crashed], year=2026).boots
    assert len(boots) == 1 and boots["clean"].iloc[0] is False and pd.isna(boots["previous_shutdown"].iloc[0])


def test_every_fact_has_its_message_as_a_person_reads_it(tmp_path):
    """The journal's JSON is reduced to ``program[pid]: message``; a syslog line keeps its program and message."""
    entry = {"__REALTIME_TIMESTAMP": "1791601600000892", "_BOOT_ID": "33d54a2e0b57d5e721262ec8482d8647",
             "SYSLOG_IDENTIFIER": "systemd-logind", "_PID": "3541", "MESSAGE": "System is rebooting.",
             "_HOSTNAME": "ip-10-0-1-31"}
    (tmp_path / "journal.json").write_text(json.dumps(entry) + "\n")
    (tmp_path / "messages").write_text("Oct 10 03:06:40 ip-10-0-1-31 systemd-logind: System is rebooting.\n")
    g = read_guest_logs([tmp_path / "journal.json", tmp_path / "messages"], year=2026)
    assert sorted(g.events["message"]) == ["systemd-logind: System is rebooting.",
                                           "systemd-logind[3541]: System is rebooting."]
    assert g.events["text"].str.startswith("{").sum() == 1  # the raw line stays as it was
