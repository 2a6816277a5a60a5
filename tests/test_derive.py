"""The derived columns: the acting principal for every identity type, and the instance IDs an event touched."""
import pyarrow as pa
import pytest

from trailtools.derive import actor, actor_of, instance_ids

ACCT = "111122223333"


@pytest.mark.parametrize("identity,expected", [
    (("Root", f"arn:aws:iam::{ACCT}:root", None, ACCT, ACCT, None), "root"),
    (("IAMUser", f"arn:aws:iam::{ACCT}:user/alice", "alice", "AIDA", ACCT, None), "alice"),
    (("AssumedRole", f"arn:aws:sts::{ACCT}:assumed-role/AWSReservedSSO_Admin_12ab/alice@example.com", None,
      "AROA:alice@example.com", ACCT, None), "AWSReservedSSO_Admin_12ab/alice@example.com"),
    (("AssumedRole", f"arn:aws:sts::{ACCT}:assumed-role/app-role/i-0123456789abcdef0", None, "AROA:i-0", ACCT, None),
     "app-role/i-0123456789abcdef0"),
    (("AWSService", None, None, None, None, "autoscaling.amazonaws.com"), "autoscaling.amazonaws.com"),
    (("FederatedUser", f"arn:aws:sts::{ACCT}:federated-user/bob", None, f"{ACCT}:bob", ACCT, None),
     "federated-user/bob"),
    (("AWSAccount", None, None, "AIDAOTHER", "999988887777", None), "account/999988887777"),
    (("SAMLUser", None, "carol", "p", ACCT, None), "carol"),
    (("IdentityCenterUser", None, None, "d-123/abc", ACCT, None), "d-123/abc"),
    ((None, None, None, None, None, None), None),
])
def test_actor_for_every_identity_type(identity, expected):
    assert actor_of(*identity) == expected
    columns = [pa.array([v], pa.string()) for v in identity]
    assert actor(*columns).to_pylist() == [expected]


def test_actor_is_computed_per_distinct_identity_and_spread_over_rows():
    types = pa.array(["IAMUser", "Root", "IAMUser", None])
    users = pa.array(["alice", None, "bob", "x"])
    none = pa.array([None] * 4, pa.string())
    assert actor(types, none, users, none, none, none).to_pylist() == ["alice", "root", "bob", "x"]


def test_instance_ids_whole_words_in_order_without_repeats():
    req = pa.array([
        '{"instancesSet":{"items":[{"instanceId":"i-0123456789abcdef0"},{"instanceId":"i-0aaaaaaaaaaaaaaaa"}]}}',
        '{"instanceId":"i-12345678"}',
        '{"name":"multi-0123456789abcdef0","id":"xi-0123456789abcdef0"}',   # not IDs: part of longer words
        None,
        '{"instanceId":"i-0123456789abcdef0123"}',                           # too long: not an instance ID
    ])
    resp = pa.array([
        '{"instancesSet":{"items":[{"instanceId":"i-0123456789abcdef0"}]}}',
        None, None,
        '{"arn":"arn:aws:ec2:us-east-1:111122223333:instance/i-0bbbbbbbbbbbbbbbb"}',
        None,
    ])
    none = pa.array([None] * 5, pa.string())
    assert instance_ids(req, resp, none, none).to_pylist() == [
        ["i-0123456789abcdef0", "i-0aaaaaaaaaaaaaaaa"], ["i-12345678"], [], ["i-0bbbbbbbbbbbbbbbb"], []]


def test_actor_is_not_fooled_by_separators_inside_the_values():
    import pyarrow as pa

    from trailtools import derive

    cols = [pa.array(v, pa.string()) for v in (["IAMUser", "IAMUser", None], ["a\x1fb", None, "x\x00"],
                                                ["us\x1fer", "bob", None], [None, None, "P"], [None] * 3, [None] * 3)]
    assert derive.actor(*cols).to_pylist() == ["us\x1fer", "bob", "x\x00"]
    nul = [pa.array(v, pa.string()) for v in (["IAMUser", "IAMUser"], ["a", "b"], ["\x00", "x\x00"], [None, "P"],
                                               [None] * 2, [None] * 2)]
    assert derive.actor(*nul).to_pylist() == ["\x00", "x\x00"]
