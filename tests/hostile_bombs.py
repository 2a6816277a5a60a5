"""Adversarial inputs for issue 17 items 4 and 5 (files that are not files; bombs), built at test time.

Nothing here is kept in git but the code: a 4 GiB gzip bomb is a few megabytes written in about a second. Each
function writes into a folder the test owns and returns the path it made. Used by tests/test_hostile_bombs.py; the
lead merges these into tests/hostile.py.
"""
from __future__ import annotations

import json
import os
import socket
import zlib
from pathlib import Path

try:  # ISA-L compresses blanks at ~4 GB/s (zlib: ~250 MB/s); same gzip format
    from isal import isal_zlib as _zlib
except ImportError:  # pragma: no cover
    _zlib = zlib


def record(event_id: str, time: str = "2026-11-03T10:00:00Z", **extra) -> dict:
    """A small, realistic CloudTrail record (RunInstances by an IAM user)."""
    rec = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": "arn:aws:iam::111122223333:user/mallory",
                         "accountId": "111122223333", "accessKeyId": "AKIAEXAMPLE", "userName": "mallory"},
        "eventTime": time, "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances",
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"instanceType": "p4d.24xlarge"}, "responseElements": None,
        "requestID": "req-" + event_id, "eventID": event_id, "readOnly": False, "eventType": "AwsApiCall",
        "managementEvent": True, "recipientAccountId": "111122223333", "eventCategory": "Management",
    }
    rec.update(extra)
    return rec


def good_file(path: Path, n: int = 3, prefix: str = "aaaaaaaa") -> Path:
    """A plain CloudTrail log file of ``n`` records: what must survive beside every hostile file."""
    recs = [record(f"{prefix}-0000-4000-8000-{i:012d}", f"2026-11-03T10:{i:02d}:00Z") for i in range(n)]
    path.write_text(json.dumps({"Records": recs}))
    return path


def gzip_bomb(path: Path, expanded: int, *, members: int = 1) -> Path:
    """A ``.json.gz`` that inflates to about ``expanded`` bytes: a valid CloudTrail envelope with one record, then
    blanks (JSON whitespace), so that a reader that inflates it whole would also parse it. Written in a streaming
    way (1 MiB at a time); ``members`` > 1 writes that many gzip members (gzip reads them as one stream)."""
    head = ('{"Records": [' + json.dumps(record("bbbbbbbb-0000-4000-8000-000000000001")) + ",").encode()
    tail = b' "end"]}'
    block = b" " * (1 << 20)
    per_member = max(0, expanded - len(head) - len(tail)) // members
    with open(path, "wb") as out:
        for m in range(members):
            c = _zlib.compressobj(1, _zlib.DEFLATED, 31)
            if m == 0:
                out.write(c.compress(head))
            left = per_member
            while left > 0:
                piece = block if left >= len(block) else block[:left]
                out.write(c.compress(piece))
                left -= len(piece)
            if m == members - 1:
                out.write(c.compress(tail))
            out.write(c.flush())
    return path


def huge_record_file(path: Path, user_agent_bytes: int, *, gz: bool = False) -> Path:
    """A log file of three records, the middle one with a userAgent of ``user_agent_bytes`` (the "2 GB JSON line")."""
    a = json.dumps(record("cccccccc-0000-4000-8000-000000000001"))
    c = json.dumps(record("cccccccc-0000-4000-8000-000000000003", "2026-11-03T10:02:00Z"))
    b_head, b_tail = json.dumps(record("cccccccc-0000-4000-8000-000000000002", "2026-11-03T10:01:00Z",
                                       userAgent="@UA@")).split("@UA@")
    parts = [f'{{"Records": [{a}, {b_head}'.encode()]
    block = b"A" * (1 << 20)
    with open(path, "wb") as out:
        c_obj = _zlib.compressobj(1, _zlib.DEFLATED, 31) if gz else None
        write = (lambda b: out.write(c_obj.compress(b))) if gz else out.write
        write(parts[0])
        left = user_agent_bytes
        while left > 0:
            piece = block if left >= len(block) else block[:left]
            write(piece)
            left -= len(piece)
        write(f"{b_tail}, {c}]}}".encode())
        if gz:
            out.write(c_obj.flush())
    return path


def nested(depth: int) -> str:
    """JSON text of ``depth`` nested arrays with a string at the bottom."""
    return "[" * depth + '"bottom"' + "]" * depth


def deep_file(path: Path, depth: int, *, with_good: bool = True) -> Path:
    """A log file whose second record's requestParameters nest ``depth`` levels (first and third are plain)."""
    a = json.dumps(record("dddddddd-0000-4000-8000-000000000001"))
    c = json.dumps(record("dddddddd-0000-4000-8000-000000000003", "2026-11-03T10:02:00Z"))
    b = json.dumps(record("dddddddd-0000-4000-8000-000000000002", "2026-11-03T10:01:00Z",
                          requestParameters="@DEEP@")).replace('"@DEEP@"', nested(depth))
    path.write_text('{"Records": [' + (f"{a}, {b}, {c}" if with_good else b) + "]}")
    return path


def lookup_events_deep(path: Path, depth: int) -> Path:
    """LookupEvents output (aws cli) whose second entry's CloudTrailEvent string nests ``depth`` levels."""
    good = json.dumps(record("eeeeeeee-0000-4000-8000-000000000001"))
    bad = json.dumps(record("eeeeeeee-0000-4000-8000-000000000002", requestParameters="@DEEP@")).replace(
        '"@DEEP@"', nested(depth))
    path.write_text(json.dumps({"Events": [{"EventId": "1", "CloudTrailEvent": good},
                                           {"EventId": "2", "CloudTrailEvent": bad}]}))
    return path


def lone_surrogate_file(path: Path) -> Path:
    """Records with text that is not valid Unicode: a lone ``\\ud800`` escape in a userAgent, a lone low surrogate
    in a userName and in a requestParameters key, and a raw byte that is not UTF-8 in another userAgent."""
    a = json.dumps(record("ffffffff-0000-4000-8000-000000000001", userAgent="evil\ud800agent"))
    b = json.dumps(record("ffffffff-0000-4000-8000-000000000002", "2026-11-03T10:01:00Z",
                          requestParameters={"k\udc00ey": "v"}))
    b = b.replace('"userName": "mallory"', '"userName": "mal\\udfffory"')
    c = json.dumps(record("ffffffff-0000-4000-8000-000000000003", "2026-11-03T10:02:00Z", userAgent="@BYTE@"))
    d = json.dumps(record("ffffffff-0000-4000-8000-000000000004", "2026-11-03T10:03:00Z",
                          userAgent="fine \U0001F600 emoji"))
    text = ('{"Records": [' + ", ".join((a, b, c, d)) + "]}").encode()
    path.write_bytes(text.replace(b"@BYTE@", b"caf\xe9 \xff"))
    return path


def fifo(path: Path) -> Path:
    """A FIFO (named pipe) with an event file's name: opening it for reading blocks until a writer comes."""
    os.mkfifo(path)
    return path


def unix_socket(path: Path) -> tuple[Path, socket.socket]:
    """A listening Unix socket with an event file's name (the caller closes the socket)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    here = os.getcwd()
    os.chdir(path.parent)  # bound by its name: a socket's path may not be longer than ~100 bytes
    try:
        s.bind(path.name)
    finally:
        os.chdir(here)
    s.listen(1)
    return path, s


def link_to_dev_zero(path: Path) -> Path:
    """A symbolic link with an event file's name that reads zeros forever."""
    os.symlink("/dev/zero", path)
    return path


def link_outside(path: Path, target: Path) -> Path:
    """A symbolic link in the evidence folder to a file outside it (written by the caller or here: a valid
    CloudTrail file, so that a reader that follows it would take its events)."""
    if not target.exists():
        good_file(target, prefix="99999999")
    os.symlink(target, path)
    return path
