"""FOCUS 1.x cost exports (the FinOps Open Cost and Usage Specification: AWS Data Exports' FOCUS 1.0, Azure, OCI,
GCP) -> the cost frame.

FOCUS names are provider-neutral (``BilledCost``, ``ChargePeriodStart``, ``ServiceName``, ``RegionId``,
``ResourceId``, ``SubAccountId``, ``Tags`` as JSON text); ``NULL`` is written as the literal string ``NULL``. The
mapping is data (:data:`FIELDS`); AWS's own FOCUS export adds ``x_UsageType``, used when present.
"""
from __future__ import annotations

import pandas as pd

from trailtools.evidence.cost.frame import as_tags, conform, created_by_of, tags_json

FIELDS = {
    "usage_start": ("ChargePeriodStart",),
    "usage_end": ("ChargePeriodEnd",),
    "cost": ("BilledCost", "EffectiveCost"),
    "currency": ("BillingCurrency",),
    "service": ("ServiceName",),
    "region": ("RegionId", "Region"),
    "usage_type": ("x_UsageType", "ChargeDescription"),
    "account": ("SubAccountId", "BillingAccountId"),
    "resource_id": ("ResourceId",),
    "instance_type": ("x_InstanceType",),
    "usage_amount": ("ConsumedQuantity", "PricingQuantity"),
    "line_item_type": ("ChargeCategory",),
}
REQUIRED = ("BilledCost", "ChargePeriodStart")


def is_focus(columns) -> bool:
    return all(r in columns for r in REQUIRED)


def transform_focus(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=df.index)
    for name, candidates in FIELDS.items():
        src = next((c for c in candidates if c in df.columns), None)
        if src is not None:
            out[name] = df[src]
    tags = [as_tags(v) for v in df["Tags"]] if "Tags" in df else [{} for _ in range(len(df))]
    out["created_by"] = [created_by_of(m) for m in tags]
    out["tags"] = [tags_json(m) for m in tags]
    if "ProviderName" in df and "service" in out:  # several clouds in one export: say whose service it is
        providers = df["ProviderName"].astype(str)
        if providers.nunique() > 1:
            out["service"] = [s if p in ("AWS", "NULL") else f"{p}: {s}" for p, s in zip(providers, out["service"])]
    return conform(out)
