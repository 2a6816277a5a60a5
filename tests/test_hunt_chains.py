"""Hunt's findings grouped by credential and by attack chain (trailtools.rules.chains): a stolen user key that
assumes a role, whose temporary credentials then share a snapshot publicly and delete flow logs, is one chain with
the AssumeRole call that links the two credentials; another user's session is another chain; a denied AssumeRole,
or one outside the window, links nothing. Through hunt() on a trail folder, the terminal and the findings JSON."""
import copy
import json

import pytest
from conftest import s3_path, write_gz

from trailtools import cli
from trailtools.findings import schema
from trailtools.findings.model import EvidenceRef, Finding
from trailtools.rules import chains
from trailtools.rules.examples import examples
from trailtools.rules.hunt import hunt

ACCOUNT = "111122223333"
USER_KEY, ROLE_KEY, OTHER_ROLE_KEY = "AKIAIOSFODNN7EXAMPLE", "ASIAZ4ZZ7HQ2EXAMPLE1", "ASIAQQQQ7HQ2EXAMPLE2"
ROLE_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/OrganizationAccountAccessRole/maria-cli"


def _fire(family, rule_id):
    return copy.deepcopy(examples(family)[rule_id]["fire"])


def _assume_role(event_id, time, issued, *, error=None, key=USER_KEY):
    rec = {"eventVersion": "1.08", "userIdentity": {
               "type": "IAMUser", "principalId": "AIDAJQABLZS4A3QDU576Q", "arn": f"arn:aws:iam::{ACCOUNT}:user/maria",
               "accountId": ACCOUNT, "accessKeyId": key, "userName": "maria"},
           "eventTime": time, "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole", "awsRegion": "us-east-1",
           "sourceIPAddress": "203.0.113.57", "userAgent": "aws-cli/2.17.20 md/command#sts.assume-role",
           "requestParameters": {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/OrganizationAccountAccessRole",
                                 "roleSessionName": "maria-cli", "durationSeconds": 3600},
           "responseElements": None if error else {
               "credentials": {"accessKeyId": issued, "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLE",
                               "expiration": "Nov 3, 2026, 11:00:00 AM"},
               "assumedRoleUser": {"assumedRoleId": "AROAEXAMPLEID:maria-cli", "arn": ROLE_ARN}},
           "requestID": "req-" + event_id, "eventID": event_id, "readOnly": True, "eventType": "AwsApiCall",
           "managementEvent": True, "recipientAccountId": ACCOUNT, "eventCategory": "Management"}
    if error:
        rec["errorCode"], rec["errorMessage"] = error, "User is not authorized to perform: sts:AssumeRole"
    return rec


def _as_role(records, key):
    for r in records:
        r["userIdentity"] = {"type": "AssumedRole", "principalId": "AROAEXAMPLEID:maria-cli", "arn": ROLE_ARN,
                             "accountId": ACCOUNT, "accessKeyId": key, "sessionContext": {
                                 "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEID",
                                                   "arn": f"arn:aws:iam::{ACCOUNT}:role/OrganizationAccountAccessRole",
                                                   "accountId": ACCOUNT, "userName": "OrganizationAccountAccessRole"},
                                 "attributes": {"creationDate": "2026-11-03T10:00:00Z", "mfaAuthenticated": "false"}}}
    return records


def _bob(records):
    for r in records:
        r["userIdentity"] = {"type": "IAMUser", "principalId": "AIDABOBEXAMPLE", "arn": f"arn:aws:iam::{ACCOUNT}:user/bob",
                             "accountId": ACCOUNT, "accessKeyId": "AKIABOBEXAMPLE00001", "userName": "bob"}
    return records


@pytest.fixture
def trail(tmp_path):
    """Nov 3rd: maria's key assumes a role (10:00) and the role's credentials share a snapshot publicly and delete
    flow logs; bob starts an SSM session with his own key; a denied AssumeRole claims to issue nothing; on Nov 5th
    maria's key assumes the role again, issuing OTHER_ROLE_KEY (outside a window ending Nov 4th)."""
    day3 = ([_assume_role("a55e7201-0000-4000-8000-000000000001", "2026-11-03T10:00:00Z", ROLE_KEY),
             _assume_role("a55e7201-0000-4000-8000-000000000002", "2026-11-03T10:01:00Z", "ASIADENIED000000000",
                          error="AccessDenied")]
            + _as_role(_fire("exposure", "exposure.snapshot-shared") + _fire("defense_evasion",
                                                                             "defense-evasion.flow-logs-deleted"),
                       ROLE_KEY)
            + _bob(_fire("execution", "execution.ssm-start-session")))
    day5 = [_assume_role("a55e7201-0000-4000-8000-000000000003", "2026-11-05T08:00:00Z", OTHER_ROLE_KEY)]
    write_gz(s3_path(tmp_path, ACCOUNT, "eu-west-1", "20261103T1200Z"), {"Records": day3})
    write_gz(s3_path(tmp_path, ACCOUNT, "us-east-1", "20261105T0900Z"), {"Records": day5})
    return tmp_path


def test_a_role_assumed_with_a_users_key_joins_the_users_chain(trail):
    res = hunt(str(trail), "2026-11-03", "2026-11-04", cache=False)
    first, second = res.chains
    # the flow logs deleted by the role's session begun by that AssumeRole are also an evasion early in a session
    assert first.name == "chain 1" and first.severity == "critical" and len(first.findings) == 4
    assert first.credentials == [USER_KEY, ROLE_KEY]
    assert [k.event_id for k in first.links] == ["a55e7201-0000-4000-8000-000000000001"]
    assert {f.check for f in first.findings} == {"exposure.snapshot-shared", "defense-evasion.flow-logs-deleted",
                                                 "sequences.evasion-after-sign-in"}
    evidence = {e.ref for f in first.findings for e in f.evidence}
    assert set(first.event_ids()) == evidence | {"a55e7201-0000-4000-8000-000000000001"}
    assert second.name == "chain 2" and second.credentials == ["AKIABOBEXAMPLE00001"] and not second.links
    assert [f.check for f in second.findings] == ["execution.ssm-start-session"]
    # by credential: the role's credential holds the three findings it made, maria's key the sequence its
    # AssumeRole began, bob's key his
    assert [(g.name, len(g.findings)) for g in res.credentials] == [(ROLE_KEY, 3), (USER_KEY, 1),
                                                                    ("AKIABOBEXAMPLE00001", 1)]
    assert all(f.extra["chain"] == "chain 1" for f in first.findings)


def test_a_denied_assume_role_or_one_outside_the_window_links_nothing(trail):
    links = chains.issued(hunt(str(trail), cache=False).frame)
    assert [(k.parent, k.child, k.event_id[-1]) for k in links] == [(USER_KEY, ROLE_KEY, "1"),
                                                                    (USER_KEY, OTHER_ROLE_KEY, "3")]
    res = hunt(str(trail), "2026-11-03", "2026-11-04", cache=False)
    assert [k.child for k in chains.issued(res.frame)] == [ROLE_KEY]
    # only the calls on the way up from the credentials asked about
    assert [k.child for k in chains.issued(res.frame, {ROLE_KEY})] == [ROLE_KEY]
    assert chains.issued(res.frame, {"AKIABOBEXAMPLE00001", USER_KEY}) == []


def test_chains_follow_role_chaining_and_keep_unrelated_keys_apart():
    """user key -> role A -> role B (role chaining): a finding of B's credential and one of the user key are one
    chain; a key that nobody issued in the window is its own chain."""
    links = [chains.Link("AKIAUSER", "ASIAROLEA", "AssumeRole", "e1", "2026-11-03T10:00:00Z"),
             chains.Link("ASIAROLEA", "ASIAROLEB", "AssumeRole", "e2", "2026-11-03T10:05:00Z"),
             chains.Link("ASIAROLEB", "AKIAUSER", "AssumeRole", "e3", "2026-11-03T10:06:00Z")]   # a loop ends too
    def finding(cred, sev, ref):
        return Finding("x.y", sev, f"by {cred}", "", "r", (EvidenceRef("cloudtrail", ref, "2026-11-03T11:00:00Z"),),
                       extra={"credential": cred, "actor": cred.lower()})

    found = [finding("ASIAROLEB", "high", "f1"), finding("AKIAUSER", "low", "f2"), finding("AKIAOTHER", "critical", "f3")]
    ranked = chains.by_chain(found, links)
    assert [g.name for g in ranked] == ["chain 1", "chain 2"]
    assert ranked[0].credentials == ["AKIAOTHER"] and ranked[0].severity == "critical"
    assert set(ranked[1].credentials) == {"AKIAUSER", "ASIAROLEA", "ASIAROLEB"}
    assert {k.event_id for k in ranked[1].links} >= {"e1", "e2"} and ranked[1].severity == "high"


def test_terminal_and_json_show_the_chains(trail, tmp_path, capsys):
    out_file = tmp_path / "hunt.json"
    assert cli.main(["hunt", str(trail), "--start", "2026-11-03", "--end", "2026-11-04", "--no-cache",
                     "--json", str(out_file)]) == 0
    out = capsys.readouterr().out
    assert "  chain 1: critical, 4 findings" in out and f"credentials {USER_KEY} -> {ROLE_KEY}" in out
    assert f"{USER_KEY} -> {ROLE_KEY} by AssumeRole a55e7201-0000-4000-8000-000000000001" in out
    assert "  chain 2: low, 1 finding" in out
    doc = json.loads(out_file.read_text())
    assert schema.validate(doc) == []
    chain = doc["groups"]["chains"][0]
    assert chain["credentials"] == [USER_KEY, ROLE_KEY] and chain["severity"] == "critical"
    assert chain["links"][0] == {"from": USER_KEY, "to": ROLE_KEY, "eventName": "AssumeRole",
                                 "eventID": "a55e7201-0000-4000-8000-000000000001", "time": "2026-11-03T10:00:00Z"}
    assert set(chain["eventIDs"]) >= {e["ref"] for f in doc["findings"] if f["extra"]["chain"] == "chain 1"
                                      for e in f["evidence"]}
    assert [g["name"] for g in doc["groups"]["credentials"]] == [ROLE_KEY, USER_KEY, "AKIABOBEXAMPLE00001"]
