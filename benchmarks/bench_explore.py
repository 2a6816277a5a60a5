#!/usr/bin/env python3
"""The explorer's work on a million events: filter, time bins, the principal x hour heat map, the table and a text
search (`trailtools.views.explorer`), against the same selections written by hand in pandas, in the same run.

    python benchmarks/bench_explore.py                # 3 rounds
    python benchmarks/bench_explore.py --repeat 5

The frame (:func:`million`) is a million events over 30 days, with the loader's dtypes (categories for the short
texts, Arrow strings for the long ones); ``tests/test_explore.py`` checks on the same frame that the explorer's
results stay small for the charts. Each round times, in this process:
- **explorer**: ``filter_events`` (17 days, errors only), ``time_bins``, ``activity_by_hour``, ``table_rows``,
  ``event_points`` and a text search for an address;
- **by hand** (the baseline): a time and error mask, events per hour and status, per principal and hour, the first
  rows, evenly spaced points and ``str.startswith`` on the addresses: the least any explorer does for those views.

Figures: the median seconds of each and of the per-round ratio. Target: the explorer's work in at most 20 s on these
2-core machines (it used to be a timed assertion in the test; timing belongs here, beside its baseline).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

TARGET_S = 20.0
T0 = pd.Timestamp("2026-10-01T00:00:00Z")


def million(n: int = 1_000_000) -> pd.DataFrame:
    """``n`` events over 30 days from 2026-10-01 (seeded): 200 calls, 300 principals, 250 addresses, 1 % errors."""
    rng = np.random.default_rng(7)
    cat = lambda values: pd.Categorical.from_codes(rng.integers(0, len(values), n), categories=values)  # noqa: E731
    actors = [f"user-{i}" for i in range(300)]
    seconds = pd.to_timedelta(np.sort(rng.integers(0, 30 * 86400, n)), unit="s")
    return pd.DataFrame({
        "eventTime": (T0 + seconds).astype("datetime64[us, UTC]"),
        "eventName": cat([f"Call{i}" for i in range(200)]),
        "eventSource": cat(["ec2.amazonaws.com", "s3.amazonaws.com"]),
        "awsRegion": cat(["us-east-1", "eu-west-1"]), "actor": cat(actors),
        "userIdentity.arn": cat([f"arn:aws:iam::1:user/{a}" for a in actors]),
        "sourceIPAddress": cat([f"198.51.100.{i}" for i in range(250)]), "userAgent": cat(["aws-cli", "boto3"]),
        "errorCode": pd.Categorical.from_codes(np.where(rng.random(n) < 0.01, 0, -1), categories=["AccessDenied"]),
        "errorMessage": pd.Series([None] * n, dtype="str"), "requestParameters": pd.Series(["{}"] * n, dtype="str"),
        "responseElements": pd.Series([None] * n, dtype="str"), "resources": pd.Series([None] * n, dtype="str"),
        "eventID": pd.Series([f"e{i}" for i in range(n)], dtype="str"),
    })


def explorer(big: pd.DataFrame) -> int:
    from trailtools.views.explorer import Filter, activity_by_hour, event_points, filter_events, table_rows, time_bins
    flt = Filter(start="2026-10-03", end="2026-10-20", errors_only=True)
    rows = filter_events(big, flt)
    out = [time_bins(rows, flt.start, flt.end), activity_by_hour(rows), table_rows(rows), event_points(big),
           filter_events(big, Filter(text="198.51.100.7"))]
    return sum(len(o) for o in out)


def by_hand(big: pd.DataFrame) -> int:
    t = big["eventTime"]
    rows = big[(t >= pd.Timestamp("2026-10-03", tz="UTC")) & (t < pd.Timestamp("2026-10-20", tz="UTC"))
               & big["errorCode"].notna()]
    hour = rows["eventTime"].dt.floor("h")
    out = [rows.groupby([hour, rows["errorCode"].notna()], observed=True).size(),
           rows.groupby([rows["actor"], rows["eventTime"].dt.hour], observed=True).size(), rows.iloc[:100],
           big.iloc[np.linspace(0, len(big) - 1, 5000).round().astype(int)],
           big[big["sourceIPAddress"].astype(str).str.startswith("198.51.100.7")]]
    return sum(len(o) for o in out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds (default 3; medians are reported)")
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the frame (default 1,000,000)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    big = million(args.events)
    explorer(big), by_hand(big)  # warm-up: imports, first-call caches
    rounds = []
    for r in range(args.repeat):
        times = {}
        for name, fn in (("explorer", explorer), ("by hand", by_hand)):
            t0 = time.perf_counter()
            fn(big)
            times[name] = time.perf_counter() - t0
        rounds.append(times)
        print(f"round {r + 1}: explorer {times['explorer']:.2f} s, by hand {times['by hand']:.2f} s, "
              f"ratio {times['explorer'] / times['by hand']:.1f}x")
    med = {k: statistics.median(r[k] for r in rounds) for k in ("explorer", "by hand")}
    ratio = statistics.median(r["explorer"] / r["by hand"] for r in rounds)
    print(f"\nmedian of {args.repeat} on {args.events:,} events: explorer {med['explorer']:.2f} s, by hand "
          f"{med['by hand']:.2f} s, ratio {ratio:.1f}x; target explorer <= {TARGET_S:.0f} s: "
          f"{'met' if med['explorer'] <= TARGET_S else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
