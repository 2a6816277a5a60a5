"""A case folder made by ``trailtools collect``: its manifest (``manifest.json``, see
:mod:`trailtools.collect.manifest`) and the check of every file against it.

:func:`check_case` compares the folder with the manifest: a file the manifest lists whose SHA-256 or size differs
(``case-modified``), a listed file that is gone (``case-missing``), a file the manifest does not list
(``case-added``), and a run whose ``previous_manifest_sha256`` is not the SHA-256 of the manifest as it was before
that run (``case-manifest``: an earlier run was edited). :func:`case_info` is what a report names in its provenance.

**Snapshots.** A rerun that finds an API response changed (the instance's status once a scheduled event completed,
new Health events, a CUR file AWS rewrote) keeps the first copy and writes the new one at ``runs/<run>/<path>``.
:func:`newest_copy` is the one place that chooses which copy is read: the newest one the manifest lists (a later run
knows more), never a file the manifest does not list. The collector compares a new response with that copy too, so
the newest copy is always the latest state. :func:`newer_copies` lists, for a report, every path read from a later
run's copy and the earlier copies that exist.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

FORMAT = "trailtools-case"
MANIFEST = "manifest.json"
#: Files a case folder may hold that no manifest lists: the manifest itself, and a run's leftovers being written.
_UNLISTED = (MANIFEST,)
#: Where a later run's copy of a changed file goes: ``runs/<run>/<the first copy's path>``.
RUNS = "runs"
_RUN_COPY = re.compile(r"^runs/(\d{1,6})/(.+)$")
#: How many folders up from a saved response its case folder's manifest is looked for.
MAX_UP = 8
_INDEX: dict = {}


def read_manifest(folder) -> dict | None:
    """The case manifest of ``folder``, or None when it has none (or another kind of manifest.json, the demo's)."""
    path = Path(folder) / MANIFEST
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("runs"), list):
        return None
    return doc


def manifest_sha256(folder) -> str:
    return hashlib.sha256((Path(folder) / MANIFEST).read_bytes()).hexdigest()


def case_info(folder) -> dict | None:
    """For a report's provenance: the case's name, its manifest's SHA-256, runs and files; None if not a case."""
    if folder is None:
        return None
    doc = read_manifest(folder)
    if doc is None:
        return None
    runs = doc["runs"]
    return {"case": str(doc.get("case") or Path(folder).name), "manifest": MANIFEST,
            "manifest_sha256": manifest_sha256(folder), "runs": len(runs),
            "files": sum(len(r.get("files") or []) for r in runs),
            "collected": [r.get("finished") or r.get("started") for r in runs],
            **({"newer_copies": newer} if (newer := newer_copies(folder)) else {})}


def _copies_index(root: Path) -> dict[str, list[tuple[int, str]]] | None:
    """path of the first copy -> [(run, path)] of every copy the manifest lists, oldest run first; None when the
    folder is not a case (cached while manifest.json is unchanged)."""
    path = Path(root) / MANIFEST
    try:
        st = path.stat()
    except OSError:
        return None
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    if key in _INDEX:
        return _INDEX[key]
    doc = read_manifest(root)
    index: dict[str, list[tuple[int, str]]] | None = {} if doc is not None else None
    for i, run in enumerate(doc["runs"] if doc else []):
        number = run.get("run") if isinstance(run.get("run"), int) else i + 1
        for entry in run.get("files") or []:
            rel = entry.get("path") if isinstance(entry, dict) else None
            if not isinstance(rel, str):
                continue
            m = _RUN_COPY.match(rel)
            if m and int(m[1]) == number:
                index.setdefault(m[2], []).append((number, rel))
            elif not m:
                index.setdefault(rel, []).append((number, rel))
    for copies in (index or {}).values():
        copies.sort()
    if len(_INDEX) > 8:
        _INDEX.clear()  # one case at a time is enough
    _INDEX[key] = index
    return index


def copies_of(root, rel: str) -> list[tuple[int, str]]:
    """Every copy of ``rel`` (a path as first collected) that the case's manifest lists: [(run, path)], oldest first;
    [] when the folder is not a case or does not list it."""
    return list((_copies_index(Path(root)) or {}).get(str(rel), []))


def newest_copy(root, rel: str) -> tuple[int | None, str]:
    """(run, path) of the copy of ``rel`` to read: the newest one the manifest lists that is in the folder; (None,
    ``rel``) when the folder is not a case or has no other copy."""
    for run, path in reversed(copies_of(root, rel)):
        if (Path(root) / path).is_file():
            return run, path
    return None, str(rel)


def case_root(path) -> Path | None:
    """The case folder a file is in (the nearest folder above it with a case manifest), or None."""
    here = Path(path).parent
    for _ in range(MAX_UP):
        if (here / MANIFEST).is_file() and _copies_index(here) is not None:
            return here
        if here.parent == here:
            return None
        here = here.parent
    return None


def newer_copies(folder) -> list[dict]:
    """Each path of the case that a later run collected again with other bytes: the copy read (the newest) and the
    earlier ones, ``[{"path", "read", "run", "earlier": [{"run", "path"}]}]``."""
    index = _copies_index(Path(folder)) if folder is not None else None
    out = []
    for rel, copies in sorted((index or {}).items()):
        if len(copies) < 2:
            continue
        run, used = newest_copy(folder, rel)
        out.append({"path": rel, "read": used, "run": run,
                    "earlier": [{"run": r, "path": p} for r, p in copies if p != used]})
    return out


def describe_copy(rel: str, run: int | None, used: str, others: list) -> str:
    """Which copy of ``rel`` was read, as a sentence part: "ec2/x.json: run 2's copy (runs/2/ec2/x.json) was read;
    run 1's copy also exists"."""
    runs = [f"run {o['run'] if isinstance(o, dict) else o}'s" for o in others]
    also = (f"; {runs[0]} copy also exists" if len(runs) == 1
            else f"; the copies of {', '.join(runs)} also exist" if runs else "")
    return f"{rel}: run {run}'s copy ({used}) was read{also}"


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes, read 1 MiB at a time (the manifest's and the collector's checksum)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest_bytes(doc: dict) -> bytes:
    """The manifest's text, written the same way every time (so earlier runs keep their text)."""
    return (json.dumps(doc, indent=1, ensure_ascii=True, default=str) + "\n").encode()


def check_case(folder) -> tuple[list[tuple[str, str, str]], dict]:
    """(problems, counts) of a case folder against its manifest: problems are (kind, path, one sentence)."""
    root = Path(folder)
    doc = read_manifest(root)
    if doc is None:
        return [], {}
    problems: list[tuple[str, str, str]] = []
    listed: dict[str, dict] = {}
    for i, run in enumerate(doc["runs"]):
        for entry in run.get("files") or []:
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                listed[entry["path"]] = entry
        want = run.get("previous_manifest_sha256")
        before = hashlib.sha256(manifest_bytes({**doc, "runs": doc["runs"][:i]})).hexdigest() if i else None
        if want != before:
            problems.append(("case-manifest", MANIFEST, f"Run {run.get('run', i + 1)} says the manifest before it "
                             f"had SHA-256 {want}, but the earlier runs it holds now hash to {before}: an earlier run "
                             "was edited."))
    verified = 0
    for rel, entry in sorted(listed.items()):
        path = root / rel
        if ".." in rel.split("/") or rel.startswith("/"):
            problems.append(("case-modified", rel, "The manifest lists a path outside the case folder."))
            continue
        if not path.is_file():
            problems.append(("case-missing", rel, f"Listed in the manifest ({entry.get('collected_at')}) but not in "
                             "the case folder."))
            continue
        got = sha256_file(path)
        if got != entry.get("sha256") or path.stat().st_size != entry.get("size"):
            problems.append(("case-modified", rel, f"SHA-256 of the file is {got} ({path.stat().st_size} bytes), the "
                             f"manifest recorded {entry.get('sha256')} ({entry.get('size')} bytes)."))
        else:
            verified += 1
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        for name in sorted(files):
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            if rel not in listed and rel not in _UNLISTED:
                problems.append(("case-added", rel, "In the case folder but not in its manifest: added after "
                                 "collection."))
    return problems, {"files": len(listed), "files_verified": verified, "runs": len(doc["runs"])}
