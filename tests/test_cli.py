"""`trailtools events`: formats, the one-line summary, --stats-json, and exit codes for user errors."""
import json
import subprocess
import sys

import pandas as pd
import pytest
from conftest import STRATUS, need


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "trailtools", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def stratus():
    return str(need(STRATUS))


def test_table_output_and_summary(stratus):
    p = run("events", stratus, "--resource", "i-DDd6c7B0e18F0E35f", "--event-name", "StopInstances,StartInstances")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["eventTime", "eventName", "actor", "sourceIPAddress", "awsRegion", "errorCode",
                                "instanceIds"]
    assert "StopInstances" in lines[1] and "StartInstances" in lines[2] and len(lines) == 3
    assert p.stderr.strip().startswith("2 events from 35 files")
    assert "Traceback" not in p.stderr


def test_stats_json_and_csv(stratus, tmp_path):
    out, stats = tmp_path / "e.csv", tmp_path / "s.json"
    p = run("events", stratus, "--errors-only", "--format", "csv", "-o", str(out), "--stats-json", str(stats))
    assert p.returncode == 0, p.stderr
    frame = pd.read_csv(out)
    assert len(frame) == 52 and frame["errorCode"].notna().all()
    s = json.loads(stats.read_text())
    assert {"events", "files_read", "files_pruned", "duplicates_dropped", "skipped"} <= set(s)
    assert s["events"] == 52 and s["files_read"] == 35 and s["query"] == {"errors_only": True, "late_margin_s": 10800}


def test_jsonl_and_parquet(stratus, tmp_path):
    p = run("events", stratus, "--principal", "christophe", "--format", "jsonl")
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    assert p.returncode == 0 and rows and all(r["userIdentity"]["userName"] == "christophe" for r in rows)
    assert rows[0]["eventTime"].startswith("2024-") and "actor" not in rows[0]  # CloudTrail's record, not the row
    p = run("events", stratus, "--principal", "christophe", "--format", "jsonl", "--columns", "eventTime,actor")
    assert [json.loads(line)["actor"] for line in p.stdout.splitlines()] == ["christophe"] * len(rows)
    pq = tmp_path / "e.parquet"
    assert run("events", stratus, "--format", "parquet", "-o", str(pq)).returncode == 0
    assert len(pd.read_parquet(pq)) == 310


def test_jsonl_is_cloudtrails_own_record_whatever_the_container(tmp_path):
    """Issue 22: each line is the record as CloudTrail wrote it (nested, its own field names and types), not the
    frame's flattened row, out of a gzip'd trail file, a Logstash export and a zip archive alike."""
    import gzip
    import zipfile

    from conftest import record

    recs = [record(f"abababab-0000-4000-8000-{i:012d}", f"2026-11-03T10:0{i}:00Z", "RunInstances",
                   requestParameters={"instanceType": "t3.micro", "minCount": 1, "tagSpecificationSet": {"items": []}},
                   responseElements=None, readOnly=False) for i in range(6)]
    (tmp_path / "trail").mkdir()
    (tmp_path / "trail" / "a.json.gz").write_bytes(gzip.compress(json.dumps({"Records": recs[:2]}).encode()))
    (tmp_path / "trail" / "logstash.ndjson").write_text("\n".join(
        json.dumps({**r, "@timestamp": r["eventTime"], "@version": "1", "tags": ["cloudtrail"]}) for r in recs[2:4]))
    with zipfile.ZipFile(tmp_path / "trail" / "copy.zip", "w") as z:
        z.writestr("AWSLogs/x.json", json.dumps({"Records": recs[4:]}))
    p = run("events", str(tmp_path / "trail"), "--no-cache", "--format", "jsonl")
    assert p.returncode == 0, p.stderr
    assert [json.loads(line) for line in p.stdout.splitlines()] == recs  # exactly, in time order


@pytest.mark.parametrize("args,message", [
    (["events", "/definitely/not/here"], "No such file or folder: /definitely/not/here"),
    (["events", "{stratus}", "--start", "2024-99-01"], "Cannot read the time '2024-99-01'"),
    (["events", "{stratus}", "--account", "12"], "'12' is not an AWS account ID"),
    (["events", "{stratus}", "--format", "parquet"], "--format parquet needs an output file"),
    (["events", "ftp://x/y"], "cannot read ftp:// sources"),
])
def test_user_errors_are_one_sentence_and_exit_2(stratus, args, message):
    p = run(*[a.format(stratus=stratus) for a in args])
    assert p.returncode == 2
    assert p.stderr.startswith("trailtools: ") and message in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr


def test_folder_without_cloudtrail_exits_2(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    p = run("events", str(tmp_path))
    assert p.returncode == 2 and "No CloudTrail log files under" in p.stderr


def test_columns_option(stratus, tmp_path):
    p = run("events", stratus, "--event-name", "ConsoleLogin", "--columns",
            "eventName,additionalEventData.MFAUsed,responseElements.ConsoleLogin")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["eventName", "additionalEventData.MFAUsed", "responseElements.ConsoleLogin",
                                "ConsoleLogin", "No", "Success"]
    bad = run("events", stratus, "--columns", "eventName,nope")
    assert bad.returncode == 2 and "No column named 'nope'" in bad.stderr


@pytest.mark.slow
def test_reboot_command_prints_the_verdict_and_writes_json(tmp_path):
    out = tmp_path / "v.json"
    p = run("reboot", "i-04c2a9e71d3b58f06", "--json", str(out))
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("i-04c2a9e71d3b58f06 (web-01, m5.xlarge) was rebooted by dave.miller through AWS console")
    assert json.loads(out.read_text())["verdict"]["cause"] == "api-call"
    bad = run("reboot", "i-xyz")
    assert bad.returncode == 2 and "is not an EC2 instance ID" in bad.stderr
