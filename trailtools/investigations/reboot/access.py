"""Who was behind a shared OS account when a command ran in the guest: EC2 Instance Connect (pure; no I/O).

``SendSSHPublicKey`` (eventSource ``ec2-instance-connect.amazonaws.com``) pushes a one-time public key for
``instanceOSUser`` (``ec2-user`` ...) that sshd accepts for 60 seconds. CloudTrail logs the key itself
(``requestParameters.sSHPublicKey``), so its SHA256 fingerprint can be compared with the one sshd logs:
``Accepted publickey for ec2-user from 198.51.100.7 port 50022 ssh2: ED25519 SHA256:...``. The login of that user
last accepted before the command is the session it ran in; when it used a pushed key, the person who pushed it was
that OS user. A key pushed in that minute whose fingerprint differs from the accepted one is not it (another key
logged in).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

import pandas as pd

from trailtools.investigations.reboot.remote import parsed_json

#: How long a pushed key is accepted (60 s), with slack for clocks.
KEY_LIFETIME = pd.Timedelta(seconds=90)
_FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")


def fingerprint(public_key) -> str | None:
    """``ssh-ed25519 AAAA... comment`` -> ``SHA256:...`` as ssh-keygen -l and sshd print it, or None."""
    parts = str(public_key or "").split()
    if len(parts) < 2 or len(parts[1]) > 20_000:  # bounded: the field is attacker-controlled
        return None
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return None
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


@dataclass
class PushedLogin:
    """A login of an OS user with a key pushed through EC2 Instance Connect."""

    push: dict                 # the SendSSHPublicKey row
    login: dict                # the guest's ssh row (accepted publickey)
    fingerprint: str | None    # the pushed key's, when CloudTrail logged the key
    matched_by: str            # "key fingerprint" | "time"


def pushed_login(calls: list[dict], ssh: list[dict], user: str | None, before) -> PushedLogin | None:
    """The EC2 Instance Connect push behind ``user``'s last accepted public-key login before ``before``, or None."""
    if not user or before is None:
        return None
    logins = [s for s in ssh if s.get("result") == "accepted" and s.get("user") == user
              and s.get("method") == "publickey" and s.get("time") is not None and s["time"] <= before]
    if not logins:
        return None
    login = max(logins, key=lambda s: s["time"])
    seen = _FINGERPRINT.search(str(login.get("text") or ""))
    pushes = [c for c in calls if c.get("eventName") == "SendSSHPublicKey" and not c.get("errorCode")
              and parsed_json(c.get("requestParameters")).get("instanceOSUser") == user
              and c["eventTime"] <= login["time"] <= c["eventTime"] + KEY_LIFETIME]
    for push in sorted(pushes, key=lambda c: c["eventTime"], reverse=True):
        fp = fingerprint(parsed_json(push.get("requestParameters")).get("sSHPublicKey"))
        if fp and seen:
            if fp == seen.group(0):
                return PushedLogin(push, login, fp, "key fingerprint")
            continue  # another key logged in
        return PushedLogin(push, login, fp, "time")
    return None
