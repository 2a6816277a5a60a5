"""CloudTrail of the demo account: ``synth`` background traffic for 14 days plus the planted incidents' records,
written in the S3 delivery layout by ``synth.write_trail``.

The account profile is ``synth.default_profile`` plus the demo's people (IAM users dave.miller, emma.wilson,
frank.chen, grace.kim; SSO developers henry.park and irene.lopez; the Lambda automation role), and the fleet
lists of its regions include the demo's named instances, so the background describes and tags them like any
other instance. Background calls that would change the state of a named instance (reboot, stop, start,
terminate) are dropped: every state change of those instances in the trail is part of a story.

Incident 6 ends with ``StopLogging``: the trail records nothing (in any region) until alice's ``StartLogging``
at 2026-10-11T14:02:51Z, so the background has a gap of about 11.6 hours there.
"""
from __future__ import annotations

import dataclasses
import hashlib
import heapq
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from trailtools.demo import backdoor_login, synth
from trailtools.demo import scenario as S
from trailtools.demo._io import hexid, rng_for, stable_uuid
from trailtools.demo.ec2 import AMI, client_token, reservation_id

# user agents of the demo's own people (the background's come from synth)
CHROME_MAC = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/129.0.0.0 Safari/537.36")
FIREFOX_WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0"
SAFARI_MAC = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/18.0 Safari/605.1.15")
ATTACKER_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
               "Chrome/127.0.0.0 Safari/537.36")
CLI_HENRY = ("aws-cli/2.18.4 md/awscrt#0.22.0 ua/2.0 os/macos#24.0.0 md/arch#arm64 lang/python#3.12.6 "
             "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#{cmd}")
LAMBDA_UA = ("Boto3/1.34.145 md/Botocore#1.34.145 ua/2.0 os/linux#5.10.226-235.879.amzn2.x86_64 md/arch#x86_64 "
             "lang/python#3.12.6 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy "
             "Botocore/1.34.145")

STATE_CHANGES = {"RebootInstances", "StopInstances", "StartInstances", "TerminateInstances"}
_ALPHABET32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def stable_id(prefix: str, text: str, n: int = 17) -> str:
    """AIDA.../AROA... unique IDs, derived like synth's (so background and incidents agree)."""
    h = hashlib.sha256(text.encode()).digest()
    return prefix + "".join(_ALPHABET32[b % 32] for b in h[:n])


_CONSOLE_READS = (("DescribeInstances", 10), ("DescribeInstanceStatus", 3), ("DescribeVolumes", 2),
                  ("DescribeSecurityGroups", 2), ("DescribeAlarms", 2), ("DescribeLogGroups", 1),
                  ("ListBuckets", 1), ("GetCallerIdentity", 1), ("ConsoleLogin", 1.2), ("DescribeTags", 1),
                  ("CreateTags", 0.2), ("RebootInstances", 0.03), ("StopInstances", 0.05), ("StartInstances", 0.05))
_IAM_ADMIN = (("ListUsers", 3), ("ListRoles", 2), ("GetRole", 2), ("ListAttachedRolePolicies", 2),
              ("GetAccountSummary", 1), ("ConsoleLogin", 1.0), ("DescribeInstances", 2), ("ListBuckets", 1))
_DEVELOPER = (("DescribeInstances", 8), ("DescribeImages", 2), ("DescribeSubnets", 1), ("DescribeSecurityGroups", 1),
              ("GetCallerIdentity", 2), ("DescribeLogGroups", 1), ("ListFunctions20150331", 1),
              ("GetSecretValue", 0.5), ("DescribeTags", 1), ("CreateTags", 0.2))
_HOME = (("us-east-1", 0.6), ("eu-west-1", 0.3), ("us-west-2", 0.1))


def people() -> dict[str, synth.Principal]:
    P = synth.Principal
    out = {}
    for person, actions, weight, agents in ((S.DAVE, _CONSOLE_READS, 0.012, (CHROME_MAC,)),
                                            (S.EMMA, _IAM_ADMIN, 0.004, (FIREFOX_WIN,)),
                                            (S.FRANK, _CONSOLE_READS, 0.008, (SAFARI_MAC,)),
                                            (S.GRACE, _CONSOLE_READS, 0.008, (CHROME_MAC,))):
        out[person.key] = P(name=person.name, kind="IAMUser", weight=weight, user_name=person.name, ips=person.ips,
                            user_agents=(CLI_HENRY,), browser_agents=agents, console_share=0.85, actions=actions,
                            regions=_HOME, diurnal=True, tz_offset_hours=person.tz_offset_hours, mfa=person.mfa,
                            error_rate=0.01, principal_id=stable_id("AIDA", S.ACCOUNT_ID + person.name), human=True)
    for person, weight in ((S.HENRY, 0.012), (S.IRENE, 0.012)):
        out[person.key] = P(name=f"{person.role_name}/{person.name}", kind="AssumedRole", weight=weight,
                            role_name=person.role_name, session_name=person.name, ips=person.ips,
                            user_agents=(CLI_HENRY,), browser_agents=(CHROME_MAC,), console_share=0.3,
                            actions=_DEVELOPER, regions=_HOME, diurnal=True, tz_offset_hours=person.tz_offset_hours,
                            mfa=True, error_rate=0.02, principal_id=stable_id("AROA", S.ACCOUNT_ID + person.role_name),
                            human=True)
    a = S.AUTOMATION
    out[a.key] = P(name=f"{a.role_name}/{a.name}", kind="AssumedRole", weight=0.004, role_name=a.role_name,
                   session_name=a.name, ips=a.ips, user_agents=(LAMBDA_UA,),
                   actions=(("DescribeInstances", 4), ("DescribeInstanceStatus", 2), ("DescribeTags", 1)),
                   regions=(("us-east-1", 1.0),), error_rate=0.002,
                   principal_id=stable_id("AROA", S.ACCOUNT_ID + a.role_name))
    return out


# AWS services (Config, CloudTrail's KMS calls) reach every enabled region; outside the three regions in use they
# are rarer than in synth's default profile. Fewer events there means far fewer tiny log files to write (each
# file costs about 0.4 ms to create on these machines), which keeps generation well under its 20 s budget.
QUIET_REGION_FACTOR = 0.08


def profile() -> synth.AccountProfile:
    base = synth.default_profile(S.ACCOUNT_ID)
    instances = dict(base.instances)
    for inst in S.INSTANCES:
        instances[inst.region] = tuple(instances.get(inst.region, ())) + (inst.id,)
    principals = []
    for p in base.principals:
        if len(p.regions) > len(S.REGIONS_IN_USE):
            p = dataclasses.replace(p, regions=tuple((r, w if r in S.REGIONS_IN_USE else w * QUIET_REGION_FACTOR)
                                                     for r, w in p.regions))
        principals.append(p)
    return dataclasses.replace(base, principals=tuple(principals) + tuple(people().values()), instances=instances)


def _touches(rec: dict, ids: set[str]) -> bool:
    req = rec.get("requestParameters")
    if not isinstance(req, dict):
        return False
    items = (req.get("instancesSet") or {}).get("items") or ()
    return any(isinstance(i, dict) and i.get("instanceId") in ids for i in items)


def background(prof: synth.AccountProfile, seed: int) -> tuple[list[dict], dict]:
    recs = synth.generate_records(prof, start=S.START, end=S.END, events=S.BACKGROUND_EVENTS, seed=seed)
    named = {i.id for i in S.ALL_INSTANCES}
    gap_a, gap_z = S.iso_z(S.INC6_STOP_LOGGING), S.iso_z(S.INC6_START_LOGGING)
    emma_arn = f"arn:aws:iam::{S.ACCOUNT_ID}:user/{S.EMMA.name}"
    emma_from = S.iso_z(S.INC6_FAILURES[0])  # from the attack on, emma's own activity stops (she is locked out)
    kept, dropped_gap, dropped_state, dropped_emma = [], 0, 0, 0
    for r in recs:
        if gap_a <= r["eventTime"] <= gap_z:
            dropped_gap += 1
        elif r["eventName"] in STATE_CHANGES and _touches(r, named):
            dropped_state += 1
        elif r["eventTime"] >= emma_from and (r["userIdentity"].get("arn") == emma_arn or
                                              r["userIdentity"].get("userName") == S.EMMA.name):
            dropped_emma += 1
        else:
            if r.get("errorCode") and r["eventName"] == "AssumeRole" and r["requestParameters"] is not None:
                # real denied AssumeRole records log no request parameters (stratus-red-team detonations)
                r["requestParameters"] = None
            kept.append(r)
    return kept, {"generated": len(recs), "dropped_logging_gap": dropped_gap,
                  "dropped_named_instance_state_changes": dropped_state,
                  "dropped_emma_after_compromise": dropped_emma}


# ------------------------------------------------------------------------------------------------ incidents
class _Story:
    def __init__(self, prof: synth.AccountProfile, seed: int):
        self.prof = prof
        self.rng = rng_for(seed, "trail-incidents")
        self.records: list[dict] = []
        self.people = {p.name: p for p in prof.principals}

    def who(self, person: S.Person) -> synth.Principal:
        name = person.name if person.kind == "IAMUser" else f"{person.role_name}/{person.name}"
        return self.people[name]

    def add(self, event_name: str, source: str, principal: synth.Principal, when: datetime, region: str = "us-east-1",
            **kw) -> dict:
        rec = synth.build_record(event_name=event_name, event_source=source, principal=principal,
                                 account_id=S.ACCOUNT_ID, event_time=when, region=region, rng=self.rng,
                                 profile=self.prof, **kw)
        self.records.append(rec)
        return rec


def synth_key(p: synth.Principal, created: datetime) -> str:
    """A temporary (ASIA...) access key for a session, derived from who and when, like synth's."""
    return stable_id("ASIA", f"{S.ACCOUNT_ID}{p.name}{created}", 16)


def _items(*ids: str) -> dict:
    return {"items": [{"instanceId": i} for i in ids]}


def _java_date(d: datetime) -> str:
    """IAM's ``Oct 11, 2026 2:19:55 AM`` (as in CreateAccessKey's responseElements)."""
    h = d.hour % 12 or 12
    return f"{d:%b} {d.day}, {d.year} {h}:{d:%M:%S} {'AM' if d.hour < 12 else 'PM'}"


def incidents(prof: synth.AccountProfile, seed: int) -> list[dict]:
    st = _Story(prof, seed)
    ec2, iam, signin, ct = "ec2.amazonaws.com", "iam.amazonaws.com", "signin.amazonaws.com", \
        "cloudtrail.amazonaws.com"
    dave, emma, frank, grace = (st.who(p) for p in (S.DAVE, S.EMMA, S.FRANK, S.GRACE))
    henry, auto = st.who(S.HENRY), st.who(S.AUTOMATION)
    alice = next(p for p in prof.principals if p.session_name == "alice@example.com")

    # 1. dave.miller reboots web-01 from the console ------------------------------------------------------
    st.add("ConsoleLogin", signin, dave, S.INC1_LOGIN, source_ip=S.DAVE.ips[0], user_agent=CHROME_MAC)
    st.add("DescribeInstances", ec2, dave, S.INC1_LOGIN + timedelta(seconds=41), source_ip=S.DAVE.ips[0],
           user_agent=CHROME_MAC, console=True, request_parameters={"instancesSet": {}, "filterSet": {}})
    st.add("DescribeInstanceStatus", ec2, dave, S.INC1_REBOOT - timedelta(seconds=96), source_ip=S.DAVE.ips[0],
           user_agent=CHROME_MAC, console=True,
           request_parameters={"instancesSet": _items(S.WEB01.id), "filterSet": {}, "includeAllInstances": True})
    st.add("RebootInstances", ec2, dave, S.INC1_REBOOT, source_ip=S.DAVE.ips[0], user_agent=CHROME_MAC,
           console=True, request_parameters={"instancesSet": _items(S.WEB01.id)})
    st.add("DescribeInstanceStatus", ec2, dave, S.INC1_REBOOT + timedelta(seconds=74), source_ip=S.DAVE.ips[0],
           user_agent=CHROME_MAC, console=True,
           request_parameters={"instancesSet": _items(S.WEB01.id), "filterSet": {}, "includeAllInstances": True})

    # 5. the rightsizing Lambda stops, resizes and starts report-gen-05 ------------------------------------
    tag_filter = {"instancesSet": {}, "filterSet": {"items": [
        {"name": "tag:rightsizing", "valueSet": {"items": [{"value": "enabled"}]}}]}}
    st.add("DescribeInstances", ec2, auto, S.INC5_STOP - timedelta(seconds=5), request_parameters=tag_filter)
    st.add("StopInstances", ec2, auto, S.INC5_STOP,
           request_parameters={"instancesSet": _items(S.REPORT05.id), "force": False})
    for k in range(3):
        st.add("DescribeInstances", ec2, auto, S.INC5_STOP + timedelta(seconds=15 + 20 * k),
               request_parameters={"instancesSet": _items(S.REPORT05.id), "filterSet": {}})
    st.add("ModifyInstanceAttribute", ec2, auto, S.INC5_MODIFY,
           request_parameters={"instanceId": S.REPORT05.id, "instanceType": {"value": S.REPORT05_NEW_TYPE}},
           response_elements={"requestId": "", "_return": True})
    st.records[-1]["responseElements"]["requestId"] = st.records[-1]["requestID"]
    st.add("StartInstances", ec2, auto, S.INC5_START, request_parameters={"instancesSet": _items(S.REPORT05.id)})

    # 6. emma.wilson's console password is guessed ------------------------------------------------------
    for when in S.INC6_FAILURES:
        st.add("ConsoleLogin", signin, emma, when, source_ip=S.ATTACKER_IP, user_agent=ATTACKER_UA,
               error_message="Failed authentication")
    st.add("ConsoleLogin", signin, emma, S.INC6_LOGIN, source_ip=S.ATTACKER_IP, user_agent=ATTACKER_UA)
    attacker = dict(source_ip=S.ATTACKER_IP, user_agent=ATTACKER_UA, console=True)
    st.add("ListUsers", iam, emma, S.INC6_LIST_USERS, request_parameters={"maxItems": 1000}, **attacker)
    st.add("ListAttachedUserPolicies", iam, emma, S.INC6_LIST_USERS + timedelta(seconds=29),
           request_parameters={"userName": S.EMMA.name}, read_only=True, **attacker)
    st.add("CreateAccessKey", iam, emma, S.INC6_CREATE_KEY, request_parameters={"userName": S.EMMA.name},
           response_elements={"accessKey": {"accessKeyId": S.INC6_NEW_KEY, "createDate": _java_date(S.INC6_CREATE_KEY),
                                             "status": "Active", "userName": S.EMMA.name}},
           read_only=False, **attacker)
    st.add("AttachUserPolicy", iam, emma, S.INC6_ATTACH,
           request_parameters={"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess", "userName": S.EMMA.name},
           read_only=False, **attacker)
    st.add("StopLogging", ct, emma, S.INC6_STOP_LOGGING, request_parameters={"name": S.TRAIL_ARN}, read_only=False,
           **attacker)
    # alice notices the trail is off, turns it back on and contains the user
    admin = dict(user_agent=CHROME_MAC, console=True)
    st.add("StartLogging", ct, alice, S.INC6_START_LOGGING, request_parameters={"name": S.TRAIL_ARN},
           read_only=False, **admin)
    st.add("ListAccessKeys", iam, alice, S.INC6_START_LOGGING + timedelta(minutes=4, seconds=12),
           request_parameters={"userName": S.EMMA.name}, read_only=True, **admin)
    st.add("UpdateAccessKey", iam, alice, S.INC6_START_LOGGING + timedelta(minutes=6, seconds=3),
           request_parameters={"accessKeyId": S.INC6_NEW_KEY, "status": "Inactive", "userName": S.EMMA.name},
           read_only=False, **admin)
    st.add("DetachUserPolicy", iam, alice, S.INC6_START_LOGGING + timedelta(minutes=7, seconds=40),
           request_parameters={"userName": S.EMMA.name, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
           read_only=False, **admin)
    st.add("DeleteLoginProfile", iam, alice, S.INC6_START_LOGGING + timedelta(minutes=9, seconds=18),
           request_parameters={"userName": S.EMMA.name}, read_only=False, **admin)
    # benign look-alikes: frank travels (new city, with MFA); grace mistypes her password once
    st.add("ConsoleLogin", signin, frank, S.BENIGN_FRANK_LOGIN, source_ip=S.FRANK_TRAVEL_IP, user_agent=SAFARI_MAC)
    for dt in (95, 160, 402):
        st.add("DescribeInstances", ec2, frank, S.BENIGN_FRANK_LOGIN + timedelta(seconds=dt),
               source_ip=S.FRANK_TRAVEL_IP, user_agent=SAFARI_MAC, console=True,
               request_parameters={"instancesSet": {}, "filterSet": {}})
    st.add("ConsoleLogin", signin, grace, S.BENIGN_GRACE_FAIL, source_ip=S.GRACE.ips[0], user_agent=CHROME_MAC,
           error_message="Failed authentication")
    st.add("ConsoleLogin", signin, grace, S.BENIGN_GRACE_LOGIN, source_ip=S.GRACE.ips[0], user_agent=CHROME_MAC)

    # 7. henry launches GPU instances in Tokyo ----------------------------------------------------------------
    region = S.RARE_REGION
    cli = lambda cmd: CLI_HENRY.replace("{cmd}", cmd)  # noqa: E731
    st.add("DescribeImages", ec2, henry, S.INC7_CAPACITY_ERROR - timedelta(minutes=4, seconds=12), region,
           user_agent=cli("ec2.describe-images"), console=False,
           request_parameters={"executableBySet": {}, "imagesSet": {}, "ownersSet": {"items": [{"owner": "amazon"}]},
                               "availabilityZoneSet": {}, "filterSet": {"items": [{"name": "name", "valueSet": {
                                   "items": [{"value": "Deep Learning OSS Nvidia Driver AMI GPU PyTorch*"}]}}]}})
    run = dict(user_agent=cli("ec2.run-instances"), console=False)
    p4d_req = _run_request(S.GPU_P4D, 1, "ap-northeast-1a", AMI[region])
    st.add("RunInstances", ec2, henry, S.INC7_CAPACITY_ERROR, region, request_parameters=p4d_req,
           error_code="Server.InsufficientInstanceCapacity",
           error_message="We currently do not have sufficient p4d.24xlarge capacity in the Availability Zone you "
                         "requested (ap-northeast-1a). Our system will be working on provisioning additional "
                         "capacity. You can currently get p4d.24xlarge capacity by not specifying an Availability "
                         "Zone in your request or choosing ap-northeast-1c, ap-northeast-1d.", **run)
    for insts, when in (([S.GPU_P4D], S.INC7_RUN_P4D), (list(S.GPU_G5), S.INC7_RUN_G5)):
        req = _run_request(insts[0], len(insts), insts[0].az, AMI[region])
        rec = st.add("RunInstances", ec2, henry, when, region, request_parameters=req, **run)
        _patch_run_response(rec, insts, reservation_id(insts[0]))
        assert rec["requestParameters"]["clientToken"] == client_token(insts[0])
    st.add("DescribeInstances", ec2, henry, S.INC7_RUN_G5 + timedelta(seconds=48), region,
           user_agent=cli("ec2.describe-instances"), console=False,
           request_parameters={"instancesSet": {}, "filterSet": {"items": [
               {"name": "instance-state-name", "valueSet": {"items": [{"value": "running"}, {"value": "pending"}]}}]}})
    # one session per story: the same temporary key throughout, created at the planted sign-in (console) or
    # just before the first call (the Lambda run, henry's CLI session)
    sessions = ((dave, S.INC1_LOGIN, S.INC1_LOGIN, S.INC1_REBOOT + timedelta(minutes=5)),
                (emma, S.INC6_LOGIN, S.INC6_LOGIN, S.INC6_STOP_LOGGING),
                (frank, S.BENIGN_FRANK_LOGIN, S.BENIGN_FRANK_LOGIN, S.BENIGN_FRANK_LOGIN + timedelta(minutes=10)),
                (auto, S.INC5_STOP - timedelta(seconds=6), S.INC5_STOP - timedelta(minutes=1), S.INC5_START),
                (henry, S.INC7_CAPACITY_ERROR - timedelta(minutes=6, seconds=40),
                 S.INC7_CAPACITY_ERROR - timedelta(minutes=10), S.INC7_RUN_G5 + timedelta(minutes=5)),
                (alice, S.INC6_START_LOGGING - timedelta(minutes=3, seconds=12), S.INC6_START_LOGGING,
                 S.INC6_START_LOGGING + timedelta(minutes=15)))
    for p, created, a, z in sessions:
        mine = [r for r in st.records if r["userIdentity"].get("arn") == p.arn(S.ACCOUNT_ID)
                and r["userIdentity"].get("sessionContext") and S.iso_z(a) <= r["eventTime"] <= S.iso_z(z)]
        key = synth_key(p, created)
        for r in mine:
            r["userIdentity"]["accessKeyId"] = key
            r["userIdentity"]["sessionContext"]["attributes"]["creationDate"] = S.iso_z(created)
    _stolen_lambda_credentials(st, auto)
    st.records.sort(key=lambda r: r["eventTime"])
    return st.records


def _stolen_lambda_credentials(st: _Story, auto: synth.Principal) -> None:
    """The rightsizing Lambda's role session (issued by lambda.amazonaws.com, used by the function from an AWS
    address with its runtime's SDK) used two hours later with the AWS CLI from a VPS outside AWS: whoami, then
    discovery and a denied secret read."""
    lam = synth.Principal(name="lambda.amazonaws.com", kind="AWSService", weight=0.0,
                          invoked_by="lambda.amazonaws.com")
    key, session_arn = synth_key(auto, S.THEFT_ISSUED), auto.arn(S.ACCOUNT_ID)
    role_arn = f"arn:aws:iam::{S.ACCOUNT_ID}:role/{auto.role_name}"
    st.add("AssumeRole", "sts.amazonaws.com", lam, S.THEFT_ISSUED, source_ip="lambda.amazonaws.com",
           user_agent="lambda.amazonaws.com",
           request_parameters={"roleArn": role_arn, "roleSessionName": auto.session_name, "durationSeconds": 43200},
           response_elements={"credentials": {"accessKeyId": key, "sessionToken": "IQoJb3JpZ2luX2VjE" + "A" * 40,
                                              "expiration": _java_date(S.THEFT_ISSUED + timedelta(hours=12))},
                              "assumedRoleUser": {"assumedRoleId": f"{auto.principal_id}:{auto.session_name}",
                                                  "arn": session_arn}})
    own = [st.add("DescribeInstances", "ec2.amazonaws.com", auto, S.THEFT_OWN_CALL, source_ip=S.AUTOMATION.ips[0],
                  user_agent=LAMBDA_UA)]
    cli = S.THEFT_UA.replace
    stolen = dict(source_ip=S.THEFT_IP, console=False)
    calls = (("GetCallerIdentity", "sts.amazonaws.com", "sts.get-caller-identity", {}),
             ("DescribeInstances", "ec2.amazonaws.com", "ec2.describe-instances", {}),
             ("ListBuckets", "s3.amazonaws.com", "s3api.list-buckets", {}),
             ("ListFunctions20150331", "lambda.amazonaws.com", "lambda.list-functions", {}),
             ("GetSecretValue", "secretsmanager.amazonaws.com", "secretsmanager.get-secret-value",
              {"error_code": "AccessDeniedException",
               "error_message": f"User: {session_arn} is not authorized to perform: secretsmanager:GetSecretValue "
                                f"on resource: prod/db because no identity-based policy allows the "
                                f"secretsmanager:GetSecretValue action"}))
    for when, (name, source, cmd, extra) in zip(S.THEFT_CALLS, calls):
        own.append(st.add(name, source, auto, when, user_agent=cli("{cmd}", cmd), **stolen, **extra))
    for r in own:
        r["userIdentity"]["accessKeyId"] = key
        r["userIdentity"]["sessionContext"]["attributes"]["creationDate"] = S.iso_z(S.THEFT_ISSUED)


def _run_request(inst: S.Instance, count: int, az: str, ami: str) -> dict:
    subnet = "subnet-0" + hashlib.md5(f"{az}:ml".encode()).hexdigest()[:16]
    return {
        "instancesSet": {"items": [{"imageId": ami, "minCount": count, "maxCount": count}]},
        "instanceType": inst.type, "blockDeviceMapping": {"items": [{"deviceName": "/dev/xvda", "ebs": {
            "volumeSize": 1000 if inst.type.startswith("p4d") else 200, "deleteOnTermination": True,
            "volumeType": "gp3"}}]},
        "monitoring": {"enabled": False}, "disableApiTermination": False, "disableApiStop": False,
        "placement": {"availabilityZone": az}, "clientToken": client_token(inst),
        "networkInterfaceSet": {"items": [{"deviceIndex": 0, "subnetId": subnet,
                                           "groupSet": {"items": [{"groupId": "sg-0" + hashlib.md5(
                                               b"ml-sg").hexdigest()[:16]}]}}]},
        "iamInstanceProfile": {"name": "ml-instance-profile"},
        "tagSpecificationSet": {"items": [{"resourceType": "instance", "tags": [
            {"key": "Name", "value": inst.name},
            {"key": "Team", "value": "ml"}, {"key": "Environment", "value": "development"}]}]},
        "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 2},
    }


def _patch_run_response(rec: dict, insts: list[S.Instance], reservation: str) -> None:
    """synth builds a realistic RunInstances response; give it the scenario's instance IDs and addresses."""
    resp = rec["responseElements"]
    resp["reservationId"] = reservation
    items = resp["instancesSet"]["items"]
    assert len(items) == len(insts)
    for item, inst in zip(items, insts):
        old_ip = item["privateIpAddress"]
        dns = f"ip-{inst.private_ip.replace('.', '-')}.{inst.region}.compute.internal"
        item["instanceId"] = inst.id
        item["privateIpAddress"] = inst.private_ip
        item["privateDnsName"] = dns
        item["placement"]["availabilityZone"] = inst.az
        item["instanceType"] = inst.type
        item["iamInstanceProfile"]["arn"] = f"arn:aws:iam::{S.ACCOUNT_ID}:instance-profile/ml-instance-profile"
        item["cpuOptions"] = {"coreCount": 48 if inst.type.startswith("p4d") else 24, "threadsPerCore": 2}
        for eni in item.get("networkInterfaceSet", {}).get("items", ()):
            eni["privateIpAddress"] = inst.private_ip
            eni["privateDnsName"] = dns
            for a in eni.get("privateIpAddressesSet", {}).get("item", ()):
                if a.get("privateIpAddress") == old_ip:
                    a["privateIpAddress"] = inst.private_ip
                    a["privateDnsName"] = dns


# ------------------------------------------------------------------------------------------------ reboot incidents 9-10
def _aws_date(d: datetime) -> str:
    """Systems Manager's ``Oct 10, 2026, 3:00:14 AM`` (SendCommand's requestedDateTime, expiresAfter)."""
    h = d.hour % 12 or 12
    return f"{d:%b} {d.day}, {d.year}, {h}:{d:%M:%S} {'AM' if d.hour < 12 else 'PM'}"


def reboot_incidents(prof: synth.AccountProfile, seed: int) -> list[dict]:
    """Incidents 9 (a patching reboot through SSM Run Command by carol) and 10 (a Spot interruption and its
    replacement), from their own random stream so the other incidents' records stay the same."""
    st = _Story(prof, seed)
    st.rng = rng_for(seed, "trail-reboot-incidents")
    carol = next(p for p in prof.principals if p.session_name == S.CAROL.name)
    asg = next(p for p in prof.principals if p.role_name == "AWSServiceRoleForAutoScaling")

    # 8. carol sends AWS-RunPatchBaseline to app-08 (CloudTrail hides the parameters, RebootOption among them)
    ids = [S.PATCH08.id]
    hidden = "HIDDEN_DUE_TO_SECURITY_REASONS"
    command = {"alarmConfiguration": {"alarms": [], "ignorePollAlarmFailure": False}, "clientName": "",
               "clientSourceId": "", "cloudWatchOutputConfig": {"cloudWatchLogGroupName": "",
                                                                "cloudWatchOutputEnabled": False},
               "commandId": S.INC9_COMMAND_ID, "comment": "monthly patching (app fleet)", "completedCount": 0,
               "deliveryTimedOutCount": 0, "documentName": "AWS-RunPatchBaseline", "documentVersion": "$DEFAULT",
               "errorCount": 0, "expiresAfter": _aws_date(S.INC9_SEND + timedelta(hours=2)),
               "hasCancelCommandSignature": False, "hasSendCommandSignature": False, "instanceIds": ids,
               "interactive": False, "maxConcurrency": "50", "maxErrors": "0",
               "notificationConfig": {"notificationArn": "", "notificationEvents": [], "notificationType": ""},
               "outputS3BucketName": "", "outputS3KeyPrefix": "", "outputS3Region": "us-east-1",
               "parameters": hidden, "requestedDateTime": _aws_date(S.INC9_SEND), "serviceRole": "",
               "status": "Pending", "statusDetails": "Pending", "targetCount": 1, "targets": [],
               "timeoutSeconds": 3600, "triggeredAlarms": []}
    cli = ("aws-cli/2.17.32 md/awscrt#0.21.2 ua/2.0 os/linux#6.8.0-45-generic md/arch#x86_64 lang/python#3.11.9 "
           "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off "
           "md/command#ssm.send-command")
    st.add("SendCommand", "ssm.amazonaws.com", carol, S.INC9_SEND, source_ip=S.CAROL.ips[0], user_agent=cli,
           console=False, read_only=False,
           request_parameters={"documentName": "AWS-RunPatchBaseline", "instanceIds": ids, "interactive": False,
                               "parameters": hidden},
           response_elements={"command": command})

    # 9. EC2 reclaims render-spot-09; Auto Scaling launches a replacement in another zone
    st.records.append({
        "eventVersion": "1.05", "userIdentity": {"accountId": S.ACCOUNT_ID, "invokedBy": "ec2.amazonaws.com"},
        "eventTime": S.iso_z(S.INC10_INTERRUPT), "eventSource": "ec2.amazonaws.com", "eventName": "BidEvictedEvent",
        "awsRegion": S.SPOT09.region, "sourceIPAddress": "ec2.amazonaws.com", "userAgent": "ec2.amazonaws.com",
        "requestParameters": None, "responseElements": None,
        "eventID": stable_uuid(f"bid-evicted:{S.SPOT09.id}:{seed}"), "readOnly": False,
        "eventType": "AwsServiceEvent", "managementEvent": True, "recipientAccountId": S.ACCOUNT_ID,
        "serviceEventDetails": {"instanceIdSet": [S.SPOT09.id]}, "eventCategory": "Management"})
    new = S.SPOT09_REPLACEMENT
    req = _run_request(new, 1, new.az, AMI[new.region])
    req["clientToken"] = stable_uuid(f"client-token:{new.id}")
    req["iamInstanceProfile"] = {"name": "render-instance-profile"}
    req["instanceMarketOptions"] = {"marketType": "spot", "spotOptions": {
        "spotInstanceType": "one-time", "instanceInterruptionBehavior": "terminate"}}
    req["tagSpecificationSet"] = {"items": [{"resourceType": "instance", "tags": [
        {"key": "Name", "value": new.name}, {"key": "Team", "value": new.team},
        {"key": "aws:autoscaling:groupName", "value": "render-spot"}]}]}
    rec = st.add("RunInstances", "ec2.amazonaws.com", asg, S.INC10_REPLACED, new.region, request_parameters=req)
    _patch_run_response(rec, [new], "r-0" + hexid(f"res:{new.id}", 16))
    rec["responseElements"]["instancesSet"]["items"][0]["iamInstanceProfile"]["arn"] = \
        f"arn:aws:iam::{S.ACCOUNT_ID}:instance-profile/render-instance-profile"
    st.records.sort(key=lambda r: r["eventTime"])
    return st.records


# ------------------------------------------------------------------------------------------------ writing
def build(seed: int) -> tuple[list[dict], dict]:
    """All records of the trail (background + incidents), sorted by eventTime, and counts."""
    prof = profile()
    bg, counts = background(prof, seed)
    planted = incidents(prof, seed) + reboot_incidents(prof, seed)                             # incidents 9-10
    planted = sorted(planted + backdoor_login.records(prof, seed), key=lambda r: r["eventTime"])   # incident 8
    records = list(heapq.merge(bg, planted, key=lambda r: r["eventTime"]))
    counts.update({"background": len(bg), "incident_records": len(planted), "events": len(records)})
    return records, counts


def write(out_dir: Path, seed: int) -> dict:
    records, counts = build(seed)
    by_region = Counter(r["awsRegion"] for r in records)
    res = synth.write_trail(records, Path(out_dir), seed=seed)
    return {**counts, "log_files": res["files"], "bytes": res["bytes"],
            "events_by_region": dict(sorted(by_region.items()))}
