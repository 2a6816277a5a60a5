"""``load_events``: any source URI + a query -> the events frame and its load stats."""
from __future__ import annotations

from trailtools import sources
from trailtools.events.limits import Limits
from trailtools.events.query import Query
from trailtools.events.result import LoadOptions, LoadResult


def load_events(source: str = "demo", query: Query | None = None, *, cache: bool = True,
                workers: int | None = None, progress: bool | None = None,
                limits: Limits | None = None) -> LoadResult:
    """Load CloudTrail events from a source URI (``demo``, a local path, ...) that match ``query``.

    ``limits``: what one file or record may cost (:class:`trailtools.events.limits.Limits`; None: the defaults, or what
    the TRAILTOOLS_MAX_* environment variables say). Errors a user can fix raise
    :class:`trailtools.TrailtoolsError` with a one-sentence message.
    """
    loader = sources.get_loader(str(source))
    return loader(str(source), query or Query(), LoadOptions(cache=cache, workers=workers, progress=progress,
                                                             limits=limits))
