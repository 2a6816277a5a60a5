"""EC2: ``describe-instance-status --include-all-instances`` (with scheduled events), ``describe-instances`` and
``get-console-output``, per region, as the AWS CLI prints them (EC2 timestamps as ``...T..:..:...000Z`` strings,
keys in botocore's model order, as the CLI prints a parsed response).

``describe-instance-status`` is what a user saves at "now" (2026-10-15): batch-worker-03 still lists its
completed ``system-reboot`` (AWS keeps completed events for about a week, prefixed ``[Completed]``), and
db-primary-01 lists an upcoming ``instance-stop`` (retirement after now: a look-alike that explains nothing).
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from trailtools.demo import guest_logs as oslogs
from trailtools.demo import scenario as S
from trailtools.demo._io import hexid, stable_uuid, write_files

_AZ_ID = {"us-east-1a": "use1-az4", "us-east-1b": "use1-az6", "eu-west-1a": "euw1-az2", "eu-west-1b": "euw1-az1",
          "eu-west-1c": "euw1-az3", "us-west-2a": "usw2-az2", "us-west-2b": "usw2-az1", "ap-northeast-1c": "apne1-az1"}
# Amazon Linux 2 images (in ap-northeast-1: the Deep Learning AMI henry chose)
AMI = {"us-east-1": "ami-0c2d3e23e757b5d84", "eu-west-1": "ami-0a8b4cd432b1c3063",
        "us-west-2": "ami-0b20a6f09484773af", "ap-northeast-1": "ami-0e2612a08262410c8"}


def volume_id(inst: S.Instance) -> str:
    return "vol-0" + hexid(f"vol:{inst.id}", 16)


def instance_type_now(inst: S.Instance) -> str:
    return S.REPORT05_NEW_TYPE if inst is S.REPORT05 else inst.type


def launch_time(inst: S.Instance) -> datetime:
    """LaunchTime changes on every start (not on reboots)."""
    return S.INC5_START if inst is S.REPORT05 else inst.launched


def client_token(inst: S.Instance) -> str:
    """The RunInstances clientToken (one per call; the console and CLI send one), "" for old instances."""
    if inst.incident != 7:
        return ""
    return stable_uuid(f"client-token:{inst.type}")


def reservation_id(inst: S.Instance) -> str:
    key = inst.type if inst.incident == 7 else inst.id
    return "r-0" + hexid(f"res:{key}", 16)


def _ok(name: str = "reachability") -> dict:
    return {"Details": [{"Name": name, "Status": "passed"}], "Status": "ok"}


def instance_statuses(region: str) -> list[dict]:
    out = []
    for inst in (*S.ALL_INSTANCES, *_running_extra()):
        if inst.region != region:
            continue
        st = {"AvailabilityZone": inst.az, "Operator": {"Managed": False}}
        if inst is S.BATCH03:
            st["Events"] = [{"InstanceEventId": S.INC3_EVENT_ID, "Code": "system-reboot",
                             "Description": "[Completed] The instance is scheduled for a reboot",
                             "NotAfter": S.iso_ms_z(S.INC3_NOT_AFTER), "NotBefore": S.iso_ms_z(S.INC3_NOT_BEFORE),
                             "NotBeforeDeadline": S.iso_ms_z(S.t("2026-10-30 02:00:00"))}]
        if inst is S.RETIRING:
            st["Events"] = [{"InstanceEventId": "instance-event-0" + hexid("retire", 16), "Code": "instance-stop",
                             "Description": "The instance is running on degraded hardware",
                             "NotBefore": S.iso_ms_z(S.RETIREMENT_NOT_BEFORE)}]
        st.update({"InstanceId": inst.id, "InstanceState": {"Code": 16, "Name": "running"},
                   "InstanceStatus": _ok(), "SystemStatus": _ok(), "AttachedEbsStatus": _ok()})
        out.append(st)
    return out


def _running_extra() -> tuple[S.Instance, ...]:
    """The reboot incidents' instances that are running at "now" (the interrupted Spot Instance is terminated:
    describe-instance-status no longer lists it)."""
    return tuple(i for i in S.REBOOT_EXTRA if i is not S.SPOT09)


def _extra_fields(inst: S.Instance) -> dict:
    """What describe-instances says of the reboot incidents' instances beyond the common fields: the Spot
    Instances' lifecycle, and the terminated one's state and EC2's reason (as EC2 returns it for an hour or so)."""
    if inst.team != "render":
        return {}
    out = {"InstanceLifecycle": "spot",
           "SpotInstanceRequestId": S.SPOT09_REQUEST if inst is S.SPOT09 else "sir-" + hexid(f"sir:{inst.id}", 8)}
    if inst is S.SPOT09:
        out.update({"State": {"Code": 48, "Name": "terminated"}, "PrivateDnsName": "", "BlockDeviceMappings": [],
                    "StateTransitionReason": f"Service initiated ({S.INC10_INTERRUPT:%Y-%m-%d %H:%M:%S} GMT)",
                    "StateReason": {"Code": "Server.SpotInstanceTermination",
                                    "Message": "Server.SpotInstanceTermination: Spot instance termination"}})
        for key in ("SubnetId", "VpcId", "PrivateIpAddress"):
            out[key] = None
    return out


def _instance(inst: S.Instance) -> dict:
    region = inst.region
    vpc = "vpc-0" + hexid(f"vpc:{region}", 16)
    subnet = "subnet-0" + hexid(f"subnet:{inst.az}:{inst.private_ip.rsplit('.', 2)[0]}", 16)
    sg = ("sg-0" + hexid(f"sg:{region}:{inst.team}", 16), f"{inst.team}-instances")
    dns = (f"ip-{inst.private_ip.replace('.', '-')}." +
           ("ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"))
    tags = [{"Key": "Name", "Value": inst.name}, {"Key": "Team", "Value": inst.team},
            {"Key": "Environment", "Value": "development" if inst.team in ("dev", "ml") else "production"}]
    itype = instance_type_now(inst)
    launched = launch_time(inst)
    out = {
        "Architecture": "x86_64",
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {
            "AttachTime": S.iso_ms_z(inst.launched), "DeleteOnTermination": True, "Status": "attached",
            "VolumeId": volume_id(inst)}}],
        "ClientToken": client_token(inst),
        "EbsOptimized": True, "EnaSupport": True, "Hypervisor": "xen",
        "IamInstanceProfile": {"Arn": f"arn:aws:iam::{S.ACCOUNT_ID}:instance-profile/{inst.team}-instance-profile",
                               "Id": "AIPA" + hexid(f"aipa:{inst.team}", 17).upper()},
        "RootDeviceName": "/dev/xvda", "RootDeviceType": "ebs",
        "SecurityGroups": [{"GroupId": sg[0], "GroupName": sg[1]}], "SourceDestCheck": True, "Tags": tags,
        "VirtualizationType": "hvm",
        "CpuOptions": {"CoreCount": max(1, _VCPUS.get(itype, 4) // 2), "ThreadsPerCore": 2},
        "CapacityReservationSpecification": {"CapacityReservationPreference": "open"},
        "HibernationOptions": {"Configured": False},
        "MetadataOptions": {"State": "applied", "HttpTokens": "required", "HttpPutResponseHopLimit": 2,
                            "HttpEndpoint": "enabled", "HttpProtocolIpv6": "disabled",
                            "InstanceMetadataTags": "disabled"},
        "EnclaveOptions": {"Enabled": False}, "PlatformDetails": "Linux/UNIX", "UsageOperation": "RunInstances",
        "UsageOperationUpdateTime": S.iso_ms_z(inst.launched),
        "PrivateDnsNameOptions": {"HostnameType": "ip-name", "EnableResourceNameDnsARecord": False,
                                  "EnableResourceNameDnsAAAARecord": False},
        "MaintenanceOptions": {"AutoRecovery": "default"}, "CurrentInstanceBootMode": "legacy-bios",
        "InstanceId": inst.id, "ImageId": AMI[region], "State": {"Code": 16, "Name": "running"},
        "PrivateDnsName": dns, "PublicDnsName": "", "StateTransitionReason": "", "KeyName": f"{inst.team}-key",
        "AmiLaunchIndex": 0, "ProductCodes": [], "InstanceType": itype, "LaunchTime": S.iso_ms_z(launched),
        "Placement": {"AvailabilityZoneId": _AZ_ID.get(inst.az, inst.az), "GroupName": "", "Tenancy": "default",
                      "AvailabilityZone": inst.az},
        "Monitoring": {"State": "disabled"}, "SubnetId": subnet, "VpcId": vpc, "PrivateIpAddress": inst.private_ip,
    } | _extra_fields(inst)
    return {k: v for k, v in out.items() if v is not None}


_VCPUS = {"m5.xlarge": 4, "m5.2xlarge": 8, "r5.xlarge": 4, "c5.2xlarge": 8, "c5.xlarge": 4, "t3.medium": 2,
          "p4d.24xlarge": 96, "g5.12xlarge": 48}


def describe_instances(region: str) -> dict:
    reservations = []
    gpu = [i for i in S.ALL_INSTANCES if i.region == region and i.incident == 7]
    for inst in (*S.ALL_INSTANCES, *S.REBOOT_EXTRA):
        if inst.region != region or inst in gpu:
            continue
        reservations.append([inst])
    if gpu:  # one reservation per RunInstances call
        reservations.append([i for i in gpu if i.type == "p4d.24xlarge"])
        reservations.append([i for i in gpu if i.type != "p4d.24xlarge"])
    out = []
    for group in reservations:
        first = group[0]
        out.append({"ReservationId": reservation_id(first), "OwnerId": S.ACCOUNT_ID, "Groups": [],
                    "Instances": [dict(_instance(i), AmiLaunchIndex=k) for k, i in enumerate(group)]})
    return {"Reservations": out}


def build(seed: int | None = None, boots: dict | None = None) -> dict[str, dict]:
    files: dict[str, dict] = {}
    regions = sorted({i.region for i in S.ALL_INSTANCES})
    for region in regions:
        files[f"ec2/{region}/describe-instance-status.json"] = {"InstanceStatuses": instance_statuses(region)}
        files[f"ec2/{region}/describe-instances.json"] = describe_instances(region)
    for inst in (*S.INSTANCES, *S.REBOOT_EXTRA):
        if not inst.os_logs:
            continue
        b = (boots or {}).get(inst.id)
        if b is None:
            _, _, b = oslogs.build_host(inst, seed if seed is not None else 0)
        text, ts = oslogs.console_output(inst, b)
        files[f"ec2/{inst.region}/get-console-output/{inst.id}.json"] = {
            "InstanceId": inst.id, "Timestamp": S.iso_ms_z(ts), "Output": text}
    return files


def write(out_dir: Path, seed: int, boots: dict | None = None) -> dict:
    files = build(seed, boots)
    paths = write_files(out_dir, files)
    statuses = sum(len(v["InstanceStatuses"]) for k, v in files.items() if k.endswith("instance-status.json"))
    return {"files": paths, "instance_statuses": statuses,
            "console_outputs": sum(1 for k in files if "/get-console-output/" in k)}
