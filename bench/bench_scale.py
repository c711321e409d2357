"""Benchmark: the whole path at scale on DuckDB, each stage beside a plain DuckDB read.

For ``--people N`` (1,000,000 by default; 3,000,000 and 10,000,000 are the sizes
bench/README.md records) and one financial year, it runs, each stage in a fresh
interpreter so that its peak resident memory is its own:

* ``synth``: ``commissioning synth`` writes the population as Parquet (in chunks of a
  million people above that size);
* ``load``: ``load_files`` of every canonical file into a new DuckDB store, with the demo
  key (pseudonymised, every row checked);
* ``person_year``: the person-year table of the store, written to a Parquet file by the
  engine (nothing person-level comes back to Python);
* ``indicators``: every built-in indicator by practice (``compute_all``);
* ``needs``: the needs assessment report (``write_needs_report``) into a temporary folder;

(the analysis stages with DuckDB's memory limit at ``ANALYSIS_MEMORY``, 8 GiB; a load
works within its own 4 GiB)

and, between the stages, the **baseline**: a plain DuckDB read of the same files into a
new DuckDB file (``CREATE TABLE t AS SELECT * FROM read_parquet(...)``, no checks). Each
stage's ratio is to the mean of the baselines run just before and just after it, so a
machine that gets busier during the run moves both. Goals (from the scaling work): a load
of 3,000,000 people under 4 GB and within 3 times the plain read; 10,000,000 people
through person-year and indicators on a 24 GB machine.

    .venv/bin/python bench/bench_scale.py --people 1000000
    .venv/bin/python bench/bench_scale.py --people 10000000 \
        --stages synth,load,person_year,indicators

The population and the store are kept in ``--work`` (default under the system's temporary
folder) and reused by a later run with the same size (``--fresh`` writes them again).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
YEAR = 2021
STAGES = ("synth", "load", "person_year", "indicators", "needs")
#: The load goal, at this size: within 3 times the plain read and under 4 GiB.
LOAD_GOAL_PEOPLE = 3_000_000
LOAD_GOAL_RATIO = 3.0
LOAD_GOAL_BYTES = 4 * 1024**3


# --- the jobs, each run in a fresh interpreter --------------------------------------------


def job_synth(folder: Path, store: Path) -> dict[str, Any]:
    del store
    people = int(folder.name.split("_")[1])
    shutil.rmtree(folder, ignore_errors=True)
    cmd = [sys.executable, "-m", "commissioning.cli", "--quiet", "synth"]
    cmd += ["--people", str(people), "--years", "1", "--out", str(folder)]
    # In this interpreter, not a child of it: the peak measured is the generator's.
    os.execv(sys.executable, cmd)


def job_load(folder: Path, store: Path) -> dict[str, Any]:
    from commissioning.data.load import Source, load_files, table_for_file
    from commissioning.data.pseudonymise import DEMO_KEY
    from commissioning.store.duckdb_store import connect

    for stale in (store, store.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    files = [p for p in sorted(folder.glob("*.parquet")) if not p.stem.startswith("synthetic_")]
    con = connect(store)
    reports = load_files(con, [Source(p, table_for_file(p)) for p in files], DEMO_KEY)
    con.close()
    return {
        "rows": sum(r.rows_read for r in reports),
        "rejected": sum(r.rows_rejected for r in reports),
    }


#: DuckDB's memory limit in the analysis stages (its default is 80% of the machine's
#: memory, which it fills with hash tables when it can; beyond the limit it spills).
ANALYSIS_MEMORY = "8GiB"


def _open(store: Path) -> Any:
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    con.execute(f"SET memory_limit = '{ANALYSIS_MEMORY}'")
    return con


def job_person_year(folder: Path, store: Path) -> dict[str, Any]:
    import duckdb
    import ibis

    from commissioning.population.person_year import person_year_table
    from commissioning.store.duckdb_store import ibis_tables

    con = _open(store)
    out = folder.parent / "person_year.parquet"
    expr = person_year_table(ibis_tables(con), [YEAR])
    ibis.duckdb.from_connection(con).to_parquet(expr, out)
    rows = duckdb.sql(f"SELECT count(*) FROM read_parquet('{out}')").fetchall()[0][0]
    out.unlink()
    return {"rows": int(rows)}


def job_indicators(folder: Path, store: Path) -> dict[str, Any]:
    from commissioning.indicators.compute import compute_all
    from commissioning.store.duckdb_store import ibis_tables

    del folder
    con = _open(store)
    values = compute_all(ibis_tables(con), group_by="practice_code", years=[YEAR])
    return {"rows": len(values), "indicators": int(values.indicator_id.nunique())}


def job_needs(folder: Path, store: Path) -> dict[str, Any]:
    from commissioning.reports.needs_report import write_needs_report
    from commissioning.store.duckdb_store import ibis_tables

    con = _open(store)
    with tempfile.TemporaryDirectory(dir=folder.parent) as out:
        page = write_needs_report(ibis_tables(con), Path(out), [YEAR])
        size = page.stat().st_size
    return {"page_bytes": size}


def job_baseline(folder: Path, store: Path) -> dict[str, Any]:
    import duckdb

    plain = store.with_name("plain.duckdb")
    plain.unlink(missing_ok=True)
    con = duckdb.connect(str(plain))
    rows = 0
    for path in sorted(folder.glob("*.parquet")):
        if path.stem.startswith("synthetic_"):
            continue
        con.execute(f"CREATE TABLE {path.stem} AS SELECT * FROM read_parquet('{path}')")
        rows += con.execute(f"SELECT count(*) FROM {path.stem}").fetchall()[0][0]
    con.close()
    plain.unlink()
    return {"rows": rows}


JOBS = {
    "synth": job_synth,
    "load": job_load,
    "person_year": job_person_year,
    "indicators": job_indicators,
    "needs": job_needs,
    "baseline": job_baseline,
}


# --- the driver ---------------------------------------------------------------------------


def run_fresh(job: str, folder: Path, store: Path) -> dict[str, Any]:
    """One job in a fresh interpreter: its wall time, peak resident memory and result."""
    args = [sys.executable, __file__, "--job", job, "--folder", str(folder), "--store", str(store)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, env=env, text=True)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    lines = output.strip().splitlines()
    result: dict[str, Any] = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    result |= {"job": job, "wall_s": wall, "peak_bytes": usage.ru_maxrss * 1024, "status": code}
    return result


def _gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "bench_scale")
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--fresh", action="store_true", help="write the population again")
    parser.add_argument(
        "--baselines",
        choices=("each", "once"),
        default="each",
        help="a plain read between every two stages (each), or one only (once: for the "
        "largest sizes, where a plain read takes minutes)",
    )
    parser.add_argument("--job", choices=list(JOBS), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.job:  # inside a fresh interpreter
        print(json.dumps(JOBS[args.job](args.folder, args.store)), flush=True)
        return

    stages = [s for s in args.stages.split(",") if s]
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise SystemExit(f"unknown stage(s): {', '.join(sorted(unknown))}; choose from {STAGES}")
    home = args.work / f"people_{args.people}"
    folder, store = home / f"files_{args.people}", home / "store.duckdb"
    home.mkdir(parents=True, exist_ok=True)
    if "synth" in stages and not args.fresh and (folder / "manifest.json").is_file():
        print(f"reusing the population in {folder}")
        stages.remove("synth")
    print(f"{args.people:,} people, one year; load average {os.getloadavg()[0]:.2f}", flush=True)

    rows: list[dict[str, Any]] = []
    before = run_fresh("baseline", folder, store) if "synth" not in stages else None
    for stage in stages:
        result = run_fresh(stage, folder, store)
        if before is None or args.baselines == "each":
            after = run_fresh("baseline", folder, store)
        else:
            after = before
        if before is None:  # after synth: the files exist only now
            before = after
        base = (before["wall_s"] + after["wall_s"]) / 2
        result["baseline_s"] = base
        result["baseline_peak"] = max(before["peak_bytes"], after["peak_bytes"])
        rows.append(result)
        status = "" if result["status"] == 0 else f"  FAILED (exit {result['status']})"
        print(
            f"{stage:<12} {result['wall_s']:8.1f} s  {_gb(result['peak_bytes']):>9}  "
            f"{result['wall_s'] / base:5.1f}x the plain read ({base:.1f} s, "
            f"{_gb(result['baseline_peak'])}){status}  "
            + json.dumps({k: v for k, v in result.items() if k in ("rows", "rejected")}),
            flush=True,
        )
        before = after
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print("\n| stage | wall | peak memory | plain read | ratio |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['job']} | {r['wall_s']:.0f} s | {_gb(r['peak_bytes'])} | "
            f"{r['baseline_s']:.0f} s | {r['wall_s'] / r['baseline_s']:.1f}x |"
        )
    load = next((r for r in rows if r["job"] == "load"), None)
    if load is not None and args.people == LOAD_GOAL_PEOPLE:
        met = (
            load["wall_s"] / load["baseline_s"] <= LOAD_GOAL_RATIO
            and load["peak_bytes"] <= LOAD_GOAL_BYTES
        )
        print(
            f"load goal at {LOAD_GOAL_PEOPLE:,} people (within {LOAD_GOAL_RATIO:.0f}x the plain "
            "read, under "
            f"{_gb(LOAD_GOAL_BYTES)}): {'met' if met else 'not met'}"
        )


if __name__ == "__main__":
    main()
