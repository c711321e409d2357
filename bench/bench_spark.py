"""Benchmark: the same analysis on DuckDB and on a local Spark, over the same Parquet files.

Goal: know what moving the analysis from embedded DuckDB to Spark costs (or gains) on the
project's machine kind, and whether every workload runs on Spark at all. One synthetic
population (1,000,000 people over one financial year by default, seed 20261123) is
written once as Parquet (``synthesise``) and opened on both engines with
``tables_from_folder`` (nothing is loaded into a store), then each engine runs:

* ``person_year``: ``person_year_table(tables, years)``, reduced on the engine to one row
  (the row count, the sum of every numeric or boolean column and the non-null count of
  every other column), so the whole table is computed and nothing large comes back;
* ``indicators``: every built-in indicator by practice, ``compute_indicator(tables, id,
  "practice_code", years)`` in turn, as ``compute_all`` does (one indicator that fails is
  recorded and the rest still run);
* ``baseline``: the engine's own floor, one group-by scan of the activity table by
  person (count and sum of ``cost_gbp``), reduced to one row the same way.

Spark is local mode, ``local[2]``, with the settings of the ``spark`` fixture of
``tests/conftest.py`` (two shuffle partitions, no UI, UTC) and a 4 GB heap for the
driver JVM (``--spark-memory``, ``spark.driver.memory``; in local mode the executors live
in the driver). The fixture leaves Spark's default heap, 1g, which is too small here: at
1,000,000 people the indicators spent nine tenths of their time in full garbage
collections (``--spark-memory ''`` gives it back). The JVM's garbage collection time is
printed as ``GC s``. DuckDB is an in-memory ``ibis.duckdb.connect()`` with its default
settings (all cores, up to 80% of the memory).

Every job runs in a fresh interpreter (this script with a hidden ``--job``), and the
jobs are interleaved, round by round (DuckDB person-year, DuckDB baseline, Spark
person-year, Spark baseline, ...), so a busy machine slows both engines alike and the
ratios survive it. Wall time is the workload alone; starting the engine and opening the
files (for Spark, the JVM) is timed apart and printed as ``start s``.

Peak memory includes the JVM. Spark's JVM is a child process of the job's interpreter
(py4j starts it through ``spark-submit``), so the parent samples the resident memory
(RSS) of the job process and all its descendants every 0.2 s with psutil (reading /proc
directly when psutil is missing) and keeps the largest sum: ``peak GB`` is that figure,
the whole process tree. Each job also reads, just before it ends, the exact peak
(``VmHWM`` in /proc/<pid>/status) of its own interpreter and of every descendant; the
JVM's is printed as ``JVM GB``. Sampling can miss a spike shorter than 0.2 s, so
``peak GB`` is never below the largest single process's VmHWM (it is raised to it).

The figures are printed as a table: median wall time over the rounds, peak memory (the
largest of the rounds), the ratio to the same engine's baseline, and Spark over DuckDB;
then the results of the two engines are compared (they must agree to 1e-9) and the
indicators that failed on either engine are listed with their error.

    .venv/bin/python bench/bench_spark.py                       # 1,000,000 people, 2 rounds
    .venv/bin/python bench/bench_spark.py --people 20000 --rounds 1
    .venv/bin/python bench/bench_spark.py --jobs person_year --engines spark

``--folder`` reuses a population already written there (when its manifest.json is
present); by default it lives under the system's temporary folder, named by people,
years and seed, so a second run reuses it. Needs pyspark (the ``spark`` extra) and a
Java runtime (17 or later).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

WORKLOADS = ("person_year", "indicators", "baseline")
ENGINES = ("duckdb", "spark")
SEED = 20261123
SAMPLE_SECONDS = 0.2
RTOL = 1e-9
GB = 1024**3


# --- Memory --------------------------------------------------------------------------------


def _proc_children() -> dict[int, list[int]]:
    """Parent pid to child pids, read from /proc (used when psutil is missing)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: split after it.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    try:
        import psutil

        try:
            proc = psutil.Process(pid)
            return [pid, *(c.pid for c in proc.children(recursive=True))]
        except psutil.Error:
            return []
    except ImportError:
        children = _proc_children()
        out, todo = [], [pid]
        while todo:
            p = todo.pop()
            out.append(p)
            todo.extend(children.get(p, []))
        return out


def _status_bytes(pid: int, field: str) -> int:
    """A memory field of /proc/<pid>/status (``VmRSS``, ``VmHWM``) in bytes; 0 if gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _tree_rss(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants now, in bytes."""
    return sum(_status_bytes(p, "VmRSS") for p in _tree(pid))


def _peaks() -> dict[str, float]:
    """Exact peaks (VmHWM) of this interpreter and of its descendants (the JVM), in GB."""
    me = os.getpid()
    python = _status_bytes(me, "VmHWM")
    others = [p for p in _tree(me) if p != me]
    jvm = 0
    for pid in others:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"java" in cmdline:
            jvm += _status_bytes(pid, "VmHWM")
    return {
        "python_gb": python / GB,
        "jvm_gb": jvm / GB,
        "descendants_gb": sum(_status_bytes(p, "VmHWM") for p in others) / GB,
    }


# --- Jobs (each in a fresh interpreter) ----------------------------------------------------


def _spark_session(memory: str | None) -> Any:
    """The local two-core SparkSession the tests' ``spark`` fixture also uses (with the
    driver's heap, when ``memory`` is given)."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from commissioning.store.spark import local_spark_builder

    builder = local_spark_builder("commissioning-bench", memory)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _gc_seconds(session: Any) -> float:
    """Seconds the JVM has spent collecting garbage since it started (all collectors)."""
    management = session.sparkContext._jvm.java.lang.management.ManagementFactory
    beans = management.getGarbageCollectorMXBeans()
    return sum(max(0, beans.get(i).getCollectionTime()) for i in range(beans.size())) / 1000


def _one_row(frame: Any) -> dict[str, float]:
    """The single row of a small pandas result as plain floats (decimals included)."""
    row = frame.iloc[0]
    return {str(k): (float("nan") if v is None else float(v)) for k, v in row.items()}


def work_person_year(tables: Any, years: Sequence[int]) -> dict[str, Any]:
    from commissioning.population.person_year import person_year_table

    py = person_year_table(tables, list(years))
    aggs: dict[str, Any] = {"rows": py.count()}
    for name, dtype in py.schema().items():
        col = py[name]
        if dtype.is_boolean():
            aggs[f"sum_{name}"] = col.cast("int64").sum()
        elif dtype.is_numeric():
            aggs[f"sum_{name}"] = col.cast("float64").sum()
        else:
            aggs[f"n_{name}"] = col.count()
    return {"figures": _one_row(py.aggregate(**aggs).execute())}


def work_baseline(tables: Any, years: Sequence[int]) -> dict[str, Any]:
    act = tables["activity"]
    per = act.group_by("person_id").aggregate(n=act.count(), cost=act.cost_gbp.sum())
    out = per.aggregate(
        people=per.count(), rows=per.n.sum(), cost_gbp=per.cost.cast("float64").sum()
    )
    return {"figures": _one_row(out.execute())}


def work_indicators(tables: Any, years: Sequence[int]) -> dict[str, Any]:
    from commissioning.indicators.compute import compute_indicator
    from commissioning.indicators.library import default_library

    seconds: dict[str, float] = {}
    failed: dict[str, str] = {}
    figures: dict[str, float] = {}
    for ind in default_library().indicators:
        start = time.perf_counter()
        try:
            out = compute_indicator(tables, ind.id, "practice_code", list(years))
        except Exception as exc:
            failed[ind.id] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:300]}"
            continue
        finally:
            seconds[ind.id] = time.perf_counter() - start
            print(f"{ind.id}: {seconds[ind.id]:.1f} s", file=sys.stderr, flush=True)
        figures[f"{ind.id}:groups"] = float(len(out))
        figures[f"{ind.id}:numerator"] = float(out["numerator"].astype(float).sum())
        figures[f"{ind.id}:denominator"] = float(out["denominator"].astype(float).sum())
    return {"figures": figures, "failed": failed, "each_s": seconds}


WORK: dict[str, Callable[[Any, Sequence[int]], dict[str, Any]]] = {
    "person_year": work_person_year,
    "indicators": work_indicators,
    "baseline": work_baseline,
}


def job(engine: str, workload: str, folder: Path, years: Sequence[int], memory: str | None) -> None:
    """Run one workload on one engine and print its figures as JSON (the last line)."""
    import ibis

    from commissioning.synthetic.files import tables_from_folder

    start = time.perf_counter()
    session = None
    if engine == "spark":
        session = _spark_session(memory)
        backend = ibis.pyspark.connect(session)
    else:
        backend = ibis.duckdb.connect()
    tables = tables_from_folder(folder, backend=backend)
    started = time.perf_counter()
    result = WORK[workload](tables, years)
    result["seconds"] = time.perf_counter() - started
    result["start_s"] = started - start
    result.update(_peaks())  # before the session stops, while the JVM is still there
    result["gc_s"] = _gc_seconds(session) if session is not None else math.nan
    if session is not None:
        session.stop()
    print(json.dumps(result))


def synth_job(folder: Path, people: int, years: int, seed: int) -> None:
    from commissioning.synthetic.generate import synthesise
    from commissioning.synthetic.parameters import SyntheticParameters

    synthesise(SyntheticParameters(people=people, years=years, seed=seed), folder)


# --- The parent: prepare, interleave, measure, print ---------------------------------------


def run_measured(args: list[str], log: Path) -> tuple[dict[str, Any], float]:
    """Run this script with ``args`` in a new interpreter; its JSON result and the peak
    resident memory of its process tree (sampled every 0.2 s), in GB."""
    cmd = [sys.executable, __file__, *args]
    with (
        tempfile.TemporaryFile("w+") as out,
        log.open("a") as err,
    ):
        err.write(f"\n== {' '.join(args)}\n")
        err.flush()
        begin = err.tell()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(SAMPLE_SECONDS)
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        # The job's own part of the log: its last error line says why.
        with log.open() as f:
            f.seek(begin)
            errors = [line.strip() for line in f if "Error" in line or "Exception" in line]
        why = errors[-1][:300] if errors else f"exit status {proc.returncode}"
        raise RuntimeError(f"{why} (peak {peak / GB:.2f} GB; see {log})")
    lines = [line for line in text.strip().splitlines() if line.startswith("{")]
    result: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    return result, peak / GB


def prepare(folder: Path, people: int, years: int, seed: int, log: Path) -> dict[str, Any]:
    """The population's manifest, written first unless ``folder`` already holds one."""
    manifest = folder / "manifest.json"
    if not manifest.exists():
        print(f"writing {people:,} people over {years} year(s) to {folder} ...", flush=True)
        start = time.perf_counter()
        folder.mkdir(parents=True, exist_ok=True)
        _, peak = run_measured(
            [
                *("--job", "synth", "--folder", str(folder), "--people", str(people)),
                *("--years", str(years), "--seed", str(seed)),
            ],
            log,
        )
        print(f"  written in {time.perf_counter() - start:.1f} s, peak {peak:.2f} GB")
    else:
        print(f"reusing the population in {folder}")
    data: dict[str, Any] = json.loads(manifest.read_text())
    return data


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def _compare(a: dict[str, float], b: dict[str, float]) -> list[str]:
    """Figures that differ between two engines (beyond a relative 1e-9)."""
    bad = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if x is None or y is None:
            continue  # an indicator that failed on one engine is listed apart
        if (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=RTOL, abs_tol=1e-9):
            continue
        bad.append(f"{key}: {x!r} against {y!r}")
    return bad


def _fmt(x: float, spec: str = ".2f", suffix: str = "") -> str:
    return "-" if x is None or math.isnan(x) else f"{x:{spec}}{suffix}"


def report(results: dict[tuple[str, str], list[tuple[dict[str, Any], float]]]) -> None:
    """Print the table of figures, the cross-engine check and any failures."""
    med: dict[tuple[str, str], float] = {
        key: _median([r["seconds"] for r, _ in runs]) for key, runs in results.items()
    }
    header = (
        f"{'engine':<7} {'workload':<12} {'wall s':>8} {'peak GB':>8} {'x baseline':>11} "
        f"{'spark/duckdb':>13} {'start s':>8} {'JVM GB':>7} {'GC s':>7}"
    )
    print()
    print(header)
    print("-" * len(header))
    for (engine, workload), runs in results.items():
        base = med.get((engine, "baseline"), math.nan)
        peak = max(max(p, r["python_gb"], r["jvm_gb"]) for r, p in runs)
        spark = med.get(("spark", workload), math.nan)
        duck = med.get(("duckdb", workload), math.nan)
        versus = spark / duck if engine == "spark" else math.nan
        print(
            f"{engine:<7} {workload:<12} {med[(engine, workload)]:8.2f} {peak:8.2f} "
            f"{_fmt(med[(engine, workload)] / base, '.1f', 'x'):>11} "
            f"{_fmt(versus, '.1f', 'x'):>13} "
            f"{_median([r['start_s'] for r, _ in runs]):8.2f} "
            f"{_fmt(max(r['jvm_gb'] for r, _ in runs) if engine == 'spark' else math.nan):>7} "
            f"{_fmt(_median([r.get('gc_s', math.nan) for r, _ in runs]), '.1f'):>7}"
        )
    print()
    for workload in WORKLOADS:
        duck_runs, spark_runs = results.get(("duckdb", workload)), results.get(("spark", workload))
        if not duck_runs or not spark_runs:
            continue
        bad = _compare(duck_runs[-1][0]["figures"], spark_runs[-1][0]["figures"])
        verdict = "the same figures" if not bad else f"{len(bad)} figures differ"
        print(f"{workload}: DuckDB and Spark give {verdict}")
        for line in bad[:20]:
            print(f"  {line}")
    for (engine, workload), runs in results.items():
        if workload != "indicators":
            continue
        failed = runs[-1][0].get("failed", {})
        each = runs[-1][0].get("each_s", {})
        ok = len(each) - len(failed)
        print(f"indicators on {engine}: {ok} of {len(each)} ran")
        for ind_id, error in failed.items():
            print(f"  FAILED {ind_id}: {error}")
    slowest = {
        engine: runs[-1][0].get("each_s", {})
        for (engine, workload), runs in results.items()
        if workload == "indicators"
    }
    if slowest:
        print("\nseconds per indicator (last round):")
        names = sorted({n for each in slowest.values() for n in each})
        engines = list(slowest)
        print(f"  {'indicator':<30} " + " ".join(f"{e:>8}" for e in engines))
        for name in names:
            cells = " ".join(f"{slowest[e].get(name, math.nan):8.2f}" for e in engines)
            print(f"  {name:<30} {cells}")


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def _load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _names(text: str, allowed: Sequence[str]) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise SystemExit(f"unknown {unknown}; choose from {', '.join(allowed)}")
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--years", type=int, default=1)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--folder", type=Path, help="the population's folder (reused if it has a manifest)"
    )
    parser.add_argument(
        "--jobs",
        default=",".join(WORKLOADS),
        help=f"workloads, comma-separated, from {', '.join(WORKLOADS)} (baseline always runs)",
    )
    parser.add_argument("--engines", default=",".join(ENGINES), help="duckdb, spark or both")
    parser.add_argument(
        "--spark-memory",
        default="4g",
        help="the Spark driver's heap, spark.driver.memory ('' for Spark's own 1g)",
    )
    parser.add_argument("--job", help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args()  # `./run bench` passes every bench the same flags

    folder: Path = args.folder or Path(tempfile.gettempdir()) / (
        f"commissioning-bench-spark/people_{args.people}_years_{args.years}_seed_{args.seed}"
    )
    if args.job == "synth":
        synth_job(folder, args.people, args.years, args.seed)
        return
    if args.job:
        engine, workload = args.job.split(":")
        manifest = json.loads((folder / "manifest.json").read_text())["parameters"]
        years = range(manifest["first_year"], manifest["first_year"] + manifest["years"])
        job(engine, workload, folder, list(years), args.spark_memory)
        return

    workloads = [w for w in _names(args.jobs, WORKLOADS) if w != "baseline"] + ["baseline"]
    engines = _names(args.engines, ENGINES)
    if "spark" in engines:
        try:
            import pyspark  # noqa: F401
        except ImportError:
            print("pyspark is not installed (pip install -e '.[spark]'); Spark skipped")
            engines.remove("spark")
        if "spark" in engines and _java() is None:
            print("no Java runtime on PATH or in JAVA_HOME; Spark skipped")
            engines.remove("spark")
    if not engines:
        return

    log = Path(tempfile.gettempdir()) / "commissioning-bench-spark" / "jobs.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {_load_average()}; {os.cpu_count()} cores")
    params = prepare(folder, args.people, args.years, args.seed, log)["parameters"]
    if params["people"] != args.people:
        print(f"note: the population in {folder} has {params['people']:,} people")
    sizes = {p.stem: p.stat().st_size for p in sorted(folder.glob("*.parquet"))}
    print(
        f"{params['people']:,} people, {params['years']} year(s) from {params['first_year']}; "
        f"Parquet {sum(sizes.values()) / 1024**2:.0f} MB "
        f"(activity {sizes.get('activity', 0) / 1024**2:.0f} MB); job logs in {log}"
    )

    results: dict[tuple[str, str], list[tuple[dict[str, Any], float]]] = {}
    failures: list[str] = []
    for i in range(args.rounds):
        for engine in engines:
            for workload in workloads:
                start = time.perf_counter()
                try:
                    out = run_measured(
                        [
                            *("--job", f"{engine}:{workload}", "--folder", str(folder)),
                            *("--spark-memory", args.spark_memory),
                        ],
                        log,
                    )
                except RuntimeError as exc:
                    failures.append(f"round {i + 1}: {engine} {workload} FAILED: {exc}")
                    print(failures[-1], flush=True)
                    continue
                results.setdefault((engine, workload), []).append(out)
                gc = out[0].get("gc_s", math.nan)
                print(
                    f"round {i + 1}: {engine:<6} {workload:<12} {out[0]['seconds']:7.2f} s "
                    f"(process {time.perf_counter() - start:.1f} s), peak {out[1]:.2f} GB"
                    + ("" if math.isnan(gc) else f", JVM garbage collection {gc:.1f} s"),
                    flush=True,
                )
    report(results)
    for line in failures:
        print(line)
    print(f"\nload average after: {_load_average()}")


if __name__ == "__main__":
    main()
