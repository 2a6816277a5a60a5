"""Recognize a file that may hold CloudTrail by its first bytes, whatever its name.

The planner sniffs only the files whose names are neither CloudTrail's own nor an event extension (``.json``,
``.jsonl``, ...): CloudTrail's names keep their fast path, with no I/O. Only regular files are sniffed (opened with
``O_NONBLOCK | O_NOFOLLOW`` and checked with ``fstat``: a FIFO, device or link stays an other file), and only their
first :data:`SNIFF_BYTES` (inflated from at most as many gzip bytes). A file is a candidate when its text starts as
JSON (``{`` or ``[``) or as a CloudWatch Logs export line (a timestamp, a space, ``{``) and names a field of one of the
containers :mod:`trailtools.events.reader` knows. A candidate that proves not to be CloudTrail when read is still
counted as an other file.
"""
from __future__ import annotations

import os
import re
import stat
import zlib

SNIFF_BYTES = 4096

#: as trailtools.events.safe_open opens evidence (a link is not followed: it stays an other file)
_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
          | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0))

#: what a file must start with (after a byte-order mark and whitespace): JSON, or an export line's timestamp
_START = re.compile(rb"[\[{]|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z \{")
#: a field of a CloudTrail record (as a key, or escaped inside a string: CloudWatch Logs messages, Splunk's _raw), or
#: a container that holds only CloudTrail (LookupEvents, Lake results, digests); a log pipeline's own fields
#: (``@timestamp``, ``_raw``) are not enough: a Filebeat export of web server logs stays an other file
_MARKERS = re.compile(rb'\\?"(?:eventTime|eventVersion|eventSource|eventName)\\?"|'
                      rb'"(?:Records|CloudTrailEvent|QueryResultRows|digestStartTime)"')


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
    except OSError:
        return None
    finally:
        os.close(fd)
    if data[:2] == b"\x1f\x8b":
        try:
            data = zlib.decompressobj(31).decompress(data, size)
        except zlib.error:
            return None
    return data


def looks_like_events(data: bytes | None) -> bool:
    """Whether a file's first bytes (see :func:`head`) may hold CloudTrail records in a container the reader knows."""
    if not data:
        return False
    body = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    return _START.match(body) is not None and _MARKERS.search(body) is not None


def sniff(path: str) -> bool:
    """Whether the file at ``path`` may hold CloudTrail records (reads at most its first few kilobytes)."""
    return looks_like_events(head(path))
