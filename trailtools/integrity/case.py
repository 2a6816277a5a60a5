"""A case folder made by ``trailtools collect``: its manifest (``manifest.json``, see
:mod:`trailtools.collect.manifest`) and the check of every file against it.

:func:`check_case` compares the folder with the manifest: a file the manifest lists whose SHA-256 or size differs
(``case-modified``), a listed file that is gone (``case-missing``), a file the manifest does not list
(``case-added``), and a run whose ``previous_manifest_sha256`` is not the SHA-256 of the manifest as it was before
that run (``case-manifest``: an earlier run was edited). :func:`case_info` is what a report names in its provenance.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

FORMAT = "trailtools-case"
MANIFEST = "manifest.json"
#: Files a case folder may hold that no manifest lists: the manifest itself, and a run's leftovers being written.
_UNLISTED = (MANIFEST,)


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
            "collected": [r.get("finished") or r.get("started") for r in runs]}


def _sha256(path: Path) -> str:
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
        got = _sha256(path)
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
