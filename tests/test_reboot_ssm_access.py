"""Restarts through Systems Manager patching and the person behind a shared OS account (EC2 Instance Connect), on
records in the shapes CloudTrail writes (SendSSHPublicKey and SendCommand as in the Stratus Red Team detonation
logs) and guest logs as rsyslog writes them, loaded through the real readers: should-fire and should-not-fire."""
import json

from test_reboot_causes import ACCOUNT, CMD, OTHER, I, evidence, guest, reboot_log, record, send_command, trail, user

from trailtools import Query, load_events
from trailtools.investigations.reboot.access import fingerprint
from trailtools.investigations.reboot.analysis import analyze
from trailtools.investigations.reboot.schedules import SETUP_CALLS

# the key of the Stratus Red Team detonation's SendSSHPublicKey, and its fingerprint as ssh-keygen -l prints it
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtAlK45MAEWZ7MUY2QEmi3M6W+peGL3VCrc0qH54xRu"
FP = "SHA256:xq6092IJhV+0W2wifL9mSmJHQoMb2h2KFNrpk4YEAW8"


def push(time, os_user="ec2-user", key=KEY, who="alice", n=30):
    return record("SendSSHPublicKey", time, user(who), {"instanceId": I, "instanceOSUser": os_user,
                                                        "sSHPublicKey": key},
                  {"requestId": "1f1786bd-e04c-4fd9-af8c-6a5d69376c41", "success": True},
                  "ec2-instance-connect.amazonaws.com", n, ip="203.0.113.40",
                  ua="aws-cli/2.17.32 md/command#ec2-instance-connect.send-ssh-public-key")


def ssh_then_reboot(fp=FP, at="14:00:41"):
    accepted = (f"Oct 20 {at} ip-10-0-1-23 sshd[2990]: Accepted publickey for ec2-user from 203.0.113.40 port "
                f"50022 ssh2: ED25519 {fp}\n")
    return accepted + reboot_log("ec2-user : TTY=pts/0 ; PWD=/home/ec2-user ; USER=root ; COMMAND=/sbin/reboot")


def test_fingerprint_is_ssh_keygens():
    assert fingerprint(KEY) == FP
    assert fingerprint("ssh-ed25519 not*base64") is None and fingerprint(None) is None


def test_ec2_user_was_the_person_who_pushed_the_key(tmp_path):
    calls = trail(tmp_path, push("2026-10-20T14:00:30Z"))
    v = analyze(evidence(calls, guest(tmp_path, ssh_then_reboot())))
    assert (v.cause, v.actor, v.confidence, v.where) == ("guest", "alice", "high", "203.0.113.40")
    assert v.how == "inside the guest (ec2-user, through EC2 Instance Connect)"
    assert "ec2-user ran /sbin/reboot; ec2-user was alice" in v.summary and "matched by key fingerprint" in v.summary
    assert [e.kind for e in v.evidence][:2] == ["cloudtrail", "guest-log"] and "SendSSHPublicKey" in v.evidence[0].summary


def test_another_key_or_another_os_user_or_a_late_login_is_not_the_push(tmp_path):
    other = "SHA256:q3LkX7Vf2mZ0pA9wH1cB4dE6gJ8kN5sT0uY2xR7vQ1o"
    v = analyze(evidence(trail(tmp_path, push("2026-10-20T14:00:30Z")), guest(tmp_path, ssh_then_reboot(other))))
    assert (v.cause, v.actor, v.how) == ("guest", "ec2-user", "inside the guest")
    v = analyze(evidence(trail(tmp_path, push("2026-10-20T14:00:30Z", os_user="ubuntu")),
                         guest(tmp_path, ssh_then_reboot())))
    assert v.actor == "ec2-user"
    v = analyze(evidence(trail(tmp_path, push("2026-10-20T13:50:00Z")), guest(tmp_path, ssh_then_reboot())))
    assert v.actor == "ec2-user"  # the pushed key had expired long before that login


def test_a_push_whose_key_was_not_logged_matches_by_time(tmp_path):
    calls = trail(tmp_path, push("2026-10-20T14:00:30Z", key=None))
    v = analyze(evidence(calls, guest(tmp_path, ssh_then_reboot())))
    assert (v.actor, v.confidence) == ("alice", "high") and "matched by time" in v.summary


# ---- AWS-RunPatchBaseline: the SSM agent reboots for the document -------------------------------------------------

def agent_reboot_log(command=CMD):
    """The agent's lines as rsyslog writes them (Amazon Linux 2), the reboot with no sudo, the next boot."""
    tag = f"[{command}.{I}]"
    return (f"Oct 20 14:00:12 ip-10-0-1-23 amazon-ssm-agent: 2026-10-20 14:00:12 INFO [ssm-agent-worker] {tag} "
            "Processing in-progress command AWS-RunPatchBaseline\n"
            "Oct 20 14:01:30 ip-10-0-1-23 yum[5012]: Installed: kernel-4.14.355-275.570.amzn2.x86_64\n"
            f"Oct 20 14:02:10 ip-10-0-1-23 amazon-ssm-agent: 2026-10-20 14:02:10 INFO [ssm-document-worker] {tag} "
            "Rebooting the machine: the document requested a reboot (exit code 194)\n"
            + reboot_log("", at="14:02").split("\n", 2)[2])  # the shutdown and boot, without the sudo line


def test_patch_baseline_reboot_by_the_agent_is_the_senders(tmp_path):
    calls = trail(tmp_path, send_command("2026-10-20T14:00:09Z", document="AWS-RunPatchBaseline"))
    logs = guest(tmp_path, agent_reboot_log())
    assert "reboot-command" in logs.events["kind"].tolist()
    v = analyze(evidence(calls, logs))
    assert (v.cause, v.actor, v.confidence) == ("ssm", "alice", "high")
    assert v.how == "SSM Run Command (AWS-RunPatchBaseline)" and "matched by command ID" in v.summary
    assert "the SSM agent rebooted the instance for it" in v.summary and "RebootIfNeeded" in v.summary
    assert v.evidence[1].summary.startswith("amazon-ssm-agent: ")


def test_the_agent_rebooting_for_another_command_is_not_this_one(tmp_path):
    calls = trail(tmp_path, send_command("2026-10-20T14:00:09Z", document="AWS-RunPatchBaseline"))
    v = analyze(evidence(calls, guest(tmp_path, agent_reboot_log("0b3a1c2d-9e8f-4a5b-8c7d-6e5f4a3b2c1d"))))
    assert v.cause == "guest" and v.actor != "alice"
    quiet = guest(tmp_path, "Oct 20 14:01:30 ip-10-0-1-23 yum[5012]: Installed: kernel-4.14.355-275.570.amzn2"
                            ".x86_64\n")
    v = analyze(evidence(calls, quiet))
    assert v.cause == "undetermined" and v.restart is None  # patched, no reboot: no restart


# ---- Maintenance Window tasks and State Manager associations ------------------------------------------------------

WINDOW, TARGET = "mw-0c50858d01EXAMPLE", "e32eecb2-646c-4f4b-8ed1-205fbEXAMPLE"
ASSOC = "8dfe3659-4309-493a-8755-0123456789ab"
SSM_ROLE = {"type": "AssumedRole", "principalId": "AROAEXAMPLESSMSLR:MaintenanceWindowExecution",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSServiceRoleForAmazonSSM/MaintenanceWindowExecution",
            "accountId": ACCOUNT,
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLESSMSLR",
                                                 "arn": f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/"
                                                        "ssm.amazonaws.com/AWSServiceRoleForAmazonSSM",
                                                 "accountId": ACCOUNT, "userName": "AWSServiceRoleForAmazonSSM"},
                               "attributes": {"creationDate": "2026-10-20T14:00:00Z", "mfaAuthenticated": "false"}},
            "invokedBy": "ssm.amazonaws.com"}


def register_task(document="AWS-RunPatchBaseline", who="dave", n=40):
    return record("RegisterTaskWithMaintenanceWindow", "2026-10-02T09:12:00Z", user(who),
                  {"windowId": WINDOW, "targets": [{"key": "WindowTargetIds", "values": [TARGET]}],
                   "taskArn": document, "taskType": "RUN_COMMAND",
                   "taskInvocationParameters": "HIDDEN_DUE_TO_SECURITY_REASONS", "priority": 1,
                   "maxConcurrency": "1", "maxErrors": "1", "name": "weekly-patching"},
                  {"windowTaskId": "4f7ca192-7e9a-40fe-9192-5cb15EXAMPLE"}, "ssm.amazonaws.com", n,
                  ua="aws-cli/2.17.32 md/command#ssm.register-task-with-maintenance-window")


def register_target(instance=I, who="dave", n=41):
    return record("RegisterTargetWithMaintenanceWindow", "2026-10-02T09:10:00Z", user(who),
                  {"windowId": WINDOW, "resourceType": "INSTANCE", "name": "app-servers",
                   "targets": [{"key": "InstanceIds", "values": [instance]}]},
                  {"windowTargetId": TARGET}, "ssm.amazonaws.com", n)


def window_command(time="2026-10-20T14:00:09Z"):
    rec = send_command(time, document="AWS-RunPatchBaseline", n=42)
    rec.update(userIdentity=SSM_ROLE, sourceIPAddress="ssm.amazonaws.com", userAgent="ssm.amazonaws.com")
    return rec


def setups_of(tmp_path, *records):
    path = tmp_path / "setups.json"
    path.write_text(json.dumps({"Records": list(records)}))
    return load_events(str(path), Query(event_names=SETUP_CALLS), cache=False).frame


def with_setups(ev, frame):
    ev.ssm_setups = frame
    return ev


def test_maintenance_window_patch_reboot_is_whoever_registered_the_task(tmp_path):
    records = (register_target(), register_task(), window_command())
    calls = trail(tmp_path, *records)
    assert calls["eventName"].tolist() == ["RegisterTargetWithMaintenanceWindow", "SendCommand"]  # not the task
    v = analyze(with_setups(evidence(calls, guest(tmp_path, agent_reboot_log())), setups_of(tmp_path, *records)))
    assert (v.cause, v.actor, v.confidence) == ("ssm", "dave", "high")
    assert v.how == "SSM Maintenance Window task (AWS-RunPatchBaseline)" and WINDOW in v.summary
    assert "Systems Manager's own call" in v.summary and "matched by command ID" in v.summary
    assert [e.summary.split(" ")[0] for e in v.evidence[:2]] == ["RegisterTaskWithMaintenanceWindow", "SendCommand"]
    alone = analyze(with_setups(evidence(calls), setups_of(tmp_path, *records)))  # the trail alone
    assert (alone.cause, alone.actor, alone.confidence) == ("ssm", "dave", "low") and "most likely" in alone.summary


def test_a_window_command_without_its_task_or_with_another_document_stays_the_services(tmp_path):
    calls = trail(tmp_path, window_command())
    logs = guest(tmp_path, agent_reboot_log())
    v = analyze(evidence(calls, logs))
    assert v.cause == "ssm" and v.actor.startswith("AWSServiceRoleForAmazonSSM")
    v = analyze(with_setups(evidence(calls, logs), setups_of(tmp_path, register_task("AWS-RunShellScript"))))
    assert v.actor.startswith("AWSServiceRoleForAmazonSSM")


def create_association(targets=(I,), who="erin", n=50):
    desc = {"name": "AWS-RunPatchBaseline", "associationVersion": "1", "date": "Oct 1, 2026, 9:00:00 AM",
            "overview": {"status": "Pending", "detailedStatus": "Creating"}, "documentVersion": "$DEFAULT",
            "parameters": "HIDDEN_DUE_TO_SECURITY_REASONS", "associationId": ASSOC,
            "targets": [{"key": "InstanceIds", "values": list(targets)}], "scheduleExpression": "rate(7 days)",
            "associationName": "weekly-patching"}
    return record("CreateAssociation", "2026-10-01T09:00:00Z", user(who),
                  {"name": "AWS-RunPatchBaseline", "parameters": "HIDDEN_DUE_TO_SECURITY_REASONS",
                   "targets": [{"key": "InstanceIds", "values": list(targets)}], "scheduleExpression": "rate(7 days)",
                   "associationName": "weekly-patching"}, {"associationDescription": desc}, "ssm.amazonaws.com", n)


def start_once(who="frank", n=51):
    return record("StartAssociationsOnce", "2026-10-20T14:00:05Z", user(who), {"associationIds": [ASSOC]}, None,
                  "ssm.amazonaws.com", n)


def status_report(instance=I, n=52):
    role = dict(SSM_ROLE, arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/app-server-role/{instance}", invokedBy=None)
    role.pop("invokedBy")
    return record("UpdateInstanceAssociationStatus", "2026-10-20T14:02:08Z", role,
                  {"associationId": ASSOC, "instanceId": instance,
                   "executionResult": {"status": "Success", "executionDate": "Oct 20, 2026, 2:02:08 PM",
                                       "executionSummary": "1 out of 1 plugin processed, 1 success"}},
                  None, "ssm.amazonaws.com", n, ip="10.0.1.23", ua="aws-sdk-go/1.44.260 (go1.20; linux; amd64)")


def test_an_association_started_by_a_person_is_theirs_matched_by_its_id(tmp_path):
    records = (create_association(), start_once())
    calls = trail(tmp_path, *records)
    v = analyze(with_setups(evidence(calls, guest(tmp_path, agent_reboot_log(ASSOC))), setups_of(tmp_path, *records)))
    assert (v.cause, v.actor, v.confidence) == ("ssm", "frank", "high")
    assert v.how == "SSM State Manager association (AWS-RunPatchBaseline)" and "matched by association ID" in v.summary
    assert "set up by erin with CreateAssociation" in v.summary and "frank started it now" in v.summary


def test_an_association_on_its_schedule_is_its_creators(tmp_path):
    records = (create_association(), status_report())
    calls = trail(tmp_path, *records)
    assert "UpdateInstanceAssociationStatus" in calls["eventName"].tolist()
    v = analyze(with_setups(evidence(calls, guest(tmp_path, agent_reboot_log(ASSOC))), setups_of(tmp_path, *records)))
    assert (v.cause, v.actor) == ("ssm", "erin") and "started it now" not in v.summary


def test_another_instances_association_explains_nothing(tmp_path):
    records = (create_association(targets=(OTHER,)), start_once())
    calls = trail(tmp_path, *records)
    v = analyze(with_setups(evidence(calls, guest(tmp_path, agent_reboot_log(ASSOC))), setups_of(tmp_path, *records)))
    assert v.cause == "guest" and v.actor not in ("erin", "frank")


def test_the_investigation_reads_the_window_task_from_the_whole_trail(tmp_path):
    from trailtools.investigations.reboot.gather import investigate

    (tmp_path / "trail.json").write_text(json.dumps({"Records": [register_target(), register_task(),
                                                                 window_command()]}))
    v = investigate(I, source=str(tmp_path), end="2026-10-25").verdict
    assert (v.cause, v.actor, v.confidence) == ("ssm", "dave", "low")
    assert v.how == "SSM Maintenance Window task (AWS-RunPatchBaseline)"
