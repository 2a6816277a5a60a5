"""The native scanner (trailtools/events/_scan.c) reads exactly what the Python path reads, or leaves the file to it.

For any text: either the scanner declines the file (and the Python path, msgspec then the lenient reader, says what
is wrong), or the Python path reads the same file whole, with no problem, and both give the same Arrow table:
values, nulls, timestamps, instance IDs, schema. Checked on real third-party data, on generated records and on
records and texts mutated by hypothesis (wrong types, escapes, unicode, duplicate and escaped keys, broken bytes).
"""
from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import pyarrow as pa
import pytest
from conftest import AWSDOCS, STRATUS, need, record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trailtools.demo import synth
from trailtools.events import reader, table

pytestmark = pytest.mark.skipif(table._scan is None, reason="never: see test_the_native_scanner_is_built")


def test_the_native_scanner_is_built():
    # `make venv` compiles it (gcc and the Python headers are on every machine this project supports); without it
    # the reader still works, on the slower pure Python path.
    assert table._scan is not None, "trailtools/events/_scan.c was not compiled: run `make venv` (needs gcc)"
    assert table.NATIVE


def both_ways(text: bytes) -> int | None:
    """Read text with the scanner and with the Python path; assert they agree. Rows, or None if declined."""
    native = table.Builder(native=True)
    n = native.add_text(text, "f.json")
    if n is None:
        assert native.rows == 0
        return None
    parsed = reader.parse_text(text, None, empty=not text)
    assert parsed.kind is None and parsed.error is None and not parsed.skipped, parsed
    assert parsed.positions == n and parsed.indices == list(range(n))
    python = table.Builder(native=False)
    python.add(parsed.records, "f.json", parsed.indices)
    got, got_bad = native.table()
    want, want_bad = python.table()
    assert got_bad == want_bad
    assert got.schema == want.schema
    for name in want.column_names:
        assert got.column(name).equals(want.column(name)), (name, got.column(name), want.column(name))
    return n


# ---------------------------------------------------------------- real and generated data

def test_real_files_are_read_natively_and_the_same():
    files = sorted(need(STRATUS).rglob("*.json")) + sorted(need(AWSDOCS).rglob("*.json"))
    native = 0
    for path in files:
        text = path.read_bytes()
        if both_ways(text) is not None:
            native += 1
    # the Stratus logs (JSON arrays) and the docs' {"Records": [...]} examples are the common case
    stratus = sorted(STRATUS.rglob("*.json"))
    assert all(both_ways(p.read_bytes()) is not None for p in stratus)
    assert native >= len(stratus) + 3


def test_a_synthetic_day_is_read_natively_and_the_same():
    records = synth.generate_records(synth.default_profile(), start=datetime(2026, 11, 3, tzinfo=UTC),
                                     end=datetime(2026, 11, 4, tzinfo=UTC), events=3000, seed=7)
    assert records
    for part in (records[:1], records[:50], records):
        for text in (json.dumps({"Records": part}), json.dumps(part), json.dumps({"Records": part}, indent=2)):
            assert both_ways(text.encode()) == len(part)


def test_instance_ids_and_times_follow_the_python_rules():
    ids = ['i-0123abcd', 'i-0123456789abcdef0', 'xi-0123abcd', 'i-0123abcdx', 'i-0123abcd-', 'i-0123456789abcdef0123',
           'arn:aws:ec2:us-east-1:1:instance/i-0123abcd', '"i-0123abcd"', 'é i-0123abcd', 'i-0123abcd i-0123abcd',
           'i-0123ABCD', 'i-0123abc', '/i-0123abcd/i-0123abcd', 'i-i-0123abcd', 'i-0123456789abcdef', '-i-0123abcd']
    times = ["2026-11-03T10:00:00Z", "2024-02-29T23:59:59Z", "2026-02-29T00:00:00Z", "2026-11-03T24:00:00Z",
             "2026-11-03T10:00:60Z", "2026-11-03T10:00:00.5Z", "2026-11-03T10:00:00+01:00", "0001-01-01T00:00:00Z",
             "1969-12-31T23:59:59Z", "9999-12-31T23:59:59Z", "2026-1-03T10:00:00Z", "2026-11-03 10:00:00Z", "bad",
             "2026-11-03T10:00:00z", "2026-04-31T10:00:00Z", "2026-11-03T10:00:00Zx", " 2026-11-03T10:00:00Z", "1900-02-29T00:00:00Z", "2000-02-29T00:00:00Z"]
    recs = []
    for i, (a, b) in enumerate(zip(ids * 2, ids[::-1] * 2)):
        recs.append(record(f"e-{i}", times[i % len(times)], requestParameters={"x": a, "y": [b, a]},
                           responseElements={"z": b}, resources=[{"ARN": a}],
                           serviceEventDetails=None if i % 3 else {"s": b}))
    assert both_ways(json.dumps({"Records": recs}).encode()) == len(recs)


def test_declines_what_msgspec_would_not_read_typed():
    good = record("e-1", "2026-11-03T10:00:00Z")
    for bad in [
        {"Records": [dict(good, eventName=5)]},              # a number where a string belongs
        {"Records": [dict(good, readOnly="true")]},          # a string where a boolean belongs
        {"Records": [dict(good, userIdentity=None)]},        # null where an object belongs
        {"Records": [{k: v for k, v in good.items() if k != "eventTime"}]},  # no eventTime: counted by Python
        {"Records": [good, "text"]},
        {"Events": [{"CloudTrailEvent": json.dumps(good)}]},  # LookupEvents output: the Python path
        {"records": [good]},
        good,                                                  # one record alone
    ]:
        assert both_ways(json.dumps(bad).encode()) is None, bad
    text = json.dumps({"Records": [good]})
    for broken in [text[:-1], text + "x", text.replace('"eventName"', '"event\\u004eame"'),
                   "\ufeff" + text, text.replace("DescribeInstances", "Describe\x01Instances"),
                   text.replace("DescribeInstances", "\\ud800")]:
        both_ways(broken.encode())
    assert both_ways(text.encode() + b"\n\n") == 1
    assert both_ways(b"[]") == 0 and both_ways(b'{"Records": []}') == 0
    assert both_ways(b"") is None and both_ways(b"   ") is None
    assert both_ways(text.replace("DescribeInstances", "Descr\xffibe").encode("latin-1")) is None  # invalid UTF-8


def test_a_repeated_field_is_left_to_msgspec():
    text = '{"Records": [{"eventTime": "2026-11-03T10:00:00Z", "eventName": "A", "eventName": "B"}]}'
    assert both_ways(text.encode()) is None


def test_chunks_mixing_both_paths_keep_file_order(tmp_path, monkeypatch):
    from trailtools.events import chunk

    paths = []
    for i in range(6):
        recs = [record(f"m-{i}-{j}", f"2026-11-03T1{i}:{j:02d}:00Z") for j in range(3)]
        if i % 2:
            recs[1]["eventName"] = 7  # this file takes the Python path (lenient: the number becomes text)
        p = tmp_path / f"{i}.json.gz"
        p.write_bytes(gzip.compress(json.dumps({"Records": recs}).encode()))
        paths.append(str(p))
    monkeypatch.setattr(table, "NATIVE", True)
    fast = chunk.parse_chunk(chunk.Chunk(paths))
    monkeypatch.setattr(table, "NATIVE", False)
    slow = chunk.parse_chunk(chunk.Chunk(paths))
    assert fast.table.equals(slow.table)
    assert fast.table.column("eventName").to_pylist().count("7") == 3
    assert [fast.files_read, fast.records_seen] == [slow.files_read, slow.records_seen] == [6, 18]


# ---------------------------------------------------------------- property-based

tricky_text = st.sampled_from([
    "i-0123abcd", "arn:aws:ec2:eu-west-1:123456789012:instance/i-0a1b2c3d4e5f60718", "x\"y", "back\\slash",
    "tab\there", "nul\x00", "é", "日本", "😀", "\u2028", "</script>", "2026-11-03T10:00:00Z", "", " ", "null",
]) | st.text(max_size=12)
values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | tricky_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(tricky_text, children, max_size=3),
    max_leaves=8,
)
FIELDS = ["eventTime", "eventName", "eventSource", "awsRegion", "userIdentity", "requestParameters",
          "responseElements", "additionalEventData", "resources", "serviceEventDetails", "readOnly",
          "managementEvent", "errorCode", "eventID", "tlsDetails", "sourceIPAddress", "userAgent", "sharedEventID"]
identity = st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["IAMUser", "AssumedRole", "Root", "AWSService"]) | values,
    "arn": tricky_text | values, "userName": tricky_text, "invokedBy": tricky_text, "accountId": tricky_text,
    "sessionContext": st.fixed_dictionaries({}, optional={
        "sessionIssuer": st.fixed_dictionaries({}, optional={"type": tricky_text, "arn": tricky_text | values}),
        "attributes": st.fixed_dictionaries({}, optional={"mfaAuthenticated": st.sampled_from(["true", "false"]),
                                                          "creationDate": tricky_text | values}),
        "sourceIdentity": tricky_text}) | values,
})
times = st.sampled_from(["2026-11-03T10:00:00Z", "2024-02-29T00:00:00Z", "2026-02-30T00:00:00Z", "bad",
                         "2026-11-03T10:00:00.1Z", "2026-11-03T10:00:00+05:30"]) | st.text(max_size=22)


@st.composite
def records(draw):
    rec = record(draw(tricky_text), draw(times))
    for key in draw(st.lists(st.sampled_from(FIELDS), max_size=5)):
        if key == "userIdentity":
            rec[key] = draw(identity)
        elif key == "eventTime":
            rec[key] = draw(times | values)
        elif key in ("readOnly", "managementEvent"):
            rec[key] = draw(st.booleans() | st.none() | values)
        else:
            rec[key] = draw(tricky_text | values)
    if draw(st.booleans()):
        rec[draw(tricky_text)] = draw(values)
    return rec


@st.composite
def documents(draw):
    recs = draw(st.lists(records(), max_size=4))
    container = draw(st.sampled_from(["records", "array"]))
    doc = {"Records": recs} if container == "records" else recs
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 1, "\t"])))
    return text.encode("utf-8", "surrogatepass")


@pytest.mark.slow
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(documents())
def test_generated_documents_read_the_same(text):
    both_ways(text)


@pytest.mark.slow
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(documents(), st.integers(0, 10**6), st.sampled_from(["drop", "byte", "dup", "insert"]), st.binary(max_size=4))
def test_mutated_texts_read_the_same_or_are_declined(text, at, how, junk):
    if not text:
        return
    i = at % len(text)
    if how == "drop":
        text = text[:i] + text[i + 1:]
    elif how == "byte":
        text = text[:i] + junk[:1] + text[i + 1:]
    elif how == "dup":
        text = text[:i] + text[i:i + 16] + text[i:]
    else:
        text = text[:i] + junk + text[i:]
    both_ways(text)


def test_large_values_keep_their_offsets():
    big = "x" * 70_000
    recs = [record(f"b-{i}", "2026-11-03T10:00:00Z", requestParameters={"blob": big}) for i in range(40)]
    b = table.Builder(native=True)
    b.NATIVE_BYTES = 1 << 20  # several takes inside one table
    assert b.add_text(json.dumps({"Records": recs}).encode(), "a") == 40
    assert b.add_text(json.dumps(recs).encode(), "b") == 40
    t, _ = b.table()
    assert t.num_rows == 80 and all(len(v) > 70_000 for v in t.column("requestParameters").to_pylist())
    assert isinstance(t.column("requestParameters"), (pa.Array, pa.ChunkedArray))
