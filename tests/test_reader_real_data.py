"""Real third-party CloudTrail (../shared/datasets) loads with the right counts, fields and times."""
import json
import re

import pandas as pd
import pytest
from conftest import AWSDOCS, CLI_EXAMPLES, STRATUS, need

from trailtools import load_events


@pytest.fixture(scope="module")
def stratus():
    return load_events(str(need(STRATUS)), cache=False)


def test_stratus_detonation_logs_all_load(stratus):
    s = stratus.stats
    assert (s.events, s.files_read, s.records_seen) == (310, 35, 310)
    assert (s.records_skipped, s.files_skipped, s.duplicates_dropped) == (0, 0, 0)
    assert s.other_files == 2  # SOURCE.md and LICENSE are recognized, not errors
    f = stratus.frame
    assert f["eventName"].nunique() == 54
    assert f["eventName"].value_counts()["DescribeInstanceInformation"] == 112
    assert str(f["eventTime"].dtype) == "datetime64[us, UTC]"
    assert f["eventTime"].min() == pd.Timestamp("2024-07-30T21:31:10Z")
    assert f["eventTime"].max() == pd.Timestamp("2024-11-30T08:43:18Z")
    assert f["eventTime"].is_monotonic_increasing
    assert f["userIdentity.type"].value_counts().to_dict() == {"IAMUser": 241, "AssumedRole": 68, "FederatedUser": 1}
    assert (f["errorCode"] == "Client.UnauthorizedOperation").sum() == 46


def test_stratus_console_login_without_mfa(stratus):
    row = stratus.frame[stratus.frame["eventName"] == "ConsoleLogin"].iloc[0]
    assert row["additionalEventData.MFAUsed"] == "No"
    assert row["responseElements.ConsoleLogin"] == "Success"
    assert row["actor"] == "stratus-red-team-nmfalu-jfzdtsvchl"
    assert row["userIdentity.arn"] == "arn:aws:iam::562283505220:user/stratus-red-team-nmfalu-jfzdtsvchl"


def test_stratus_instance_ids_and_raw_record(stratus):
    f = stratus.frame
    stop = f[f["eventName"] == "StopInstances"].iloc[0]
    assert list(stop["instanceIds"]) == ["i-DDd6c7B0e18F0E35f"]
    raw = stratus.raw(stop["eventID"])
    assert raw["eventName"] == "StopInstances"
    assert raw["requestParameters"]["instancesSet"]["items"][0]["instanceId"] == "i-DDd6c7B0e18F0E35f"
    assert json.loads(stop["requestParameters"]) == raw["requestParameters"]
    # the identity of an instance role is not an instance the event touched
    assumed = f[f["userIdentity.type"] == "AssumedRole"].iloc[0]
    assert assumed["actor"] == assumed["userIdentity.arn"].split(":assumed-role/")[1]


def test_aws_documentation_examples():
    res = load_events(str(need(AWSDOCS)), cache=False)
    s, f = res.stats, res.frame
    # 23 files: 19 .json (2 of them digests) and 4 .txt: the 3 that are notes stay other files, the IAM example that
    # holds a record is read for what it holds
    assert (s.files_seen, s.digest_files, s.other_files, s.files_read) == (23, 2, 3, 18)
    # AWS's examples reuse two eventIDs (CheckMfa, root ConsoleLogin) for records that differ (MfaType; MFA used or
    # not): conflicting copies, all kept and named, none dropped
    assert (s.records_seen, s.duplicates_dropped, s.conflicting_duplicates, s.events) == (19, 0, 2, 19)
    assert {c["eventID"] for c in s.conflicts} == {"f8ef8fc5-e3e8-4ee1-9d52-2f412ddf17e3",
                                                   "deb1e1f9-c99b-4612-8e9f-21f93b5d79c0"}
    logins = f[f["eventName"] == "ConsoleLogin"]
    assert len(logins) == 6
    failed = logins[logins["responseElements.ConsoleLogin"] == "Failure"]
    assert set(failed["actor"]) == {"anaya", "root"}
    assert set(failed["errorMessage"]) == {"Failed authentication"}
    assert set(logins.loc[logins["userIdentity.type"] == "Root", "actor"]) == {"root"}
    insights = f[f["eventType"] == "AwsCloudTrailInsight"]
    assert len(insights) == 2


def test_dirty_aws_example_with_raw_newlines_reads_when_named():
    path = need(AWSDOCS / "log-file-examples-06-iam-log-examples.txt")
    res = load_events(str(path), cache=False)
    assert res.stats.events == 1 and res.frame["eventName"].iloc[0] == "CreateRole"


def _rst_output(path):
    """The JSON of an aws-cli example's Output:: block."""
    text = path.read_text()
    block = text.split("Output::", 1)[1]
    lines = [ln[2:] if ln.startswith("  ") else ln for ln in block.splitlines()]
    return json.loads("\n".join(lines))


def test_lookup_events_output_from_the_aws_cli_example(tmp_path):
    out = _rst_output(need(CLI_EXAMPLES / "cloudtrail" / "lookup-events.rst"))
    path = tmp_path / "lookup.json"
    path.write_text(json.dumps(out))
    res = load_events(str(path), cache=False)
    row = res.frame.iloc[0]
    assert res.stats.events == 1
    assert row["eventName"] == "ConsoleLogin"
    assert row["actor"] == "my-role/my-session-name"
    assert row["userIdentity.sessionContext.sessionIssuer.userName"] == "my-role"
    assert row["eventTime"] == pd.Timestamp("2016-01-26T21:42:12Z")
    assert res.raw(0)["eventID"] == "654ccbc0-ba0d-486a-9076-dbf7274677a7"


def test_every_real_record_keeps_its_eventid_and_time(stratus):
    # nothing invented or lost: the frame's IDs and times are exactly the files'
    raw = []
    for path in sorted(STRATUS.glob("*.json")):
        raw.extend(json.loads(path.read_text()))
    assert sorted(r["eventID"] for r in raw) == sorted(stratus.frame["eventID"])
    times = sorted(pd.Timestamp(r["eventTime"]) for r in raw)
    assert times == list(stratus.frame["eventTime"])
    assert all(re.fullmatch(r"[0-9a-f-]{36}", i) for i in stratus.frame["eventID"])
