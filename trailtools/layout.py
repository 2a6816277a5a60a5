"""Recognize what a file in a CloudTrail tree is from its path alone, before opening it.

CloudTrail writes to S3 as::

    AWSLogs/[o-<org id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<id>.json.gz
    AWSLogs/[o-<org id>/]<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/<account>_CloudTrail-Digest_<region>_..._<time>.json.gz
    AWSLogs/[o-<org id>/]<account>/CloudTrail-Insight/<region>/YYYY/MM/DD/<account>_CloudTrail-Insight_<region>_..._<id>.json.gz

The time in a log file's name is when it was delivered, so every event in it happened before that time. Files that
were renamed or copied flat keep what their names still tell; anything else is a candidate only by extension.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import PurePath

# What a path is, as far as its name tells.
LOG = "log"          # a CloudTrail log file (management/data events)
INSIGHT = "insight"  # a CloudTrail Insights log file (read as events, counted apart)
DIGEST = "digest"    # a log file integrity digest: evidence about files, not events
OTHER = "other"      # anything else: never opened as events

EVENT_EXTENSIONS = (".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")

_NAME = re.compile(
    r"^(?P<account>\d{12})_CloudTrail(?P<kind>-Digest|-Insight)?_(?P<region>[A-Za-z0-9-]+)_"
    r"(?P<time>\d{8}T\d{4,6}Z)(?:_[A-Za-z0-9]+)?\.json(?:\.gz)?$"
)
_ACCOUNT = re.compile(r"^\d{12}$")
_ORG = re.compile(r"^o-[a-z0-9]{10,32}$")
_KIND_BY_DIR = {"CloudTrail": LOG, "CloudTrail-Insight": INSIGHT, "CloudTrail-Digest": DIGEST}
_KIND_BY_SUFFIX = {None: LOG, "-Insight": INSIGHT, "-Digest": DIGEST}


@dataclass(frozen=True)
class PathInfo:
    """What the path of one file tells: its kind and, where the layout says so, account, region and times."""

    kind: str
    account: str | None = None
    region: str | None = None
    org: str | None = None
    day: datetime | None = None        # the YYYY/MM/DD folder (UTC midnight)
    delivered: datetime | None = None  # the delivery time in the file name


def has_event_extension(name: str) -> bool:
    return name.lower().endswith(EVENT_EXTENSIONS)


def _parse_name_time(text: str) -> datetime | None:
    fmt = "%Y%m%dT%H%M%SZ" if len(text) == 16 else "%Y%m%dT%H%MZ"
    try:
        return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def classify(path: str | PurePath) -> PathInfo:
    """Classify one file by its path (no I/O)."""
    parts = PurePath(path).parts
    name = parts[-1] if parts else ""
    info: dict = {}
    kind = None
    # The folder layout below AWSLogs/, if present (the last AWSLogs wins: a bucket copied into a folder named so).
    if "AWSLogs" in parts:
        i = len(parts) - 1 - parts[::-1].index("AWSLogs")
        rest = list(parts[i + 1:-1])
        if rest and _ORG.match(rest[0]):
            info["org"] = rest.pop(0)
        if rest and _ACCOUNT.match(rest[0]):
            info["account"] = rest.pop(0)
            if rest and rest[0] in _KIND_BY_DIR:
                kind = _KIND_BY_DIR[rest.pop(0)]
                if rest:
                    info["region"] = rest.pop(0)
                if len(rest) >= 3 and all(p.isdigit() for p in rest[:3]):
                    try:
                        info["day"] = datetime(int(rest[0]), int(rest[1]), int(rest[2]), tzinfo=timezone.utc)
                    except ValueError:
                        pass
            elif rest:
                kind = OTHER  # e.g. AWSLogs/<acct>/vpcflowlogs/..., elasticloadbalancing/...: not CloudTrail
    m = _NAME.match(name)
    if m:
        name_kind = _KIND_BY_SUFFIX[m.group("kind")]
        kind = kind if kind == OTHER else name_kind
        info.setdefault("account", m.group("account"))
        info.setdefault("region", m.group("region"))
        info["delivered"] = _parse_name_time(m.group("time"))
    if kind is None:
        kind = LOG if has_event_extension(name) else OTHER
    elif kind != OTHER and not has_event_extension(name):
        kind = OTHER
    return PathInfo(kind=kind, **info)
