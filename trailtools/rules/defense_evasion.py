"""Defense evasion and impact: logs deleted (CloudWatch log groups, VPC flow logs), GuardDuty switched off or its
members removed, a KMS key scheduled for deletion, the account taken out of its organization."""
from __future__ import annotations

import pandas as pd

from trailtools.rules.model import Hit, Rule, findings_from_hits, params, per_call, text

GUARDDUTY = "guardduty.amazonaws.com"
#: GuardDuty calls that remove a detector or its members (UpdateDetector only with ``enable: false``).
GUARDDUTY_REMOVALS = ("DeleteDetector", "DeleteMembers", "DisassociateMembers", "StopMonitoringMembers",
                      "DisassociateFromMasterAccount", "DisassociateFromAdministratorAccount")


def _flow_log_ids(p: dict) -> list[str]:
    request = p.get("DeleteFlowLogsRequest", p)
    ids = request.get("FlowLogId") or request.get("flowLogIds") or []
    ids = ids if isinstance(ids, list) else [ids]
    return [text(i.get("content") if isinstance(i, dict) else i) for i in ids]


def _flow_logs(rows: pd.DataFrame, rule: Rule):
    hits = []
    for label, row in rows.iterrows():
        ids = ", ".join(_flow_log_ids(params(row["requestParameters"]))) or "flow logs"
        hits.append(Hit(label, ids, f"deleted VPC flow logs {ids}"))
    return findings_from_hits(rule, rows, hits)


def _guardduty(rows: pd.DataFrame, rule: Rule):
    hits = []
    for label, row in rows.iterrows():
        p, name = params(row["requestParameters"]), text(row["eventName"])
        detector = text(p.get("detectorId")) or "a detector"
        if name == "UpdateDetector":
            if p.get("enable") is not False:
                continue
            what = f"disabled GuardDuty detector {detector}"
        elif name == "DeleteDetector":
            what = f"deleted GuardDuty detector {detector}"
        elif name.startswith("DisassociateFrom"):
            what = f"detached GuardDuty detector {detector} from its administrator account"
        else:
            accounts = ", ".join(text(a) for a in p.get("accountIds") or []) or "member accounts"
            what = f"removed {accounts} from GuardDuty detector {detector} ({name})"
        hits.append(Hit(label, detector, what))
    return findings_from_hits(rule, rows, hits)


def _kms(rows: pd.DataFrame, rule: Rule):
    hits = []
    for label, row in rows.iterrows():
        p = params(row["requestParameters"])
        key = text(p.get("keyId")) or "a KMS key"
        days = p.get("pendingWindowInDays")
        hits.append(Hit(label, key, f"scheduled KMS key {key} for deletion"
                                    + (f" in {days} days" if days not in (None, "") else "")))
    return findings_from_hits(rule, rows, hits)


def _leave(rows: pd.DataFrame, rule: Rule):
    hits = [Hit(label, text(row["recipientAccountId"]) or "the account",
                f"took account {text(row['recipientAccountId'])} out of its AWS organization")
            for label, row in rows.iterrows()]
    return findings_from_hits(rule, rows, hits)


RULES = (
    Rule("defense-evasion.log-group-deleted", "CloudWatch log group deleted", "medium",
         "TA0005 Defense Evasion", "T1562.008 Impair Defenses: Disable or Modify Cloud Logs",
         (("logs.amazonaws.com", "DeleteLogGroup"),),
         per_call("logGroupName", "a log group", "deleted CloudWatch log group {}"),
         "Deleting a log group erases every log event in it (application, VPC, Lambda, CloudTrail-to-CloudWatch "
         "logs) at once: attackers do it to remove the traces of what they did. Infrastructure teardown "
         "(CloudFormation, Terraform) deletes log groups too.",
         "Was the log group part of a planned teardown (a stack deletion, a change ticket)? If not: which logs did "
         "it hold, and what did the same credential do just before? Restore from any export or subscription copy.",
         mitre_note="TrailDiscover maps DeleteLogGroup to T1562.001 (Disable or Modify Tools); deleted logs are "
                    "ATT&CK's cloud-logs sub-technique T1562.008."),
    Rule("defense-evasion.flow-logs-deleted", "VPC flow logs deleted", "high",
         "TA0005 Defense Evasion", "T1562.008 Impair Defenses: Disable or Modify Cloud Logs",
         (("ec2.amazonaws.com", "DeleteFlowLogs"),), _flow_logs,
         "Deleting a flow log stops the record of network traffic in and out of a VPC, subnet or interface: the "
         "connections an attacker makes next (exfiltration, command and control) are no longer logged.",
         "Recreate the flow log. Check what the same credential did before and after, and which network traffic "
         "the missing logs would have shown (instances in that VPC, security group changes).",
         mitre_note="TrailDiscover maps DeleteFlowLogs to T1089, a revoked technique whose successor is T1562; "
                    "flow logs are cloud logs (T1562.008)."),
    Rule("defense-evasion.guardduty-disabled", "GuardDuty detector or members removed", "high",
         "TA0005 Defense Evasion", "T1562.001 Impair Defenses: Disable or Modify Tools",
         tuple((GUARDDUTY, n) for n in GUARDDUTY_REMOVALS + ("UpdateDetector",)), _guardduty,
         "GuardDuty is the account's threat detector: deleting or disabling a detector, removing member accounts, "
         "stopping their monitoring or detaching from the administrator account blinds it, so the attacker's next "
         "steps raise no GuardDuty finding.",
         "Re-enable GuardDuty and re-add the members. Review GuardDuty's findings up to the change, and everything "
         "the same credential did after it."),
    Rule("defense-evasion.kms-key-deletion", "KMS key scheduled for deletion", "high",
         "TA0040 Impact", "T1485 Data Destruction",
         (("kms.amazonaws.com", "ScheduleKeyDeletion"),), _kms,
         "Once a KMS key is deleted, everything encrypted under it (EBS volumes, snapshots, S3 objects, RDS "
         "databases, secrets) can never be decrypted again. Attackers schedule deletion to destroy data or to hold "
         "it to ransom; the waiting period (7 to 30 days) is the time left to stop it.",
         "Cancel the deletion (CancelKeyDeletion) unless it was planned, then re-enable the key. Find what the key "
         "protects, and who else the same credential touched."),
    Rule("defense-evasion.left-organization", "Account left its AWS organization", "high",
         "TA0005 Defense Evasion", "T1070 Indicator Removal",
         (("organizations.amazonaws.com", "LeaveOrganization"),), _leave,
         "An account that leaves its organization escapes the organization's service control policies, its "
         "organization trail and its central security services (GuardDuty, Security Hub): the attacker is free of "
         "the guardrails and out of the security team's view.",
         "Ask the organization's owners whether the move was planned. Check the account's trail and security "
         "services after the call, and what the same credential did before it."),
)
