"""``commissioning contract ...`` end to end on a small store (4,000 people, two years)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from commissioning.cli.contract import contract_app
from commissioning.contracts.load import example_text
from commissioning.data.load import Source, load_files, table_for_file
from commissioning.data.pseudonymise import DEMO_KEY
from commissioning.store.duckdb_store import connect

app = typer.Typer()
app.add_typer(contract_app, name="contract")
runner = CliRunner()


@pytest.fixture(scope="module")
def store(small_population: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "store.duckdb"
    con = connect(path)
    sources = [Source(p, table_for_file(p)) for p in sorted(small_population.glob("*.parquet"))]
    load_files(con, sources, DEMO_KEY)
    con.close()
    return path


@pytest.fixture()
def contract_file(tmp_path: Path) -> Path:
    path = tmp_path / "optimistic.toml"
    path.write_text(example_text("optimistic_older_people"), encoding="utf-8")
    return path


def test_check_prints_valid_and_warnings(contract_file: Path) -> None:
    result = runner.invoke(app, ["contract", "check", str(contract_file)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def test_check_names_the_field_and_the_fix_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(example_text("ld_prime_provider").replace("weight = 0.35", "weight = 0.30"))
    result = runner.invoke(app, ["contract", "check", str(bad)])
    assert result.exit_code == 2
    assert "add up to exactly 1" in result.output
    assert "Traceback" not in result.output


def test_simulate_reports_the_chance_of_loss(contract_file: Path) -> None:
    result = runner.invoke(
        app, ["contract", "simulate", str(contract_file), "--runs", "500", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "p_loss_beyond_reserve" in result.output


def test_budget_settle_statement_and_scenarios(
    store: Path, contract_file: Path, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["contract", "budget", str(contract_file), "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert "year 1: do nothing" in result.output

    result = runner.invoke(
        app,
        [
            "contract",
            "settle",
            str(contract_file),
            "--store",
            str(store),
            "--year",
            "1",
            "--quarter",
            "4",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "capitation" in result.output

    again = runner.invoke(
        app,
        [
            "contract",
            "settle",
            str(contract_file),
            "--store",
            str(store),
            "--year",
            "1",
            "--quarter",
            "4",
        ],
    )
    assert "posted 0," in again.output

    result = runner.invoke(
        app,
        [
            "contract",
            "statement",
            str(contract_file),
            "--store",
            str(store),
            "--party",
            "area-ccg",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "reconciles" in result.output
    assert (tmp_path / "optimistic-older-people_area-ccg.csv").exists()

    result = runner.invoke(
        app, ["contract", "scenarios", "--store", str(store), "--out", str(tmp_path / "reports")]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "reports" / "contracts.html").exists()


def test_diff_lists_each_changed_field_with_old_and_new(tmp_path: Path) -> None:
    text = example_text("pennine_msk_hub")
    old = tmp_path / "v1.toml"
    old.write_text(text, encoding="utf-8")
    new = tmp_path / "v2.toml"
    new.write_text(
        text.replace('version = "1.0"', 'version = "1.1"', 1).replace(
            "value_at_risk = 0.05", "value_at_risk = 0.08", 1
        ),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["contract", "diff", str(old), str(new)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "1.0" in lines[0] and "1.1" in lines[0]
    assert any("version" in line and "1.0" in line and "1.1" in line for line in lines[1:])
    assert any("value_at_risk" in line and "0.05" in line and "0.08" in line for line in lines)
    same = runner.invoke(app, ["contract", "diff", str(old), str(old)])
    assert same.output.splitlines()[-1] == "no changes"
