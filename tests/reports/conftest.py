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
    write_index(outputs, tables, years, "A synthetic population of 800 people.")
    return root / "out" / "published"
