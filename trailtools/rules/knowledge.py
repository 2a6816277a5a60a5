"""What attackers do with an API call, from TrailDiscover by Adan Alvarez (https://github.com/adanalvarez/TrailDiscover,
CC-BY-4.0): its MITRE ATT&CK tactics and techniques for the call, whether attackers used it in real incidents, and a
short "how attackers use this" line.

The package ships a small extract of TrailDiscover's ``docs/events.json`` (``knowledge/traildiscover.json``: only the
events the rules read, only the fields used here; its header credits the source, the licence and the changes), read
at run time. :func:`extract` builds it from a copy of ``events.json`` (../shared/datasets/traildiscover/ in the
checkout); tests/test_rules_knowledge.py keeps the committed extract equal to what it builds.
"""
from __future__ import annotations

import functools
import importlib.resources
import json
from dataclasses import dataclass
from pathlib import Path

CREDIT = "TrailDiscover by Adan Alvarez (https://github.com/adanalvarez/TrailDiscover), CC-BY-4.0"
LICENSE_URL = "https://creativecommons.org/licenses/by/4.0/"
SOURCE_COMMIT = "f96cbdb"
#: The fields kept from each catalogue entry.
FIELDS = ("eventSource", "mitreAttackTactics", "mitreAttackTechniques", "mitreAttackSubTechniques", "usedInWild",
          "incidents", "securityImplications")


@dataclass(frozen=True)
class Card:
    """TrailDiscover's knowledge of one API call."""

    event_name: str
    event_source: str
    tactics: tuple[str, ...]         # "TA0005 - Defense Evasion"
    techniques: tuple[str, ...]      # techniques and sub-techniques, "T1562.001 - Impair Defenses: ..."
    used_in_wild: bool
    incidents: tuple[dict, ...]      # {"description", "link"}
    how_attackers_use: str

    def to_dict(self) -> dict:
        return {"event": self.event_name, "tactics": list(self.tactics), "techniques": list(self.techniques),
                "used_in_wild": self.used_in_wild, "incidents": [i.get("link", "") for i in self.incidents],
                "how_attackers_use": self.how_attackers_use, "credit": CREDIT}


def extract(events_json: str | Path, names: list[str]) -> dict:
    """The extract of TrailDiscover's events.json for the calls ``names``: the header crediting it, and per call
    the fields in :data:`FIELDS`."""
    catalogue = json.loads(Path(events_json).read_text(encoding="utf-8"))
    wanted = set(names)
    events = {e["eventName"]: {k: e.get(k) for k in FIELDS} for e in catalogue if e.get("eventName") in wanted}
    return {"source": CREDIT, "repository": "https://github.com/adanalvarez/TrailDiscover",
            "commit": SOURCE_COMMIT, "file": "docs/events.json", "license": "CC-BY-4.0", "license_url": LICENSE_URL,
            "changes": "Extract: only the events trailtools' rules read, and only the fields "
                       + ", ".join(FIELDS) + "; the values are unchanged.",
            "events": dict(sorted(events.items()))}


@functools.cache
def _events() -> dict:
    path = importlib.resources.files("trailtools.rules") / "knowledge" / "traildiscover.json"
    return json.loads(path.read_text(encoding="utf-8"))["events"]


def card(event_name: str) -> Card | None:
    """TrailDiscover's card for an eventName, or None when the extract does not hold it."""
    e = _events().get(event_name)
    if e is None:
        return None
    techniques = list(e.get("mitreAttackTechniques") or ()) + list(e.get("mitreAttackSubTechniques") or ())
    return Card(event_name, e.get("eventSource") or "", tuple(e.get("mitreAttackTactics") or ()),
                tuple(dict.fromkeys(techniques)),
                bool(e.get("usedInWild")), tuple(e.get("incidents") or ()), e.get("securityImplications") or "")
