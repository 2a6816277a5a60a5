"""Seeded, deterministic generator of realistic CloudTrail management events.

Used by the demo account, the tests and the loading benchmark. Pure standard library.

- :func:`default_profile` describes a small AWS account: SSO humans, a CI/Terraform role, EC2 instance
  roles, AWS services, two IAM users and a rarely used root user.
- :func:`build_record` builds ONE record with CloudTrail's real key set, key order and value types for the
  event name (see ``CATALOG``); scenario builders call it directly for the events a story needs.
- :func:`generate_records` produces background traffic: sorted by ``eventTime``, diurnal for humans,
  constant for automation, a low rate of errors, about 1.4 KB per serialized record.
- :func:`write_trail` writes records in the S3 delivery layout of a trail
  (``AWSLogs/[<org>/]<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<ts>_<rand>.json.gz``),
  byte-identical for a seed.

Everything random comes from a ``random.Random`` seeded by the caller: the same seed gives the same records
(event IDs, request IDs, access keys ...) and the same file bytes.
"""
from __future__ import annotations

import base64
import bisect
import hashlib
import json
import math
import os
import random
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

__all__ = [
    "Principal",
    "AccountProfile",
    "CATALOG",
    "default_profile",
    "build_record",
    "generate_records",
    "iter_records",
    "write_trail",
    "random_instance_id",
    "fleet_instances",
    "delivery_key",
]

UTC = timezone.utc
GLOBAL_REGION = "us-east-1"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
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


def _stable_id(prefix: str, text: str, n: int = 17, alphabet: str = _UPPER_DIGITS_27) -> str:
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
_BOTO3 = ("Boto3/1.35.10 md/Botocore#1.35.10 ua/2.0 os/linux#6.1.102-108.177.amzn2023.x86_64 md/arch#x86_64 "
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

    ec2_region = {"i-app-1": "us-east-1", "i-app-2": "eu-west-1", "i-batch": "us-east-1"}
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
            principal_id=_stable_id("AROA", account_id + role), human=True)
    add(name="terraform-ci/GitHubActions", kind="AssumedRole", weight=0.13, role_name="terraform-ci",
        session_name="GitHubActions", ips=("192.0.2.200", "192.0.2.201", "192.0.2.202", "192.0.2.203"),
        user_agents=(_TERRAFORM, _BOTO3, _CLI_LINUX),
        actions=(("DescribeInstances", 6), ("DescribeSecurityGroups", 4), ("DescribeSubnets", 3),
                 ("DescribeVpcs", 3), ("DescribeImages", 2), ("DescribeTags", 3), ("DescribeVolumes", 2),
                 ("GetRole", 3), ("ListAttachedRolePolicies", 2), ("GetBucketPolicy", 2),
                 ("GetBucketEncryption", 1), ("GetBucketLocation", 1), ("DescribeAlarms", 1),
                 ("DescribeLogGroups", 2), ("DescribeAutoScalingGroups", 2), ("GetCallerIdentity", 2),
                 ("CreateTags", 0.6), ("RunInstances", 0.08), ("TerminateInstances", 0.07),
                 ("DescribeRegions", 0.5), ("ListFunctions20150331", 1)),
        regions=home, error_rate=0.015, principal_id=_stable_id("AROA", account_id + "terraform-ci"))
    for iid, (label, reg), w in ((app1, ("app-server-role", "us-east-1"), 0.06),
                                 (app2, ("app-server-role", "eu-west-1"), 0.05),
                                 (batch, ("batch-worker-role", "us-east-1"), 0.04)):
        vpce = "vpce-0" + hashlib.md5(f"{account_id}{reg}".encode()).hexdigest()[:16] if label == "app-server-role" \
            else None
        ip = _stable_private_ip(iid) if vpce else _stable_public_ip(account_id + iid)
        add(name=f"{label}/{iid}", kind="AssumedRole", weight=w, role_name=label, session_name=iid,
            ips=(ip,), user_agents=(_SSM_AGENT, _BOTO3, _GO_SDK), vpc_endpoint=vpce,
            actions=instance_actions, regions=((reg, 1.0),), error_rate=0.004, instance_id=iid,
            principal_id=_stable_id("AROA", account_id + label))
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
        principal_id=_stable_id("AROA", account_id + "AWSServiceRoleForAutoScaling"))
    # AWS Config works through its service-linked role: an AssumedRole invoked by config.amazonaws.com
    add(name="AWSServiceRoleForConfig/AWSConfig-Describe", kind="AssumedRole", weight=0.17,
        role_name="AWSServiceRoleForConfig", session_name="AWSConfig-Describe", invoked_by="config.amazonaws.com",
        actions=(("DescribeInstances", 2), ("DescribeSecurityGroups", 2), ("DescribeVolumes", 2),
                 ("DescribeSubnets", 1), ("DescribeVpcs", 1), ("GetBucketPolicy", 1), ("GetBucketEncryption", 1),
                 ("DescribeAlarms", 1), ("DescribeLogGroups", 1), ("DescribeAutoScalingGroups", 1),
                 ("ListFunctions20150331", 0.5), ("DescribeTrails", 0.3)),
        regions=everywhere, error_rate=0.002,
        principal_id=_stable_id("AROA", account_id + "AWSServiceRoleForConfig"))
    add(name="legacy-deploy", kind="IAMUser", weight=0.035, user_name="legacy-deploy", ips=("203.0.113.150",),
        user_agents=(_CLI_LINUX, _BOTO3),
        actions=(("DescribeInstances", 5), ("GetCallerIdentity", 2), ("ListBuckets", 1), ("DescribeImages", 1),
                 ("GetBucketLocation", 1), ("CreateTags", 0.3), ("DescribeAutoScalingGroups", 1)),
        regions=home, error_rate=0.02, principal_id=_stable_id("AIDA", account_id + "legacy-deploy"))
    add(name="breakglass", kind="IAMUser", weight=0.002, user_name="breakglass", ips=("198.51.100.99",),
        browser_agents=(_CHROME,), console_share=1.0,
        actions=(("ConsoleLogin", 3), ("DescribeInstances", 3), ("ListUsers", 1), ("ListRoles", 1)),
        regions=home, diurnal=True, mfa=True, principal_id=_stable_id("AIDA", account_id + "breakglass"),
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


def _stable_private_ip(text: str) -> str:
    h = hashlib.md5(text.encode()).digest()
    return f"10.0.{h[0] % 64}.{4 + h[1] % 240}"


def _stable_public_ip(text: str) -> str:
    h = hashlib.sha256(text.encode()).digest()
    return f"{(3, 18, 34, 52, 54)[h[0] % 5]}.{h[1]}.{h[2]}.{1 + h[3] % 254}"


# --------------------------------------------------------------------------------------------- helpers
def _fmt_time(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _fmt_java(t: datetime) -> str:
    """The ``Jul 30, 2024, 9:46:15 PM`` form that STS/IAM/SSM use inside responseElements."""
    h = t.hour % 12 or 12
    return f"{t.strftime('%b')} {t.day}, {t.year}, {h}:{t.minute:02d}:{t.second:02d} {'AM' if t.hour < 12 else 'PM'}"


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _rand_str(rng: random.Random, n: int, alphabet: str = _UPPER_DIGITS) -> str:
    return "".join(rng.choices(alphabet, k=n))


def _token(rng: random.Random, nbytes: int) -> str:
    return base64.b64encode(rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big")).decode()


def _session_key(p: Principal, account_id: str, t: datetime) -> tuple[str, datetime]:
    """A session's access key and creation time: stable for the hour (credentials are refreshed hourly)."""
    hour = t.replace(minute=0, second=0, microsecond=0)
    created = hour + timedelta(seconds=int(hashlib.md5(f"{p.name}{hour}".encode()).digest()[0]) % 240)
    if created > t:
        created -= timedelta(hours=1)
    return _stable_id("ASIA", f"{account_id}{p.name}{created}", 16), created


@dataclass
class _Ctx:
    rng: random.Random
    account_id: str
    region: str
    time: datetime
    principal: Principal
    profile: AccountProfile | None = None

    def instance(self) -> str:
        if self.principal.instance_id:
            return self.principal.instance_id
        fleet = (self.profile.instances.get(self.region) if self.profile else None) or \
            fleet_instances(self.account_id, self.region, 8)
        return fleet[int(self.rng.random() * len(fleet))]

    def bucket(self) -> str:
        b = self.profile.buckets if self.profile and self.profile.buckets else (f"example-bucket-{self.account_id}",)
        return b[int(self.rng.random() * len(b))]

    def kms_key(self) -> str:
        keys = self.profile.kms_keys if self.profile and self.profile.kms_keys else (
            "1234abcd-12ab-34cd-56ef-1234567890ab",)
        k = keys[int(self.rng.random() * len(keys))]
        return f"arn:aws:kms:{self.region}:{self.account_id}:key/{k}"


def _ids_from_request(req: Any) -> list[str]:
    if not isinstance(req, dict):
        return []
    out: list[str] = []
    items = (req.get("instancesSet") or {}).get("items") if isinstance(req.get("instancesSet"), dict) else None
    for it in items or ():
        if isinstance(it, dict) and "instanceId" in it:
            out.append(it["instanceId"])
    for it in (req.get("resourcesSet") or {}).get("items", ()) if isinstance(req.get("resourcesSet"), dict) else ():
        if isinstance(it, dict) and str(it.get("resourceId", "")).startswith("i-"):
            out.append(it["resourceId"])
    return out


# ------------------------------------------------------------------------------- request/response builders
def _items(ids: list[str]) -> dict:
    return {"items": [{"instanceId": i} for i in ids]}


def _state_change(cur: tuple[int, str], prev: tuple[int, str]) -> Callable[[_Ctx, Any, str], Any]:
    def resp(c: _Ctx, req: Any, request_id: str) -> Any:
        ids = _ids_from_request(req) or [c.instance()]
        return {"requestId": request_id, "instancesSet": {"items": [
            {"instanceId": i, "currentState": {"code": cur[0], "name": cur[1]},
             "previousState": {"code": prev[0], "name": prev[1]}} for i in ids]}}
    return resp


def _one_instance(c: _Ctx) -> dict:
    return {"instancesSet": _items([c.instance()])}


def _describe_instances(c: _Ctx) -> dict:
    r = c.rng.random()
    if r < 0.45:
        return {"instancesSet": {}, "filterSet": {}}
    if r < 0.8:
        return {"instancesSet": _items([c.instance()]), "filterSet": {}}
    return {"instancesSet": {}, "filterSet": {"items": [
        {"name": "instance-state-name", "valueSet": {"items": [{"value": "running"}, {"value": "stopped"}]}},
        {"name": "tag:Environment", "valueSet": {"items": [{"value": "production"}]}}]}}


def _run_instances_req(c: _Ctx) -> dict:
    return {
        "instancesSet": {"items": [{"imageId": "ami-0" + format(c.rng.getrandbits(64), "016x"),
                                     "minCount": 1, "maxCount": 1}]},
        "instanceType": c.rng.choice(("t3.micro", "t3.medium", "m6i.large", "c6i.xlarge")),
        "blockDeviceMapping": {}, "monitoring": {"enabled": False}, "disableApiTermination": False,
        "disableApiStop": False, "clientToken": _uuid(c.rng),
        "networkInterfaceSet": {"items": [{"deviceIndex": 0, "subnetId": _subnet(c), "groupSet": {"items": [
            {"groupId": _sg(c)}]}}]},
        "iamInstanceProfile": {"name": "app-server-profile"},
        "tagSpecificationSet": {"items": [{"resourceType": "instance", "tags": [
            {"key": "Name", "value": c.rng.choice(("web", "worker", "batch", "api"))},
            {"key": "Environment", "value": "production"}]}]},
        "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 2},
    }


def _internal_domain(region: str) -> str:
    return "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"


def _az_prefix(region: str) -> str:
    """us-east-1 -> use1, eu-west-1 -> euw1, ap-southeast-2 -> apse2 (the AZ ID prefix)."""
    geo, direction, num = region.split("-")
    short = {"east": "e", "west": "w", "north": "n", "south": "s", "central": "c", "northeast": "ne",
             "southeast": "se", "northwest": "nw", "southwest": "sw"}.get(direction, direction[:1])
    return f"{geo}{short}{num}"


def _subnet(c: _Ctx) -> str:
    return "subnet-0" + hashlib.md5(f"{c.account_id}{c.region}sub".encode()).hexdigest()[:16]


def _sg(c: _Ctx) -> str:
    return "sg-0" + hashlib.md5(f"{c.account_id}{c.region}sg".encode()).hexdigest()[:16]


def _vpc(c: _Ctx) -> str:
    return "vpc-0" + hashlib.md5(f"{c.account_id}{c.region}vpc".encode()).hexdigest()[:16]


def _run_instances_resp(c: _Ctx, req: Any, request_id: str) -> dict:
    rq = req if isinstance(req, dict) else {}
    n = 1
    try:
        n = max(1, int(rq["instancesSet"]["items"][0].get("minCount", 1)))
    except (KeyError, IndexError, TypeError, AttributeError, ValueError):
        pass
    image = "ami-0" + format(c.rng.getrandbits(64), "016x")
    try:
        image = rq["instancesSet"]["items"][0]["imageId"]
    except (KeyError, IndexError, TypeError):
        pass
    itype = rq.get("instanceType", "t3.micro")
    launch = int(c.time.timestamp() * 1000)
    az = c.region + "a"
    items = []
    for k in range(n):
        iid = random_instance_id(c.rng)
        ip = f"10.0.{c.rng.randrange(0, 64)}.{c.rng.randrange(4, 250)}"
        dns = f"ip-{ip.replace('.', '-')}.{_internal_domain(c.region)}"
        eni = "eni-0" + format(c.rng.getrandbits(64), "016x")
        items.append({
            "instanceId": iid, "imageId": image, "currentInstanceBootMode": "uefi",
            "instanceState": {"code": 0, "name": "pending"}, "privateDnsName": dns, "amiLaunchIndex": k,
            "productCodes": {}, "instanceType": itype, "launchTime": launch,
            "placement": {"availabilityZone": az, "tenancy": "default"}, "monitoring": {"state": "disabled"},
            "subnetId": _subnet(c), "vpcId": _vpc(c), "privateIpAddress": ip,
            "stateReason": {"code": "pending", "message": "pending"}, "architecture": "x86_64",
            "rootDeviceType": "ebs", "rootDeviceName": "/dev/xvda", "blockDeviceMapping": {},
            "virtualizationType": "hvm", "hypervisor": "xen",
            "iamInstanceProfile": {"arn": f"arn:aws:iam::{c.account_id}:instance-profile/app-server-profile",
                                   "id": _stable_id("AIPA", c.account_id + "profile")},
            "groupSet": {"items": [{"groupId": _sg(c), "groupName": "app-servers"}]}, "sourceDestCheck": True,
            "networkInterfaceSet": {"items": [{
                "networkInterfaceId": eni, "subnetId": _subnet(c), "vpcId": _vpc(c), "ownerId": c.account_id,
                "status": "in-use", "macAddress": ":".join(f"{c.rng.randrange(256):02x}" for _ in range(6)),
                "privateIpAddress": ip, "privateDnsName": dns, "sourceDestCheck": True, "interfaceType": "interface",
                "groupSet": {"items": [{"groupId": _sg(c), "groupName": "app-servers"}]},
                "attachment": {"attachmentId": "eni-attach-0" + format(c.rng.getrandbits(64), "016x"),
                               "deviceIndex": 0, "networkCardIndex": 0, "status": "attaching",
                               "attachTime": launch, "deleteOnTermination": True},
                "privateIpAddressesSet": {"item": [{"privateIpAddress": ip, "privateDnsName": dns,
                                                    "primary": True}]},
                "ipv6AddressesSet": {}, "tagSet": {}}]},
            "ebsOptimized": False, "enaSupport": True,
            "cpuOptions": {"coreCount": 1, "threadsPerCore": 2},
            "capacityReservationSpecification": {"capacityReservationPreference": "open"},
            "enclaveOptions": {"enabled": False},
            "metadataOptions": {"state": "pending", "httpTokens": "required", "httpPutResponseHopLimit": 2,
                                "httpEndpoint": "enabled", "httpProtocolIpv4": "enabled",
                                "httpProtocolIpv6": "disabled", "instanceMetadataTags": "disabled"},
            "maintenanceOptions": {"autoRecovery": "default"},
            "privateDnsNameOptions": {"hostnameType": "ip-name", "enableResourceNameDnsARecord": False,
                                      "enableResourceNameDnsAAAARecord": False},
        })
    return {"requestId": request_id, "reservationId": "r-0" + format(c.rng.getrandbits(64), "016x"),
            "ownerId": c.account_id, "groupSet": {}, "instancesSet": {"items": items}}


def _create_tags_req(c: _Ctx) -> dict:
    return {"resourcesSet": {"items": [{"resourceId": c.instance()}]},
            "tagSet": {"items": [{"key": c.rng.choice(("Owner", "CostCenter", "Name", "Backup")),
                                  "value": c.rng.choice(("platform", "cc-1042", "web", "daily"))}]}}


def _return_true(c: _Ctx, req: Any, request_id: str) -> dict:
    return {"requestId": request_id, "_return": True}


def _assume_role_req(c: _Ctx) -> dict:
    p = c.principal
    if p.kind == "AWSService" and p.invoked_by == "ec2.amazonaws.com":
        session = c.instance()
        role = c.rng.choice(("app-server-role", "batch-worker-role"))
    else:
        session = c.rng.choice(("terraform", "deploy", f"botocore-session-{int(c.time.timestamp())}"))
        role = c.rng.choice(("terraform-ci", "cross-account-audit"))
    return {"roleArn": f"arn:aws:iam::{c.account_id}:role/{role}", "roleSessionName": session,
            "durationSeconds": 3600}


def _assume_role_resp(c: _Ctx, req: Any, request_id: str) -> dict:
    rq = req if isinstance(req, dict) else {}
    role_arn = rq.get("roleArn", f"arn:aws:iam::{c.account_id}:role/role")
    role = role_arn.rsplit("/", 1)[-1]
    session = rq.get("roleSessionName", "session")
    exp = c.time + timedelta(seconds=int(rq.get("durationSeconds", 3600) or 3600))
    return {"credentials": {"accessKeyId": "ASIA" + _rand_str(c.rng, 16), "sessionToken": _token(c.rng, 720),
                            "expiration": _fmt_java(exp)},
            "assumedRoleUser": {"assumedRoleId": f"{_stable_id('AROA', c.account_id + role)}:{session}",
                                "arn": f"arn:aws:sts::{c.account_id}:assumed-role/{role}/{session}"}}


def _assume_role_resources(c: _Ctx, req: Any) -> list:
    rq = req if isinstance(req, dict) else {}
    return [{"accountId": c.account_id, "type": "AWS::IAM::Role",
             "ARN": rq.get("roleArn", f"arn:aws:iam::{c.account_id}:role/role")}]


def _kms_ctx(c: _Ctx) -> dict:
    inv = c.principal.invoked_by or ""
    if inv == "cloudtrail.amazonaws.com":
        return {"aws:cloudtrail:arn": f"arn:aws:cloudtrail:us-east-1:{c.account_id}:trail/management-events",
                "aws:s3:arn": f"arn:aws:s3:::aws-cloudtrail-logs-{c.account_id}-6f1d2c3b/AWSLogs/"
                              f"{c.account_id}/CloudTrail/{c.region}/{c.time:%Y/%m/%d}/"}
    return {"aws:ebs:id": "vol-0" + format(c.rng.getrandbits(64), "016x")}


def _kms_req(c: _Ctx) -> dict:
    return {"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": _kms_ctx(c)}


def _kms_gdk_req(c: _Ctx) -> dict:
    return {"keyId": c.kms_key(), "encryptionContext": _kms_ctx(c), "keySpec": "AES_256"}


def _kms_grant_req(c: _Ctx) -> dict:
    return {"keyId": c.kms_key(), "granteePrincipal": f"ec2.{c.region}.amazonaws.com",
            "retiringPrincipal": f"ec2.{c.region}.amazonaws.com",
            "operations": ["Decrypt"], "constraints": {"encryptionContextSubset": _kms_ctx(c)}}


def _kms_resources(c: _Ctx, req: Any) -> list:
    key = req.get("keyId") if isinstance(req, dict) and str(req.get("keyId", "")).startswith("arn:") else c.kms_key()
    return [{"accountId": c.account_id, "type": "AWS::KMS::Key", "ARN": key}]


def _s3_req(op_param: str | None) -> Callable[[_Ctx], dict]:
    def req(c: _Ctx) -> dict:
        b = c.bucket()
        d = {"bucketName": b, "Host": f"{b}.s3.{c.region}.amazonaws.com"}
        if op_param:
            d[op_param] = ""
        return d
    return req


def _s3_resources(c: _Ctx, req: Any) -> list | None:
    if isinstance(req, dict) and "bucketName" in req:
        return [{"accountId": c.account_id, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{req['bucketName']}"}]
    return None


def _s3_additional(c: _Ctx) -> dict:
    return {"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0,
            "AuthenticationMethod": "AuthHeader", "x-amz-id-2": _token(c.rng, 57),
            "bytesTransferredOut": c.rng.randrange(100, 900)}


def _role_name_req(c: _Ctx) -> dict:
    return {"roleName": c.rng.choice(("terraform-ci", "app-server-role", "batch-worker-role",
                                      "AWSServiceRoleForAutoScaling", "cross-account-audit"))}


def _ssm_update_req(c: _Ctx) -> dict:
    iid = c.instance()
    ip = _stable_private_ip(iid)
    return {"instanceId": iid, "agentVersion": "3.3.859.0", "agentStatus": "Active", "platformType": "Linux",
            "platformName": "Amazon Linux", "platformVersion": "2023", "iPAddress": ip,
            "computerName": f"ip-{ip.replace('.', '-')}.{_internal_domain(c.region)}", "agentName": "amazon-ssm-agent",
            "availabilityZone": f"{c.region}a", "availabilityZoneId": f"{_az_prefix(c.region)}-az1",
            "sSMConnectionChannel": "ssmmessages"}


def _secret_req(c: _Ctx) -> dict:
    name = c.rng.choice(("prod/db/postgres", "prod/api/stripe", "prod/app/session-key"))
    suffix = hashlib.md5(f"{c.account_id}{name}".encode()).hexdigest()[:6]
    return {"secretId": f"arn:aws:secretsmanager:{c.region}:{c.account_id}:secret:{name}-{suffix}"}


def _console_login_resp(c: _Ctx, req: Any, request_id: str) -> dict:
    return {"ConsoleLogin": "Success"}


def _console_login_additional(c: _Ctx) -> dict:
    d = {"LoginTo": "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_"
                    f"{c.region}_" + format(c.rng.getrandbits(64), "016x"),
         "MobileVersion": "No", "MFAUsed": "Yes" if c.principal.mfa else "No"}
    if c.principal.mfa and c.principal.kind in ("IAMUser", "Root"):
        d["MFAIdentifier"] = (f"arn:aws:iam::{c.account_id}:mfa/"
                              f"{c.principal.user_name or 'root-account-mfa-device'}")
    return d


def _c(value: Any) -> Callable[[_Ctx], Any]:
    return lambda c: value


@dataclass(frozen=True)
class _Api:
    source: str
    read_only: bool
    req: Callable[[_Ctx], Any] = _c(None)
    resp: Callable[[_Ctx, Any, str], Any] | None = None
    resources: Callable[[_Ctx, Any], Any] | None = None
    additional: Callable[[_Ctx], Any] | None = None
    event_type: str = "AwsApiCall"
    is_global: bool = False
    version: str = "1.08"
    request_id: str = "uuid"  # "uuid" | "s3" | "none"


_EC2 = "ec2.amazonaws.com"
CATALOG: dict[str, _Api] = {
    # EC2 (regional). Describe* calls log requestParameters only; responseElements is null.
    "DescribeInstances": _Api(_EC2, True, _describe_instances, version="1.10"),
    "DescribeInstanceStatus": _Api(_EC2, True, lambda c: {"instancesSet": {}, "filterSet": {},
                                                         "includeAllInstances": c.rng.random() < 0.5},
                                   version="1.10"),
    "DescribeVolumes": _Api(_EC2, True, _c({"volumeSet": {}, "filterSet": {}}), version="1.10"),
    "DescribeSecurityGroups": _Api(_EC2, True, lambda c: {"securityGroupSet": {}, "securityGroupIdSet": {
        "items": [{"groupId": _sg(c)}]}, "filterSet": {}}, version="1.10"),
    "DescribeSubnets": _Api(_EC2, True, lambda c: {"subnetSet": {}, "filterSet": {"items": [
        {"name": "vpc-id", "valueSet": {"items": [{"value": _vpc(c)}]}}]}}, version="1.10"),
    "DescribeVpcs": _Api(_EC2, True, _c({"vpcSet": {}, "filterSet": {}}), version="1.10"),
    "DescribeImages": _Api(_EC2, True, _c({"executableBySet": {}, "imagesSet": {}, "ownersSet": {
        "items": [{"owner": "amazon"}]}, "availabilityZoneSet": {}, "filterSet": {"items": [
            {"name": "name", "valueSet": {"items": [{"value": "al2023-ami-2023.*-x86_64"}]}}]}}), version="1.10"),
    "DescribeTags": _Api(_EC2, True, lambda c: {"filterSet": {"items": [
        {"name": "resource-id", "valueSet": {"items": [{"value": c.instance()}]}}]}}, version="1.10"),
    "DescribeRegions": _Api(_EC2, True, _c({"regionSet": {}, "allRegions": False}), version="1.10"),
    "DescribeAvailabilityZones": _Api(_EC2, True, _c({"availabilityZoneSet": {}, "availabilityZoneIdSet": {},
                                                       "allAvailabilityZones": False}), version="1.10"),
    "RunInstances": _Api(_EC2, False, _run_instances_req, _run_instances_resp, version="1.10"),
    "TerminateInstances": _Api(_EC2, False, _one_instance, _state_change((32, "shutting-down"), (16, "running")),
                               version="1.10"),
    "StopInstances": _Api(_EC2, False, lambda c: {**_one_instance(c), "force": False},
                          _state_change((64, "stopping"), (16, "running")), version="1.10"),
    "StartInstances": _Api(_EC2, False, _one_instance, _state_change((0, "pending"), (80, "stopped")),
                           version="1.10"),
    "RebootInstances": _Api(_EC2, False, _one_instance, _return_true, version="1.10"),
    "CreateTags": _Api(_EC2, False, _create_tags_req, _return_true, version="1.10"),
    "AuthorizeSecurityGroupIngress": _Api(_EC2, False, lambda c: {"groupId": _sg(c), "ipPermissions": {"items": [
        {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "groups": {}, "ipRanges": {"items": [
            {"cidrIp": "0.0.0.0/0"}]}, "ipv6Ranges": {}, "prefixListIds": {}}]}},
        lambda c, req, rid: {"requestId": rid, "_return": True, "securityGroupRuleSet": {"items": [{
            "groupOwnerId": c.account_id, "groupId": _sg(c), "securityGroupRuleId":
                "sgr-0" + format(c.rng.getrandbits(64), "016x"), "isEgress": False, "ipProtocol": "tcp",
            "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"}]}}, version="1.10"),
    # STS / IAM / sign-in: global, logged in us-east-1
    "AssumeRole": _Api("sts.amazonaws.com", True, _assume_role_req, _assume_role_resp, _assume_role_resources,
                       is_global=True),
    "GetCallerIdentity": _Api("sts.amazonaws.com", True, is_global=True),
    "ListRoles": _Api("iam.amazonaws.com", True, _c({"maxItems": 1000}), is_global=True),
    "GetRole": _Api("iam.amazonaws.com", True, _role_name_req, is_global=True),
    "ListAttachedRolePolicies": _Api("iam.amazonaws.com", True, _role_name_req, is_global=True),
    "ListUsers": _Api("iam.amazonaws.com", True, _c({"maxItems": 1000}), is_global=True),
    "GetAccountSummary": _Api("iam.amazonaws.com", True, is_global=True),
    "ListMFADevices": _Api("iam.amazonaws.com", True, is_global=True),
    "ConsoleLogin": _Api("signin.amazonaws.com", False, resp=_console_login_resp,
                         additional=_console_login_additional, event_type="AwsConsoleSignIn", is_global=True,
                         version="1.09", request_id="none"),
    # KMS (mostly AWS services)
    "Decrypt": _Api("kms.amazonaws.com", True, _kms_req, resources=_kms_resources),
    "GenerateDataKey": _Api("kms.amazonaws.com", True, _kms_gdk_req, resources=_kms_resources),
    "GenerateDataKeyWithoutPlaintext": _Api("kms.amazonaws.com", True, _kms_gdk_req, resources=_kms_resources),
    "CreateGrant": _Api("kms.amazonaws.com", False, _kms_grant_req,
                        lambda c, req, rid: {"grantId": format(c.rng.getrandbits(256), "064x")},
                        resources=_kms_resources),
    # S3 bucket-level management events
    "ListBuckets": _Api("s3.amazonaws.com", True, _c({"Host": "s3.amazonaws.com"}),
                        additional=_s3_additional, is_global=True, version="1.09", request_id="s3"),
    "GetBucketLocation": _Api("s3.amazonaws.com", True, _s3_req("location"), resources=_s3_resources,
                              additional=_s3_additional, version="1.09", request_id="s3"),
    "GetBucketPolicy": _Api("s3.amazonaws.com", True, _s3_req("policy"), resources=_s3_resources,
                            additional=_s3_additional, version="1.09", request_id="s3"),
    "GetBucketEncryption": _Api("s3.amazonaws.com", True, _s3_req("encryption"), resources=_s3_resources,
                                additional=_s3_additional, version="1.09", request_id="s3"),
    # other regional services
    "DescribeAlarms": _Api("monitoring.amazonaws.com", True, _c({"maxRecords": 100})),
    "DescribeLogGroups": _Api("logs.amazonaws.com", True, _c({"limit": 50})),
    "ListFunctions20150331": _Api("lambda.amazonaws.com", True, _c(None)),
    "DescribeAutoScalingGroups": _Api("autoscaling.amazonaws.com", True, _c({"maxRecords": 100})),
    "DescribeTrails": _Api("cloudtrail.amazonaws.com", True, _c({"trailNameList": [],
                                                                 "includeShadowTrails": True})),
    "DescribeInstanceInformation": _Api("ssm.amazonaws.com", True, lambda c: {"filters": [
        {"key": "InstanceIds", "values": [c.instance()]}]}),
    "UpdateInstanceInformation": _Api("ssm.amazonaws.com", False, _ssm_update_req),
    "ListInstanceAssociations": _Api("ssm.amazonaws.com", True, lambda c: {"instanceId": c.instance(),
                                                                          "maxResults": 20}),
    "GetParameters": _Api("ssm.amazonaws.com", True, _c({"names": ["/app/prod/config", "/app/prod/feature-flags"],
                                                         "withDecryption": True}),
                          resources=lambda c, req: [
                              {"ARN": f"arn:aws:ssm:{c.region}:{c.account_id}:parameter{n}", "accountId": c.account_id}
                              for n in (req.get("names", []) if isinstance(req, dict) else [])]),
    "GetSecretValue": _Api("secretsmanager.amazonaws.com", True, _secret_req, version="1.09"),
    "GetAuthorizationToken": _Api("ecr.amazonaws.com", True, _c({"registryIds": []})),
}

_HOSTS = {"ec2.amazonaws.com": "ec2", "monitoring.amazonaws.com": "monitoring", "logs.amazonaws.com": "logs",
          "lambda.amazonaws.com": "lambda", "autoscaling.amazonaws.com": "autoscaling",
          "cloudtrail.amazonaws.com": "cloudtrail", "ssm.amazonaws.com": "ssm", "kms.amazonaws.com": "kms",
          "secretsmanager.amazonaws.com": "secretsmanager", "ecr.amazonaws.com": "api.ecr",
          "sts.amazonaws.com": "sts"}


def _host_header(source: str, region: str, is_global: bool, req: Any) -> str:
    if source == "signin.amazonaws.com":
        return "signin.aws.amazon.com"
    if source == "iam.amazonaws.com":
        return "iam.amazonaws.com"
    if source == "sts.amazonaws.com" and is_global:
        return "sts.amazonaws.com"
    if source == "s3.amazonaws.com":
        if isinstance(req, dict) and isinstance(req.get("Host"), str):
            return req["Host"]
        return f"s3.{region}.amazonaws.com"
    svc = _HOSTS.get(source) or source.split(".", 1)[0]
    return f"{svc}.{region}.amazonaws.com"


def _guess_read_only(event_name: str) -> bool:
    return event_name.startswith(("Describe", "List", "Get", "Lookup", "Head", "Search", "BatchGet", "Check"))


_CLI_CMD = {"DescribeInstances": "ec2.describe-instances", "GetCallerIdentity": "sts.get-caller-identity",
            "ListBuckets": "s3api.list-buckets", "DescribeSecurityGroups": "ec2.describe-security-groups"}


# ------------------------------------------------------------------------------------------------ records
def build_record(*, event_name: str, event_source: str, principal: Principal, account_id: str,
                 event_time: datetime, region: str, source_ip: str | None = None, user_agent: str | None = None,
                 request_parameters: dict | None = None, response_elements: dict | None = None,
                 additional_event_data: dict | None = None, resources: list | None = None,
                 error_code: str | None = None, error_message: str | None = None,
                 read_only: bool | None = None, event_type: str = "AwsApiCall", rng: random.Random,
                 profile: AccountProfile | None = None, console: bool | None = None) -> dict:
    """One CloudTrail record, with the real key order, key set and value types for ``event_name``.

    Arguments left at ``None`` get realistic values: for event names in :data:`CATALOG`,
    ``request_parameters``/``response_elements``/``resources``/``additional_event_data`` are built from the
    catalog (consistent with each other: the instance in StopInstances' request is the one in its response);
    for other names they stay ``null``. An ``error_code`` makes ``responseElements`` null (as CloudTrail does),
    except for a failed ConsoleLogin (pass ``error_message="Failed authentication"``; CloudTrail logs no
    errorCode for it, and ``responseElements.ConsoleLogin`` becomes ``"Failure"``).
    IAM/STS/sign-in events are logged in us-east-1, whatever ``region`` says.
    ``console=True`` marks an API call made from the AWS console (``sessionCredentialFromConsole``).
    """
    if event_time.tzinfo is None:
        raise ValueError("event_time must be timezone-aware (UTC)")
    t = event_time.astimezone(UTC)
    api = CATALOG.get(event_name)
    if api is not None and api.source != event_source:
        api = None  # same name, other service: use the generic shape
    is_global = api.is_global if api else event_source in ("iam.amazonaws.com", "sts.amazonaws.com",
                                                             "signin.amazonaws.com")
    if is_global:
        region = GLOBAL_REGION
    ctx = _Ctx(rng, account_id, region, t, principal, profile)
    p = principal
    is_login = event_name in ("ConsoleLogin", "CheckMfa") and event_source == "signin.amazonaws.com"
    if console is None:
        console = is_login or (p.console_share > 0 and rng.random() < p.console_share)
    if api is not None and event_type == "AwsApiCall" and api.event_type != "AwsApiCall":
        event_type = api.event_type

    # userIdentity --------------------------------------------------------------------------------
    if p.kind == "AWSService":
        ui: dict[str, Any] = {"type": "AWSService", "invokedBy": p.invoked_by or p.name}
    elif p.kind == "Root":
        ui = {"type": "Root", "principalId": account_id, "arn": f"arn:aws:iam::{account_id}:root",
              "accountId": account_id}
        if is_login:
            ui["accessKeyId"] = ""
        else:
            key, created = _session_key(p, account_id, t)
            ui["accessKeyId"] = key
            ui["sessionContext"] = {"attributes": {"creationDate": _fmt_time(created),
                                                   "mfaAuthenticated": "true" if p.mfa else "false"}}
    elif p.kind == "IAMUser":
        user = p.user_name or p.name
        ui = {"type": "IAMUser", "principalId": p.principal_id or _stable_id("AIDA", account_id + user),
              "arn": f"arn:aws:iam::{account_id}:user/{user}", "accountId": account_id}
        if is_login and error_message is not None:  # failed sign-in: no ARN, empty access key
            ui = {"type": "IAMUser", "principalId": ui["principalId"], "accountId": account_id, "accessKeyId": "",
                  "userName": user}
        elif is_login:
            ui["userName"] = user
        elif console:
            key, created = _session_key(p, account_id, t)
            ui["accessKeyId"] = key
            ui["userName"] = user
            ui["sessionContext"] = {"attributes": {"creationDate": _fmt_time(created),
                                                   "mfaAuthenticated": "true" if p.mfa else "false"}}
        else:
            ui["accessKeyId"] = _stable_id("AKIA", account_id + user + "key1", 16)
            ui["userName"] = user
    else:  # AssumedRole
        role_id = p.principal_id or _stable_id("AROA", account_id + (p.role_name or ""))
        ui = {"type": "AssumedRole", "principalId": f"{role_id}:{p.session_name}", "arn": p.arn(account_id),
              "accountId": account_id}
        key, created = _session_key(p, account_id, t)
        if not is_login:
            ui["accessKeyId"] = key
        sc: dict[str, Any] = {"sessionIssuer": {"type": "Role", "principalId": role_id,
                                                "arn": p.role_arn(account_id), "accountId": account_id,
                                                "userName": p.role_name},
                              "attributes": {"creationDate": _fmt_time(created), "mfaAuthenticated": "false"}}
        if p.instance_id:
            sc["ec2RoleDelivery"] = "2.0"
        ui["sessionContext"] = sc
        if p.invoked_by:
            ui["invokedBy"] = p.invoked_by

    # request / response ---------------------------------------------------------------------------
    # An authorization failure outside EC2 (AccessDenied) is logged with null requestParameters and no
    # resources; EC2's Client.UnauthorizedOperation keeps the request.
    denied = error_code in ("AccessDenied", "AccessDeniedException")
    if request_parameters is None and api is not None and not denied:
        request_parameters = api.req(ctx)
    request_id: str | None
    if api is not None and api.request_id == "none":
        request_id = None
    elif api is not None and api.request_id == "s3":
        request_id = _rand_str(rng, 16)
    else:
        request_id = _uuid(rng)
    failed_login = is_login and error_message is not None
    if response_elements is None and api is not None and api.resp is not None and not error_code:
        if failed_login:
            response_elements = {"ConsoleLogin": "Failure"}
        else:
            response_elements = api.resp(ctx, request_parameters, request_id or "")
    if additional_event_data is None and api is not None and api.additional is not None:
        additional_event_data = api.additional(ctx)
    if resources is None and api is not None and api.resources is not None and not denied:
        resources = api.resources(ctx, request_parameters)
    if read_only is None:
        read_only = api.read_only if api is not None else _guess_read_only(event_name)

    # where from -------------------------------------------------------------------------------------
    if p.kind == "AWSService" or p.invoked_by:
        source_ip = source_ip or (p.invoked_by or p.name)
        user_agent = user_agent or (p.invoked_by or p.name)
    else:
        if source_ip is None:
            ips = p.ips or ("198.51.100.1",)
            source_ip = ips[0] if (len(ips) == 1 or rng.random() < 0.8) else ips[1 + int(rng.random() * (len(ips) - 1))]
        if user_agent is None:
            if console and p.browser_agents:
                user_agent = (p.browser_agents[int(rng.random() * len(p.browser_agents))] if is_login
                              else ("AWS Internal" if rng.random() < 0.3 else p.browser_agents[0]))
            elif p.user_agents:
                user_agent = p.user_agents[int(rng.random() * len(p.user_agents))]
                if "{cmd}" in user_agent:
                    user_agent = user_agent.replace("{cmd}", _CLI_CMD.get(event_name, event_source.split(".")[0]
                                                                          + "." + event_name.lower()))
                if "{svc}" in user_agent:
                    user_agent = user_agent.replace("{svc}", event_source.split(".")[0])
            else:
                user_agent = _BOTO3

    # assemble, in CloudTrail's key order ------------------------------------------------------------
    version = api.version if api is not None else "1.09"
    rec: dict[str, Any] = {"eventVersion": version, "userIdentity": ui, "eventTime": _fmt_time(t),
                           "eventSource": event_source, "eventName": event_name, "awsRegion": region,
                           "sourceIPAddress": source_ip, "userAgent": user_agent}
    if error_code is not None:
        rec["errorCode"] = error_code
    if error_message is not None:
        rec["errorMessage"] = error_message
    rec["requestParameters"] = request_parameters
    rec["responseElements"] = response_elements
    if additional_event_data is not None:
        rec["additionalEventData"] = additional_event_data
    if request_id is not None:
        rec["requestID"] = request_id
    rec["eventID"] = _uuid(rng)
    rec["readOnly"] = read_only
    if resources is not None:
        rec["resources"] = resources
    rec["eventType"] = event_type
    rec["managementEvent"] = True
    rec["recipientAccountId"] = account_id
    if p.kind == "AWSService":
        rec["sharedEventID"] = _uuid(rng)
    if p.vpc_endpoint and not is_global:
        rec["vpcEndpointId"] = p.vpc_endpoint
        rec["vpcEndpointAccountId"] = account_id
    rec["eventCategory"] = "Management"
    if p.kind != "AWSService" and not p.invoked_by:
        rec["tlsDetails"] = {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                             "clientProvidedHostHeader": _host_header(event_source, region, is_global,
                                                                      request_parameters)}
        if console and not is_login:
            rec["sessionCredentialFromConsole"] = "true"
    return rec


# ----------------------------------------------------------------------------------------- background
def _hour_weight(local_hour: float, weekday: int) -> float:
    if weekday >= 5:
        return 0.06
    if 9 <= local_hour < 18:
        return 1.0 if not 12 <= local_hour < 13 else 0.6
    if 7 <= local_hour < 9 or 18 <= local_hour < 21:
        return 0.3
    return 0.02


_MEAN_HOUR_WEIGHT = sum(_hour_weight(h + 0.5, d) for d in range(7) for h in range(24)) / (7 * 24)


def _cum(weights: Iterable[float]) -> list[float]:
    out, s = [], 0.0
    for w in weights:
        s += w
        out.append(s)
    return out


def _pick(rng: random.Random, cum: list[float]) -> int:
    return min(bisect.bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)


def _error_for(api: _Api | None, event_source: str, event_name: str, p: Principal, account_id: str,
               region: str, rng: random.Random) -> tuple[str, str]:
    action = f"{event_source.split('.')[0]}:{event_name.replace('20150331', '')}"
    r = rng.random()
    if event_source == "ec2.amazonaws.com":
        if r < 0.25 and (api is None or api.read_only):
            return "Client.RequestLimitExceeded", "Request limit exceeded."
        return ("Client.UnauthorizedOperation",
                f"You are not authorized to perform this operation. User: {p.arn(account_id)} is not authorized "
                f"to perform: {action} on resource: arn:aws:ec2:{region}:{account_id}:instance/* because no "
                f"identity-based policy allows the {action} action. Encoded authorization failure message: "
                + _token(rng, 300).replace("+", "-").replace("/", "_"))
    if r < 0.3:
        return "ThrottlingException", "Rate exceeded"
    return ("AccessDenied",
            f"User: {p.arn(account_id)} is not authorized to perform: {action} because no identity-based policy "
            f"allows the {action} action")


def iter_records(profile: AccountProfile, *, start: datetime, end: datetime, events: int,
                 seed: int) -> Iterator[dict]:
    """Like :func:`generate_records` but yields the records one by one (sorted by eventTime)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware (UTC)")
    if end <= start:
        raise ValueError("end must be after start")
    rng = random.Random(seed)
    t0 = start.timestamp()
    span = end.timestamp() - t0
    principals = profile.principals
    # Humans are drawn with weight / mean(office-hours factor), then kept with the probability of the
    # factor at the drawn time: over whole weeks they get their weight share, in a weekend-only
    # window almost nothing.
    pcum = _cum(p.weight / _MEAN_HOUR_WEIGHT if p.diurnal else p.weight for p in principals)
    acums = [_cum(w for _, w in p.actions) for p in principals]
    prof_regions = list(profile.regions.items())
    rcum_prof = _cum(w for _, w in prof_regions)
    rcums = [(_cum(w for _, w in p.regions), [r for r, _ in p.regions]) if p.regions else
             (rcum_prof, [r for r, _ in prof_regions]) for p in principals]

    draws: list[tuple[float, int]] = []
    for _ in range(events):
        while True:
            pi = _pick(rng, pcum)
            p = principals[pi]
            ts = t0 + rng.random() * span
            if not p.diurnal:
                break
            lt = ts + p.tz_offset_hours * 3600
            day = math.floor(lt / 86400)
            if rng.random() < _hour_weight((lt - day * 86400) / 3600, (day + 3) % 7):
                break
        draws.append((ts, pi))
    draws.sort()
    for ts, pi in draws:
        p = principals[pi]
        name = p.actions[_pick(rng, acums[pi])][0] if p.actions else "GetCallerIdentity"
        api = CATALOG[name]
        rcum, rnames = rcums[pi]
        region = rnames[_pick(rng, rcum)]
        t = datetime.fromtimestamp(int(ts), UTC)
        err_code = err_msg = None
        if name == "ConsoleLogin":
            if rng.random() < 0.03:
                err_msg = "Failed authentication"
        elif rng.random() < p.error_rate:
            err_code, err_msg = _error_for(api, api.source, name, p, profile.account_id, region, rng)
        yield build_record(event_name=name, event_source=api.source, principal=p, account_id=profile.account_id,
                           event_time=t, region=region, error_code=err_code, error_message=err_msg, rng=rng,
                           profile=profile)


def generate_records(profile: AccountProfile, *, start: datetime, end: datetime, events: int,
                     seed: int) -> list[dict]:
    """``events`` background records between ``start`` and ``end`` (tz-aware), sorted by eventTime.

    Deterministic for a seed. Principals get their ``weight`` share; humans follow office hours in their
    time zone (and rarely work weekends), automation and services are constant. About 1-2 % errors
    (AccessDenied, Client.UnauthorizedOperation, Client.RequestLimitExceeded, ThrottlingException), 3 % of
    console sign-ins fail.
    """
    return list(iter_records(profile, start=start, end=end, events=events, seed=seed))


# -------------------------------------------------------------------------------------------- delivery
SLOT_SECONDS = 300


def delivery_key(account_id: str, region: str, delivery_time: datetime, suffix: str,
                 org_id: str | None = None) -> str:
    """The S3 key of a CloudTrail log file delivered at ``delivery_time``."""
    org = f"{org_id}/" if org_id else ""
    return (f"AWSLogs/{org}{account_id}/CloudTrail/{region}/{delivery_time:%Y/%m/%d}/"
            f"{account_id}_CloudTrail_{region}_{delivery_time:%Y%m%dT%H%MZ}_{suffix}.json.gz")


def _parse_event_ts(s: str) -> int:
    # "YYYY-MM-DDTHH:MM:SSZ" -> epoch seconds, fast path
    return int(datetime(int(s[0:4]), int(s[5:7]), int(s[8:10]), int(s[11:13]), int(s[14:16]), int(s[17:19]),
                        tzinfo=UTC).timestamp())


def _compress_write(path: Path, body: bytes) -> int:
    data = zlib.compress(body, 6, 31)  # gzip container, mtime 0, no file name
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def write_trail(records: Iterable[dict], out_dir: Path, *, seed: int, late_fraction: float = 0.01,
                org_id: str | None = None, workers: int | None = None) -> dict:
    """Write records as a trail's S3 delivery: one ``.json.gz`` per (account, region, 5-minute slot).

    Records should come sorted by eventTime (as :func:`generate_records` yields them); they are grouped
    in a streaming way, so an iterator of millions of records needs only a few hours of them in memory.
    A ``late_fraction`` of records goes into a file delivered 15 min .. 3 h after their eventTime (in
    that file's date folder). The file name's timestamp is the delivery time: the end of the slot plus
    1-4 minutes. Same records + same seed -> same file names and bytes (gzip mtime 0, no name).
    Compression and writing run in ``workers`` threads (zlib releases the GIL).
    Returns ``{"files": n, "events": n, "bytes": n, "json_bytes": n}`` (bytes: compressed bytes written;
    json_bytes: the uncompressed JSON).
    """
    out_dir = Path(out_dir)
    rng = random.Random(seed)
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode
    groups: dict[tuple[str, str, int], list[str]] = {}
    horizon = (3 * 3600 + 2 * SLOT_SECONDS) // SLOT_SECONDS  # slots a late record can reach ahead
    n_files = n_events = 0
    nbytes = json_bytes = 0
    workers = workers or min(4, (os.cpu_count() or 1))
    pool = ThreadPoolExecutor(max_workers=workers)
    pending: list = []
    made_dirs: set[Path] = set()

    def flush(keys: list[tuple[str, str, int]]) -> None:
        nonlocal n_files, nbytes, json_bytes
        for key in sorted(keys, key=lambda k: (k[2], k[0], k[1])):
            items = groups.pop(key)
            acct, region, slot = key
            delivered = datetime.fromtimestamp((slot + 1) * SLOT_SECONDS + rng.randrange(60, 240), UTC)
            suffix = "".join(rng.choices(_ALNUM, k=16))
            path = out_dir / delivery_key(acct, region, delivered, suffix, org_id)
            body = ('{"Records":[' + ",".join(items) + "]}").encode()
            json_bytes += len(body)
            if path.parent not in made_dirs:
                path.parent.mkdir(parents=True, exist_ok=True)
                made_dirs.add(path.parent)
            pending.append(pool.submit(_compress_write, path, body))
            n_files += 1
        while len(pending) > 4 * workers:
            nbytes += pending.pop(0).result()

    last_slot = None
    try:
        for rec in records:
            ts = _parse_event_ts(rec["eventTime"])
            slot = ts // SLOT_SECONDS
            if late_fraction and rng.random() < late_fraction:
                slot = (ts + rng.randrange(15 * 60, 3 * 3600 - 2 * SLOT_SECONDS)) // SLOT_SECONDS
            key = (rec.get("recipientAccountId") or "000000000000", rec.get("awsRegion") or GLOBAL_REGION, slot)
            g = groups.get(key)
            if g is None:
                groups[key] = g = []
            g.append(dumps(rec))
            n_events += 1
            cur = ts // SLOT_SECONDS
            if last_slot is None or cur > last_slot:
                if last_slot is not None:
                    done = [k for k in groups if k[2] < cur - horizon]
                    if done:
                        flush(done)
                last_slot = cur
        flush(list(groups))
        for f in pending:
            nbytes += f.result()
        pending.clear()
    finally:
        pool.shutdown(wait=True)
    return {"files": n_files, "events": n_events, "bytes": nbytes, "json_bytes": json_bytes}
