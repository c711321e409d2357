"""One store address for every engine: the same indicators from a DuckDB file and from a
PostgreSQL copy of its canonical tables, through ``commissioning indicators --store``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from commissioning.cli.main import app
from commissioning.data.load import Source, load_files, table_for_file
from commissioning.data.pseudonymise import DEMO_KEY
from commissioning.store.address import StoreAddressError, copy_tables, open_store_tables
from commissioning.store.duckdb_store import connect

runner = CliRunner()


@pytest.fixture(scope="module")
def duckdb_store(small_population: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("address") / "s.duckdb"
    con = connect(path)
    files = sorted(small_population.glob("*.parquet"))
    load_files(con, [Source(f, table_for_file(f)) for f in files], DEMO_KEY)
    con.close()
    return path


def test_a_plain_path_and_a_duckdb_url_name_the_same_store(duckdb_store: Path) -> None:
    plain = open_store_tables(duckdb_store, read_only=True)
    url = open_store_tables(f"duckdb://{duckdb_store}", read_only=True)
    assert plain.tables["people"].count().execute() == url.tables["people"].count().execute()
    assert plain.tables["people"].count().execute() > 3_000
    plain.connection.close()
    url.connection.close()


def test_load_refuses_an_address_it_cannot_write(tmp_path: Path) -> None:
    (tmp_path / "places.csv").write_text("place_code,place_name,rurality,is_home\nA,H,urban,1\n")
    args = ["load", "--demo", "--store", "postgresql://me@localhost/x", "places.csv"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "this command works on the DuckDB store file" in result.stderr
    result = runner.invoke(app, ["indicators", "--store", "sqlite:///x.db"])
    assert result.exit_code == 2 and "unknown kind of store 'sqlite'" in result.stderr


@pytest.mark.postgres
def test_indicators_from_postgresql_equal_those_from_duckdb(
    duckdb_store: Path, postgres_dsn: str, tmp_path: Path
) -> None:
    import psycopg

    with psycopg.connect(postgres_dsn, autocommit=True) as con:
        con.execute("DROP DATABASE IF EXISTS canonical_copy")
        con.execute("CREATE DATABASE canonical_copy")
    target = postgres_dsn.rsplit("/", 1)[0] + "/canonical_copy"
    with pytest.raises(StoreAddressError, match="has no table places, gp_practices"):
        open_store_tables(target)
    source = open_store_tables(duckdb_store, read_only=True)
    copy_tables(source.tables, target)
    source.connection.close()

    answers = {}
    for name, address in (("duckdb", f"duckdb://{duckdb_store}"), ("postgresql", target)):
        out = tmp_path / name
        result = runner.invoke(
            app, ["--quiet", "indicators", "--store", address, "--out", str(out), "--json"]
        )
        assert result.exit_code == 0, (result.output, repr(result.exception))
        assert json.loads(result.stdout)["data_as_at"] == "2023-03-31"
        answers[name] = pd.read_csv(out / "published" / "indicators.csv")
    assert len(answers["duckdb"]) > 100
    assert answers["duckdb"]["value"].notna().sum() > 50  # not all suppressed
    pd.testing.assert_frame_equal(
        answers["duckdb"], answers["postgresql"], check_exact=False, rtol=1e-9
    )
