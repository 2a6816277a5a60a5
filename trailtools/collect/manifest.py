"""``CASE_DIR/manifest.json``: the chain of custody of a case folder.

One document, a list of runs, each appended by one ``trailtools collect`` and never changed afterwards::

    {"format": "trailtools-case", "format_version": 1, "case": "<folder name>",
     "runs": [{"run": 1, "started": ..., "finished": ..., "trailtools_version": ..., "parameters": {...},
               "region": ..., "identity": {"Account": ..., "Arn": ..., "UserId": ...} | null,
               "previous_manifest_sha256": null | "<SHA-256 of manifest.json before this run>",
               "files": [{"path": "ec2/us-east-1/describe-instances.json", "sha256": ..., "size": ...,
                          "collected_at": ..., "region": ..., "origin": {"api": "ec2:DescribeInstances",
                          "request": {...}} | {"s3": "s3://bucket/key", "etag": ..., "metadata_of": ...}}],
               "not_collected": [{"what": ..., "why": "<one sentence>"}],
               "expiring": [{"what": ..., "until": ..., "why": ...}]}]}

The document is written with the same settings every time, so the text of the earlier runs stays as it was and
each run names the SHA-256 of the manifest it found: an edit of an earlier run breaks that chain.
:mod:`trailtools.integrity.case` checks the files against it.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from trailtools.errors import TrailtoolsError
from trailtools.integrity.case import FORMAT, MANIFEST, manifest_bytes, read_manifest


class Manifest:
    """The manifest of ``root`` (empty when the folder is new) and the run being recorded."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.path = self.root / MANIFEST
        if self.path.exists():
            doc = read_manifest(self.root)
            if doc is None:
                raise TrailtoolsError(f"{self.path} is not a trailtools case manifest: give an empty folder or one "
                                      "made by trailtools collect.")
            self.doc = doc
            self.previous_sha256 = hashlib.sha256(self.path.read_bytes()).hexdigest()
        else:
            if self.root.is_dir() and any(self.root.iterdir()):
                raise TrailtoolsError(f"{self.root} holds files but no manifest.json: give an empty folder (or one "
                                      "made by trailtools collect) so that every file of the case has its origin.")
            self.doc = {"format": FORMAT, "format_version": 1, "case": self.root.name, "runs": []}
            self.previous_sha256 = None
        self.run: dict | None = None

    @property
    def runs(self) -> list[dict]:
        return self.doc["runs"]

    def known(self) -> dict[str, dict]:
        """path -> its entry, over every earlier run (the newest entry for a path)."""
        return {f["path"]: f for run in self.runs for f in run.get("files", [])}

    def start_run(self, **fields) -> dict:
        self.run = {"run": len(self.runs) + 1, **fields, "previous_manifest_sha256": self.previous_sha256,
                    "files": [], "not_collected": [], "expiring": []}
        return self.run

    def add_file(self, entry: dict) -> None:
        self.run["files"].append(entry)

    def not_collected(self, what: str, why: str) -> None:
        self.run["not_collected"].append({"what": what, "why": why})

    def expiring(self, what: str, until: str | None, why: str) -> None:
        self.run["expiring"].append({"what": what, "until": until, "why": why})

    def save(self) -> str:
        """Append the run and write the manifest (atomically); returns its SHA-256."""
        doc = {**self.doc, "runs": [*self.runs, self.run]}
        data = manifest_bytes(doc)
        tmp = self.path.with_name(f".{MANIFEST}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, self.path)
        self.doc = doc
        return hashlib.sha256(data).hexdigest()
