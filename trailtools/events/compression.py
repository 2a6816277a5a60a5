"""bzip2 and Zstandard, read as gzip is (see :func:`trailtools.events.reader.decompress`): by their magic bytes, in
a streaming way that never holds more than the decompressed-size limit, every stream of a file in turn, and a
truncated or corrupt file giving what it held before the break, with the reason.

A bzip2 stream cannot expand more than about 45 million to one (runs of one byte); a Zstandard one about 32,768 to
one (a 128 KiB block written as one repeated byte costs 4 bytes): both are fed in pieces small enough that one piece
can give at most about the limit, so a bomb costs at most twice the limit of memory and the time to reach it.
"""
from __future__ import annotations

import bz2

from trailtools.events.limits import describe

BZ2_MAGIC = b"BZh"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
#: the most one compressed byte of Zstandard gives (a 4-byte RLE block of 128 KiB)
ZSTD_RATIO = 32768


def kind(data: bytes) -> str | None:
    """'bzip2' or 'zstd' when ``data`` starts as one, else None."""
    if data[:3] == BZ2_MAGIC and data[3:4].isdigit() and data[3:4] != b"0":
        return "bzip2"
    if data[:4] == ZSTD_MAGIC:
        return "zstd"
    return None


def too_large(max_bytes: int) -> str:
    """The reason for a file past ``max_file_bytes`` once decompressed (as for gzip)."""
    return (f"expands past the limit of {describe(max_bytes)} when decompressed (max_file_bytes; a decompression "
            "bomb?): not read")


def inflate(data: bytes, max_bytes: int, *, partial_ok: bool = False) -> tuple[bytes, str | None]:
    """The text of a bzip2 or Zstandard file: (text, None); (what came before the break, reason) for a truncated or
    corrupt one; (b"", reason) past ``max_bytes``. ``partial_ok``: the caller gave only the file's first bytes
    (sniffing), so an early end is no problem and output stops at ``max_bytes``."""
    which = kind(data)
    if which == "bzip2":
        return _bunzip(data, max_bytes, partial_ok)
    if which == "zstd":
        return _unzstd(data, max_bytes, partial_ok)
    return data, None


def _bunzip(data: bytes, max_bytes: int, partial_ok: bool) -> tuple[bytes, str | None]:
    out: list[bytes] = []
    total = 0
    rest = data
    while kind(rest) == "bzip2":
        d = bz2.BZ2Decompressor()
        pending = rest
        try:
            while True:
                piece = d.decompress(pending, 1 << 20)
                pending = b""
                total += len(piece)
                out.append(piece)
                if total > max_bytes:
                    if partial_ok:
                        return b"".join(out)[:max_bytes], None
                    return b"", too_large(max_bytes)
                if d.eof or d.needs_input:
                    break
        except (OSError, EOFError, ValueError) as exc:
            return b"".join(out), None if partial_ok else f"truncated or corrupt bzip2 ({exc})"
        if not d.eof:
            return b"".join(out), None if partial_ok else "truncated bzip2 (the stream ends early)"
        rest = d.unused_data
    if rest.strip(b"\0"):
        return b"".join(out), None if partial_ok else f"{len(rest):,} bytes after the last bzip2 stream are not bzip2"
    return b"".join(out), None


def _unzstd(data: bytes, max_bytes: int, partial_ok: bool) -> tuple[bytes, str | None]:
    import zstandard  # noqa: PLC0415 (only for .zst evidence)

    step = min(1 << 16, max(256, max_bytes // ZSTD_RATIO))
    out: list[bytes] = []
    total = 0
    rest = data
    while rest[:4] == ZSTD_MAGIC:
        d = zstandard.ZstdDecompressor().decompressobj()
        at = 0
        try:
            while at < len(rest) and not d.eof:
                piece = d.decompress(rest[at:at + step])
                at += step
                total += len(piece)
                out.append(piece)
                if total > max_bytes:
                    if partial_ok:
                        return b"".join(out)[:max_bytes], None
                    return b"", too_large(max_bytes)
        except zstandard.ZstdError as exc:
            return b"".join(out), None if partial_ok else f"truncated or corrupt Zstandard ({exc})"
        if not d.eof:
            return b"".join(out), None if partial_ok else "truncated Zstandard (the stream ends early)"
        rest = d.unused_data + rest[at:]
    if rest.strip(b"\0"):
        return b"".join(out), None if partial_ok else \
            f"{len(rest):,} bytes after the last Zstandard frame are not Zstandard"
    return b"".join(out), None
