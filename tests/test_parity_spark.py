"""Engine parity: every core query gives the same answer on DuckDB and on Spark.

One small synthetic population is generated and written as Parquet once for the
module. The same files are opened as Ibis tables on DuckDB and on a local Spark, and
each query in :mod:`commissioning.data.queries` (and the calibration figures built on
them) must agree: rows sorted, whole numbers and text equal, other numbers within a
relative 1e-9 (the engines add floating-point numbers in different orders).

The same queries also run on the DuckDB store after a real load of those files; the
store holds pseudonyms instead of NHS numbers, so only aggregates are compared there.

Spark needs a Java runtime. ``./run test`` installs one; if none is found the tests
fail (they are not skipped), so a missing runtime cannot pass unnoticed.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pytest

from commissioning.core.schema import TABLES
from commissioning.data import queries as q
from commissioning.data.load import Source, load_files, rejects_summary
from commissioning.data.pseudonymise import DEMO_KEY
from commissioning.store.duckdb_store import connect, ibis_tables
from commissioning.synthetic.calibration import CALIBRATION_CONDITIONS, measure
from commissioning.synthetic.files import tables_from_folder
from commissioning.synthetic.generate import generate, write
from commissioning.synthetic.parameters import SyntheticParameters

pytestmark = pytest.mark.spark

PARAMS = SyntheticParameters(people=3000, years=2, seed=7)
YEARS = tuple(range(PARAMS.first_year, PARAMS.first_year + PARAMS.years))
RTOL = 1e-9

Query = Callable[[q.Tables, Sequence[int]], ir.Table]

# Every core query, as (name, function of the tables and years).
QUERIES: dict[str, Query] = {
    "population_summary": q.population_summary,
    "deaths_summary": q.deaths_summary,
    "prevalence_all_ages": lambda t, y: q.prevalence(t, y, min_age=0),
    "prevalence_18_plus": lambda t, y: q.prevalence(t, y, min_age=18),
    "multimorbidity_65_plus": lambda t, y: q.multimorbidity_65_plus(t, y, CALIBRATION_CONDITIONS),
    "activity_by_point_of_delivery": q.activity_by_point_of_delivery,
    "activity_rates_by_place": q.activity_rates_by_place,
    "emergency_readmissions": q.emergency_readmissions,
    "person_costs": q.person_costs,
    "cost_concentration": q.cost_concentration,
    "emergency_admission_gradients": q.emergency_admission_gradients,
    "proms_gain": lambda t, _y: q.proms_gain(t),
}


def person_cost_totals(tables: q.Tables, years: Sequence[int]) -> ir.Table:
    """``person_costs`` reduced to totals that do not depend on the person identifier."""
    pc = q.person_costs(tables, years)
    return pc.aggregate(
        person_years=pc.count(),
        people=pc.person_id.nunique(),
        cost_gbp=pc.cost_gbp.sum(),
        age_years=pc.age_years.sum(),
        with_cost=(pc.cost_gbp > 0).cast("int64").sum(),
    )


# The queries whose output holds no person identifier: comparable across any store.
AGGREGATES: dict[str, Query] = {
    **{name: fn for name, fn in QUERIES.items() if name != "person_costs"},
    "person_cost_totals": person_cost_totals,
}


# --- Comparison ------------------------------------------------------------------------------


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Decimals to float, rows in a fixed order (by every column that is not a float)."""
    df = df.copy()
    for col in df.columns:
        if df[col].dtype == object and any(isinstance(v, decimal.Decimal) for v in df[col]):
            df[col] = df[col].astype("float64")
    keys = [c for c in df.columns if not pd.api.types.is_float_dtype(df[c])]
    if keys:
        df = df.sort_values(keys, kind="stable")
    return df.reset_index(drop=True)


def assert_same_frame(left: pd.DataFrame, right: pd.DataFrame, what: str) -> None:
    """Same columns and rows; floats within ``RTOL``, everything else equal."""
    a, b = _plain(left), _plain(right)
    assert list(a.columns) == list(b.columns), f"{what}: columns differ"
    assert len(a) == len(b), f"{what}: {len(a)} rows against {len(b)}"
    for col in a.columns:
        x, y = a[col], b[col]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            np.testing.assert_allclose(
                x.to_numpy(dtype="float64"),
                y.to_numpy(dtype="float64"),
                rtol=RTOL,
                atol=0,
                equal_nan=True,
                err_msg=f"{what}: column {col}",
            )
        else:
            assert x.astype(str).tolist() == y.astype(str).tolist(), f"{what}: column {col}"


def assert_same_figures(left: dict[str, float], right: dict[str, float], what: str) -> None:
    assert sorted(left) == sorted(right), f"{what}: different figures"
    for key in left:
        a, b = left[key], right[key]
        same = (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=RTOL, abs_tol=0)
        assert same, f"{what}: {key} is {a!r} against {b!r}"


# --- Fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic")
    write(generate(PARAMS), out, PARAMS)
    return out


@pytest.fixture(scope="module")
def duckdb_tables(folder: Path) -> q.Tables:
    return tables_from_folder(folder, backend=ibis.duckdb.connect())


@pytest.fixture(scope="module")
def spark_tables(folder: Path, spark: object) -> q.Tables:
    return tables_from_folder(folder, backend=ibis.pyspark.connect(spark))


@pytest.fixture(scope="module")
def store_tables(folder: Path) -> Iterator[q.Tables]:
    """The files loaded into an in-memory store (NHS numbers become pseudonyms)."""
    con = connect(":memory:")
    sources = [
        Source(folder / f"{name}.parquet", name)
        for name in TABLES
        if (folder / f"{name}.parquet").exists()
    ]
    reports = load_files(con, sources, DEMO_KEY)
    rejected = {r.table: r.rows_rejected for r in reports if r.rows_rejected}
    assert not rejected, f"synthetic rows rejected on load: {rejected}; {rejects_summary(con)}"
    yield ibis_tables(con)
    con.close()


# --- Tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(QUERIES))
def test_query_gives_the_same_result_on_duckdb_and_spark(
    name: str, duckdb_tables: q.Tables, spark_tables: q.Tables
) -> None:
    query = QUERIES[name]
    on_duckdb = query(duckdb_tables, YEARS).execute()
    on_spark = query(spark_tables, YEARS).execute()
    assert len(on_duckdb) > 0, f"{name}: no rows, so nothing was compared"
    assert_same_frame(on_duckdb, on_spark, name)


def test_calibration_figures_are_the_same_on_duckdb_and_spark(
    duckdb_tables: q.Tables, spark_tables: q.Tables
) -> None:
    on_duckdb = measure(duckdb_tables, YEARS)
    on_spark = measure(spark_tables, YEARS)
    assert_same_figures(on_duckdb, on_spark, "measure")


def test_loaded_store_gives_the_same_aggregates_as_the_files(
    duckdb_tables: q.Tables, store_tables: q.Tables
) -> None:
    for name, query in AGGREGATES.items():
        from_files = query(duckdb_tables, YEARS).execute()
        from_store = query(store_tables, YEARS).execute()
        assert_same_frame(from_files, from_store, f"{name} (files against store)")
    assert_same_figures(
        measure(duckdb_tables, YEARS), measure(store_tables, YEARS), "measure (files/store)"
    )


def _indicator_ids() -> list[str]:
    from commissioning.indicators.library import default_library

    return [i.id for i in default_library().indicators]


@pytest.mark.parametrize("indicator_id", _indicator_ids())
def test_indicator_gives_the_same_values_on_duckdb_and_spark(
    indicator_id: str, duckdb_tables: q.Tables, spark_tables: q.Tables
) -> None:
    from commissioning.indicators.compute import compute_indicator

    on_duckdb = compute_indicator(duckdb_tables, indicator_id, group_by="place_code", years=YEARS)
    on_spark = compute_indicator(spark_tables, indicator_id, group_by="place_code", years=YEARS)
    assert len(on_duckdb) > 0, f"{indicator_id}: no rows, so nothing was compared"
    assert_same_frame(on_duckdb, on_spark, indicator_id)
