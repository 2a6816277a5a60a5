"""The cache's entries: Arrow IPC files, memory-mapped; damaged ones are misses; writes are atomic; the version.

(tests/test_cache.py covers what a user sees: a warm load is identical, a changed file misses, ...)
"""
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest
from conftest import record, s3_path, write_gz

from trailtools import Query, load_events
from trailtools.events import cache, frame, table


def _corpus(root, n_files=6):
    for i in range(n_files):
        recs = [record(f"d{i:07d}-0000-4000-8000-{j:012d}", f"2026-11-03T{i:02d}:{j:02d}:00Z",
                       sourceIPAddress=f"10.0.0.{j % 3}") for j in range(10)]
        write_gz(s3_path(root, "111122223333", "us-east-1", f"20261103T{i:02d}59Z", uid=f"F{i}"), {"Records": recs})
    return root


def _entries():
    return sorted(cache.cache_root().rglob(f"*{cache.SUFFIX}"))


def test_entries_are_arrow_ipc_files_with_the_chunk_and_its_counts(tmp_path):
    root = _corpus(tmp_path / "trail")
    cold = load_events(str(root))
    entries = _entries()
    assert len(entries) == 1 and not any(cache.cache_root().rglob("*.parquet"))
    assert entries[0].parent.parent.name == f"events-{cache.READER_VERSION}"
    stored = ipc.open_file(pa.memory_map(str(entries[0]))).read_all()
    assert stored.schema.remove_metadata() == cache.large_strings(table.empty()).schema and stored.num_rows == 60
    got = cache.read(entries[0].stem)
    assert got is not None and got[1]["files_read"] == 6 and got[0].schema.metadata is None
    warm = load_events(str(root))
    assert warm.stats.files_cached == 6 and warm.frame.equals(cold.frame)
    # nothing left behind by the atomic write (an entry's validation mark aside)
    assert not [p for p in cache.cache_root().rglob("*")
                if p.is_file() and p.suffix not in (cache.SUFFIX, cache.VALID_SUFFIX)]


@pytest.mark.parametrize("damage", ["garbage", "empty", "truncated", "no footer"])
def test_a_damaged_entry_is_a_miss_and_is_written_again(tmp_path, damage):
    root = _corpus(tmp_path / "trail")
    cold = load_events(str(root))
    (entry,) = _entries()
    data = entry.read_bytes()
    entry.write_bytes({"garbage": b"garbage", "empty": b"", "truncated": data[: len(data) // 2],
                       "no footer": data[:-10]}[damage])
    assert cache.read(entry.stem) is None
    res = load_events(str(root))
    assert res.stats.files_cached == 0 and res.frame.equals(cold.frame)
    again = load_events(str(root))  # the reparsed chunk replaced the damaged entry
    assert again.stats.files_cached == 6 and again.frame.equals(cold.frame)


def test_an_entry_whose_offsets_point_outside_its_data_is_a_miss(tmp_path):
    # Arrow's full validation runs on every entry read: damage that keeps the file readable must not reach pandas
    t = pa.table({"s": pa.array(["a", "bb", "ccc"])})
    key = "ab" + "0" * 62
    cache.write(key, t, {"files_read": 1})
    path = cache.entry_path(key)
    data = bytearray(path.read_bytes())
    offsets = np.array([0, 1, 3, 6], dtype=np.int64).tobytes()  # stored as large_string
    at = bytes(data).find(offsets)
    assert at > 0
    data[at + 16:at + 24] = np.array([4000], dtype=np.int64).tobytes()
    path.write_bytes(bytes(data))
    assert cache.read(key) is None


def test_an_entry_read_in_slices_gives_its_rows_in_order_and_a_damaged_slice_is_a_miss(tmp_path):
    """A scan reads an entry a slice at a time (each slice's pages let go with it): the slices are the entry's rows
    in order, with only the columns asked for; damage in any slice, not only the first, makes the entry a miss."""
    t = pa.table({"s": pa.array([f"v{i}" for i in range(10)]), "n": pa.array(range(10)),
                  "_row": pa.array(range(10), pa.int32())})
    key = "cd" + "0" * 62
    cache.write(key, t, {"files_read": 1})
    slices, meta = cache.read_slices(key, ("s",), rows=4)
    assert meta == {"files_read": 1} and slices.num_rows == 10
    parts = list(slices)
    assert [p.num_rows for p in parts] == [4, 4, 2] and all(p.column_names == ["s", "_row"] for p in parts)
    assert pa.concat_tables(parts).column("s").to_pylist() == [f"v{i}" for i in range(10)]
    assert cache.read_slices(key, ("nope",)) is None
    path = cache.entry_path(key)
    data = bytearray(path.read_bytes())
    offsets = np.array([18, 20], dtype=np.int64).tobytes()     # the offsets of row 9 ("v9"), in the last slice
    at = bytes(data).find(offsets)
    assert at > 0
    data[at + 8:at + 16] = np.array([4000], dtype=np.int64).tobytes()
    path.write_bytes(bytes(data))
    assert cache.read_slices(key, ("s",), rows=4) is None


def test_an_entry_is_validated_once_until_it_changes(tmp_path, monkeypatch):
    """The first read validates the columns read and marks the entry; a later read of those columns of the same file
    skips Arrow's validation (a warm scan's 2-3 s); other columns, a file written over, or one put in its place are
    validated again, and damage is still a miss. An entry changed within SETTLED_S is never marked."""
    t = pa.table({"s": pa.array([f"v{i}" for i in range(10)]), "n": pa.array(range(10)),
                  "_row": pa.array(range(10), pa.int32())})
    key = "ef" + "0" * 62
    cache.write(key, t, {"files_read": 1})
    path = cache.entry_path(key)
    mark = path.with_name(path.name + cache.VALID_SUFFIX)
    assert cache.read_slices(key, ("s",), rows=4) is not None and not mark.exists()     # just written: not settled
    monkeypatch.setattr(cache, "SETTLED_S", 0.0)
    checked = []
    validated = cache._validated

    def counting(path, columns, validate):
        return validated(path, columns, lambda: checked.append(columns) or validate())

    monkeypatch.setattr(cache, "_validated", counting)
    assert cache.read_slices(key, ("s",), rows=4) is not None and mark.exists()
    assert checked == [["s", "_row"]]
    checked.clear()
    assert cache.read_slices(key, ("s",), rows=4) is not None and cache.read(key, ("s",)) is not None
    assert checked == []                                      # marked: not validated again
    assert cache.read(key, ("n",)) is not None and checked == [["n", "_row"]]
    checked.clear()
    assert cache.read(key, ("s", "n")) is not None and checked == []
    # damage, in a file put in the entry's place (another inode): validated again, a miss
    data = bytearray(path.read_bytes())
    at = bytes(data).find(np.array([18, 20], dtype=np.int64).tobytes())
    data[at + 8:at + 16] = np.array([4000], dtype=np.int64).tobytes()
    other = path.with_name("other")
    other.write_bytes(bytes(data))
    other.replace(path)
    assert cache.read_slices(key, ("s",), rows=4) is None and cache.read(key, ("s",)) is None
    mark.write_text("not json")                              # a mark that is not one: validated, no crash
    assert cache.read(key, ("s",)) is None


def test_a_failed_write_leaves_neither_entry_nor_temporary_file(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ipc, "new_file", broken)
    key = "cd" + "0" * 62
    cache.write(key, pa.table({"x": [1]}), {})
    assert cache.read(key) is None
    assert not [p for p in cache.cache_root().rglob("*") if p.is_file()]


def test_the_reader_version_covers_the_format_and_skips_code_files_that_are_absent(monkeypatch):
    assert "_scan.c" in cache._CODE_FILES
    before = cache._reader_version()
    monkeypatch.setattr(cache, "_CODE_FILES", cache._CODE_FILES + ("no_such_module.py",))
    assert cache._reader_version() == before
    monkeypatch.setattr(cache, "FORMAT", "another-format")
    assert cache._reader_version() != before


def _chunks_with_dictionaries():
    """Chunk tables as the workers and the cache give them: each with its own dictionaries (overlapping, empty,
    all-null columns, nulls), sorted by time, with ``_row``."""
    rng = np.random.default_rng(7)
    out, n_id = [], 0
    for size, values in ((5, ["b", "a"]), (0, []), (0, ["z", "a"]), (7, ["c", "a", "d"]), (4, ["e"]),
                         (6, ["a", "f", "b"])):
        columns = {}
        for name, _kind in table.COLUMNS:
            field_type = table.SCHEMA.field(name).type
            if name == "eventTime":
                columns[name] = pa.array(np.sort(rng.integers(0, 10, size)) * 1_000_000, pa.int64()).cast(field_type)
            elif name == "eventID":
                columns[name] = pa.array([f"{n_id + i:08d}-0000-4000-8000-000000000000" for i in range(size)])
            elif pa.types.is_dictionary(field_type):
                if name == "awsRegion" and values:  # nulls among the values
                    texts = [None if i % 3 == 0 else values[i % len(values)] for i in range(size)]
                elif name == "errorCode":  # an all-null column
                    texts = [None] * size
                else:
                    texts = [values[i % len(values)] for i in range(size)] if values else []
                columns[name] = pa.array(texts, pa.string()).dictionary_encode()
                if not size and values:  # an empty chunk whose dictionary is not: its values are categories too
                    columns[name] = pa.DictionaryArray.from_arrays(pa.array([], pa.int32()), pa.array(values))
            else:
                columns[name] = pa.nulls(size, field_type)
        n_id += size
        columns["_file"] = pa.array([f"f{len(out)}-{i % 2}" for i in range(size)], pa.string()).dictionary_encode()
        columns["_index"] = pa.array(range(size), pa.int32())
        columns[table.ROW] = pa.array(range(size), pa.int32())
        out.append(pa.Table.from_pydict(columns, schema=table.CHUNK_SCHEMA))
    return out


@pytest.mark.parametrize("query", [Query(), Query(regions=["a", "c"]), Query(regions=["nowhere"])])
def test_categoricals_are_those_of_pyarrow_on_the_unified_table(query):
    # the frame's categorical columns are built from codes (not by to_pandas of a unified Arrow table): the same
    # categories in the same order (first appearance over the chunks), dtypes (object for no categories), codes
    want_tables = [t.drop_columns([table.ROW]) for t in _chunks_with_dictionaries()]
    want_table = pa.concat_tables(want_tables).unify_dictionaries()
    mask = frame.query_mask(want_table, query)
    if mask is not None:
        want_table = want_table.filter(mask)
    want_table = want_table.take(pa.array(np.argsort(want_table.column("eventTime").to_numpy(), kind="stable")))
    want = want_table.to_pandas(types_mapper=frame._types_mapper, split_blocks=True)
    got = frame.finish(_chunks_with_dictionaries(), query)[0]
    assert list(got.columns) == list(want.columns) and got.columns.dtype == want.columns.dtype
    for name in got.columns:
        assert got[name].dtype == want[name].dtype, name
        if isinstance(got[name].dtype, pd.CategoricalDtype):
            a, b = got[name].cat, want[name].cat
            assert a.categories.dtype == b.categories.dtype and list(a.categories) == list(b.categories), name
            assert a.codes.dtype == b.codes.dtype and np.array_equal(a.codes, b.codes), name
    pd.testing.assert_frame_equal(got, want, check_exact=True, check_categorical=True)


@pytest.mark.skipif(not cache._madvise, reason="pages are let go with madvise, on Linux")
def test_a_slice_read_lets_go_of_the_pages_of_the_slice_before(tmp_path):
    """Slices held by the reader (a filtered copy shares a dictionary with its slice, so the mapping stays) do not keep
    their pages: once the next slice is asked for, the one before is unmapped from the process (its bytes still read
    the same, mapped again from the page cache on use), so that a scan holds about one slice's pages, not several."""
    n = 40_000
    t = pa.table({"s": pa.array([f"{i:08d}" * 12 for i in range(n)]), "_row": pa.array(range(n), pa.int32())})
    key = "ab" + "1" * 62
    cache.write(key, t, {"files_read": 1})
    size = cache.entry_path(key).stat().st_size
    slices, _ = cache.read_slices(key, ("s",), rows=n // 16)

    def mapped_kb() -> int:
        path, kb, here = str(cache.entry_path(key)), 0, False
        for line in open("/proc/self/smaps"):
            head = line.split()
            if head and "-" in head[0] and ":" not in head[0]:
                here = line.rstrip().endswith(path)
            elif here and head[0] == "Rss:":
                kb += int(head[1])
        return kb

    held, largest = [], 0
    for part in slices:
        part.validate(full=True)        # every page of the slice read
        held.append(part)
        largest = max(largest, mapped_kb())
    assert len(held) == 16 and largest * 1024 < size     # (held whole, they would map 18 MB: each maps the file)
    assert pa.concat_tables(held).column("s").to_pylist() == t.column("s").to_pylist()
