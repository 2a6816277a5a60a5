#!/usr/bin/env python3
"""Login benchmark (issue 21): `trailtools login` over the last 7 days of a corpus (baseline 30 days) as a user runs
it, whole processes, against loading the same events through the CLI, in the same run.

    python benchmarks/bench_login.py --corpus /tmp/corpus-1m                 # 3 rounds, cold and warm cache
    python benchmarks/bench_login.py --corpus /tmp/corpus-10m --cases load-cold,load-warm --timeout 1200
    python benchmarks/bench_login.py --corpus DIR --cases login-warm,report-warm --repeat 2 --json out.json

The corpus is a folder written by benchmarks/make_corpus.py (its corpus.json gives the days); --events/--days/--seed
build or reuse one in --data instead. Cases, each run a new process (`python -m trailtools ...`) measured from the
outside (benchmarks/harness.py: wall and CPU seconds of the process and its workers, the peak RSS of the largest
process, exact, and of the process tree's sum, sampled):

  load-cold    trailtools events CORPUS --start <window start - baseline> --end <end> --format table --limit 1,
               empty cache: the floor, loading every event the login reads today (window and baseline)
  login-cold   trailtools login --source CORPUS --start <end - 7 days> --end <end> --json FILE, empty cache
  load-warm    the load again with a cache that a first run wrote (not counted)
  login-warm   the login with that cache, after one login of its own (not counted: a warm run is a run again)
  report-warm  trailtools report login -p source CORPUS -p start .. -p end .. (papermill, HTML), that cache

A round runs every case once, in that order, so the medians and the ratios (login / load, pair by pair) come from
the same stretch of a shared machine. Every run is bounded: past --timeout seconds or --mem-limit-gb of summed RSS
its process group is killed (the run is reported as killed, its target MISSED), so a runaway login never makes a
shared machine swap. The cache lives in temporary folders (TRAILTOOLS_CACHE_DIR), never in ~/.cache; after a run
that wrote one (the warm-up, a cold case), the cold cache is deleted and the writes flushed (``sync``) before the next
run is timed.

Targets (issue 21), chosen by the corpus's size: up to ~1M events, the login at most 700 MB in any process and at
most 15 s (cold and warm); from 5M events (the 10M corpus), at most 1 GB, 3 minutes cold and 30 s warm.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from harness import cpu_model, loadavg, run_command, wait_idle

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CASES = ("load-cold", "login-cold", "load-warm", "login-warm", "report-warm")
DEFAULT_CASES = "load-cold,login-cold,load-warm,login-warm"
#: (largest process MB, cold s, warm s) by corpus size
TARGETS = {"1M": (700, 15.0, 15.0), "10M": (1024, 180.0, 30.0)}


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S")


def commands(corpus: Path, manifest: dict, out: Path, window_days: int, baseline_days: int) -> dict[str, list[str]]:
    """The command of each case (the load and the login read the same events)."""
    first = datetime.fromisoformat(manifest["params"]["start"])
    end = first + timedelta(days=manifest["params"]["days"])
    start = end - timedelta(days=window_days)
    base = start - timedelta(days=baseline_days)
    py = [sys.executable, "-m", "trailtools"]
    load = [*py, "events", str(corpus), "--start", _iso(base), "--end", _iso(end), "--format", "table", "--limit", "1"]
    login = [*py, "login", "--source", str(corpus), "--start", _iso(start), "--end", _iso(end),
             "--baseline-days", str(baseline_days), "--json", str(out / "login.json")]
    report = [*py, "report", "login", "-p", "source", str(corpus), "-p", "start", _iso(start), "-p", "end", _iso(end),
              "-p", "baseline_days", str(baseline_days), "--out", str(out / "reports")]
    return {"load-cold": load, "login-cold": login, "load-warm": load, "login-warm": login, "report-warm": report}


def _med(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _range(values: list[float], fmt: str = "{:.1f}") -> str:
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def render(runs: dict[str, list[dict]], manifest: dict, args: argparse.Namespace, cmds: dict) -> tuple[str, list]:
    size = "10M" if manifest["events"] >= 5_000_000 else "1M"
    max_mb, cold_s, warm_s = TARGETS[size]
    lines = [f"corpus: {args.corpus} - {manifest['events']:,} events, {manifest['files']:,} files, "
             f"{manifest['bytes'] / 1e6:,.0f} MB gzip, {manifest['params']['days']} days"
             + (f", {manifest['params']['replicate_accounts']} accounts" if "replicate_accounts" in manifest["params"]
                else ""),
             f"machine: {os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}; "
             f"window: last {args.window_days} days, baseline {args.baseline_days} days; rounds: {args.repeat}",
             "",
             "| case | runs ok | wall s, median (min-max) | CPU s | peak RSS, largest process | peak RSS, tree sum | "
             "load avg (1 min) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for case, rs in runs.items():
        ok = [r for r in rs if r["ok"]] or rs
        loads = [r["load_before"][0] for r in rs] + [r["load_after"][0] for r in rs]
        lines.append(f"| {case} | {sum(r['ok'] for r in rs)}/{len(rs)} | {_range([r['wall_s'] for r in ok])} | "
                     f"{_med(ok, 'cpu_s'):.1f} | {_med(ok, 'peak_mb'):,.0f} MB (max {max(r['peak_mb'] for r in rs):,.0f}) "
                     f"| {max(r['tree_mb'] for r in rs):,.0f} MB | {min(loads):.1f}-{max(loads):.1f} |")
    failed = [(c, r) for c, rs in runs.items() for r in rs if not r["ok"]]
    for case, r in failed:
        why = f"killed ({r['killed']})" if r["killed"] else f"exit {r['returncode']}"
        lines.append(f"{case}: a run failed, {why} after {r['wall_s']:.0f} s: {r['stderr_tail'][-300:]!r}")
    lines += ["", "| ratio (pair by pair) | wall | CPU |", "|---|---:|---:|"]
    for a, b in (("login-cold", "load-cold"), ("login-warm", "load-warm"), ("report-warm", "login-warm")):
        if a in runs and b in runs:
            pairs = [(x, y) for x, y in zip(runs[a], runs[b]) if x["ok"] and y["ok"]]
            if pairs:
                lines.append(f"| {a} / {b} | {_range([x['wall_s'] / y['wall_s'] for x, y in pairs], '{:.2f}')} | "
                             f"{_range([x['cpu_s'] / y['cpu_s'] for x, y in pairs], '{:.2f}')} |")
    checks = []
    for case, limit_s in (("login-cold", cold_s), ("login-warm", warm_s)):
        if case in runs:
            rs = runs[case]
            good = all(r["ok"] for r in rs)
            wall = _med(rs, "wall_s")
            peak = max(r["peak_mb"] for r in rs)
            checks.append((f"{case}: median wall", f"{wall:.1f} s" + ("" if good else " (runs killed or failed)"),
                           f"<= {limit_s:g} s", good and wall <= limit_s))
            checks.append((f"{case}: largest process", f"{peak:,.0f} MB" + ("" if good else " (at least)"),
                           f"<= {max_mb:,} MB", good and peak <= max_mb))
    note = " (a smaller corpus: the figures mean little)" if manifest["events"] < 500_000 else ""
    lines += ["", f"| target (issue 21, {size} corpus){note} | measured | target | |", "|---|---:|---:|---|"]
    lines += [f"| {n} | {got} | {want} | {'met' if ok else 'MISSED'} |" for n, got, want, ok in checks]
    lines += ["", "commands (in " + str(ROOT) + "):"]
    lines += [f"  {c}: {' '.join(cmds[c][1:])}" for c in runs]
    return "\n".join(lines), checks


def settle(written: Path | None = None) -> None:
    """After a run that wrote a cache (a 10M-event trail's: 6.4 GB): the cold run's cache deleted (its pages leave
    the page cache, which the warm runs' cache then keeps), and the writes flushed to disk, so that the next run is
    not timed while the kernel writes back another run's gigabytes (measured on the 10M-event trail: the warm login
    6-7 s slower right after a cold run than alone)."""
    if written is not None:
        shutil.rmtree(written, ignore_errors=True)
    os.sync()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--corpus", type=Path, help="a corpus folder written by make_corpus.py")
    ap.add_argument("--events", type=int, default=1_000_000, help="without --corpus: build or reuse one in --data")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", type=Path, default=HERE / "data")
    ap.add_argument("--cases", default=DEFAULT_CASES, help=f"some of {','.join(CASES)} (default {DEFAULT_CASES})")
    ap.add_argument("--repeat", type=int, default=3, help="rounds (default 3; medians reported)")
    ap.add_argument("--window-days", type=int, default=7)
    ap.add_argument("--baseline-days", type=int, default=30)
    ap.add_argument("--timeout", type=float, default=900, help="seconds a run may take before it is killed")
    ap.add_argument("--mem-limit-gb", type=float, default=6.0,
                    help="summed RSS of a run's processes past which it is killed (default 6)")
    ap.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                    help="before each run, wait up to this long for the machine to be idle")
    ap.add_argument("--json", type=Path, help="also write every run's figures here")
    args = ap.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    if set(cases) - set(CASES):
        ap.error(f"unknown cases: {', '.join(sorted(set(cases) - set(CASES)))}")
    cases = [c for c in CASES if c in cases]  # always the documented order within a round
    if args.corpus:
        manifest = json.loads((args.corpus / "corpus.json").read_text())
    else:
        sys.path.insert(0, str(HERE))
        from make_corpus import make_corpus

        args.corpus = args.data / f"corpus-{args.events}-{args.days}d-s{args.seed}"
        manifest = make_corpus(args.corpus, events=args.events, days=args.days, seed=args.seed)
    args.corpus = args.corpus.resolve()

    tmp = Path(tempfile.mkdtemp(prefix="bench-login-"))
    runs: dict[str, list[dict]] = {c: [] for c in cases}
    limit_mb = args.mem_limit_gb * 1024
    started = datetime.now(UTC)
    try:
        cmds = commands(args.corpus, manifest, tmp, args.window_days, args.baseline_days)
        env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        warm = {**env, "TRAILTOOLS_CACHE_DIR": str(tmp / "cache-warm")}
        if any(c.endswith("-warm") for c in cases):  # the warm-up: writes the cache the warm runs read
            r = run_command(cmds["load-cold"], env=warm, cwd=ROOT, timeout=args.timeout, mem_limit_mb=limit_mb)
            print(f"  warm-up (writes the cache): {r['wall_s']:.1f} s, {r['peak_mb']:,.0f} MB", file=sys.stderr)
            if any(c in cases for c in ("login-warm", "report-warm")):
                # the login's own first run: the chunks its scan reads are not all the load's (the first warm login
                # of the 10M corpus parsed some, 52 s against 33), and the cache's entries are validated on their
                # first read; a warm run is the command run again
                r = run_command(cmds["login-warm"], env=warm, cwd=ROOT, timeout=args.timeout, mem_limit_mb=limit_mb,
                                ok_codes=(0, 1))
                print(f"  warm-up (the login once): {r['wall_s']:.1f} s, {r['peak_mb']:,.0f} MB", file=sys.stderr)
            settle()
        for i in range(args.repeat):
            for case in cases:
                if args.wait_idle:
                    wait_idle(args.wait_idle)
                if case.endswith("-cold"):
                    cold = tmp / "cache-cold"
                    shutil.rmtree(cold, ignore_errors=True)
                    case_env = {**env, "TRAILTOOLS_CACHE_DIR": str(cold)}
                else:
                    case_env = warm
                r = run_command(cmds[case], env=case_env, cwd=ROOT, timeout=args.timeout, mem_limit_mb=limit_mb,
                                ok_codes=(0, 1))  # 1: findings to look at, by design of the verdict commands
                runs[case].append(r)
                if case.endswith("-cold"):
                    settle(tmp / "cache-cold")
                state = "ok" if r["ok"] else (f"KILLED ({r['killed']})" if r["killed"] else f"exit {r['returncode']}")
                print(f"  {case} #{i + 1}: {r['wall_s']:.1f} s, CPU {r['cpu_s']:.1f} s, largest process "
                      f"{r['peak_mb']:,.0f} MB (of the workers it left: {r['left_behind_mb']:,.0f} MB), "
                      f"tree {r['tree_mb']:,.0f} MB, load {r['load_after'][0]:.1f}, {state}",
                      file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text, checks = render(runs, manifest, args, cmds)
    print(f"measured {started:%Y-%m-%d %H:%M}-{datetime.now(UTC):%H:%M} UTC, load average now "
          f"{' '.join(f'{x:.1f}' for x in loadavg())}")
    print(text)
    if args.json:
        args.json.write_text(json.dumps({"date": started.isoformat(timespec="seconds"), "corpus": manifest,
                                         "cases": cases, "commands": cmds, "runs": runs,
                                         "checks": [{"check": n, "measured": g, "target": w, "met": ok}
                                                    for n, g, w, ok in checks]}, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
