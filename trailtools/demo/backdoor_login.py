"""Incident 8 of the demo account, a backdoor login: the legacy deploy user's long-term access key, used from a VPS
in Amsterdam (not the deploy host's Ashburn address), creates a brand-new IAM user ``support-ops`` and gives it a
console password; ``support-ops`` signs in nine seconds later without MFA from the next address of the same VPS
network. Three records, with a random stream of their own (adding them changes no other record of the trail).

Expected answer (docs/demo-account.md): ``sequences.backdoor-login`` at critical, naming the three eventIDs.
"""
from __future__ import annotations

from datetime import datetime

from trailtools.demo import scenario as S
from trailtools.demo import synth
from trailtools.demo._io import rng_for
from trailtools.demo.principals import stable_id

CREATE_USER, CREATE_LOGIN_PROFILE, CONSOLE_LOGIN = S.INC8_CREATE_USER, S.INC8_CREATE_LOGIN_PROFILE, S.INC8_CONSOLE_LOGIN
NEW_USER = "support-ops"
CREATOR = "legacy-deploy"                    # synth.default_profile's IAM user with a long-term access key
API_IP = "203.0.113.222"                     # Amsterdam VPS network (scenario.GEO), never used by legacy-deploy
SIGN_IN_IP = "203.0.113.223"
CLI = ("aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.8.0-45-generic md/arch#x86_64 lang/python#3.11.9 "
       "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off "
       "md/command#{}")
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0"


def _java_date(d: datetime) -> str:
    """IAM's ``Oct 14, 2026 3:26:40 AM``."""
    h = d.hour % 12 or 12
    return f"{d:%b} {d.day}, {d.year} {h}:{d:%M:%S} {'AM' if d.hour < 12 else 'PM'}"


def records(prof: synth.AccountProfile, seed: int) -> list[dict]:
    """The incident's CloudTrail records, in time order."""
    rng = rng_for(seed, "trail-backdoor-login")
    creator = next(p for p in prof.principals if p.name == CREATOR)
    user_id = stable_id("AIDA", S.ACCOUNT_ID + NEW_USER)
    new_user = synth.Principal(name=NEW_USER, kind="IAMUser", weight=0.0, user_name=NEW_USER, ips=(SIGN_IN_IP,),
                               browser_agents=(FIREFOX_LINUX,), console_share=1.0, mfa=False, principal_id=user_id,
                               human=True)

    def add(name: str, source: str, who: synth.Principal, when: datetime, **kw) -> dict:
        return synth.build_record(event_name=name, event_source=source, principal=who, account_id=S.ACCOUNT_ID,
                                  event_time=when, region=S.HOME_REGION, rng=rng, profile=prof, **kw)

    iam = "iam.amazonaws.com"
    arn = f"arn:aws:iam::{S.ACCOUNT_ID}:user/{NEW_USER}"
    return [
        add("CreateUser", iam, creator, CREATE_USER, source_ip=API_IP, user_agent=CLI.format("iam.create-user"),
            console=False, read_only=False, request_parameters={"userName": NEW_USER},
            response_elements={"user": {"arn": arn, "createDate": _java_date(CREATE_USER), "path": "/",
                                        "userId": user_id, "userName": NEW_USER}}),
        add("CreateLoginProfile", iam, creator, CREATE_LOGIN_PROFILE, source_ip=API_IP, console=False,
            user_agent=CLI.format("iam.create-login-profile"), read_only=False,
            request_parameters={"passwordResetRequired": False, "userName": NEW_USER},
            response_elements={"loginProfile": {"createDate": _java_date(CREATE_LOGIN_PROFILE),
                                                "passwordResetRequired": False, "userName": NEW_USER}}),
        add("ConsoleLogin", "signin.amazonaws.com", new_user, CONSOLE_LOGIN, source_ip=SIGN_IN_IP,
            user_agent=FIREFOX_LINUX),
    ]
