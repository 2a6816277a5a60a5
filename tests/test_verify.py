"""Evidence integrity: a small trail signed the way CloudTrail signs (a generated RSA key standing in for AWS's),
then tampered with; every kind of tampering must be reported precisely.

The digests are built from the CloudTrail User Guide's description, independently of trailtools.integrity.verify (the string
to sign is written out again here), and their shape is compared with the Guide's own examples
(../shared/datasets/awsdocs-examples).
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import AWSDOCS, need, record
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from trailtools.integrity import digests as dg
from trailtools.integrity import verify as vf

ACCOUNT, REGION, TRAIL, BUCKET = "111122223333", "us-east-2", "my-trail", "trail-bucket"
START = pd.Timestamp("2026-11-03T00:01:31Z")
HOURS = 4


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pkcs1_der(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)


def fingerprint(key) -> str:
    return hashlib.md5(pkcs1_der(key)).hexdigest()


def t(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def digest_key(end: pd.Timestamp, *, org: str | None = None, account=ACCOUNT, region=REGION) -> str:
    base = f"AWSLogs/{org + '/' if org else ''}{account}/CloudTrail-Digest/{region}/{end:%Y/%m/%d}/"
    return base + f"{account}_CloudTrail-Digest_{region}_{TRAIL}_{region}_{end:%Y%m%dT%H%M%SZ}.json.gz"


def log_key(delivered: pd.Timestamp, uid: str, *, org: str | None = None) -> str:
    base = f"AWSLogs/{org + '/' if org else ''}{ACCOUNT}/CloudTrail/{REGION}/{delivered:%Y/%m/%d}/"
    return base + f"{ACCOUNT}_CloudTrail_{REGION}_{delivered:%Y%m%dT%H%MZ}_{uid}.json.gz"


def sign(key, text: str) -> str:
    """SHA256withRSA over the data signing string, hex: what CloudTrail puts in x-amz-meta-signature."""
    return key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256()).hex()


def build_trail(root: Path, key, *, hours: int = HOURS, org: str | None = None, empty_hours=()) -> dict:
    """Write log files and a signed chain of hourly digests under root/AWSLogs, as CloudTrail delivers them.

    Returns {"digests": [keys, oldest first], "logs": [keys], "signatures": {digest key: hex}}.
    """
    out = {"digests": [], "logs": [], "signatures": {}}
    prev = None  # (key, uncompressed bytes, signature)
    for h in range(hours):
        start, end = START + pd.Timedelta(hours=h), START + pd.Timedelta(hours=h + 1)
        files = []
        if h not in empty_hours:
            for i in range(2):
                delivered = start + pd.Timedelta(minutes=10 + 20 * i)
                ev = (delivered - pd.Timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
                content = json.dumps({"Records": [record(f"ev-{h}-{i}", ev)]}).encode()
                k = log_key(delivered, f"h{h}i{i}abcdEFGH", org=org)
                (root / k).parent.mkdir(parents=True, exist_ok=True)
                (root / k).write_bytes(gzip.compress(content))
                out["logs"].append(k)
                files.append({"s3Bucket": BUCKET, "s3Object": k,
                              "hashValue": hashlib.sha256(content).hexdigest(), "hashAlgorithm": "SHA-256",
                              "newestEventTime": ev, "oldestEventTime": ev})
        dkey = digest_key(end, org=org)
        body = {
            "awsAccountId": ACCOUNT, "digestStartTime": t(start), "digestEndTime": t(end),
            "digestS3Bucket": BUCKET, "digestS3Object": dkey,
            "digestPublicKeyFingerprint": fingerprint(key), "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": files[-1]["newestEventTime"] if files else None,
            "oldestEventTime": files[0]["oldestEventTime"] if files else None,
            "previousDigestS3Bucket": BUCKET if prev else None,
            "previousDigestS3Object": prev[0] if prev else None,
            "previousDigestHashValue": hashlib.sha256(prev[1]).hexdigest() if prev else None,
            "previousDigestHashAlgorithm": "SHA-256" if prev else None,
            "previousDigestSignature": prev[2] if prev else None,
            "logFiles": files,
        }
        raw = json.dumps(body, indent=2).encode()
        to_sign = f"{t(end)}\n{BUCKET}/{dkey}\n{hashlib.sha256(raw).hexdigest()}\n{prev[2] if prev else 'null'}"
        signature = sign(key, to_sign)
        (root / dkey).parent.mkdir(parents=True, exist_ok=True)
        (root / dkey).write_bytes(gzip.compress(raw))
        out["digests"].append(dkey)
        out["signatures"][dkey] = signature
        prev = (dkey, raw, signature)
    # the newest digest's signature lives in its S3 metadata: saved beside it, as head-object prints it
    newest = out["digests"][-1]
    dg.sidecar_path(root / newest).write_text(json.dumps(
        {"ContentType": "application/json", "Metadata": {"signature": out["signatures"][newest],
                                                         "signature-algorithm": "SHA256withRSA"}}))
    return out


def keys_file(path: Path, key) -> Path:
    """The public key as `aws cloudtrail list-public-keys --output json` prints it (Value in base64)."""
    der = pkcs1_der(key)
    path.write_text(json.dumps({"PublicKeyList": [{
        "Value": base64.b64encode(der).decode(), "ValidityStartTime": "2026-10-01T00:00:00+00:00",
        "ValidityEndTime": "2026-12-01T00:00:00+00:00", "Fingerprint": hashlib.md5(der).hexdigest()}]}))
    return path


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, key):
    root = tmp_path_factory.mktemp("trail")
    built = build_trail(root, key)
    return root, built


@pytest.fixture
def trail(pristine, tmp_path, key):
    """A fresh copy of the signed trail to tamper with, and its public keys file."""
    root, built = pristine
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    return copy, built, keys_file(tmp_path / "keys.json", key)


def kinds(res) -> list[tuple[str, str]]:
    return sorted((p.kind, Path(p.path).name) for p in res.problems)


# ---- the builder follows the documentation --------------------------------------------------------------------

def test_built_digests_have_the_documented_shape(pristine):
    sample = json.loads(need(AWSDOCS / "digest-file-structure-03-sample-digest-file-contents.json").read_text())
    empty = json.loads((AWSDOCS / "digest-file-structure-04-empty-digest-files.json").read_text())
    root, built = pristine
    ours = json.loads(gzip.decompress((root / built["digests"][1]).read_bytes()))
    assert set(ours) == set(sample) == set(empty)
    assert set(ours["logFiles"][0]) == set(sample["logFiles"][0])
    first = json.loads(gzip.decompress((root / built["digests"][0]).read_bytes()))
    assert first["previousDigestSignature"] is None  # a starting digest: the previous* fields are null
    # the key layout of the Guide's example: <acct>_CloudTrail-Digest_<region>_<trail>_<home region>_<end>.json.gz
    m = dg.DIGEST_NAME.match(sample["digestS3Object"].rsplit("/", 1)[-1])
    assert m and m.group("trail") == "your-trail-name" and m.group("home") == "us-east-2"
    assert m.group("time") == "20150817T150131Z"
    # the Guide's signature example is hex of a 2048-bit RSA signature, as ours are
    doc_sig = (AWSDOCS / "digest-file-structure-05-signature-of-the-digest-file.txt").read_text().split()[0]
    assert len(doc_sig) == len(built["signatures"][built["digests"][0]]) == 512
    int(doc_sig, 16)


def test_the_guides_sample_digest_parses_and_chains_by_its_previous_key():
    sample_path = need(AWSDOCS / "digest-file-structure-03-sample-digest-file-contents.json")
    key = json.loads(sample_path.read_text())["digestS3Object"]
    d = dg.parse_digest(key, key, gzip.compress(sample_path.read_bytes()))
    assert d.error is None
    assert d.chain == (None, "111122223333", "us-east-2", "your-trail-name", "us-east-2")
    assert d.start == pd.Timestamp("2015-08-17T14:01:31Z") and d.end == pd.Timestamp("2015-08-17T15:01:31Z")
    assert dg.name_time(d.data["previousDigestS3Object"]) == pd.Timestamp("2015-08-17T14:01:31Z")


def test_fingerprint_is_md5_of_the_der_key_as_in_the_guides_sample_response():
    # Two keys of the User Guide's sample ListPublicKeys response, with their published fingerprints.
    resp = {"PublicKeyList": [
        {"Value": "MIIBCgKCAQEAn11L2YZ9h7onug2ILi1MWyHiMRsTQjfWE+pHVRLk1QjfWhirG+lpOa8NrwQ/r7Ah5bNL6HepznOU9XTDSfmmnP9"
                  "7mqyc7z/upfZdS/AHhYcGaz7n6Wc/RRBU6VmiPCrAUojuSk6/GjvA8iOPFsYDuBtviXarvuLPlrT9kAd4Lb+rFfR5peEgBEkh"
                  "lzc5HuWO7S0y+KunqxX6jQBnXGMtxmPBPP0FylgWGNdFtks/4YSKcgqwH0YDcawP9GGGDAeCIqPWIXDLG1jOjRRzWfCmD0iJU"
                  "kz8vTsn4hq/5ZxRFE7UBAUiVcGbdnDdvVfhF9C3dQiDq3k7adQIziLT0cShgQIDAQAB",
         "ValidityStartTime": "1436317441.0", "ValidityEndTime": "1438909441.0",
         "Fingerprint": "8eba5db5bea9b640d1c96a77256fe7f2"},
        {"Value": "MIIBCgKCAQEAn11L2YZ9h7onug2ILi1MWyHiMRsTQjfWE+pHVRLk1QjfWhirG+lpOa8NrwQ/r7Ah5bNL6HepznOU9XTDSfmmnP9"
                  "7mqyc7z/upfZdS/AHhYcGaz7n6Wc/RRBU6VmiPCrAUojuSk6/GjvA8iOPFsYDuBtviXarvuLPlrT9kAd4Lb+rFfR5peEgBEkh"
                  "lzc5HuWO7S0y+KunqxX6jQBnXGMtxmPBPP0FylgWGNdFtks/4YSKcgqwH0YDcawP9GGGDAeCIqPWIXDLG1jOjRRzWfCmD0iJU"
                  "kz8vTsn4hq/5ZxRFE7UBAUiVcGbdnDdvVfhF9C3dQiDq3k7adQIziLT0cShgQIDAQAB",
         "Fingerprint": "31e8b5433410dfb61a9dc45cc65b22ff"},  # a real fingerprint on the wrong key: refused
    ]}
    keys, warnings = dg.public_keys_from_response(resp, "sample")
    assert list(keys) == ["8eba5db5bea9b640d1c96a77256fe7f2"]
    assert keys["8eba5db5bea9b640d1c96a77256fe7f2"].start == pd.Timestamp("2015-07-08T01:04:01Z")
    assert len(warnings) == 1 and "31e8b5433410dfb61a9dc45cc65b22ff" in warnings[0]


# ---- verification ----------------------------------------------------------------------------------------------

def test_a_pristine_trail_verifies(trail):
    root, built, keys = trail
    res = vf.verify(str(root), public_keys=[keys])
    assert res.problems == [], res.summary()
    assert (res.status, res.exit_code) == ("VERIFIED", 0)
    assert (res.digests, res.digests_verified, res.logs, res.logs_verified) == (HOURS, HOURS, 2 * HOURS, 2 * HOURS)
    assert res.chains == [{"org": None, "account": ACCOUNT, "region": REGION, "trail": TRAIL,
                           "home_region": REGION, "digests": HOURS, "first": t(START),
                           "last": t(START + pd.Timedelta(hours=HOURS))}]
    assert res.findings()[0].status == "PASS"


def test_without_keys_signatures_are_unverifiable_not_failed(trail):
    root, _, _ = trail
    res = vf.verify(str(root))
    assert {p.kind for p in res.problems} == {"unverifiable-digest"} and len(res.problems) == HOURS
    assert (res.status, res.exit_code) == ("INCOMPLETE", 3)
    assert res.logs_verified == 2 * HOURS


def test_modified_log_file(trail):
    root, built, keys = trail
    victim = root / built["logs"][3]
    records = json.loads(gzip.decompress(victim.read_bytes()))
    records["Records"][0]["sourceIPAddress"] = "203.0.113.66"
    victim.write_bytes(gzip.compress(json.dumps(records).encode()))
    res = vf.verify(str(root), public_keys=[keys])
    assert kinds(res) == [("modified-log", victim.name)]
    assert "SHA-256 of its content is" in res.problems[0].detail
    assert (res.status, res.exit_code) == ("FAILED", 1)
    assert res.findings()[0].check == "integrity.modified-log" and res.findings()[0].severity == "high"


def test_recompressed_log_file_with_the_same_content_still_verifies(trail):
    root, built, keys = trail  # the hash is of the uncompressed content, as the Guide says
    victim = root / built["logs"][0]
    victim.write_bytes(gzip.compress(gzip.decompress(victim.read_bytes()), compresslevel=1, mtime=12345))
    assert vf.verify(str(root), public_keys=[keys]).problems == []


def test_deleted_log_file(trail):
    root, built, keys = trail
    (root / built["logs"][5]).unlink()
    res = vf.verify(str(root), public_keys=[keys])
    assert kinds(res) == [("missing-log", Path(built["logs"][5]).name)]
    assert res.problems[0].path == built["logs"][5]


def test_extra_log_file(trail):
    root, built, keys = trail
    planted = log_key(START + pd.Timedelta(minutes=95), "PLANTEDxyz123456")
    (root / planted).write_bytes(gzip.compress(json.dumps({"Records": [record("fake", t(START))]}).encode()))
    res = vf.verify(str(root), public_keys=[keys])
    assert kinds(res) == [("extra-log", Path(planted).name)]
    assert res.exit_code == 1


def test_log_file_delivered_after_the_newest_digest_is_uncovered_not_extra(trail):
    root, built, keys = trail
    late = log_key(START + pd.Timedelta(hours=HOURS, minutes=20), "LATEabcdefgh1234")
    (root / late).write_bytes(gzip.compress(b'{"Records": []}'))
    res = vf.verify(str(root), public_keys=[keys])
    assert kinds(res) == [("uncovered-log", Path(late).name)] and "after the newest digest" in res.problems[0].detail
    assert res.exit_code == 3


def test_removed_digest_breaks_the_chain(trail):
    root, built, keys = trail
    removed = built["digests"][1]
    (root / removed).unlink()
    res = vf.verify(str(root), public_keys=[keys])
    # the successor names the missing digest; the log files only it named are now uncovered; and the digest before
    # it lost the copy of its signature that the removed one carried
    assert ("missing-digest", Path(removed).name) in kinds(res)
    missing = next(p for p in res.problems if p.kind == "missing-digest")
    assert missing.path == removed and missing.end == t(START + pd.Timedelta(hours=2))
    extra = sorted(Path(p.path).name for p in res.problems if p.kind == "uncovered-log")
    assert extra == sorted(Path(k).name for k in built["logs"][2:4])
    unsigned = [Path(p.path).name for p in res.problems if p.kind == "unsigned-digest"]
    assert unsigned == [Path(built["digests"][0]).name]
    assert {p.kind for p in res.problems} == {"missing-digest", "uncovered-log", "unsigned-digest"}
    assert res.exit_code == 1


def test_edited_digest_breaks_the_chain(trail):
    root, built, keys = trail
    victim = root / built["digests"][1]
    body = json.loads(gzip.decompress(victim.read_bytes()))
    dropped = body["logFiles"].pop()  # hide a log file from the evidence
    victim.write_bytes(gzip.compress(json.dumps(body, indent=2).encode()))
    res = vf.verify(str(root), public_keys=[keys])
    got = kinds(res)
    assert ("broken-chain", victim.name) in got   # its hash is not the one its successor recorded
    assert ("bad-signature", victim.name) in got  # and the signature carried by the successor fails
    assert ("extra-log", Path(dropped["s3Object"]).name) in got
    assert res.exit_code == 1


def test_forged_chain_signature_is_reported(trail, key):
    root, built, keys = trail
    newest = root / built["digests"][-1]
    body = json.loads(gzip.decompress(newest.read_bytes()))
    body["previousDigestSignature"] = "00" * 256
    newest.write_bytes(gzip.compress(json.dumps(body, indent=2).encode()))
    res = vf.verify(str(root), public_keys=[keys])
    got = kinds(res)
    assert ("bad-signature", Path(built["digests"][-2]).name) in got  # carried signature no longer verifies it
    assert ("bad-signature", newest.name) in got                      # and the edit breaks the newest's own


def test_newest_digest_without_sidecar_is_unsigned(trail):
    root, built, keys = trail
    dg.sidecar_path(root / built["digests"][-1]).unlink()
    res = vf.verify(str(root), public_keys=[keys])
    assert kinds(res) == [("unsigned-digest", Path(built["digests"][-1]).name)]
    assert res.digests_verified == HOURS - 1 and res.exit_code == 3


def test_moved_digest(trail):
    root, built, keys = trail
    src = root / built["digests"][-1]
    dst = root / built["digests"][-1].replace(REGION, "eu-west-1")
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(src, dst)
    shutil.move(dg.sidecar_path(src), dg.sidecar_path(dst))
    res = vf.verify(str(root), public_keys=[keys])
    assert ("moved-digest", dst.name) in kinds(res)


def test_unreadable_digest(trail):
    root, built, keys = trail
    (root / built["digests"][0]).write_bytes(b"not gzip")
    res = vf.verify(str(root), public_keys=[keys])
    got = kinds(res)
    assert ("invalid-digest", Path(built["digests"][0]).name) in got
    assert res.exit_code == 1


def test_chain_restart_after_logging_was_off_is_a_gap(tmp_path, key):
    root = tmp_path / "trail"
    build_trail(root, key, hours=2)
    # a second chain starting three hours later (logging restarted): a starting digest with null previous*
    later = tmp_path / "later"
    global START
    saved = START
    try:
        START = saved + pd.Timedelta(hours=5)
        built2 = build_trail(later, key, hours=2)
    finally:
        START = saved
    shutil.copytree(later / "AWSLogs", root / "AWSLogs", dirs_exist_ok=True)
    res = vf.verify(str(root), public_keys=[keys_file(tmp_path / "k.json", key)])
    gaps = [p for p in res.problems if p.kind == "gap"]
    assert len(gaps) == 1 and (gaps[0].start, gaps[0].end) == (t(saved + pd.Timedelta(hours=2)),
                                                                t(saved + pd.Timedelta(hours=5)))
    assert Path(gaps[0].path).name == Path(built2["digests"][0]).name
    # the first chain's newest digest has a sidecar, so everything is signed
    assert {p.kind for p in res.problems} == {"gap"} and res.exit_code == 3
    assert res.gaps()[0][:2] == (saved + pd.Timedelta(hours=2), saved + pd.Timedelta(hours=5))


def test_window_limits_what_is_checked(trail):
    root, built, keys = trail
    (root / built["logs"][0]).unlink()  # in the first hour, outside the window below
    lo = START + pd.Timedelta(hours=2)
    res = vf.verify(str(root), public_keys=[keys], start=t(lo), end=t(lo + pd.Timedelta(minutes=30)))
    assert res.problems == [] and res.digests == 2  # the hour of the window and the next (late deliveries)


def test_a_window_walks_only_the_day_folders_around_it(tmp_path, key, monkeypatch):
    root = tmp_path / "days"
    built = build_trail(root, key, hours=24 * 5)  # five days of hourly digests
    keys = keys_file(tmp_path / "k.json", key)
    lo = START + pd.Timedelta(days=2, hours=10)
    window = {"start": t(lo), "end": t(lo + pd.Timedelta(hours=2))}
    entered = []
    real_walk = os.walk

    def walk(top, *a, **k):
        for folder, dirs, files in real_walk(top, *a, **k):
            entered.append(Path(folder).relative_to(root).as_posix())
            yield folder, dirs, files

    monkeypatch.setattr(dg.os, "walk", walk)
    res = vf.verify(str(root), public_keys=[keys], **window)
    days = {f.rsplit("/", 3)[-3:][-1] for f in entered if f.count("/") >= 6}
    assert days == {"05"} and res.problems == [] and res.logs_verified == res.logs > 0  # 2026/11/05 only
    monkeypatch.setattr(dg, "_day_in", lambda *a: True)  # everything walked: the same verification
    assert vf.verify(str(root), public_keys=[keys], **window).to_dict() == res.to_dict()

    # a log file that a digest names in a folder the walk did not enter is looked up by its key
    monkeypatch.undo()
    listing = dg.list_trail(dg.LocalTrail(root), lo, lo + pd.Timedelta(hours=2))
    first_day = dg.parse_digest(built["digests"][0], "", (root / built["digests"][0]).read_bytes())
    named = [lf["s3Object"] for lf in first_day.data["logFiles"]]
    assert named and not set(named) & set(listing.logs)
    dg.find_logs(listing, [first_day])
    assert set(named) <= set(listing.logs) and listing.logs[named[0]].location == str(root / named[0])


def test_organization_trail(tmp_path, key):
    root = tmp_path / "org"
    build_trail(root, key, hours=2, org="o-abcdefghij")
    res = vf.verify(str(root), public_keys=[keys_file(tmp_path / "k.json", key)])
    assert res.problems == [] and res.chains[0]["org"] == "o-abcdefghij"


def test_reader_still_counts_digests_and_sidecars_as_non_events(pristine):
    from trailtools import load_events

    root, built = pristine
    res = load_events(str(root))
    assert len(res.frame) == 2 * HOURS
    assert res.stats.digest_files >= HOURS


def test_html_escapes_paths(tmp_path):
    res = vf.Verification("x", (None, None), digests=1,
                          problems=[vf.Problem("extra-log", "<script>alert(1)</script>", "a & b")])
    assert "<script>" not in res.to_html() and "&lt;script&gt;" in res.to_html()


# ---- straight from S3 (moto server) with ListPublicKeys stubbed (moto has no ListPublicKeys) ------------------

def _upload(s3, root: Path, built: dict):
    s3.create_bucket(Bucket=BUCKET)
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith(dg.SIDECAR_SUFFIX)):
        k = path.relative_to(root).as_posix()
        meta = ({"signature": built["signatures"][k], "signature-algorithm": "SHA256withRSA"}
                if k in built["signatures"] else {})
        s3.put_object(Bucket=BUCKET, Key=k, Body=path.read_bytes(), Metadata=meta)


def _stubbed_cloudtrail(key, region=REGION):
    import boto3
    from botocore.stub import ANY, Stubber

    ct = boto3.client("cloudtrail", region_name=region, aws_access_key_id="x", aws_secret_access_key="y")
    stub = Stubber(ct)
    stub.add_response("list_public_keys", {"PublicKeyList": [{
        "Value": pkcs1_der(key), "ValidityStartTime": pd.Timestamp("2026-10-01", tz="UTC").to_pydatetime(),
        "ValidityEndTime": pd.Timestamp("2026-12-01", tz="UTC").to_pydatetime(), "Fingerprint": fingerprint(key)}]},
        {"StartTime": ANY, "EndTime": ANY})
    stub.activate()
    return ct, stub


def test_verify_from_s3_with_object_metadata_and_list_public_keys(aws_env, pristine, key):
    import boto3

    root, built = pristine
    s3 = boto3.client("s3", region_name="us-east-1")
    _upload(s3, root, built)
    ct, stub = _stubbed_cloudtrail(key)
    res = vf.verify(f"s3://{BUCKET}", s3_client=s3, cloudtrail_client=ct)
    stub.assert_no_pending_responses()
    assert res.problems == [], res.summary()
    assert (res.digests_verified, res.logs_verified, res.exit_code) == (HOURS, 2 * HOURS, 0)
    assert res.source == f"s3://{BUCKET}"

    # tamper in the bucket: overwrite a log file, delete another
    s3.put_object(Bucket=BUCKET, Key=built["logs"][1], Body=gzip.compress(b'{"Records": []}'))
    s3.delete_object(Bucket=BUCKET, Key=built["logs"][2])
    ct, _ = _stubbed_cloudtrail(key)
    res = vf.verify(f"s3://{BUCKET}", s3_client=s3, cloudtrail_client=ct)
    assert kinds(res) == sorted([("modified-log", Path(built["logs"][1]).name),
                                 ("missing-log", Path(built["logs"][2]).name)])


def test_a_window_lists_only_its_days_prefixes_in_s3(aws_env, tmp_path, key, monkeypatch):
    import boto3

    root = tmp_path / "days"
    built = build_trail(root, key, hours=24 * 5)
    s3 = boto3.client("s3", region_name="us-east-1")
    _upload(s3, root, built)
    try:
        lo = START + pd.Timedelta(days=2, hours=10)
        window = {"start": t(lo), "end": t(lo + pd.Timedelta(hours=2))}
        keys = keys_file(tmp_path / "k.json", key)
        listed = []
        real = s3.list_objects_v2
        monkeypatch.setattr(s3, "list_objects_v2", lambda **kw: listed.append(kw.get("Prefix", "")) or real(**kw))
        res = vf.verify(f"s3://{BUCKET}", s3_client=s3, public_keys=[keys], **window)
        days = {p for p in listed if p.count("/") == 7}
        want = {f"AWSLogs/{ACCOUNT}/{kind}/{REGION}/2026/11/05/" for kind in ("CloudTrail", "CloudTrail-Digest")}
        assert days == want
        assert res.problems == [] and res.logs_verified == res.logs > 0 and res.digests_verified == res.digests > 0
        # listing the whole bucket gives the same verification
        monkeypatch.setattr(dg.S3Trail, "_keys_of_days", lambda self, first, last: self._all_keys())
        assert vf.verify(f"s3://{BUCKET}", s3_client=s3, public_keys=[keys], **window).to_dict() == res.to_dict()
    finally:  # the bucket is shared with the other tests of the moto server: leave it empty
        monkeypatch.undo()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=BUCKET, Key=obj["Key"])


def test_s3_denied_list_public_keys_leaves_signatures_unverifiable(aws_env, pristine, key):
    import boto3
    from botocore.stub import Stubber

    root, built = pristine
    s3 = boto3.client("s3", region_name="us-east-1")
    _upload(s3, root, built)
    ct = boto3.client("cloudtrail", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y")
    stub = Stubber(ct)
    stub.add_client_error("list_public_keys", service_error_code="AccessDeniedException", http_status_code=403)
    stub.activate()
    res = vf.verify(f"s3://{BUCKET}", s3_client=s3, cloudtrail_client=ct)
    assert {p.kind for p in res.problems} == {"unverifiable-digest"}
    assert any("cloudtrail:ListPublicKeys" in n for n in res.notes)


def test_window_reaching_past_the_newest_digest_is_a_gap(trail):
    root, built, keys = trail
    last_end = START + pd.Timedelta(hours=HOURS)
    res = vf.verify(str(root), public_keys=[keys], start=t(START), end=t(last_end + pd.Timedelta(hours=5)))
    gaps = [p for p in res.problems if p.kind == "gap"]
    assert [(g.start, g.end) for g in gaps] == [(t(last_end), t(last_end + pd.Timedelta(hours=5)))]
    assert {p.kind for p in res.problems} == {"gap"} and res.exit_code == 3


def test_signatures_saved_from_s3_make_a_synced_copy_verify(aws_env, pristine, key, tmp_path):
    import boto3

    root, built = pristine
    s3 = boto3.client("s3", region_name="us-east-1")
    _upload(s3, root, built)
    copy = tmp_path / "synced"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("*" + dg.SIDECAR_SUFFIX))  # as aws s3 sync leaves it
    assert kinds(vf.verify(str(copy), public_keys=[keys_file(tmp_path / "k.json", key)])) == [
        ("unsigned-digest", Path(built["digests"][-1]).name)]
    ct, _ = _stubbed_cloudtrail(key)
    res = vf.verify(f"s3://{BUCKET}", s3_client=s3, cloudtrail_client=ct, save_signatures=str(copy))
    assert res.exit_code == 0 and any(f"Saved {HOURS} digest signatures" in n for n in res.notes)
    again = vf.verify(str(copy), public_keys=[keys_file(tmp_path / "k.json", key)])
    assert again.problems == [] and again.digests_verified == HOURS


def test_the_awslogs_folder_itself_can_be_given(trail):
    root, built, keys = trail
    res = vf.verify(str(root / "AWSLogs"), public_keys=[keys])
    assert res.problems == [] and res.digests_verified == HOURS


def test_reboot_investigation_verifies_a_local_copy_with_digests(trail):
    from trailtools.investigations.reboot.gather import investigate

    root, built, keys = trail
    (root / built["logs"][2]).write_bytes(gzip.compress(b'{"Records": []}'))
    inv = investigate("i-0123456789abcdef0", source=str(root), start=t(START),
                      end=t(START + pd.Timedelta(hours=HOURS)))
    assert inv.integrity is not None and inv.integrity.status == "FAILED"
    assert ("modified-log", Path(built["logs"][2]).name) in kinds(inv.integrity)
    doc = json.loads(inv.to_json())
    assert doc["provenance"]["integrity"]["counts"]["modified-log"] == 1
    assert "integrity.modified-log" in [f["check"] for f in doc["findings"]]
