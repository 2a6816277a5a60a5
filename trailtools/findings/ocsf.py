"""Findings as OCSF Detection Findings (class 2004, OCSF 1.1), for SIEMs and Security Lake custom sources.

Made from a findings document (:mod:`trailtools.findings.schema`: what ``--json`` writes), one event per finding:

========================  ===========================================================================================
OCSF                      from the findings document
========================  ===========================================================================================
``class_uid``             2004 (Detection Finding); ``category_uid`` 2 (Findings); ``activity_id`` 1 (Create);
                          ``type_uid`` 200401
``severity_id``           critical 5, high 4, medium 3, low 2, info 1 (``severity``: the caption)
``time``                  the document's ``generated_at`` (ms since the epoch; OCSF: when the finding was generated)
``start_time/end_time``   the earliest and latest evidence time (ms), when the evidence has times
``finding_info``          ``uid`` (the finding's ``id``: stable), ``title``, ``desc`` (the explanation), ``types``
                          ([check]), ``analytic`` (the rule: ``uid``/``name`` the check, ``type_id`` 1 Rule),
                          ``data_sources``, ``first_seen_time``/``last_seen_time``
``resources``             one ``{"uid": ...}`` per resource
``actor``                 ``{"user": {"uid": principal}}`` when the finding names one
``evidences``             one per evidence reference: ``data`` = ``{kind, ref, time, summary}`` (for CloudTrail
                          evidence ``ref`` is the ``eventID``)
``remediation``           ``{"desc": remediation}``
``status_id``             1 (New); ``is_alert`` true for FAIL; ``status_detail`` trailtools' status (FAIL, PASS,
                          INFO)
``message``               the title
``unmapped``              ``{"trailtools": {"investigation", "check", "extra"}}``: what OCSF has no field for
========================  ===========================================================================================
"""
from __future__ import annotations

import pandas as pd

from trailtools import __version__

OCSF_VERSION = "1.1.0"
SEVERITY_IDS = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}


def _ms(text) -> int | None:
    if not text:
        return None
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError):
        return None
    if pd.isna(stamp):
        return None
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return int(stamp.timestamp() * 1000)


def detection_finding(finding: dict, document: dict) -> dict:
    """One finding of a findings document as an OCSF Detection Finding (a JSON-ready dict)."""
    evidence = finding.get("evidence") or []
    times = sorted(t for t in (_ms(e.get("time")) for e in evidence) if t is not None)
    severity = finding.get("severity") or "info"
    status = finding.get("status") or "FAIL"
    event = {
        "class_uid": 2004, "class_name": "Detection Finding", "category_uid": 2, "category_name": "Findings",
        "activity_id": 1, "activity_name": "Create", "type_uid": 200401,
        "type_name": "Detection Finding: Create",
        "severity_id": SEVERITY_IDS.get(severity, 0), "severity": severity.capitalize(),
        "time": _ms(document.get("generated_at")), "message": finding.get("title"),
        "status_id": 1, "status": "New", "status_detail": status, "is_alert": status == "FAIL",
        "metadata": {"version": OCSF_VERSION,
                     "product": {"name": "trailtools", "vendor_name": "trailtools",
                                 "version": document.get("trailtools_version") or __version__}},
        "finding_info": {"uid": finding.get("id"), "title": finding.get("title"),
                         "desc": finding.get("explanation") or "", "types": [finding.get("check")],
                         "data_sources": ["AWS CloudTrail"],
                         "analytic": {"uid": finding.get("check"), "name": finding.get("check"), "type_id": 1,
                                      "type": "Rule"}},
        "resources": [{"uid": r} for r in finding.get("resources") or []],
        "evidences": [{"data": {"kind": e.get("kind"), "ref": e.get("ref"), "time": e.get("time"),
                                "summary": e.get("summary")}} for e in evidence],
        "unmapped": {"trailtools": {"investigation": document.get("investigation"), "check": finding.get("check"),
                                    "extra": finding.get("extra") or {}}},
    }
    if times:
        event["start_time"], event["end_time"] = times[0], times[-1]
        event["finding_info"]["first_seen_time"], event["finding_info"]["last_seen_time"] = times[0], times[-1]
    if finding.get("principal"):
        event["actor"] = {"user": {"uid": finding["principal"]}}
    if finding.get("remediation"):
        event["remediation"] = {"desc": finding["remediation"]}
    return event


def detection_findings(document: dict) -> list[dict]:
    """Every finding of a findings document as a Detection Finding."""
    return [detection_finding(f, document) for f in document.get("findings") or []]
