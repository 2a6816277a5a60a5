"""Each investigation notebook, run by papermill in its own kernel against moto in server mode (the kernel gets
``AWS_ENDPOINT_URL`` and fake credentials from its environment), with ``source=s3://...`` holding part of the demo
account's trail, reaches the same verdict as on the same files read from disk.

Kept small: the days the two windows need (us-east-1, about 1,000 objects) are uploaded once for the module; one
papermill run per notebook."""
import json
import shutil
from concurrent.futures import ThreadPoolExecutor

import boto3
import nbformat
import papermill
import pytest

from conftest import ROOT
from trailtools.demo import ensure_demo_account

DAYS = ("06", "09", "10", "11")
REBOOT = {"instance": "i-04c2a9e71d3b58f06", "start": "2026-10-06T12:00:00Z", "end": "2026-10-06T18:00:00Z",
          "region": "us-east-1"}
LOGIN = {"start": "2026-10-11T00:00:00Z", "end": "2026-10-11T12:00:00Z", "baseline_days": 1}


@pytest.fixture(scope="module")
def demo_bucket(moto_server, tmp_path_factory, _demo_cache):
    """The demo's us-east-1 trail for DAYS, in a moto bucket (real layout) and in a local folder, byte for byte."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRAILTOOLS_DEMO_CACHE_DIR", str(_demo_cache))  # the session's demo account, as conftest's
        for k, v in (("AWS_ENDPOINT_URL", moto_server), ("AWS_ACCESS_KEY_ID", "testing"),
                     ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_DEFAULT_REGION", "us-east-1")):
            mp.setenv(k, v)
        for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            mp.delenv(k, raising=False)
        demo = ensure_demo_account()
        local = tmp_path_factory.mktemp("trail-copy")
        files = []
        for day in DAYS:
            rel = f"AWSLogs/314159265358/CloudTrail/us-east-1/2026/10/{day}"
            shutil.copytree(demo / rel, local / rel)
            files += sorted((local / rel).iterdir())
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="acme-trail")
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda p: s3.upload_file(str(p), "acme-trail", p.relative_to(local).as_posix()), files))
        yield "s3://acme-trail", local


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
    from trailtools.reboot_investigation import investigate

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
    from trailtools.login_investigation import investigate

    uri, local = demo_bucket
    doc, _ = run_notebook("suspicious_login.ipynb", {**LOGIN, "source": uri}, tmp_path)
    expected = investigate(source=str(local), **LOGIN).to_dict()
    got = [(f["severity"], f["check"], f["title"]) for f in doc["findings"]]
    assert got == [(f["severity"], f["check"], f["title"]) for f in expected["findings"]]
    assert got[0][:2] == ("critical", "login.session") and "emma.wilson" in got[0][2]
    assert doc["provenance"]["load_stats"]["events"] == expected["provenance"]["load_stats"]["events"]
