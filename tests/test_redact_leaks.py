"""Redaction leaks (issue 17, item 6): encoded, dashed and IPv4-mapped forms, file names, failing notebooks.

Left in `trailtools report --redact` outputs before: URL-encoded account IDs and e-mails (``%3A111122223333``,
``%40``), dashed account IDs (``1111-2222-3333``), IPv4-mapped IPv6 (``::ffff:198.51.100.99`` kept three real
octets), the principal in the report's file names and the notebook's ``findings_json`` path, and a notebook that
failed left its unredacted .ipynb with an error quoting raw values.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_h17_term import LEAK_FORMS, leaky_trail

from trailtools.report.redact import Redactor

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(Path(__file__).resolve().parents[1]),
                                                               os.environ.get("PYTHONPATH")) if p)}


# ---- each form, at the unit level -----------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    # percent-encoded, as in console and presigned URLs, S3 keys, redirect parameters
    ("arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2FAdmin", "arn%3Aaws%3Aiam%3A%3A000000000001%3Arole%2FAdmin"),
    ("prefix=AWSLogs%2F111122223333%2FCloudTrail", "prefix=AWSLogs%2F000000000001%2FCloudTrail"),
    ("owner%3a111122223333;x", "owner%3a000000000001;x"),
    ("login_hint=alice%40example.com&x=1", "login_hint=user1%40example.invalid&x=1"),
    ("u=bob%2Btag%40corp.example.org", "u=user1%40example.invalid"),
    ("next=%2Fb%3Fa%3Dalice%2540example.com", "next=%2Fb%3Fa%3Duser1%2540example.invalid"),       # twice encoded
    ("arn%253Aaws%253Aiam%253A%253A111122223333%253A", "arn%253Aaws%253Aiam%253A%253A000000000001%253A"),
    ("ip=198%2E51%2E100%2E99", "ip=198%2E18%2E0%2E1"),
    ("from%3D198.51.100.99%26", "from%3D198.18.0.1%26"),
    ("host%3D2600%3A1f18%3A%3A5", "host%3D2001%3Adb8%3A%3A1"),
    # JSON / JavaScript escapes and HTML character references (and that text shown in a page: &amp;#64;)
    (r"alice\u0040example.com", r"user1\u0040example.invalid"),
    (r"acct\x3a111122223333", r"acct\x3a000000000001"),
    ("alice&#64;example.com and alice&#x40;example.com", "user1&#64;example.invalid and user1&#x40;example.invalid"),
    ("alice&amp;#64;example.com", "user1&amp;#64;example.invalid"),
    ("alice&commat;example.com", "user1&commat;example.invalid"),
    # dashed account IDs, as the console shows them
    ("Account ID: 1111-2222-3333.", "Account ID: 0000-0000-0001."),
    ("acct=1111-2222-3333&x", "acct=0000-0000-0001&x"),
    # IPv4-mapped IPv6: the IPv4 pseudonym, in the same form
    ("::ffff:198.51.100.99", "::ffff:198.18.0.1"),
    ("[::FFFF:198.51.100.99]:443", "[::FFFF:198.18.0.1]:443"),
    ("::ffff:c633:6463", "::ffff:c612:1"),
    ("from ::ffff:198.51.100.99.", "from ::ffff:198.18.0.1."),
])
def test_encoded_dashed_and_mapped_forms(text, expected):
    r = Redactor()
    out = r.redact_text(text)
    assert out == expected
    assert r.redact_text(out) == out  # redacting twice is harmless


def test_every_form_of_one_value_gets_its_one_pseudonym():
    r = Redactor()
    out = r.redact_text("111122223333 1111-2222-3333 %3A111122223333 %253A111122223333 alice@example.com "
                        "alice%40example.com alice&#64;example.com 198.51.100.99 ::ffff:198.51.100.99 "
                        "198%2E51%2E100%2E99 ::ffff:c633:6463")
    assert out == ("000000000001 0000-0000-0001 %3A000000000001 %253A000000000001 user1@example.invalid "
                   "user1%40example.invalid user1&#64;example.invalid 198.18.0.1 ::ffff:198.18.0.1 "
                   "198%2E18%2E0%2E1 ::ffff:c612:1")
    assert r.mapping() == {"111122223333": "000000000001", "alice@example.com": "user1@example.invalid",
                           "198.51.100.99": "198.18.0.1"}


@pytest.mark.parametrize("text", [
    "https://example.com/a%20b?q=%3Cscript%3E&x=%2F", "2026-10-06", "1111-2222-3333-4444", "12-1111-2222-3333",
    "tel 555-1234-5678x", "::ffff:127.0.0.1", "::ffff:0.0.0.0", "&lt;b&gt; &amp; &#39;x&#39;", r"\u003cdiv\u003e",
    "i-04c2a9e71d3b58f06%2Fvol-049df61146c4d7901", "%3A12345678901%3A", "%3A1234567890123%3A", "100%25 done",
])
def test_encoded_text_without_values_is_left_alone(text):
    r = Redactor()
    assert r.redact_text(text) == text
    assert r.mapping() == {}


def test_json_and_html_cover_the_encoded_forms():
    r = Redactor()
    doc = r.redact_json({"ua": "x?owner%3A111122223333&u=alice%40example.com", "ip": "::ffff:198.51.100.99",
                         "acct": "1111-2222-3333"})
    page = r.redact_html("<p title='alice%40example.com'>see alice&amp;#64;example.com from ::ffff:198.51.100.99 "
                         "<a href='https://console.aws.amazon.com/?a=1111-2222-3333'>x</a></p>"
                         '<script type="application/json">{"u": "alice\\u0040example.com %3A111122223333"}</script>')
    for text in (json.dumps(doc), page):
        for form in LEAK_FORMS:
            assert form not in text, (form, text)


# ---- through `trailtools report --redact`, as a user runs it ------------------------------------------------

def report(*args, tmpdir: Path):
    """``trailtools report ...`` in a subprocess, with its temporary files under ``tmpdir``."""
    tmpdir.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-m", "trailtools", "report", *args], capture_output=True, text=True,
                          env={**ENV, "TMPDIR": str(tmpdir)}, timeout=600)


def all_text(folder: Path) -> str:
    return "\n".join(p.name + "\n" + p.read_text(encoding="utf-8") for p in sorted(folder.iterdir()))


@pytest.mark.slow
def test_report_redacts_encoded_dashed_and_mapped_forms(tmp_path):
    trail, out = leaky_trail(tmp_path / "trail"), tmp_path / "out"
    p = report("reboot", "-p", "instance", "i-04c2a9e71d3b58f06", "-p", "start", "2026-10-06", "-p", "end",
               "2026-10-07", "--source", str(trail), "--out", str(out), "--redact", tmpdir=tmp_path / "tmp")
    assert p.returncode == 0, p.stderr
    files = sorted(out.iterdir())
    assert [f.suffix for f in files] == [".json", ".html", ".ipynb"]
    text = all_text(out)
    assert [form for form in LEAK_FORMS if form in text] == []
    doc = json.loads(next(f for f in files if f.name.endswith(".findings.json")).read_text())
    assert doc["verdict"]["cause"] == "api-call"
    assert doc["verdict"]["where"] == "::ffff:198.18.0.1"  # still an IPv4-mapped address, the IPv4's pseudonym
    assert "owner%3A000000000001" in text and "user1%40example.invalid" in text
    assert list((tmp_path / "tmp").iterdir()) == []  # the private work folder is gone


@pytest.mark.slow
def test_report_file_names_and_findings_json_path_hold_no_principal(tmp_path):
    principal = "arn:aws:iam::314159265358:user/emma.wilson"
    out = tmp_path / "out"
    p = report("login", "-p", "principal", principal, "-p", "start", "2026-10-08", "-p", "end", "2026-10-10",
               "-p", "baseline_days", "3", "--out", str(out), "--redact", tmpdir=tmp_path / "tmp")
    assert p.returncode == 0, p.stderr
    names = sorted(f.name for f in out.iterdir())
    # named by the redacted principal; the dot in emma.wilson no longer cuts the time stamp off two of them
    assert len(names) == 3 and all(re.match(r"suspicious_login-arn_aws_iam__000000000001_user_emma\.wilson-"
                                            r"\d{8}T\d{6}Z\.(html|ipynb|findings\.json)$", n) for n in names), names
    assert "314159265358" not in p.stdout  # the printed paths
    nb = json.loads((out / next(n for n in names if n.endswith(".ipynb"))).read_text())
    findings_json = nb["metadata"]["papermill"]["parameters"]["findings_json"]
    assert "emma" not in findings_json and "314159265358" not in findings_json and str(out) not in findings_json
    assert "314159265358" not in all_text(out)


@pytest.mark.slow
def test_a_failing_notebook_under_redact_leaves_nothing_and_quotes_no_value(tmp_path):
    out = tmp_path / "out"
    source = "/nonexistent/AWSLogs/111122223333/alice@example.com"
    p = report("reboot", "-p", "instance", "i-04c2a9e71d3b58f06", "--source", source, "--out", str(out),
               "--redact", tmpdir=tmp_path / "tmp")
    assert p.returncode == 2
    assert p.stderr.strip().splitlines()[-1].startswith("trailtools: The reboot notebook failed in cell ")
    assert "(SourceError)" in p.stderr and "Under --redact nothing is kept" in p.stderr
    assert "111122223333" not in p.stderr and "alice" not in p.stderr
    assert list(out.iterdir()) == [] and list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.slow  # render_html inlines the Vega bundle: a few seconds
def test_render_warnings_are_redacted_under_redact(caplog):
    """report_html logs the markup it rejects; under --redact that log quotes no original value."""
    import nbformat

    from trailtools.report.html import render_html
    from trailtools.report.run import _redacted_log

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output(
        "display_data", data={"text/html": "<img src=x title='alice%40example.com 111122223333'>",
                              "text/plain": "x"})])])
    r = Redactor()
    with caplog.at_level("WARNING"), _redacted_log(r, render_html.__module__):
        render_html(nb, title="t")
    assert "disallowed tag" in caplog.text and "user1%40example.invalid 000000000001" in caplog.text
    assert "alice" not in caplog.text and "111122223333" not in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"), _redacted_log(None, render_html.__module__):
        render_html(nb, title="t")
    assert "alice%40example.com 111122223333" in caplog.text  # without --redact: as it is
