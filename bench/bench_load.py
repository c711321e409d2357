"""Benchmark the loader: a synthetic population loaded into a new store.

Writes (or reuses, if the folder already holds one) a synthetic population of one year
with ``commissioning synth``, then times ``load_files`` of every file into a fresh DuckDB
file against a baseline: a plain DuckDB read of the same files into the same kind of
store (``CREATE TABLE t AS SELECT * FROM read_parquet(...)`` per file), with no checks,
no pseudonyms and no keys. The two are interleaved (loader, baseline, loader, ...),
each in a fresh interpreter so that its peak resident memory is its own, and the ratio
of the medians survives a busy machine. Goal: 3,000,000 people under 4 GB and within 3
times the plain read.

Run with ``.venv/bin/python bench/bench_load.py [--people N] [--folder F] [--rounds R]``.
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
from typing import Any

GOAL_RATIO = 3.0
GOAL_BYTES = 4 * 1024**3
ROOT = Path(__file__).resolve().parent.parent


def loader_job(folder: Path, store: Path) -> dict[str, Any]:
    """Every Parquet file of the folder through ``load_files``, with the demo key."""
    from commissioning.data.load import Source, load_files, table_for_file
    from commissioning.data.pseudonymise import DEMO_KEY
    from commissioning.store.duckdb_store import connect

    start = time.perf_counter()
    con = connect(store)
    sources = [Source(p, table_for_file(p)) for p in sorted(folder.glob("*.parquet"))]
    reports = load_files(con, sources, DEMO_KEY)
    con.close()
    return {
        "wall_s": time.perf_counter() - start,
        "rows": sum(r.rows_read for r in reports),
        "rejected": sum(r.rows_rejected for r in reports),
    }


def baseline_job(folder: Path, store: Path) -> dict[str, Any]:
    """A plain DuckDB read of the same files into a DuckDB file, one table a file."""
    import duckdb

    start = time.perf_counter()
    con = duckdb.connect(str(store))
    rows = 0
    for path in sorted(folder.glob("*.parquet")):
        name = path.name.split(".")[0]
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{path}')")
        rows += con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]  # type: ignore[index]
    con.close()
    return {"wall_s": time.perf_counter() - start, "rows": rows, "rejected": 0}


JOBS = {"loader": loader_job, "baseline": baseline_job}


def run_fresh(job: str, folder: Path) -> dict[str, Any]:
    """One job in a fresh interpreter on a new store; its wall time and peak memory."""
    with tempfile.TemporaryDirectory(prefix="bench_load_") as tmp:
        args = [sys.executable, __file__, "--job", job, "--folder", str(folder)]
        args += ["--store", str(Path(tmp) / "store.duckdb")]
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, env=env, text=True)
        assert proc.stdout is not None
        output = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"{job} failed with status {proc.returncode}")
        result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
        result["peak_bytes"] = usage.ru_maxrss * 1024  # Linux reports KiB
        return result


def ensure_population(folder: Path, people: int, seed: int) -> None:
    """Write a one-year synthetic population to the folder unless one is there."""
    if (folder / "manifest.json").is_file():
        print(f"reusing the population in {folder}")
        return
    print(f"writing {people:,} people to {folder} ...", flush=True)
    cmd = [sys.executable, "-m", "commissioning.cli", "synth", "--people", str(people)]
    cmd += ["--years", "1", "--seed", str(seed), "--out", str(folder)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)


def _gb(n: float) -> str:
    return f"{n / 1024**3:.2f} GB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--folder", type=Path, help="population folder (written if empty)")
    parser.add_argument("--rounds", type=int, default=2, help="loader and baseline runs each")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--job", choices=list(JOBS), help=argparse.SUPPRESS)
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.gettempdir()) / f"bench_pop_{args.people // 1000}k"
    if args.job:  # inside a fresh interpreter
        print(json.dumps(JOBS[args.job](folder, args.store)))
        return

    ensure_population(folder, args.people, args.seed)
    size = sum(p.stat().st_size for p in folder.glob("*.parquet"))
    print(f"population: {folder} ({size / 1e6:.0f} MB of Parquet)")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    results: dict[str, list[dict[str, Any]]] = {"loader": [], "baseline": []}
    for round_ in range(1, args.rounds + 1):
        for job in ("loader", "baseline"):
            result = run_fresh(job, folder)
            results[job].append(result)
            print(
                f"round {round_} {job:<8} {result['wall_s']:7.1f} s  "
                f"{_gb(result['peak_bytes'])}  {result['rows']:,} rows, "
                f"{result['rejected']:,} rejected",
                flush=True,
            )
    wall = {job: statistics.median(r["wall_s"] for r in rs) for job, rs in results.items()}
    peak = {job: max(r["peak_bytes"] for r in rs) for job, rs in results.items()}
    ratio = wall["loader"] / wall["baseline"]
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"loader   median {wall['loader']:.1f} s, peak {_gb(peak['loader'])}")
    print(f"baseline median {wall['baseline']:.1f} s, peak {_gb(peak['baseline'])}")
    memory = peak["loader"] / peak["baseline"]
    print(f"ratio loader / baseline: {ratio:.1f}x time, {memory:.1f}x memory")
    met = ratio <= GOAL_RATIO and peak["loader"] <= GOAL_BYTES
    print(
        f"goal (within {GOAL_RATIO:.0f}x the plain read, under {_gb(GOAL_BYTES)}): "
        + ("met" if met else "not met")
    )


if __name__ == "__main__":
    main()
