"""Every planted restart of the demo account gets its right verdict: through the Python API, the JSON, and the
notebook run headless by papermill (docs/demo-account.md is the answer key)."""
import html
import json

import nbformat
import papermill
import pytest
from conftest import ROOT

from trailtools.errors import QueryError
from trailtools.investigations.reboot.gather import investigate

# instance -> (cause, actor, how, restart time)
EXPECTED = {
    "i-04c2a9e71d3b58f06": ("api-call", "dave.miller", "AWS console", "2026-10-06T14:22:58Z"),
    "i-0b81f3d6c2e9a4775": ("aws-host-failure", "AWS", "automatic recovery", "2026-10-08T03:49:12Z"),
    "i-07e5d2b9a1c4f3806": ("aws-maintenance", "AWS", "scheduled maintenance", "2026-10-09T02:37:49Z"),
    "i-0f2a6c8e4b1d97a35": ("guest", "ec2-user", "inside the guest", "2026-10-13T16:05:41Z"),
    "i-09d4b7e2f6a3c1508": ("automation", "ops-automation-lambda/rightsizing-scheduler", "Lambda function (SDK)",
                            None),
    # incidents 9 and 10 (issue 19): a patching reboot through SSM by a person, a Spot interruption
    "i-0c3e5a7b9d1f24680": ("ssm", "AWSReservedSSO_PowerUserAccess_99623630b4454eb1/carol@example.com",
                            "SSM Run Command (AWS-RunPatchBaseline)", "2026-10-10T03:07:16Z"),
    "i-0d5f7b9c1e3a46802": ("spot-interruption", "AWS", "Spot interruption", "2026-10-14T23:21:09Z"),
}


@pytest.mark.parametrize("instance", sorted(EXPECTED))
def test_each_planted_restart(instance):
    cause, actor, how, restart = EXPECTED[instance]
    inv = investigate(instance)
    v = inv.verdict
    assert (v.cause, v.actor, v.how) == (cause, actor, how), v.summary
    assert v.confidence == "high"
    if restart:
        assert v.to_dict()["restart"] == restart
    data = json.loads(inv.to_json())
    assert data["verdict"]["cause"] == cause and data["findings"][0]["check"] == f"reboot.{cause}"
    assert {s["name"] for s in data["sources"]} == {"CloudTrail", "AWS Health", "EC2 scheduled events",
                                                    "Status checks (CloudWatch)", "EC2 console output",
                                                    "Guest OS logs"}


def test_host_failure_evidence_chain():
    v = investigate("i-0b81f3d6c2e9a4775").verdict
    kinds = [e.kind for e in v.evidence]
    assert "health" in kinds and "metric" in kinds and "guest-log" in kinds
    assert any("AWS_EC2_INSTANCE_AUTO_RECOVERY_SUCCESS" in e.summary for e in v.evidence)


def test_healthy_instance_with_upcoming_retirement():
    inv = investigate("i-0a7c9e1b3d5f72468")
    assert inv.verdict.cause == "undetermined" and inv.verdict.summary.startswith("No restart found")
    assert [f.check for f in inv.findings] == ["reboot.undetermined", "reboot.upcoming-event"]


def test_bad_instance_id_is_one_clear_error():
    with pytest.raises(QueryError, match="is not an EC2 instance ID"):
        investigate("i-nothex")


def test_unknown_instance_says_no_evidence():
    v = investigate("i-0123456789abcdef0").verdict
    assert v.cause == "undetermined"
    assert "no evidence for i-0123456789abcdef0" in v.summary


# The notebook headless for three kinds of verdict: a person through the console, AWS with its Health and metric
# evidence, and a restart from inside the guest. Each of the seven planted causes has its verdict checked above; one
# notebook run costs 10-20 s, and the notebook's cells are the same for every cause.
@pytest.mark.slow
@pytest.mark.parametrize("instance", ["i-04c2a9e71d3b58f06", "i-0b81f3d6c2e9a4775", "i-0f2a6c8e4b1d97a35"])
def test_notebook_runs_headless(instance, tmp_path):
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(str(ROOT / "notebooks" / "reboot.ipynb"), str(out),
                               parameters={"instance": instance}, kernel_name="python3", progress_bar=False)
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    htmls = [o["data"].get("text/html", "") for o in outputs if "data" in o]
    verdict = html.unescape(next(h for h in htmls if "trailtools-verdict" in h))
    cause, actor, _, _ = EXPECTED[instance]
    assert actor in verdict
    assert any("vega" in h.lower() for h in htmls), "the timeline chart is missing"


def test_console_output_is_consulted_and_shown():
    inv = investigate("i-0b81f3d6c2e9a4775")
    status = {s.name: s.status for s in inv.evidence.sources}
    assert status["EC2 console output"] == "consulted"
    table = inv.evidence_table().frame
    console = table[table["what"] == "console-output"]
    assert len(console) and console["detail"].str.contains("Linux version").any()


def test_describe_instances_reach_the_evidence_and_name_the_instance():
    inv = investigate("i-04c2a9e71d3b58f06")
    facts = inv.evidence.instance_facts
    assert facts["instanceId"].tolist() == ["i-04c2a9e71d3b58f06"] and facts["name"].iloc[0] == "web-01"
    v = inv.verdict
    assert v.name == "web-01" and v.instance_type == facts["instanceType"].iloc[0]
    assert v.summary.startswith(f"i-04c2a9e71d3b58f06 (web-01, {v.instance_type}) was rebooted by dave.miller")
    assert f"i-04c2a9e71d3b58f06 (web-01, {v.instance_type})" in html.unescape(inv.answer_box().data)


def test_patching_reboot_through_ssm_is_carols_matched_by_command_id():
    inv = investigate("i-0c3e5a7b9d1f24680")
    v = inv.verdict
    assert "matched by command ID" in v.summary and "RebootIfNeeded" in v.summary
    assert "b7e3c1d9-5a2f-4e86-9c14-3f0a8d6e2b57" in v.summary and v.where == "192.0.2.45"
    assert [e.kind for e in v.evidence] == ["cloudtrail", "guest-log", "guest-log"]
    assert "Rebooting the machine" in v.evidence[1].summary and "{" not in v.evidence[1].summary  # not the JSON
    table = inv.evidence_table().frame
    assert table["what"].iloc[0] == "SendCommand" and table["lane"].iloc[1] == "Guest OS"
    assert not table["detail"].astype(str).str.contains("__CURSOR").any()
    guest = table[table["lane"] == "Guest OS"]
    assert guest["detail"].str.contains("System is rebooting").sum() == 1  # messages and journal: shown once


def test_spot_interruption_with_its_state_reason():
    inv = investigate("i-0d5f7b9c1e3a46802")
    v = inv.verdict
    assert (v.name, v.instance_type) == ("render-spot-09", "c5.xlarge")
    assert [e.kind for e in v.evidence] == ["cloudtrail", "ec2-state"]
    assert v.evidence[-1].ref == "Server.SpotInstanceTermination"
    assert inv.evidence.instance_facts["state"].tolist() == ["terminated"]
    # the replacement is another instance: its own calls are its launch, nothing restarted it
    other = investigate("i-0a2c4e6f8b1d35790").verdict
    assert other.cause == "undetermined" and other.summary.startswith("No restart found")
