"""EC2's notices about a Spot Instance, as Amazon EventBridge delivers them, saved beside the trail.

EC2 sends a **rebalance recommendation** (``EC2 Instance Rebalance Recommendation``: the instance is at elevated
risk of interruption) and, two minutes before it reclaims the capacity, an **interruption warning** (``EC2 Spot
Instance Interruption Warning``, ``detail.instance-action`` terminate, stop or hibernate) to EventBridge only:
CloudTrail has neither. Rules that archive them (to a log group, a queue, a bucket) give files of events in the
shape the EC2 user guide documents::

    {"version": "0", "id": "...", "detail-type": "EC2 Spot Instance Interruption Warning", "source": "aws.ec2",
     "account": "123456789012", "time": "2026-10-14T23:19:09Z", "region": "us-west-2",
     "resources": ["arn:aws:ec2:us-west-2a:instance/i-0d5f7b9c1e3a46802"],
     "detail": {"instance-id": "i-0d5f7b9c1e3a46802", "instance-action": "terminate"}}

:func:`read_notices` reads every file under ``<folder>/eventbridge/`` (a JSON array, one event, or one event per
line; only regular files within the size limit) and returns one instance's notices: ``time``, ``kind``
(``rebalance-recommendation`` / ``interruption-warning`` / ``state-change``), ``action`` (the interruption's
action or the new state), ``id`` (the event's), ``file``. Unreadable or foreign content is skipped, never raised.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from trailtools.events.limits import from_env
from trailtools.events.safe_open import files_under, read_regular
from trailtools.evidence.saved import frame

KINDS = {"EC2 Instance Rebalance Recommendation": "rebalance-recommendation",
         "EC2 Spot Instance Interruption Warning": "interruption-warning",
         "EC2 Instance State-change Notification": "state-change"}
COLUMNS = {"time": "time", "kind": "str", "action": "str", "id": "str", "file": "str"}
MAX_EVENTS = 100_000


def _events(data: bytes) -> list:
    text = data.decode("utf-8", "replace").strip()
    try:
        parsed = json.loads(text)
        return parsed if isinstance(parsed, list) else [parsed]
    except ValueError:
        out = []
        for line in text.splitlines()[:MAX_EVENTS]:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out


def read_notices(folder, instance: str) -> pd.DataFrame:
    """The instance's Spot notices saved under ``<folder>/eventbridge/`` (empty when there are none)."""
    base = Path(folder) / "eventbridge"
    rows = []
    limits = from_env()
    for path in files_under(base) if base.is_dir() else []:
        opened = read_regular(str(path), limits.max_file_bytes, root=getattr(path, "evidence_root", None),
                              follow_outside=limits.follow_outside_links)
        if opened.data is None:
            continue
        for e in _events(opened.data)[:MAX_EVENTS]:
            if not isinstance(e, dict) or e.get("source") != "aws.ec2" or e.get("detail-type") not in KINDS:
                continue
            detail = e.get("detail") if isinstance(e.get("detail"), dict) else {}
            if detail.get("instance-id") != instance:
                continue
            try:
                when = pd.Timestamp(str(e.get("time")))
            except (ValueError, TypeError):
                continue
            if pd.isna(when):
                continue
            when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
            rows.append({"time": when.isoformat(), "kind": KINDS[e["detail-type"]],
                         "action": detail.get("instance-action") or detail.get("state") or "", "id": e.get("id"),
                         "file": str(path)})
    out = frame(rows, COLUMNS)
    return out.sort_values("time", kind="stable").reset_index(drop=True) if len(out) else out
