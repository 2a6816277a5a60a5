#!/usr/bin/env python3
"""Exporting a trail larger than memory (issue 21): ``trailtools events SRC --format parquet -o FILE`` written day by
day, against the same export made from the whole frame at once (the baseline, measured in the same run).

    python benchmarks/bench_export.py                       # the 1M-event, 30-day corpus (make_corpus.py)
    python benchmarks/bench_export.py --events 100000 --repeat 3

Each case runs in a fresh process, the two in turn (whole, by day, whole, by day ...), after one warm-up each so
both read the columnar cache; it prints each case's median wall time and peak memory (the largest single process:
the parser's workers are separate processes) and the ratios by-day/whole, pair by pair. Targets (issue 21): the
Parquet export at most 600 MB in any process.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import run_command

ROOT = Path(__file__).resolve().parents[1]

WHOLE = """
import sys
from trailtools.events.load import load_events
from trailtools.events.output import write_frame
write_frame(load_events(sys.argv[1]).frame, "parquet", sys.argv[2], 0)
"""


def _run(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak memory (MB, the largest process) of one command in its own process tree."""
    r = run_command(argv)
    if not r["ok"]:
        raise SystemExit(f"{' '.join(argv)} failed ({r['returncode']}): {r['stderr_tail']}")
    return r["wall_s"], r["peak_mb"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", default=str(ROOT / "benchmarks" / "data"))
    args = ap.parse_args()
    corpus = Path(args.data) / f"corpus-{args.events}-{args.days}d-s{args.seed}"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_corpus.py"), "--events", str(args.events),
                    "--days", str(args.days), "--seed", str(args.seed), "--out", str(corpus)], check=True)
    env_py = [sys.executable]
    with tempfile.TemporaryDirectory() as tmp:
        whole = [*env_py, "-c", WHOLE, str(corpus), os.path.join(tmp, "whole.parquet")]
        by_day = [*env_py, "-m", "trailtools", "events", str(corpus), "--format", "parquet", "-o",
                  os.path.join(tmp, "by-day.parquet")]
        for argv in (whole, by_day):   # warm-up: both read the cache from here on
            _run(argv)
        figures = {"whole": [], "by day": []}
        for _ in range(args.repeat):
            figures["whole"].append(_run(whole))
            figures["by day"].append(_run(by_day))
    print(f"Parquet export of {args.events:,} events over {args.days} days ({args.repeat} runs each, medians; warm "
          "cache)")
    for name, runs in figures.items():
        print(f"  {name:7} {statistics.median(r[0] for r in runs):7.1f} s  "
              f"{statistics.median(r[1] for r in runs):7.0f} MB peak")
    pairs = list(zip(figures["by day"], figures["whole"]))
    print(f"  by day / whole: time x{statistics.median(a[0] / b[0] for a, b in pairs):.2f}, "
          f"memory x{statistics.median(a[1] / b[1] for a, b in pairs):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
