"""The findings JSON written beside every report (``<notebook>-<key>-<time>.findings.json``): schema and builder.

- :data:`SCHEMA` is the JSON Schema (draft 2020-12) of the document, :data:`SCHEMA_VERSION` its version;
- :func:`build_document` turns what an investigation returns (the verdict, ``Finding.to_dict()`` rows, the
  sources consulted, load stats) into a document of that shape;
- :func:`validate` checks a document against the schema (with ``jsonschema``) and returns readable messages.

The fields are documented in ``docs/findings-schema.md``. Minor versions (1.x) only add optional fields; readers
should ignore fields they do not know.
"""
from __future__ import annotations

import hashlib

from trailtools import __version__
from trailtools.investigations import registry

SCHEMA_VERSION = "1.0"
SCHEMA_ID = "trailtools.findings.model"
#: What produced a document: an investigation, or ``trailtools hunt`` (the rules library over a window).
INVESTIGATIONS = tuple(dict.fromkeys((*registry.INVESTIGATIONS, "hunt")))
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

def _type_name(value) -> str:
    return {dict: "an object", list: "an array", str: "a string", type(None): "null", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _message(error) -> str:
    """One jsonschema error in the words :func:`validate` promises."""
    path, kind, want, value = error.json_path, error.validator, error.validator_value, error.instance
    if kind == "const":
        return f"{path}: must be {want!r}, not {value!r}"
    if kind == "enum":
        return f"{path}: must be one of {', '.join(map(str, want))}, not {value!r}"
    if kind == "type":
        return f"{path}: must be {want if isinstance(want, str) else ' or '.join(want)}, not {_type_name(value)}"
    if kind == "minLength":
        return f"{path}: must not be empty"
    if kind == "pattern":
        hint = " (an ISO-8601 UTC time like 2026-10-15T00:00:00Z)" if want == _ISO_UTC else ""
        return f"{path}: {value!r} does not match {want}{hint}"
    return f"{path}: {error.message}"


def validate(doc) -> list[str]:
    """Everything wrong with a findings document, one readable message each (``$.findings[0].severity: must be
    one of info, low, medium, high, critical, not 'severe'``); an empty list when it is valid.

    The checking is jsonschema's, with the validator of the draft :data:`SCHEMA` declares (2020-12)."""
    import jsonschema  # noqa: PLC0415 (heavy, loaded on use: its format checkers take seconds to import)

    errors: list[str] = []
    required_seen = set()
    for error in jsonschema.validators.validator_for(SCHEMA)(SCHEMA).iter_errors(doc):
        if error.validator != "required":
            errors.append(_message(error))
        elif (where := (error.json_path, tuple(error.absolute_schema_path))) not in required_seen:
            # jsonschema says "'x' is a required property" once per field: name them all, in the schema's order
            required_seen.add(where)
            errors.extend(f"{error.json_path}: missing required field {key!r}" for key in error.validator_value
                          if key not in error.instance)
    return errors
