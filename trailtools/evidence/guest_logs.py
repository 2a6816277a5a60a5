"""Guest OS logs copied off an instance that restarted: boots, shutdown sequences, crashes and who ran ``reboot``.

``read_guest_logs(paths)`` reads ``/var/log/messages`` / ``syslog`` (classic ``Oct  6 14:22:05 host proc[pid]: msg``
or RFC 3339 ``2026-10-06T14:22:05.123456+00:00 host proc[pid]: msg``), ``secure`` / ``auth.log``, a
``journalctl -o json`` export and ``last -x`` output (plain, ``-F`` or ``--time-format iso``). The format is
detected from the content, never the name; folders are read file by file, gzip is opened. Nothing raises on bad
input: unreadable, binary, empty or unknown files are listed in ``files`` with a reason, unparsable lines counted.

``events`` (one row per fact, sorted by time) columns: ``time`` (datetime64[us, UTC]), ``kind``, ``user``,
``command``, ``host``, ``boot_id``, ``file``, ``line`` (1-based), ``text`` (the raw line: untrusted, stored as-is),
``message`` (the line as a person reads it, ``program[pid]: message``: a journal entry's JSON reduced to that).
Kinds (``KINDS``):

- ``boot``: a kernel / systemd / ``last`` boot marker (one boot prints several: use ``boots`` to count boots)
- ``logger-start``: rsyslogd or journald started (at boot, or when the logger alone was restarted)
- ``shutdown-begin``: the start of an orderly shutdown (``Stopped target ...``, ``Power key pressed``)
- ``shutdown-complete``: its end (``rsyslogd ... exiting on signal 15``, ``Journal stopped``, ``Reached target
  Shutdown``, ``systemd-shutdown``, ``reboot: Restarting system``, a ``last -x`` shutdown entry)
- ``reboot-command`` / ``shutdown-command``: a request in the guest (sudo/pkexec running reboot, shutdown,
  poweroff, halt, ``init 6``, ``systemctl reboot``; systemd-logind's ``System is rebooting.`` and friends, with the
  user when the line states one)
- ``kernel-panic``; ``crash`` (``last -x``: a session or boot ended by a crash; its time is the entry's start);
  ``recovery`` (file system or journal recovery at boot: the previous shutdown was not clean)
- ``oom-kill`` (the kernel's out-of-memory killer; ``command`` the process), ``lockup`` (soft or hard lockup),
  ``hung-task`` (a task blocked for minutes; ``command`` the task), ``watchdog`` (a watchdog expiring or rebooting,
  a unit's watchdog timeout or failure action), ``fs-error`` (a file system error, remounted read-only or shut
  down), ``emergency-mode`` (booted into the emergency or rescue target): ``CRASH_KINDS`` are the likely cause of
  an unclean boot after them
- automatic updates rebooting (``unattended-upgrade``, ``dnf-automatic``, ``yum-cron`` lines that say reboot) are
  ``reboot-command`` facts of ``root`` with the program as ``command``

``boots`` (one row per boot, the same boot seen in several files merged): ``time``, ``previous_shutdown`` (end of
the shutdown sequence before it, NaT if none), ``clean`` (True: a shutdown sequence precedes the boot; False:
activity, then a boot with no shutdown between (crash, power loss, host failure); None: the log does not reach
back before the boot), ``initiated_by``, ``command`` (from the last guest request within 15 minutes before the
shutdown), ``guest_request`` (bool: any reboot/shutdown request inside the guest before this boot), ``boot_id``,
``file``, ``line``.

``systemd: Stopping X...`` alone is not a shutdown marker: ``systemctl restart X`` logs it too. Nor is the syslog
daemon exiting when it starts again within seconds with no boot between (log rotation restarting rsyslog); its
``rsyslogd was HUPed`` line (a rotation's reload) is no fact at all.

``ssh`` (one row per SSH authentication attempt sshd logged, from any of the files, sorted by time; the
suspicious-login investigation reads it): ``time``, ``result`` (``accepted`` / ``failed``), ``user``, ``source``
(the client address), ``port``, ``method`` (``publickey``, ``password`` ...; None for an unknown user's
``Invalid user`` line), ``invalid_user`` (bool: no such account), ``host``, ``file``, ``line``, ``text``. One attempt
is one row: ``Failed password for invalid user X`` after ``Invalid user X`` from the same address and port is
not counted twice.
"""
from __future__ import annotations

import gzip
import json
import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pandas as pd

from trailtools.errors import TrailtoolsError
from trailtools.events.limits import from_env
from trailtools.events.safe_open import MAX_RATIO, files_under, inflated_size, read_regular, too_large

KINDS = ("boot", "logger-start", "shutdown-begin", "shutdown-complete", "reboot-command", "shutdown-command",
         "kernel-panic", "crash", "recovery", "oom-kill", "lockup", "hung-task", "watchdog", "fs-error",
         "emergency-mode")
#: Facts that mean the kernel crashed or hung (or was about to): before an unclean boot, the likely cause.
CRASH_KINDS = ("kernel-panic", "lockup", "watchdog", "hung-task", "fs-error", "oom-kill")
#: Programs that update the system by themselves and may reboot it (their reboot lines are root's).
AUTO_UPDATERS = ("unattended-upgrade", "unattended-upgrades", "unattended-upgrade-shutdown", "dnf-automatic",
                 "yum-cron")
SEQUENCE_KINDS = {"shutdown-begin", "shutdown-complete"}
EVENT_COLUMNS = ["time", "kind", "user", "command", "host", "boot_id", "file", "line", "text", "message"]
BOOT_COLUMNS = ["time", "previous_shutdown", "clean", "initiated_by", "command", "guest_request", "boot_id",
                "file", "line"]
SSH_COLUMNS = ["time", "result", "user", "source", "port", "method", "invalid_user", "host", "file", "line", "text"]
SSH_PROGRAMS = ("sshd", "sshd-session")
SSH_AUTH = re.compile(r"^(?P<result>Accepted|Failed) (?P<method>\S+) for (?P<invalid>invalid user )?(?P<user>.*?) "
                      r"from (?P<source>\S+) port (?P<port>\d+)")
SSH_INVALID = re.compile(r"^Invalid user (?P<user>.*?) ?from (?P<source>\S+)(?: port (?P<port>\d+))?")
BOOT_CLUSTER = timedelta(minutes=10)      # markers of one boot (kernel, systemd "Startup finished") lie this close
SEQUENCE_TIMEOUT = timedelta(minutes=5)   # ordinary lines this long after shutdown lines: it was no shutdown
COMMAND_WINDOW = timedelta(minutes=15)    # a guest request this long before a shutdown sequence explains it
LOGGER_RESTART = timedelta(seconds=10)    # the logger back this soon after it exited: restarted, not rebooted
SAME_BOOT = timedelta(seconds=120)        # one boot seen in two files (last -x has minute resolution)
SAMPLE = 200                              # lines looked at to detect a format

MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
_MON = "(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TAIL = r" (?P<host>\S+) (?:(?P<ident>[^\s:\[]+)(?:\[(?P<pid>\d+)\])?: ?)?(?P<msg>.*)$"
SYSLOG_CLASSIC = re.compile(_MON + r" +(?P<day>\d{1,2}) (?P<hms>\d\d:\d\d:\d\d)(?P<frac>\.\d+)?" + _TAIL)
SYSLOG_RFC3339 = re.compile(r"(?P<ts>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)" + _TAIL)
_LAST_TIME = (r"(?P<start>(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) " + _MON + r" +(?P<day>\d{1,2}) (?P<hm>\d\d:\d\d)"
              r"(?::(?P<sec>\d\d) (?P<year>\d{4}))?|(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:,\d+)?[+-]\d\d:?\d\d))")
LAST_ENTRY = re.compile(r"(?P<user>\S+)\s+(?P<middle>.*?)\s+" + _LAST_TIME + r"\s*(?P<rest>.*)$")
LAST_TRAILER = re.compile(r"^\s*(?:wtmp|btmp|utx\.log) begins\s+(?:\w+ )?" + _MON + r" +\d+ [\d:]+ (?P<year>\d{4})")
_KERNEL_STAMP = re.compile(r"^\[\s*\d+\.\d+\]\s*")


class Rule(NamedTuple):
    """A line is a fact of ``kind`` when its program matches ``ident`` and its message matches ``pattern``.
    ``marker`` names boot markers (each printed once per boot); ``seq``: part of a running shutdown sequence."""
    kind: str
    ident: str
    pattern: str
    marker: str = ""
    seq: bool = False


RULES = [
    Rule("boot", r"kernel", r"^Linux version \S+", "linux"),
    Rule("boot", r"kernel", r"^Booting Linux", "booting"),
    Rule("boot", r"kernel", r"^Command line: ", "cmdline"),
    Rule("boot", r"systemd", r"^Startup finished in .*\((?:kernel|firmware|initrd|loader)\)", "startup"),
    Rule("logger-start", r"systemd-journald?", r"^Journal started"),
    Rule("logger-start", r"rsyslogd", r'^\[origin software="rsyslogd".*\] start\s*$'),
    Rule("shutdown-begin", r"systemd", r"^Stopped target \S", seq=True),
    Rule("shutdown-begin", r"systemd-logind", r"^(?:Power key pressed|Powering Off|Power-off|Rebooting)", seq=True),
    Rule("shutdown-complete", r"rsyslogd", r"exiting on signal 15", seq=True),
    Rule("shutdown-complete", r"systemd-journald?", r"^Journal stopped", seq=True),
    Rule("shutdown-complete", r"systemd", r"^(?:Reached target (?:Shutdown|Final Step|Reboot|System Reboot|Power-Off|"
                                          r"System Power Off|Halt)\b|Shutting down\.)", seq=True),
    Rule("shutdown-complete", r"systemd-shutdown", r".", seq=True),
    Rule("shutdown-complete", r"kernel", r"^reboot: (?:Restarting system|Power down|System halted)", seq=True),
    Rule("reboot-command", r"systemd-logind",
         r"^(?:System is rebooting|The system will reboot now|(?:reboot|kexec|soft-reboot) requested from client)"
         r"(?:.*?(?:requested by|by user) (?P<user>[\w.@-]+))?(?:.*?\('(?P<command>[^']*)'\))?", seq=True),
    Rule("shutdown-command", r"systemd-logind",
         r"^(?:System is powering down|The system will power off now|(?:power-off|poweroff|halt) requested from "
         r"client)(?:.*?(?:requested by|by user) (?P<user>[\w.@-]+))?(?:.*?\('(?P<command>[^']*)'\))?", seq=True),
    Rule("reboot-command", r"systemd-logind|systemd-shutdownd", r"^Reboot scheduled for"),
    Rule("shutdown-command", r"systemd-logind|systemd-shutdownd", r"^(?:Shutdown|Power-Off|Halt) scheduled for"),
    # the SSM agent rebooting for a document (exit code 194, AWS-RunPatchBaseline's RebootIfNeeded): no sudo line
    Rule("reboot-command", r"amazon-ssm-agent|ssm-agent-worker|ssm-document-worker",
         r"\b(?:Rebooting the machine|[Rr]eboot requested by the document|the document requested a reboot)"),
    Rule("reboot-command", r"sudo", r"^\s*(?P<user>[^\s:]+) : (?:TTY|PWD)=[^;]*;.*?COMMAND=(?P<command>.+)$"),
    Rule("reboot-command", r"pkexec", r"^(?P<user>[^\s:]+): Executing command .*\[COMMAND=(?P<command>[^\]]+)\]"),
    Rule("kernel-panic", r"kernel", r"^Kernel panic - not syncing"),
    Rule("oom-kill", r"kernel",
         r"^(?:Memory cgroup out|Out) of memory: Kill(?:ed)? process \d+ \((?P<command>[^)]*)\)"),
    Rule("lockup", r"kernel", r"(?:BUG: soft lockup - CPU#\d+ stuck for|Watchdog detected hard LOCKUP|"
                              r"BUG: hard LOCKUP)"),
    Rule("hung-task", r"kernel", r"^INFO: task (?P<command>\S+?):\d+ blocked for more than \d+ seconds"),
    Rule("watchdog", r"kernel", r"(?:watchdog: watchdog\d+: watchdog did not stop|[Ww]atchdog timer expired|"
                                r"softdog: Initiating system reboot)"),
    Rule("watchdog", r"systemd", r"(?:Watchdog timeout \(limit|(?:Forcibly )?[Rr]ebooting: unit \S+ failed)"),
    Rule("fs-error", r"kernel", r"^(?:EXT4-fs error|EXT4-fs \(\S+\): Remounting filesystem read-only|XFS \(\S+\): "
                                r"(?:Corruption|metadata I/O error|log I/O error|Filesystem has been shut down)|"
                                r"BTRFS (?:error|critical)|Aborting journal on device)"),
    Rule("emergency-mode", r"systemd", r"^(?:Reached target (?:Emergency Mode|Rescue Mode)|Started (?:Emergency|Rescue)"
                                       r" Shell)"),
    Rule("reboot-command", "|".join(AUTO_UPDATERS), r"(?i)\breboot"),
    Rule("recovery", r"kernel", r"^(?:XFS \(\S+\): Starting recovery|EXT4-fs \(\S+\): (?:recovery complete|"
                                r"orphan cleanup)|EXT4-fs \(\S+\): INFO: recovery required)"),
    Rule("recovery", r"systemd-journald?", r"corrupted or uncleanly shut down"),
]
_COMPILED = [(r, re.compile(f"(?:{r.ident})$"), re.compile(r.pattern)) for r in RULES]

# what a command run through sudo/pkexec does: first match wins; no match -> the line is no fact
COMMAND_RULES = [
    ("", re.compile(r"\bshutdown\b.*\s-c\b")),  # cancels a scheduled shutdown
    (
        "reboot-command",
        re.compile(
            r"(?:^|[/\s'\"])(?:reboot|kexec)(?:$|[\s'\"])|\bshutdown\b.*(?:\s-r\b|\s--reboot\b)"
            r"|(?:^|/)(?:tel)?init\s+6\b|\bsystemctl\s+(?:\S+\s+)*(?:reboot|kexec|soft-reboot)(?=\s|$)"
        ),
    ),
    (
        "shutdown-command",
        re.compile(
            r"(?:^|[/\s'\"])(?:poweroff|halt)(?:$|[\s'\"])|(?:^|/)shutdown\b|(?:^|/)(?:tel)?init"
            r"\s+0\b|\bsystemctl\s+(?:\S+\s+)*(?:poweroff|halt)(?=\s|$)"
        ),
    ),
]
AUTH_PROGRAMS = {
    "sshd",
    "sshd-session",
    "sudo",
    "su",
    "polkitd",
    "pkexec",
    "login",
    "cron",
    "crond",
    "CRON",
    "passwd",
    "useradd",
    "usermod",
    "userdel",
    "groupadd",
    "chage",
    "chpasswd",
    "unix_chkpwd",
    "systemd-logind",
    "gdm-password",
    "dbus-daemon",
    "systemd",
}


@dataclass
class GuestLogs:
    events: pd.DataFrame
    boots: pd.DataFrame
    files: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ssh: pd.DataFrame = field(default_factory=lambda: _ssh_frame([]))


@dataclass
class _Row:  # one parsed line; ``when`` is a datetime, or (month, day, h, m, s, us) until the year is known
    when: object
    line: int
    text: str
    host: str | None = None
    ident: str | None = None
    pid: str | None = None
    msg: str = ""
    boot_id: str | None = None
    fact: tuple | None = None  # (kind, user, command, marker, seq)


def classify(ident: str | None, msg: str, pid: str | None = None) -> tuple | None:
    """The fact a log message states: (kind, user, command, marker, seq), or None. Pure; used for every format."""
    if not ident:
        return None
    ident = ident.strip()
    body = _KERNEL_STAMP.sub("", msg) if ident == "kernel" else msg
    for rule, ident_re, pat in _COMPILED:
        if not ident_re.match(ident):
            continue
        if rule.ident == "systemd" and pid not in (None, "", "1"):
            continue  # a user's systemd instance stopping its targets at logout
        m = pat.search(body)
        if not m:
            continue
        groups = m.groupdict()
        kind, command = rule.kind, groups.get("command")
        if ident in ("sudo", "pkexec"):
            kind = next((k for k, rx in COMMAND_RULES if rx.search(command or "")), "")
            if not kind:
                return None
        if ident in AUTO_UPDATERS:  # an automatic update rebooting: root's, the program says which
            return kind, "root", f"{ident} (automatic updates)", rule.marker, rule.seq
        return kind, groups.get("user"), command, rule.marker, rule.seq
    return None


def ssh_attempt(ident: str | None, msg: str) -> tuple | None:
    """An sshd authentication line as (result, user, source, port, method, invalid_user), or None. Pure."""
    if (ident or "").strip() not in SSH_PROGRAMS:
        return None
    if m := SSH_AUTH.match(msg):
        return (m["result"].lower(), m["user"], m["source"], int(m["port"]), m["method"], bool(m["invalid"]))
    if m := SSH_INVALID.match(msg):
        return ("failed", m["user"] or "", m["source"], int(m["port"]) if m["port"] else None, None, True)
    return None


def _ssh_rows(rows, fname: str) -> list[tuple]:
    out, announced = [], set()
    for r in rows:
        att = ssh_attempt(r.ident, r.msg)
        if att is None:
            continue
        result, user, source, port, method, invalid = att
        key = (r.host, r.pid, user, source, port)
        if invalid and method is None:
            announced.add(key)
        elif invalid and key in announced:
            continue  # the same attempt as the "Invalid user" line before it
        out.append((r.when, result, user, source, port, method, invalid, r.host, fname, r.line, r.text))
    return out


def _ssh_frame(rows: list[tuple]) -> pd.DataFrame:
    rows = sorted(rows, key=lambda r: (r[0], r[8], r[9]))
    cols = list(zip(*rows)) if rows else [[] for _ in SSH_COLUMNS]
    data = {c: pd.Series(list(v), dtype=object) for c, v in zip(SSH_COLUMNS, cols)}
    data["time"] = pd.to_datetime(pd.Series(list(cols[0]), dtype=object), utc=True).astype("datetime64[us, UTC]")
    data["line"] = pd.Series(list(cols[9]), dtype="int64")
    data["port"] = pd.Series(list(cols[4]), dtype="Int64")
    data["invalid_user"] = pd.Series(list(cols[6]), dtype=bool)
    return pd.DataFrame(data, columns=SSH_COLUMNS)


def _read_bytes(path: Path) -> tuple[bytes | None, str | None]:
    """A log file's bytes (gunzipped), or why not: only regular files are read (a FIFO would block, a link to
    /dev/zero read forever), within ``max_file_bytes`` (trailtools/events/limits.py), decompressed size included."""
    limits = from_env()
    opened = read_regular(str(path), limits.max_file_bytes, root=getattr(path, "evidence_root", None),
                          follow_outside=limits.follow_outside_links)
    if opened.data is None:
        return None, opened.problem
    data = opened.data
    if data[:2] == b"\x1f\x8b":
        if len(data) * MAX_RATIO > limits.max_file_bytes and inflated_size(data, limits.max_file_bytes) > \
                limits.max_file_bytes:
            return None, too_large(limits.max_file_bytes)
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            return None, f"broken gzip file: {e}"
    if not data.strip():
        return None, "empty file"
    if data.startswith(b"LPKSHHRH"):
        return None, "binary systemd journal: export it with journalctl --file=FILE -o json"
    if b"\x00" in data[:65536]:
        return None, "binary file (wtmp/btmp: give the output of last -x -f FILE instead)"
    return data, None


def _detect(lines: list[str]) -> str:
    sample = [ln for ln in lines[: SAMPLE * 3] if ln.strip()][:SAMPLE]
    if not sample:
        return "unknown"
    if sample[0].lstrip().startswith("{"):
        try:
            obj = json.loads(sample[0])
            if isinstance(obj, dict) and ("__REALTIME_TIMESTAMP" in obj or "MESSAGE" in obj):
                return "journal-json"
        except ValueError:
            pass
    syslog = [m for ln in sample if (m := SYSLOG_CLASSIC.match(ln) or SYSLOG_RFC3339.match(ln))]
    last = sum(1 for ln in sample if LAST_ENTRY.match(ln) or LAST_TRAILER.match(ln))
    if len(syslog) >= len(sample) / 2 and len(syslog) >= last:
        idents = [m["ident"] for m in syslog]
        auth = sum(1 for i in idents if i in AUTH_PROGRAMS or (i or "").startswith("pam"))
        core = sum(1 for i in idents if i in ("sshd", "sudo", "su", "polkitd", "sshd-session"))
        return "auth" if auth >= 0.8 * len(idents) and core else "syslog"
    return "last-x" if last >= len(sample) / 2 else "unknown"


def _parse_syslog(lines, tz) -> tuple[list[_Row], int]:
    rows, skipped = [], 0
    for n, text in enumerate(lines, 1):
        m = SYSLOG_CLASSIC.match(text)
        if m:
            h, mi, s = (int(x) for x in m["hms"].split(":"))
            us = int((m["frac"] or ".0")[1:7].ljust(6, "0"))
            when = (MONTHS[m["mon"]], int(m["day"]), h, mi, s, us)
        elif m := SYSLOG_RFC3339.match(text):
            try:
                when = datetime.fromisoformat(m["ts"].replace(" ", "T", 1))
            except ValueError:
                m = None
            else:
                when = when if when.tzinfo else when.replace(tzinfo=tz)
        if not m:
            skipped += bool(text.strip())
            continue
        rows.append(
            _Row(
                when, n, text, m["host"], m["ident"], m["pid"], m["msg"], fact=classify(m["ident"], m["msg"], m["pid"])
            )
        )
    return rows, skipped


def _journal_text(value) -> str | None:
    if isinstance(value, list) and all(isinstance(b, int) for b in value):  # journald writes binary data as bytes
        return bytes(b & 0xFF for b in value).decode("utf-8", "replace")
    return value if isinstance(value, str) or value is None else str(value)


def _parse_journal(lines) -> tuple[list[_Row], int]:
    rows, skipped = [], 0
    for n, text in enumerate(lines, 1):
        try:
            obj = json.loads(text)
            when = datetime.fromtimestamp(int(obj["__REALTIME_TIMESTAMP"]) / 1e6, UTC)
            when = when.replace(microsecond=int(obj["__REALTIME_TIMESTAMP"]) % 1_000_000)
        except (ValueError, KeyError, TypeError, OverflowError, OSError):
            skipped += bool(text.strip())
            continue
        g = {
            k: _journal_text(obj.get(k))
            for k in ("SYSLOG_IDENTIFIER", "_COMM", "_PID", "SYSLOG_PID", "MESSAGE", "_HOSTNAME", "_BOOT_ID")
        }
        ident = g["SYSLOG_IDENTIFIER"] or g["_COMM"] or ("kernel" if obj.get("_TRANSPORT") == "kernel" else None)
        pid, msg = g["SYSLOG_PID"] or g["_PID"], g["MESSAGE"] or ""
        rows.append(_Row(when, n, text, g["_HOSTNAME"], ident, pid, msg, g["_BOOT_ID"], classify(ident, msg, pid)))
    rows.sort(key=lambda r: r.when)
    return rows, skipped


def _parse_last(lines, tz) -> tuple[list[_Row], int, int | None]:
    rows, skipped, year = [], 0, None
    for n, text in enumerate(lines, 1):
        if not text.strip():
            continue
        if t := LAST_TRAILER.match(text):
            year = int(t["year"])
            continue
        m = LAST_ENTRY.match(text)
        if not m:
            skipped += 1
            continue
        if m["iso"]:
            when = datetime.fromisoformat(m["iso"].replace(",", "."))
        elif m["year"]:
            when = datetime(
                int(m["year"]), MONTHS[m["mon"]], int(m["day"]), *map(int, m["hm"].split(":")), int(m["sec"]), tzinfo=tz
            )
        else:
            when = (MONTHS[m["mon"]], int(m["day"]), *map(int, m["hm"].split(":")), 0, 0)
        user, middle, rest = m["user"], m["middle"], m["rest"]
        fact = None
        if user == "reboot" and "system boot" in middle:
            fact = ("boot", None, None, "last", False)
        elif user == "shutdown" and "system down" in middle:
            fact = ("shutdown-complete", None, None, "", True)
        elif re.search(r"-\s*crash\b", rest):
            fact = ("crash", None if user == "reboot" else user, None, "", False)
        rows.append(_Row(when, n, text, None, "last", None, text, fact=fact))
    rows.reverse()  # last prints the newest first
    return rows, skipped, year


def _span(rows, first_year: int, tz) -> list[datetime | None]:
    """Datetimes for yearless rows in file order, the first one in first_year, +1 at each December -> January."""
    out, year, prev = [], first_year, None
    for r in rows:
        if not isinstance(r.when, tuple):
            out.append(r.when)
            continue
        mon = r.when[0]
        if prev is not None and prev - mon >= 6:
            year += 1
        prev = mon
        try:
            out.append(datetime(year, *r.when, tzinfo=tz))
        except ValueError:  # Feb 29 in a year that has none
            out.append(None)
    return out


def _choose_year(rows, tz, evidence: tuple | None, mtime: datetime | None) -> tuple[int, str]:
    yearless = [r for r in rows if isinstance(r.when, tuple)]
    if evidence:
        lo, hi = evidence
        best = None
        for y in range(lo.year - 1, hi.year + 2):
            ts = [t for t in _span(yearless, y, tz) if t]
            if not ts:
                continue
            gap = max(timedelta(0), lo - max(ts), min(ts) - hi)
            if best is None or gap < best[0]:
                best = (gap, y)
        if best:
            return best[1], "the dated logs in the same set"
    ref = mtime or datetime.now(UTC)
    for y in range(ref.year, ref.year - 3, -1):
        ts = [t for t in _span(yearless, y, tz) if t]
        if ts and max(ts) <= ref + timedelta(days=1):
            return y, "the file's modification time"
    return ref.year, "the file's modification time"


def _assemble_file_boots(rows, fmt, fname) -> list[dict]:
    """Walk one file's rows in time order: each boot, and whether a shutdown sequence or just activity precedes it."""
    boots, cur, cur_bid, activity = [], None, None, False
    sd_first = sd_last = None
    for r in rows:
        kind, _user, _cmd, marker, seq = r.fact or ("", None, None, "", False)
        if fmt == "journal-json" and r.boot_id:
            new = (cur_bid is not None and r.boot_id != cur_bid) or (cur_bid is None and kind == "boot")
            cur_bid = r.boot_id
        else:
            new = kind == "boot" and (
                cur is None or marker in cur["markers"] or cur["closed"] or r.when - cur["time"] > BOOT_CLUSTER
            )
        if new:
            clean = True if sd_last is not None else (False if activity else None)
            cur = {
                "time": r.when,
                "previous_shutdown": sd_last,
                "shutdown_start": sd_first,
                "clean": clean,
                "boot_id": r.boot_id,
                "file": fname,
                "line": r.line,
                "format": fmt,
                "markers": {marker},
                "closed": False,
            }
            boots.append(cur)
            sd_first = sd_last = None
        elif kind == "boot" and cur is not None:
            cur["markers"].add(marker)
        elif kind == "logger-start" and sd_last is not None and r.when - sd_last <= LOGGER_RESTART:
            sd_first = sd_last = None  # the logger alone restarted (log rotation): the system did not stop
        elif seq:
            sd_first, sd_last = sd_first or r.when, r.when
            if cur is not None:
                cur["closed"] = True
        elif sd_last is not None and r.when - sd_last > SEQUENCE_TIMEOUT:
            sd_first = sd_last = None  # life went on: that was a service stopping, not the system
            if cur is not None:
                cur["closed"] = True
        activity = True
    return boots


def _merge_boots(cands: list[dict]) -> list[dict]:
    rank = {"journal-json": 0, "syslog": 1, "auth": 1, "last-x": 2}
    groups: list[list[dict]] = []
    for b in sorted(cands, key=lambda b: b["time"]):
        g = groups[-1] if groups else None
        if g and (
            abs(b["time"] - g[0]["time"]) <= SAME_BOOT or (b["boot_id"] and b["boot_id"] in {x["boot_id"] for x in g})
        ):
            g.append(b)
        else:
            groups.append([b])
    merged = []
    for g in groups:
        best = min(g, key=lambda b: (rank.get(b["format"], 3), b["time"]))
        cleans = [b["clean"] for b in g]
        clean = True if True in cleans else (False if False in cleans else None)
        shut = [b for b in g if b["clean"]]
        merged.append(
            {
                **best,
                "clean": clean,
                "previous_shutdown": max((b["previous_shutdown"] for b in shut), default=None),
                "shutdown_start": min((b["shutdown_start"] for b in shut), default=None),
                "boot_id": next((b["boot_id"] for b in g if b["boot_id"]), None),
            }
        )
    return merged


def _read_one(path: Path, tz) -> tuple[dict, list[_Row], str, int | None]:
    info = {"path": str(path), "format": "unknown", "lines": 0, "facts": 0, "skipped": 0, "reason": None}
    data, reason = _read_bytes(path)
    if data is None:
        info["reason"] = reason
        return info, [], "unknown", None
    lines = [ln.rstrip("\r") for ln in data.decode("utf-8", "replace").split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    info["lines"] = len(lines)
    fmt = _detect(lines)
    info["format"] = fmt
    year = None
    if fmt in ("syslog", "auth"):
        rows, skipped = _parse_syslog(lines, tz)
    elif fmt == "journal-json":
        rows, skipped = _parse_journal(lines)
    elif fmt == "last-x":
        rows, skipped, year = _parse_last(lines, tz)
    else:
        info["reason"] = "no known log format (syslog, auth log, journalctl -o json, last -x) in its first lines"
        info["skipped"] = sum(1 for ln in lines if ln.strip())
        return info, [], fmt, None
    info["skipped"] = skipped
    if not rows:
        info["reason"] = "no line could be read"
    return info, rows, fmt, year


def guest_log_paths(os_logs) -> list[Path]:
    """The files named by an ``os_logs`` parameter (paths, or one comma-separated string; folders are walked).
    A path that does not exist is one TrailtoolsError sentence."""

    if not os_logs:
        return []
    items = os_logs.split(",") if isinstance(os_logs, str) else list(os_logs)
    paths = [Path(str(p).strip()).expanduser() for p in items if str(p).strip()]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise TrailtoolsError(
            f"Guest log not found: {missing[0]}: give the paths of the files copied off the "
            "instance (e.g. messages, secure, auth.log, a journalctl -o json export)."
        )
    files = []
    for p in paths:
        files.extend(files_under(p) if p.is_dir() else [p])
    return files


def read_guest_logs(paths, *, year: int | None = None, tz: str = "UTC") -> GuestLogs:
    """Read guest OS logs (files or folders) into facts, boots, per-file stats and notes. Never raises on bad files."""
    try:
        zone = ZoneInfo(tz)
    except (KeyError, ValueError) as e:
        raise ValueError(f"unknown time zone {tz!r}") from e
    if isinstance(paths, (str, Path)):
        paths = [paths]
    expanded: list[Path] = []
    for p in paths:
        p = p if isinstance(p, Path) else Path(p)
        expanded.extend(files_under(p) if p.is_dir() else [p])
    files, notes, parsed = [], [], []
    for p in expanded:
        info, rows, fmt, file_year = _read_one(p, zone)
        files.append(info)
        parsed.append((p, info, rows, fmt, file_year))
    dated = [r.when for _p, _i, rows, _f, _y in parsed for r in rows if isinstance(r.when, datetime)]
    evidence = (min(dated), max(dated)) if dated else None
    for p, info, rows, _fmt, file_year in parsed:
        if not any(isinstance(r.when, tuple) for r in rows):
            continue
        if year is not None:
            first, how = year, None
        elif file_year is not None:  # last's "wtmp begins ... 2026" dates its oldest entry
            first, how = file_year, None
        else:
            try:
                mtime = datetime.fromtimestamp(p.stat().st_mtime, UTC)
            except OSError:
                mtime = None
            first, how = _choose_year(rows, zone, evidence, mtime)
        times = _span(rows, first, zone)
        bad = sum(1 for t in times if t is None)
        for r, t in zip(rows, times):
            r.when = t
        rows[:] = [r for r in rows if r.when is not None]
        info["skipped"] += bad
        if how:
            notes.append(f"{p.name} has no year: assumed {first} from {how}.")
    event_rows, cands, ssh_rows = [], [], []
    for p, info, rows, fmt, _y in parsed:
        for r in rows:
            r.when = r.when.astimezone(UTC)
        facts = [r for r in rows if r.fact]
        info["facts"] = len(facts)
        info["first"] = min(r.when for r in rows).isoformat() if rows else None
        info["last"] = max(r.when for r in rows).isoformat() if rows else None
        for r in facts:
            kind, user, command, _m, _s = r.fact
            event_rows.append((r.when, kind, user, command, r.host, r.boot_id, str(p), r.line, r.text, _message(r)))
        if rows:
            cands.extend(_assemble_file_boots(rows, fmt, str(p)))  # text logs in file order, the journal by time
        ssh_rows.extend(_ssh_rows(rows, str(p)))
    events = _events_frame(event_rows)
    boots = _boots_frame(_merge_boots(cands), events)
    if not boots.empty and boots["clean"].iloc[0] is None:
        notes.append(
            "The logs do not reach back before the first boot they show: whether it followed a clean "
            "shutdown is unknown."
        )
    return GuestLogs(events, boots, files, notes, _ssh_frame(ssh_rows))


def _message(r: _Row) -> str:
    """The line as a person reads it: ``program[pid]: message`` (a journal entry's JSON reduced to that)."""
    if r.ident == "last" or not r.ident:
        return r.text
    return f"{r.ident}[{r.pid}]: {r.msg}" if r.pid else f"{r.ident}: {r.msg}"


def _events_frame(rows) -> pd.DataFrame:
    rows.sort(key=lambda r: (r[0], r[6], r[7]))
    cols = list(zip(*rows)) if rows else [[] for _ in EVENT_COLUMNS]
    data = {c: pd.Series(list(v), dtype=object) for c, v in zip(EVENT_COLUMNS, cols)}
    data["time"] = pd.to_datetime(pd.Series(list(cols[0]), dtype=object), utc=True).astype("datetime64[us, UTC]")
    data["line"] = pd.Series(list(cols[7]), dtype="int64")
    for c in ("kind", "file", "text", "message"):
        data[c] = pd.Series(list(data[c]), dtype=object)
    return pd.DataFrame(data, columns=EVENT_COLUMNS)


def _boots_frame(boots: list[dict], events: pd.DataFrame) -> pd.DataFrame:
    requests = events[events["kind"].isin(["reboot-command", "shutdown-command"])]
    out, prev = [], None
    for b in boots:
        anchor = b["shutdown_start"] or b["time"]
        lo = max(anchor - COMMAND_WINDOW, prev) if prev is not None else anchor - COMMAND_WINDOW
        win = requests[(requests["time"] >= lo) & (requests["time"] <= b["time"])]
        pick = win[win["user"].notna()] if win["user"].notna().any() else win
        pick = pick.iloc[-1] if len(pick) else None
        out.append(
            {
                "time": b["time"],
                "previous_shutdown": b["previous_shutdown"],
                "clean": b["clean"],
                "initiated_by": None if pick is None else pick["user"],
                "command": None if pick is None else pick["command"],
                "guest_request": len(win) > 0,
                "boot_id": b["boot_id"],
                "file": b["file"],
                "line": b["line"],
            }
        )
        prev = b["time"]
    df = pd.DataFrame(out, columns=BOOT_COLUMNS)
    for c in ("time", "previous_shutdown"):
        df[c] = pd.to_datetime(pd.Series(list(df[c]), dtype=object), utc=True).astype("datetime64[us, UTC]")
    for c in ("clean", "initiated_by", "command", "boot_id", "file"):
        df[c] = pd.Series(
            [None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else v for v in df[c]], dtype=object
        )
    df["guest_request"] = df["guest_request"].astype(bool)
    df["line"] = df["line"].astype("int64")
    return df
