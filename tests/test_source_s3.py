"""``s3://`` against moto in server mode over real HTTP: a trail bucket with objects where CloudTrail puts them
(account and Organization trails, digests, other logs), only the window's prefixes listed, the download cache
keyed by ETag, the same frame as reading the same files from disk, and the errors a user hits in one sentence."""
import os
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import record, s3_path, write_gz

from trailtools import Query, load_events
from trailtools.aws.errors import AwsDataUnavailable
from trailtools.errors import SourceError
from trailtools.sources import s3 as s3src

ACCT, ACCT2, ORG = "111122223333", "444455556666", "o-abcdefghij"


def _trail(root: Path) -> Path:
    """A small trail: two accounts (one in an Organization trail), two regions, four days, digests, VPC logs."""
    n = 0
    for account, org in ((ACCT, None), (ACCT2, ORG)):
        for region in ("us-east-1", "eu-west-1"):
            for day in ("01", "02", "03", "04"):
                n += 1
                eid = f"aaaaaaaa-0000-4000-8000-{n:012d}"
                rec = record(eid, f"2026-10-{day}T10:00:00Z", "RebootInstances" if day == "02" else "DescribeInstances",
                             awsRegion=region, recipientAccountId=account,
                             requestParameters={"instancesSet": {"items": [{"instanceId": "i-0123456789abcdef0"}]}})
                write_gz(s3_path(root, account, region, f"202610{day}T1005Z", org=org, uid=f"u{n:04d}"),
                         {"Records": [rec]})
                write_gz(s3_path(root, account, region, f"202610{day}T1100Z", org=org, kind="CloudTrail-Digest",
                                 uid=f"d{n:04d}"), {"digestStartTime": "x", "logFiles": []})
    other = root / "AWSLogs" / ACCT / "vpcflowlogs" / "us-east-1" / "2026" / "10" / "02" / "flow.log.gz"
    write_gz(other, {"version": 2})
    return root


def _upload(root: Path, bucket: str, prefix: str = "") -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    for path in sorted(root.rglob("*")):
        if path.is_file():
            s3.upload_file(str(path), bucket, prefix + path.relative_to(root).as_posix())


@pytest.fixture
def bucket(aws_env, tmp_path):
    root = _trail(tmp_path / "trail")
    name = f"trail-{os.urandom(4).hex()}"
    _upload(root, name)
    return name, root


def _same(a, b):
    cols = ["eventID", "eventTime", "eventName", "awsRegion", "recipientAccountId", "userIdentity.arn"]
    assert a[cols].reset_index(drop=True).equals(b[cols].reset_index(drop=True))


def test_window_reads_only_its_prefixes_and_matches_local_files(bucket):
    name, root = bucket
    q = Query(start="2026-10-02", end="2026-10-02")
    res = load_events(f"s3://{name}", q)
    local = load_events(str(root), q)
    assert len(res.frame) == 4 and set(res.frame["eventName"]) == {"RebootInstances"}
    _same(res.frame, local.frame)
    # discovery: the top, AWSLogs/, the org, 2 accounts, 2 CloudTrail/ (7 Delimiter listings); then the days
    assert s3src.last_requests["GetObject"] == 4
    days = s3src.window_days(q)
    assert [d.isoformat() for d in days] == ["2026-10-01", "2026-10-02", "2026-10-03"]
    listed_days = s3src.last_requests["ListObjectsV2"] - 7
    assert listed_days == 2 * 2 * len(days)
    assert res.stats.digest_files == 0  # digests are never even listed
    assert res.stats.files_pruned == 8  # the 10-01 and 10-03 files of the margin days, pruned by their names
    assert any("ListObjectsV2" in n for n in res.stats.notes)
    # the raw record of a row comes from the downloaded copy
    assert res.raw(0)["eventID"] == res.frame["eventID"].iloc[0]


def test_second_run_is_served_from_the_download_cache(bucket):
    name, _ = bucket
    q = Query(start="2026-10-01", end="2026-10-04", regions=["eu-west-1"])
    first = load_events(f"s3://{name}", q)
    assert s3src.last_requests["GetObject"] == 8
    second = load_events(f"s3://{name}", q)
    assert s3src.last_requests["GetObject"] == 0
    _same(first.frame, second.frame)
    # a rewritten object has a new ETag and is downloaded again
    key = next(k["Key"] for k in boto3.client("s3").list_objects_v2(
        Bucket=name, Prefix=f"AWSLogs/{ACCT}/CloudTrail/eu-west-1/2026/10/03/")["Contents"])
    import gzip
    import json
    boto3.client("s3").put_object(Bucket=name, Key=key, Body=gzip.compress(json.dumps({"Records": [record(
        "bbbbbbbb-0000-4000-8000-000000000001", "2026-10-03T11:00:00Z", "StopInstances", awsRegion="eu-west-1",
        recipientAccountId=ACCT)]}).encode()))
    third = load_events(f"s3://{name}", q)
    assert s3src.last_requests["GetObject"] == 1
    assert "StopInstances" in set(third.frame["eventName"])


def test_account_filter_and_org_trail_prefix(bucket):
    name, root = bucket
    q = Query(start="2026-10-01", end="2026-10-04", accounts=[ACCT2])
    res = load_events(f"s3://{name}/AWSLogs/{ORG}/", q)
    assert set(res.frame["recipientAccountId"]) == {ACCT2} and len(res.frame) == 8
    res2 = load_events(f"s3://{name}", q)
    _same(res.frame, res2.frame)


def test_no_window_lists_each_region_whole_but_not_digests(bucket):
    name, root = bucket
    res = load_events(f"s3://{name}/AWSLogs/{ACCT}/CloudTrail/us-east-1", Query())
    assert len(res.frame) == 4
    assert s3src.last_requests["ListObjectsV2"] == 1


def test_a_key_prefix_and_a_flat_folder(aws_env, tmp_path):
    root = _trail(tmp_path / "trail")
    name = f"trail-{os.urandom(4).hex()}"
    _upload(root, name, prefix="org-trail/")
    with pytest.raises(SourceError, match=r"no AWSLogs/ folder at its top .*org-trail/"):
        load_events(f"s3://{name}", Query())
    res = load_events(f"s3://{name}/org-trail", Query(start="2026-10-04", end="2026-10-04"))
    assert len(res.frame) == 4


def test_missing_bucket_and_denied_download_are_one_sentence(aws_env, bucket, monkeypatch):
    with pytest.raises(AwsDataUnavailable, match="There is no S3 bucket by that name"):
        load_events("s3://no-such-bucket-trailtools", Query())
    name, _ = bucket

    def denied(self, **kw):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetObject")

    monkeypatch.setattr(s3src, "_get_object", lambda s3, bucket, key: denied(None))
    with pytest.raises(AwsDataUnavailable) as err:
        load_events(f"s3://{name}", Query(start="2026-10-02", end="2026-10-02", regions=["us-east-1"]))
    assert "`s3:GetObject`" in str(err.value) and "\n" not in str(err.value)


def test_unreachable_endpoint_is_one_sentence(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(AwsDataUnavailable, match="could not be reached"):
        load_events("s3://anything", Query())


def test_no_credentials_is_one_sentence(monkeypatch, tmp_path, moto_server):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    for v in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(AwsDataUnavailable, match="No usable AWS credentials"):
        load_events("s3://anything", Query())


def test_bad_uri():
    with pytest.raises(SourceError, match="names no bucket"):
        load_events("s3://", Query())


def test_every_call_is_in_the_iam_policy(bucket, api_calls):
    name, _ = bucket
    api_calls.clear()
    load_events(f"s3://{name}", Query(start="2026-10-02", end="2026-10-02"))
    assert api_calls == set(s3src.IAM_ACTIONS)


def test_a_prefix_that_cannot_be_listed_is_listed_as_skipped_and_the_rest_read(bucket, monkeypatch):
    name, _ = bucket
    real = s3src._list

    def deny_eu(s3, bucket, prefix, counter, *, delimiter, bounds=None):
        if "/eu-west-1/" in prefix and not delimiter:
            raise s3src.explain(ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}},
                                            "ListObjectsV2"), "s3", "ListObjectsV2")
        return real(s3, bucket, prefix, counter, delimiter=delimiter, bounds=bounds)

    monkeypatch.setattr(s3src, "_list", deny_eu)
    res = load_events(f"s3://{name}", Query(start="2026-10-02", end="2026-10-02", accounts=[ACCT]))
    assert set(res.frame["awsRegion"]) == {"us-east-1"} and len(res.frame) == 1
    assert res.stats.files_skipped == 3 and all("`s3:ListBucket`" in s.reason for s in res.stats.skipped)
    with pytest.raises(AwsDataUnavailable, match="`s3:ListBucket`"):
        load_events(f"s3://{name}", Query(start="2026-10-02", end="2026-10-02", regions=["eu-west-1"]))


def test_a_cache_folder_that_cannot_be_written_is_one_sentence(bucket, tmp_path, monkeypatch):
    name, _ = bucket
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("TRAILTOOLS_CACHE_DIR", str(blocker))
    with pytest.raises(SourceError, match="Cannot keep the downloaded object under .*TRAILTOOLS_CACHE_DIR"):
        load_events(f"s3://{name}", Query(start="2026-10-02", end="2026-10-02", regions=["us-east-1"]))


def test_reports_name_the_object_not_the_cache_copy(tmp_path):
    """A file of the download cache is named in provenance as the s3:// object (and ETag) it holds."""
    from trailtools.report.provenance import relative_path

    key = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/x_CloudTrail_us-east-1_20261120T1010Z_a.json.gz"
    copy = s3src.keep_object("trail-bucket", s3src.S3Object(key, "0123abcd", 10), b"{}")
    assert copy == s3src.local_path("trail-bucket", s3src.S3Object(key, "0123abcd", 10))
    assert s3src.object_uri(copy) == f"s3://trail-bucket/{key} (ETag 0123abcd)"
    assert relative_path(copy, None) == f"s3://trail-bucket/{key} (ETag 0123abcd)"
    assert s3src.object_uri(tmp_path / "elsewhere.json.gz") is None
    assert relative_path(tmp_path / "elsewhere.json.gz", None) == str(tmp_path / "elsewhere.json.gz")


def test_archives_and_parquet_in_the_trail_folders_are_read_from_a_bucket(aws_env, tmp_path):
    """A zip of log files and an OCSF Parquet file where CloudTrail's layout keeps a day's logs: fetched because
    their keys say they may hold events, then read in place as a local copy is (issue 22); a VPC flow log archive in
    the layout's other folders is not fetched."""
    import io
    import json
    import zipfile

    from test_security_lake import cloudtrail, to_ocsf, write_parquet

    day = f"AWSLogs/{ACCT}/CloudTrail/us-east-1/2026/10/03/"
    recs = [record(f"bbbbbbbb-0000-4000-8000-00000000000{i}", f"2026-10-03T1{i}:00:00Z") for i in (1, 2, 3)]
    blob = io.BytesIO()
    with zipfile.ZipFile(blob, "w") as z:
        for i, rec in enumerate(recs):
            z.writestr(f"{ACCT}_CloudTrail_us-east-1_20261003T1{i + 1}05Z_z{i}.json", json.dumps({"Records": [rec]}))
    lake = tmp_path / "lake.gz.parquet"
    ocsf = [to_ocsf(dict(r, eventTime=r["eventTime"].replace("2026-11-03", "2026-10-03"))) for r in cloudtrail()]
    write_parquet(lake, ocsf)
    name = f"trail-{os.urandom(4).hex()}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key=day + "restored-from-backup.zip", Body=blob.getvalue())
    s3.put_object(Bucket=name, Key=day + "security-lake-part-0.gz.parquet", Body=lake.read_bytes())
    s3.put_object(Bucket=name, Key=f"AWSLogs/{ACCT}/vpcflowlogs/us-east-1/2026/10/03/flow.log.gz",
                  Body=b"\x1f\x8b not fetched")
    res = load_events(f"s3://{name}", Query(start="2026-10-03", end="2026-10-03"), cache=False)
    assert sorted(res.frame["eventID"]) == sorted([r["eventID"] for r in recs] + [r["eventID"] for r in cloudtrail()])
    assert s3src.last_requests["GetObject"] == 2


def test_an_object_larger_than_a_file_may_be_is_not_downloaded(aws_env, bucket, monkeypatch):
    name, root = bucket
    s3 = boto3.client("s3")
    key = f"AWSLogs/{ACCT}/CloudTrail/us-east-1/2026/10/03/{ACCT}_CloudTrail_us-east-1_20261003T2300Z_big.json.gz"
    s3.put_object(Bucket=name, Key=key, Body=os.urandom(300_000))
    monkeypatch.setenv("TRAILTOOLS_MAX_FILE_BYTES", "200k")
    res = load_events(f"s3://{name}", Query(start="2026-10-03", end="2026-10-03", accounts=[ACCT]), cache=False)
    assert len(res.frame) == 2  # the two regions' events of the day, as without the large object
    big = [s for s in res.stats.skipped if s.path.endswith("_big.json.gz")]
    assert big and big[0].reason.startswith("not downloaded: 300,000 bytes, more than a file may hold")
    assert s3src.last_requests["GetObject"] == 2
