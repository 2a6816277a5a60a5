"""Open evidence files as an attacker may have left them: only regular files are read, and never more than a limit.

A FIFO would block an ``open`` forever, a link to ``/dev/zero`` reads forever, a socket or device is no evidence
file, and a symbolic link may lead out of the evidence folder (to the analyst's own files). Every file is opened
with ``O_NONBLOCK`` (a FIFO cannot block the open) and ``O_NOFOLLOW`` (a link is seen as a link), checked with
``fstat`` on the open descriptor (what is read is what was checked), and read up to the size limit. What is not
read gets a reason naming its kind. See docs/security.md.
"""
from __future__ import annotations

import errno
import os
import stat
import zlib
from dataclasses import dataclass
from pathlib import Path

from trailtools.events.limits import describe

try:  # Intel ISA-L inflates 2-3x faster than zlib; same results
    from isal import isal_zlib as _zlib
except ImportError:  # pragma: no cover - isal is a declared dependency
    _zlib = zlib

_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
          | getattr(os, "O_BINARY", 0))
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
#: what open(O_NOFOLLOW) fails with on a link (Linux, macOS: ELOOP; FreeBSD: EMLINK)
_LINK_ERRNOS = {errno.ELOOP, getattr(errno, "EMLINK", errno.ELOOP)}

#: deflate cannot expand more than 1032:1; a gzip file whose size times this is within the limit needs no check
MAX_RATIO = 1040


def kind_of(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a regular file"


@dataclass
class Opened:
    """The outcome of :func:`read_regular`: the bytes, or the reason they were not read; and a note for the stats
    (a link out of the evidence folder)."""

    data: bytes | None = None
    problem: str | None = None
    note: str | None = None
    outside: bool = False  # a symbolic link that leads out of the evidence folder (read or not)


def inside(path: str, root: str) -> bool:
    """Whether ``path`` (resolved) lies in the folder ``root`` (resolved)."""
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # different drives
        return False


def _strerror(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _open(path: str, root: str | None, follow_outside: bool, out: Opened) -> int | None:
    """A descriptor on ``path`` if it is, or links within the rules to, a regular file; else None and out.problem."""
    try:
        return os.open(path, _FLAGS | _NOFOLLOW)
    except OSError as exc:
        if exc.errno not in _LINK_ERRNOS or not _NOFOLLOW:
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                mode = None
            if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISLNK(mode):
                out.problem = f"not a regular file: {kind_of(mode)}; not read"
            else:
                out.problem = f"cannot read the file ({_strerror(exc)})"
            return None
    # a symbolic link: where does it lead?
    target = os.path.realpath(path)
    out.outside = root is not None and not inside(target, os.path.realpath(root))
    try:
        mode = os.stat(target).st_mode
    except OSError as exc:
        out.problem = f"cannot read the file ({_strerror(exc)})"
        return None
    if not stat.S_ISREG(mode):
        out.problem = f"a symbolic link to {kind_of(mode)} ({target}); not read"
        return None
    if out.outside:
        if not follow_outside:
            out.problem = (f"a symbolic link to {target}, outside the evidence folder: not read "
                           "(TRAILTOOLS_FOLLOW_OUTSIDE_LINKS=1 reads such links)")
            return None
        out.note = f"read through a symbolic link to {target}, outside the evidence folder"
    try:
        return os.open(target, _FLAGS | _NOFOLLOW)  # the resolved path; fstat then checks what was opened
    except OSError as exc:
        out.problem = f"cannot read the file ({_strerror(exc)})"
        out.note = None
        return None


def read_regular(path: str, max_bytes: int, *, root: str | None = None, follow_outside: bool = False) -> Opened:
    """The bytes of ``path`` when it is a regular file (or a link, within the rules, to one) of at most
    ``max_bytes``; otherwise the reason it was not read. Never blocks on a FIFO, never reads past the limit, never
    raises for what the file is."""
    out = Opened()
    fd = _open(os.fspath(path), root, follow_outside, out)
    if fd is None:
        return out
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # (a file replaced since it was looked at)
            out.problem = f"not a regular file: {kind_of(st.st_mode)}; not read"
            out.note = None
            return out
        size = st.st_size
        if size > max_bytes:
            out.problem = (f"larger than the limit of {describe(max_bytes)} ({size:,} bytes; max_file_bytes): "
                           "not read")
            return out
        # os.read: half the cost of open().read() (no buffered file object), which counts at 100,000s of files
        data = os.read(fd, size + 1 if size else 65536)
        if len(data) > size:  # grown since the stat: read on, up to the limit
            parts, total = [data], len(data)
            while total <= max_bytes:
                more = os.read(fd, min(1 << 20, max_bytes + 1 - total))
                if not more:
                    break
                parts.append(more)
                total += len(more)
            if total > max_bytes:
                out.problem = f"larger than the limit of {describe(max_bytes)} (max_file_bytes): not read"
                return out
            data = b"".join(parts)
        out.data = data
        return out
    except OSError as exc:
        out.problem = f"cannot read the file ({_strerror(exc)})"
        out.note = None
        return out
    finally:
        os.close(fd)


def check_regular(path: str, *, root: str | None = None, follow_outside: bool = False) -> Opened:
    """:func:`read_regular` without the reading: ``problem`` None when ``path`` is a regular file (or a link,
    within the rules, to one), for readers that then open it themselves (Parquet, a CSV streamed by pandas)."""
    out = Opened()
    fd = _open(os.fspath(path), root, follow_outside, out)
    if fd is None:
        return out
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            out.problem = f"not a regular file: {kind_of(mode)}; not read"
            out.note = None
    except OSError as exc:
        out.problem = f"cannot read the file ({_strerror(exc)})"
    finally:
        os.close(fd)
    return out


def open_regular(path: str, *, root: str | None = None, follow_outside: bool = False):
    """A binary file object on ``path`` when it is a regular file (or a link, within the rules, to one), checked on
    the open descriptor; otherwise OSError with the reason (a FIFO is never waited for)."""
    out = Opened()
    fd = _open(os.fspath(path), root, follow_outside, out)
    if fd is None:
        raise OSError(out.problem)
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise OSError(f"not a regular file: {kind_of(mode)}; not read")
    return os.fdopen(fd, "rb")


def inflated_size(data: bytes, max_bytes: int) -> int:
    """How many bytes gzip ``data`` inflates to, counted in a streaming way (nothing is kept), stopping as soon as
    it passes ``max_bytes``: a 4 MB bomb costs a few megabytes of memory and the time to inflate max_bytes. Members
    are followed as gzip does; a corrupt or truncated stream counts what it gave up to the break."""
    total = 0
    rest = data
    while rest[:2] == b"\x1f\x8b":
        d = _zlib.decompressobj(31)
        pending = rest
        try:
            while pending and not d.eof:
                piece = d.decompress(pending, 1 << 20)
                total += len(piece)
                if total > max_bytes:
                    return total
                pending = d.unconsumed_tail
                if not piece and not pending:
                    break
            while not d.eof:  # output still held inside the inflater
                piece = d.decompress(b"", 1 << 20)
                if not piece:
                    break
                total += len(piece)
                if total > max_bytes:
                    return total
        except (zlib.error, ValueError, OSError, EOFError):
            return total
        if not d.eof:
            return total
        rest = d.unused_data.lstrip(b"\0")
    return total


def too_large(max_bytes: int) -> str:
    """The reason for a file past ``max_file_bytes`` once decompressed."""
    return (f"expands past the limit of {describe(max_bytes)} when decompressed (max_file_bytes; a decompression "
            "bomb?): not read")


class FoundFile(type(Path())):
    """A file found in a folder that was given (``evidence_root``: that folder, resolved): a symbolic link that leads
    out of it is not read unless allowed (trailtools/events/limits.py)."""

    evidence_root: str | None = None


def files_under(folder: Path) -> list[Path]:
    """Everything under ``folder`` that is not a folder (FIFOs, sockets and links too: reading them says what they
    are; a link to a folder is not entered), sorted, each a :class:`FoundFile` that knows the folder."""
    root = os.path.realpath(folder)
    out = []
    for q in sorted(Path(folder).rglob("*")):
        try:
            if q.is_dir():
                continue
        except OSError:
            pass
        found = FoundFile(q)
        found.evidence_root = root
        out.append(found)
    return out
