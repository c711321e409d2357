"""Benchmark the synthetic population generator: one year for 1,000,000 people.

Times ``generate`` and ``write`` (Parquet) and records the peak resident memory, then
times a baseline of plain numpy over arrays the size of the activity table (drawing as
many Poisson counts and uniform dates and summing them) and prints the ratio. Each job
runs in a fresh interpreter, so its peak memory is its own. Goal: under 120 s and 4 GB
on a 2-core machine.

Run with ``.venv/bin/python bench/bench_synth.py [--people N] [--years Y]``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

GOAL_SECONDS = 120.0
GOAL_BYTES = 4 * 1024**3


def _peak_bytes() -> int:
    """Peak resident set of this process (Linux reports ``ru_maxrss`` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def generator_job(people: int, years: int, seed: int) -> dict[str, Any]:
    """Generate and write one population; wall times, rows and file sizes."""
    from commissioning.synthetic.generate import generate, write
    from commissioning.synthetic.parameters import SyntheticParameters

    params = SyntheticParameters(people=people, years=years, seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        tables = generate(params)
        generated = time.perf_counter()
        write(tables, folder, params)
        written = time.perf_counter()
        rows = {name: table.num_rows for name, table in tables.items()}
        sizes = {name: (folder / f"{name}.parquet").stat().st_size for name in tables}
    return {
        "generate_s": generated - start,
        "write_s": written - generated,
        "rows": rows,
        "bytes": sizes,
        "peak_bytes": _peak_bytes(),
    }


def baseline_job(n: int, people: int, seed: int) -> dict[str, Any]:
    """One pass of plain numpy over ``n`` events: Poisson counts and uniform dates, summed."""
    import numpy as np

    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    counts = rng.poisson(20.0, size=n)
    people_ids = rng.integers(0, people, size=n)
    days = rng.integers(0, 365, size=n)
    costs = rng.uniform(0.0, 500.0, size=n)
    total = float(counts.sum() + people_ids.sum() + days.sum() + costs.sum())
    return {"seconds": time.perf_counter() - start, "peak_bytes": _peak_bytes(), "sum": total}


def run_fresh(fn: Any, *args: Any) -> dict[str, Any]:
    """Run ``fn(*args)`` in a new interpreter and return its result."""
    with mp.get_context("spawn").Pool(1) as pool:
        return dict(pool.apply(fn, args))


def _gb(n: float) -> str:
    return f"{n / 1024**3:.2f} GB"


def _median_total(gens: list[dict[str, Any]]) -> float:
    return statistics.median(g["generate_s"] + g["write_s"] for g in gens)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--years", type=int, default=1)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--rounds", type=int, default=1, help="generator and baseline runs each")
    args = parser.parse_args()

    # Generator and baseline alternate (generator, baseline, generator, ...): the ratio of
    # the medians survives a machine that gets busier or quieter during the run.
    gens, bases = [], []
    for _ in range(args.rounds):
        gens.append(run_fresh(generator_job, args.people, args.years, args.seed))
        n_activity = gens[-1]["rows"]["activity"]
        bases.append(run_fresh(baseline_job, n_activity, args.people, args.seed))
    gen = min(gens, key=lambda g: abs(g["generate_s"] + g["write_s"] - _median_total(gens)))
    gen["peak_bytes"] = max(g["peak_bytes"] for g in gens)
    base = {
        "seconds": statistics.median(b["seconds"] for b in bases),
        "peak_bytes": max(b["peak_bytes"] for b in bases),
    }

    total_s = _median_total(gens)
    print(f"synthetic population: {args.people:,} people, {args.years} year(s), seed {args.seed}")
    print()
    print(f"{'table':<28}{'rows':>14}{'Parquet':>12}")
    for name, rows in gen["rows"].items():
        print(f"{name:<28}{rows:>14,}{gen['bytes'][name] / 1024**2:>10.1f} MB")
    print(f"{'total':<28}{sum(gen['rows'].values()):>14,}")
    print()
    print(f"{'job':<42}{'wall':>10}{'peak RSS':>12}")
    print(f"{'generate':<42}{gen['generate_s']:>9.1f}s")
    print(f"{'write Parquet':<42}{gen['write_s']:>9.1f}s")
    print(f"{'generate + write':<42}{total_s:>9.1f}s{_gb(gen['peak_bytes']):>12}")
    label = f"baseline: plain numpy, {n_activity:,} events"
    print(f"{label:<42}{base['seconds']:>9.2f}s{_gb(base['peak_bytes']):>12}")
    print()
    print(f"ratio generator / baseline: {total_s / base['seconds']:.0f}x")
    met_time = total_s < GOAL_SECONDS
    met_memory = gen["peak_bytes"] < GOAL_BYTES
    print(
        f"goal: under {GOAL_SECONDS:.0f} s and {_gb(GOAL_BYTES)}: "
        f"time {'met' if met_time else 'NOT met'} ({total_s:.1f} s), "
        f"memory {'met' if met_memory else 'NOT met'} ({_gb(gen['peak_bytes'])})"
    )


if __name__ == "__main__":
    main()
