"""Small cost files shaped like the real exports, for the cost tests: the same line items written as legacy CUR
(CSV with ``lineItem/...`` names, Parquet with Athena's snake names) and CUR 2.0 (CSV with the tag map as JSON
text, Parquet with a map column); and a CloudTrail file with the call that created the expensive instance."""
from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pandas as pd

ACCOUNT = "111122223333"
DEV_B = f"arn:aws:iam::{ACCOUNT}:user/dev-b"
DEV_B_ID = "AIDAEXAMPLEDEVB000001"
STEADY = "i-0aaaaaaaaaaaaaaa1"
GPU = ["i-0bbbbbbbbbbbbbbb1", "i-0bbbbbbbbbbbbbbb2", "i-0bbbbbbbbbbbbbbb3", "i-0bbbbbbbbbbbbbbb4"]
ORPHAN = "vol-0ccccccccccccccc1"
DAYS = 16            # 2026-10-01 .. 2026-10-16; the GPUs run from 2026-10-13
SPIKE_DAY = "2026-10-13"

# CUR 2.0 name -> legacy CUR CSV name
LEGACY = {"line_item_usage_start_date": "lineItem/UsageStartDate", "line_item_usage_end_date": "lineItem/UsageEndDate",
          "line_item_unblended_cost": "lineItem/UnblendedCost", "line_item_currency_code": "lineItem/CurrencyCode",
          "line_item_product_code": "lineItem/ProductCode", "product_region_code": "product/region",
          "line_item_usage_type": "lineItem/UsageType", "line_item_usage_account_id": "lineItem/UsageAccountId",
          "line_item_resource_id": "lineItem/ResourceId", "product_instance_type": "product/instanceType",
          "line_item_usage_amount": "lineItem/UsageAmount", "line_item_line_item_type": "lineItem/LineItemType",
          "line_item_availability_zone": "lineItem/AvailabilityZone"}


def rows(tag_key: str = "aws_created_by", evil: str | list[str] | None = None) -> list[dict]:
    """Daily line items: a steady m5.large and an orphan volume for 16 days; four p3.8xlarge instances by dev-b
    (tagged) from day 13. ``evil`` replaces the GPU instances' creator tag and name tag (XSS payloads, one per
    instance when a list)."""
    out = []
    for d in range(DAYS):
        day = pd.Timestamp("2026-10-01", tz="UTC") + pd.Timedelta(days=d)
        stamp, nxt = day.strftime("%Y-%m-%dT%H:%M:%SZ"), (day + pd.Timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        base = {"line_item_usage_start_date": stamp, "line_item_usage_end_date": nxt,
                "line_item_currency_code": "USD", "line_item_product_code": "AmazonEC2",
                "product_region_code": "eu-north-1", "line_item_usage_account_id": ACCOUNT,
                "line_item_line_item_type": "Usage", "line_item_availability_zone": "eu-north-1a"}
        out.append({**base, "line_item_unblended_cost": 2.304 + 0.01 * (d % 3), "line_item_usage_amount": 24.0,
                    "line_item_usage_type": "EUN1-BoxUsage:m5.large", "line_item_resource_id": STEADY,
                    "product_instance_type": "m5.large", "resource_tags": {"user_name": "web"}})
        out.append({**base, "line_item_unblended_cost": 0.8, "line_item_usage_amount": 0.3,
                    "line_item_usage_type": "EUN1-EBS:VolumeUsage.gp3", "line_item_resource_id": ORPHAN,
                    "product_instance_type": "", "resource_tags": {}})
        if day >= pd.Timestamp(SPIKE_DAY, tz="UTC"):
            for k, iid in enumerate(GPU):
                bad = evil[k % len(evil)] if isinstance(evil, list) else evil
                tags = {tag_key: bad or f"IAMUser:{DEV_B_ID}:dev-b", "user_name": bad or "train"}
                out.append({**base, "line_item_unblended_cost": 24 * 12.24, "line_item_usage_amount": 24.0,
                            "line_item_usage_type": "EUN1-BoxUsage:p3.8xlarge", "line_item_resource_id": iid,
                            "product_instance_type": "p3.8xlarge", "resource_tags": tags})
    return out


def cur2_frame(**kw) -> pd.DataFrame:
    return pd.DataFrame(rows(**kw))


def write_cur2_csv_gz(path: Path, **kw) -> Path:
    df = cur2_frame(**kw)
    df["resource_tags"] = [json.dumps(t) for t in df["resource_tags"]]   # CUR 2.0 CSV: the map as JSON text
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(df.to_csv(index=False).encode()))
    return path


def cur2_parquet_bytes(**kw) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = cur2_frame(**kw)
    table = pa.table({
        **{c: pa.array(df[c]) for c in df.columns if c not in ("resource_tags", "line_item_usage_start_date",
                                                               "line_item_usage_end_date")},
        "line_item_usage_start_date": pa.array(pd.to_datetime(df["line_item_usage_start_date"], utc=True)),
        "line_item_usage_end_date": pa.array(pd.to_datetime(df["line_item_usage_end_date"], utc=True)),
        "resource_tags": pa.array([list(t.items()) for t in df["resource_tags"]], type=pa.map_(pa.string(),
                                                                                                pa.string())),
    })
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def legacy_frame(tag_key: str = "aws:createdBy") -> pd.DataFrame:
    df = cur2_frame(tag_key=tag_key)
    for key in (tag_key, "user_name"):
        name = "resourceTags/user:Name" if key == "user_name" else f"resourceTags/{key}"
        df[name] = [t.get(key, "") for t in df["resource_tags"]]
    return df.drop(columns=["resource_tags"]).rename(columns=LEGACY)


def write_legacy_csv_gz(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(legacy_frame().to_csv(index=False).encode()))
    return path


def write_legacy_parquet(path: Path) -> Path:
    """Legacy CUR as Parquet (the Athena integration's names: snake case, one resource_tags_* column per tag)."""
    from trailtools.evidence.cost.cur import snake

    df = legacy_frame()
    df = df.rename(columns={c: ("resource_tags_aws_created_by" if c == "resourceTags/aws:createdBy" else
                                "resource_tags_user_name" if c == "resourceTags/user:Name" else snake(c))
                            for c in df.columns})
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path)
    return path


def write_trail(root: Path) -> Path:
    """A trail file with dev-b's RunInstances of the four GPU instances (and an unrelated DescribeInstances)."""
    from conftest import record, s3_path, write_gz

    identity = {"type": "IAMUser", "principalId": DEV_B_ID, "arn": DEV_B, "accountId": ACCOUNT,
                "accessKeyId": "AKIAEXAMPLEDEVB", "userName": "dev-b"}
    run = record("e-run-1", "2026-10-13T14:02:11Z", "RunInstances", userIdentity=identity, awsRegion="eu-north-1",
                 recipientAccountId=ACCOUNT, readOnly=False,
                 requestParameters={"instanceType": "p3.8xlarge", "minCount": 4, "maxCount": 4},
                 responseElements={"reservationId": "r-0123", "instancesSet": {"items": [
                     {"instanceId": i, "instanceType": "p3.8xlarge", "placement": {"availabilityZone":
                                                                                     "eu-north-1a"}}
                     for i in GPU]}})
    other = record("e-desc-1", "2026-10-13T14:03:00Z", "DescribeInstances", userIdentity=identity,
                   awsRegion="eu-north-1", recipientAccountId=ACCOUNT)
    return write_gz(s3_path(root, ACCOUNT, "eu-north-1", "20261013T1405Z"), {"Records": [run, other]})
