"""Benchmark: every built-in indicator by practice for a one-place population.

Generates ``--people`` synthetic people (default 1,000,000) in one place (Northvale) for
one financial year, loads them into an in-memory DuckDB store, then times computing all
indicators by practice, ``--rounds`` times, each round after one scan of the activity
table (``SELECT count(*), sum(cost_gbp) FROM activity``, the baseline). The goal is under
30 seconds; the ratio of the medians is printed so the figure can be compared across
machines and survives a busy one.

    python bench/bench_indicators.py --people 200000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from commissioning.data.load import Source, load_files, table_for_file
from commissioning.data.pseudonymise import DEMO_KEY
from commissioning.indicators.compute import compute_indicator
from commissioning.indicators.library import default_library
from commissioning.store.duckdb_store import connect, ibis_tables
from commissioning.synthetic.generate import generate, write
from commissioning.synthetic.parameters import PlaceSpec, SyntheticParameters

GOAL_SECONDS = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3, help="scan and indicators, alternating")
    args = parser.parse_args()
    params = SyntheticParameters(
        people=args.people,
        years=1,
        places=(
            PlaceSpec(
                place_code="NVL", place_name="Northvale", rurality="mixed", population_share=1.0
            ),
        ),
    )
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write(generate(params), folder, params)
        t_gen = time.perf_counter() - t0
        con = connect(":memory:")
        t1 = time.perf_counter()
        files = sorted(folder.glob("*.parquet"))
        load_files(con, [Source(p, table_for_file(p)) for p in files], DEMO_KEY)
        t_load = time.perf_counter() - t1
    tables = ibis_tables(con)
    rows = con.execute("SELECT count(*) FROM activity").fetchone()
    practices = con.execute("SELECT count(*) FROM gp_practices").fetchone()
    # The scan (the baseline) and the indicators alternate, and the medians are compared,
    # so the ratio survives a machine that gets busier or quieter during the run.
    years = [params.first_year]
    scans: list[float] = []
    totals: list[float] = []
    timings: dict[str, float] = {}
    for _ in range(args.rounds):
        t = time.perf_counter()
        con.execute("SELECT count(*), sum(cost_gbp) FROM activity").fetchall()
        scans.append(time.perf_counter() - t)
        t_all = time.perf_counter()
        for ind in default_library().indicators:
            t = time.perf_counter()
            compute_indicator(tables, ind.id, "practice_code", years)
            timings[ind.id] = time.perf_counter() - t
        totals.append(time.perf_counter() - t_all)
    scan_s, total = statistics.median(scans), statistics.median(totals)
    print(
        f"people: {args.people:,}; practices: {practices[0] if practices else 0}; "
        f"activity rows: {rows[0] if rows else 0:,}"
    )
    print(f"generate {t_gen:.1f} s; load into store {t_load:.1f} s")
    for name, seconds in sorted(timings.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<32} {seconds:6.2f} s")
    print(f"all {len(timings)} indicators by practice: {total:.2f} s (goal < {GOAL_SECONDS:.0f} s)")
    print(f"one scan of activity: {scan_s * 1000:.1f} ms; ratio {total / scan_s:,.0f}x")


if __name__ == "__main__":
    main()
