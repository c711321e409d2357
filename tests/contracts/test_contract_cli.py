"""``commissioning contract ...`` end to end on a small store (4,000 people, two years)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
import typer
from typer.testing import CliRunner, Result

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


def test_check_passes_a_good_file_and_prints_warnings(contract_file: Path) -> None:
    result = runner.invoke(app, ["contract", "check", str(contract_file)])
    assert result.exit_code == 0, result.output
    assert "optimistic-older-people 1.0: passes its checks" in result.output
    heavy = contract_file.with_name("heavy.toml")
    heavy.write_text(
        contract_file.read_text().replace("planned_savings = 0.25", "planned_savings = 0.35", 1)
    )
    result = runner.invoke(app, ["contract", "check", str(heavy)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("warning years[1].planned_savings")


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


def test_budget_proposes_a_version_and_leaves_the_file_alone(
    store: Path, contract_file: Path, tmp_path: Path
) -> None:
    before = contract_file.read_bytes()
    proposed = tmp_path / "planned.toml"
    result = runner.invoke(
        app,
        [
            "contract",
            "budget",
            str(contract_file),
            "--store",
            str(store),
            "--propose",
            str(proposed),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "year 1: do nothing" in result.output
    assert contract_file.read_bytes() == before
    diff = runner.invoke(app, ["contract", "diff", str(contract_file), str(proposed)])
    assert "version: '1.0' -> '1.0-planned'" in diff.output
    assert "finance.baseline_budget_gbp" in diff.output
    check = runner.invoke(app, ["contract", "check", str(proposed)])
    assert check.exit_code == 0, check.output


def _cli(store: Path, *args: str) -> Result:
    return runner.invoke(app, ["contract", *args, "--records", str(store), "--demo"])


def test_the_lifecycle_from_the_command_line(
    store: Path, contract_file: Path, tmp_path: Path
) -> None:
    """Register, sign, settle through review and approval, statement, verify, audit."""
    r = _cli(store, "register", str(contract_file), "--by", "Cat Manager")
    assert r.exit_code == 0, r.output
    assert "awaiting signatures from area-ccg, older-people-consortium" in r.output
    r = _cli(store, "settle", "optimistic-older-people", "--period", "Y1Q1", "--by", "Cat")
    assert r.exit_code == 2 and "every party must sign" in r.output
    for party, who in (("area-ccg", "Ann"), ("older-people-consortium", "Pat")):
        r = _cli(
            store,
            "sign",
            "optimistic-older-people",
            "--version",
            "1.0",
            "--party",
            party,
            "--by",
            who,
        )
        assert r.exit_code == 0, r.output
    assert "signed by every party" in r.output
    r = _cli(store, "approver", "Fay Finance", "--limit", "50000000", "--by", "Admin")
    assert r.exit_code == 0, r.output
    r = _cli(store, "settle", "optimistic-older-people", "--period", "Y1Q2", "--by", "Cat")
    assert r.exit_code == 2 and "settle Y1Q1 before Y1Q2" in r.output
    r = _cli(store, "settle", "optimistic-older-people", "--period", "Y1Q1", "--by", "Cat")
    assert r.exit_code == 0, r.output
    # Year 1 of the file as signed: £160,000,000 x 0.85 = £136,000,000, nothing at risk:
    # £34,000,000 a quarter — never re-planned from the data.
    assert "capitation         area-ccg -> older-people-consortium: £34,000,000.00" in r.output
    run_id = r.output.split()[1]
    for step, who in (("review", "Rob"), ("approve", "Fay Finance"), ("post", "Fay Finance")):
        r = _cli(store, step, run_id, "--by", who)
        assert r.exit_code == 0, r.output
    assert "posted" in r.output and "ledger head: 1 entries" in r.output
    out = tmp_path / "statements"
    r = _cli(
        store, "statement", "optimistic-older-people", "--party", "area-ccg", "--out", str(out)
    )
    assert r.exit_code == 0, r.output
    assert "paid £34,000,000.00" in r.output and "ledger verified: 1 entries" in r.output
    assert "reconciles to the verified ledger" in r.output
    r = _cli(store, "verify")
    assert r.exit_code == 0 and r.output.startswith("ledger verified")
    audit = tmp_path / "audit.json"
    assert _cli(store, "audit", "optimistic-older-people", "--out", str(audit)).exit_code == 0
    r = runner.invoke(app, ["contract", "verify-audit", str(audit), "--demo"])
    assert r.exit_code == 0 and "ledger verified" in r.output
    # On a copy edited behind the application: the statement says it cannot be trusted.
    copy = tmp_path / "copy.duckdb"
    shutil.copy(store, copy)
    shutil.copy(f"{store}.ledger-anchor.jsonl", f"{copy}.ledger-anchor.jsonl")
    con = duckdb.connect(str(copy))
    con.execute("UPDATE settlement_ledger SET amount_pence = amount_pence + 100000")
    con.close()
    r = _cli(copy, "statement", "optimistic-older-people", "--party", "area-ccg", "--out", str(out))
    assert r.exit_code == 1 and "CANNOT BE TRUSTED: the ledger does not verify" in r.output
    assert "reconciles" not in r.output
    r = _cli(copy, "verify")
    assert r.exit_code == 1 and "LEDGER DOES NOT VERIFY" in r.output
    r = _cli(copy, "payments", "optimistic-older-people", "--out", str(tmp_path / "p.csv"))
    assert r.exit_code == 2 and "no payment file is written" in r.output
    r = _cli(store, "status", "optimistic-older-people")
    assert (
        "optimistic-older-people: live" in r.output
        and "Y1Q1 (2025-04-01 to 2025-06-30)" in r.output
    )
    r = _cli(store, "status", "optimistic-older-people", "--json")
    assert r.exit_code == 0, r.output
    (entry,) = json.loads(r.stdout)
    assert (entry["contract_id"], entry["status"]) == ("optimistic-older-people", "live")
    (version,) = entry["versions"]
    assert version["version"] == "1.0" and version["signed"] is True
    assert {p: s["signed_by"] for p, s in version["signatures"].items()} == {
        "area-ccg": "Ann",
        "older-people-consortium": "Pat",
    }
    (run,) = entry["runs"]
    assert (run["run_id"], run["period"], run["status"]) == (int(run_id), "Y1Q1", "posted")
    assert run["gross_pence"] == 34_000_000_00 and run["period_closed"] is False


def test_commands_refuse_without_a_ledger_key(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMMISSIONING_LEDGER_KEY", raising=False)
    r = runner.invoke(app, ["contract", "verify", "--records", str(store)])
    assert r.exit_code == 2 and "no ledger key" in r.output


def test_scenarios_command_writes_the_reports(store: Path, tmp_path: Path) -> None:
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


def test_a_years_values_measured_from_the_store(
    store: Path, contract_file: Path, tmp_path: Path
) -> None:
    """Annual measures of the user's own contract, measured from the store, submitted for
    Y1Q4 and paying only once another person certifies them."""
    text = (
        contract_file.read_text()
        .replace('id = "optimistic-older-people"', 'id = "older-people-annual"')
        .replace("start_date = 2025-04-01", "start_date = 2021-04-01")
        .replace(
            "[[outcomes.measures]]",
            '[outcomes]\nmeasurement = "annual"\n\n[[outcomes.measures]]',
            1,
        )
    )
    own = tmp_path / "annual.toml"
    own.write_text(text, encoding="utf-8")
    assert _cli(store, "register", str(own), "--by", "Cat").exit_code == 0
    for party, who in (("area-ccg", "Ann"), ("older-people-consortium", "Pat")):
        assert (
            _cli(
                store,
                "sign",
                "older-people-annual",
                "--version",
                "1.0",
                "--party",
                party,
                "--by",
                who,
            ).exit_code
            == 0
        )
    r = runner.invoke(
        app,
        [
            "contract",
            "measure-from-store",
            "older-people-annual",
            "--year",
            "1",
            "--by",
            "Pat Analyst",
            "--store",
            str(store),
            "--records",
            str(store),
            "--demo",
        ],
    )
    assert r.exit_code == 0, r.output
    submitted = [ln for ln in r.output.splitlines() if ln.startswith("measurement ")]
    assert any("emergency_admissions_65_plus Y1Q4 = " in ln for ln in submitted)
    first = submitted[0].split()[1].rstrip(":")
    r = _cli(store, "certify", first, "--by", "Pat Analyst")
    assert r.exit_code == 2 and "another person must certify it" in r.output
    r = _cli(store, "certify", first, "--by", "Ann Analyst")
    assert r.exit_code == 0 and "certified" in r.output
    r = runner.invoke(
        app,
        [
            "contract",
            "measure-from-store",
            "older-people-annual",
            "--year",
            "3",
            "--by",
            "Pat Analyst",
            "--store",
            str(store),
            "--records",
            str(store),
            "--demo",
        ],
    )
    assert r.exit_code == 2 and "no activity for financial year 2023/24" in r.output
