"""Every rule on its own labelled examples (fires on each "fire" set, stays quiet on each "quiet" set; a rule
without both fails), and on the real datasets in ../shared/datasets: one assertion per expected finding."""
import json
import shutil

import pytest
from conftest import DATASETS, STRATUS, need

from trailtools.events.load import load_events
from trailtools.rules import registry
from trailtools.rules.examples import cases, examples, frame_of, records

TRAILDISCOVER = DATASETS / "traildiscover" / "logExamples"


def _family_file(rule) -> str:
    return rule.family.replace("-", "_")


@pytest.mark.parametrize("rule_id", sorted(registry.RULES))
def test_rule_fires_on_its_fire_examples_and_not_on_its_quiet_ones(rule_id):
    """Each example on its own: the records listed directly together, each sequence (a list of records) apart."""
    rule = registry.RULES[rule_id]
    ex = examples(_family_file(rule)).get(rule_id)
    assert ex and ex.get("fire") and ex.get("quiet"), f"{rule_id} needs a should-fire and a should-not-fire example"
    for case in cases(ex["fire"]):
        found = rule.run(frame_of(case))
        assert found, f"{rule_id} did not fire on its fire example {[r['eventID'] for r in case]}"
        assert {e.ref for f in found for e in f.evidence} <= {r["eventID"] for r in case}
        assert all(f.check == rule_id and f.extra["rule"] == rule_id for f in found)
    for case in cases(ex["quiet"]):
        assert rule.run(frame_of(case)) == [], f"{rule_id} fired on a quiet example {[r['eventID'] for r in case]}"


def test_examples_are_records_or_sequences_of_records():
    """cases(): the records listed directly are one example, each list another; records() flattens them."""
    a, b, c = {"eventID": "a"}, {"eventID": "b"}, {"eventID": "c"}
    assert cases([a, [b, c], b]) == [[a, b], [b, c]]
    assert cases([[a], [b]]) == [[a], [b]] and cases([]) == []
    assert records([a, [b, c]]) == [a, b, c]


def test_every_example_names_a_rule_of_its_family():
    for family in {_family_file(r) for r in registry.RULES.values()}:
        for rule_id in examples(family):
            assert rule_id in registry.RULES and _family_file(registry.RULES[rule_id]) == family


def test_examples_read_as_real_records():
    """Every example record loads into the frame with nothing skipped, and its event is one the rule reads (fire)."""
    for family in {_family_file(r) for r in registry.RULES.values()}:
        for rule_id, ex in examples(family).items():
            every = records(ex["fire"]) + records(ex["quiet"])
            assert len(frame_of(every)) == len(every), rule_id
            rule = registry.RULES[rule_id]
            names = set(rule.event_names)
            assert rule.reads_every_event or all(any(r["eventName"] in names for r in case)
                                                 for case in cases(ex["fire"])), rule_id


def test_examples_together_give_each_rule_its_findings_and_no_other():
    """All fire examples in one trail: each rule's findings come from its own examples only."""
    owner, every = {}, []
    for family in {_family_file(r) for r in registry.RULES.values()}:
        for rule_id, ex in examples(family).items():
            every += records(ex["fire"]) + records(ex["quiet"])
            owner.update({r["eventID"]: rule_id for r in records(ex["fire"])})
    found = registry.run(frame_of(every))
    assert {f.check for f in found} == set(registry.RULES)
    for f in found:
        assert {owner.get(e.ref) for e in f.evidence} == {f.check}, f.title


# ---- real data -----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stratus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stratus")
    for path in need(STRATUS).glob("*.json"):
        shutil.copy(path, folder / path.name)
    found = registry.run(load_events(str(folder), cache=False).frame)
    return {(f.check, e.ref): f for f in found for e in f.evidence}


#: Stratus Red Team detonations: (rule, eventID of the detonation's call, severity).
STRATUS_EXPECTED = [
    ("defense-evasion.flow-logs-deleted", "ded2f5af-f3a5-46d2-a170-a23206a32c36", "high"),            # vpc-remove-flow-logs
    ("defense-evasion.left-organization", "16903cbd-fdff-4818-82f2-d66ad09aaf57", "medium"),          # organizations-leave (denied)
    ("execution.user-data-changed", "f634894e-d625-4b7b-b1c1-50354cc1100e", "high"),                  # ec2-user-data: stop, modify, start
    ("execution.ssm-send-command", "5288bfb8-e3fa-4c41-be02-6853521afe8b", "medium"),                 # ssm-send-command
    ("execution.ssm-send-command", "2a5178c8-b4c7-44ba-b066-1ecc79b7087c", "medium"),                 # ec2-steal-instance-credentials
    ("execution.ssm-start-session", "32e8a07f-4751-4081-882e-958a25231c56", "low"),                   # ssm-start-session (3 sessions)
    ("execution.ssm-start-session", "8086b250-d29c-4659-9aec-86c8446a3895", "low"),
    ("execution.ssm-start-session", "10057a87-1da5-4c7d-a411-e41543dc91f5", "low"),
    ("exposure.security-group-open", "9fd68588-ecbf-4528-a345-199fa6bb0821", "high"),                 # port 22 from /0
    ("exposure.ami-shared", "1f00bcfa-e050-4c2e-b99b-768ebe3a3dd3", "high"),                          # ec2-share-ami
    ("exposure.snapshot-shared", "6897ff63-d738-445c-9e86-43e5b1f8e12f", "high"),                     # ec2-share-ebs-snapshot
    # ec2-steal-instance-credentials: the instance role's session used with the attack tool, from the address the
    # attacker's IAM user calls from (GetCallerIdentity, DescribeInstances)
    ("credential-access.workload-credentials-stolen", "b379479b-05c9-4c3c-af4b-cbd43acf29e1", "high"),
    ("credential-access.workload-credentials-stolen", "394cf343-b9cf-48ce-8a94-e188656ae8ba", "high"),
]


@pytest.mark.parametrize("check,event_id,severity", STRATUS_EXPECTED)
def test_stratus_detonation_is_found(stratus, check, event_id, severity):
    assert (check, event_id) in stratus, f"{check} missed {event_id}"
    assert stratus[(check, event_id)].severity == severity


def test_stratus_get_password_data_denied_thirty_times_is_one_low_finding(stratus):
    path = need(STRATUS) / "aws.credential-access.ec2-get-password-data.json"
    ids = {r["eventID"] for r in json.loads(path.read_text()) if r["eventName"] == "GetPasswordData"}
    findings = {id(f): f for (check, ref), f in stratus.items() if check == "execution.password-data-read"}
    (f,) = findings.values()
    assert f.severity == "low" and {e.ref for e in f.evidence} == ids and len(ids) == 30


def test_stratus_nothing_else_fires(stratus):
    """The other detonations (IAM persistence, CloudTrail tampering, secrets ...) are not these rules' business."""
    assert {c for c, _ in stratus} == {c for c, _, _ in STRATUS_EXPECTED} | {"execution.password-data-read"}


#: TrailDiscover's captured events (redacted; most were denied): (file, rule, severity).
TRAILDISCOVER_EXPECTED = [
    ("DeleteLogGroup", "defense-evasion.log-group-deleted", "low"),
    ("DeleteDetector", "defense-evasion.guardduty-disabled", "medium"),
    ("DeleteMembers", "defense-evasion.guardduty-disabled", "medium"),
    ("DisassociateMembers", "defense-evasion.guardduty-disabled", "medium"),
    ("DisassociateFromMasterAccount", "defense-evasion.guardduty-disabled", "medium"),
    ("StopMonitoringMembers", "defense-evasion.guardduty-disabled", "medium"),
    ("LeaveOrganization", "defense-evasion.left-organization", "medium"),
    ("DeleteFlowLogs", "defense-evasion.flow-logs-deleted", "medium"),
    ("SendCommand", "execution.ssm-send-command", "low"),
    ("StartSession", "execution.ssm-start-session", "info"),
    ("GetPasswordData", "execution.password-data-read", "low"),
]
#: Their events that must not fire: an UpdateDetector that enables, a snapshot permission removed, a /24 opened,
#: an empty bucket policy, a canned ACL that is not public, Security Hub's DeleteMembers, an attribute other than
#: user data.
#: The first steps of the sequences (trailtools.rules.sequences), each denied and alone: no sequence.
TRAILDISCOVER_QUIET = ["UpdateDetector", "ModifySnapshotAttribute", "AuthorizeSecurityGroupIngress",
                       "PutBucketPolicy", "PutBucketAcl", "SecurityHub-DeleteMembers", "ModifyInstanceAttribute",
                       "StopInstances", "StartInstances",
                       "CreateLoginProfile", "UpdateLoginProfile", "CreateUser", "AttachUserPolicy", "PutUserPolicy",
                       "PutRolePolicy", "CreatePolicyVersion", "UpdateAssumeRolePolicy", "StopLogging", "DeleteTrail",
                       "AssumeRole", "RunInstances", "CreateFunction20150331"]


def _traildiscover(name: str):
    records = json.loads((need(TRAILDISCOVER) / f"{name}.json.cloudtrail").read_text())
    return records, registry.run(frame_of(records))


@pytest.mark.parametrize("name,check,severity", TRAILDISCOVER_EXPECTED)
def test_traildiscover_example_is_found(name, check, severity):
    records, found = _traildiscover(name)
    (f,) = found
    assert (f.check, f.severity) == (check, severity)
    assert [e.ref for e in f.evidence] == [r["eventID"] for r in records]


@pytest.mark.parametrize("name", TRAILDISCOVER_QUIET)
def test_traildiscover_example_is_quiet(name):
    assert _traildiscover(name)[1] == []
