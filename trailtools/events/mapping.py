"""Rebuilding a CloudTrail record from another tool's fields (Filebeat's ECS documents, Security Lake's OCSF rows,
CloudTrail Lake's results): a value put at a dotted path, and JSON text decoded where the other tool flattened an
object into a string."""
from __future__ import annotations

import json


def put(rec: dict, path: str, value) -> None:
    """``rec`` with ``value`` at the dotted ``path`` (``userIdentity.sessionContext.attributes.mfaAuthenticated``),
    making the objects on the way; a non-object in the way is replaced."""
    *parents, last = path.split(".")
    where = rec
    for part in parents:
        nxt = where.get(part)
        if not isinstance(nxt, dict):
            nxt = where[part] = {}
        where = nxt
    where[last] = value


def json_text(value):
    """The object or list a string holds as JSON text; anything else (and text that is not JSON) as it is."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


#: The frame's derived columns and the record fields they are made from (docs/events-frame.md).
_DERIVED_FROM = {
    "actor": ("userIdentity",),
    "instanceIds": ("requestParameters", "responseElements", "resources", "serviceEventDetails"),
}
#: Columns that say where a row came from, not what the record holds.
_NOT_IN_RECORD = frozenset(("_file", "_index"))


def record_fields(columns) -> tuple[str, ...]:
    """The top-level fields of a CloudTrail record that the frame's ``columns`` are read from, in first-seen order:
    ``userIdentity.arn`` and ``actor`` from ``userIdentity``, ``additionalEventData.MFAUsed`` from
    ``additionalEventData``, ``instanceIds`` from the four fields it searches (for sources that select fields:
    Athena, CloudTrail Lake)."""
    out: dict[str, None] = {}
    for name in columns:
        if name in _NOT_IN_RECORD:
            continue
        for top in _DERIVED_FROM.get(name, (name.split(".", 1)[0],)):
            out[top] = None
    return tuple(out)
