"""`trailtools report`: one command from a notebook to .ipynb + offline .html + .findings.json."""
import datetime as dt
import json
import re
import subprocess
import sys

import pytest

from trailtools.errors import TrailtoolsError
from trailtools.findings.schema import validate
from trailtools.report import run as report

pytestmark = pytest.mark.slow  # runs notebooks or a browser: `make test`, not `make test-fast`

NOW = dt.datetime(2026, 11, 27, 12, 0, 0, tzinfo=dt.UTC)
DB02 = "i-0b81f3d6c2e9a4775"


@pytest.fixture(scope="module")
def db02_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    return report.run("reboot", {"instance": DB02}, out_dir=out, now=NOW)


def test_files_named_by_notebook_key_parameter_and_time(db02_report):
    assert db02_report.html.name == f"reboot-{DB02}-20261127T120000Z.html"
    assert db02_report.findings.name == f"reboot-{DB02}-20261127T120000Z.findings.json"
    assert db02_report.notebook.exists() and not list(db02_report.html.parent.glob("*raw-findings*"))


def test_findings_json_follows_the_schema(db02_report):
    doc = json.loads(db02_report.findings.read_text())
    assert validate(doc) == []
    assert doc["investigation"] == "reboot" and doc["parameters"] == {"instance": DB02}
    assert doc["verdict"]["cause"] == "aws-host-failure"
    assert {s["name"] for s in doc["sources"]} >= {"CloudTrail", "AWS Health"}


def test_html_is_one_offline_file_with_the_verdict_first_and_no_code(db02_report):
    page = db02_report.html.read_text()
    assert "recovered automatically" in page
    assert page.index("trailtools-verdict") < page.index("Provenance")
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']?https?:", page)
    assert "investigate(instance" not in page  # no code cells by default
    assert "SHA-256" in page and "Load statistics" in page


def test_same_inputs_same_bytes(tmp_path, db02_report):
    again = report.run("reboot", {"instance": DB02}, out_dir=tmp_path, now=NOW)
    assert again.html.read_bytes() == db02_report.html.read_bytes()
    assert again.findings.read_bytes() == db02_report.findings.read_bytes()


def test_redacted_report_keeps_no_original_value(tmp_path):
    paths = report.run("reboot", {"instance": "i-04c2a9e71d3b58f06"}, out_dir=tmp_path, redact=True, now=NOW)
    for path in (paths.html, paths.findings, paths.notebook):
        text = path.read_text()
        for secret in ("314159265358", "198.51.100.40", "AIDAR6SYJGSXNYK4KOFX2"):
            assert secret not in text, (path.name, secret)
    doc = json.loads(paths.findings.read_text())
    assert doc["verdict"]["cause"] == "api-call" and doc["verdict"]["actor"] == "dave.miller"


def test_a_failing_notebook_is_one_readable_error_and_keeps_the_notebook(tmp_path):
    with pytest.raises(TrailtoolsError, match=r"failed in cell \d+: QueryError: 'i-nothex' is not an EC2 instance ID"
                                              r".*kept at .*reboot-i-nothex"):
        report.run("reboot", {"instance": "i-nothex"}, out_dir=tmp_path, now=NOW)
    assert list(tmp_path.glob("reboot-i-nothex-*.ipynb"))


def test_unknown_investigation_or_parameter(tmp_path):
    with pytest.raises(TrailtoolsError, match="There is no 'nope' investigation"):
        report.run("nope", {}, out_dir=tmp_path)
    with pytest.raises(TrailtoolsError, match="has no parameter 'instanceid'"):
        report.run("reboot", {"instanceid": DB02}, out_dir=tmp_path)


def test_cli_report_prints_the_paths_and_lists_notebooks(tmp_path):
    p = subprocess.run([sys.executable, "-m", "trailtools", "report", "reboot", "-p", "instance",
                        "i-09d4b7e2f6a3c1508", "--source", "demo", "--out", str(tmp_path)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    answer, *printed = p.stdout.splitlines()
    assert answer.startswith("i-09d4b7e2f6a3c1508") and "stopped and started by ops-automation-lambda" in answer, answer
    assert printed[0].endswith(".html") and printed[1].endswith(".findings.json") and printed[2].endswith(".ipynb")
    assert "without encryption" not in p.stderr  # the report's kernel talks over Unix sockets, not TCP
    listing = subprocess.run([sys.executable, "-m", "trailtools", "report", "--list"], capture_output=True, text=True)
    assert "reboot: why did this EC2 instance restart?" in listing.stdout and "-p instance" in listing.stdout
