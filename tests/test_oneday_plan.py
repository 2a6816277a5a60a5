"""The fast paths of a small query's planning and scheduling give what the straightforward ones give.

- plan_local's file-name classification by text (Query.delivery_text_bounds, layout.name_time_text), and by two
  bisections for a folder of CloudTrail's own names only, against the general path (a PathInfo and
  Query.wants_path per file);
- the pruned-file count (native, and one scandir per folder) against a count file by file;
- the shared mode of parallel.run (the parent and forked children taking pieces from both ends) against one
  process: same frame, same stats, errors in a child raised in the parent.
"""
import os
import random
import subprocess
import sys
import time
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import record, s3_path, write_gz

from trailtools import Query, load_events
from trailtools.events import layout, parallel
from trailtools.events.chunk import Chunk
from trailtools.events.query import EARLY_MARGIN
from trailtools.sources import local

ACCT = "111122223333"


def _tree(root: Path) -> Path:
    """Three days of two regions, with the odd names a real bucket copy may hold."""
    n = 0
    for day in ("02", "03", "04"):
        for region in ("us-east-1", "eu-west-1"):
            for hhmm in ("0000", "0005", "0959", "1000", "1003", "2344", "2345", "2359"):
                n += 1
                recs = [record(f"{n:08d}-0000-4000-8000-{i:012d}", f"2026-11-{day}T{hhmm[:2]}:{hhmm[2:]}:00Z",
                               awsRegion=region) for i in range(3)]
                write_gz(s3_path(root, ACCT, region, f"202611{day}T{hhmm}Z", uid=f"U{n}"), {"Records": recs})
    folder = s3_path(root, ACCT, "us-east-1", "20261103T0000Z").parent
    odd = [
        f"{ACCT}_CloudTrail_us-east-1_20261103T100030Z_sec.json.gz",     # seconds
        f"{ACCT}_CloudTrail_us-east-1_20261103T10003Z_five.json.gz",     # five digits: the fifth is ignored
        f"{ACCT}_CloudTrail_us-east-1_20261332T1000Z_baddate.json.gz",   # not a date: the folder's day decides
        f"{ACCT}_CloudTrail_us-east-1_20261103T2400Z_badhour.json.gz",
        f"{ACCT}_CloudTrail_us-east-1_20261103T1060Z_badminute.json.gz",
        f"{ACCT}_CloudTrail_us-east-1_20261103T100060Z_leap.json.gz",
        f"{ACCT}_CloudTrail_us-east-1_20261101T1000Z_elsewhere.json.gz",  # a file in another day's folder
        f"{ACCT}_CloudTrail_us-east-1_20261105T0100Z_later.json.gz",
        f"{ACCT}_CloudTrail_eu-west-1_20261103T1000Z_region.json.gz",    # the folder's region wins
        f"{ACCT}_CloudTrail-Insight_us-east-1_20261103T1000Z_ins.json.gz",
        f"{ACCT}_CloudTrail-Digest_us-east-1_20261103T1000Z.json.gz",
        "renamed.json.gz", "notes.txt", ".hidden.json.gz", "UPPER.JSON.GZ",
    ]
    for i, name in enumerate(odd):
        recs = [record(f"9{i:07d}-0000-4000-8000-000000000000", "2026-11-03T09:59:00Z")]
        write_gz(folder / name, {"Records": recs})
    (folder / "sub").mkdir()
    write_gz(folder / "sub" / "nested.json.gz", {"Records": [record("a" * 8 + "-0000-4000-8000-000000000000",
                                                                    "2026-11-03T11:00:00Z")]})
    return root


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return _tree(tmp_path_factory.mktemp("tree"))


QUERIES = [
    Query(start="2026-11-03", end="2026-11-03"),
    Query(start="2026-11-03T12:00:00Z", end="2026-11-03T13:00:00Z"),
    Query(start="2026-11-03T10:00:00Z", end="2026-11-03T10:00:01Z", late_margin=timedelta(0)),
    Query(start="2026-11-03T10:15:00.5Z", end="2026-11-03T10:15:30.25Z", late_margin=timedelta(seconds=0.5)),
    Query(start="2026-11-03T10:00:00.5Z", end="2026-11-03T10:00:29.75Z", late_margin=timedelta(0)),
    Query(start="2026-11-03T10:15:30Z"),
    Query(end="2026-11-03T01:00:00Z"),
    Query(start="2026-11-02", end="2026-11-03", regions=["eu-west-1"]),
    Query(start="2026-11-03", end="2026-11-03", accounts=["999988887777"]),
    Query(regions=["us-east-1"]),
    Query(),
]


def _plan_facts(plan):
    return ([(c.paths, c.cacheable, c.position) for c in plan.chunks], plan.bytes, plan.files_seen, plan.pruned,
            plan.digests, plan.insights, plan.others, plan.unlistable)


@pytest.mark.parametrize("query", QUERIES, ids=range(len(QUERIES)))
@pytest.mark.parametrize("use_cache", [False, True])
def test_plan_by_text_is_the_plan_by_path_info(tree, monkeypatch, query, use_cache):
    fast = local.plan_local(tree, query, use_cache=use_cache)

    def no_bounds(self):  # the general path: a PathInfo and wants_path per file
        raise OverflowError

    monkeypatch.setattr(Query, "delivery_text_bounds", no_bounds)
    slow = local.plan_local(tree, query, use_cache=use_cache)
    assert _plan_facts(fast) == _plan_facts(slow)


def test_uniform_folders_are_planned_as_file_by_file(tmp_path, monkeypatch):
    # day folders of CloudTrail's own names only (the usual case) take two bisections instead of a look at every
    # name: random names and random windows, against the general path
    rng = random.Random(11)
    for kind in ("CloudTrail", "CloudTrail-Insight"):
        for region in ("us-east-1", "eu-west-1"):
            for day in (2, 3, 4):
                folder = tmp_path / "AWSLogs" / ACCT / kind / region / "2026" / "11" / f"{day:02d}"
                folder.mkdir(parents=True)
                for stamp in {f"{rng.randrange(24):02d}{rng.randrange(60):02d}" for _ in range(rng.randrange(1, 40))}:
                    name = f"{ACCT}_{kind}_{region}_202611{day:02d}T{stamp}Z_{rng.randrange(10**6):X}.json.gz"
                    (folder / name).touch()
    taken = []
    uniform = local._classify_uniform
    monkeypatch.setattr(local, "_classify_uniform",
                        lambda *a: taken.append((bool(a[0]), uniform(*a))) or taken[-1][1])
    base = datetime(2026, 11, 3, tzinfo=UTC)
    for _ in range(60):
        start = base + timedelta(seconds=rng.randrange(-30 * 3600, 30 * 3600), microseconds=rng.choice([0, 250000]))
        query = Query(start=start if rng.random() < 0.9 else None,
                      end=start + timedelta(seconds=rng.choice([1, 59, 60, 61, 3600, 86400, rng.randrange(1, 90000)])),
                      late_margin=timedelta(seconds=rng.choice([0, 30, 60, 3 * 3600, rng.randrange(0, 20000)])),
                      regions=rng.choice([[], ["eu-west-1"]]))
        fast = local.plan_local(tmp_path, query, use_cache=False)
        with monkeypatch.context() as m:
            m.setattr(Query, "delivery_text_bounds", lambda self: (_ for _ in ()).throw(OverflowError))
            slow = local.plan_local(tmp_path, query, use_cache=False)
        assert _plan_facts(fast) == _plan_facts(slow), query
    assert taken and all(done for listed, done in taken if listed)  # every day folder (the others list no file)


def test_one_odd_name_takes_the_folder_file_by_file(tmp_path):
    folder = tmp_path / "AWSLogs" / ACCT / "CloudTrail" / "us-east-1" / "2026" / "11" / "03"
    folder.mkdir(parents=True)
    good = [f"{ACCT}_CloudTrail_us-east-1_20261103T{h:02d}00Z_A1.json.gz" for h in range(24)]
    where = layout.classify_folder(str(folder))
    for odd in (f"{ACCT}_CloudTrail_us-east-1_20261103T100030Z_sec.json.gz",   # seconds
                f"{ACCT}_CloudTrail_us-east-1_20261104T0100Z_A1.json.gz",       # another day
                f"{ACCT}_CloudTrail_eu-west-1_20261103T1000Z_A1.json.gz",       # another region
                "999988887777_CloudTrail_us-east-1_20261103T1000Z_A1.json.gz",   # another account
                f"{ACCT}_CloudTrail-Insight_us-east-1_20261103T1000Z_A1.json.gz",
                f"{ACCT}_CloudTrail_us-east-1_20261103T2400Z_A1.json.gz",       # not a time
                f"{ACCT}_CloudTrail_us-east-1_20261103T1000Z_A1.json",
                f"{ACCT}_CloudTrail_us-east-1_20261103T1000Z_A1.json.gz\n{good[0]}",
                "notes.txt"):
        assert not local._classify_uniform(sorted(good + [odd]), str(folder) + os.sep, where, True, "", "~",
                                           local.Plan(), [])
    assert local._classify_uniform(good, str(folder) + os.sep, where, True, "", "~", local.Plan(), [])


def test_delivery_text_bounds_agree_with_wants_path():
    rng = random.Random(7)
    base = datetime(2026, 11, 3, tzinfo=UTC)
    for _ in range(300):
        start = base + timedelta(seconds=rng.randrange(-7200, 7200), microseconds=rng.choice([0, 1, 500000]))
        end = start + timedelta(seconds=rng.randrange(1, 7200), microseconds=rng.choice([0, 999999]))
        query = Query(start=start, end=end, late_margin=timedelta(seconds=rng.randrange(0, 4000)))
        lo, hi = query.delivery_text_bounds()
        for _ in range(20):
            t = start + timedelta(seconds=rng.randrange(-8000, 12000))
            text = f"{t:%Y%m%dT%H%M%S}Z"
            assert layout.name_time_text(text) == text[:-1]
            info = layout.PathInfo(layout.LOG, delivered=t.replace(microsecond=0))
            assert query.wants_path(info) == (lo <= text[:-1] <= hi), (query, text)
    assert Query(start=base).delivery_text_bounds() == ((base - EARLY_MARGIN).strftime("%Y%m%dT%H%M%S"), None)


@pytest.mark.parametrize("text", ["20261103T1005Z", "20261103T100500Z", "20261103T10051Z", "20261332T1000Z",
                                  "20260229T1000Z", "20280229T1000Z", "00000101T0000Z", "20261103T2400Z",
                                  "20261103T1060Z", "20261103T100060Z", "20261103T235959Z"])
def test_name_time_text_is_parse_name_time(text):
    parsed = layout._parse_name_time(text)
    got = layout.name_time_text(text)
    assert (got is None) == (parsed is None)
    if parsed is not None:
        assert got == f"{parsed:%Y%m%dT%H%M%S}"


def _count_file_by_file(folder: str) -> tuple[int, int, int]:
    """The count before it was made one scandir per folder: os.walk, every file name classified."""
    seen = pruned = others = 0
    for _, _, files in os.walk(folder):
        names = [f for f in files if not f.startswith(".")]
        events = sum(layout.has_event_extension(n) for n in names)
        seen, pruned, others = seen + len(names), pruned + events, others + len(names) - events
    return seen, pruned, others


NATIVE_COUNT = getattr(local._listing, "count", None)
NOT_BUILT = pytest.mark.skipif(NATIVE_COUNT is None, reason="never: see test_the_native_count_is_built")
COUNTS = [pytest.param(NATIVE_COUNT, id="native", marks=NOT_BUILT),
          pytest.param(local._scandir_count, id="python")]


def test_the_native_count_is_built():
    # compiled by `make venv` with the scanner (trailtools/events/_listing.c); without it the Python count gives the same
    assert local._listing is not None, "trailtools/events/_listing.c was not compiled: run `make venv` (needs gcc)"


def _counted(count, folders: list[str], monkeypatch) -> tuple[int, int, int]:
    monkeypatch.setattr(local, "_listing", types.SimpleNamespace(count=count))
    plan = local.Plan()
    local._count_pruned(folders, plan)
    return plan.files_seen, plan.pruned, plan.others


@pytest.mark.parametrize("count", COUNTS)
def test_pruned_count_is_a_count_file_by_file(tmp_path, monkeypatch, count):
    day = tmp_path / "AWSLogs" / ACCT / "CloudTrail" / "us-east-1" / "2026" / "11" / "01"
    day.mkdir(parents=True)
    for name in ("a.json.gz", "b.JSON", "c.jsonl.gz", "d.txt", ".e.json.gz", "f.ndjson", "g.json.gz.tmp"):
        (day / name).write_bytes(b"x")
    (day / "deeper").mkdir()
    (day / "deeper" / "g.json.gz").write_bytes(b"x")
    (day / "deeper" / ".h").write_bytes(b"x")
    (day / ".hidden-folder").mkdir()  # entered, as os.walk enters it
    (day / ".hidden-folder" / "i.json").write_bytes(b"x")
    (day / "deeper" / "empty").mkdir()
    os.symlink(day / "deeper", day / "link-to-folder")  # neither entered nor counted, as os.walk does
    os.symlink(day / "a.json.gz", day / "link-to-file.json.gz")  # a file
    os.symlink(day / "gone", day / "dangling.json")  # counted, as os.walk lists it
    assert _counted(count, [str(day)], monkeypatch) == _count_file_by_file(str(day)) == (10, 8, 2)

    plain = tmp_path / "plain"
    plain.mkdir()
    for i in range(50):
        (plain / f"{i}.json.gz").write_bytes(b"x")
    (plain / "x.txt").write_bytes(b"x")
    assert _counted(count, [str(plain)], monkeypatch) == _count_file_by_file(str(plain)) == (51, 50, 1)
    # several folders at once, one of them gone and one a file: as os.walk, which lists nothing there
    both = _counted(count, [str(day), str(tmp_path / "gone"), str(plain), str(plain / "x.txt")], monkeypatch)
    assert both == (61, 58, 3)
    assert _counted(count, [], monkeypatch) == (0, 0, 0)


@pytest.mark.skipif(os.geteuid() == 0, reason="root lists any folder")
@pytest.mark.parametrize("count", COUNTS)
def test_a_folder_that_cannot_be_listed_is_left_out(tmp_path, monkeypatch, count):
    day = tmp_path / "day"
    (day / "closed").mkdir(parents=True)
    (day / "a.json.gz").write_bytes(b"x")
    (day / "closed" / "b.json.gz").write_bytes(b"x")
    (day / "closed").chmod(0)
    try:
        assert _counted(count, [str(day)], monkeypatch) == _count_file_by_file(str(day)) == (1, 1, 0)
    finally:
        (day / "closed").chmod(0o755)


@NOT_BUILT
def test_names_that_are_not_utf8_are_counted(tmp_path, monkeypatch):
    day = tmp_path / "day"
    day.mkdir()
    for name in (b"caf\xe9.json.gz", b"caf\xe9.txt", b"caf\xe9.json"):
        (day / os.fsdecode(name)).write_bytes(b"x")
    want = _count_file_by_file(str(day))
    assert want == (3, 2, 1)
    for count in (NATIVE_COUNT, local._scandir_count):
        assert _counted(count, [str(day)], monkeypatch) == want


def test_deferred_count_gives_the_same_plan(tree):
    query = Query(start="2026-11-03T12:00:00Z", end="2026-11-03T13:00:00Z")  # the 2nd and the 4th pruned whole
    now = local.plan_local(tree, query, use_cache=False)
    later = local.plan_local(tree, query, use_cache=False, count_pruned=False)
    assert later.pruned_folders
    later.count_pruned()
    assert _plan_facts(now) == _plan_facts(later)


# ---------------------------------------------------------------- the shared mode of parallel.run


def _stats(res):
    out = res.stats.to_dict()
    out.pop("elapsed_s")
    return out


@pytest.mark.parametrize("query", [Query(start="2026-11-03", end="2026-11-03"), Query()], ids=["day", "all"])
def test_shared_mode_gives_the_frame_of_one_process(tree, monkeypatch, query):
    one = load_events(str(tree), query, cache=False, workers=1, progress=False)
    monkeypatch.setattr(parallel, "IN_PROCESS_BYTES", 0)
    monkeypatch.setattr(parallel, "MIN_PIECE_FILES", 1)
    monkeypatch.setattr(parallel, "MIN_PIECE_BYTES", 1)
    for workers in (2, 3):
        got = load_events(str(tree), query, cache=False, workers=workers, progress=False)
        assert got.frame.equals(one.frame)
        assert list(got.frame["_file"].astype(str)) == list(one.frame["_file"].astype(str))
        assert _stats(got) == _stats(one)
        # every column is the user's to edit (a one-chunk column once came back as a read-only view)
        edited = got.frame.copy(deep=False)
        for column in ("eventTime", "_index", "eventName"):
            edited.iloc[0, edited.columns.get_loc(column)] = edited.iloc[-1, edited.columns.get_loc(column)]
        got.frame.loc[got.frame.index[0], "_index"] = -1
        assert got.frame["_index"].iloc[0] == -1


@pytest.mark.parametrize("mode", ["one process", "shared", "pool"])
def test_idle_is_called_once_when_this_process_has_no_parsing_left(tree, monkeypatch, mode):
    plan = local.plan_local(tree, Query(), use_cache=False)
    want = sum(r.files_read for r in parallel.run(plan.chunks, total_bytes=plan.bytes, workers=1))
    monkeypatch.setattr(parallel, "IN_PROCESS_BYTES", 10**12 if mode == "one process" else 0)
    monkeypatch.setattr(parallel, "SHARED_BYTES", 10**12 if mode == "shared" else 0)
    monkeypatch.setattr(parallel, "MIN_PIECE_FILES", 1)
    monkeypatch.setattr(parallel, "MIN_PIECE_BYTES", 1)
    calls, parsed = [], []
    if mode != "pool":  # this process parses too (a pool's workers are other processes): none of it after idle()
        real = parallel.parse_batch
        monkeypatch.setattr(parallel, "parse_batch", lambda batch, **kw: parsed.append(len(calls)) or real(batch, **kw))
    results = parallel.run(plan.chunks, total_bytes=plan.bytes, workers=2, idle=lambda: calls.append(len(parsed)))
    assert len(calls) == 1 and sum(r.files_read for r in results) == want
    assert all(before == 0 for before in parsed) and (mode == "pool" or parsed)


def test_shared_mode_with_the_cache(tree, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAILTOOLS_CACHE_DIR", str(tmp_path / "cache"))
    query = Query(start="2026-11-03", end="2026-11-04")
    plain = load_events(str(tree), query, cache=False, workers=1, progress=False)
    monkeypatch.setattr(parallel, "IN_PROCESS_BYTES", 0)
    monkeypatch.setattr(parallel, "MIN_PIECE_FILES", 1)
    monkeypatch.setattr(parallel, "MIN_PIECE_BYTES", 1)
    cold = load_events(str(tree), query, cache=True, workers=2, progress=False)
    warm = load_events(str(tree), query, cache=True, workers=2, progress=False)
    assert warm.stats.files_cached > 0
    for res in (cold, warm):
        assert res.frame.equals(plain.frame)
        assert res.stats.events == plain.stats.events


def _chunks(rng):
    chunks, position = [], 0
    for i in range(rng.randint(1, 6)):
        position += rng.choice([1, 1, 2])  # 2: a cached chunk between
        chunks.append(Chunk([f"/x/{i}/{j}" for j in range(rng.randint(1, 300))], cacheable=rng.random() < 0.3,
                            position=position))
    return chunks


def test_pieces_cover_every_file_once_in_order(monkeypatch):
    sizes = {}

    class Stat:
        def __init__(self, path):
            self.st_size = sizes[path]

    monkeypatch.setattr(parallel.os, "stat", Stat)
    ctx = parallel._context()
    for trial in range(200):
        rng = random.Random(trial)
        chunks = _chunks(rng)
        for c in chunks:
            for p in c.paths:
                sizes[p] = rng.choice([100, 3000, 40000])
        pieces = parallel._Pieces(chunks, rng.randint(2, 4), ctx)
        if rng.random() < 0.7:
            pieces.measure()
        taken = []
        while (piece := pieces.take(front=rng.random() < 0.5)) is not None:
            taken.append(piece)
        taken.sort(key=lambda p: p[0])
        assert [(c.position, p) for _, cs in taken for c in cs for p in c.paths] == \
            [(c.position, p) for c in chunks for p in c.paths]
        for _, cs in taken:
            assert all(b.position == a.position + 1 for a, b in zip(cs, cs[1:]))  # no cached chunk skipped
            for c in cs:
                if c.cacheable:
                    assert c in chunks  # whole, as planned (to be cached whole)


def _failing_parse(poison, how):
    """parse_batch that fails on the batches holding the file ``poison``: raising, or ending the worker process
    (in this process it always raises: a parent that dies cannot be helped)."""
    real = parallel.parse_batch

    def parse(chunks):
        if os.getpid() == parent:
            time.sleep(0.05)  # the child gets pieces too, however fast the parent is
        if any(p == poison for c in chunks for p in c.paths):
            if how == "die" and os.getpid() != parent:
                os._exit(3)
            raise ValueError("boom in a worker")
        return real(chunks)

    parent = os.getpid()
    return parse


@pytest.mark.parametrize("mode", ["shared", "pool"])
@pytest.mark.parametrize("how,why", [("raise", "it raised ValueError: boom in a worker"),
                                     ("die", "exit status 3")])
def test_a_worker_that_raises_or_dies_costs_only_the_file_it_failed_on(tree, monkeypatch, how, why, mode):
    clean = load_events(str(tree), Query(), cache=False, workers=1, progress=False)
    files = sorted(set(clean.frame["_file"]))
    poison = files[len(files) // 3]
    monkeypatch.setattr(parallel, "IN_PROCESS_BYTES", 0)
    monkeypatch.setattr(parallel, "SHARED_BYTES", 10**12 if mode == "shared" else 0)
    monkeypatch.setattr(parallel, "MIN_PIECE_FILES", 1)
    monkeypatch.setattr(parallel, "MIN_PIECE_BYTES", 1)
    monkeypatch.setattr(parallel, "parse_batch", _failing_parse(poison, how))
    got = load_events(str(tree), Query(), cache=False, workers=2, progress=False)
    want = clean.frame[clean.frame["_file"] != poison]
    assert sorted(got.frame["eventID"]) == sorted(want["eventID"])
    (skip,) = got.stats.skipped
    assert skip.path == poison and skip.reason == f"reading this file failed in its worker process ({why}): skipped"


def test_shared_mode_progress_counts_every_file_once(tree, monkeypatch):
    """The children count the files they parse in shared memory; the progress the caller sees adds up to every file
    of the load, once (this process's pieces, then the children's, as they go and while it waits)."""
    plan = local.plan_local(tree, Query(), use_cache=False)
    total = sum(len(c.paths) for c in plan.chunks)
    monkeypatch.setattr(parallel, "IN_PROCESS_BYTES", 0)
    monkeypatch.setattr(parallel, "MIN_PIECE_FILES", 1)
    monkeypatch.setattr(parallel, "MIN_PIECE_BYTES", 1)
    steps: list[int] = []
    results = parallel.run(plan.chunks, total_bytes=plan.bytes, workers=3, progress=steps.append)
    assert sum(r.files_read for r in results) == total
    assert sum(steps) == total and all(s >= 0 for s in steps) and len(steps) > 1


def test_workers_that_are_not_copies_of_the_caller(tree, tmp_path):
    """``share=False`` parses in workers of a fork server (the caller's memory is not theirs): the same results as
    one process; each batch gets the caller's environment as it is then (the cache folder changed after the server
    started is the one written); and a user's script with no ``if __name__ == "__main__"`` guard is not run again
    in the workers (a spawned process would import it anew)."""
    script = tmp_path / "unguarded.py"
    script.write_text(f"""
import os, sys
print("script ran", flush=True)
from trailtools import Query
from trailtools.events import cache, parallel
from trailtools.events.chunk import from_cache
from trailtools.sources import local
parallel.IN_PROCESS_BYTES = 0
for name in ("first", "second"):
    os.environ["TRAILTOOLS_CACHE_DIR"] = os.path.join({str(tmp_path)!r}, name)
    plan = local.plan_local(local.Path({str(tree)!r}), Query(), use_cache=True)
    from_cache(plan.chunks)
    pool = parallel.run(plan.chunks, total_bytes=plan.bytes, workers=2, share=False)
    entries = sum(cache.entry_path(c.key).exists() for c in plan.chunks)  # (written by the workers)
    alone = parallel.run(plan.chunks, total_bytes=plan.bytes, workers=1)
    rows = lambda results: [row for r in results for row in r.table.drop_columns(["_row"]).to_pylist()]
    same = rows(pool) == rows(alone) and len(pool) > 1
    print(name, len(plan.chunks), entries, same, sum(r.files_read for r in pool), flush=True)
""")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "script ran" and lines.count("script ran") == 1, done.stdout
    for name, line in zip(("first", "second"), lines[1:]):
        label, chunks, entries, same, files = line.split()
        assert (label, same) == (name, "True") and int(chunks) > 1 and int(entries) == int(chunks) and int(files) > 10
