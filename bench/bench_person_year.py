"""Benchmark: the person-year table for 1,000,000 people and one year on DuckDB.

Goals: under 60 s and 4 GB peak memory; at least 10 times faster than a plain pandas
implementation of the same computation; within 4 times one scan of the activity table.
Each measurement runs in a fresh subprocess so that peak memory (ru_maxrss) is its own;
the DuckDB build (written by the engine to Parquet) and the scan alternate ``--rounds``
times and the medians are compared, so the ratio survives a busy machine.

    .venv/bin/python bench/bench_person_year.py [--people 1000000] [--work /tmp/pyb] [--rounds 2]

The population is generated and loaded into a DuckDB store file once and reused.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

YEAR = 2021


def prepare(work: Path, people: int) -> Path:
    store = work / f"store_{people}.duckdb"
    if store.exists():
        return store
    from commissioning.data.load import Source, load_files, table_for_file
    from commissioning.data.pseudonymise import DEMO_KEY
    from commissioning.store.duckdb_store import connect
    from commissioning.synthetic.generate import synthesise
    from commissioning.synthetic.parameters import SyntheticParameters

    folder = work / f"files_{people}"
    if not (folder / "manifest.json").exists():
        synthesise(SyntheticParameters(people=people, years=1), folder)
    con = connect(str(store))
    load_files(
        con, [Source(p, table_for_file(p)) for p in sorted(folder.glob("*.parquet"))], DEMO_KEY
    )
    con.close()
    return store


def run_duckdb(store: str) -> dict[str, float]:
    """The person-year table written by the engine to a Parquet file (no person-level
    rows come back to Python)."""
    import ibis

    from commissioning.population.person_year import person_year_table
    from commissioning.store.duckdb_store import connect, ibis_tables

    con = connect(store, read_only=True)
    out = Path(store).with_name("person_year_bench.parquet")
    start = time.perf_counter()
    ibis.duckdb.from_connection(con).to_parquet(person_year_table(ibis_tables(con), [YEAR]), out)
    seconds = time.perf_counter() - start
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchall()[0][0]
    out.unlink()
    return {"seconds": seconds, "rows": rows}


def run_scan(store: str) -> dict[str, float]:
    from commissioning.store.duckdb_store import connect

    con = connect(store, read_only=True)
    start = time.perf_counter()
    rows = con.execute(
        "SELECT person_id, count(*), sum(cost_gbp) FROM activity GROUP BY person_id"
    ).fetchall()
    return {"seconds": time.perf_counter() - start, "rows": len(rows)}


def run_pandas(store: str) -> dict[str, float]:
    """The same computation in plain pandas (tables read into memory first, untimed)."""
    import numpy as np
    import pandas as pd

    from commissioning.core.schema import SETTINGS, condition_codes
    from commissioning.population import codes as C
    from commissioning.store.duckdb_store import connect

    con = connect(store, read_only=True)
    people = con.execute("SELECT * FROM people").df()
    practices = con.execute("SELECT practice_code, place_code FROM gp_practices").df()
    cond = con.execute("SELECT * FROM conditions").df()
    act = con.execute("SELECT * FROM activity").df()
    start = time.perf_counter()
    ys, ye = pd.Timestamp(YEAR, 4, 1), pd.Timestamp(YEAR + 1, 3, 31)
    census = pd.Timestamp(YEAR, 10, 1)
    for c in ("registration_date", "deregistration_date", "death_date"):
        people[c] = pd.to_datetime(people[c])
    p = people[
        (people.registration_date <= ye)
        & (people.deregistration_date.isna() | (people.deregistration_date >= ys))
        & (people.death_date.isna() | (people.death_date >= ys))
    ].copy()
    p["year"] = YEAR
    p["age_years"] = (YEAR - p.birth_year - (p.birth_month > 10)).clip(lower=0)
    p["age_band"] = np.minimum(p.age_years // 5 * 5, 90)
    p["in_mid_year_population"] = (
        (p.registration_date <= census)
        & (p.deregistration_date.isna() | (p.deregistration_date > census))
        & (p.death_date.isna() | (p.death_date > census))
    ).astype(int)
    p["died_in_year"] = (p.death_date.between(ys, ye)).astype(int)
    p = p.merge(practices, on="practice_code", how="left")
    cond["diagnosis_date"] = pd.to_datetime(cond.diagnosis_date)
    known = cond[cond.diagnosis_date <= ye]
    flags = pd.crosstab(known.person_id, known.condition_code).clip(upper=1)
    flags = flags.reindex(columns=list(condition_codes()), fill_value=0)
    flags.columns = [c.lower() for c in flags.columns]
    p = p.merge(flags, left_on="person_id", right_index=True, how="left")
    p[list(flags.columns)] = p[list(flags.columns)].fillna(0).astype(int)
    p["condition_count"] = p[list(flags.columns)].sum(axis=1)
    act["start_date"] = pd.to_datetime(act.start_date)
    dx = act.primary_diagnosis.fillna("").str.replace(".", "", regex=False)
    for name, prefixes in (("falls", C.FALL_PREFIXES), ("fracture", C.FRAGILITY_FRACTURE_PREFIXES)):
        hit = act[dx.str.startswith(prefixes) & (act.start_date <= ye)].person_id.unique()
        p[f"history_{name}"] = p.person_id.isin(hit).astype(int)
    a = act[(act.start_date >= ys) & (act.start_date <= ye)].copy()
    a["cost"] = a.cost_gbp.astype(float)
    a["acsc"] = dx[a.index].str.startswith(C.ACSC_ICD10_PREFIXES)
    a["emergency"] = a.point_of_delivery == "emergency_admission"
    events = pd.crosstab(a.person_id, a.setting).reindex(columns=list(SETTINGS), fill_value=0)
    costs = a.pivot_table(index="person_id", columns="setting", values="cost", aggfunc="sum")
    costs = costs.reindex(columns=list(SETTINGS)).fillna(0.0)
    use = pd.concat(
        [
            events.add_suffix("_events"),
            costs.add_suffix("_cost_gbp"),
            a.groupby("person_id").agg(
                emergency_admissions=("emergency", "sum"),
                bed_days=("los_days", "sum"),
                total_cost_gbp=("cost", "sum"),
            ),
            a[a.emergency & a.acsc].groupby("person_id").size().rename("acsc_emergency"),
        ],
        axis=1,
    ).fillna(0)
    p = p.merge(use, left_on="person_id", right_index=True, how="left").fillna(
        {c: 0 for c in use.columns}
    )
    deficits = sum(
        p[
            [
                n.replace("history:", "history_")
                for n in names
                if n.replace("history:", "history_") in p.columns
            ]
        ].max(axis=1)
        for _, names in C.EFI_DEFICITS
    )
    p["efi_deficits"] = np.where(p.age_years >= 65, deficits, np.nan)
    p["frailty"] = pd.cut(
        p.efi_deficits, [-1, 4, 8, 12, 99], labels=["fit", "mild", "moderate", "severe"]
    )
    return {"seconds": time.perf_counter() - start, "rows": len(p)}


def peak_memory_gb() -> float:
    """Peak resident memory of this process (VmHWM; ru_maxrss survives exec on Linux, so
    it would report the parent's peak)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024**2
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def child(kind: str, store: str) -> None:
    result = {"duckdb": run_duckdb, "scan": run_scan, "pandas": run_pandas}[kind](store)
    result["peak_gb"] = peak_memory_gb()
    print(json.dumps(result))


def measure(kind: str, store: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--store", str(store)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/commissioning-bench"))
    parser.add_argument("--rounds", type=int, default=2, help="DuckDB and scan runs (2 or more)")
    parser.add_argument("--child")
    parser.add_argument("--store")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.store)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    store = prepare(args.work, args.people)
    # DuckDB and its scan alternate (the ratio of medians survives a busy machine); the
    # pandas version, minutes long, runs once between them.
    runs: dict[str, list[dict[str, float]]] = {"scan": [], "duckdb": [], "pandas": []}
    order = ["scan", "duckdb", "pandas", "scan", "duckdb"] + ["scan", "duckdb"] * (args.rounds - 2)
    for kind in order:
        r = measure(kind, store)
        runs[kind].append(r)
        print(f"{kind:>7}: {r['seconds']:7.2f} s  peak {r['peak_gb']:.2f} GB  rows {r['rows']:,}")
    results = {
        kind: {
            "seconds": statistics.median(r["seconds"] for r in rs),
            "peak_gb": max(r["peak_gb"] for r in rs),
        }
        for kind, rs in runs.items()
    }
    d, s, pd_ = results["duckdb"], results["scan"], results["pandas"]
    print(f"person-year on DuckDB: {d['seconds']:.1f} s (goal < 60), {d['peak_gb']:.2f} GB (< 4)")
    print(f"pandas / DuckDB: {pd_['seconds'] / d['seconds']:.1f}x (goal >= 10)")
    print(f"DuckDB / one activity scan: {d['seconds'] / s['seconds']:.1f}x (goal <= 4)")


if __name__ == "__main__":
    main()
