"""The scan's eventID hashes (trailtools/sources/scan.py, issue 21): equal IDs hash alike whichever path computes
them (IDs all of one length, CloudTrail's UUIDs, read as rows of a matrix; any others byte by byte), distinct IDs
of the corpus hash apart, nulls and empty IDs hash to 0."""
import uuid

import numpy as np
import pyarrow as pa

from trailtools.sources.scan import id_hashes


def test_uniform_and_mixed_lengths_hash_alike():
    ids = [str(uuid.UUID(int=i * 7919 + 13)) for i in range(2000)]
    uniform = id_hashes(pa.array(ids, pa.large_string()))
    mixed = ids[:]
    mixed[100] = "short-id"
    other = id_hashes(pa.array(mixed, pa.large_string()))
    same = np.ones(len(ids), bool)
    same[100] = False
    assert (uniform[same] == other[same]).all() and uniform[100] != other[100]
    assert len(np.unique(uniform)) == len(ids)
    # a slice (offsets not from 0), a dictionary, plain strings in chunks: the same hashes
    assert (id_hashes(pa.array(ids, pa.large_string()).slice(500, 700)) == uniform[500:1200]).all()
    assert (id_hashes(pa.array(ids).dictionary_encode()) == uniform).all()
    assert (id_hashes(pa.chunked_array([pa.array(ids[:999]), pa.array(ids[999:])])) == uniform).all()


def test_nulls_and_empty_ids_hash_to_zero():
    ids = pa.array([str(uuid.UUID(int=1)), None, "", str(uuid.UUID(int=2))], pa.large_string())
    h = id_hashes(ids)
    assert h[1] == 0 and h[2] == 0 and h[0] != 0 and h[3] != 0 and h[0] != h[3]
