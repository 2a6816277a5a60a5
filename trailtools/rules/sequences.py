"""Attack sequences: steps that are each ordinary, and together the shape of an attack. A console password set for
another user and that user's sign-in minutes later (a backdoor login); a user created and used within the hour;
a principal that gives itself more permissions and then uses them; a role's trust policy opened and the role
assumed by someone new; logging or threat detection switched off inside a session that had just begun.

Each finding names the eventID of every step (in time order, ``extra.steps`` says what each did) and the MITRE
ATT&CK tactic and technique. "Use" of an identity is recognised by the calls listed in :data:`USE` (the calls
attackers make first and the ones these rules watch): every rule lists the events it reads, so a query loads only
those. A stop, user data change and start of one instance is ``execution.user-data-changed``; many failed
sign-ins then a success is the login investigation's ``brute_force``.
"""
from __future__ import annotations

import json

import pandas as pd

from trailtools.findings.model import SEVERITIES, Finding
from trailtools.rules.knowledge import card
from trailtools.rules.model import Rule, credential, evidence, lower, params, text

IAM, STS, SIGNIN = "iam.amazonaws.com", "sts.amazonaws.com", "signin.amazonaws.com"
EC2, LAMBDA, CLOUDTRAIL = "ec2.amazonaws.com", "lambda.amazonaws.com", "cloudtrail.amazonaws.com"

#: Calls attackers make first with a new identity (who am I, what is here).
DISCOVERY = ((STS, "GetCallerIdentity"), (IAM, "ListUsers"), (IAM, "ListRoles"),
             (IAM, "GetAccountAuthorizationDetails"), (IAM, "ListAttachedUserPolicies"), ("s3.amazonaws.com",
                                                                                          "ListBuckets"))
#: Permission changes: a policy attached or written inline, a managed policy's new default version.
ESCALATION = tuple((IAM, n) for n in ("AttachUserPolicy", "AttachRolePolicy", "AttachGroupPolicy", "PutUserPolicy",
                                      "PutRolePolicy", "PutGroupPolicy", "CreatePolicyVersion",
                                      "SetDefaultPolicyVersion"))
#: Identities and credentials made for later.
PERSISTENCE = ((IAM, "CreateUser"), (IAM, "CreateAccessKey"), (IAM, "CreateLoginProfile"),
               (IAM, "UpdateLoginProfile"), (IAM, "UpdateAssumeRolePolicy"))
#: Launches that hand a role to compute (iam:PassRole is not logged as its own event).
PASS_ROLE = ((EC2, "RunInstances"), (LAMBDA, "CreateFunction20150331"))
#: Logging and detection switched off (UpdateDetector only with ``enable: false``, PutEventSelectors only when it
#: stops recording management events).
EVASION = ((CLOUDTRAIL, "StopLogging"), (CLOUDTRAIL, "DeleteTrail"), (CLOUDTRAIL, "PutEventSelectors"),
           ("guardduty.amazonaws.com", "DeleteDetector"), ("guardduty.amazonaws.com", "UpdateDetector"),
           (EC2, "DeleteFlowLogs"), ("config.amazonaws.com", "StopConfigurationRecorder"),
           ("config.amazonaws.com", "DeleteConfigurationRecorder"), ("logs.amazonaws.com", "DeleteLogGroup"))
SIGN_IN = ((SIGNIN, "ConsoleLogin"),)
SESSIONS = ((STS, "AssumeRole"), (STS, "GetSessionToken"), (STS, "GetFederationToken"))
#: The calls that count as using an identity.
USE = DISCOVERY + ESCALATION + PERSISTENCE + PASS_ROLE + EVASION + SIGN_IN + ((STS, "AssumeRole"),)

#: Managed policies that grant (or let their holder grant itself) everything.
ADMIN_POLICIES = ("AdministratorAccess", "IAMFullAccess", "PowerUserAccess")
ADMIN_ACTIONS = ("*", "*:*", "iam:*")
MAX_POLICY_CHARS = 131_072     # a policy document longer than IAM allows is not parsed


# ------------------------------------------------------------------------------------------------ reading
def _ok(row: pd.Series) -> bool:
    return not text(row.get("errorCode"))


def _signed_in(row: pd.Series) -> bool:
    return text(row.get("eventName")) == "ConsoleLogin" and text(row.get("responseElements.ConsoleLogin")) == "Success"


def _user_name(row: pd.Series) -> str:
    """The IAM user who made a call (or signed in), "" for any other kind of identity."""
    if text(row.get("userIdentity.type")) != "IAMUser":
        return ""
    return text(row.get("userIdentity.userName")) or text(row.get("userIdentity.arn")).rpartition("/")[2]


def _role_name(row: pd.Series) -> str:
    """The IAM role behind a role session, "" for any other kind of identity."""
    if text(row.get("userIdentity.type")) != "AssumedRole":
        return ""
    parts = text(row.get("userIdentity.arn")).split("/")
    return text(row.get("userIdentity.sessionContext.sessionIssuer.userName")) or (parts[1] if len(parts) > 2 else "")


def _in_account(frame: pd.DataFrame, row: pd.Series) -> pd.DataFrame:
    """The rows of ``frame`` in the account of ``row`` (an organization trail holds many accounts, and the same user
    name in two of them is two users)."""
    account = text(row.get("recipientAccountId"))
    if not account or frame.empty:
        return frame
    return frame[frame["recipientAccountId"].map(text).isin([account, ""])]


def _mfa(row: pd.Series) -> bool:
    return text(row.get("additionalEventData.MFAUsed")) == "Yes"


def _issued_key(row: pd.Series) -> str:
    """The access key ID of the temporary credentials an STS call handed out."""
    creds = params(row.get("responseElements")).get("credentials")
    return text(creds.get("accessKeyId")) if isinstance(creds, dict) else ""


def _ago(delta: pd.Timedelta) -> str:
    s = int(delta.total_seconds())
    if s < 120:
        return f"{s} seconds"
    if s < 7200:
        return f"{s // 60} minutes"
    return f"{s // 3600} hours"


def _document(value) -> dict:
    if isinstance(value, dict):
        return value
    if not isinstance(value, str) or len(value) > MAX_POLICY_CHARS:
        return {}
    try:
        doc = json.loads(value)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _admin_document(value) -> bool:
    """A policy document with an Allow of every action (or every IAM action) on every resource."""
    statements = _document(value).get("Statement") or []
    for s in statements if isinstance(statements, list) else [statements]:
        if not isinstance(s, dict) or s.get("Effect") != "Allow":
            continue
        actions = s.get("Action") or []
        resources = s.get("Resource") or []
        actions = actions if isinstance(actions, list) else [actions]
        resources = resources if isinstance(resources, list) else [resources]
        if any(a in ADMIN_ACTIONS for a in actions) and "*" in resources:
            return True
    return False


def _grant(row: pd.Series) -> tuple[str, str, bool] | None:
    """A permission change: (kind of target, its name, whether it grants admin-like rights); None when the call
    is not one (a policy version not made the default)."""
    name, p = text(row.get("eventName")), params(row.get("requestParameters"))
    if name.startswith("Attach"):
        arn = text(p.get("policyArn"))
        admin = arn.rpartition("/")[2] in ADMIN_POLICIES and ":aws:policy/" in arn
    elif name.startswith("Put"):
        admin = _admin_document(p.get("policyDocument"))
    elif name == "CreatePolicyVersion":
        if p.get("setAsDefault") is not True:
            return None
        return "policy", text(p.get("policyArn")), _admin_document(p.get("policyDocument"))
    elif name == "SetDefaultPolicyVersion":
        return "policy", text(p.get("policyArn")), False
    else:
        return None
    for kind in ("user", "role", "group"):
        if p.get(f"{kind}Name"):
            return kind, text(p.get(f"{kind}Name")), admin
    return None


def _is_evasion(row: pd.Series) -> bool:
    name, p = text(row.get("eventName")), params(row.get("requestParameters"))
    if name == "UpdateDetector":
        return p.get("enable") is False
    if name == "PutEventSelectors":
        selectors = p.get("eventSelectors")
        return isinstance(selectors, list) and any(isinstance(s, dict) and s.get("includeManagementEvents") is False
                                                   for s in selectors)
    return name in {n for _, n in EVASION}


def _evasion_what(row: pd.Series) -> str:
    p = params(row.get("requestParameters"))
    target = (text(p.get("name")) or text(p.get("trailName")) or text(p.get("detectorId"))
              or text(p.get("logGroupName")) or text(p.get("configurationRecorderName")))
    return f"{text(row.get('eventName'))}" + (f" on {target}" if target else "")


# ------------------------------------------------------------------------------------------------ findings
def _finding(rule: Rule, severity: str, title: str, resource: str, steps: list[tuple[pd.Series, str]],
             facts: str, key_call: str) -> Finding:
    """One finding for one sequence: its steps in time order, each with its eventID."""
    steps = sorted(steps, key=lambda s: s[0]["eventTime"])
    first = steps[0][0]
    actor = text(first.get("actor")) or "someone"
    extra = {"rule": rule.id, "actor": actor, "credential": credential(first), "events": len(steps),
             "resources": [resource], "tactic": rule.tactic, "technique": rule.technique,
             "steps": [{"eventID": text(r.get("eventID")), "eventName": text(r.get("eventName")),
                        "time": evidence(r, what).time, "what": what} for r, what in steps]}
    known = card(key_call)
    if known is not None:   # "how attackers use this", from TrailDiscover by Adan Alvarez (CC-BY-4.0)
        extra["attackers"] = known.to_dict()
    return Finding(check=rule.id, severity=severity, title=title, explanation=f"{rule.explanation} {facts}",
                   resource=resource, remediation=rule.next_steps,
                   evidence=tuple(evidence(r, what) for r, what in steps), extra=extra)


def _sorted(found: list[Finding]) -> list[Finding]:
    return sorted(found, key=lambda f: (SEVERITIES.index(f.severity), f.evidence[0].time or ""))


def _by_user(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """IAM user name -> the rows of that user's own calls, in time order."""
    names = rows.apply(_user_name, axis=1) if len(rows) else pd.Series(dtype=object)
    return {n: rows[names == n] for n in set(names) - {""}}


def _creations(rows: pd.DataFrame) -> dict[tuple[str, str], pd.Series]:
    """(account, user name) -> its successful CreateUser (the first)."""
    out = {}
    for _, row in rows[rows["eventName"] == "CreateUser"].iterrows():
        name = text(params(row["requestParameters"]).get("userName"))
        if name and _ok(row) and text(row.get("eventSource")) == IAM:
            out.setdefault((text(row.get("recipientAccountId")), name), row)
    return out


# ------------------------------------------------------------------------------------------------ the rules
def _backdoor_login(rows: pd.DataFrame, rule: Rule) -> list[Finding]:
    within = pd.Timedelta(hours=rule.parameters["sign_in_within_hours"])
    logins = rows[rows.apply(_signed_in, axis=1)] if len(rows) else rows
    login_by = _by_user(logins)
    created = _creations(rows)
    changes = rows[rows["eventName"].isin(["CreateLoginProfile", "UpdateLoginProfile"])]
    found = []
    for _, row in changes.iterrows():
        user = text(params(row["requestParameters"]).get("userName"))
        if not user or not _ok(row) or _user_name(row) == user:     # one's own password is not a backdoor
            continue
        t = row["eventTime"]
        later = changes[(changes["eventTime"] > t)
                        & changes["requestParameters"].map(lambda s, u=user: text(params(s).get("userName")) == u)]
        mine = _in_account(login_by.get(user, logins.iloc[0:0]), row)
        nxt = mine[(mine["eventTime"] >= t) & (mine["eventTime"] <= t + within)]
        if nxt.empty or (len(later) and later["eventTime"].min() <= nxt.iloc[0]["eventTime"]):
            continue        # no sign-in followed, or a later password change is the one it followed
        login = nxt.iloc[0]
        before = mine[mine["eventTime"] < login["eventTime"]]
        address = text(login.get("sourceIPAddress"))
        new_address = address not in set(before["sourceIPAddress"].map(text))
        mfa = _mfa(login)
        severity = "critical" if (new_address or not mfa) else "high"
        how = ("without MFA" if not mfa else "with MFA") + (
            f" from a new address {address}" if new_address else f" from {address}, where {user} signed in before")
        verb = "set" if text(row["eventName"]) == "CreateLoginProfile" else "reset"
        steps = [(row, f"{verb} the console password of {user}"),
                 (login, f"{user} signed in to the console {how}")]
        facts = (f"{text(row.get('actor')) or 'someone'} {verb} the password of {user} at "
                 f"{steps[0][0]['eventTime']:%Y-%m-%dT%H:%M:%SZ} from {text(row.get('sourceIPAddress'))}; {user} "
                 f"signed in {_ago(login['eventTime'] - t)} later {how}")
        maker = created.get((text(row.get("recipientAccountId")), user))
        if maker is not None and maker["eventTime"] <= t:
            steps.insert(0, (maker, f"created the user {user}"))
            facts += f"; {user} had been created {_ago(t - maker['eventTime'])} before the password, by " \
                     f"{text(maker.get('actor')) or 'someone'}"
        if before.empty:
            facts += f". {user} had never signed in before in this window."
        else:
            facts += f". {user} signed in {len(before)} time{'s' if len(before) > 1 else ''} before in this window."
        title = (f"Backdoor login? {text(row.get('actor')) or 'someone'} {verb} {user}'s console password and {user} "
                 f"signed in {_ago(login['eventTime'] - t)} later {how}")
        found.append(_finding(rule, severity, title, f"user/{user}", steps, facts, text(row["eventName"])))
    return _sorted(found)


def _new_user_used(rows: pd.DataFrame, rule: Rule) -> list[Finding]:
    within = pd.Timedelta(hours=rule.parameters["used_within_hours"])
    found = []
    for (_, user), made in _creations(rows).items():
        t = made["eventTime"]
        window = _in_account(rows[(rows["eventTime"] >= t) & (rows["eventTime"] <= t + within)].drop(index=made.name),
                             made)
        keys = {}
        for _, row in window[window["eventName"] == "CreateAccessKey"].iterrows():
            resp = params(row["responseElements"]).get("accessKey")
            key = text(resp.get("accessKeyId")) if isinstance(resp, dict) else ""
            if key and _ok(row) and text(params(row["requestParameters"]).get("userName")) == user:
                keys[key] = row
        if window.empty:
            continue
        ids = window["userIdentity.accessKeyId"].map(text)
        by_user = window.apply(lambda r, u=user: _user_name(r) == u, axis=1)
        used = window[(ids.isin(keys) | by_user) & (window["eventName"] != "ConsoleLogin")]
        signins = window[window.apply(lambda r, u=user: _signed_in(r) and _user_name(r) == u, axis=1)]
        profiles = window[window["eventName"].isin(["CreateLoginProfile", "UpdateLoginProfile"])]
        if len(profiles) and profiles["requestParameters"].map(lambda s, u=user: text(params(s).get("userName"))
                                                                == u).any():
            signins = signins.iloc[0:0]     # a sign-in with a password set for it: sequences.backdoor-login's
        if used.empty and signins.empty:
            continue
        steps = [(made, f"created the user {user}")]
        steps += [(row, f"created access key {key} for {user}") for key, row in keys.items()
                  if key in set(used["userIdentity.accessKeyId"].map(text))]
        firsts = pd.concat([signins.iloc[:1], used.iloc[:1]]).sort_values("eventTime")
        for _, row in firsts.iterrows():
            if _signed_in(row):
                mfa = "" if _mfa(row) else " without MFA"
                steps.append((row, f"{user} signed in to the console{mfa} from {text(row.get('sourceIPAddress'))}"))
            else:
                steps.append((row, f"{user} called {text(row.get('eventName'))} from "
                                   f"{text(row.get('sourceIPAddress'))}"
                                   + (f" with key {text(row.get('userIdentity.accessKeyId'))}"
                                      if text(row.get("userIdentity.accessKeyId")) else "")))
        first_use = firsts.iloc[0]
        n = len(used) + len(signins)
        facts = (f"{text(made.get('actor')) or 'someone'} created {user} at {t:%Y-%m-%dT%H:%M:%SZ}; {user} was in use "
                 f"{_ago(first_use['eventTime'] - t)} later ({n} call{'s' if n > 1 else ''} and sign-ins within "
                 f"{rule.parameters['used_within_hours']} h of its creation seen by this rule).")
        title = (f"New user {user}, created by {text(made.get('actor')) or 'someone'}, was used "
                 f"{_ago(first_use['eventTime'] - t)} later")
        found.append(_finding(rule, rule.severity, title, f"user/{user}", steps, facts, "CreateUser"))
    return _sorted(found)


def _principal(row: pd.Series) -> tuple[str, str]:
    """(kind, name) of the identity that made a call: ("user", name), ("role", name), or ("", "")."""
    if _user_name(row):
        return "user", _user_name(row)
    if _role_name(row):
        return "role", _role_name(row)
    return "", ""


def _pass_role_what(row: pd.Series) -> str:
    p = params(row.get("requestParameters"))
    if text(row.get("eventName")) == "RunInstances":
        profile = p.get("iamInstanceProfile")
        if isinstance(profile, dict) and (profile.get("name") or profile.get("arn")):
            return f"launched an instance with instance profile {text(profile.get('name') or profile.get('arn'))} " \
                   f"(passing its role)"
        return ""
    role = text(p.get("role"))
    return f"created Lambda function {text(p.get('functionName'))} with role {role} (passing it)" if role else ""


def _escalation_used(rows: pd.DataFrame, rule: Rule) -> list[Finding]:
    within = pd.Timedelta(hours=rule.parameters["used_within_hours"])
    found = []
    grants = rows[rows["eventName"].isin([n for _, n in ESCALATION])]
    for _, row in grants.iterrows():
        grant, caller = _grant(row), _principal(row)
        if grant is None or not _ok(row) or not caller[0]:
            continue
        kind, target, admin = grant
        if kind != "policy" and (kind, target) != caller:
            continue            # permissions given to someone else: an administrator's ordinary work
        t = row["eventTime"]
        after = _in_account(rows[(rows["eventTime"] > t) & (rows["eventTime"] <= t + within)
                                 & rows["errorCode"].isna()], row)
        after = after[after.apply(lambda r, c=caller: _principal(r) == c, axis=1)] if len(after) else after
        passed, used = [], []
        for _, r in after.iterrows():
            what = _pass_role_what(r) if text(r.get("eventName")) in {n for _, n in PASS_ROLE} else ""
            (passed if what else used).append((r, what or f"called {text(r.get('eventName'))}"))
        if not admin and not passed:
            continue
        gave = (f"attached {text(params(row['requestParameters']).get('policyArn'))}" if text(row["eventName"])
                .startswith("Attach") else f"{text(row['eventName'])} on {target}")
        steps = [(row, f"{caller[1]} changed its own permissions: {gave}"
                       + (" (admin-like)" if admin else ""))]
        steps += passed + used[:max(rule.parameters["max_steps"] - 1 - len(passed), 0)]
        severity = "critical" if (passed or used) else rule.severity
        then = ("then " + "; ".join(w for _, w in (passed + used)[:3]) + (" ..." if len(passed + used) > 3 else "")
                if passed or used else "not used yet in this window")
        title = f"{caller[1]} gave itself {'admin-like ' if admin else 'more '}permissions ({gave}) and " + \
            ("used them" if passed or used else "has not used them yet")
        facts = (f"{text(row.get('actor'))} {gave} at {t:%Y-%m-%dT%H:%M:%SZ} from {text(row.get('sourceIPAddress'))}, "
                 f"{then}.")
        found.append(_finding(rule, severity if _ok(row) else lower(severity), title, f"{caller[0]}/{caller[1]}",
                              steps, facts, text(row["eventName"])))
    return _sorted(found)


def _role_of(row: pd.Series) -> str:
    arn = text(params(row.get("requestParameters")).get("roleArn"))
    return arn.rpartition(":role/")[2].rpartition("/")[2] if ":role/" in arn else ""


def _assumer(row: pd.Series) -> str:
    return text(row.get("userIdentity.arn")) or text(row.get("userIdentity.accountId")) or text(row.get("actor"))


def _trust_backdoor(rows: pd.DataFrame, rule: Rule) -> list[Finding]:
    within = pd.Timedelta(hours=rule.parameters["assumed_within_hours"])
    found = []
    assumes = rows[(rows["eventName"] == "AssumeRole") & rows["errorCode"].isna()
                   & (rows["userIdentity.type"].map(text) != "AWSService")]
    roles = assumes.apply(_role_of, axis=1) if len(assumes) else pd.Series(dtype=object)
    for _, row in rows[(rows["eventName"] == "UpdateAssumeRolePolicy") & rows["errorCode"].isna()].iterrows():
        role, t = text(params(row["requestParameters"]).get("roleName")), row["eventTime"]
        if not role:
            continue
        of_role = _in_account(assumes[roles == role] if len(assumes) else assumes, row)
        known = set(of_role[of_role["eventTime"] < t].apply(_assumer, axis=1)) if len(of_role) else set()
        new = of_role[(of_role["eventTime"] > t) & (of_role["eventTime"] <= t + within)]
        new = new[~new.apply(_assumer, axis=1).isin(known)] if len(new) else new
        if new.empty:
            continue
        assumed = new.iloc[0]
        key = _issued_key(assumed)
        used = rows[(rows["userIdentity.accessKeyId"].map(text) == key) & (rows["eventTime"] > assumed["eventTime"])] \
            if key else rows.iloc[0:0]
        steps = [(row, f"changed the trust policy of role {role}"),
                 (assumed, f"{_assumer(assumed)} assumed {role} for the first time in this window")]
        steps += [(r, f"the new {role} session called {text(r.get('eventName'))}")
                  for _, r in used.head(rule.parameters["max_steps"] - 2).iterrows()]
        facts = (f"{text(row.get('actor'))} changed who may assume {role} at {t:%Y-%m-%dT%H:%M:%SZ}; "
                 f"{_assumer(assumed)} assumed it {_ago(assumed['eventTime'] - t)} later"
                 + (f" and used the session ({len(used)} call{'s' if len(used) > 1 else ''} seen by this rule)."
                    if len(used) else "."))
        title = (f"Role {role}'s trust policy changed, then assumed by a new principal ({_assumer(assumed)})"
                 + (" who used it" if len(used) else ""))
        found.append(_finding(rule, "critical" if len(used) else rule.severity, title, f"role/{role}", steps, facts,
                              "UpdateAssumeRolePolicy"))
    return _sorted(found)


def _evasion_after_access(rows: pd.DataFrame, rule: Rule) -> list[Finding]:
    within = pd.Timedelta(hours=rule.parameters["session_hours"])
    evasions = rows[rows["eventName"].isin([n for _, n in EVASION])]
    evasions = evasions[evasions.apply(_is_evasion, axis=1)] if len(evasions) else evasions
    starts = rows[rows["eventName"].isin(["ConsoleLogin", "AssumeRole", "GetSessionToken", "GetFederationToken"])]
    sessions: dict[object, list] = {}
    for _, ev in evasions.iterrows():
        t, key, arn = ev["eventTime"], text(ev.get("userIdentity.accessKeyId")), text(ev.get("userIdentity.arn"))
        earlier = starts[(starts["eventTime"] <= t) & (starts["eventTime"] >= t - within)]
        start = None
        issued = earlier[earlier["eventName"] != "ConsoleLogin"]
        if key and len(issued):
            match = issued[issued.apply(_issued_key, axis=1) == key]
            start = match.iloc[-1] if len(match) else None
        console = text(ev.get("sessionCredentialFromConsole")) == "true"
        if start is None and console and arn:
            logins = earlier[(earlier["eventName"] == "ConsoleLogin") & (earlier["userIdentity.arn"].map(text) == arn)]
            logins = logins[logins.apply(_signed_in, axis=1)] if len(logins) else logins
            start = logins.iloc[-1] if len(logins) else None
        if start is not None:
            sessions.setdefault(start.name, [start, []])[1].append(ev)
    found = []
    for start, evs in sessions.values():
        failed = all(text(e.get("errorCode")) for e in evs)
        began = ("signed in to the console" + ("" if _mfa(start) else " without MFA") if _signed_in(start)
                 else f"was issued temporary credentials ({text(start.get('eventName'))})")
        who = text(start.get("actor")) or "someone"
        steps = [(start, f"{who} {began} from {text(start.get('sourceIPAddress'))}")]
        steps += [(e, ("tried " if text(e.get("errorCode")) else "") + _evasion_what(e)) for e in evs]
        did = ", ".join(dict.fromkeys(_evasion_what(e) for e in evs))
        facts = (f"The session began at {start['eventTime']:%Y-%m-%dT%H:%M:%SZ} from "
                 f"{text(start.get('sourceIPAddress'))}; {_ago(evs[0]['eventTime'] - start['eventTime'])} later the "
                 f"same credential {'tried' if failed else 'did'}: {did}.")
        title = f"{text(evs[0].get('actor')) or who} {'tried to switch' if failed else 'switched'} off logging or " \
                f"detection {_ago(evs[0]['eventTime'] - start['eventTime'])} into a session ({did})"
        found.append(_finding(rule, lower(rule.severity) if failed else rule.severity, title, did, steps, facts,
                              text(evs[0].get("eventName"))))
    return _sorted(found)


def _events(*groups) -> tuple[tuple[str, str], ...]:
    return tuple(dict.fromkeys(e for g in groups for e in g))


RULES = (
    Rule("sequences.backdoor-login", "Console password set for a user, then that user signs in", "high",
         "TA0003 Persistence", "T1098.001 Account Manipulation: Additional Cloud Credentials",
         _events(((IAM, "CreateUser"), (IAM, "CreateLoginProfile"), (IAM, "UpdateLoginProfile")), SIGN_IN),
         _backdoor_login,
         "Giving a user a console password (CreateLoginProfile) or resetting it (UpdateLoginProfile) and signing in "
         "as that user is how an attacker with IAM rights makes a login of their own: it survives the loss of "
         "the credential they came in with. A sign-in soon after the password was set, without MFA or from an "
         "address the user never signed in from, is critical; with MFA from a known address, high (a password "
         "reset the user asked for looks the same).",
         "Ask the user and whoever set the password whether they did. If not: delete the login profile "
         "(DeleteLoginProfile), deactivate the user's access keys, and review everything the user did after the "
         "sign-in and everything the password's setter did.",
         parameters={"sign_in_within_hours": 24},
         triggers=((IAM, "CreateLoginProfile"), (IAM, "UpdateLoginProfile"))),
    Rule("sequences.new-user-used", "New IAM user used within the hour", "high",
         "TA0003 Persistence", "T1136.003 Create Account: Cloud Account",
         _events(((IAM, "CreateUser"),), USE), _new_user_used,
         "A user created and put to work at once (an access key made for it and used, or a console sign-in) is the "
         "pattern of an attacker making an identity of their own to keep access; people and automation rarely "
         "create a user and use it within the hour. Use is seen in the calls this rule reads: sign-ins, "
         "'who am I' and listing calls, IAM changes, launches and logging changes; a sign-in with a password someone "
         "set for the new user is sequences.backdoor-login's finding.",
         "Who created the user and why? If nobody expected it: deactivate its keys and login profile, then review "
         "what it did and what its creator did around the creation.",
         parameters={"used_within_hours": 1}, triggers=((IAM, "CreateUser"),)),
    Rule("sequences.privilege-escalation-used", "A principal gives itself more permissions and uses them", "high",
         "TA0004 Privilege Escalation", "T1098.003 Account Manipulation: Additional Cloud Roles",
         _events(ESCALATION, PASS_ROLE, USE), _escalation_used,
         "A user or role that attaches an admin-like policy to itself, writes itself an inline policy allowing "
         "everything, or makes a new managed policy version the default is escalating its own privileges: high. "
         "Critical once the new permissions are used (its next calls), or when it then launches an instance or a "
         "Lambda function with a role (iam:PassRole, which is not logged as its own event).",
         "Remove the policy or version it added; find the credential that made the change and contain it; review "
         "everything the principal did after the change, and the role it passed to new compute.",
         parameters={"used_within_hours": 12, "max_steps": 10}, triggers=ESCALATION),
    Rule("sequences.role-trust-backdoor", "Role trust policy changed, then assumed by a new principal", "high",
         "TA0003 Persistence", "T1098 Account Manipulation",
         _events(((IAM, "UpdateAssumeRolePolicy"), (STS, "AssumeRole")), USE), _trust_backdoor,
         "UpdateAssumeRolePolicy decides who may assume a role: attackers add their own account or user to keep a "
         "way in. The role assumed soon after by a principal that had not assumed it before is the backdoor in "
         "use: high; critical when the new session then makes calls.",
         "Read the role's trust policy now and compare it with the expected one; remove principals nobody knows; "
         "revoke the role's active sessions (an inline deny on aws:TokenIssueTime) and review the new sessions' "
         "calls.",
         parameters={"assumed_within_hours": 24, "max_steps": 10}, triggers=((IAM, "UpdateAssumeRolePolicy"),)),
    Rule("sequences.evasion-after-sign-in", "Logging or detection switched off early in a session", "high",
         "TA0005 Defense Evasion", "T1562.008 Impair Defenses: Disable or Modify Cloud Logs",
         _events(SIGN_IN, SESSIONS, EVASION), _evasion_after_access,
         "Stopping or deleting a trail, turning off management events, deleting a GuardDuty detector, flow logs, "
         "log groups or the Config recorder within a session that just began (a console sign-in, or temporary "
         "credentials from STS) is what an intruder does right after getting in, before the next steps.",
         "Turn logging and detection back on at once (StartLogging, recreate the detector or flow logs). Then "
         "find who opened the session, from where, and review everything it did: the calls after the gap may be "
         "missing from this trail but present in an organization trail or in the service's own logs.",
         parameters={"session_hours": 12}, triggers=EVASION),
)
