"""The columnar cache (Arrow IPC): a repeat load is served from it, gives the same frame, never serves stale rows."""
import json
import os

from conftest import record, s3_path, write_gz

from trailtools import Query, load_events
from trailtools.events import cache


def _corpus(root, n_files=6):
    for i in range(n_files):
        recs = [record(f"c{i:07d}-0000-4000-8000-{j:012d}", f"2026-11-03T{i:02d}:{j:02d}:00Z") for j in range(10)]
        write_gz(s3_path(root, "111122223333", "us-east-1", f"20261103T{i:02d}59Z", uid=f"F{i}"), {"Records": recs})
    bad = s3_path(root, "111122223333", "us-east-1", "20261103T2359Z", uid="BAD")
    bad.write_bytes(b"not json")
    return root


def test_second_load_comes_from_the_cache_and_is_identical(tmp_path):
    root = _corpus(tmp_path / "trail")
    cold = load_events(str(root))
    warm = load_events(str(root))
    assert cold.stats.files_cached == 0 and warm.stats.files_cached == warm.stats.files_read == 7
    assert warm.frame.equals(cold.frame)
    # the skipped file is still reported from the cache, with its reason
    assert [s.reason[:12] for s in warm.stats.skipped] == [s.reason[:12] for s in cold.stats.skipped] == ["invalid JSON"]
    assert warm.raw(3) == cold.raw(3)


def test_a_changed_or_added_file_misses_the_cache(tmp_path):
    root = _corpus(tmp_path / "trail")
    load_events(str(root))
    changed = s3_path(root, "111122223333", "us-east-1", "20261103T0059Z", uid="F0")
    write_gz(changed, {"Records": [record("new00000-0000-4000-8000-000000000000", "2026-11-03T00:30:00Z")]})
    os.utime(changed, ns=(1, 1))
    res = load_events(str(root))
    assert res.stats.files_cached == 0 and res.stats.events == 51
    write_gz(s3_path(root, "111122223333", "us-east-1", "20261103T2200Z", uid="NEW"),
             {"Records": [record("new00000-0000-4000-8000-000000000001", "2026-11-03T21:59:00Z")]})
    assert load_events(str(root)).stats.events == 52


def test_partial_folders_are_read_directly_and_do_not_spoil_the_cache(tmp_path):
    root = _corpus(tmp_path / "trail")
    part = load_events(str(root), Query(start="2026-11-03T02:00Z", end="2026-11-03T03:00Z"))
    assert part.stats.events == 10 and part.stats.files_cached == 0
    assert not any(cache.cache_root().rglob(f"*{cache.SUFFIX}"))
    load_events(str(root))
    assert load_events(str(root), Query(start="2026-11-03T02:00Z", end="2026-11-03T03:00Z")).stats.events == 10


def test_cache_off_writes_nothing_and_an_unwritable_cache_only_costs_speed(tmp_path, monkeypatch):
    root = _corpus(tmp_path / "trail")
    load_events(str(root), cache=False)
    assert not cache.cache_root().exists() or not any(cache.cache_root().rglob(f"*{cache.SUFFIX}"))
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    monkeypatch.setenv("TRAILTOOLS_CACHE_DIR", str(blocker))
    assert load_events(str(root)).stats.events == 60


def test_corrupt_cache_entry_is_reparsed(tmp_path):
    root = _corpus(tmp_path / "trail")
    load_events(str(root))
    for entry in cache.cache_root().rglob(f"*{cache.SUFFIX}"):
        entry.write_bytes(b"garbage")
    res = load_events(str(root))
    assert res.stats.events == 60 and res.stats.files_cached == 0


def test_stats_json_roundtrip(tmp_path):
    root = _corpus(tmp_path / "trail")
    d = load_events(str(root)).stats.to_dict()
    assert json.loads(json.dumps(d))["skipped"][0]["path"].endswith("_BAD.json.gz")


def test_the_reader_version_covers_every_module_that_shapes_a_row():
    import ast
    from pathlib import Path

    here = Path(cache.__file__).parent

    def local_imports(name):
        for node in ast.walk(ast.parse((here / f"{name}.py").read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names = [a.name for a in node.names] if node.module is None else [node.module]
                yield from (n for n in names if (here / f"{n}.py").exists())

    modules, todo = set(), ["chunk"]
    while todo:  # every trailtools module the chunk parser imports, transitively
        name = todo.pop()
        if name not in modules:
            modules.add(name)
            todo.extend(local_imports(name))
    assert {f"{m}.py" for m in modules} <= set(cache._CODE_FILES)


def test_cache_key_is_the_same_from_c_and_python(tmp_path, monkeypatch):
    """The C stat of a chunk's files (released GIL, two threads) gives the cache key the Python stat gives: sizes and
    mtimes, -1 for a file that cannot be stat()ed, links followed, folders changing along the list."""
    import os

    import pytest

    from trailtools.events import chunk

    if chunk._listing is None:
        pytest.skip("the C helpers are not built here")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    paths = []
    for folder, name, size in (("a", "1.json.gz", 10), ("a", "2.json.gz", 0), ("b", "3.json.gz", 99)):
        p = tmp_path / folder / name
        p.write_bytes(b"x" * size)
        paths.append(str(p))
    os.symlink(paths[0], tmp_path / "b" / "link.json.gz")
    paths += [str(tmp_path / "b" / "link.json.gz"), str(tmp_path / "a" / "gone.json.gz"), "relative-missing.json",
              str(tmp_path / "a" / "1.json.gz")]
    native = chunk._identity(paths)
    monkeypatch.setattr(chunk, "_listing", None)
    assert chunk._identity(paths) == native
    assert f"{paths[0]}\0" + "10\0" in native and "gone.json.gz\0-1\0-1\n" in native
