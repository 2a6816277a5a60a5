"""``demo``: the bundled demo account, generated once into the cache folder and then read like any local trail."""
from __future__ import annotations

from ..query import Query
from ..result import LoadOptions, LoadResult
from . import local


def load_demo(uri: str, query: Query, options: LoadOptions) -> LoadResult:
    from ..demo import ensure_demo_account

    folder = ensure_demo_account()
    result = local.load_local(str(folder), query, options)
    result.stats.source = uri
    return result
