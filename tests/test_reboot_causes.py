"""Reboot causes beyond a plain API call, on CloudTrail records in the shapes CloudTrail writes (SendCommand as in
the Stratus Red Team detonation logs, BidEvictedEvent as in the EC2 user guide) and guest logs as rsyslog writes
them: each loaded through the real readers (resource filter included), should-fire and should-not-fire."""
import json

import pandas as pd

from trailtools import Query, load_events
from trailtools.evidence import ec2
from trailtools.evidence.guest_logs import read_guest_logs
from trailtools.investigations.base import SourceStatus
from trailtools.investigations.reboot.analysis import InstanceEvidence, analyze

I = "i-0a1b2c3d4e5f67890"
OTHER = "i-0fedcba9876543210"
ACCOUNT = "123456789012"
W = (pd.Timestamp("2026-10-20T00:00Z"), pd.Timestamp("2026-10-21T00:00Z"))
CMD = "4e973221-443e-4a56-a0b4-1cb3c7923fc3"
WITH_GUEST = ["CloudTrail", "AWS Health", "EC2 scheduled events", "Status checks (CloudWatch)", "Guest OS logs"]


def user(name="alice"):
    return {"type": "IAMUser", "principalId": "AIDA10CZIPPG73T21TDI", "arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
            "accountId": ACCOUNT, "accessKeyId": "AKIAW9X2Q2U25SK79UCX", "userName": name}


def record(name, time, identity, request=None, response=None, source="ec2.amazonaws.com", n=0, **extra):
    return {"eventVersion": "1.08", "userIdentity": identity, "eventTime": time, "eventSource": source,
            "eventName": name, "awsRegion": "eu-west-1", "sourceIPAddress": extra.pop("ip", "198.51.100.7"),
            "userAgent": extra.pop("ua", "aws-cli/2.17.32 md/command#ssm.send-command"),
            "requestParameters": request, "responseElements": response,
            "requestID": f"1479b5e1-9751-4bd0-8c20-{n:012d}", "eventID": f"5288bfb8-e3fa-4c41-be02-{n:012d}",
            "readOnly": False, "eventType": extra.pop("eventType", "AwsApiCall"), "managementEvent": True,
            "recipientAccountId": ACCOUNT, "eventCategory": "Management", **extra}


def send_command(time, instances=(I,), document="AWS-RunShellScript", command=CMD, n=1, who="alice"):
    request = {"documentName": document, "instanceIds": list(instances), "interactive": False,
               "parameters": "HIDDEN_DUE_TO_SECURITY_REASONS"}
    response = {"command": {"commandId": command, "documentName": document, "documentVersion": "$DEFAULT",
                            "instanceIds": list(instances), "parameters": "HIDDEN_DUE_TO_SECURITY_REASONS",
                            "status": "Pending", "targetCount": len(instances), "targets": [],
                            "timeoutSeconds": 3600}}
    return record("SendCommand", time, user(who), request, response, "ssm.amazonaws.com", n)


def trail(tmp_path, *records, instance=I):
    path = tmp_path / "trail.json"
    path.write_text(json.dumps({"Records": list(records)}))
    return load_events(str(path), Query(resource=instance), cache=False).frame


def guest(tmp_path, text):
    path = tmp_path / "messages"
    path.write_text(text)
    return read_guest_logs([path], year=2026)


def evidence(calls, logs=None, sources=None):
    names = sources or (WITH_GUEST if logs is not None else WITH_GUEST[:-1])
    status = [SourceStatus(n, "consulted") for n in names]
    if logs is None:
        status.append(SourceStatus("Guest OS logs", "unavailable", "none given"))
        return InstanceEvidence(I, W, "test", calls=calls, sources=status)
    return InstanceEvidence(I, W, "test", calls=calls, guest_events=logs.events, guest_boots=logs.boots,
                            guest_ssh=logs.ssh, sources=status)


def reboot_log(sudo_line, at="14:02"):
    """A clean reboot at 14:02 (Amazon Linux 2023, rsyslog): the sudo line, the shutdown, the next boot."""
    return f"""Oct 20 13:55:01 ip-10-0-1-23 systemd[1]: Started session-4.scope - Session 4 of User ec2-user.
Oct 20 {at}:11 ip-10-0-1-23 sudo[3121]: {sudo_line}
Oct 20 {at}:11 ip-10-0-1-23 systemd-logind[1702]: The system will reboot now!
Oct 20 {at}:11 ip-10-0-1-23 systemd[1]: Stopped target Multi-User System.
Oct 20 {at}:12 ip-10-0-1-23 rsyslogd[1650]: [origin software="rsyslogd" swVersion="8.2204.0" x-pid="1650" \
x-info="https://www.rsyslog.com"] exiting on signal 15.
Oct 20 {at}:31 ip-10-0-1-23 kernel: Linux version 6.1.109-118.189.amzn2023.x86_64 (mockbuild@ip-10-0-33-20) \
(gcc (GCC) 11.4.1 20230605) #1 SMP PREEMPT_DYNAMIC Tue Sep 10 08:59:12 UTC 2024
Oct 20 {at}:33 ip-10-0-1-23 systemd[1]: Startup finished in 1.027s (kernel) + 2.211s (initrd) + 5.302s \
(userspace) = 8.541s.
"""


SSM_SUDO = (f"root : PWD=/var/lib/amazon/ssm/{I}/document/orchestration/{CMD}/awsrunShellScript/0.awsrunShellScript"
            " ; USER=root ; COMMAND=/sbin/reboot")


# ---- SSM Run Command -----------------------------------------------------------------------------------------------

def test_run_command_reboot_is_the_senders_with_the_trail_alone(tmp_path):
    calls = trail(tmp_path, send_command("2026-10-20T14:02:09Z"))
    v = analyze(evidence(calls))
    assert (v.cause, v.actor, v.confidence) == ("ssm", "alice", "low")
    assert v.how == "SSM Run Command (AWS-RunShellScript)" and CMD in v.summary
    assert "hides the command's parameters" in v.summary and v.evidence[0].kind == "cloudtrail"


def test_run_command_matched_to_the_guests_reboot_by_command_id(tmp_path):
    calls = trail(tmp_path, send_command("2026-10-20T14:02:09Z"))
    v = analyze(evidence(calls, guest(tmp_path, reboot_log(SSM_SUDO))))
    assert (v.cause, v.actor, v.confidence) == ("ssm", "alice", "high")
    assert "matched by command ID" in v.summary and "root ran /sbin/reboot" in v.summary
    assert [e.kind for e in v.evidence] == ["cloudtrail", "guest-log", "guest-log"]


def test_run_command_matched_by_time_when_the_line_has_no_command_id(tmp_path):
    calls = trail(tmp_path, send_command("2026-10-20T14:02:09Z"))
    line = "root : TTY=unknown ; PWD=/ ; USER=root ; COMMAND=/usr/sbin/reboot"
    v = analyze(evidence(calls, guest(tmp_path, reboot_log(line))))
    assert (v.cause, v.actor) == ("ssm", "alice") and "matched by time" in v.summary


def test_a_reboot_typed_in_an_ssh_terminal_is_not_the_run_command(tmp_path):
    calls = trail(tmp_path, send_command("2026-10-20T14:02:09Z"))
    line = "ec2-user : TTY=pts/0 ; PWD=/home/ec2-user ; USER=root ; COMMAND=/sbin/reboot"
    v = analyze(evidence(calls, guest(tmp_path, reboot_log(line))))
    assert (v.cause, v.actor) == ("guest", "ec2-user")


def test_another_commands_id_is_not_matched(tmp_path):
    calls = trail(tmp_path, send_command("2026-10-20T14:02:09Z"))
    other = SSM_SUDO.replace(CMD, "0b3a1c2d-9e8f-4a5b-8c7d-6e5f4a3b2c1d")
    v = analyze(evidence(calls, guest(tmp_path, reboot_log(other))))
    assert v.cause == "guest" and v.actor == "root"


def test_a_run_command_that_cannot_reboot_or_on_another_instance_explains_nothing(tmp_path):
    calls = trail(tmp_path, send_command("2026-10-20T14:02:09Z", document="AWS-UpdateSSMAgent"))
    assert analyze(evidence(calls)).cause == "undetermined"
    calls = trail(tmp_path, send_command("2026-10-20T14:02:09Z", instances=(OTHER, I)), instance=OTHER)
    assert calls["eventName"].tolist() == ["SendCommand"]
    assert analyze(evidence(calls)).cause == "ssm"  # it names both: each is the sender's
    failed = send_command("2026-10-20T14:02:09Z")
    failed.update(errorCode="AccessDenied", responseElements=None)
    assert analyze(evidence(trail(tmp_path, failed))).cause == "undetermined"


def test_run_command_with_guest_logs_that_show_no_boot_is_not_a_restart(tmp_path):
    calls = trail(tmp_path, send_command("2026-10-20T14:02:09Z"))
    quiet = guest(tmp_path, "Oct 20 14:02:11 ip-10-0-1-23 systemd[1]: Started session-4.scope - Session 4.\n")
    assert analyze(evidence(calls, quiet)).cause == "undetermined"


# ---- Session Manager -----------------------------------------------------------------------------------------------

def start_session(time, target=I, n=2):
    return record("StartSession", time, user("bob"), {"target": target},
                  {"sessionId": "bob-0a1b2c3d4e5f67890", "tokenValue": "Value hidden due to security reasons.",
                   "streamUrl": "wss://ssmmessages.eu-west-1.amazonaws.com/v1/data-channel/bob-0a1b2c3d4e5f67890"},
                  "ssm.amazonaws.com", n, ua="aws-cli/2.17.32 md/command#ssm.start-session")


def test_session_manager_shell_reboot_is_the_session_owners(tmp_path):
    calls = trail(tmp_path, start_session("2026-10-20T13:58:40Z"))
    line = "ssm-user : TTY=pts/0 ; PWD=/usr/bin ; USER=root ; COMMAND=/sbin/reboot"
    v = analyze(evidence(calls, guest(tmp_path, reboot_log(line))))
    assert (v.cause, v.actor, v.how, v.confidence) == ("ssm", "bob", "SSM Session Manager", "high")


def test_a_session_closed_before_the_reboot_explains_nothing(tmp_path):
    end = record("TerminateSession", "2026-10-20T13:59:30Z", user("bob"), {"sessionId": "bob-0a1b2c3d4e5f67890"},
                 {"sessionId": "bob-0a1b2c3d4e5f67890"}, "ssm.amazonaws.com", 3)
    calls = trail(tmp_path, start_session("2026-10-20T13:58:40Z"), end)
    calls = pd.concat([calls, load_events(str(tmp_path / "trail.json"), cache=False).frame
                       .query("eventName == 'TerminateSession'")], ignore_index=True)
    line = "ssm-user : TTY=pts/0 ; PWD=/usr/bin ; USER=root ; COMMAND=/sbin/reboot"
    v = analyze(evidence(calls, guest(tmp_path, reboot_log(line))))
    assert (v.cause, v.actor) == ("guest", "ssm-user")


# ---- Automation ----------------------------------------------------------------------------------------------------

EXECUTION = "4105a4fc-f944-11e6-9d32-0123456789ab"


def automation_records(stopper_session=EXECUTION):
    role = {"type": "AssumedRole", "principalId": f"AROAEXAMPLEAUTOMATION:{stopper_session}",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/AutomationServiceRole/{stopper_session}",
            "accountId": ACCOUNT, "accessKeyId": "ASIAEXAMPLEAUTOMATION",
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEAUTOMATION",
                                                 "arn": f"arn:aws:iam::{ACCOUNT}:role/AutomationServiceRole",
                                                 "accountId": ACCOUNT, "userName": "AutomationServiceRole"},
                               "attributes": {"creationDate": "2026-10-20T14:00:03Z", "mfaAuthenticated": "false"}}}
    start = record("StartAutomationExecution", "2026-10-20T14:00:02Z", user("carol"),
                   {"documentName": "AWS-RestartEC2Instance",
                    "parameters": {"InstanceId": [I],
                                   "AutomationAssumeRole": [f"arn:aws:iam::{ACCOUNT}:role/AutomationServiceRole"]}},
                   {"automationExecutionId": EXECUTION}, "ssm.amazonaws.com", 4, ip="203.0.113.50",
                   ua="aws-cli/2.17.32 md/command#ssm.start-automation-execution")
    item = {"instancesSet": {"items": [{"instanceId": I}]}}
    stop = record("StopInstances", "2026-10-20T14:00:05Z", role, item,
                  {"instancesSet": {"items": [{"instanceId": I, "currentState": {"code": 64, "name": "stopping"},
                                               "previousState": {"code": 16, "name": "running"}}]}}, n=5,
                  ip="10.0.0.1", ua="Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux lang/python#3.11")
    begin = record("StartInstances", "2026-10-20T14:01:40Z", role, item,
                   {"instancesSet": {"items": [{"instanceId": I, "currentState": {"code": 0, "name": "pending"},
                                                "previousState": {"code": 80, "name": "stopped"}}]}}, n=6,
                   ip="10.0.0.1", ua="Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux lang/python#3.11")
    return start, stop, begin


def test_automation_restart_is_the_starters(tmp_path):
    calls = trail(tmp_path, *automation_records())
    v = analyze(evidence(calls))
    assert (v.cause, v.actor, v.confidence) == ("ssm", "carol", "high")
    assert v.how == "SSM Automation (AWS-RestartEC2Instance)" and v.where == "203.0.113.50"
    assert [e.summary.split(" ")[0] for e in v.evidence] == ["StartAutomationExecution", "StopInstances",
                                                             "StartInstances"]


def test_a_stop_start_by_a_person_after_an_automation_is_the_persons(tmp_path):
    start, stop, begin = automation_records()
    stop["userIdentity"] = begin["userIdentity"] = user("carol")
    v = analyze(evidence(trail(tmp_path, start, stop, begin)))
    assert (v.cause, v.actor) == ("api-call", "carol")


# ---- Spot interruption ---------------------------------------------------------------------------------------------

def bid_evicted(time, instances=(I,)):
    """The EC2 user guide's BidEvictedEvent example ("Determine whether Amazon EC2 terminated a Spot Instance"),
    with its capitalized RequestParameters/ResponseElements and an identity that is only an account and a service."""
    return {"eventVersion": "1.05", "userIdentity": {"accountId": ACCOUNT, "invokedBy": "ec2.amazonaws.com"},
            "eventTime": time, "eventSource": "ec2.amazonaws.com", "userAgent": "ec2.amazonaws.com",
            "sourceIPAddress": "ec2.amazonaws.com", "eventName": "BidEvictedEvent", "awsRegion": "us-east-2",
            "eventID": "d27a6096-807b-4bd0-8c20-a33a83375054", "eventType": "AwsServiceEvent",
            "recipientAccountId": ACCOUNT, "RequestParameters": None, "ResponseElements": None,
            "serviceEventDetails": {"instanceIdSet": list(instances)}}


def test_spot_interruption_is_found_by_the_resource_filter_and_is_aws(tmp_path):
    calls = trail(tmp_path, bid_evicted("2026-10-20T22:30:00Z"))
    assert calls["eventName"].tolist() == ["BidEvictedEvent"]
    v = analyze(evidence(calls))
    assert (v.cause, v.actor, v.how, v.confidence) == ("spot-interruption", "AWS", "Spot interruption", "high")
    assert "Spot interruption (AWS reclaimed the capacity" in v.summary
    assert v.evidence[0].ref == "d27a6096-807b-4bd0-8c20-a33a83375054"


def test_another_instances_spot_interruption_and_a_persons_terminate_are_not_spot(tmp_path):
    calls = trail(tmp_path, bid_evicted("2026-10-20T22:30:00Z", instances=(OTHER,)))
    assert calls.empty
    term = record("TerminateInstances", "2026-10-20T22:30:00Z", user("dave"), {"instancesSet": {"items": [
        {"instanceId": I}]}}, None, n=9)
    v = analyze(evidence(trail(tmp_path, term)))
    assert (v.cause, v.actor) == ("api-call", "dave") and "terminated" in v.summary


# ---- EC2's own reason (describe-instances StateReason / StateTransitionReason) --------------------------------------

def described(code=None, message=None, transition=""):
    """A describe-instances response as the EC2 API returns it (StateReason only after a stop or termination)."""
    inst = {"InstanceId": I, "InstanceType": "m5.large", "LaunchTime": "2026-10-01T08:00:00+00:00",
            "Placement": {"AvailabilityZone": "eu-west-1a"}, "State": {"Code": 80, "Name": "stopped"},
            "StateTransitionReason": transition, "Tags": [{"Key": "Name", "Value": "batch-07"}]}
    if code:
        inst["StateReason"] = {"Code": code, "Message": message or code}
    return ec2.transform_instances({"Reservations": [{"ReservationId": "r-0123456789abcdef0", "Instances": [inst]}]})


def with_facts(ev, facts):
    ev.instance_facts = facts
    return ev


def test_spot_termination_reason_alone_is_a_spot_interruption(tmp_path):
    facts = described("Server.SpotInstanceTermination", "Server.SpotInstanceTermination: Spot instance termination",
                      "Service initiated (2026-10-20 22:30:00 GMT)")
    v = analyze(with_facts(evidence(trail(tmp_path)), facts))
    assert (v.cause, v.actor, v.confidence) == ("spot-interruption", "AWS", "medium")
    assert v.restart == pd.Timestamp("2026-10-20T22:30:00Z") and v.evidence[0].kind == "ec2-state"


def test_state_reason_joins_a_verdict_it_supports(tmp_path):
    facts = described("Server.SpotInstanceTermination", "Server.SpotInstanceTermination: Spot instance termination")
    v = analyze(with_facts(evidence(trail(tmp_path, bid_evicted("2026-10-20T22:30:00Z"))), facts))
    assert (v.cause, v.confidence) == ("spot-interruption", "high")
    assert [e.kind for e in v.evidence] == ["cloudtrail", "ec2-state"]
    stop = record("StopInstances", "2026-10-20T14:00:05Z", user("dave"), {"instancesSet": {"items": [
        {"instanceId": I}]}}, None, n=7, ua="Mozilla/5.0 (X11; Linux x86_64)")
    facts = described("Client.UserInitiatedShutdown", "Client.UserInitiatedShutdown: User initiated shutdown",
                      "User initiated (2026-10-20 14:00:05 GMT)")
    v = analyze(with_facts(evidence(trail(tmp_path, stop)), facts))
    assert (v.cause, v.actor) == ("api-call", "dave") and v.evidence[-1].ref == "Client.UserInitiatedShutdown"


def test_instance_initiated_shutdown_alone_points_inside_the_guest(tmp_path):
    facts = described("Client.InstanceInitiatedShutdown",
                      "Client.InstanceInitiatedShutdown: Instance initiated shutdown")
    v = analyze(with_facts(evidence(trail(tmp_path)), facts))
    assert (v.cause, v.confidence, v.how) == ("guest", "low", "inside the guest")


def test_a_state_reason_that_disagrees_is_said_not_obeyed(tmp_path):
    stop = record("StopInstances", "2026-10-20T14:00:05Z", user("dave"), {"instancesSet": {"items": [
        {"instanceId": I}]}}, None, n=7)
    facts = described("Server.ScheduledStop", "Server.ScheduledStop: Stopped due to scheduled retirement")
    v = analyze(with_facts(evidence(trail(tmp_path, stop)), facts))
    assert (v.cause, v.actor) == ("api-call", "dave") and "Server.ScheduledStop" in v.would_change


def test_no_state_reason_changes_nothing(tmp_path):
    running = described(transition="")
    v = analyze(with_facts(evidence(trail(tmp_path)), running))
    assert v.cause == "undetermined" and v.summary.startswith("No restart found")


# ---- Auto Scaling --------------------------------------------------------------------------------------------------

ASG_ROLE = {"type": "AssumedRole", "principalId": "AROAEXAMPLEASG:AutoScaling",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSServiceRoleForAutoScaling/AutoScaling",
            "accountId": ACCOUNT,
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEASG",
                                                 "arn": f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/"
                                                        "autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
                                                 "accountId": ACCOUNT, "userName": "AWSServiceRoleForAutoScaling"},
                               "attributes": {"creationDate": "2026-10-20T09:14:02Z", "mfaAuthenticated": "false"}},
            "invokedBy": "autoscaling.amazonaws.com"}


def asg_terminate(time="2026-10-20T09:14:05Z"):
    return record("TerminateInstances", time, ASG_ROLE, {"instancesSet": {"items": [{"instanceId": I}]}},
                  {"instancesSet": {"items": [{"instanceId": I, "currentState": {"code": 32, "name": "shutting-down"},
                                               "previousState": {"code": 16, "name": "running"}}]}}, n=11,
                  ip="autoscaling.amazonaws.com", ua="autoscaling.amazonaws.com")


def test_auto_scaling_termination_is_a_replacement_not_a_stop_and_start(tmp_path):
    v = analyze(evidence(trail(tmp_path, asg_terminate())))
    assert (v.cause, v.confidence) == ("automation", "high")
    assert v.actor.startswith("AWSServiceRoleForAutoScaling")
    assert "replaced by Auto Scaling" in v.summary and "new instance launched" in v.summary
    assert "not stopped and started" in v.summary


def test_a_scale_in_asked_by_a_person_is_a_removal(tmp_path):
    ask = record("TerminateInstanceInAutoScalingGroup", "2026-10-20T09:14:01Z", user("erin"),
                 {"instanceId": I, "shouldDecrementDesiredCapacity": True}, None, "autoscaling.amazonaws.com", 12)
    v = analyze(evidence(trail(tmp_path, ask, asg_terminate())))
    assert "removed by Auto Scaling" in v.summary and "erin asked for it" in v.summary
    assert [e.summary.split(" ")[0] for e in v.evidence] == ["TerminateInstanceInAutoScalingGroup",
                                                             "TerminateInstances"]


def test_a_terminate_by_a_person_is_not_auto_scaling(tmp_path):
    term = record("TerminateInstances", "2026-10-20T09:14:05Z", user("dave"), {"instancesSet": {"items": [
        {"instanceId": I}]}}, None, n=13)
    v = analyze(evidence(trail(tmp_path, term)))
    assert v.cause == "api-call" and "Auto Scaling" not in v.summary


# ---- an unclean boot -----------------------------------------------------------------------------------------------

def test_unclean_boot_from_real_logs_is_an_unclean_shutdown_and_ec2s_internal_error_makes_it_a_host_failure(tmp_path):
    logs = guest(tmp_path, "Oct 20 03:11:30 ip-10-0-1-23 CRON[4420]: (root) CMD (/usr/local/bin/backup.sh)\n"
                           "Oct 20 03:13:02 ip-10-0-1-23 kernel: Linux version 6.1.109-118.189.amzn2023.x86_64 "
                           "(mockbuild@ip-10-0-33-20) (gcc (GCC) 11.4.1 20230605) #1 SMP PREEMPT_DYNAMIC\n")
    v = analyze(evidence(trail(tmp_path), logs))
    assert (v.cause, v.confidence, v.actor) == ("unclean-shutdown", "medium", None)
    facts = described("Server.InternalError", "Server.InternalError: Internal error on launch")
    v = analyze(with_facts(evidence(trail(tmp_path), logs), facts))
    assert (v.cause, v.actor, v.confidence) == ("aws-host-failure", "AWS", "high")
    assert v.evidence[-1].ref == "Server.InternalError"


# ---- the instance's name and type ----------------------------------------------------------------------------------

def test_name_and_type_from_describe_instances(tmp_path):
    v = analyze(with_facts(evidence(trail(tmp_path, bid_evicted("2026-10-20T22:30:00Z"))), described()))
    assert (v.name, v.instance_type) == ("batch-07", "m5.large")
    assert v.summary.startswith(f"{I} (batch-07, m5.large) was interrupted")
    assert v.to_dict()["name"] == "batch-07" and v.to_dict()["instance_type"] == "m5.large"


def test_name_and_type_from_the_trail_last_tag_and_resize_win(tmp_path):
    run = record("RunInstances", "2026-10-20T08:00:00Z", user("dave"),
                 {"instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890", "minCount": 1, "maxCount": 1}]},
                  "instanceType": "t3.small",
                  "tagSpecificationSet": {"items": [{"resourceType": "instance",
                                                     "tags": [{"key": "Name", "value": "api-3"}]}]}},
                 {"instancesSet": {"items": [{"instanceId": I, "imageId": "ami-0abcdef1234567890",
                                              "instanceType": "t3.small", "currentState": {"code": 0,
                                                                                           "name": "pending"},
                                              "tagSet": {"items": [{"key": "Name", "value": "api-3"}]}}]}}, n=20)
    rename = record("CreateTags", "2026-10-20T09:00:00Z", user("dave"),
                    {"resourcesSet": {"items": [{"resourceId": I}]},
                     "tagSet": {"items": [{"key": "Name", "value": "api-3-blue"}]}}, {"_return": True}, n=21)
    elsewhere = record("CreateTags", "2026-10-20T09:30:00Z", user("dave"),
                       {"resourcesSet": {"items": [{"resourceId": OTHER}, {"resourceId": "vol-0123456789abcdef0"}]},
                        "tagSet": {"items": [{"key": "Name", "value": "not-this-one"}]}}, {"_return": True}, n=22)
    resize = record("ModifyInstanceAttribute", "2026-10-20T13:59:00Z", user("dave"),
                    {"instanceId": I, "instanceType": {"value": "m5.xlarge"}}, {"_return": True}, n=23)
    stop = record("StopInstances", "2026-10-20T13:58:00Z", user("dave"), {"instancesSet": {"items": [
        {"instanceId": I}]}}, None, n=24)
    start = record("StartInstances", "2026-10-20T14:00:00Z", user("dave"), {"instancesSet": {"items": [
        {"instanceId": I}]}}, None, n=25)
    calls = trail(tmp_path, run, rename, elsewhere, stop, resize, start)
    assert "CreateTags" in calls["eventName"].tolist()
    v = analyze(evidence(calls))
    assert (v.cause, v.actor, v.name, v.instance_type) == ("api-call", "dave", "api-3-blue", "m5.xlarge")
    assert v.summary.startswith(f"{I} (api-3-blue, m5.xlarge) was stopped and started by dave")


def test_no_name_no_label(tmp_path):
    v = analyze(evidence(trail(tmp_path, bid_evicted("2026-10-20T22:30:00Z"))))
    assert (v.name, v.instance_type) == (None, None) and v.summary.startswith(f"{I} was interrupted")


def test_a_user_initiated_stop_bears_out_an_automations_stop_start(tmp_path):
    facts = described("Client.UserInitiatedShutdown", "Client.UserInitiatedShutdown: User initiated shutdown",
                      "User initiated (2026-10-20 14:00:05 GMT)")
    v = analyze(with_facts(evidence(trail(tmp_path, *automation_records())), facts))
    assert (v.cause, v.actor) == ("ssm", "carol") and v.evidence[-1].ref == "Client.UserInitiatedShutdown"
    assert "points to" not in v.would_change


def test_the_investigation_finds_an_old_spot_interruption_and_a_lone_run_command_in_its_search(tmp_path):
    """No start given: the window is centred on the interruption (or the command), not the last 7 days."""
    from trailtools.investigations.reboot.gather import investigate

    spot = tmp_path / "spot"
    spot.mkdir()
    (spot / "trail.json").write_text(json.dumps({"Records": [bid_evicted("2026-10-02T22:30:00Z")]}))
    v = investigate(I, source=str(spot), end="2026-10-25").verdict
    assert (v.cause, v.actor) == ("spot-interruption", "AWS")
    ssm = tmp_path / "ssm"
    ssm.mkdir()
    (ssm / "trail.json").write_text(json.dumps({"Records": [send_command("2026-10-03T09:00:00Z")]}))
    v = investigate(I, source=str(ssm), end="2026-10-25").verdict
    assert (v.cause, v.actor, v.confidence) == ("ssm", "alice", "low")


def test_another_roles_stop_during_an_automation_is_that_roles(tmp_path):
    start, stop, begin = automation_records(stopper_session="frank@example.com")
    for r in (stop, begin):
        r["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"] = "AWSReservedSSO_Admin_0123456789abcdef"
    v = analyze(evidence(trail(tmp_path, start, stop, begin)))
    assert v.cause == "api-call" and v.actor != "carol"
