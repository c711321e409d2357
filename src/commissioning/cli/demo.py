"""The main job on the embedded default: synthetic population to reports.

Each stage of the commissioning cycle adds its step here, so one command carries
the demo population through the whole cycle and writes every report into one
folder with an index page.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import ibis.expr.types as ir

from commissioning.core.csvsafe import SafeWriter
from commissioning.data.load import Source, load_files, table_for_file
from commissioning.data.pseudonymise import DEMO_KEY
from commissioning.reports.html import Section, TableBlock, restricted_page
from commissioning.reports.pack import fy, write_index
from commissioning.reports.publish import PUBLISHED, Outputs
from commissioning.store.duckdb_store import connect, ibis_tables, table_counts
from commissioning.synthetic.calibration import CalibrationRow, compare, measure
from commissioning.synthetic.generate import synthesise
from commissioning.synthetic.parameters import SyntheticParameters

if TYPE_CHECKING:
    from commissioning.decide.evaluation import Evaluation

Say = Callable[[str], None]
#: The demo's store, in the restricted folder.
STORE_FILE = "commissioning.duckdb"


def run_demo(
    out_dir: Path, *, people: int, years: int, seed: int, say: Say, threshold: int = 8
) -> Path:
    """Generate, load, check and report; returns the published index page's path.

    ``out_dir/published`` receives the report pack, through the publication gate;
    ``out_dir/restricted`` everything else: the synthetic files, the store, person-level
    files, the calibration and the contract working papers."""
    out_dir.mkdir(parents=True, exist_ok=True)
    params = SyntheticParameters(people=people, years=years, seed=seed)
    year_list = list(range(params.first_year, params.first_year + params.years))
    last = year_list[-1]
    shutil.rmtree(out_dir / PUBLISHED, ignore_errors=True)  # a pack is made whole each time
    outputs = Outputs(
        out_dir,
        threshold=threshold,
        as_at=date(last + 1, 3, 31),
        period=f"financial years {fy(year_list[0])} to {fy(last)}",
    )

    say(
        f"1/8 synthetic population: {people:,} people in {len(params.places)} places, {years} years"
    )
    data_dir = outputs.restricted / "synthetic"
    synthesise(params, data_dir, on_progress=lambda m: say(f"    {m}"))

    say("2/8 loading into the store (pseudonymised at the door, every row checked)")
    store_path = outputs.restricted / STORE_FILE
    for stale in (store_path, store_path.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    con = connect(store_path)
    sources = [Source(p, table_for_file(p)) for p in sorted(data_dir.glob("*.parquet"))]
    reports = load_files(con, sources, DEMO_KEY, on_progress=lambda m: say(f"    {m}"))

    say("3/8 calibration against national figures (measured from the store)")
    store_tables = ibis_tables(con)
    rows = compare(measure(store_tables, year_list))
    _write_calibration_csv(outputs.restricted_path("calibration.csv"), rows)
    met = sum(r.met for r in rows)
    say(f"    {met} of {len(rows)} targets met")

    say(
        f"4/8 reports go to {outputs.published} (for anyone, through the small-number gate) "
        f"and {outputs.restricted} (person-level, not for publication)"
    )

    contracts_page = _stage_reports(con, store_tables, outputs, year_list, say)

    index = write_index(
        outputs,
        store_tables,
        year_list,
        f"A synthetic population of {people:,} people registered at the start, in a home "
        f"place and nine peers, over {years} financial years. No figure here describes a "
        "real person.",
    )
    counts = table_counts(con)
    con.close()
    restricted_page(
        outputs,
        "index.html",
        "Commissioning workbench: restricted working folder",
        "Person-level data, the store and contract working papers: not for publication",
        [
            Section(
                "What is here",
                "The synthetic input files, the store (pseudonymised on loading), the "
                "person-year table (person_year.parquet), the people who would gain most from "
                "proactive care (who_would_gain_most.csv), the contract working papers and "
                "statements for the parties. The pack for others is in ../published.",
                links=[
                    ("Outcome-based contracts: worked scenarios", contracts_page),
                    ("Calibration against national figures (CSV)", "calibration.csv"),
                ],
            ),
            Section(
                "Data in the store",
                "NHS numbers were replaced by keyed pseudonyms on loading; every row was checked.",
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
            ),
        ],
    )
    say(f"published pack: {outputs.published}")
    say(f"restricted (person-level, not for publication): {outputs.restricted}")
    return index


def _stage_reports(
    con: duckdb.DuckDBPyConnection,
    tables: dict[str, ir.Table],
    outputs: Outputs,
    years: list[int],
    say: Say,
) -> str:
    """Needs, indicators, benchmarking and contracts: each writes its own page."""
    from commissioning.reports.benchmark_report import write_benchmark_report
    from commissioning.reports.contract_report import run_contract_stage
    from commissioning.reports.indicators_report import write_indicators_report
    from commissioning.reports.needs_report import write_needs_report

    say("5/8 needs assessment: prevalence, segments, risk stratification, programme budget")
    write_needs_report(tables, outputs, years)
    say("6/8 outcome indicators and monitoring (SPC)")
    write_indicators_report(tables, outputs, years)
    say("7/8 benchmarking against the most similar places; priorities and a business case")
    write_benchmark_report(tables, outputs, years)
    _decide(outputs, tables, years)
    evaluation = _pilot(outputs, tables, years, say)
    say("8/8 outcome-based contracts: budgets, settlement, statements, stress tests")
    # the anchor beside the store, as the contract commands expect
    anchor = outputs.restricted / f"{STORE_FILE}.ledger-anchor.jsonl"
    anchor.unlink(missing_ok=True)
    page = run_contract_stage(tables, con, outputs, years, say, anchor)
    _web_world(con, tables, anchor)
    _portfolio(outputs, con, anchor, evaluation)
    return str(page.relative_to(outputs.restricted))


def _decide(outputs: Outputs, tables: dict[str, ir.Table], years: list[int]) -> None:
    """The shipped priority-setting exercise, with the disinvestment candidates found in
    the store (low-value procedures, the benchmark's opportunity), and the business case,
    as pages of the pack."""
    import pandas as pd

    from commissioning.decide.files import example, read_exercise
    from commissioning.decide.from_store import low_value_in_store
    from commissioning.indicators.library import default_library
    from commissioning.reports.decide_report import write_priorities_page

    opportunity_csv = outputs.published / "opportunity.csv"
    opportunity = pd.read_csv(opportunity_csv) if opportunity_csv.exists() else None
    titles = {i.id: i.title for i in default_library().indicators}
    low_value = low_value_in_store(tables, years[-3:])
    outputs.restricted_table("low_value_by_provider.csv", low_value.providers)
    outputs.restricted_table("low_value_by_practice.csv", low_value.practices)
    write_priorities_page(
        outputs,
        read_exercise(example("priorities.toml")),
        low_value.summary,
        opportunity,
        titles,
    )


def _pilot(
    outputs: Outputs, tables: dict[str, ir.Table], years: list[int], say: Say
) -> Evaluation | None:
    """A pilot in the home place with an effect planted in the synthetic data (30% fewer
    emergency admissions for people with two or more the year before), evaluated as an
    analyst would, to show each design against the truth."""
    from commissioning.data.queries import home_place
    from commissioning.decide.evaluation import (
        Pilot,
        cohort,
        evaluate,
        plant_effect_with_events,
    )
    from commissioning.decide.from_store import outcome_events
    from commissioning.population.person_year import person_year_table
    from commissioning.reports.decide_report import write_evaluation_page

    if len(years) < 2:
        return None
    pilot = Pilot("emergency_admissions", years[-2], years[-1], (home_place(tables),), 2)
    person_year = person_year_table(tables, years[-2:]).to_pandas()
    events = outcome_events(tables, pilot.outcome, years[-2:])
    assert events is not None  # emergency admissions are events
    planted, events, truth = plant_effect_with_events(person_year, events, pilot, 0.3, seed=1)
    try:
        ev = evaluate(planted, pilot, seed=1, events=events)
        sd = float(cohort(planted, pilot)["after"].std())
        write_evaluation_page(outputs, ev, truth, sd)
    except ValueError as exc:
        say(f"    pilot evaluation left out: {exc}")
        return None
    return ev


def _portfolio(
    outputs: Outputs, con: duckdb.DuckDBPyConnection, anchor: Path, ev: Evaluation | None
) -> None:
    """The business case, checked against the register, and the portfolio page:
    programmes from the published spend, contracts from the register, the case, the
    pilot, and the nine measures (people's records from the example)."""
    import pandas as pd

    from commissioning.decide.business_case import contract_link
    from commissioning.decide.files import example, read_case, read_exercise
    from commissioning.decide.pbma import best_package
    from commissioning.decide.portfolio import ContractLine, Facts, assess, read_recorded
    from commissioning.decide.records import merge_recorded, stored_recorded
    from commissioning.operations import register
    from commissioning.operations.base import DEMO_LEDGER_KEY, open_operations
    from commissioning.reports.decide_report import (
        registered_contracts,
        write_case_page,
        write_portfolio_page,
    )
    from commissioning.store.records import wrap_duckdb

    ops = open_operations(wrap_duckdb(con), DEMO_LEDGER_KEY, anchor)
    case = read_case(example("falls_case.toml"))
    link = contract_link(
        case.status, case.contract_id, case.contract_version, registered_contracts(ops)
    )
    write_case_page(outputs, case, link)
    contracts = []
    for contract_id in register.contract_ids(ops):
        versions = register.signed_versions(ops, contract_id)
        if not versions:
            continue
        c = versions[-1].contract
        contracts.append(
            ContractLine(
                contract_id,
                c.title,
                c.form.type,
                register.status(ops, contract_id),
                float(c.finance.baseline_budget_gbp),
                len(c.outcomes.measures),
                c.scope.kind == "population",  # a cohort over years, not an episode
            )
        )
    spend = pd.read_csv(outputs.published / "spend_by_programme.csv")
    wide = spend.pivot_table(index="programme", columns="year", values="spend_gbp", aggfunc="sum")
    years = sorted(wide.columns)
    # a change only where both years' spend is published and the earlier one is not 0
    change = (
        (wide[years[-1]] / wide[years[-2]].where(wide[years[-2]] > 0) - 1)
        if len(years) > 1
        else wide[years[-1]] * float("nan")
    )
    programmes = (
        pd.DataFrame(
            {"programme": wide.index, "spend_gbp": wide[years[-1]].to_numpy(), "change": change}
        )
        .dropna(subset=["spend_gbp"])  # not published for the latest year (suppressed)
        .sort_values("spend_gbp", ascending=False)
    )
    attributable = programmes[~programmes["programme"].str.startswith("Not attributable")]
    listed = outputs.listed()
    facts = Facts(
        benchmark_published="benchmark.html" in listed,
        priorities_changed=bool(
            best_package(read_exercise(example("priorities.toml")).exercise).chosen
        ),
        public_pages=sum(n.endswith(".html") for n in listed) + 1,  # with the index
        data_as_at=outputs.as_at,
        contracts=contracts,
        top_programmes=list(attributable["programme"].head(3)),
    )
    # people's records: the example file, and what was recorded in the workbench
    recorded = merge_recorded(
        read_recorded(example("effectiveness.toml")), stored_recorded(wrap_duckdb(con))
    )
    pilots = [ev.naive, ev.matched.estimate] if ev is not None else []
    write_portfolio_page(
        outputs, facts, assess(facts, recorded), programmes, pilots, [(case, link)]
    )


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
