"""The layouts of an ``s3://`` source other than CloudTrail's ``AWSLogs/``: Security Lake's partitions, and a flat
folder; and the bounds on what such a layout may cost.

Security Lake keeps CloudTrail as OCSF Parquet under hive partitions::

    aws-security-data-lake-<region>-<id>/aws/CLOUD_TRAIL_MGMT/<version>/region=<r>/accountId=<a>/eventDay=YYYYMMDD/
        <id>.gz.parquet
    aws-security-data-lake-<region>-<id>/ext/<custom source>[/<version>]/region=<r>/accountId=<a>/eventDay=YYYYMMDD/

(``S3_DATA`` and ``LAMBDA_EXECUTION`` beside ``CLOUD_TRAIL_MGMT`` hold CloudTrail's S3 and Lambda data events; the
other sources under ``aws/``, VPC flow logs, Route 53, Security Hub findings, EKS audit logs, WAF, are no CloudTrail
and are not listed; ``metadata/`` beside the partitions is Apache Iceberg's). :func:`walk_lake` goes down one level at
a time (``Delimiter='/'`` listings) and leaves out the partitions the query cannot want, as the ``AWSLogs/`` walk
leaves out day folders: ``region=`` and ``accountId=`` by the query's regions and accounts, ``eventDay=`` by its
window (the event's day, so from the start's day to the day of the end plus the late margin, in case a writer
partitions by the day it wrote). Below ``eventDay=`` everything is listed (``eventHour=`` folders too).

A flat folder (no ``AWSLogs/``, no partitions) is listed whole: nothing in an object's name tells the day of its
events, so no object can be left out by the window (the frame is filtered after reading, so the result is exact).

Listing and fetching such a layout is bounded (:class:`Bounds`): at most ``max_keys`` keys listed and ``max_bytes``
downloaded in one load (the URI's ``?max_keys=`` and ``?max_bytes=``); past either, the load stops before it reads
anything, with one sentence.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

from trailtools.errors import SourceError
from trailtools.events.query import Query

#: Keys listed at most in one load of a layout other than AWSLogs/ (``?max_keys=``).
MAX_KEYS = 100_000
#: Bytes downloaded at most in one load of a layout other than AWSLogs/ (``?max_bytes=``): 10 GiB.
MAX_BYTES = 10 << 30
#: Security Lake's sources under ``aws/`` that hold CloudTrail (management events, S3 and Lambda data events).
LAKE_CLOUDTRAIL = ("CLOUD_TRAIL_MGMT", "S3_DATA", "LAMBDA_EXECUTION")
#: Levels below the start that the partition walk goes down at most; deeper, a prefix is listed whole.
MAX_LAKE_LEVELS = 8
#: Prefixes listed at once by the partition walk.
LAKE_WORKERS = 8
_PARTITION = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_DAY = re.compile(r"^(\d{4})-?(\d\d)-?(\d\d)$")
_SOURCE = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass
class Bounds:
    """What one load of a layout other than AWSLogs/ may list and download."""

    max_keys: int = MAX_KEYS
    max_bytes: int = MAX_BYTES
    where: str = ""
    listed: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self, n: int) -> None:
        """Count ``n`` keys (or sub-prefixes) listed; past ``max_keys``, one sentence."""
        with self._lock:
            self.listed += n
            over = self.listed > self.max_keys
        if over:
            raise SourceError(f"{self.where} holds more than {self.max_keys:,} objects (max_keys), more than one "
                              "load lists without dates to prune by: give a narrower prefix, or raise it with "
                              "?max_keys=N.")

    def check_bytes(self, n: int, objects: int) -> None:
        if n > self.max_bytes:
            raise SourceError(f"The {objects:,} objects to fetch from {self.where} hold up to {n:,} bytes, more "
                              f"than the {self.max_bytes:,} (max_bytes) one load downloads: give a narrower prefix "
                              "or window, or raise it with ?max_bytes=SIZE (such as 50G).")


def size_option(opts: dict, name: str, default: int, uri: str) -> int:
    """A size option of a URI (``?max_bytes=50G``: bytes, or with k, M, G), or one sentence saying it is not one."""
    text = opts.get(name)
    if text is None:
        return default
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    t = text.strip().lower().removesuffix("b").removesuffix("i")
    factor = units.get(t[-1:], 1)
    try:
        value = int(t[:-1] if t[-1:] in units else t) * factor
    except ValueError:
        value = 0
    if value < 1:
        raise SourceError(f"{name}={text!r} in {uri} is not a size: give a number of bytes, or one like 500M or 50G.")
    return value


# ---------------------------------------------------------------- partitions

def partition(name: str) -> tuple[str, str] | None:
    """``eventDay=20261103`` -> ('eventday', '20261103'); None for a name that is no hive partition."""
    m = _PARTITION.match(name)
    return (m.group(1).lower(), m.group(2)) if m else None


def partition_day(value: str) -> date | None:
    m = _DAY.match(value)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def lake_days(query: Query) -> tuple[date | None, date | None]:
    """The first and last ``eventDay`` the query may want (None: no bound)."""
    first = query.start.date() if query.start else None
    last = (query.end + query.late_margin).date() if query.end else None
    return first, last


def wants_partition(name: str, query: Query) -> bool:
    """Whether a folder named ``name`` may hold events of the query: False only for a ``region=``, ``accountId=`` or
    ``eventDay=`` partition whose value the query leaves out (a value that is no day is kept)."""
    part = partition(name)
    if part is None:
        return True
    key, value = part
    if key == "region":
        return not query.regions or value in query.regions
    if key == "accountid":
        return not query.accounts or value in query.accounts
    if key == "eventday":
        day = partition_day(value)
        first, last = lake_days(query)
        return day is None or not ((first and day < first) or (last and day > last))
    return True


def key_has_day(key: str) -> bool:
    """Whether a key's folders carry the day of its events (an ``eventDay=`` partition)."""
    return any((p := partition(part)) and p[0] == "eventday" and partition_day(p[1])
               for part in key.split("/")[:-1])


def is_lake(prefix: str, subs: list[str]) -> bool:
    """Whether a prefix (its sub-prefixes listed) is Security Lake's layout, or another hive-partitioned one: it
    starts with ``aws/`` or ``ext/``, it is a bucket's top holding them, or it or a sub-prefix is a partition."""
    parts = [p for p in prefix.split("/") if p]
    if parts and (parts[0] in ("aws", "ext") or any(partition(p) for p in parts)):
        return True
    names = [_name(s) for s in subs]
    return (not parts and any(n in ("aws", "ext") for n in names)) or any(partition(n) for n in names)


def _name(prefix: str) -> str:
    return prefix.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class LakeWalk:
    """What the partition walk found: the prefixes to list (recursive or not) and what it left out."""

    prefixes: list[tuple[str, bool]] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)      # partitions the query cannot want
    not_cloudtrail: list[str] = field(default_factory=list)  # Security Lake sources under aws/ that hold no CloudTrail
    not_lake: list[str] = field(default_factory=list)  # folders beside aws/ and ext/ at a bucket's top


def walk_lake(list_level: Callable[[str], tuple[list[str], int]], prefix: str, query: Query,
              first: tuple[list[str], int] | None = None) -> LakeWalk:
    """The prefixes to list under a partitioned prefix. ``list_level(prefix)`` is a ``Delimiter='/'`` listing:
    (sub-prefixes, number of objects at that level); ``first``: the prefix's own, when already listed. Levels are
    listed concurrently, one level at a time."""
    out = LakeWalk()
    if not all(wants_partition(p, query) for p in prefix.split("/") if p):  # the prefix names a partition left out
        out.pruned.append(prefix)
        return out
    frontier, level = [prefix], 0
    while frontier:
        if level >= MAX_LAKE_LEVELS:
            out.prefixes.extend((p, True) for p in frontier)
            break
        if level == 0 and first is not None:
            found = [first]
        else:
            with ThreadPoolExecutor(max_workers=LAKE_WORKERS) as pool:
                found = list(pool.map(list_level, frontier))
        nxt = []
        for pfx, (subs, objects) in zip(frontier, found):
            if objects:
                out.prefixes.append((pfx, False))
            partitioned = any(partition(_name(s)) for s in subs)
            # Security Lake's aws/ folder: its sources are named in capitals (CLOUD_TRAIL_MGMT, VPC_FLOW, ...)
            lake_sources = _name(pfx) == "aws" and bool(subs) and all(_SOURCE.match(_name(s)) for s in subs)
            # a bucket's top: Security Lake's aws/ and ext/ only, never the whole bucket
            top = not pfx and any(_name(s) in ("aws", "ext") for s in subs)
            for sub in subs:
                name = _name(sub)
                if top and name not in ("aws", "ext"):
                    out.not_lake.append(sub)
                elif lake_sources and name not in LAKE_CLOUDTRAIL:
                    out.not_cloudtrail.append(name)
                elif partitioned and name == "metadata":  # Apache Iceberg's, beside the partitions
                    continue
                elif not wants_partition(name, query):
                    out.pruned.append(sub)
                elif (p := partition(name)) and p[0] == "eventday":
                    out.prefixes.append((sub, True))  # a day of events: all of it (eventHour= folders too)
                else:
                    nxt.append(sub)
        frontier, level = nxt, level + 1
    out.prefixes.sort()
    return out


@dataclass
class Layout:
    """How the prefix of one load is laid out: ``awslogs`` (CloudTrail's), ``lake`` (partitions) or ``flat``; and
    the bounds that hold for the last two."""

    bounds: Bounds
    mode: str = "awslogs"
    lake: LakeWalk | None = None
