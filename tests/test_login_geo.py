"""The location checks of the suspicious-login analysis: new country, new network owner (ASN), impossible travel,
business hours. GeoIP/ASN databases are built from the demo's geo/ip-locations.csv with mmdb-writer."""
import pandas as pd
import pytest
from test_geoip import demo_databases, write_city_db
from test_login import AT_MOST_LOW, _frame, _login

from trailtools import load_events
from trailtools.errors import QueryError
from trailtools.evidence.geoip import open_geoip
from trailtools.investigations.login.analysis import analyze_logins, signins, travel
from trailtools.investigations.login.hours import parse_business_hours
from trailtools.sources.resolve import resolve_source


@pytest.fixture(scope="module")
def demo_frame():
    return load_events("demo").frame


@pytest.fixture(scope="module")
def demo_geo(tmp_path_factory, _demo_cache):
    """The demo's ip-locations.csv as a City and an ASN database (ASNs from the private-use range, one a network)."""
    tmp_path = tmp_path_factory.mktemp("geo")
    with pytest.MonkeyPatch.context() as mp:  # the session's demo account (conftest's folder)
        mp.setenv("TRAILTOOLS_DEMO_CACHE_DIR", str(_demo_cache))
        folder = resolve_source("demo").folder
    city, asn = demo_databases(folder, tmp_path)
    geo = open_geoip(city, asn)
    yield geo
    geo.close()


@pytest.fixture(scope="module")
def demo_located(demo_frame, demo_geo):
    """The demo's week judged with both databases and New York business hours."""
    return analyze_logins(demo_frame, start="2026-10-07", end="2026-10-15", geo=demo_geo,
                          hours=parse_business_hours("08:00-18:00", "America/New_York"))


def test_demo_attacker_from_a_new_country_and_owner(demo_located):
    a = demo_located
    top = a.findings[0]
    assert top.check == "login.session" and top.extra["principal"] == "emma.wilson" and top.severity == "critical"
    assert {"new-country", "new-asn"} <= set(top.extra["signals"])
    assert "from a new country (NL)" in top.title
    assert not [f for f in a.findings if f.check == "login.new-country"]      # part of the session: one fact
    assert top.evidence[0].time == "2026-10-11T02:16:30Z" and top.extra["signals"]["new-country"] == 2
    emma = a.signins[a.signins["eventID"] == top.evidence[0].ref].iloc[0]
    assert (emma["country"], emma["city"]) == ("NL", "Amsterdam")
    assert all(c.done for c in a.checks if c.name != "SSH logins on instances")
    assert not any("GeoIP" in n for n in a.notes)


def test_demo_lookalikes_stay_low_with_geoip(demo_located):
    a = demo_located
    for who in ("frank.chen", "grace.kim"):
        mine = [f for f in a.findings if f.extra.get("principal") == who]
        assert all(f.severity in AT_MOST_LOW for f in mine), [(f.check, f.severity) for f in mine]
    frank = [f for f in a.findings if f.extra.get("principal") == "frank.chen"
             and f.extra.get("session_start") == "2026-10-07T13:12:40Z"]
    assert "login.new-country" not in {f.check for f in frank}         # Chicago: a new city, same country
    assert a.findings[0].extra["principal"] == "emma.wilson"


def test_demo_outside_business_hours(demo_frame):
    hours = parse_business_hours("08:00-18:00", "America/New_York")
    a = analyze_logins(demo_frame, start="2026-10-07", end="2026-10-15", principal="emma.wilson", hours=hours)
    top = a.findings[0]
    assert "outside-hours" in top.extra["signals"]
    assert "outside business hours (Sat 22:16 America/New_York)" in top.title
    assert top.evidence[0].time == "2026-10-11T02:16:30Z"
    done = {c.name: c for c in a.checks}["outside business hours"]
    assert done.done and "America/New_York" in done.detail
    assert not analyze_logins(demo_frame, start="2026-10-07", end="2026-10-15", principal="emma.wilson",
                              hours=parse_business_hours("Mon-Sun 00:00-24:00", "UTC")).findings[0] \
        .extra["signals"].get("outside-hours")


@pytest.mark.parametrize("text, tz, inside, outside", [
    ("08:00-18:00", "Europe/Berlin", "2026-10-07T06:30:00Z", "2026-10-07T16:30:00Z"),     # Wed 08:30 / 18:30 CEST
    ("08:00-18:00", "UTC", "2026-10-09T17:59:00Z", "2026-10-10T10:00:00Z"),               # Fri / Saturday
    ("Mon-Sun 22:00-06:00", "UTC", "2026-10-10T23:30:00Z", "2026-10-10T12:00:00Z"),       # overnight shift
    ("sat-sun 09:00-12:00", "Asia/Tokyo", "2026-10-10T01:00:00Z", "2026-10-12T01:00:00Z"),
])
def test_business_hours(text, tz, inside, outside):
    hours = parse_business_hours(text, tz)
    assert hours.contains(pd.Timestamp(inside)) and not hours.contains(pd.Timestamp(outside))


@pytest.mark.parametrize("text, tz, words", [
    ("8-18", "UTC", "business_hours '8-18' cannot be understood"),
    ("25:00-26:00", "UTC", "cannot be understood"),
    ("Mon-Fry 08:00-18:00", "UTC", "cannot be understood"),
    ("08:00-08:00", "UTC", "cannot be understood"),
    ("08:00-18:00", "Berlin", "timezone 'Berlin' is not a time zone name"),
])
def test_bad_business_hours_are_one_sentence(text, tz, words):
    with pytest.raises(QueryError) as err:
        parse_business_hours(text, tz)
    assert words in str(err.value) and "\n" not in str(err.value)
    assert parse_business_hours(None, "UTC") is None and parse_business_hours("", "Europe/Berlin") is None


def test_impossible_travel(tmp_path):
    geo = open_geoip(write_city_db(tmp_path / "c.mmdb", {"198.51.100.0/24": ("US", "New York"),
                                                         "203.0.113.0/24": ("NL", "Amsterdam")}))
    recs = [_login("b1", "2024-01-08T09:00:00Z", "ann", ip="198.51.100.7", mfa="Yes"),
            _login("w1", "2024-01-09T09:00:00Z", "ann", ip="198.51.100.7", mfa="Yes"),
            _login("w2", "2024-01-09T10:30:00Z", "ann", ip="203.0.113.9", mfa="No"),      # 5,860 km in 1.5 h
            _login("w3", "2024-01-10T09:00:00Z", "ann", ip="198.51.100.7", mfa="Yes")]    # back after 22.5 h: fine
    frame = _frame(recs)
    trips = travel(signins(frame, geo))
    assert set(trips) == {"w2"} and trips["w2"]["from_event"] == "w1" and 5800 < trips["w2"]["km"] < 5900
    a = analyze_logins(frame, start="2024-01-09", end="2024-01-11", geo=geo)
    top = a.findings[0]
    assert top.check == "login.session" and {"impossible-travel", "new-country", "no-mfa"} <= set(top.extra["signals"])
    assert [e.ref for e in top.evidence[:2]] == ["w1", "w2"] and top.severity in ("high", "critical")
    assert "km from New York, US in 1.5 h" in top.title
    geo.close()


def test_without_databases_the_checks_say_so(demo_frame):
    a = analyze_logins(demo_frame, start="2026-10-07", end="2026-10-15", principal="grace.kim")
    not_done = {c.name for c in a.checks if not c.done}
    assert not_done == {"new country, impossible travel", "new network owner (ASN)", "outside business hours",
                        "SSH logins on instances"}
    assert a.signins["country"].isna().all()
    assert sum(("GeoIP" in n) + ("ASN" in n) + ("business_hours" in n) + ("os_logs" in n) for n in a.notes) == 4
