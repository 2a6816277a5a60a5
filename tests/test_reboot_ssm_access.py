"""Restarts through Systems Manager patching and the person behind a shared OS account (EC2 Instance Connect), on
records in the shapes CloudTrail writes (SendSSHPublicKey and SendCommand as in the Stratus Red Team detonation
logs) and guest logs as rsyslog writes them, loaded through the real readers: should-fire and should-not-fire."""
import pandas as pd
from test_reboot_causes import CMD, I, evidence, guest, reboot_log, record, send_command, trail, user

from trailtools.investigations.reboot.access import fingerprint
from trailtools.investigations.reboot.analysis import analyze

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
    assert analyze(evidence(calls, quiet)).cause == "undetermined"  # patched, no reboot: no restart
    assert pd.isna(analyze(evidence(calls, quiet)).restart) or analyze(evidence(calls, quiet)).restart is None
