"""The person-year table is the same on DuckDB and on Spark (one Ibis definition).

Spark needs a Java runtime; the test command installs one. If none is found the test
fails rather than skips, so a missing runtime cannot pass unnoticed.
"""

from __future__ import annotations

from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest

from commissioning.population.person_year import person_year_table
from commissioning.synthetic.files import tables_from_folder

pytestmark = pytest.mark.spark
YEARS = [2021, 2022]


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["person_id", "year"]).reset_index(drop=True)


def test_same_table_on_duckdb_and_spark(small_population: Path, spark: object) -> None:
    on_duckdb = _sorted(person_year_table(tables_from_folder(small_population), YEARS).to_pandas())
    spark_tables = tables_from_folder(small_population, backend=ibis.pyspark.connect(spark))
    on_spark = _sorted(person_year_table(spark_tables, YEARS).to_pandas())
    assert list(on_duckdb.columns) == list(on_spark.columns)
    assert len(on_duckdb) == len(on_spark) > 0
    for col in on_duckdb.columns:
        a, b = on_duckdb[col], on_spark[col]
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            np.testing.assert_allclose(
                a.to_numpy(dtype="float64"),
                b.to_numpy(dtype="float64"),
                rtol=1e-9,
                equal_nan=True,
                err_msg=col,
            )
        else:
            assert a.astype(str).tolist() == b.astype(str).tolist(), col
