#!/usr/bin/env python3
"""Report speed: each demo report (`trailtools report ...`) against the CLI verdict for the same subject
(`trailtools reboot i-...`, `trailtools login`, `trailtools cost`), measured in the same run, in turns.

    python benchmarks/report_speed.py                  # the 7 demo reports, 3 rounds
    python benchmarks/report_speed.py --repeat 5 --cases reboot-1,cost --json benchmarks/data/report-speed.json

Each measurement is a new process (`python -m trailtools ...`), as a user runs it: interpreter start-up, imports,
loading the demo account from its cache, the analysis and (for the report) papermill's kernel, the HTML and the
findings JSON. The demo account is generated and the trailtools cache warmed once before the first round, so that
neither is in any figure. A round runs CLI then report for every case, so both medians come from the same stretch of
a shared machine's ups and downs; the ratio is taken per round (report / CLI) and its median printed.

Figures: wall seconds, and CPU seconds (user + system of the process and its children: the report's kernel too),
which other work on a shared machine inflates much less. Target (issue 20): a report in at most 2x the time of the
CLI verdict, met or MISSED per case (on the wall-time ratio median).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 2.0

#: case -> (the CLI verdict's arguments, the report's arguments), both after `python -m trailtools`
INSTANCES = ["i-04c2a9e71d3b58f06", "i-0b81f3d6c2e9a4775", "i-07e5d2b9a1c4f3806", "i-0f2a6c8e4b1d97a35",
             "i-09d4b7e2f6a3c1508"]
CASES = {f"reboot-{n}": (["reboot", i], ["report", "reboot", "-p", "instance", i])
         for n, i in enumerate(INSTANCES, 1)}
CASES["login"] = (["login"], ["report", "login"])
CASES["cost"] = (["cost"], ["report", "cost"])


def measure(args: list[str], env: dict) -> dict:
    """Run `python -m trailtools ARGS` once: wall and CPU seconds (children's rusage, so the kernel counts)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "trailtools", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):  # 1: findings to look at, by design of the verdict verbs
        raise SystemExit(f"`trailtools {' '.join(args)}` failed ({proc.returncode}): {proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds (default 3; the median is reported)")
    parser.add_argument("--cases", default=",".join(CASES), help=f"some of {','.join(CASES)}")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case {unknown[0]!r}: {', '.join(CASES)}")
    with tempfile.TemporaryDirectory(prefix="report-speed-") as tmp:
        out = Path(tmp) / "reports"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               "TRAILTOOLS_CACHE_DIR": str(Path(tmp) / "cache")}
        print("warming up (demo account, caches) ...", file=sys.stderr)
        for c in cases:
            cli, rep = CASES[c]
            measure(cli, env)
            measure([*rep, "--out", str(out)], env)
        runs: dict[str, list[dict]] = {c: [] for c in cases}
        for r in range(args.repeat):
            for c in cases:
                cli, rep = CASES[c]
                a = measure(cli, env)
                b = measure([*rep, "--out", str(out)], env)
                runs[c].append({"cli": a, "report": b, "ratio": b["wall_s"] / a["wall_s"],
                                "cpu_ratio": b["cpu_s"] / a["cpu_s"] if a["cpu_s"] else float("nan")})
                print(f"round {r + 1}/{args.repeat} {c}: CLI {a['wall_s']:.2f} s, report {b['wall_s']:.2f} s",
                      file=sys.stderr)
    rows = []
    for c in cases:
        med = {k: statistics.median(x[k] for x in runs[c]) for k in ("ratio", "cpu_ratio")}
        for side in ("cli", "report"):
            for k in ("wall_s", "cpu_s"):
                med[f"{side}_{k}"] = statistics.median(x[side][k] for x in runs[c])
        med["case"], med["met"] = c, med["ratio"] <= TARGET_RATIO
        rows.append(med)
    print(f"{'case':<10} {'CLI wall s':>10} {'report wall s':>13} {'ratio':>6} {'CLI CPU s':>9} "
          f"{'report CPU s':>12} {'CPU ratio':>9}  target <= {TARGET_RATIO:g}x")
    for m in rows:
        print(f"{m['case']:<10} {m['cli_wall_s']:>10.2f} {m['report_wall_s']:>13.2f} {m['ratio']:>6.2f} "
              f"{m['cli_cpu_s']:>9.2f} {m['report_cpu_s']:>12.2f} {m['cpu_ratio']:>9.2f}  "
              f"{'met' if m['met'] else 'MISSED'}")
    print(f"medians of {args.repeat} rounds; load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(other work inflates wall times: compare the CPU columns on a shared machine)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rows": rows, "runs": runs}, indent=1) + "\n", encoding="utf-8")
    return 0 if all(m["met"] for m in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
