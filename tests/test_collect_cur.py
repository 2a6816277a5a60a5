"""``trailtools collect --cur`` against moto in server mode (a bucket holding a Cost and Usage Report across two
billing periods: CUR 2.0 / Data Exports, and legacy CUR keeping its earlier versions, zipped) and ``--cost``'s
resource-level Cost Explorer call through ``botocore.stub.Stubber``: only the window's billing period is copied, only
the files of its current manifest, bounded and resumable; a rerun changes nothing; one changed byte fails verify
naming the file; the cost investigation on the case folder reads what was collected (the newest copy of a file AWS
rewrote; the resource-level rows, which say which instance)."""
import datetime as dt
import gzip
import io
import json
import os
import re
import zipfile
from pathlib import Path

import boto3
import pandas as pd
import pytest
from botocore.stub import Stubber
from cost_fixtures import GPU, LEGACY, rows

from trailtools.collect.run import collect
from trailtools.demo import ensure_demo_account
from trailtools.evidence.cost import read_cost
from trailtools.integrity.case import read_manifest
from trailtools.integrity.verify import verify

REGION = "us-east-1"
NOW = dt.datetime(2026, 10, 17, tzinfo=dt.UTC)
START, END = "2026-10-01", "2026-10-16"
EXPORT = "exports/acme-cur"


def _rows(month: str = "2026-10", days: int | None = None) -> list[dict]:
    out = [{**r, "line_item_usage_start_date": r["line_item_usage_start_date"].replace("2026-10", month),
            "line_item_usage_end_date": r["line_item_usage_end_date"].replace("2026-10", month)} for r in rows()]
    if days is not None:
        out = [r for r in out if int(r["line_item_usage_start_date"][8:10]) <= days]
    return out


def _csv_gz(items: list[dict]) -> bytes:
    df = pd.DataFrame(items)
    df["resource_tags"] = [json.dumps(t) for t in df["resource_tags"]]  # CUR 2.0 CSV: the tag map as JSON text
    return gzip.compress(df.to_csv(index=False).encode())


def _legacy_zip(items: list[dict]) -> bytes:
    df = pd.DataFrame(items)
    df["resourceTags/aws:createdBy"] = [t.get("aws_created_by", "") for t in df.pop("resource_tags")]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("acme-1.csv", df.rename(columns=LEGACY).to_csv(index=False))
    return buf.getvalue()


def _total(items: list[dict]) -> float:
    return round(sum(float(r["line_item_unblended_cost"]) for r in items), 6)


def _bucket(s3) -> str:
    name = f"cur-{os.urandom(4).hex()}"
    s3.create_bucket(Bucket=name)
    return name


def _put_export(s3, bucket: str, october: list[dict], september: list[dict]) -> None:
    """A CUR 2.0 export (Data Exports, overwrite): September in one file, October in two, a manifest each."""
    half = len(october) // 2
    parts = {"2026-09": [september], "2026-10": [october[:half], october[half:]]}
    for period, chunks in parts.items():
        keys = [f"{EXPORT}/data/BILLING_PERIOD={period}/acme-cur-{i + 1:05d}.csv.gz" for i in range(len(chunks))]
        for key, chunk in zip(keys, chunks):
            s3.put_object(Bucket=bucket, Key=key, Body=_csv_gz(chunk))
        manifest = {"executionId": f"exec-{period}", "exportArn": "arn:aws:bcm-data-exports:us-east-1:1:export/x",
                    "dataFiles": [f"s3://{bucket}/{k}" for k in keys], "columns": []}
        s3.put_object(Bucket=bucket, Key=f"{EXPORT}/metadata/BILLING_PERIOD={period}/acme-cur-Manifest.json",
                      Body=json.dumps(manifest).encode())
    s3.put_object(Bucket=bucket, Key="exports/README.txt", Body=b"not a report file")


def _clients(ce=None):
    """S3 and STS on moto; Cost Explorer as given (AccessDenied otherwise); EC2, Health and LookupEvents refuse."""
    def clients(service, region):
        if service == "ce" and ce is not None:
            return ce
        client = boto3.client(service, region_name=region or REGION)
        refused = {"ec2": ["describe_instances"], "cloudtrail": ["lookup_events"], "ce": ["get_cost_and_usage"],
                   "health": ["describe_health_service_status_for_organization", "describe_events"]}
        if service in refused:
            stub = Stubber(client)
            for op in refused[service]:
                stub.add_client_error(op, service_error_code="AccessDenied", service_message="no")
            stub.activate()
        return client
    return clients


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _case_problems(folder: Path) -> list:
    return [p for p in verify(str(folder)).problems if p.kind.startswith("case-")]


def test_cur_2_objects_of_the_window_s_billing_period_are_copied_once(aws_env, tmp_path):
    s3 = boto3.client("s3")
    bucket = _bucket(s3)
    october, september = _rows(), _rows("2026-09")
    _put_export(s3, bucket, october, september)
    case = tmp_path / "case"
    result = collect(case, start=START, end=END, regions=[REGION], cur=f"s3://{bucket}/exports/", clients=_clients(),
                     progress=False, now=NOW)
    files = _files(case)
    cur = sorted(p for p in files if p.startswith("cost/cur/"))
    assert cur == [f"cost/cur/acme-cur/data/BILLING_PERIOD=2026-10/acme-cur-0000{i}.csv.gz" for i in (1, 2)] + [
        "cost/cur/acme-cur/metadata/BILLING_PERIOD=2026-10/acme-cur-Manifest.json"]  # not September's, not README
    listed = {f["path"]: f for f in read_manifest(case)["runs"][0]["files"]}
    entry = listed[cur[0]]
    assert entry["origin"]["s3"] == f"s3://{bucket}/{EXPORT}/data/BILLING_PERIOD=2026-10/acme-cur-00001.csv.gz"
    assert entry["origin"]["etag"] == s3.head_object(Bucket=bucket, Key=entry["origin"]["s3"].split("/", 3)[3])[
        "ETag"].strip('"')
    assert read_manifest(case)["runs"][0]["parameters"]["cost"] is True  # --cur puts cost in scope
    assert any("Cost and Usage Report" in e["what"] and "lifecycle" in e["why"] for e in result.expiring)
    assert not [n for n in result.not_collected if "Cost and Usage" in n["what"]]
    # what the cost investigation reads on the case folder: the CUR's line items, October's only
    data = read_cost(str(case / "cost"), start=START, end="2026-11-01")
    assert data.kind == "CUR 2.0" and round(data.frame["cost"].sum(), 6) == _total(october)
    from trailtools.investigations.cost.gather import gather

    ev = gather(source=str(case), start=START, end=END)
    assert ev.cost_source == str(case / "cost") and ev.cost.kind == "CUR 2.0" and len(ev.cost.frame) > 0
    assert set(GPU) <= set(ev.cost.frame["resource_id"])

    # a second run: nothing downloaded again, every file byte-identical
    again = collect(case, start=START, end=END, regions=[REGION], cur=f"s3://{bucket}/exports/", clients=_clients(),
                    progress=False, now=NOW)
    after = _files(case)
    assert all(after[p] == data for p, data in files.items() if p != "manifest.json")
    assert again.resumed == 3 and {f["path"] for f in read_manifest(case)["runs"][1]["files"]} == {
        "notes/run-2-not-collected.txt", "notes/run-2-expiring.txt"}
    assert not _case_problems(case)
    # one changed byte fails verify, naming the file
    path = case / cur[1]
    original = path.read_bytes()
    path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    bad = verify(str(case))
    assert bad.status == "FAILED" and bad.exit_code == 1
    assert any(p.kind == "case-modified" and p.path == cur[1] for p in bad.problems) and cur[1] in bad.summary()


def test_the_copy_is_bounded_and_the_next_run_resumes(aws_env, tmp_path, monkeypatch):
    s3 = boto3.client("s3")
    bucket = _bucket(s3)
    _put_export(s3, bucket, _rows(), _rows("2026-09"))
    case = tmp_path / "case"
    monkeypatch.setenv("TRAILTOOLS_COLLECT_CUR_MAX_OBJECTS", "1")
    first = collect(case, start=START, end=END, regions=[REGION], cur=f"s3://{bucket}/exports", clients=_clients(),
                    progress=False, now=NOW)
    data_files = [p for p in _files(case) if "/data/" in p]
    assert len(data_files) == 1
    cut = [n for n in first.not_collected if n["what"].startswith("1 CUR data files")]
    assert len(cut) == 1 and "TRAILTOOLS_COLLECT_CUR_MAX_OBJECTS" in cut[0]["why"]
    assert cut[0]["why"].endswith(".") and not re.search(r"\.\s+[A-Z]", cut[0]["why"])
    assert "CUR data files" in (case / "notes" / "run-1-not-collected.txt").read_text()
    monkeypatch.delenv("TRAILTOOLS_COLLECT_CUR_MAX_OBJECTS")
    second = collect(case, start=START, end=END, regions=[REGION], cur=f"s3://{bucket}/exports", clients=_clients(),
                     progress=False, now=NOW)
    assert second.resumed == 2  # the manifest and the first data file: not downloaded again
    assert len([p for p in _files(case) if "/data/" in p]) == 2 and not _case_problems(case)


def test_a_file_aws_rewrote_is_read_in_its_newest_copy(aws_env, tmp_path):
    """The export overwrites the month's files at each update: the rerun keeps both copies, the reader the newest."""
    s3 = boto3.client("s3")
    bucket = _bucket(s3)
    early = _rows(days=10)
    _put_export(s3, bucket, early, _rows("2026-09"))
    case = tmp_path / "case"
    kw = {"start": START, "end": END, "regions": [REGION], "cur": f"s3://{bucket}/exports", "clients": _clients(),
          "progress": False}
    collect(case, now=NOW - dt.timedelta(days=6), **kw)
    full = _rows()
    _put_export(s3, bucket, full, _rows("2026-09"))
    collect(case, now=NOW, **kw)
    rel = "cost/cur/acme-cur/data/BILLING_PERIOD=2026-10/acme-cur-00001.csv.gz"
    assert (case / "runs" / "2" / rel).is_file() and (case / rel).is_file()
    data = read_cost(str(case / "cost"), start=START, end="2026-11-01")
    assert round(data.frame["cost"].sum(), 6) == _total(full)  # each file once, in its newest copy
    assert any(f"{rel}: run 2's copy (runs/2/{rel}) was read; run 1's copy also exists" in n for n in data.notes)
    assert any(i.endswith(f"runs/2/{rel}") for i in data.inputs)
    assert not _case_problems(case)


def test_legacy_cur_keeping_versions_only_the_current_manifest_s_files(aws_env, tmp_path):
    """Legacy CUR, "create new report versions", ZIP: each update is a full copy of the month in its own assembly
    folder; only the files the period's current manifest lists are copied (and read)."""
    s3 = boto3.client("s3")
    bucket = _bucket(s3)
    base = "cur/acme/20261001-20261101"
    older, current = _rows(days=9), _rows()
    for asm, items in (("aaaa-1111", older), ("bbbb-2222", current)):
        key = f"{base}/{asm}/acme-1.csv.zip"
        s3.put_object(Bucket=bucket, Key=key, Body=_legacy_zip(items))
        doc = json.dumps({"assemblyId": asm, "reportKeys": [key], "billingPeriod": {"start": "20261001T000000.000Z"}})
        s3.put_object(Bucket=bucket, Key=f"{base}/{asm}/acme-Manifest.json", Body=doc.encode())
    s3.put_object(Bucket=bucket, Key=f"{base}/acme-Manifest.json", Body=doc.encode())  # the current: bbbb's
    s3.put_object(Bucket=bucket, Key="cur/acme/20260901-20261001/aaaa/acme-1.csv.zip",
                  Body=_legacy_zip(_rows("2026-09")))
    case = tmp_path / "case"
    collect(case, start=START, end=END, regions=[REGION], cur=f"s3://{bucket}/cur", clients=_clients(),
            progress=False, now=NOW)
    cur = sorted(p for p in _files(case) if p.startswith("cost/cur/"))
    assert cur == ["cost/cur/acme/20261001-20261101/acme-Manifest.json",
                   "cost/cur/acme/20261001-20261101/bbbb-2222/acme-1.csv.zip"]
    data = read_cost(str(case / "cost"), start=START, end="2026-11-01")
    assert data.kind == "CUR (legacy)" and round(data.frame["cost"].sum(), 6) == _total(current)
    # the same bucket synced as it is: the older version is skipped, not counted twice
    local = tmp_path / "synced"
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix="cur/acme/20261001")["Contents"]:
        (local / obj["Key"]).parent.mkdir(parents=True, exist_ok=True)
        (local / obj["Key"]).write_bytes(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())
    synced = read_cost(str(local), start=START, end="2026-11-01")
    assert round(synced.frame["cost"].sum(), 6) == _total(current)
    assert any("aaaa-1111" in s["path"] and "newest manifest" in s["reason"] for s in synced.stats.skipped)


def test_a_cur_prefix_with_nothing_for_the_window_is_one_sentence(aws_env, tmp_path):
    s3 = boto3.client("s3")
    bucket = _bucket(s3)
    _put_export(s3, bucket, _rows(), _rows("2026-09"))
    result = collect(tmp_path / "case", start="2026-07-01", end="2026-07-20", regions=[REGION],
                     cur=f"s3://{bucket}/exports", clients=_clients(), progress=False, now=NOW)
    why = next(n["why"] for n in result.not_collected if n["what"].startswith("the Cost and Usage Report in"))
    assert "2026-07" in why and why.endswith(".") and not re.search(r"\.\s+[A-Z]", why)
    missing = collect(tmp_path / "case2", start=START, end=END, regions=[REGION], cur="s3://no-such-bucket-x/cur",
                      clients=_clients(), progress=False, now=NOW)
    why = next(n["why"] for n in missing.not_collected if n["what"].startswith("the Cost and Usage Report in"))
    assert "NoSuchBucket" in why and "\n" not in why


# ---------------------------------------------------------------- resource-level Cost Explorer

INSTANCE = "i-0123456789abcdef0"


def _saved(rel: str) -> dict:
    return json.loads((ensure_demo_account() / rel).read_text())


def _with_resources(days) -> dict:
    """GetCostAndUsageWithResources, daily, grouped by RESOURCE_ID and USAGE_TYPE: one instance that starts costing
    a lot on 10-10."""
    results = []
    for day in days:
        cost = "1.5" if day < "2026-10-10" else "640.0"
        nxt = (pd.Timestamp(day) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
        results.append({"TimePeriod": {"Start": day, "End": nxt}, "Total": {}, "Estimated": False, "Groups": [
            {"Keys": [INSTANCE, "APN1-BoxUsage:p4d.24xlarge"],
             "Metrics": {"UnblendedCost": {"Amount": cost, "Unit": "USD"}, "UsageQuantity": {"Amount": "24",
                                                                                             "Unit": "Hrs"}}}]})
    return {"GroupDefinitions": [{"Type": "DIMENSION", "Key": "RESOURCE_ID"},
                                 {"Type": "DIMENSION", "Key": "USAGE_TYPE"}], "ResultsByTime": results}


def _ce(resources) -> object:
    ce = boto3.client("ce", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    stub = Stubber(ce)
    for name in ("service", "region", "usage-type", "linked-account"):
        stub.add_response("get_cost_and_usage", _saved(f"cost/ce/get-cost-and-usage.by-{name}.json"))
    if isinstance(resources, tuple):
        stub.add_client_error("get_cost_and_usage_with_resources", service_error_code=resources[0],
                              service_message=resources[1])
    elif resources is not None:
        stub.add_response("get_cost_and_usage_with_resources", resources)
    stub.add_response("get_anomalies", _saved("cost/ce/get-anomalies.json"))
    stub.activate()
    ce.stubber = stub
    return ce


@pytest.mark.slow
def test_resource_level_cost_is_collected_and_names_the_instance(aws_env, tmp_path):
    days = [f"2026-10-{d:02d}" for d in range(1, 15)]
    ce = _ce(_with_resources(days))
    case = tmp_path / "case"
    result = collect(case, start=START, end="2026-10-14", regions=[REGION], cost=True, clients=_clients(ce),
                     progress=False, now=dt.datetime(2026, 10, 15, tzinfo=dt.UTC))
    ce.stubber.assert_no_pending_responses()
    assert not [n for n in result.not_collected if "Cost" in n["what"] or "cost" in n["what"]]
    entry = next(f for f in read_manifest(case)["runs"][0]["files"]
                 if f["path"] == "cost/ce/get-cost-and-usage-with-resources.json")
    request = entry["origin"]["request"]
    assert entry["origin"]["api"] == "ce:GetCostAndUsageWithResources"
    assert request["Filter"]["Dimensions"]["Values"] == ["Amazon Elastic Compute Cloud - Compute"]
    assert request["TimePeriod"] == {"Start": "2026-10-01", "End": "2026-10-15"}  # --end 10-14: its whole day
    assert any(e["what"].startswith("resource-level cost of EC2") and e["until"] == "2026-10-15"
               for e in result.expiring)
    data = read_cost(str(case / "cost"), start=START, end="2026-10-14")
    assert data.resources is not None and set(data.resources["resource_id"]) == {INSTANCE}
    assert set(data.resources["service"]) == {"Amazon Elastic Compute Cloud - Compute"}
    from trailtools.investigations.cost.gather import investigate

    inv = investigate(source=str(case), start=START, end="2026-10-14")
    assert INSTANCE in set(inv.analysis.resources["resource_id"])  # which instance: from the resource-level rows
    assert any(p["path"].endswith("get-cost-and-usage-with-resources.json") for p in inv.provenance()["inputs"])


@pytest.mark.parametrize(("code", "message", "says"), [
    ("DataUnavailableException", "Data is not available. Please try again later", "turn on daily resource-level"),
    ("AccessDeniedException", "User is not authorized", "ce:GetCostAndUsageWithResources"),
])
def test_resource_level_cost_refused_is_one_sentence_and_the_rest_is_collected(aws_env, tmp_path, code, message,
                                                                               says):
    ce = _ce((code, message))
    case = tmp_path / "case"
    result = collect(case, start=START, end="2026-10-14", regions=[REGION], cost=True, clients=_clients(ce),
                     progress=False, now=dt.datetime(2026, 10, 15, tzinfo=dt.UTC))
    ce.stubber.assert_no_pending_responses()  # the anomalies were still asked for
    why = next(n["why"] for n in result.not_collected if n["what"].startswith("Resource-level cost"))
    assert says in why and why.endswith(".") and "\n" not in why and not re.search(r"\.\s+[A-Z]", why)
    assert (case / "cost" / "ce" / "get-anomalies.json").is_file()
    assert not (case / "cost" / "ce" / "get-cost-and-usage-with-resources.json").exists()


def test_a_window_older_than_14_days_has_no_resource_level_cost(aws_env, tmp_path):
    ce = _ce(None)
    result = collect(tmp_path / "case", start=START, end="2026-10-14", regions=[REGION], cost=True,
                     clients=_clients(ce), progress=False, now=dt.datetime(2026, 11, 20, tzinfo=dt.UTC))
    ce.stubber.assert_no_pending_responses()  # not asked for: it cannot answer
    why = next(n["why"] for n in result.not_collected if n["what"].startswith("Resource-level cost"))
    assert why.startswith("Expired") and "14 days" in why


def test_billing_periods_of_the_three_layouts():
    from trailtools.evidence.cost.cur import billing_period

    assert billing_period("p/x/data/BILLING_PERIOD=2026-10/x-00001.parquet") == ("2026-10", 3)
    assert billing_period("p/rep/20261001-20261101/asm-1/rep-1.csv.gz") == ("2026-10", 2)
    assert billing_period("p/rep/rep/year=2026/month=3/rep-00001.snappy.parquet") == ("2026-03", 3)
    for none in ("p/rep/crawler-cfn.yml", "p/rep/year=2026/x.parquet", "p/BILLING_PERIOD=2026-13/x.csv.gz",
                 "BILLING_PERIOD=2026-10"):  # no folder, no month, no such month, the file's own name
        assert billing_period(none) is None


def test_a_manifest_that_lists_none_of_the_files_present_does_not_hide_them(tmp_path):
    """Only the data synced, with a manifest of another update: the files are read (nothing to choose between)."""
    folder = tmp_path / "rep" / "20261001-20261101"
    (folder / "bbbb").mkdir(parents=True)
    (folder / "bbbb" / "acme-1.csv.zip").write_bytes(_legacy_zip(_rows()))
    (folder / "acme-Manifest.json").write_text(json.dumps({"reportKeys": ["cur/rep/20261001-20261101/cccc/acme-1.csv.zip"]}))
    data = read_cost(str(tmp_path), start=START, end="2026-11-01")
    assert round(data.frame["cost"].sum(), 6) == _total(_rows())


def test_cli_collect_cur_with_the_standard_chain(aws_env, tmp_path, capsys, api_calls):
    """``trailtools collect --cur`` with the credentials chain on moto: the report's month lands in the case, what
    moto lacks is one sentence each, and every call made is allowed by docs/iam-policy.json."""
    from conftest import ROOT

    from trailtools.cli import main

    now = dt.datetime.now(dt.UTC)
    month = f"{now:%Y-%m}"
    s3 = boto3.client("s3")
    bucket = _bucket(s3)
    key = f"{EXPORT}/data/BILLING_PERIOD={month}/acme-cur-00001.csv.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=_csv_gz(_rows(month)))
    case = tmp_path / "cli-case"
    code = main(["collect", str(case), "--region", REGION, "--start", f"{month}-01", "--end", f"{now:%Y-%m-%d}",
                 "--cur", f"s3://{bucket}/exports", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0 and "Run 1 of case" in out
    assert (case / "cost" / "cur" / "acme-cur" / "data" / f"BILLING_PERIOD={month}" / "acme-cur-00001.csv.gz").is_file()
    assert read_manifest(case)["runs"][0]["parameters"]["cur"] == f"s3://{bucket}/exports"
    for note in read_manifest(case)["runs"][0]["not_collected"]:
        assert note["why"].endswith(".") and "\n" not in note["why"] and "Traceback" not in note["why"], note
    policy = json.loads((ROOT / "docs" / "iam-policy.json").read_text())
    allowed = {a for s in policy["Statement"][:1] for a in s["Action"]}
    called = {a.replace("monitoring:", "cloudwatch:") for a in api_calls} - {"s3:CreateBucket", "s3:PutObject"}
    assert {"s3:ListBucket", "s3:GetObject"} <= called and called <= allowed, called - allowed
