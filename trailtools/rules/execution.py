"""Execution on instances and what it leads to: SSM SendCommand and StartSession, a Windows instance's password read
(GetPasswordData), and an instance's user data changed (the script it runs at boot), worst when between a stop and a
start of the same instance."""
from __future__ import annotations

import dataclasses

import pandas as pd

from trailtools.findings.model import Finding
from trailtools.rules.model import MAX_EVIDENCE, Hit, Rule, evidence, findings_from_hits, items, params, per_call, text

EC2 = "ec2.amazonaws.com"
SSM = "ssm.amazonaws.com"


def _instances(p: dict) -> list[str]:
    ids = p.get("instanceIds") or []
    ids = ids if isinstance(ids, list) else [ids]
    targets = [f"{text(t.get('Key'))}={','.join(map(text, t.get('Values') or []))}"
               for t in p.get("targets") or [] if isinstance(t, dict)]
    return [text(i) for i in ids] + targets


def _send_command(rows: pd.DataFrame, rule: Rule):
    hits = []
    for label, row in rows.iterrows():
        p = params(row["requestParameters"])
        where = ", ".join(_instances(p)) or "instances"
        doc = text(p.get("documentName")) or "a document"
        hits.append(Hit(label, where, f"ran {doc} on {where} through SSM SendCommand"))
    return findings_from_hits(rule, rows, hits)


def _state_changes(rows: pd.DataFrame, name: str) -> dict[str, list]:
    """Instance ID -> (time, row) of successful calls named ``name`` (StopInstances, StartInstances) touching it."""
    out: dict[str, list] = {}
    ok = rows["errorCode"].isna() & (rows["eventName"] == name)
    for _, row in rows[ok].iterrows():
        for item in items(params(row["requestParameters"]).get("instancesSet")):
            if isinstance(item, dict) and item.get("instanceId"):
                out.setdefault(text(item["instanceId"]), []).append((row["eventTime"], row))
    return out


def _user_data_changed(p: dict) -> bool:
    return "userData" in p or text(p.get("attribute")) == "userData"


def _user_data(rows: pd.DataFrame, rule: Rule):
    stops, starts = _state_changes(rows, "StopInstances"), _state_changes(rows, "StartInstances")
    within = pd.Timedelta(hours=rule.parameters["sequence_within_hours"])
    hits, around = [], {}
    for label, row in rows[rows["eventName"] == "ModifyInstanceAttribute"].iterrows():
        p = params(row["requestParameters"])
        if not _user_data_changed(p):
            continue
        instance, t = text(p.get("instanceId")) or "an instance", row["eventTime"]
        stopped = [r for s, r in stops.get(instance, ()) if t - within <= s <= t]
        started = [r for s, r in starts.get(instance, ()) if t <= s <= t + within]
        if stopped and started:
            hits.append(Hit(label, instance, f"stopped {instance}, changed its user data and started it again: "
                                             f"the new boot script ran"))
            around[text(row["eventID"])] = (stopped[-1], started[0], instance)
        else:
            after = " and started it" if started else ""
            hits.append(Hit(label, instance, f"changed the user data (boot script) of {instance}{after}",
                            "high" if started else "medium"))
    return [_with_steps(f, around) for f in findings_from_hits(rule, rows, hits)]


def _with_steps(finding: Finding, around: dict) -> Finding:
    """A stop, user data change, start sequence names the eventIDs of its three steps (the stop before the change,
    the start after it)."""
    refs = []
    for e in finding.evidence:
        if e.ref in around:
            stop, start, instance = around[e.ref]
            refs += [evidence(stop, f"stopped {instance}"), e, evidence(start, f"started {instance} again")]
        else:
            refs.append(e)
    return dataclasses.replace(finding, evidence=tuple(dict.fromkeys(refs))[:MAX_EVIDENCE])


RULES = (
    Rule("execution.ssm-send-command", "Commands run on instances through SSM", "medium",
         "TA0002 Execution", "T1651 Cloud Administration Command",
         ((SSM, "SendCommand"),), _send_command,
         "SSM SendCommand runs a script (AWS-RunShellScript, AWS-RunPowerShellScript ...) as root or SYSTEM on "
         "every targeted instance, with no SSH and no open port: attackers with the API use it to steal the "
         "instances' role credentials, install tools or move on. Administrators and automation use it too.",
         "Was it planned (a patch run, automation with a known role)? Read the command's output "
         "(GetCommandInvocation, or its S3/CloudWatch output) and check the instances for what it changed."),
    Rule("execution.ssm-start-session", "Interactive SSM session on an instance", "low",
         "TA0002 Execution", "T1651 Cloud Administration Command",
         ((SSM, "StartSession"),), per_call("target", "an instance", "opened an SSM shell session on {}"),
         "SSM StartSession opens a shell on the instance through the API: no SSH key, no open port, no bastion. "
         "Routine for administrators; from an unexpected credential or address it is someone at a root prompt.",
         "Whose session was it, and from where? Read the session's log if Session Manager logging is on (S3 or "
         "CloudWatch Logs), and check the instance for changes made during it."),
    Rule("execution.password-data-read", "Windows instance password data read", "medium",
         "TA0006 Credential Access", "T1555 Credentials from Password Stores",
         ((EC2, "GetPasswordData"),),
         per_call("instanceId", "an instance", "read the Windows administrator password data of {}"),
         "GetPasswordData returns a Windows instance's administrator password, encrypted with the instance's key "
         "pair: with the private key it is a local administrator login. Many calls across instances, or denied "
         "calls, are an attacker looking for one that works.",
         "Who needed the password, and do they hold the key pair? Change the instance's administrator password "
         "if the caller was not expected, and look for RDP sign-ins on the instance after the call."),
    Rule("execution.user-data-changed", "Instance user data changed", "high",
         "TA0002 Execution", "T1059 Command and Scripting Interpreter",
         ((EC2, "ModifyInstanceAttribute"), (EC2, "StopInstances"), (EC2, "StartInstances")), _user_data,
         "An instance's user data is the script cloud-init runs at boot, as root, with the instance's role: "
         "changing it (only possible while the instance is stopped) and starting the instance again runs the "
         "attacker's code there. Stop, change, start within a short time is the pattern; a change alone is "
         "medium.",
         "Read the instance's user data now (DescribeInstanceAttribute userData) and compare it with the expected "
         "one; check the instance for what the script did, and rotate the instance role's credentials.",
         parameters={"sequence_within_hours": 6},
         mitre_note="TrailDiscover maps ModifyInstanceAttribute to Privilege Escalation (T1098): the new user data "
                    "runs with the instance's role. The step itself is code execution at boot."),
)
