"""``trailtools collect`` with the standard credential chain against moto in server mode (EC2 instances with console
output, CloudWatch metrics, STS, a trail bucket with a planted key), LookupEvents through ``Stubber``, and every call
it makes allowed by docs/iam-policy.json."""
import datetime as dt
import json
import os

import boto3
import pytest
from botocore.stub import Stubber
from conftest import ROOT, record, s3_path, write_gz

from trailtools.cli import main
from trailtools.collect import cost as collect_cost
from trailtools.collect import cur as collect_cur
from trailtools.collect import health as collect_health
from trailtools.collect import instances as collect_instances
from trailtools.collect import run as collect_run
from trailtools.collect import trail as collect_trail
from trailtools.collect.run import collect
from trailtools.collect.store import UnsafeName, safe_relative
from trailtools.evidence.cloudwatch import read_cloudwatch
from trailtools.evidence.ec2 import read_ec2
from trailtools.integrity.case import read_manifest
from trailtools.integrity.verify import verify


@pytest.fixture
def instance(aws_env):
    ec2 = boto3.client("ec2", region_name="us-east-1")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    inst = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    for minutes, value in ((30, 0), (20, 1), (19, 1), (10, 0)):
        cw.put_metric_data(Namespace="AWS/EC2", MetricData=[{
            "MetricName": "StatusCheckFailed_System", "Dimensions": [{"Name": "InstanceId", "Value": inst}],
            "Timestamp": now - dt.timedelta(minutes=minutes), "Value": value}])
    return inst, now


def test_ec2_cloudwatch_and_sts_from_moto_and_what_moto_lacks_noted(instance, tmp_path, api_calls):
    inst, now = instance
    folder = tmp_path / "case"
    result = collect(folder, start=(now - dt.timedelta(hours=2)).isoformat(), end=now.isoformat(),
                     regions=["us-east-1"], instances=[inst], progress=False)
    ec2 = read_ec2(folder, inst)
    assert ec2.region == "us-east-1" and ec2.instances["instanceId"].tolist() == [inst]
    assert ec2.console is not None and ec2.console.instance_id == inst  # moto's console output, decoded
    cw = read_cloudwatch(folder, inst)
    fails = cw.failures
    assert len(fails) == 1 and fails["metric"].iloc[0] == "StatusCheckFailed_System" and fails["datapoints"].iloc[0] == 2
    run = read_manifest(folder)["runs"][0]
    assert run["identity"]["Account"] == "123456789012"  # moto's account, from sts:GetCallerIdentity
    # the window is recent: 1-minute datapoints, kept 15 days
    segments = next(f for f in run["files"] if f["path"].endswith("get-metric-data.json"))["origin"]["request"]
    assert [s["Period"] for s in segments["segments"]] == [60]
    # what moto has not: AWS Health (and LookupEvents, the default without --trail): noted, one sentence each
    whats = {n["what"] for n in result.not_collected}
    assert "AWS Health" in whats
    for note in result.not_collected:
        assert note["why"].endswith(".") and "\n" not in note["why"] and "Traceback" not in note["why"]
    assert verify(str(folder)).exit_code in (0, 3)  # no digests here (LookupEvents): nothing failed
    assert not [p for p in verify(str(folder)).problems if p.kind.startswith("case-")]
    # every call collect made is allowed by docs/iam-policy.json
    policy = json.loads((ROOT / "docs" / "iam-policy.json").read_text())
    allowed = {a for s in policy["Statement"] for a in s["Action"]}
    called = {a.replace("monitoring:", "cloudwatch:") for a in api_calls}  # CloudWatch signs as "monitoring"
    called -= {"ec2:RunInstances", "ec2:DescribeImages", "cloudwatch:PutMetricData"}  # the test's own setup
    assert called <= allowed, called - allowed
    assert {"sts:GetCallerIdentity", "ec2:DescribeInstanceStatus", "cloudwatch:GetMetricData"} <= called


def test_the_iam_policy_lists_every_action_collect_calls():
    policy = json.loads((ROOT / "docs" / "iam-policy.json").read_text())
    allowed = {a for s in policy["Statement"][:1] for a in s["Action"]}  # the read-only statement
    for module in (collect_trail, collect_instances, collect_health, collect_run, collect_cost, collect_cur):
        assert set(module.IAM_ACTIONS) <= allowed, set(module.IAM_ACTIONS) - allowed


def test_a_planted_key_is_never_a_path(aws_env, tmp_path):
    root = tmp_path / "trail"
    acct = "111122223333"
    rec = record("aaaaaaaa-0000-4000-8000-000000000001", "2026-10-02T10:00:00Z", "RebootInstances")
    good = s3_path(root, acct, "us-east-1", "20261002T1005Z")
    write_gz(good, {"Records": [rec]})
    s3 = boto3.client("s3")
    name = f"trail-{os.urandom(4).hex()}"
    s3.create_bucket(Bucket=name)
    key = good.relative_to(root).as_posix()
    s3.upload_file(str(good), name, key)
    folder = f"AWSLogs/{acct}/CloudTrail/us-east-1/2026/10/02/"
    planted = {folder + "../../../../../../../../escape.json.gz", folder + "x\x1b]0;pwned\x07.json.gz",
               folder + "sp ace;rm -rf.json.gz"}
    for bad in planted:
        s3.put_object(Bucket=name, Key=bad, Body=good.read_bytes())
    case = tmp_path / "case"
    result = collect(case, start="2026-10-02", end="2026-10-03", regions=["us-east-1"], trail=f"s3://{name}",
                     progress=False, clients=lambda service, region: _no_ec2(service, region))
    assert (case / key).read_bytes() == good.read_bytes()
    assert not (tmp_path / "escape.json.gz").exists() and not list(tmp_path.rglob("escape*"))
    refused = [n for n in result.not_collected if n["why"].startswith("Not downloaded")]
    assert len(refused) == 3
    text = "\n".join(collect_run.CollectResult.summary_lines(result))
    assert "\x1b" not in text and "\x07" not in text
    assert {p.relative_to(case).as_posix() for p in case.rglob("*.json.gz")} == {key}


def _no_ec2(service, region):
    """The standard chain on moto, except the services a trail-only test does not need: they answer AccessDenied."""
    client = boto3.client(service, region_name=region or "us-east-1")
    calls = {"ec2": ["describe_instances"], "cloudtrail": ["list_public_keys"],
             "health": ["describe_health_service_status_for_organization", "describe_events"]}
    if service in calls:
        stub = Stubber(client)
        for op in calls[service]:
            stub.add_client_error(op, service_error_code="AccessDenied", service_message="no")
        stub.activate()
    return client


def test_lookup_events_land_as_records_the_folder_source_reads(aws_env, tmp_path):
    from trailtools import Query, load_events

    now = dt.datetime(2026, 10, 3, 12, tzinfo=dt.UTC)
    events = [record(f"bbbbbbbb-0000-4000-8000-00000000000{i}", f"2026-10-02T1{i}:00:00Z", "RebootInstances")
              for i in range(3)]
    ct = boto3.client("cloudtrail", region_name="us-east-1")
    stub = Stubber(ct)
    stub.add_response("lookup_events", {"Events": [
        {"EventId": e["eventID"], "EventName": e["eventName"], "CloudTrailEvent": json.dumps(e)} for e in events]})
    stub.activate()

    def clients(service, region):
        if service == "cloudtrail":
            return ct
        return _no_ec2(service, region)

    case = tmp_path / "case"
    result = collect(case, start="2026-10-02", end="2026-10-02", regions=["us-east-1"], lookup=True, now=now,
                     clients=clients, progress=False)
    stub.assert_no_pending_responses()
    saved = list((case / "cloudtrail-lookup" / "us-east-1").glob("*.json"))
    assert len(saved) == 1
    entry = next(f for f in read_manifest(case)["runs"][0]["files"] if f["path"].startswith("cloudtrail-lookup/"))
    assert entry["origin"]["api"] == "cloudtrail:LookupEvents" and entry["origin"]["events"] == 3
    res = load_events(str(case), Query(start="2026-10-02", end="2026-10-03"))
    assert sorted(res.frame["eventID"]) == sorted(e["eventID"] for e in events)
    # AccessDenied on EC2 names the permission, once per region, and the run went on to the others
    ec2_note = next(n["why"] for n in result.not_collected if n["what"].startswith("EC2 instances"))
    assert "ec2:DescribeInstances" in ec2_note


def test_safe_relative_refuses_what_could_leave_the_folder():
    assert str(safe_relative("AWSLogs/1/CloudTrail/x.json.gz")) == "AWSLogs/1/CloudTrail/x.json.gz"
    for bad in ("../x", "/etc/passwd", "a/../../b", "a//b", "C:/x", "a/\x00b", "a/b c", "manifest.json", "a/" * 20,
                "x" * 300, "a/.hidden/../b", ".", "a/./b"):
        with pytest.raises(UnsafeName):
            safe_relative(bad)


def test_cli_collect_then_verify(instance, tmp_path, capsys):
    inst, now = instance
    case = tmp_path / "cli-case"
    code = main(["collect", str(case), "--region", "us-east-1", "--instance", inst, "--start",
                 (now - dt.timedelta(hours=1)).isoformat(), "--end", now.isoformat(), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0 and "Run 1 of case" in out and "manifest.json SHA-256" in out
    assert main(["verify", str(case)]) in (0, 3)
    (case / "ec2" / "us-east-1" / "describe-instances.json").write_text("{}")
    assert main(["verify", str(case)]) == 1
    assert "ec2/us-east-1/describe-instances.json" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # --trail and --lookup: one or the other
        main(["collect", str(tmp_path / "other"), "--trail", "s3://b", "--lookup"])
    (tmp_path / "not-a-case").mkdir()
    (tmp_path / "not-a-case" / "mine.txt").write_text("x")
    assert main(["collect", str(tmp_path / "not-a-case"), "--region", "us-east-1"]) == 2  # one sentence, no traceback
    assert "no manifest.json" in capsys.readouterr().err


def test_an_interrupted_run_is_recorded_and_the_next_one_resumes(instance, tmp_path):
    inst, now = instance
    case = tmp_path / "case"
    window = {"start": (now - dt.timedelta(hours=1)).isoformat(), "end": now.isoformat(), "regions": ["us-east-1"],
              "instances": [inst], "progress": False}

    def interrupted(service, region):
        if service == "cloudwatch":
            raise KeyboardInterrupt
        return boto3.client(service, region_name=region or "us-east-1")

    with pytest.raises(KeyboardInterrupt):
        collect(case, clients=interrupted, **window)
    first = read_manifest(case)["runs"][0]
    assert first["interrupted"] is True and first["finished"] is None
    assert any(f["path"] == "ec2/us-east-1/describe-instances.json" for f in first["files"])
    assert not [p for p in verify(str(case)).problems if p.kind.startswith("case-")]  # what it wrote is listed
    again = collect(case, **window)
    assert again.run == 2 and (case / "cloudwatch" / "us-east-1" / "get-metric-data.json").is_file()
    assert not [p for p in verify(str(case)).problems if p.kind.startswith("case-")]
