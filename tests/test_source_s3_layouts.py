"""``s3://`` on buckets not laid out as CloudTrail's ``AWSLogs/`` (issue 22), against moto in server mode over real
HTTP: a flat folder of TrailDiscover's real ``*.json.cloudtrail`` files, a CloudWatch Logs export, Security Lake's
partitions (a one-day query fetches that day's partitions only), the bounds on keys and bytes, and objects whose keys
say nothing recognized by their content. Every count is checked against one made independently of the reader."""
import gzip
import io
import json
import os
import zipfile

import boto3
import pytest
from conftest import DATASETS, need, record
from test_security_lake import to_ocsf, write_parquet

from trailtools import Query, load_events
from trailtools.errors import SourceError
from trailtools.sources import s3 as s3src
from trailtools.sources import s3_layouts

ACCT, ACCT2 = "111122223333", "444455556666"


def _bucket(prefix: str = "trail") -> str:
    name = f"{prefix}-{os.urandom(4).hex()}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name


def _put(bucket: str, key: str, body: bytes) -> None:
    boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=body)


@pytest.fixture
def fetched(monkeypatch):
    """The keys of every GetObject the source makes, whole ('whole') or its first bytes ('head')."""
    seen = {"whole": [], "head": []}
    real_get, real_range = s3src._get_object, s3src._get_range

    def get(s3, bucket, key):
        seen["whole"].append(key)
        return real_get(s3, bucket, key)

    def get_range(s3, bucket, key, size):
        seen["head"].append(key)
        return real_range(s3, bucket, key, size)

    monkeypatch.setattr(s3src, "_get_object", get)
    monkeypatch.setattr(s3src, "_get_range", get_range)
    return seen


# ---------------------------------------------------------------- a flat folder

def test_traildiscover_examples_in_a_flat_bucket_are_read_as_the_local_folder_is(aws_env, fetched):
    """TrailDiscover's logExamples (real events in files named *.json.cloudtrail, an index.html and a script.js),
    uploaded flat under a prefix: every object is recognized by its content, as the local source recognizes the
    files, and the counts are those of reading each file whole with json."""
    examples = need(DATASETS / "traildiscover" / "logExamples")
    names = sorted(os.listdir(examples))
    bucket = _bucket()
    for n in names:
        _put(bucket, f"examples/{n}", (examples / n).read_bytes())
    # an independent count: every file json-loaded whole
    holding = {n: json.loads((examples / n).read_text()) for n in names if n.endswith(".json.cloudtrail")}
    holding = {n: got if isinstance(got, list) else [got] for n, got in holding.items()}
    with_records = {n: recs for n, recs in holding.items() if recs}
    res = load_events(f"s3://{bucket}/examples", Query(), cache=False)
    s = res.stats
    assert s.files_seen == len(names) and s.files_pruned == 0 and s.files_skipped == 0
    assert s.files_read == len(with_records)
    assert s.other_files == len(names) - len(with_records)  # index.html, script.js and the files holding []
    assert s.records_seen == sum(len(recs) for recs in with_records.values()) and s.records_skipped == 0
    assert s.events + s.duplicates_dropped == s.records_seen
    assert set(res.frame["eventID"]) == {r["eventID"] for recs in with_records.values() for r in recs}
    assert sorted(fetched["whole"]) == [f"examples/{n}" for n in names]  # small: fetched whole, then recognized
    assert any("read as a flat folder" in n for n in s.notes)
    assert any(f"{len(names):,} objects whose keys say nothing" in n and
               f"({len(names) - len(with_records):,} hold no CloudTrail" in n for n in s.notes)
    local = load_events(str(examples), Query(), cache=False)
    cols = ["eventID", "eventTime", "eventName", "eventSource", "userIdentity.arn"]
    assert res.frame[cols].sort_values(cols).reset_index(drop=True).equals(
        local.frame[cols].sort_values(cols).reset_index(drop=True))
    # a second load is served from the download cache
    fetched["whole"].clear()
    again = load_events(f"s3://{bucket}/examples", Query(), cache=False)
    assert fetched["whole"] == [] and len(again.frame) == len(res.frame)


def test_a_window_cannot_prune_a_flat_folder_and_says_so(aws_env):
    bucket = _bucket()
    recs = [record(f"cccccccc-0000-4000-8000-00000000000{d}", f"2026-11-0{d}T10:00:00Z", "StopInstances")
            for d in range(1, 6)]
    for d, rec in enumerate(recs, 1):
        _put(bucket, f"copied/day{d}.json.cloudtrail", json.dumps([rec]).encode())
    res = load_events(f"s3://{bucket}/copied/", Query(start="2026-11-03T00:00Z", end="2026-11-03T23:00Z"),
                      cache=False)
    assert list(res.frame["eventID"]) == [recs[2]["eventID"]]  # exact: the frame is filtered by the window
    assert s3src.last_requests["GetObject"] == 5 and res.stats.files_read == 5
    assert any(n.startswith("5 objects were fetched although they may hold no event of the window: their keys "
                            "carry no date") for n in res.stats.notes)


def test_a_cloudwatch_logs_export_layout(aws_env):
    """``aws logs create-export-task`` to S3: ``<prefix>/<task id>/<stream>/000000.gz``, each line a timestamp and the
    event; the export's own ``aws-logs-write-test`` object and a VPC flow log stream of the same group are other
    files, counted."""
    bucket = _bucket("exports")
    task = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
    lines_by_key, n = {}, 0
    for region in ("us-east-1", "eu-west-1"):
        for part in ("000000", "000001"):
            lines = []
            for _ in range(3):
                n += 1
                rec = record(f"dddddddd-0000-4000-8000-{n:012d}", f"2026-11-03T10:{n:02d}:00Z", "RunInstances",
                             awsRegion=region)
                lines.append(f"2026-11-03T10:{n:02d}:00.123Z {json.dumps(rec, separators=(',', ':'))}")
            key = f"ct/{task}/{ACCT}_CloudTrail_{region}/{part}.gz"
            lines_by_key[key] = lines
            _put(bucket, key, gzip.compress(("\n".join(lines) + "\n").encode()))
    _put(bucket, "ct/aws-logs-write-test", b"Permission Check Successful")
    flow = "2026-11-03T10:00:00.000Z 2 111122223333 eni-0a1b2c3d 10.0.0.5 10.0.0.9 443 49152 6 10 840 ACCEPT OK\n"
    _put(bucket, f"ct/{task}/eni-0a1b2c3d-all/000000.gz", gzip.compress(flow.encode()))
    res = load_events(f"s3://{bucket}/ct", Query(), cache=False)
    s = res.stats
    want = sum(len(v) for v in lines_by_key.values())  # the independent count: the lines written
    assert s.events == want == 12 and s.records_skipped == 0
    assert (s.files_seen, s.files_read, s.other_files) == (6, 4, 2)
    assert set(res.frame["awsRegion"]) == {"us-east-1", "eu-west-1"}


def test_archives_and_an_ecs_export_in_a_flat_folder(aws_env):
    """A zip of a trail folder, a bzip2 of a JSON array and an Elastic/Logstash export (``@timestamp``, no
    eventTime) under one prefix: the same recognition and readers as for local files."""
    bucket = _bucket()
    recs = [record(f"eeeeeeee-0000-4000-8000-00000000000{i}", f"2026-11-03T0{i}:00:00Z") for i in range(1, 6)]
    blob = io.BytesIO()
    with zipfile.ZipFile(blob, "w") as z:
        z.writestr(f"AWSLogs/{ACCT}/CloudTrail/us-east-1/2026/11/03/a.json", json.dumps({"Records": recs[:2]}))
    _put(bucket, "handover/trail-backup.zip", blob.getvalue())
    import bz2
    _put(bucket, "handover/more.bz2", bz2.compress(json.dumps(recs[2:4]).encode()))
    doc = dict(recs[4], **{"@timestamp": recs[4]["eventTime"], "@version": "1"})
    del doc["eventTime"]
    _put(bucket, "handover/logstash-export.ndjson", (json.dumps(doc) + "\n").encode())
    res = load_events(f"s3://{bucket}/handover", Query(), cache=False)
    assert sorted(res.frame["eventID"]) == sorted(r["eventID"] for r in recs)
    assert res.stats.files_seen == 3 and res.stats.other_files == 0 and res.stats.files_skipped == 0


def test_every_format_in_a_flat_bucket_is_read_as_the_same_local_folder_is(aws_env, tmp_path):
    """One folder of every format the local source reads, under names that say little (Lake results and a Splunk
    export without an extension, an ECS export, a tgz, a Zstandard file, OCSF Parquet, filter-log-events output),
    uploaded as it is: the bucket's load and the folder's give the same events and the same counts."""
    import tarfile

    import zstandard
    from test_ecs import to_filebeat
    from test_foreign_formats import RECS, _cw_event, _lake_rows, _logstash

    folder = tmp_path / "evidence"
    (folder / "siem").mkdir(parents=True)
    recs = [record(f"bcbcbcbc-0000-4000-8000-{i:012d}", f"2026-11-03T{10 + i}:00:00Z", "RunInstances")
            for i in range(6)]
    (folder / "lake-results").write_text(json.dumps({
        "QueryStatus": "FINISHED", "QueryResultRows": [_lake_rows(r) for r in RECS] + [[{"eventName": "NoTime"}]]}))
    (folder / "siem" / "export.splunk").write_text("\n".join(json.dumps({"result": {"_raw": json.dumps(r)}})
                                                             for r in recs[:2]))
    (folder / "siem" / "es.ndjson").write_text("\n".join(json.dumps(_logstash(r)) for r in recs[2:4]))
    (folder / "siem" / "filebeat.out").write_text(json.dumps(to_filebeat(recs[4])) + "\n")
    (folder / "cw-filter").write_text(json.dumps({"events": [_cw_event(1, recs[5])], "searchedLogStreams": []}))
    member = tmp_path / "a.json"
    member.write_text(json.dumps({"Records": recs[:3]}))
    with tarfile.open(folder / "backup.tgz", "w:gz") as tar:
        tar.add(member, arcname="AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/03/a.json")
    (folder / "more.zst").write_bytes(zstandard.ZstdCompressor().compress(json.dumps(recs[3:]).encode()))
    write_parquet(folder / "part-0.gz.parquet", [_lake_event(3, "us-east-1", ACCT, 1)])
    (folder / "README.txt").write_text("handed over by the customer on 2026-11-04\n")
    bucket = _bucket()
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    for path in files:
        _put(bucket, f"case/{path.relative_to(folder).as_posix()}", path.read_bytes())
    remote = load_events(f"s3://{bucket}/case", Query(), cache=False)
    local = load_events(str(folder), Query(), cache=False)
    assert sorted(remote.frame["eventID"]) == sorted(local.frame["eventID"])
    names = ("files_seen", "files_read", "other_files", "files_skipped", "records_seen", "records_skipped", "events",
             "duplicates_dropped")
    assert {n: getattr(remote.stats, n) for n in names} == {n: getattr(local.stats, n) for n in names}
    assert remote.stats.files_seen == len(files) == 9 and remote.stats.other_files == 1  # the README
    # an independent count: the records written (tgz 3, zst 3, Splunk 2, Logstash 2, ECS 1, CloudWatch 1, Lake 3 and
    # a row without a time, Parquet 1); copies of one event from different tools are compared, as in a local load
    s = remote.stats
    assert s.records_seen == 3 + 3 + 2 + 2 + 1 + 1 + 4 + 1 and s.records_skipped == 1
    assert s.events + s.duplicates_dropped == s.records_seen - s.records_skipped
    assert set(remote.frame["eventID"]) == {r["eventID"] for r in recs + RECS} | {"99999999-0003-4000-8000-000000000001"}


def test_a_large_object_is_recognized_by_its_first_bytes_before_it_is_downloaded(aws_env, fetched, monkeypatch,
                                                                                 api_calls):
    monkeypatch.setattr(s3src, "WHOLE_FETCH_BYTES", 2000)
    bucket = _bucket()
    recs = [record(f"ffffffff-0000-4000-8000-{i:012d}", "2026-11-03T10:00:00Z") for i in range(40)]
    events = json.dumps(recs).encode()
    assert len(events) > 2000
    _put(bucket, "mixed/export-without-extension", events)
    _put(bucket, "mixed/access.log", b"192.0.2.1 - - [03/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 12\n" * 100)
    api_calls.clear()
    res = load_events(f"s3://{bucket}/mixed", Query(), cache=False)
    assert res.stats.events == 40 and res.stats.other_files == 1 and res.stats.files_seen == 2
    assert sorted(fetched["head"]) == ["mixed/access.log", "mixed/export-without-extension"]
    assert fetched["whole"] == ["mixed/export-without-extension"]  # the web server log: only its first bytes
    assert api_calls == set(s3src.IAM_ACTIONS)  # a ranged GetObject is s3:GetObject too


def test_an_object_too_large_to_download_is_a_skip_only_when_it_may_hold_cloudtrail(aws_env, fetched, monkeypatch):
    monkeypatch.setenv("TRAILTOOLS_MAX_FILE_BYTES", "4k")
    bucket = _bucket()
    big = json.dumps([record(f"acacacac-0000-4000-8000-{i:012d}", "2026-11-03T10:00:00Z") for i in range(20)])
    small = json.dumps([record("acacacac-1111-4000-8000-000000000001", "2026-11-03T11:00:00Z")])
    assert len(big) > 4096 > len(small)
    _put(bucket, "case/big-export", big.encode())
    _put(bucket, "case/small-export", small.encode())
    _put(bucket, "case/access.log", b"192.0.2.1 - - [03/Nov/2026:10:00:00 +0000] \"GET / HTTP/1.1\" 200 12\n" * 100)
    res = load_events(f"s3://{bucket}/case", Query(), cache=False)
    s = res.stats
    assert list(res.frame["eventID"]) == ["acacacac-1111-4000-8000-000000000001"]
    assert (s.files_seen, s.files_read, s.other_files, s.files_skipped) == (3, 1, 1, 1)
    assert s.skipped[0].path == f"s3://{bucket}/case/big-export"
    assert s.skipped[0].reason.startswith(f"not downloaded: {len(big):,} bytes, more than a file may hold (4 KiB")
    assert sorted(fetched["head"]) == ["case/access.log", "case/big-export"] and fetched["whole"] == ["case/small-export"]


# ---------------------------------------------------------------- Security Lake

DAYS = range(1, 11)
REGIONS = ("us-east-1", "eu-west-1")
ACCOUNTS = (ACCT, ACCT2)
SOURCE = "aws/CLOUD_TRAIL_MGMT/2.0"


def _lake_event(day: int, region: str, account: str, n: int) -> dict:
    rec = record(f"99999999-{day:04d}-4000-8000-{n:012d}", f"2026-11-{day:02d}T{8 + n % 12:02d}:30:00Z",
                 "RunInstances" if n % 2 else "DescribeInstances", awsRegion=region, recipientAccountId=account)
    return to_ocsf(rec)


@pytest.fixture
def lake(aws_env, tmp_path):
    """A Security Lake bucket: ten days of CloudTrail management events for two regions and two accounts (two
    events a partition), VPC flow logs beside them, and Apache Iceberg's metadata."""
    bucket = _bucket("aws-security-data-lake-us-east-1-abcdefghij")
    rows = {}
    n = 0
    for day in DAYS:
        for region in REGIONS:
            for account in ACCOUNTS:
                events = []
                for _ in range(2):
                    n += 1
                    events.append(_lake_event(day, region, account, n))
                key = f"{SOURCE}/region={region}/accountId={account}/eventDay=202611{day:02d}/{n:032x}.gz.parquet"
                rows[key] = [e["metadata"]["uid"] for e in events]
                path = tmp_path / f"{n}.parquet"
                write_parquet(path, events)
                _put(bucket, key, path.read_bytes())
    _put(bucket, f"aws/VPC_FLOW/2.0/region=us-east-1/accountId={ACCT}/eventDay=20261103/flow.gz.parquet", b"PAR1")
    _put(bucket, f"{SOURCE}/metadata/00001-0b1c.metadata.json", b'{"format-version": 2}')
    return bucket, rows


def test_a_one_day_query_on_security_lake_fetches_that_days_partitions_only(lake, fetched):
    bucket, rows = lake
    q = Query(start="2026-11-03T00:00Z", end="2026-11-03T20:00Z", regions=["us-east-1"])
    res = load_events(f"s3://{bucket}", q, cache=False)
    want = {k for k in rows if "region=us-east-1/" in k and "eventDay=20261103/" in k}
    assert len(want) == 2  # the day's partition of each account
    assert set(fetched["whole"]) == want and len(fetched["whole"]) == 2 and fetched["head"] == []
    ids = {i for k in want for i in rows[k]}
    assert set(res.frame["eventID"]) == ids and res.stats.events == 4
    assert res.stats.files_seen == 2 and res.stats.other_files == 0
    # the walk: the top, aws/, CLOUD_TRAIL_MGMT/, 2.0/, region=us-east-1/, its two accounts; then the two days
    assert s3src.last_requests["ListObjectsV2"] == 1 + 6 + 2
    note = next(n for n in res.stats.notes if n.startswith("Security Lake partitions"))
    assert "2 listed" in note  # eu-west-1 and the other 18 days of us-east-1 left out (not listed)
    assert any(n == "Security Lake sources that hold no CloudTrail, not listed: VPC_FLOW" for n in res.stats.notes)


def test_a_whole_day_query_takes_the_next_days_partition_for_the_late_margin(lake, fetched):
    """eventDay is the event's day, but a writer may partition by the day it wrote: the window's end plus the late
    margin (3 hours) reaches into the next day, whose partition is read and filtered."""
    bucket, rows = lake
    q = Query(start="2026-11-03", end="2026-11-03", accounts=[ACCT2])
    res = load_events(f"s3://{bucket}/{SOURCE}/", q, cache=False)
    want = {k for k in rows if f"accountId={ACCT2}/" in k and ("eventDay=20261103/" in k or "eventDay=20261104/" in k)}
    assert set(fetched["whole"]) == want and len(want) == 4
    assert set(res.frame["eventID"]) == {i for k in want if "eventDay=20261103/" in k for i in rows[k]}


def test_security_lake_without_a_window_reads_every_cloudtrail_partition(lake):
    bucket, rows = lake
    res = load_events(f"s3://{bucket}", Query(), cache=False)
    assert res.stats.files_seen == len(rows) == 40  # neither the VPC flow logs nor Iceberg's metadata
    assert set(res.frame["eventID"]) == {i for ids in rows.values() for i in ids}
    assert res.stats.events == 80 and res.stats.other_files == 0


def test_a_custom_source_under_ext(aws_env, tmp_path):
    bucket = _bucket("aws-security-data-lake-eu-west-1-abcdefghij")
    keys = {}
    for day in (2, 3):
        path = tmp_path / f"{day}.parquet"
        event = _lake_event(day, "eu-west-1", ACCT, day)
        write_parquet(path, [event])
        key = f"ext/cloudtrail_copy/1.0/region=eu-west-1/accountId={ACCT}/eventDay=202611{day:02d}/part-0.parquet"
        _put(bucket, key, path.read_bytes())
        keys[day] = event["metadata"]["uid"]
    res = load_events(f"s3://{bucket}", Query(start="2026-11-02T00:00Z", end="2026-11-02T12:00Z"), cache=False)
    assert list(res.frame["eventID"]) == [keys[2]] and res.stats.files_seen == 1


def test_a_security_lake_without_cloudtrail_is_one_sentence(aws_env):
    bucket = _bucket("aws-security-data-lake-us-east-1-abcdefghij")
    _put(bucket, f"aws/VPC_FLOW/2.0/region=us-east-1/accountId={ACCT}/eventDay=20261103/flow.gz.parquet", b"PAR1")
    _put(bucket, f"aws/ROUTE53/2.0/region=us-east-1/accountId={ACCT}/eventDay=20261103/dns.gz.parquet", b"PAR1")
    with pytest.raises(SourceError) as err:
        load_events(f"s3://{bucket}", Query(), cache=False)
    assert str(err.value) == (f"No CloudTrail under s3://{bucket}/: Security Lake keeps it under aws/CLOUD_TRAIL_MGMT/"
                              " (and S3_DATA/, LAMBDA_EXECUTION/) or a custom source under ext/, and this prefix "
                              "holds ROUTE53, VPC_FLOW.")


# ---------------------------------------------------------------- hostile keys

def test_hostile_keys_in_a_flat_folder_and_a_lake_write_nothing_outside_the_cache(aws_env, tmp_path, monkeypatch):
    """Keys that climb out, are absolute or hold control characters, in a flat prefix and in a Security Lake
    partition (whose names the walk reads): skipped with their reason, shown escaped, nothing written outside the
    download cache, and the good objects read."""
    import re

    from hostile_h17_s3 import files_outside, hostile_keys

    home = tmp_path / "home" / ".cache" / "trailtools"
    home.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TRAILTOOLS_CACHE_DIR", str(home))
    bucket = _bucket("aws-security-data-lake-us-east-1-abcdefghij")
    good = record("adadadad-0000-4000-8000-000000000001", "2026-11-03T10:00:00Z", "RebootInstances")
    _put(bucket, "case/good.json.cloudtrail", json.dumps([good]).encode())
    planted = json.dumps([record("adadadad-0000-4000-8000-000000000002", "2026-11-03T10:00:00Z",
                                 "TerminateInstances")]).encode()
    keys = hostile_keys("case/", "x.json.cloudtrail", up=12, absolute_dir=tmp_path / "abs-target")
    for k in keys.values():
        _put(bucket, k, planted)
    res = load_events(f"s3://{bucket}/case/", Query(), cache=False)
    assert list(res.frame["eventID"]) == [good["eventID"]]
    listed = [k for k in keys.values() if k.startswith("case/")]
    unsafe = [sk for sk in res.stats.skipped if "CloudTrail never writes such a key" in sk.reason]
    assert len(unsafe) == len(listed) == res.stats.files_skipped
    assert not any(re.search(r"[\x00-\x1f\x7f-\x9f]", sk.path) for sk in unsafe)
    # a partition whose name holds control characters, and a key climbing out of a day's partition
    day = f"{SOURCE}/region=us-east-1/accountId={ACCT}/eventDay=20261103/"
    made = tmp_path / "made"  # the test's own file
    made.mkdir()
    path = made / "ok.parquet"
    write_parquet(path, [_lake_event(3, "us-east-1", ACCT, 1)])
    _put(bucket, day + "ok.gz.parquet", path.read_bytes())
    _put(bucket, f"{SOURCE}/region=us-east-1/accountId={ACCT}/eventDay=20261103\x1b]52;c;cHduZWQ=\x07/x.parquet",
         path.read_bytes())
    _put(bucket, day + "../" * 12 + "evil.parquet", path.read_bytes())
    lake = load_events(f"s3://{bucket}", Query(start="2026-11-03T00:00Z", end="2026-11-03T12:00Z"), cache=False)
    assert lake.stats.events == 1 and lake.stats.files_seen == 3  # case/ beside aws/ is not listed, and said so
    assert any(n.startswith("2 folders beside aws/ and ext/ at the top") and n.endswith(": /, case/")
               for n in lake.stats.notes)  # the absolute key's "/", and case/
    assert [sk.reason.split(";")[0] for sk in lake.stats.skipped] == [
        "not downloaded: its key holds control characters",
        "not downloaded: its key has a '..' segment (it would point outside its folder)"]
    assert files_outside(tmp_path, [home, made]) == []
    copies = [p for p in (home / "s3").rglob("*") if p.is_file()]
    assert copies and all(re.fullmatch(r"[0-9a-f]{64}(\.json|\.object\.json)?", p.name) for p in copies)


# ---------------------------------------------------------------- bounds

def test_too_many_keys_or_bytes_is_one_sentence_before_anything_is_read(aws_env, fetched):
    bucket = _bucket()
    for i in range(30):
        _put(bucket, f"flat/{i:03d}.json", json.dumps([record(f"abababab-0000-4000-8000-{i:012d}",
                                                              "2026-11-03T10:00:00Z")]).encode())
    with pytest.raises(SourceError) as err:
        load_events(f"s3://{bucket}/flat?max_keys=10", Query(), cache=False)
    text = str(err.value)
    assert "holds more than 10 objects (max_keys)" in text and "?max_keys=N" in text and "\n" not in text
    with pytest.raises(SourceError, match=r"The 30 objects to fetch from .* hold up to [\d,]+ bytes, more than the "
                                          r"1,024 \(max_bytes\)") as err:
        load_events(f"s3://{bucket}/flat?max_bytes=1k", Query(), cache=False)
    assert "\n" not in str(err.value) and fetched["whole"] == [] and fetched["head"] == []
    with pytest.raises(SourceError, match=r"max_bytes='lots' in .* is not a size"):
        load_events(f"s3://{bucket}/flat?max_bytes=lots", Query(), cache=False)
    res = load_events(f"s3://{bucket}/flat?max_keys=30&max_bytes=1M", Query(), cache=False)
    assert res.stats.events == 30


def test_the_partition_rules():
    q = Query(start="2026-11-03T05:00Z", end="2026-11-04T22:00Z", regions=["us-east-1"], accounts=[ACCT])
    assert s3_layouts.lake_days(q)[0].isoformat() == "2026-11-03"
    assert s3_layouts.lake_days(q)[1].isoformat() == "2026-11-05"  # 22:00 + 3 h
    wants = s3_layouts.wants_partition
    assert wants("eventDay=20261103", q) and wants("eventday=20261105", q) and not wants("eventDay=20261106", q)
    assert not wants("eventDay=20261102", q) and wants("eventDay=notaday", q)
    assert wants("region=us-east-1", q) and not wants("region=eu-west-1", q)
    assert wants(f"accountId={ACCT}", q) and wants(f"accountid={ACCT}", q) and not wants(f"accountId={ACCT2}", q)
    assert wants("eventHour=07", q) and wants("2.0", q)
    assert s3_layouts.is_lake("", ["aws/", "ext/"]) and s3_layouts.is_lake("aws/CLOUD_TRAIL_MGMT/", ["2.0/"])
    assert s3_layouts.is_lake("copy/", ["copy/region=us-east-1/"]) and not s3_layouts.is_lake("copy/", ["copy/x/"])
    assert s3_layouts.key_has_day("a/eventDay=20261103/x.parquet") and not s3_layouts.key_has_day("a/b/x.parquet")
