"""The demo account's stolen workload credentials (docs/demo-account.md, "Stolen Lambda credentials"): the
rightsizing Lambda's role session used with the AWS CLI from a VPS outside AWS. `trailtools hunt demo` and the login
investigation find it, critical, and nothing else in the demo looks like a workload credential used elsewhere."""
import json

import pytest

from trailtools import cli
from trailtools.demo import scenario as S
from trailtools.events.load import load_events
from trailtools.investigations.login.analysis import analyze_logins
from trailtools.rules.hunt import hunt

RULE = "credential-access.workload-credentials-stolen"
SESSION = f"{S.AUTOMATION.role_name}/{S.AUTOMATION.name}"


@pytest.fixture(scope="module")
def demo_frame():
    return load_events("demo").frame


def _planted(frame):
    """The theft's records: the issuing AssumeRole, the function's own call, the five calls from the VPS."""
    times = {S.iso_z(t) for t in (S.THEFT_ISSUED, S.THEFT_OWN_CALL, *S.THEFT_CALLS)}
    rows = frame[frame["eventTime"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").isin(times)
                 & (frame["actor"].astype(object).isin([SESSION, "lambda.amazonaws.com"]))]
    return rows.sort_values("eventTime")


def test_hunt_demo_finds_the_stolen_lambda_credentials(capsys, tmp_path):
    out = tmp_path / "hunt.json"
    assert cli.main(["hunt", "demo", "--start", "2026-10-13", "--end", "2026-10-14", "--rules", "credential-access",
                     "--json", str(out)]) == 0
    printed = capsys.readouterr()
    assert printed.out.splitlines()[1] == (
        "  critical: Credentials of Lambda function rightsizing-scheduler (role ops-automation-lambda) used from "
        "203.0.113.230, outside AWS, with the AWS CLI (Kali Linux)")
    assert "snapshot date 2026-10-26" in printed.err
    [f] = json.loads(out.read_text())["findings"]
    assert f["check"] == RULE and f["severity"] == "critical"


def test_the_finding_names_the_issuing_call_and_the_five_stolen_calls(demo_frame):
    [f] = hunt("demo", "2026-10-13", "2026-10-14", RULE).findings
    planted = _planted(demo_frame)
    issue, own, stolen = planted.iloc[0], planted.iloc[1], planted.iloc[2:]
    assert issue["eventName"] == "AssumeRole" and own["sourceIPAddress"] == S.AUTOMATION.ips[0]
    assert list(stolen["sourceIPAddress"]) == [S.THEFT_IP] * 5
    assert [e.ref for e in f.evidence] == [issue["eventID"], *stolen["eventID"]]
    assert f.extra["workload_kind"] == "Lambda function" and f.extra["outside_aws"]
    assert S.AUTOMATION.ips[0] in f.extra["home_addresses"]
    assert f.extra["access_keys"] == [own["userIdentity.accessKeyId"]]     # the very key the function was issued
    assert "issued by lambda.amazonaws.com" in f.explanation
    assert "GetSecretValue x1" in f.explanation


def test_nothing_else_in_the_demo_is_a_stolen_workload_credential():
    """Instance roles (the SSM agent, Boto3, the Go SDK from their instances), the rightsizing Lambda's own runs,
    AWS services: quiet over the whole account."""
    found = [f for f in hunt("demo").findings if f.check == RULE]
    assert [(f.severity, f.extra["address"]) for f in found] == [("critical", S.THEFT_IP)]


def test_the_login_investigation_finds_it(demo_frame):
    a = analyze_logins(demo_frame, start="2026-10-13", end="2026-10-14")
    assert a.findings[0].check == RULE and a.findings[0].severity == "critical"
    assert a.findings[0].extra["principal"] == SESSION
    only = analyze_logins(demo_frame, start="2026-10-13", end="2026-10-14", principal="rightsizing-scheduler")
    assert [f.check for f in only.findings if f.check == RULE] == [RULE]
