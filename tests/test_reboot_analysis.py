"""The reboot analysis as pure functions: evidence in, verdict out (the demo's cases are in test_reboot_demo.py)."""
import pandas as pd
from conftest import STRATUS, need

from trailtools import Query, load_events
from trailtools.investigations.base import SourceStatus
from trailtools.investigations.reboot.analysis import (
    InstanceEvidence,
    analyze,
    how_called,
)
from trailtools.investigations.reboot.evidence_table import evidence_frame
from trailtools.investigations.reboot.verdict_findings import findings

I = "i-0123456789abcdef0"
T = pd.Timestamp
W = (T("2026-10-06T00:00Z"), T("2026-10-07T00:00Z"))
ALL_SOURCES = [SourceStatus(n, "consulted") for n in ("CloudTrail", "AWS Health", "EC2 scheduled events",
                                                      "Status checks (CloudWatch)", "Guest OS logs")]


def call(name, time, **kw):
    row = {"eventName": name, "eventTime": T(time), "eventID": f"id-{name}-{time}", "actor": "alice",
           "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2.15.0", "userIdentity.type": "IAMUser",
           "userIdentity.invokedBy": None, "sessionCredentialFromConsole": None, "errorCode": None}
    row.update(kw)
    return row


def boots(*rows):
    return pd.DataFrame([{"time": T(t), "clean": clean, "initiated_by": who, "command": cmd, "file": "messages",
                          "line": n} for n, (t, clean, who, cmd) in enumerate(rows, 1)])


def evidence(**kw):
    return InstanceEvidence(I, W, "test", sources=list(ALL_SOURCES), **kw)


def test_reboot_call_by_a_person_from_the_console():
    ev = evidence(calls=pd.DataFrame([call("RebootInstances", "2026-10-06T14:22:31Z",
                                           userAgent="Mozilla/5.0 (Macintosh)", sessionCredentialFromConsole="true")]),
                  guest_boots=boots(("2026-10-06T14:23:40Z", True, None, None)))
    v = analyze(ev)
    assert (v.cause, v.actor, v.how, v.confidence) == ("api-call", "alice", "AWS console", "high")
    assert v.restart == T("2026-10-06T14:23:40Z")
    assert [e.kind for e in v.evidence] == ["cloudtrail", "guest-log"]


def test_stop_start_by_a_lambda_is_automation():
    ua = "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux lang/python#3.12 exec-env/AWS_Lambda_python3.12"
    ev = evidence(calls=pd.DataFrame([
        call("StopInstances", "2026-10-06T01:00:07Z", userAgent=ua, actor="ops/rightsizing"),
        call("StartInstances", "2026-10-06T01:01:45Z", userAgent=ua, actor="ops/rightsizing")]))
    v = analyze(ev)
    assert (v.cause, v.how, v.confidence, v.actor) == ("automation", "Lambda function (SDK)", "high", "ops/rightsizing")
    assert "stopped and started" in v.summary


def test_host_failure_with_auto_recovery():
    ev = evidence(
        health=pd.DataFrame([{"arn": "arn:aws:health:us-east-1::event/EC2/AWS_EC2_INSTANCE_AUTO_RECOVERY_SUCCESS/x",
                              "eventTypeCode": "AWS_EC2_INSTANCE_AUTO_RECOVERY_SUCCESS", "eventTypeCategory": "issue",
                              "startTime": T("2026-10-06T09:10Z"), "endTime": T("2026-10-06T09:20Z")}]),
        status_failures=pd.DataFrame([{"metric": "StatusCheckFailed_System", "start": T("2026-10-06T09:05Z"),
                                       "end": T("2026-10-06T09:14Z"), "datapoints": 10}]),
        guest_boots=boots(("2026-10-06T09:16Z", False, None, None)))
    v = analyze(ev)
    assert (v.cause, v.confidence, v.how) == ("aws-host-failure", "high", "automatic recovery")
    assert {e.kind for e in v.evidence} == {"health", "metric", "guest-log"}


def test_unclean_boot_alone_is_an_unclean_shutdown_not_a_host_failure_and_names_missing_sources():
    ev = evidence(guest_boots=boots(("2026-10-06T09:16Z", False, None, None)))
    ev.sources[1] = SourceStatus("AWS Health", "unavailable", "SubscriptionRequiredException")
    v = analyze(ev)
    assert (v.cause, v.confidence, v.actor) == ("unclean-shutdown", "low", None)
    assert "power loss, host failure or kernel crash" in v.summary and "no AWS-side evidence" in v.summary
    assert "AWS Health could not be consulted" in v.would_change
    every_source = analyze(evidence(guest_boots=boots(("2026-10-06T09:16Z", False, None, None))))
    assert (every_source.cause, every_source.confidence) == ("unclean-shutdown", "medium")


def test_scheduled_maintenance():
    ev = evidence(scheduled=pd.DataFrame([{"code": "system-reboot", "eventId": "instance-event-0abc",
                                           "description": "[Completed] Scheduled reboot", "completed": True,
                                           "canceled": False, "notBefore": T("2026-10-06T03:00Z"),
                                           "notAfter": T("2026-10-06T05:00Z")}]),
                  guest_boots=boots(("2026-10-06T03:12Z", True, None, None)))
    v = analyze(ev)
    assert (v.cause, v.confidence) == ("aws-maintenance", "high")


def test_reboot_from_inside_the_guest():
    ev = evidence(guest_boots=boots(("2026-10-06T16:00Z", True, "mallory", "/sbin/reboot")))
    v = analyze(ev)
    assert (v.cause, v.actor, v.confidence) == ("guest", "mallory", "high")
    assert "mallory ran /sbin/reboot" in v.summary


def test_no_evidence_is_said_honestly():
    v = analyze(evidence())
    assert v.cause == "undetermined" and v.restart is None
    assert v.summary.startswith(f"No restart found: no evidence for {I} between 2026-10-06T00:00:00Z")


def test_failed_calls_do_not_explain_a_restart():
    ev = evidence(calls=pd.DataFrame([call("RebootInstances", "2026-10-06T10:00Z",
                                           errorCode="Client.UnauthorizedOperation")]))
    assert analyze(ev).cause == "undetermined"


def test_how_called():
    assert how_called(call("X", "2026-10-06T00:00Z", **{"userIdentity.type": "AWSService",
                                                       "userIdentity.invokedBy": "autoscaling.amazonaws.com"})) \
        == "AWS service (autoscaling.amazonaws.com)"
    assert how_called(call("X", "2026-10-06T00:00Z", userAgent="Terraform/1.6 (+https://www.terraform.io)")) \
        == "Terraform"
    assert how_called(call("X", "2026-10-06T00:00Z", userAgent="aws-cli/2.15.0 Python/3.11")) == "AWS CLI"


def test_upcoming_scheduled_event_is_a_finding():
    ev = evidence(scheduled=pd.DataFrame([{"code": "instance-retirement", "eventId": "e-1", "description": "degraded",
                                           "completed": False, "canceled": False, "notBefore": T("2026-10-20T00:00Z"),
                                           "notAfter": pd.NaT}]))
    fs = findings(ev, analyze(ev))
    assert [f.check for f in fs] == ["reboot.undetermined", "reboot.upcoming-event"]


def test_stratus_stop_start_sequence_is_an_api_call_by_a_person():
    """Real CloudTrail (Stratus Red Team detonation): StopInstances, ModifyInstanceAttribute, StartInstances."""
    inst = "i-DDd6c7B0e18F0E35f"
    res = load_events(str(need(STRATUS)), Query(resource=inst), cache=False)
    calls = res.frame
    window = (calls["eventTime"].min() - pd.Timedelta(hours=1), calls["eventTime"].max() + pd.Timedelta(hours=1))
    ev = InstanceEvidence(inst, window, "stratus", calls=calls, sources=[SourceStatus("CloudTrail", "consulted")])
    v = analyze(ev)
    assert (v.cause, v.actor, v.confidence) == ("api-call", "christophe", "high")
    assert "stopped and started" in v.summary
    frame = evidence_frame(ev)
    assert list(frame["lane"].unique()) == ["API calls"] and len(frame) >= 3


def test_aws_documentation_stop_and_start_examples():
    """AWS's own StopInstances and StartInstances examples (Alice, 2014): a stop and start by a person."""
    from conftest import AWSDOCS

    paths = [need(AWSDOCS / f"log-file-examples-0{n}-amazon-ec2-log-examples.json") for n in (1, 2)]
    frames = [load_events(str(p), cache=False).frame for p in paths]
    calls = pd.concat(frames, ignore_index=True).sort_values("eventTime")
    inst = calls["instanceIds"].iloc[0][0]
    window = (calls["eventTime"].min() - pd.Timedelta(hours=1), calls["eventTime"].max() + pd.Timedelta(hours=1))
    v = analyze(InstanceEvidence(inst, window, "aws-docs", calls=calls,
                                 sources=[SourceStatus("CloudTrail", "consulted")]))
    assert (v.cause, v.actor, v.confidence) == ("api-call", "Alice", "high")
    assert v.restart == pd.Timestamp("2014-03-06T21:22:54Z") and "stopped and started" in v.summary


def test_aws_guide_event_history_completed_reboot_is_maintenance_and_canceled_is_not():
    """The EC2 user guide's event history: one canceled and one completed system-reboot (IMDS shape)."""
    import json

    from conftest import DATASETS

    from trailtools.evidence import ec2

    guide = DATASETS / "awsdocs-examples" / "ec2-user-guide"
    path = need(next(iter(sorted(guide.glob("scheduled-events-04*"))), guide / "scheduled-events-04"))
    history = json.loads(path.read_text())
    events = [{"InstanceEventId": e["EventId"], "Code": e["Code"], "Description": e["Description"],
               "NotBefore": e["NotBefore"], "NotAfter": e["NotAfter"]} for e in history]
    scheduled = ec2.transform_instance_status({"InstanceStatuses": [{"InstanceId": I, "Events": events}]})
    completed = scheduled[scheduled["completed"]].iloc[0]
    canceled = scheduled[scheduled["canceled"]].iloc[0]
    window = (scheduled["notBefore"].min() - pd.Timedelta(days=1), scheduled["notAfter"].max() + pd.Timedelta(days=1))

    def boot_at(t):
        return pd.DataFrame([{"time": t, "clean": True, "initiated_by": None, "command": None, "file": "m", "line": 1}])

    done = InstanceEvidence(I, window, "aws-docs", scheduled=scheduled, guest_boots=boot_at(completed["notBefore"]
                                                                                           + pd.Timedelta(minutes=5)),
                            sources=list(ALL_SOURCES))
    v = analyze(done)
    assert (v.cause, v.confidence) == ("aws-maintenance", "high")
    assert v.evidence[0].ref == completed["eventId"]
    skipped = InstanceEvidence(I, window, "aws-docs", scheduled=scheduled,
                               guest_boots=boot_at(canceled["notBefore"] + pd.Timedelta(minutes=5)),
                               sources=list(ALL_SOURCES))
    assert analyze(skipped).cause == "guest"  # a canceled event explains nothing: a clean boot from inside


def test_aws_cli_health_operational_issue_with_an_unclean_boot_is_a_host_failure():
    """aws health describe-events example: closed AWS_EC2_OPERATIONAL_ISSUE events."""
    from conftest import CLI_EXAMPLES, cli_outputs

    from trailtools.evidence import health

    events = pd.concat([health.transform_events(r) for r in cli_outputs(CLI_EXAMPLES / "health" /
                                                                         "describe-events.rst")])
    issue = events[events["eventTypeCode"] == "AWS_EC2_OPERATIONAL_ISSUE"].iloc[[0]]
    start = issue["startTime"].iloc[0]
    window = (start - pd.Timedelta(hours=6), start + pd.Timedelta(hours=6))
    boot = pd.DataFrame([{"time": start + pd.Timedelta(minutes=20), "clean": False, "initiated_by": None,
                          "command": None, "file": "messages", "line": 9}])
    v = analyze(InstanceEvidence(I, window, "aws-docs", health=issue, guest_boots=boot, sources=list(ALL_SOURCES)))
    assert (v.cause, v.confidence) == ("aws-host-failure", "medium")
    assert v.evidence[0].kind == "health" and "AWS_EC2_OPERATIONAL_ISSUE" in v.evidence[0].summary
