"""Cost sources, chosen by one URI the way the trail sources are: a registry keyed by scheme.

=========================  ======================================================================================
URI                        reader
=========================  ======================================================================================
``demo``                   the demo account's CUR 2.0 and anomalies (:mod:`.demo`)
a path                     CUR legacy / 2.0 or FOCUS 1.x, CSV, ``.csv.gz`` or Parquet, files or folders; saved
                           Cost Explorer JSON (:mod:`.local`, schemas in :mod:`.cur` and :mod:`.focus`)
``s3://bucket/prefix``     a CUR or FOCUS export in its bucket (:mod:`.s3`)
``ce://``                  Cost Explorer and Cost Anomaly Detection, live (:mod:`.ce`)
=========================  ======================================================================================

Every reader returns :class:`~trailtools.evidence.cost.frame.CostData`: the one cost frame (columns in
:mod:`trailtools.evidence.cost.frame` and docs/cost.md), load stats, and anomalies where the source has them.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from trailtools.errors import QueryError, SourceError
from trailtools.evidence.cost import ce, demo, local, s3
from trailtools.evidence.cost.frame import COLUMNS, GRANULARITIES, CostData, CostStats, clip, utc

__all__ = ["COLUMNS", "CostData", "CostQuery", "CostStats", "check_granularity", "read_cost", "register"]

_REGISTRY: dict[str, Callable] = {}
_LOCAL: list[Callable] = []


@dataclass
class CostQuery:
    """What to read: the window [start, end) (UTC), the granularity asked for, an optional service, and for live
    sources the profile of the standard credential chain and the region (never credentials)."""

    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    granularity: str = "DAILY"
    service: str | None = None
    profile: str | None = None
    region: str | None = None
    max_pages: int = 20


def register(prefix: str, reader: Callable) -> None:
    """Route cost URIs starting with ``prefix`` (``"s3://"``) or equal to it (``"demo"``) to ``reader(uri, q)``."""
    _REGISTRY[prefix] = reader


def get_reader(uri: str) -> Callable:
    for prefix in sorted(_REGISTRY, key=len, reverse=True):
        if uri == prefix or (prefix.endswith("://") and uri.startswith(prefix)):
            return _REGISTRY[prefix]
    if "://" in uri:
        known = ", ".join(sorted(p for p in _REGISTRY if p.endswith("://")))
        raise SourceError(f"trailtools cannot read cost from {uri.split('://', 1)[0]}:// : use demo, a local "
                          f"CUR or FOCUS file or folder, or one of {known}.")
    return _LOCAL[0]


def check_granularity(granularity: str | None) -> str:
    """``granularity`` in capitals (DAILY when not given); one error sentence when it is not one of
    :data:`~trailtools.evidence.cost.frame.GRANULARITIES`."""
    granularity = str(granularity or "DAILY").upper()
    if granularity not in GRANULARITIES:
        raise QueryError(f"granularity must be one of {', '.join(GRANULARITIES)}, not {granularity!r}.")
    return granularity


def read_cost(uri: str = "demo", *, start=None, end=None, granularity: str = "DAILY", service: str | None = None,
              profile: str | None = None, region: str | None = None, max_pages: int = 20) -> CostData:
    """Read one cost source into the cost frame, keeping the rows of [start, end) (and of ``service``)."""
    granularity = check_granularity(granularity)
    uri = str(uri or "demo").strip()
    start = utc(start) if start is not None else None
    end = utc(end) if end is not None else None
    q = CostQuery(start, end, granularity, service, profile, region, max_pages)
    data = get_reader(uri)(uri, q)
    data.stats.source = uri
    return clip(data, start, end, service)


def _register_builtin() -> None:
    _LOCAL[:] = [local.read_local]
    register("demo", demo.read_demo)
    register("s3://", s3.read_s3)
    register("ce://", ce.read_ce)


_register_builtin()
