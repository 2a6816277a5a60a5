"""Each investigation notebook, run by papermill in its own kernel against moto in server mode (the kernel gets
``AWS_ENDPOINT_URL`` and fake credentials from its environment), with ``source=s3://...`` holding part of the demo
account's trail (and, for the cost notebook, ``cost_source=s3://...`` holding its CUR 2.0 export), reaches the same
verdict as on the same files read from disk. And ``ce://`` reads Cost Explorer results seeded in moto.

Kept small: the days the two windows need (us-east-1, about 1,000 objects) are uploaded once for the module, and
for the cost notebook one day of ap-northeast-1 (25 objects) and two Parquet files; one papermill run per
notebook."""
import json
import re
import shutil
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import boto3
import nbformat
import pandas as pd
import papermill
import pytest
from conftest import ROOT

from trailtools.demo import ensure_demo_account

pytestmark = pytest.mark.slow  # runs notebooks or a browser: `make test`, not `make test-fast`

DAYS = ("06", "09", "10", "11")
REBOOT = {"instance": "i-04c2a9e71d3b58f06", "start": "2026-10-06T12:00:00Z", "end": "2026-10-06T18:00:00Z",
          "region": "us-east-1"}
LOGIN = {"start": "2026-10-11T00:00:00Z", "end": "2026-10-11T12:00:00Z", "baseline_days": 1}


@pytest.fixture(scope="module")
def kernel_env(moto_server, _demo_cache):
    """For the module: the environment papermill's kernels inherit (``AWS_ENDPOINT_URL`` = the moto server, fake
    credentials, no profile) and the session's demo account (as conftest's)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRAILTOOLS_DEMO_CACHE_DIR", str(_demo_cache))
        for k, v in (("AWS_ENDPOINT_URL", moto_server), ("AWS_ACCESS_KEY_ID", "testing"),
                     ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_DEFAULT_REGION", "us-east-1")):
            mp.setenv(k, v)
        for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            mp.delenv(k, raising=False)
        yield moto_server


def upload(bucket: str, local, files) -> None:
    """Put files (under the folder local) into a new moto bucket, each at its path relative to local."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda p: s3.upload_file(str(p), bucket, p.relative_to(local).as_posix()), files))


def copy_demo(demo, local, rels) -> list:
    """Copy the demo's folders rels to the same places under local: the files copied."""
    files = []
    for rel in rels:
        shutil.copytree(demo / rel, local / rel)
        files += sorted(p for p in (local / rel).rglob("*") if p.is_file())
    return files


@pytest.fixture(scope="module")
def demo_bucket(kernel_env, tmp_path_factory):
    """The demo's us-east-1 trail for DAYS, in a moto bucket (real layout) and in a local folder, byte for byte."""
    local = tmp_path_factory.mktemp("trail-copy")
    files = copy_demo(ensure_demo_account(), local,
                      [f"AWSLogs/314159265358/CloudTrail/us-east-1/2026/10/{day}" for day in DAYS])
    upload("acme-trail", local, files)
    return "s3://acme-trail", local


def run_notebook(name: str, params: dict, tmp_path) -> tuple[dict, list]:
    out, findings = tmp_path / "out.ipynb", tmp_path / "findings.json"
    papermill.execute_notebook(str(ROOT / "notebooks" / name), str(out),
                               parameters={**params, "findings_json": str(findings)}, kernel_name="python3",
                               progress_bar=False)
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    return json.loads(findings.read_text()), outputs


def test_reboot_notebook_over_s3_same_verdict_as_files(demo_bucket, tmp_path):
    from trailtools.investigations.reboot.gather import investigate

    uri, local = demo_bucket
    doc, outputs = run_notebook("reboot.ipynb", {**REBOOT, "source": uri}, tmp_path)
    expected = investigate(source=str(local), **REBOOT).to_dict()
    assert doc["source"] == uri
    assert doc["verdict"] == expected["verdict"]
    assert (doc["verdict"]["cause"], doc["verdict"]["actor"]) == ("api-call", "dave.miller")
    assert [f["title"] for f in doc["findings"]] == [f["title"] for f in expected["findings"]]
    trail = next(s for s in doc["sources"] if s["name"] == "CloudTrail")
    assert trail["status"] == "consulted"
    assert any("vega" in o.get("data", {}).get("text/html", "").lower() for o in outputs)


def test_login_notebook_over_s3_same_findings_as_files(demo_bucket, tmp_path):
    from trailtools.investigations.login.gather import investigate

    uri, local = demo_bucket
    doc, _ = run_notebook("suspicious_login.ipynb", {**LOGIN, "source": uri}, tmp_path)
    expected = investigate(source=str(local), **LOGIN).to_dict()
    got = [(f["severity"], f["check"], f["title"]) for f in doc["findings"]]
    assert got == [(f["severity"], f["check"], f["title"]) for f in expected["findings"]]
    assert got[0][:2] == ("critical", "login.session") and "emma.wilson" in got[0][2]
    assert doc["provenance"]["load_stats"]["events"] == expected["provenance"]["load_stats"]["events"]


# ---- the cost notebook: trail and CUR 2.0 export in moto buckets -------------------------------------------------

# Incident 7 (docs/demo-account.md): henry.park's RunInstances are in ap-northeast-1 on 2026-10-08; that day folder
# (25 objects) is all the trail the answer needs. The window is the demo's default: the 30 days before its "now".
COST = {"start": "2026-09-15", "end": "2026-10-15"}
HENRY = "arn:aws:sts::314159265358:assumed-role/AWSReservedSSO_DeveloperAccess_32cf9bf287f095e9/henry.park@example.com"
TOKYO = {"i-0c6e1f9a2d7b3e8f4", "i-01a7e3c9f5b2d6e80", "i-0e4b8d2f6a9c1357b", "i-05f9c3a7e1d4b2806"}


@pytest.fixture(scope="module")
def cost_buckets(kernel_env, tmp_path_factory):
    """The demo's ap-northeast-1 trail of 2026-10-08 and its CUR 2.0 export (both billing periods, Parquet), each in
    a moto bucket in its real layout and in a local folder: (trail URI, CUR URI, local trail, local CUR)."""
    demo = ensure_demo_account()
    trail, cur = tmp_path_factory.mktemp("cost-trail"), tmp_path_factory.mktemp("cost-cur")
    upload("acme-cost-trail", trail,
           copy_demo(demo, trail, ["AWSLogs/314159265358/CloudTrail/ap-northeast-1/2026/10/08"]))
    files = copy_demo(demo / "cost", cur, ["cur2/acme-cur2"])
    assert [p.name for p in files] == ["acme-cur2-00001.snappy.parquet"] * 2
    upload("acme-cur", cur, files)
    return "s3://acme-cost-trail", "s3://acme-cur/cur2/acme-cur2/", trail, cur / "cur2" / "acme-cur2"


def test_cost_notebook_over_s3_same_answer_as_files(cost_buckets, tmp_path):
    from trailtools.investigations.cost.gather import investigate

    trail_uri, cur_uri, trail, cur = cost_buckets
    doc, outputs = run_notebook("cost_spike.ipynb", {**COST, "source": trail_uri, "cost_source": cur_uri}, tmp_path)
    expected = investigate(source=str(trail), cost_source=str(cur), **COST).to_dict()
    assert (doc["source"], doc["cost_source"]) == (trail_uri, cur_uri)
    headline = doc["analysis"]["headline"]
    assert headline == expected["analysis"]["headline"]
    assert headline == investigate(**COST).analysis.headline          # the whole demo account says the same
    assert headline.startswith("AmazonEC2 in ap-northeast-1 rose from $0.00/day to $1,570.64/day on 2026-10-08")
    assert f"4 instances (1 p4d.24xlarge, 3 g5.12xlarge) created by {HENRY} at 2026-10-08 19:38 UTC" in headline
    assert doc["analysis"]["spike"] == expected["analysis"]["spike"]
    assert doc["findings"] == expected["findings"]
    main = doc["findings"][0]
    assert (main["check"], main["severity"], main["resource"]) == ("cost.spike", "high", "AmazonEC2 in ap-northeast-1")
    assert main["extra"]["principal"] == HENRY and set(main["extra"]["resources"][:4]) == TOKYO
    # both sources were read from the buckets, over HTTP
    assert {s["name"]: s["status"] for s in doc["sources"]} == {
        "Cost (CUR 2.0)": "consulted", "Cost Anomaly Detection": "unavailable", "CloudTrail": "consulted"}
    stats = doc["provenance"]["load_stats"]
    assert stats["cost"]["files_read"] == 2 and stats["cost"]["api_calls"] == 3       # one listing, two objects
    assert stats["events"] == expected["provenance"]["load_stats"]["events"] == 3     # henry's RunInstances
    inputs = [i["path"] for i in doc["provenance"]["inputs"]]
    assert [p for p in inputs if p.startswith(cur_uri)] == [
        f"{cur_uri}data/BILLING_PERIOD=2026-{m}/acme-cur2-00001.snappy.parquet" for m in ("09", "10")]
    # the trail's inputs are named as the objects holding henry's calls (not as the s3:// reader's cache copies)
    trail_inputs = [p for p in inputs if not p.startswith(cur_uri)]
    assert all(re.fullmatch(rf"{trail_uri}/AWSLogs/314159265358/CloudTrail/ap-northeast-1/2026/10/08/\S+\.json\.gz"
                            r" \(ETag \w+\)", p) for p in trail_inputs), trail_inputs
    assert sorted(p.split(" ")[0].rsplit("/", 1)[1] for p in trail_inputs) == sorted(
        p.rsplit("/", 1)[1] for p in (i["path"] for i in expected["provenance"]["inputs"]) if "CloudTrail" in p)
    # cost by service, by principal, the creating calls, the trail's coverage: four charts, none broken
    assert sum("application/vnd.vegalite.v6+json" in o.get("data", {}) for o in outputs) == 4
    assert not [o for o in outputs if "ImportError" in json.dumps(o.get("data", {}))]


# ---- ce://: Cost Explorer results seeded through moto's API --------------------------------------------------------

def seed_cost_and_usage(moto_server: str, results: list) -> None:
    """Queue GetCostAndUsage responses in moto: each new request (its body: window, grouping, page token) gets the
    next one (moto's ``/moto-api/static/ce/cost-and-usage-results``)."""
    req = urllib.request.Request(f"{moto_server}/moto-api/static/ce/cost-and-usage-results", method="POST",
                                 data=json.dumps({"results": results}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        assert resp.status == 201


def test_ce_reads_cost_explorer_results_seeded_in_moto_as_from_saved_json(aws_env, api_calls, monkeypatch,
                                                                          tmp_path):
    """The demo's saved Cost Explorer response (by service), served by moto in two pages, read by ``ce://`` over
    HTTP: the same cost frame as the saved JSON read from a file and as the same pages through Stubber.

    moto 5.2.5 has no GetAnomalies and no GetCostAndUsageWithResources (a 500 that the adaptive retries would wait
    out): they stay on Stubber (tests/test_cost_readers.py). Here the window is older than 14 days, so no resource
    call is made, and GetAnomalies is answered on the client itself with the demo's saved response, checked against
    the service model by Stubber."""
    import boto3
    from botocore.awsrequest import AWSResponse
    from botocore.stub import Stubber

    from trailtools import aws
    from trailtools.evidence.cost import read_cost

    saved = ensure_demo_account() / "cost" / "ce"
    doc = json.loads((saved / "get-cost-and-usage.by-service.json").read_text())
    anomalies = json.loads((saved / "get-anomalies.json").read_text())
    days = doc["ResultsByTime"]
    pages = [{**doc, "ResultsByTime": days[:22], "NextPageToken": "page-2"}, {**doc, "ResultsByTime": days[22:]}]
    window = {"start": "2026-09-01", "end": "2026-10-15"}
    want = {"TimePeriod": {"Start": "2026-09-01", "End": "2026-10-15"}, "Granularity": "DAILY",
            "Metrics": ["UnblendedCost", "UsageQuantity"], "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}]}
    want_anomalies = {"DateInterval": {"StartDate": "2026-09-01", "EndDate": "2026-10-15"}, "MaxResults": 100}
    checker = Stubber(boto3.client("ce", region_name="us-east-1"))
    checker.add_response("get_anomalies", anomalies)     # raises unless it has GetAnomalies' output shape
    seed_cost_and_usage(aws_env, pages)

    asked = []
    real_client = aws.client

    def client(service, **kw):
        c = real_client(service, **kw)
        c.meta.events.register("provide-client-params.ce.GetAnomalies", lambda params, **_: asked.append(params))
        c.meta.events.register("before-call.ce.GetAnomalies", lambda **_: (AWSResponse(None, 200, {}, None),
                                                                           json.loads(json.dumps(anomalies))))
        return c

    monkeypatch.setattr(aws, "client", client)
    live = read_cost("ce://?group_by=SERVICE", **window)
    assert live.kind == "Cost Explorer" and live.stats.api_calls == 3 and not live.stats.truncated
    assert asked == [want_anomalies]
    assert {"ce:GetCostAndUsage", "ce:GetAnomalies"} == api_calls
    assert any("covers only the last 14 days" in n for n in live.notes)

    (tmp_path / "ce").mkdir()
    for name in ("get-cost-and-usage.by-service.json", "get-anomalies.json"):
        shutil.copy(saved / name, tmp_path / "ce" / name)
    files = read_cost(str(tmp_path / "ce"), **window)
    assert files.kind == "Cost Explorer (saved)"
    pd.testing.assert_frame_equal(live.frame, files.frame)
    pd.testing.assert_frame_equal(live.anomalies, files.anomalies)
    assert round(live.frame["cost"].sum(), 2) == round(sum(
        float(g["Metrics"]["UnblendedCost"]["Amount"]) for d in days for g in d["Groups"]), 2)
    assert "Amazon Elastic Compute Cloud - Compute" in set(live.frame["service"])

    stubbed = boto3.client("ce", region_name="us-east-1")
    with Stubber(stubbed) as stub:
        stub.add_response("get_cost_and_usage", pages[0], want)
        stub.add_response("get_cost_and_usage", pages[1], {**want, "NextPageToken": "page-2"})
        stub.add_response("get_anomalies", anomalies, want_anomalies)
        monkeypatch.setattr(aws, "client", lambda *a, **k: stubbed)
        through_stubber = read_cost("ce://?group_by=SERVICE", **window)
        stub.assert_no_pending_responses()
    pd.testing.assert_frame_equal(live.frame, through_stubber.frame)
