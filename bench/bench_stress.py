"""Benchmark the contract stress test: 10,000 runs of the ten-year Staffordshire contract.

Prints the best time of several repeats and its ratio to one pass of plain numpy over
same-shaped arrays (drawing the same random inputs and summing them). Run with
``.venv/bin/python bench/bench_stress.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from commissioning.contracts.load import load_example
from commissioning.contracts.stress import run_stress

N_RUNS = 10_000
REPEATS = 7


def best_of(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    """Best wall-clock seconds of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    contract = load_example("staffordshire_cancer_eol")
    years = contract.duration_years

    def stress() -> object:
        return run_stress(contract, n_runs=N_RUNS, seed=0)

    def plain_numpy() -> float:
        rng = np.random.default_rng(0)
        shape = (N_RUNS, years)
        arrays = [
            rng.normal(0.02, 0.01, shape),
            rng.normal(0.02, 0.01, shape),
            rng.beta(6, 2, N_RUNS),
            rng.beta(8, 2, N_RUNS),
            rng.triangular(0.0, 0.0, 1.0, N_RUNS),
        ]
        return float(sum(a.sum() for a in arrays))

    stress()  # warm up imports and caches
    t_stress = best_of(stress)
    t_plain = best_of(plain_numpy)
    print(
        f"stress test: {N_RUNS:,} runs x {years} years, best of {REPEATS}: {t_stress * 1000:.1f} ms"
    )
    print(f"plain numpy (same random arrays, summed):       {t_plain * 1000:.1f} ms")
    print(f"ratio: {t_stress / t_plain:.1f}x; budget 5 s, used {t_stress / 5 * 100:.2f}%")


if __name__ == "__main__":
    main()
