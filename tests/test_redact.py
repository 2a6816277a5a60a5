"""Redaction of reports (trailtools report --redact): consistent, shape-keeping pseudonyms, nothing left over."""
import functools
import json
import re

import pytest

from trailtools.report.redact import Redactor

ACCOUNT, MEMBER = "314159265358", "271828182845"
IPS = ("203.0.113.201", "198.51.100.40", "192.0.2.50", "3.91.171.20", "10.0.1.23")
IPV6 = "2600:1f18:4a3:6902:1c2a:9e71:d3b5:8f06"
KEYS = ("AKIAIOSFODNN7EXAMPLE", "ASIAY34FZKBOKMUTVV7A", "AIDAR6SYJGSXNYK4KOFX2", "AROA77LMHYXFOEGNXIVOQ")
EMAILS = ("alice@example.com", "henry.park@example.com")
ORIGINALS = (ACCOUNT, MEMBER, *IPS, IPV6, *KEYS, *EMAILS)

INSTANCE = "i-04c2a9e71d3b58f06"
EVENT_ID = "8edf518c-0581-4908-afaa-c3670dcbf0dc"
UNTOUCHED = (INSTANCE, EVENT_ID, "20261006T1422Z", "2026-10-06T14:22:31Z", "aws-cli/2.15.0", '"1.08"',
             "1234567890123", "dave.miller", "0.0.0.0/0",
             "9ca1179c87d853149044e4c26e8674a5d64a355d10f652b306f861849827276c")


def findings_doc() -> dict:
    """A findings document full of the demo account's identifying values."""
    return {
        "investigation": "reboot", "instance": INSTANCE, "source": "s3://acme-trail/AWSLogs/314159265358/",
        "version": "1.08", "ua": "aws-cli/2.15.0 Python/3.11.7", "big": "1234567890123", "open": "0.0.0.0/0",
        "verdict": {"cause": "api-call", "actor": "dave.miller", "how": "AWS console", "where": "198.51.100.40",
                    "summary": f"{INSTANCE} was rebooted by dave.miller from 198.51.100.40 at 2026-10-06T14:22:31Z.",
                    "evidence": [{"kind": "cloudtrail", "ref": EVENT_ID, "time": "2026-10-06T14:22:31Z",
                                  "summary": "RebootInstances by dave.miller from 198.51.100.40"}]},
        "findings": [{
            "check": "login.new-ip", "severity": "high", "resource": "arn:aws:iam::314159265358:user/emma.wilson",
            "title": "emma.wilson signed in from 203.0.113.201 (NL) with key AKIAIOSFODNN7EXAMPLE",
            "explanation": "Also seen: ASIAY34FZKBOKMUTVV7A, principal AROA77LMHYXFOEGNXIVOQ:henry.park@example.com,"
                           f" user AIDAR6SYJGSXNYK4KOFX2, alice@example.com from {IPV6} and 192.0.2.50, 3.91.171.20",
            "extra": {"314159265358": "account as a key", "host": "ip-10-0-1-23.ec2.internal",
                      "payer": "arn:aws:organizations::271828182845:account/o-abc123/271828182845",
                      "files": ["AWSLogs/314159265358/CloudTrail/us-east-1/2026/10/06/"
                                "314159265358_CloudTrail_us-east-1_20261006T1422Z_90BwdOFZU6ilTEFp.json.gz"],
                      "sha256": "9ca1179c87d853149044e4c26e8674a5d64a355d10f652b306f861849827276c"},
        }],
    }


def script_json(obj) -> str:
    """JSON as a report embeds it in <script type="application/json">: <, >, & escaped."""
    return (json.dumps(obj).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


LIBRARY = ("/* vega 5 (bundled) */\n!function(){var ACCOUNT='314159265358',ip='203.0.113.201',k='AKIAIOSFODNN7EXAMPLE';"
           + "function f(t){return t<1&&t>0}" * 3000 + "}();")


def html_page() -> str:
    spec = {"data": {"values": [{"ip": "<203.0.113.201>", "who": "alice@example.com & 314159265358",
                                 "arn": "arn:aws:sts::314159265358:assumed-role/x/henry.park@example.com"}]},
            "title": "reboot of " + INSTANCE}
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Report 314159265358</title>"
            f"<script>{LIBRARY}</script></head><body>"
            "<h1 class='h' data-account=\"314159265358\">Account 314159265358</h1>"
            "<p title='198.51.100.40'>dave.miller from 198.51.100.40 at 2026-10-06T14:22:31Z (event "
            f"{EVENT_ID}, {INSTANCE}, aws-cli/2.15.0, eventVersion \"1.08\", 1234567890123)</p>"
            "<td>&lt;img src=x onerror=alert(1)&gt; alice@example.com</td>"
            f"<a href=\"mailto:henry.park@example.com\">key AROA77LMHYXFOEGNXIVOQ:henry.park@example.com</a>"
            f"<script type=\"application/json\" id=\"spec-1\">{script_json(spec)}</script>"
            "<div id='vis1'></div><script>vegaEmbed('#vis1', JSON.parse(document.getElementById('spec-1')"
            ".textContent))</script></body></html>")


def assert_no_originals(text: str, originals=ORIGINALS):
    left = [o for o in originals if o in text]
    assert not left, f"still in the output: {left}"


# ---- text -----------------------------------------------------------------------------------------------------

def test_text_shapes_and_consistency():
    r = Redactor()
    out = r.redact_text("arn:aws:iam::314159265358:user/dave.miller from 203.0.113.201 key AKIAIOSFODNN7EXAMPLE "
                        "by alice@example.com; again 314159265358 203.0.113.201 AKIAIOSFODNN7EXAMPLE "
                        f"alice@example.com, then 198.51.100.40 and {IPV6}")
    assert out == ("arn:aws:iam::000000000001:user/dave.miller from 198.18.0.1 key AKIAREDACTED00000001 "
                   "by user1@example.invalid; again 000000000001 198.18.0.1 AKIAREDACTED00000001 "
                   "user1@example.invalid, then 198.18.0.2 and 2001:db8::1")
    assert r.mapping() == {"314159265358": "000000000001", "203.0.113.201": "198.18.0.1",
                           "AKIAIOSFODNN7EXAMPLE": "AKIAREDACTED00000001", "alice@example.com": "user1@example.invalid",
                           "198.51.100.40": "198.18.0.2", IPV6: "2001:db8::1"}


@pytest.mark.parametrize("text,expected", [
    ("AWSLogs/314159265358/CloudTrail/", "AWSLogs/000000000001/CloudTrail/"),
    ("314159265358_CloudTrail_us-east-1_20261006T1422Z_x.json.gz",
     "000000000001_CloudTrail_us-east-1_20261006T1422Z_x.json.gz"),
    ("aws-cloudtrail-logs-314159265358-3f2a", "aws-cloudtrail-logs-000000000001-3f2a"),
    ("account 314159265358.", "account 000000000001."),
    ("AROA77LMHYXFOEGNXIVOQ:henry.park@example.com", "AROAREDACTED000000001:user1@example.invalid"),
    ("AIDAR6SYJGSXNYK4KOFX2", "AIDAREDACTED000000001"),
    ("ip-10-0-1-23.ec2.internal", "ip-198-18-0-1.ec2.internal"),
    ("[2600:1f18::5]:443", "[2001:db8::1]:443"),
    ("198.51.100.40:443, 203.0.113.0/27", "198.18.0.1:443, 198.18.0.2/27"),
    (r"\u003c314159265358\u0026203.0.113.201\nalice@example.com",
     r"\u003c000000000001\u0026198.18.0.1\nuser1@example.invalid"),
])
def test_text_patterns(text, expected):
    assert Redactor().redact_text(text) == expected


@pytest.mark.parametrize("text", [
    INSTANCE, "i-0b81f3d6c2e9a4775", EVENT_ID, "20261006T1422Z", "2026-10-06T14:22:31Z", "1.08", "aws-cli/2.15.0",
    "Python/3.11.7 Linux/5.10.220", "1234567890123", "12345678901", "0.314159265358", "3141592653580",
    "9ca1179c87d853149044e4c26e8674a5d64a355d10f652b306f861849827276c", "a123456789012b", "dave.miller",
    "0.0.0.0/0", "127.0.0.1", "::1", "14:22:05", "arn:aws:s3:::bucket/key", "AKIA-not-a-key", "AKIASHORT",
    "req-1234", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "sg-0123456789abcdef0", "vol-049df61146c4d7901",
    "arn:aws:health:us-east-1::event/EC2/AWS_EC2_X/AWS_EC2_X_3768e66b-b3fa-4a06-bbe2-a10f65970248",
])
def test_text_left_alone(text):
    r = Redactor()
    assert r.redact_text(text) == text
    assert r.mapping() == {}


def test_redacting_twice_is_harmless():
    r = Redactor()
    once = r.redact_text("314159265358 203.0.113.201 AKIAIOSFODNN7EXAMPLE alice@example.com " + IPV6)
    assert r.redact_text(once) == once
    assert len(r.mapping()) == 5


def test_deterministic_by_order_first_seen():
    doc = findings_doc()
    a, b = Redactor(), Redactor()
    assert json.dumps(a.redact_json(doc)) == json.dumps(b.redact_json(doc))
    assert a.mapping() == b.mapping()


def test_pseudonyms_do_not_collide_with_originals_seen():
    r = Redactor()
    # values that already look like pseudonyms, met first as originals, are never handed out to other values
    out = r.redact_text("000000000001 198.18.0.1 then 314159265358 203.0.113.201")
    m = r.mapping()
    assert m["314159265358"] not in ("000000000001",) and m["203.0.113.201"] != "198.18.0.1"
    assert len(set(m.values())) == len(m)
    assert out.split()[-2:] == [m["314159265358"], m["203.0.113.201"]]


# ---- JSON -----------------------------------------------------------------------------------------------------

def test_json_nothing_left_and_still_valid():
    r = Redactor()
    doc = findings_doc()
    out = r.redact_json(doc)
    text = json.dumps(out, indent=2)
    assert json.loads(text) == out
    assert_no_originals(text)
    for value in UNTOUCHED:
        assert value in text, value
    assert out["verdict"]["actor"] == "dave.miller"
    assert out["verdict"]["where"] == r.mapping()["198.51.100.40"]
    assert out["findings"][0]["extra"]["000000000001"] == "account as a key"       # keys are redacted too
    assert out["findings"][0]["resource"] == "arn:aws:iam::000000000001:user/emma.wilson"
    assert doc == findings_doc()  # the input is not modified


# ---- HTML -----------------------------------------------------------------------------------------------------

def test_html_nothing_left_outside_scripts_and_library_untouched():
    r = Redactor()
    page = html_page()
    out = r.redact_html(page)
    # the bundled library is byte for byte the same
    assert f"<script>{LIBRARY}</script>" in out
    # everywhere else, no original remains
    assert_no_originals(out.replace(LIBRARY, ""), ORIGINALS[:2] + ("203.0.113.201", "198.51.100.40") + KEYS[2:]
                        + EMAILS)
    for value in (INSTANCE, EVENT_ID, "2026-10-06T14:22:31Z", "aws-cli/2.15.0", '"1.08"', "1234567890123",
                  "&lt;img src=x onerror=alert(1)&gt;"):
        assert value in out, value
    # markup is intact: the same tags in the same order
    assert re.findall(r"<[^>]*>", page.replace(LIBRARY, "")) != [] and \
        [t.split()[0] for t in re.findall(r"</?[a-zA-Z!][^>\s]*", out)] == \
        [t.split()[0] for t in re.findall(r"</?[a-zA-Z!][^>\s]*", page)]
    # the chart spec is still JSON, with the pseudonyms inside
    spec_text = re.search(r'<script type="application/json" id="spec-1">(.*?)</script>', out, re.S).group(1)
    spec = json.loads(spec_text)
    assert spec["data"]["values"][0]["ip"] == "<" + r.mapping()["203.0.113.201"] + ">"
    assert spec["data"]["values"][0]["who"] == "user1@example.invalid & 000000000001"
    assert "data-account=\"000000000001\"" in out and f"title='{r.mapping()['198.51.100.40']}'" in out


def test_same_pseudonym_across_text_json_and_html():
    r = Redactor()
    j = r.redact_json(findings_doc())
    h = r.redact_html(html_page())
    t = r.redact_text("203.0.113.201 314159265358 alice@example.com AROA77LMHYXFOEGNXIVOQ")
    m = r.mapping()
    for original in ("203.0.113.201", "314159265358", "alice@example.com", "AROA77LMHYXFOEGNXIVOQ"):
        assert m[original] in json.dumps(j) and m[original] in h and m[original] in t


def test_html_script_type_variants():
    r = Redactor()
    page = ("<script type='application/json'>{\"a\":\"314159265358\"}</script>"
            "<SCRIPT TYPE=application/json>{\"b\":\"314159265358\"}</SCRIPT>"
            "<script src=x.js type=\"text/javascript\">var a='314159265358'</script>"
            "<script type=\"module\">var b='314159265358'</script>")
    out = r.redact_html(page)
    assert out.count("000000000001") == 2
    assert "var a='314159265358'" in out and "var b='314159265358'" in out


# ---- the verdict survives -------------------------------------------------------------------------------------

@functools.cache
def _incident_1():
    from trailtools.investigations.reboot.gather import investigate

    return investigate("i-04c2a9e71d3b58f06").to_dict()


def test_reboot_verdict_unchanged_in_substance():
    before = _incident_1()
    r = Redactor()
    after = r.redact_json(before)
    v0, v1 = before["verdict"], after["verdict"]
    assert v1["cause"] == v0["cause"] == "api-call"
    assert (v1["actor"], v1["how"], v1["restart"], v1["confidence"]) == \
        (v0["actor"], v0["how"], v0["restart"], v0["confidence"]) == \
        ("dave.miller", "AWS console", "2026-10-06T14:22:58Z", "high")
    assert v0["where"] == "198.51.100.40" and v1["where"] == r.mapping()["198.51.100.40"] == "198.18.0.1"
    assert [e["ref"] for e in v1["evidence"]][0] == [e["ref"] for e in v0["evidence"]][0]  # the eventID
    text = json.dumps(after, default=str)
    assert_no_originals(text, ("314159265358", "198.51.100.40"))
    assert "dave.miller" in text
