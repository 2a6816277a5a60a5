"""What every collector is given: the scope, AWS clients, and one way to save a file (with its manifest entry),
to note what could not be collected and what will expire.

A saved API response is written as the ``aws`` CLI prints it with ``--output json`` (times as ISO-8601 text, blobs
as base64, no ``ResponseMetadata``), which is what the evidence readers (:mod:`trailtools.evidence`) read.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from botocore import exceptions as bx

from trailtools.aws import client as make_client
from trailtools.aws.errors import AWS_ERRORS, AwsDataUnavailable
from trailtools.aws.session import explain
from trailtools.collect.manifest import Manifest
from trailtools.collect.plan import Scope
from trailtools.collect.store import CaseStore, UnsafeName, now_iso
from trailtools.errors import TrailtoolsError


def _plain(value):
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def cli_json(response) -> bytes:
    """A boto3 response (or a merge of its pages) as ``aws ... --output json`` prints it."""
    return (json.dumps(_plain(response), indent=4, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")


def plain(value):
    """A request's parameters as JSON-able data (for the manifest)."""
    return _plain(value)


@dataclass
class Collection:
    """One run of ``collect``: the scope, the case folder's store and manifest, the clients."""

    scope: Scope
    store: CaseStore
    manifest: Manifest
    clients: Callable | None = None          # (service, region) -> client; the standard chain when None
    progress: bool | None = None
    counts: dict = field(default_factory=dict)
    _made: dict = field(default_factory=dict)

    def client(self, service: str, region: str | None = None):
        key = (service, region)
        if key not in self._made:
            if self.clients is not None:
                self._made[key] = self.clients(service, region)
            else:
                self._made[key] = make_client(service, region=region, profile=self.scope.profile)
        return self._made[key]

    # ---- files
    def save(self, rel: str, data: bytes, origin: dict, *, region: str | None = None) -> str | None:
        """Write one file of the case and list it in the run's manifest (when it is new); its path, or None when it
        could not be written (noted as not collected)."""
        try:
            written = self.store.put(rel, data)
        except (UnsafeName, OSError) as exc:
            self.not_collected(rel, f"It could not be written into the case folder: "
                                    f"{getattr(exc, 'strerror', None) or exc}.")
            return None
        if written.added:
            self.manifest.add_file({"path": written.path, "sha256": written.sha256, "size": written.size,
                                    "collected_at": now_iso(), "region": region, "origin": origin})
            self.counts["files"] = self.counts.get("files", 0) + 1
            self.counts["bytes"] = self.counts.get("bytes", 0) + written.size
        else:
            self.counts["unchanged"] = self.counts.get("unchanged", 0) + 1
        return written.path

    def save_response(self, rel: str, response, action: str, request: dict | None = None, *,
                      region: str | None = None) -> str | None:
        """Save an API response (or the merge of its pages) in the CLI's JSON form."""
        origin = {"api": action, "request": plain(request or {})}
        return self.save(rel, cli_json(response), origin, region=region)

    # ---- notes
    def not_collected(self, what: str, why) -> None:
        """One sentence on what could not be collected and why (an exception becomes its sentence)."""
        if isinstance(why, AwsDataUnavailable | TrailtoolsError):
            text = str(why)
        elif isinstance(why, bx.NoRegionError):
            text = "No AWS region is set: pass --region, or set AWS_REGION or a region in the profile."
        elif isinstance(why, AWS_ERRORS):
            text = str(explain(why, "aws", "call"))
        else:
            text = str(why)
        self.manifest.not_collected(what, " ".join(text.split()))

    def expiring(self, what: str, until, why: str) -> None:
        self.manifest.expiring(what, until if until is None or isinstance(until, str) else _plain(until), why)

