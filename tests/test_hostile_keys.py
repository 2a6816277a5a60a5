"""Issue 17 item 1: S3 keys are never paths. Against moto in server mode: objects whose keys climb out with ``..``,
are absolute, or hold NUL or control characters are skipped with their reason, nothing is written outside the
download cache (or outside the ``--save-signatures`` folder), and every other object still loads."""
from __future__ import annotations

import gzip
import json
import os
import re
from pathlib import Path

import boto3
import pytest
from conftest import record
from hostile_h17_s3 import files_outside, hostile_keys
from test_verify import ACCOUNT as V_ACCOUNT
from test_verify import BUCKET as V_BUCKET
from test_verify import (  # noqa: F401 (fixtures)
    HOURS,
    TRAIL,
    _stubbed_cloudtrail,
    _upload,
    key,
    pristine,
)
from test_verify import REGION as V_REGION

from trailtools import Query, load_events
from trailtools.integrity import verify as vf
from trailtools.report.provenance import relative_path
from trailtools.sources import s3 as s3src

ACCT = "111122223333"
DAY = f"AWSLogs/{ACCT}/CloudTrail/us-east-1/2026/10/02/"
NAME = f"{ACCT}_CloudTrail_us-east-1_20261002T1005Z_AbCdEf0123456789.json.gz"
GOOD = f"{DAY}{ACCT}_CloudTrail_us-east-1_20261002T1005Z_good0001.json.gz"
BROKEN = f"{DAY}{ACCT}_CloudTrail_us-east-1_20261002T1010Z_broken01.json.gz"
CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A private HOME holding the cache: whatever lands beside it, or above it in tmp_path, escaped."""
    home = tmp_path / "home"
    cache = home / ".cache" / "trailtools"
    cache.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TRAILTOOLS_CACHE_DIR", str(cache))
    return cache


def _events(eid: str, name: str) -> bytes:
    return gzip.compress(json.dumps({"Records": [record(eid, "2026-10-02T10:00:00Z", name)]}).encode())


def _bucket(labels: list[str], absolute_dir: Path) -> tuple[str, dict[str, str]]:
    s3 = boto3.client("s3")
    bucket = f"hostile-trail-{os.urandom(4).hex()}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=GOOD, Body=_events("aaaaaaaa-0000-4000-8000-000000000001", "RebootInstances"))
    s3.put_object(Bucket=bucket, Key=BROKEN, Body=b"\x1f\x8b not gzip at all")
    # cache/s3/<bucket>/ + 7 folders: 12 '..' reach tmp_path, above HOME
    keys = {k: v for k, v in hostile_keys(DAY, NAME, up=12, absolute_dir=absolute_dir).items() if k in labels}
    for n, k in enumerate(keys.values(), 2):
        s3.put_object(Bucket=bucket, Key=k, Body=_events(f"bbbbbbbb-0000-4000-8000-{n:012d}", "TerminateInstances"))
    return bucket, keys


def _check_load(res, bucket: str, keys: dict[str, str]) -> None:
    # the good object loaded, none of the planted ones
    assert list(res.frame["eventID"]) == ["aaaaaaaa-0000-4000-8000-000000000001"]
    assert set(res.frame["eventName"]) == {"RebootInstances"}
    listed = {k: v for k, v in keys.items() if v.startswith(DAY)}  # the absolute key is outside every prefix
    unsafe = [s for s in res.stats.skipped if s.reason.startswith("not downloaded")]
    assert len(unsafe) == len(listed)
    for s in unsafe:  # shown as data: no raw control character reaches a terminal or a report
        assert s.path.startswith(f"s3://{bucket}/{DAY}") and not CONTROLS.search(s.path)
        assert "CloudTrail never writes such a key" in s.reason
    reasons = " | ".join(s.reason for s in unsafe)
    if "dotdot" in listed:
        assert "'..' segment" in reasons
    if "nul" in listed:
        assert "NUL" in reasons
    if {"osc52", "c1-csi", "del", "cr-rewrite"} & set(listed):
        assert "control characters" in reasons
    # a file that fails to parse is named by its object, not by its copy in the cache
    broken = [s for s in res.stats.skipped if not s.reason.startswith("not downloaded")]
    assert [s.path for s in broken] == [f"s3://{bucket}/{BROKEN}"]


def test_keys_climbing_out_or_absolute_write_nothing_outside_the_cache(aws_env, home, tmp_path):
    bucket, keys = _bucket(["dotdot", "dotdot-backslash", "absolute"], tmp_path / "abs-target")
    res = load_events(f"s3://{bucket}", Query(start="2026-10-02", end="2026-10-02"))
    assert files_outside(tmp_path, [home]) == []
    _check_load(res, bucket, keys)
    # the copies are named by a hash: no key text in the cache's file names
    copies = sorted(p for p in (home / "s3").rglob("*") if p.is_file())
    assert copies and all(re.fullmatch(r"[0-9a-f]{64}(\.json\.gz|\.object\.json)", p.name) for p in copies)
    # reports still name the object, and a rerun downloads nothing again
    assert relative_path(res.frame["_file"].iloc[0], None).startswith(f"s3://{bucket}/{GOOD} (ETag ")
    again = load_events(f"s3://{bucket}", Query(start="2026-10-02", end="2026-10-02"))
    assert s3src.last_requests["GetObject"] == 0
    _check_load(again, bucket, keys)
    assert files_outside(tmp_path, [home]) == []


def test_nul_and_control_characters_in_keys_cost_no_other_object(aws_env, home, tmp_path):
    bucket, keys = _bucket(["nul", "osc52", "cr-rewrite", "c1-csi", "del"], tmp_path / "abs-target")
    res = load_events(f"s3://{bucket}", Query(start="2026-10-02", end="2026-10-02"))
    _check_load(res, bucket, keys)
    assert files_outside(tmp_path, [home]) == []
    copies = [p for p in (home / "s3").rglob("*") if p.is_file()]
    assert not any(CONTROLS.search(p.name) for p in copies)


# ---- verify s3://... --save-signatures DIR ----------------------------------------------------------------------

DIGEST_DAY = f"AWSLogs/{V_ACCOUNT}/CloudTrail-Digest/{V_REGION}/2026/11/03/"
DIGEST_NAME = f"{V_ACCOUNT}_CloudTrail-Digest_{V_REGION}_{TRAIL}_{V_REGION}_20261103T013131Z.json.gz"


@pytest.fixture
def planted(aws_env):
    """The hostile keys a test puts in the shared trail bucket, removed afterwards (the moto server outlives it)."""
    keys: dict[str, str] = {}
    yield keys
    s3 = boto3.client("s3", region_name="us-east-1")
    for k in keys.values():
        s3.delete_object(Bucket=V_BUCKET, Key=k)


def _plant_digests(s3, root: Path, labels: list[str], absolute_dir: Path, planted: dict) -> dict[str, str]:
    """Digest-named objects with hostile keys, each with a signature in its metadata, as a real one has."""
    body = next(p for p in sorted(root.rglob("*.json.gz")) if "CloudTrail-Digest" in p.as_posix()).read_bytes()
    # synced/ + 7 folders: 8 '..' reach tmp_path, beside the folder given
    keys = {k: v for k, v in hostile_keys(DIGEST_DAY, DIGEST_NAME, up=8, absolute_dir=absolute_dir).items()
            if k in labels}
    planted.update(keys)
    for k in keys.values():
        s3.put_object(Bucket=V_BUCKET, Key=k, Body=body,
                      Metadata={"signature": "ab" * 256, "signature-algorithm": "SHA256withRSA"})
    return keys


def _check_verify(res, keys: dict[str, str], synced: Path, tmp_path: Path) -> None:
    assert files_outside(tmp_path, [synced]) == []
    saved = sorted(p.relative_to(synced).as_posix() for p in synced.rglob("*.metadata.json"))
    assert len(saved) == HOURS and all(p.startswith(DIGEST_DAY) and ".." not in p for p in saved)
    assert any(f"Saved {HOURS} digest signatures" in n for n in res.notes)
    unsafe = [p for p in res.problems if p.kind == "unsafe-key"]
    assert len(unsafe) == len(keys) and res.status == "FAILED"
    assert all(not CONTROLS.search(p.path) and "CloudTrail never writes such a key" in p.detail for p in unsafe)
    assert not any(CONTROLS.search(line) for line in res.summary().splitlines())
    assert res.digests_verified == HOURS  # the real digests still verify


def test_verify_save_signatures_never_writes_outside_the_folder(aws_env, pristine, key, tmp_path, planted):
    root, built = pristine
    s3 = boto3.client("s3", region_name="us-east-1")
    _upload(s3, root, built)
    keys = _plant_digests(s3, root, ["dotdot", "absolute"], tmp_path / "abs-target", planted)
    synced = tmp_path / "synced"
    ct, _ = _stubbed_cloudtrail(key)
    res = vf.verify(f"s3://{V_BUCKET}", s3_client=s3, cloudtrail_client=ct, save_signatures=str(synced))
    _check_verify(res, keys, synced, tmp_path)


def test_verify_save_signatures_with_nul_and_control_keys(aws_env, pristine, key, tmp_path, planted):
    root, built = pristine
    s3 = boto3.client("s3", region_name="us-east-1")
    _upload(s3, root, built)
    keys = _plant_digests(s3, root, ["nul", "osc52", "cr-rewrite"], tmp_path / "abs-target", planted)
    synced = tmp_path / "synced"
    ct, _ = _stubbed_cloudtrail(key)
    res = vf.verify(f"s3://{V_BUCKET}", s3_client=s3, cloudtrail_client=ct, save_signatures=str(synced))
    _check_verify(res, keys, synced, tmp_path)


def test_save_signatures_does_not_follow_a_symbolic_link_out(aws_env, pristine, key, tmp_path):
    """A folder inside DIR that is a symbolic link elsewhere (left by an earlier copy) is not written through."""
    root, built = pristine
    s3 = boto3.client("s3", region_name="us-east-1")
    _upload(s3, root, built)
    synced, elsewhere = tmp_path / "synced", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (synced / DIGEST_DAY).parent.mkdir(parents=True)
    (synced / DIGEST_DAY.rstrip("/")).symlink_to(elsewhere, target_is_directory=True)
    ct, _ = _stubbed_cloudtrail(key)
    res = vf.verify(f"s3://{V_BUCKET}", s3_client=s3, cloudtrail_client=ct, save_signatures=str(synced))
    assert not any(elsewhere.iterdir())
    assert any("Not saved" in n and "symbolic link" in n for n in res.notes)


# ---- other names from an answer ----------------------------------------------------------------------------------

def test_an_athena_query_id_is_never_a_path(home, tmp_path):
    """The query ID comes from the endpoint's answer (a proxy, a hostile endpoint): its results file stays in the
    cache whatever it says."""
    from botocore.stub import ANY, Stubber
    from test_athena_sql import athena_row
    from test_source_athena import recs, result_set, stubbed

    from trailtools.events.result import LoadOptions
    from trailtools.sources import athena

    qid = "../../../../evil"  # cache/athena/ + 4 '..' = tmp_path, above HOME
    client = stubbed()
    rows, info = result_set([athena_row(r) for r in recs()])
    with Stubber(client) as stub:
        stub.add_response("start_query_execution", {"QueryExecutionId": qid}, {
            "QueryString": ANY, "WorkGroup": "primary", "QueryExecutionContext": {"Database": "db"}})
        stub.add_response("get_query_execution", {"QueryExecution": {"QueryExecutionId": qid,
                                                                     "Status": {"State": "SUCCEEDED"}}})
        stub.add_response("get_query_results", {"ResultSet": {"Rows": rows, "ResultSetMetadata": {"ColumnInfo": info}}})
        res = athena.load_athena("athena://db.t", Query(), LoadOptions(progress=False), client=client,
                                 sleep=lambda s: None)
    assert len(res.frame) == 3
    assert files_outside(tmp_path, [home]) == []


def test_which_keys_are_unsafe_and_how_they_are_shown():
    from trailtools.events.layout import shown_name, unsafe_key

    day = DAY
    for k in hostile_keys(day, NAME, up=3).values():
        assert unsafe_key(k), repr(k)
    for k in (f"{day}{NAME}", f"{day}a..b/{NAME}", f"{day}./{NAME}", f"{day}caf\u00e9/{NAME}", f"{day}/{NAME}"):
        assert unsafe_key(k) is None, k  # odd but harmless once keys are never paths
    assert unsafe_key("C:\\Windows\\x.json.gz") and unsafe_key("\\\\host\\share\\x.json.gz")
    assert shown_name("a\x1b]52;c;x\x07b\u202ec\ud800") == "a\\x1b]52;c;x\\x07b\\u202ec\\ud800"
    assert len(shown_name("x" * 5000)) < 400
