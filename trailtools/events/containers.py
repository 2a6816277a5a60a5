"""CloudTrail records inside the containers of other tools: log pipelines, CloudWatch Logs, CloudTrail Lake, Splunk.

Each is recognized by its shape (see :func:`kind`), never by a file name; :func:`walk` yields every record position
of one such container as (the CloudTrail record, or None and the reason it cannot be used), in order, and
:func:`unwrap` does it for one item of an array or one line of JSON Lines. Shapes:

* Elastic Common Schema documents of Filebeat's AWS module: ``event.original``, else the record rebuilt from
  ``aws.cloudtrail.*`` and the ECS fields (:mod:`trailtools.events.ecs`);
* Logstash / Elastic / OpenSearch: the record with pipeline fields beside it (``@timestamp``, ``@version``, ...),
  ``eventTime`` from ``@timestamp`` when missing; also Elasticsearch documents (``{"_source": {...}}``) and search
  responses (``{"hits": {"hits": [...]}}``);
* CloudWatch Logs ``filter-log-events`` / ``get-log-events`` output: ``{"events": [{"message": "<record>"}]}``;
* CloudTrail Lake ``get-query-results`` output: ``{"QueryResultRows": [[{"column": "value"}, ...], ...]}``;
* Splunk JSON exports: ``{"result": {"_raw": "<record>"}}`` per line, ``{"results": [{"_raw": ...}]}``, or
  ``{"_raw": ...}`` items.

CloudWatch Logs exports to S3 (a timestamp, a space, the record, per line) are lines, read by the reader.
"""
from __future__ import annotations

import json
import re

from trailtools.events import ecs

#: fields a log pipeline adds beside the record; CloudTrail has none of them at the top level
PIPELINE_FIELDS = frozenset({"@timestamp", "@version", "tags", "host", "log", "ecs", "agent", "input", "fields",
                             "type", "_index", "_id", "_score", "_type", "_ignored"})

_TRINO_TIME = re.compile(r"^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)(?:Z| UTC)?$")


def _is_event(obj) -> bool:
    return isinstance(obj, dict) and ("eventName" in obj and "eventSource" in obj or "eventTime" in obj)


def _iso(text):
    """'2026-11-03 10:00:00.000' (CloudTrail Lake, Logstash) as '2026-11-03T10:00:00.000Z'; anything else as is."""
    if isinstance(text, str):
        m = _TRINO_TIME.match(text)
        if m:
            return f"{m.group(1)}T{m.group(2)}Z"
    return text


def is_pipeline_record(obj) -> bool:
    """A CloudTrail record as a log pipeline stores it: ``@timestamp`` beside CloudTrail's fields."""
    return isinstance(obj, dict) and "@timestamp" in obj and "eventName" in obj and "eventSource" in obj


def from_pipeline(obj: dict) -> dict:
    """The CloudTrail record of a pipeline document: its pipeline fields dropped, ``eventTime`` from ``@timestamp``
    when the record has none."""
    rec = {k: v for k, v in obj.items() if k not in PIPELINE_FIELDS}
    if "eventTime" not in rec:
        rec["eventTime"] = _iso(obj["@timestamp"])
    return rec


def _loads(text, what: str):
    if not isinstance(text, str):
        return None, f"{what} is not a string"
    try:
        got = json.loads(text)
    except ValueError as exc:
        return None, f"{what} is not valid JSON ({str(exc)[:120]})"
    except RecursionError:
        return None, f"{what} is nested too deeply to be read"
    if not isinstance(got, dict):
        return None, f"{what} is a JSON {type(got).__name__}, not a CloudTrail record"
    return got, None


def is_wrapped(obj) -> bool:
    """One record in another tool's wrapping (an item of an array, or a line)."""
    if not isinstance(obj, dict):
        return False
    if is_pipeline_record(obj) or ecs.is_ecs(obj):
        return True
    if isinstance(obj.get("_source"), dict):
        return True
    if "_raw" in obj and isinstance(obj["_raw"], str):
        return True
    result = obj.get("result")
    return isinstance(result, dict) and isinstance(result.get("_raw"), str)


def unwrap(obj, n: int, mapped: ecs.Mapped | None = None):
    """(record, None) or (None, reason) for one item at position ``n``; an item that is no wrapping is returned as
    it is (the reader's own checks apply to it). ``mapped`` counts the Elastic Common Schema documents rebuilt from
    their fields and what they could not give back."""
    if not isinstance(obj, dict):
        return obj, None
    if isinstance(obj.get("_source"), dict):  # an Elasticsearch / OpenSearch document
        obj = obj["_source"]
    result = obj.get("result")
    if isinstance(result, dict) and "_raw" in result:  # a Splunk export line
        obj = result
    if "_raw" in obj:  # Splunk: the record as it was indexed (fields Splunk extracted beside it are not used)
        return _loads(obj["_raw"], f"Splunk result {n}: _raw")
    if ecs.is_ecs(obj):  # Filebeat's AWS module: event.original, or the record rebuilt from aws.cloudtrail.*
        rec, why, lost = ecs.from_ecs(obj)
        if mapped is not None and rec is not None and not isinstance(ecs.get(obj, "event.original"), str):
            mapped.documents += 1
            mapped.lost.update(lost)
        return rec, why
    if is_pipeline_record(obj):
        return from_pipeline(obj), None
    return obj, None


def kind(obj) -> str | None:
    """Which container ``obj`` is ('cloudwatch', 'lake', 'splunk', 'elastic'), or None."""
    if not isinstance(obj, dict):
        return None
    events = obj.get("events")
    if isinstance(events, list) and (any(k in obj for k in ("searchedLogStreams", "nextForwardToken"))
                                     or any(isinstance(e, dict) and "message" in e for e in events)):
        return "cloudwatch"
    if isinstance(obj.get("QueryResultRows"), list):
        return "lake"
    if isinstance(obj.get("results"), list) and all(isinstance(r, dict) and "_raw" in r for r in obj["results"]):
        return "splunk"
    hits = obj.get("hits")
    if isinstance(hits, dict) and isinstance(hits.get("hits"), list):
        return "elastic"
    if is_wrapped(obj):
        return "one"
    return None


def _lake_row(row, n: int):
    if not isinstance(row, list):
        return None, f"CloudTrail Lake row {n} is not a list of columns"
    rec: dict = {}
    for cell in row:
        if not isinstance(cell, dict):
            return None, f"CloudTrail Lake row {n} has a column that is not an object"
        for name, value in cell.items():
            if isinstance(value, str) and value[:1] in "{[":
                try:
                    value = json.loads(value)
                except (ValueError, RecursionError):
                    pass  # Lake's own text for a structure (not JSON): kept as text
            where = rec
            *path, last = str(name).split(".")
            for part in path:
                where = where.setdefault(part, {}) if isinstance(where.get(part, {}), dict) else {}
            where[last] = value
    if "eventTime" in rec:
        rec["eventTime"] = _iso(rec["eventTime"])
    return rec, None


def walk(obj, mapped: ecs.Mapped | None = None):
    """Yield (record or None, reason or None) for every record position of a container :func:`kind` knows."""
    what = kind(obj)
    if what == "cloudwatch":
        for n, event in enumerate(obj["events"]):
            if not isinstance(event, dict):
                yield None, f"CloudWatch Logs event {n} is not an object"
            else:
                yield _loads(event.get("message"), f"CloudWatch Logs event {n}: message")
    elif what == "lake":
        for n, row in enumerate(obj["QueryResultRows"]):
            yield _lake_row(row, n)
    elif what == "splunk":
        for n, item in enumerate(obj["results"]):
            yield unwrap(item, n, mapped)
    elif what == "elastic":
        for n, item in enumerate(obj["hits"]["hits"]):
            yield unwrap(item, n, mapped)
    elif what == "one":
        yield unwrap(obj, 0, mapped)
