"""Elastic Common Schema documents from the Filebeat AWS module (issue 22): the original record when the document
keeps it (``event.original``), else the record rebuilt from ``aws.cloudtrail.*`` and the ECS fields, with the
fields that could not be recovered counted in the load stats. Documents are made here from CloudTrail records the
way the module's ingest pipeline renames them (field names from its documentation)."""
import json

from conftest import record

from trailtools import load_events, raw_record
from trailtools.events import ecs

ACCOUNT = "111122223333"


def records():
    assumed = {"type": "AssumedRole", "principalId": "AROAEXAMPLEID:alice",
               "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice", "accountId": ACCOUNT,
               "accessKeyId": "ASIAEXAMPLEKEY",
               "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEID",
                                                    "arn": f"arn:aws:iam::{ACCOUNT}:role/Admin", "accountId": ACCOUNT},
                                  "attributes": {"creationDate": "2026-11-03T09:58:00Z", "mfaAuthenticated": "true"}}}
    login = {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": f"arn:aws:iam::{ACCOUNT}:user/bob",
             "accountId": ACCOUNT, "userName": "bob"}
    return [
        record("dddddddd-0000-4000-8000-000000000001", "2026-11-03T10:00:00Z", "RunInstances", userIdentity=assumed,
               sourceIPAddress="203.0.113.7", readOnly=False, requestParameters={"instanceType": "p4d.24xlarge"},
               resources=[{"accountId": ACCOUNT, "type": "AWS::EC2::Instance",
                           "ARN": f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0abc"}]),
        record("dddddddd-0000-4000-8000-000000000002", "2026-11-03T10:05:00Z", "ConsoleLogin",
               eventSource="signin.amazonaws.com", userIdentity=login, sourceIPAddress="198.51.100.4",
               readOnly=False, eventType="AwsConsoleSignIn", responseElements={"ConsoleLogin": "Success"},
               additionalEventData={"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No",
                                    "MFAUsed": "No"}),
        record("dddddddd-0000-4000-8000-000000000003", "2026-11-03T10:06:00Z", "GetObject",
               eventSource="s3.amazonaws.com", readOnly=True, eventCategory="Data", managementEvent=False),
    ]


def to_filebeat(rec: dict, *, keep_original: bool = False) -> dict:
    """A record as the Filebeat AWS module indexes it."""
    ui = rec["userIdentity"]
    session = ui.get("sessionContext") or {}
    issuer = session.get("sessionIssuer") or {}
    attrs = session.get("attributes") or {}
    ct = {"event_version": rec["eventVersion"], "event_type": rec["eventType"], "request_id": rec["requestID"],
          "read_only": rec["readOnly"], "management_event": str(rec["managementEvent"]).lower(),
          "event_category": rec["eventCategory"], "recipient_account_id": rec["recipientAccountId"],
          "user_identity": {"type": ui["type"], "arn": ui["arn"], "access_key_id": ui.get("accessKeyId"),
                            "session_context": {"mfa_authenticated": attrs.get("mfaAuthenticated"),
                                                "creation_date": attrs.get("creationDate"),
                                                "session_issuer": {"type": issuer.get("type"),
                                                                   "arn": issuer.get("arn"),
                                                                   "principal_id": issuer.get("principalId"),
                                                                   "account_id": issuer.get("accountId")}}},
          "flattened": {}}
    for name, key in (("requestParameters", "request_parameters"), ("responseElements", "response_elements")):
        if rec.get(name):
            ct[key] = json.dumps(rec[name])
            ct["flattened"][key] = rec[name]
    if rec["eventName"] == "ConsoleLogin":
        extra = rec["additionalEventData"]
        ct["console_login"] = {"additional_eventdata": {"mfa_used": extra["MFAUsed"] == "Yes",
                                                        "mobile_version": extra["MobileVersion"] == "Yes",
                                                        "login_to": extra["LoginTo"]}}
    if rec.get("resources"):
        ct["resources"] = {"arn": [r["ARN"] for r in rec["resources"]], "type": [r["type"] for r in rec["resources"]],
                           "account_id": [r["accountId"] for r in rec["resources"]]}
    doc = {"@timestamp": rec["eventTime"].replace("Z", ".000Z"), "ecs": {"version": "8.11.0"},
           "event": {"action": rec["eventName"], "provider": rec["eventSource"], "id": rec["eventID"],
                     "kind": "event", "dataset": "aws.cloudtrail", "module": "aws", "type": ["info"],
                     "outcome": "success", "created": "2026-11-03T10:20:00.000Z"},
           "cloud": {"region": rec["awsRegion"], "provider": "aws", "account": {"id": ui["accountId"]}},
           "source": {"address": rec["sourceIPAddress"], "ip": rec["sourceIPAddress"],
                      "geo": {"country_iso_code": "US"}},
           "user_agent": {"original": rec["userAgent"], "name": "Other"},
           "user": {"id": ui["principalId"], **({"name": ui["userName"]} if ui.get("userName") else {})},
           "related": {"user": [ui["principalId"]]}, "aws": {"cloudtrail": ct},
           "agent": {"type": "filebeat", "version": "8.11.0"}, "input": {"type": "aws-s3"}, "tags": ["forwarded"]}
    if keep_original:
        doc["event"]["original"] = json.dumps(rec)
        doc["tags"].append("preserve_original_event")
    return doc


def test_documents_without_the_original_are_rebuilt_and_the_loss_counted(tmp_path):
    recs = records()
    lines = [json.dumps(to_filebeat(r)) for r in recs]
    (tmp_path / "filebeat-aws-2026.11.03.ndjson").write_text("\n".join(lines) + "\n")
    res = load_events(str(tmp_path), cache=False, workers=1, progress=False)
    assert res.stats.events == len(recs) == res.stats.records_seen and res.stats.skipped == []
    f = res.frame.set_index("eventID")
    for rec in recs:
        row = f.loc[rec["eventID"]]
        for col in ("eventName", "eventSource", "awsRegion", "sourceIPAddress", "userAgent", "eventType",
                    "recipientAccountId", "eventCategory", "requestID"):
            assert row[col] == rec[col], col
        assert row["userIdentity.arn"] == rec["userIdentity"]["arn"]
        assert bool(row["readOnly"]) == rec["readOnly"]
    login = f.loc[recs[1]["eventID"]]
    assert login["responseElements.ConsoleLogin"] == "Success" and login["additionalEventData.MFAUsed"] == "No"
    n = int((res.frame["eventID"] == recs[0]["eventID"]).to_numpy().nonzero()[0][0])
    raw = raw_record(res.frame, n)
    assert raw["userIdentity"]["sessionContext"] == recs[0]["userIdentity"]["sessionContext"]
    assert raw["resources"] == recs[0]["resources"] and raw["requestParameters"] == recs[0]["requestParameters"]
    # the note: which fields could not be recovered, in how many records (here: none of the usual ones)
    assert res.stats.notes == [f"{tmp_path}/filebeat-aws-2026.11.03.ndjson: 3 Elastic Common Schema documents "
                               "mapped back from aws.cloudtrail.* (no event.original); every usual field recovered"]


def test_what_a_document_lacks_is_counted_and_the_original_is_preferred(tmp_path):
    recs = records()
    docs = [to_filebeat(r) for r in recs]
    del docs[0]["event"]["id"]  # an index template that dropped it
    del docs[1]["aws"]["cloudtrail"]["request_id"]
    del docs[2]["aws"]["cloudtrail"]["request_id"]
    docs[2]["aws"]["cloudtrail"]["response_elements"] = "{x-amz-id-2=abc, bucket=logs}"  # the old text form
    kept = to_filebeat(record("dddddddd-0000-4000-8000-000000000009", "2026-11-03T10:09:00Z", "StopInstances",
                              requestParameters={"force": True}), keep_original=True)
    kept["event"]["action"] = "SomethingElse"  # the original record wins over the document's fields
    body = {"hits": {"hits": [{"_index": ".ds-logs-aws.cloudtrail-default", "_id": str(i), "_source": d}
                              for i, d in enumerate(docs + [kept])]}}
    (tmp_path / "search-response.json").write_text(json.dumps(body))
    res = load_events(str(tmp_path), cache=False, workers=1, progress=False)
    assert res.stats.events == 4
    assert res.frame.set_index("eventID").loc["dddddddd-0000-4000-8000-000000000009", "eventName"] == "StopInstances"
    lost = {"eventID": 1, "requestID": 2, "responseElements (only as text)": 1}  # the independent count
    assert res.stats.notes == [f"{tmp_path}/search-response.json: 3 Elastic Common Schema documents mapped back from "
                               "aws.cloudtrail.* (no event.original); not recovered (in how many records): "
                               + ", ".join(f"{k} ({v})" for k, v in sorted(lost.items(), key=lambda x: (-x[1], x[0])))]
    assert res.frame["eventID"].isna().sum() == 1


def test_a_document_of_other_logs_stays_an_other_file(tmp_path):
    web = {"@timestamp": "2026-11-03T10:00:00Z", "event": {"dataset": "nginx.access"}, "url": {"path": "/"}}
    (tmp_path / "nginx.ndjson.log").write_text(json.dumps(web) + "\n")
    (tmp_path / "ct.log").write_text(json.dumps(to_filebeat(records()[2])) + "\n")
    res = load_events(str(tmp_path), cache=False, workers=1, progress=False)
    assert res.stats.events == 1 and res.stats.other_files == 1


def test_the_mapping_is_data():
    targets = {ct for _, ct in ecs.FIELDS}
    assert {"eventTime", "eventName", "eventSource", "sourceIPAddress", "userAgent", "awsRegion",
            "userIdentity.arn"} <= targets
    assert dict(ecs.FIELDS)["@timestamp"] == "eventTime" and dict(ecs.FIELDS)["event.action"] == "eventName"
