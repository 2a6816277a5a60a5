"""The findings JSON written beside every report (``<notebook>-<key>-<time>.findings.json``): schema and builder.

- :data:`SCHEMA` is the JSON Schema (draft 2020-12) of the document, :data:`SCHEMA_VERSION` its version;
- :func:`build_document` turns what an investigation returns (the verdict, ``Finding.to_dict()`` rows, the
  sources consulted, load stats) into a document of that shape;
- :func:`validate` checks a document against the schema without any dependency and returns readable messages.

The fields are documented in ``docs/findings-schema.md``. Minor versions (1.x) only add optional fields; readers
should ignore fields they do not know.
"""
from __future__ import annotations

import hashlib
import re

from trailtools import __version__
from trailtools.investigations import registry

SCHEMA_VERSION = "1.0"
SCHEMA_ID = "trailtools.findings.model"
#: What produced a document: an investigation, or ``trailtools hunt`` (the rules library over a window).
INVESTIGATIONS = (*registry.INVESTIGATIONS, "hunt")
SEVERITIES = ("info", "low", "medium", "high", "critical")
STATUSES = ("FAIL", "PASS", "INFO")
CONFIDENCES = ("high", "medium", "low")
_ISO_UTC = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$"
_NULLABLE_TIME = {"type": ["string", "null"], "pattern": _ISO_UTC}
_NULLABLE_STR = {"type": ["string", "null"]}

EVIDENCE = {
    "type": "object",
    "required": ["kind", "ref", "time", "summary"],
    "properties": {
        "kind": {"type": "string", "minLength": 1,
                 "description": "cloudtrail, health, scheduled-event, metric, guest-log, console-output, cost ..."},
        "ref": {"type": "string", "minLength": 1,
                "description": "eventID, Health event ARN, metric:<name>:<time>, file:line ..."},
        "time": _NULLABLE_TIME,
        "summary": {"type": "string"},
    },
}

VERDICT = {
    "type": ["object", "null"],
    "required": ["cause", "cause_text", "summary", "confidence", "restart", "actor", "how", "where", "evidence",
                 "would_change"],
    "properties": {
        "cause": {"type": "string", "minLength": 1},
        "cause_text": {"type": "string"},
        "summary": {"type": "string", "minLength": 1},
        "confidence": {"enum": list(CONFIDENCES)},
        "restart": _NULLABLE_TIME,
        "actor": _NULLABLE_STR,
        "how": _NULLABLE_STR,
        "where": _NULLABLE_STR,
        "evidence": {"type": "array", "items": EVIDENCE},
        "would_change": {"type": "string"},
    },
}

FINDING = {
    "type": "object",
    "required": ["id", "check", "severity", "status", "title", "explanation", "time", "principal", "resources",
                 "evidence", "remediation"],
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9a-f]{16}$"},
        "check": {"type": "string", "minLength": 1},
        "severity": {"enum": list(SEVERITIES)},
        "status": {"enum": list(STATUSES)},
        "title": {"type": "string", "minLength": 1},
        "explanation": {"type": "string"},
        "time": _NULLABLE_TIME,
        "principal": _NULLABLE_STR,
        "resources": {"type": "array", "items": {"type": "string"}},
        "evidence": {"type": "array", "items": EVIDENCE},
        "remediation": {"type": "string"},
        "extra": {"type": "object"},
    },
}

SOURCE = {
    "type": "object",
    "required": ["name", "status", "detail"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "status": {"type": "string", "minLength": 1,
                   "description": "consulted, empty (consulted, nothing there) or unavailable (detail says why)"},
        "detail": {"type": "string"},
    },
}

SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://trailtools.invalid/schemas/findings-1.0.json",
    "title": "trailtools findings",
    "type": "object",
    "required": ["schema", "schema_version", "investigation", "generated_at", "trailtools_version", "parameters",
                 "verdict", "findings", "sources", "load_stats"],
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "schema_version": {"type": "string", "pattern": r"^1\.[0-9]+$"},
        "investigation": {"enum": list(INVESTIGATIONS)},
        "generated_at": {"type": "string", "pattern": _ISO_UTC},
        "trailtools_version": {"type": "string", "minLength": 1},
        "parameters": {"type": "object"},
        "verdict": VERDICT,
        "findings": {"type": "array", "items": FINDING},
        "sources": {"type": "array", "items": SOURCE},
        "load_stats": {"type": ["object", "null"]},
    },
}


# ---- building ----------------------------------------------------------------------------------------------------

def finding_id(check: str, resource: str | None, first_ref: str | None) -> str:
    """A stable ID: the same check on the same resource with the same first evidence gets the same ID."""
    key = "\x1f".join((check or "", resource or "", first_ref or ""))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def _evidence(items) -> list[dict]:
    out = []
    for e in items or ():
        e = e if isinstance(e, dict) else getattr(e, "__dict__", {})
        out.append({"kind": str(e.get("kind") or ""), "ref": str(e.get("ref") or ""), "time": e.get("time"),
                    "summary": str(e.get("summary") or "")})
    return out


def _verdict(verdict: dict | None) -> dict | None:
    if verdict is None:
        return None
    out = {"cause": verdict.get("cause"), "cause_text": verdict.get("cause_text") or "",
           "summary": verdict.get("summary") or "", "confidence": verdict.get("confidence"),
           "restart": verdict.get("restart"), "actor": verdict.get("actor"), "how": verdict.get("how"),
           "where": verdict.get("where"), "evidence": _evidence(verdict.get("evidence")),
           "would_change": verdict.get("would_change") or ""}
    # what else the investigation says in its verdict (e.g. the reboot verdict's instance) is kept
    out.update({k: v for k, v in verdict.items() if k not in out})
    return out


def _principal(finding: dict, investigation: str, verdict: dict | None) -> str | None:
    extra = finding.get("extra") or {}
    for key in ("principal", "actor", "arn", "userName", "user"):
        if extra.get(key):
            return str(extra[key])
    # the finding that states the verdict ("reboot.api-call" for cause "api-call") has the verdict's actor
    if verdict and verdict.get("actor") and finding.get("check") in (f"{investigation}.{verdict.get('cause')}",
                                                                     verdict.get("cause")):
        return str(verdict["actor"])
    return None


def _finding(f: dict, investigation: str, verdict: dict | None) -> dict:
    evidence = _evidence(f.get("evidence"))
    resource = f.get("resource")
    resources = [str(r) for r in (resource if isinstance(resource, (list, tuple)) else [resource]) if r]
    time = next((e["time"] for e in evidence if e["time"]), None)
    out = {"id": finding_id(f.get("check", ""), resources[0] if resources else "",
                            evidence[0]["ref"] if evidence else ""),
           "check": f.get("check"), "severity": f.get("severity"), "status": f.get("status") or "FAIL",
           "title": f.get("title"), "explanation": f.get("explanation") or "", "time": time,
           "principal": _principal(f, investigation, verdict), "resources": resources, "evidence": evidence,
           "remediation": f.get("remediation") or ""}
    if f.get("extra"):
        out["extra"] = f["extra"]
    return out


def build_document(investigation: str, parameters: dict, *, verdict: dict | None, findings: list[dict],
                   sources: list[dict], load_stats: dict | None, generated_at: str) -> dict:
    """The findings document of one investigation.

    ``findings`` are ``Finding.to_dict()`` rows (check, severity, title, explanation, resource, evidence,
    remediation, status, extra); ``verdict`` a ``Verdict.to_dict()`` or None; ``sources`` name/status/detail
    rows; ``generated_at`` an ISO-8601 UTC time (``2026-10-15T00:00:00Z``), given by the caller so that the
    document is byte-stable apart from it."""

    return {
        "schema": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "investigation": investigation,
        "generated_at": generated_at,
        "trailtools_version": __version__,
        "parameters": dict(parameters or {}),
        "verdict": _verdict(verdict),
        "findings": [_finding(f, investigation, verdict) for f in findings or ()],
        "sources": [{"name": s.get("name"), "status": s.get("status"), "detail": s.get("detail") or ""}
                    for s in (s if isinstance(s, dict) else s.__dict__ for s in sources or ())],
        "load_stats": load_stats,
    }


# ---- validating --------------------------------------------------------------------------------------------------

_TYPES = {"object": dict, "array": list, "string": str, "null": type(None), "boolean": bool}


def _type_ok(value, names) -> bool:
    for name in [names] if isinstance(names, str) else names:
        if name == "integer":
            if isinstance(value, int) and not isinstance(value, bool):
                return True
        elif name == "number":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return True
        elif isinstance(value, _TYPES[name]):
            return True
    return False


def _type_name(value) -> str:
    return {dict: "an object", list: "an array", str: "a string", type(None): "null", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _check(value, schema: dict, path: str, errors: list[str]) -> None:
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: must be {schema['const']!r}, not {value!r}")
        return
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: must be one of {', '.join(map(str, schema['enum']))}, not {value!r}")
        return
    if "type" in schema and not _type_ok(value, schema["type"]):
        want = schema["type"] if isinstance(schema["type"], str) else " or ".join(schema["type"])
        errors.append(f"{path}: must be {want}, not {_type_name(value)}")
        return
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{path}: must not be empty")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            hint = " (an ISO-8601 UTC time like 2026-10-15T00:00:00Z)" if schema["pattern"] == _ISO_UTC else ""
            errors.append(f"{path}: {value!r} does not match {schema['pattern']}{hint}")
    if isinstance(value, dict):
        for key in schema.get("required", ()):
            if key not in value:
                errors.append(f"{path}: missing required field {key!r}")
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                _check(value[key], sub, f"{path}.{key}", errors)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            _check(item, schema["items"], f"{path}[{i}]", errors)


def validate(doc) -> list[str]:
    """Everything wrong with a findings document, one readable message each (``$.findings[0].severity: must be
    one of info, low, medium, high, critical, not 'severe'``); an empty list when it is valid."""
    errors: list[str] = []
    _check(doc, SCHEMA, "$", errors)
    return errors
