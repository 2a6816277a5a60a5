#!/usr/bin/env python3
"""Hunt benchmark: ``trailtools hunt`` over the benchmark corpus against loading the same corpus, in the same run.

    python benchmarks/bench_hunt.py                        # 1,000,000 events over 30 days, 3 pairs
    python benchmarks/bench_hunt.py --events 100000 --repeat 2

Cases, each repeat a fresh Python process, run in turns (load, hunt, load, hunt ...) so both medians come from the
same stretch of a shared machine's ups and downs:
  load        load_events(corpus, Query(), cache=False): every event of the corpus into the events frame
  hunt        trailtools.rules.hunt.hunt(corpus, cache=False): every rule over the whole corpus (it loads only the
              events the rules read and the STS calls that link chains, runs the rules, groups the findings)
  hunt-sigma  the same with two Sigma rules (--cases load,hunt,hunt-sigma): a Sigma rule can read any event, so
              the whole corpus is loaded and copied into SQLite

Seconds are the wall time of the call inside the child (interpreter start-up and imports excluded, shown
separately); CPU s counts the child and its worker processes. Target: hunt <= 2x the load (median of the per-pair
ratios). The corpus is benchmarks/make_corpus.py's (shared with bench_load.py: the same folder and manifest).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import own_cpu_s

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET_RATIO = 2.0
SIGMA_RULES = {
    "stop-logging.yml": """
title: CloudTrail logging stopped or deleted
id: 4db60cc0-36fb-42b7-9b58-a5b53019fb74
level: critical
tags: [attack.defense-evasion, attack.t1562.008]
logsource: {product: aws, service: cloudtrail}
detection:
  selection:
    eventSource: cloudtrail.amazonaws.com
    eventName: [StopLogging, DeleteTrail, UpdateTrail, PutEventSelectors]
  condition: selection
""",
    "snapshot-shared.yml": """
title: EBS snapshot permission changed
id: 5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d
level: high
tags: [attack.exfiltration, attack.t1537]
logsource: {product: aws, service: cloudtrail}
detection:
  selection:
    eventName: ModifySnapshotAttribute
    requestParameters.attributeType: CREATE_VOLUME_PERMISSION
  condition: selection
""",
}


def _child(spec: dict) -> dict:
    import resource

    t_import = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    from trailtools import Query, load_events
    from trailtools.rules.hunt import hunt

    imported = time.perf_counter()
    cpu0, t0 = own_cpu_s(), time.perf_counter()
    if spec["mode"] == "load":
        res = load_events(spec["corpus"], Query(), cache=False, progress=False)
        out = {"events": len(res.frame)}
    else:
        res = hunt(spec["corpus"], sigma_rules=spec.get("sigma"), cache=False)
        out = {"events": len(res.frame), "events_read": res.events, "findings": len(res.findings),
               "chains": len(res.chains)}
    out.update(seconds=time.perf_counter() - t0, cpu_s=own_cpu_s() - cpu0, import_s=imported - t_import,
               rss_self_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               rss_workers_mb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return out


def measure(spec: dict) -> dict:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{spec['mode']} child failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["process_s"] = time.perf_counter() - started
    return res


def _sigma_rules(folder: Path) -> Path:
    rules = folder / "sigma"
    rules.mkdir()
    for name, text in SIGMA_RULES.items():
        (rules / name).write_text(text, encoding="utf-8")
    return rules


def _range(values: list[float], fmt: str = "{:.1f}") -> str:
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="pairs of runs (the median is reported)")
    ap.add_argument("--cases", default="load,hunt", help="load,hunt[,hunt-sigma]")
    ap.add_argument("--data", type=Path, default=HERE / "data", help="where corpora are kept (git-ignored)")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON to this file")
    ap.add_argument("--run", choices=("load", "hunt", "hunt-sigma"),
                    help="one run of one case in this process, its figures printed as JSON (for timing whole "
                         "processes with another tool, e.g. /usr/bin/time -v); needs --corpus")
    ap.add_argument("--corpus", type=Path, help="with --run: the corpus folder")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return 0
    if args.run:
        if not args.corpus:
            ap.error("--run needs --corpus DIR")
        with tempfile.TemporaryDirectory(prefix="bench-hunt-") as tmp:
            spec = {"mode": "load" if args.run == "load" else "hunt", "corpus": str(args.corpus)}
            if args.run == "hunt-sigma":
                spec["sigma"] = str(_sigma_rules(Path(tmp)))
            print(json.dumps(_child(spec)))
        return 0

    sys.path.insert(0, str(HERE))
    from make_corpus import make_corpus

    corpus = args.data / f"corpus-{args.events}-{args.days}d-s{args.seed}"
    manifest = make_corpus(corpus, events=args.events, days=args.days, seed=args.seed)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    runs: dict[str, list[dict]] = {c: [] for c in cases}
    with tempfile.TemporaryDirectory(prefix="bench-hunt-") as tmp:
        rules = _sigma_rules(Path(tmp))
        env_cache = {"TRAILTOOLS_CACHE_DIR": str(Path(tmp) / "cache")}
        os.environ.update(env_cache)      # never the user's cache (and cache=False anyway)
        for i in range(args.repeat):
            for case in cases:
                spec = {"mode": "load" if case == "load" else "hunt", "corpus": str(corpus)}
                if case == "hunt-sigma":
                    spec["sigma"] = str(rules)
                res = measure(spec)
                runs[case].append(res)
                print(f"  {case} #{i + 1}: {res['seconds']:.1f} s, CPU {res['cpu_s']:.1f} s, "
                      f"{res['events']:,} events, peak {max(res['rss_self_mb'], res['rss_workers_mb']):.0f} MB",
                      flush=True)
    print(f"corpus: {manifest['events']:,} events over {args.days} days, {manifest['files']:,} files, "
          f"{manifest['bytes'] / 1e6:.0f} MB gzip; {os.cpu_count()} cores")
    print(f"{'case':<11} {'seconds':>18} {'CPU s':>18} {'main RSS MB':>14} {'events':>11}")
    for case, rs in runs.items():
        print(f"{case:<11} {_range([r['seconds'] for r in rs]):>18} {_range([r['cpu_s'] for r in rs]):>18} "
              f"{statistics.median(r['rss_self_mb'] for r in rs):>14.0f} {rs[0]['events']:>11,}")
    summary = {"corpus": manifest, "runs": runs}
    if "load" in runs:
        for case in (c for c in cases if c != "load"):
            ratios = [h["seconds"] / lo["seconds"] for h, lo in zip(runs[case], runs["load"])]
            cpu = [h["cpu_s"] / lo["cpu_s"] for h, lo in zip(runs[case], runs["load"])]
            med = statistics.median(ratios)
            verdict = "met" if med <= TARGET_RATIO else "MISSED"
            print(f"{case} / load: {_range(ratios, '{:.2f}')} x wall, {_range(cpu, '{:.2f}')} x CPU "
                  f"(target <= {TARGET_RATIO:.0f}x: {verdict})")
            summary[f"{case}_ratio"] = med
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
