"""``demo``: the bundled demo account, generated once into the cache folder and then read like any local trail."""
from __future__ import annotations

from trailtools.demo import ensure_demo_account
from trailtools.events.query import Query
from trailtools.events.result import LoadOptions, LoadResult
from trailtools.sources import local


def load_demo(uri: str, query: Query, options: LoadOptions) -> LoadResult:
    folder = ensure_demo_account()
    # the trail only: the account's other data (guest logs, API responses) are read by the investigations
    result = local.load_local(str(folder / "AWSLogs"), query, options)
    result.stats.source = uri
    return result
