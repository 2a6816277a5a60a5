"""The reboot investigation asks AWS itself (EC2, CloudWatch, Health) when a profile is given: tested over real
HTTP against moto in server mode on 127.0.0.1, never real AWS. moto has no AWS Health: that source must come out
as unavailable with a sentence, and the investigation go on."""
import datetime as dt

import boto3
import pytest
from conftest import record, s3_path, write_gz

from trailtools.investigations.reboot.gather import investigate


@pytest.fixture
def profile_env(aws_env, tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.write_text("[profile forensics]\nregion = eu-west-1\n")
    creds = tmp_path / "credentials"
    creds.write_text("[forensics]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    return "forensics"


def test_live_sources_with_a_profile(profile_env, tmp_path):
    session = boto3.Session(profile_name=profile_env)
    ec2 = session.client("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    inst = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    cw = session.client("cloudwatch")
    for minutes, value in ((30, 0), (20, 1), (19, 1), (10, 0)):
        cw.put_metric_data(Namespace="AWS/EC2", MetricData=[{
            "MetricName": "StatusCheckFailed_System", "Dimensions": [{"Name": "InstanceId", "Value": inst}],
            "Timestamp": now - dt.timedelta(minutes=minutes), "Value": value}])
    when = (now - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    rec = record("eeeeeeee-0000-4000-8000-000000000001", when, "RebootInstances",
                 requestParameters={"instancesSet": {"items": [{"instanceId": inst}]}}, awsRegion="eu-west-1")
    write_gz(s3_path(tmp_path / "trail", "111122223333", "eu-west-1", now.strftime("%Y%m%dT%H%MZ")),
             {"Records": [rec]})
    inv = investigate(inst, source=str(tmp_path / "trail"), profile=profile_env, region="eu-west-1")
    status = {s.name: (s.status, s.detail) for s in inv.evidence.sources}
    assert status["EC2 scheduled events"][0] == "empty" and "profile forensics" in status["EC2 scheduled events"][1]
    assert status["Status checks (CloudWatch)"][0] == "consulted"
    assert status["AWS Health"][0] == "unavailable" and status["AWS Health"][1].endswith(".")
    assert inv.verdict.cause == "api-call" and inv.verdict.actor == "alice"


def test_without_a_profile_aws_is_not_asked(tmp_path):
    rec = record("eeeeeeee-0000-4000-8000-000000000002", "2026-11-20T10:00:00Z", "RebootInstances",
                 requestParameters={"instancesSet": {"items": [{"instanceId": "i-0123456789abcdef0"}]}})
    write_gz(s3_path(tmp_path / "trail", "111122223333", "us-east-1", "20261120T1005Z"), {"Records": [rec]})
    inv = investigate("i-0123456789abcdef0", source=str(tmp_path / "trail"), start="2026-11-20", end="2026-11-21")
    status = {s.name: (s.status, s.detail) for s in inv.evidence.sources}
    assert status["AWS Health"][0] == "unavailable" and "give profile=" in status["AWS Health"][1]
    assert inv.verdict.cause == "api-call"
