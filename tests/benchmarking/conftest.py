"""The calibration population loaded once into an in-memory store for benchmarking tests."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import ibis.expr.types as ir
import pytest

from commissioning.data.load import Source, load_files, table_for_file
from commissioning.data.pseudonymise import DEMO_KEY
from commissioning.store.duckdb_store import connect, ibis_tables


@pytest.fixture(scope="session")
def store_tables(calibration_population: Path) -> Iterator[Mapping[str, ir.Table]]:
    """The calibration population (60,000 people, four years) through the loader."""
    con = connect(":memory:")
    files = sorted(calibration_population.glob("*.parquet"))
    load_files(con, [Source(p, table_for_file(p)) for p in files], DEMO_KEY)
    yield ibis_tables(con)
    con.close()
