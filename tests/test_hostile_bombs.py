"""Issue 17 items 4 and 5: files that are not files, and bombs. Nothing in the evidence may hang a load, exhaust
memory, make it raise, or cost the other files; every file or record left out is counted with its reason.

The cases that could take the machine down run in a child process under an address-space limit the test sets
(``resource.setrlimit(RLIMIT_AS)``) and a timeout, so that a regression fails instead of hanging or swapping.
"""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import hostile_bombs as hb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trailtools import load_events
from trailtools.events import reader
from trailtools.events.limits import Limits

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
MIB = 1 << 20

_PROLOGUE = """
import json, os, resource, sys
from trailtools import load_events
from trailtools.events.limits import Limits

def _vm():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024

def limit_memory(extra):
    # everything a load needs is imported and its thread pools started by a first, small load; then this process
    # may grow by ``extra`` bytes of address space, no more
    resource.setrlimit(resource.RLIMIT_AS, (_vm() + extra, resource.RLIM_INFINITY))

def report(res):
    f = res.frame
    print(json.dumps({"stats": res.stats.to_dict(), "ids": sorted(f["eventID"].tolist()),
                      "agents": f["userAgent"].astype(object).tolist()}))
"""


def run_child(body: str, *, timeout: float = 120, env: dict | None = None) -> dict:
    """Run ``body`` (after _PROLOGUE) in a fresh Python; its last line of output, as JSON. A child that hangs past
    ``timeout`` or fails is a test failure with its stderr."""
    code = _PROLOGUE + textwrap.dedent(body)
    full_env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{TESTS}", **(env or {})}
    try:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                              env=full_env, cwd=str(ROOT))
    except subprocess.TimeoutExpired:
        pytest.fail(f"the load did not finish in {timeout} s (it hangs)")
    assert done.returncode == 0, f"the child failed (status {done.returncode}):\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def reasons(stats: dict) -> dict:
    return {(os.path.basename(s["path"]), s.get("record")): s["reason"] for s in stats["skipped"]}


GOOD_IDS = [f"aaaaaaaa-0000-4000-8000-{i:012d}" for i in range(3)]


# ---- item 4: files that are not files ----------------------------------------------------------------------------

def test_a_fifo_is_skipped_with_its_kind_not_waited_for(tmp_path):
    hb.good_file(tmp_path / "good.json")
    hb.fifo(tmp_path / "123456789012_CloudTrail_us-east-1_20261103T1000Z_fifo.json.gz")
    out = run_child(f"report(load_events({str(tmp_path)!r}, cache=False, workers=1, progress=False))", timeout=60)
    assert out["ids"] == GOOD_IDS
    why = reasons(out["stats"])
    assert why[("123456789012_CloudTrail_us-east-1_20261103T1000Z_fifo.json.gz", None)] == \
        "not a regular file: a FIFO (named pipe); not read"
    assert out["stats"]["files_skipped"] == 1


def test_a_link_to_dev_zero_is_not_read_and_costs_no_memory(tmp_path):
    hb.good_file(tmp_path / "good.json")
    hb.link_to_dev_zero(tmp_path / "zero.json")
    out = run_child(f"""
        load_events({str(tmp_path / "good.json")!r}, cache=False, workers=1, progress=False)
        limit_memory(512 << 20)
        report(load_events({str(tmp_path)!r}, cache=False, workers=1, progress=False))
    """, timeout=60)
    assert out["ids"] == GOOD_IDS
    assert reasons(out["stats"])[("zero.json", None)] == \
        "a symbolic link to a character device (/dev/zero); not read"


def test_a_socket_and_a_device_are_skipped_with_their_kind(tmp_path):
    hb.good_file(tmp_path / "good.json")
    _, sock = hb.unix_socket(tmp_path / "sock.json")
    try:
        res = load_events(str(tmp_path), cache=False, workers=1, progress=False)
    finally:
        sock.close()
    assert sorted(res.frame["eventID"]) == GOOD_IDS
    assert {(os.path.basename(s.path), s.reason) for s in res.stats.skipped} == {
        ("sock.json", "not a regular file: a socket; not read")}


def test_a_fifo_named_as_the_source_is_one_error_sentence(tmp_path):
    from trailtools.errors import SourceError

    hb.fifo(tmp_path / "pipe.json")
    with pytest.raises(SourceError, match="is a FIFO"):
        load_events(str(tmp_path / "pipe.json"), cache=False, workers=1, progress=False)


def test_a_link_out_of_the_evidence_folder_is_noted_and_not_read(tmp_path):
    evidence, elsewhere = tmp_path / "evidence", tmp_path / "home"
    evidence.mkdir()
    elsewhere.mkdir()
    hb.good_file(evidence / "good.json")
    hb.link_outside(evidence / "planted.json", elsewhere / "analyst-notes.json")
    os.symlink(evidence / "good.json", evidence / "inside-link.json")  # a link within the folder is read
    res = load_events(str(evidence), cache=False, workers=1, progress=False)
    assert sorted(set(res.frame["eventID"])) == GOOD_IDS
    assert res.stats.links_outside_root == 1
    why = {os.path.basename(s.path): s.reason for s in res.stats.skipped}
    assert why["planted.json"].startswith(f"a symbolic link to {elsewhere / 'analyst-notes.json'}, outside the "
                                          "evidence folder: not read")
    assert "links leading outside the evidence folder" in res.stats.summary()

    allowed = load_events(str(evidence), cache=False, workers=1, progress=False,
                          limits=Limits(follow_outside_links=True))
    assert len(set(allowed.frame["eventID"])) == 6  # read as asked, and still said
    assert allowed.stats.links_outside_root == 1
    assert any("planted.json: read through a symbolic link to" in n for n in allowed.stats.notes)


# ---- item 5: bombs ------------------------------------------------------------------------------------------------

def test_a_gzip_bomb_is_skipped_past_the_limit_without_inflating_it(tmp_path):
    hb.good_file(tmp_path / "good.json")
    bomb = hb.gzip_bomb(tmp_path / "bomb.json.gz", 768 * MIB, members=3)  # ~0.8 MB on disk
    assert bomb.stat().st_size < 2 * MIB
    out = run_child(f"""
        load_events({str(tmp_path / "good.json")!r}, cache=False, workers=1, progress=False)
        limit_memory(256 << 20)
        report(load_events({str(tmp_path)!r}, cache=False, workers=1, progress=False,
                           limits=Limits(max_file_bytes=64 << 20)))
    """)
    assert out["ids"] == GOOD_IDS
    assert reasons(out["stats"])[("bomb.json.gz", None)] == (
        "expands past the limit of 64 MiB when decompressed (max_file_bytes; a decompression bomb?): not read")


def test_a_file_within_the_limit_is_read_whole(tmp_path):
    from trailtools.errors import SourceError

    bomb = hb.gzip_bomb(tmp_path / "big.json.gz", 3 * MIB)
    res = load_events(str(bomb), cache=False, workers=1, progress=False, limits=Limits(max_file_bytes=4 * MIB))
    assert res.stats.events == 1 and res.stats.records_skipped == 1  # the record, and the trailing "end" string
    plain = tmp_path / "plain.json"
    plain.write_bytes(b" " * (5 * MIB) + json.dumps({"Records": [hb.record("x")]}).encode())
    with pytest.raises(SourceError, match="plain.json: larger than the limit of 4 MiB"):
        load_events(str(plain), cache=False, workers=1, progress=False, limits=Limits(max_file_bytes=4 * MIB))


@pytest.mark.parametrize("native", [True, False])
def test_a_huge_record_is_skipped_and_its_neighbours_kept(tmp_path, monkeypatch, native):
    from trailtools.events import table

    monkeypatch.setattr(table, "NATIVE", native and table.NATIVE)
    hb.good_file(tmp_path / "good.json")
    hb.huge_record_file(tmp_path / "huge.json.gz", 3 * MIB, gz=True)
    res = load_events(str(tmp_path), cache=False, workers=1, progress=False,
                      limits=Limits(max_record_bytes=1 * MIB))
    ids = sorted(res.frame["eventID"])
    assert ids == sorted(GOOD_IDS + ["cccccccc-0000-4000-8000-000000000001", "cccccccc-0000-4000-8000-000000000003"])
    (skip,) = [s for s in res.stats.skipped if s.record is not None]
    assert (os.path.basename(skip.path), skip.record) == ("huge.json.gz", 1)
    assert skip.reason.startswith("record larger than the limit of 1 MiB (3,1")
    assert res.stats.records_seen == res.stats.events + res.stats.records_skipped


@pytest.mark.parametrize("native", [True, False])
def test_a_record_nested_past_the_limit_is_skipped_and_its_neighbours_kept(tmp_path, monkeypatch, native):
    from trailtools.events import table

    monkeypatch.setattr(table, "NATIVE", native and table.NATIVE)
    hb.good_file(tmp_path / "good.json")
    hb.deep_file(tmp_path / "deep.json", 200)
    hb.deep_file(tmp_path / "ok.json", 40).rename(tmp_path / "ok.json")
    res = load_events(str(tmp_path), cache=False, workers=1, progress=False)
    kept = set(res.frame["eventID"])
    assert "dddddddd-0000-4000-8000-000000000001" in kept and "dddddddd-0000-4000-8000-000000000003" in kept
    why = {(os.path.basename(s.path), s.record): s.reason for s in res.stats.skipped}
    assert why == {("deep.json", 1): "record nested deeper than the limit of 128 levels (max_depth): skipped"}
    # 40 levels are read (from ok.json: its middle record is there; deep.json's is not)
    mid = res.frame[res.frame["eventID"] == "dddddddd-0000-4000-8000-000000000002"]
    assert len(mid) == 1 and mid["_file"].iloc[0].endswith("ok.json")


def test_a_hundred_thousand_levels_cost_one_file(tmp_path):
    hb.good_file(tmp_path / "good.json")
    hb.deep_file(tmp_path / "deep.json", 100_000)
    hb.lookup_events_deep(tmp_path / "lookup.json", 100_000)
    lines = tmp_path / "lines.jsonl"
    lines.write_text(json.dumps(hb.record("abababab-0000-4000-8000-000000000001")) + "\n"
                     + hb.nested(100_000) + "\n")
    res = load_events(str(tmp_path), cache=False, workers=1, progress=False)
    ids = set(res.frame["eventID"])
    assert set(GOOD_IDS) <= ids
    assert "eeeeeeee-0000-4000-8000-000000000001" in ids  # the LookupEvents entry beside the deep one
    assert "abababab-0000-4000-8000-000000000001" in ids  # the JSON line beside the deep one
    why = {(os.path.basename(s.path), s.record): s.reason for s in res.stats.skipped}
    assert why[("deep.json", None)] == ("JSON nested far deeper than any limit (max_depth) allows: not read: 1 complete "
                                        "records recovered before it")
    assert why[("lookup.json", 1)] == "LookupEvents entry 1: CloudTrailEvent is nested too deeply to be read"
    assert why[("lines.jsonl", 1)] == "line 2 is nested too deeply to be read"


@pytest.mark.parametrize("native", [True, False])
def test_text_that_is_not_unicode_is_kept_escaped_and_counted(tmp_path, monkeypatch, native):
    from trailtools.events import table

    monkeypatch.setattr(table, "NATIVE", native and table.NATIVE)
    hb.good_file(tmp_path / "good.json")
    hb.lone_surrogate_file(tmp_path / "bad-text.json")
    res = load_events(str(tmp_path), cache=False, workers=1, progress=False)
    f = res.frame.set_index("eventID")
    assert f.loc["ffffffff-0000-4000-8000-000000000001", "userAgent"] == "evil\\ud800agent"
    assert f.loc["ffffffff-0000-4000-8000-000000000002", "userIdentity.userName"] == "mal\\udfffory"
    assert json.loads(f.loc["ffffffff-0000-4000-8000-000000000002", "requestParameters"]) == {"k\\udc00ey": "v"}
    assert f.loc["ffffffff-0000-4000-8000-000000000003", "userAgent"] == "caf\\udce9 \\udcff"
    assert f.loc["ffffffff-0000-4000-8000-000000000004", "userAgent"] == "fine \U0001F600 emoji"  # valid: as is
    assert res.stats.text_escaped == 3 and res.stats.records_skipped == 0
    assert len(f) == 7
    assert "3 records with text that is not valid Unicode (escaped)" in res.stats.summary()
    json.dumps(res.stats.to_dict(), ensure_ascii=False).encode("utf-8")  # printable and writable as UTF-8


def test_a_file_name_that_is_not_utf8_is_skipped_with_its_reason(tmp_path):
    hb.good_file(tmp_path / "good.json")
    name = os.fsdecode(b"bad-\xff-name.json")
    hb.good_file(tmp_path / name, prefix="12121212")
    res = load_events(str(tmp_path), cache=False, workers=1, progress=False)
    assert sorted(res.frame["eventID"]) == GOOD_IDS
    (skip,) = res.stats.skipped
    assert skip.path.endswith("bad-\\udcff-name.json")  # printable: the bad byte written out
    assert skip.reason.startswith("the file's name is not valid UTF-8 (") and \
        skip.reason.endswith("bad-\\udcff-name.json): not read")


def test_limits_from_the_environment(monkeypatch):
    from trailtools.errors import TrailtoolsError
    from trailtools.events.limits import from_env

    monkeypatch.setenv("TRAILTOOLS_MAX_FILE_BYTES", "2G")
    monkeypatch.setenv("TRAILTOOLS_MAX_RECORD_BYTES", "512k")
    monkeypatch.setenv("TRAILTOOLS_MAX_DEPTH", "64")
    monkeypatch.setenv("TRAILTOOLS_FOLLOW_OUTSIDE_LINKS", "1")
    assert from_env() == Limits(max_file_bytes=2 << 30, max_record_bytes=512 << 10, max_depth=64,
                                follow_outside_links=True)
    monkeypatch.setenv("TRAILTOOLS_MAX_DEPTH", "deep")
    with pytest.raises(TrailtoolsError, match="TRAILTOOLS_MAX_DEPTH"):
        from_env()


def test_an_environment_limit_reaches_the_workers(tmp_path):
    hb.good_file(tmp_path / "good.json")
    hb.deep_file(tmp_path / "deep.json", 20)
    out = run_child(f"report(load_events({str(tmp_path)!r}, cache=False, workers=1, progress=False))",
                    env={"TRAILTOOLS_MAX_DEPTH": "10"})
    assert reasons(out["stats"]) == {
        ("deep.json", 1): "record nested deeper than the limit of 10 levels (max_depth): skipped"}


def test_the_reader_never_raises_on_hostile_bytes():
    for data in (b"[" * 200_000, b'{"Records": [' + b"{" * 100_000, b'"\\ud800"', b"\xff\xfe[\x00",
                 b'{"Events": [{"CloudTrailEvent": "' + b"[" * 50_000 + b'"}]}',
                 b"\x1f\x8b" + b"\x00" * 30):
        result = reader.parse(data)
        assert result.records == [] and (result.error or result.skipped or result.kind)
        reader.raw_records(data)


@pytest.mark.slow
def test_a_4_gib_bomb_and_a_2_gb_line_with_the_default_limits(tmp_path):
    """The issue's own inputs at full size: a 4 MB .json.gz expanding to 4 GiB, and one 2 GB JSON line (gzip),
    each beside a good file, loaded with the default limits in a child allowed 1.5 GiB more address space than it
    had (the old reader took 4.2 GB and 6.4 GB)."""
    hb.good_file(tmp_path / "good.json")
    hb.gzip_bomb(tmp_path / "bomb.json.gz", 4 << 30)
    hb.huge_record_file(tmp_path / "line.json.gz", 2 << 30, gz=True)
    out = run_child(f"""
        load_events({str(tmp_path / "good.json")!r}, cache=False, workers=1, progress=False)
        limit_memory(1536 << 20)
        report(load_events({str(tmp_path)!r}, cache=False, workers=1, progress=False))
    """, timeout=300)
    assert out["ids"] == GOOD_IDS
    why = reasons(out["stats"])
    assert why[("bomb.json.gz", None)].startswith("expands past the limit of 1 GiB when decompressed")
    assert why[("line.json.gz", None)].startswith("expands past the limit of 1 GiB when decompressed")


# ---- the other readers of evidence folders: guest OS logs, cost files ------------------------------------------

SYSLOG = ("Oct  6 16:22:05 web-1 kernel: Linux version 5.10.0 (builder@x)\n"
          "Oct  6 16:22:09 web-1 systemd[1]: Startup finished in 4.1s.\n")


def test_guest_logs_skip_what_is_not_a_file_and_bombs(tmp_path):
    logs = tmp_path / "var-log"
    logs.mkdir()
    (logs / "messages").write_text(SYSLOG)
    hb.fifo(logs / "secure")
    hb.link_to_dev_zero(logs / "auth.log")
    hb.gzip_bomb(logs / "messages-20261001.gz", 512 * MIB)
    hb.link_outside(logs / "syslog", tmp_path / "my-own-syslog")
    out = run_child(f"""
        from trailtools.evidence.guest_logs import guest_log_paths, read_guest_logs
        limit_memory(256 << 20)
        g = read_guest_logs(guest_log_paths({str(logs)!r}))
        print(json.dumps({{"files": {{os.path.basename(f["path"]): f["reason"] for f in g.files}},
                          "boots": len(g.boots)}}))
    """, timeout=60, env={"TRAILTOOLS_MAX_FILE_BYTES": "64M"})
    files = out["files"]
    assert files["messages"] is None and out["boots"] == 1
    assert files["secure"] == "not a regular file: a FIFO (named pipe); not read"
    assert files["auth.log"] == "a symbolic link to a character device (/dev/zero); not read"
    assert files["messages-20261001.gz"].startswith("expands past the limit of 64 MiB when decompressed")
    assert files["syslog"].startswith(f"a symbolic link to {tmp_path / 'my-own-syslog'}, outside the evidence folder")


def test_cost_files_skip_what_is_not_a_file_and_bombs(tmp_path):
    costs = tmp_path / "cur"
    costs.mkdir()
    out = run_child(f"""
        from pathlib import Path
        import hostile_bombs as hb
        from cost_fixtures import write_cur2_csv_gz
        from trailtools.evidence.cost.local import read_local
        costs = Path({str(costs)!r})
        write_cur2_csv_gz(costs / "export-00001.csv.gz")
        hb.fifo(costs / "export-00002.csv.gz")
        hb.gzip_bomb(costs / "export-00003.csv.gz", 512 << 20)
        hb.link_to_dev_zero(costs / "export-00004.csv")
        hb.gzip_bomb(costs / "saved-ce.json.gz", 512 << 20)
        read_local(str(costs / "export-00001.csv.gz"))
        limit_memory(256 << 20)
        data = read_local(str(costs))
        print(json.dumps({{"rows": len(data.frame), "read": data.stats.files_read,
                          "skipped": {{os.path.basename(s["path"]): s["reason"] for s in data.stats.skipped}}}}))
    """, timeout=60, env={"TRAILTOOLS_MAX_FILE_BYTES": "64M"})
    assert out["read"] == 1 and out["rows"] > 0
    assert out["skipped"] == {
        "export-00002.csv.gz": "not a regular file: a FIFO (named pipe); not read",
        "export-00003.csv.gz": "expands past the limit of 64 MiB when decompressed (max_file_bytes; a decompression "
                               "bomb?): not read",
        "export-00004.csv": "a symbolic link to a character device (/dev/zero); not read",
        "saved-ce.json.gz": "expands past the limit of 64 MiB when decompressed (max_file_bytes; a decompression "
                            "bomb?): not read",
    }


@pytest.mark.parametrize("native", [True, False])
def test_special_files_in_pruned_folders_are_counted_as_other_files_not_as_events(tmp_path, monkeypatch, native):
    import types

    from trailtools.sources import local

    if native:
        if local._listing is None:
            pytest.skip("trailtools/events/_listing.c not built")
        count = local._listing.count
    else:
        count = local._scandir_count
    monkeypatch.setattr(local, "_listing", types.SimpleNamespace(count=count))
    day = tmp_path / "AWSLogs" / "111122223333" / "CloudTrail" / "us-east-1" / "2026" / "11" / "01"
    day.mkdir(parents=True)
    (day / "111122223333_CloudTrail_us-east-1_20261101T0000Z_a.json.gz").write_bytes(b"x")
    hb.fifo(day / "111122223333_CloudTrail_us-east-1_20261101T0005Z_fifo.json.gz")
    hb.link_to_dev_zero(day / "111122223333_CloudTrail_us-east-1_20261101T0010Z_zero.json.gz")
    hb.fifo(day / "pipe.json")
    _, sock = hb.unix_socket(day / "sock.json.gz")
    os.symlink(day / "gone", day / "dangling.json.gz")  # a name, as os.walk lists it
    try:
        plan = local.Plan()
        local._count_pruned([str(day)], plan)
    finally:
        sock.close()
    assert (plan.files_seen, plan.pruned, plan.others) == (6, 2, 4)


def test_the_native_nesting_count_is_the_python_one():
    import random

    if reader._native_nesting is None:
        pytest.skip("trailtools/events/_scan.c not built")
    rng = random.Random(17)
    samples = [b"", b"[]", b'{"a": [1, {"b": "]]]\\"[["}]}', b'"abc', b'[[["\\', b"]]][[", b'["a\\\\"]]',
               hb.nested(300).encode(), json.dumps(hb.record("x")).encode()]
    samples += [bytes(rng.choice(b'[]{}"\\ab,:\n') for _ in range(rng.randint(0, 60))) for _ in range(3000)]
    for s in samples:
        assert reader._native_nesting(s) == reader._python_nesting(s), s
    assert reader.nesting(hb.nested(300).encode()) == 300


def test_verify_reads_a_local_copy_as_evidence(tmp_path):
    """verify's local store: a FIFO digest and a bomb log file are reasons, not a hang or gigabytes."""
    out = run_child(f"""
        import gzip
        from pathlib import Path
        import hostile_bombs as hb
        from trailtools.integrity import digests
        root = Path({str(tmp_path)!r})
        day = root / "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/03"
        day.mkdir(parents=True)
        hb.fifo(day / "111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20261103T100000Z.json.gz")
        logs = root / "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/03"
        logs.mkdir(parents=True)
        bomb = hb.gzip_bomb(logs / "111122223333_CloudTrail_us-east-1_20261103T1000Z_bomb.json.gz", 512 << 20)
        plain = logs / "111122223333_CloudTrail_us-east-1_20261103T1005Z_ok.json.gz"
        plain.write_bytes(gzip.compress(b'{{"Records": []}}'))
        store = digests.LocalTrail(root)
        limit_memory(256 << 20)
        listing = digests.list_trail(store)
        hashes = digests.hash_logs(store, [str(bomb.relative_to(root)), str(plain.relative_to(root))])
        print(json.dumps({{"digest_errors": [d.error for d in listing.digests], "hashes": list(hashes.values())}}))
    """, timeout=60, env={"TRAILTOOLS_MAX_FILE_BYTES": "64M"})
    assert out["digest_errors"] == ["not a regular file: a FIFO (named pipe); not read"]
    bomb_hash, ok_hash = out["hashes"]
    assert bomb_hash.startswith("error: expands past the limit of 64 MiB when decompressed")
    assert len(ok_hash) == 64


def test_a_chunk_arrow_cannot_hold_is_read_file_by_file(tmp_path, monkeypatch):
    """An error no reason foresaw while building a chunk's table (Arrow's 2 GB per column, shown here by raising
    it) costs only the file that causes it: the chunk is read again file by file."""
    import pyarrow as pa

    from trailtools.events import table

    hb.good_file(tmp_path / "a.json")
    hb.good_file(tmp_path / "b.json", prefix="bbbbbbbb")
    hb.good_file(tmp_path / "c.json", prefix="cccccccc")
    real = table.Builder.table

    def table_(self):
        if any(p.endswith("b.json") for p in self.paths):
            raise pa.ArrowCapacityError("array cannot contain more than 2147483646 bytes, have 2147483700")
        return real(self)

    monkeypatch.setattr(table.Builder, "table", table_)
    res = load_events(str(tmp_path), cache=False, workers=1, progress=False)
    assert sorted({i[:8] for i in res.frame["eventID"]}) == ["aaaaaaaa", "cccccccc"]
    (skip,) = res.stats.skipped
    assert os.path.basename(skip.path) == "b.json"
    assert skip.reason == ("could not be read (ArrowCapacityError: array cannot contain more than 2147483646 bytes, "
                           "have 2147483700)")


_TOKENS = [b"\\ud800", b"\\udc00", b"\xff", b"\xc3", b"[" * 300, b"{" * 50, b"]", b"}", b'"', b"\\", b"\x00", b",",
           b'"eventTime": "2026-02-30T00:00:00Z"', b'{"Records": [', b"\n", b"\x1f\x8b"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.floats(0, 1), st.sampled_from(_TOKENS), st.integers(0, 3)), min_size=1, max_size=4),
       st.booleans())
def test_mutated_files_never_raise_and_every_record_is_counted(tmp_path, edits, gz):
    import gzip

    from trailtools.events import chunk

    text = json.dumps({"Records": [hb.record(f"99999999-0000-4000-8000-{i:012d}", f"2026-11-03T10:0{i}:00Z",
                                             userAgent=f"agent {i} é") for i in range(4)]}).encode()
    for at, token, cut in edits:  # insert a token at a place, or cut a few bytes there
        i = int(at * len(text))
        text = text[:i] + token + text[i + cut:]
    path = tmp_path / ("f.json.gz" if gz else "f.json")
    path.write_bytes(gzip.compress(text) if gz else text)
    limits = Limits(max_depth=64, max_record_bytes=2000)
    for native in (True, False):
        from trailtools.events import table

        saved = table.NATIVE
        table.NATIVE = native and saved
        try:
            got = chunk.parse_chunk(chunk.Chunk([str(path)], limits=limits))
        finally:
            table.NATIVE = saved
        rows = got.table.num_rows
        assert got.records_seen == rows + len(got.record_skips) or (rows == 0 and got.file_skips)
        for col in ("userAgent", "eventID"):  # every kept string is writable text
            for v in got.table.column(col).to_pylist():
                (v or "").encode("utf-8")


def test_a_zip_bomb_and_a_zstd_bomb_cost_no_more_than_the_limit(tmp_path):
    """Issue 22: a zip member and a .zst file that inflate to 768 MiB, under an address-space limit."""
    import zipfile

    import zstandard

    hb.good_file(tmp_path / "good.json")
    head = ('{"Records": [' + json.dumps(hb.record("bbbbbbbb-0000-4000-8000-000000000001")) + ",").encode()
    block = b" " * MIB
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open("AWSLogs/bomb.json", "w", force_zip64=True) as f:
            f.write(head)
            for _ in range(768):
                f.write(block)
    with open(tmp_path / "bomb.json.zst", "wb") as out:
        with zstandard.ZstdCompressor(level=1).stream_writer(out) as w:
            w.write(head)
            for _ in range(768):
                w.write(block)
    assert (tmp_path / "bomb.zip").stat().st_size < 4 * MIB
    out = run_child(f"""
        load_events({str(tmp_path / "good.json")!r}, cache=False, workers=1, progress=False)
        limit_memory(320 << 20)
        report(load_events({str(tmp_path)!r}, cache=False, workers=1, progress=False,
                           limits=Limits(max_file_bytes=64 << 20)))
    """)
    assert out["ids"] == GOOD_IDS
    why = reasons(out["stats"])
    bomb = "expands past the limit of 64 MiB when decompressed (max_file_bytes; a decompression bomb?): not read"
    assert why[("bomb.zip!/AWSLogs/bomb.json".split("/")[-1], None)] == bomb
    assert why[("bomb.json.zst", None)] == bomb
