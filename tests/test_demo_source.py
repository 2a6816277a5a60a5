"""`demo` as a source: the default of the CLI and of load_events, reading the cached demo account's trail."""
import json
import subprocess
import sys

import pytest

from trailtools import Query, load_events
from trailtools.demo import scenario as S


def test_load_events_defaults_to_the_demo_account():
    res = load_events(query=Query(resource=S.WEB01.id, event_names=["RebootInstances", "StopInstances",
                                                                   "StartInstances", "TerminateInstances"]))
    assert res.stats.source == "demo"
    assert res.stats.skipped == [] and res.stats.other_files == 0  # the trail only, no guest logs read as events
    assert list(res.frame["eventName"]) == ["RebootInstances"]
    row = res.frame.iloc[0]
    assert row["actor"] == "dave.miller" and row["sessionCredentialFromConsole"] == "true"
    assert list(row["instanceIds"]) == [S.WEB01.id]


def test_cli_events_demo_and_stats(tmp_path):
    stats = tmp_path / "stats.json"
    p = subprocess.run([sys.executable, "-m", "trailtools", "events", "--event-name", "StopLogging",
                        "--stats-json", str(stats)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "StopLogging" in p.stdout and "emma.wilson" in p.stdout
    s = json.loads(stats.read_text())
    assert s["source"] == "demo" and s["events"] == 1 and 50_000 <= s["records_seen"] <= 200_000


@pytest.mark.slow
def test_cli_demo_writes_a_browsable_account(tmp_path):
    out = tmp_path / "acct"
    p = subprocess.run([sys.executable, "-m", "trailtools", "demo", str(out)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["account_id"] == S.ACCOUNT_ID and (out / "AWSLogs").is_dir()
    assert str(out) in p.stderr
