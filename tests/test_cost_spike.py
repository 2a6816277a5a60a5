"""The cost-spike analysis (pure functions), the investigation on the demo account and on the real FOCUS sample,
and the cost charts (through ``chart.to_dict()``)."""
from __future__ import annotations

import json

import cost_fixtures as F
import numpy as np
import pandas as pd
import pytest
from conftest import DATASETS, need

from trailtools.findings.schema import build_document, validate
from trailtools.investigations.cost import analysis as cs
from trailtools.investigations.cost.gather import investigate

HENRY = "arn:aws:sts::314159265358:assumed-role/AWSReservedSSO_DeveloperAccess_32cf9bf287f095e9/henry.park@example.com"
GPU_DEMO = {"i-0c6e1f9a2d7b3e8f4", "i-01a7e3c9f5b2d6e80", "i-0e4b8d2f6a9c1357b", "i-05f9c3a7e1d4b2806"}


def _series(values, start="2026-10-01"):
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="D", tz="UTC"), dtype="float64")


# ---- baseline and spikes --------------------------------------------------------------------------------------

def test_robust_baseline_is_median_and_scaled_mad():
    med, spread = cs.robust_baseline([10, 11, 9, 10, 100])
    assert med == 10 and spread == pytest.approx(1.4826)


def test_a_jump_is_one_episode_and_a_lasting_spike_does_not_become_its_own_baseline():
    values = [100, 103, 98, 101, 99, 102, 100, 97, 101, 100] + [400] * 20
    (e,) = cs.find_spikes(_series(values))
    assert e.start == pd.Timestamp("2026-10-11", tz="UTC") and len(e.periods) == 20
    assert e.baseline == 100 and e.typical == 400 and e.excess == pytest.approx(20 * 300)


def test_noise_alone_is_no_spike():
    rng = np.random.default_rng(7)
    assert cs.find_spikes(_series(100 + rng.normal(0, 5, 40))) == []


def test_flat_near_zero_baseline_needs_a_real_amount():
    # a region costing $0.0003 a day: a cent more is not a spike, a dollar more is
    assert cs.find_spikes(_series([0.0003] * 10 + [0.0103])) == []
    (e,) = cs.find_spikes(_series([0.0003] * 10 + [284.35, 1570.64]))
    assert e.typical == pytest.approx((284.35 + 1570.64) / 2) and not np.isinf(e.ratio)


def test_too_little_history_flags_nothing():
    assert cs.find_spikes(_series([1, 1, 1, 500])) == []


def test_the_spike_is_the_episode_with_the_largest_excess():
    values = [100] * 10 + [160, 160] + [100] * 10 + [900] * 3
    eps = cs.find_spikes(_series(values))
    assert len(eps) == 2 and cs.main_episode(eps).typical == 900


def test_contributions_are_deltas_against_the_baseline():
    df = pd.DataFrame(F.rows())
    from trailtools.evidence.cost.cur import transform_cur

    f = transform_cur(df)
    total = cs.total_series(f)
    spike = cs.main_episode(cs.find_spikes(total))
    c = cs.contributions(f, spike, "usage_type")
    top = c.iloc[0]
    assert top["value"] == "EUN1-BoxUsage:p3.8xlarge" and top["baseline"] == 0
    assert top["delta"] == pytest.approx(4 * 24 * 12.24) and top["share"] == pytest.approx(1.0, abs=0.01)


# ---- creators ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value,key", [
    ("i-0abc1234def567890", "i-0abc1234def567890"),
    ("arn:aws:ec2:eu-north-1:111122223333:instance/i-0abc1234def567890", "i-0abc1234def567890"),
    ("arn:aws:ec2:us-east-1:111122223333:natgateway/nat-0123456789abcdef0", "nat-0123456789abcdef0"),
    ("arn:aws:rds:us-east-1:111122223333:db:acme-billing-db", "acme-billing-db"),
    ("arn:aws:lambda:us-east-1:111122223333:function:rightsizing-scheduler", "rightsizing-scheduler"),
    ("arn:aws:lambda:us-east-1:111122223333:function:rightsizing-scheduler:3", "rightsizing-scheduler"),
    ("arn:aws:s3:::acme-backups", "acme-backups"),
])
def test_arns_and_ids_reduce_to_one_key(value, key):
    assert cs.resource_key(value) == key


def test_creation_events_from_every_creating_call(tmp_path):
    from conftest import record, s3_path, write_gz

    from trailtools import Query, load_events

    recs = [
        record("e1", "2026-10-13T14:02:11Z", "RunInstances", responseElements={"instancesSet": {"items": [
            {"instanceId": "i-0bbbbbbbbbbbbbbb1", "instanceType": "p3.8xlarge"},
            {"instanceId": "i-0bbbbbbbbbbbbbbb2", "instanceType": "p3.8xlarge"}]}}),
        record("e2", "2026-10-13T14:03:00Z", "CreateVolume", responseElements={"volumeId": "vol-0123456789abcdef0",
                                                                              "volumeType": "gp3"}),
        record("e3", "2026-10-13T14:04:00Z", "CreateNatGateway", responseElements={"CreateNatGatewayResponse": {
            "natGateway": {"natGatewayId": "nat-0123456789abcdef0"}}}),
        record("e4", "2026-10-13T14:05:00Z", "CreateDBInstance", eventSource="rds.amazonaws.com", responseElements={
            "dBInstanceIdentifier": "acme-billing-db", "dBInstanceClass": "db.t4g.medium",
            "dBInstanceArn": "arn:aws:rds:us-east-1:111122223333:db:acme-billing-db"}),
        record("e5", "2026-10-13T14:06:00Z", "CreateFunction20150331", eventSource="lambda.amazonaws.com",
               responseElements={"functionName": "f", "runtime": "python3.12",
                                 "functionArn": "arn:aws:lambda:us-east-1:111122223333:function:f"}),
        record("e6", "2026-10-13T14:07:00Z", "RunInstances", errorCode="Server.InsufficientInstanceCapacity",
               errorMessage="no capacity"),
    ]
    write_gz(s3_path(tmp_path, "111122223333", "us-east-1", "20261013T1410Z"), {"Records": recs})
    ev = load_events(str(tmp_path), Query()).frame
    c = cs.creation_events(ev)
    assert c["resource_key"].tolist() == ["i-0bbbbbbbbbbbbbbb1", "i-0bbbbbbbbbbbbbbb2", "vol-0123456789abcdef0",
                                          "nat-0123456789abcdef0", "acme-billing-db", "f", ""]
    assert c["detail"].tolist()[:2] == ["p3.8xlarge", "p3.8xlarge"]
    assert c["errorCode"].tolist()[-1] == "Server.InsufficientInstanceCapacity"
    assert set(c["principal"]) == {"arn:aws:iam::111122223333:user/alice"}


def test_created_by_tag_spellings():
    assert cs.parse_created_by("AssumedRole:AROA77LMHYXFOEGNXIVOQ:henry.park@example.com") == (
        "AssumedRole", "AROA77LMHYXFOEGNXIVOQ:henry.park@example.com")
    assert cs.parse_created_by("IAMUser:AIDAEXAMPLE:dev-b") == ("IAMUser", "AIDAEXAMPLE")
    assert cs.short_name(HENRY) == "henry.park@example.com"


def test_fixture_spike_is_attributed_to_dev_b_and_the_orphan_is_listed(tmp_path):
    from trailtools import Query, load_events
    from trailtools.evidence.cost.cur import transform_cur

    f = transform_cur(pd.DataFrame(F.rows()))
    F.write_trail(tmp_path)
    ev = load_events(str(tmp_path), Query()).frame
    a = cs.analyze(f, ev, trail_window=(pd.Timestamp("2026-10-10", tz="UTC"), pd.Timestamp("2026-10-17", tz="UTC")))
    assert a.spike.start == pd.Timestamp(F.SPIKE_DAY, tz="UTC")
    assert a.headline.startswith("AmazonEC2 in eu-north-1 rose from $3.11/day to $1,178.15/day on 2026-10-13")
    assert "4 instances (4 p3.8xlarge) created by arn:aws:iam::111122223333:user/dev-b at 2026-10-13 14:02 UTC" \
        in a.headline
    r = a.resources.set_index("resource_id")
    assert set(r.loc[F.GPU, "principal"]) == {F.DEV_B} and set(r.loc[F.GPU, "eventID"]) == {"e-run-1"}
    assert r.loc[F.GPU[0], "attribution"] == "CloudTrail RunInstances and aws:createdBy tag"
    # cost but no creating call: listed, with the reason, never dropped
    assert r.loc[F.ORPHAN, "principal"] == cs.UNKNOWN_CREATOR
    assert r.loc[F.ORPHAN, "attribution"].startswith("none: cost since before the trail window")
    p = a.principals.set_index("principal")
    assert p.loc[F.DEV_B, "baseline"] == 0 and p.loc[F.DEV_B, "during"] == pytest.approx(4 * 24 * 12.24)
    daily = a.by_principal[a.by_principal["principal"] == F.DEV_B]
    assert len(daily) == 4 and daily["cost"].round(2).eq(round(4 * 24 * 12.24, 2)).all()
    checks = [x.check for x in a.findings]
    assert checks[:2] == ["cost.spike", "cost.principal"]
    assert a.findings[1].severity == "high" and a.findings[1].evidence[0].ref == "e-run-1"
    doc = build_document("cost", {}, verdict=None, findings=[x.to_dict() for x in a.findings], sources=[],
                         load_stats=None, generated_at="2026-10-17T00:00:00Z")
    assert validate(doc) == [] and doc["findings"][0]["principal"] == F.DEV_B


def test_without_a_trail_the_tag_still_names_the_creator():
    from trailtools.evidence.cost.cur import transform_cur

    a = cs.analyze(transform_cur(pd.DataFrame(F.rows())), None)
    assert f"created by IAMUser:{F.DEV_B_ID}:dev-b (per the aws:createdBy tag)" in a.headline
    assert any("No CloudTrail events" in n for n in a.notes)


# ---- the demo account (docs/demo-account.md, incident 7) -------------------------------------------------------

@pytest.fixture(scope="module")
def demo_inv():
    return investigate()


def test_demo_spike_found_and_attributed_to_henry(demo_inv):
    a = demo_inv.analysis
    assert demo_inv.evidence.window == (pd.Timestamp("2026-09-15", tz="UTC"), pd.Timestamp("2026-10-15", tz="UTC"))
    assert a.spike.start == pd.Timestamp("2026-10-08", tz="UTC")
    assert a.spike.baseline == pytest.approx(114, abs=3) and a.spike.typical == pytest.approx(1570.64 + 114, abs=5)
    top = a.contributions[a.contributions["dimension"] == "service+region"].iloc[0]
    assert top["value"] == "AmazonEC2 in ap-northeast-1" and top["typical"] == pytest.approx(1570.64, abs=0.5)
    ut = a.contributions[a.contributions["dimension"] == "usage_type"]["value"].head(2)
    assert set(ut) == {"APN1-BoxUsage:p4d.24xlarge", "APN1-BoxUsage:g5.12xlarge"}
    assert a.headline.startswith("AmazonEC2 in ap-northeast-1 rose from $0.00/day to $1,570.64/day on 2026-10-08")
    assert f"4 instances (1 p4d.24xlarge, 3 g5.12xlarge) created by {HENRY} at 2026-10-08 19:38 UTC" in a.headline
    r = a.resources.set_index("resource_id")
    assert set(r.loc[sorted(GPU_DEMO), "principal"]) == {HENRY}
    assert set(r.loc[sorted(GPU_DEMO), "creating_call"]) == {"RunInstances"}
    assert r.loc["i-0c6e1f9a2d7b3e8f4", "created_at"] == pd.Timestamp("2026-10-08T19:38:21Z")
    # irene's dev instances: created before the trail, named by their tag; steady, so no finding for her
    irene = r[r["created_by_tag"].str.endswith("irene.lopez@example.com")]
    assert len(irene) and irene["attribution"].str.startswith("aws:createdBy tag only").all()
    main = demo_inv.findings[0]
    assert main.check == "cost.spike" and main.severity == "high" and main.extra["principal"] == HENRY
    principals = [f for f in demo_inv.findings if f.check == "cost.principal"]
    assert [f.extra["principal"] for f in principals] == [HENRY]
    refs = {e.summary.split(" ")[0] for e in principals[0].evidence}
    assert refs == {"RunInstances"} and any("InsufficientInstanceCapacity" in e.summary
                                            for e in principals[0].evidence)
    anomalies = [f for f in demo_inv.findings if f.check == "cost.anomaly"]
    assert [(f.severity, f.status) for f in anomalies] == [("medium", "FAIL"), ("info", "INFO")]


def test_demo_json_and_tables(demo_inv):
    doc = json.loads(demo_inv.to_json())
    assert doc["investigation"] == "cost" and doc["analysis"]["spike"]["start"] == "2026-10-08T00:00:00Z"
    assert {s["name"]: s["status"] for s in doc["sources"]} == {
        "Cost (CUR 2.0)": "consulted", "Cost Anomaly Detection": "consulted", "CloudTrail": "consulted"}
    assert all("sha256" in i for i in doc["provenance"]["inputs"] if i["path"].startswith("cost/"))
    for table in (demo_inv.contributions_table(), demo_inv.resources_table(), demo_inv.principals_table(),
                  demo_inv.creations_table(), demo_inv.anomalies_table(), demo_inv.sources_table(),
                  demo_inv.findings_table()):
        assert table._repr_html_().startswith("<table")


def test_demo_charts(demo_inv):
    daily = demo_inv.daily_chart().to_dict()
    layers = daily["layer"]
    assert layers[0]["mark"]["type"] == "rect" and layers[1]["mark"]["type"] == "bar"
    data = daily["datasets"]
    band = next(v for v in data.values() if v and "label" in v[0])
    assert band == [{"start": "2026-10-08T00:00:00Z", "end": "2026-10-15T00:00:00Z", "label": "spike"}]
    bars = next(v for v in data.values() if v and "service" in v[0])
    assert len({r["period"] for r in bars}) == 30 and "AmazonEC2" in {r["service"] for r in bars}
    who = demo_inv.principal_chart().to_dict()
    rows = next(v for v in who["datasets"].values() if v and "principal" in v[0])
    assert "henry.park@example.com" in {r["principal"] for r in rows}
    calls = demo_inv.creations_chart().to_dict()
    points = next(v for v in calls["datasets"].values() if v and "eventID" in v[0])
    henry = [p for p in points if p["group"] == "henry.park@example.com"]
    assert {p["result"] for p in henry} == {"ok"} and len(henry) == 2
    assert any(p["result"].startswith("failed: Server.InsufficientInstanceCapacity") for p in points)
    # incident 6's stopped logging is shaded behind the calls: no creator can be known there
    assert calls["layer"][0]["mark"]["type"] == "rect"
    gaps = calls["layer"][0]["data"]["values"]
    assert any(g["time"] == "2026-10-11T02:23:37.000Z" and g["gap"] == "logging-stopped" for g in gaps), gaps


# ---- the real FOCUS sample ---------------------------------------------------------------------------------------

def test_real_focus_sample_runs_with_honest_output():
    path = str(need(DATASETS / "focus-sample-data" / "FOCUS-1.0" / "focus_sample.csv"))
    inv = investigate(source="", cost_source=path)
    a = inv.analysis
    # no window given and nothing in the last 30 days: the data's own last 30 days, and it says so
    assert inv.evidence.window == (pd.Timestamp("2024-09-01", tz="UTC"), pd.Timestamp("2024-10-01", tz="UTC"))
    assert any("shown instead: the last 30 days of the data" in n for n in a.notes)
    assert any("sparse" in n for n in a.notes)             # 1,000 sampled rows over a month
    assert any("No CloudTrail" in n for n in a.notes)
    assert a.total.sum() == pytest.approx(inv.evidence.cost.frame["cost"].sum())
    assert (a.resources["principal"] == cs.UNKNOWN_CREATOR).all()   # no trail, no aws:createdBy in the sample
    assert {s.name: s.status for s in inv.evidence.sources}["CloudTrail"] == "unavailable"
    doc = build_document("cost", {}, verdict=None, findings=[f.to_dict() for f in inv.findings],
                         sources=inv.evidence.sources, load_stats=None, generated_at="2026-10-17T00:00:00Z")
    assert validate(doc) == []
    if a.spike is None:
        assert a.findings[0].check == "cost.no-spike"
    else:
        assert "no known creator" in a.headline
    inv.daily_chart().to_dict()
    inv.principal_chart().to_dict()
    inv.creations_chart().to_dict()


def test_bad_parameters_are_one_sentence():
    from trailtools.errors import QueryError

    with pytest.raises(QueryError, match="before it starts"):
        investigate(start="2026-10-10", end="2026-10-01")
    with pytest.raises(QueryError, match="granularity must be one of"):
        investigate(granularity="weekly")


def test_charts_of_nothing_are_still_charts():
    from trailtools.views.cost import cost_by_principal_chart, cost_by_service_chart, creations_chart

    empty = pd.DataFrame(columns=["period", "service", "cost"])
    spec = cost_by_service_chart(empty).to_dict()
    assert spec["mark"]["type"] == "bar" and "layer" not in spec          # no spike, no band
    assert cost_by_principal_chart(pd.DataFrame(columns=["period", "principal", "cost"])).to_dict()
    spec = creations_chart(pd.Series(dtype="float64"), pd.DataFrame(columns=cs.CREATION_COLUMNS)).to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line"]


def test_many_services_are_folded_into_other_and_hours_into_days():
    from trailtools.views.cost import MAX_ROWS, TOP, cost_by_service_chart

    periods = pd.date_range("2026-09-01", periods=24 * 40, freq="h", tz="UTC")
    df = pd.DataFrame([(p, f"svc-{k}", float(k)) for p in periods for k in range(10)],
                      columns=["period", "service", "cost"])
    spec = cost_by_service_chart(df, unit="hour").to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert len(rows) <= MAX_ROWS and len({r["service"] for r in rows}) == TOP + 1
    assert "other" in {r["service"] for r in rows} and "svc-9" in {r["service"] for r in rows}
    assert sum(r["cost"] for r in rows) == pytest.approx(df["cost"].sum())


def test_cost_explorer_totals_with_resource_level_rows_are_attributed(tmp_path):
    """ce:// gives totals by service and region and, apart, resource-level rows: the spike is found in the totals
    and its resources joined to the trail through the resource rows."""
    from trailtools import Query, load_events
    from trailtools.evidence.cost import ce

    def result(day, groups):
        nxt = (pd.Timestamp(day) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
        return {"TimePeriod": {"Start": day, "End": nxt}, "Total": {}, "Estimated": False,
                "Groups": [{"Keys": list(k), "Metrics": {"UnblendedCost": {"Amount": str(v), "Unit": "USD"}}}
                           for k, v in groups]}

    days = [d.strftime("%Y-%m-%d") for d in pd.date_range("2026-10-01", "2026-10-16", freq="D")]
    gpu = 24 * 12.24
    totals = {"GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "REGION"}],
              "ResultsByTime": [result(d, [(("Amazon Elastic Compute Cloud - Compute", "eu-north-1"),
                                            3.1 + (4 * gpu if d >= F.SPIKE_DAY else 0))]) for d in days]}
    res = {"GroupDefinitions": [{"Type": "DIMENSION", "Key": "RESOURCE_ID"}, {"Type": "DIMENSION", "Key": "USAGE_TYPE"}],
           "ResultsByTime": [result(d, [((F.STEADY, "EUN1-BoxUsage:m5.large"), 3.1)]
                                    + ([((i, "EUN1-BoxUsage:p3.8xlarge"), gpu) for i in F.GPU]
                                       if d >= F.SPIKE_DAY else [])) for d in days]}
    frame, resources = ce.transform_cost_and_usage(totals), ce.transform_cost_and_usage(res)
    assert (frame["resource_id"] == "").all() and set(resources["resource_id"]) == {F.STEADY, *F.GPU}
    F.write_trail(tmp_path)
    a = cs.analyze(frame, load_events(str(tmp_path), Query()).frame, resource_frame=resources)
    assert a.spike.start == pd.Timestamp(F.SPIKE_DAY, tz="UTC")
    # the resource rows say neither service nor region nor instance type: matched anyway, the type read from
    # the usage type
    assert f"100% of it is 4 instances (4 p3.8xlarge) created by {F.DEV_B} at 2026-10-13 14:02 UTC" in a.headline
    assert set(a.resources.set_index("resource_id").loc[F.GPU, "principal"]) == {F.DEV_B}
    assert not any("no resource IDs" in n for n in a.notes)
    p = a.principals.set_index("principal")
    assert p.loc[F.DEV_B, "during"] == pytest.approx(4 * gpu)


def test_a_small_service_jump_hidden_in_a_big_bill_is_found_on_its_own_baseline():
    rng = np.random.default_rng(3)
    days = pd.date_range("2026-10-01", periods=30, freq="D", tz="UTC")
    rows = [{"usage_start": d, "usage_end": d + pd.Timedelta(days=1), "cost": 10_000 + rng.normal(0, 300),
             "service": "AmazonEC2", "region": "us-east-1", "usage_type": "BoxUsage:m5.large", "account": "1"}
            for d in days]
    rows += [{"usage_start": d, "usage_end": d + pd.Timedelta(days=1), "cost": 0.01 if d.day < 20 else 60.0,
              "service": "AmazonSageMaker", "region": "ap-south-1", "usage_type": "APS3-Notebook:ml.p3.2xlarge",
              "account": "1"} for d in days]
    from trailtools.evidence.cost.frame import conform

    a = cs.analyze(conform(pd.DataFrame(rows)), None)
    assert a.spike is None
    assert a.headline.startswith("No spike in the whole bill") and "AmazonSageMaker in ap-south-1" in a.headline
    d = a.dimension_spikes
    assert {"AmazonSageMaker in ap-south-1", "APS3-Notebook:ml.p3.2xlarge"} <= set(d["value"])
    assert "AmazonEC2 in us-east-1" not in set(d["value"])
    f = [x for x in a.findings if x.check == "cost.dimension-spike"]
    assert f and f[0].extra["value"] == "AmazonSageMaker in ap-south-1" and f[0].severity == "medium"
    assert iso_start(f[0]) == "2026-10-20T00:00:00Z"


def iso_start(finding):
    return finding.evidence[0].time
