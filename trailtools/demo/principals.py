"""Who acts in the synthetic account: principals (SSO people, CI roles, instance roles, AWS services, IAM users,
root), the account profile, and the stable IDs and addresses derived from their names."""
from __future__ import annotations

import hashlib
import ipaddress
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from trailtools.evidence.aws_ranges import bundled

UTC = UTC
GLOBAL_REGION = "us-east-1"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_UPPER_DIGITS_27 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # base32 alphabet, as in AWS unique IDs


# --------------------------------------------------------------------------------------------- principals
@dataclass(frozen=True)
class Principal:
    """Who acts in the account, and how (the share of traffic, where from, with what, doing what).

    ``name`` is what an analyst sees: the IAM user name, ``<role>/<session>`` for assumed roles,
    the service host for AWS services, ``"root"``.
    """

    name: str
    kind: str  # "IAMUser" | "AssumedRole" | "AWSService" | "Root"
    weight: float  # share of background traffic
    role_name: str | None = None  # AssumedRole: the IAM role
    session_name: str | None = None  # AssumedRole: the role session name (email for SSO, i-... for EC2)
    user_name: str | None = None  # IAMUser
    invoked_by: str | None = None  # AWSService: e.g. "autoscaling.amazonaws.com"
    ips: tuple[str, ...] = ()  # source IPs (first = home); empty for services
    user_agents: tuple[str, ...] = ()  # CLI/SDK user agents
    browser_agents: tuple[str, ...] = ()  # console user agents (humans)
    console_share: float = 0.0  # share of API calls made from the AWS console
    actions: tuple[tuple[str, float], ...] = ()  # (eventName, weight): the API mix
    regions: tuple[tuple[str, float], ...] = ()  # override of the profile's regions (empty = profile)
    diurnal: bool = False  # humans: office hours, weekdays
    tz_offset_hours: int = 0  # local time of the human, for the diurnal pattern
    mfa: bool = True  # console sign-in with MFA
    error_rate: float = 0.01
    principal_id: str = ""  # AIDA.../AROA... unique ID (derived from the name when empty)
    instance_id: str | None = None  # EC2 instance role: the instance it runs on
    human: bool = False
    vpc_endpoint: str | None = None  # calls go through this interface VPC endpoint (private source IP)

    def arn(self, account_id: str) -> str:
        if self.kind == "IAMUser":
            return f"arn:aws:iam::{account_id}:user/{self.user_name or self.name}"
        if self.kind == "AssumedRole":
            return f"arn:aws:sts::{account_id}:assumed-role/{self.role_name}/{self.session_name}"
        if self.kind == "Root":
            return f"arn:aws:iam::{account_id}:root"
        return ""

    def role_arn(self, account_id: str) -> str:
        rn = self.role_name or ""
        path = ("aws-reserved/sso.amazonaws.com/" if rn.startswith("AWSReservedSSO_") else
                f"aws-service-role/{self.invoked_by}/" if rn.startswith("AWSServiceRoleFor") and self.invoked_by
                else "")
        return f"arn:aws:iam::{account_id}:role/{path}{self.role_name}"


@dataclass(frozen=True)
class AccountProfile:
    account_id: str
    regions: dict[str, float]  # region -> weight
    principals: tuple[Principal, ...]
    instances: dict[str, tuple[str, ...]] = field(default_factory=dict)  # region -> long-lived instance IDs
    buckets: tuple[str, ...] = ()
    kms_keys: tuple[str, ...] = ()  # key UUIDs
    org_id: str | None = None


def stable_id(prefix: str, text: str, n: int = 17, alphabet: str = _UPPER_DIGITS_27) -> str:
    """A deterministic AWS-looking unique ID (AIDA..., AROA..., AKIA...) from a text."""
    h = hashlib.sha256(text.encode()).digest()
    return prefix + "".join(alphabet[b % len(alphabet)] for b in h[:n])


def random_instance_id(rng: random.Random) -> str:
    """``i-`` + 17 lowercase hex characters."""
    return "i-0" + format(rng.getrandbits(64), "016x")


def fleet_instances(account_id: str, region: str, n: int) -> tuple[str, ...]:
    r = random.Random(f"fleet:{account_id}:{region}")
    return tuple(random_instance_id(r) for _ in range(n))


_CHROME = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/128.0.0.0 Safari/537.36")
_FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0"
_EDGE = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 "
         "Safari/537.36 Edg/128.0.0.0")
_CLI_MAC = ("aws-cli/2.17.42 md/awscrt#0.21.2 ua/2.0 os/macos#23.6.0 md/arch#arm64 lang/python#3.11.9 "
            "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#{cmd}")
_CLI_LINUX = ("aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1020-aws exe/x86_64.ubuntu.22 prompt/off "
              "command/{cmd}")
BOTO3 = ("Boto3/1.35.10 md/Botocore#1.35.10 ua/2.0 os/linux#6.1.102-108.177.amzn2023.x86_64 md/arch#x86_64 "
          "lang/python#3.12.5 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.35.10")
_TERRAFORM = ("APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.64.0 "
              "(+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.30.4 ua/2.1 os/linux "
              "lang/go#1.22.6 md/GOOS#linux md/GOARCH#amd64 api/{svc}#1.177.0")
_SSM_AGENT = "aws-sdk-go/1.44.260 (go1.22.5; linux; amd64) amazon-ssm-agent/3.3.859.0"
_GO_SDK = "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/{svc}#1.27.3"

_HUMAN_ACTIONS = (
    ("DescribeInstances", 14), ("DescribeInstanceStatus", 4), ("DescribeVolumes", 3),
    ("DescribeSecurityGroups", 3), ("DescribeSubnets", 2), ("DescribeVpcs", 2), ("DescribeImages", 1),
    ("DescribeTags", 2), ("DescribeAlarms", 3), ("DescribeLogGroups", 2), ("ListFunctions20150331", 2),
    ("DescribeAutoScalingGroups", 2), ("ListBuckets", 2), ("GetBucketLocation", 1), ("GetBucketPolicy", 1),
    ("GetBucketEncryption", 1), ("ListRoles", 2), ("GetRole", 1), ("ListAttachedRolePolicies", 1),
    ("ListUsers", 1), ("GetCallerIdentity", 3), ("DescribeTrails", 1), ("DescribeInstanceInformation", 1),
    ("GetSecretValue", 0.5), ("ConsoleLogin", 0.6), ("CreateTags", 0.5), ("StopInstances", 0.15),
    ("StartInstances", 0.15), ("RebootInstances", 0.05), ("RunInstances", 0.1), ("TerminateInstances", 0.08),
    ("AuthorizeSecurityGroupIngress", 0.05), ("DescribeRegions", 1), ("DescribeAvailabilityZones", 1),
)
_READONLY_ACTIONS = tuple((n, w) for n, w in _HUMAN_ACTIONS
                          if n not in ("CreateTags", "StopInstances", "StartInstances", "RebootInstances",
                                       "RunInstances", "TerminateInstances", "AuthorizeSecurityGroupIngress",
                                       "GetSecretValue"))


def default_profile(account_id: str = "111122223333") -> AccountProfile:
    """A small production account: 3 SSO humans, CI/Terraform, 3 EC2 instance roles, AWS services,
    2 IAM users (a legacy deploy key and a break-glass console user) and a rarely used root."""
    regions = {
        "us-east-1": 0.42, "eu-west-1": 0.24, "us-west-2": 0.12,
        # every enabled region has some AWS-service background traffic
        "us-east-2": 0.02, "us-west-1": 0.015, "eu-central-1": 0.02, "eu-west-2": 0.015, "eu-west-3": 0.015,
        "eu-north-1": 0.015, "ap-south-1": 0.015, "ap-northeast-1": 0.015, "ap-northeast-2": 0.015,
        "ap-southeast-1": 0.015, "ap-southeast-2": 0.015, "ca-central-1": 0.015, "sa-east-1": 0.015,
    }
    home = (("us-east-1", 0.55), ("eu-west-1", 0.3), ("us-west-2", 0.15))
    sso = "AWSReservedSSO_{}_{}"

    def sso_role(perm: str) -> str:
        return sso.format(perm, hashlib.sha256(f"{account_id}{perm}".encode()).hexdigest()[:16])

    inst = {r: fleet_instances(account_id, r, 24 if r in ("us-east-1", "eu-west-1") else 8)
            for r, _ in home}
    app1, app2, batch = inst["us-east-1"][0], inst["eu-west-1"][0], inst["us-east-1"][1]
    instance_actions = (
        ("UpdateInstanceInformation", 5), ("ListInstanceAssociations", 3), ("GetSecretValue", 2),
        ("DescribeInstances", 1), ("GetAuthorizationToken", 2), ("GetCallerIdentity", 1), ("DescribeTags", 1),
        ("GetParameters", 1.5), ("DescribeLogGroups", 0.5),
    )
    principals: list[Principal] = []

    def add(**kw: Any) -> None:
        principals.append(Principal(**kw))

    humans = (
        ("alice@example.com", "AdministratorAccess", 0.045, ("198.51.100.23", "198.51.100.24", "203.0.113.77"),
         _HUMAN_ACTIONS, -5),
        ("bob@example.com", "ReadOnlyAccess", 0.03, ("203.0.113.10", "203.0.113.11"), _READONLY_ACTIONS, 1),
        ("carol@example.com", "PowerUserAccess", 0.03, ("192.0.2.45", "192.0.2.46"), _HUMAN_ACTIONS, 0),
    )
    for email, perm, w, ips, actions, tz in humans:
        role = sso_role(perm)
        add(name=f"{role}/{email}", kind="AssumedRole", weight=w, role_name=role, session_name=email, ips=ips,
            user_agents=(_CLI_MAC, _CLI_LINUX), browser_agents=(_CHROME, _FIREFOX, _EDGE), console_share=0.6,
            actions=actions, regions=home, diurnal=True, tz_offset_hours=tz, mfa=True,
            error_rate=0.03 if perm == "ReadOnlyAccess" else 0.012,
            principal_id=stable_id("AROA", account_id + role), human=True)
    add(name="terraform-ci/GitHubActions", kind="AssumedRole", weight=0.13, role_name="terraform-ci",
        session_name="GitHubActions", ips=("192.0.2.200", "192.0.2.201", "192.0.2.202", "192.0.2.203"),
        user_agents=(_TERRAFORM, BOTO3, _CLI_LINUX),
        actions=(("DescribeInstances", 6), ("DescribeSecurityGroups", 4), ("DescribeSubnets", 3),
                 ("DescribeVpcs", 3), ("DescribeImages", 2), ("DescribeTags", 3), ("DescribeVolumes", 2),
                 ("GetRole", 3), ("ListAttachedRolePolicies", 2), ("GetBucketPolicy", 2),
                 ("GetBucketEncryption", 1), ("GetBucketLocation", 1), ("DescribeAlarms", 1),
                 ("DescribeLogGroups", 2), ("DescribeAutoScalingGroups", 2), ("GetCallerIdentity", 2),
                 ("CreateTags", 0.6), ("RunInstances", 0.08), ("TerminateInstances", 0.07),
                 ("DescribeRegions", 0.5), ("ListFunctions20150331", 1)),
        regions=home, error_rate=0.015, principal_id=stable_id("AROA", account_id + "terraform-ci"))
    for iid, (label, reg), w in ((app1, ("app-server-role", "us-east-1"), 0.06),
                                 (app2, ("app-server-role", "eu-west-1"), 0.05),
                                 (batch, ("batch-worker-role", "us-east-1"), 0.04)):
        vpce = "vpce-0" + hashlib.md5(f"{account_id}{reg}".encode()).hexdigest()[:16] if label == "app-server-role" \
            else None
        ip = stable_private_ip(iid) if vpce else _stable_public_ip(account_id + iid, reg)
        add(name=f"{label}/{iid}", kind="AssumedRole", weight=w, role_name=label, session_name=iid,
            ips=(ip,), user_agents=(_SSM_AGENT, BOTO3, _GO_SDK), vpc_endpoint=vpce,
            actions=instance_actions, regions=((reg, 1.0),), error_rate=0.004, instance_id=iid,
            principal_id=stable_id("AROA", account_id + label))
    svc = (
        ("ec2.amazonaws.com", 0.17, (("AssumeRole", 9), ("Decrypt", 2), ("GenerateDataKeyWithoutPlaintext", 1),
                                      ("CreateGrant", 0.5))),
        ("autoscaling.amazonaws.com", 0.01, (("CreateGrant", 1), ("Decrypt", 2),
                                              ("GenerateDataKeyWithoutPlaintext", 1))),
        ("cloudtrail.amazonaws.com", 0.1, (("GenerateDataKey", 3), ("Decrypt", 1))),
    )
    # AWS-wide background (Config, CloudTrail) reaches every enabled region, the home regions a bit more
    everywhere = tuple((r, 2.0 if r in dict(home) else 1.0) for r in regions)
    for host, w, actions in svc:
        add(name=host, kind="AWSService", weight=w, invoked_by=host, actions=actions, error_rate=0.001,
            regions=everywhere if host == "cloudtrail.amazonaws.com" else home)
    # EC2 Auto Scaling manages instances through its service-linked role
    add(name="AWSServiceRoleForAutoScaling/AutoScaling", kind="AssumedRole", weight=0.04,
        role_name="AWSServiceRoleForAutoScaling", session_name="AutoScaling", invoked_by="autoscaling.amazonaws.com",
        actions=(("DescribeInstances", 3), ("DescribeInstanceStatus", 4), ("RunInstances", 0.05),
                 ("TerminateInstances", 0.05), ("CreateTags", 0.1)),
        regions=home, error_rate=0.001,
        principal_id=stable_id("AROA", account_id + "AWSServiceRoleForAutoScaling"))
    # AWS Config works through its service-linked role: an AssumedRole invoked by config.amazonaws.com
    add(name="AWSServiceRoleForConfig/AWSConfig-Describe", kind="AssumedRole", weight=0.17,
        role_name="AWSServiceRoleForConfig", session_name="AWSConfig-Describe", invoked_by="config.amazonaws.com",
        actions=(("DescribeInstances", 2), ("DescribeSecurityGroups", 2), ("DescribeVolumes", 2),
                 ("DescribeSubnets", 1), ("DescribeVpcs", 1), ("GetBucketPolicy", 1), ("GetBucketEncryption", 1),
                 ("DescribeAlarms", 1), ("DescribeLogGroups", 1), ("DescribeAutoScalingGroups", 1),
                 ("ListFunctions20150331", 0.5), ("DescribeTrails", 0.3)),
        regions=everywhere, error_rate=0.002,
        principal_id=stable_id("AROA", account_id + "AWSServiceRoleForConfig"))
    add(name="legacy-deploy", kind="IAMUser", weight=0.035, user_name="legacy-deploy", ips=("203.0.113.150",),
        user_agents=(_CLI_LINUX, BOTO3),
        actions=(("DescribeInstances", 5), ("GetCallerIdentity", 2), ("ListBuckets", 1), ("DescribeImages", 1),
                 ("GetBucketLocation", 1), ("CreateTags", 0.3), ("DescribeAutoScalingGroups", 1)),
        regions=home, error_rate=0.02, principal_id=stable_id("AIDA", account_id + "legacy-deploy"))
    add(name="breakglass", kind="IAMUser", weight=0.002, user_name="breakglass", ips=("198.51.100.99",),
        browser_agents=(_CHROME,), console_share=1.0,
        actions=(("ConsoleLogin", 3), ("DescribeInstances", 3), ("ListUsers", 1), ("ListRoles", 1)),
        regions=home, diurnal=True, mfa=True, principal_id=stable_id("AIDA", account_id + "breakglass"),
        human=True)
    add(name="root", kind="Root", weight=0.0003, ips=("198.51.100.23",), browser_agents=(_CHROME,),
        console_share=1.0, actions=(("ConsoleLogin", 3), ("GetAccountSummary", 1), ("ListMFADevices", 1),
                                    ("DescribeRegions", 1)),
        regions=(("us-east-1", 1.0),), diurnal=True, tz_offset_hours=-5, mfa=True, principal_id=account_id,
        human=True)
    total = sum(p.weight for p in principals)
    principals = [Principal(**{**p.__dict__, "weight": p.weight / total}) for p in principals]
    return AccountProfile(
        account_id=account_id, regions=regions, principals=tuple(principals), instances=inst,
        buckets=(f"acme-prod-assets-{account_id}", f"acme-terraform-state-{account_id}",
                 f"aws-cloudtrail-logs-{account_id}-6f1d2c3b", f"acme-backups-{account_id}"),
        kms_keys=tuple(str(uuid.UUID(int=random.Random(f"kms{account_id}{i}").getrandbits(128), version=4))
                       for i in range(3)),
    )


def stable_private_ip(text: str) -> str:
    h = hashlib.md5(text.encode()).digest()
    return f"10.0.{h[0] % 64}.{4 + h[1] % 240}"


def _stable_public_ip(text: str, region: str) -> str:
    """An instance's public address: one of AWS's EC2 addresses in its region (the bundled AWS IP ranges), as a real
    instance's would be."""
    h = hashlib.sha256(text.encode()).digest()
    nets = [n for n in bundled().networks("EC2", region) if n.split(".")[0] in ("3", "18", "52", "54")]
    net = ipaddress.ip_network(nets[int.from_bytes(h[:4], "big") % len(nets)])
    return str(net.network_address + 1 + int.from_bytes(h[4:8], "big") % (net.num_addresses - 2))
