"""Contract measures drawn from the indicator library are the library's indicators.

On the small synthetic population (4,000 people, two years): a scenario's cohort is
selected with its contract's rule, and each measure the contract takes from the library
equals :func:`compute_indicator` run directly for the cohort, one year at a time.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import ibis
import pytest

from commissioning.contracts.cohort import PlaceData, fetch_place_data, select_cohort
from commissioning.contracts.load import load_example
from commissioning.contracts.measures import MEASURES, NOT_IN_DATA, measure_values
from commissioning.data.load import Source, load_files, table_for_file
from commissioning.data.pseudonymise import DEMO_KEY
from commissioning.indicators.compute import compute_indicator
from commissioning.indicators.library import default_library
from commissioning.scenarios.worked import SCENARIOS, _cohort_rule
from commissioning.store.duckdb_store import connect, ibis_tables


@pytest.fixture(scope="module")
def store(small_population: Path) -> duckdb.DuckDBPyConnection:
    con = connect(":memory:")
    sources = [Source(p, table_for_file(p)) for p in sorted(small_population.glob("*.parquet"))]
    load_files(con, sources, DEMO_KEY)
    return con


@pytest.fixture(scope="module")
def data(store: duckdb.DuckDBPyConnection) -> PlaceData:
    tables = ibis_tables(store)
    years = store.execute(
        "SELECT DISTINCT year(start_date) - CASE WHEN month(start_date) < 4 THEN 1 ELSE 0 END "
        "FROM activity ORDER BY 1"
    ).fetchall()
    return fetch_place_data(tables, [int(y[0]) for y in years])


def _direct(data: PlaceData, cohort, library_id: str, year: int) -> float:  # type: ignore[no-untyped-def]
    """The library indicator for the cohort's people in one year, computed directly."""
    people = cohort.loc[cohort["year"] == year, ["person_id"]].drop_duplicates()
    segments = ibis.memtable(people.assign(segment="cohort"))
    out = compute_indicator(
        data.tables, library_id, "segment", [year], standardisation="none", segments=segments
    )
    return float(out["value"].iloc[0])


@pytest.mark.parametrize(
    ("scenario", "measure"),
    [
        ("optimistic_older_people", "emergency_admissions_65_plus"),
        ("frail_elderly_alliance", "home_91_days_after_reablement"),
        ("frail_elderly_alliance", "falls_admissions_per_1000"),
    ],
)
def test_a_library_measure_equals_compute_indicator_for_the_cohort(
    data: PlaceData, scenario: str, measure: str
) -> None:
    contract = load_example(scenario)
    cohort = select_cohort(data.person_years, _cohort_rule(contract))
    definition = MEASURES[measure]
    assert definition.library_id is not None
    library = default_library().get(definition.library_id)
    values = measure_values([measure], data, cohort)[measure]
    assert len(values) == len(data.years)
    for year in data.years:
        direct = _direct(data, cohort, definition.library_id, year)
        # The contract's unit: shares for percentages, per 1,000 for rates per 100,000.
        expected = direct * definition.per / library.multiplier
        assert values[year] == pytest.approx(expected, rel=1e-12)


def test_every_measure_is_from_the_library_or_marked_contract_specific() -> None:
    library = default_library()
    from_library = {k for k, m in MEASURES.items() if m.library_id is not None}
    assert from_library == {
        "ld_inpatient_rate",
        "emergency_admissions_65_plus",
        "falls_admissions_per_1000",
        "home_91_days_after_reablement",
        "died_in_preferred_place",
        "knee_replacement_health_gain",
    }
    for m in MEASURES.values():
        if m.library_id is None:
            assert m.measure is not None and m.library_title is None
        else:
            assert m.library_title == library.get(m.library_id).title
    assert not set(MEASURES) & set(NOT_IN_DATA)


def test_every_measure_of_the_example_contracts_is_defined() -> None:
    for spec in SCENARIOS:
        for m in load_example(spec.example).outcomes.measures:
            assert m.indicator_id in MEASURES or m.indicator_id in NOT_IN_DATA
