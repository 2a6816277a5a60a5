"""Cost data: a Cost and Usage Report 2.0 export (Parquet, hourly, with resource IDs), the Cost Explorer
``get-cost-and-usage`` responses derived from it (DAILY, one file per grouping) and Cost Anomaly Detection's
``get-anomalies``.

Files::

    cost/cur2/acme-cur2/data/BILLING_PERIOD=2026-09/acme-cur2-00001.snappy.parquet
    cost/cur2/acme-cur2/data/BILLING_PERIOD=2026-10/acme-cur2-00001.snappy.parquet
    cost/ce/get-cost-and-usage.by-service.json        (--group-by Type=DIMENSION,Key=SERVICE)
    cost/ce/get-cost-and-usage.by-region.json         (REGION)
    cost/ce/get-cost-and-usage.by-usage-type.json     (USAGE_TYPE)
    cost/ce/get-cost-and-usage.by-linked-account.json (LINKED_ACCOUNT)
    cost/ce/get-anomalies.json

The CUR uses CUR 2.0's real column names and types (a subset of its fixed schema: the identity, bill,
line_item, pricing, product and resource_tags columns an investigation reads; ``product`` and
``resource_tags`` are map columns). Tag keys in ``resource_tags`` are written the way CUR 2.0 normalizes them:
``aws:createdBy`` -> ``aws_created_by``, ``user:Name`` -> ``user_name``. ``aws_created_by`` exists only for
resources created after the tag was activated (2026-08-01): irene's dev instances and henry's GPU instances.
Prices are approximate public on-demand Linux prices; costs are exact products of rate and usage.
"""
from __future__ import annotations

import base64
import hashlib
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from trailtools.demo import scenario as S
from trailtools.demo._io import hexid, write_files
from trailtools.demo.ec2 import volume_id

EXPORT = "acme-cur2"
TAG_ACTIVATED = S.t("2026-08-01 00:00:00")

_LOCATION = {"us-east-1": "US East (N. Virginia)", "eu-west-1": "EU (Ireland)", "us-west-2": "US West (Oregon)",
             "ap-northeast-1": "Asia Pacific (Tokyo)"}
_PREFIX = {"us-east-1": "", "eu-west-1": "EU-", "us-west-2": "USW2-", "ap-northeast-1": "APN1-"}
_PREFIX_ALL = {"us-east-1": "USE1-", "eu-west-1": "EU-", "us-west-2": "USW2-", "ap-northeast-1": "APN1-"}
# approximate on-demand Linux prices (USD per hour)
_RATE = {
    ("us-east-1", "m5.large"): 0.096, ("us-east-1", "m5.xlarge"): 0.192, ("us-east-1", "m5.2xlarge"): 0.384,
    ("us-east-1", "r5.xlarge"): 0.252, ("us-east-1", "t3.medium"): 0.0416, ("eu-west-1", "c5.2xlarge"): 0.384,
    ("us-west-2", "c5.xlarge"): 0.17, ("us-west-2", "t3.medium"): 0.0416,
    ("ap-northeast-1", "p4d.24xlarge"): 42.605, ("ap-northeast-1", "g5.12xlarge"): 7.544,
}
_GP3 = {"us-east-1": 0.08, "eu-west-1": 0.088, "us-west-2": 0.08, "ap-northeast-1": 0.096}
_VOLUME_GB = {"web-01": 50, "web-02": 50, "db-replica-02": 500, "db-primary-01": 500, "batch-worker-01": 200,
              "batch-worker-02": 200, "batch-worker-03": 200, "jump-host-04": 30, "report-gen-05": 100,
              "dev-irene-1": 100, "dev-irene-2": 100, "ci-runner-01": 100, "llm-finetune-p4d": 1000}
SERVICE_NAMES = {"AmazonEC2": "Amazon Elastic Compute Cloud - Compute", "EC2-Other": "EC2 - Other",
                 "AmazonS3": "Amazon Simple Storage Service", "AmazonRDS": "Amazon Relational Database Service",
                 "AmazonCloudWatch": "AmazonCloudWatch", "awskms": "AWS Key Management Service",
                 "AWSLambda": "AWS Lambda"}
_PRODUCT_NAMES = {"AmazonEC2": "Amazon Elastic Compute Cloud", "AmazonS3": "Amazon Simple Storage Service",
                  "AmazonRDS": "Amazon Relational Database Service", "AmazonCloudWatch": "AmazonCloudWatch",
                  "awskms": "AWS Key Management Service", "AWSLambda": "AWS Lambda"}


@dataclass
class Series:
    """One line item stream (a resource and usage type), hourly."""
    account: str
    product_code: str
    usage_type: str
    operation: str
    resource_id: str
    region: str
    az: str
    unit: str
    rate: float
    description: str
    family: str
    instance_type: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    ce_service: str = ""
    hours: list[tuple[datetime, float]] | None = None  # (hour start, usage amount)


def _hours(a: datetime, z: datetime) -> list[tuple[datetime, float]]:
    """Hourly usage (fraction of each hour used) for a running interval [a, z)."""
    out = []
    h = a.replace(minute=0, second=0, microsecond=0)
    while h < z:
        lo, hi = max(a, h), min(z, h + timedelta(hours=1))
        if hi > lo:
            out.append((h, round((hi - lo).total_seconds() / 3600, 6)))
        h += timedelta(hours=1)
    return out


def _tags(inst: S.Instance) -> tuple[tuple[str, str], ...]:
    tags = [("user_name", inst.name), ("user_team", inst.team)]
    if inst.owner and inst.launched >= TAG_ACTIVATED:
        tags.append(("aws_created_by", inst.owner))
    return tuple(tags)


def _inventory(seed: int) -> list[Series]:
    out: list[Series] = []
    start, end = S.COST_START, S.END

    def ec2(account, iid, region, az, itype, intervals, tags, name):
        rate = _RATE[(region, itype)]
        s = Series(account, "AmazonEC2", f"{_PREFIX[region]}BoxUsage:{itype}", "RunInstances", iid, region, az, "Hrs",
                   rate, f"${rate} per On Demand Linux {itype} Instance Hour", "Compute Instance", itype, tags,
                   SERVICE_NAMES["AmazonEC2"], [])
        for a, z in intervals:
            s.hours += _hours(a, z)
        out.append(s)

    def ebs(account, vol, region, az, gb, a, z, tags):
        rate = _GP3[region]
        prefix = _PREFIX[region] if region != "us-east-1" else ""
        s = Series(account, "AmazonEC2", f"{prefix}EBS:VolumeUsage.gp3", "CreateVolume-Gp3", vol, region, az,
                   "GB-Mo", rate, f"${rate} per GB-month of General Purpose (gp3) provisioned storage - "
                   f"{_LOCATION[region]}", "Storage", "", tags, SERVICE_NAMES["EC2-Other"], [])
        for h, frac in _hours(a, z):
            days_in_month = 30 if h.month in (9, 11) else 31
            s.hours.append((h, round(gb * frac / (24 * days_in_month), 9)))
        out.append(s)

    # acme-prod: the named fleet (and henry's GPU instances from their launch)
    for inst in S.ALL_INSTANCES:
        a = max(start, inst.launched)
        if inst is S.REPORT05:
            intervals_old = [(a, S.INC5_STOPPED)]
            ec2(S.ACCOUNT_ID, inst.id, inst.region, inst.az, inst.type, intervals_old, _tags(inst), inst.name)
            ec2(S.ACCOUNT_ID, inst.id, inst.region, inst.az, S.REPORT05_NEW_TYPE, [(S.INC5_START, end)],
                _tags(inst), inst.name)
        else:
            ec2(S.ACCOUNT_ID, inst.id, inst.region, inst.az, inst.type, [(a, end)], _tags(inst), inst.name)
        gb = _VOLUME_GB.get(inst.name, 200)
        ebs(S.ACCOUNT_ID, volume_id(inst), inst.region, inst.az, gb, a, end, _tags(inst))
    # NAT gateway, RDS, S3, CloudWatch, KMS, Lambda (acme-prod)
    nat = f"arn:aws:ec2:us-east-1:{S.ACCOUNT_ID}:natgateway/nat-0{hexid('nat', 16)}"
    out.append(Series(S.ACCOUNT_ID, "AmazonEC2", "NatGateway-Hours", "NatGateway", nat, "us-east-1", "", "Hrs", 0.045,
                      "$0.045 per NAT Gateway Hour", "NAT Gateway", ce_service=SERVICE_NAMES["EC2-Other"],
                      hours=_hours(start, end)))
    nat_bytes = Series(S.ACCOUNT_ID, "AmazonEC2", "NatGateway-Bytes", "NatGateway", nat, "us-east-1", "", "GB", 0.045,
                       "$0.045 per GB Data Processed by NAT Gateways", "NAT Gateway",
                       ce_service=SERVICE_NAMES["EC2-Other"], hours=[])
    for h, _ in _hours(start, end):
        busy = 1.0 if 12 <= h.hour < 23 and h.weekday() < 5 else 0.35
        nat_bytes.hours.append((h, round(2.4 * busy * (0.8 + 0.4 * _noise(seed, "nat", h)), 6)))
    out.append(nat_bytes)
    out.append(Series(S.ACCOUNT_ID, "AmazonRDS", "InstanceUsage:db.t4g.medium", "CreateDBInstance:0014",
                      f"arn:aws:rds:us-east-1:{S.ACCOUNT_ID}:db:acme-billing-db", "us-east-1", "us-east-1a", "Hrs",
                      0.065, "$0.065 per RDS db.t4g.medium Single-AZ instance hour (or partial hour) running "
                      "PostgreSQL", "Database Instance", "db.t4g.medium", (("user_name", "acme-billing-db"),),
                      SERVICE_NAMES["AmazonRDS"], _hours(start, end)))
    buckets = ((S.ACCOUNT_ID, f"acme-prod-assets-{S.ACCOUNT_ID}", "us-east-1", 1800.0),
               (S.ACCOUNT_ID, f"acme-backups-{S.ACCOUNT_ID}", "us-east-1", 5200.0),
               (S.ACCOUNT_ID, f"acme-tokyo-static-{S.ACCOUNT_ID}", "ap-northeast-1", 0.4),  # the rare region's only use
               ("161803398874", "acme-log-archive-161803398874", "us-east-1", 9000.0),
               ("271828182845", "acme-sandbox-scratch-271828182845", "us-west-2", 60.0))
    for acct, bucket, region, gb in buckets:
        rate = 0.023 if region != "ap-northeast-1" else 0.025
        ut = f"{_PREFIX_ALL[region]}TimedStorage-ByteHrs" if region != "us-east-1" else "TimedStorage-ByteHrs"
        s = Series(acct, "AmazonS3", ut, "StandardStorage", bucket, region, "", "GB-Mo", rate,
                   f"${rate} per GB - first 50 TB / month of storage used", "Storage",
                   ce_service=SERVICE_NAMES["AmazonS3"], hours=[])
        for h, _ in _hours(start, end):
            days_in_month = 30 if h.month in (9, 11) else 31
            s.hours.append((h, round(gb * (1 + (h - start).days * 0.002) / (24 * days_in_month), 9)))
        out.append(s)
        if gb > 100:
            req = Series(acct, "AmazonS3", ("" if region == "us-east-1" else _PREFIX_ALL[region]) + "Requests-Tier1",
                         "PutObject", bucket, region, "", "Requests", 0.000005,
                         "$0.005 per 1,000 PUT, COPY, POST, or LIST requests", "API Request",
                         ce_service=SERVICE_NAMES["AmazonS3"], hours=[])
            for h, _ in _hours(start, end):
                n = 1200 * (0.6 + 0.8 * _noise(seed, bucket, h))
                # benign anomaly: a planned restore test of the log archive on 17-18 September
                if bucket.startswith("acme-log-archive") and S.t("2026-09-17 00:00:00") <= h < S.t(
                        "2026-09-19 00:00:00"):
                    n += 310_000
                req.hours.append((h, float(int(n))))
            out.append(req)
    for acct in S.LINKED_ACCOUNTS:
        scale = 1.0 if acct == S.ACCOUNT_ID else 0.25
        out.append(Series(acct, "AmazonCloudWatch", "CW:MetricMonitorUsage", "MetricStorage:AWS/Logs", "",
                          "us-east-1", "", "Metrics", 0.3, "$0.30 per metric-month - first 10,000 metrics - "
                          "US East (N. Virginia)", "Metric", ce_service=SERVICE_NAMES["AmazonCloudWatch"],
                          hours=[(h, round(140 * scale / (24 * (30 if h.month == 9 else 31)), 9))
                                 for h, _ in _hours(start, end)]))
        out.append(Series(acct, "awskms", "us-east-1-KMS-Keys", "CreateKey", f"arn:aws:kms:us-east-1:{acct}:key/"
                          f"{hexid('kms' + acct, 8)}-{hexid('kms2' + acct, 4)}-4{hexid('k3' + acct, 3)}-"
                          f"a{hexid('k4' + acct, 3)}-{hexid('k5' + acct, 12)}", "us-east-1", "", "Keys", 1.0,
                          "$1 per customer-managed key (CMK) per month - us-east-1", "Encryption Key",
                          ce_service=SERVICE_NAMES["awskms"],
                          hours=[(h, round(3 * scale / (24 * (30 if h.month == 9 else 31)), 9))
                                 for h, _ in _hours(start, end)]))
    lam = Series(S.ACCOUNT_ID, "AWSLambda", "Lambda-GB-Second", "Invoke",
                 f"arn:aws:lambda:us-east-1:{S.ACCOUNT_ID}:function:rightsizing-scheduler", "us-east-1", "",
                 "Lambda-GB-Second", 0.0000166667, "AWS Lambda - Total Compute - US East (Northern Virginia)",
                 "Serverless", ce_service=SERVICE_NAMES["AWSLambda"], hours=[])
    for h, _ in _hours(start, end):
        lam.hours.append((h, round(180 + 120 * _noise(seed, "lambda", h), 3)))
    out.append(lam)
    # member accounts: steady small fleets
    for acct, region, itype, n in (("161803398874", "us-east-1", "m5.large", 2),
                                   ("271828182845", "us-west-2", "t3.medium", 2)):
        for k in range(n):
            iid = "i-0" + hexid(f"member:{acct}:{k}", 16)
            az = region + "a"
            ec2(acct, iid, region, az, itype, [(start, end)], (("user_name", f"svc-{k + 1}"),), "")
            ebs(acct, "vol-0" + hexid(f"vol:{iid}", 16), region, az, 40, start, end, ())
    return out


def _noise(seed: int, key: str, h: datetime) -> float:
    d = hashlib.blake2b(f"{seed}:{key}:{h:%Y%m%d%H}".encode(), digest_size=4).digest()
    return int.from_bytes(d, "big") / 2**32


def _line_item_id(*parts: str) -> str:
    return base64.b32encode(hashlib.sha256(":".join(parts).encode()).digest()).decode().lower().rstrip("=")[:52]


def _period(h: datetime) -> tuple[datetime, datetime]:
    a = h.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    z = a.replace(year=a.year + 1, month=1) if a.month == 12 else a.replace(month=a.month + 1)
    return a, z


def cur_rows(seed: int) -> dict[str, dict[str, list]]:
    """Column lists per billing period (``"2026-09"``, ``"2026-10"``): the line items of one resource and usage
    type together, hour by hour (CUR files have no particular row order)."""
    series = sorted(_inventory(seed), key=lambda s: (s.account, s.resource_id, s.usage_type, s.operation))
    hour_text: dict[datetime, str] = {}
    out: dict[str, dict[str, list]] = {}
    months = sorted({(h.year, h.month) for s in series for h, _ in (s.hours[0], s.hours[-1])})
    for year, month in months:
        period = f"{year}-{month:02d}"
        pa_ = S.t(f"{period}-01 00:00:00")
        pz = _period(pa_)[1]
        closed = pz <= S.NOW
        cols: dict[str, list] = defaultdict(list)
        for s in series:
            hours = [(h, q) for h, q in s.hours if q > 0 and h.month == month and h.year == year]
            if not hours:
                continue
            m = len(hours)
            st = dict(_static(s), bill_bill_type="Anniversary", bill_billing_entity="AWS",
                      bill_billing_period_end_date=pz, bill_billing_period_start_date=pa_,
                      bill_invoice_id=("EUINUS26-" + hexid(f"inv:{period}", 6).upper()) if closed else "",
                      bill_invoicing_entity="Amazon Web Services, Inc.", bill_payer_account_id=S.ACCOUNT_ID,
                      bill_payer_account_name=S.ACCOUNT_NAME, cost_category=[], discount=[],
                      line_item_currency_code="USD", line_item_legal_entity="Amazon Web Services, Inc.",
                      line_item_line_item_type="Usage", line_item_net_unblended_cost=None, line_item_tax_type="",
                      pricing_currency="USD", pricing_purchase_option="On Demand", pricing_term="OnDemand",
                      product_location_type="AWS Region",
                      identity_line_item_id=_line_item_id(s.account, s.resource_id, s.usage_type, s.operation, period))
            for k, v in st.items():
                cols[k].extend([v] * m)
            costs = [round(q * s.rate, 10) for _, q in hours]
            cols["line_item_blended_cost"] += costs
            cols["line_item_unblended_cost"] += costs
            cols["pricing_public_on_demand_cost"] += costs
            cols["line_item_usage_amount"] += [q for _, q in hours]
            cols["line_item_usage_start_date"] += [h for h, _ in hours]
            cols["line_item_usage_end_date"] += [h + timedelta(hours=1) for h, _ in hours]
            for h, _ in hours:
                ht = hour_text.get(h)
                if ht is None:
                    ht = hour_text[h] = f"{S.iso_z(h)}/{S.iso_z(h + timedelta(hours=1))}"
                cols["identity_time_interval"].append(ht)
        out[period] = dict(cols)
    return out


def _static(s: Series) -> dict:
    """The columns that are the same on every line item of a series."""
    sku = hexid(f"sku:{s.region}:{s.usage_type}", 16).upper()
    product = {"product_name": _PRODUCT_NAMES[s.product_code], "servicename": _PRODUCT_NAMES[s.product_code]}
    if s.instance_type:
        product.update({"operating_system": "Linux", "tenancy": "Shared", "pre_installed_sw": "NA",
                        "capacitystatus": "Used"})
    rate = f"{s.rate:.10f}".rstrip("0").rstrip(".")
    return {
        "line_item_availability_zone": s.az, "line_item_blended_rate": rate,
        "line_item_line_item_description": s.description,
        "line_item_normalization_factor": (_NORM.get(s.instance_type.split(".")[-1], 0.0)
                                           if s.product_code == "AmazonEC2" and s.instance_type else 0.0),
        "line_item_operation": s.operation, "line_item_product_code": s.product_code,
        "line_item_resource_id": s.resource_id, "line_item_unblended_rate": rate,
        "line_item_usage_account_id": s.account, "line_item_usage_account_name": S.LINKED_ACCOUNTS[s.account],
        "line_item_usage_type": s.usage_type, "pricing_public_on_demand_rate": rate,
        "pricing_rate_code": f"{sku}.JRTCKXETXF.6YS6EN2CT7", "pricing_unit": s.unit,
        "product": sorted(product.items()),
        "product_instance_family": _FAMILY.get(s.instance_type.split(".")[0][:2], "") if s.instance_type else "",
        "product_instance_type": s.instance_type, "product_location": _LOCATION.get(s.region, ""),
        "product_operation": s.operation, "product_product_family": s.family, "product_region_code": s.region,
        "product_servicecode": s.product_code, "product_sku": sku, "product_usagetype": s.usage_type,
        "resource_tags": list(s.tags),
    }


_NORM = {"medium": 2.0, "large": 4.0, "xlarge": 8.0, "2xlarge": 16.0, "12xlarge": 96.0, "24xlarge": 192.0}
_FAMILY = {"m5": "General purpose", "r5": "Memory optimized", "c5": "Compute optimized", "t3": "General purpose",
           "p4": "GPU instance", "g5": "GPU instance", "db": "General purpose"}


def _schema():
    import pyarrow as pa  # noqa: PLC0415 (heavy, loaded on use)
    ts = pa.timestamp("ms", tz="UTC")
    s = pa.string()
    d = pa.float64()
    cols = [
        ("bill_bill_type", s), ("bill_billing_entity", s), ("bill_billing_period_end_date", ts),
        ("bill_billing_period_start_date", ts), ("bill_invoice_id", s), ("bill_invoicing_entity", s),
        ("bill_payer_account_id", s), ("bill_payer_account_name", s), ("cost_category", pa.map_(s, s)),
        ("discount", pa.map_(s, d)), ("identity_line_item_id", s), ("identity_time_interval", s),
        ("line_item_availability_zone", s), ("line_item_blended_cost", d), ("line_item_blended_rate", s),
        ("line_item_currency_code", s), ("line_item_legal_entity", s), ("line_item_line_item_description", s),
        ("line_item_line_item_type", s), ("line_item_net_unblended_cost", d), ("line_item_normalization_factor", d),
        ("line_item_operation", s), ("line_item_product_code", s), ("line_item_resource_id", s),
        ("line_item_tax_type", s), ("line_item_unblended_cost", d), ("line_item_unblended_rate", s),
        ("line_item_usage_account_id", s), ("line_item_usage_account_name", s), ("line_item_usage_amount", d),
        ("line_item_usage_end_date", ts), ("line_item_usage_start_date", ts), ("line_item_usage_type", s),
        ("pricing_currency", s), ("pricing_public_on_demand_cost", d), ("pricing_public_on_demand_rate", s),
        ("pricing_purchase_option", s), ("pricing_rate_code", s), ("pricing_term", s), ("pricing_unit", s),
        ("product", pa.map_(s, s)), ("product_instance_family", s), ("product_instance_type", s),
        ("product_location", s), ("product_location_type", s), ("product_operation", s),
        ("product_product_family", s), ("product_region_code", s), ("product_servicecode", s), ("product_sku", s),
        ("product_usagetype", s), ("resource_tags", pa.map_(s, s)),
    ]
    return pa.schema(cols)


def cur_parquet(cols: dict[str, list]) -> bytes:
    import pyarrow as pa  # noqa: PLC0415 (heavy, loaded on use)
    import pyarrow.parquet as pq  # noqa: PLC0415 (heavy, loaded on use)
    schema = _schema()
    arrays = []
    for f in schema:
        values = cols[f.name]
        if pa.types.is_timestamp(f.type):
            cache: dict = {}
            ms = [cache.get(v) or cache.setdefault(v, int(v.timestamp()) * 1000) for v in values]
            arrays.append(pa.array(ms, type=pa.int64()).cast(f.type))
        else:
            arrays.append(pa.array(values, type=f.type))
    table = pa.Table.from_arrays(arrays, schema=schema)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="snappy", row_group_size=200_000, write_statistics=True)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------------ Cost Explorer
_GROUPINGS = (("SERVICE", "by-service"), ("REGION", "by-region"), ("USAGE_TYPE", "by-usage-type"),
              ("LINKED_ACCOUNT", "by-linked-account"))


def _key(dim: str, product_code: str, usage_type: str, region: str, account: str) -> str:
    if dim == "SERVICE":
        if product_code == "AmazonEC2" and "BoxUsage" not in usage_type:
            return SERVICE_NAMES["EC2-Other"]
        return SERVICE_NAMES[product_code]
    if dim == "REGION":
        return region or "NoRegion"
    if dim == "USAGE_TYPE":
        return usage_type
    return account


def _amount(x: float) -> str:
    return f"{x:.10f}".rstrip("0").rstrip(".") if x else "0"


def _daily_totals(cur: dict[str, dict[str, list]], dim: str) -> dict[str, dict[str, tuple[float, float]]]:
    out: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))
    day_text: dict[datetime, str] = {}
    key_cache: dict[tuple, str] = {}
    for cols in cur.values():
        keys = zip(cols["line_item_product_code"], cols["line_item_usage_type"], cols["product_region_code"],
                   cols["line_item_usage_account_id"])
        for start, cost, amount, kt in zip(cols["line_item_usage_start_date"], cols["line_item_unblended_cost"],
                                           cols["line_item_usage_amount"], keys):
            day = day_text.get(start)
            if day is None:
                day = day_text[start] = f"{start:%Y-%m-%d}"
            key = key_cache.get(kt)
            if key is None:
                key = key_cache[kt] = _key(dim, *kt)
            g = out[day][key]
            g[0] += cost
            g[1] += amount
    return {d: {k: (v[0], v[1]) for k, v in groups.items()} for d, groups in out.items()}


def cost_and_usage(totals: dict[str, dict[str, tuple[float, float]]], dim: str, units: dict[str, str]) -> dict:
    """The Cost Explorer answer grouped by ``dim``, from that dimension's :func:`_daily_totals`."""
    results = []
    day = S.COST_START
    while day < S.END:
        key = f"{day:%Y-%m-%d}"
        groups = [{"Keys": [k], "Metrics": {"UnblendedCost": {"Amount": _amount(round(c, 10)), "Unit": "USD"},
                                            "UsageQuantity": {"Amount": _amount(round(q, 10)),
                                                              "Unit": "N/A" if dim != "USAGE_TYPE" else
                                                              units.get(k, "N/A")}}}
                  for k, (c, q) in sorted(totals.get(key, {}).items()) if round(c, 10) > 0]
        results.append({"TimePeriod": {"Start": key, "End": f"{day + timedelta(days=1):%Y-%m-%d}"}, "Total": {},
                        "Groups": groups, "Estimated": day >= S.t("2026-10-01 00:00:00")})
        day += timedelta(days=1)
    out = {"GroupDefinitions": [{"Type": "DIMENSION", "Key": dim}], "ResultsByTime": results}
    if dim == "LINKED_ACCOUNT":
        out["DimensionValueAttributes"] = [{"Value": a, "Attributes": {"description": n}}
                                           for a, n in sorted(S.LINKED_ACCOUNTS.items())]
    return out


def _units(cur: dict[str, dict[str, list]]) -> dict[str, str]:
    """usage type -> its pricing unit (the first one seen)."""
    units: dict[str, str] = {}
    for cols in cur.values():
        for ut, unit in zip(cols["line_item_usage_type"], cols["pricing_unit"]):
            units.setdefault(ut, unit)
    return units


def anomalies(by_day: dict[str, dict[str, tuple[float, float]]], by_ut: dict[str, dict[str, tuple[float, float]]]
              ) -> dict:
    """The GPU spike (open, no feedback) and a planned S3 restore test in September (feedback PLANNED_ACTIVITY),
    from the :func:`_daily_totals` by service and by usage type."""
    svc = SERVICE_NAMES["AmazonEC2"]

    def span(a: datetime, z: datetime):
        d = a
        while d <= z:
            yield f"{d:%Y-%m-%d}"
            d += timedelta(days=1)

    # GPU spike: expected = mean daily EC2 compute of the 14 days before
    a, z = S.t("2026-10-08 00:00:00"), S.t("2026-10-14 00:00:00")
    base_days = list(span(a - timedelta(days=14), a - timedelta(days=1)))
    expected_daily = sum(by_day[d].get(svc, (0, 0))[0] for d in base_days) / len(base_days)
    actual = {d: by_day[d].get(svc, (0, 0))[0] for d in span(a, z)}
    excess = {d: v - expected_daily for d, v in actual.items()}
    total_actual = sum(actual.values())
    total_expected = expected_daily * len(actual)
    causes = []
    for itype in ("p4d.24xlarge", "g5.12xlarge"):
        ut = f"APN1-BoxUsage:{itype}"
        contribution = sum(by_ut[d].get(ut, (0, 0))[0] for d in span(a, z))
        causes.append({"Service": svc, "Region": S.RARE_REGION, "LinkedAccount": S.ACCOUNT_ID,
                       "LinkedAccountName": S.ACCOUNT_NAME, "UsageType": ut,
                       "Impact": {"Contribution": round(contribution, 2)}})
    gpu = {"AnomalyId": hexid("anomaly:gpu", 8) + "-" + hexid("anomaly:gpu2", 4) + "-4" + hexid("a3", 3) + "-9"
                        + hexid("a4", 3) + "-" + hexid("a5", 12),
           "AnomalyStartDate": S.iso_z(a), "AnomalyEndDate": S.iso_z(z), "DimensionValue": svc, "RootCauses": causes,
           "AnomalyScore": {"MaxScore": 0.98, "CurrentScore": 0.93},
           "Impact": {"MaxImpact": round(max(excess.values()), 2),
                      "TotalImpact": round(total_actual - total_expected, 2),
                      "TotalActualSpend": round(total_actual, 2), "TotalExpectedSpend": round(total_expected, 2),
                      "TotalImpactPercentage": round((total_actual - total_expected) / total_expected * 100, 2)},
           "MonitorArn": S.ANOMALY_MONITOR_ARN}
    # planned S3 restore test in the log archive account
    s3 = SERVICE_NAMES["AmazonS3"]
    a2, z2 = S.t("2026-09-17 00:00:00"), S.t("2026-09-18 00:00:00")
    base2 = list(span(a2 - timedelta(days=14), a2 - timedelta(days=1)))
    base2 = [d for d in base2 if d >= f"{S.COST_START:%Y-%m-%d}"]
    exp2 = sum(by_day[d].get(s3, (0, 0))[0] for d in base2) / len(base2)
    act2 = {d: by_day[d].get(s3, (0, 0))[0] for d in span(a2, z2)}
    contribution = sum(by_ut[d].get("Requests-Tier1", (0, 0))[0] for d in span(a2, z2)) - 2 * 0.15
    planned = {"AnomalyId": hexid("anomaly:s3", 8) + "-" + hexid("anomaly:s32", 4) + "-4" + hexid("b3", 3) + "-8"
                            + hexid("b4", 3) + "-" + hexid("b5", 12),
               "AnomalyStartDate": S.iso_z(a2), "AnomalyEndDate": S.iso_z(z2), "DimensionValue": s3,
               "RootCauses": [{"Service": s3, "Region": "us-east-1", "LinkedAccount": "161803398874",
                               "LinkedAccountName": S.LINKED_ACCOUNTS["161803398874"], "UsageType": "Requests-Tier1",
                               "Impact": {"Contribution": round(contribution, 2)}}],
               "AnomalyScore": {"MaxScore": 0.71, "CurrentScore": 0.0},
               "Impact": {"MaxImpact": round(max(v - exp2 for v in act2.values()), 2),
                          "TotalImpact": round(sum(act2.values()) - exp2 * len(act2), 2),
                          "TotalActualSpend": round(sum(act2.values()), 2),
                          "TotalExpectedSpend": round(exp2 * len(act2), 2),
                          "TotalImpactPercentage": round((sum(act2.values()) - exp2 * len(act2)) / (exp2 * len(act2))
                                                         * 100, 2)},
               "MonitorArn": S.ANOMALY_MONITOR_ARN, "Feedback": "PLANNED_ACTIVITY"}
    return {"Anomalies": [gpu, planned]}


def build(seed: int) -> tuple[dict[str, object], dict]:
    cur = cur_rows(seed)
    files: dict[str, object] = {}
    for period, cols in cur.items():
        files[f"cost/cur2/{EXPORT}/data/BILLING_PERIOD={period}/{EXPORT}-00001.snappy.parquet"] = cur_parquet(cols)
    totals = {dim: _daily_totals(cur, dim) for dim, _ in _GROUPINGS}
    units = _units(cur)
    for dim, name in _GROUPINGS:
        files[f"cost/ce/get-cost-and-usage.{name}.json"] = cost_and_usage(totals[dim], dim, units)
    files["cost/ce/get-anomalies.json"] = anomalies(totals["SERVICE"], totals["USAGE_TYPE"])
    counts = {"cur_rows": {p: len(c["identity_line_item_id"]) for p, c in cur.items()},
              "anomalies": len(files["cost/ce/get-anomalies.json"]["Anomalies"])}
    return files, counts


def write(out_dir: Path, seed: int) -> dict:
    files, counts = build(seed)
    paths = write_files(out_dir, files)
    return {"files": paths, **counts}
