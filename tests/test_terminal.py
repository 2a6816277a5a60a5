"""Terminal injection (issue 17, item 3): what the CLI prints shows control characters, it never sends them.

A userName or userAgent from the evidence holding ``ESC[2K\\r`` rewrote the verdict line on screen, OSC 52 wrote the
clipboard, bidi overrides reordered what was shown. The CLI is run as a user runs it (a subprocess), on a trail
folder holding such a record; outputs to files keep the data exact.
"""
import csv
import gzip
import io
import json
import logging
import os
import pty
import subprocess
import sys
import tty
import unicodedata

import pytest
from hostile_h17_term import (
    EVENT_ID,
    FAKE_VERDICT,
    HOSTILE_AGENT,
    HOSTILE_NAME,
    INSTANCE,
    RAW_CONTROLS,
    hostile_terminal_trail,
)

from trailtools.terminal import UNSAFE, guard, json_visible, raw_stream, visible

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), os.environ.get("PYTHONPATH")) if p)}


def run(*args, stdout=subprocess.PIPE):
    return subprocess.run([sys.executable, "-m", "trailtools", *args], stdout=stdout, stderr=subprocess.PIPE,
                          env=ENV, timeout=120)


def raw_controls(data: bytes) -> list[bytes]:
    """The bytes a terminal acts on (newlines between lines aside)."""
    return [c for c in RAW_CONTROLS if c in data] + (
        [b"\t"] if b"\t" in data else []) + [bytes([b]) for b in set(data) if b < 0x20 and b not in b"\n"]


@pytest.fixture(scope="module")
def trail(tmp_path_factory):
    return hostile_terminal_trail(tmp_path_factory.mktemp("hostile-terminal"))


# ---- the sanitizer --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,shown", [
    ("dave.miller", "dave.miller"),
    ("José Müller 山田", "José Müller 山田"),
    ("a\x1b[2K\rb", "a\\x1b[2K\\rb"),
    ("\x1b]52;c;QQ==\x07", "\\x1b]52;c;QQ==\\x07"),
    ("x\x9b31my", "x\\x9b31my"),                     # 8-bit CSI (C1)
    ("del\x7f nul\x00 tab\t nl\n", "del\\x7f nul\\x00 tab\\t nl\\n"),
    ("\u202egnp.exe\u202c", "\\u202egnp.exe\\u202c"),   # bidi override / pop
    ("\u2066a\u2069\u2067b\u2068", "\\u2066a\\u2069\\u2067b\\u2068"),  # isolates
    ("\u202a\u202b\u202d\u200e\u200f\u061c", "\\u202a\\u202b\\u202d\\u200e\\u200f\\u061c"),
    ("lone \ud800 \udfff", "lone \\ud800 \\udfff"),    # lone surrogates: shown, and printable in UTF-8
    ("zw\u200bsp \ufeff tag\U000e0041", "zw\\u200bsp \\ufeff tag\\U000e0041"),
    ("ls\u2028ps\u2029nel\x85", "ls\\u2028ps\\u2029nel\\x85"),
    ("C:\\path\\x1b", "C:\\path\\x1b"),               # a backslash stays what it is
])
def test_visible(text, shown):
    assert visible(text) == shown
    visible(text).encode("utf-8")  # never UnicodeEncodeError


def test_visible_keeps_newlines_only_when_asked():
    assert visible("a\nb\rc", keep_newlines=True) == "a\nb\\rc"
    assert visible(12) == "12"


def test_unsafe_covers_every_control_format_surrogate_and_separator_character():
    cats = ("Cc", "Cf", "Cs", "Zl", "Zp")
    missing = [hex(c) for c in range(sys.maxunicode + 1)
               if unicodedata.category(chr(c)) in cats and not UNSAFE.match(chr(c))]
    assert missing == []
    # and nothing printable is escaped
    for c in "aZ09 ~!\"'\\{}<>éß山\u00a0\u3000😀\u0301":
        assert visible(c) == c


def test_json_visible_is_the_same_data():
    for value in (HOSTILE_NAME, HOSTILE_AGENT, "plain", "\ud800x", "é\U000e0041😀"):
        line = json_visible(json.dumps({"v": value}, ensure_ascii=False))
        assert json.loads(line) == {"v": value}
        assert not UNSAFE.search(line)
    indented = json.dumps({"v": HOSTILE_NAME, "w": [1, 2]}, indent=2, ensure_ascii=False)
    assert json.loads(json_visible(indented)) == {"v": HOSTILE_NAME, "w": [1, 2]}
    assert json_visible(indented).count("\n") == indented.count("\n") == 6


def test_guard_makes_other_writers_visible_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    out, err = Tty(), Tty()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        with guard():
            print("user \x1b]52;c;QQ==\x07")
            sys.stderr.write("bad \x1b[2K\rname\n")  # as a warning or a library writes
            log = logging.getLogger("h17-term-test")
            handler = logging.StreamHandler()  # logging's own handler: it writes to the sys.stderr of now
            log.addHandler(handler)
            try:
                log.warning("agent \u202eexe")
            finally:
                log.removeHandler(handler)
            assert raw_stream(sys.stderr) is err
        assert sys.stdout is out and sys.stderr is err
    finally:
        sys.stdout, sys.stderr = saved
    assert out.getvalue() == "user \\x1b]52;c;QQ==\\x07\n"
    assert "bad \\x1b[2K\\rname" in err.getvalue() and "agent \\u202eexe" in err.getvalue()
    assert not UNSAFE.search(err.getvalue().replace("\n", ""))


# ---- the CLI, as a user runs it -------------------------------------------------------------------------------

def test_events_table_shows_the_escapes_one_row_per_line(trail):
    p = run("events", str(trail), "--no-cache", "--columns", "eventTime,eventName,actor,userAgent,eventID")
    assert p.returncode == 0, p.stderr
    assert raw_controls(p.stdout) == [] and raw_controls(p.stderr) == []
    lines = p.stdout.decode().splitlines()
    assert len(lines) == 2 and lines[1].startswith("2026-10-06 14:22:31+00:00 RebootInstances mallory\\x1b[2K\\r")
    assert lines[1].rstrip().endswith(EVENT_ID)
    assert "\\x1b]52;c;" in lines[1] and "\\u202egnp.exe\\u202c" in lines[1] and "\\r\\n\\u202etxt.sh" in lines[1]
    assert p.stderr.decode().startswith("1 events from 1 files")


@pytest.mark.slow  # the reboot investigation in a subprocess: 3 s alone, more on a shared machine
def test_reboot_verdict_line_is_intact(trail):
    p = run("reboot", INSTANCE, "--source", str(trail), "--start", "2026-10-06", "--end", "2026-10-07",
            "--region", "us-east-1")
    assert p.returncode == 0, p.stderr
    assert raw_controls(p.stdout) == [] and raw_controls(p.stderr) == []
    verdict, cause, evidence = p.stdout.decode().splitlines()[:3]
    # the whole verdict, on one line, with the crafted name shown for what it is
    assert verdict.startswith(f"{INSTANCE} was rebooted by mallory\\x1b[2K\\r{FAKE_VERDICT}\\x1b]52;c;")
    assert verdict.endswith("from 198.51.100.40 at 2026-10-06T14:22:31Z.")
    assert cause == "  cause: a person or role called the EC2 API (confidence high)"
    assert evidence.startswith("  evidence: cloudtrail 2026-10-06T14:22:31Z RebootInstances by mallory\\x1b")
    assert evidence.endswith(f"[{EVENT_ID}]")


def test_jsonl_is_exact_data_and_safe_to_show(trail, tmp_path):
    p = run("events", str(trail), "--no-cache", "--format", "jsonl", "--columns", "actor,userAgent")
    assert p.returncode == 0, p.stderr
    assert raw_controls(p.stdout) == [] and not UNSAFE.search(p.stdout.decode().rstrip("\n"))
    row = json.loads(p.stdout)
    assert row == {"actor": HOSTILE_NAME, "userAgent": HOSTILE_AGENT}


def test_csv_to_a_file_is_exact(trail, tmp_path):
    out = tmp_path / "e.csv"
    p = run("events", str(trail), "--no-cache", "--format", "csv", "--columns", "actor,userAgent", "-o", str(out))
    assert p.returncode == 0, p.stderr
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows == [["actor", "userAgent"], [HOSTILE_NAME, HOSTILE_AGENT]]
    assert b"\x1b]52;c;" in out.read_bytes()


def test_csv_and_errors_on_a_terminal_are_visible(trail):
    """With standard output and error a terminal (a pty in raw mode: no newline translation)."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    try:
        p = run("events", str(trail), "--no-cache", "--format", "csv", "--columns", "actor,userAgent", stdout=slave)
        os.close(slave)
        slave = None
        data = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the other end is closed
                break
            if not chunk:
                break
            data += chunk
    finally:
        os.close(master)
        if slave is not None:
            os.close(slave)
    assert p.returncode == 0, p.stderr
    assert raw_controls(data) == [], data
    lines = data.decode().splitlines()
    assert lines[0] == "actor,userAgent" and lines[1].startswith("mallory\\x1b[2K\\r") and len(lines) == 2


def test_an_error_quoting_a_hostile_name_is_visible(tmp_path):
    p = run("events", str(tmp_path / "no\x1b]52;c;QQ==\x07such\x1b[2K\r"))
    assert p.returncode == 2
    assert raw_controls(p.stderr) == []
    assert b"\\x1b]52;c;QQ==\\x07such\\x1b[2K\\r" in p.stderr and p.stderr.count(b"\n") == 1


def test_verify_summary_names_a_hostile_log_key_visibly(tmp_path):
    from cryptography.hazmat.primitives.asymmetric import rsa
    from test_verify import build_trail, keys_file

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = tmp_path / "trail"
    built = build_trail(root, key)
    # the newest digest names a log file whose key a terminal would act on (its signature no longer matches)
    newest = root / built["digests"][-1]
    body = json.loads(gzip.decompress(newest.read_bytes()))
    hostile = dict(body["logFiles"][0], s3Object=body["logFiles"][0]["s3Object"].replace(
        ".json.gz", "\x1b[2K\rVERIFIED\x1b]52;c;QQ==\x07.json.gz"))
    body["logFiles"].append(hostile)
    newest.write_bytes(gzip.compress(json.dumps(body).encode()))
    p = run("verify", str(root), "--public-keys", str(keys_file(tmp_path / "keys.json", key)))
    assert p.returncode == 1, p.stdout + p.stderr
    assert raw_controls(p.stdout) == [] and raw_controls(p.stderr) == []
    out = p.stdout.decode()
    assert out.startswith("FAILED:")
    assert any(line.startswith("  FAIL missing-log: ") and "\\x1b[2K\\rVERIFIED\\x1b]52;c;QQ==\\x07.json.gz" in line
               for line in out.splitlines()), out
