"""Guest OS logs of the incident instances (Amazon Linux 2: systemd 219, rsyslog) and their serial console.

For each instance with ``os_logs`` this writes ``oslogs/<instance-id>/var/log/messages`` and ``.../secure``
(rsyslog's traditional format, local time = UTC, no year), ``oslogs/<instance-id>/journal.json`` (what
``journalctl -o json`` prints on systemd 219: one JSON object per line, every value a string) and gives
``console_output()`` for EC2 ``GetConsoleOutput`` (the serial console since the last boot, plus the end of the
previous boot's shutdown when the instance was rebooted rather than stopped or lost).

What each incident looks like from inside:
  1. web-01          clean shutdown (no shutdown request logged in the guest), boot
  2. db-replica-02   NO shutdown at all: the log just stops, then a boot with XFS log recovery and journald
                     "corrupted or uncleanly shut down" (an unclean boot)
  3. batch-worker-03 clean shutdown, boot (like 1; the cause is only visible outside the guest)
  4. jump-host-04    SSH login, ``sudo yum -y update kernel``, ``sudo /sbin/reboot`` in /var/log/secure,
                     ``systemd-logind: System is rebooting.``, clean shutdown, boot with a newer kernel
  5. report-gen-05   ``Power key pressed`` / ``Powering Off...`` (EC2 StopInstances), clean power-off, boot with
                     4 instead of 8 vCPUs (resized to m5.xlarge)
  8. app-08          the SSM agent runs AWS-RunPatchBaseline (its lines carry the command ID), yum installs a new
                     kernel, the agent reboots (no sudo, no terminal), ``System is rebooting.``, clean shutdown,
                     boot with the new kernel
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from trailtools.demo import scenario as S
from trailtools.demo._io import hexid, rng_for, write_files

KERN, USER, DAEMON, AUTH, SYSLOG, CRON, AUTHPRIV = 0, 1, 3, 4, 5, 9, 10
RSYSLOG_VERSION = "8.24.0-57.amzn2.2.0.1"
CLOUD_INIT = "19.3-46.amzn2.0.2"
MSG_SESSION_START = "8d45620c1a4348dbb17410da57c60c66"
MSG_SHUTDOWN = "98268866d1d54a499c4e98921d93bc40"
MSG_STARTUP_FINISHED = "b07a249cd024414a82dd00cd181378ff"

# ident -> (comm, exe, cmdline, unit, facility, uid)
_PROCS = {
    "systemd": ("systemd", "/usr/lib/systemd/systemd",
                "/usr/lib/systemd/systemd --switched-root --system --deserialize 22", None, DAEMON, 0),
    "systemd-logind": ("systemd-logind", "/usr/lib/systemd/systemd-logind", "/usr/lib/systemd/systemd-logind",
                       "systemd-logind.service", AUTH, 0),
    "systemd-journald": ("systemd-journal", "/usr/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald",
                         "systemd-journald.service", DAEMON, 0),
    "dhclient": ("dhclient", "/usr/sbin/dhclient",
                 "/sbin/dhclient -q -lf /var/lib/dhclient/dhclient--eth0.lease -pf /var/run/dhclient-eth0.pid "
                 "-H {host} eth0",
                 "network.service", DAEMON, 0),
    "chronyd": ("chronyd", "/usr/sbin/chronyd", "/usr/sbin/chronyd", "chronyd.service", DAEMON, 998),
    "rsyslogd": ("rsyslogd", "/usr/sbin/rsyslogd", "/usr/sbin/rsyslogd -n", "rsyslog.service", SYSLOG, 0),
    "sshd": ("sshd", "/usr/sbin/sshd", "sshd: {user} [priv]", "sshd.service", AUTHPRIV, 0),
    "sudo": ("sudo", "/usr/bin/sudo", "sudo {cmd}", None, AUTHPRIV, 1000),
    "cloud-init": ("cloud-init", "/usr/bin/python2.7", "/usr/bin/python /usr/bin/cloud-init modules --mode final",
                   "cloud-final.service", USER, 0),
    "amazon-ssm-agent": ("amazon-ssm-agent", "/usr/bin/amazon-ssm-agent", "/usr/bin/amazon-ssm-agent",
                         "amazon-ssm-agent.service", DAEMON, 0),
    "yum": ("yum", "/usr/bin/python2.7", "/usr/bin/python /usr/bin/yum -y update", None, USER, 0),
    "network": ("network", "/usr/bin/bash", "/bin/bash /etc/rc.d/init.d/network start", "network.service", DAEMON, 0),
}

_SERVICES = {  # instance name -> (unit, description)
    "web-01": ("httpd.service", "The Apache HTTP Server"),
    "db-replica-02": ("postgresql-14.service", "PostgreSQL 14 database server"),
    "batch-worker-03": ("batch-agent.service", "Acme batch job agent"),
    "jump-host-04": ("fail2ban.service", "Fail2Ban Service"),
    "report-gen-05": ("report-generator.service", "Acme nightly report generator"),
    "app-08": ("app-api.service", "Acme API server"),
}

# SSH keys in ec2-user's authorized_keys, one per person (an analyst can tell who used the shared account)
SSH_KEYS = {
    S.DAVE.ips[0]: "RSA SHA256:Jm4TgV0sPq8yZr2LkW6nHd1xC9bF3eA7uQ5iO0tY8sM",
    S.FRANK.ips[0]: S.INC4_SSH_KEY,
    S.GRACE.ips[0]: "ED25519 SHA256:bH7d2KfQ9sLx0Wm4Pz6Rt1Yv8Nc3Ju5Ae2Go7Ik9Uo0",
    S.JUMP04.private_ip: "ED25519 SHA256:Zt8Kp2Lm6Qw0Xr4Vs1Nb9Hc3Jd7Fg5Ya2Ue6Io8Pl4",  # the jump host's own key
}
SCANNER_USERS = ("admin", "test", "oracle", "ubuntu", "postgres", "git", "user", "guest", "pi", "ftpuser",
                 "deploy", "support", "hadoop", "minecraft", "ansible")


@dataclass
class Entry:
    ts: datetime
    ident: str
    msg: str
    prio: int = 6
    pid: int | None = None
    show_pid: bool = True
    journal_only: bool = False  # logged after rsyslog stopped (or by journald itself)
    transport: str = "syslog"
    msgid: str | None = None
    unit: str | None = None
    uid: int | None = None
    cmd: str = ""


@dataclass
class Boot:
    index: int
    boot_id: str
    start: datetime  # kernel start (realtime of monotonic 0)
    kernel: str
    cpus: int
    mem_kb: int
    unclean: bool = False  # the previous boot ended without a shutdown
    end: datetime | None = None
    end_kind: str | None = None  # "reboot" | "poweroff" | "crash" | None (still running)
    preamble: str | None = None  # "sudo" | "powerkey" | None
    entries: list[Entry] = field(default_factory=list)
    console_tail: list[str] = field(default_factory=list)  # serial console lines of this boot's shutdown
    console_boot: list[str] = field(default_factory=list)


_MEM = {"m5.xlarge": 16, "m5.2xlarge": 32, "r5.xlarge": 32, "c5.2xlarge": 16, "t3.medium": 4}
_CPUS = {"m5.xlarge": 4, "m5.2xlarge": 8, "r5.xlarge": 4, "c5.2xlarge": 8, "t3.medium": 2}


def _plan(inst: S.Instance) -> list[Boot]:
    """The boots of an instance inside the window, with how each ended."""
    def boot(i, start, kernel=S.INC4_KERNEL_OLD, itype=inst.type, unclean=False):
        gib = _MEM.get(itype, 16)
        return Boot(i, hexid(f"boot:{inst.id}:{i}", 32), start, kernel, _CPUS.get(itype, 4),
                    gib * 1024 * 1024 - 215_000 - gib * 9_000, unclean)

    b0 = boot(0, inst.booted)
    if inst is S.WEB01:
        b0.end, b0.end_kind = S.INC1_REBOOT, "reboot"
        return [b0, boot(1, S.INC1_BOOT)]
    if inst is S.DB02:
        b0.end, b0.end_kind = S.INC2_FAIL, "crash"
        return [b0, boot(1, S.INC2_BOOT, unclean=True)]
    if inst is S.BATCH03:
        b0.end, b0.end_kind = S.INC3_REBOOT, "reboot"
        return [b0, boot(1, S.INC3_BOOT)]
    if inst is S.JUMP04:
        b0.end, b0.end_kind, b0.preamble = S.INC4_REBOOT, "reboot", "sudo"
        return [b0, boot(1, S.INC4_BOOT, kernel=S.INC4_KERNEL_NEW)]
    if inst is S.REPORT05:
        b0.end, b0.end_kind, b0.preamble = S.INC5_STOP + timedelta(seconds=1), "poweroff", "powerkey"
        return [b0, boot(1, S.INC5_BOOT, itype=S.REPORT05_NEW_TYPE)]
    if inst is S.PATCH08:
        b0.end, b0.end_kind, b0.preamble = S.INC9_REBOOT, "reboot", "ssm"
        return [b0, boot(1, S.INC9_BOOT, kernel=S.INC9_KERNEL_NEW)]
    return [b0]


class _Host:
    def __init__(self, inst: S.Instance, rng: random.Random):
        self.inst = inst
        self.rng = rng
        self.host = inst.hostname
        self.gateway = inst.private_ip.rsplit(".", 1)[0] + ".1"
        self.session = 0
        self.pids: dict[str, int] = {}
        self.next_pid = 3000
        self.unit, self.unit_desc = _SERVICES.get(inst.name, ("app.service", "Application"))

    # ---------------------------------------------------------------------------------------- helpers
    def pid(self, ident: str, fresh: bool = False) -> int:
        if fresh or ident not in self.pids:
            self.next_pid += self.rng.randrange(3, 400)
            if self.next_pid > 32000:
                self.next_pid = 3000 + self.rng.randrange(1000)
            if fresh:
                return self.next_pid
            self.pids[ident] = self.next_pid
        return self.pids[ident]

    def jitter(self, d: datetime, max_us: int = 999_999) -> datetime:
        return d + timedelta(microseconds=self.rng.randrange(0, max_us))

    # ---------------------------------------------------------------------------------------- sequences
    def boot_sequence(self, b: Boot) -> None:
        """Kernel, systemd and cloud-init messages of a boot (journal + messages + serial console)."""
        rng, inst, E = self.rng, self.inst, b.entries
        self.pids = {}
        self.next_pid = 2000 + rng.randrange(200)
        start = b.start
        ktime = lambda s: start + timedelta(seconds=s)  # noqa: E731
        build_host = "ip-10-0-1-" + str(100 + int(hexid(b.kernel, 2), 16) % 100)
        klines = [
            (0.0, 5, f"Linux version {b.kernel} (mockbuild@{build_host}) (gcc version 7.3.1 20180712 (Red Hat "
                     f"7.3.1-17) (GCC)) #1 SMP {'Tue Sep 22' if b.kernel == S.INC4_KERNEL_OLD else 'Thu Oct  8'} "
                     f"17:10:27 UTC 2026"),
            (0.0, 6, f"Command line: BOOT_IMAGE=/boot/vmlinuz-{b.kernel} root=UUID={_uuidish(inst.id)} ro "
                     "console=tty0 console=ttyS0,115200n8 net.ifnames=0 biosdevname=0 "
                     "nvme_core.io_timeout=4294967295 rd.emergency=poweroff rd.shell=0"),
            (0.0, 6, f"DMI: Amazon EC2 {inst.type}/, BIOS 1.0 10/16/2017"),
            (0.0, 6, "Hypervisor detected: KVM"),
            (0.012, 6, f"smpboot: Allowing {b.cpus} CPUs, 0 hotplug CPUs"),
            (0.118, 6, f"Memory: {b.mem_kb}K/{b.mem_kb + 415_000}K available (8204K kernel code, 1442K rwdata, "
                       "2740K rodata, 1548K init, 3480K bss, 415000K reserved, 0K cma-reserved)"),
            (0.402, 6, f"smp: Brought up 1 node, {b.cpus} CPUs"),
            (1.013, 6, "ACPI: Power Button [PWRF]"),
            (1.014, 6, "ACPI: Sleep Button [SLPF]"),
            (1.190, 6, "nvme nvme0: pci function 0000:00:04.0"),
            (1.203, 6, " nvme0n1: p1 p128"),
            (1.410, 5, "XFS (nvme0n1p1): Mounting V5 Filesystem"),
        ]
        if b.unclean:
            klines += [(1.502, 5, "XFS (nvme0n1p1): Starting recovery (logdev: internal)"),
                       (1.688, 5, "XFS (nvme0n1p1): Ending recovery (logdev: internal)")]
        else:
            klines += [(1.497, 6, "XFS (nvme0n1p1): Ending clean mount")]
        klines += [(2.101, 6, "ena 0000:00:05.0: Elastic Network Adapter (ENA) v2.12.0g"),
                   (2.134, 6, "ena 0000:00:05.0: ENA device version: 0.10"),
                   (2.166, 6, "ena 0000:00:05.0 eth0: renamed from eth0")]
        for k, (s, prio, msg) in enumerate(klines):
            us = k * 53 + rng.randrange(0, 40)
            E.append(Entry(ktime(s) + timedelta(microseconds=us), "kernel", msg, prio, show_pid=False,
                           transport="kernel"))
            b.console_boot.append(f"[{s + us / 1e6:12.6f}] {msg}")
        jpid = 1000 + rng.randrange(400)
        self.pids["systemd-journald"] = jpid
        seq = [
            (1.780, "systemd", "systemd 219 running in system mode. (+PAM +AUDIT +SELINUX +IMA -APPARMOR +SMACK "
                               "+SYSVINIT +UTMP +LIBCRYPTSETUP +GCRYPT +GNUTLS +ACL +XZ +LZ4 -SECCOMP +BLKID "
                               "+ELFUTILS +KMOD +IDN)", 6, None),
            (1.781, "systemd", "Detected virtualization kvm.", 6, None),
            (1.781, "systemd", "Detected architecture x86-64.", 6, None),
            (2.310, "systemd-journald", "Journal started", 6, None),
        ]
        if b.unclean:
            machine = hexid(f"machine:{inst.id}", 32)
            seq.append((2.402, "systemd-journald", f"File /var/log/journal/{machine}/system.journal corrupted or "
                                                   "uncleanly shut down, renaming and replacing.", 4, None))
        seq += [
            (2.480, "systemd", "Started Journal Service.", 6, None),
            (2.903, "systemd", "Started Remount Root and Kernel File Systems.", 6, None),
            (3.120, "systemd", "Reached target Local File Systems.", 6, None),
            (3.402, "rsyslogd", f"[origin software=\"rsyslogd\" swVersion=\"{RSYSLOG_VERSION}\" x-pid=\""
                                f"{self.pid('rsyslogd')}\" x-info=\"http://www.rsyslog.com\"] start", 6, None),
            (3.405, "systemd", "Started System Logging Service.", 6, None),
            (3.611, "systemd-logind", "New seat seat0.", 6, None),
            (3.612, "systemd-logind", "Watching system buttons on /dev/input/event0 (Power Button)", 6, None),
            (3.613, "systemd-logind", "Watching system buttons on /dev/input/event1 (Sleep Button)", 6, None),
            (3.620, "systemd", "Started Login Service.", 6, None),
            (4.790, "dhclient", f"DHCPREQUEST on eth0 to 255.255.255.255 port 67 (xid=0x{hexid(b.boot_id, 8)})", 6,
             None),
            (4.793, "dhclient", f"DHCPACK from {self.gateway} (xid=0x{hexid(b.boot_id, 8)})", 6, None),
            (4.801, "dhclient", f"bound to {inst.private_ip} -- renewal in {1500 + rng.randrange(300)} seconds.", 6,
             None),
            (5.120, "network", "Bringing up interface eth0:  [  OK  ]", 6, None),
            (5.901, "cloud-init", f"Cloud-init v. {CLOUD_INIT} running 'init' at {_rfc2822(ktime(5.9))}. "
                                  f"Up 5.90 seconds.", 6, None),
            (6.340, "chronyd", "chronyd version 4.2 starting (+CMDMON +NTP +REFCLOCK +RTC +PRIVDROP +SCFILTER "
                               "+SIGND +ASYNCDNS +NTS +SECHASH +IPV6 +DEBUG)", 6, None),
            (6.702, "systemd", "Started OpenSSH server daemon.", 6, None),
            (7.044, "systemd", f"Started {self.unit_desc}.", 6, self.unit),
            (7.210, "systemd", "Reached target Multi-User System.", 6, None),
            (7.311, "systemd", "Startup finished in 1.744s (kernel) + 5.566s (userspace) = 7.310s.", 6, None),
            (10.412, "chronyd", "Selected source 169.254.169.123", 6, None),
            (14.887, "cloud-init", f"Cloud-init v. {CLOUD_INIT} finished at {_rfc2822(ktime(14.887))}. Datasource "
                                   "DataSourceEc2.  Up 14.89 seconds", 6, None),
        ]
        for k, (s, ident, msg, prio, unit) in enumerate(seq):
            e = Entry(ktime(s) + timedelta(microseconds=k * 31 + rng.randrange(0, 25)), ident, msg, prio,
                      pid=1 if ident == "systemd" else self.pid(ident),
                      show_pid=ident not in ("systemd", "systemd-logind", "systemd-journald", "rsyslogd"),
                      transport="journal" if ident.startswith("systemd") else "syslog", unit=unit,
                      msgid=MSG_STARTUP_FINISHED if msg.startswith("Startup finished") else None)
            E.append(e)
            if ident == "systemd" and msg.startswith(("Started ", "Reached ")):
                b.console_boot.append(f"[  OK  ] {msg}")
            elif ident == "cloud-init":
                b.console_boot.append(msg)
        b.console_boot += ["", "Amazon Linux 2", f"Kernel {b.kernel} on an x86_64", "", f"{self.host} login: "]

    def shutdown_sequence(self, b: Boot, sessions: list[int]) -> None:
        """A clean, orderly shutdown ending at b.end (reboot or power-off)."""
        rng, E, T = self.rng, b.entries, b.end
        at = lambda s: T + timedelta(seconds=s, microseconds=rng.randrange(0, 900))  # noqa: E731
        if b.preamble == "ssm":  # the SSM agent reboots for the document: no sudo, no terminal
            E.append(Entry(at(0.0), "amazon-ssm-agent", _agent_line(T, "Rebooting the machine: the document "
                                                                       "requested a reboot (exit code 194)"),
                           pid=self.pid("amazon-ssm-agent")))
        if b.preamble in ("sudo", "ssm"):
            E.append(Entry(at(0.02), "systemd-logind", "System is rebooting.", 6, pid=self.pid("systemd-logind"),
                           show_pid=False, transport="journal", msgid=MSG_SHUTDOWN))
        elif b.preamble == "powerkey":
            E.append(Entry(at(0.01), "systemd-logind", "Power key pressed.", 6, pid=self.pid("systemd-logind"),
                           show_pid=False, transport="journal"))
            E.append(Entry(at(0.02), "systemd-logind", "Powering Off...", 5, pid=self.pid("systemd-logind"),
                           show_pid=False, transport="journal", msgid=MSG_SHUTDOWN))
        steps = [(0.40, "Stopped target Multi-User System."), (0.41, "Stopping Command Scheduler...")]
        steps += [(0.42 + k * 0.01, f"Stopping Session {s} of user ec2-user.") for k, s in enumerate(sessions)]
        steps += [(0.48, f"Stopping {self.unit_desc}..."), (0.49, "Stopping OpenSSH server daemon..."),
                  (0.50, "Stopping Login Service..."), (0.51, "Stopping System Logging Service...")]
        for s, msg in steps:
            E.append(Entry(at(s), "systemd", msg, 6, pid=1, show_pid=False, transport="journal"))
        E.append(Entry(at(0.53), "rsyslogd", f"[origin software=\"rsyslogd\" swVersion=\"{RSYSLOG_VERSION}\" x-pid=\""
                                             f"{self.pid('rsyslogd')}\" x-info=\"http://www.rsyslog.com\"] exiting on "
                                             "signal 15.", 6, pid=self.pid("rsyslogd"), show_pid=False))
        tail = [(0.61, "Stopped Command Scheduler."), (0.70, "Stopped OpenSSH server daemon."),
                (1.92, f"Stopped {self.unit_desc}."), (1.95, "Stopped Login Service."),
                (1.96, "Stopped System Logging Service."), (2.10, "Stopped target Network."),
                (2.20, "Stopping LSB: Bring up/down networking..."), (2.81, "Stopped LSB: Bring up/down networking."),
                (3.02, "Unmounting RPC Pipe File System..."), (3.10, "Stopped target Local File Systems."),
                (3.30, "Reached target Shutdown.")]
        for s, msg in tail:
            E.append(Entry(at(s), "systemd", msg, 6, pid=1, show_pid=False, transport="journal", journal_only=True))
        E.append(Entry(at(3.31), "systemd-journald", "Journal stopped", 6, pid=self.pid("systemd-journald"),
                       show_pid=False, transport="journal", journal_only=True))
        up = (T - b.start).total_seconds()
        b.console_tail = [f"[  OK  ] {m}" for _, m in steps + tail if m.startswith(("Stopped", "Reached"))]
        b.console_tail += [f"[{up + 3.4:12.6f}] systemd-shutdown[1]: Sending SIGTERM to remaining processes...",
                           f"[{up + 3.6:12.6f}] systemd-shutdown[1]: Sending SIGKILL to remaining processes...",
                           f"[{up + 3.9:12.6f}] " + ("reboot: Restarting system" if b.end_kind == "reboot"
                                                     else "reboot: Power down")]

    # ---------------------------------------------------------------------------------------- background
    def background(self, b: Boot, a: datetime, z: datetime) -> None:
        """Routine chatter between a and z (sessions that would outlast z are not started)."""
        rng, E, inst = self.rng, b.entries, self.inst
        # hourly cron sessions of root
        h = a.replace(minute=1, second=1, microsecond=0)
        if h < a:
            h += timedelta(hours=1)
        while h < z:
            self.session += 1
            s = self.jitter(h, 300_000)
            E.append(Entry(s, "systemd", "Created slice User Slice of root.", 6, pid=1, show_pid=False,
                           transport="journal"))
            E.append(Entry(s + timedelta(microseconds=900), "systemd", f"Started Session {self.session} of user root.",
                           6, pid=1, show_pid=False, transport="journal"))
            E.append(Entry(s + timedelta(seconds=1, microseconds=rng.randrange(9000)), "systemd",
                           "Removed slice User Slice of root.", 6, pid=1, show_pid=False, transport="journal"))
            h += timedelta(hours=1)
        # DHCP lease renewals
        d = a + timedelta(seconds=1500 + rng.randrange(300))
        while d < z:
            xid = format(rng.getrandbits(32), "08x")
            pid = self.pid("dhclient")
            E.append(Entry(d, "dhclient", f"DHCPREQUEST on eth0 to {self.gateway} port 67 (xid=0x{xid})", pid=pid))
            E.append(Entry(d + timedelta(milliseconds=2), "dhclient", f"DHCPACK from {self.gateway} (xid=0x{xid})",
                           pid=pid))
            renew = 1500 + rng.randrange(300)
            E.append(Entry(d + timedelta(milliseconds=9), "dhclient",
                           f"bound to {inst.private_ip} -- renewal in {renew} seconds.", pid=pid))
            d += timedelta(seconds=renew)
        # daily tmpfiles cleanup
        c = b.start + timedelta(minutes=15)
        while c < z:
            if c >= a:
                E.append(Entry(self.jitter(c), "systemd", "Starting Cleanup of Temporary Directories...", pid=1,
                               show_pid=False, transport="journal"))
                E.append(Entry(self.jitter(c + timedelta(seconds=1)), "systemd",
                               "Started Cleanup of Temporary Directories.", pid=1, show_pid=False, transport="journal"))
            c += timedelta(days=1)
        # SSH: people on the jump host, the jump host into the others, scanners on the (public) jump host
        day = a.replace(hour=0, minute=0, second=0, microsecond=0)
        while day < z:
            weekday = day.weekday() < 5
            if inst is S.JUMP04:
                n = rng.randrange(3, 7) if weekday else rng.randrange(0, 2)
                sources = (S.DAVE.ips[0], S.FRANK.ips[0], S.GRACE.ips[0])
            else:
                n = rng.randrange(0, 3) if weekday else 0
                sources = (S.JUMP04.private_ip,)
            for _ in range(n):
                src = sources[rng.randrange(len(sources))]
                hour = 7 + rng.random() * 9 if src == S.GRACE.ips[0] else 13 + rng.random() * 8
                st = day + timedelta(hours=hour)
                dur = timedelta(minutes=3 + rng.random() * 80)
                if st < a or st + dur >= z:
                    continue
                self.ssh_session(b, st, st + dur, src, sudo_cmds=self._routine_sudo())
            if inst is S.JUMP04:
                for _ in range(rng.randrange(8, 25)):
                    st = day + timedelta(seconds=rng.randrange(86400))
                    if a <= st < z:
                        self.scanner(b, st)
            day += timedelta(days=1)

    def _routine_sudo(self) -> list[str]:
        r = self.rng.random()
        if r < 0.5:
            return []
        cmds = [f"/bin/systemctl status {self.unit.removesuffix('.service')}", "/bin/tail -n 200 /var/log/messages",
                "/bin/df -h", "/bin/journalctl -u " + self.unit.removesuffix(".service") + " --since today"]
        return [cmds[self.rng.randrange(len(cmds))] for _ in range(1 + int(r * 2))]

    def ssh_session(self, b: Boot, st: datetime, end: datetime | None, src: str, sudo_cmds=(),
                    sudo_times: list[datetime] | None = None) -> int:
        rng, E = self.rng, b.entries
        pid = self.pid("sshd", fresh=True)
        port = 49152 + rng.randrange(16000)
        key = SSH_KEYS.get(src, "RSA SHA256:" + hexid(src, 43))
        st = self.jitter(st)
        self.session += 1
        sess = self.session
        E.append(Entry(st, "sshd", f"Accepted publickey for ec2-user from {src} port {port} ssh2: {key}", pid=pid))
        E.append(Entry(st + timedelta(milliseconds=31), "sshd",
                       "pam_unix(sshd:session): session opened for user ec2-user by (uid=0)", pid=pid))
        E.append(Entry(st + timedelta(milliseconds=35), "systemd", f"Started Session {sess} of user ec2-user.", pid=1,
                       show_pid=False, transport="journal"))
        E.append(Entry(st + timedelta(milliseconds=36), "systemd-logind", f"New session {sess} of user ec2-user.",
                       pid=self.pid("systemd-logind"), show_pid=False, transport="journal", msgid=MSG_SESSION_START))
        span = (end - st) if end else timedelta(minutes=4)
        times = sudo_times or sorted(st + timedelta(seconds=20 + rng.random() * max(1.0, span.total_seconds() - 40))
                                     for _ in sudo_cmds)
        for when, cmd in zip(times, sudo_cmds):
            self.sudo(b, when, cmd)
        if end is not None:
            end = self.jitter(end)
            E.append(Entry(end, "sshd", f"Received disconnect from {src} port {port}:11: disconnected by user",
                           pid=pid))
            E.append(Entry(end + timedelta(microseconds=300), "sshd", f"Disconnected from {src} port {port}", pid=pid))
            E.append(Entry(end + timedelta(milliseconds=4), "sshd",
                           "pam_unix(sshd:session): session closed for user ec2-user", pid=pid))
            E.append(Entry(end + timedelta(milliseconds=6), "systemd-logind", f"Removed session {sess}.",
                           pid=self.pid("systemd-logind"), show_pid=False, transport="journal"))
        return sess

    def sudo(self, b: Boot, when: datetime, cmd: str) -> None:
        E = b.entries
        pid = self.pid("sudo", fresh=True)
        when = self.jitter(when, 1000) if when.microsecond == 0 else when
        E.append(Entry(when, "sudo", f"ec2-user : TTY=pts/0 ; PWD=/home/ec2-user ; USER=root ; COMMAND={cmd}",
                       5, pid=pid, show_pid=False, uid=1000, cmd=cmd))
        E.append(Entry(when + timedelta(milliseconds=2), "sudo",
                       "pam_unix(sudo:session): session opened for user root by ec2-user(uid=0)", pid=pid,
                       show_pid=False, uid=1000, cmd=cmd))
        if not cmd.endswith("reboot"):
            E.append(Entry(when + timedelta(seconds=1, milliseconds=self.rng.randrange(900)), "sudo",
                           "pam_unix(sudo:session): session closed for user root", pid=pid, show_pid=False,
                           uid=1000, cmd=cmd))

    def scanner(self, b: Boot, st: datetime) -> None:
        rng, E = self.rng, b.entries
        ip = f"192.0.2.{129 + rng.randrange(60)}"
        user = SCANNER_USERS[rng.randrange(len(SCANNER_USERS))]
        pid = self.pid("sshd", fresh=True)
        port = 30000 + rng.randrange(30000)
        st = self.jitter(st)
        E.append(Entry(st, "sshd", f"Invalid user {user} from {ip} port {port}", pid=pid))
        E.append(Entry(st + timedelta(milliseconds=1), "sshd", f"input_userauth_request: invalid user {user} [preauth]",
                       pid=pid))
        E.append(Entry(st + timedelta(milliseconds=180), "sshd", f"Connection closed by {ip} port {port} [preauth]",
                       pid=pid))


def _agent_line(when: datetime, text: str, worker: str = "ssm-document-worker") -> str:
    """A line of the SSM agent as systemd hands its output to rsyslog: its own timestamp, level, worker and the
    document's ID (``<command ID>.<instance ID>``)."""
    return f"{when:%Y-%m-%d %H:%M:%S} INFO [{worker}] [{S.INC9_COMMAND_ID}.{S.PATCH08.id}] {text}"


# incident 9: what AWS-RunPatchBaseline (Operation Install, RebootOption RebootIfNeeded) leaves in the guest
_PATCHES = (("kernel", S.INC9_KERNEL_NEW.removesuffix(".x86_64"), "x86_64"),
            ("openssl-libs", "1:1.0.2k-24.amzn2.0.14", "x86_64"), ("glibc", "2.26-64.amzn2.0.4", "x86_64"),
            ("ca-certificates", "2024.2.69_v8.0.303-80.0.amzn2", "noarch"))


def _patch_run(host: _Host, b: Boot) -> None:
    E, T = b.entries, S.INC9_SEND + timedelta(seconds=2, milliseconds=418)
    agent = host.pid("amazon-ssm-agent")
    workdir = f"/var/lib/amazon/ssm/{S.PATCH08.id}/document/orchestration/{S.INC9_COMMAND_ID}/PatchLinux"
    E.append(Entry(T, "amazon-ssm-agent", _agent_line(T, "Processing in-progress command AWS-RunPatchBaseline",
                                                      "ssm-agent-worker"), pid=agent))
    E.append(Entry(T + timedelta(seconds=1), "amazon-ssm-agent",
                   _agent_line(T + timedelta(seconds=1), f"[PatchLinux] Running the patch baseline operation Install "
                                                         f"(RebootOption RebootIfNeeded) in {workdir}"), pid=agent))
    yum = host.pid("yum", fresh=True)
    for k, (name, version, arch) in enumerate(_PATCHES):
        when = host.jitter(S.INC9_YUM + timedelta(seconds=37 * k))
        verb = "Installed" if name == "kernel" else "Updated"
        E.append(Entry(when, "yum", f"{verb}: {name}-{version}.{arch}" if ":" not in version
                       else f"{verb}: {version.split(':')[0]}:{name}-{version.split(':')[1]}.{arch}", pid=yum))
    done = S.INC9_REBOOT - timedelta(seconds=4)
    E.append(Entry(done, "amazon-ssm-agent", _agent_line(done, f"[PatchLinux] Installed {len(_PATCHES)} packages: a "
                                                               "reboot is needed (new kernel)"), pid=agent))


def _rfc2822(d: datetime) -> str:
    return d.strftime("%a, %d %b %Y %H:%M:%S +0000")


def _uuidish(text: str) -> str:
    h = hexid("root:" + text, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _host_logs(inst: S.Instance, seed: int) -> tuple[list[Boot], _Host]:
    rng = rng_for(seed, f"oslogs:{inst.id}")
    host = _Host(inst, rng)
    boots = _plan(inst)
    for i, b in enumerate(boots):
        a = max(b.start, S.START)
        if b.start >= S.START:
            host.boot_sequence(b)
            a = b.start + timedelta(seconds=20)
        z = b.end if b.end is not None else S.END
        host.background(b, a, z)
        # the incident stories
        if inst is S.WEB01 and i == 0:
            r = S.INC1_HTTPD_RESTART  # look-alike: an admin restarts httpd 24 minutes before the reboot
            host.ssh_session(b, r - timedelta(seconds=52), r + timedelta(minutes=6), S.JUMP04.private_ip,
                             sudo_cmds=["/bin/systemctl restart httpd", "/bin/systemctl status httpd"],
                             sudo_times=[r, r + timedelta(seconds=41)])
            for dt, msg in ((0.03, "Stopping The Apache HTTP Server..."), (1.2, "Stopped The Apache HTTP Server."),
                            (1.21, "Starting The Apache HTTP Server..."), (2.0, "Started The Apache HTTP Server.")):
                b.entries.append(Entry(host.jitter(r + timedelta(seconds=dt), 9000), "systemd", msg, pid=1,
                                       show_pid=False, transport="journal", unit="httpd.service"))
        if inst is S.JUMP04 and i == 0:
            sess = host.ssh_session(b, S.INC4_SSH, None, S.BASTION_SSH_IP,
                                    sudo_cmds=["/bin/yum -y update kernel", "/sbin/reboot"],
                                    sudo_times=[S.INC4_YUM, S.INC4_REBOOT])
            host.shutdown_sequence(b, [sess])
        elif b.end_kind in ("reboot", "poweroff"):
            if inst is S.PATCH08 and i == 0:
                _patch_run(host, b)
            host.shutdown_sequence(b, [])
        # (db-replica-02: the log just stops at the host failure; no shutdown at all)
        b.entries = [e for e in b.entries if S.START <= e.ts < S.END and (b.end is None or e.ts < b.end +
                                                                           timedelta(seconds=10))]
        b.entries.sort(key=lambda e: e.ts)
        base = 1 if b.start >= S.START else int((S.START - b.start).total_seconds() // 3600) + 37
        _renumber_sessions(b, base)
    return boots, host


_SESSION = re.compile(r"(?<=[Ss]ession )(\d+)(?= of user|\.$)")


def _renumber_sessions(b: Boot, base: int) -> None:
    """Session numbers grow with time within a boot (they were handed out in generation order)."""
    mapping: dict[str, str] = {}
    for e in b.entries:
        if e.ident in ("systemd", "systemd-logind") and "ession " in e.msg:
            m = _SESSION.search(e.msg)
            if m:
                new = mapping.setdefault(m.group(1), str(base + len(mapping)))
                e.msg = e.msg[:m.start()] + new + e.msg[m.end():]


def _messages_line(inst: S.Instance, e: Entry) -> str:
    tag = e.ident if not e.show_pid or e.pid is None else f"{e.ident}[{e.pid}]"
    return f"{e.ts:%b} {e.ts.day:>2} {e.ts:%H:%M:%S} {inst.hostname} {tag}: {e.msg}"


def _journal_obj(inst: S.Instance, b: Boot, e: Entry, seqnum: int, seqnum_id: str, machine: str) -> str:
    rt = int(e.ts.timestamp()) * 1_000_000 + e.ts.microsecond
    mono = max(1, int((e.ts - b.start).total_seconds() * 1_000_000))
    fields: list[tuple[str, str]] = [
        ("__CURSOR", f"s={seqnum_id};i={seqnum:x};b={b.boot_id};m={mono:x};t={rt:x};x={hexid(f'{rt}{seqnum}', 16)}"),
        ("__REALTIME_TIMESTAMP", str(rt)), ("__MONOTONIC_TIMESTAMP", str(mono)), ("_BOOT_ID", b.boot_id)]
    if e.transport == "kernel":
        fields += [("_SOURCE_MONOTONIC_TIMESTAMP", str(mono - 40)), ("_TRANSPORT", "kernel"), ("PRIORITY", str(e.prio)),
                   ("SYSLOG_FACILITY", "0"), ("SYSLOG_IDENTIFIER", "kernel"), ("MESSAGE", e.msg),
                   ("_MACHINE_ID", machine), ("_HOSTNAME", inst.hostname)]
        return _j219(fields)
    comm, exe, cmdline, unit, facility, uid = _PROCS.get(e.ident, (e.ident, f"/usr/bin/{e.ident}", e.ident, None, 3, 0))
    uid = e.uid if e.uid is not None else uid
    unit = e.unit if e.ident != "systemd" else None
    fields += [("PRIORITY", str(e.prio)), ("_UID", str(uid)), ("_GID", str(uid)), ("_MACHINE_ID", machine),
               ("_HOSTNAME", inst.hostname), ("SYSLOG_FACILITY", str(facility)), ("SYSLOG_IDENTIFIER", e.ident)]
    if e.transport == "syslog":
        fields.append(("SYSLOG_PID", str(e.pid)))
    fields += [("_TRANSPORT", e.transport), ("_PID", str(e.pid if e.pid is not None else 1)), ("_COMM", comm),
               ("_EXE", exe),
               ("_CMDLINE", cmdline.replace("{host}", inst.hostname).replace("{user}", "ec2-user")
                .replace("{cmd}", e.cmd)),
               ("_CAP_EFFECTIVE", "0" if uid else "1fffffffff"),
               ("_SYSTEMD_CGROUP", f"/system.slice/{unit}" if unit and e.ident != "systemd" else "/")]
    if e.ident != "systemd" and unit:
        fields.append(("_SYSTEMD_UNIT", unit))
    if e.ident != "systemd":
        fields.append(("_SYSTEMD_SLICE", "system.slice"))
    if e.msgid:
        fields.append(("MESSAGE_ID", e.msgid))
    if e.ident == "systemd" and e.unit:
        fields.append(("UNIT", e.unit))
    fields.append(("MESSAGE", e.msg))
    if e.transport == "syslog":
        fields.append(("_SOURCE_REALTIME_TIMESTAMP", str(rt - 7)))
    return _j219(fields)


_PLAIN = re.compile(r'^[^"\\\x00-\x1f\x7f-\U0010ffff]*$')


def _j219(fields: list[tuple[str, str]]) -> str:
    """systemd 219's ``-o json`` layout: ``{ "KEY" : "value", ... }``."""
    return "{ " + ", ".join(f'"{k}" : "{v}"' if _PLAIN.match(v) else f'"{k}" : {json.dumps(v, ensure_ascii=False)}'
                            for k, v in fields) + " }"


def build_host(inst: S.Instance, seed: int) -> tuple[dict[str, str], dict, list[Boot]]:
    boots, _ = _host_logs(inst, seed)
    machine = hexid(f"machine:{inst.id}", 32)
    seqnum_id = hexid(f"seqnum:{inst.id}", 32)
    messages, secure, journal = [], [], []
    seq = 0x1a2b00 + int(hexid(inst.id, 4), 16)
    for b in boots:
        for e in b.entries:
            seq += 1
            journal.append(_journal_obj(inst, b, e, seq, seqnum_id, machine))
            if e.journal_only:
                continue
            facility = _PROCS.get(e.ident, (None, None, None, None, 3, 0))[4] if e.transport != "kernel" else KERN
            if facility == AUTHPRIV:
                secure.append(_messages_line(inst, e))
            elif e.prio <= 6 and facility != CRON:
                messages.append(_messages_line(inst, e))
    base = f"oslogs/{inst.id}"
    files = {f"{base}/var/log/messages": "\n".join(messages) + "\n",
             f"{base}/var/log/secure": "\n".join(secure) + "\n",
             f"{base}/journal.json": "\n".join(journal) + "\n"}
    counts = {"messages": len(messages), "secure": len(secure), "journal": len(journal), "boots": len(boots)}
    return files, counts, boots


def console_output(inst: S.Instance, boots: list[Boot]) -> tuple[str, datetime]:
    """The serial console as GetConsoleOutput returns it (decoded), and its timestamp."""
    last = boots[-1]
    lines: list[str] = []
    if len(boots) > 1 and boots[-2].end_kind == "reboot":
        lines += boots[-2].console_tail  # a reboot keeps the console buffer; a stop or a host change does not
    lines += last.console_boot
    return "\r\n".join(lines) + "\r\n", last.start + timedelta(seconds=15, milliseconds=412)


def build(seed: int) -> tuple[dict[str, str], dict, dict[str, list[Boot]]]:
    files: dict[str, str] = {}
    counts: dict[str, dict] = {}
    boots: dict[str, list[Boot]] = {}
    for inst in (*S.INSTANCES, *S.REBOOT_EXTRA):
        if not inst.os_logs:
            continue
        f, c, b = build_host(inst, seed)
        files.update(f)
        counts[inst.id] = c
        boots[inst.id] = b
    return files, counts, boots


def write(out_dir: Path, seed: int) -> tuple[dict, dict[str, list[Boot]]]:
    files, counts, boots = build(seed)
    paths = write_files(out_dir, files)
    return {"files": paths, "instances": counts}, boots
