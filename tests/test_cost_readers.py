"""The cost readers: CUR legacy and 2.0 (CSV.gz, Parquet), FOCUS 1.0 (the real sample), saved and live Cost
Explorer (aws-cli examples; Stubber), s3:// against moto; all into the one cost frame."""
from __future__ import annotations

import datetime as dt
import json

import cost_fixtures as F
import pandas as pd
import pytest
from botocore.stub import Stubber
from conftest import CLI_EXAMPLES, DATASETS, cli_outputs, need

from trailtools.errors import SourceError
from trailtools.evidence import cost
from trailtools.evidence.cost import ce, read_cost
from trailtools.evidence.cost.frame import COLUMNS

FOCUS = DATASETS / "focus-sample-data" / "FOCUS-1.0" / "focus_sample.csv"


def _check_frame(data, kind):
    f = data.frame
    assert list(f.columns) == list(COLUMNS) and data.kind == kind
    assert str(f["usage_start"].dtype) == "datetime64[us, UTC]" and f["cost"].dtype == "float64"
    gpu = f[f["resource_id"] == F.GPU[0]]
    assert len(gpu) == 4 and set(gpu["instance_type"]) == {"p3.8xlarge"} and set(gpu["region"]) == {"eu-north-1"}
    assert set(gpu["created_by"]) == {f"IAMUser:{F.DEV_B_ID}:dev-b"}
    assert json.loads(gpu["tags"].iloc[0])["user_name" if kind == "CUR 2.0" else "user:Name"] == "train"
    assert f.loc[f["resource_id"] == F.ORPHAN, "created_by"].eq("").all()
    assert round(f["cost"].sum(), 4) == round(sum(r["line_item_unblended_cost"] for r in F.rows()), 4)


def test_cur2_csv_gz_with_the_tag_map_as_json(tmp_path):
    data = read_cost(str(F.write_cur2_csv_gz(tmp_path / "cur2" / "part-0.csv.gz")))
    _check_frame(data, "CUR 2.0")


def test_cur2_parquet_with_a_map_column_in_a_billing_period_folder(tmp_path):
    folder = tmp_path / "data" / "BILLING_PERIOD=2026-10"
    folder.mkdir(parents=True)
    (folder / "x-00001.snappy.parquet").write_bytes(F.cur2_parquet_bytes())
    (tmp_path / "x-Manifest.json").write_text("{}")   # a manifest is not cost data and not an error
    data = read_cost(str(tmp_path))
    _check_frame(data, "CUR 2.0")
    assert data.stats.files_read == 1 and data.granularity == "DAILY"


def test_legacy_cur_csv_gz_and_parquet(tmp_path):
    _check_frame(read_cost(str(F.write_legacy_csv_gz(tmp_path / "a" / "cur-1.csv.gz"))), "CUR (legacy)")
    data = read_cost(str(F.write_legacy_parquet(tmp_path / "b" / "cur-1.snappy.parquet")))
    assert data.kind == "CUR (legacy)"
    assert set(data.frame.loc[data.frame["resource_id"] == F.GPU[1], "created_by"]) == {
        f"IAMUser:{F.DEV_B_ID}:dev-b"}


def test_window_and_service_filters_count_what_they_drop(tmp_path):
    path = str(F.write_cur2_csv_gz(tmp_path / "c.csv.gz"))
    data = read_cost(path, start="2026-10-13", end="2026-10-15")
    assert set(data.frame["usage_start"].dt.strftime("%d")) == {"13", "14"}
    assert data.stats.rows_outside_window == len(F.rows()) - len(data.frame)
    assert data.stats.data_start == "2026-10-01T00:00:00Z" and data.stats.data_end == "2026-10-17T00:00:00Z"
    assert read_cost(path, service="rds").frame.empty


def test_corrupt_and_foreign_files_are_skipped_with_a_reason(tmp_path):
    F.write_cur2_csv_gz(tmp_path / "good.csv.gz")
    (tmp_path / "broken.csv.gz").write_bytes(b"\x1f\x8b not really gzip")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 nope")
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    data = read_cost(str(tmp_path))
    reasons = {p.rsplit("/", 1)[1]: r for p, r in ((s["path"], s["reason"]) for s in data.stats.skipped)}
    assert set(reasons) == {"broken.csv.gz", "broken.parquet", "other.csv"}
    assert "no CUR or FOCUS columns" in reasons["other.csv"] and len(data.frame) == len(F.rows())


def test_user_errors_are_one_sentence(tmp_path):
    with pytest.raises(SourceError, match="Cost source not found"):
        read_cost(str(tmp_path / "missing"))
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(SourceError, match="No cost data in"):
        read_cost(str(tmp_path))
    with pytest.raises(SourceError, match="cannot read cost from gs://"):
        read_cost("gs://bucket/cur")
    with pytest.raises(Exception, match="granularity must be one of"):
        read_cost("demo", granularity="weekly")


def test_registry_picks_the_reader_by_scheme():
    assert cost.get_reader("ce://") is ce.read_ce
    assert cost.get_reader("s3://b/p").__name__ == "read_s3"
    assert cost.get_reader("demo").__name__ == "read_demo"
    assert cost.get_reader("/some/path").__name__ == "read_local"


def test_real_focus_sample_loads():
    data = read_cost(str(need(FOCUS)))
    f = data.frame
    assert data.kind == "FOCUS 1.x" and len(f) == 1000 and data.stats.skipped == []
    # SOURCE.md: AWS BilledCost total 18.0066 USD; 867 AWS rows with a ResourceId; NULL written as "NULL"
    aws = f[~f["service"].str.contains(":")]
    assert round(aws["cost"].sum(), 4) == 18.0066
    assert (aws["resource_id"] != "").sum() == 867 and not (f == "NULL").any().any()
    assert f["usage_start"].min() >= pd.Timestamp("2024-09-01", tz="UTC")
    assert (f["created_by"] == "").all()  # the sample has no aws:createdBy tag
    assert json.loads(next(t for t in f["tags"] if t))  # tags stay JSON objects


@pytest.mark.slow
def test_demo_cost_is_the_cur2_export_and_its_anomalies():
    data = read_cost("demo", start="2026-10-08", end="2026-10-09")
    assert data.kind == "CUR 2.0" and data.granularity == "HOURLY"
    tokyo = data.frame[(data.frame["region"] == "ap-northeast-1") & (data.frame["instance_type"] != "")]
    assert set(tokyo["created_by"]) == {"AssumedRole:AROA77LMHYXFOEGNXIVOQ:henry.park@example.com"}
    assert data.anomalies["feedback"].tolist() == [""]       # only the anomaly that overlaps the window
    assert set(read_cost("demo").anomalies["feedback"]) == {"", "PLANNED_ACTIVITY"}
    # the saved Cost Explorer totals are the same spend: listed as skipped, not added
    assert sum("saved Cost Explorer totals" in s["reason"] for s in data.stats.skipped) == 4


# ---- Cost Explorer -------------------------------------------------------------------------------------------

def test_aws_cli_example_get_cost_and_usage_parses():
    (doc,) = cli_outputs(CLI_EXAMPLES / "ce" / "get-cost-and-usage.rst")
    f = ce.transform_cost_and_usage(doc)
    assert list(f.columns) == list(COLUMNS) and len(f) == 2
    assert set(f["service"]) == {"Amazon Simple Storage Service"}
    assert f["cost"].round(10).tolist() == [40.3543773134, 0.2682364644]      # UnblendedCost, not Blended
    assert [json.loads(t) if t else {} for t in f["tags"]] == [{}, {"Environment": "Dev"}]
    assert f["usage_start"].iloc[0] == pd.Timestamp("2017-09-01", tz="UTC")


def test_saved_cost_explorer_json_is_a_cost_source(tmp_path):
    (doc,) = cli_outputs(CLI_EXAMPLES / "ce" / "get-cost-and-usage.rst")
    (tmp_path / "get-cost-and-usage.json").write_text(json.dumps(doc))
    data = read_cost(str(tmp_path))
    assert data.kind == "Cost Explorer (saved)" and round(data.frame["cost"].sum(), 4) == 40.6226


def _page(day: str, key: str, amount: str, token: str | None = None) -> dict:
    nxt = (pd.Timestamp(day) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    resp = {"GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "REGION"}],
            "ResultsByTime": [{"TimePeriod": {"Start": day, "End": nxt}, "Total": {}, "Estimated": False,
                               "Groups": [{"Keys": [key, "eu-north-1"],
                                           "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"},
                                                       "UsageQuantity": {"Amount": "1", "Unit": "N/A"}}}]}],
            "DimensionValueAttributes": []}
    if token:
        resp["NextPageToken"] = token
    return resp


@pytest.fixture
def ce_client():
    import boto3

    client = boto3.client("ce", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def test_get_cost_and_usage_follows_next_page_token_up_to_the_limit(ce_client):
    client, stub = ce_client
    want = {"TimePeriod": {"Start": "2026-10-01", "End": "2026-10-03"}, "Granularity": "DAILY",
            "Metrics": ["UnblendedCost", "UsageQuantity"],
            "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "REGION"}]}
    stub.add_response("get_cost_and_usage", _page("2026-10-01", "Amazon EC2", "3.5", "t1"), want)
    stub.add_response("get_cost_and_usage", _page("2026-10-02", "Amazon EC2", "300", "t2"),
                      {**want, "NextPageToken": "t1"})
    responses, truncated = ce.get_cost_and_usage(client, "2026-10-01", "2026-10-03", max_pages=2)
    assert truncated and len(responses) == 2
    f = ce.transform_cost_and_usage(responses)
    assert f["cost"].tolist() == [3.5, 300.0] and set(f["region"]) == {"eu-north-1"}


def test_resources_are_asked_for_the_last_14_days_only(ce_client):
    client, stub = ce_client
    now = pd.Timestamp("2026-10-20T08:00:00Z")
    stub.add_response("get_cost_and_usage_with_resources", {
        "GroupDefinitions": [{"Type": "DIMENSION", "Key": "RESOURCE_ID"}, {"Type": "DIMENSION", "Key": "USAGE_TYPE"}],
        "ResultsByTime": [{"TimePeriod": {"Start": "2026-10-13", "End": "2026-10-14"}, "Total": {}, "Estimated": True,
                           "Groups": [{"Keys": [F.GPU[0], "EUN1-BoxUsage:p3.8xlarge"],
                                       "Metrics": {"UnblendedCost": {"Amount": "293.76", "Unit": "USD"}}}]}]},
        {"TimePeriod": {"Start": "2026-10-06", "End": "2026-10-21"}, "Granularity": "DAILY",
         "Metrics": ["UnblendedCost", "UsageQuantity"],
         "Filter": {"Dimensions": {"Key": "SERVICE", "Values": [ce.EC2_COMPUTE]}},
         "GroupBy": [{"Type": "DIMENSION", "Key": "RESOURCE_ID"}, {"Type": "DIMENSION", "Key": "USAGE_TYPE"}]})
    responses, truncated = ce.get_cost_and_usage_with_resources(client, "2026-09-20", "2026-10-25", now=now)
    f = ce.transform_cost_and_usage(responses)
    assert not truncated and f["resource_id"].tolist() == [F.GPU[0]] and f["cost"].tolist() == [293.76]
    assert ce.get_cost_and_usage_with_resources(client, "2026-08-01", "2026-09-01", now=now) == ([], False)


def test_get_anomalies_with_root_causes(ce_client):
    client, stub = ce_client
    anomaly = {"AnomalyId": "a-1", "AnomalyStartDate": "2026-10-13T00:00:00Z", "AnomalyEndDate":
               "2026-10-15T00:00:00Z", "DimensionValue": "Amazon Elastic Compute Cloud - Compute",
               "RootCauses": [{"Service": "Amazon Elastic Compute Cloud - Compute", "Region": "eu-north-1",
                               "LinkedAccount": F.ACCOUNT, "UsageType": "EUN1-BoxUsage:p3.8xlarge",
                               "Impact": {"Contribution": 3500.0}}],
               "AnomalyScore": {"MaxScore": 0.9, "CurrentScore": 0.8},
               "Impact": {"MaxImpact": 1200.0, "TotalImpact": 3500.0, "TotalActualSpend": 3560.0,
                          "TotalExpectedSpend": 60.0, "TotalImpactPercentage": 5833.3},
               "MonitorArn": f"arn:aws:ce::{F.ACCOUNT}:anomalymonitor/m-1"}
    want = {"DateInterval": {"StartDate": "2026-10-01", "EndDate": "2026-10-17"}, "MaxResults": 100}
    stub.add_response("get_anomalies", {"Anomalies": [anomaly], "NextPageToken": "n"}, want)
    stub.add_response("get_anomalies", {"Anomalies": []}, {**want, "NextPageToken": "n"})
    responses, truncated = ce.get_anomalies(client, "2026-10-01", "2026-10-17")
    a = ce.transform_anomalies(responses)
    assert not truncated and a["anomaly_id"].tolist() == ["a-1"] and a["total_impact"].tolist() == [3500.0]
    assert a["usage_types"].iloc[0] == "EUN1-BoxUsage:p3.8xlarge" and a["regions"].iloc[0] == "eu-north-1"


def test_ce_uri_reads_cost_resources_and_anomalies_and_survives_access_denied(monkeypatch):
    import boto3

    from trailtools import aws

    client = boto3.client("ce", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    day = (pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=2)).floor("D")   # recent: resources are asked for
    stub.add_response("get_cost_and_usage", _page(day.strftime("%Y-%m-%d"), "Amazon EC2", "12"))
    stub.add_client_error("get_cost_and_usage_with_resources", "AccessDeniedException", "not opted in")
    stub.add_client_error("get_anomalies", "AccessDeniedException", "no")
    monkeypatch.setattr(aws, "client", lambda *a, **k: client)
    with stub:
        data = read_cost("ce://", start=day, end=day + pd.Timedelta(days=1))
        stub.assert_no_pending_responses()
    assert data.kind == "Cost Explorer" and data.frame["cost"].tolist() == [12.0] and data.stats.api_calls == 1
    assert any("ce:GetCostAndUsageWithResources" in n for n in data.notes)
    assert any("ce:GetAnomalies" in n for n in data.notes) and data.anomalies is None


def test_ce_errors_are_one_sentence(monkeypatch):
    import boto3

    from trailtools import aws
    from trailtools.aws.errors import AwsDataUnavailable

    client = boto3.client("ce", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.add_client_error("get_cost_and_usage", "ThrottlingException", "slow down")
    monkeypatch.setattr(aws, "client", lambda *a, **k: client)
    with stub, pytest.raises(AwsDataUnavailable, match="throttling"):
        read_cost("ce://", start="2026-10-13", end="2026-10-14")
    with pytest.raises(Exception, match="cannot group by 'COLOUR'"):
        read_cost("ce://?group_by=COLOUR", start="2026-10-13", end="2026-10-14")


def test_iam_actions_exist_and_are_in_the_policy():
    import botocore.session
    from conftest import ROOT

    from trailtools.evidence.cost import s3

    session = botocore.session.get_session()
    for action in ce.IAM_ACTIONS:
        assert action.split(":")[1] in session.get_service_model("ce").operation_names
    policy = json.loads((ROOT / "docs" / "iam-policy.json").read_text())
    allowed = {a for s in policy["Statement"] for a in s["Action"]}
    assert set(ce.IAM_ACTIONS) | set(s3.IAM_ACTIONS) <= allowed


# ---- s3:// against moto ------------------------------------------------------------------------------------------

def test_s3_cur_export_read_over_http(aws_env):
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="acme-cur")
    s3.put_object(Bucket="acme-cur", Key="cur2/acme/data/BILLING_PERIOD=2026-10/acme-00001.snappy.parquet",
                  Body=F.cur2_parquet_bytes())
    s3.put_object(Bucket="acme-cur", Key="cur2/acme/data/BILLING_PERIOD=2025-01/acme-00001.snappy.parquet",
                  Body=b"never fetched: outside the window")
    s3.put_object(Bucket="acme-cur", Key="cur2/acme/metadata/BILLING_PERIOD=2026-10/acme-Manifest.json", Body=b"{}")
    s3.put_object(Bucket="acme-cur", Key="cur2/acme/data/BILLING_PERIOD=2026-10/bad.csv.gz", Body=b"nope")
    data = read_cost("s3://acme-cur/cur2/acme/", start="2026-10-01", end="2026-10-17")
    assert data.kind == "CUR 2.0" and len(data.frame) == len(F.rows()) and data.stats.files_read == 1
    assert [s["path"] for s in data.stats.skipped] == ["s3://acme-cur/cur2/acme/data/BILLING_PERIOD=2026-10/bad.csv.gz"]
    assert set(data.frame.loc[data.frame["resource_id"] == F.GPU[2], "created_by"]) == {
        f"IAMUser:{F.DEV_B_ID}:dev-b"}


def test_s3_missing_bucket_is_one_sentence(aws_env):
    from trailtools.aws.errors import AwsDataUnavailable

    with pytest.raises(AwsDataUnavailable, match="NoSuchBucket"):
        read_cost("s3://no-such-bucket/cur/", start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 2))
