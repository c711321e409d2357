"""The main job on the embedded default: synthetic population to reports.

Each stage of the commissioning cycle adds its step here, so one command carries
the demo population through the whole cycle and writes every report into one
folder with an index page.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import ibis.expr.types as ir
import pandas as pd

from commissioning.core.csvsafe import SafeWriter, write_csv
from commissioning.data.load import Source, load_files, table_for_file
from commissioning.data.pseudonymise import DEMO_KEY
from commissioning.data.queries import activity_rates_by_place
from commissioning.reports.formatting import gbp
from commissioning.reports.html import Section, TableBlock, write_page
from commissioning.store.duckdb_store import connect, ibis_tables, table_counts
from commissioning.synthetic.calibration import CalibrationRow, compare, measure
from commissioning.synthetic.generate import generate, write
from commissioning.synthetic.parameters import SyntheticParameters

Say = Callable[[str], None]


def run_demo(out_dir: Path, *, people: int, years: int, seed: int, say: Say) -> Path:
    """Generate, load, check and report; returns the index page's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    params = SyntheticParameters(people=people, years=years, seed=seed)
    year_list = list(range(params.first_year, params.first_year + params.years))

    say(
        f"1/4 synthetic population: {people:,} people in {len(params.places)} places, {years} years"
    )
    tables = generate(params, on_progress=lambda m: say(f"    {m}"))
    data_dir = out_dir / "synthetic"
    write(tables, data_dir, params)
    del tables

    say("2/8 loading into the store (pseudonymised at the door, every row checked)")
    store_path = out_dir / "commissioning.duckdb"
    for stale in (store_path, store_path.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    con = connect(store_path)
    sources = [Source(p, table_for_file(p)) for p in sorted(data_dir.glob("*.parquet"))]
    reports = load_files(con, sources, DEMO_KEY, on_progress=lambda m: say(f"    {m}"))

    say("3/8 calibration against national figures (measured from the store)")
    store_tables = ibis_tables(con)
    rows = compare(measure(store_tables, year_list))
    _write_calibration_csv(out_dir / "calibration.csv", rows)
    met = sum(r.met for r in rows)
    say(f"    {met} of {len(rows)} targets met")

    say("4/8 activity and spend by place")
    rates = activity_rates_by_place(store_tables, year_list).execute()
    write_csv(rates, out_dir / "activity_by_place.csv")

    reports_written = _stage_reports(con, store_tables, out_dir, year_list, say)

    counts = table_counts(con)
    con.close()
    sections = [
        Section(
            "Reports",
            "Each stage of the commissioning cycle, on this population.",
            links=reports_written,
        ),
        Section(
            "Data in the store",
            f"A synthetic population of {people:,} people registered at the start, in a home "
            f"place (Northvale) and nine peers, over {years} financial years from "
            f"{params.first_year}/{str(params.first_year + 1)[2:]}. NHS numbers were replaced "
            "by keyed pseudonyms on loading; every row was checked.",
            tables=[
                TableBlock(
                    "Files loaded",
                    ["file", "table", "rows read", "loaded", "rejected"],
                    [
                        [
                            r.file_name,
                            r.table,
                            f"{r.rows_read:,}",
                            f"{r.rows_loaded:,}",
                            f"{r.rows_rejected:,}",
                        ]
                        for r in reports
                    ],
                ),
                TableBlock(
                    "Rows in the store",
                    ["table", "rows"],
                    [[k, f"{v:,}"] for k, v in counts.items()],
                ),
            ],
        ),
        Section(
            "Is the synthetic population believable?",
            "Each figure measured from the store beside the published national figure it "
            "was calibrated to, and the tolerance within which it must fall.",
            tables=[_calibration_block(rows)],
            links=[("calibration.csv", "calibration.csv")],
        ),
        Section(
            "Activity and spend by place",
            "Events per 1,000 people a year and spend per head, by place and setting "
            "(mid-year registered population, pooled over the years).",
            tables=[_rates_block(rates)],
            links=[("activity_by_place.csv", "activity_by_place.csv")],
        ),
    ]
    index = write_page(
        out_dir / "index.html",
        "Commissioning workbench: demo",
        "Synthetic population, all places",
        sections,
    )
    say(f"reports written to {out_dir}")
    return index


def _stage_reports(
    con: duckdb.DuckDBPyConnection,
    tables: dict[str, ir.Table],
    out_dir: Path,
    years: list[int],
    say: Say,
) -> list[tuple[str, str]]:
    """Needs, indicators, benchmarking and contracts: each writes its own page."""
    from commissioning.reports.benchmark_report import write_benchmark_report
    from commissioning.reports.contract_report import run_contract_stage
    from commissioning.reports.indicators_report import write_indicators_report
    from commissioning.reports.needs_report import write_needs_report

    links = []
    say("5/8 needs assessment: prevalence, segments, risk stratification, programme budget")
    page = write_needs_report(tables, out_dir, years)
    links.append(("Needs assessment (population, prevalence, segments, risk, spend)", page.name))
    say("6/8 outcome indicators and monitoring (SPC)")
    page = write_indicators_report(tables, out_dir, years)
    links.append(("Outcome indicators and statistical process control", page.name))
    say("7/8 benchmarking against the most similar places")
    page = write_benchmark_report(tables, out_dir, years)
    links.append(("Benchmarking: peers, funnel plots, opportunity, practice variation", page.name))
    say("8/8 outcome-based contracts: budgets, settlement, statements, stress tests")
    anchor = out_dir / "commissioning.duckdb.ledger-anchor.jsonl"  # as the contract commands
    anchor.unlink(missing_ok=True)
    page = run_contract_stage(tables, con, out_dir, years, say, anchor)
    links.append(("Outcome-based contracts: worked scenarios", page.name))
    _web_world(con, tables, anchor)
    return links


def _web_world(con: duckdb.DuckDBPyConnection, tables: dict[str, ir.Table], anchor: Path) -> None:
    """The workbench's demo organisations, people and live contracts, in the same store."""
    from commissioning.access.accounts import Accounts
    from commissioning.data.queries import home_place
    from commissioning.operations.base import DEMO_LEDGER_KEY, open_operations
    from commissioning.store.records import wrap_duckdb
    from commissioning.web.demo import build_demo_world

    records = wrap_duckdb(con)
    ops = open_operations(records, DEMO_LEDGER_KEY, anchor)
    build_demo_world(ops, Accounts(records), home_place(tables))


def _fmt(value: float) -> str:
    if value != value:  # NaN
        return "–"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.3g}"


def _calibration_block(rows: list[CalibrationRow]) -> TableBlock:
    return TableBlock(
        "Calibration",
        ["figure", "generated", "target", "tolerance", "unit", "result"],
        [
            [
                r.target.label,
                _fmt(r.measured),
                f"{r.target.value:,g}",
                r.target.tolerance_text(),
                r.target.unit,
                "met" if r.met else "missed",
            ]
            for r in rows
        ],
        note="Sources of the national figures: docs/synthetic.md.",
        flags=["hit" if r.met else "miss" for r in rows],
    )


def _rates_block(df: pd.DataFrame) -> TableBlock:
    """Spend per head by place (rows) and setting (columns), with the total."""
    wide = df.pivot_table(
        index="place_code",
        columns="setting",
        values="cost_per_head_gbp",
        aggfunc="sum",
        fill_value=0.0,
    )
    wide["total"] = wide.sum(axis=1)
    wide = wide.sort_values("total", ascending=False)
    settings = [c for c in wide.columns if c != "total"]
    rows = [
        [str(place), *(gbp(float(wide.loc[place, c])) for c in [*settings, "total"])]
        for place in wide.index
    ]
    return TableBlock(
        "Spend per head a year (£), by setting",
        ["place", *(c.replace("_", " ") for c in settings), "all settings"],
        rows,
        note="Events per 1,000 people by place and setting are in activity_by_place.csv.",
    )


def _write_calibration_csv(path: Path, rows: list[CalibrationRow]) -> None:
    with path.open("w", newline="") as f:
        w = SafeWriter(f)
        w.writerow(
            ["key", "figure", "generated", "target", "lower", "upper", "unit", "met", "source"]
        )
        for r in rows:
            lo, hi = r.target.bounds()
            w.writerow(
                [
                    r.target.key,
                    r.target.label,
                    f"{r.measured:.6g}",
                    r.target.value,
                    lo,
                    hi,
                    r.target.unit,
                    r.met,
                    r.target.source,
                ]
            )
