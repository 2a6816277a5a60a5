#!/usr/bin/env python3
"""Demo account generation: `trailtools.demo.generate` against writing the same files, in the same run, in turns.

    python benchmarks/bench_demo.py                 # 3 rounds
    python benchmarks/bench_demo.py --repeat 5 --json benchmarks/data/demo.json

Each round runs two new processes one after the other:
- **generate**: ``generate(DIR)``, the whole demo account (what `make demo` and the tests do first);
- **copy** (the baseline): the account that the first round generated, every file read and written again under a
  new folder: the file-system floor of writing the same ~14,000 files and their bytes.

Figures: wall and CPU seconds per round, their medians, and the median of the per-round ratio generate / copy.
Target: generation in at most 20 s on these 2-core machines (about 10 s when the machine is idle); the ratio to the
copy tells a slow machine from slow code. This used to be a timed assertion in tests/test_demo.py; timing belongs
here, where a busy machine shows beside its baseline.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 20.0

GENERATE = "import sys; from pathlib import Path; from trailtools.demo import generate; generate(Path(sys.argv[1]))"
COPY = ("import shutil, sys; shutil.copytree(sys.argv[1], sys.argv[2], copy_function=lambda s, d: "
        "open(d, 'wb').write(open(s, 'rb').read()))")


def measure(code: str, *args: str) -> dict:
    """Run ``python -c CODE ARGS`` once: wall and CPU seconds (the child's rusage)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"the benchmark's child failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return {"wall_s": wall, "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds (default 3; medians are reported)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    rounds = []
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        first = Path(tmp) / "first"
        measure(GENERATE, str(first))  # the copy's source; also warms the page cache and the imports
        for r in range(args.repeat):
            gen = measure(GENERATE, str(Path(tmp) / f"gen-{r}"))
            copy = measure(COPY, str(first), str(Path(tmp) / f"copy-{r}"))
            rounds.append({"generate": gen, "copy": copy, "ratio": gen["wall_s"] / copy["wall_s"]})
            print(f"round {r + 1}: generate {gen['wall_s']:.1f} s (CPU {gen['cpu_s']:.1f} s), "
                  f"copy {copy['wall_s']:.1f} s (CPU {copy['cpu_s']:.1f} s), ratio {rounds[-1]['ratio']:.1f}x")
    med = {k: statistics.median(r[k]["wall_s"] for r in rounds) for k in ("generate", "copy")}
    ratio = statistics.median(r["ratio"] for r in rounds)
    verdict = "met" if med["generate"] <= TARGET_S else "MISSED"
    print(f"\nmedian of {args.repeat}: generate {med['generate']:.1f} s, copy {med['copy']:.1f} s, ratio {ratio:.1f}x; "
          f"target generate <= {TARGET_S:.0f} s: {verdict}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rounds": rounds, "median_s": med, "median_ratio": ratio,
                                         "target_s": TARGET_S, "met": verdict == "met"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
