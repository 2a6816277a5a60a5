#!/usr/bin/env python3
"""Loading benchmark: a synthetic trail read the naive way and with trailtools, each in a fresh process.

    python benchmarks/bench_load.py                      # 1,000,000 events over 30 days, 3 repeats
    python benchmarks/bench_load.py --events 20000       # smoke run, well under a minute

Cases (each repeat is a new Python process, so peak memory is per measurement):
  naive     json + gzip per file, then pandas.json_normalize over all records (what most notebooks do)
  floor     what any reader must do: every file gunzipped (ISA-L) and decoded into the reader's typed records
            (msgspec, trailtools.events.records.Envelope), split over as many forked processes as the loader uses
            (--workers, default all cores), no frame built
  full      trailtools load_events(corpus, Query(), cache=False)
  cold      load_events(..., cache=True) with an empty cache (parses and writes the Arrow IPC cache)
  warm      load_events(..., cache=True) again: served from the cache the cold run wrote
  one-day   load_events(corpus, Query(start=<middle day>, end=<next day>), cache=False)

Seconds are the wall time of the load call inside the child (interpreter start-up and imports excluded; they are
shown separately). The floor, the full load, the cold load and the one-day query, whose ratios are targets, are
measured in turns (floor, full, cold, one-day, floor, ...), so that the medians come from the same stretch of a
shared machine's ups and downs; those ratios are taken round by round. The warm runs come after. Memory: the child's own peak RSS (getrusage), the peak RSS of its largest worker process, and
the peak of the summed RSS of the whole process tree (child + workers) sampled from /proc every 20 ms - an upper
bound, as pages a forked worker shares with its parent count twice. The cache lives in a temporary directory
(TRAILTOOLS_CACHE_DIR), never in ~/.cache.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from harness import Sampler, busy_s, cpu_model, loadavg, own_cpu_s, wait_idle

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# issue 2: full_s, full_mem_gb, naive_ratio, oneday_ratio; issue 21: warm_s (was 1.5), floor_ratio, cold_ratio
TARGETS = {"full_s": 8.0, "full_mem_gb": 1.2, "naive_ratio": 10.0, "oneday_ratio": 20.0, "warm_s": 1.0,
           "floor_ratio": 2.0, "cold_ratio": 1.10}
CASES = ("naive", "floor", "full", "cold", "warm", "one-day")


def _floor_part(paths: list[str]) -> tuple[int, int]:
    """Gunzip and decode into the reader's typed records (msgspec), nothing more: (records, bytes read)."""
    import msgspec
    from isal import igzip

    from trailtools.events.records import Envelope

    decode = msgspec.json.Decoder(Envelope).decode
    n = nbytes = 0
    for path in paths:
        with open(path, "rb") as fh:
            data = fh.read()
        nbytes += len(data)
        n += len(decode(igzip.decompress(data)).Records)
    return n, nbytes


# ------------------------------------------------------------------------------------------------ child
def _child(spec: dict) -> dict:
    """Run one measurement in this (fresh) process and return its figures."""
    import resource

    t_import = time.perf_counter()
    out: dict = {}
    if spec["mode"] == "naive":
        import gzip

        import pandas as pd

        imported = time.perf_counter()
        cpu0 = own_cpu_s()
        t0 = time.perf_counter()
        records: list = []
        nbytes = 0
        for path in sorted(Path(spec["corpus"]).rglob("*.json.gz")):
            data = path.read_bytes()
            nbytes += len(data)
            records.extend(json.loads(gzip.decompress(data))["Records"])
        frame = pd.json_normalize(records)
        seconds = time.perf_counter() - t0
        out.update(events=len(frame), columns=len(frame.columns), bytes_read=nbytes)
    elif spec["mode"] == "floor":
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        sys.path.insert(0, str(ROOT))
        import trailtools.events.records  # noqa: F401  (imported before the fork, as the loader's workers have it)

        imported = time.perf_counter()
        cpu0 = own_cpu_s()
        t0 = time.perf_counter()
        files = sorted(os.path.join(d, f) for d, _, names in os.walk(spec["corpus"]) for f in names
                       if f.endswith(".json.gz"))  # os.walk: 0.2 s for 120k files, a fifth of Path.rglob
        n = spec.get("workers") or len(os.sched_getaffinity(0))
        with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("fork")) as pool:
            parts = list(pool.map(_floor_part, [files[i::n] for i in range(n)]))
        seconds = time.perf_counter() - t0
        out.update(events=sum(p[0] for p in parts), columns=0, bytes_read=sum(p[1] for p in parts),
                   files_read=len(files))
    else:
        sys.path.insert(0, str(ROOT))
        from trailtools import Query, load_events

        imported = time.perf_counter()
        query = Query(start=spec.get("start"), end=spec.get("end")) if spec.get("start") else Query()
        cpu0 = own_cpu_s()
        t0 = time.perf_counter()
        res = load_events(spec["corpus"], query, cache=spec["cache"], workers=spec.get("workers"), progress=False)
        seconds = time.perf_counter() - t0
        st = res.stats
        out.update(events=len(res.frame), columns=len(res.frame.columns), files_read=st.files_read,
                   files_pruned=st.files_pruned, files_cached=st.files_cached, bytes_read=st.bytes_read,
                   duplicates_dropped=st.duplicates_dropped, skipped=st.files_skipped + st.records_skipped)
    out["seconds"] = seconds
    out["cpu_s"] = own_cpu_s() - cpu0  # the load call's CPU seconds, its worker processes included
    out["import_s"] = imported - t_import
    out["rss_self_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["rss_workers_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return out


def measure(spec: dict, env: dict | None = None, mem_limit_mb: float | None = None) -> dict:
    """Run ``spec`` in a fresh interpreter; its figures plus the sampled peak RSS of its process tree.

    ``other_cpu_pct``: CPU used by processes outside this benchmark while the child ran, as a share of all cores -
    anything above a few percent means the figures are inflated by other work on the machine. Past ``mem_limit_mb``
    of summed RSS the child's process group is killed (so a load that does not fit never makes the machine swap).
    """
    busy0, own0 = busy_s(), own_cpu_s()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})}, start_new_session=True)
    sampler = Sampler(proc.pid, limit_kb=int(mem_limit_mb * 1024) if mem_limit_mb else None,
                      on_limit=lambda: os.killpg(proc.pid, signal.SIGKILL))
    sampler.start()
    stdout, stderr = proc.communicate()
    sampler.done.set()
    sampler.join()
    if sampler.tripped:
        raise RuntimeError(f"{spec['mode']} child killed: its processes went past {mem_limit_mb:,.0f} MB "
                           "(--mem-limit-gb)")
    if proc.returncode != 0:
        raise RuntimeError(f"{spec['mode']} child failed ({proc.returncode}):\n{stderr[-4000:]}")
    res = json.loads(stdout.strip().splitlines()[-1])
    res["tree_rss_mb"] = sampler.peak_kb / 1024
    res["process_s"] = time.perf_counter() - started
    foreign = max(0.0, (busy_s() - busy0) - (own_cpu_s() - own0))
    res["other_cpu_pct"] = 100 * foreign / (res["process_s"] * (os.cpu_count() or 1))
    res["peak_mb"] = max(res["tree_rss_mb"], res["rss_self_mb"])
    res["load_avg"] = loadavg()
    return res


# ----------------------------------------------------------------------------------------------- report
def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _fmt_mb(mb: float) -> str:
    return f"{mb / 1024:.2f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def summarize(name: str, runs: list[dict], manifest: dict, max_other_cpu: float = 100.0) -> dict:
    """Figures of a case: over the undisturbed runs (other CPU <= max_other_cpu) when there are any."""
    clean = [r for r in runs if r["other_cpu_pct"] <= max_other_cpu]
    all_runs, runs = runs, clean or runs
    secs = [r["seconds"] for r in runs]
    med = statistics.median(secs)
    events = runs[0]["events"]
    # bytes actually read: the whole corpus for full loads, the files a query kept for one-day
    comp = runs[0].get("bytes_read") or manifest["bytes"]
    if name in ("warm",):
        comp = manifest["bytes"]  # served from the cache; the rate is relative to the trail it stands for
    json_bytes = comp * manifest["json_bytes"] / manifest["bytes"]
    return {"case": name, "events": events, "runs": len(runs), "median_s": med, "min_s": min(secs),
            "max_s": max(secs), "cpu_s": statistics.median(r.get("cpu_s", float("nan")) for r in runs),
            "events_per_s": events / med if med else float("inf"),
            "mb_s_gz": comp / 1e6 / med if med else float("inf"),
            "mb_s_json": json_bytes / 1e6 / med if med else float("inf"),
            "peak_mb": max(r["peak_mb"] for r in runs), "rss_self_mb": max(r["rss_self_mb"] for r in runs),
            "rss_workers_mb": max(r["rss_workers_mb"] for r in runs),
            "tree_rss_mb": max(r["tree_rss_mb"] for r in runs), "import_s": _median(runs, "import_s"),
            "files_read": runs[0].get("files_read"), "files_pruned": runs[0].get("files_pruned"),
            "files_cached": runs[0].get("files_cached"), "other_cpu_pct": max(r["other_cpu_pct"] for r in runs),
            "clean_runs": len(clean), "total_runs": len(all_runs),
            "all_seconds": [round(r["seconds"], 3) for r in all_runs], "runs_detail": all_runs,
            "all_other_cpu_pct": [round(r["other_cpu_pct"], 1) for r in all_runs]}


def _paired(a: dict, b: dict, max_other_cpu: float) -> tuple[float, str]:
    """The median of the round-by-round ratios a / b (undisturbed rounds; all rounds when none is), and its range."""
    rounds = list(zip(a["all_seconds"], b["all_seconds"], a["all_other_cpu_pct"], b["all_other_cpu_pct"]))
    ratios = [x / y for x, y, p, q in rounds if max(p, q) <= max_other_cpu and y] or [x / y for x, y, *_ in rounds]
    med = statistics.median(ratios)
    return med, f" median of {len(ratios)} rounds ({min(ratios):.2f}-{max(ratios):.2f})"


def render(rows: list[dict], manifest: dict, args: argparse.Namespace) -> str:
    by = {r["case"]: r for r in rows}
    labels = {"naive": "naive json+json_normalize", "floor": "floor: gunzip + typed parse, no frame",
              "full": "trailtools, cache off", "cold": "trailtools, cache cold",
              "warm": "trailtools, cache warm", "one-day": "trailtools, one-day query"}
    targets = {"full": f"<= {TARGETS['full_s']:g} s, <= {TARGETS['full_mem_gb']:g} GB",
               "warm": f"<= {TARGETS['warm_s']:g} s"}
    lines = [
        f"corpus: {manifest['events']:,} events, {manifest['files']:,} files, {manifest['bytes'] / 1e6:,.0f} MB gzip, "
        f"{manifest['json_bytes'] / 1e6:,.0f} MB JSON, {manifest['params']['days']} days",
        f"machine: {os.cpu_count()} CPUs ({cpu_model()}), Python {platform.python_version()}; "
        f"repeats: {args.repeat} (naive {args.naive_repeat})",
        "",
        "| case | events | runs used | median s (min-max) | CPU s | events/s | MB/s gz | MB/s JSON | peak mem | main RSS | "
        "worker RSS | files read/pruned/cached | other CPU | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        files = "/".join("-" if r[k] is None else f"{r[k]:,}" for k in ("files_read", "files_pruned", "files_cached"))
        lines.append(
            f"| {labels.get(r['case'], r['case'])} | {r['events']:,} | {r['runs']}/{r['total_runs']} | "
            f"{r['median_s']:.2f} ({r['min_s']:.2f}-"
            f"{r['max_s']:.2f}) | {r['cpu_s']:.1f} | {r['events_per_s']:,.0f} | {r['mb_s_gz']:,.1f} | {r['mb_s_json']:,.1f} | "
            f"{_fmt_mb(r['peak_mb'])} | {_fmt_mb(r['rss_self_mb'])} | {_fmt_mb(r['rss_workers_mb'])} | {files} | "
            f"{r['other_cpu_pct']:.0f} % | {targets.get(r['case'], '')} |")
    lines.append("")
    checks = []
    if "full" in by:
        f = by["full"]
        checks.append(("full load median", f"{f['median_s']:.2f} s", f"<= {TARGETS['full_s']:g} s",
                       f["median_s"] <= TARGETS["full_s"]))
        checks.append(("full load peak memory", _fmt_mb(f["peak_mb"]), f"<= {TARGETS['full_mem_gb']:g} GB",
                       f["peak_mb"] <= TARGETS["full_mem_gb"] * 1024))
        if "naive" in by:
            ratio = by["naive"]["median_s"] / f["median_s"]
            checks.append(("naive / trailtools", f"{ratio:.1f}x", f">= {TARGETS['naive_ratio']:g}x",
                           ratio >= TARGETS["naive_ratio"]))
            mratio = by["naive"]["peak_mb"] / f["peak_mb"]
            checks.append(("naive / trailtools peak memory", f"{mratio:.1f}x", "", None))
        if "one-day" in by:
            d = by["one-day"]
            ratio = f["median_s"] / d["median_s"]
            checks.append(("full / one-day query", f"{ratio:.1f}x", f">= {TARGETS['oneday_ratio']:g}x",
                           ratio >= TARGETS["oneday_ratio"]))
            # the two cases ran in turns: the ratio within each round, free of drifts between rounds
            paired = [a / b for a, b, x, y in zip(f["all_seconds"], d["all_seconds"], f["all_other_cpu_pct"],
                                                  d["all_other_cpu_pct"]) if max(x, y) <= args.max_other_cpu and b]
            if paired:
                checks.append((f"full / one-day query, each round ({len(paired)})",
                               f"{statistics.median(paired):.1f}x median ({min(paired):.1f}-{max(paired):.1f})",
                               "", None))
    if "warm" in by:
        w = by["warm"]
        checks.append(("warm cache median", f"{w['median_s']:.2f} s", f"<= {TARGETS['warm_s']:g} s",
                       w["median_s"] <= TARGETS["warm_s"]))
        if "full" in by:
            checks.append(("full / warm", f"{by['full']['median_s'] / w['median_s']:.1f}x", "", None))
    for a, b, key, what in (("full", "floor", "floor_ratio", "full load / floor (issue 21)"),
                            ("cold", "full", "cold_ratio", "first load, writing the cache / cache off (issue 21)")):
        if a in by and b in by:
            ratio, spread = _paired(by[a], by[b], args.max_other_cpu)
            checks.append((what, f"{ratio:.2f}x{spread}", f"<= {TARGETS[key]:g}x", ratio <= TARGETS[key]))
            cpu = [x["cpu_s"] / y["cpu_s"] for x, y in zip(by[a]["runs_detail"], by[b]["runs_detail"]) if y["cpu_s"]]
            if cpu:
                checks.append((f"{what}, CPU s", f"{statistics.median(cpu):.2f}x ({min(cpu):.2f}-{max(cpu):.2f})",
                               "", None))
    note = "" if manifest["events"] >= 1_000_000 else " (targets are for 1,000,000 events; this is a smaller run)"
    lines.append(f"| check | measured | target | |{note}")
    lines.append("|---|---:|---:|---|")
    for name, got, want, ok in checks:
        lines.append(f"| {name} | {got} | {want} | {'' if ok is None else ('met' if ok else 'MISSED')} |")
    imports = ", ".join(f"{r['case']} {r['import_s']:.2f} s" for r in rows)
    lines += ["", f"imports in the child (not in the figures): {imports}"]
    loads = [run["load_avg"][0] for row in rows for run in row["runs_detail"]]
    if loads:
        lines.append(f"load average (1 min) after each run: {min(loads):.1f}-{max(loads):.1f}")
    busy = max((r["other_cpu_pct"] for r in rows), default=0)
    if busy > args.max_other_cpu:
        lines.append(f"WARNING: other processes used up to {busy:.0f} % of the machine's CPU during runs that had to "
                     "be used (column 'other CPU'); those figures are inflated. Re-run on an idle machine.")
    dropped = sum(r["total_runs"] - r["runs"] for r in rows)
    if dropped:
        lines.append(f"{dropped} run(s) disturbed by other processes (> {args.max_other_cpu:g} % other CPU) were "
                     "measured and left out; every run is in the --json output.")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="runs per case (median reported)")
    ap.add_argument("--naive-repeat", type=int, default=None,
                    help="runs of the naive baseline (default: --repeat; it takes ~90 s and ~10 GB at 1M events)")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--corpus", type=Path, default=None,
                    help="an existing corpus folder (make_corpus.py's, with its corpus.json) instead of --events, "
                         "--days, --seed")
    ap.add_argument("--workers", type=int, default=None, help="trailtools worker processes (default: all cores)")
    ap.add_argument("--data", type=Path, default=HERE / "data", help="where corpora are kept (git-ignored)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    ap.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                    help="before each run, wait up to this long for the machine to be idle (shared machines)")
    ap.add_argument("--max-other-cpu", type=float, default=10.0, metavar="PCT",
                    help="a run during which other processes used more than this share of the CPU is disturbed: "
                         "figures come from undisturbed runs when there are any (default 10)")
    ap.add_argument("--retries", type=int, default=None,
                    help="extra runs per case to replace disturbed ones (default: --repeat)")
    ap.add_argument("--mem-limit-gb", type=float, default=None,
                    help="kill a run whose processes' summed RSS goes past this (the benchmark then stops)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(json.loads(args.child))))
        return 0
    args.naive_repeat = args.naive_repeat or args.repeat
    args.retries = args.repeat if args.retries is None else args.retries
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = set(cases) - set(CASES)
    if unknown:
        ap.error(f"unknown cases: {', '.join(sorted(unknown))}")

    sys.path.insert(0, str(HERE))
    from make_corpus import make_corpus

    if args.corpus:
        corpus = args.corpus
        manifest = json.loads((corpus / "corpus.json").read_text())
        args.days = manifest["params"]["days"]
    else:
        corpus = args.data / f"corpus-{args.events}-{args.days}d-s{args.seed}"
        manifest = make_corpus(corpus, events=args.events, days=args.days, seed=args.seed)
    start = datetime.fromisoformat(manifest["params"]["start"]) + timedelta(days=args.days // 2)
    base = {"corpus": str(corpus), "workers": args.workers}
    rows: list[dict] = []
    mem_limit = args.mem_limit_gb * 1024 if args.mem_limit_gb else None
    cache_parent = Path(tempfile.mkdtemp(prefix="trailtools-bench-cache-"))
    try:
        def run(*jobs: tuple) -> None:
            """Jobs ``(name, spec, n, env_for[, retries])``: n runs each; a run disturbed by other processes (see
            --max-other-cpu) is repeated, --retries at most. Several jobs run in turns (one run of each, then the
            next round), so that cases compared with each other see the same machine: shared machines drift over
            minutes, and a ratio of medians taken minutes apart moves with them."""
            todo = []
            for name, spec, n, env_for, *rest in jobs:
                todo.append({"name": name, "spec": spec, "n": n, "env_for": env_for, "runs": [],
                             "retries": rest[0] if rest else args.retries})

            def wanted(job: dict) -> bool:
                clean = sum(r["other_cpu_pct"] <= args.max_other_cpu for r in job["runs"])
                return clean < job["n"] and (len(job["runs"]) < job["n"] or job["retries"] > 0)

            while any(wanted(job) for job in todo):
                for job in todo:
                    if not wanted(job):
                        continue
                    if len(job["runs"]) >= job["n"]:
                        job["retries"] -= 1
                    if args.wait_idle:
                        waited = wait_idle(args.wait_idle)
                        if waited > 2.5:
                            print(f"  (waited {waited:.0f} s for an idle machine)", file=sys.stderr, flush=True)
                    r = measure(job["spec"], job["env_for"](len(job["runs"])), mem_limit)
                    job["runs"].append(r)
                    print(f"  {job['name']} run {len(job['runs'])}: {r['seconds']:.2f} s, {r['events']:,} events, "
                          f"peak {_fmt_mb(r['peak_mb'])}, other CPU {r['other_cpu_pct']:.0f} %", file=sys.stderr,
                          flush=True)
            for job in todo:
                rows.append(summarize(job["name"], job["runs"], manifest, args.max_other_cpu))

        no_cache_env = {"TRAILTOOLS_CACHE_DIR": str(cache_parent / "unused")}
        if "naive" in cases:
            run(("naive", {"mode": "naive", **base}, args.naive_repeat, lambda i: None,
                 min(args.retries, args.naive_repeat)))
        def cold_env(i: int) -> dict:
            d = cache_parent / f"cold-{i}"
            shutil.rmtree(d, ignore_errors=True)
            return {"TRAILTOOLS_CACHE_DIR": str(d)}

        # the cases whose ratios are targets (full / floor, cold / full, full / one-day) are measured in turns
        turns = []
        if "floor" in cases:
            turns.append(("floor", {"mode": "floor", **base}, args.repeat, lambda i: no_cache_env))
        if "full" in cases:
            turns.append(("full", {"mode": "load", "cache": False, **base}, args.repeat, lambda i: no_cache_env))
        if "cold" in cases:
            turns.append(("cold", {"mode": "load", "cache": True, **base}, args.repeat, cold_env))
        if "one-day" in cases:
            turns.append(("one-day", {"mode": "load", "cache": False, "start": start.isoformat(),
                                      "end": (start + timedelta(days=1)).isoformat(), **base}, args.repeat,
                          lambda i: no_cache_env))
        if turns:
            run(*turns)
        if "warm" in cases:
            if "cold" not in cases:  # one cold load writes the cache the warm runs read
                run(("cold", {"mode": "load", "cache": True, **base}, 1, cold_env))
                rows.pop()
            warm_env = {"TRAILTOOLS_CACHE_DIR": str(cache_parent / "cold-0")}
            run(("warm", {"mode": "load", "cache": True, **base}, args.repeat, lambda i: warm_env))
    except RuntimeError as exc:  # a child failed or was killed: say which, without a traceback
        raise SystemExit(str(exc)) from None
    finally:
        shutil.rmtree(cache_parent, ignore_errors=True)
    # sanity: every full load must return the whole corpus
    for r in rows:
        if r["case"] in ("naive", "floor", "full", "cold", "warm") and r["events"] != manifest["events"]:
            print(f"WARNING: {r['case']} returned {r['events']:,} events, the corpus has {manifest['events']:,}",
                  file=sys.stderr)
    print(render(rows, manifest, args))
    if args.json:
        args.json.write_text(json.dumps({"date": datetime.now(UTC).isoformat(timespec="seconds"),
                                         "command": " ".join([Path(sys.executable).name, *sys.argv]),
                                         "nproc": os.cpu_count(), "cpu": cpu_model(),
                                         "corpus": {k: v for k, v in manifest.items()},
                                         "targets": TARGETS, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
