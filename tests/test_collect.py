"""``trailtools collect`` against moto in server mode (a trail bucket holding part of the demo account's trail,
with its signed digests; STS) and ``botocore.stub.Stubber`` for what moto lacks or holds differently (AWS Health,
scheduled events, the console screenshot, ListPublicKeys; EC2 and CloudWatch answering with the demo account's own
responses): the case folder it builds gives the reboot investigation the same verdict as the demo folder itself,
verifies offline, fails naming a file after one byte of it changes, and a second run changes no earlier file."""
import base64
import datetime as dt
import gzip
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from trailtools.collect.run import collect
from trailtools.demo import ensure_demo_account
from trailtools.integrity.case import read_manifest
from trailtools.integrity.verify import verify

ACCOUNT = "314159265358"
REGION = "us-east-1"
HOST_FAILURE = "i-0b81f3d6c2e9a4775"   # demo incident 2: AWS restarted it after a host failure (10-08 03:49)
START, END = "2026-10-07T22:00:00Z", "2026-10-08T08:00:00Z"
DEMO_NOW = dt.datetime(2026, 10, 15, tzinfo=dt.UTC)
#: A tiny JPEG's first bytes stand in for a screenshot (the API returns base64 JPEG data).
SCREENSHOT = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
_TIME_KEYS = {"startTime", "endTime", "lastUpdatedTime"}


def _demo() -> Path:
    return ensure_demo_account()


def _times(obj, key=None):
    """The demo's saved (CLI) response as boto3 returns it: times as datetimes."""
    if isinstance(obj, dict):
        return {k: _times(v, k) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_times(v, key) for v in obj]
    if isinstance(obj, str) and _ISO.match(obj):
        return dt.datetime.fromisoformat(obj.replace("Z", "+00:00"))
    if key in _TIME_KEYS and isinstance(obj, (int, float)):
        return dt.datetime.fromtimestamp(obj, dt.UTC)
    return obj


def _saved(rel: str) -> dict:
    return json.loads((_demo() / rel).read_text())


def _trail_files(lo: dt.datetime, hi: dt.datetime) -> list[Path]:
    """The demo's us-east-1 log files and digests delivered between lo and hi."""
    out = []
    for kind in ("CloudTrail", "CloudTrail-Digest"):
        day = lo.date()
        while day <= hi.date():
            folder = _demo() / "AWSLogs" / ACCOUNT / kind / REGION / f"{day:%Y/%m/%d}"
            for f in sorted(folder.glob("*.json.gz")):
                stamp = re.search(r"_(\d{8}T\d{4,6})Z", f.name).group(1)
                when = dt.datetime.strptime(stamp[:13], "%Y%m%dT%H%M").replace(tzinfo=dt.UTC)
                if lo <= when <= hi:
                    out.append(f)
            day += dt.timedelta(days=1)
    return out


def _signatures() -> dict[str, str]:
    """Every us-east-1 demo digest's signature (as S3 keeps it in the object's metadata): from the sidecar of the
    newest, else from its successor's previousDigestSignature."""
    sigs = {}
    for f in (_demo() / "AWSLogs" / ACCOUNT / "CloudTrail-Digest" / REGION).rglob("*.json.gz"):
        data = json.loads(gzip.decompress(f.read_bytes()))
        if data.get("previousDigestS3Object") and data.get("previousDigestSignature"):
            sigs[data["previousDigestS3Object"]] = data["previousDigestSignature"]
        side = Path(str(f) + ".metadata.json")
        if side.is_file():
            sigs[str(f.relative_to(_demo()))] = json.loads(side.read_text())["Metadata"]["signature"]
    return sigs


@pytest.fixture(scope="module")
def trail_bucket(moto_server):
    """A bucket holding the demo's us-east-1 trail around the window, digests signed in their S3 metadata."""
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name=REGION, aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    name = f"trail-{os.urandom(4).hex()}"
    s3.create_bucket(Bucket=name)
    lo = dt.datetime(2026, 10, 7, 16, tzinfo=dt.UTC)
    hi = dt.datetime(2026, 10, 8, 16, tzinfo=dt.UTC)
    sigs = _signatures()

    def put(f: Path):
        key = "corp/" + f.relative_to(_demo()).as_posix()
        meta = {}
        if "CloudTrail-Digest" in key:
            meta = {"signature": sigs[f.relative_to(_demo()).as_posix()], "signature-algorithm": "SHA256withRSA"}
        s3.put_object(Bucket=name, Key=key, Body=f.read_bytes(), Metadata=meta)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(put, _trail_files(lo, hi)))
    return name


def _stubbed(service: str, region: str, responses: list[tuple[str, dict]]):
    client = boto3.client(service, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing")
    stub = Stubber(client)
    for method, resp in responses:
        if isinstance(resp, Exception):
            stub.add_client_error(method, service_error_code=resp.args[0], service_message=resp.args[1])
        else:
            stub.add_response(method, resp)
    stub.activate()
    client.stubber = stub
    return client


def _only(resp: dict, key: str, instance: str) -> dict:
    if key == "Reservations":
        return {"Reservations": [r for r in resp["Reservations"]
                                 if any(i["InstanceId"] == instance for i in r["Instances"])]}
    return {key: [x for x in resp[key] if x.get("InstanceId") == instance]}


def _demo_services(instance: str = HOST_FAILURE, *, region: str = REGION, health_error=None, screenshot_error=None,
                   later=False, status=None, no_keys=False):
    """The (service, region) -> client factory: S3 and STS on moto, the rest answered with the demo's responses
    (``status``: another DescribeInstanceStatus answer)."""
    described = _only(_times(_saved(f"ec2/{region}/describe-instances.json")), "Reservations", instance)
    if status is None:
        status = _only(_times(_saved(f"ec2/{region}/describe-instance-status.json")), "InstanceStatuses", instance)
    if later:  # a week on: EC2 no longer lists the completed scheduled events
        status = {"InstanceStatuses": [{**st, "Events": []} for st in status["InstanceStatuses"]]}
    console = _saved(f"ec2/{region}/get-console-output/{instance}.json")
    console = {**_times(console), "Output": base64.b64encode(console["Output"].encode()).decode()}
    shot = screenshot_error or {"InstanceId": instance, "ImageData": base64.b64encode(SCREENSHOT).decode()}
    metrics = _times(_saved(f"cloudwatch/{region}/get-metric-data.json"))
    compact = instance.replace("-", "")
    metrics = {"MetricDataResults": [r for r in metrics["MetricDataResults"] if r["Id"].endswith(compact)]}
    entities = _times(_saved("health/describe-affected-entities.json"))["entities"]
    arns = sorted({e["eventArn"] for e in entities if e["entityValue"] == instance})
    events = [e for e in _times(_saved("health/describe-events.json"))["events"] if e["arn"] in arns]
    details = [d for d in _times(_saved("health/describe-event-details.json"))["successfulSet"]
               if d["event"]["arn"] in arns]
    keys = _saved("cloudtrail/list-public-keys.json")["PublicKeyList"]
    keys = {"PublicKeyList": [] if no_keys else [{**_times(k), "Value": base64.b64decode(k["Value"])} for k in keys]}
    health = [("describe_health_service_status_for_organization",
               {"healthServiceAccessStatusForOrganization": "DISABLED"}),
              ("describe_events", {"events": events}), ("describe_events", {"events": []}),
              ("describe_affected_entities", {"entities": [e for e in entities if e["eventArn"] in arns]}),
              ("describe_event_details", {"successfulSet": details, "failedSet": []})]
    if health_error:
        health = [("describe_health_service_status_for_organization", health_error), ("describe_events", health_error)]
    answers = {
        "ec2": [("describe_instances", described), ("describe_instance_status", status),
                ("get_console_output", console), ("get_console_screenshot", shot)],
        "cloudwatch": [("get_metric_data", metrics)] + [("describe_alarms_for_metric", {"MetricAlarms": []})] * 3,
        "health": health,
        "cloudtrail": [("list_public_keys", keys)],
    }
    made = {}

    def clients(service, region):
        if service in ("s3", "sts"):
            return boto3.client(service, region_name=region or REGION)
        made[service] = _stubbed(service, region or REGION, answers[service])
        return made[service]

    clients.made = made
    return clients


@pytest.fixture
def case(aws_env, trail_bucket, tmp_path):
    folder = tmp_path / "case-42"
    services = _demo_services()
    result = collect(folder, start=START, end=END, regions=[REGION], instances=[HOST_FAILURE],
                     trail=f"s3://{trail_bucket}/corp", clients=services, progress=False, now=DEMO_NOW)
    for client in services.made.values():
        client.stubber.assert_no_pending_responses()  # every call the collectors were expected to make was made
    return folder, result


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_collect_builds_the_case_in_the_layout_the_investigations_read(case):
    folder, result = case
    files = _files(folder)
    logs = [p for p in files if "/CloudTrail/us-east-1/" in p]
    digests = [p for p in files if p.endswith("json.gz") and "CloudTrail-Digest" in p]
    assert logs and all(p.startswith(f"AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2026/10/0") for p in logs)
    assert all(p + ".metadata.json" in files for p in digests)  # each digest's signature as a sidecar
    for rel in ("cloudtrail/us-east-1/list-public-keys.json", "ec2/us-east-1/describe-instances.json",
                "ec2/us-east-1/describe-instance-status.json", f"ec2/us-east-1/get-console-output/{HOST_FAILURE}.json",
                f"ec2/us-east-1/get-console-screenshot/{HOST_FAILURE}.jpg", "cloudwatch/us-east-1/get-metric-data.json",
                "cloudwatch/us-east-1/get-metric-data.input.json", "health/describe-events.json",
                "health/describe-affected-entities.json", "health/describe-event-details.json"):
        assert rel in files, rel
    assert files[f"ec2/us-east-1/get-console-screenshot/{HOST_FAILURE}.jpg"] == SCREENSHOT
    # log files outside the window (and its late delivery margin) were not copied
    assert not any("/2026/10/07/" in p and "_20261007T1" in p for p in logs)
    manifest = read_manifest(folder)
    run = manifest["runs"][0]
    assert run["identity"]["Account"] and run["identity"]["Arn"]  # sts:GetCallerIdentity (moto)
    assert run["parameters"]["instances"] == [HOST_FAILURE] and run["trailtools_version"]
    listed = {f["path"]: f for f in run["files"]}
    assert set(listed) == set(files) - {"manifest.json"}
    log = listed[logs[0]]
    assert log["origin"]["s3"].startswith("s3://") and "/corp/AWSLogs/" in log["origin"]["s3"]
    assert log["origin"]["etag"] and log["size"] == len(files[logs[0]])
    assert listed["ec2/us-east-1/describe-instance-status.json"]["origin"]["api"] == "ec2:DescribeInstanceStatus"
    assert result.not_collected == []
    # what will expire: the 1-minute datapoints 15 days after the window's start, the console output at next boot
    whats = " ".join(e["what"] for e in run["expiring"])
    assert "1-minute status-check datapoints" in whats and "console output" in whats


def test_the_reboot_verdict_is_the_same_as_on_the_demo_folder(case):
    from trailtools.investigations.reboot.gather import investigate

    folder, _ = case
    # the guest's own logs are not in AWS: the responder gives them to both (the demo folder holds them)
    guest = ",".join(str(p) for p in sorted((_demo() / "oslogs" / HOST_FAILURE).rglob("*")) if p.is_file())
    on_case = investigate(HOST_FAILURE, source=str(folder), start=START, end=END, os_logs=guest)
    on_demo = investigate(HOST_FAILURE, source=str(_demo()), start=START, end=END, os_logs=guest)
    a, b = on_case.verdict, on_demo.verdict
    assert (a.cause, a.actor, a.confidence, a.restart) == (b.cause, b.actor, b.confidence, b.restart)
    assert a.cause == "aws-host-failure" and a.actor == b.actor
    assert [e.kind for e in a.evidence] == [e.kind for e in b.evidence]
    status = {s.name: s.status for s in on_case.evidence.sources}
    assert status["AWS Health"] == status["Status checks (CloudWatch)"] == "consulted"
    prov = on_case.provenance()
    assert prov["case"]["case"] == "case-42"
    assert prov["case"]["manifest_sha256"] == __import__("hashlib").sha256(
        (folder / "manifest.json").read_bytes()).hexdigest()


def test_verify_passes_offline_then_names_any_changed_file(case):
    folder, _ = case
    res = verify(str(folder))
    assert res.status == "VERIFIED", res.summary()
    assert res.digests_verified == res.digests > 0 and res.logs_verified == res.logs > 0
    assert any("Case case-42" in n for n in res.notes)
    files = sorted(p for p in _files(folder) if p != "manifest.json")
    for rel in (files[0], "ec2/us-east-1/describe-instance-status.json", "health/describe-events.json"):
        path = folder / rel
        original = path.read_bytes()
        changed = bytearray(original)
        changed[len(changed) // 2] ^= 0x01
        path.write_bytes(bytes(changed))
        try:
            bad = verify(str(folder))
            assert bad.status == "FAILED" and bad.exit_code == 1
            assert any(p.kind == "case-modified" and p.path == rel for p in bad.problems), bad.summary()
            assert rel in bad.summary()
        finally:
            path.write_bytes(original)
    (folder / "notes" / "my-notes.txt").write_text("added later\n")
    assert any(p.kind == "case-added" and p.path == "notes/my-notes.txt" for p in verify(str(folder)).problems)
    (folder / "notes" / "my-notes.txt").unlink()
    (folder / "health" / "describe-events.json").rename(folder / "health.json.bak")
    bad = verify(str(folder))
    kinds = {(p.kind, p.path) for p in bad.problems}
    assert ("case-missing", "health/describe-events.json") in kinds and ("case-added", "health.json.bak") in kinds


def test_a_second_run_leaves_every_earlier_file_byte_identical(case, trail_bucket):
    folder, first = case
    before = _files(folder)
    second = collect(folder, start=START, end=END, regions=[REGION], instances=[HOST_FAILURE],
                     trail=f"s3://{trail_bucket}/corp", clients=_demo_services(), progress=False, now=DEMO_NOW)
    after = _files(folder)
    assert all(after[p] == data for p, data in before.items() if p != "manifest.json")
    manifest = read_manifest(folder)
    assert [r["run"] for r in manifest["runs"]] == [1, 2]
    run2 = manifest["runs"][1]
    # nothing downloaded again; the same responses are nothing new; only the run's notes are added
    assert second.files == len(run2["files"]) and {f["path"] for f in run2["files"]} == {
        "notes/run-2-not-collected.txt", "notes/run-2-expiring.txt"}
    assert run2["previous_manifest_sha256"] == first.manifest_sha256
    trail_files = [p for p in before if p.startswith("AWSLogs/") and not p.endswith(".metadata.json")]
    assert second.resumed == len(trail_files) > 0  # not downloaded again: the same ETag and size are in the case
    # the earlier run's text is unchanged in the manifest
    old = json.dumps(read_manifest(folder)["runs"][0], indent=1)
    assert old == json.dumps(json.loads(before["manifest.json"])["runs"][0], indent=1)
    assert verify(str(folder)).status == "VERIFIED"
    # a changed snapshot goes beside the first one, never over it
    services = _demo_services(later=True)
    third = collect(folder, start=START, end=END, regions=[REGION], instances=[HOST_FAILURE],
                    trail=f"s3://{trail_bucket}/corp", clients=services, progress=False,
                    now=DEMO_NOW + dt.timedelta(days=1))
    assert third.run == 3
    now_files = _files(folder)
    assert all(now_files[p] == data for p, data in before.items() if p != "manifest.json")
    first_status = "ec2/us-east-1/describe-instance-status.json"
    assert now_files[f"runs/3/{first_status}"] != now_files[first_status]
    assert any(f["path"] == f"runs/3/{first_status}" for f in read_manifest(folder)["runs"][2]["files"])
    assert verify(str(folder)).status == "VERIFIED"


def test_errors_are_one_sentence_each_and_the_collection_goes_on(aws_env, trail_bucket, tmp_path):
    from botocore.exceptions import ClientError  # noqa: F401 (the stubbed errors are ClientErrors)

    folder = tmp_path / "case"
    services = _demo_services(health_error=Exception("SubscriptionRequiredException", "no support plan"),
                              screenshot_error=Exception("UnauthorizedOperation", "not authorized"))
    result = collect(folder, start=START, end=END, regions=[REGION], instances=[HOST_FAILURE],
                     trail=f"s3://{trail_bucket}/corp", clients=services, progress=False, now=DEMO_NOW)
    notes = {n["what"]: n["why"] for n in result.not_collected}
    assert set(notes) == {"AWS Health", f"console screenshot of {HOST_FAILURE}"}
    assert "support plan" in notes["AWS Health"]
    assert "ec2:GetConsoleScreenshot" in notes[f"console screenshot of {HOST_FAILURE}"]
    for why in notes.values():
        assert why.endswith(".") and "\n" not in why and len(re.findall(r"\.\s+[A-Z]", why)) == 0
    text = (folder / "notes" / "run-1-not-collected.txt").read_text()
    assert text.count("\n") == 2 and "AWS Health" in text
    files = _files(folder)
    assert "ec2/us-east-1/describe-instance-status.json" in files and "cloudwatch/us-east-1/get-metric-data.json" in files
    assert not any(p.startswith("health/") for p in files)
    assert verify(str(folder)).status == "VERIFIED"


def test_no_credentials_is_one_sentence_per_source(tmp_path, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: never real AWS
    result = collect(tmp_path / "case", start=START, end=END, regions=[REGION], instances=[HOST_FAILURE],
                     trail="s3://some-bucket", progress=False, now=DEMO_NOW)
    assert result.not_collected
    for note in result.not_collected:
        assert "credentials" in note["why"].lower(), note
    assert read_manifest(tmp_path / "case")["runs"][0]["identity"] is None


def test_a_report_names_the_case_and_its_manifest_hash():
    from trailtools.report.run import provenance_html

    html = provenance_html({"provenance": {"case": {"case": "<b>case-42</b>", "manifest": "manifest.json",
                                                    "manifest_sha256": "ab" * 32, "runs": 2, "files": 9}}})
    assert "&lt;b&gt;case-42&lt;/b&gt;" in html and "ab" * 32 in html and "2 collection runs" in html
    assert "case-42" not in provenance_html({"provenance": {}})


def test_the_login_findings_are_the_same_as_on_the_same_data_read_live(case, trail_bucket):
    """The case's trail uploaded as it is to another prefix of the bucket: the login investigation reading it live
    (s3://) and reading the case folder finds the same sign-ins and the same findings."""
    from trailtools.investigations.login.gather import investigate

    folder, _ = case
    s3 = boto3.client("s3")
    for path in sorted((folder / "AWSLogs").rglob("*.json.gz")):
        s3.put_object(Bucket=trail_bucket, Key="same/" + path.relative_to(folder).as_posix(), Body=path.read_bytes())
    live = investigate(source=f"s3://{trail_bucket}/same", start=START, end=END, baseline_days=1)
    on_case = investigate(source=str(folder), start=START, end=END, baseline_days=1, engine="memory")
    assert len(on_case.events) == len(live.events) > 0
    assert sorted(on_case.events["eventID"]) == sorted(live.events["eventID"])

    def shown(inv):
        return sorted((f.check, f.severity, f.title, tuple(e.ref for e in f.evidence)) for f in inv.findings)

    assert shown(on_case) == shown(live)
    # the case folder's default engine (the baseline compacted by DuckDB) finds the same
    compact = investigate(source=str(folder), start=START, end=END, baseline_days=1)
    assert compact.engine == "duckdb" and shown(compact) == shown(live)
    signins = on_case.analysis.signins
    assert len(signins) == len(live.analysis.signins) > 0  # the window has sign-ins: the comparison is not empty
    assert sorted(signins["eventID"]) == sorted(live.analysis.signins["eventID"])
    assert on_case.to_dict()["provenance"]["case"]["case"] == "case-42"
    # and hunt: the same detections on the case as on the same files read live
    from trailtools.rules.hunt import hunt

    found = [hunt(src, START, END) for src in (str(folder), f"s3://{trail_bucket}/same")]
    assert shown(found[0]) == shown(found[1])


def test_cost_explorer_with_cost_reads_as_the_demo_s_saved_responses(aws_env, tmp_path):
    """--cost: Cost Explorer (Stubber, answering with the demo's saved responses) lands where the cost readers look,
    and reads as the demo's own saved responses do."""
    from trailtools.evidence.cost import read_cost

    saved = {name: _saved(f"cost/ce/get-cost-and-usage.by-{name}.json")  # Cost Explorer's dates are text
             for name in ("service", "region", "usage-type", "linked-account")}
    anomalies = _saved("cost/ce/get-anomalies.json")
    answers = [("get_cost_and_usage", saved[n]) for n in ("service", "region", "usage-type", "linked-account")]
    not_on = Exception("DataUnavailableException", "Data is not available")  # resource-level data not turned on
    ce = _stubbed("ce", "us-east-1", answers + [("get_cost_and_usage_with_resources", not_on),
                                                ("get_anomalies", anomalies)])

    def clients(service, region):
        if service == "ce":
            return ce
        client = boto3.client(service, region_name=region or REGION)
        if service in ("ec2", "health"):
            stub = Stubber(client)
            first = "describe_instances" if service == "ec2" else "describe_health_service_status_for_organization"
            stub.add_client_error(first, service_error_code="AccessDenied", service_message="no")
            if service == "health":
                stub.add_client_error("describe_events", service_error_code="AccessDenied", service_message="no")
            stub.activate()
        if service == "cloudtrail":
            stub = Stubber(client)
            stub.add_client_error("lookup_events", service_error_code="AccessDeniedException", service_message="no")
            stub.activate()
        return client

    case = tmp_path / "case"
    result = collect(case, start="2026-10-01", end="2026-10-14", regions=[REGION], cost=True, clients=clients,
                     progress=False, now=DEMO_NOW)
    ce.stubber.assert_no_pending_responses()
    assert [n["what"] for n in result.not_collected if "Cost" in n["what"] or "cost" in n["what"]] == [
        "Resource-level cost of EC2 (GetCostAndUsageWithResources)"]
    for name in ("service", "region", "usage-type", "linked-account"):
        assert (case / "cost" / "ce" / f"get-cost-and-usage.by-{name}.json").is_file()
    ours = read_cost(str(case / "cost"), start="2026-10-01", end="2026-10-14")
    theirs = read_cost(str(_demo() / "cost" / "ce"), start="2026-10-01", end="2026-10-14")
    assert len(ours.frame) == len(theirs.frame) > 0
    cols = ["service", "region", "cost"]
    assert ours.frame[cols].sort_values(cols, ignore_index=True).equals(
        theirs.frame[cols].sort_values(cols, ignore_index=True))
    assert len(ours.anomalies) == len(theirs.anomalies) > 0
    assert any(e["what"].startswith("Cost Explorer data of") for e in result.expiring)
    # the cost investigation on the case folder reads the case's own cost data, without being told where it is
    from trailtools.investigations.cost.gather import gather as cost_gather

    ev = cost_gather(source=str(case), start="2026-10-01", end="2026-10-14")
    same = read_cost(str(case / "cost"), start=ev.window[0], end=ev.window[1])   # the window's whole last day
    assert ev.cost_source == str(case / "cost") and len(ev.cost.frame) == len(same.frame) > 0


BATCH03 = "i-07e5d2b9a1c4f3806"   # demo incident 3: rebooted in its scheduled maintenance window (10-09 02:37)
EU = "eu-west-1"
START3, END3 = "2026-10-08T22:00:00Z", "2026-10-09T08:00:00Z"


def _eu_trail(s3) -> str:
    """A bucket holding the demo's eu-west-1 log files around incident 3 (no digests)."""
    name = f"trail-eu-{os.urandom(4).hex()}"
    s3.create_bucket(Bucket=name)
    for day in ("08", "09"):
        for f in sorted((_demo() / "AWSLogs" / ACCOUNT / "CloudTrail" / EU / "2026" / "10" / day).glob("*.json.gz")):
            s3.put_object(Bucket=name, Key=f.relative_to(_demo()).as_posix(), Body=f.read_bytes())
    return name


@pytest.mark.slow
def test_the_reboot_investigation_reads_the_newest_snapshot_and_names_it(aws_env, tmp_path):
    """Run 1 saw the scheduled reboot before it completed, run 2 after: the investigation on the case reads run 2's
    copy (a later run knows more), says so in its sources and provenance, and every copy stays as collected."""
    from trailtools.investigations.reboot.gather import investigate

    bucket = _eu_trail(boto3.client("s3"))
    completed = _only(_times(_saved(f"ec2/{EU}/describe-instance-status.json")), "InstanceStatuses", BATCH03)
    assert all(e["Description"].startswith("[Completed]") for st in completed["InstanceStatuses"]
               for e in st["Events"])
    pending = json.loads(json.dumps(completed, default=str))
    for st in pending["InstanceStatuses"]:
        st["Events"] = [{**e, "Description": e["Description"].removeprefix("[Completed] ")} for e in st["Events"]]
    pending = _times(pending)
    folder = tmp_path / "case-3"
    window = {"start": START3, "end": END3, "regions": [EU], "instances": [BATCH03], "trail": f"s3://{bucket}",
              "progress": False, "now": DEMO_NOW}
    collect(folder, clients=_demo_services(BATCH03, region=EU, status=pending), **window)
    rel = f"ec2/{EU}/describe-instance-status.json"
    first = (folder / rel).read_bytes()

    def scheduled():
        inv = investigate(BATCH03, source=str(folder), start=START3, end=END3)
        return inv, inv.evidence.scheduled

    inv, events = scheduled()
    assert len(events) == 1 and not events["completed"].any()
    assert "copy" not in next(s.detail for s in inv.evidence.sources if s.name == "EC2 scheduled events")
    assert "newer_copies" not in inv.provenance()["case"]

    collect(folder, clients=_demo_services(BATCH03, region=EU, status=completed), **window)
    assert (folder / rel).read_bytes() == first  # the first copy stays as collected
    assert (folder / "runs" / "2" / rel).is_file()
    inv, events = scheduled()
    assert len(events) == 1 and events["completed"].all()  # run 2's copy: the event completed since
    detail = next(s.detail for s in inv.evidence.sources if s.name == "EC2 scheduled events")
    assert f"run 2's copy (runs/2/{rel}) was read; run 1's copy also exists" in detail
    prov = inv.provenance()
    inputs = [i["path"] for i in prov["inputs"]]
    assert f"runs/2/{rel}" in inputs and rel not in inputs  # the file read, with its SHA-256
    newer = {x["path"]: x for x in prov["case"]["newer_copies"]}
    assert newer[rel]["read"] == f"runs/2/{rel}" and newer[rel]["run"] == 2
    assert newer[rel]["earlier"] == [{"run": 1, "path": rel}]
    assert not [p for p in verify(str(folder)).problems if p.kind.startswith("case-")]

    # run 3 finds the first state again: it gets a copy of its own, so the newest copy is always the latest state
    collect(folder, clients=_demo_services(BATCH03, region=EU, status=pending), **window)
    assert (folder / "runs" / "3" / rel).read_bytes() == first
    inv, events = scheduled()
    assert len(events) == 1 and not events["completed"].any()
    # a copy the manifest does not list is never read (nor is a folder's own newer-looking file)
    planted = folder / "runs" / "9" / rel
    planted.parent.mkdir(parents=True)
    planted.write_bytes((folder / "runs" / "2" / rel).read_bytes())
    assert not scheduled()[1]["completed"].any()
    assert any(p.kind == "case-added" and p.path == f"runs/9/{rel}" for p in verify(str(folder)).problems)


@pytest.mark.slow
def test_verify_uses_every_run_s_public_keys(aws_env, trail_bucket, tmp_path):
    """Run 1's ListPublicKeys had no key (yet); run 2's has it, in runs/2/: verify reads both copies."""
    folder = tmp_path / "case"
    window = {"start": START, "end": END, "regions": [REGION], "instances": [HOST_FAILURE],
              "trail": f"s3://{trail_bucket}/corp", "progress": False, "now": DEMO_NOW}
    collect(folder, clients=_demo_services(no_keys=True), **window)
    assert verify(str(folder)).status != "VERIFIED"  # digests no key can check
    collect(folder, clients=_demo_services(), **window)
    assert (folder / "runs" / "2" / "cloudtrail" / REGION / "list-public-keys.json").is_file()
    res = verify(str(folder))
    assert res.status == "VERIFIED" and res.digests_verified == res.digests > 0, res.summary()
