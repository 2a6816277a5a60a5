#!/usr/bin/env python3
"""Write a synthetic CloudTrail trail (S3 delivery layout) for the loading benchmark.

    python benchmarks/make_corpus.py --events 1000000 --days 30 --out benchmarks/data/corpus --seed 1

The corpus is ``--events`` background events of :func:`trailtools.demo.synth.default_profile` spread evenly over
``--days`` days starting at ``--start`` (16 regions, one ``.json.gz`` per region and 5-minute delivery slot, 1 %
delivered late), written under ``OUT/AWSLogs/...``. Each day is generated and written by its own task
(seed derived from ``--seed`` and the day), so the corpus is the same whatever ``--workers`` is.

``OUT/corpus.json`` records the parameters and the totals (files, events, compressed and JSON bytes). When it
already matches the parameters, the corpus is reused and nothing is written. When it does not, the corpus under
OUT is rebuilt (only a folder holding a ``corpus.json`` or nothing at all is ever cleared).

    python benchmarks/make_corpus.py --replicate-accounts 10 --from /tmp/corpus-1m --out /tmp/corpus-10m

builds a K times larger corpus from one written by this script, without generating anything: its files under K
accounts (an organization trail; benchmarks/replicate.py says what each copy rewrites). Its ``corpus.json`` holds the
source's parameters, K, a hash of the source's manifest and the totals.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT, ROOT / "benchmarks"):  # run from a checkout without installing
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

import replicate  # noqa: E402  (benchmarks/replicate.py, next to this file)

from trailtools.demo import synth  # noqa: E402

MANIFEST = "corpus.json"
FORMAT = 1  # bump when the corpus layout written here changes


def _synth_version() -> str:
    code = Path(synth.__file__).parent  # the generator: synth.py and what it builds records from
    return hashlib.sha256(b"".join((code / f).read_bytes() for f in ("synth.py", "catalog.py", "principals.py")))\
        .hexdigest()[:12]


def _day_task(args: tuple[str, int, str, int, int, str, float]) -> dict:
    out, seed, start_iso, day, events, account, late = args
    start = datetime.fromisoformat(start_iso) + timedelta(days=day)
    profile = synth.default_profile(account)
    day_seed = seed * 1_000_003 + day
    records = synth.iter_records(profile, start=start, end=start + timedelta(days=1), events=events, seed=day_seed)
    res = synth.write_trail(records, Path(out), seed=day_seed, late_fraction=late, workers=2)
    res["day"] = day
    return res


def reusable(out: Path, params: dict, quiet: bool = False) -> dict | None:
    """The manifest of the corpus in ``out`` when it was built with ``params``, else None."""
    manifest_path = out / MANIFEST
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text())
        except ValueError:
            manifest = {}
        if manifest.get("params") == params and (out / "AWSLogs").is_dir():
            if not quiet:
                print(f"reusing corpus {out} ({manifest['files']:,} files, {manifest['events']:,} events)",
                      file=sys.stderr)
            return manifest
    return None


def fresh_partial(out: Path) -> Path:
    """Clear the corpus in ``out`` (only a folder holding a manifest, or empty) and return an empty ``OUT.partial``
    to write the new one into (renamed to ``out`` by :func:`finish`)."""
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise SystemExit(f"{out} exists, is not empty and holds no {MANIFEST}: refusing to overwrite it")
    if out.exists():
        shutil.rmtree(out)
    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


def finish(tmp: Path, out: Path, manifest: dict) -> None:
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    tmp.rename(out)


def replicate_corpus(source: Path, out: Path, k: int, *, workers: int | None = None, quiet: bool = False) -> dict:
    """Build (or reuse) in ``out`` the corpus of ``source`` replicated across ``k`` accounts (benchmarks/replicate.py);
    returns the manifest. ``source`` is only read."""
    source, out = Path(source).resolve(), Path(out).resolve()
    if not (source / MANIFEST).is_file():
        raise SystemExit(f"{source} holds no {MANIFEST}: --from needs a corpus written by this script")
    if out == source or source in out.parents or out in source.parents:
        raise SystemExit("--out must be outside the source corpus (and not contain it)")
    params = replicate.params_for(source, k)
    manifest = reusable(out, params, quiet)
    if manifest:
        return manifest
    tmp = fresh_partial(out)
    t0 = time.perf_counter()
    totals = replicate.replicate(source, tmp, k, workers=workers, quiet=quiet)
    manifest = {"params": params, **totals, "source": str(source), "seconds": round(time.perf_counter() - t0, 1),
                "created": datetime.now(UTC).isoformat(timespec="seconds")}
    finish(tmp, out, manifest)
    if not quiet:
        print(f"done: {totals['files']:,} files, {totals['events']:,} events in {k} accounts, "
              f"{totals['bytes'] / 1e6:,.0f} MB gzip, {totals['json_bytes'] / 1e6:,.0f} MB JSON "
              f"in {manifest['seconds']} s", file=sys.stderr)
    return manifest


def make_corpus(out: Path, *, events: int = 1_000_000, days: int = 30, seed: int = 1,
                start: str = "2026-10-01T00:00:00+00:00", account: str = "111122223333",
                late_fraction: float = 0.01, workers: int | None = None, quiet: bool = False) -> dict:
    """Build (or reuse) the corpus in ``out``; returns the manifest."""
    out = Path(out)
    first = datetime.fromisoformat(start)
    first = first.replace(tzinfo=UTC) if first.tzinfo is None else first.astimezone(UTC)
    params = {"format": FORMAT, "synth": _synth_version(), "events": events, "days": days, "seed": seed,
              "start": first.isoformat(), "account": account,
              "late_fraction": late_fraction}
    manifest = reusable(out, params, quiet)
    if manifest:
        return manifest
    tmp = fresh_partial(out)

    per_day = [events // days + (1 if d < events % days else 0) for d in range(days)]
    tasks = [(str(tmp), seed, params["start"], d, n, account, late_fraction) for d, n in enumerate(per_day) if n]
    workers = workers or max(1, len(os.sched_getaffinity(0)))
    t0 = time.perf_counter()
    totals = {"files": 0, "events": 0, "bytes": 0, "json_bytes": 0}
    if not quiet:
        print(f"writing {events:,} events over {days} days to {out} with {workers} processes ...", file=sys.stderr)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for i, res in enumerate(pool.map(_day_task, tasks)):
            for k in totals:
                totals[k] += res[k]
            if not quiet and (i + 1) % max(1, len(tasks) // 10) == 0:
                print(f"  {i + 1}/{len(tasks)} days, {totals['events']:,} events, {totals['files']:,} files, "
                      f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
    manifest = {"params": params, **totals, "seconds": round(time.perf_counter() - t0, 1),
                "created": datetime.now(UTC).isoformat(timespec="seconds")}
    finish(tmp, out, manifest)
    if not quiet:
        print(f"done: {totals['files']:,} files, {totals['events']:,} events, "
              f"{totals['bytes'] / 1e6:,.0f} MB gzip, {totals['json_bytes'] / 1e6:,.0f} MB JSON "
              f"in {manifest['seconds']} s", file=sys.stderr)
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "data" / "corpus")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start", default="2026-10-01T00:00:00+00:00", help="first day (UTC)")
    ap.add_argument("--late-fraction", type=float, default=0.01)
    ap.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    ap.add_argument("--replicate-accounts", type=int, metavar="K",
                    help="instead of generating: copy the corpus in --from under K accounts (its own and K-1 more), "
                         "K times its events: an organization trail (see benchmarks/replicate.py)")
    ap.add_argument("--from", dest="source", type=Path, metavar="DIR", help="with --replicate-accounts: the corpus "
                    "to replicate (only read)")
    a = ap.parse_args(argv)
    if a.replicate_accounts is not None or a.source is not None:
        if not a.source or not a.replicate_accounts or a.replicate_accounts < 1:
            ap.error("--replicate-accounts K (K >= 1) and --from DIR go together")
        m = replicate_corpus(a.source, a.out, a.replicate_accounts, workers=a.workers)
        print(json.dumps({k: v for k, v in m.items() if k != "params"}))
        return 0
    if a.events < 1 or a.days < 1:
        ap.error("--events and --days must be positive")
    m = make_corpus(a.out, events=a.events, days=a.days, seed=a.seed, start=a.start,
                    late_fraction=a.late_fraction, workers=a.workers)
    print(json.dumps({k: v for k, v in m.items() if k != "params"}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
