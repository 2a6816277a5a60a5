"""Issue 22 item 1: .bz2, .zst, .zip (and tar) archives of a trail folder read in place, with the limits that apply
to gzip. Every count is checked against an independent count made here with zipfile, tarfile and json."""
import bz2
import gzip
import io
import json
import os
import struct
import tarfile
import zipfile
from pathlib import Path

import hostile_bombs as hb
import pytest
import zstandard

from trailtools import load_events, raw_record
from trailtools.events import archives
from trailtools.events.limits import Limits

MIB = 1 << 20
ACCOUNT = "111122223333"


def _log(prefix: str, n: int, minute: int = 0) -> bytes:
    recs = [hb.record(f"{prefix}-0000-4000-8000-{i:012d}", f"2026-11-03T{10 + i // 60:02d}:{(minute + i) % 60:02d}:00Z")
            for i in range(n)]
    return json.dumps({"Records": recs}).encode()


def _trail_folder() -> dict[str, bytes]:
    """A trail bucket's files (name -> bytes as on S3): log files of two regions and days, a digest, a readme."""
    base = f"AWSLogs/{ACCOUNT}/CloudTrail"
    files = {}
    for k, (region, day) in enumerate([("us-east-1", "03"), ("us-east-1", "03"), ("eu-west-1", "04")]):
        name = f"{base}/{region}/2026/11/{day}/{ACCOUNT}_CloudTrail_{region}_202611{day}T10{k}5Z_f{k}.json.gz"
        files[name] = gzip.compress(_log(f"{k:08d}", 3 + k))
    files[f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/us-east-1/2026/11/03/"
          f"{ACCOUNT}_CloudTrail-Digest_us-east-1_x_us-east-1_20261103T110000Z.json.gz"] = gzip.compress(json.dumps(
              {"digestStartTime": "2026-11-03T10:00:00Z", "digestEndTime": "2026-11-03T11:00:00Z",
               "logFiles": []}).encode())
    files["README.txt"] = b"copied by the on-call admin\n"
    return files


def _independent_count(files: dict[str, bytes]) -> tuple[int, set[str]]:
    """Records and eventIDs of the log files, counted without trailtools."""
    ids: set[str] = set()
    n = 0
    for name, data in files.items():
        if "_CloudTrail_" not in name:
            continue
        recs = json.loads(gzip.decompress(data))["Records"]
        n += len(recs)
        ids.update(r["eventID"] for r in recs)
    return n, ids


def _zip(files: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def _tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _load(path, **kw):
    return load_events(str(path), cache=False, workers=1, progress=False, **kw)


def _reasons(res) -> dict[str, str]:
    return {s.path.rsplit(archives.SEP, 1)[-1]: s.reason for s in res.stats.skipped}


@pytest.mark.parametrize("packing", ["zip", "zip-stored", "tar", "tar.gz", "tar.bz2", "tar.zst"])
def test_a_trail_folder_archive_is_read_in_place_with_the_counts_of_an_independent_count(tmp_path, packing):
    files = _trail_folder()
    records, ids = _independent_count(files)
    if packing.startswith("zip"):
        data = _zip(files, zipfile.ZIP_STORED if packing == "zip-stored" else zipfile.ZIP_DEFLATED)
    else:
        data = _tar(files)
        data = {"tar": lambda d: d, "tar.gz": gzip.compress, "tar.bz2": bz2.compress,
                "tar.zst": zstandard.ZstdCompressor().compress}[packing](data)
    (tmp_path / "evidence").mkdir()
    archive = tmp_path / "evidence" / f"trail-from-alice.{packing.replace('-stored', '')}"
    archive.write_bytes(data)
    res = _load(tmp_path / "evidence")
    s = res.stats
    assert s.events == records == s.records_seen and set(res.frame["eventID"]) == ids
    assert s.files_read == 3 and s.digest_files == 1 and s.other_files == 1  # the README is an other file
    assert s.files_skipped == 0 and s.records_skipped == 0
    assert f"{archive}: an archive: 5 member files found and read in place" in s.notes
    # the same frame as the folder unpacked
    unpacked = tmp_path / "unpacked"
    for name, content in files.items():
        (unpacked / name).parent.mkdir(parents=True, exist_ok=True)
        (unpacked / name).write_bytes(content)
    plain = _load(unpacked)
    assert sorted(plain.frame["eventID"]) == sorted(res.frame["eventID"])
    assert plain.stats.records_seen == s.records_seen and plain.stats.digest_files == s.digest_files
    # a row's raw record comes back from inside the archive
    row = int((res.frame["eventID"] == "00000002-0000-4000-8000-000000000004").to_numpy().nonzero()[0][0])
    assert str(res.frame["_file"].iloc[row]).startswith(f"{archive}!/AWSLogs/{ACCOUNT}/CloudTrail/eu-west-1/")
    assert raw_record(res.frame, row) == json.loads(_log("00000002", 5))["Records"][4]


@pytest.mark.parametrize("suffix,compress", [(".json.bz2", bz2.compress), (".json.zst",
                                              zstandard.ZstdCompressor().compress), (".bin", bz2.compress)])
def test_a_bz2_or_zst_log_file_is_read_by_its_content(tmp_path, suffix, compress):
    (tmp_path / f"{ACCOUNT}_copy{suffix}").write_bytes(compress(_log("aaaaaaaa", 4)) + compress(_log("bbbbbbbb", 2)))
    res = _load(tmp_path)
    assert res.stats.events == 6 and res.stats.files_read == 1 and res.stats.skipped == []


@pytest.mark.parametrize("compress,name", [(bz2.compress, "bzip2"), (zstandard.ZstdCompressor().compress,
                                                                      "Zstandard")])
def test_a_truncated_bz2_or_zst_gives_what_it_held_and_says_so(tmp_path, compress, name):
    one = compress(_log("aaaaaaaa", 3))
    (tmp_path / "cut.json.x").write_bytes(one + compress(_log("bbbbbbbb", 3))[:40])
    res = _load(tmp_path / "cut.json.x")
    assert res.stats.events == 3
    assert any(name in s.reason and ("truncated" in s.reason or "corrupt" in s.reason) for s in res.stats.skipped)


@pytest.mark.parametrize("kind", ["bz2", "zst", "zip"])
def test_a_bomb_stops_at_the_limit_and_its_neighbours_are_kept(tmp_path, kind):
    head = ('{"Records": [' + json.dumps(hb.record("ffffffff-0000-4000-8000-000000000001")) + ",").encode()
    blanks = head + b" " * (64 * MIB)
    if kind == "bz2":
        (tmp_path / "bomb.json.bz2").write_bytes(bz2.compress(blanks, 1))
    elif kind == "zst":
        (tmp_path / "bomb.json.zst").write_bytes(zstandard.ZstdCompressor(level=1).compress(blanks))
    else:
        (tmp_path / "bomb.zip").write_bytes(_zip({"bomb.json": blanks, "good.json": _log("cccccccc", 2)}))
    hb.good_file(tmp_path / "good.json")
    res = _load(tmp_path, limits=Limits(max_file_bytes=4 * MIB))
    assert res.stats.events == 3 + 2 * (kind == "zip")
    assert _reasons(res)["bomb.json" if kind == "zip" else f"{tmp_path}/bomb.json.{kind}"] == (
        "expands past the limit of 4 MiB when decompressed (max_file_bytes; a decompression bomb?): not read")


def test_members_together_past_the_archive_limit_stop_there(tmp_path):
    files = {f"part{k}.json": _log(f"{k:08d}", 200) for k in range(6)}  # ~100 kB each
    (tmp_path / "many.zip").write_bytes(_zip(files))
    size = len(files["part0.json"])
    res = _load(tmp_path / "many.zip", limits=Limits(max_archive_bytes=3 * size + 10))
    assert res.stats.events == 600
    why = _reasons(res)
    assert why["part3.json"].startswith("the archive's members together expand past the limit of")
    assert {"part4.json", "part5.json"}.isdisjoint(why)  # not even opened


def _overlapping_zip(data: bytes) -> bytes:
    """A zip of one entry whose central directory lists it three times (the same local header): the overlapping
    kind of zip bomb, where one block of compressed data is inflated for every entry."""
    eocd = data.rfind(b"PK\x05\x06")
    start = struct.unpack_from("<I", data, eocd + 16)[0]
    cd = data[start:eocd]
    cds = cd * 3
    tail = data[eocd:eocd + 8] + struct.pack("<HHII", 3, 3, len(cds), start) + data[eocd + 20:]
    return data[:start] + cds + tail


def test_overlapping_entries_are_not_read(tmp_path):
    bomb = _overlapping_zip(_zip({"same.json": _log("dddddddd", 3)}))
    assert len(zipfile.ZipFile(io.BytesIO(bomb)).infolist()) == 3  # as zipfile sees it
    (tmp_path / "overlap.zip").write_bytes(bomb)
    hb.good_file(tmp_path / "good.json")
    res = _load(tmp_path)
    assert res.stats.events == 3 and set(res.frame["eventID"]) == {
        f"aaaaaaaa-0000-4000-8000-{i:012d}" for i in range(3)}
    overlapping = [s for s in res.stats.skipped if "overlap" in s.reason]
    assert len(overlapping) == 3 and res.stats.files_skipped == 3


def test_member_names_with_dots_or_absolute_paths_never_become_paths(tmp_path):
    evidence = tmp_path / "a" / "b"
    evidence.mkdir(parents=True)
    names = ["../../escaped.json", "/tmp/absolute-h22.json", "..\\..\\windows.json", "C:/drive.json"]
    (evidence / "evil.zip").write_bytes(_zip({n: _log(f"{k:08d}", 1) for k, n in enumerate(names)}))
    before = {p for p in tmp_path.rglob("*")}
    res = _load(evidence)
    assert res.stats.events == 4  # read, as labels
    assert {p for p in tmp_path.rglob("*")} == before and not Path("/tmp/absolute-h22.json").exists()
    notes = [n for n in res.stats.notes if "used only as a label" in n]
    assert len(notes) == 4
    assert all(str(f).startswith(f"{evidence}/evil.zip!/") for f in res.frame["_file"])


def test_nested_archives_are_read_to_three_levels(tmp_path):
    inner = _zip({"level3.json": _log("33333333", 1), "deeper.zip": _zip({"level4.json": _log("44444444", 1)})})
    middle = _tar({"level2.json": _log("22222222", 1), "inner.zip": inner})
    outer = _zip({"level1.json": _log("11111111", 1), "middle.tar.gz": gzip.compress(middle)})
    (tmp_path / "outer.zip").write_bytes(outer)
    res = _load(tmp_path / "outer.zip")
    assert sorted(e[:8] for e in res.frame["eventID"]) == ["11111111", "22222222", "33333333"]
    assert _reasons(res)["deeper.zip"] == "an archive nested more than 3 levels deep: not read"
    assert f"{tmp_path}/outer.zip!/middle.tar.gz!/inner.zip!/level3.json" in set(res.frame["_file"])


def test_damaged_archives_and_odd_members_are_counted_not_raised(tmp_path):
    good = _zip({"x.json": _log("aaaaaaaa", 2)})
    (tmp_path / "cut.zip").write_bytes(good[: len(good) // 2])  # no central directory
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        link = tarfile.TarInfo("link.json")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        t.addfile(link)
        data = _log("bbbbbbbb", 2)
        info = tarfile.TarInfo("real.json")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    (tmp_path / "links.tar").write_bytes(buf.getvalue())
    crc = bytearray(_zip({"y.json": _log("cccccccc", 2)}, zipfile.ZIP_STORED))
    crc[crc.find(b"cccccccc") + 2] ^= 1  # a changed byte: the CRC no longer matches
    (tmp_path / "badcrc.zip").write_bytes(bytes(crc))
    (tmp_path / "not-a-trail.zip").write_bytes(_zip({"word/document.xml": b"<xml/>"}))
    res = _load(tmp_path)
    assert sorted(set(e[:8] for e in res.frame["eventID"])) == ["bbbbbbbb"]
    why = _reasons(res)
    assert why[f"{tmp_path}/cut.zip"] == "a zip archive without its central directory (cut short?): not read"
    assert why["link.json"] == "a link inside the archive: not followed, not read"
    assert why["y.json"].startswith("a damaged zip entry (Bad CRC-32")
    assert res.stats.other_files == 1  # the document's member


def test_a_json_file_that_holds_ustar_at_byte_257_is_no_tar(tmp_path):
    rec = hb.record("eeeeeeee-0000-4000-8000-000000000001")
    text = json.dumps({"Records": [rec]})
    pad = 257 - len('{"Records": [{"x": "')
    rec2 = {"x": "a" * pad + "ustar", **rec}
    body = ('{"Records": [' + json.dumps(rec2) + "]}").encode()
    assert body[257:262] == b"ustar" and text
    (tmp_path / "odd.json").write_bytes(body)
    assert _load(tmp_path / "odd.json").stats.events == 1


def test_the_archive_limit_comes_from_the_environment(monkeypatch):
    from trailtools.events.limits import from_env

    monkeypatch.setenv("TRAILTOOLS_MAX_ARCHIVE_BYTES", "2G")
    assert from_env().max_archive_bytes == 2 << 30
    assert Limits().cache_text() == ""
    assert os.environ["TRAILTOOLS_MAX_ARCHIVE_BYTES"] == "2G"


def test_copies_inside_and_outside_an_archive_are_compared_by_their_records(tmp_path):
    """The same trail handed over twice (unpacked, and zipped) is one set of events; a copy that was changed inside
    the zip is a conflicting duplicate, found by reading both records again (not by the frame's columns only)."""
    log = json.loads(_log("aaaaaaaa", 3))
    changed = json.loads(_log("aaaaaaaa", 3))
    changed["Records"][1]["requestParameters"] = {"instanceType": "t2.nano"}
    (tmp_path / "plain.json").write_text(json.dumps(log))
    (tmp_path / "copy.zip").write_bytes(_zip({"AWSLogs/same.json": json.dumps(log).encode(),
                                              "AWSLogs/changed.json": json.dumps(changed).encode()}))
    res = _load(tmp_path)
    s = res.stats
    assert s.records_seen == 9 and s.events == 4 and s.conflicting_duplicates == 1
    assert not any("compared by the frame's columns only" in n for n in s.notes)
    files = {c["path"].rsplit("/", 1)[-1] for x in s.conflicts for c in x["copies"]}
    assert "changed.json" in files
