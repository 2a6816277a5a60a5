"""Several JSON documents in one file (issue 17 item 9): every document is read, on both reading paths; what
cannot be read after the last complete document is said exactly (how much, from where, what was recovered)."""
from __future__ import annotations

import gzip

import pytest
from hostile_h17_times import concatenated, load, records, write

from trailtools.events import reader

A, B, C = records("a", 3), records("b", 2), records("c", 4)
IDS = [r["eventID"] for r in A + B + C]


@pytest.mark.parametrize("text", [
    pytest.param(concatenated([A, B, C]), id="back-to-back"),
    pytest.param(concatenated([A, B, C], sep=" \t "), id="spaces"),
    pytest.param(concatenated([A, B, C], sep="\n", indent=2), id="pretty"),
    pytest.param(concatenated([A, B, C], array=True), id="arrays"),
    pytest.param(concatenated([A, B], indent=1) + concatenated([C], array=True), id="mixed"),
])
def test_every_document_of_a_file_is_read(tmp_path, native, text):
    write(tmp_path / "copied" / "trail.json", text)
    write(tmp_path / "copied" / "trail2.json.gz", gzip.compress(text))
    res = load(tmp_path)
    s = res.stats
    assert (s.files_read, s.records_seen, s.skipped) == (2, 2 * len(IDS), [])
    assert s.duplicates_dropped == len(IDS)  # the same documents in both files
    assert sorted(res.frame["eventID"]) == sorted(IDS)
    # each record is found again where it is, by the positions the frame keeps
    for event_id in ("a-0002", "b-0000", "c-0003"):
        assert res.raw(event_id)["eventID"] == event_id


def test_the_positions_run_on_across_documents():
    parsed = reader.parse(concatenated([A, B, C]))
    assert parsed.indices == list(range(len(IDS))) and parsed.skipped == [] and parsed.error is None
    assert [raw["eventID"] for raw in reader.raw_records(concatenated([A, B, C]))] == IDS


def test_a_document_cut_short_after_others_says_what_was_lost(tmp_path, native):
    whole = concatenated([A, B, C])
    cut = len(whole) - 200  # inside the last record of the third document
    write(tmp_path / "trail.json", whole[:cut])
    res = load(tmp_path)
    s = res.stats
    assert sorted(res.frame["eventID"]) == IDS[:-1]  # the three complete records of document 3 are recovered
    assert s.records_seen == len(IDS) - 1 and s.files_skipped == 1
    (skip,) = s.skipped
    second_end = len(concatenated([A, B]))
    assert skip.record is None
    assert skip.reason.startswith(f"the {cut - second_end:,} characters after the file's second JSON document "
                                  f"(from character {second_end:,}) are not valid JSON (")
    assert skip.reason.endswith("; 3 complete records recovered from them, the rest is lost")


def test_junk_after_a_document_is_said_and_costs_nothing_else(tmp_path, native):
    text = concatenated([A], indent=2) + b"  \x00\x00<html>proxy error</html>"
    write(tmp_path / "trail.json", text)
    res = load(tmp_path)
    assert sorted(res.frame["eventID"]) == IDS[:3]
    (skip,) = res.stats.skipped
    assert skip.reason.startswith(f"the 26 characters after the file's first JSON document (from character "
                                  f"{len(concatenated([A], indent=2)) + 2:,}) are not valid JSON (")
    assert skip.reason.endswith("; no complete record could be recovered from them")


def test_a_pretty_printed_file_cut_short_is_not_taken_for_json_lines(tmp_path, native):
    # a few of its lines ("abc", 12) are JSON on their own: it used to be read as JSON Lines, every line a skip
    recs = [dict(r, resources=[{"ARN": "arn:aws:s3:::bucket", "n": 12}], tags=["abc", "def"]) for r in A + B]
    whole = concatenated([recs], indent=2)
    write(tmp_path / "trail.json", whole[:len(whole) - 300])
    res = load(tmp_path)
    assert sorted(res.frame["eventID"]) == IDS[:4]
    (skip,) = res.stats.skipped
    assert skip.record is None and skip.reason.endswith("the file ends early: 4 complete records recovered before "
                                                        "the break")
    assert res.stats.records_seen == 4


def test_a_file_holding_json_null_is_said(tmp_path, native):
    write(tmp_path / "null.json", b"null")
    write(tmp_path / "trail.json", concatenated([A]))
    res = load(tmp_path)
    assert (res.stats.events, res.stats.other_files) == (3, 1)
    assert [(s.path.endswith("null.json"), s.reason) for s in res.stats.skipped] == [
        (True, "not CloudTrail: a JSON null")]
