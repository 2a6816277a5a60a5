"""The sign-in timeline, tested through its spec."""
import json

import pandas as pd
import vl_convert

from trailtools.views import spec_json
from trailtools.views.signins import signin_timeline

T = pd.Timestamp
SIGNINS = pd.DataFrame([
    {"time": T("2026-10-11T02:13:05Z"), "principal": "emma.wilson", "result": "Failure", "mfa": "No",
     "sourceIPAddress": "203.0.113.201", "userAgent": "</script><img src=x onerror=alert(1)>", "eventID": "e1"},
    {"time": T("2026-10-11T02:16:30Z"), "principal": "emma.wilson", "result": "Success", "mfa": "No",
     "sourceIPAddress": "203.0.113.201", "userAgent": "Mozilla/5.0", "eventID": "e2"},
    {"time": T("2026-10-10T09:00:00Z"), "principal": "frank.chen", "result": "Success", "mfa": "Yes",
     "sourceIPAddress": "192.0.2.77", "userAgent": None, "eventID": "e3"},
])
ACTIONS = pd.DataFrame([{"time": T("2026-10-11T02:23:37Z"), "principal": "emma.wilson", "eventName": "StopLogging",
                         "category": "defense evasion", "sourceIPAddress": "203.0.113.201", "eventID": "e4"}])


def test_spec_rows_encodings_and_selections():
    spec = signin_timeline(SIGNINS, ACTIONS).to_dict()
    rows = spec["datasets"][next(iter(spec["datasets"]))]
    assert [r["kind"] for r in rows] == ["sign-in success", "sign-in failure", "sign-in success", "risky action"]
    assert rows[0]["time"] == "2026-10-10T09:00:00.000Z" and rows[-1]["what"] == "StopLogging"
    assert {p["name"] for p in spec["params"]} == {"kind_pick", "zoom"}
    assert spec["encoding"]["shape"]["field"] == "mfa"
    assert rows[1]["detail"] == "</script><img src=x onerror=alert(1)>"  # unchanged in the spec ...
    assert "</script" not in spec_json(spec) and json.loads(spec_json(spec)) == spec  # ... escaped for HTML
    assert "<svg" in vl_convert.vegalite_to_svg(spec)


def test_empty_inputs_give_a_valid_chart():
    spec = signin_timeline(pd.DataFrame(), None).to_dict()
    assert "<svg" in vl_convert.vegalite_to_svg(spec)


def test_place_from_geoip_columns_in_the_tooltip():
    located = SIGNINS.assign(city=["Amsterdam", "Amsterdam", None], country=["NL", "NL", None],
                             asn=[64501, 64501, None], org=["Example VPS", "Example VPS", None])
    spec = signin_timeline(located, ACTIONS).to_dict()
    rows = spec["datasets"][next(iter(spec["datasets"]))]
    place = "Amsterdam, NL, AS64501 Example VPS"
    assert [r["place"] for r in rows] == ["", place, place, ""]
    assert {"field": "place", "type": "nominal"} in spec["encoding"]["tooltip"]
