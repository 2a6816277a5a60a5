"""Exposure: data or access opened to other accounts or to everyone. An EBS snapshot or an AMI shared with another
account or made public, a security group opened to the whole internet, an S3 bucket policy or ACL made public, S3
Block Public Access removed."""
from __future__ import annotations

import ipaddress

import pandas as pd

from trailtools.rules.model import Hit, Rule, findings_from_hits, items, params, text

EC2 = "ec2.amazonaws.com"
S3 = "s3.amazonaws.com"
PUBLIC_GROUPS = ("http://acs.amazonaws.com/groups/global/AllUsers",
                 "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")
PUBLIC_CANNED_ACLS = ("public-read", "public-read-write", "authenticated-read")
#: Condition keys that restrict a ``Principal: "*"`` statement to known callers or networks: with one of them the
#: statement is not public (IAM Access Analyzer's reading); a condition on anything else (aws:SecureTransport ...)
#: leaves it public.
RESTRICTING_KEYS = ("aws:sourceip", "aws:sourcevpc", "aws:sourcevpce", "aws:principalorgid", "aws:principalorgpaths",
                    "aws:principalaccount", "aws:principalarn", "aws:sourceaccount", "aws:sourcearn",
                    "aws:sourceorgid", "aws:sourceorgpaths", "aws:userid", "aws:username")
#: Opening only these TCP ports to everyone is what a public website does: reported as low.
WEB_PORTS = ("80", "443")
BLOCK_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def _permission_adds(p: dict, attribute: str) -> list[dict]:
    """The grants a ModifySnapshotAttribute / ModifyImageAttribute call adds (``createVolumePermission`` /
    ``launchPermission`` ``add`` items)."""
    perm = p.get(attribute)
    return [i for i in items(perm.get("add")) if isinstance(i, dict)] if isinstance(perm, dict) else []


def _shares(rows: pd.DataFrame, rule: Rule, attribute: str, id_key: str, noun: str):
    hits = []
    for label, row in rows.iterrows():
        p = params(row["requestParameters"])
        resource = text(p.get(id_key)) or f"an {noun}"
        for grant in _permission_adds(p, attribute):
            if text(grant.get("group")).lower() == "all":
                hits.append(Hit(label, resource, f"made {noun} {resource} public", "critical"))
            elif grant.get("userId"):
                hits.append(Hit(label, resource, f"shared {noun} {resource} with account {text(grant['userId'])}"))
            else:
                org = text(grant.get("organizationArn") or grant.get("organizationalUnitArn")) or "other accounts"
                hits.append(Hit(label, resource, f"shared {noun} {resource} with {org}", "medium"))
    return findings_from_hits(rule, rows, hits)


def _snapshots(rows: pd.DataFrame, rule: Rule):
    return _shares(rows, rule, "createVolumePermission", "snapshotId", "snapshot")


def _images(rows: pd.DataFrame, rule: Rule):
    return _shares(rows, rule, "launchPermission", "imageId", "AMI")


def _cidrs(value) -> list[str]:
    """Every ``cidrIp`` / ``cidrIpv6`` / ``cidrIpv4`` anywhere in a request (both the flat and the ipPermissions
    shapes)."""
    out = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k in ("cidrIp", "cidrIpv6", "cidrIpv4") and isinstance(v, str):
                out.append(v)
            else:
                out += _cidrs(v)
    elif isinstance(value, list):
        for v in value:
            out += _cidrs(v)
    return out


def _everyone(cidr: str) -> bool:
    """A network that holds every address of its family: prefix length 0 (0.0.0.0/0, ::/0, and anonymized logs'
    208.236.235.254/0 alike)."""
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False).prefixlen == 0
    except ValueError:
        return False


def _ports(p: dict) -> tuple[str, bool]:
    """The ports a request opens, as text, and whether they are only web ports (TCP 80 and 443)."""
    perms = [i for i in items(p.get("ipPermissions")) if isinstance(i, dict)] or [p]
    shown, web = [], True
    for perm in perms:
        lo, hi, proto = perm.get("fromPort"), perm.get("toPort"), text(perm.get("ipProtocol"))
        if proto in ("-1", "all") or (lo in (None, "") and hi in (None, "")):
            shown.append("all ports")
            web = False
        else:
            shown.append(f"{proto or 'port'} {lo}" + (f"-{hi}" if hi not in (None, "", lo) else ""))
            web = web and proto in ("tcp", "6") and text(lo) == text(hi) and text(lo) in WEB_PORTS
    return ", ".join(dict.fromkeys(shown)), web


def _security_groups(rows: pd.DataFrame, rule: Rule):
    hits = []
    for label, row in rows.iterrows():
        p = params(row["requestParameters"])
        world = sorted({c for c in _cidrs(p) if _everyone(c)})
        if world:
            group = text(p.get("groupId") or p.get("groupName")) or "a security group"
            ports, web = _ports(p)
            hits.append(Hit(label, group, f"opened security group {group} to the whole internet "
                                          f"({ports} from {', '.join(world)})", "low" if web else None))
    return findings_from_hits(rule, rows, hits)


def _restricted(condition) -> bool:
    if not isinstance(condition, dict):
        return False
    return any(isinstance(keys, dict) and any(str(k).lower() in RESTRICTING_KEYS for k in keys)
               for keys in condition.values())


def _anyone(principal) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        aws = principal.get("AWS")
        return aws == "*" or (isinstance(aws, list) and "*" in aws)
    return False


def public_statements(policy) -> list[dict]:
    """The statements of a bucket policy that allow anyone (``Principal: "*"``) with no restricting condition."""
    if not isinstance(policy, dict):
        return []
    statements = policy.get("Statement")
    statements = statements if isinstance(statements, list) else [statements]
    return [s for s in statements if isinstance(s, dict) and s.get("Effect") == "Allow"
            and _anyone(s.get("Principal")) and not _restricted(s.get("Condition"))]


def _acl_public(p: dict) -> str | None:
    canned = p.get("x-amz-acl")
    for value in canned if isinstance(canned, list) else [canned]:
        if text(value) in PUBLIC_CANNED_ACLS:
            return f"the canned ACL {text(value)}"
    acl = (p.get("AccessControlPolicy") or {}).get("AccessControlList") if isinstance(
        p.get("AccessControlPolicy"), dict) else None
    grants = acl.get("Grant") if isinstance(acl, dict) else None
    for grant in grants if isinstance(grants, list) else [grants]:
        grantee = grant.get("Grantee") if isinstance(grant, dict) else None
        if isinstance(grantee, dict) and text(grantee.get("URI")) in PUBLIC_GROUPS:
            return f"{text(grant.get('Permission')) or 'access'} to {text(grantee['URI']).rsplit('/', 1)[-1]}"
    return None


def _buckets(rows: pd.DataFrame, rule: Rule):
    hits = []
    for label, row in rows.iterrows():
        p = params(row["requestParameters"])
        bucket = text(p.get("bucketName")) or "a bucket"
        if text(row["eventName"]) == "PutBucketPolicy":
            public = public_statements(p.get("bucketPolicy"))
            if public:
                actions = public[0].get("Action")
                shown = ", ".join(map(text, actions)) if isinstance(actions, list) else text(actions)
                hits.append(Hit(label, bucket, f"made bucket {bucket} public with a policy allowing anyone "
                                               f"{shown or 'access'}"))
        else:
            granted = _acl_public(p)
            if granted:
                hits.append(Hit(label, bucket, f"made bucket {bucket} public with an ACL granting {granted}"))
    return findings_from_hits(rule, rows, hits)


def _blocks_off(p: dict) -> list[str]:
    config = p.get("PublicAccessBlockConfiguration")
    if not isinstance(config, dict):
        return []
    return [f for f in BLOCK_FLAGS if config.get(f) is False or text(config.get(f)).lower() == "false"]


def _public_access_block(rows: pd.DataFrame, rule: Rule):
    hits = []
    for label, row in rows.iterrows():
        p, name = params(row["requestParameters"]), text(row["eventName"])
        account = "Account" in name
        target = f"account {text(row['recipientAccountId'])}" if account else \
            f"bucket {text(p.get('bucketName')) or '?'}"
        severity = "high" if account else None   # every bucket of the account at once
        if name.startswith("Delete"):
            hits.append(Hit(label, target, f"removed S3 Block Public Access from {target}", severity))
        elif off := _blocks_off(p):
            hits.append(Hit(label, target, f"turned off S3 Block Public Access settings {', '.join(off)} on "
                                           f"{target}", severity))
    return findings_from_hits(rule, rows, hits)


RULES = (
    Rule("exposure.snapshot-shared", "EBS snapshot shared or made public", "high",
         "TA0010 Exfiltration", "T1537 Transfer Data to Cloud Account",
         ((EC2, "ModifySnapshotAttribute"),), _snapshots,
         "A snapshot shared with another account can be copied there, and a public one by anyone: the whole disk "
         "leaves the account without a single read being logged here. Attackers share snapshots with accounts "
         "they control to copy databases and file systems out.",
         "Is the other account yours (a backup or organization account)? If not: remove the permission "
         "(ModifySnapshotAttribute ... remove), look for SharedSnapshotCopyInitiated / SharedSnapshotVolumeCreated "
         "in the other account's trail if you can, and treat the disk's data as copied."),
    Rule("exposure.ami-shared", "AMI shared or made public", "high",
         "TA0010 Exfiltration", "T1537 Transfer Data to Cloud Account",
         ((EC2, "ModifyImageAttribute"),), _images,
         "An AMI shared with another account, or made public, lets that account launch a copy of the machine: its "
         "disks, with whatever secrets, keys and data they hold.",
         "Is the other account yours? If not: remove the launch permission, and treat everything on the image's "
         "snapshots as copied (rotate the secrets baked into it)."),
    Rule("exposure.security-group-open", "Security group opened to the whole internet", "high",
         "TA0005 Defense Evasion", "T1562.007 Impair Defenses: Disable or Modify Cloud Firewall",
         ((EC2, "AuthorizeSecurityGroupIngress"),), _security_groups,
         "An ingress rule from 0.0.0.0/0 or ::/0 lets any address on the internet reach the instances behind the "
         "group on those ports: attackers open SSH, RDP or a database port to come back in, or to move data out. "
         "Only TCP 80 and 443 (a public website) is low.",
         "Which instances use the group, and what listens on those ports? Remove the rule unless the service is "
         "meant to be public, and check those instances' connections since the change.",
         mitre_note="TrailDiscover maps AuthorizeSecurityGroupIngress to Persistence and Lateral Movement (T1098, "
                    "T1021); ATT&CK has a technique for the firewall change itself, T1562.007."),
    Rule("exposure.bucket-public", "S3 bucket policy or ACL made public", "high",
         "TA0010 Exfiltration", "T1048 Exfiltration Over Alternative Protocol",
         ((S3, "PutBucketPolicy"), (S3, "PutBucketAcl")), _buckets,
         "A bucket policy allowing Principal \"*\" (with no condition restricting callers or networks), or an ACL "
         "granting AllUsers or AuthenticatedUsers, lets anyone on the internet read (or write) the bucket: data "
         "leaves with no credential, and only S3 data events would show who took it.",
         "Is the bucket meant to be public (a website)? If not: restore the policy or ACL and turn Block Public "
         "Access on, then read the bucket's S3 data events or server access logs for anonymous reads since."),
    Rule("exposure.public-access-block-removed", "S3 Block Public Access turned off", "medium",
         "TA0005 Defense Evasion", "T1562 Impair Defenses",
         ((S3, "DeleteBucketPublicAccessBlock"), (S3, "PutBucketPublicAccessBlock"),
          (S3, "DeleteAccountPublicAccessBlock"), (S3, "PutAccountPublicAccessBlock"),
          ("s3-control.amazonaws.com", "DeleteAccountPublicAccessBlock"),
          ("s3-control.amazonaws.com", "PutAccountPublicAccessBlock")), _public_access_block,
         "Block Public Access overrides public policies and ACLs; removing it (or turning any of its four settings "
         "off) is the step before a bucket can be made public. For the whole account it is high: every bucket "
         "loses the guard at once.",
         "Turn the settings back on unless a public bucket is intended. Look for PutBucketPolicy / PutBucketAcl on "
         "the same buckets just after."),
)
