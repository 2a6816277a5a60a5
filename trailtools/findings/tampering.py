"""Signs in a load that the evidence itself was altered, as findings: pure functions of the load stats (and frame).

Every investigation adds :func:`conflicting_duplicate_findings` of its trail's load to its findings, so that a
planted or altered copy of a CloudTrail event is reported whatever the question asked.
"""
from __future__ import annotations

import pandas as pd

from trailtools.findings.model import EvidenceRef, Finding

CONFLICTING_DUPLICATE = "evidence.conflicting-duplicate"


def _stats(load_stats) -> dict:
    """Load stats as a dict, from a LoadStats, its ``to_dict()``, or nothing."""
    if load_stats is None:
        return {}
    if hasattr(load_stats, "to_dict"):
        return load_stats.to_dict()
    return dict(load_stats)


def _where(copy: dict) -> str:
    record = copy.get("record")
    return f"{copy.get('path')}" + (f" record {record}" if record is not None else "")


def conflicting_duplicate_findings(load_stats, resource: str | None = None) -> list[Finding]:
    """One high finding when the load kept records that share an eventID but not their content; else none.

    ``load_stats``: the trail's LoadStats or its ``to_dict()``; ``resource``: what the finding is about (default:
    the load's source)."""
    stats = _stats(load_stats)
    count = int(stats.get("conflicting_duplicates") or 0)
    if count <= 0:
        return []
    listed = list(stats.get("conflicts") or [])
    evidence = []
    files: list[str] = []
    for conflict in listed:
        copies = list(conflict.get("copies") or [])
        for c in copies:
            if c.get("path") not in files:
                files.append(str(c.get("path")))
        total = conflict.get("copies_total", len(copies))
        summary = (f"{total} differing copies: "
                   + "; ".join(f"{c.get('eventName')} at {c.get('eventTime')} in {_where(c)}" for c in copies)
                   + (f"; and {total - len(copies)} more" if total > len(copies) else ""))
        time = next((c.get("eventTime") for c in copies if c.get("eventTime")), None)
        evidence.append(EvidenceRef("cloudtrail", str(conflict.get("eventID")), time, summary))
    unlisted = int(stats.get("conflicts_not_listed") or 0)
    events = "event" if count == 1 else "events"
    return [Finding(
        CONFLICTING_DUPLICATE, "high",
        f"Possible tampering: {count:,} CloudTrail {events} appear{'s' if count == 1 else ''} in the trail with "
        "conflicting content",
        "CloudTrail gives every event its own eventID and, when it delivers an event twice, delivers the same "
        f"record. Here {count:,} eventID{'' if count == 1 else 's'} "
        f"{'is' if count == 1 else 'are'} held by records whose content differs, so at least one copy was not "
        "written by CloudTrail as delivered: someone who can write to the trail (its bucket or a copied folder) "
        "may have planted or altered a record to hide or change what happened. Every differing copy is kept in "
        "the events frame and none is preferred; conclusions resting on these events are uncertain."
        + (f" {unlisted:,} more are counted but not listed." if unlisted else ""),
        str(resource or stats.get("source") or "CloudTrail"),
        tuple(evidence),
        "Verify the trail against its digest files with `trailtools verify <the trail>`: the copy whose file "
        "fails validation (or is not in any digest) was added or altered after delivery. Compare the copies "
        "(the files named in the evidence), and restrict and audit write access to the trail's bucket.",
        extra={"conflicting_duplicates": count, "files": files[:50]},
    )]


def conflicting_event_ids(load_stats, frame: pd.DataFrame | None = None) -> set[str]:
    """The eventIDs with conflicting copies: those listed in the load stats, and those a frame holds more than once
    (a loaded frame keeps only differing copies of an eventID)."""
    ids = {str(c.get("eventID")) for c in _stats(load_stats).get("conflicts") or () if c.get("eventID")}
    if frame is not None and len(frame) and "eventID" in frame:
        col = frame["eventID"].dropna()
        ids.update(str(x) for x in col[col.duplicated(keep=False)].unique())
    return ids
