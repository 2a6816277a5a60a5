"""``hunt`` (its API: the query pushed down to the rules' events, the rules, the chains) over the real datasets in
../shared/datasets: each Stratus Red Team detonation file alone (an assertion per expected finding, and none for the
detonations of techniques the rules do not cover), all of them together (the chains they form), the AWS
documentation examples (no rule fires) and TrailDiscover's captured events."""
import json

import pytest
from conftest import AWSDOCS, DATASETS, STRATUS, need
from test_rules_examples import STRATUS_EXPECTED, TRAILDISCOVER_EXPECTED, TRAILDISCOVER_QUIET

from trailtools.rules.hunt import hunt

TRAILDISCOVER = DATASETS / "traildiscover" / "logExamples"

#: Stratus detonation (file name without "aws." and ".json") -> the findings hunt must give: (check, severity).
#: Every other detonation (IAM persistence, CloudTrail tampering, secrets, Lambda, Bedrock ...) must give none: their
#: techniques are not these rules' business, and the sequences need the steps after the one a detonation holds.
STRATUS_FINDINGS = {
    "credential-access.ec2-get-password-data": [("execution.password-data-read", "low")],
    "credential-access.ec2-steal-instance-credentials": [("credential-access.workload-credentials-stolen", "high"),
                                                         ("execution.ssm-send-command", "medium")],
    "defense-evasion.organizations-leave": [("defense-evasion.left-organization", "medium")],
    "defense-evasion.vpc-remove-flow-logs": [("defense-evasion.flow-logs-deleted", "high")],
    "execution.ec2-user-data": [("execution.user-data-changed", "high")],
    "execution.ssm-send-command": [("execution.ssm-send-command", "medium")],
    "execution.ssm-start-session": [("execution.ssm-start-session", "low")],
    "exfiltration.ec2-security-group-open-port-22-ingress": [("exposure.security-group-open", "high")],
    "exfiltration.ec2-share-ami": [("exposure.ami-shared", "high")],
    "exfiltration.ec2-share-ebs-snapshot": [("exposure.snapshot-shared", "high")],
}
STRATUS_FILES = sorted(p.name[4:-5] for p in STRATUS.glob("aws.*.json")) if STRATUS.exists() else []


@pytest.mark.parametrize("name", STRATUS_FILES or ["missing"])
def test_each_stratus_detonation_gives_its_findings_and_no_other(name):
    res = hunt(str(need(STRATUS) / f"aws.{name}.json"), cache=False)
    assert [(f.check, f.severity) for f in res.findings] == STRATUS_FINDINGS.get(name, [])
    records = json.loads((STRATUS / f"aws.{name}.json").read_text())
    assert {e.ref for f in res.findings for e in f.evidence} <= {r["eventID"] for r in records}


def test_stratus_expected_findings_through_hunt():
    res = hunt(str(need(STRATUS)), cache=False)
    found = {(f.check, e.ref): f.severity for f in res.findings for e in f.evidence}
    for check, event_id, severity in STRATUS_EXPECTED:
        assert found.get((check, event_id)) == severity, (check, event_id)
    assert {f.check for f in res.findings} == {c for c, _ in found}


def test_stratus_role_credentials_join_the_chain_of_the_key_that_assumed_the_role():
    """The organizations-leave detonation assumes a role with a user's key and leaves the organization with the
    role's credentials: one chain of both keys, linked by the AssumeRole call; so is get-password-data's."""
    res = hunt(str(need(STRATUS)), cache=False)
    by_check = {f.check: f.extra["chain"] for f in res.findings}
    leave = next(g for g in res.chains if g.name == by_check["defense-evasion.left-organization"])
    assert leave.credentials == ["AKIADVISM0T50G52IF0D", "ASIA36EV31F1RB3OA8IG"]
    assert [(k.event_name, k.event_id) for k in leave.links] == [("AssumeRole", "099bfd30-232c-4dff-9998-3821921063ca")]
    assert "16903cbd-fdff-4818-82f2-d66ad09aaf57" in leave.event_ids()
    password = next(g for g in res.chains if g.name == by_check["execution.password-data-read"])
    assert password.credentials == ["AKIAWOGXN38MFN92ING5", "ASIANQQHHS551LWULIWD"]
    assert [k.event_id for k in password.links] == ["fd179e25-9f1a-406c-8d7d-62f9d4938ef6"]
    # the other detonations each used their own key: a chain of one credential, no link
    assert all(len(g.credentials) == 1 and not g.links for g in res.chains if g not in (leave, password))


def test_aws_documentation_examples_fire_no_rule():
    """StartInstances, StopInstances (no user data change between them), CreateKeyPair, CreateUser, a failed
    UpdateTrail, console sign-ins: none is these rules' business. The examples reuse two eventIDs for different
    records, which hunt reports as it reports any conflicting duplicate."""
    res = hunt(str(need(AWSDOCS)), cache=False)
    assert [f.check for f in res.findings] == ["evidence.conflicting-duplicate"]
    assert {e.ref for e in res.findings[0].evidence} == {"f8ef8fc5-e3e8-4ee1-9d52-2f412ddf17e3",
                                                         "deb1e1f9-c99b-4612-8e9f-21f93b5d79c0"}
    # every record is read (the stolen-workload-credentials rule reads every call), none makes a chain
    assert res.events == 19 and res.chains == []


def test_traildiscover_examples_through_hunt():
    res = hunt(str(need(TRAILDISCOVER)), cache=False)
    found = {e.ref: (f.check, f.severity) for f in res.findings for e in f.evidence}
    for name, check, severity in TRAILDISCOVER_EXPECTED:
        for rec in json.loads((TRAILDISCOVER / f"{name}.json.cloudtrail").read_text()):
            assert found.get(rec["eventID"]) == (check, severity), name
    for name in TRAILDISCOVER_QUIET:
        for rec in json.loads((TRAILDISCOVER / f"{name}.json.cloudtrail").read_text()):
            assert rec["eventID"] not in found, name
    assert {v for v in found.values()} == {(c, s) for _, c, s in TRAILDISCOVER_EXPECTED}
