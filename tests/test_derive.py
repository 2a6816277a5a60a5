"""The derived columns: the acting principal for every identity type, and the instance IDs an event touched."""
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trailtools.events.derive import actor, actor_of, instance_ids

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


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["IAMUser", "AssumedRole", "Root", "AWSService", "FederatedUser",
                                           "AWSAccount", "", None]),
                          *[st.one_of(st.none(), st.sampled_from(["", "a", "b", ":assumed-role/r/s",
                                                                  ":federated-user/f", "x\x1fy"]))] * 5),
                max_size=40),
       st.booleans())
def test_actor_over_columns_is_actor_of_each_row(rows, encoded):
    """Plain or dictionary columns, nulls and empty texts (falsy both, told apart): the row's own actor_of."""
    columns = [pa.array([row[k] for row in rows], pa.string()) for k in range(6)]
    if encoded:
        columns = [c.dictionary_encode() for c in columns]
    assert actor(*columns).to_pylist() == [actor_of(*row) for row in rows]


def test_actor_tells_identities_apart_when_their_codes_outgrow_one_integer():
    """6,000 distinct values in five of the six columns: 5 x 6,000^5 combinations do not fit in 62 bits."""
    n = 6000
    types = ["IAMUser", "AssumedRole", "AWSService", "Other"]
    rows = [(types[i % 4], f"arn:aws:sts::1:assumed-role/r{i}/s", f"user{(i * 7) % n}" if i % 5 else None,
             f"P{(i * 11) % n}", f"{(i * 13) % n:012d}", f"svc{(i * 17) % n}") for i in range(n)]
    rows += rows[::-3]  # repeats, out of order
    columns = [pa.array([row[k] for row in rows], pa.string()) for k in range(6)]
    assert actor(*columns).to_pylist() == [actor_of(*row) for row in rows]


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

    from trailtools.events import derive

    cols = [pa.array(v, pa.string()) for v in (["IAMUser", "IAMUser", None], ["a\x1fb", None, "x\x00"],
                                                ["us\x1fer", "bob", None], [None, None, "P"], [None] * 3, [None] * 3)]
    assert derive.actor(*cols).to_pylist() == ["us\x1fer", "bob", "x\x00"]
    nul = [pa.array(v, pa.string()) for v in (["IAMUser", "IAMUser"], ["a", "b"], ["\x00", "x\x00"], [None, "P"],
                                               [None] * 2, [None] * 2)]
    assert derive.actor(*nul).to_pylist() == ["\x00", "x\x00"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet='"ab{}', max_size=12)), max_size=30),
       st.sampled_from(['"a"', "ab", '"', "}{", 'b"a']), st.integers(0, 5), st.integers(0, 5), st.booleans())
def test_rows_containing_is_match_substring(values, needle, cut, keep, large):
    from trailtools.events.derive import rows_containing

    # sliced at both ends: offsets not from 0, bytes after the last row
    text = pa.array(values, pa.large_string() if large else pa.string())[cut:max(cut, len(values) - keep)]
    want = pc.indices_nonzero(pc.fill_null(pc.match_substring(text, needle), False)).to_pylist()
    assert rows_containing(text, needle) == want


def test_rows_containing_ignores_bytes_under_a_null():
    from trailtools.events.derive import rows_containing

    valid = pa.array(['{"x": 1}', '{"MFAUsed": "Yes"}', '{}'])
    # the same buffers with the middle row marked null: its bytes are still there
    nulled = pa.Array.from_buffers(pa.string(), 3, [pa.py_buffer(bytes([0b101])), *valid.buffers()[1:]], null_count=1)
    assert rows_containing(valid, '"MFAUsed"') == [1]
    assert rows_containing(nulled, '"MFAUsed"') == []
