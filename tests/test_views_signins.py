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


def test_ssh_attempts_on_one_row_per_host():
    ssh = pd.DataFrame({
        "time": pd.to_datetime(["2026-10-11T01:00:00Z", "2026-10-11T01:00:05Z", "2026-10-11T03:00:00Z"], utc=True),
        "result": ["Failed", "Failed", "Accepted"], "user": ["admin", "<b>root</b>", "ec2-user"],
        "source": ["198.51.100.9", "198.51.100.9", "203.0.113.201"], "port": [50000, 50001, 50002],
        "method": ["password", "password", "publickey"], "invalid_user": [True, False, False],
        "host": ["jump-1", "jump-1", "jump-1"], "file": ["secure", "secure", "secure"], "line": [10, 11, 40],
        "text": ["", "", ""]})
    spec = signin_timeline(SIGNINS, ACTIONS, ssh=ssh).to_dict()
    rows = spec["datasets"][next(iter(spec["datasets"]))]
    mine = [r for r in rows if r["mfa"] == "SSH"]
    assert [(r["principal"], r["kind"], r["what"], r["ref"]) for r in mine] == [
        ("ssh @ jump-1", "SSH failed", "admin (invalid user)", "secure:10"),
        ("ssh @ jump-1", "SSH failed", "<b>root</b>", "secure:11"),
        ("ssh @ jump-1", "SSH accepted", "ec2-user", "secure:40")]
    assert "<b>" not in spec_json(spec)   # a user name from a log is attacker-controlled
    assert spec["encoding"]["y"]["sort"] == ["frank.chen", "ssh @ jump-1", "emma.wilson"]  # as they first appear
    assert "<svg" in vl_convert.vegalite_to_svg(spec)


def test_a_ssh_brute_force_keeps_every_accepted_login(monkeypatch):
    from trailtools.views import signins

    monkeypatch.setattr(signins, "MAX_SSH_ROWS", 10)
    times = pd.date_range("2026-10-11T00:00:00Z", periods=50, freq="s")
    ssh = pd.DataFrame({"time": times, "result": ["Accepted" if i in (3, 40) else "Failed" for i in range(50)],
                        "user": "root", "source": "198.51.100.9", "port": 22, "method": "password",
                        "invalid_user": False, "host": "h", "file": "secure", "line": range(50), "text": ""})
    rows = signins._ssh_rows(ssh)
    assert len(rows) == 10 and list(rows["kind"]).count("SSH accepted") == 2
    assert set(rows["ref"]) == {f"secure:{i}" for i in (3, 40, 42, 43, 44, 45, 46, 47, 48, 49)}  # + latest failures
