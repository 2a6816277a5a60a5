"""Bad input: the good events still load; each bad file or record is listed with its reason; nothing else is lost."""
import gzip
import json
import os

from conftest import STRATUS, record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trailtools import load_events
from trailtools.events import reader, table
from trailtools.events.records import FIELDS, coerce, extract

GOOD = [record(f"aaaaaaaa-0000-4000-8000-{i:012d}", f"2026-11-03T10:{i:02d}:00Z") for i in range(5)]


def _reasons(res):
    return {(os.path.basename(s.path), s.record): s.reason for s in res.stats.skipped}


def test_a_folder_of_bad_files_beside_a_good_one(tmp_path):
    (tmp_path / "good.json").write_text(json.dumps({"Records": GOOD}))
    full = gzip.compress(json.dumps({"Records": GOOD}).encode())
    (tmp_path / "truncated.json.gz").write_bytes(full[: len(full) * 2 // 3])
    (tmp_path / "zero.json.gz").write_bytes(b"")
    (tmp_path / "invalid.json").write_text('{"Records": [{"eventTime": "2026-11-03T10:00:00Z",,]}')
    (tmp_path / "notct.json").write_text(json.dumps({"name": "a config file"}))
    (tmp_path / "records.json").write_text(json.dumps({"Records": [
        record("bbbbbbbb-0000-4000-8000-000000000001", "2026-11-03T11:00:00Z"),
        {k: v for k, v in record("bbbbbbbb-0000-4000-8000-000000000002", "x").items() if k != "eventTime"},
        record("bbbbbbbb-0000-4000-8000-000000000003", "yesterday at noon"),
        record("bbbbbbbb-0000-4000-8000-000000000004", 1730000000),
        "just a string",
    ]}))
    os.symlink(tmp_path / "gone.json", tmp_path / "dangling.json")
    res = load_events(str(tmp_path), cache=False)
    reasons = _reasons(res)
    assert reasons[("zero.json.gz", None)] == "empty file (0 bytes)"
    assert reasons[("invalid.json", None)].startswith("invalid JSON")
    assert reasons[("notct.json", None)] == "not CloudTrail: a JSON object with keys name"
    assert reasons[("dangling.json", None)].startswith("cannot read the file")
    assert reasons[("truncated.json.gz", None)].startswith("truncated or corrupt gzip")
    assert reasons[("records.json", 1)] == "record has no eventTime"
    assert reasons[("records.json", 2)] == "unparseable eventTime 'yesterday at noon'"
    assert reasons[("records.json", 3)] == "eventTime is not a string: '1730000000'"
    assert reasons[("records.json", 4)] == "record is a JSON str, not an object"
    s = res.stats
    assert s.records_skipped == 4
    assert s.other_files == 1  # valid JSON that is not CloudTrail is listed, but counted as another kind of file
    # the 5 good events once (the truncated copy's recovered records are duplicates), plus the 1 good record
    assert s.events == 6
    assert s.records_seen == s.events + s.records_skipped + s.duplicates_dropped


def test_truncated_file_gives_up_its_complete_records(tmp_path):
    text = json.dumps({"Records": GOOD})
    cut = text[: text.index(GOOD[3]["eventID"])]  # the 4th record is cut in the middle
    (tmp_path / "cut.json").write_text(cut)
    res = load_events(str(tmp_path / "cut.json"), cache=False)
    assert res.stats.events == 3
    (skip,) = res.stats.skipped
    assert "3 complete records recovered" in skip.reason


def test_truncated_gzip_recovers_what_was_written(tmp_path):
    many = [record(f"cccccccc-0000-4000-8000-{i:012d}", "2026-11-03T10:00:00Z") for i in range(400)]
    data = gzip.compress(json.dumps({"Records": many}).encode())
    (tmp_path / "cut.json.gz").write_bytes(data[: len(data) // 2])
    res = load_events(str(tmp_path / "cut.json.gz"), cache=False)
    assert 0 < res.stats.events < 400
    assert res.stats.skipped[0].reason.startswith("truncated or corrupt gzip")
    assert f"{res.stats.events} complete records recovered" in res.stats.skipped[0].reason


def test_unparseable_time_in_an_otherwise_typed_file(tmp_path):
    recs = GOOD + [record("dddddddd-0000-4000-8000-000000000000", "2026-13-45T99:00:00Z")]
    (tmp_path / "a.json").write_text(json.dumps({"Records": recs}))
    res = load_events(str(tmp_path), cache=False)
    assert res.stats.events == 5 and res.stats.records_skipped == 1


def test_other_iso_time_forms_are_read(tmp_path):
    recs = [record("eeeeeeee-0000-4000-8000-000000000001", "2026-11-03T10:00:00.123Z"),
            record("eeeeeeee-0000-4000-8000-000000000002", "2026-11-03T12:00:00+02:00")]
    (tmp_path / "a.json").write_text(json.dumps(recs))
    res = load_events(str(tmp_path), cache=False)
    assert [str(t) for t in res.frame["eventTime"]] == ["2026-11-03 10:00:00+00:00", "2026-11-03 10:00:00.123000+00:00"]


# ---- property-based: the normalizer never raises and never drops a record without counting it ----------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
KEYS = ["eventTime", "eventName", "eventSource", "userIdentity", "requestParameters", "responseElements",
        "eventID", "readOnly", "awsRegion", "additionalEventData", "resources", "errorCode", "tlsDetails",
        "sourceIPAddress", "managementEvent"]
records_st = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=10), json_values, max_size=10)
time_st = st.sampled_from(["2026-11-03T10:00:00Z", "2026-11-03T10:00:00+01:00", "bad", ""]) | json_values


@st.composite
def mutated_records(draw):
    rec = draw(records_st)
    if draw(st.booleans()):
        rec["eventTime"] = draw(time_st)
    if draw(st.booleans()):
        rec["userIdentity"] = draw(st.dictionaries(
            st.sampled_from(["type", "arn", "userName", "sessionContext", "invokedBy"]), json_values, max_size=4))
    return rec


def _check(data: bytes, n_positions: int) -> None:
    """Either the file as a whole is reported with its reason, or every record position is used or counted."""
    result = reader.parse(data)
    if result.error and not result.records:
        assert result.positions == 0 or all(pos is not None for pos, _ in result.skipped)
        return
    assert result.positions == n_positions
    assert len(result.records) + sum(1 for pos, _ in result.skipped if pos is not None) == n_positions
    if result.records:
        built, _ = table.build(result.records, ["f"] * len(result.records), result.indices)  # nor does building rows
        assert built.num_rows <= len(result.records)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(mutated_records() | json_values, max_size=8))
def test_random_records_never_raise_and_are_all_counted(recs):
    _check(json.dumps({"Records": recs}).encode(), len(recs))
    _check(json.dumps(recs).encode(), len(recs))


def _stratus_records():
    out = []
    for path in sorted(STRATUS.glob("*.json"))[:12]:
        out.extend(json.loads(path.read_text()))
    return out


REAL = _stratus_records() if STRATUS.exists() else [record("ffffffff-0000-4000-8000-000000000000",
                                                           "2026-11-03T10:00:00Z")]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(REAL), st.sampled_from(sorted({k for r in REAL for k in r})), json_values, st.booleans())
def test_mutated_real_records_never_raise_and_are_all_counted(real, key, value, delete):
    rec = dict(real)
    if delete:
        rec.pop(key, None)
    else:
        rec[key] = value
    _check(json.dumps({"Records": [real, rec, real]}).encode(), 3)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(REAL))
def test_fast_and_lenient_paths_give_identical_rows(real):
    fast = reader.parse(json.dumps({"Records": [real]}).encode()).records
    lenient = extract([coerce(json.loads(json.dumps(real)))])
    fast = extract(fast)
    for name, kind in FIELDS:
        if kind == "json":  # raw text keeps the file's own spacing on the fast path: compare as JSON
            assert [json.loads(v) for v in fast[name]] == [json.loads(v) for v in lenient[name]]
        else:
            assert fast[name] == lenient[name], name


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise(data):
    result = reader.parse(data)
    assert result.error or result.records or result.skipped or result.positions == 0 or result.kind
