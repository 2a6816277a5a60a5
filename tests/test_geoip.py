"""GeoIP/ASN lookups (trailtools.evidence.geoip) on small MaxMind-format databases built here with mmdb-writer."""
from pathlib import Path

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from trailtools.errors import TrailtoolsError
from trailtools.evidence.geoip import (
    MAX_SPEED_KMH,
    MIN_TRAVEL_KM,
    Location,
    great_circle_km,
    impossible_travel,
    open_geoip,
    public_ip,
)

#: city -> (latitude, longitude), for the networks below
CITIES = {"New York": (40.7128, -74.0060), "Amsterdam": (52.3676, 4.9041), "Berlin": (52.5200, 13.4050),
          "Chicago": (41.8781, -87.6298), "Newark": (40.7357, -74.1724), "Boston": (42.3601, -71.0589),
          "Ashburn": (39.0438, -77.4874), "London": (51.5074, -0.1278), "Potsdam": (52.3906, 13.0645)}


def write_city_db(path: Path, networks: dict) -> Path:
    """networks: CIDR -> (country ISO code, city name); coordinates from CITIES. GeoLite2-City's record layout."""
    w = MMDBWriter(4, "GeoLite2-City", languages=["en"], description="trailtools test")
    for net, (country, city) in networks.items():
        lat, lon = CITIES[city]
        w.insert_network(IPSet([net]), {"country": {"iso_code": country, "names": {"en": country}},
                                        "city": {"names": {"en": city}},
                                        "location": {"latitude": lat, "longitude": lon}})
    w.to_db_file(str(path))
    return path


def write_asn_db(path: Path, networks: dict) -> Path:
    """networks: CIDR -> (ASN, organization). GeoLite2-ASN's record layout."""
    w = MMDBWriter(4, "GeoLite2-ASN", description="trailtools test")
    for net, (asn, org) in networks.items():
        w.insert_network(IPSet([net]), {"autonomous_system_number": asn, "autonomous_system_organization": org})
    w.to_db_file(str(path))
    return path


def demo_databases(folder: Path, tmp_path: Path) -> tuple[str, str]:
    """A City and an ASN .mmdb from the demo account's geo/ip-locations.csv (ASNs from the private-use range)."""
    import csv

    with open(folder / "geo" / "ip-locations.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    city = write_city_db(tmp_path / "city.mmdb", {r["network"]: (r["country_code"], r["city"]) for r in rows})
    asn = write_asn_db(tmp_path / "asn.mmdb", {r["network"]: (64512 + i, r["organization"])
                                               for i, r in enumerate(rows)})
    return str(city), str(asn)


@pytest.fixture
def dbs(tmp_path):
    city = write_city_db(tmp_path / "city.mmdb", {"203.0.113.192/26": ("NL", "Amsterdam"),
                                                  "198.51.100.0/26": ("US", "New York")})
    asn = write_asn_db(tmp_path / "asn.mmdb", {"18.0.0.0/8": (16509, "AMAZON-02"),
                                               "203.0.113.192/26": (64501, "Example VPS Hosting")})
    return city, asn


def test_lookups(dbs):
    geo = open_geoip(*dbs)
    loc = geo.locate("203.0.113.201")
    assert (loc.country, loc.city, loc.asn, loc.org) == ("NL", "Amsterdam", 64501, "Example VPS Hosting")
    assert loc.place == "Amsterdam, NL" and loc.latitude == pytest.approx(52.3676)
    assert geo.locate("198.51.100.57").country == "US" and geo.locate("198.51.100.57").asn is None
    for nothing in ("ec2.amazonaws.com", "AWS Internal", "10.0.0.10", "255.090.254.5", None, "2001:db8::1",
                    "192.0.2.1"):
        assert geo.locate(nothing) == Location()
    assert geo.is_aws("18.236.253.47") is True and geo.is_aws("203.0.113.201") is False
    assert geo.is_aws("192.0.2.1") is None and geo.is_aws("ec2.amazonaws.com") is None
    assert geo.missing() == []
    geo.close()


def test_only_one_database_says_what_is_missing(dbs):
    city_only, asn_only = open_geoip(dbs[0]), open_geoip(asn_db=dbs[1])
    assert city_only.locate("203.0.113.201").asn is None and city_only.is_aws("18.1.2.3") is None
    assert asn_only.locate("203.0.113.201").country is None
    assert len(city_only.missing()) == 1 and "asn_db" in city_only.missing()[0]
    assert len(asn_only.missing()) == 1 and "impossible-travel" in asn_only.missing()[0]


def test_public_ip():
    assert public_ip("203.0.113.5") == "203.0.113.5" and public_ip("2001:0db8::0001") == "2001:db8::1"
    assert public_ip("172.20.1.1") is None and public_ip("fd00::1") is None and public_ip("signin.aws") is None


def test_great_circle_and_impossible_travel():
    ny, ams = Location(latitude=40.7128, longitude=-74.0060), Location(latitude=52.3676, longitude=4.9041)
    km = great_circle_km(ny, ams)
    assert 5800 < km < 5900                                   # New York - Amsterdam is about 5,860 km
    assert great_circle_km(ny, ny) == 0 and great_circle_km(ny, Location()) is None
    assert impossible_travel(ny, ams, 3600) == (km, pytest.approx(km))     # 5,860 km in an hour
    assert impossible_travel(ny, ams, km / MAX_SPEED_KMH * 3600 + 60) is None   # just slower than the limit
    berlin, potsdam = Location(latitude=52.52, longitude=13.405), Location(latitude=52.3906, longitude=13.0645)
    assert great_circle_km(berlin, potsdam) < MIN_TRAVEL_KM and impossible_travel(berlin, potsdam, 1) is None


def test_bad_databases_are_one_sentence(tmp_path, dbs):
    junk = tmp_path / "junk.mmdb"
    junk.write_bytes(b"not a database")
    cases = [({"geoip_db": tmp_path / "missing.mmdb"}, "does not exist"),
             ({"asn_db": junk}, "not a readable MaxMind .mmdb file"),
             ({"geoip_db": dbs[1]}, "is an ASN database"),
             ({"asn_db": dbs[0]}, "not an ASN one")]
    for kwargs, words in cases:
        with pytest.raises(TrailtoolsError) as err:
            open_geoip(**kwargs)
        text = str(err.value)
        assert words in text and "\n" not in text and text.endswith((".", ")."))
