"""The findings JSON written beside every report: built from the real reboot investigation, validated."""
import copy
import functools
import json

import pytest

from trailtools.findings.schema import SCHEMA, SCHEMA_VERSION, SEVERITIES, build_document, finding_id, validate

GENERATED = "2026-10-15T00:00:00Z"


@functools.cache
def _incident_2() -> dict:
    from trailtools.investigations.reboot.gather import investigate

    return investigate("i-0b81f3d6c2e9a4775").to_dict()


@functools.cache
def _incident_1() -> dict:
    from trailtools.investigations.reboot.gather import investigate

    return investigate("i-04c2a9e71d3b58f06").to_dict()


def document(d: dict) -> dict:
    return build_document("reboot", {"instance": d["instance"], "source": d["source"]}, verdict=d["verdict"],
                          findings=d["findings"], sources=d["sources"],
                          load_stats=(d.get("provenance") or {}).get("load_stats"), generated_at=GENERATED)


def test_schema_is_valid_draft_2020_12():
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["properties"]["findings"]["items"]["properties"]["severity"]["enum"] == list(SEVERITIES) == \
        ["info", "low", "medium", "high", "critical"]


def test_reboot_incident_2_document():
    d = _incident_2()
    doc = document(d)
    assert validate(doc) == []
    assert json.loads(json.dumps(doc)) == doc                      # plain JSON, nothing needs default=str
    assert doc["schema"] == "trailtools.findings.model" and doc["schema_version"] == SCHEMA_VERSION == "1.0"
    assert doc["investigation"] == "reboot" and doc["generated_at"] == GENERATED
    assert doc["parameters"] == {"instance": "i-0b81f3d6c2e9a4775", "source": "demo"}
    v = doc["verdict"]
    assert (v["cause"], v["confidence"], v["actor"], v["how"]) == \
        ("aws-host-failure", "high", "AWS", "automatic recovery")
    assert v["restart"] == "2026-10-08T03:49:12Z" and [e["kind"] for e in v["evidence"]][:2] == ["health", "metric"]
    f = doc["findings"][0]
    assert f["check"] == "reboot.aws-host-failure" and f["severity"] in SEVERITIES and f["status"] == "FAIL"
    assert f["resources"] == ["i-0b81f3d6c2e9a4775"]
    assert f["time"] == f["evidence"][0]["time"] == "2026-10-08T03:43:07Z"
    assert f["principal"] == "AWS"                                  # the verdict's actor
    assert f["id"] == finding_id("reboot.aws-host-failure", "i-0b81f3d6c2e9a4775", f["evidence"][0]["ref"])
    assert {s["name"]: s["status"] for s in doc["sources"]}["AWS Health"] == "consulted"
    assert set(doc) == set(SCHEMA["required"])
    if doc["load_stats"] is not None:
        assert doc["load_stats"]["records_seen"] > 0


def test_schema_accepts_it_too():
    jsonschema = pytest.importorskip("jsonschema")
    for d in (_incident_1(), _incident_2()):
        jsonschema.Draft202012Validator(SCHEMA).validate(document(d))


def test_ids_are_stable_and_distinct():
    a, b = document(_incident_2()), document(_incident_2())
    assert a == b
    assert document(_incident_1())["findings"][0]["id"] != a["findings"][0]["id"]
    assert document(_incident_1())["findings"][0]["principal"] == "dave.miller"


def test_minimal_documents():
    doc = build_document("cost", {}, verdict=None, findings=[], sources=[], load_stats=None, generated_at=GENERATED)
    assert validate(doc) == []
    finding = {"check": "login.no-mfa", "severity": "high", "title": "emma.wilson signs in without MFA",
               "explanation": "", "resource": "arn:aws:iam::314159265358:user/emma.wilson", "evidence": [],
               "remediation": "", "status": "FAIL", "extra": {"principal": "emma.wilson"}}
    doc = build_document("login", {"user": "emma.wilson"}, verdict=None, findings=[finding], sources=[],
                         load_stats=None, generated_at=GENERATED)
    assert validate(doc) == []
    assert doc["findings"][0]["principal"] == "emma.wilson" and doc["findings"][0]["time"] is None


def test_broken_documents_give_clear_messages():
    doc = document(_incident_2())
    bad = copy.deepcopy(doc)
    del bad["generated_at"]
    bad["investigation"] = "reboots"
    bad["findings"][0]["severity"] = "severe"
    bad["findings"][0]["resources"] = "i-0b81f3d6c2e9a4775"
    del bad["findings"][0]["title"]
    bad["findings"][0]["evidence"][0]["time"] = "yesterday"
    bad["verdict"]["confidence"] = 0.9
    bad["sources"][0] = {"name": "CloudTrail"}
    errors = validate(bad)
    assert "$: missing required field 'generated_at'" in errors
    assert "$.investigation: must be one of reboot, login, cost, hunt, not 'reboots'" in errors
    assert "$.findings[0].severity: must be one of info, low, medium, high, critical, not 'severe'" in errors
    assert "$.findings[0].resources: must be array, not a string" in errors
    assert "$.findings[0]: missing required field 'title'" in errors
    assert any(e.startswith("$.findings[0].evidence[0].time: 'yesterday' does not match") and "ISO-8601" in e
               for e in errors)
    assert "$.verdict.confidence: must be one of high, medium, low, not 0.9" in errors
    assert "$.sources[0]: missing required field 'status'" in errors
    assert len(errors) == 9, errors
    assert validate([]) == ["$: must be object, not an array"]
    jsonschema = pytest.importorskip("jsonschema")
    assert not jsonschema.Draft202012Validator(SCHEMA).is_valid(bad)


def test_docs_document_every_field_and_the_example_is_valid():
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "findings-schema.md").read_text()
    example = json.loads(re.search(r"```json\n(.*?)```", text, re.S).group(1))
    assert validate(example) == []
    assert example["verdict"]["cause"] == "api-call" and example["verdict"]["actor"] == "dave.miller"

    def fields(schema):
        for name, sub in schema.get("properties", {}).items():
            yield name
            yield from fields(sub)
            yield from fields(sub.get("items", {}))

    missing = {f for f in fields(SCHEMA) if f"| `{f}` |" not in text}
    assert not missing, f"undocumented fields: {missing}"
