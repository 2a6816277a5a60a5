"""Bounds on what one evidence file may cost, and how files that are not plain files are treated.

Evidence is written by whoever controls the trail bucket or the copied folder, possibly the attacker: a gzip bomb,
a record of gigabytes, JSON nested a hundred thousand levels deep or a FIFO must cost one skipped file (with its
reason), never the load. The defaults are far above what CloudTrail writes (its log files are rarely over ~50 MB
uncompressed, its records under 1 MB, nested a few tens of levels); each can be changed per load
(``LoadOptions(limits=Limits(...))``, ``load_events(..., limits=...)``) or by environment variable:

========================  ===================================  ==========================================
Limits field              environment variable                 default
========================  ===================================  ==========================================
max_file_bytes            TRAILTOOLS_MAX_FILE_BYTES            1 GiB, one file's size once decompressed
max_record_bytes          TRAILTOOLS_MAX_RECORD_BYTES          64 MiB, one record's JSON text
max_depth                 TRAILTOOLS_MAX_DEPTH                 128 levels of nesting in a record (at most 900)
max_archive_bytes         TRAILTOOLS_MAX_ARCHIVE_BYTES         16 GiB, all members of one zip or tar archive
                                                               once decompressed (each within max_file_bytes)
follow_outside_links      TRAILTOOLS_FOLLOW_OUTSIDE_LINKS      off: links out of the evidence folder not read
========================  ===================================  ==========================================
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from trailtools.errors import TrailtoolsError

GIB = 1 << 30
MIB = 1 << 20
#: Python's own decoders give up at about 1,000 levels; a limit above this could not be honoured by them.
DEPTH_CEILING = 900


@dataclass(frozen=True)
class Limits:
    """What one file or record may cost; past a limit it is skipped with the reason (see the module's docstring).

    ``root``: the evidence folder of a local load (set by the local source): a symbolic link that leads outside it
    is not read unless ``follow_outside_links``, and is noted in the load stats either way.
    """

    max_file_bytes: int = GIB
    max_record_bytes: int = 64 * MIB
    max_depth: int = 128
    max_archive_bytes: int = 16 * GIB
    follow_outside_links: bool = False
    root: str | None = None

    def __post_init__(self):
        for name in ("max_file_bytes", "max_record_bytes", "max_depth", "max_archive_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise TrailtoolsError(f"The limit {name} must be a whole number of at least 1, not {value!r}.")
        if self.max_depth > DEPTH_CEILING:
            object.__setattr__(self, "max_depth", DEPTH_CEILING)

    def cache_text(self) -> str:
        """What the cache key must say of these limits (empty for the defaults, so that entries stay valid)."""
        if self.key() == DEFAULT_KEY:
            return ""
        return "limits\0" + "\0".join(map(str, self.key())) + "\n"

    def key(self) -> tuple:
        return (self.max_file_bytes, self.max_record_bytes, self.max_depth, self.follow_outside_links,
                self.max_archive_bytes)


DEFAULT_KEY = Limits().key()

_ENV = {
    "max_file_bytes": "TRAILTOOLS_MAX_FILE_BYTES",
    "max_record_bytes": "TRAILTOOLS_MAX_RECORD_BYTES",
    "max_depth": "TRAILTOOLS_MAX_DEPTH",
    "max_archive_bytes": "TRAILTOOLS_MAX_ARCHIVE_BYTES",
}


def _size(text: str, var: str) -> int:
    """'1073741824', '512M', '2G', '64k' (binary units) -> bytes."""
    units = {"k": 1 << 10, "m": MIB, "g": GIB}
    t = text.strip().lower().removesuffix("b").removesuffix("i")
    factor = units.get(t[-1:], 1)
    digits = t[:-1] if t[-1:] in units else t
    try:
        value = int(digits) * factor
    except ValueError:
        value = 0
    if value < 1:
        raise TrailtoolsError(f"{var}={text!r} is not a size: give a number of bytes, or one like 512M or 2G.")
    return value


def from_env() -> Limits:
    """The limits the environment asks for (the defaults where it says nothing)."""
    kwargs: dict = {}
    for name, var in _ENV.items():
        text = os.environ.get(var)
        if text:
            kwargs[name] = _size(text, var)
    if os.environ.get("TRAILTOOLS_FOLLOW_OUTSIDE_LINKS", "").strip().lower() in ("1", "true", "yes", "on"):
        kwargs["follow_outside_links"] = True
    return Limits(**kwargs)


def describe(n: int) -> str:
    """A size for a reason text: '1 GiB', '64 MiB', '3,000 bytes'."""
    for unit, size in (("GiB", GIB), ("MiB", MIB), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size:,} {unit}"
    return f"{n:,} bytes"
