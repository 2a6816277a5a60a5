"""Recognize a file that may hold CloudTrail by its first bytes, whatever its name.

The planner sniffs only the files whose names are neither CloudTrail's own nor an event extension (``.json``,
``.jsonl``, ...): CloudTrail's names keep their fast path, with no I/O. Only regular files are sniffed (opened with
``O_NONBLOCK | O_NOFOLLOW`` and checked with ``fstat``: a FIFO, device or link stays an other file), and only their
first :data:`SNIFF_BYTES` (inflated from at most as many gzip or Zstandard bytes, or from the first megabyte of
bzip2). A zip or tar archive is a candidate (its members are read, see :mod:`trailtools.events.archives`); otherwise a
file is a candidate when its text starts as
JSON (``{`` or ``[``) or as a CloudWatch Logs export line (a timestamp, a space, ``{``) and names a field of one of the
containers :mod:`trailtools.events.reader` knows. A candidate that proves not to be CloudTrail when read is still
counted as an other file.
"""
from __future__ import annotations

import os
import re
import stat
import zlib

from trailtools.events import compression

SNIFF_BYTES = 4096
#: a bzip2 file gives nothing before its first block (up to 900 kB of text) is whole: this much of it is read
BZ2_SNIFF_BYTES = 1 << 20

#: as trailtools.events.safe_open opens evidence (a link is not followed: it stays an other file)
_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
          | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0))

#: what a file must start with (after a byte-order mark and whitespace): JSON, or an export line's timestamp
_START = re.compile(rb"[\[{]|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z \{")
#: a field of a CloudTrail record (as a key, or escaped inside a string: CloudWatch Logs messages, Splunk's _raw), or
#: a container that holds only CloudTrail (LookupEvents, Lake results, digests); a log pipeline's own fields
#: (``@timestamp``, ``_raw``) are not enough: a Filebeat export of web server logs stays an other file
_MARKERS = re.compile(rb'\\?"(?:eventTime|eventVersion|eventSource|eventName)\\?"|'
                      rb'"(?:Records|CloudTrailEvent|QueryResultRows|digestStartTime)"|'
                      rb'"cloudtrail"\s*:\s*\{|"aws\.cloudtrail')


def head(path: str, size: int = SNIFF_BYTES) -> bytes | None:
    """The first ``size`` bytes of a regular file's text (gunzipped when gzip), or None when it is not a regular
    file or cannot be read."""
    try:
        fd = os.open(path, _FLAGS)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = os.read(fd, size)
        if compression.kind(data) == "bzip2":
            data += os.read(fd, BZ2_SNIFF_BYTES - len(data))
    except OSError:
        return None
    finally:
        os.close(fd)
    if data[:2] == b"\x1f\x8b":
        try:
            data = zlib.decompressobj(31).decompress(data, size)
        except zlib.error:
            return None
    elif compression.kind(data):
        data = compression.inflate(data, size, partial_ok=True)[0]
    return data


def is_archive(data: bytes | None) -> bool:
    """A zip file, or a tar file (after gzip, bzip2 or Zstandard): read member by member
    (:mod:`trailtools.events.archives`)."""
    if not data:
        return False
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return True
    return data[257:262] == b"ustar" and _tar_checksum_ok(data[:512])


def _tar_checksum_ok(header: bytes) -> bool:
    """Whether a tar header's checksum field is its bytes' sum (the field counted as blanks): JSON that happens to
    hold "ustar" at byte 257 is no tar."""
    try:
        stored = int(header[148:156].replace(b"\0", b" ").strip() or b"-1", 8)
    except ValueError:
        return False
    return len(header) == 512 and stored == sum(header[:148]) + 8 * 32 + sum(header[156:])


def looks_like_events(data: bytes | None) -> bool:
    """Whether a file's first bytes (see :func:`head`) may hold CloudTrail records in a container the reader knows."""
    if not data:
        return False
    if is_archive(data) or data[:4] == b"PAR1":  # an archive; Parquet (Security Lake's OCSF), read whole
        return True
    body = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    return _START.match(body) is not None and _MARKERS.search(body) is not None


def sniff(path: str) -> bool:
    """Whether the file at ``path`` may hold CloudTrail records (reads at most its first few kilobytes)."""
    return looks_like_events(head(path))
