"""The query spec: built once, pushed down by each source as far as it can, and applied exactly to the frame.

A source prunes what it can before reading (for local files and S3: the date, region and account in the path); the
rest is filtered on the events frame by :func:`trailtools.events.frame.apply_query`, so every source returns the same
rows.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from trailtools.errors import QueryError
from trailtools.events.layout import PathInfo

#: CloudTrail delivers most events within minutes, but not always. A log file is read when its delivery time falls
#: in [start - EARLY_MARGIN, end + late_margin]: a file delivered up to ``late_margin`` after the window's end may
#: still hold events from inside the window. Raise ``late_margin`` for trails known to deliver later.
DEFAULT_LATE_MARGIN = timedelta(hours=3)
#: Files are named by delivery time, which is never before their events; this guards against clock skew only.
EARLY_MARGIN = timedelta(minutes=15)

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_time(value: str | date | datetime | None, *, end: bool = False) -> datetime | None:
    """Parse an ISO-8601 time or date as UTC.

    Naive times are taken as UTC. A date alone means the start of that day, or for ``end=True`` the end of that day
    (the next midnight), so ``start=2026-11-03, end=2026-11-03`` is the whole of November 3rd.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
        if end:
            dt += timedelta(days=1)
    elif isinstance(value, str):
        text = value.strip()
        try:
            if _DATE_ONLY.match(text):
                dt = datetime.fromisoformat(text)
                if end:
                    dt += timedelta(days=1)
            else:
                dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise QueryError(
                f"Cannot read the time {value!r}: give an ISO-8601 date or time in UTC, "
                "for example 2026-11-03 or 2026-11-03T14:30:00Z."
            ) from None
    else:
        raise QueryError(f"Cannot read the time {value!r}: give an ISO-8601 date or time string.")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def user_name_pattern(principal: str | None) -> str | None:
    """For a bare user name (``alice``: no ``@``, ``/`` or ``:``), a regular expression (for lowercase text, in the
    syntax Python, RE2 and Athena share) that finds it as the part before the ``@`` of an e-mail-style name: the
    user name ``alice@example.com``, or the session name ending an ARN or actor (``.../alice@example.com``, an IAM
    Identity Center user). ``None`` for anything else: ``alice@example.com`` or an ARN match as they are."""
    if not principal or any(c in principal for c in "@/:"):
        return None
    return f"(?:^|/){re.escape(principal.lower())}@[^/@]*$"


def _stamp(t: datetime) -> str:
    t = t.astimezone(UTC)
    return f"{t.year:04d}{t.month:02d}{t.day:02d}T{t.hour:02d}{t.minute:02d}{t.second:02d}"


def _as_tuple(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    return tuple(v.strip() for v in value if v and v.strip())


@dataclass(frozen=True)
class Query:
    """What to load. Every field is optional; an empty query loads everything.

    start/end: the time window, start inclusive, end exclusive (UTC; see :func:`parse_time`).
    regions, accounts: ``awsRegion`` and ``recipientAccountId`` values to keep.
    event_names, event_sources: exact ``eventName`` / ``eventSource`` values to keep.
    resource: an identifier (instance ID, ARN, bucket, key ...) matched as a whole word in ``resources``,
        ``requestParameters``, ``responseElements`` and ``serviceEventDetails`` (AWS service events such as a
        Spot interruption's ``BidEvictedEvent`` name their instances only there).
    principal: an ARN, user name, role name, role session name, access key ID or principal ID of the caller; a bare
        user name (``alice``) also finds its e-mail-style names (``alice@example.com``, an SSO session name):
        :func:`user_name_pattern`. Case is ignored.
    errors_only: keep only events with an ``errorCode``.
    late_margin: how long after ``end`` a log file may have been delivered and still hold events of the window.
    """

    start: datetime | None = None
    end: datetime | None = None
    regions: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    event_names: tuple[str, ...] = ()
    event_sources: tuple[str, ...] = ()
    resource: str | None = None
    principal: str | None = None
    errors_only: bool = False
    late_margin: timedelta = field(default=DEFAULT_LATE_MARGIN)

    def __post_init__(self):
        object.__setattr__(self, "start", parse_time(self.start))
        object.__setattr__(self, "end", parse_time(self.end, end=True))
        for name in ("regions", "accounts", "event_names", "event_sources"):
            object.__setattr__(self, name, _as_tuple(getattr(self, name)))
        for name in ("resource", "principal"):
            value = getattr(self, name)
            object.__setattr__(self, name, value.strip() if isinstance(value, str) and value.strip() else None)
        if self.start and self.end and self.end <= self.start:
            raise QueryError(
                f"The end of the time window ({self.end:%Y-%m-%dT%H:%M:%SZ}) is not after its start "
                f"({self.start:%Y-%m-%dT%H:%M:%SZ}): swap them or widen the window."
            )
        bad = [a for a in self.accounts if not re.fullmatch(r"\d{12}", a)]
        if bad:
            raise QueryError(f"{bad[0]!r} is not an AWS account ID: give the 12 digits, for example 123456789012.")

    def replace(self, **changes) -> Query:
        return replace(self, **changes)

    @property
    def prunes_paths(self) -> bool:
        """Whether any file could be pruned by its path (a time window, regions or accounts)."""
        return bool(self.start or self.end or self.regions or self.accounts)

    def wants_path(self, info: PathInfo) -> bool:
        """False when the path alone proves the file holds no event of this query (path pruning)."""
        if self.regions and info.region and info.region not in self.regions:
            return False
        if self.accounts and info.account and info.account not in self.accounts:
            return False
        if info.delivered is not None:
            if self.start and info.delivered < self.start - EARLY_MARGIN:
                return False
            if self.end and info.delivered > self.end + self.late_margin:
                return False
        elif info.day is not None:
            day_end = info.day + timedelta(days=1)
            if self.start and day_end < self.start - EARLY_MARGIN:
                return False
            if self.end and info.day > self.end + self.late_margin:
                return False
        return True

    def delivery_text_bounds(self) -> tuple[str | None, str | None]:
        """The delivery times that :meth:`wants_path` keeps, as text to compare with a log file name's time.

        A name's time ``YYYYMMDDTHHMM[SS]Z`` that is a valid UTC time, written ``YYYYMMDDTHHMMSS`` (seconds ``00``
        when the name has none), is kept by the time window exactly when ``lo <= text <= hi`` (None: no bound). The
        bounds are rounded to whole seconds inward, as the names' times are whole seconds: same answers, no
        ``datetime`` per file.
        """
        lo = hi = None
        if self.start:
            t = self.start - EARLY_MARGIN
            if t.microsecond:  # delivered < t  <=>  delivered < t rounded up to the second
                t = t.replace(microsecond=0) + timedelta(seconds=1)
            lo = _stamp(t)
        if self.end:
            hi = _stamp((self.end + self.late_margin).replace(microsecond=0))  # delivered > t <=> > t rounded down
        return lo, hi

    def describe(self) -> dict:
        """The query as plain JSON-able data (for stats and report provenance)."""
        out = {}
        for key in ("start", "end"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value.strftime("%Y-%m-%dT%H:%M:%SZ")
        for key in ("regions", "accounts", "event_names", "event_sources"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        for key in ("resource", "principal"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.errors_only:
            out["errors_only"] = True
        out["late_margin_s"] = int(self.late_margin.total_seconds())
        return out
