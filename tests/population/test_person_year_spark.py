"""The person-year table is the same on DuckDB and on Spark (one Ibis definition).

Spark needs a Java runtime; the test command installs one. If none is found the test
fails rather than skips, so a missing runtime cannot pass unnoticed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest

from commissioning.population.person_year import person_year_table
from commissioning.synthetic.files import tables_from_folder

pytestmark = pytest.mark.spark
YEARS = [2021, 2022]


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    if _java() is None:
        pytest.fail("Spark needs a Java runtime (17 or later); install one", pytrace=False)
    from pyspark.sql import SparkSession

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPARK_LOCAL_IP", "127.0.0.1")
        session = (
            SparkSession.builder.master("local[2]")
            .appName("commissioning-person-year")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
        try:
            yield session
        finally:
            session.stop()


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
