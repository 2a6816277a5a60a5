"""The sign-in timeline, tested through its spec."""
import html
import json
import re

import pandas as pd
import pytest
import vl_convert
from nbformat.v4 import new_code_cell, new_notebook, new_output

from trailtools.report.html import render_html
from trailtools.views import spec_json
from trailtools.views.offline import VEGALITE_MIME
from trailtools.views.signins import short_names, signin_timeline
from trailtools.views.time import AXIS_FORMAT, DATED_AXIS_FORMAT, axis_format

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


# ---- dates on the time axis, short principal names, the full ARN in the tooltip, legends below -----------------

SSO_ADMIN = "AWSReservedSSO_AdministratorAccess_fbb972cd20594ef2"
SSO_RO = "AWSReservedSSO_ReadOnlyAccess_1e8963655e16f676"


def _sso_signins() -> pd.DataFrame:
    """Console sign-ins as analyze_logins gives them: principal is the actor, arn userIdentity.arn."""
    def row(when, principal, arn, eid):
        return {"time": T(when), "principal": principal, "arn": arn, "result": "Success", "mfa": "Yes",
                "sourceIPAddress": "192.0.2.10", "userAgent": "Mozilla/5.0", "eventID": eid}
    return pd.DataFrame([
        row("2026-10-08T09:12:00Z", f"{SSO_ADMIN}/alice@example.com",
            f"arn:aws:sts::111122223333:assumed-role/{SSO_ADMIN}/alice@example.com", "s1"),
        row("2026-10-09T14:40:00Z", f"{SSO_RO}/bob@example.com",
            f"arn:aws:sts::111122223333:assumed-role/{SSO_RO}/bob@example.com", "s2"),
        row("2026-10-10T08:05:00Z", "frank.chen", "arn:aws:iam::111122223333:user/frank.chen", "s3"),
        row("2026-10-11T02:16:00Z", f"{SSO_RO}/alice@example.com",
            f"arn:aws:sts::111122223333:assumed-role/{SSO_RO}/alice@example.com", "s4"),
    ])


def _texts(svg: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def test_a_window_of_several_days_has_the_date_on_every_tick():
    spec = signin_timeline(_sso_signins()).to_dict()
    fmt = spec["encoding"]["x"]["axis"]["format"]
    assert fmt == DATED_AXIS_FORMAT and fmt["hours"] == "%b %d %H:%M" and fmt["date"] == "%b %d"
    ticks = [t for t in _texts(vl_convert.vegalite_to_svg(spec)) if re.fullmatch(r"[\w :.]*\d\d", t)]
    assert ticks and all(re.match(r"Oct \d\d", t) for t in ticks), ticks   # never a bare "12:00"
    one_day = signin_timeline(SIGNINS[SIGNINS["time"] >= T("2026-10-11T00:00:00Z")], ACTIONS).to_dict()
    assert one_day["encoding"]["x"]["axis"]["format"] == AXIS_FORMAT       # within one day the hours say enough


def test_axis_format_picks_the_date_when_times_cross_midnight():
    assert axis_format([T("2026-10-11T00:00:00Z"), T("2026-10-11T23:59:59Z")]) == AXIS_FORMAT
    assert axis_format([T("2026-10-11T23:59:59Z"), T("2026-10-12T00:00:01Z")]) == DATED_AXIS_FORMAT
    assert axis_format([]) == DATED_AXIS_FORMAT


def test_principals_are_labelled_by_what_tells_them_apart():
    assert short_names([f"{SSO_RO}/bob@example.com", "frank.chen", "root", "ssh @ jump-1/x",
                        "arn:aws:iam::111122223333:user/dev-b", "federated-user/carol"]) == {
        f"{SSO_RO}/bob@example.com": "bob@example.com", "frank.chen": "frank.chen", "root": "root",
        "ssh @ jump-1/x": "ssh @ jump-1/x", "arn:aws:iam::111122223333:user/dev-b": "dev-b",
        "federated-user/carol": "carol"}
    # alice under two permission sets: two people-looking rows would be one; the permission set tells them apart
    assert short_names([f"{SSO_ADMIN}/alice@example.com", f"{SSO_RO}/alice@example.com", "alice@example.com"]) == {
        f"{SSO_ADMIN}/alice@example.com": "alice@example.com (AdministratorAccess)",
        f"{SSO_RO}/alice@example.com": "alice@example.com (ReadOnlyAccess)",
        "alice@example.com": "alice@example.com"}
    # still the same label: the full principal
    assert short_names(["RoleA/x", "x (RoleA)", "x"]) == {"RoleA/x": "RoleA/x", "x (RoleA)": "x (RoleA)", "x": "x"}


def test_rows_labels_and_tooltip_carry_the_short_name_and_the_full_arn():
    actions = pd.DataFrame([{"time": T("2026-10-09T14:45:00Z"), "principal": f"{SSO_RO}/bob@example.com",
                             "eventName": "GetSecretValue", "category": "credential access",
                             "sourceIPAddress": "192.0.2.10", "eventID": "a1"}])
    spec = signin_timeline(_sso_signins(), actions).to_dict()
    rows = spec["datasets"][next(iter(spec["datasets"]))]
    assert [(r["label"], r["arn"]) for r in rows] == [
        ("alice@example.com (AdministratorAccess)",
         f"arn:aws:sts::111122223333:assumed-role/{SSO_ADMIN}/alice@example.com"),
        ("bob@example.com", f"arn:aws:sts::111122223333:assumed-role/{SSO_RO}/bob@example.com"),
        ("bob@example.com", f"arn:aws:sts::111122223333:assumed-role/{SSO_RO}/bob@example.com"),  # the action
        ("frank.chen", "arn:aws:iam::111122223333:user/frank.chen"),
        ("alice@example.com (ReadOnlyAccess)", f"arn:aws:sts::111122223333:assumed-role/{SSO_RO}/alice@example.com"),
    ]
    enc = spec["encoding"]
    assert enc["y"]["field"] == "label" and enc["y"]["axis"]["labelLimit"] >= 200
    assert {"field": "arn", "type": "nominal", "title": "principal"} in enc["tooltip"]
    assert enc["color"]["legend"]["orient"] == enc["shape"]["legend"]["orient"] == "bottom"
    labels = _texts(vl_convert.vegalite_to_svg(spec))
    assert {"alice@example.com (AdministratorAccess)", "bob@example.com", "frank.chen"} <= set(labels)
    assert not [t for t in labels if "AWSReservedSSO" in t or t.endswith("…")]   # nothing cut


def test_without_an_arn_the_tooltip_shows_the_principal():
    rows = signin_timeline(SIGNINS, ACTIONS).to_dict()
    rows = rows["datasets"][next(iter(rows["datasets"]))]
    assert [r["arn"] for r in rows] == ["frank.chen", "emma.wilson", "emma.wilson", "emma.wilson"]


@pytest.mark.slow  # a browser
def test_the_chart_in_a_report_shows_dates_short_names_and_the_whole_legend(browser, tmp_path):
    """What a reader of the report sees: rendered by the report's own HTML in headless Chromium."""
    spec = signin_timeline(_sso_signins(), title="Sign-ins and what followed").to_dict()
    nb = new_notebook(cells=[new_code_cell("inv.timeline()", outputs=[new_output(
        "display_data", data={VEGALITE_MIME: spec, "text/plain": "chart"})])])
    path = tmp_path / "login.html"
    path.write_text(render_html(nb, title="login"), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort())
    page.goto(path.as_uri())
    page.wait_for_selector("#chart-0 svg .role-legend", timeout=30_000)
    axis = page.eval_on_selector_all("#chart-0 .role-axis", "els => els.map(a => [...a.querySelectorAll("
                                     "'.role-axis-label text')].map(t => t.textContent))")
    ticks = [t for labels in axis for t in labels if re.search(r"\d\d$", t)]
    assert ticks and all(re.match(r"Oct \d\d", t) for t in ticks), ticks
    names = {t for labels in axis for t in labels}
    assert {"alice@example.com (AdministratorAccess)", "bob@example.com", "frank.chen"} <= names
    box = page.evaluate("""() => {
        const main = document.querySelector('main').getBoundingClientRect();
        const legends = [...document.querySelectorAll('#chart-0 .role-legend')].map(l => l.getBoundingClientRect());
        return {main: [main.left, main.right], legends: legends.map(l => [l.left, l.right, l.width, l.height])};
    }""")
    assert len(box["legends"]) == 2 and errors == []
    for left, right, width, height in box["legends"]:   # both legends drawn, inside the report's column
        assert width > 0 and height > 0 and box["main"][0] <= left and right <= box["main"][1], box
    page.close()
