"""Recognize what a file in a CloudTrail tree is from its path alone, before opening it.

CloudTrail writes to S3 as::

    AWSLogs/[o-<org
    id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<id>.json.gz
    AWSLogs/[o-<org
    id>/]<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/<account>_CloudTrail-Digest_<region>_..._<time>.json.gz
    AWSLogs/[o-<org
    id>/]<account>/CloudTrail-Insight/<region>/YYYY/MM/DD/<account>_CloudTrail-Insight_<region>_..._<id>.json.gz

The time in a log file's name is when it was delivered, so every event in it happened before that time. Files that
were renamed or copied flat keep what their names still tell; anything else is a candidate only by extension.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePath

# What a path is, as far as its name tells.
LOG = "log"          # a CloudTrail log file (management/data events)
INSIGHT = "insight"  # a CloudTrail Insights log file (read as events, counted apart)
DIGEST = "digest"    # a log file integrity digest: evidence about files, not events
OTHER = "other"      # anything else: never opened as events

EVENT_EXTENSIONS = (".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")

#: The name of a file CloudTrail writes (as RE2, Arrow's regular expressions, reads it too: see
#: :func:`trailtools.events.table.delivery_times`).
NAME_PATTERN = (r"^(?P<account>\d{12})_CloudTrail(?P<kind>-Digest|-Insight)?_(?P<region>[A-Za-z0-9-]+)_"
                r"(?P<time>\d{8}T\d{4,6}Z)(?:_[A-Za-z0-9]+)?\.json(?:\.gz)?$")
_NAME = re.compile(NAME_PATTERN)
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


#: Names of files that may hold events whatever else they are called: archives and compressed files (read in place,
#: member by member), Security Lake's Parquet. A local file is sniffed by its content; an S3 object is only fetched
#: when its key says it may be one of these.
CONTAINER_EXTENSIONS = (".zip", ".tar", ".tgz", ".gz", ".bz2", ".zst", ".parquet")


def is_container_name(name: str) -> bool:
    return name.lower().endswith(CONTAINER_EXTENSIONS)


def _parse_name_time(text: str) -> datetime | None:
    """'20261103T1005Z' or '20261103T100500Z' (digits already checked by the name pattern)."""
    try:
        second = int(text[13:15]) if len(text) == 16 else 0
        return datetime(int(text[0:4]), int(text[4:6]), int(text[6:8]), int(text[9:11]), int(text[11:13]), second,
                        tzinfo=UTC)
    except ValueError:
        return None


_VALID_DAYS: dict[str, bool] = {}


def name_time_text(text: str) -> str | None:
    """A log file name's time ('20261103T1005Z', '20261103T100500Z') as 'YYYYMMDDTHHMMSS' (seconds '00' when the
    name has none), or None when it is not a valid time: the text form of :func:`_parse_name_time`, which gives None
    exactly then (same digits, already checked by the name pattern), for comparing with
    ``Query.delivery_text_bounds`` without a datetime per file."""
    ok = _VALID_DAYS.get(text[:8])
    if ok is None:
        try:
            datetime(int(text[0:4]), int(text[4:6]), int(text[6:8]))
            ok = True
        except ValueError:
            ok = False
        if len(_VALID_DAYS) < 65536:
            _VALID_DAYS[text[:8]] = ok
    second = text[13:15] if len(text) == 16 else "00"
    if not ok or text[9:11] >= "24" or text[11:13] >= "60" or second >= "60":
        return None
    return text[:13] + second


#: The match of a CloudTrail file name (groups account, kind, region, time), or None.
match_name = _NAME.match
#: LOG, INSIGHT or DIGEST for the ``kind`` group of a name's match (None, '-Insight', '-Digest').
KIND_BY_SUFFIX = _KIND_BY_SUFFIX


def classify_folder(folder: str) -> PathInfo:
    """What a folder's place in the S3 layout tells about every file in it (kind None: not inside the layout)."""
    parts = folder.replace("\\", "/").split("/")
    if "AWSLogs" not in parts:
        return _NOWHERE
    i = len(parts) - 1 - parts[::-1].index("AWSLogs")
    rest = parts[i + 1:]
    info: dict = {}
    kind = None
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
                    info["day"] = datetime(int(rest[0]), int(rest[1]), int(rest[2]), tzinfo=UTC)
                except ValueError:
                    pass
        elif rest:
            kind = OTHER  # e.g. AWSLogs/<acct>/vpcflowlogs/..., elasticloadbalancing/...: not CloudTrail
    return PathInfo(kind=kind, **info)


_NOWHERE = PathInfo(kind=None)


def classify_name(name: str, folder: PathInfo = _NOWHERE) -> PathInfo:
    """Classify a file by its name, in a folder already classified (no I/O)."""
    m = _NAME.match(name)
    if m is None:
        if folder.kind == OTHER or not has_event_extension(name):
            return PathInfo(OTHER, folder.account, folder.region, folder.org, folder.day)
        return folder if folder.kind is not None else PathInfo(LOG)
    kind = OTHER if folder.kind == OTHER else _KIND_BY_SUFFIX[m.group("kind")]
    return PathInfo(kind, folder.account or m.group("account"), folder.region or m.group("region"), folder.org,
                     folder.day, _parse_name_time(m.group("time")))


def classify(path: str | PurePath) -> PathInfo:
    """Classify one file by its full path (no I/O)."""
    folder, _, name = str(path).replace("\\", "/").rpartition("/")
    return classify_name(name, classify_folder(folder))


# ---- names that must never become paths ----------------------------------------------------------------------------

#: Control characters (C0, DEL, C1): never in a name CloudTrail writes; NUL cannot even be in a file name.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: What :func:`shown_name` escapes: the controls, and the invisible format characters that reorder or hide text.
_UNSHOWN = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")


def unsafe_key(key: str) -> str | None:
    """Why an S3 key (or a file name from the evidence) would be dangerous to turn into a path, or None.

    A key with a ``..`` segment, a leading ``/`` (or ``\\``, or a drive such as ``C:``), a NUL or another control
    character is never one CloudTrail writes; whoever wrote it may mean to escape a folder or to write on the
    terminal. Such keys are skipped, with this reason.
    """
    if "\x00" in key:
        return "its key holds a NUL character"
    if _CONTROL.search(key):
        return "its key holds control characters"
    if key.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", key):
        return "its key is an absolute path"
    if ".." in re.split(r"[/\\]", key):
        return "its key has a '..' segment (it would point outside its folder)"
    return None


def shown_name(name: str, limit: int = 300) -> str:
    """A name from the evidence as it can be shown or stored as data: control and invisible characters as
    ``\\xNN``/``\\uNNNN``, lone surrogates escaped, and at most ``limit`` characters (the rest counted)."""
    text = _UNSHOWN.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", name)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit} more characters)"
