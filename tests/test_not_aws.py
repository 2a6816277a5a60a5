"""Issue 17 item 8: an endpoint that does not answer as AWS (a proxy's HTML error page, with an error status or with
200) is "unavailable: the endpoint did not answer as AWS (a proxy?)" for AWS Health, EC2, CloudWatch, the s3:// and
lookup:// sources, never a ResponseParserError traceback nor "consulted, empty"; the reboot investigation goes on.
A tiny HTTP server on 127.0.0.1 plays the proxy (tests/hostile_h17_s3.py)."""
from __future__ import annotations

import datetime as dt
import gzip
import json
import re

import boto3
import pytest
from conftest import record, s3_path, write_gz
from hostile_h17_s3 import html_endpoint

from trailtools import Query, aws, load_events
from trailtools.aws.errors import AwsDataUnavailable
from trailtools.evidence import cloudwatch, ec2, health

INSTANCE = "i-0123456789abcdef0"
NOT_AWS = "did not answer as AWS (a proxy?)"
NOW = dt.datetime(2026, 11, 5, 12, tzinfo=dt.UTC)


@pytest.fixture
def creds(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")


LIVE = {
    "health": lambda: health.get_health(aws.client("health"), entity_values=[INSTANCE]),
    "ec2": lambda: ec2.get_ec2(aws.client("ec2", region="us-east-1"), INSTANCE),
    "cloudwatch": lambda: cloudwatch.get_status_checks(aws.client("cloudwatch", region="us-east-1"), INSTANCE,
                                                       NOW - dt.timedelta(hours=1), NOW),
}


@pytest.mark.parametrize("status", [200, 502])
@pytest.mark.parametrize("service", sorted(LIVE))
def test_a_proxy_page_is_not_aws(creds, monkeypatch, service, status):
    with html_endpoint(status) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        with pytest.raises(AwsDataUnavailable, match=re.escape(NOT_AWS)) as err:
            LIVE[service]()
        assert url.requests == 1  # refused at once: a proxy's page is not retried 8 times
    msg = str(err.value)
    assert "<" not in msg and "\n" not in msg  # the page itself is not repeated


def test_a_body_no_parser_understands_is_not_aws_either(creds, monkeypatch):
    """Not HTML, not XML: botocore's own ResponseParserError becomes the same sentence."""
    with html_endpoint(503, body=b"Service Unavailable: upstream connect error", content_type="text/plain") as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        with pytest.raises(AwsDataUnavailable, match=r"Amazon EC2 endpoint did not answer as AWS \(a proxy\?\)"):
            ec2.get_ec2(aws.client("ec2", region="us-east-1"), INSTANCE)


def test_a_client_made_elsewhere_gets_the_same_sentence(creds, monkeypatch):
    """A boto3 client the caller made (no HTML check of ours): the ResponseParserError of the proxy's page."""
    with html_endpoint(200) as url:
        client = boto3.client("ec2", region_name="us-east-1", endpoint_url=url,
                              config=__import__("botocore.config").config.Config(retries={"total_max_attempts": 1}))
        with pytest.raises(AwsDataUnavailable, match=r"did not answer as AWS \(a proxy\?\)"):
            ec2.get_ec2(client, INSTANCE)


@pytest.mark.parametrize("status", [200, 403])
def test_live_trail_sources_behind_a_proxy(creds, monkeypatch, status):
    with html_endpoint(status) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        with pytest.raises(AwsDataUnavailable, match=r"Amazon S3 endpoint did not answer as AWS \(a proxy\?\)"):
            load_events("s3://trail-bucket", Query(start="2026-11-05", end="2026-11-05"))
        with pytest.raises(AwsDataUnavailable, match=r"AWS CloudTrail endpoint did not answer as AWS \(a proxy\?\)"):
            load_events("lookup://us-east-1", Query(start="2026-11-05T10:00:00Z", end="2026-11-05T11:00:00Z"))


@pytest.mark.parametrize("status", [200, 502])
def test_reboot_with_a_profile_behind_a_proxy_goes_on(creds, monkeypatch, tmp_path, capsys, status):
    """``trailtools reboot --profile``: the three AWS sources are unavailable with the sentence, the trail's
    RebootInstances still names the actor, and no traceback."""
    from trailtools.cli import main

    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text("[profile forensics]\nregion = us-east-1\n")
    credentials.write_text("[forensics]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    rec = record("eeeeeeee-0000-4000-8000-000000000001", "2026-11-05T10:00:00Z", "RebootInstances",
                 requestParameters={"instancesSet": {"items": [{"instanceId": INSTANCE}]}})
    write_gz(s3_path(tmp_path / "trail", "111122223333", "us-east-1", "20261105T1005Z"), {"Records": [rec]})
    with html_endpoint(status) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        code = main(["reboot", INSTANCE, "--source", str(tmp_path / "trail"), "--profile", "forensics",
                     "--region", "us-east-1", "--start", "2026-11-05T09:00:00Z", "--end", "2026-11-05T11:00:00Z"])
    out = capsys.readouterr()
    assert code == 0 and "Traceback" not in out.err
    for name in ("AWS Health", "EC2 scheduled events", "Status checks (CloudWatch)"):
        line = next(x for x in out.out.splitlines() if x.startswith(f"  source: {name}:"))
        assert "unavailable (The " in line and NOT_AWS in line, line
    assert "alice" in out.out  # the trail's RebootInstances still tells who


def test_an_html_page_in_place_of_an_object_is_not_kept(aws_env, monkeypatch):
    """A proxy that answers GetObject alone with its page (200): the object is not downloaded, and the page is not
    kept in the download cache as the object (a rerun would serve it)."""
    from trailtools.sources import s3 as s3src

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="proxied-trail")
    rec = record("eeeeeeee-0000-4000-8000-000000000002", "2026-11-05T10:00:00Z", "RebootInstances")
    day = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/05/"
    good = f"{day}111122223333_CloudTrail_us-east-1_20261105T1005Z_good0001.json.gz"
    other = f"{day}111122223333_CloudTrail_us-east-1_20261105T1010Z_page0001.json.gz"
    for k in (good, other):
        s3.put_object(Bucket="proxied-trail", Key=k, Body=gzip.compress(json.dumps({"Records": [rec]}).encode()))
    real = s3src._get_object
    monkeypatch.setattr(s3src, "_get_object", lambda c, b, k: real(c, b, k) if k == good else
                        b"<html><head><title>Blocked</title></head><body>Blocked</body></html>")
    res = load_events("s3://proxied-trail", Query(start="2026-11-05", end="2026-11-05"))
    assert len(res.frame) == 1
    [skip] = res.stats.skipped
    assert skip.path == f"s3://proxied-trail/{other}" and NOT_AWS in skip.reason
    monkeypatch.setattr(s3src, "_get_object", real)
    again = load_events("s3://proxied-trail", Query(start="2026-11-05", end="2026-11-05"))
    assert s3src.last_requests["GetObject"] == 1 and again.stats.skipped == []
