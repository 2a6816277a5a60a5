"""AWS-side restarts told apart: hibernation, resizes, instance retirement, Auto Scaling's health-check
replacements, and the AWS service behind a termination (EKS node groups, Elastic Beanstalk); CloudTrail records in
the shapes CloudTrail writes, Health and EC2 responses as the AWS CLI prints them: should-fire and should-not-fire."""
import pandas as pd
from test_reboot_causes import ACCOUNT, ASG_ROLE, I, asg_terminate, evidence, record, trail, user

from trailtools.evidence import ec2, health
from trailtools.investigations.reboot.analysis import analyze

ITEMS = {"instancesSet": {"items": [{"instanceId": I}]}}


def stop(time="2026-10-20T13:58:00Z", hibernate=False, n=60):
    req = {**ITEMS, "force": False}
    if hibernate:
        req["hibernate"] = True
    return record("StopInstances", time, user("dave"), req, None, n=n)


def start(time="2026-10-20T14:00:00Z", n=61):
    return record("StartInstances", time, user("dave"), ITEMS, None, n=n)


def test_a_hibernation_is_said_as_one(tmp_path):
    v = analyze(evidence(trail(tmp_path, stop(hibernate=True), start())))
    assert (v.cause, v.actor) == ("api-call", "dave") and "was hibernated and resumed by dave" in v.summary
    assert "hibernated (StopInstances with hibernate" in v.summary
    v = analyze(evidence(trail(tmp_path, stop(), start())))
    assert "stopped and started" in v.summary and "hibernat" not in v.summary


def test_a_resize_between_the_stop_and_the_start_names_both_types(tmp_path):
    run = record("RunInstances", "2026-10-20T08:00:00Z", user("erin"),
                 {"instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890", "minCount": 1, "maxCount": 1}]},
                  "instanceType": "t3.micro"},
                 {"instancesSet": {"items": [{"instanceId": I, "instanceType": "t3.micro",
                                              "currentState": {"code": 0, "name": "pending"}}]}}, n=62)
    resize = record("ModifyInstanceAttribute", "2026-10-20T13:59:00Z", user("dave"),
                    {"instanceId": I, "instanceType": {"value": "t3.large"}}, {"_return": True}, n=63)
    v = analyze(evidence(trail(tmp_path, run, stop(), resize, start())))
    assert "was stopped and started by dave" in v.summary
    assert "resized from t3.micro to t3.large by dave (ModifyInstanceAttribute at 2026-10-20T13:59:00Z)" in v.summary
    assert v.instance_type == "t3.large"
    other = record("ModifyInstanceAttribute", "2026-10-20T13:59:00Z", user("dave"),
                   {"instanceId": I, "disableApiTermination": {"value": True}}, {"_return": True}, n=64)
    assert "resized" not in analyze(evidence(trail(tmp_path, run, stop(), other, start()))).summary


def _health(code, category="scheduledChange"):
    return health.transform_events({"events": [{
        "arn": f"arn:aws:health:eu-west-1::event/EC2/{code}/{code}_1a2b3c4d", "service": "EC2",
        "eventTypeCode": code, "eventTypeCategory": category, "region": "eu-west-1",
        "startTime": pd.Timestamp("2026-10-20T02:00:00Z").timestamp(),
        "endTime": pd.Timestamp("2026-10-20T04:00:00Z").timestamp(), "statusCode": "closed"}]})


def _scheduled(code, description):
    return ec2.transform_instance_status({"InstanceStatuses": [{
        "AvailabilityZone": "eu-west-1a", "InstanceId": I, "InstanceState": {"Code": 80, "Name": "stopped"},
        "Events": [{"InstanceEventId": "instance-event-0d59937288b749b32", "Code": code,
                    "Description": description, "NotBefore": "2026-10-20T02:00:00.000Z",
                    "NotAfter": "2026-10-20T04:00:00.000Z"}]}]})


def test_a_retirement_is_a_stop_by_aws_and_a_maintenance_reboot_a_restart(tmp_path):
    ev = evidence(trail(tmp_path))
    ev.health = _health("AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED")
    ev.scheduled = _scheduled("instance-retirement", "[Completed] The instance is running on degraded hardware")
    v = analyze(ev)
    assert (v.cause, v.actor, v.confidence) == ("aws-maintenance", "AWS", "high")
    assert "stopped by AWS for a scheduled instance retirement" in v.summary
    assert "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED, instance-retirement" in v.summary
    ev = evidence(trail(tmp_path))
    ev.health = _health("AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED")
    v = analyze(ev)
    assert v.cause == "aws-maintenance" and "restarted by AWS scheduled maintenance" in v.summary


def test_auto_scaling_health_check_replacement_and_its_trigger(tmp_path):
    unhealthy = record("SetInstanceHealth", "2026-10-20T09:13:40Z", user("erin"),
                       {"instanceId": I, "healthStatus": "Unhealthy", "shouldRespectGracePeriod": False}, None,
                       "autoscaling.amazonaws.com", 65)
    v = analyze(evidence(trail(tmp_path, unhealthy, asg_terminate())))
    assert (v.cause, v.confidence) == ("automation", "high") and "replaced by Auto Scaling" in v.summary
    assert "a health-check replacement: erin set it Unhealthy at 2026-10-20T09:13:40Z" in v.summary
    ev = evidence(trail(tmp_path, asg_terminate()))
    ev.status_failures = pd.DataFrame([{"metric": "StatusCheckFailed_Instance", "start": pd.Timestamp(
        "2026-10-20T09:05:00Z"), "end": pd.Timestamp("2026-10-20T09:10:00Z"), "datapoints": 2}])
    v = analyze(ev)
    assert "failed its EC2 status checks (StatusCheckFailed_Instance) from 2026-10-20T09:05:00Z" in v.summary
    plain = analyze(evidence(trail(tmp_path, asg_terminate())))
    assert "health-check" not in plain.summary and "Amazon EKS" not in plain.summary


def test_an_eks_node_group_drain_and_an_elastic_beanstalk_termination_name_the_service(tmp_path):
    eks_role = {**ASG_ROLE, "principalId": "AROAEXAMPLEEKSNG:EKS",
                "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSServiceRoleForAmazonEKSNodegroup/EKS",
                "invokedBy": "eks-nodegroup.amazonaws.com",
                "sessionContext": {**ASG_ROLE["sessionContext"], "sessionIssuer": {
                    **ASG_ROLE["sessionContext"]["sessionIssuer"], "userName": "AWSServiceRoleForAmazonEKSNodegroup"}}}
    ask = record("TerminateInstanceInAutoScalingGroup", "2026-10-20T09:14:01Z", eks_role,
                 {"instanceId": I, "shouldDecrementDesiredCapacity": False}, None, "autoscaling.amazonaws.com", 66,
                 ip="eks-nodegroup.amazonaws.com", ua="eks-nodegroup.amazonaws.com")
    v = analyze(evidence(trail(tmp_path, ask, asg_terminate())))
    assert v.cause == "automation" and "replaced by Auto Scaling" in v.summary
    assert "Amazon EKS (a managed node group update or scale-in: the node was drained" in v.summary
    eb = {**ASG_ROLE, "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSServiceRoleForElasticBeanstalk/"
                             "ElasticBeanstalk", "invokedBy": "elasticbeanstalk.amazonaws.com",
          "sessionContext": {**ASG_ROLE["sessionContext"], "sessionIssuer": {
              **ASG_ROLE["sessionContext"]["sessionIssuer"], "userName": "AWSServiceRoleForElasticBeanstalk"}}}
    term = record("TerminateInstances", "2026-10-20T09:14:05Z", eb, ITEMS, None, n=67,
                  ip="elasticbeanstalk.amazonaws.com", ua="elasticbeanstalk.amazonaws.com")
    v = analyze(evidence(trail(tmp_path, term)))
    assert v.cause == "automation" and "The caller is Elastic Beanstalk" in v.summary
    person = record("TerminateInstances", "2026-10-20T09:14:05Z", user("dave"), ITEMS, None, n=68)
    v = analyze(evidence(trail(tmp_path, person)))
    assert v.cause == "api-call" and "The caller is" not in v.summary


# ---- EC2's Spot notices (EventBridge), archived beside the trail -------------------------------------------------

def notice(detail_type, time, detail, n):
    """An EventBridge event as the EC2 user guide shows it ("Spot Instance interruption notices", "EC2 instance
    rebalance recommendations")."""
    return {"version": "0", "id": f"12345678-1234-1234-1234-1234567890{n:02d}", "detail-type": detail_type,
            "source": "aws.ec2", "account": ACCOUNT, "time": time, "region": "eu-west-1",
            "resources": [f"arn:aws:ec2:eu-west-1a:instance/{I}"], "detail": {"instance-id": I, **detail}}


def test_spot_notices_join_the_interruption_and_explain_a_capacity_rebalancing(tmp_path):
    import json

    from test_reboot_causes import bid_evicted

    from trailtools.investigations.reboot.gather import investigate

    (tmp_path / "eventbridge").mkdir()
    events = [notice("EC2 Instance Rebalance Recommendation", "2026-10-20T22:05:00Z", {}, 1),
              notice("EC2 Spot Instance Interruption Warning", "2026-10-20T22:28:00Z",
                     {"instance-action": "terminate"}, 2),
              {**notice("EC2 Spot Instance Interruption Warning", "2026-10-20T22:28:00Z", {}, 3),
               "detail": {"instance-id": "i-0fedcba9876543210", "instance-action": "terminate"}},  # another
              {"source": "aws.health", "detail-type": "AWS Health Event", "time": "not a time"}]  # not EC2's
    (tmp_path / "eventbridge" / "spot.json").write_text("\n".join(json.dumps(e) for e in events))
    (tmp_path / "trail.json").write_text(json.dumps({"Records": [bid_evicted("2026-10-20T22:30:00Z")]}))
    inv = investigate(I, source=str(tmp_path), end="2026-10-25")
    v = inv.verdict
    assert (v.cause, v.actor, v.confidence) == ("spot-interruption", "AWS", "high")
    assert "EC2 sent a rebalance recommendation at 2026-10-20T22:05:00Z" in v.summary
    assert "interruption warning at 2026-10-20T22:28:00Z (terminate)" in v.summary
    assert [e.kind for e in v.evidence] == ["eventbridge", "eventbridge", "cloudtrail"]
    assert {s.name: s.status for s in inv.evidence.sources}["EC2 Spot notices (EventBridge)"] == "consulted"
    assert "Spot notices" in set(inv.evidence_table().frame["lane"])


def test_a_replacement_after_a_rebalance_recommendation_is_capacity_rebalancing(tmp_path):
    from trailtools.evidence.eventbridge import COLUMNS
    from trailtools.evidence.saved import frame

    ev = evidence(trail(tmp_path, asg_terminate()))
    ev.spot_notices = frame([{"time": "2026-10-20T09:02:00Z", "kind": "rebalance-recommendation", "action": "",
                              "id": "e1", "file": "eventbridge/spot.json"}], COLUMNS)
    v = analyze(ev)
    assert "replaced by Auto Scaling" in v.summary and "Capacity Rebalancing: EC2 recommended a rebalance" in v.summary
    assert v.evidence[0].kind == "eventbridge"
    ev.spot_notices = ev.spot_notices.assign(time=pd.Timestamp("2026-10-20T05:00:00Z"))  # hours before: not it
    assert "Capacity Rebalancing" not in analyze(ev).summary


def test_a_start_after_a_retirement_stop_is_awss_stop_and_a_persons_start(tmp_path):
    ev = evidence(trail(tmp_path, start("2026-10-20T09:30:00Z")))
    ev.health = _health("AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED")
    ev.scheduled = _scheduled("instance-stop", "[Completed] The instance is running on degraded hardware")
    v = analyze(ev)
    assert (v.cause, v.actor, v.confidence) == ("aws-maintenance", "AWS", "high")
    assert "stopped by AWS for a scheduled instance retirement" in v.summary and "started again by dave" in v.summary
    assert [e.kind for e in v.evidence] == ["health", "scheduled-event", "cloudtrail"]
    ev.health = _health("AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED")  # no retirement: the start is dave's
    ev.scheduled = _scheduled("system-reboot", "[Completed] The instance is scheduled for a reboot")
    v = analyze(ev)
    assert (v.cause, v.actor) == ("api-call", "dave") and "started by dave" in v.summary
