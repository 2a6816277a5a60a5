"""AWS Health: ``describe-events``, ``describe-event-details`` and ``describe-affected-entities`` as the AWS CLI
prints them (timestamps as epoch seconds, like the CLI examples in aws-cli's own documentation).

Event type codes come from AWS Health's catalogue (``describe-event-types``):
``AWS_EC2_INSTANCE_AUTO_RECOVERY_SUCCESS`` (accountNotification), ``AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED``
and ``AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED`` (scheduledChange), ``AWS_EC2_OPERATIONAL_ISSUE`` (issue),
``AWS_BILLING_NOTIFICATION`` (accountNotification).
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from trailtools.demo import scenario as S
from trailtools.demo._io import hexid, stable_uuid, write_files


def _event(service, code, category, region, start, end, updated, status, scope, suffix):
    arn_region = region
    ev = {"arn": f"arn:aws:health:{arn_region}::event/{service}/{code}/{code}_{suffix}", "service": service,
          "eventTypeCode": code, "eventTypeCategory": category, "region": region, "startTime": S.epoch(start)}
    if end is not None:
        ev["endTime"] = S.epoch(end)
    ev["lastUpdatedTime"] = S.epoch(updated)
    ev["statusCode"] = status
    ev["eventScopeCode"] = scope
    return ev


def _events() -> list[tuple[dict, str, list[tuple[str, str, object]]]]:
    """(event, latestDescription, [(entityValue, statusCode, lastUpdated)])"""
    out = []
    # incident 2: host failure, recovered by the CloudWatch alarm's recover action
    ms = timedelta(milliseconds=417)
    ev = _event("EC2", "AWS_EC2_INSTANCE_AUTO_RECOVERY_SUCCESS", "accountNotification", "us-east-1",
                S.INC2_ALARM + ms, S.INC2_OK, S.INC2_OK + timedelta(minutes=6, seconds=13), "closed",
                "ACCOUNT_SPECIFIC", stable_uuid("health-inc2"))
    desc = (f"Amazon EC2 detected a loss of network connectivity and power to the underlying host of your instance "
            f"{S.DB02.id} in the us-east-1 Region at {S.iso_z(S.INC2_FAIL)}. The Amazon CloudWatch alarm "
            f"{S.INC2_ALARM_NAME} that you configured with the EC2 recover action initiated the automatic recovery "
            f"of the instance. The recovery has completed successfully: your instance was migrated to healthy "
            f"hardware and restarted. The recovered instance keeps its instance ID, private IP addresses, Elastic IP "
            f"addresses and instance metadata. Data in memory was lost.\n\nNo action is required. If you need help, "
            f"contact AWS Support.")
    out.append((ev, desc, [(S.DB02.id, "RESOLVED", S.INC2_OK + timedelta(minutes=6))]))

    # incident 3: scheduled system reboot, performed by AWS inside the window
    ev = _event("EC2", "AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED", "scheduledChange", "eu-west-1",
                S.INC3_NOT_BEFORE, S.INC3_NOT_AFTER, S.INC3_BOOT + timedelta(minutes=14, seconds=51), "closed",
                "ACCOUNT_SPECIFIC", stable_uuid("health-inc3"))
    desc = (f"One or more of your Amazon EC2 instances in the eu-west-1 Region is scheduled for a system reboot "
            f"because of required maintenance of the underlying host. During the reboot the instance is "
            f"restarted; it keeps its instance ID, IP addresses and EBS volumes.\n\nScheduled window: "
            f"{S.iso_z(S.INC3_NOT_BEFORE)} to {S.iso_z(S.INC3_NOT_AFTER)} (scheduled event "
            f"{S.INC3_EVENT_ID}, code system-reboot).\n\nYou can reschedule the reboot to a time before the "
            f"deadline, or reboot the instance yourself, which may migrate it to new hardware (reboot migration). "
            f"Affected instances are listed on the Affected resources tab.\n\n[Update {S.iso_z(S.INC3_BOOT)}] "
            f"The scheduled maintenance has been completed.")
    out.append((ev, desc, [(S.BATCH03.id, "RESOLVED", S.INC3_BOOT + timedelta(minutes=14))]))

    # a look-alike in September: the same kind of maintenance on another instance, outside the window
    sep_start, sep_end = S.t("2026-09-16 01:00:00"), S.t("2026-09-16 03:00:00")
    ev = _event("EC2", "AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED", "scheduledChange", "eu-west-1",
                sep_start, sep_end, S.t("2026-09-16 01:48:02"), "closed", "ACCOUNT_SPECIFIC",
                stable_uuid("health-sep"))
    desc = (f"One or more of your Amazon EC2 instances in the eu-west-1 Region is scheduled for a system reboot "
            f"because of required maintenance of the underlying host.\n\nScheduled window: {S.iso_z(sep_start)} "
            f"to {S.iso_z(sep_end)}.\n\n[Update 2026-09-16T01:48:02Z] The scheduled maintenance has been "
            f"completed.")
    out.append((ev, desc, [(S.OTHERS[2].id, "RESOLVED", S.t("2026-09-16 01:47:40"))]))

    # upcoming: a retirement after "now" (explains nothing inside the window)
    ev = _event("EC2", "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED", "scheduledChange", "us-east-1",
                S.RETIREMENT_NOT_BEFORE, None, S.t("2026-10-13 18:20:44"), "upcoming", "ACCOUNT_SPECIFIC",
                stable_uuid("health-retire"))
    desc = (f"EC2 has detected degradation of the underlying hardware hosting your Amazon EC2 instance "
            f"{S.RETIRING.id} in the us-east-1 Region. Because of this degradation your instance will be "
            f"stopped after {S.iso_z(S.RETIREMENT_NOT_BEFORE)}. Stop and start the instance before then to move "
            f"it to healthy hardware.")
    out.append((ev, desc, [(S.RETIRING.id, "PENDING", S.t("2026-10-13 18:20:44"))]))

    # public issue in a region the account uses
    ev = _event("EC2", "AWS_EC2_OPERATIONAL_ISSUE", "issue", "eu-west-1", S.t("2026-10-02 09:12:37"),
                S.t("2026-10-02 10:31:05"), S.t("2026-10-02 10:31:20"), "closed", "PUBLIC",
                "QZRTM_" + hexid("pub", 8).upper())
    desc = ("[RESOLVED] Increased API Error Rates\n\n[02:12 AM PDT] We are investigating increased error rates for "
            "the RunInstances and DescribeInstances APIs in the EU-WEST-1 Region.\n\n[03:31 AM PDT] Between 2:05 AM "
            "and 3:24 AM PDT we experienced increased API error rates in the EU-WEST-1 Region. Running instances "
            "were not affected. The issue has been resolved and the service is operating normally.")
    out.append((ev, desc, []))

    # billing notification (account-wide)
    ev = _event("BILLING", "AWS_BILLING_NOTIFICATION", "accountNotification", "global",
                S.t("2026-10-03 00:00:00"), None, S.t("2026-10-03 00:04:11"), "open", "ACCOUNT_SPECIFIC",
                stable_uuid("health-billing"))
    desc = ("Your invoice for September 2026 is available in the Billing and Cost Management console.")
    out.append((ev, desc, [("AWS_ACCOUNT", "UNKNOWN", S.t("2026-10-03 00:04:11"))]))
    out.sort(key=lambda e: -e[0]["lastUpdatedTime"])
    return out


def build(seed: int | None = None) -> dict[str, dict]:
    """The three Health responses (independent of the seed: the Health story is part of the scenario)."""
    items = _events()
    events = [e for e, _, _ in items]
    details = {"successfulSet": [{"event": e, "eventDescription": {"latestDescription": d}} for e, d, _ in items],
               "failedSet": []}
    entities = []
    for e, _, ents in items:
        region = e["region"]
        for value, status, updated in ents:
            entities.append({
                "entityArn": f"arn:aws:health:{region}:{S.ACCOUNT_ID}:entity/{hexid(e['arn'] + value, 24)}",
                "eventArn": e["arn"], "entityValue": value, "awsAccountId": S.ACCOUNT_ID,
                "lastUpdatedTime": S.epoch(updated), "statusCode": status})
    return {"health/describe-events.json": {"events": events},
            "health/describe-event-details.json": details,
            "health/describe-affected-entities.json": {"entities": entities}}


def write(out_dir: Path, seed: int | None = None) -> dict:
    files = build(seed)
    paths = write_files(out_dir, files)
    return {"files": paths, "events": len(files["health/describe-events.json"]["events"])}
