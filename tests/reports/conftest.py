"""A small population's published pack, written once for the report tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from commissioning.data.load import Source, load_files, table_for_file
from commissioning.data.pseudonymise import DEMO_KEY
from commissioning.decide.files import example, read_case, read_exercise
from commissioning.reports.benchmark_report import write_benchmark_report
from commissioning.reports.decide_report import write_case_page, write_priorities_page
from commissioning.reports.indicators_report import write_indicators_report
from commissioning.reports.needs_report import write_needs_report
from commissioning.reports.pack import write_index
from commissioning.reports.publish import Outputs
from commissioning.store.duckdb_store import connect, ibis_tables
from commissioning.synthetic.generate import generate, write
from commissioning.synthetic.parameters import SyntheticParameters

TINY = SyntheticParameters(people=800, years=3, seed=7)


@pytest.fixture(scope="session")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The needs, indicators and benchmark reports of 800 people in ten places (about 80 a
    place, 13 a practice): small cells are the rule."""
    root = tmp_path_factory.mktemp("tiny_pack")
    write(generate(TINY), root / "in", TINY)
    con = connect(":memory:")
    load_files(
        con,
        [Source(p, table_for_file(p)) for p in sorted((root / "in").glob("*.parquet"))],
        DEMO_KEY,
    )
    tables = ibis_tables(con)
    years = list(range(TINY.first_year, TINY.first_year + TINY.years))
    last = years[-1]
    outputs = Outputs(
        root / "out",
        as_at=date(last + 1, 3, 31),
        period=f"financial years {years[0]}/{str(years[0] + 1)[2:]} to {last}/{str(last + 1)[2:]}",
    )
    write_needs_report(tables, outputs, years)
    write_indicators_report(tables, outputs, years)
    write_benchmark_report(tables, outputs, years)
    write_priorities_page(outputs, read_exercise(example("priorities.toml")))
    write_case_page(outputs, read_case(example("falls_case.toml")))
    _decisions(outputs)
    write_index(outputs, tables, years, "A synthetic population of 800 people.")
    return root / "out" / "published"


def _decisions(outputs: Outputs) -> None:
    """The portfolio and a pilot evaluation, from figures set out by hand (the pack's
    population is too small for a pilot)."""
    import pandas as pd

    from commissioning.decide.evaluation import Estimate, Evaluation, Matched, Pilot
    from commissioning.decide.portfolio import ContractLine, Facts, assess, read_recorded
    from commissioning.reports.decide_report import write_evaluation_page, write_portfolio_page

    pilot = Pilot("emergency_admissions", 2022, 2023, ("NVL",), 2)
    naive = Estimate("before and after (treated only)", -1.9, -2.1, -1.7, 229)
    matched = Estimate("matched difference in differences", -0.18, -0.31, -0.05, 229, 169)
    balance = pd.DataFrame(
        {
            "covariate": ["age_years", "before"],
            "before_matching": [0.2, -0.14],
            "after_matching": [0.04, 0.0],
        }
    )
    ev = Evaluation(pilot, naive, Matched(matched, balance, 0, -1.46), ["Regression to the mean."])
    write_evaluation_page(outputs, ev, -0.12, 0.9)
    facts = Facts(
        True,
        True,
        6,
        outputs.as_at,
        [ContractLine("a", "Frail elderly alliance", "alliance", "live", 12e6, 3, True)],
        ["Circulation", "Social care needs"],
    )
    programmes = pd.DataFrame(  # a suppressed spend and a change with no year before
        {
            "programme": ["Circulation", "Social care needs", "Skin"],
            "spend_gbp": [5e6, 4e6, float("nan")],
            "change": [0.05, -0.02, float("nan")],
        }
    )
    recorded = read_recorded(example("effectiveness.toml"))
    write_portfolio_page(outputs, facts, assess(facts, recorded), programmes, [naive, matched])
