"""The rules library: the rule model (events pushed down, failed calls one step lower, one finding per credential),
and each family's logic on records built here (near misses included)."""
import pandas as pd
import pytest
from conftest import record

from trailtools.errors import TrailtoolsError
from trailtools.rules import registry
from trailtools.rules.collection import widest_window
from trailtools.rules.examples import frame_of
from trailtools.rules.exposure import public_statements
from trailtools.rules.model import lower


def _rec(eid, time, name, source, req, **kw):
    return record(eid, time, name, eventSource=source, requestParameters=req, readOnly=False, **kw)


def _run(rule_id, records):
    return registry.RULES[rule_id].run(frame_of(records))


def test_every_rule_is_complete_and_ids_are_unique():
    assert len(registry.RULES) == 21
    for rule in registry.RULES.values():
        assert rule.id.startswith(rule.family + ".") and rule.family.replace("-", "_") in {
            "defense_evasion", "exposure", "execution", "collection", "credential_access", "sequences"}
        assert rule.tactic.startswith("TA0") and rule.technique.startswith("T1")
        assert rule.events and rule.explanation and rule.next_steps and rule.title


def test_select_by_id_family_or_all_and_unknown_is_one_sentence():
    assert [r.id for r in registry.select("exposure.ami-shared")] == ["exposure.ami-shared"]
    assert {r.family for r in registry.select("execution,collection")} == {"execution", "collection"}
    assert len(registry.select(None)) == len(registry.RULES)
    with pytest.raises(TrailtoolsError, match="No rule named 'nope'"):
        registry.select("nope")


def test_events_pushed_down_are_the_rules_event_names():
    names = registry.event_names(registry.select("execution.user-data-changed"))
    assert names == ["ModifyInstanceAttribute", "StartInstances", "StopInstances"]


def test_rule_reads_only_its_source_and_name_pairs():
    """DeleteMembers of Security Hub is not GuardDuty's."""
    recs = [_rec("e1", "2026-11-03T10:00:00Z", "DeleteMembers", "securityhub.amazonaws.com", {"accountIds": ["1"]}),
            _rec("e2", "2026-11-03T10:01:00Z", "DeleteMembers", "guardduty.amazonaws.com",
                 {"accountIds": ["444455556666"], "detectorId": "d1"})]
    (f,) = _run("defense-evasion.guardduty-disabled", recs)
    assert [e.ref for e in f.evidence] == ["e2"] and "444455556666" in f.title


def test_failed_calls_are_one_step_lower_and_grouped_per_credential():
    recs = [_rec(f"e{i}", f"2026-11-03T10:0{i}:00Z", "GetPasswordData", "ec2.amazonaws.com", {"instanceId": f"i-0{i}"},
                 errorCode="Client.UnauthorizedOperation") for i in range(5)]
    recs.append(_rec("ok", "2026-11-03T10:09:00Z", "GetPasswordData", "ec2.amazonaws.com", {"instanceId": "i-09"}))
    found = _run("execution.password-data-read", recs)
    assert [(f.severity, len(f.evidence)) for f in found] == [("medium", 1), ("low", 5)]
    assert "tried GetPasswordData" in found[1].title and "and 4 more" in found[1].title
    assert lower("critical") == "high" and lower("info") == "info"


def test_security_group_only_the_whole_internet():
    def sg(eid, cidr, key="cidrIp"):
        return _rec(eid, "2026-11-03T10:00:00Z", "AuthorizeSecurityGroupIngress", "ec2.amazonaws.com",
                    {"groupId": "sg-1", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 3389,
                                                                     "toPort": 3389, "ipRanges": {"items": [
                                                                         {key: cidr}]}}]}})
    found = _run("exposure.security-group-open", [sg("a", "0.0.0.0/0"), sg("b", "::/0", "cidrIpv6"),
                                                  sg("c", "0.0.0.0/1"), sg("d", "10.0.0.0/8"), sg("e", "junk")])
    assert {e.ref for f in found for e in f.evidence} == {"a", "b"}
    assert "tcp 3389" in found[0].title and {f.severity for f in found} == {"high"}


def test_security_group_open_on_web_ports_only_is_low():
    def sg(eid, port, proto="tcp"):
        return _rec(eid, "2026-11-03T10:00:00Z", "AuthorizeSecurityGroupIngress", "ec2.amazonaws.com",
                    {"groupId": f"sg-{eid}", "ipPermissions": {"items": [{"ipProtocol": proto, "fromPort": port,
                                                                         "toPort": port, "ipRanges": {"items": [
                                                                             {"cidrIp": "0.0.0.0/0"}]}}]}})
    found = {e.ref: f.severity for f in _run("exposure.security-group-open",
                                             [sg("a", 443), sg("b", 80), sg("c", 22), sg("d", 443, "udp")])
             for e in f.evidence}
    assert found == {"a": "low", "b": "low", "c": "high", "d": "high"}


def test_bucket_policy_public_unless_a_condition_restricts_callers():
    allow = {"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": ["s3:GetObject"], "Resource": "*"}
    assert public_statements({"Statement": allow}) == [allow]
    assert public_statements({"Statement": [{**allow, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]})
    assert not public_statements({"Statement": [{**allow, "Condition": {"IpAddress": {"aws:SourceIp": "1.2.3.4"}}}]})
    assert not public_statements({"Statement": [{**allow, "Effect": "Deny"}]})
    assert not public_statements("not a policy")


def test_snapshot_made_public_is_critical_shared_is_high():
    def share(eid, grant):
        return _rec(eid, "2026-11-03T10:00:00Z", "ModifySnapshotAttribute", "ec2.amazonaws.com",
                    {"snapshotId": f"snap-{eid}", "createVolumePermission": {"add": {"items": [grant]}}})
    found = _run("exposure.snapshot-shared", [share("a", {"group": "all"}), share("b", {"userId": "999988887777"})])
    assert [(f.severity, f.resource) for f in found] == [("critical", "snap-a"), ("high", "snap-b")]


def test_user_data_change_between_stop_and_start_is_high_alone_medium():
    def state(eid, t, name, inst="i-0123456789abcdef0"):
        return _rec(eid, t, name, "ec2.amazonaws.com", {"instancesSet": {"items": [{"instanceId": inst}]}})

    def modify(eid, t, inst="i-0123456789abcdef0"):
        return _rec(eid, t, "ModifyInstanceAttribute", "ec2.amazonaws.com", {"instanceId": inst, "userData": "x"})
    seq = [state("s1", "2026-11-03T10:00:00Z", "StopInstances"), modify("m1", "2026-11-03T10:01:00Z"),
           state("s2", "2026-11-03T10:02:00Z", "StartInstances")]
    (f,) = _run("execution.user-data-changed", seq)
    assert f.severity == "high" and [e.ref for e in f.evidence] == ["s1", "m1", "s2"] and "started it again" in f.title
    (alone,) = _run("execution.user-data-changed", [modify("m2", "2026-11-03T10:01:00Z", "i-0fedcba9876543210")])
    assert alone.severity == "medium"
    # a start long after (past the rule's hours) is not the sequence
    late = [seq[0], seq[1], state("s3", "2026-11-04T10:00:00Z", "StartInstances")]
    assert _run("execution.user-data-changed", late)[0].severity == "medium"


def test_widest_window_counts_distinct_buckets_within_the_window():
    t0 = pd.Timestamp("2026-11-03T10:00:00Z")
    times = [t0 + pd.Timedelta(minutes=m) for m in (0, 1, 2, 50, 61, 62)]
    assert widest_window(times, ["a", "a", "b", "c", "d", "e"], pd.Timedelta(minutes=60)) == (4, 1, 5)   # the first widest span


def test_many_buckets_threshold_is_data():
    rule = registry.RULES["collection.many-buckets-read"]
    recs = [_rec(f"g{i}", f"2026-11-03T10:{i:02d}:00Z", "GetObject", "s3.amazonaws.com",
                 {"bucketName": f"bucket-{i}", "key": "k"}) for i in range(rule.parameters["min_buckets"] - 1)]
    assert _run(rule.id, recs) == []
    recs.append(_rec("last", "2026-11-03T10:30:00Z", "ListObjects", "s3.amazonaws.com", {"bucketName": "one-more"}))
    (f,) = _run(rule.id, recs)
    assert f.severity == "high" and len(f.evidence) == rule.parameters["min_buckets"]
    assert f.extra["credential"] == "AKIAEXAMPLE" and "read 10 S3 buckets" in f.title


def test_run_ranks_by_severity():
    recs = [_rec("a", "2026-11-03T10:00:00Z", "StartSession", "ssm.amazonaws.com", {"target": "i-1"}),
            _rec("b", "2026-11-03T11:00:00Z", "LeaveOrganization", "organizations.amazonaws.com", None)]
    assert [f.severity for f in registry.run(frame_of(recs))] == ["high", "low"]
