"""trailtools: forensic notebooks for AWS (CloudTrail, Health, EC2, cost).

    from trailtools import load_events, Query
    res = load_events("path/to/trail-bucket-copy", Query(start="2026-11-03", resource="i-0abc..."))
    res.frame   # one row per event, CloudTrail's own field names
    res.stats   # files read and pruned, duplicates dropped, everything skipped and why
"""
__version__ = "0.1.0"

import os as _os
import sys as _sys

# pyarrow's jemalloc (the pool the out-of-core login engine uses, trailtools.investigations.login.history) reads its
# options once, when pyarrow loads: freed pages go back to the system at once in every arena, the first included
# (``jemalloc_set_decay_ms`` reaches only arenas made after it). Measured on the 10M-event trail, warm: the login's
# peak 1.33-1.38 -> 1.21 GB, no slower within the noise. A value the user set is kept.
_os.environ.setdefault("JE_ARROW_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")
# pyarrow's default pool, mimalloc (v3), reads its options when pyarrow loads too. It asks for transparent huge pages
# on its 1 GiB arena, and gives back what is freed after a delay: a load frees as much as it allocates (each chunk's
# table is copied as it is sorted, converted, rearranged), so 2 MiB pages were zeroed again and again (the kernel's
# page clearing was 13% of the 1M-event load's CPU). Without huge pages, and with freed memory given back after
# 100 ms instead of 1 s: that load 6.2-6.7 -> 5.9-6.1 s, its peak 1.02-1.11 -> 1.03-1.05 GB (never given back: 5.6 s,
# 1.16-1.18 GB). (numpy asks for huge pages on its large arrays too: left as it is, the login's analysis of 10M events
# measured no faster without.) Values the user set are kept.
_os.environ.setdefault("MIMALLOC_ALLOW_THP", "0")
_os.environ.setdefault("MIMALLOC_PURGE_DELAY", "100")

from trailtools.report.vega import STATIC_ENV as _STATIC_ENV

if _os.environ.get(_STATIC_ENV) == "1":
    # In a report's kernel: jsonschema (which Altair imports) would build rfc3987_syntax's Lark grammars, a second
    # of CPU, for "iri" formats that no Vega-Lite schema uses. Nothing else runs in that kernel.
    _sys.modules.setdefault("rfc3987_syntax", None)

from trailtools.errors import QueryError, SourceError, TrailtoolsError
from trailtools.events.load import load_events
from trailtools.events.query import Query
from trailtools.events.result import LoadResult, raw_record

__all__ = ["explore", "load_events", "raw_record", "LoadResult", "Query", "TrailtoolsError", "SourceError",
           "QueryError", "__version__"]


def __getattr__(name: str):
    """``trailtools.explore``, imported on first use: it brings Altair and the widgets, which the command line and the
    process writing a report do not need."""
    if name == "explore":
        from trailtools.views.explorer import explore  # noqa: PLC0415 (heavy, loaded on use)

        return explore
    raise AttributeError(f"module 'trailtools' has no attribute {name!r}")
