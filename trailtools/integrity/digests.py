"""Reading CloudTrail digest files, their signatures, the log files they name and the public keys that sign them.

This module does the I/O for :mod:`trailtools.integrity.verify` (which holds the checks, free of I/O). A trail is read
from a
local copy (a folder holding ``AWSLogs/...``, as ``aws s3 sync`` leaves it) or straight from S3
(``s3://bucket/prefix``, through a boto3 client). The facts it relies on, from the CloudTrail User Guide
("CloudTrail digest file structure", "Custom implementations of CloudTrail log file integrity validation") and
checked against the AWS CLI's ``validate-logs``:

- digests live at ``[prefix/]AWSLogs/[o-org/]<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/``
  ``<account>_CloudTrail-Digest_<region>_<trail name>_<home region>_<YYYYMMDDTHHMMSSZ>.json.gz``;
- ``logFiles[].hashValue`` and ``previousDigestHashValue`` are hex SHA-256 of the *uncompressed* content;
- a digest's own signature is in the S3 object metadata (``x-amz-meta-signature``, hex;
  ``x-amz-meta-signature-algorithm``, ``SHA256withRSA``), which a local copy does not keep: every digest but the
  newest of a chain is signed again in its successor's ``previousDigestSignature``; the newest needs a *sidecar*
  (see :func:`sidecar_path`);
- ``ListPublicKeys`` returns each region's keys as DER (PKCS #1 or SubjectPublicKeyInfo) with a fingerprint, the hex
  MD5 of those DER bytes (true of both keys in the User Guide's sample response).
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd

from trailtools.aws import client as make_client
from trailtools.aws.errors import call
from trailtools.errors import SourceError, TrailtoolsError
from trailtools.events import layout
from trailtools.events.limits import from_env
from trailtools.events.query import Query
from trailtools.events.safe_open import MAX_RATIO, inflated_size, open_regular, read_regular, too_large
from trailtools.evidence.saved import to_utc
from trailtools.sources.s3 import day_range, list_keys, plan_prefixes

DIGEST_NAME = re.compile(
    r"^(?P<account>\d{12})_CloudTrail-Digest_(?P<region>[a-z0-9-]+)_(?P<trail>.+)_(?P<home>[a-z0-9-]+)_"
    r"(?P<time>\d{8}T\d{6}Z)\.json\.gz$")
#: The sidecar beside a digest in a local copy: the object's metadata, e.g. ``aws s3api head-object`` output.
SIDECAR_SUFFIX = ".metadata.json"
REQUIRED = ("digestStartTime", "digestEndTime", "digestS3Bucket", "digestS3Object", "digestPublicKeyFingerprint",
            "logFiles")


def aws_suffix(key: str) -> str:
    """The part of an S3 key or local path from its last ``AWSLogs/`` on: the same for a file wherever the copy is."""
    key = key.replace("\\", "/")
    i = key.rfind("AWSLogs/")
    return key[i:] if i >= 0 else key


def sidecar_path(digest_path: str | Path) -> Path:
    """Where a local copy keeps a digest's signature: ``<digest>.json.gz.metadata.json``.

    Its content is the JSON that ``aws s3api head-object --bucket B --key K`` prints (``{"Metadata": {"signature":
    ..., "signature-algorithm": ...}, ...}``), or just ``{"signature": ..., "signature-algorithm": ...}``.
    """
    return Path(str(digest_path) + SIDECAR_SUFFIX)


def parse_signature_metadata(obj) -> tuple[str | None, str | None]:
    """(signature hex, algorithm) from head-object output, a bare metadata dict, or None."""
    if not isinstance(obj, dict):
        return None, None
    meta = obj.get("Metadata") if isinstance(obj.get("Metadata"), dict) else obj
    meta = {str(k).lower().removeprefix("x-amz-meta-"): v for k, v in meta.items()}
    sig, alg = meta.get("signature"), meta.get("signature-algorithm")
    return (str(sig).strip() if sig else None), (str(alg).strip() if alg else None)


def _time(value) -> pd.Timestamp | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return pd.Timestamp(value).tz_convert("UTC") if pd.Timestamp(value).tzinfo else pd.Timestamp(value, tz="UTC")
    except ValueError:
        return None


def name_time(name: str) -> pd.Timestamp | None:
    m = DIGEST_NAME.match(name.rsplit("/", 1)[-1])
    return pd.Timestamp(m.group("time"), tz="UTC") if m else None


@dataclass
class Digest:
    """One digest file as found: where, its uncompressed bytes, its JSON, its signature (when known).

    ``error`` is set (and ``data`` empty) when the file is not a readable digest: not gzip, not JSON, fields missing.
    """

    key: str                       # the S3 key, or the path relative to the local folder
    location: str                  # for people: s3://bucket/key or the local path
    bucket: str | None             # the bucket it was read from (None for a local copy)
    name: dict                     # account, region, trail, home, time parsed from the file name
    raw: bytes = b""
    data: dict = field(default_factory=dict)
    error: str | None = None
    signature: str | None = None
    signature_algorithm: str | None = None
    signature_from: str | None = None   # "s3-metadata" or "sidecar"

    @property
    def suffix(self) -> str:
        return aws_suffix(self.key)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()

    @property
    def start(self) -> pd.Timestamp | None:
        return _time(self.data.get("digestStartTime"))

    @property
    def end(self) -> pd.Timestamp | None:
        return _time(self.data.get("digestEndTime")) or self.name.get("time")

    @property
    def chain(self) -> tuple:
        """The chain it belongs to: (org, account, region, trail name, home region)."""
        n = self.name
        return (n.get("org"), n.get("account"), n.get("region"), n.get("trail"), n.get("home"))


def parse_digest(key: str, location: str, body: bytes, *, bucket: str | None = None) -> Digest:
    """A digest from the bytes of its ``.json.gz`` file; shape problems become ``error``, never an exception."""
    info = layout.classify(key)
    m = DIGEST_NAME.match(key.replace("\\", "/").rsplit("/", 1)[-1])
    name = {"org": info.org, "account": info.account or (m and m.group("account")),
            "region": info.region or (m and m.group("region")),
            "trail": m.group("trail") if m else None, "home": m.group("home") if m else None,
            "time": pd.Timestamp(m.group("time"), tz="UTC") if m else None}
    d = Digest(key, location, bucket, name)
    limit = from_env().max_file_bytes
    if len(body) * MAX_RATIO > limit and inflated_size(body, limit) > limit:
        d.error = too_large(limit)
        return d
    try:
        d.raw = gzip.decompress(body)
    except (OSError, EOFError, zlib.error) as exc:
        d.error = f"not a gzip file ({exc})"
        return d
    try:
        data = json.loads(d.raw)
    except (ValueError, UnicodeDecodeError) as exc:
        d.error = f"not JSON ({exc})"
        return d
    if not isinstance(data, dict):
        d.error = "not a JSON object"
        return d
    missing = [k for k in REQUIRED if k not in data]
    if missing or not isinstance(data.get("logFiles"), list) or _time(data.get("digestEndTime")) is None:
        d.error = f"not a CloudTrail digest: missing or bad {', '.join(missing) or 'logFiles/digestEndTime'}"
        return d
    d.data = data
    return d


@dataclass(frozen=True)
class LogFile:
    """A CloudTrail log file present in the trail: its key, delivery time and the SHA-256 of its content."""

    key: str
    location: str
    account: str | None
    region: str | None
    org: str | None
    delivered: pd.Timestamp | None


# ---- where the files are ----------------------------------------------------------------------------------------

class LocalTrail:
    """A local copy of a trail bucket (or of its ``AWSLogs`` folder)."""

    bucket = None

    def __init__(self, folder: str | Path):
        self.folder = Path(folder).expanduser()
        if not self.folder.is_dir():
            raise SourceError(f"No such folder: {folder}: give the folder you synced the trail bucket into "
                              "(it holds AWSLogs/...).")
        # keys are relative to the folder holding AWSLogs, even when AWSLogs itself (or a folder in it) is given
        parts = self.folder.resolve().parts
        inside = len(parts) - 1 - parts[::-1].index("AWSLogs") if "AWSLogs" in parts else None
        self.root = Path(*parts[:inside]) if inside else self.folder

    def describe(self) -> str:
        return str(self.folder)

    def keys(self, first_day: date | None = None, last_day: date | None = None):
        """Every file's path relative to the folder holding AWSLogs (posix), sidecars excluded. Day folders of the S3
        layout (``.../YYYY/MM/DD``) outside [first_day, last_day] (None: no bound) are not entered."""
        for folder, dirs, files in os.walk(self.folder):
            dirs.sort()
            if first_day is not None or last_day is not None:
                dirs[:] = [d for d in dirs if _day_in(os.path.join(folder, d), first_day, last_day)]
            rel = Path(folder).resolve().relative_to(self.root.resolve()).as_posix()
            for f in sorted(files):
                if not f.endswith(SIDECAR_SUFFIX):
                    yield f if rel == "." else f"{rel}/{f}"

    def location(self, key: str) -> str:
        return str(self.root / key)

    def has(self, key: str) -> bool:
        """Whether the copy holds this file (one outside the folders :meth:`keys` entered)."""
        return (self.root / key).is_file()

    def read(self, key: str) -> bytes:
        """The bytes of a regular file of the copy (a FIFO, a device or a link out of it: OSError, the reason)."""
        limits = from_env()
        opened = read_regular(str(self.root / key), limits.max_file_bytes, root=os.path.realpath(self.root),
                              follow_outside=limits.follow_outside_links)
        if opened.data is None:
            raise OSError(opened.problem)
        return opened.data

    def open(self, key: str):
        return open_regular(str(self.root / key), root=os.path.realpath(self.root),
                            follow_outside=from_env().follow_outside_links)

    def signature(self, key: str) -> tuple[str | None, str | None, str | None]:
        side = sidecar_path(self.root / key)
        if not side.is_file():
            return None, None, None
        try:
            sig, alg = parse_signature_metadata(json.loads(side.read_text(encoding="utf-8")))
        except (ValueError, OSError):
            return None, None, None
        return sig, alg, "sidecar" if sig else None


class S3Trail:
    """A trail bucket read through boto3 (``s3://bucket/prefix``); every AWS error becomes AwsDataUnavailable."""

    def __init__(self, uri: str, client=None):
        rest = uri[len("s3://"):]
        self.bucket, _, self.prefix = rest.partition("/")
        if not self.bucket:
            raise SourceError(f"{uri!r} names no bucket: give s3://BUCKET or s3://BUCKET/PREFIX.")
        if client is None:
            client = make_client("s3")
        self.client = client
        self._meta: dict[str, dict] = {}

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def keys(self, first_day: date | None = None, last_day: date | None = None):
        """The keys under the prefix: with ``first_day``, only in the day folders from it to ``last_day`` (or
        tomorrow) of the logs and digests of every account and region, found one level at a time as the ``s3://``
        source does; else every key."""
        if first_day is not None:
            yield from self._keys_of_days(first_day, last_day)
            return
        yield from self._all_keys()

    def _keys_of_days(self, first: date, last: date | None):
        days = day_range(first, last or datetime.now(UTC).date() + timedelta(days=1))
        prefixes = plan_prefixes(self.client, self.bucket, self.prefix, Query(),
                                 kinds=("CloudTrail", "CloudTrail-Digest"), days=days)
        for prefix, _ in prefixes:
            yield from list_keys(self.client, self.bucket, prefix)

    def _all_keys(self):
        prefix = self.prefix.rstrip("/") + "/" if self.prefix else ""
        params = {"Bucket": self.bucket, "Prefix": prefix} if prefix else {"Bucket": self.bucket}
        while True:  # the request's token is ContinuationToken, the response's NextContinuationToken
            resp = call(self.client, "list_objects_v2", **params)
            for obj in resp.get("Contents", []):
                yield obj["Key"]
            if not resp.get("IsTruncated") or not resp.get("NextContinuationToken"):
                return
            params["ContinuationToken"] = resp["NextContinuationToken"]

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def has(self, key: str) -> bool:
        return False  # keys() listed every key already

    def _get(self, key: str) -> dict:
        return call(self.client, "get_object", Bucket=self.bucket, Key=key)

    def read(self, key: str) -> bytes:
        resp = self._get(key)
        self._meta[key] = resp.get("Metadata") or {}
        return resp["Body"].read()

    def open(self, key: str):
        return self._get(key)["Body"]

    def signature(self, key: str) -> tuple[str | None, str | None, str | None]:
        if key not in self._meta:
            self._meta[key] = call(self.client, "head_object", Bucket=self.bucket, Key=key).get("Metadata") or {}
        sig, alg = parse_signature_metadata(self._meta[key])
        return sig, alg, "s3-metadata" if sig else None


def open_trail(source: str, *, s3_client=None):
    """The store for a source: ``s3://bucket/prefix`` or a local folder."""
    if source.startswith("s3://"):
        return S3Trail(source, s3_client)
    if "://" in source:
        raise SourceError(f"trailtools verify reads a local copy of a trail bucket or s3://BUCKET/PREFIX, not "
                          f"{source.split('://', 1)[0]}://.")
    return LocalTrail(source)


def sha256_uncompressed(stream) -> str:
    """Hex SHA-256 of a gzip stream's uncompressed content (raises ValueError when it is not gzip)."""
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    h = hashlib.sha256()
    limit, total = from_env().max_file_bytes, 0
    try:
        for block in iter(lambda: stream.read(1 << 20), b""):
            while True:  # inflated 1 MiB at a time: a bomb's block never expands in memory at once
                out = inflater.decompress(block, 1 << 20)
                total += len(out)
                if total > limit:
                    raise ValueError(too_large(limit))
                h.update(out)
                block = inflater.unconsumed_tail
                if not block and len(out) < 1 << 20:  # all taken in, and nothing held back
                    break
            if inflater.eof:
                break
        h.update(inflater.flush())
    except zlib.error as exc:
        raise ValueError(f"not a gzip file ({exc})") from None
    finally:
        close = getattr(stream, "close", None)
        if close:
            close()
    if not inflater.eof:
        raise ValueError("truncated gzip file")
    return h.hexdigest()


@dataclass
class TrailListing:
    """What a store holds: its digests (parsed) and its log files (by ``AWSLogs/...`` suffix)."""

    store: object
    digests: list[Digest]
    logs: dict[str, LogFile]
    unsafe: list[tuple[str, str]] = field(default_factory=list)  # (key, why): never read, never a path


#: Digests read around a window: the one before it (the chain's link) and the late ones after it.
AROUND = pd.Timedelta(hours=3)


def _day_in(folder: str, first: date | None, last: date | None) -> bool:
    """Whether a folder may hold files of the days [first, last]: a day folder of the S3 layout only if its day is
    one of them; any other folder, yes."""
    day = layout.classify_folder(folder).day
    return day is None or ((first is None or day.date() >= first) and (last is None or day.date() <= last))


def log_file(store, key: str, info: layout.PathInfo | None = None) -> LogFile | None:
    """A CloudTrail log file of the store, as :func:`list_trail` lists it (None for any other file); ``info``: the
    key's classification, when already made."""
    info = info or layout.classify(key)
    name = key.rsplit("/", 1)[-1]
    if info.kind != layout.LOG or not layout.has_event_extension(name) or "/CloudTrail/" not in key:
        return None
    delivered = pd.Timestamp(info.delivered) if info.delivered else None
    return LogFile(key, store.location(key), info.account, info.region, info.org, delivered)


def list_trail(store, start=None, end=None) -> TrailListing:
    """Read the store's digests (those named within a few hours of [start, end], or all) and list its CloudTrail
    log files (log files are not opened here). A local copy is walked only through the day folders of that stretch
    (whole UTC days); a log file a digest names elsewhere is looked up by :func:`find_logs`."""
    digests, logs, unsafe = [], {}, []
    first = (start - AROUND).date() if start is not None else None
    last = (end + AROUND).date() if end is not None else None
    for key in store.keys(first, last):
        why = layout.unsafe_key(key)
        if why:  # a key CloudTrail never writes (``..``, absolute, control characters): never read or saved
            unsafe.append((key, why))
            continue
        info = layout.classify(key)
        name = key.rsplit("/", 1)[-1]
        if info.kind == layout.DIGEST and DIGEST_NAME.match(name):
            when = name_time(name)
            if when is not None and ((start is not None and when < start - AROUND)
                                     or (end is not None and when > end + AROUND)):
                continue
            try:
                body, problem = store.read(key), None
            except OSError as exc:  # not a regular file, a link out of the copy, past the size limit
                body, problem = b"", str(exc)
            d = parse_digest(key, store.location(key), body, bucket=getattr(store, "bucket", None))
            if problem:
                d.error = problem
            d.signature, d.signature_algorithm, d.signature_from = store.signature(key)
            digests.append(d)
        else:
            found = log_file(store, key, info)
            if found is not None:
                logs[aws_suffix(key)] = found
    return TrailListing(store, digests, logs, unsafe)


def find_logs(listing: TrailListing, digests: list[Digest]) -> None:
    """Add to the listing the log files these digests name that its walk did not reach (a local copy walked by
    day folders: a file kept in an unexpected day's folder)."""
    for d in digests:
        for lf in d.data.get("logFiles") or []:
            if not isinstance(lf, dict) or not lf.get("s3Object"):
                continue
            suffix = aws_suffix(str(lf["s3Object"]))
            if suffix in listing.logs:
                continue
            for key in dict.fromkeys((suffix, str(lf["s3Object"]))):
                if layout.unsafe_key(key):  # a name from the digest's content: never a path out of the copy
                    continue
                found = log_file(listing.store, key) if listing.store.has(key) else None
                if found is not None:
                    listing.logs[suffix] = found
                    break


def save_signatures(listing: TrailListing, folder: str | Path) -> tuple[int, list[tuple[str, str]]]:
    """Write each digest's signature (as read from S3) as a sidecar under ``folder``, at the digest's key: what a
    local copy needs to verify its newest digests. Returns (how many were written, [(key, why not)]).

    The key comes from the bucket, so it is checked before it becomes a path: a key with ``..``, an absolute path
    or control characters, or one whose path leaves ``folder`` (through a symbolic link), is not written; the
    sidecar itself is never written through a symbolic link."""
    n, refused = 0, []
    root = Path(folder).expanduser()
    for d in listing.digests:
        if not (d.signature and d.signature_from == "s3-metadata"):
            continue
        why = layout.unsafe_key(d.key)
        if why is None:
            path = sidecar_path(root / d.key)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                if not path.parent.resolve().is_relative_to(root.resolve()):
                    why = "its folder leads out of the folder given (a symbolic link)"
                else:
                    text = json.dumps({"Metadata": {"signature": d.signature,
                                                    "signature-algorithm": d.signature_algorithm or ""}}) + "\n"
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o644)
                    with os.fdopen(fd, "w", encoding="utf-8") as fh:
                        fh.write(text)
                    n += 1
                    continue
            except (OSError, ValueError) as exc:
                why = f"it cannot be written ({getattr(exc, 'strerror', None) or exc})"
        refused.append((d.key, why))
    return n, refused


def hash_logs(store, keys) -> dict[str, str]:
    """key -> hex SHA-256 of the uncompressed content, or ``"error: ..."`` when the file cannot be read."""
    out = {}
    for key in keys:
        try:
            out[key] = sha256_uncompressed(store.open(key))
        except (ValueError, OSError) as exc:
            out[key] = f"error: {exc}"
    return out


# ---- public keys -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PublicKey:
    fingerprint: str
    der: bytes
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    origin: str = ""


def _validity(value) -> pd.Timestamp | None:
    """A validity time as boto3 (datetime), the CLI (ISO text) or the User Guide's sample ("1436317441.0") gives it."""

    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    try:
        ts = to_utc([value]).iloc[0]
    except (ValueError, TypeError):
        return None
    return None if pd.isna(ts) else ts


def _der(value) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    return base64.b64decode(str(value), validate=False)


def public_keys_from_response(resp: dict, origin: str) -> tuple[dict[str, PublicKey], list[str]]:
    """fingerprint -> key from a ListPublicKeys response (boto3's bytes or the CLI's base64), and warnings.

    A key whose stated fingerprint is not the MD5 of its DER bytes is refused (a warning says so).
    """
    items = resp.get("PublicKeyList", resp.get("publicKeyList")) if isinstance(resp, dict) else resp
    if not isinstance(items, list):
        raise TrailtoolsError(f"{origin} is not `aws cloudtrail list-public-keys` output: it has no PublicKeyList.")
    keys, warnings = {}, []
    for i, item in enumerate(items):
        try:
            der = _der(item["Value"])
        except (KeyError, TypeError, ValueError):
            warnings.append(f"{origin}: key {i + 1} has no readable Value")
            continue
        fp = hashlib.md5(der).hexdigest()
        stated = str(item.get("Fingerprint") or fp).lower()
        if stated != fp:
            warnings.append(f"{origin}: key {stated} does not match its fingerprint (MD5 of the key is {fp}); not used")
            continue
        keys[fp] = PublicKey(fp, der, _validity(item.get("ValidityStartTime")),
                             _validity(item.get("ValidityEndTime")), origin)
    return keys, warnings


def load_public_keys(paths) -> tuple[dict[str, PublicKey], list[str]]:
    """Keys from files saved with ``aws cloudtrail list-public-keys --region R --start-time ... > FILE``."""
    keys, warnings = {}, []
    for path in paths or ():
        p = Path(path).expanduser()
        try:
            resp = json.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise TrailtoolsError(f"Cannot read the public keys file {path}: {exc.strerror or exc}.") from None
        except ValueError:
            raise TrailtoolsError(f"The public keys file {path} is not JSON: save it with `aws cloudtrail "
                                  "list-public-keys --output json > FILE`.") from None
        k, w = public_keys_from_response(resp, str(path))
        keys.update(k)
        warnings.extend(w)
    return keys, warnings


def get_public_keys(client, start, end) -> tuple[dict[str, PublicKey], list[str]]:
    """ListPublicKeys over [start, end] through a boto3 CloudTrail client (one region's keys)."""

    region = getattr(client.meta, "region_name", "")
    keys, warnings = {}, []
    params = {"StartTime": pd.Timestamp(start).to_pydatetime(), "EndTime": pd.Timestamp(end).to_pydatetime()}
    while True:
        resp = call(client, "list_public_keys", **params)
        k, w = public_keys_from_response(resp, f"ListPublicKeys in {region}")
        keys.update(k)
        warnings.extend(w)
        if not resp.get("NextToken"):
            return keys, warnings
        params["NextToken"] = resp["NextToken"]
