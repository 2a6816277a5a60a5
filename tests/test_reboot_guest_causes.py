"""Causes inside the guest: kernel crashes and hangs before an unclean boot, out-of-memory kills, file system errors,
emergency mode and automatic updates rebooting, each with its log line as evidence (lines as the kernel, systemd and
the updaters print them, read by the real guest-log reader): should-fire and should-not-fire."""
from test_reboot_causes import evidence, guest, reboot_log, trail

from trailtools.evidence.guest_logs import classify
from trailtools.investigations.reboot.analysis import analyze

BOOT = ("Oct 20 03:13:02 ip-10-0-1-23 kernel: Linux version 6.1.109-118.189.amzn2023.x86_64 (mockbuild@ip-10-0-33-20)"
        " (gcc (GCC) 11.4.1 20230605) #1 SMP PREEMPT_DYNAMIC\n")


def crash_then_boot(line, at="03:11:40"):
    """Routine activity, the kernel's line, then a boot with no shutdown between (an unclean boot)."""
    return (f"Oct 20 03:01:01 ip-10-0-1-23 CROND[4420]: (root) CMD (run-parts /etc/cron.hourly)\n"
            f"Oct 20 {at} ip-10-0-1-23 kernel: {line}\n" + BOOT)


def test_a_soft_lockup_before_an_unclean_boot_is_a_kernel_hang(tmp_path):
    logs = guest(tmp_path, crash_then_boot("watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [kworker/1:2:9811]"))
    v = analyze(evidence(trail(tmp_path), logs))
    assert (v.cause, v.confidence) == ("guest", "high")
    assert "a CPU lockup (the kernel hung) logged at 2026-10-20T03:11:40Z" in v.summary
    assert "no clean shutdown" in v.summary and v.evidence[0].summary.startswith("a CPU lockup")
    assert "soft lockup" in v.evidence[0].summary


def test_an_oom_kill_or_a_hung_task_before_an_unclean_boot_is_medium(tmp_path):
    oom = "Out of memory: Killed process 2211 (java) total-vm:8388608kB, anon-rss:7340032kB, file-rss:0kB"
    v = analyze(evidence(trail(tmp_path), guest(tmp_path, crash_then_boot(oom))))
    assert (v.cause, v.confidence) == ("guest", "medium") and "the out-of-memory killer" in v.summary
    hung = "INFO: task jbd2/nvme0n1p1-8:345 blocked for more than 120 seconds."
    v = analyze(evidence(trail(tmp_path), guest(tmp_path, crash_then_boot(hung))))
    assert (v.cause, v.confidence) == ("guest", "medium") and "a hung task" in v.summary


def test_an_old_oom_kill_explains_nothing_and_a_clean_reboot_keeps_its_command(tmp_path):
    oom = "Out of memory: Killed process 2211 (java) total-vm:8388608kB, anon-rss:7340032kB, file-rss:0kB"
    v = analyze(evidence(trail(tmp_path), guest(tmp_path, crash_then_boot(oom, at="00:40:00"))))
    assert v.cause == "unclean-shutdown"
    text = (f"Oct 20 14:01:00 ip-10-0-1-23 kernel: {oom}\n"
            + reboot_log("ec2-user : TTY=pts/0 ; PWD=/home/ec2-user ; USER=root ; COMMAND=/sbin/reboot"))
    v = analyze(evidence(trail(tmp_path), guest(tmp_path, text)))
    assert (v.cause, v.actor) == ("guest", "ec2-user")


def test_a_kernel_panic_stays_high(tmp_path):
    v = analyze(evidence(trail(tmp_path), guest(tmp_path, crash_then_boot(
        "Kernel panic - not syncing: Fatal exception in interrupt"))))
    assert (v.cause, v.confidence) == ("guest", "high") and "a kernel panic logged at" in v.summary


def test_automatic_updates_rebooting_are_roots_with_the_program_named(tmp_path):
    line = "unattended-upgrade[3121]: Found /var/run/reboot-required, rebooting"
    text = reboot_log("x").replace("sudo[3121]: x", line)
    v = analyze(evidence(trail(tmp_path), guest(tmp_path, text)))
    assert (v.cause, v.actor, v.confidence) == ("guest", "root", "high")
    assert "root ran unattended-upgrade (automatic updates)" in v.summary
    assert classify("dnf-automatic", "Rebooting the system to apply updates", "812")[:3] == (
        "reboot-command", "root", "dnf-automatic (automatic updates)")
    assert classify("dnf-automatic", "Updates applied on the system.", "812") is None


def test_each_guest_fact_kind_from_its_line():
    cases = {
        ("kernel", "[ 8812.120045] EXT4-fs error (device nvme1n1p1): ext4_find_entry:1455: inode #2: comm ls: "
                   "reading directory lblock 0"): "fs-error",
        ("kernel", "XFS (nvme0n1p1): Filesystem has been shut down due to log error (0x2)."): "fs-error",
        ("kernel", "EXT4-fs (nvme1n1p1): Remounting filesystem read-only"): "fs-error",
        ("kernel", "NMI watchdog: Watchdog detected hard LOCKUP on cpu 3"): "lockup",
        ("kernel", "Memory cgroup out of memory: Killed process 991 (node) total-vm:1203224kB"): "oom-kill",
        ("kernel", "softdog: Initiating system reboot"): "watchdog",
        ("systemd", "app.service: Watchdog timeout (limit 3min)!"): "watchdog",
        ("systemd", "Reached target Emergency Mode."): "emergency-mode",
        ("systemd", "Started Rescue Shell."): "emergency-mode",
    }
    for (ident, msg), kind in cases.items():
        fact = classify(ident, msg, "1" if ident == "systemd" else None)
        assert fact is not None and fact[0] == kind, (msg, fact)
    assert classify("kernel", "EXT4-fs (nvme0n1p1): mounted filesystem with ordered data mode.") is None
    assert classify("kernel", "Out of memory and no killable processes...") is None
    assert classify("systemd", "Reached target Multi-User System.", "1") is None
    assert classify("kernel", "INFO: task jbd2/nvme0n1p1-8:345 blocked for more than 120 seconds.")[:3] == (
        "hung-task", None, "jbd2/nvme0n1p1-8")
