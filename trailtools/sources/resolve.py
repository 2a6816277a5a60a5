"""Where each kind of data is for a source URI: the trail, and (for the demo or a folder in its layout) the saved
API responses and guest logs beside it, and the source's "now" (the demo's is fixed, so its defaults stay put)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from trailtools.demo import ensure_demo_account
from trailtools.sources import with_credentials


@dataclass
class SourceData:
    """Where each kind of data is for a source URI: the trail, and (for the demo or a folder in its layout) the
    saved API responses and guest logs beside it."""

    uri: str
    trail: str
    folder: Path | None
    now: pd.Timestamp


def resolve_source(source: str, *, profile: str | None = None) -> SourceData:
    """Where ``source``'s data is; ``profile`` (a notebook parameter) is added to a live trail URI (``s3://``,
    ``lookup://``, ``athena://``, ``cwlogs://``, ``lake://``) that does not name one itself."""
    if source == "demo":
        folder = ensure_demo_account()
        manifest = json.loads((folder / "manifest.json").read_text())
        return SourceData(source, "demo", folder, pd.Timestamp(manifest["now"]))
    path = Path(source).expanduser()
    if "://" not in source and path.is_dir():
        return SourceData(source, source, path, pd.Timestamp.now(tz="UTC").floor("s"))

    return SourceData(source, with_credentials(source, profile=profile), None, pd.Timestamp.now(tz="UTC").floor("s"))
