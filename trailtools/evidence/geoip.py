"""Where an IP address is: country, city, coordinates and network owner (ASN) from MaxMind-format ``.mmdb`` files.

Both databases are optional and read with the ``maxminddb`` package: ``geoip_db`` a City or Country database
(GeoLite2-City, GeoIP2-Country, DB-IP City Lite ... : ``country.iso_code``, ``city.names.en``, ``location.latitude``
/ ``longitude``), ``asn_db`` an ASN database (``autonomous_system_number``, ``autonomous_system_organization``).
Lookups never raise: an address that is not an IP literal (``ec2.amazonaws.com``, ``AWS Internal``), an internal one
(RFC 1918, loopback, link-local: a VPC endpoint) or one the database does not know gives an empty :class:`Location`.

Impossible travel: two consecutive sign-ins of one principal more than :data:`MIN_TRAVEL_KM` apart (great-circle
distance) and faster than :data:`MAX_SPEED_KMH` (a passenger jet flies about 900 km/h; GeoIP places an address
to within tens of kilometres at best, hence the minimum distance).
"""
from __future__ import annotations

import functools
import ipaddress
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from trailtools.errors import TrailtoolsError

MAX_SPEED_KMH = 1000.0          # faster than this between two sign-ins is impossible travel
MIN_TRAVEL_KM = 500.0           # nearer than this is GeoIP noise, never impossible travel
EARTH_RADIUS_KM = 6371.0088     # mean radius (IUGG)
#: Amazon's own networks: AMAZON-02 (AWS), AMAZON-AES (AWS us-east-1), AMAZON-BR (Amazon.com, older ranges)
AWS_ASNS = frozenset({16509, 14618, 7224, 8987})


class Location(NamedTuple):
    country: str | None = None          # ISO 3166 code, e.g. "NL"
    city: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    asn: int | None = None
    org: str | None = None              # the ASN's organization

    @property
    def place(self) -> str | None:
        """``Amsterdam, NL`` / ``NL`` / None."""
        return ", ".join(p for p in (self.city, self.country) if p) or None


def great_circle_km(a: Location, b: Location) -> float | None:
    """The haversine distance between two located addresses; None when either has no coordinates."""
    if None in (a.latitude, a.longitude, b.latitude, b.longitude):
        return None
    p1, p2 = math.radians(a.latitude), math.radians(b.latitude)
    dp, dl = p2 - p1, math.radians(b.longitude - a.longitude)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def impossible_travel(a: Location, b: Location, seconds: float) -> tuple[float, float] | None:
    """(distance km, speed km/h) when going from a to b in ``seconds`` is impossible travel, else None."""
    km = great_circle_km(a, b)
    if km is None or km < MIN_TRAVEL_KM:
        return None
    speed = km / max(seconds, 1.0) * 3600
    return (km, speed) if speed > MAX_SPEED_KMH else None


INTERNAL = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "::1/128", "fc00::/7", "fe80::/10"))


@functools.lru_cache(maxsize=1 << 16)
def public_ip(text) -> str | None:
    """The address as a canonical string when it is an IP literal outside the internal ranges, else None."""
    try:
        addr = ipaddress.ip_address(str(text))
    except ValueError:
        return None
    return None if any(addr.version == n.version and addr in n for n in INTERNAL) else str(addr)


def _open(path, what: str):
    import maxminddb  # noqa: PLC0415 (heavy, loaded on use)

    p = Path(path).expanduser()
    if not p.is_file():
        raise TrailtoolsError(f"The {what} {str(p)!r} does not exist: give the path of a MaxMind-format .mmdb file, "
                              "or leave the parameter empty to skip the checks that need it.")
    try:
        return maxminddb.open_database(str(p))
    except (maxminddb.InvalidDatabaseError, ValueError, OSError) as e:
        raise TrailtoolsError(f"The {what} {str(p)!r} is not a readable MaxMind .mmdb file ({e}).") from e


@dataclass
class GeoIP:
    """Open databases (either may be None). Build with :func:`open_geoip`; lookups are cached per address."""

    city: object = None
    asn: object = None
    city_path: str | None = None
    asn_path: str | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def has_location(self) -> bool:
        return self.city is not None

    @property
    def has_asn(self) -> bool:
        return self.asn is not None

    def locate(self, ip) -> Location:
        key = str(ip)
        if key not in self._cache:
            self._cache[key] = self._lookup(public_ip(ip))
        return self._cache[key]

    def _lookup(self, ip: str | None) -> Location:
        if ip is None:
            return Location()
        country = city = lat = lon = asn = org = None
        if self.city is not None:
            rec = _get(self.city, ip)
            c = rec.get("country") or rec.get("registered_country") or {}
            country = c.get("iso_code") if isinstance(c, dict) else None
            names = (rec.get("city") or {}).get("names") or {}
            city = names.get("en") or next(iter(names.values()), None)
            loc = rec.get("location") or {}
            lat, lon = loc.get("latitude"), loc.get("longitude")
        if self.asn is not None:
            rec = _get(self.asn, ip)
            asn, org = rec.get("autonomous_system_number"), rec.get("autonomous_system_organization")
        return Location(country, city, lat, lon, asn, org)

    def is_aws(self, ip) -> bool | None:
        """True/False when the ASN database knows the address; None when it cannot tell."""
        if self.asn is None or public_ip(ip) is None:
            return None
        asn = self.locate(ip).asn
        return None if asn is None else asn in AWS_ASNS

    def missing(self) -> list[str]:
        """The checks these databases cannot do, one sentence each."""
        out = []
        if self.city is None:
            out.append("No GeoIP database (geoip_db): the new-country and impossible-travel checks were not done.")
        if self.asn is None:
            out.append("No ASN database (asn_db): the new-ASN check was not done, and addresses outside AWS are not "
                       "named by their network owner.")
        return out

    def close(self) -> None:
        for db in (self.city, self.asn):
            if db is not None:
                db.close()


def _get(reader, ip: str) -> dict:
    try:
        rec = reader.get(ip)
    except ValueError:      # an IPv6 address in an IPv4-only database
        return {}
    return rec if isinstance(rec, dict) else {}


def open_geoip(geoip_db=None, asn_db=None) -> GeoIP:
    """Open the optional databases. A missing, unreadable or swapped file is one :class:`TrailtoolsError` sentence."""
    city = _open(geoip_db, "GeoIP database (geoip_db)") if geoip_db else None
    asn = _open(asn_db, "ASN database (asn_db)") if asn_db else None
    if city is not None and "ASN" in city.metadata().database_type.upper():
        raise TrailtoolsError(f"geoip_db {str(geoip_db)!r} is an ASN database ({city.metadata().database_type}): "
                              "give it as asn_db, and a City or Country database as geoip_db.")
    if asn is not None and "ASN" not in asn.metadata().database_type.upper():
        raise TrailtoolsError(f"asn_db {str(asn_db)!r} is a {asn.metadata().database_type} database, not an ASN one: "
                              "give a GeoLite2-ASN (or compatible) .mmdb file.")
    return GeoIP(city, asn, str(geoip_db) if geoip_db else None, str(asn_db) if asn_db else None)
