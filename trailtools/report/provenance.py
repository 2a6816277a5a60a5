"""Provenance for reports: every input file with its SHA-256, paths relative to the source, library versions."""
from __future__ import annotations

import hashlib
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from trailtools.events.cache import cache_root
from trailtools.sources.s3 import object_uri


def relative_path(path, folder: Path | None) -> str:
    """A path inside the source's folder as relative to it (the same report wherever the folder is); a copy in
    the ``s3://`` source's download cache as the object it holds."""
    if folder is not None:
        try:
            return Path(path).resolve().relative_to(folder.resolve()).as_posix()
        except ValueError:
            pass

    if str(path).startswith(str(cache_root() / "s3")):
        return object_uri(path) or str(path)
    return str(path)


#: At most this many trail files are listed (with their SHA-256) as the findings' inputs.
MAX_EVIDENCE_FILES = 200


def evidence_files(frame, findings) -> tuple[str, ...]:
    """The trail files holding the events the findings cite (their SHA-256 go in the report's provenance): the files
    a reader would check, not the thousands read for a baseline or a hunt."""
    cited = {e.ref for f in findings for e in f.evidence if e.kind == "cloudtrail"}
    if frame is None or not cited or frame.empty:
        return ()
    files = sorted({str(p) for p in frame.loc[frame["eventID"].isin(cited), "_file"].dropna()})
    return tuple(files[:MAX_EVIDENCE_FILES])


def file_digest(path: str) -> dict:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        return {"path": path, "sha256": h.hexdigest(), "bytes": Path(path).stat().st_size}
    except OSError as exc:
        return {"path": path, "error": exc.strerror or str(exc)}


def versions() -> dict:
    """trailtools' and its main libraries' versions, for the provenance appendix."""

    out = {"python": platform.python_version()}
    for name in ("trailtools", "pandas", "pyarrow", "msgspec", "altair", "boto3", "papermill"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out
