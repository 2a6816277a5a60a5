"""What every investigation shares: the window it looks at, validated once, and the status of each evidence source
it consulted.

Each investigation (``reboot``, ``login``, ``cost``) has the same shape: ``gather`` does every read once (all the
I/O), ``analysis`` holds pure functions from what was gathered to a verdict and findings, and the object
``investigate()`` returns offers the notebook and the CLI the same methods: ``answer_box()`` (the answer box),
``findings``, ``summary_lines()`` (the answer for a terminal), ``to_json()`` and the views. The investigations are
registered in :mod:`trailtools.investigations.registry`. Each declares what it reads of the trail
(:class:`Needs`), and its loads ask the source for only that.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from trailtools.errors import QueryError
from trailtools.events.query import Query, parse_time


@dataclass(frozen=True)
class Window:
    """A half-open time window [start, end) in UTC."""

    start: pd.Timestamp
    end: pd.Timestamp

    @classmethod
    def resolve(cls, start, end, *, now: pd.Timestamp, length: pd.Timedelta) -> Window:
        """The window of an investigation's ``start``/``end`` parameters (ISO dates or times, or None).

        A missing end is ``now`` (the source's now); a missing start is ``length`` before the end; a date alone as
        the end means its whole day. A window that ends before it starts is one :class:`QueryError` sentence."""
        end_t = pd.Timestamp(parse_time(end, end=True)) if end else pd.Timestamp(now)
        start_t = pd.Timestamp(parse_time(start)) if start else end_t - length
        if end_t <= start_t:
            raise QueryError(f"The window ends ({end_t}) before it starts ({start_t}): swap start and end.")
        return cls(start_t, end_t)

    def as_tuple(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        return self.start, self.end


@dataclass
class SourceStatus:
    """Whether a kind of evidence could be consulted: 'consulted', 'empty' (consulted, nothing there) or
    'unavailable' (with the reason in plain words)."""

    name: str
    status: str
    detail: str = ""


def source_lines(sources: list[SourceStatus]) -> list[str]:
    """One terminal line per evidence source an investigation asked, with why it was unavailable."""
    return [f"  source: {s.name}: {s.status}" + (f" ({s.detail})" if s.status == "unavailable" else "")
            for s in sources]


#: The frame's JSON text columns: whole request and response bodies, most of an event's size.
TEXT_COLUMNS = ("requestParameters", "responseElements", "resources", "additionalEventData", "serviceEventDetails")


@dataclass(frozen=True)
class Needs:
    """What an investigation reads of the trail, declared as data: the eventNames and eventSources it looks at
    (empty: every event the rest of its query keeps) and the frame's columns its analysis, views and reports read
    (empty: every column). :meth:`query` turns it into the query its load pushes down; the frame then holds those
    columns and the ones it always has (:data:`trailtools.events.query.ALWAYS_COLUMNS`).

    ``text_events``: the eventNames whose JSON text columns (:data:`TEXT_COLUMNS`) the analysis reads (empty: every
    event's). An engine that can keeps those columns only on these events' rows, the heaviest part of the others
    (the login's out-of-core engine, :mod:`trailtools.investigations.login.history`)."""

    event_names: tuple[str, ...] = ()
    event_sources: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    text_events: tuple[str, ...] = ()

    def __post_init__(self):
        for name in ("event_names", "event_sources", "columns", "text_events"):
            object.__setattr__(self, name, tuple(dict.fromkeys(getattr(self, name))))

    def query(self, **window) -> Query:
        """The query for a load: these needs with the window, resource, principal ... given."""
        return Query(event_names=window.pop("event_names", self.event_names),
                     event_sources=window.pop("event_sources", self.event_sources), columns=self.columns, **window)

    def to_dict(self) -> dict:
        return {k: list(getattr(self, k)) for k in ("event_names", "event_sources", "columns", "text_events")
                if getattr(self, k)}
