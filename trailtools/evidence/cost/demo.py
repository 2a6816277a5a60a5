"""``demo``: the demo account's cost data (CUR 2.0 Parquet, hourly, with resource IDs, and the saved
Cost Anomaly Detection response), read like any local cost folder."""
from __future__ import annotations

from trailtools.demo import ensure_demo_account
from trailtools.evidence.cost.frame import CostData
from trailtools.evidence.cost.local import read_local


def read_demo(uri: str, q=None) -> CostData:
    folder = ensure_demo_account() / "cost"
    data = read_local(str(folder), q)
    data.stats.source = uri
    return data
