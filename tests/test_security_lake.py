"""Security Lake's CloudTrail (issue 22): OCSF API Activity (class 6003) Parquet mapped back to the events frame.

The Parquet file is written here from OCSF events shaped as Security Lake writes CloudTrail (OCSF 1.1.0, source
version 2: the OCSF project's CloudTrail mapping; ``unmapped`` a map of text), made from CloudTrail records; the
frame read from it must hold what the records hold in the fields the mapping keeps."""
import json
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq
from conftest import record

from trailtools import load_events, raw_record
from trailtools.events import ocsf_api
from trailtools.events.limits import Limits

ACCOUNT = "111122223333"
INSTANCE = "i-04c2a9e71d3b58f06"


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def cloudtrail():
    """Three CloudTrail records: an assumed role's RunInstances with MFA, an IAM user's denied call, a service's."""
    assumed = {"type": "AssumedRole", "principalId": "AROAEXAMPLEID:alice",
               "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/alice", "accountId": ACCOUNT,
               "accessKeyId": "ASIAEXAMPLEKEY",
               "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEID",
                                                    "arn": f"arn:aws:iam::{ACCOUNT}:role/Admin", "accountId": ACCOUNT,
                                                    "userName": "Admin"},
                                  "attributes": {"creationDate": "2026-11-03T09:58:00Z", "mfaAuthenticated": "true"}}}
    return [
        record("aaaaaaaa-1111-4000-8000-000000000001", "2026-11-03T10:00:00Z", "RunInstances", userIdentity=assumed,
               sourceIPAddress="203.0.113.7", readOnly=False,
               requestParameters={"instanceType": "p4d.24xlarge", "minCount": 1, "maxCount": 1},
               responseElements={"instancesSet": {"items": [{"instanceId": INSTANCE}]}},
               resources=[{"ARN": f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{INSTANCE}", "accountId": ACCOUNT,
                           "type": "AWS::EC2::Instance"}],
               tlsDetails={"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                           "clientProvidedHostHeader": "ec2.us-east-1.amazonaws.com"}),
        record("aaaaaaaa-1111-4000-8000-000000000002", "2026-11-03T10:01:30Z", "GetSecretValue",
               eventSource="secretsmanager.amazonaws.com", errorCode="AccessDenied",
               errorMessage="User: arn:aws:iam::111122223333:user/alice is not authorized", readOnly=True,
               requestParameters={"secretId": "prod/db"}),
        record("aaaaaaaa-1111-4000-8000-000000000003", "2026-11-03T10:02:00Z", "AssumeRole",
               eventSource="sts.amazonaws.com", sourceIPAddress="ec2.amazonaws.com",
               userIdentity={"type": "AWSService", "invokedBy": "ec2.amazonaws.com"},
               additionalEventData={"MFAUsed": "No"}, readOnly=True),
    ]


def to_ocsf(rec: dict) -> dict:
    """A CloudTrail record as Security Lake stores it: OCSF 1.1.0 API Activity (class 6003)."""
    ui = rec.get("userIdentity") or {}
    session = ui.get("sessionContext") or {}
    attrs = session.get("attributes") or {}
    error = rec.get("errorCode")
    unmapped = {"recipientAccountId": rec["recipientAccountId"], "readOnly": str(rec["readOnly"]).lower(),
                "managementEvent": "true", "eventCategory": "Management"}
    for key in ("additionalEventData",):
        if rec.get(key):
            unmapped[key] = json.dumps(rec[key])
    for k, v in (rec.get("tlsDetails") or {}).items():
        unmapped[f"tlsDetails.{k}"] = v
    source = rec["sourceIPAddress"]
    is_ip = source[0].isdigit()
    return {
        "metadata": {"product": {"version": rec["eventVersion"], "name": "CloudTrail", "vendor_name": "AWS",
                                 "feature": {"name": "Management"}},
                     "uid": rec["eventID"], "profiles": ["cloud", "datetime"], "version": "1.1.0",
                     "event_code": rec["eventType"]},
        "time": int(_dt(rec["eventTime"]).timestamp() * 1000), "time_dt": _dt(rec["eventTime"]),
        "cloud": {"region": rec["awsRegion"], "provider": "AWS"},
        "api": {"response": {"error": error, "message": rec.get("errorMessage"),
                             "data": json.dumps(rec["responseElements"]) if rec.get("responseElements") else None},
                "operation": rec["eventName"], "version": None, "service": {"name": rec["eventSource"]},
                "request": {"data": json.dumps(rec["requestParameters"]) if rec.get("requestParameters") else None,
                            "uid": rec["requestID"]}},
        "actor": {"user": {"type": ui.get("type"), "name": ui.get("userName"), "uid": ui.get("arn"),
                           "uid_alt": ui.get("principalId"), "account": {"uid": ui.get("accountId")},
                           "credential_uid": ui.get("accessKeyId")},
                  "session": {"created_time_dt": _dt(attrs["creationDate"]) if attrs else None,
                              "is_mfa": attrs.get("mfaAuthenticated") == "true" if attrs else None,
                              "issuer": (session.get("sessionIssuer") or {}).get("arn")},
                  "invoked_by": ui.get("invokedBy"), "idp": {"name": None}},
        "http_request": {"user_agent": rec["userAgent"]},
        "src_endpoint": {"uid": None, "ip": source if is_ip else None, "domain": None if is_ip else source},
        "resources": [{"uid": r["ARN"], "owner": {"account": {"uid": r["accountId"]}}, "type": r["type"]}
                      for r in rec.get("resources") or []] or None,
        "class_uid": 6003, "class_name": "API Activity", "category_uid": 6, "category_name": "Application Activity",
        "activity_id": 99, "type_uid": 600399, "severity_id": 1, "severity": "Informational",
        "status": "Failure" if error else "Success", "status_id": 2 if error else 1,
        "accountid": rec["recipientAccountId"], "region": rec["awsRegion"], "asl_version": "1.0.0",
        "unmapped": unmapped,
    }


def authentication_event() -> dict:
    """A row of another class beside them (Authentication, 3002): a counted skip."""
    return {"metadata": {"uid": "bbbbbbbb-0000-4000-8000-000000000009", "version": "1.1.0", "product": {}},
            "class_uid": 3002, "class_name": "Authentication", "api": None, "time": 1793700000000,
            "unmapped": {}}


def write_parquet(path, rows: list[dict]) -> None:
    """As Security Lake does: one table, ``unmapped`` a map<string, string>."""
    unmapped = [list((r.pop("unmapped") or {}).items()) for r in rows]
    table = pa.Table.from_pylist(rows)
    table = table.append_column("unmapped", pa.array(unmapped, type=pa.map_(pa.string(), pa.string())))
    pq.write_table(table, path, compression="zstd")


def test_ocsf_api_activity_parquet_is_mapped_back_to_the_records(tmp_path):
    recs = cloudtrail()
    folder = tmp_path / "region=us-east-1" / f"accountId={ACCOUNT}" / "eventDay=20261103"
    folder.mkdir(parents=True)
    rows = [to_ocsf(r) for r in recs]
    rows.insert(1, authentication_event())
    write_parquet(folder / "9f3a1b2c-5d6e.gz.parquet", rows)
    (folder / "notes.txt").write_text("not evidence\n")
    res = load_events(str(tmp_path), cache=False, workers=1, progress=False)
    s = res.stats
    api_rows = sum(1 for r in rows if r["class_uid"] == 6003)  # the independent count
    assert s.events == api_rows == 3 and s.records_seen == 4 and s.records_skipped == 1
    assert s.skipped[0].reason == "OCSF class 3002 (Authentication) is not API Activity (6003): skipped"
    assert s.other_files == 1
    f = res.frame.set_index("eventID")
    for rec in recs:
        row = f.loc[rec["eventID"]]
        assert row["eventTime"] == _dt(rec["eventTime"])
        for col in ("eventName", "eventSource", "awsRegion", "sourceIPAddress", "userAgent", "recipientAccountId",
                    "userIdentity.type", "userIdentity.arn", "userIdentity.accessKeyId"):
            want = rec.get(col) if "." not in col else rec["userIdentity"].get(col.split(".")[1])
            assert (row[col] if row[col] == row[col] else None) == want, col
    first = f.loc[recs[0]["eventID"]]
    assert first["userIdentity.sessionContext.sessionIssuer.arn"] == f"arn:aws:iam::{ACCOUNT}:role/Admin"
    assert first["userIdentity.sessionContext.attributes.mfaAuthenticated"] == "true"
    assert f.loc[recs[1]["eventID"]]["errorCode"] == "AccessDenied"
    # the raw record: what the mapping kept, nested as CloudTrail has it
    n = int((res.frame["eventID"] == recs[0]["eventID"]).to_numpy().nonzero()[0][0])
    raw = raw_record(res.frame, n)
    assert raw["requestParameters"] == recs[0]["requestParameters"]
    assert raw["responseElements"] == recs[0]["responseElements"]
    assert raw["resources"] == recs[0]["resources"]
    assert raw["tlsDetails"] == recs[0]["tlsDetails"]
    assert raw["userIdentity"]["sessionContext"] == {
        "sessionIssuer": {"arn": f"arn:aws:iam::{ACCOUNT}:role/Admin"},  # Security Lake keeps the issuer's ARN only
        "attributes": {"mfaAuthenticated": "true", "creationDate": "2026-11-03T09:58:00Z"}}
    assert raw["readOnly"] == "false"  # unmapped values are text in Security Lake
    third = raw_record(res.frame, int((res.frame["eventID"] == recs[2]["eventID"]).to_numpy().nonzero()[0][0]))
    assert third["additionalEventData"] == {"MFAUsed": "No"} and third["sourceIPAddress"] == "ec2.amazonaws.com"


def test_the_mapping_is_data_and_covers_the_frame_fields():
    targets = set(ocsf_api.FIELDS.values())
    for field in ("eventID", "eventName", "eventSource", "awsRegion", "userAgent", "errorCode", "userIdentity.arn",
                  "userIdentity.type", "userIdentity.accessKeyId", "recipientAccountId", "requestParameters"):
        assert field in targets
    assert ocsf_api.FIELDS_RC2["actor.user.uuid"] == "userIdentity.arn"


def test_a_parquet_bomb_and_other_parquet_files_cost_one_file(tmp_path):
    rows = [to_ocsf(r) for _ in range(400) for r in cloudtrail()]
    write_parquet(tmp_path / "big.parquet", rows)
    pq.write_table(pa.table({"x": [1, 2, 3]}), tmp_path / "metrics.parquet")
    (tmp_path / "cut.parquet").write_bytes((tmp_path / "big.parquet").read_bytes()[:2000])
    write_parquet(tmp_path / "small.parquet", [to_ocsf(cloudtrail()[0])])
    res = load_events(str(tmp_path), cache=False, workers=1, progress=False, limits=Limits(max_file_bytes=64 << 10))
    why = {s.path.rsplit("/", 1)[-1]: s.reason for s in res.stats.skipped}
    assert why["big.parquet"] == "a Parquet file whose rows pass the limit of 64 KiB once read (max_file_bytes): not read"
    assert why["metrics.parquet"].startswith("not CloudTrail: a Parquet file that is not OCSF API Activity")
    assert why["cut.parquet"].startswith("not a readable Parquet file")
    assert res.stats.events == 1 and res.stats.files_skipped == 2 and res.stats.other_files == 1  # as other files
