"""Time on charts, in one place: the UTC axis format every timeline uses, and times as the text Vega reads.

Every chart of trailtools draws time on a ``utc`` scale with :data:`AXIS_FORMAT` tick labels (:func:`axis_format`
picks :data:`DATED_AXIS_FORMAT` when the times cross a UTC midnight), and hands Vega ISO 8601 text with a ``Z``
(:func:`iso_series`), which every browser's ``Date.parse`` reads as UTC.
"""
from __future__ import annotations

import pandas as pd

# 24-hour UTC tick labels at every zoom level (a Vega time multi-format; the utc scale makes it UTC).
AXIS_FORMAT = {"milliseconds": "%H:%M:%S.%L", "seconds": "%H:%M:%S", "minutes": "%H:%M", "hours": "%H:%M",
               "date": "%b %d", "month": "%b %Y", "year": "%Y"}
# The same with the date on every tick within a day: on a window of several days Vega's label overlap removal keeps
# every other label, and with AXIS_FORMAT those left could all be "12:00" (the midnights, "Oct 09", removed).
DATED_AXIS_FORMAT = {**AXIS_FORMAT, "milliseconds": "%b %d %H:%M:%S.%L", "seconds": "%b %d %H:%M:%S",
                     "minutes": "%b %d %H:%M", "hours": "%b %d %H:%M"}


def axis_format(times) -> dict:
    """The tick format for an axis over ``times``: :data:`AXIS_FORMAT` (hours only) when they all fall on one UTC
    day, :data:`DATED_AXIS_FORMAT` (the date on every tick) when they span several or none can be read."""
    ts = utc_series(times).dropna()
    if ts.empty or ts.max().normalize() != ts.min().normalize():
        return DATED_AXIS_FORMAT
    return AXIS_FORMAT


def utc_series(values) -> pd.Series:
    """Datetimes as tz-aware UTC (naive ones are taken to be UTC already; what cannot be read becomes NaT)."""
    return pd.to_datetime(pd.Series(values), utc=True, errors="coerce")


def iso_series(ts) -> pd.Series:
    """ISO 8601 with milliseconds and Z: what every browser's Date.parse reads as UTC.

    NaT becomes "" (Vega reads it as null): Altair 6.3 on pandas 3 turns None in a column of strings into NaN,
    which is not JSON.
    """
    ts = utc_series(ts)
    text = ts.dt.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return pd.Series([t[:-3] + "Z" if ok else "" for t, ok in zip(text, ts.notna())], index=ts.index, dtype=str)


def human_series(ts: pd.Series) -> pd.Series:
    """Tz-aware UTC times as ``2026-10-06 14:22:31 UTC``, for tooltips."""
    return ts.dt.strftime("%Y-%m-%d %H:%M:%S UTC")


def iso_text(t) -> str:
    """One time as :func:`iso_series` writes it."""
    return iso_series([t]).iloc[0]


def human_text(t) -> str:
    """One time as :func:`human_series` writes it (naive times are UTC)."""
    return human_series(utc_series([t])).iloc[0]


def epoch_ms(ts) -> int:
    """A time as milliseconds since the epoch: the form of an explicit temporal domain Vega-Lite keeps intact
    (DateTime objects leak into the domain of a layer with x2 as raw objects)."""
    return int(utc_series([ts]).iloc[0].value // 10**6)
