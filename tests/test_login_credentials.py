"""API credentials (trailtools.investigations.login.credentials): stolen instance credentials and federation tokens in the real
Stratus Red Team detonation logs, and each detector alone on small frames."""
import json

import pytest
from conftest import STRATUS, need, record, ts
from test_geoip import write_asn_db, write_city_db
from test_login import _file, _frame, _login

from trailtools import load_events
from trailtools.evidence.aws_ranges import load_ranges
from trailtools.evidence.geoip import open_geoip
from trailtools.investigations.login.analysis import analyze_logins, session_events
from trailtools.investigations.login.credentials import (
    credential_chains,
    key_new_addresses,
)
from trailtools.rules.credential_access import judge_workloads

START, END = ts("2024-01-01"), ts("2025-01-01")


@pytest.fixture(scope="module")
def stratus():
    return load_events(str(need(STRATUS)), cache=False).frame


# ---- real data: Stratus Red Team ---------------------------------------------------------------------------------

def test_stratus_stolen_instance_credentials(stratus):
    """The login analysis judges workload credentials with the rule credential-access.workload-credentials-stolen."""
    frame = _file(stratus, "ec2-steal-instance-credentials")
    found = judge_workloads(frame, START, END)
    assert len(found) == 1
    f = found[0]
    assert f.check == "credential-access.workload-credentials-stolen" and f.severity == "high"
    assert f.extra["instance"] == "i-786a3A8B5C0d92eF4" and f.extra["technique"].startswith("T1552.005")
    assert f.extra["shared_with"] == ["christophe"]           # the attacker's own IAM user, from the same address
    stolen = frame[frame["userIdentity.type"].astype(object) == "AssumedRole"]
    assert {e.ref for e in f.evidence} >= set(stolen["eventID"]) and len(stolen) == 2
    assert "18.236.253.47" in f.title
    # through the whole analysis too, ranked above the detonation's discovery noise
    a = analyze_logins(frame, start="2024-08-01", end="2024-08-03")
    assert a.findings[0].check == "credential-access.workload-credentials-stolen"


def test_stratus_stolen_credentials_with_ranges_and_asn(stratus, tmp_path):
    """With AWS's ranges of a file that does not list the address, the use is outside AWS (critical), and the ASN
    database names the network's owner."""
    frame = _file(stratus, "ec2-steal-instance-credentials")
    path = tmp_path / "ip-ranges.json"
    path.write_text(json.dumps({"syncToken": "1", "createDate": "2024-08-01-12-00-00", "prefixes": [
        {"ip_prefix": "3.80.0.0/12", "region": "us-east-1", "service": "EC2", "network_border_group": "us-east-1"}],
        "ipv6_prefixes": []}))
    other = open_geoip(asn_db=write_asn_db(tmp_path / "isp.mmdb", {"18.0.0.0/8": (64500, "Example ISP")}))
    [f] = judge_workloads(frame, START, END, ranges=load_ranges(str(path)), geo=other)
    assert f.severity == "critical" and f.extra["outside_aws"] and "outside AWS" in f.title
    assert "(AS64500 Example ISP)" in f.explanation and "createDate 2024-08-01-12-00-00" in f.explanation


def test_stratus_federation_token_chain(stratus):
    frame = _file(stratus, "sts-federation-token")
    [chain] = credential_chains(frame, START, END)
    assert chain.check == "login.credential-chain" and chain.severity == "medium"
    assert chain.extra["issued_keys"] == ["ASIASTJKC5GCM7ZE6LUP"]
    assert chain.extra["used_as"] == ["federated-user/stratus_red_team"]
    assert chain.extra["principal"] == "stratus-red-team-user-federation-user"
    names = [e.summary for e in chain.evidence]
    assert names[0].startswith("GetFederationToken issued") and any("GetCallerIdentity" in n for n in names)


def test_stratus_assume_role_chain_with_denied_storm(stratus):
    [chain] = credential_chains(_file(stratus, "ec2-get-password-data"), START, END)
    assert chain.extra["used_as"][0].startswith("stratus-red-team-ec2-get-password-data-role/")
    assert "access-denied" in chain.extra["follow_ups"] and chain.severity == "medium"


@pytest.mark.parametrize("part, category, phrase", [
    ("iam-create-admin-user", "privilege-escalation", "created a user and attached AdministratorAccess"),
    ("iam-create-user-login-profile", "persistence", "gave a user a console password"),
    ("iam-update-user-login-profile", "persistence", "changed a console password"),
    ("iam-backdoor-user", "persistence", "created an access key"),
    ("cloudtrail-stop", "defense-evasion", "stopped CloudTrail"),
    ("cloudtrail-delete", "defense-evasion", "deleted the trail"),
])
def test_stratus_key_driven_detonations_through_the_analysis(stratus, part, category, phrase):
    """These detonations use an access key, no console sign-in: the key's calls are judged by the same rules."""
    frame = _file(stratus, part)
    top = analyze_logins(frame, start="2024-07-01", end="2024-12-31").findings[0]
    assert top.check == "login.key-activity" and top.severity == "high" and category in top.extra["follow_ups"]
    assert phrase in top.title and top.extra["principal"] == "christophe"
    assert {e.ref for e in top.evidence} <= set(frame["eventID"])


# ---- the detectors alone ----------------------------------------------------------------------------------------

def _call(eid, time, ip, key="AKIAAAAAAAAAAAAAAAAA", user="deploy", name="DescribeInstances", **extra):
    ident = {"type": "IAMUser", "principalId": "AIDAX", "arn": f"arn:aws:iam::111122223333:user/{user}",
             "accountId": "111122223333", "accessKeyId": key, "userName": user}
    return record(eid, time, name, userIdentity=ident, sourceIPAddress=ip, **extra)


def test_access_key_from_a_new_address(tmp_path):
    recs = [_call(f"b{i}", f"2024-01-0{i + 1}T10:00:00Z", "192.0.2.10") for i in range(3)]
    recs += [_call("w1", "2024-01-08T10:00:00Z", "192.0.2.10"),          # usual
             _call("w2", "2024-01-08T11:00:00Z", "192.0.2.99"),          # same /24
             _call("w3", "2024-01-08T12:00:00Z", "198.51.100.7"),        # new /24
             _call("w4", "2024-01-08T12:01:00Z", "198.51.100.7"),
             _call("w5", "2024-01-08T12:02:00Z", "ec2.amazonaws.com"),   # a service on the key's behalf
             _call("n1", "2024-01-08T13:00:00Z", "203.0.113.5", key="AKIABBBBBBBBBBBBBBBB")]   # no history
    frame = _frame(recs)
    found = {f.evidence[0].ref: f for f in key_new_addresses(frame, ts("2024-01-08"), ts("2024-01-09"))}
    assert set(found) == {"w2", "w3"}
    assert found["w2"].severity == "low" and found["w3"].severity == "low" and found["w3"].extra["score"] == 2
    assert found["w3"].extra["calls"] == 2 and found["w3"].extra["access_key"] == "AKIAAAAAAAAAAAAAAAAA"
    assert "a new /24 network" in found["w3"].explanation
    geo = open_geoip(write_city_db(tmp_path / "c.mmdb", {"192.0.2.0/24": ("US", "New York"),
                                                         "198.51.100.0/24": ("NL", "Amsterdam")}))
    located = {f.evidence[0].ref: f for f in key_new_addresses(frame, ts("2024-01-08"), ts("2024-01-09"), geo)}
    assert located["w3"].severity == "medium" and "a new country (NL)" in located["w3"].explanation
    assert "(Amsterdam, NL)" in located["w3"].title


def test_instance_credentials_own_address_is_not_flagged():
    """A person working on the instance calls AWS from its address: the instance's own; the instance role from an
    address another person uses is not."""
    role = {"type": "AssumedRole", "principalId": "AROAX:i-0123456789abcdef0", "accountId": "111122223333",
            "arn": "arn:aws:sts::111122223333:assumed-role/app-role/i-0123456789abcdef0",
            "accessKeyId": "ASIAAAAAAAAAAAAAAAAA"}
    agent = "aws-sdk-go/1.44.260 (go1.22.5; linux; amd64) amazon-ssm-agent/3.3.859.0"
    boto3 = "Boto3/1.35.10 md/Botocore#1.35.10 ua/2.0 os/linux lang/python#3.12.5 Botocore/1.35.10"
    recs = [record("r0", "2024-01-01T10:00:00Z", userIdentity=role, sourceIPAddress="18.200.7.14", userAgent=agent),
            _call("p1", "2024-01-08T10:00:00Z", "18.200.7.14", user="ops"),
            record("r1", "2024-01-08T10:05:00Z", userIdentity=role, sourceIPAddress="18.200.7.14", userAgent=boto3),
            _call("p2", "2024-01-08T11:00:00Z", "34.245.12.7", user="mallory"),
            record("r2", "2024-01-08T11:05:00Z", userIdentity=role, sourceIPAddress="34.245.12.7", userAgent=boto3),
            record("r3", "2024-01-08T11:06:00Z", userIdentity=role, sourceIPAddress="10.0.1.5")]   # a VPC endpoint
    found = judge_workloads(_frame(recs), ts("2024-01-08"), ts("2024-01-09"))
    assert [f.evidence[0].ref for f in found] == ["r2"] and found[0].extra["shared_with"] == ["mallory"]


def test_session_follows_sts_credentials():
    """A console session gets temporary credentials; what they do belongs to the session (and is risky)."""
    login = _login("s0", "2024-01-08T10:00:00Z", "ann", ip="203.0.113.9")
    ann = {"type": "IAMUser", "principalId": "AIDAX", "arn": "arn:aws:iam::111122223333:user/ann",
           "accountId": "111122223333", "accessKeyId": "ASIACONSOLE000000000", "userName": "ann"}
    token = record("s1", "2024-01-08T10:05:00Z", "GetSessionToken", userIdentity=ann, eventSource="sts.amazonaws.com",
                   sessionCredentialFromConsole="true", sourceIPAddress="203.0.113.9", responseElements={"credentials": {"accessKeyId": "ASIATOKEN00000000000",
                                                     "sessionToken": "x", "expiration": "Jan 8, 2024, 10:05:00 PM"}})
    used = dict(ann, accessKeyId="ASIATOKEN00000000000")
    later = record("s2", "2024-01-08T23:00:00Z", "CreateUser", userIdentity=used, eventSource="iam.amazonaws.com",
                   sourceIPAddress="198.51.100.77")
    frame = _frame([login, token, later])
    acts = session_events(frame, "ann", ts("2024-01-08T10:00:00Z"), ts("2024-01-08T12:00:00Z"))
    assert list(acts["eventID"]) == ["s1", "s2"]
    a = analyze_logins(frame, start="2024-01-08", end="2024-01-09")
    top = a.findings[0]
    assert top.check == "login.session" and "persistence" in top.extra["follow_ups"]
    assert "created a user" in top.title
    assert not [f for f in a.findings if f.check == "login.credential-chain"]    # the session's, said once
    assert json.loads(json.dumps([f.to_dict() for f in a.findings], default=str))
