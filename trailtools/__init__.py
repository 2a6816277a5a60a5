"""trailtools: forensic notebooks for AWS (CloudTrail, Health, EC2, cost).

    from trailtools import load_events, Query
    res = load_events("path/to/trail-bucket-copy", Query(start="2026-11-03", resource="i-0abc..."))
    res.frame   # one row per event, CloudTrail's own field names
    res.stats   # files read and pruned, duplicates dropped, everything skipped and why
"""
__version__ = "0.1.0"

from trailtools.errors import QueryError, SourceError, TrailtoolsError
from trailtools.events.load import load_events
from trailtools.events.query import Query
from trailtools.events.result import LoadResult, raw_record
from trailtools.views.explorer import explore

__all__ = ["explore", "load_events", "raw_record", "LoadResult", "Query", "TrailtoolsError", "SourceError",
           "QueryError", "__version__"]
