"""Every rule's labelled examples: realistic CloudTrail records that should make it fire ("fire") and records that
should not ("quiet", near misses: the same call made harmless, the calls around it). They live in
``examples/<family>.json`` (``{rule id: {"fire": [records], "quiet": [records]}}``), shipped with the package; the
tests run every rule on its own examples and fail for a rule without both kinds."""
from __future__ import annotations

import importlib.resources
import json
import tempfile
from pathlib import Path

import pandas as pd

from trailtools.events.load import load_events


def examples(family: str) -> dict[str, dict[str, list[dict]]]:
    """A family's examples: rule id -> {"fire": [...], "quiet": [...]}."""
    path = importlib.resources.files("trailtools.rules") / "examples" / f"{family}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def frame_of(records: list[dict]) -> pd.DataFrame:
    """The events frame of some records, read by the same reader as a trail (through a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="trailtools-examples-") as tmp:
        (Path(tmp) / "records.json").write_text(json.dumps({"Records": records}), encoding="utf-8")
        return load_events(tmp, cache=False).frame
