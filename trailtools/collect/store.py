"""The case folder as ``collect`` writes it: safe relative paths, files written once and never changed.

Every name that comes from AWS (an S3 key, a region, an instance ID) becomes a path only through
:func:`safe_relative`: each segment made of letters, digits and ``. _ - = + @`` only, no ``..``, nothing absolute,
at most :data:`MAX_DEPTH` segments of :data:`MAX_SEGMENT` characters. A file is written next to a temporary name
and linked into place without following symbolic links; its folder must resolve inside the case folder.

Append-only: a file already in the case is never rewritten. The same bytes as its newest copy are nothing new;
other bytes for the same path (a snapshot that changed since: the instance's status, Health events) go to
``runs/<run>/<path>``, so every copy is kept and the first stays byte-identical. The newest copy is the one
:func:`trailtools.integrity.case.newest_copy` chooses, the one the readers read: so it is always the latest state
(a status that changed and changed back gets a copy of its own).
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from trailtools.errors import TrailtoolsError
from trailtools.integrity.case import RUNS, newest_copy, sha256_file

MAX_DEPTH = 16
MAX_SEGMENT = 200
_SEGMENT = re.compile(r"^[A-Za-z0-9_=+@-][A-Za-z0-9._=+@-]*$")
#: Names the case folder keeps for itself: never the target of a collected file.
RESERVED = ("manifest.json",)


class UnsafeName(TrailtoolsError):
    """A name from the evidence that will not become a path in the case folder."""


def safe_relative(name: str) -> PurePosixPath:
    """``name`` (``/``-separated) as a relative path inside the case folder, or UnsafeName saying why not."""
    if not isinstance(name, str) or not name:
        raise UnsafeName("an empty name")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise UnsafeName(f"{name[:80]!r} is an absolute path")
    parts = name.split("/")
    if len(parts) > MAX_DEPTH:
        raise UnsafeName(f"{name[:80]!r} is more than {MAX_DEPTH} folders deep")
    for part in parts:
        if part in ("", ".", ".."):
            raise UnsafeName(f"{name[:80]!r} has an empty, '.' or '..' segment")
        if len(part) > MAX_SEGMENT:
            raise UnsafeName(f"{name[:80]!r} has a segment longer than {MAX_SEGMENT} characters")
        if not _SEGMENT.match(part):
            raise UnsafeName(f"{name[:80]!r} holds characters other than letters, digits and . _ - = + @")
    if parts == list(RESERVED[:1]):
        raise UnsafeName(f"{name!r} is the case's own manifest")
    return PurePosixPath(*parts)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Written:
    """What :meth:`CaseStore.put` did: ``path`` (relative, posix) and whether it is a new file (``added``)."""

    path: str
    added: bool
    sha256: str
    size: int


class CaseStore:
    """Writes files into the case folder ``root`` for run number ``run``; never replaces one."""

    def __init__(self, root: Path, run: int):
        self.root = Path(root)
        self.run = run
        self.root.mkdir(parents=True, exist_ok=True)
        self._real = self.root.resolve()

    def path(self, rel: str | PurePosixPath) -> Path:
        return self.root / PurePosixPath(rel)

    def exists(self, rel: str) -> bool:
        return self.path(rel).is_file()

    def put(self, rel: str, data: bytes) -> Written:
        """Write ``data`` at ``rel`` (a path from :func:`safe_relative`). Already there with these bytes (in its newest
        copy): nothing is written (``added`` False); there with other bytes: written at ``runs/<run>/<rel>``."""
        rel = str(safe_relative(str(rel)))
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(rel)
        if target.is_file() and not target.is_symlink():
            mine = f"{RUNS}/{self.run}/{rel}"
            newest = mine if self.path(mine).is_file() else newest_copy(self.root, rel)[1]
            have = self.path(newest)
            if have.is_file() and have.stat().st_size == len(data) and sha256_file(have) == digest:
                return Written(newest, False, digest, len(data))
            rel, target = mine, self.path(mine)
        self._write_new(target, data)
        return Written(rel, True, digest, len(data))

    def _write_new(self, target: Path, data: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.parent.resolve().is_relative_to(self._real):
            raise UnsafeName(f"the folder of {target.name} leads out of the case folder (a symbolic link)")
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(tmp, flags, 0o644)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.link(tmp, target)  # fails if anything (a file, a link) took the name meanwhile: never replaced
        finally:
            tmp.unlink(missing_ok=True)
