"""`trailtools events --format timesketch`: Timesketch's JSONL import format (trailtools/events/export.py)."""
import json
import subprocess
import sys
from datetime import datetime

import pandas as pd
from conftest import STRATUS, need, record

from trailtools import load_events
from trailtools.events.export import DATA_TYPE, TIMESTAMP_DESC, message, timesketch_records


def _events(tmp_path, recs):
    (tmp_path / "t.json").write_text(json.dumps({"Records": recs}))
    res = load_events(str(tmp_path / "t.json"), cache=False)
    return res, list(timesketch_records(res.frame))


def test_every_event_has_timesketchs_required_fields_and_opensearch_safe_names():
    res = load_events(str(need(STRATUS)), cache=False)
    events = list(timesketch_records(res.frame))
    assert len(events) == len(res.frame) == res.stats.events
    for event, (_, row) in zip(events, res.frame.iterrows()):
        assert {"message", "datetime", "timestamp_desc", "timestamp"} <= set(event)
        assert event["timestamp_desc"] == TIMESTAMP_DESC and event["data_type"] == DATA_TYPE
        when = datetime.fromisoformat(event["datetime"])
        assert when == row["eventTime"] and event["timestamp"] == int(when.timestamp() * 1_000_000)
        assert event["eventName"] == row["eventName"] and row["eventName"] in event["message"]
        assert not any("." in k or k.startswith("_") for k in event)
    assert sum("errorCode" in e for e in events) == res.frame["errorCode"].notna().sum()


def test_console_login_fields_do_not_clash_and_message_reads(tmp_path):
    login = record("44444444-4444-4444-8444-444444444444", "2026-11-03T10:00:00.123456Z", "ConsoleLogin",
                   eventSource="signin.amazonaws.com", errorCode="Failed authentication",
                   responseElements={"ConsoleLogin": "Failure"}, additionalEventData={"MFAUsed": "No"},
                   sourceIPAddress="198.51.100.7\x1b]0;pwned\x07")
    _, (event,) = _events(tmp_path, [login])
    assert json.loads(event["responseElements"]) == {"ConsoleLogin": "Failure"}  # the object's JSON text
    assert event["responseElements_ConsoleLogin"] == "Failure" and event["additionalEventData_MFAUsed"] == "No"
    assert event["datetime"] == "2026-11-03T10:00:00.123456+00:00" and event["timestamp"] % 1_000_000 == 123456
    assert event["source_file"].endswith("t.json") and event["source_record"] == 0
    assert message(event | {"actor": "alice", "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin"}
                   ).startswith("alice: signin.amazonaws.com ConsoleLogin in us-east-1 from 198.51.100.7")
    assert event["message"].endswith("(error Failed authentication)")


def test_cli_writes_timesketch_jsonl_with_chosen_fields(tmp_path):
    stratus = str(need(STRATUS))
    out = tmp_path / "ts.jsonl"
    p = subprocess.run([sys.executable, "-m", "trailtools", "events", stratus, "--principal", "christophe",
                        "--format", "timesketch", "--columns", "eventName,userIdentity.arn", "-o", str(out)],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    lines = out.read_text().splitlines()
    expected = load_events(stratus, cache=False).frame
    assert len(lines) == (expected["actor"] == "christophe").sum() > 0
    for line in lines:
        event = json.loads(line)
        assert set(event) == {"message", "datetime", "timestamp", "timestamp_desc", "data_type", "eventName",
                              "userIdentity_arn"}
        assert event["message"].startswith("christophe: ")
    assert pd.Timestamp(json.loads(lines[0])["datetime"]).year == 2024
