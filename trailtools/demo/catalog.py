"""What each API call looks like in CloudTrail: the request and response builders per event name (``CATALOG``),
the request context of a call, and the small formatting helpers records share."""
from __future__ import annotations

import base64
import hashlib
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from trailtools.demo.principals import (
    UPPER_DIGITS,
    AccountProfile,
    Principal,
    fleet_instances,
    random_instance_id,
    stable_id,
    stable_private_ip,
)


# --------------------------------------------------------------------------------------------- helpers
def fmt_time(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _fmt_java(t: datetime) -> str:
    """The ``Jul 30, 2024, 9:46:15 PM`` form that STS/IAM/SSM use inside responseElements."""
    h = t.hour % 12 or 12
    return f"{t.strftime('%b')} {t.day}, {t.year}, {h}:{t.minute:02d}:{t.second:02d} {'AM' if t.hour < 12 else 'PM'}"


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def rand_str(rng: random.Random, n: int, alphabet: str = UPPER_DIGITS) -> str:
    return "".join(rng.choices(alphabet, k=n))


def token(rng: random.Random, nbytes: int) -> str:
    return base64.b64encode(rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big")).decode()


def session_key(p: Principal, account_id: str, t: datetime) -> tuple[str, datetime]:
    """A session's access key and creation time: stable for the hour (credentials are refreshed hourly)."""
    hour = t.replace(minute=0, second=0, microsecond=0)
    created = hour + timedelta(seconds=int(hashlib.md5(f"{p.name}{hour}".encode()).digest()[0]) % 240)
    if created > t:
        created -= timedelta(hours=1)
    return stable_id("ASIA", f"{account_id}{p.name}{created}", 16), created


@dataclass
class Context:
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


def _state_change(cur: tuple[int, str], prev: tuple[int, str]) -> Callable[[Context, Any, str], Any]:
    def resp(c: Context, req: Any, request_id: str) -> Any:
        ids = _ids_from_request(req) or [c.instance()]
        return {"requestId": request_id, "instancesSet": {"items": [
            {"instanceId": i, "currentState": {"code": cur[0], "name": cur[1]},
             "previousState": {"code": prev[0], "name": prev[1]}} for i in ids]}}
    return resp


def _one_instance(c: Context) -> dict:
    return {"instancesSet": _items([c.instance()])}


def _describe_instances(c: Context) -> dict:
    r = c.rng.random()
    if r < 0.45:
        return {"instancesSet": {}, "filterSet": {}}
    if r < 0.8:
        return {"instancesSet": _items([c.instance()]), "filterSet": {}}
    return {"instancesSet": {}, "filterSet": {"items": [
        {"name": "instance-state-name", "valueSet": {"items": [{"value": "running"}, {"value": "stopped"}]}},
        {"name": "tag:Environment", "valueSet": {"items": [{"value": "production"}]}}]}}


def _run_instances_req(c: Context) -> dict:
    return {
        "instancesSet": {"items": [{"imageId": "ami-0" + format(c.rng.getrandbits(64), "016x"),
                                     "minCount": 1, "maxCount": 1}]},
        "instanceType": c.rng.choice(("t3.micro", "t3.medium", "m6i.large", "c6i.xlarge")),
        "blockDeviceMapping": {}, "monitoring": {"enabled": False}, "disableApiTermination": False,
        "disableApiStop": False, "clientToken": new_uuid(c.rng),
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


def _subnet(c: Context) -> str:
    return "subnet-0" + hashlib.md5(f"{c.account_id}{c.region}sub".encode()).hexdigest()[:16]


def _sg(c: Context) -> str:
    return "sg-0" + hashlib.md5(f"{c.account_id}{c.region}sg".encode()).hexdigest()[:16]


def _vpc(c: Context) -> str:
    return "vpc-0" + hashlib.md5(f"{c.account_id}{c.region}vpc".encode()).hexdigest()[:16]


def _run_instances_resp(c: Context, req: Any, request_id: str) -> dict:
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
                                   "id": stable_id("AIPA", c.account_id + "profile")},
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


def _create_tags_req(c: Context) -> dict:
    return {"resourcesSet": {"items": [{"resourceId": c.instance()}]},
            "tagSet": {"items": [{"key": c.rng.choice(("Owner", "CostCenter", "Name", "Backup")),
                                  "value": c.rng.choice(("platform", "cc-1042", "web", "daily"))}]}}


def _return_true(c: Context, req: Any, request_id: str) -> dict:
    return {"requestId": request_id, "_return": True}


def _assume_role_req(c: Context) -> dict:
    p = c.principal
    if p.kind == "AWSService" and p.invoked_by == "ec2.amazonaws.com":
        session = c.instance()
        role = c.rng.choice(("app-server-role", "batch-worker-role"))
    else:
        session = c.rng.choice(("terraform", "deploy", f"botocore-session-{int(c.time.timestamp())}"))
        role = c.rng.choice(("terraform-ci", "cross-account-audit"))
    return {"roleArn": f"arn:aws:iam::{c.account_id}:role/{role}", "roleSessionName": session,
            "durationSeconds": 3600}


def _assume_role_resp(c: Context, req: Any, request_id: str) -> dict:
    rq = req if isinstance(req, dict) else {}
    role_arn = rq.get("roleArn", f"arn:aws:iam::{c.account_id}:role/role")
    role = role_arn.rsplit("/", 1)[-1]
    session = rq.get("roleSessionName", "session")
    exp = c.time + timedelta(seconds=int(rq.get("durationSeconds", 3600) or 3600))
    return {"credentials": {"accessKeyId": "ASIA" + rand_str(c.rng, 16), "sessionToken": token(c.rng, 720),
                            "expiration": _fmt_java(exp)},
            "assumedRoleUser": {"assumedRoleId": f"{stable_id('AROA', c.account_id + role)}:{session}",
                                "arn": f"arn:aws:sts::{c.account_id}:assumed-role/{role}/{session}"}}


def _assume_role_resources(c: Context, req: Any) -> list:
    rq = req if isinstance(req, dict) else {}
    return [{"accountId": c.account_id, "type": "AWS::IAM::Role",
             "ARN": rq.get("roleArn", f"arn:aws:iam::{c.account_id}:role/role")}]


def _kms_ctx(c: Context) -> dict:
    inv = c.principal.invoked_by or ""
    if inv == "cloudtrail.amazonaws.com":
        return {"aws:cloudtrail:arn": f"arn:aws:cloudtrail:us-east-1:{c.account_id}:trail/management-events",
                "aws:s3:arn": f"arn:aws:s3:::aws-cloudtrail-logs-{c.account_id}-6f1d2c3b/AWSLogs/"
                              f"{c.account_id}/CloudTrail/{c.region}/{c.time:%Y/%m/%d}/"}
    return {"aws:ebs:id": "vol-0" + format(c.rng.getrandbits(64), "016x")}


def _kms_req(c: Context) -> dict:
    return {"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": _kms_ctx(c)}


def _kms_gdk_req(c: Context) -> dict:
    return {"keyId": c.kms_key(), "encryptionContext": _kms_ctx(c), "keySpec": "AES_256"}


def _kms_grant_req(c: Context) -> dict:
    return {"keyId": c.kms_key(), "granteePrincipal": f"ec2.{c.region}.amazonaws.com",
            "retiringPrincipal": f"ec2.{c.region}.amazonaws.com",
            "operations": ["Decrypt"], "constraints": {"encryptionContextSubset": _kms_ctx(c)}}


def _kms_resources(c: Context, req: Any) -> list:
    key = req.get("keyId") if isinstance(req, dict) and str(req.get("keyId", "")).startswith("arn:") else c.kms_key()
    return [{"accountId": c.account_id, "type": "AWS::KMS::Key", "ARN": key}]


def _s3_req(op_param: str | None) -> Callable[[Context], dict]:
    def req(c: Context) -> dict:
        b = c.bucket()
        d = {"bucketName": b, "Host": f"{b}.s3.{c.region}.amazonaws.com"}
        if op_param:
            d[op_param] = ""
        return d
    return req


def _s3_resources(c: Context, req: Any) -> list | None:
    if isinstance(req, dict) and "bucketName" in req:
        return [{"accountId": c.account_id, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{req['bucketName']}"}]
    return None


def _s3_additional(c: Context) -> dict:
    return {"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0,
            "AuthenticationMethod": "AuthHeader", "x-amz-id-2": token(c.rng, 57),
            "bytesTransferredOut": c.rng.randrange(100, 900)}


def _role_name_req(c: Context) -> dict:
    return {"roleName": c.rng.choice(("terraform-ci", "app-server-role", "batch-worker-role",
                                      "AWSServiceRoleForAutoScaling", "cross-account-audit"))}


def _ssm_update_req(c: Context) -> dict:
    iid = c.instance()
    ip = stable_private_ip(iid)
    return {"instanceId": iid, "agentVersion": "3.3.859.0", "agentStatus": "Active", "platformType": "Linux",
            "platformName": "Amazon Linux", "platformVersion": "2023", "iPAddress": ip,
            "computerName": f"ip-{ip.replace('.', '-')}.{_internal_domain(c.region)}", "agentName": "amazon-ssm-agent",
            "availabilityZone": f"{c.region}a", "availabilityZoneId": f"{_az_prefix(c.region)}-az1",
            "sSMConnectionChannel": "ssmmessages"}


def _secret_req(c: Context) -> dict:
    name = c.rng.choice(("prod/db/postgres", "prod/api/stripe", "prod/app/session-key"))
    suffix = hashlib.md5(f"{c.account_id}{name}".encode()).hexdigest()[:6]
    return {"secretId": f"arn:aws:secretsmanager:{c.region}:{c.account_id}:secret:{name}-{suffix}"}


def _console_login_resp(c: Context, req: Any, request_id: str) -> dict:
    return {"ConsoleLogin": "Success"}


def _console_login_additional(c: Context) -> dict:
    d = {"LoginTo": "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_"
                    f"{c.region}_" + format(c.rng.getrandbits(64), "016x"),
         "MobileVersion": "No", "MFAUsed": "Yes" if c.principal.mfa else "No"}
    if c.principal.mfa and c.principal.kind in ("IAMUser", "Root"):
        d["MFAIdentifier"] = (f"arn:aws:iam::{c.account_id}:mfa/"
                              f"{c.principal.user_name or 'root-account-mfa-device'}")
    return d


def _c(value: Any) -> Callable[[Context], Any]:
    return lambda c: value


@dataclass(frozen=True)
class Api:
    source: str
    read_only: bool
    req: Callable[[Context], Any] = _c(None)
    resp: Callable[[Context, Any, str], Any] | None = None
    resources: Callable[[Context, Any], Any] | None = None
    additional: Callable[[Context], Any] | None = None
    event_type: str = "AwsApiCall"
    is_global: bool = False
    version: str = "1.08"
    request_id: str = "uuid"  # "uuid" | "s3" | "none"


_EC2 = "ec2.amazonaws.com"
CATALOG: dict[str, Api] = {
    # EC2 (regional). Describe* calls log requestParameters only; responseElements is null.
    "DescribeInstances": Api(_EC2, True, _describe_instances, version="1.10"),
    "DescribeInstanceStatus": Api(_EC2, True, lambda c: {"instancesSet": {}, "filterSet": {},
                                                         "includeAllInstances": c.rng.random() < 0.5},
                                   version="1.10"),
    "DescribeVolumes": Api(_EC2, True, _c({"volumeSet": {}, "filterSet": {}}), version="1.10"),
    "DescribeSecurityGroups": Api(_EC2, True, lambda c: {"securityGroupSet": {}, "securityGroupIdSet": {
        "items": [{"groupId": _sg(c)}]}, "filterSet": {}}, version="1.10"),
    "DescribeSubnets": Api(_EC2, True, lambda c: {"subnetSet": {}, "filterSet": {"items": [
        {"name": "vpc-id", "valueSet": {"items": [{"value": _vpc(c)}]}}]}}, version="1.10"),
    "DescribeVpcs": Api(_EC2, True, _c({"vpcSet": {}, "filterSet": {}}), version="1.10"),
    "DescribeImages": Api(_EC2, True, _c({"executableBySet": {}, "imagesSet": {}, "ownersSet": {
        "items": [{"owner": "amazon"}]}, "availabilityZoneSet": {}, "filterSet": {"items": [
            {"name": "name", "valueSet": {"items": [{"value": "al2023-ami-2023.*-x86_64"}]}}]}}), version="1.10"),
    "DescribeTags": Api(_EC2, True, lambda c: {"filterSet": {"items": [
        {"name": "resource-id", "valueSet": {"items": [{"value": c.instance()}]}}]}}, version="1.10"),
    "DescribeRegions": Api(_EC2, True, _c({"regionSet": {}, "allRegions": False}), version="1.10"),
    "DescribeAvailabilityZones": Api(_EC2, True, _c({"availabilityZoneSet": {}, "availabilityZoneIdSet": {},
                                                       "allAvailabilityZones": False}), version="1.10"),
    "RunInstances": Api(_EC2, False, _run_instances_req, _run_instances_resp, version="1.10"),
    "TerminateInstances": Api(_EC2, False, _one_instance, _state_change((32, "shutting-down"), (16, "running")),
                               version="1.10"),
    "StopInstances": Api(_EC2, False, lambda c: {**_one_instance(c), "force": False},
                          _state_change((64, "stopping"), (16, "running")), version="1.10"),
    "StartInstances": Api(_EC2, False, _one_instance, _state_change((0, "pending"), (80, "stopped")),
                           version="1.10"),
    "RebootInstances": Api(_EC2, False, _one_instance, _return_true, version="1.10"),
    "CreateTags": Api(_EC2, False, _create_tags_req, _return_true, version="1.10"),
    "AuthorizeSecurityGroupIngress": Api(_EC2, False, lambda c: {"groupId": _sg(c), "ipPermissions": {"items": [
        {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "groups": {}, "ipRanges": {"items": [
            {"cidrIp": "0.0.0.0/0"}]}, "ipv6Ranges": {}, "prefixListIds": {}}]}},
        lambda c, req, rid: {"requestId": rid, "_return": True, "securityGroupRuleSet": {"items": [{
            "groupOwnerId": c.account_id, "groupId": _sg(c), "securityGroupRuleId":
                "sgr-0" + format(c.rng.getrandbits(64), "016x"), "isEgress": False, "ipProtocol": "tcp",
            "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"}]}}, version="1.10"),
    # STS / IAM / sign-in: global, logged in us-east-1
    "AssumeRole": Api("sts.amazonaws.com", True, _assume_role_req, _assume_role_resp, _assume_role_resources,
                       is_global=True),
    "GetCallerIdentity": Api("sts.amazonaws.com", True, is_global=True),
    "ListRoles": Api("iam.amazonaws.com", True, _c({"maxItems": 1000}), is_global=True),
    "GetRole": Api("iam.amazonaws.com", True, _role_name_req, is_global=True),
    "ListAttachedRolePolicies": Api("iam.amazonaws.com", True, _role_name_req, is_global=True),
    "ListUsers": Api("iam.amazonaws.com", True, _c({"maxItems": 1000}), is_global=True),
    "GetAccountSummary": Api("iam.amazonaws.com", True, is_global=True),
    "ListMFADevices": Api("iam.amazonaws.com", True, is_global=True),
    "ConsoleLogin": Api("signin.amazonaws.com", False, resp=_console_login_resp,
                         additional=_console_login_additional, event_type="AwsConsoleSignIn", is_global=True,
                         version="1.09", request_id="none"),
    # KMS (mostly AWS services)
    "Decrypt": Api("kms.amazonaws.com", True, _kms_req, resources=_kms_resources),
    "GenerateDataKey": Api("kms.amazonaws.com", True, _kms_gdk_req, resources=_kms_resources),
    "GenerateDataKeyWithoutPlaintext": Api("kms.amazonaws.com", True, _kms_gdk_req, resources=_kms_resources),
    "CreateGrant": Api("kms.amazonaws.com", False, _kms_grant_req,
                        lambda c, req, rid: {"grantId": format(c.rng.getrandbits(256), "064x")},
                        resources=_kms_resources),
    # S3 bucket-level management events
    "ListBuckets": Api("s3.amazonaws.com", True, _c({"Host": "s3.amazonaws.com"}),
                        additional=_s3_additional, is_global=True, version="1.09", request_id="s3"),
    "GetBucketLocation": Api("s3.amazonaws.com", True, _s3_req("location"), resources=_s3_resources,
                              additional=_s3_additional, version="1.09", request_id="s3"),
    "GetBucketPolicy": Api("s3.amazonaws.com", True, _s3_req("policy"), resources=_s3_resources,
                            additional=_s3_additional, version="1.09", request_id="s3"),
    "GetBucketEncryption": Api("s3.amazonaws.com", True, _s3_req("encryption"), resources=_s3_resources,
                                additional=_s3_additional, version="1.09", request_id="s3"),
    # other regional services
    "DescribeAlarms": Api("monitoring.amazonaws.com", True, _c({"maxRecords": 100})),
    "DescribeLogGroups": Api("logs.amazonaws.com", True, _c({"limit": 50})),
    "ListFunctions20150331": Api("lambda.amazonaws.com", True, _c(None)),
    "DescribeAutoScalingGroups": Api("autoscaling.amazonaws.com", True, _c({"maxRecords": 100})),
    "DescribeTrails": Api("cloudtrail.amazonaws.com", True, _c({"trailNameList": [],
                                                                 "includeShadowTrails": True})),
    "DescribeInstanceInformation": Api("ssm.amazonaws.com", True, lambda c: {"filters": [
        {"key": "InstanceIds", "values": [c.instance()]}]}),
    "UpdateInstanceInformation": Api("ssm.amazonaws.com", False, _ssm_update_req),
    "ListInstanceAssociations": Api("ssm.amazonaws.com", True, lambda c: {"instanceId": c.instance(),
                                                                          "maxResults": 20}),
    "GetParameters": Api("ssm.amazonaws.com", True, _c({"names": ["/app/prod/config", "/app/prod/feature-flags"],
                                                         "withDecryption": True}),
                          resources=lambda c, req: [
                              {"ARN": f"arn:aws:ssm:{c.region}:{c.account_id}:parameter{n}", "accountId": c.account_id}
                              for n in (req.get("names", []) if isinstance(req, dict) else [])]),
    "GetSecretValue": Api("secretsmanager.amazonaws.com", True, _secret_req, version="1.09"),
    "GetAuthorizationToken": Api("ecr.amazonaws.com", True, _c({"registryIds": []})),
}

_HOSTS = {"ec2.amazonaws.com": "ec2", "monitoring.amazonaws.com": "monitoring", "logs.amazonaws.com": "logs",
          "lambda.amazonaws.com": "lambda", "autoscaling.amazonaws.com": "autoscaling",
          "cloudtrail.amazonaws.com": "cloudtrail", "ssm.amazonaws.com": "ssm", "kms.amazonaws.com": "kms",
          "secretsmanager.amazonaws.com": "secretsmanager", "ecr.amazonaws.com": "api.ecr",
          "sts.amazonaws.com": "sts"}


def host_header(source: str, region: str, is_global: bool, req: Any) -> str:
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


def guess_read_only(event_name: str) -> bool:
    return event_name.startswith(("Describe", "List", "Get", "Lookup", "Head", "Search", "BatchGet", "Check"))


CLI_COMMANDS = {"DescribeInstances": "ec2.describe-instances", "GetCallerIdentity": "sts.get-caller-identity",
            "ListBuckets": "s3api.list-buckets", "DescribeSecurityGroups": "ec2.describe-security-groups"}
