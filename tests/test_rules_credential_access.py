"""Stolen workload credentials (trailtools.rules.credential_access): a Lambda function's, an ECS task's, an EKS pod's
and an EC2 instance's role sessions, each used by the workload itself (nothing) and from outside it (high; critical
outside AWS's ranges), on records shaped like CloudTrail's; the real Stratus Red Team detonation; hunt's
--aws-ip-ranges."""
import copy
import json

from conftest import STRATUS, need, record
from test_aws_ranges import IP_RANGES, write

from trailtools import cli
from trailtools.events.load import load_events
from trailtools.evidence import aws_ranges
from trailtools.rules import registry
from trailtools.rules.credential_access import judge_workloads, person_tool, workloads
from trailtools.rules.examples import examples, frame_of

RULE = "credential-access.workload-credentials-stolen"
EX = examples("credential_access")[RULE]
SSM = "aws-sdk-go/1.44.260 (go1.22.5; linux; amd64) amazon-ssm-agent/3.3.859.0"
BOTO3_EC2 = ("Boto3/1.35.10 md/Botocore#1.35.10 ua/2.0 os/linux#6.1.102-108.177.amzn2023.x86_64 md/arch#x86_64 "
             "lang/python#3.12.5 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.10")
BOTO3_PLAIN = "Boto3/1.35.10 md/Botocore#1.35.10 ua/2.0 os/linux lang/python#3.12.5 Botocore/1.35.10"
CLI_MAC = ("aws-cli/2.17.42 md/awscrt#0.21.2 ua/2.0 os/macos#23.6.0 md/arch#arm64 lang/python#3.11.9 "
           "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#s3.ls")


def _by_id(records):
    return {r["eventID"]: r for r in records}


def _role_call(eid, time, role, session, ip, agent, name="DescribeInstances", key="ASIAQNZGKIQYINSTANC1", **kw):
    ident = {"type": "AssumedRole", "principalId": f"AROAQNZGKIQYEXAMPLE9:{session}",
             "arn": f"arn:aws:sts::111122223333:assumed-role/{role}/{session}", "accountId": "111122223333",
             "accessKeyId": key,
             "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAQNZGKIQYEXAMPLE9",
                                                   "arn": f"arn:aws:iam::111122223333:role/{role}",
                                                   "accountId": "111122223333", "userName": role},
                                "attributes": {"creationDate": "2026-11-03T07:55:00Z", "mfaAuthenticated": "false"},
                                "ec2RoleDelivery": "2.0"}}
    return record(eid, time, name, userIdentity=ident, sourceIPAddress=ip, userAgent=agent, **kw)


def _instance(eid, time, ip, agent, name="DescribeInstances"):
    return _role_call(eid, time, "reporting-host-role", "i-0a1b2c3d4e5f60718", ip, agent, name)


# ---- the labelled examples -----------------------------------------------------------------------------------

def test_a_lambdas_credentials_from_outside_aws_with_the_cli_are_critical():
    found = registry.RULES[RULE].run(frame_of(EX["fire"]))
    lam = next(f for f in found if f.extra["workload_kind"] == "Lambda function")
    assert lam.severity == "critical" and lam.extra["workload"] == "billing-export" and lam.extra["outside_aws"]
    assert "used from 203.0.113.66, outside AWS, with the AWS CLI (Kali Linux)" in lam.title
    ids = [e.ref for e in lam.evidence]
    by_id = _by_id(EX["fire"])
    assert by_id[ids[0]]["eventName"] == "AssumeRole"                          # the issuing call first
    assert {by_id[i]["sourceIPAddress"] for i in ids[1:]} == {"203.0.113.66"} and len(ids) == 3
    assert lam.extra["home_addresses"] == ["44.201.9.30"] and "issued by lambda.amazonaws.com" in lam.explanation
    assert "snapshot date 2026-10-26" in lam.explanation and lam.extra["aws_ranges"]["date"] == "2026-10-26"


def test_an_ecs_tasks_credentials_from_another_aws_network_with_the_cli_are_high():
    found = registry.RULES[RULE].run(frame_of(EX["fire"]))
    task = next(f for f in found if f.extra["workload_kind"] == "ECS task")
    assert task.severity == "high" and not task.extra["outside_aws"]
    assert task.extra["address"] == "13.48.10.5" and "(AWS EC2 eu-north-1)" in task.title
    assert any("another network than the ECS task's own (54.210.17.80)" in s for s in task.extra["signals"])
    assert any(s.startswith("the user agent is the AWS CLI") for s in task.extra["signals"])


def test_the_workloads_own_calls_are_nothing():
    """A Lambda's runtime SDK from changing AWS addresses, a VPC endpoint, a service acting for it (invokedBy); an
    instance's SSM agent and a cron job's CLI on the instance."""
    frame = frame_of(EX["quiet"])
    assert {w.kind for w in workloads(frame).values()} == {"Lambda function", "EC2 instance"}
    assert registry.RULES[RULE].run(frame) == []


# ---- each kind of workload alone -------------------------------------------------------------------------------

def test_instance_role_from_its_instance_is_nothing_and_from_another_address_is_high():
    recs = [_instance("own1", "2026-11-03T08:00:00Z", "18.200.7.14", SSM, "UpdateInstanceInformation"),
            _instance("own2", "2026-11-03T09:00:00Z", "18.200.7.14", BOTO3_EC2)]
    frame = frame_of(recs)
    assert judge_workloads(frame, "2026-11-03T08:30:00Z", "2026-11-04") == []
    # the same session's SDK, from another AWS network (an attacker's instance): high
    recs.append(_instance("other", "2026-11-03T10:00:00Z", "34.245.12.7", BOTO3_PLAIN, "ListBuckets"))
    [f] = judge_workloads(frame_of(recs), "2026-11-03T08:30:00Z", "2026-11-04")
    assert f.severity == "high" and [e.ref for e in f.evidence] == ["other"] and f.extra["instance"] == \
        "i-0a1b2c3d4e5f60718"
    assert f.extra["signals"] == ["another network than the EC2 instance's own (18.200.7.14)"]
    # from a laptop outside AWS: critical
    recs.append(_instance("laptop", "2026-11-03T11:00:00Z", "198.51.100.200", CLI_MAC, "ListBuckets"))
    found = {f.extra["address"]: f for f in judge_workloads(frame_of(recs), "2026-11-03T08:30:00Z", "2026-11-04")}
    assert found["198.51.100.200"].severity == "critical" and "an SDK on a Mac" in found["198.51.100.200"].title


def test_a_person_on_the_instance_is_the_instance():
    """The CLI run on the instance itself (an admin's shell, user data) from the instance's address is its own."""
    recs = [_instance("own", "2026-11-03T08:00:00Z", "18.200.7.14", SSM, "UpdateInstanceInformation"),
            _instance("shell", "2026-11-03T09:00:00Z", "18.200.7.14", CLI_MAC.replace("os/macos#23.6.0", "os/linux"))]
    assert judge_workloads(frame_of(recs)) == []


def test_lambda_calls_without_the_runtime_mark_are_high():
    """Its own calls carry exec-env/AWS_Lambda_python3.12: a plain Boto3 call from an AWS address is not the
    function."""
    recs = copy.deepcopy([r for r in EX["fire"] if "lambda" in json.dumps(r["userIdentity"]) or
                          "billing-export" in json.dumps(r)][:2])
    stolen = copy.deepcopy(recs[1])
    stolen.update(eventID="plain-boto3", sourceIPAddress="3.91.171.20", userAgent=BOTO3_PLAIN)
    [f] = judge_workloads(frame_of(recs + [stolen]))
    assert f.severity == "high" and [e.ref for e in f.evidence][1:] == ["plain-boto3"]
    assert "lacks the runtime mark (exec-env/AWS_Lambda_...)" in f.extra["signals"][0]


def test_eks_pod_credentials_from_the_pod_are_nothing_and_from_elsewhere_high():
    pod = {"type": "WebIdentityUser",
           "principalId": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/"
                          "5C7B6D1E4A:sts.amazonaws.com:system:serviceaccount:payments:ledger",
           "userName": "system:serviceaccount:payments:ledger",
           "identityProvider": "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/5C7B6D1E4A"}
    session = "botocore-session-1793000000"
    issue = record("irsa", "2026-11-03T08:00:00Z", "AssumeRoleWithWebIdentity", eventSource="sts.amazonaws.com",
                   userIdentity=pod, sourceIPAddress="34.245.12.7", userAgent=BOTO3_PLAIN,
                   requestParameters={"roleArn": "arn:aws:iam::111122223333:role/ledger-pod",
                                      "roleSessionName": session},
                   responseElements={"credentials": {"accessKeyId": "ASIAQNZGKIQYPODKEY01",
                                                     "expiration": "Nov 3, 2026, 9:00:00 AM"},
                                     "assumedRoleUser": {"assumedRoleId": f"AROAQNZGKIQYEXAMPLE9:{session}",
                                                         "arn": "arn:aws:sts::111122223333:assumed-role/ledger-pod/"
                                                                + session}})
    own = _role_call("pod-own", "2026-11-03T08:00:05Z", "ledger-pod", session, "34.245.12.7", BOTO3_PLAIN,
                     "GetItem", key="ASIAQNZGKIQYPODKEY01")
    assert judge_workloads(frame_of([issue, own])) == []
    away = _role_call("pod-away", "2026-11-03T08:20:00Z", "ledger-pod", session, "13.48.10.5", BOTO3_PLAIN,
                      "ListTables", key="ASIAQNZGKIQYPODKEY01")
    [f] = judge_workloads(frame_of([issue, own, away]))
    assert f.severity == "high" and f.extra["workload_kind"] == "EKS pod" and "payments:ledger" in f.explanation
    assert [e.ref for e in f.evidence] == ["irsa", "pod-away"]


def test_tools_people_use():
    assert person_tool(CLI_MAC).startswith("the AWS CLI (an SDK on a Mac")
    assert person_tool("aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1020-aws exe/x86_64.ubuntu.22") is None  # on EC2
    assert person_tool("Mozilla/5.0 (Windows NT 10.0; Win64; x64)").startswith("a web browser")
    assert person_tool(BOTO3_EC2) is None and person_tool(SSM) is None


# ---- AWS's ranges: a user's file, and the real detonation --------------------------------------------------------

def test_a_users_ip_ranges_file_decides_and_is_named(tmp_path):
    """With AWS's file of the incident's time, an address it does not list is outside AWS: critical; the finding
    names the file and its createDate."""
    path = write(tmp_path / "ip-ranges.json", IP_RANGES)
    recs = [_instance("own", "2026-11-03T08:00:00Z", "3.91.171.20", SSM, "UpdateInstanceInformation"),
            _instance("away", "2026-11-03T09:00:00Z", "18.200.7.14", BOTO3_PLAIN)]
    [f] = judge_workloads(frame_of(recs), ranges=aws_ranges.load_ranges(path))
    assert f.severity == "critical" and f.extra["aws_ranges"]["date_kind"] == "createDate"
    assert f"AWS's ip-ranges.json read from {path} (createDate 2026-11-02-21-13-10" in f.explanation


def test_hunt_takes_the_ranges_file(tmp_path, capsys):
    trail = tmp_path / "trail"
    trail.mkdir()
    (trail / "records.json").write_text(json.dumps({"Records": EX["fire"]}))
    doc = tmp_path / "hunt.json"
    doc_ranges = copy.deepcopy(IP_RANGES)
    doc_ranges["prefixes"] += [{"ip_prefix": p, "region": "us-east-1", "service": "EC2",
                                "network_border_group": "us-east-1"} for p in ("44.192.0.0/11", "54.210.0.0/15")]
    ranges = write(tmp_path / "ip-ranges.json.gz", doc_ranges, zipped=True)
    assert cli.main(["hunt", str(trail), "--rules", "credential-access", "--aws-ip-ranges", ranges,
                     "--json", str(doc), "--no-cache"]) == 0
    out = capsys.readouterr()
    assert "createDate 2026-11-02-21-13-10" in out.err
    found = json.loads(doc.read_text())
    # 13.48.10.5 (eu-north-1) is not in this small file: the ECS task's theft is critical with it
    assert [f["severity"] for f in found["findings"]] == ["critical", "critical"]
    assert "createDate 2026-11-02-21-13-10" in found["parameters"]["aws_ip_ranges"]
    assert cli.main(["hunt", str(trail), "--aws-ip-ranges", str(tmp_path / "nope.json"), "--no-cache"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_stratus_stolen_instance_credentials():
    """aws.credential-access.ec2-steal-instance-credentials: the instance role's session used with the attack tool
    from the address the attacker's IAM user works from."""
    frame = load_events(str(need(STRATUS) / "aws.credential-access.ec2-steal-instance-credentials.json"),
                        cache=False).frame
    [f] = registry.RULES[RULE].run(frame)
    assert f.severity == "high" and f.extra["instance"] == "i-786a3A8B5C0d92eF4"
    assert f.extra["shared_with"] == ["christophe"] and f.extra["access_keys"] == ["ASIAP5CT9NN8EYVU1FXV"]
    stolen = frame[frame["userIdentity.type"].astype(object) == "AssumedRole"]
    assert {e.ref for e in f.evidence} >= set(stolen["eventID"]) and len(stolen) == 2
    assert any("Stratus Red Team" in s for s in f.extra["signals"])
