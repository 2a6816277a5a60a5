"""trailtools.demo.synth: deterministic, realistic CloudTrail records and the S3 delivery layout."""
from __future__ import annotations

import gzip
import json
import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trailtools.demo import synth

UTC = UTC
DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
START = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday
END = START + timedelta(days=1)
NAME_RE = re.compile(
    r"AWSLogs/(?:(?P<org>o-[a-z0-9]+)/)?(?P<acct>\d{12})/CloudTrail/(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)/"
    r"(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P=acct)_CloudTrail_(?P=region)_"
    r"(?P<ts>\d{8}T\d{4}Z)_(?P<rand>[A-Za-z0-9]{16})\.json\.gz$")


@pytest.fixture(scope="module")
def profile() -> synth.AccountProfile:
    return synth.default_profile()


@pytest.fixture(scope="module")
def records(profile: synth.AccountProfile) -> list[dict]:
    return synth.generate_records(profile, start=START, end=END, events=6000, seed=42)


def _read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.json.gz"))}


# ----------------------------------------------------------------------------------------- determinism
def test_same_seed_same_records_other_seed_differs(profile, records):
    again = synth.generate_records(profile, start=START, end=END, events=6000, seed=42)
    assert again == records
    other = synth.generate_records(profile, start=START, end=END, events=6000, seed=43)
    assert other != records
    assert {r["eventID"] for r in other}.isdisjoint({r["eventID"] for r in records})


def test_same_seed_same_file_bytes(records, tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    ra = synth.write_trail(records[:800], a, seed=5)
    rb = synth.write_trail(records[:800], b, seed=5)
    synth.write_trail(records[:800], c, seed=6)
    ta, tb, tc = _read_tree(a), _read_tree(b), _read_tree(c)
    assert ra == rb and ta == tb
    assert ra["events"] == 800 and ra["files"] == len(ta)
    assert ra["bytes"] == sum(len(v) for v in ta.values())
    assert set(tc) != set(ta)  # other random file-name suffixes


def test_gzip_header_is_reproducible(records, tmp_path):
    synth.write_trail(records[:200], tmp_path, seed=1)
    for data in _read_tree(tmp_path).values():
        assert data[:2] == b"\x1f\x8b"
        flags, mtime = data[3], int.from_bytes(data[4:8], "little")
        assert mtime == 0 and not flags & 0x08  # no timestamp, no original file name


# ------------------------------------------------------------------------------------------ records
def test_records_sorted_in_window_and_unique(records):
    times = [r["eventTime"] for r in records]
    assert times == sorted(times)
    assert times[0] >= START.strftime("%Y-%m-%dT%H:%M:%SZ") and times[-1] < END.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", t) for t in times)
    assert len({r["eventID"] for r in records}) == len(records)


def test_record_size_like_real_trails(records):
    sizes = [len(json.dumps(r, separators=(",", ":"))) for r in records]
    assert 1300 <= sum(sizes) / len(sizes) <= 1500


def test_instance_ids_and_global_regions(records):
    text = json.dumps(records)
    ids = set(re.findall(r'"(i-[0-9A-Za-z]+)"', text)) | set(re.findall(r"/(i-[0-9A-Za-z]+)\"", text))
    assert ids and all(re.fullmatch(r"i-[0-9a-f]{17}", i) for i in ids)
    for r in records:
        if r["eventSource"] in ("iam.amazonaws.com", "sts.amazonaws.com", "signin.amazonaws.com"):
            assert r["awsRegion"] == "us-east-1"
    assert len({r["awsRegion"] for r in records}) >= 10


def test_mix_errors_principals_and_office_hours(records):
    n = len(records)
    errors = sum("errorCode" in r for r in records)
    assert 0.002 * n <= errors <= 0.05 * n
    codes = {r["errorCode"] for r in records if "errorCode" in r}
    assert {"AccessDenied", "Client.UnauthorizedOperation"} <= codes
    assert sum(r["readOnly"] for r in records) > 0.75 * n
    kinds = {r["userIdentity"]["type"] for r in records}
    assert {"AssumedRole", "AWSService", "IAMUser"} <= kinds
    names = {r["eventName"] for r in records}
    assert {"ConsoleLogin", "AssumeRole", "GetCallerIdentity", "DescribeInstances", "Decrypt"} <= names
    for r in records:
        ui = r["userIdentity"]
        if ui["type"] == "AssumedRole" and "AWSReservedSSO_" in ui["arn"]:
            assert re.fullmatch(r"arn:aws:sts::\d{12}:assumed-role/AWSReservedSSO_[A-Za-z]+_[0-9a-f]{16}/"
                                r"[a-z]+@example\.com", ui["arn"])
        if ui["type"] == "AWSService":
            assert r["sourceIPAddress"] == ui["invokedBy"] and "tlsDetails" not in r
    # humans work office hours on weekdays, in their time zone (alice: UTC-5)
    sso = [r for r in records if "AWSReservedSSO_" in r["userIdentity"].get("arn", "")]
    assert len(sso) > 100
    alice_hours = [(datetime.strptime(r["eventTime"], "%Y-%m-%dT%H:%M:%SZ") - timedelta(hours=5)).hour
                   for r in sso if "alice@" in r["userIdentity"]["arn"]]
    assert sum(7 <= h < 21 for h in alice_hours) > 0.9 * len(alice_hours)
    weekend = synth.generate_records(synth.default_profile(), start=START - timedelta(days=2), end=START,
                                     events=2000, seed=1)  # Sat + Sun
    weekend_sso = [r for r in weekend if "AWSReservedSSO_" in r["userIdentity"].get("arn", "")]
    assert len(weekend_sso) / len(weekend) < 0.3 * len(sso) / n


def test_build_record_is_consistent_and_deterministic(profile):
    alice = next(p for p in profile.principals if p.session_name == "alice@example.com")
    kw = dict(event_name="StopInstances", event_source="ec2.amazonaws.com", principal=alice,
              account_id=profile.account_id, event_time=datetime(2026, 10, 7, 14, 3, 9, tzinfo=UTC),
              region="eu-west-1", request_parameters={"instancesSet": {"items": [{"instanceId": "i-0123456789abcdef0"}]},
                                                      "force": False})
    a = synth.build_record(**kw, rng=random.Random(1))
    assert a == synth.build_record(**kw, rng=random.Random(1))
    assert a["responseElements"]["instancesSet"]["items"][0]["instanceId"] == "i-0123456789abcdef0"
    assert a["responseElements"]["requestId"] == a["requestID"]
    assert a["readOnly"] is False and a["eventTime"] == "2026-10-07T14:03:09Z" and a["awsRegion"] == "eu-west-1"
    assert a["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"].startswith(
        f"arn:aws:iam::{profile.account_id}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_")
    denied = synth.build_record(**kw, error_code="Client.UnauthorizedOperation", error_message="nope",
                                rng=random.Random(1))
    assert denied["responseElements"] is None and denied["errorCode"] == "Client.UnauthorizedOperation"
    root = next(p for p in profile.principals if p.kind == "Root")
    failed = synth.build_record(event_name="ConsoleLogin", event_source="signin.amazonaws.com", principal=root,
                                account_id=profile.account_id, event_time=kw["event_time"], region="eu-west-1",
                                error_message="Failed authentication", rng=random.Random(2))
    assert failed["awsRegion"] == "us-east-1" and failed["responseElements"] == {"ConsoleLogin": "Failure"}
    assert "errorCode" not in failed and failed["eventType"] == "AwsConsoleSignIn"
    with pytest.raises(ValueError):
        synth.build_record(**{**kw, "event_time": datetime(2026, 10, 7)}, rng=random.Random(1))


# ------------------------------------------------------------------------ same shape as real records
def _type_name(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return type(v).__name__


def _same_types(real, fake, path="") -> list[str]:
    """Value types agree wherever both records have the key (recursively); also used by test_demo."""
    out = []
    if _type_name(real) != _type_name(fake):
        return [f"{path}: real {_type_name(real)}, generated {_type_name(fake)}"]
    if isinstance(real, dict):
        for k in real.keys() & fake.keys():
            out += _same_types(real[k], fake[k], f"{path}.{k}")
    elif isinstance(real, list) and real and fake:
        out += _same_types(real[0], fake[0], f"{path}[0]")
    return out


def _real_records() -> list[tuple[str, dict]]:
    out = []
    for f in sorted((DATASETS / "stratus-red-team-detonation-logs").glob("*.json")):
        out += [("stratus", r) for r in json.loads(f.read_text())]
    for f in sorted((DATASETS / "awsdocs-examples" / "cloudtrail-user-guide").glob("*.json")):
        data = json.loads(f.read_text())
        recs = data.get("Records", [data]) if isinstance(data, dict) else data
        out += [("awsdocs", r) for r in recs if "eventName" in r]  # (digest files are not records)
    return out


def _principal_for(profile: synth.AccountProfile, real: dict) -> synth.Principal | None:
    ui = real["userIdentity"]
    by = {p.name: p for p in profile.principals}
    if ui["type"] == "Root":
        return by["root"]
    if ui["type"] == "IAMUser":
        return by["breakglass"] if real["eventName"] == "ConsoleLogin" else by["legacy-deploy"]
    if ui["type"] == "AssumedRole":
        if ui.get("sessionContext", {}).get("ec2RoleDelivery"):
            return next(p for p in profile.principals if p.instance_id and not p.vpc_endpoint)
        return by["terraform-ci/GitHubActions"]
    return None


@pytest.mark.skipif(not DATASETS.is_dir(), reason="shared datasets not available")
def test_keys_and_types_match_real_records(profile):
    compared: set[str] = set()
    problems: list[str] = []
    for origin, real in _real_records():
        api = synth.CATALOG.get(real["eventName"])
        principal = _principal_for(profile, real)
        if api is None or api.source != real["eventSource"] or principal is None:
            continue
        fake = synth.build_record(
            event_name=real["eventName"], event_source=real["eventSource"], principal=principal,
            account_id=profile.account_id, event_time=datetime(2026, 10, 7, 10, tzinfo=UTC), region="eu-west-1",
            error_code=real.get("errorCode"), error_message=real.get("errorMessage"), console=False,
            rng=random.Random(0))
        tag = f"{origin}:{real['eventName']}/{real['userIdentity']['type']}"
        compared.add(real["eventName"])
        real_keys, fake_keys = set(real), set(fake)
        if origin == "stratus":  # genuine, current records: the same top-level key set
            if real_keys != fake_keys:
                problems.append(f"{tag}: keys real-only {real_keys - fake_keys}, synth-only {fake_keys - real_keys}")
        elif not real_keys <= fake_keys:  # AWS doc examples (eventVersion 1.0-1.05): older, fewer keys
            problems.append(f"{tag}: keys missing {real_keys - fake_keys}")
        ui_real, ui_fake = set(real["userIdentity"]), set(fake["userIdentity"])
        if ui_real != ui_fake:
            problems.append(f"{tag}: userIdentity real {sorted(ui_real)} synth {sorted(ui_fake)}")
        if "sessionContext" in real["userIdentity"] and "sessionContext" in fake["userIdentity"]:
            optional = {"ec2RoleDelivery", "webIdFederationData", "sourceIdentity"}
            sr, sf = set(real["userIdentity"]["sessionContext"]), set(fake["userIdentity"]["sessionContext"])
            if sr - optional != sf - optional:
                problems.append(f"{tag}: sessionContext real {sorted(sr)} synth {sorted(sf)}")
        problems += [f"{tag}: {p}" for p in _same_types(real, fake)]
    assert not problems, "\n".join(problems)
    assert {"DescribeInstances", "AssumeRole", "GetCallerIdentity", "RunInstances", "StartInstances",
            "StopInstances", "ConsoleLogin"} <= compared


# ----------------------------------------------------------------------------------------- delivery
def _parsed_files(root: Path):
    for path in sorted(root.rglob("*.json.gz")):
        rel = path.relative_to(root).as_posix()
        m = NAME_RE.fullmatch(rel)
        assert m, rel
        delivered = datetime.strptime(m["ts"], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
        assert (m["y"], m["m"], m["d"]) == (f"{delivered:%Y}", f"{delivered:%m}", f"{delivered:%d}")
        body = json.loads(gzip.decompress(path.read_bytes()))
        assert list(body) == ["Records"] and body["Records"]
        yield m, delivered, body["Records"]


@pytest.fixture(scope="module")
def trail(records, tmp_path_factory) -> tuple[Path, dict]:
    """The records written once with 5 % late deliveries (enough to count them)."""
    root = tmp_path_factory.mktemp("trail")
    return root, synth.write_trail(records, root, seed=9, late_fraction=0.05)


def test_s3_layout_names_and_late_fraction(records, trail):
    root, res = trail
    late = total = 0
    for m, delivered, recs in _parsed_files(root):
        assert m["org"] is None
        for r in recs:
            assert r["recipientAccountId"] == m["acct"] and r["awsRegion"] == m["region"]
            t = datetime.strptime(r["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            lag = delivered - t
            # on time: the end of the record's 5-minute slot + 1..4 minutes; late: 15 min .. 3 h
            assert timedelta(0) < lag <= timedelta(minutes=10) or timedelta(minutes=15) <= lag <= timedelta(hours=3)
            late += lag >= timedelta(minutes=15)
            total += 1
        on_time = [r for r in recs if delivered - datetime.strptime(r["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=UTC) <= timedelta(minutes=10)]
        assert len({int(datetime.strptime(r["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
                    // 300 for r in on_time}) <= 1  # one 5-minute slot per file
    assert total == res["events"] == len(records)
    assert res["files"] == len(list(root.rglob("*.json.gz")))
    # binomial(6000, 0.05): mean 300, sd ~17
    assert 230 <= late <= 370


def test_default_late_fraction_is_one_percent():
    import inspect

    assert inspect.signature(synth.write_trail).parameters["late_fraction"].default == 0.01


def test_no_late_delivery_when_disabled(records, tmp_path):
    synth.write_trail(records[:800], tmp_path, seed=3, late_fraction=0.0)
    for _, delivered, recs in _parsed_files(tmp_path):
        for r in recs:
            t = datetime.strptime(r["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            assert timedelta(0) < delivered - t <= timedelta(minutes=10)


def test_org_trail_layout(records, tmp_path):
    synth.write_trail(records[:300], tmp_path, seed=3, org_id="o-a1b2c3d4e5")
    files = list(_parsed_files(tmp_path))
    assert files and all(m["org"] == "o-a1b2c3d4e5" for m, _, _ in files)
