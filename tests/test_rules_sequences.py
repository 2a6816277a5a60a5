"""Attack sequences (trailtools.rules.sequences) on real records: the Stratus Red Team detonations hold the first step
of several sequences (a login profile created or updated, a user created with an admin policy and an access key, a
role's trust policy opened, logging stopped); joined with the next step, taken from another real record of the same
dataset, they must fire at the severity stated, naming the eventID of every step, and alone they must not. Then the
near misses the rules must stay quiet on, and the demo account's planted backdoor login."""
import copy
import json
from datetime import datetime, timedelta

import pytest
from conftest import STRATUS, need

from trailtools.demo import scenario as S
from trailtools.rules import registry
from trailtools.rules.examples import frame_of
from trailtools.rules.hunt import hunt
from trailtools.rules.model import Rule


def _stratus(name: str, event: str | None = None) -> list[dict]:
    records = json.loads((need(STRATUS) / f"aws.{name}.json").read_text())
    return [copy.deepcopy(r) for r in records if event is None or r["eventName"] == event]


def _run(rule_id: str, records: list[dict]):
    return registry.RULES[rule_id].run(frame_of(records))


def _signs_in_as(login: dict, user: str, account: str, time: str, *, ip: str | None = None, mfa: bool = False):
    """The real ConsoleLogin record of console-login-without-mfa, made the sign-in of ``user``."""
    login["userIdentity"].update({"userName": user, "accountId": account, "arn": f"arn:aws:iam::{account}:user/{user}"})
    login.update({"recipientAccountId": account, "eventTime": time})
    login["additionalEventData"]["MFAUsed"] = "Yes" if mfa else "No"
    if ip:
        login["sourceIPAddress"] = ip
    return login


def _plus(time: str, seconds: int) -> str:
    return (datetime.fromisoformat(time.replace("Z", "+00:00")) + timedelta(seconds=seconds)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def login():
    (rec,) = _stratus("initial-access.console-login-without-mfa")
    return rec


@pytest.mark.parametrize("name,event", [("persistence.iam-create-user-login-profile", "CreateLoginProfile"),
                                        ("privilege-escalation.iam-update-user-login-profile", "UpdateLoginProfile")])
def test_stratus_login_profile_then_sign_in_without_mfa_is_critical(name, event, login):
    (profile,) = _stratus(name, event)
    user, account = profile["requestParameters"]["userName"], profile["recipientAccountId"]
    assert _run("sequences.backdoor-login", [profile]) == []                # the detonation alone: no sign-in
    _signs_in_as(login, user, account, _plus(profile["eventTime"], 9))
    (f,) = _run("sequences.backdoor-login", [profile, login])
    assert f.severity == "critical" and [e.ref for e in f.evidence] == [profile["eventID"], login["eventID"]]
    assert "without MFA" in f.title and "9 seconds later" in f.title and f.resource == f"user/{user}"
    assert f.extra["tactic"].startswith("TA0003") and f.extra["technique"].startswith("T1098")
    assert [s["eventName"] for s in f.extra["steps"]] == [event, "ConsoleLogin"]


def test_password_reset_then_sign_in_with_mfa_from_the_usual_address_is_high_not_critical(login):
    (profile,) = _stratus("privilege-escalation.iam-update-user-login-profile", "UpdateLoginProfile")
    user, account = profile["requestParameters"]["userName"], profile["recipientAccountId"]
    before = _signs_in_as(copy.deepcopy(login), user, account, "2024-08-27T08:00:00Z", mfa=True)
    before["eventID"] = "7c1f3a52-6b0e-4c2d-9e8a-0a1b2c3d4e5f"
    after = _signs_in_as(login, user, account, "2024-08-28T09:58:02Z", mfa=True)
    (f,) = _run("sequences.backdoor-login", [before, profile, after])
    assert f.severity == "high" and [e.ref for e in f.evidence] == [profile["eventID"], after["eventID"]]
    # the same sign-in days later: not linked at all
    after["eventTime"] = "2024-08-31T09:58:02Z"
    assert _run("sequences.backdoor-login", [before, profile, after]) == []


def test_own_password_change_and_failed_sign_in_are_not_backdoors(login):
    (profile,) = _stratus("persistence.iam-create-user-login-profile", "CreateLoginProfile")
    user, account = profile["requestParameters"]["userName"], profile["recipientAccountId"]
    mine = copy.deepcopy(profile)
    mine["userIdentity"].update({"userName": user, "arn": f"arn:aws:iam::{account}:user/{user}"})
    signed = _signs_in_as(login, user, account, "2024-08-01T13:42:30Z")
    assert _run("sequences.backdoor-login", [mine, signed]) == []
    signed["responseElements"]["ConsoleLogin"] = "Failure"
    assert _run("sequences.backdoor-login", [profile, signed]) == []


def test_stratus_admin_user_created_is_quiet_until_its_key_is_used():
    records = _stratus("persistence.iam-create-admin-user")
    assert {r["eventName"] for r in records} == {"CreateUser", "AttachUserPolicy", "CreateAccessKey"}
    assert registry.run(frame_of(records), registry.select("sequences")) == []   # an admin's CreateUser: nothing
    key = next(r for r in records if r["eventName"] == "CreateAccessKey")
    (whoami,) = _stratus("persistence.iam-create-user-login-profile", "GetCallerIdentity")
    new_key = key["responseElements"]["accessKey"]["accessKeyId"]
    whoami["userIdentity"].update({"userName": "malicious-iam-user", "accessKeyId": new_key,
                                   "accountId": key["recipientAccountId"],
                                   "arn": f"arn:aws:iam::{key['recipientAccountId']}:user/malicious-iam-user"})
    whoami.update({"eventTime": "2024-08-01T13:41:02Z", "recipientAccountId": key["recipientAccountId"]})
    (f,) = _run("sequences.new-user-used", records + [whoami])
    create = next(r for r in records if r["eventName"] == "CreateUser")
    assert f.severity == "high" and [e.ref for e in f.evidence] == [create["eventID"], key["eventID"],
                                                                    whoami["eventID"]]
    assert "7 minutes later" in f.title
    whoami["eventTime"] = "2024-08-01T15:00:00Z"                            # used, but not within the hour
    assert _run("sequences.new-user-used", records + [whoami]) == []


def _backdoored_role() -> tuple[dict, dict]:
    """The real UpdateAssumeRolePolicy of iam-backdoor-role, and a real AssumeRole made the assumption of that role
    by another account's principal (at 2024-08-01T13:35:12Z)."""
    (update,) = _stratus("persistence.iam-backdoor-role")
    role, account = update["requestParameters"]["roleName"], update["recipientAccountId"]
    assume = next(r for r in _stratus("credential-access.ec2-get-password-data", "AssumeRole")
                  if not r.get("errorCode"))
    assume["requestParameters"]["roleArn"] = f"arn:aws:iam::{account}:role/{role}"
    assume.update({"eventTime": "2024-08-01T13:35:12Z", "recipientAccountId": account})
    assume["userIdentity"] = {"type": "AWSAccount", "principalId": "AIDAZ4F3LJCT7EXAMPLE", "accountId": "193672423079"}
    return update, assume


def test_stratus_backdoored_role_assumed_by_a_new_principal_then_used_is_critical():
    update, assume = _backdoored_role()
    assert _run("sequences.role-trust-backdoor", [update]) == []
    (f,) = _run("sequences.role-trust-backdoor", [update, assume])
    assert f.severity == "high" and [e.ref for e in f.evidence] == [update["eventID"], assume["eventID"]]
    (whoami,) = _stratus("persistence.iam-create-user-login-profile", "GetCallerIdentity")
    whoami["userIdentity"]["accessKeyId"] = assume["responseElements"]["credentials"]["accessKeyId"]
    whoami["eventTime"] = "2024-08-01T13:35:40Z"
    (f,) = _run("sequences.role-trust-backdoor", [update, assume, whoami])
    assert f.severity == "critical" and f.evidence[-1].ref == whoami["eventID"]


def test_stratus_stop_logging_after_a_console_sign_in_is_high_and_alone_is_quiet(login):
    (stop,) = _stratus("defense-evasion.cloudtrail-stop")
    assert _run("sequences.evasion-after-sign-in", [stop]) == []            # a long-term key, no session start
    ui = stop["userIdentity"]
    _signs_in_as(login, ui["userName"], ui["accountId"], "2024-07-31T12:58:40Z")
    stop["sessionCredentialFromConsole"] = "true"
    (f,) = _run("sequences.evasion-after-sign-in", [login, stop])
    assert f.severity == "high" and [e.ref for e in f.evidence] == [login["eventID"], stop["eventID"]]
    assert f.extra["technique"].startswith("T1562.008")
    login["eventTime"] = "2024-07-30T12:58:40Z"                              # signed in the day before: another session
    assert _run("sequences.evasion-after-sign-in", [login, stop]) == []


def test_stratus_privilege_escalation_of_another_user_is_quiet_and_of_oneself_critical_once_used():
    records = _stratus("persistence.iam-create-admin-user")
    attach = next(r for r in records if r["eventName"] == "AttachUserPolicy")
    assert _run("sequences.privilege-escalation-used", records) == []       # christophe gave admin to another user
    attach["requestParameters"]["userName"] = "christophe"                   # ... to himself
    (f,) = _run("sequences.privilege-escalation-used", [attach])
    assert f.severity == "high" and "has not used them yet" in f.title
    (whoami,) = _stratus("persistence.iam-create-user-login-profile", "GetCallerIdentity")
    whoami.update({"eventTime": "2024-08-01T13:40:00Z", "userIdentity": dict(attach["userIdentity"]),
                   "recipientAccountId": attach["recipientAccountId"]})
    (f,) = _run("sequences.privilege-escalation-used", [attach, whoami])
    assert f.severity == "critical" and [e.ref for e in f.evidence] == [attach["eventID"], whoami["eventID"]]


def test_stratus_stop_user_data_start_names_the_three_steps():
    """The stop, user data change, start sequence is execution.user-data-changed (high); its finding names the
    eventIDs of the stop and the start around the change."""
    records = _stratus("execution.ec2-user-data")
    ids = {r["eventName"]: r["eventID"] for r in records if r["eventName"] != "DescribeInstances"}
    (f,) = _run("execution.user-data-changed", records)
    assert f.severity == "high" and [e.ref for e in f.evidence] == [ids["StopInstances"],
                                                                    ids["ModifyInstanceAttribute"],
                                                                    ids["StartInstances"]]
    start = next(r for r in records if r["eventName"] == "StartInstances")
    (f,) = _run("execution.user-data-changed", [r for r in records if r is not start])
    assert f.severity == "medium" and [e.ref for e in f.evidence] == [ids["ModifyInstanceAttribute"]]


def test_policy_documents_are_read_with_bounds():
    from trailtools.rules.sequences import MAX_POLICY_CHARS, _admin_document
    allow_all = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    assert _admin_document(json.dumps(allow_all)) and _admin_document(allow_all)
    assert not _admin_document(json.dumps({"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*"}}))
    assert not _admin_document(json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    assert not _admin_document("{not json") and not _admin_document(" " * (MAX_POLICY_CHARS + 1) + json.dumps(allow_all))


@pytest.mark.slow
def test_hunt_finds_the_demo_backdoor_login_critical():
    res = hunt("demo", "2026-10-14", "2026-10-15", "sequences")
    (f,) = [f for f in res.findings if f.check == "sequences.backdoor-login"]
    assert f.severity == "critical" and f.resource == "user/support-ops"
    assert [e.time for e in f.evidence] == [S.iso_z(t) for t in (S.INC8_CREATE_USER, S.INC8_CREATE_LOGIN_PROFILE,
                                                                   S.INC8_CONSOLE_LOGIN)]
    assert [s["eventName"] for s in f.extra["steps"]] == ["CreateUser", "CreateLoginProfile", "ConsoleLogin"]
    assert "9 seconds later without MFA from a new address 203.0.113.223" in f.title
    assert "legacy-deploy" in f.title


def test_a_sequence_without_its_first_step_selects_no_rows_and_one_with_it_selects_every_step():
    """A trail of sign-ins and AssumeRole calls (a busy account's most common calls) holds no first step of the
    role-trust backdoor: the rule selects no rows (nothing is copied for it); with the trust policy changed it selects
    both steps and fires."""
    update, assume = _backdoored_role()
    rule = registry.RULES["sequences.role-trust-backdoor"]
    assert rule.triggers == (("iam.amazonaws.com", "UpdateAssumeRolePolicy"),)
    assert rule.select(frame_of([assume])).empty
    assert list(rule.select(frame_of([update, assume]))["eventID"]) == [update["eventID"], assume["eventID"]]
    every = [r for r in registry.RULES.values() if r.family == "sequences"]
    assert all(r.triggers and set(r.triggers) <= set(r.events) for r in every)


def test_rules_reading_the_same_events_share_the_rows_not_what_one_writes_on_them():
    """registry.run selects the rows once for rules that read the same events; a rule writing a column on its rows
    does not change what the next one reads."""
    seen = []

    def writes(rows, rule):
        rows["eventName"] = "Overwritten"
        return []

    def reads(rows, rule):
        seen.append(list(rows["eventName"]))
        return []

    events = (("sts.amazonaws.com", "AssumeRole"),)
    a, b = (Rule(f"test.{n}", n, "low", "t", "t", events, fn, "x", "y") for n, fn in (("a", writes), ("b", reads)))
    assume = _stratus("credential-access.ec2-get-password-data", "AssumeRole")
    registry.run(frame_of(assume), [a, b])
    assert seen == [["AssumeRole"] * len(assume)]
