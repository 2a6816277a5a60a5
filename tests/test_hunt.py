"""`trailtools hunt SOURCE [--start] [--end] [--rules] [--json]` through cli.main, on a small trail folder built here
(the AWSLogs layout, gzipped): ranked findings naming their eventIDs, the window, the rules chosen, the findings
document, user errors, hostile text."""
import copy
import json

import pytest
from conftest import record, s3_path, write_gz

from trailtools import cli
from trailtools.findings import schema
from trailtools.rules import registry
from trailtools.rules.examples import examples
from trailtools.rules.hunt import hunt


def _fire(family, rule_id):
    return copy.deepcopy(examples(family)[rule_id]["fire"])


@pytest.fixture
def trail(tmp_path):
    """Nov 3rd: a public snapshot (critical), flow logs deleted (high), an SSM session (low), noise; Nov 5th: a
    KMS key scheduled for deletion (outside a window ending Nov 4th)."""
    day3 = (_fire("exposure", "exposure.snapshot-shared") + _fire("defense_evasion", "defense-evasion.flow-logs-deleted")
            + _fire("execution", "execution.ssm-start-session")
            + [record(f"noise-{i}", f"2026-11-03T09:{i:02d}:00Z") for i in range(20)])
    kms = _fire("defense_evasion", "defense-evasion.kms-key-deletion")
    for r in kms:
        r["eventTime"] = "2026-11-05T08:00:00Z"
    write_gz(s3_path(tmp_path, "111122223333", "eu-west-1", "20261103T1200Z"), {"Records": day3})
    write_gz(s3_path(tmp_path, "111122223333", "eu-west-1", "20261105T0900Z"), {"Records": kms})
    return tmp_path


def test_hunt_ranks_findings_and_names_their_event_ids(trail, capsys):
    assert cli.main(["hunt", str(trail), "--start", "2026-11-03", "--end", "2026-11-04", "--no-cache"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"4 findings from {len(registry.RULES)} rules over 24 events")  # the workload rule reads every event
    severities = [line.split(":")[0].strip() for line in out[1:9:2]]
    assert severities == ["critical", "high", "high", "low"]
    # maria's one access key made every call: one chain, one credential, naming the eventIDs of all four findings
    assert out[9].startswith("By attack chain (1;") and out[10].startswith("  chain 1: critical, 4 findings")
    assert "credentials AKIAIOSFODNN7EXAMPLE" in out[10] and "credential AKIAIOSFODNN7EXAMPLE (maria)" in out[11]
    snapshot = examples("exposure")["exposure.snapshot-shared"]["fire"]
    public = next(r for r in snapshot if "all" in json.dumps(r["requestParameters"]))
    assert "made snapshot snap-0b5e733b4a8df6e0d public" in out[1] and public["eventID"] in out[2]
    assert "exposure.snapshot-shared" in out[2]
    assert not any("kms" in line.lower() for line in out)          # Nov 5th is outside the window


def test_hunt_without_a_window_reads_everything_and_rules_narrow_it(trail, capsys):
    assert cli.main(["hunt", str(trail), "--rules", "defense-evasion", "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 findings from 5 rules") and "scheduled KMS key" in out and "snap-" not in out


def test_hunt_loads_only_the_events_the_rules_read(trail):
    res = hunt(str(trail), "2026-11-03", "2026-11-04", "execution.ssm-start-session", cache=False)
    assert res.events == 1 and [f.check for f in res.findings] == ["execution.ssm-start-session"]


def test_hunt_json_is_a_findings_document(trail, tmp_path, capsys):
    out = tmp_path / "hunt.json"
    assert cli.main(["hunt", str(trail), "--json", str(out), "--no-cache"]) == 0
    doc = json.loads(out.read_text())
    assert schema.validate(doc) == [] and doc["investigation"] == "hunt" and doc["verdict"] is None
    assert doc["parameters"]["rules"][0] == "defense-evasion.log-group-deleted"
    assert [f["severity"] for f in doc["findings"]] == ["critical", "high", "high", "high", "low"]
    f = doc["findings"][0]
    assert f["check"] == "exposure.snapshot-shared" and f["principal"] == "maria" and f["evidence"][0]["ref"]
    assert f["extra"]["attackers"]["credit"].startswith("TrailDiscover by Adan Alvarez")


@pytest.mark.parametrize("args,message", [
    (["--rules", "nope"], "No rule named 'nope'"),
    (["--start", "2026-13-01"], "Cannot read the time '2026-13-01'"),
])
def test_hunt_user_errors_are_one_sentence(trail, capsys, args, message):
    assert cli.main(["hunt", str(trail), "--no-cache", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_hunt_shows_hostile_text_as_escapes(tmp_path, capsys):
    recs = _fire("execution", "execution.ssm-start-session")
    recs[0]["requestParameters"]["target"] = "i-0abc\x1b]52;c;ZXZpbA==\x07\u202e"
    write_gz(s3_path(tmp_path, "111122223333", "eu-west-1", "20261103T1200Z"), {"Records": recs})
    assert cli.main(["hunt", str(tmp_path), "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out and "\\x1b]52" in out and "\\u202e" in out


def test_hunt_is_an_investigation_like_the_others(trail):
    """Registered (notebooks/hunt.ipynb, `trailtools report hunt`), with the methods every investigation offers,
    and its verb keeps its own options."""
    from trailtools.investigations import registry as investigations
    from trailtools.rules.hunt import HuntResult, investigate

    inv = investigations.get("hunt")
    assert inv.investigate() is investigate and inv.notebook_path.exists()
    assert [p.name for p in inv.parameters()] == ["source", "start", "end", "rules", "sigma", "findings_json"]
    for method in ("answer_box", "summary_lines", "to_json", "all_findings", "write_json"):
        assert callable(getattr(HuntResult, method, None)), method
    res = investigate(source=str(trail), start="2026-11-03", end="2026-11-04")
    assert [f.check for f in res.all_findings()][0] == "exposure.snapshot-shared"
    assert len(res.findings_table().frame) == 4 and list(res.groups_table().frame["chain"]) == ["chain 1"]
    assert res.sigma_table().frame.empty and res.timeline().to_dict()["vconcat"]
