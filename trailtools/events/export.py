"""The events frame in other tools' import formats.

Timesketch JSONL (``--format timesketch``): one JSON object per event with Timesketch's three required fields,
``message`` (one readable line: who did what, where, from where, with what error), ``datetime`` (ISO 8601, UTC) and
``timestamp_desc`` (:data:`TIMESTAMP_DESC`), plus ``timestamp`` (microseconds since the epoch), ``data_type``
(:data:`DATA_TYPE`) and the frame's columns as fields. Field names are written for OpenSearch, which Timesketch
stores events in: a dot would make ``responseElements`` both text and an object (``responseElements.ConsoleLogin``)
and the import would fail, so dots become ``_`` (``userIdentity_arn``); ``_file`` and ``_index`` (``_index`` is an
OpenSearch metadata field) become ``source_file`` and ``source_record``. Empty fields are left out.
"""
from __future__ import annotations

import math

import pandas as pd

TIMESTAMP_DESC = "Event Time"
DATA_TYPE = "aws:cloudtrail:event"

_EPOCH = pd.Timestamp(0, tz="UTC")
_MICROSECOND = pd.Timedelta(microseconds=1)
_RENAMED = {"_file": "source_file", "_index": "source_record"}
_RESERVED = frozenset({"message", "datetime", "timestamp", "timestamp_desc", "data_type"})


def timesketch_field(column: str) -> str:
    """The Timesketch field name of a frame column."""
    return _RENAMED.get(column) or column.replace(".", "_")


def _value(value):
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def _text(value) -> str:
    value = _value(value)
    return "" if value is None else str(value)


def message(row: dict) -> str:
    """One line for an event: ``alice: ec2.amazonaws.com RunInstances in us-east-1 from 192.0.2.10 (error
    AccessDenied)``; parts the record lacks are left out."""
    source = _text(row.get("eventSource"))
    line = f"{_text(row.get('actor')) or 'unknown caller'}: {source + ' ' if source else ''}"
    line += _text(row.get("eventName")) or "unknown event"
    for label, column in (("in", "awsRegion"), ("from", "sourceIPAddress")):
        text = _text(row.get(column))
        if text:
            line += f" {label} {text}"
    error = _text(row.get("errorCode"))
    return line + (f" (error {error})" if error else "")


def timesketch_records(frame: pd.DataFrame, columns=None):
    """Yield one Timesketch event (a dict) per row of ``frame``; ``columns``: the frame columns to add as fields
    (default: all). Rows without an ``eventTime`` cannot be placed on a timeline and are not in the frame."""
    columns = list(frame.columns if columns is None else columns)
    names = list(frame.columns)
    for values in frame.itertuples(index=False, name=None):
        row = dict(zip(names, values))
        when = row["eventTime"]
        event = {"message": message(row), "datetime": when.isoformat(),
                 "timestamp": (when - _EPOCH) // _MICROSECOND,
                 "timestamp_desc": TIMESTAMP_DESC, "data_type": DATA_TYPE}
        for column in columns:
            value = _value(row[column])
            field = timesketch_field(column)
            if value is None or value == "" or field in _RESERVED:
                continue
            event[field] = value
        yield event
