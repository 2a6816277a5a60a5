"""How AWS-side restarts are told apart in words (pure; no I/O): hibernation, resizes, the AWS service behind a
termination (EKS node groups, ECS, Elastic Beanstalk), why Auto Scaling replaced an instance, retirements.

- **Hibernation**: ``StopInstances`` with ``"hibernate": true`` (the memory is saved to the root volume).
- **Resize**: ``ModifyInstanceAttribute`` ``instanceType`` between a stop and a start; the type before comes from
  the calls before it (``RunInstances``, an earlier resize), when the trail has them.
- **Service callers**: a termination invoked by, or made through the service-linked role of, Amazon EKS (a managed
  node group update drains the node, then replaces it), Amazon ECS (a capacity provider scaling in) or Elastic
  Beanstalk (an environment update or rebuild).
- **Auto Scaling's reason**: CloudTrail does not log an activity's cause, but it shows a health-check replacement's
  trigger: ``SetInstanceHealth`` ``Unhealthy`` by someone, or the instance failing its EC2 status checks (the
  group's EC2 health check); a ``TerminateInstanceInAutoScalingGroup`` that decrements the capacity is a scale-in.
"""
from __future__ import annotations

import pandas as pd

from trailtools.findings.model import iso_time
from trailtools.investigations.reboot.remote import parsed_json
from trailtools.investigations.reboot.shape import from_trail

SERVICES = (  # (what names it in the caller, what it did)
    (("eks.amazonaws.com", "eks-nodegroup.amazonaws.com", "AWSServiceRoleForAmazonEKS"),
     "Amazon EKS (a managed node group update or scale-in: the node was drained, then replaced or removed)"),
    (("ecs.amazonaws.com", "AWSServiceRoleForECS"),
     "Amazon ECS (a capacity provider drained the container instance and scaled in)"),
    (("elasticbeanstalk.amazonaws.com", "AWSServiceRoleForElasticBeanstalk", "aws-elasticbeanstalk-service-role"),
     "Elastic Beanstalk (an environment update, rebuild or scaling replaced it)"),
)


def service_behind(call: dict | None) -> str | None:
    """The AWS service (other than Auto Scaling) that made or asked for a call, in words, or None."""
    if not call:
        return None
    text = " ".join(str(call.get(k) or "") for k in ("userIdentity.invokedBy", "sourceIPAddress", "userAgent",
                                                       "userIdentity.sessionContext.sessionIssuer.userName",
                                                       "userIdentity.arn"))
    return next((what for names, what in SERVICES if any(n in text for n in names)), None)


def hibernated(stops: list[dict]) -> bool:
    return any(parsed_json(c.get("requestParameters")).get("hibernate") in (True, "true") for c in stops)


def resize(calls: list[dict], instance: str, stop, start) -> str | None:
    """"resized from t3.micro to t3.large by X (ModifyInstanceAttribute at T)" for a type change between a stop
    and a start, or None."""
    mods = [c for c in calls if c.get("eventName") == "ModifyInstanceAttribute" and not c.get("errorCode")
            and stop <= c["eventTime"] <= start
            and parsed_json(c.get("requestParameters")).get("instanceId") == instance
            and parsed_json(c.get("requestParameters")).get("instanceType")]
    if not mods:
        return None
    mod = mods[-1]
    value = parsed_json(mod.get("requestParameters"))["instanceType"]
    new = value.get("value") if isinstance(value, dict) else value
    _, old = from_trail(instance, [c for c in calls if c["eventTime"] < mod["eventTime"]])
    frm = f"from {old} " if old and old != new else ""
    return f"resized {frm}to {new} by {mod.get('actor')} (ModifyInstanceAttribute at {iso_time(mod['eventTime'])})"


def health_check_reason(calls: list[dict], failures: list[dict], instance: str, t) -> str | None:
    """Why Auto Scaling replaced it, when the evidence shows a health check's trigger, else None."""
    lead = pd.Timedelta(minutes=30)
    unhealthy = [c for c in calls if c.get("eventName") == "SetInstanceHealth" and not c.get("errorCode")
                 and t - lead <= c["eventTime"] <= t
                 and parsed_json(c.get("requestParameters")).get("instanceId") == instance
                 and str(parsed_json(c.get("requestParameters")).get("healthStatus")).lower() == "unhealthy"]
    if unhealthy:
        c = unhealthy[-1]
        return f"a health-check replacement: {c.get('actor')} set it Unhealthy at {iso_time(c['eventTime'])}"
    failed = [f for f in failures if f.get("start") is not None and f["start"] <= t
              and (f.get("end") is None or f["end"] >= t - lead)]
    if failed:
        f = failed[0]
        return (f"a health-check replacement: it failed its EC2 status checks ({f.get('metric')}) from "
                f"{iso_time(f['start'])}")
    return None


def retirement(codes: list[str]) -> bool:
    """Planned work that stops (or terminates) the instance rather than rebooting it."""
    return any(w in str(c).upper() for c in codes for w in ("RETIREMENT", "INSTANCE-STOP", "STOP_SCHEDULED",
                                                             "INSTANCE-RETIREMENT"))
