"""``trailtools report hunt``: the hunt notebook run by papermill, rendered as the offline HTML report, and read in
headless Chromium as a reader sees it: the findings, the chains, the timeline drawn; on a trail and Sigma rules
carrying XSS payloads, every payload is text and none runs."""
from __future__ import annotations

import copy
import json

import pytest
from conftest import s3_path, write_gz
from test_report_html import PAYLOADS, Opened

from trailtools import cli
from trailtools.rules.examples import examples

pytestmark = pytest.mark.slow  # runs a notebook and a browser

#: The demo account's planted attacks that hunt reports critical (docs/demo-account.md): emma.wilson's self-granted
#: admin rights (incident 6), the stolen Lambda credentials, the backdoor login (incident 8).
DEMO_CRITICAL = ("gave itself admin-like permissions", "Credentials of Lambda function rightsizing-scheduler",
                 "Backdoor login? legacy-deploy set support-ops's console password")


def test_report_hunt_on_the_demo_shows_the_findings_and_draws_the_timeline(browser, tmp_path, capsys):
    assert cli.main(["report", "hunt", "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("critical: ") and any(what in printed[0] for what in DEMO_CRITICAL)
    html = next((tmp_path / "out").glob("hunt-demo-*.html"))
    doc = json.loads(next((tmp_path / "out").glob("hunt-demo-*.findings.json")).read_text())
    assert doc["investigation"] == "hunt"
    inputs = doc["provenance"]["inputs"]
    assert inputs and all(len(i.get("sha256", "")) == 64 for i in inputs)
    critical = [f for f in doc["findings"] if f["severity"] == "critical"]
    assert sorted(what for what in DEMO_CRITICAL for f in critical if what in f["title"]) == sorted(DEMO_CRITICAL)
    first_ids = [f["evidence"][0]["ref"] for f in doc["findings"]]
    chains = [c["name"] for c in doc["groups"]["chains"]]
    assert chains[:2] == ["chain 1", "chain 2"]
    opened = Opened(browser, html, tmp_path)
    opened.charts_rendered(1)

    def reader_sees(page):
        body = page.locator("main").inner_text()
        assert f"{len(doc['findings'])} findings from 21 rules" in body             # the answer box
        for what in DEMO_CRITICAL:
            assert what in body
        for event_id in first_ids:                                                 # the findings table
            assert event_id in body
        assert "sequences.backdoor-login" in body and chains[-1] in body
        assert "hunt.timeline()" not in body                                       # no code cells
        points = page.locator("#chart-0 .mark-symbol.role-mark path").count()       # one point per evidence event
        assert points >= len(doc["findings"])
        assert page.locator("#chart-0 .mark-rect.role-mark path").count() >= 1     # the events read, per bin
        assert "Inputs (0 files)" not in body                                      # the evidence's files, hashed
    opened.check(reader_sees)


def test_report_hunt_of_a_trail_and_sigma_rules_carrying_payloads(browser, tmp_path):
    """Actor names, request parameters and a Sigma rule's title carry payloads: findings, chains, the Sigma table
    and the timeline's tooltips show them as text."""
    recs = copy.deepcopy(examples("execution")["execution.ssm-start-session"]["fire"])
    recs += copy.deepcopy(examples("exposure")["exposure.snapshot-shared"]["fire"])
    recs += copy.deepcopy(examples("defense_evasion")["defense-evasion.flow-logs-deleted"]["fire"])
    assert len(recs) == len(PAYLOADS)       # each payload is one actor's name
    for n, rec in enumerate(recs):
        rec["userIdentity"]["userName"] = PAYLOADS[n % len(PAYLOADS)]
        rec["userIdentity"]["arn"] = f"arn:aws:iam::111122223333:user/{PAYLOADS[n % len(PAYLOADS)]}"
        rec["userAgent"] = PAYLOADS[(n + 1) % len(PAYLOADS)]
    write_gz(s3_path(tmp_path / "trail", "111122223333", "eu-west-1", "20261103T1200Z"), {"Records": recs})
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "session.yml").write_text(
        "title: " + json.dumps(PAYLOADS[1]) + "\nlevel: high\ndescription: " + json.dumps(PAYLOADS[0])
        + "\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel: {eventName: StartSession}\n"
        "  condition: sel\n")
    (rules / "broken.yml").write_text("title: " + json.dumps(PAYLOADS[2]) + "\ndetection: [\n")
    assert cli.main(["report", "hunt", "-p", "source", str(tmp_path / "trail"), "-p", "sigma", str(rules),
                     "--out", str(tmp_path / "out")]) == 0
    html = next((tmp_path / "out").glob("hunt-*.html"))
    opened = Opened(browser, html, tmp_path)
    opened.charts_rendered(1)
    opened.assert_inert("#chart-0 .mark-symbol.role-mark path")
    opened.check(lambda page: "matched the Sigma rule" in page.locator("main").inner_text())
