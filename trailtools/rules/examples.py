"""Every rule's labelled examples: realistic CloudTrail records that should make it fire ("fire") and records that
should not ("quiet", near misses: the same call made harmless, the calls around it). They live in
``examples/<family>.json`` (``{rule id: {"fire": [...], "quiet": [...]}}``), shipped with the package; the tests run
every rule on its own examples and fail for a rule without both kinds.

An entry of "fire" or "quiet" is a record, or a list of records: one example of a sequence (a login profile created,
then the sign-in it allowed), read together and apart from the other examples. The records listed directly are one
example together, as single-call rules have always had them."""
from __future__ import annotations

import importlib.resources
import json
import tempfile
from pathlib import Path

import pandas as pd

from trailtools.events.load import load_events


def examples(family: str) -> dict[str, dict[str, list]]:
    """A family's examples: rule id -> {"fire": [...], "quiet": [...]} (records, or lists of records)."""
    path = importlib.resources.files("trailtools.rules") / "examples" / f"{family}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def cases(entries: list) -> list[list[dict]]:
    """The examples of a "fire" or "quiet" list, each as its records: the records listed directly are one example,
    each list of records another."""
    single = [e for e in entries if isinstance(e, dict)]
    return ([single] if single else []) + [list(e) for e in entries if isinstance(e, list)]


def records(entries: list) -> list[dict]:
    """Every record of a "fire" or "quiet" list, sequences flattened."""
    return [r for case in cases(entries) for r in case]


def frame_of(records: list[dict]) -> pd.DataFrame:
    """The events frame of some records, read by the same reader as a trail (through a temporary folder)."""
    with tempfile.TemporaryDirectory(prefix="trailtools-examples-") as tmp:
        (Path(tmp) / "records.json").write_text(json.dumps({"Records": records}), encoding="utf-8")
        return load_events(tmp, cache=False).frame
