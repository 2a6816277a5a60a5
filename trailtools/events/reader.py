"""Read one file of CloudTrail into records, whatever container it came in.

Accepted containers (checked by shape, not by file name):
  * ``{"Records": [...]}``: the S3 delivery format (also CloudTrail Insights files);
  * ``[...]``: a bare JSON array of records;
  * JSON Lines: one record, or one ``{"Records": [...]}`` object, per line;
  * concatenated documents: ``{"Records": [...]}{"Records": [...]}``, with or without whitespace between (every
    document is read; what follows the last complete one is said, with the records recovered from it);
  * LookupEvents output: ``{"Events": [{"CloudTrailEvent": "<record as a JSON string>", ...}]}`` (boto3, aws cli);
  * a single record object;
  * other tools' containers (:mod:`trailtools.events.containers`): Logstash/Elastic/OpenSearch documents, CloudWatch
    Logs ``filter-log-events``/``get-log-events`` output, CloudTrail Lake query results, Splunk exports; and
    CloudWatch Logs exports to S3 (a timestamp, a space, the record, per line).
Gzip, bzip2 and Zstandard are recognized by their magic bytes (:mod:`trailtools.events.compression`); zip and
tar archives are read member by member (:mod:`trailtools.events.archives`). Digest files are recognized and not read
as events. Anything else, and every record that cannot be used, becomes a counted reason, never an exception; a
truncated file gives up the complete records it still holds. What one file or record may cost is bounded
(:mod:`trailtools.events.limits`: decompressed size, record size, nesting depth); text that is not valid Unicode is
kept with the bad code units escaped, and counted.
"""
from __future__ import annotations

import gzip
import json
import re
import zlib
from dataclasses import dataclass, field
from operator import attrgetter

import msgspec

from trailtools.events import compression, containers, ecs, ocsf_api
from trailtools.events.limits import Limits, describe
from trailtools.events.records import Envelope, Record, coerce
from trailtools.events.safe_open import MAX_RATIO, inflated_size, too_large

try:  # Intel ISA-L gunzips 2-3x faster than zlib; same results.
    from isal import igzip as _fast_gzip
    from isal import isal_zlib as _fast_zlib
except ImportError:  # pragma: no cover - isal is a declared dependency, this keeps the reader working without it
    _fast_gzip = gzip
    _fast_zlib = zlib

_GZIP_MAGIC = b"\x1f\x8b"
_DECODE_ENVELOPE = msgspec.json.Decoder(Envelope)
_DECODE_LIST = msgspec.json.Decoder(list[Record])
_DECODE_ANY = msgspec.json.Decoder()

DIGEST = "digest"
NOT_CLOUDTRAIL = "other"


@dataclass
class FileResult:
    """What one file gave: records with their positions in the file, and what could not be used."""

    records: list[Record] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)       # position of each record in the file's own order
    skipped: list[tuple[int | None, str]] = field(default_factory=list)  # (position or None for the file, reason)
    positions: int = 0                                     # records seen (used or not)
    kind: str | None = None                                # "digest" or "other" (valid JSON, not CloudTrail)
    error: str | None = None                               # the file as a whole could not be used
    text_escaped: int = 0                                  # records kept with text that was not valid Unicode
    mapped: ecs.Mapped = field(default_factory=ecs.Mapped)  # ECS documents rebuilt, and what they could not give
    checks: _Checks | None = field(default=None, repr=False, compare=False)


_DEFAULT_LIMITS = Limits()


def decompress(data: bytes, max_bytes: int | None = None) -> tuple[bytes, str | None]:
    """Gunzip when gzip (bunzip2, unzstd when those); on a truncated or corrupt stream return what could be recovered
    and the reason.

    Past ``max_bytes`` (default: ``Limits.max_file_bytes``) of text nothing is returned but the reason: a gzip file
    that could expand past it is first inflated in a streaming way, counting and keeping nothing.
    """
    if max_bytes is None:
        max_bytes = _DEFAULT_LIMITS.max_file_bytes
    if not data.startswith(_GZIP_MAGIC):
        if compression.kind(data):  # bzip2, Zstandard: bounded the same way
            return compression.inflate(data, max_bytes)
        if len(data) > max_bytes:
            return b"", f"larger than the limit of {describe(max_bytes)} (max_file_bytes): not read"
        return data, None
    if len(data) * MAX_RATIO > max_bytes and inflated_size(data, max_bytes) > max_bytes:
        return b"", too_large(max_bytes)
    try:  # the common case, one complete gzip member, without the file-object machinery of igzip.decompress
        d = _fast_zlib.decompressobj(31)
        text = d.decompress(data)
        if d.eof and not d.unused_data:
            return text, None
    except Exception:  # noqa: BLE001 - anything odd takes the full path below, which says what is wrong
        pass
    try:
        return _fast_gzip.decompress(data), None
    except (OSError, EOFError, zlib.error, _fast_zlib.error, ValueError) as exc:  # isal raises its own error
        d = zlib.decompressobj(wbits=31)
        try:
            partial = d.decompress(data)
        except zlib.error:
            partial = b""
        return partial, f"truncated or corrupt gzip ({exc})"


def _looks_like_record(obj) -> bool:
    return isinstance(obj, dict) and ("eventTime" in obj or ("eventName" in obj and "eventSource" in obj)
                                      or containers.is_wrapped(obj))


def _describe_json(obj) -> str:
    if isinstance(obj, dict):
        keys = escape_text(", ".join(map(str, list(obj)[:5])))
        return f"a JSON object with keys {keys}" if keys else "an empty JSON object"
    if isinstance(obj, list):
        return f"a JSON array of {len(obj)} items, none a CloudTrail record"
    return f"a JSON {type(obj).__name__}"


def iter_raw(obj, mapped: ecs.Mapped | None = None):
    """Yield (raw record or None, reason or None) for every record position of a decoded file, in file order.

    This walk defines the positions stored in the frame's ``_index`` column, so a row's raw record can be found again.
    Returns a generator; a file that is not CloudTrail at all yields nothing (see :func:`container_kind`).
    """
    if isinstance(obj, list):
        for n, item in enumerate(obj):
            yield containers.unwrap(item, n, mapped)
    elif isinstance(obj, dict):
        if isinstance(obj.get("Records"), list):
            yield from (containers.unwrap(item, n, mapped) for n, item in enumerate(obj["Records"]))
        elif isinstance(obj.get("Events"), list):
            for n, entry in enumerate(obj["Events"]):
                text = entry.get("CloudTrailEvent") if isinstance(entry, dict) else None
                if not isinstance(text, str):
                    yield None, f"LookupEvents entry {n} has no CloudTrailEvent string"
                    continue
                try:
                    yield json.loads(text), None
                except ValueError as exc:
                    yield None, f"LookupEvents entry {n}: CloudTrailEvent is not valid JSON ({exc})"
                except RecursionError:
                    yield None, f"LookupEvents entry {n}: CloudTrailEvent is nested too deeply to be read"
        elif containers.kind(obj) is not None:
            yield from containers.walk(obj, mapped)
        elif _looks_like_record(obj):
            yield obj, None


def container_kind(obj) -> str | None:
    """'events', 'digest', or None when the decoded JSON is not CloudTrail."""
    if isinstance(obj, list):
        if not obj or any(_looks_like_record(x) for x in obj):
            return "events"
        return None
    if isinstance(obj, dict):
        if (isinstance(obj.get("Records"), list) or isinstance(obj.get("Events"), list) or _looks_like_record(obj)
                or containers.kind(obj) is not None):
            return "events"
        if "digestStartTime" in obj and "logFiles" in obj:
            return DIGEST
    return None


#: a line of a CloudWatch Logs log group exported to S3: the ingestion time, a space, the log event (the record)
_EXPORT_LINE = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ")


def _split_lines(text: bytes) -> list[tuple[object, str | None]]:
    """JSON Lines: each non-blank line decoded alone; (object or None, reason). In a CloudWatch Logs export (the
    first line starts with a timestamp and a space) every line must: the prefix is dropped."""
    out = []
    export = _EXPORT_LINE.match(text) is not None
    for n, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        if export:
            prefix = _EXPORT_LINE.match(line)
            if prefix is None:
                out.append((None, f"line {n + 1} of a CloudWatch Logs export does not start with a timestamp"))
                continue
            line = line[prefix.end():]
        try:
            out.append((_DECODE_ANY.decode(line), None))
        except msgspec.DecodeError as exc:
            out.append((None, f"line {n + 1} is not valid JSON ({exc})"))
        except RecursionError:
            out.append((None, f"line {n + 1} is nested too deeply to be read"))
    return out


def _salvage(text: bytes) -> list:
    """Complete records at the start of a truncated ``{"Records":[...`` or ``[...`` document."""
    s = text.decode("utf-8", "replace")
    start = s.find("[")
    if start < 0:
        return []
    dec = json.JSONDecoder()
    pos, out = start + 1, []
    while True:
        while pos < len(s) and s[pos] in " \t\r\n,":
            pos += 1
        try:
            obj, pos = dec.raw_decode(s, pos)
        except (ValueError, RecursionError):
            return out
        out.append(obj)


_STREAM = json.JSONDecoder(strict=False)


def _ordinal(k: int) -> str:
    if k <= 3:
        return ("first", "second", "third")[k - 1]
    return f"{k:,}" + ("th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th"))


def _split_documents(text: bytes) -> tuple[list[tuple[object, None]], str | None, bool] | None:
    """Concatenated JSON documents, with or without whitespace between: (each complete document, in order), (what
    could not be read after the last of them, or None), (whether the first one ended on the file's first line).
    None when not even the first document is complete, or when the text is not valid UTF-8.

    When the text after the last complete document is not JSON (a document cut short, junk), the complete records
    at its start are recovered as one more ``{"Records": [...]}`` document and the problem says how much was lost.
    """
    try:
        s = text.decode("utf-8")
    except UnicodeDecodeError:  # left to the whole-file reasons, which say the text is not valid
        return None
    n = len(s)
    docs: list[tuple[object, None]] = []
    pos = first_end = 0
    while True:
        while pos < n and s[pos] in " \t\r\n":
            pos += 1
        if pos >= n:
            break
        try:
            obj, end = _STREAM.raw_decode(s, pos)
        except (ValueError, RecursionError) as exc:
            if not docs:
                return None
            rest = s[pos:]
            salvaged = _salvage(rest.encode())
            salvaged = salvaged if any(_looks_like_record(x) for x in salvaged) else []
            after = _ordinal(len(docs))
            problem = (f"the {n - pos:,} characters after the file's {after} JSON document (from character {pos:,}) "
                       f"are not valid JSON ({str(exc)[:120]}); ")
            if salvaged:
                docs.append(({"Records": salvaged}, None))
                problem += (f"{len(salvaged)} complete record{'s' if len(salvaged) != 1 else ''} recovered from "
                            "them, the rest is lost")
            else:
                problem += "no complete record could be recovered from them"
            return docs, problem, "\n" not in s[:first_end]
        if not docs:
            first_end = end
        docs.append((obj, None))
        pos = end
    if len(docs) < 2:
        return None
    return docs, None, "\n" not in s[:first_end]


def decode_document(text: bytes) -> tuple[list[tuple[object, str | None]] | None, object | None, str | None]:
    """Decode a whole document untyped: (JSON Lines items or concatenated documents, or None), (the object, or
    None), (file-level problem)."""
    try:
        return None, _DECODE_ANY.decode(text), None
    except msgspec.DecodeError as exc:
        whole_error = str(exc)
    except RecursionError:
        whole_error = _TOO_DEEP
    try:  # raw control characters inside strings (seen in AWS's own examples) are tolerated, not fatal
        return None, json.loads(text, strict=False), None
    except UnicodeDecodeError:  # bytes that are not UTF-8: kept as lone surrogates, escaped later (see _Checks)
        try:
            return None, json.loads(bytes(text).decode("utf-8", "surrogateescape"), strict=False), None
        except (ValueError, RecursionError):
            pass
    except (ValueError, RecursionError):
        pass
    lines = _split_lines(text) if b"\n" in text.strip() or _EXPORT_LINE.match(text) else None
    if lines and all(reason is None for _, reason in lines):  # JSON Lines
        return lines, None, None
    if lines and _EXPORT_LINE.match(text):  # a CloudWatch Logs export: each bad line costs that line only
        return lines, None, None
    stream = _split_documents(text)
    if stream is not None and not any(container_kind(doc) == "events" for doc, _ in stream[0]):
        stream = None  # documents, none of them CloudTrail: said as before, as a file that is not valid JSON
    if stream is not None and stream[1] is None:  # every document complete
        return stream[0], None, None
    # JSON Lines with bad lines (each costs its line only) when most lines are whole documents and the first document
    # did not span several lines; else the documents read and what was lost after them (a pretty-printed file cut
    # short is not JSON Lines because a few of its lines, "abc" or 12, happen to be JSON)
    if (lines and 2 * sum(reason is None for _, reason in lines) >= len(lines)
            and (stream is None or stream[2])):
        return lines, None, None
    if stream is not None:
        return stream[0], None, stream[1]
    return None, None, _TOO_DEEP if whole_error == _TOO_DEEP else f"invalid JSON ({whole_error})"


try:  # the same count in C (whatever TRAILTOOLS_NATIVE says: it is no other path, only the same answer faster)
    from trailtools.events._scan import nesting as _native_nesting
except ImportError:  # pragma: no cover - not built
    _native_nesting = None

_TOO_DEEP = "JSON nested far deeper than any limit (max_depth) allows: not read"


# ---- limits and bad text ----------------------------------------------------------------------------------------

#: a JSON string (possessive: linear time on any input, an unclosed one runs to the end)
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.S)
#: an escape that may stand for a lone surrogate, or a byte that is not ASCII (maybe not UTF-8)
_MAYBE_BAD_TEXT = re.compile(rb"\\u[dD][89a-fA-F]|[\x80-\xff]")


def nesting(body: bytes) -> int:
    """How deep the containers of a JSON text nest (``[]``: 1); strings are not counted. Linear time; memory: the
    text without its strings, and a few megabytes. (Where trailtools/events/_scan.c is built, its twin does this.)"""
    if _native_nesting is not None:
        return _native_nesting(body)
    return _python_nesting(body)


def _python_nesting(body: bytes) -> int:
    import numpy as np  # noqa: PLC0415 (heavy, loaded on use)

    skeleton = np.frombuffer(_JSON_STRING.sub(b"", body), np.uint8)
    depth = deepest = 0
    block = 1 << 22
    for at in range(0, len(skeleton), block):
        part = skeleton[at:at + block]
        steps = ((part == 0x5B) | (part == 0x7B)).astype(np.int32)
        steps -= (part == 0x5D) | (part == 0x7D)
        levels = np.cumsum(steps)
        levels += depth
        if len(levels):
            deepest = max(deepest, int(levels.max()))
            depth = int(levels[-1])
    return deepest


def _depth_over(obj, limit: int) -> bool:
    """Whether a decoded record nests more than ``limit`` levels (the record object is level 1)."""
    stack = [(obj, 1)]
    while stack:
        o, d = stack.pop()
        values = o.values() if isinstance(o, dict) else o
        if d > limit:
            return True
        stack.extend((v, d + 1) for v in values if isinstance(v, (dict, list)))
    return False


def escape_text(s: str) -> str:
    """A string with its lone surrogates (text that is not valid Unicode) written as ``\\udXXX``."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "backslashreplace").decode("utf-8")


def _clean(obj) -> tuple[object, int]:
    """A decoded value with every string (keys too) escaped by :func:`escape_text`; and how many were changed."""
    changed = 0

    def fix(s: str) -> str:
        nonlocal changed
        t = escape_text(s)
        changed += t is not s
        return t

    def walk(o, depth: int = 0):
        if isinstance(o, str):
            return fix(o)
        if depth > 1000:  # deeper than any decoder gives: left as is (and too deep for the limits anyway)
            return o
        if isinstance(o, dict):
            return {fix(k) if isinstance(k, str) else k: walk(v, depth + 1) for k, v in o.items()}
        if isinstance(o, list):
            return [walk(v, depth + 1) for v in o]
        return o

    return walk(obj), changed


class _Checks:
    """What :func:`_add` must check in one file's records, decided once from the file's text."""

    def __init__(self, body: bytes, limits: Limits, deep: bool):
        self.limits = limits
        self.deep = deep                                         # the text nests deeper than the limit somewhere
        self.big = len(body) > limits.max_record_bytes          # a record could be larger than the limit
        self.text = _MAYBE_BAD_TEXT.search(body) is not None    # a string could be bad Unicode


def _too_big(rec: Record, limits: Limits) -> str | None:
    size = len(msgspec.json.encode(rec))
    if size > limits.max_record_bytes:
        return (f"record larger than the limit of {describe(limits.max_record_bytes)} ({size:,} bytes; "
                "max_record_bytes): skipped")
    return None


def _add(result: FileResult, pos: int, raw, reason: str | None) -> None:
    result.positions += 1
    if reason is not None:
        result.skipped.append((pos, reason))
        return
    checks = result.checks
    escaped = 0
    if checks is not None:
        if checks.deep and isinstance(raw, (dict, list)) and _depth_over(raw, checks.limits.max_depth):
            result.skipped.append((pos, f"record nested deeper than the limit of {checks.limits.max_depth} levels "
                                        "(max_depth): skipped"))
            return
        if checks.text:
            raw, escaped = _clean(raw)
    rec = coerce(raw)
    if isinstance(rec, str):
        result.skipped.append((pos, rec))
        return
    if checks is not None and checks.big:
        too_big = _too_big(rec, checks.limits)
        if too_big:
            result.skipped.append((pos, too_big))
            return
    result.text_escaped += escaped > 0
    result.records.append(rec)
    result.indices.append(pos)


def parse(data: bytes, limits: Limits | None = None) -> FileResult:
    """Parse the bytes of one file (gzip or not). Never raises."""
    limits = limits or _DEFAULT_LIMITS
    return parse_text(*decompress(data, limits.max_file_bytes), empty=not data, limits=limits)


def parse_text(text: bytes, gz_problem: str | None, *, empty: bool, limits: Limits | None = None) -> FileResult:
    """Parse a file's text as :func:`decompress` gave it (``empty``: the file had 0 bytes). Never raises."""
    limits = limits or _DEFAULT_LIMITS
    result = FileResult()
    body = text.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not body:
        result.error = gz_problem or ("empty file (0 bytes)" if empty else "empty file (only whitespace)")
        return result
    try:
        deep = nesting(body) > limits.max_depth
    except MemoryError:
        deep = True
    if gz_problem is None and not deep:
        fast = _decode_fast(body)
        if fast is not None:
            _take_typed(result, fast, limits if len(body) > limits.max_record_bytes else None)
            return result
    result.checks = _Checks(body, limits, deep)
    try:
        _parse_untyped(body, result, truncated=gz_problem)
    except RecursionError:
        result.error = (f"JSON nested far deeper than the limit of {limits.max_depth} levels (max_depth): "
                        "not read")
    result.checks = None
    return result


def _decode_fast(body: bytes) -> list[Record] | None:
    """Typed decoding of the common containers, or None to take the lenient path."""
    try:
        if body[:1] == b"{":
            records = _DECODE_ENVELOPE.decode(body).Records
        elif body[:1] == b"[":
            records = _DECODE_LIST.decode(body)
        else:
            return None
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return None
    if records and None in map(_EVENT_TIME, records):
        return None  # records without eventTime (a log pipeline's, or bad ones), or something else: the untyped path
    return records


_EVENT_TIME = attrgetter("eventTime")


def _take_typed(result: FileResult, records: list[Record], limits: Limits | None = None) -> None:
    if limits is not None:  # a file larger than a record may be: each record's size is checked
        kept = []
        for pos, rec in enumerate(records):
            too_big = _too_big(rec, limits)
            if too_big:
                result.skipped.append((pos, too_big))
                kept.append(None)
            else:
                kept.append(rec)
        if result.skipped:
            for pos, rec in enumerate(kept):
                if rec is None:
                    continue
                if rec.eventTime is None:
                    result.skipped.append((pos, "record has no eventTime"))
                else:
                    result.records.append(rec)
                    result.indices.append(pos)
            result.skipped.sort(key=lambda s: s[0])
            result.positions = len(records)
            return
    if None not in map(_EVENT_TIME, records):  # the usual case: every record usable, no loop in Python
        result.records = records
        result.indices = list(range(len(records)))
        result.positions = len(records)
        return
    for pos, rec in enumerate(records):
        if rec.eventTime is None:
            result.skipped.append((pos, "record has no eventTime"))
        else:
            result.records.append(rec)
            result.indices.append(pos)
    result.positions = len(records)


def _parse_untyped(body: bytes, result: FileResult, truncated: str | None) -> None:
    lines, obj, problem = decode_document(body)
    if lines is not None:
        pos = 0
        for item, reason in lines:
            if reason is not None:
                _add(result, pos, None, reason)
                pos += 1
                continue
            kind = container_kind(item)
            if kind != "events":
                _add(result, pos, None, f"line is {_describe_json(item)}, not a CloudTrail record")
                pos += 1
                continue
            for raw, why in iter_raw(item, result.mapped):
                _add(result, pos, raw, why)
                pos += 1
        if truncated:
            result.skipped.append((None, truncated))
        if problem:
            result.skipped.append((None, problem))
        return
    if obj is None and problem is None and not truncated:  # the JSON literal null: decoded, not CloudTrail
        result.kind = NOT_CLOUDTRAIL
        result.error = "not CloudTrail: a JSON null"
        return
    if obj is None:
        salvaged = _salvage(body)
        if not any(_looks_like_record(x) for x in salvaged):
            salvaged = []
        for pos, raw in enumerate(salvaged):
            _add(result, pos, *containers.unwrap(raw, pos, result.mapped))
        reason = truncated or problem
        if salvaged:
            reason = (f"{reason}: {len(salvaged)} complete records recovered before it" if reason == _TOO_DEEP else
                      f"{reason}; the file ends early: {len(salvaged)} complete records recovered before the break")
        if result.records:
            result.skipped.append((None, reason))
        else:
            result.error = reason
        return
    kind = container_kind(obj)
    if kind == DIGEST:
        result.kind = DIGEST
        return
    if kind is None:
        result.kind = NOT_CLOUDTRAIL
        result.error = f"not CloudTrail: {_describe_json(obj)}"
        return
    for pos, (raw, why) in enumerate(iter_raw(obj, result.mapped)):
        _add(result, pos, raw, why)
    if truncated:
        result.skipped.append((None, truncated))


def raw_records(data: bytes) -> list:
    """Every record position of a file as decoded JSON (None where the position held no usable JSON)."""
    if ocsf_api.is_parquet(data):  # Security Lake: the events that map back, in row order
        text = ocsf_api.as_text(data, _DEFAULT_LIMITS.max_file_bytes)[0]
    else:
        text, _ = decompress(data)
    if not text:
        return []
    body = text.lstrip(b"\xef\xbb\xbf \t\r\n")
    lines, obj, _ = decode_document(body)
    if lines is not None:
        out = []
        for item, reason in lines:
            if reason is None and container_kind(item) == "events":
                out.extend(raw for raw, _ in iter_raw(item))
            else:
                out.append(None)
        return out
    if obj is None:
        salvaged = _salvage(body)
        if not any(_looks_like_record(x) for x in salvaged):
            return []
        return [containers.unwrap(x, n)[0] for n, x in enumerate(salvaged)]
    return [raw for raw, _ in iter_raw(obj)]
