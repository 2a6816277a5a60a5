"""The demo account's fixed facts: who, what, where and when. Every builder reads its constants from here.

The seed changes the background noise (which principal calls what, event IDs, request IDs, log chatter); the
facts below (account, instances, people, addresses and the times of the ten planted incidents) never change,
so ``docs/demo-account.md`` can state the expected answers once for every seed.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

UTC = UTC


def t(text: str) -> datetime:
    """``"2026-10-06 14:22:31"`` -> tz-aware UTC datetime."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


# ------------------------------------------------------------------------------------------------ account
ACCOUNT_ID = "314159265358"
ACCOUNT_NAME = "acme-prod"
# Consolidated billing: acme-prod is also the payer of two small member accounts (cost data only; the trail
# is acme-prod's own).
LINKED_ACCOUNTS = {ACCOUNT_ID: ACCOUNT_NAME, "271828182845": "acme-sandbox", "161803398874": "acme-shared-services"}
TRAIL_NAME = "management-events"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT_ID}:trail/{TRAIL_NAME}"
TRAIL_BUCKET = f"aws-cloudtrail-logs-{ACCOUNT_ID}-6f1d2c3b"

HOME_REGION = "us-east-1"
REGIONS_IN_USE = ("us-east-1", "eu-west-1", "us-west-2")
RARE_REGION = "ap-northeast-1"  # nobody works here: only AWS-service background until incident 7

# ------------------------------------------------------------------------------------------------ time
START = t("2026-10-01 00:00:00")  # CloudTrail, OS logs, CloudWatch: [START, END)
END = t("2026-10-15 00:00:00")
NOW = END  # "now" of the scenario: when every API response was saved
COST_START = t("2026-09-01 00:00:00")  # cost data reaches back a month further, as a baseline
BACKGROUND_EVENTS = 80_000


# ------------------------------------------------------------------------------------------------ people
@dataclass(frozen=True)
class Person:
    key: str
    kind: str  # "IAMUser" | "SSO" | "Role"
    name: str  # IAM user name, SSO e-mail, or role session name
    ips: tuple[str, ...]
    mfa: bool = True
    tz_offset_hours: int = 0
    role_name: str | None = None
    note: str = ""


def sso_role_name(permission_set: str) -> str:
    """IAM Identity Center role name in the account (the suffix is a stable hash, like AWS's)."""
    suffix = hashlib.sha256(f"{ACCOUNT_ID}{permission_set}".encode()).hexdigest()[:16]
    return f"AWSReservedSSO_{permission_set}_{suffix}"


DAVE = Person("dave", "IAMUser", "dave.miller", ("198.51.100.40",), mfa=True, tz_offset_hours=-4,
              note="operations engineer, console user with MFA (New York office)")
EMMA = Person("emma", "IAMUser", "emma.wilson", ("198.51.100.57",), mfa=False, tz_offset_hours=-4,
              note="legacy IAM administrator user WITHOUT an MFA device (New York office)")
FRANK = Person("frank", "IAMUser", "frank.chen", ("198.51.100.61",), mfa=True, tz_offset_hours=-4,
               note="developer, console user with MFA (New York office)")
GRACE = Person("grace", "IAMUser", "grace.kim", ("203.0.113.12",), mfa=True, tz_offset_hours=2,
               note="data engineer, console user with MFA (Berlin office)")
HENRY = Person("henry", "SSO", "henry.park@example.com", ("192.0.2.50",), tz_offset_hours=1,
               role_name=sso_role_name("DeveloperAccess"), note="ML developer, SSO DeveloperAccess (London)")
IRENE = Person("irene", "SSO", "irene.lopez@example.com", ("192.0.2.51",), tz_offset_hours=1,
               role_name=sso_role_name("DeveloperAccess"), note="developer, SSO DeveloperAccess (London)")
AUTOMATION = Person("automation", "Role", "rightsizing-scheduler", ("3.91.171.20",),
                    role_name="ops-automation-lambda",
                    note="Lambda function rightsizing-scheduler running as role ops-automation-lambda")
PEOPLE = (DAVE, EMMA, FRANK, GRACE, HENRY, IRENE, AUTOMATION)

ATTACKER_IP = "203.0.113.201"
FRANK_TRAVEL_IP = "192.0.2.77"
BASTION_SSH_IP = "198.51.100.61"  # the New York office NAT address the SSH session of incident 4 came from

# Where each documentation-range address "is" (the demo's stand-in for a GeoIP database: geo/ip-locations.csv).
# Addresses of synth.default_profile's principals are included so every sourceIPAddress in the trail resolves.
GEO = (
    # network, country code, country, city, organisation
    ("198.51.100.0/26", "US", "United States", "New York", "Acme Corp (New York office)"),
    ("198.51.100.64/26", "US", "United States", "New York", "Acme Corp (New York office, VPN)"),
    ("198.51.100.128/25", "US", "United States", "Newark", "Example Residential ISP"),
    ("203.0.113.0/27", "DE", "Germany", "Berlin", "Acme GmbH (Berlin office)"),
    ("203.0.113.64/26", "US", "United States", "Boston", "Example Mobile Carrier"),
    ("203.0.113.128/26", "US", "United States", "Ashburn", "Example Colocation (legacy deploy host)"),
    ("203.0.113.192/26", "NL", "Netherlands", "Amsterdam", "Example VPS Hosting B.V."),
    ("192.0.2.0/26", "GB", "United Kingdom", "London", "Acme Ltd (London office)"),
    ("192.0.2.64/26", "US", "United States", "Chicago", "Example Hotel Wi-Fi"),
    ("192.0.2.192/26", "US", "United States", "Ashburn", "GitHub Actions runners"),
    ("3.0.0.0/8", "US", "United States", "Ashburn", "Amazon.com (AWS us-east-1)"),
    ("18.0.0.0/8", "US", "United States", "Ashburn", "Amazon.com (AWS)"),
    ("34.0.0.0/8", "US", "United States", "Ashburn", "Amazon.com (AWS)"),
    ("52.0.0.0/8", "US", "United States", "Ashburn", "Amazon.com (AWS)"),
    ("54.0.0.0/8", "US", "United States", "Ashburn", "Amazon.com (AWS)"),
)


# ------------------------------------------------------------------------------------------------ instances
@dataclass(frozen=True)
class Instance:
    id: str
    name: str
    region: str
    az: str
    type: str
    private_ip: str
    booted: datetime  # last boot before START (or launch time)
    launched: datetime
    owner: str = ""  # aws:createdBy value, "" = created before the tag was activated
    incident: int | None = None
    os_logs: bool = False
    team: str = "platform"

    @property
    def hostname(self) -> str:
        return "ip-" + self.private_ip.replace(".", "-")


def _created_by_sso(person: Person) -> str:
    role_id = "AROA" + "".join("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[b % 32]
                               for b in hashlib.sha256(f"{ACCOUNT_ID}{person.role_name}".encode()).digest()[:17])
    return f"AssumedRole:{role_id}:{person.name}"


WEB01 = Instance("i-04c2a9e71d3b58f06", "web-01", "us-east-1", "us-east-1a", "m5.xlarge", "10.0.1.23",
                 t("2026-09-14 08:12:44"), t("2025-11-03 15:40:12"), incident=1, os_logs=True)
DB02 = Instance("i-0b81f3d6c2e9a4775", "db-replica-02", "us-east-1", "us-east-1b", "r5.xlarge", "10.0.2.41",
                t("2026-08-30 22:05:10"), t("2025-06-18 10:02:33"), incident=2, os_logs=True, team="data")
BATCH03 = Instance("i-07e5d2b9a1c4f3806", "batch-worker-03", "eu-west-1", "eu-west-1c", "c5.2xlarge", "10.1.3.17",
                   t("2026-09-21 06:30:02"), t("2026-02-11 09:15:40"), incident=3, os_logs=True, team="data")
JUMP04 = Instance("i-0f2a6c8e4b1d97a35", "jump-host-04", "us-east-1", "us-east-1a", "t3.medium", "10.0.0.10",
                  t("2026-09-02 13:44:19"), t("2024-12-09 11:20:05"), incident=4, os_logs=True)
REPORT05 = Instance("i-09d4b7e2f6a3c1508", "report-gen-05", "us-east-1", "us-east-1b", "m5.2xlarge", "10.0.2.88",
                    t("2026-09-28 01:01:51"), t("2025-09-09 17:08:12"), incident=5, os_logs=True, team="finance")
REPORT05_NEW_TYPE = "m5.xlarge"

# incident 7: launched by henry in the rare region (IDs are what RunInstances returns)
GPU_P4D = Instance("i-0c6e1f9a2d7b3e8f4", "llm-finetune-p4d", RARE_REGION, "ap-northeast-1c", "p4d.24xlarge",
                   "10.20.3.15", t("2026-10-08 19:38:21"), t("2026-10-08 19:38:21"),
                   owner=_created_by_sso(HENRY), incident=7, team="ml")
GPU_G5 = tuple(
    Instance(iid, "llm-eval-g5", RARE_REGION, "ap-northeast-1c", "g5.12xlarge", ip,
             t("2026-10-08 19:41:05"), t("2026-10-08 19:41:05"), owner=_created_by_sso(HENRY), incident=7, team="ml")
    for iid, ip in (("i-01a7e3c9f5b2d6e80", "10.20.3.41"), ("i-0e4b8d2f6a9c1357b", "10.20.3.42"),
                    ("i-05f9c3a7e1d4b2806", "10.20.3.43")))
# contrast: irene's steady development instances, created after aws:createdBy was activated
DEV_STEADY = (
    Instance("i-0d3a5f7b9c1e2468a", "dev-irene-1", "us-east-1", "us-east-1a", "m5.2xlarge", "10.0.4.21",
             t("2026-08-20 14:02:11"), t("2026-08-20 14:02:11"), owner=_created_by_sso(IRENE), team="dev"),
    Instance("i-06b8e2c4a7f1d3590", "dev-irene-2", "us-east-1", "us-east-1a", "m5.2xlarge", "10.0.4.22",
             t("2026-08-20 14:02:11"), t("2026-08-20 14:02:11"), owner=_created_by_sso(IRENE), team="dev"),
)
# the rest of the named fleet (steady, for status/cost background)
OTHERS = (
    Instance("i-02c4e6a8b0d1f3579", "web-02", "us-east-1", "us-east-1b", "m5.xlarge", "10.0.1.24",
             t("2026-09-14 08:20:03"), t("2025-11-03 15:40:12")),
    Instance("i-0a7c9e1b3d5f72468", "db-primary-01", "us-east-1", "us-east-1a", "r5.xlarge", "10.0.2.40",
             t("2026-08-30 21:58:40"), t("2025-06-18 10:02:33"), team="data"),
    Instance("i-08e1a3c5f7b9d2460", "batch-worker-01", "eu-west-1", "eu-west-1a", "c5.2xlarge", "10.1.3.15",
             t("2026-09-21 06:29:11"), t("2026-02-11 09:15:40"), team="data"),
    Instance("i-03b5d7f9a1c2e4680", "batch-worker-02", "eu-west-1", "eu-west-1b", "c5.2xlarge", "10.1.3.16",
             t("2026-09-21 06:29:40"), t("2026-02-11 09:15:40"), team="data"),
    Instance("i-0e9f1a3b5c7d80246", "ci-runner-01", "us-west-2", "us-west-2a", "c5.xlarge", "10.2.1.30",
             t("2026-09-30 12:00:01"), t("2026-03-02 08:44:51"), team="platform"),
)
# an instance with a retirement scheduled AFTER "now": a look-alike that explains nothing in the window
RETIRING = OTHERS[1]
RETIREMENT_NOT_BEFORE = t("2026-10-22 09:00:00")

INSTANCES = (WEB01, DB02, BATCH03, JUMP04, REPORT05, *DEV_STEADY, *OTHERS)  # existed for the whole window
ALL_INSTANCES = INSTANCES + (GPU_P4D, *GPU_G5)
BY_ID = {i.id: i for i in ALL_INSTANCES}


# ------------------------------------------------------------------------------------------------ incidents
@dataclass(frozen=True)
class Incident:
    number: int
    title: str
    instance: str | None
    principal: str | None
    time: datetime  # the moment the question is about (reboot, login, launch)
    times: dict = field(default_factory=dict)
    expected: str = ""


# 1. rebooted by a person from the console
INC1_LOGIN = t("2026-10-06 14:17:05")
INC1_HTTPD_RESTART = t("2026-10-06 13:58:10")  # look-alike: a service restart, not a reboot
INC1_REBOOT = t("2026-10-06 14:22:31")
INC1_BOOT = t("2026-10-06 14:22:58")
# 2. host failure, auto-recovery (CloudWatch alarm recover action), unclean boot, no API call
INC2_FAIL = t("2026-10-08 03:41:00")
INC2_ALARM = t("2026-10-08 03:43:07")
INC2_BOOT = t("2026-10-08 03:49:12")
INC2_OK = t("2026-10-08 03:52:00")
INC2_ALARM_OK = t("2026-10-08 03:55:07")
INC2_ALARM_NAME = "db-replica-02-auto-recover"
# 3. scheduled maintenance reboot (system-reboot), completed inside its window
INC3_NOTIFIED = t("2026-09-25 11:04:31")
INC3_NOT_BEFORE = t("2026-10-09 02:00:00")
INC3_NOT_AFTER = t("2026-10-09 04:00:00")
INC3_REBOOT = t("2026-10-09 02:37:14")
INC3_BOOT = t("2026-10-09 02:37:49")
INC3_EVENT_ID = "instance-event-0b6e3d0f9a1c27e45"
# 4. rebooted from inside the guest with sudo
INC4_SSH = t("2026-10-13 16:01:47")
INC4_YUM = t("2026-10-13 16:02:30")
INC4_REBOOT = t("2026-10-13 16:05:12")
INC4_BOOT = t("2026-10-13 16:05:41")
INC4_SSH_KEY = "RSA SHA256:q3LkX7Vf2mZ0pA9wH1cB4dE6gJ8kN5sT0uY2xR7vQ1o"
INC4_KERNEL_OLD = "4.14.352-267.564.amzn2.x86_64"
INC4_KERNEL_NEW = "4.14.353-270.569.amzn2.x86_64"
# 5. stop, resize and start by the automation role
INC5_STOP = t("2026-10-12 01:00:07")
INC5_STOPPED = t("2026-10-12 01:01:02")
INC5_MODIFY = t("2026-10-12 01:01:40")
INC5_START = t("2026-10-12 01:01:45")
INC5_BOOT = t("2026-10-12 01:02:20")
# 6. suspicious console login (and its benign look-alikes)
INC6_FAILURES = (t("2026-10-11 02:13:05"), t("2026-10-11 02:13:41"), t("2026-10-11 02:14:20"),
                 t("2026-10-11 02:15:02"))
INC6_LOGIN = t("2026-10-11 02:16:30")
INC6_LIST_USERS = t("2026-10-11 02:18:02")
INC6_CREATE_KEY = t("2026-10-11 02:19:55")
INC6_ATTACH = t("2026-10-11 02:21:10")
INC6_STOP_LOGGING = t("2026-10-11 02:23:37")
INC6_START_LOGGING = t("2026-10-11 14:02:51")  # alice restores logging: the trail has a gap in between
INC6_NEW_KEY = "AKIAUSI3LAWBQ7NX5K2D"
BENIGN_FRANK_LOGIN = t("2026-10-07 13:12:40")  # first login from Chicago, with MFA
BENIGN_GRACE_FAIL = t("2026-10-09 07:58:13")  # wrong password ...
BENIGN_GRACE_LOGIN = t("2026-10-09 07:58:41")  # ... then a normal login with MFA
# 7. GPU cost spike in the rare region
INC7_CAPACITY_ERROR = t("2026-10-08 19:36:50")
INC7_RUN_P4D = t("2026-10-08 19:38:21")
INC7_RUN_G5 = t("2026-10-08 19:41:05")
# 8. backdoor login: a new user's console password, used 9 s later (trailtools.demo.backdoor_login)
INC8_CREATE_USER = t("2026-10-14 03:26:40")
INC8_CREATE_LOGIN_PROFILE = t("2026-10-14 03:26:58")
INC8_CONSOLE_LOGIN = t("2026-10-14 03:27:07")
# Stolen workload credentials: the rightsizing Lambda's role session, read from the function's environment,
# used with the AWS CLI from a VPS outside AWS (its own calls come from AWS addresses with the Lambda runtime's SDK)
THEFT_ISSUED = t("2026-10-13 22:40:05")         # lambda.amazonaws.com assumes the function's role (a cold start)
THEFT_OWN_CALL = t("2026-10-13 22:40:07")       # the function's own DescribeInstances with those credentials
THEFT_CALLS = (t("2026-10-13 23:52:18"), t("2026-10-13 23:52:41"), t("2026-10-13 23:53:30"),
               t("2026-10-13 23:54:02"), t("2026-10-13 23:55:17"))
THEFT_IP = "203.0.113.230"                      # NL, Amsterdam (VPS hosting): not an AWS address
THEFT_UA = ("aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.8.11-amd64 md/arch#x86_64 lang/python#3.11.9 "
            "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#kali.2024 md/prompt#off "
            "md/command#{cmd}")
ANOMALY_MONITOR_ARN = f"arn:aws:ce::{ACCOUNT_ID}:anomalymonitor/5f0b3c2e-8d4a-4e61-9b7c-2a1d6e3f4b58"

INCIDENTS = (
    Incident(1, "Instance rebooted by a person from the console", WEB01.id, DAVE.name, INC1_REBOOT,
             {"login": INC1_LOGIN, "reboot_api_call": INC1_REBOOT, "boot": INC1_BOOT,
              "look_alike_httpd_restart": INC1_HTTPD_RESTART},
             "API reboot: RebootInstances from the AWS console by IAM user dave.miller (198.51.100.40); "
             "clean shutdown then boot in the guest"),
    Incident(2, "Instance restarted by AWS after a host failure", DB02.id, None, INC2_BOOT,
             {"status_check_failed": INC2_FAIL, "alarm_recover_action": INC2_ALARM, "boot": INC2_BOOT,
              "status_ok": INC2_OK},
             "AWS: host hardware failure, StatusCheckFailed_System, auto-recovery "
             "(AWS_EC2_INSTANCE_AUTO_RECOVERY_SUCCESS); unclean boot; no API call"),
    Incident(3, "Instance rebooted in a scheduled maintenance window", BATCH03.id, None, INC3_REBOOT,
             {"notified": INC3_NOTIFIED, "window_start": INC3_NOT_BEFORE, "window_end": INC3_NOT_AFTER,
              "boot": INC3_BOOT},
             "AWS scheduled maintenance: system-reboot event (completed) and Health "
             "AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED; no API call"),
    Incident(4, "Instance rebooted from inside the guest", JUMP04.id, "ec2-user", INC4_REBOOT,
             {"ssh_login": INC4_SSH, "sudo_reboot": INC4_REBOOT, "boot": INC4_BOOT},
             "Guest OS: `sudo /sbin/reboot` by OS user ec2-user (SSH from 198.51.100.61) after a kernel "
             "update; clean shutdown; no API call"),
    Incident(5, "Stop and start by an automation role", REPORT05.id,
             f"{AUTOMATION.role_name}/{AUTOMATION.name}", INC5_STOP,
             {"stop": INC5_STOP, "modify_instance_type": INC5_MODIFY, "start": INC5_START, "boot": INC5_BOOT},
             "Stop/start (not a reboot): StopInstances, ModifyInstanceAttribute (m5.2xlarge -> m5.xlarge) and "
             "StartInstances by role ops-automation-lambda, session rightsizing-scheduler (Lambda, Boto3)"),
    Incident(6, "Suspicious console login", None, EMMA.name, INC6_LOGIN,
             {"failures": INC6_FAILURES, "login": INC6_LOGIN, "create_access_key": INC6_CREATE_KEY,
              "attach_admin": INC6_ATTACH, "stop_logging": INC6_STOP_LOGGING,
              "start_logging": INC6_START_LOGGING},
             "Compromised IAM user emma.wilson: 4 failures then a success without MFA from 203.0.113.201 "
             "(Amsterdam, NL: new address and country), then CreateAccessKey, AttachUserPolicy "
             "AdministratorAccess and StopLogging"),
    Incident(7, "Cost spike: GPU instances in a rarely used region", GPU_P4D.id, HENRY.name, INC7_RUN_P4D,
             {"capacity_error": INC7_CAPACITY_ERROR, "run_p4d": INC7_RUN_P4D, "run_g5": INC7_RUN_G5},
             "henry.park@example.com (SSO DeveloperAccess) launched 1 p4d.24xlarge and 3 g5.12xlarge in "
             "ap-northeast-1; EC2 compute cost jumps from 2026-10-08"),
    # 8. a backdoor login (its records: trailtools.demo.backdoor_login)
    Incident(8, "Backdoor login: a new user's console password, used nine seconds later", None, "support-ops",
             INC8_CONSOLE_LOGIN,
             {"create_user": INC8_CREATE_USER, "create_login_profile": INC8_CREATE_LOGIN_PROFILE,
              "console_login": INC8_CONSOLE_LOGIN},
             "legacy-deploy's access key, from 203.0.113.222 (Amsterdam VPS), creates IAM user support-ops and its "
             "console password (CreateLoginProfile); support-ops signs in 9 s later without MFA from 203.0.113.223: "
             "sequences.backdoor-login, critical"),
)


# ------------------------------------------------------------------------------------------------ reboot incidents 9-10
# Two more restarts for the reboot investigation (issue 19). Their instances are kept out of INSTANCES and
# ALL_INSTANCES, so the background (synth's fleets), the cost data and the status checks stay as they were: the
# trail, the EC2 responses and the guest logs add them explicitly (REBOOT_EXTRA).
CAROL = Person("carol", "SSO", "carol@example.com", ("192.0.2.45",), role_name=sso_role_name("PowerUserAccess"),
               note="platform engineer, SSO PowerUserAccess (London): patches the fleet through Systems Manager")
# 9. carol patches app-08 through SSM Run Command: AWS-RunPatchBaseline (Install, RebootOption RebootIfNeeded, the
# default); the patch run installs a new kernel and the SSM agent reboots the instance as the document asks
PATCH08 = Instance("i-0c3e5a7b9d1f24680", "app-08", "us-east-1", "us-east-1b", "m5.xlarge", "10.0.1.31",
                   t("2026-09-14 08:31:27"), t("2025-11-03 15:40:12"), incident=8, os_logs=True)
INC9_SEND = t("2026-10-10 03:00:14")
INC9_COMMAND_ID = "b7e3c1d9-5a2f-4e86-9c14-3f0a8d6e2b57"
INC9_YUM = t("2026-10-10 03:02:51")      # the first package updated
INC9_REBOOT = t("2026-10-10 03:06:40")   # the agent reboots for the document (exit code 194)
INC9_BOOT = t("2026-10-10 03:07:16")
INC9_KERNEL_NEW = "4.14.355-275.570.amzn2.x86_64"
# 10. EC2 reclaims a Spot Instance of the render fleet (Auto Scaling group render-spot, us-west-2); Auto Scaling
# launches a replacement. Late in the window, so describe-instances (saved at "now") still lists the terminated
# instance with its state reason.
SPOT09 = Instance("i-0d5f7b9c1e3a46802", "render-spot-09", "us-west-2", "us-west-2a", "c5.xlarge", "10.2.1.41",
                  t("2026-10-13 06:12:40"), t("2026-10-13 06:12:40"), incident=9, team="render")
SPOT09_REPLACEMENT = Instance("i-0a2c4e6f8b1d35790", "render-spot-09", "us-west-2", "us-west-2b", "c5.xlarge",
                              "10.2.1.57", t("2026-10-14 23:23:31"), t("2026-10-14 23:23:31"), team="render")
INC10_INTERRUPT = t("2026-10-14 23:21:09")   # BidEvictedEvent (the two-minute notice came at 23:19:09)
INC10_REPLACED = t("2026-10-14 23:23:31")    # RunInstances by Auto Scaling
SPOT09_REQUEST = "sir-3kq8z7vh"
REBOOT_EXTRA = (PATCH08, SPOT09, SPOT09_REPLACEMENT)
REBOOT_INCIDENTS = (
    Incident(9, "Instance patched and rebooted through SSM by a person", PATCH08.id, CAROL.name, INC9_REBOOT,
             {"send_command": INC9_SEND, "first_update": INC9_YUM, "agent_reboot": INC9_REBOOT, "boot": INC9_BOOT},
             "SSM Run Command AWS-RunPatchBaseline (Install, RebootIfNeeded) sent by carol@example.com (SSO "
             "PowerUserAccess, CLI, 192.0.2.45); the SSM agent rebooted after the kernel update (command ID in the "
             "guest log)"),
    Incident(10, "Spot interruption, replaced by Auto Scaling", SPOT09.id, None, INC10_INTERRUPT,
             {"interruption": INC10_INTERRUPT, "replacement_launched": INC10_REPLACED},
             "Spot interruption: BidEvictedEvent by EC2, StateReason Server.SpotInstanceTermination; Auto Scaling "
             f"launched {SPOT09_REPLACEMENT.id} in its place; no person acted"),
)
INCIDENTS = INCIDENTS + REBOOT_INCIDENTS
BY_ID = {**BY_ID, **{i.id: i for i in REBOOT_EXTRA}}


# ------------------------------------------------------------------------------------------------ formats
def iso_z(d: datetime) -> str:
    """``2026-10-06T14:22:31Z`` (CloudTrail, CloudWatch, Cost Explorer anomaly dates)."""
    return d.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms_z(d: datetime) -> str:
    """``2026-10-06T14:22:31.000Z`` (EC2 Query API timestamps as the AWS CLI prints them)."""
    d = d.astimezone(UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def epoch(d: datetime) -> float:
    """Seconds since the epoch with milliseconds (JSON-protocol timestamps as the AWS CLI prints them)."""
    return round(d.timestamp(), 3)


def days(start: datetime, end: datetime):
    d = start
    while d < end:
        yield d
        d += timedelta(days=1)
