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
from trailtools.events.table import COLUMNS as FRAME_COLUMNS

#: CloudTrail delivers most events within minutes, but not always. A log file is read when its delivery time falls
#: in [start - EARLY_MARGIN, end + late_margin]: a file delivered up to ``late_margin`` after the window's end may
#: still hold events from inside the window. Raise ``late_margin`` for trails known to deliver later.
DEFAULT_LATE_MARGIN = timedelta(hours=3)
#: Files are named by delivery time, which is never before their events; this guards against clock skew only.
EARLY_MARGIN = timedelta(minutes=15)

#: The columns every frame holds, whatever ``Query.columns`` asks: the time it is sorted by, what identifies an event
#: (its ID, name and service: evidence and duplicates) and where each row came from (``raw()``, the re-read that
#: compares copies of an event). See docs/events-frame.md.
ALWAYS_COLUMNS = ("eventTime", "eventSource", "eventName", "eventID", "_file", "_index")
#: Every column a frame can hold, in the frame's order.
ALL_COLUMNS = tuple(name for name, _ in FRAME_COLUMNS) + ("_file", "_index")
#: Where a principal is matched (see :func:`trailtools.events.frame.query_mask`).
PRINCIPAL_COLUMNS = (
    "userIdentity.arn", "userIdentity.userName", "actor", "userIdentity.principalId", "userIdentity.accessKeyId",
    "userIdentity.sessionContext.sessionIssuer.userName", "userIdentity.sessionContext.sessionIssuer.arn",
)
#: Where a resource is matched, as a whole word.
RESOURCE_COLUMNS = ("resources", "requestParameters", "responseElements", "serviceEventDetails")

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
    columns: the frame's columns to keep (column projection; empty: every column). The frame then holds these and
        :data:`ALWAYS_COLUMNS`, with the same rows as without projection; sources read no more than that (and the
        columns the query's own filters need) where they can: the cache reads only those columns, Athena and Lake
        select only them.
    delivered_from, delivered_before: read only the log files delivered in [delivered_from, delivered_before)
        (a file's delivery time is in its name), besides what the time window prunes; for reading a long window
        slice by slice with every file read once (events are still kept by ``start``/``end``). Sources that read no
        files (LookupEvents, Athena, Lake) ignore them.
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
    columns: tuple[str, ...] = ()
    delivered_from: datetime | None = None
    delivered_before: datetime | None = None

    def __post_init__(self):
        object.__setattr__(self, "start", parse_time(self.start))
        object.__setattr__(self, "end", parse_time(self.end, end=True))
        object.__setattr__(self, "delivered_from", parse_time(self.delivered_from))
        object.__setattr__(self, "delivered_before", parse_time(self.delivered_before))
        for name in ("regions", "accounts", "event_names", "event_sources", "columns"):
            object.__setattr__(self, name, _as_tuple(getattr(self, name)))
        unknown = [c for c in self.columns if c not in ALL_COLUMNS]
        if unknown:
            raise QueryError(f"{unknown[0]!r} is not a column of the events frame: docs/events-frame.md lists them "
                             "(for example eventName, userIdentity.arn, sourceIPAddress).")
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

    def frame_columns(self) -> tuple[str, ...] | None:
        """The columns the frame holds, in the frame's order: those asked and :data:`ALWAYS_COLUMNS`; None: all."""
        if not self.columns:
            return None
        wanted = {*self.columns, *ALWAYS_COLUMNS}
        return tuple(c for c in ALL_COLUMNS if c in wanted)

    def filter_columns(self) -> tuple[str, ...]:
        """The columns the query's own filters read (:func:`trailtools.events.frame.query_mask`)."""
        out = ["eventTime"] if self.start or self.end else []
        for name, values in (("awsRegion", self.regions), ("recipientAccountId", self.accounts),
                             ("eventName", self.event_names), ("eventSource", self.event_sources)):
            if values:
                out.append(name)
        if self.errors_only:
            out.append("errorCode")
        if self.resource:
            out += RESOURCE_COLUMNS
        if self.principal:
            out += PRINCIPAL_COLUMNS
        return tuple(out)

    def read_columns(self) -> tuple[str, ...] | None:
        """The columns a load reads before the query is applied: the frame's and those its filters need, in the
        frame's order; None: all."""
        if not self.columns:
            return None
        wanted = {*self.frame_columns(), *self.filter_columns()}
        return tuple(c for c in ALL_COLUMNS if c in wanted)

    @property
    def prunes_paths(self) -> bool:
        """Whether any file could be pruned by its path (a time window, regions or accounts)."""
        return bool(self.start or self.end or self.regions or self.accounts or self.delivered_from
                    or self.delivered_before)

    def delivery_bounds(self) -> tuple[datetime | None, datetime | None, bool]:
        """The delivery times of the files to read: (lowest, highest, whether the highest is excluded); None: no
        bound. From the time window widened by the delivery margins, narrowed by ``delivered_from`` and
        ``delivered_before``."""
        lo = self.start - EARLY_MARGIN if self.start else None
        if self.delivered_from is not None and (lo is None or self.delivered_from > lo):
            lo = self.delivered_from
        hi = self.end + self.late_margin if self.end else None
        before = self.delivered_before is not None and (hi is None or self.delivered_before <= hi)
        return lo, self.delivered_before if before else hi, before

    def wants_path(self, info: PathInfo) -> bool:
        """False when the path alone proves the file holds no event of this query (path pruning)."""
        if self.regions and info.region and info.region not in self.regions:
            return False
        if self.accounts and info.account and info.account not in self.accounts:
            return False
        lo, hi, before = self.delivery_bounds()
        if info.delivered is not None:
            if lo is not None and info.delivered < lo:
                return False
            if hi is not None and (info.delivered >= hi if before else info.delivered > hi):
                return False
        elif info.day is not None:
            day_end = info.day + timedelta(days=1)
            if lo is not None and day_end < lo:
                return False
            if hi is not None and (info.day >= hi if before else info.day > hi):
                return False
        return True

    def delivery_text_bounds(self) -> tuple[str | None, str | None]:
        """The delivery times that :meth:`wants_path` keeps, as text to compare with a log file name's time.

        A name's time ``YYYYMMDDTHHMM[SS]Z`` that is a valid UTC time, written ``YYYYMMDDTHHMMSS`` (seconds ``00``
        when the name has none), is kept by the time window exactly when ``lo <= text <= hi`` (None: no bound). The
        bounds are rounded to whole seconds inward, as the names' times are whole seconds: same answers, no
        ``datetime`` per file.
        """
        low, high, before = self.delivery_bounds()
        lo = hi = None
        if low is not None:
            t = low
            if t.microsecond:  # delivered < t  <=>  delivered < t rounded up to the second
                t = t.replace(microsecond=0) + timedelta(seconds=1)
            lo = _stamp(t)
        if high is not None:
            if before:  # delivered >= t  <=>  delivered > t rounded up to the second, less a second
                t = (high.replace(microsecond=0) + timedelta(seconds=1) if high.microsecond else high)
                hi = _stamp(t - timedelta(seconds=1))
            else:
                hi = _stamp(high.replace(microsecond=0))  # delivered > t <=> > t rounded down
        return lo, hi

    def describe(self) -> dict:
        """The query as plain JSON-able data (for stats and report provenance)."""
        out = {}
        for key in ("start", "end"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value.strftime("%Y-%m-%dT%H:%M:%SZ")
        for key in ("delivered_from", "delivered_before"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value.strftime("%Y-%m-%dT%H:%M:%SZ")
        for key in ("regions", "accounts", "event_names", "event_sources", "columns"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        for key in ("resource", "principal"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.errors_only:
            out["errors_only"] = True
        out["late_margin_s"] = int(self.late_margin.total_seconds())
        return out
