"""Business hours: ``business_hours`` ("08:00-18:00", "Mon-Sat 07:30-19:00") in a time zone, and whether a sign-in
falls outside them (a login signal)."""
from __future__ import annotations

import re
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from trailtools.errors import QueryError

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


_HOURS = re.compile(
    r"^\s*(?:(?P<d1>[A-Za-z]{3})(?:-(?P<d2>[A-Za-z]{3}))?\s+)?"
    r"(?P<h1>\d{1,2}):(?P<m1>\d\d)\s*-\s*(?P<h2>\d{1,2}):(?P<m2>\d\d)\s*$"
)


class BusinessHours(NamedTuple):
    """Working time: [start, end) minutes of the local day, on ``days`` (0 = Monday), in ``zone``."""

    start: int
    end: int
    days: frozenset
    zone: ZoneInfo

    def contains(self, t: pd.Timestamp) -> bool:
        local = t.tz_convert(self.zone)
        m = local.hour * 60 + local.minute
        inside = self.start <= m < self.end if self.start < self.end else (m >= self.start or m < self.end)
        return local.weekday() in self.days and inside


def parse_business_hours(text: str | None, timezone: str | None = "UTC") -> BusinessHours | None:
    """``"08:00-18:00"`` (Monday to Friday) or ``"Mon-Sat 07:30-19:00"`` in an IANA ``timezone``; None for no text.
    A value that cannot be understood is one :class:`QueryError` sentence."""
    try:
        zone = ZoneInfo(str(timezone or "UTC"))
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise QueryError(
            f"timezone {timezone!r} is not a time zone name: use an IANA name such as "
            "\"Europe/Berlin\", \"America/New_York\" or \"UTC\"."
        ) from None
    if text is None or not str(text).strip():
        return None
    m = _HOURS.match(str(text))
    bad = QueryError(
        f"business_hours {text!r} cannot be understood: write \"08:00-18:00\" (Monday to Friday) or "
        "\"Mon-Sat 07:30-19:00\", 24-hour times; an overnight range such as 22:00-06:00 works too."
    )
    if not m:
        raise bad
    h1, m1, h2, m2 = (int(m[k]) for k in ("h1", "m1", "h2", "m2"))
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2) or (h1, m1) == (h2, m2):
        raise bad
    names = [d.capitalize() for d in (m["d1"], m["d2"] or m["d1"]) if d]
    if any(n not in DAYS for n in names):
        raise bad
    first, last = (DAYS.index(names[0]), DAYS.index(names[1])) if names else (0, 4)
    days = frozenset((first + i) % 7 for i in range((last - first) % 7 + 1))
    return BusinessHours(h1 * 60 + m1, h2 * 60 + m2, days, zone)


def outside_hours(signin: dict, hours: BusinessHours | None) -> dict | None:
    """``{"local": "Sat 22:16 America/New_York"}`` when a sign-in falls outside business hours, else None."""
    if hours is None or hours.contains(signin["time"]):
        return None
    return {"local": signin["time"].tz_convert(hours.zone).strftime("%a %H:%M ") + str(hours.zone)}
