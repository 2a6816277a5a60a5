"""Zip and tar archives of a trail folder, read in place: member by member, in memory, never unpacked to disk.

A zip file, or a tar file (plain, or inside gzip, bzip2 or Zstandard: the whole file decompressed first, within
``max_file_bytes``), found among the evidence is opened as a folder would be: each member that is a file is read as a
file (gzip, bzip2 or Zstandard members decompressed as files are), labelled ``<archive path>!/<member name>`` in the
frame's ``_file`` and the load stats. What an attacker may have put in an archive costs a counted skip, never the
load:

* a member's name is only a label: ``../../etc/passwd`` or ``/abs/name`` never becomes a path (nothing is written,
  nothing is opened by that name), and a name that would leave the folder or is absolute is noted;
* each member within ``max_file_bytes`` once decompressed, all members of one archive within ``max_archive_bytes``
  (:mod:`trailtools.events.limits`): a zip bomb (a member that inflates past the limit, entries that overlap so that
  one block of data is read again and again) stops at the limit;
* at most :data:`MAX_MEMBERS` members, and a zip's central directory at most :data:`MAX_DIRECTORY_BYTES`: that
  listing is read before any member is;
* an archive inside an archive is read down to :data:`MAX_DEPTH` levels; deeper ones are skipped with the reason;
* links, devices and folders inside a tar are not files: links and devices are counted skips, folders ignored;
  encrypted members, unknown compression methods and bad checksums are counted skips.
"""
from __future__ import annotations

import io
import os
import struct
import tarfile
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from trailtools.events import reader
from trailtools.events.limits import Limits, describe
from trailtools.events.safe_open import too_large
from trailtools.events.sniff import is_archive

#: the label between an archive's path and one of its members: ``trail.zip!/AWSLogs/.../file.json.gz``
SEP = "!/"
MAX_MEMBERS = 500_000
MAX_DIRECTORY_BYTES = 256 << 20
#: an archive (level 1) holding an archive (2) holding an archive (3): a member archive deeper than this is skipped
MAX_DEPTH = 3

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"


@dataclass
class Member:
    """One file of an archive: its label and text (decompressed), or the reason it is not read."""

    label: str
    text: bytes | None = None
    problem: str | None = None
    empty: bool = False      # the member has 0 bytes
    note: str | None = None  # something to say of it in the stats (a name that would leave the folder)


def _zip_directory(data: bytes) -> tuple[int, int] | None:
    """(entries, central directory bytes) from a zip's end records (zip64 too), or None when there are none."""
    at = data.rfind(_EOCD, max(0, len(data) - (1 << 16) - 22))
    if at < 0 or at + 22 > len(data):
        return None
    entries, size = struct.unpack_from("<HI", data, at + 10)
    loc = at - 20
    if (entries == 0xFFFF or size == 0xFFFFFFFF) and loc >= 0 and data[loc:loc + 4] == _EOCD64_LOCATOR:
        (offset,) = struct.unpack_from("<Q", data, loc + 8)
        if offset + 56 <= len(data) and data[offset:offset + 4] == _EOCD64:
            entries, size = struct.unpack_from("<QQ", data, offset + 32)
    return entries, size


def _odd_name(name: str) -> str | None:
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "the member's name is an absolute path: read, its name used only as a label"
    if ".." in parts:
        return "the member's name leads out of the archive's folder (..): read, its name used only as a label"
    return None


def _label(outer: str, name: str) -> str:
    return outer + SEP + reader.escape_text(name)


class _Budget:
    def __init__(self, limits: Limits):
        self.left = limits.max_archive_bytes
        self.exhausted = False

    def spend(self, n: int) -> bool:
        self.left -= n
        self.exhausted = self.left < 0
        return not self.exhausted


def _member_text(label: str, raw: bytes, limits: Limits, budget: _Budget, depth: int, note: str | None
                 ) -> Iterator[Member]:
    text, problem = reader.decompress(raw, limits.max_file_bytes)
    if not budget.spend(len(text)):
        yield Member(label, problem=(f"the archive's members together expand past the limit of "
                                     f"{describe(limits.max_archive_bytes)} (max_archive_bytes; a zip bomb?): "
                                     "this member and the rest not read"), note=note)
        return
    if problem is None and is_archive(text):
        if depth >= MAX_DEPTH:
            yield Member(label, problem=f"an archive nested more than {MAX_DEPTH} levels deep: not read", note=note)
            return
        yield from _members(text, label, limits, budget, depth + 1)
        return
    yield Member(label, text, problem, empty=not raw, note=note)


def members(text: bytes, label: str, limits: Limits) -> Iterator[Member]:
    """Every member of the archive ``text`` (a file's decompressed bytes, :func:`is_archive`), as :class:`Member`
    labelled under ``label`` (the archive's path), in the archive's order; archives inside it are walked too."""
    yield from _members(text, label, limits, _Budget(limits), 1)


def _members(text: bytes, label: str, limits: Limits, budget: _Budget, depth: int) -> Iterator[Member]:
    if text[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        yield from _zip_members(text, label, limits, budget, depth)
    else:
        yield from _tar_members(text, label, limits, budget, depth)


def _zip_members(data: bytes, label: str, limits: Limits, budget: _Budget, depth: int) -> Iterator[Member]:
    directory = _zip_directory(data)
    if directory is None:
        yield Member(label, problem="a zip archive without its central directory (cut short?): not read")
        return
    entries, size = directory
    if entries > MAX_MEMBERS or size > MAX_DIRECTORY_BYTES:
        yield Member(label, problem=(f"a zip archive of {entries:,} entries ({size:,} bytes of listing): more than "
                                     f"the {MAX_MEMBERS:,} entries or {describe(MAX_DIRECTORY_BYTES)} read from one "
                                     "archive; not read"))
        return
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
        yield Member(label, problem=f"not a readable zip archive ({str(exc)[:160]}): not read")
        return
    overlapping = _overlapping(infos)
    for info in infos:
        if budget.exhausted:
            return
        if info.is_dir():
            continue
        name = info.filename
        where = _label(label, name)
        note = _odd_name(name)
        if info.header_offset in overlapping:
            yield Member(where, problem="an entry that shares or overlaps another's data (an overlapping zip "
                                        "bomb?): not read", note=note)
            continue
        try:
            with zf.open(info) as f:
                raw = f.read(limits.max_file_bytes + 1)
        except RuntimeError as exc:  # encrypted
            yield Member(where, problem=f"cannot be read ({str(exc)[:160]})", note=note)
            continue
        except NotImplementedError as exc:
            yield Member(where, problem=f"compressed with a method that cannot be read ({str(exc)[:160]})",
                         note=note)
            continue
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            yield Member(where, problem=f"a damaged zip entry ({str(exc)[:160]}): not read", note=note)
            continue
        if len(raw) > limits.max_file_bytes:
            yield Member(where, problem=too_large(limits.max_file_bytes), note=note)
            continue
        yield from _member_text(where, raw, limits, budget, depth, note)


def _overlapping(infos: list[zipfile.ZipInfo]) -> set[int]:
    """The offsets of entries that share their start with another or start inside another's data."""
    count = Counter(info.header_offset for info in infos)
    size = {info.header_offset: info.compress_size for info in infos}
    bad = {offset for offset, n in count.items() if n > 1}
    end = -1
    for offset in sorted(count):
        if offset < end:
            bad.add(offset)
        end = max(end, offset + size[offset])
    return bad


def _tar_members(data: bytes, label: str, limits: Limits, budget: _Budget, depth: int) -> Iterator[Member]:
    try:
        tf = tarfile.open(fileobj=io.BytesIO(data), mode="r:")
    except (tarfile.TarError, ValueError, OSError, EOFError) as exc:
        yield Member(label, problem=f"not a readable tar archive ({str(exc)[:160]}): not read")
        return
    seen = 0
    while not budget.exhausted:
        try:
            info = tf.next()
        except (tarfile.TarError, ValueError, OSError, EOFError) as exc:
            yield Member(label, problem=f"the tar archive is damaged after {seen:,} entries ({str(exc)[:160]}): "
                                        "the rest not read")
            return
        if info is None:
            return
        seen += 1
        if seen > MAX_MEMBERS:
            yield Member(label, problem=f"more than {MAX_MEMBERS:,} entries in one archive: the rest not read")
            return
        if info.isdir():
            continue
        where = _label(label, info.name)
        note = _odd_name(info.name)
        if not info.isreg():
            kind = "a link" if info.issym() or info.islnk() else "not a regular file"
            yield Member(where, problem=f"{kind} inside the archive: not followed, not read", note=note)
            continue
        f = tf.extractfile(info)
        raw = f.read(limits.max_file_bytes + 1) if f is not None else b""
        if len(raw) > limits.max_file_bytes:
            yield Member(where, problem=too_large(limits.max_file_bytes), note=note)
            continue
        yield from _member_text(where, raw, limits, budget, depth, note)


def archive_of(label: str) -> str | None:
    """The path of the archive file a member's label (``trail.zip!/a/b.json``) starts with: the shortest part before
    a ``!/`` that is a file (a folder's own name may hold ``!/``); None when the label names no member."""
    at = label.find(SEP)
    while at >= 0:
        if os.path.isfile(label[:at]):
            return label[:at]
        at = label.find(SEP, at + 1)
    return None


def read_member(label: str, data: bytes, limits: Limits | None = None) -> bytes | None:
    """The text of the member ``label`` names, from the bytes ``data`` of its outermost archive (the file
    :func:`archive_of` names), for reading a row's raw record again; None when it is not there."""
    limits = limits or Limits()
    outer = archive_of(label)
    text, problem = reader.decompress(data, limits.max_file_bytes)
    if outer is None or problem is not None or not is_archive(text):
        return None
    for member in members(text, outer, limits):
        if member.label == label:
            return member.text
    return None
