"""Credentials are the unit of a session, baselines judge the new, and the known-benign classes stay low
(issue 18 items 2 and 5): trailtools.investigations.login.sessions and .baseline, through analyze_logins.

The records are shaped like the real ones in ../shared/datasets: sign-ins like the AWS docs' console-sign-in
examples, console calls like TrailDiscover's DescribeSubnets example (``sessionCredentialFromConsole``, an ``ASIA``
key, ``sessionContext``), API calls like the Stratus Red Team detonations (an ``AKIA`` key, aws-cli)."""
import pandas as pd
import pytest
from conftest import DATASETS, need, record, ts
from test_login import AT_MOST_LOW, _frame

from trailtools import load_events
from trailtools.investigations.login.analysis import analyze_logins
from trailtools.investigations.login.baseline import (
    agent_family,
    features,
    first_seen,
    known_before,
    new_identities,
    new_values,
)
from trailtools.investigations.login.rules import classify_follow_ups
from trailtools.investigations.login.sessions import (
    assign_console_sessions,
    console_calls,
    credential_ids,
    credential_kind,
)

ACCOUNT = "111122223333"
CHROME = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/127.0.0.0 "
          "Safari/537.36")
CLI = ("aws-cli/2.17.5 md/awscrt#0.20.11 ua/2.0 os/linux#6.8.0 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython "
       "cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off md/command#iam.update-assume-role-policy")
SSO_ROLE = "AWSReservedSSO_AdministratorAccess_1b74cd717d47002b"
START, END = "2024-03-08", "2024-03-09"


def _user(name, key=None):
    ident = {"type": "IAMUser", "principalId": "AIDACKCEVSQ6C2EXAMPLE", "arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
             "accountId": ACCOUNT, "userName": name}
    if key:
        ident["accessKeyId"] = key
    return ident


def _sso(person, key=None):
    ident = {"type": "AssumedRole", "principalId": f"AROAEXAMPLEID:{person}",
             "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{SSO_ROLE}/{person}", "accountId": ACCOUNT,
             "sessionContext": {"sessionIssuer": {
                 "type": "Role", "principalId": "AROAEXAMPLEID", "accountId": ACCOUNT, "userName": SSO_ROLE,
                 "arn": f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/us-east-2/{SSO_ROLE}"},
                 "attributes": {"creationDate": "2024-03-08T09:00:00Z", "mfaAuthenticated": "false"}}}
    if key:
        ident["accessKeyId"] = key
    return ident


def signin(eid, time, ident, ip, mfa="Yes", agent=CHROME):
    """A successful ConsoleLogin, as the AWS docs' console-sign-in examples."""
    return record(eid, time, "ConsoleLogin", userIdentity=ident, eventSource="signin.amazonaws.com", userAgent=agent,
                  eventType="AwsConsoleSignIn", readOnly=False, sourceIPAddress=ip, requestParameters=None,
                  responseElements={"ConsoleLogin": "Success"},
                  additionalEventData={"LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23",
                                       "MobileVersion": "No", "MFAUsed": mfa},
                  tlsDetails={"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                              "clientProvidedHostHeader": "signin.aws.amazon.com"})


def console_call(eid, time, ident, ip, name="DescribeSubnets", source="ec2.amazonaws.com", **extra):
    """A call the console made with the credentials it minted at sign-in (TrailDiscover's DescribeSubnets)."""
    return record(eid, time, name, userIdentity=ident, eventSource=source, sourceIPAddress=ip, userAgent=CHROME,
                  sessionCredentialFromConsole="true", readOnly=name.startswith(("Describe", "List", "Get")),
                  tlsDetails={"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                              "clientProvidedHostHeader": "ec2.us-east-1.amazonaws.com"}, **extra)


def api_call(eid, time, ident, ip, name, source="iam.amazonaws.com", agent=CLI, **extra):
    """A call with an access key from a command line (the Stratus detonations' shape)."""
    extra.setdefault("readOnly", name.startswith(("Describe", "List", "Get")))
    return record(eid, time, name, userIdentity=ident, eventSource=source, sourceIPAddress=ip, userAgent=agent,
                  **extra)


PAGE = ["DescribeInstances", "DescribeInstanceStatus", "DescribeTags", "DescribeVolumes", "DescribeSecurityGroups",
        "DescribeSubnets", "DescribeVpcs", "DescribeAddresses", "DescribeKeyPairs", "DescribeImages",
        "DescribeSnapshots", "DescribeAvailabilityZones", "DescribeAccountAttributes", "DescribeRegions"]


def _page_loads(prefix, t0, ident, ip):
    """The EC2 console's own calls when its Instances page opens: 14 Describe calls within 30 s."""
    base = pd.Timestamp(t0)
    return [console_call(f"{prefix}{i}", (base + pd.Timedelta(seconds=2 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"), ident, ip,
                         name) for i, name in enumerate(PAGE)]


def _history(ident_fn, ip, days=5):
    """Ordinary days before the window: a sign-in with MFA and a page load from the usual office."""
    out = []
    for d in range(1, days + 1):
        day = f"2024-03-0{d}"
        out.append(signin(f"h{d}", f"{day}T09:00:00Z", ident_fn(None), ip))
        out += _page_loads(f"hp{d}-", f"{day}T09:01:00Z", ident_fn(f"ASIAHIST{d:012d}"), ip)
    return out


# ---- per-credential sessions -------------------------------------------------------------------------------------

def test_misattribution_a_users_access_key_is_not_her_console_session():
    """Issue 18 "Misattribution": ann signs in with MFA from her office and browses; at the same time her long-term
    access key changes a role's trust policy from another address with the AWS CLI. The session is hers and clean;
    the UpdateAssumeRolePolicy is the key's, said once, high."""
    office, elsewhere = "192.0.2.10", "198.51.100.77"
    recs = _history(lambda k: _user("ann", k), office)
    recs += [api_call(f"k{d}", f"2024-03-0{d}T10:00:00Z", _user("ann", "AKIAANNKEY0000000001"), office, "ListRoles")
            for d in range(1, 6)]
    recs += [signin("s1", "2024-03-08T09:00:00Z", _user("ann"), office)]
    recs += _page_loads("p", "2024-03-08T09:01:00Z", _user("ann", "ASIAANNCONSOLE000001"), office)
    recs += [api_call("x1", "2024-03-08T09:20:00Z", _user("ann", "AKIAANNKEY0000000001"), elsewhere,
                      "UpdateAssumeRolePolicy", requestParameters={"roleName": "deploy",
                                                                   "policyDocument": "{\"Statement\":[]}"})]
    a = analyze_logins(_frame(recs), start=START, end=END)
    [session] = a.sessions.to_dict("records")
    assert session["risky"] == [] and session["actions"] == len(PAGE)
    assert session["severity"] in AT_MOST_LOW
    assert not [f for f in a.findings if f.check == "login.session" and f.severity not in AT_MOST_LOW]
    key = [f for f in a.findings if f.check == "login.key-activity"]
    assert [f.extra["access_key"] for f in key] == ["AKIAANNKEY0000000001"] and key[0].severity == "high"
    assert [e.ref for e in key[0].evidence] == ["x1"] and "persistence" in key[0].extra["follow_ups"]
    assert a.findings[0] is key[0]
    new_place = [f for f in a.findings if f.check == "login.key-new-address"]
    assert new_place and new_place[0].extra["access_key"] == "AKIAANNKEY0000000001"
    # the same call from the console session's own credentials is the session's
    recs[-1] = console_call("x1", "2024-03-08T09:20:00Z", _user("ann", "ASIAANNCONSOLE000001"), office,
                            "UpdateAssumeRolePolicy", source="iam.amazonaws.com",
                            requestParameters={"roleName": "deploy", "policyDocument": "{\"Statement\":[]}"})
    a = analyze_logins(_frame(recs), start=START, end=END)
    assert a.sessions["risky"].iloc[0] == ["UpdateAssumeRolePolicy"]
    assert a.findings[0].check == "login.session" and "changed a role's trust policy" in a.findings[0].title


def test_two_console_sessions_of_one_user_keep_their_own_calls():
    """ann at the office and someone else with her password from elsewhere, 20 minutes apart: each console call
    goes to the sign-in from its own address, and a key stays with the sign-in of its first call."""
    office, elsewhere = "192.0.2.10", "203.0.113.66"
    recs = [signin("s1", "2024-03-08T09:00:00Z", _user("ann"), office),
            signin("s2", "2024-03-08T09:20:00Z", _user("ann"), elsewhere, mfa="No"),
            console_call("c1", "2024-03-08T09:25:00Z", _user("ann", "ASIAOFFICE0000000001"), office),
            console_call("c2", "2024-03-08T09:26:00Z", _user("ann", "ASIAELSEWHERE0000001"), elsewhere, "CreateUser",
                         source="iam.amazonaws.com"),
            console_call("c3", "2024-03-08T09:40:00Z", _user("ann", "ASIAOFFICE0000000001"), elsewhere)]
    frame = _frame(recs)
    calls = frame[console_calls(frame)]
    sign = pd.DataFrame({"time": frame["eventTime"][:2], "principal": ["ann", "ann"],
                         "sourceIPAddress": [office, elsewhere], "eventID": ["s1", "s2"]})
    owner = assign_console_sessions(calls, sign)
    assert dict(zip(calls["eventID"], owner)) == {"c1": "s1", "c2": "s2", "c3": "s1"}
    a = analyze_logins(frame, start=START, end=END)
    by = {s["signin_event"]: s for s in a.sessions.to_dict("records")}
    assert by["s1"]["risky"] == [] and by["s2"]["risky"] == ["CreateUser"]
    assert by["s1"]["actions"] == 2 and by["s2"]["actions"] == 1


def test_credential_of_each_call():
    recs = [console_call("c1", "2024-03-08T09:01:00Z", _user("ann", "ASIACONSOLE000000001"), "192.0.2.10"),
            api_call("k1", "2024-03-08T09:02:00Z", _user("ann", "AKIAANNKEY0000000001"), "192.0.2.10", "ListUsers"),
            api_call("t1", "2024-03-08T09:03:00Z", _sso("bob@example.com", "ASIASSOCLI0000000001"), "192.0.2.11",
                     "ListBuckets", source="s3.amazonaws.com"),
            record("v1", "2024-03-08T09:04:00Z", "Decrypt", eventSource="kms.amazonaws.com",
                   userIdentity={"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"},
                   sourceIPAddress="cloudtrail.amazonaws.com", userAgent="cloudtrail.amazonaws.com")]
    frame = _frame(recs)
    creds = list(credential_ids(frame))
    assert creds == ["console:ann", "AKIAANNKEY0000000001", "ASIASSOCLI0000000001",
                     "service:cloudtrail.amazonaws.com"]
    assert [credential_kind(c) for c in creds] == ["console", "access-key", "temporary", "service"]
    # before CloudTrail wrote sessionCredentialFromConsole: an ASIA key no STS call issued, with a browser's agent
    old = console_call("o1", "2019-03-08T09:01:00Z", _user("ann", "ASIAOLDCONSOLE000001"), "192.0.2.10")
    del old["sessionCredentialFromConsole"]
    cli = api_call("o2", "2019-03-08T09:02:00Z", _user("ann", "ASIAOLDTOKEN00000001"), "192.0.2.10", "ListUsers")
    assert list(console_calls(_frame([old, cli]))) == [True, False]


def test_the_credentials_table_names_each_credential_and_what_was_new():
    office, elsewhere = "192.0.2.10", "198.51.100.77"
    recs = _history(lambda k: _user("ann", k), office)
    recs += [signin("s1", "2024-03-08T09:00:00Z", _user("ann"), office)]
    recs += _page_loads("p", "2024-03-08T09:01:00Z", _user("ann", "ASIAANNCONSOLE000001"), office)
    recs += [api_call("x1", "2024-03-08T09:20:00Z", _user("ann", "AKIAANNKEY0000000001"), elsewhere, "ListRoles",
                      awsRegion="ap-southeast-2")]
    a = analyze_logins(_frame(recs), start=START, end=END)
    table = a.credentials.set_index("credential")
    assert set(table.index) == {"console:ann@s1", "AKIAANNKEY0000000001"}
    assert table.loc["console:ann@s1", "session"] == "s1" and table.loc["console:ann@s1", "calls"] == len(PAGE) + 1
    key = table.loc["AKIAANNKEY0000000001"]
    assert key["kind"] == "access-key" and key["agents"] == ["aws-cli"] and key["addresses"] == [elsewhere]
    assert {"address", "network", "agent", "region", "api"} <= set(key["new"])
    assert table.loc["console:ann@s1", "new"] == []


# ---- known-benign classes ----------------------------------------------------------------------------------------

def test_sso_sign_in_stays_low():
    """IAM Identity Center: MFAUsed is "No" because MFA happened at the identity provider. A sign-in from a new
    address and the console's page loads after it stay at most low; no no-MFA finding."""
    recs = _history(lambda k: _sso("carol@example.com", k), "192.0.2.45")
    for r in recs:
        if r["eventName"] == "ConsoleLogin":
            r["additionalEventData"]["MFAUsed"] = "No"
    recs += [signin("s1", "2024-03-08T09:00:00Z", _sso("carol@example.com"), "198.51.100.140", mfa="No")]
    recs += _page_loads("p", "2024-03-08T09:01:00Z", _sso("carol@example.com", "ASIASSOCONSOLE000001"),
                        "198.51.100.140")
    a = analyze_logins(_frame(recs), start=START, end=END)
    assert a.findings and all(f.severity in AT_MOST_LOW for f in a.findings), [(f.check, f.severity)
                                                                             for f in a.findings]
    assert not [f for f in a.findings if f.check == "login.no-mfa"]
    [s] = a.findings
    assert {"new-ip", "new-network"} <= set(s.extra["signals"]) and "identity provider" in s.explanation
    # the same sign-in followed by a policy grant from the console is not benign
    recs.append(console_call("g1", "2024-03-08T09:05:00Z", _sso("carol@example.com", "ASIASSOCONSOLE000001"),
                             "198.51.100.140", "AttachUserPolicy", source="iam.amazonaws.com",
                             requestParameters={"userName": "svc",
                                                "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}))
    a = analyze_logins(_frame(recs), start=START, end=END)
    assert a.findings[0].check == "login.session" and a.findings[0].severity not in AT_MOST_LOW


def test_console_page_loads_are_not_a_discovery_burst():
    recs = _history(lambda k: _user("ann", k), "192.0.2.10")
    recs += [signin("s1", "2024-03-08T09:00:00Z", _user("ann"), "192.0.2.10")]
    recs += _page_loads("p", "2024-03-08T09:01:00Z", _user("ann", "ASIAANNCONSOLE000001"), "192.0.2.10")
    a = analyze_logins(_frame(recs), start=START, end=END)
    assert a.sessions["risky"].iloc[0] == [] and a.sessions["severity"].iloc[0] == "info"
    assert not [f for f in a.findings if "discovery" in f.extra.get("follow_ups", [])]
    assert a.findings == []
    # the same 14 calls from the AWS CLI with an access key are an enumeration
    burst = [api_call(f"e{i}", f"2024-03-08T10:00:{2 * i:02d}Z", _user("ann", "AKIAANNKEY0000000001"), "192.0.2.10",
                      name, source="ec2.amazonaws.com") for i, name in enumerate(PAGE)]
    assert {u.category for u in classify_follow_ups(_frame(burst))} == {"discovery"}


def test_aws_services_acting_for_a_principal_are_not_new_places():
    """A call CloudFormation made for ann (invokedBy, a service host name as the source) says nothing about where
    ann is: no address, network or agent in the baseline features."""
    via = api_call("v1", "2024-03-08T09:00:00Z", dict(_user("ann", "ASIAANNCFN0000000001"),
                                                     invokedBy="cloudformation.amazonaws.com"),
                   "cloudformation.amazonaws.com", "CreateRole", agent="cloudformation.amazonaws.com")
    own = api_call("o1", "2024-03-08T09:01:00Z", _user("ann", "AKIAANNKEY0000000001"), "192.0.2.10", "ListRoles")
    frame = _frame([via, own])
    feats = features(frame, credential_ids(frame))
    def values(col):   # (the features are categories: a missing value reads as NaN)
        return [None if pd.isna(v) else v for v in feats[col].tolist()]

    assert values("address") == [None, "192.0.2.10"] and values("agent") == [None, "aws-cli"]
    assert values("network") == [None, "192.0.2.0/24"] and values("credential")[0] == "ASIAANNCFN0000000001"


# ---- baselines that judge the new --------------------------------------------------------------------------------

def test_new_identity_is_a_signal():
    """Issue 18 "backdoor login": a user nobody saw before signs in without MFA: new identity (+2) and no MFA (+3)
    make a medium session, where a principal without history used to get no novelty signal at all."""
    recs = _history(lambda k: _user("ann", k), "192.0.2.10")
    recs += [signin("s1", "2024-03-08T09:00:00Z", _user("backdoor"), "198.51.100.99", mfa="No")]
    recs += _page_loads("p", "2024-03-08T09:01:00Z", _user("backdoor", "ASIABACKDOOR00000001"), "198.51.100.99")
    a = analyze_logins(_frame(recs), start=START, end=END)
    session = next(f for f in a.findings if f.check == "login.session")
    assert session.extra["signals"] == {"no-mfa": 3, "new-identity": 2} and session.severity == "medium"
    assert "as a new identity" in session.title
    assert any("judged as new identities" in n and "backdoor" in n for n in a.notes)
    assert a.credentials.set_index("principal").loc["backdoor", "new"] == ["identity"]
    # with no history at all in the frame, nobody is new
    only = analyze_logins(_frame(recs[-(len(PAGE) + 1):]), start=START, end=END)
    assert "new-identity" not in only.sessions["signals"].iloc[0]


def test_new_identity_of_an_access_key_user():
    """A user created in the window whose key then lists buckets: one low new-identity finding; a user with
    history doing the same is nothing."""
    recs = [api_call(f"h{d}", f"2024-03-0{d}T10:00:00Z", _user("ann", "AKIAANNKEY0000000001"), "192.0.2.10",
                     "ListBuckets", source="s3.amazonaws.com") for d in range(1, 6)]
    recs += [api_call("n1", "2024-03-08T10:00:00Z", _user("ghost", "AKIAGHOSTKEY00000001"), "203.0.113.9",
                      "ListBuckets", source="s3.amazonaws.com"),
             api_call("a1", "2024-03-08T10:00:00Z", _user("ann", "AKIAANNKEY0000000001"), "192.0.2.10",
                      "ListBuckets", source="s3.amazonaws.com")]
    a = analyze_logins(_frame(recs), start=START, end=END)
    [new] = [f for f in a.findings if f.check == "login.new-identity"]
    assert new.extra["principal"] == "ghost" and new.severity == "low" and [e.ref for e in new.evidence] == ["n1"]
    assert "disable" not in new.remediation.lower() and new.remediation
    assert not [f for f in a.findings if f.extra.get("principal") == "ann"]


def test_api_history_judges_a_first_console_sign_in():
    """A user who only ever used the CLI from the office signs in to the console for the first time from
    elsewhere: new address, network and user agent (family) against her API calls, not "no baseline"."""
    recs = [api_call(f"h{d}", f"2024-03-0{d}T10:00:00Z", _user("ann", "AKIAANNKEY0000000001"), "192.0.2.10",
                     "ListRoles") for d in range(1, 6)]
    recs += [signin("s1", "2024-03-08T09:00:00Z", _user("ann"), "198.51.100.7")]
    a = analyze_logins(_frame(recs), start=START, end=END)
    assert set(a.sessions["signals"].iloc[0]) == {"new-ip", "new-network", "new-user-agent"}
    assert any("judged against their API calls" in n for n in a.notes)


def test_first_seen_aggregates():
    recs = [api_call("a", "2024-03-01T10:00:00Z", _user("ann", "AKIAANNKEY0000000001"), "192.0.2.10", "ListRoles"),
            api_call("b", "2024-03-02T10:00:00Z", _user("ann", "AKIAANNKEY0000000001"), "192.0.2.11", "ListRoles"),
            api_call("c", "2024-03-08T10:00:00Z", _user("ann", "AKIAANNKEY0000000001"), "198.51.100.7", "ListRoles",
                     agent="Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.12.2"),
            api_call("d", "2024-03-08T11:00:00Z", _user("bob", "AKIABOBKEY0000000001"), "192.0.2.10", "ListUsers")]
    frame = _frame(recs)
    feats = features(frame, credential_ids(frame))
    seen = first_seen(feats, "principal")
    assert list(seen.columns) == ["principal", "dimension", "value", "first", "last", "calls"]
    ann = seen[(seen["principal"] == "ann") & (seen["dimension"] == "network")]
    assert ann["value"].tolist() == ["192.0.2.0/24", "198.51.100.0/24"] and ann["calls"].tolist() == [2, 1]
    before = known_before(seen, "principal", ts(START))
    assert before["ann"]["address"] == {"192.0.2.10", "192.0.2.11"} and "bob" not in before
    fresh = new_values(seen, "principal", ts(START), ts(END))
    assert set(zip(fresh["dimension"], fresh["value"])) == {("address", "198.51.100.7"),
                                                            ("network", "198.51.100.0/24"), ("agent", "boto3")}
    assert new_identities(feats, "principal", ts(START), ts(END)) == {"bob"}
    by_key = first_seen(feats, "credential")
    assert set(by_key["credential"]) == {"AKIAANNKEY0000000001", "AKIABOBKEY0000000001"}


@pytest.mark.parametrize("agent, family", [
    (CHROME, "browser"),
    (CLI, "aws-cli"),
    ("aws-cli/2.15.0 md/awscrt#0.19.19 ua/2.0 os/linux#6.6.9-amd64 md/arch#x86_64 lang/python#3.11.6 "
     "md/pyimpl#CPython cfg/retry-mode#standard md/installer#source md/distrib#kali.2024 md/prompt#off", "aws-cli on kali"),
    ("Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.12.2", "boto3"),
    ("aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5 md/GOOS#linux md/GOARCH#amd64", "aws-sdk-go"),
    ("APN/1.0 HashiCorp/1.0 Terraform/1.7.0 (+https://www.terraform.io) terraform-provider-aws/5.31.0", "terraform"),
    ("AWS Internal", "aws-internal"),
    ("cloudformation.amazonaws.com", "aws-service"),
    ("stratus-red-team_fccf7123-0651-41f5-b06c-460da5ee1c94", "stratus-red-team_fccf7123-0651-41f5-b06c-460da5e"),
    (None, None),
])
def test_agent_family(agent, family):
    assert agent_family(agent) == (family[:40] if family else None)


# ---- real data: TrailDiscover's examples (CC-BY-4.0, TrailDiscover by Adan Alvarez) ------------------------------

def test_traildiscover_console_credentials_and_cloudshell():
    """TrailDiscover's captured events made with console credentials (``sessionCredentialFromConsole``: an IAM
    Identity Center session, in the console and in CloudShell) are console calls whatever their (redacted) key.
    Twelve RDS Describe calls typed in CloudShell within two minutes are an enumeration (CloudShell's aws-cli is a
    person typing); the same calls made by the console's pages are not."""
    frame = load_events(str(need(DATASETS / "traildiscover" / "logExamples")), cache=False).frame
    flagged = frame[frame["sessionCredentialFromConsole"].astype(object) == "true"]
    assert len(flagged) >= 30 and console_calls(flagged).all()
    assert {credential_kind(c) for c in credential_ids(flagged)} == {"console"}
    rds = flagged[(flagged["eventSource"].astype(object) == "rds.amazonaws.com")
                  & (flagged["eventTime"] >= ts("2025-10-12T15:08:00Z"))
                  & (flagged["eventTime"] < ts("2025-10-12T15:11:00Z"))]
    assert len(rds) >= 10
    ups = {u.category: u for u in classify_follow_ups(rds)}
    assert "discovery" in ups and len(ups["discovery"].rows) >= 10
    pages = rds.copy()
    pages["userAgent"] = pd.Categorical([CHROME] * len(pages))
    assert "discovery" not in {u.category for u in classify_follow_ups(pages)}
