"""``commissioning contract ...``: check, budget, simulate, settle and report contracts.

The commands only translate options and call the same service functions as the library
(:mod:`commissioning.contracts.scenarios`, :mod:`commissioning.reports.contract_report`).
A contract file that does not validate exits with status 2 and one line per field with
its fix, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import duckdb
import typer

from commissioning.cli.config import load_settings
from commissioning.contracts.cohort import fetch_place_data
from commissioning.contracts.load import ContractError, load_contract
from commissioning.contracts.outcomes import check_framework
from commissioning.contracts.scenarios import (
    LEDGER_TABLE,
    ScenarioResult,
    run_scenario,
    run_scenarios,
    spec_for_contract,
)
from commissioning.contracts.schema import Contract
from commissioning.contracts.stress import run_stress
from commissioning.contracts.versions import compare_versions, content_hash, describe_changes
from commissioning.data.queries import activity_years
from commissioning.reports.contract_report import write_contract_report, write_contracts_index
from commissioning.reports.formatting import gbp
from commissioning.settlement.ledger import Ledger
from commissioning.settlement.money import format_gbp
from commissioning.settlement.statement import (
    build_statement,
    reconciles,
    statement_csv,
    statement_html,
)
from commissioning.store.duckdb_store import connect, ibis_tables


def _records(frame: Any) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in rec.items()} for rec in frame.to_dict("records")]


contract_app = typer.Typer(
    help="Outcome-based contracts: check a contract file, plan its budget from the store, "
    "stress-test it, settle its quarters into the ledger and write statements.",
    no_args_is_help=True,
)

FileArg = Annotated[Path, typer.Argument(help="The contract file (TOML)")]
StoreOpt = Annotated[
    Path | None, typer.Option("--store", help="The store's DuckDB file (default from settings)")
]


def _load(file: Path) -> Contract:
    if not file.exists():
        typer.echo(f"{file}: no such file — check the path", err=True)
        raise typer.Exit(2)
    try:
        return load_contract(file)
    except ContractError as exc:
        typer.echo(f"{file} has {len(exc.problems)} problem(s):", err=True)
        for problem in exc.problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(2) from None


def _store(store: Path | None) -> duckdb.DuckDBPyConnection:
    path = store or load_settings().store.path
    if not Path(path).exists():
        typer.echo(f"{path}: no store — load data first or give --store", err=True)
        raise typer.Exit(2)
    return connect(path)


def _run(contract: Contract, con: duckdb.DuckDBPyConnection) -> ScenarioResult:
    years = activity_years(ibis_tables(con))
    if len(years) < 2:
        typer.echo("the store holds fewer than two financial years of activity", err=True)
        raise typer.Exit(2)
    data = fetch_place_data(ibis_tables(con), years)
    return run_scenario(
        spec_for_contract(contract), data, Ledger(con, LEDGER_TABLE), contract=contract
    )


@contract_app.command("check")
def check(file: FileArg) -> None:
    """Validate a contract file and print the outcomes framework's warnings."""
    contract = _load(file)
    typer.echo(
        f"{contract.id} {contract.version}: valid ({contract.form.type}, "
        f"{contract.duration_years} years, {len(contract.outcomes.measures)} measures)"
    )
    for w in check_framework(contract.outcomes):
        typer.echo(f"warning {w.code}: {w.message}")


@contract_app.command("diff")
def diff(old: FileArg, new: FileArg) -> None:
    """Compare two versions of a contract: every field that changed, old and new."""
    before, after = _load(old), _load(new)
    typer.echo(
        f"{before.id} {before.version} ({content_hash(before)[:12]}) -> "
        f"{after.id} {after.version} ({content_hash(after)[:12]})"
    )
    typer.echo(describe_changes(compare_versions(before, after)))


@contract_app.command("budget")
def budget(file: FileArg, store: StoreOpt = None) -> None:
    """Plan the contract's capitated budget from its cohort's spend in the store."""
    contract = _load(file)
    con = _store(store)
    r = _run(contract, con)
    p = r.plan
    typer.echo(f"cohort: {r.rule} — {p.people:,} people in {r.place_code}, {p.base_year}")
    typer.echo(
        f"baseline spend {gbp(p.spend_gbp)}: {gbp(p.per_person_gbp)} per person, "
        f"{gbp(p.risk_adjusted_per_person_gbp)} per need-weighted person"
    )
    typer.echo(
        f"demographic change {p.demographic_growth:+.2%} a year, cost growth "
        f"{p.cost_growth:.1%}, cap ±{p.cap:.0%}"
    )
    for row in _records(p.trajectory):
        typer.echo(
            f"  year {int(row['year'])}: do nothing {gbp(row['do_nothing_gbp'])}, target "
            f"{gbp(row['target_gbp'])}, allocation {format_gbp(int(row['allocation_pence']))}, "
            f"reserve balance {gbp(row['reserve_balance_gbp'])}"
        )
    con.close()


@contract_app.command("simulate")
def simulate(
    file: FileArg,
    runs: Annotated[int, typer.Option("--runs", min=100, help="Simulated lives")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed")] = 0,
) -> None:
    """Stress-test the contract as written (Monte Carlo)."""
    contract = _load(file)
    result = run_stress(contract, n_runs=runs, seed=seed)
    for key, value in result.summary().items():
        text = f"{value:.1%}" if key.startswith("p_") else f"{gbp(value)}"
        typer.echo(f"{key}: {text}")
    typer.echo("drivers: " + ", ".join(f"{n} {rho:+.2f}" for n, rho in result.drivers))


@contract_app.command("settle")
def settle(
    file: FileArg,
    store: StoreOpt = None,
    year: Annotated[int, typer.Option("--year", min=1, help="Contract year")] = 1,
    quarter: Annotated[int, typer.Option("--quarter", min=1, max=4, help="Quarter")] = 1,
) -> None:
    """Settle the quarters the store covers into its ledger and print one quarter's lines."""
    contract = _load(file)
    con = _store(store)
    r = _run(contract, con)
    lines = [ln for ln in r.lines if (ln.year, ln.quarter) == (year, quarter)]
    if not lines:
        typer.echo(
            f"no lines for Y{year}Q{quarter}: the data cover contract years "
            f"{sorted(r.contract_years)}",
            err=True,
        )
        raise typer.Exit(2)
    for ln in lines:
        typer.echo(
            f"{ln.period} {ln.kind:<18} {ln.payer} -> {ln.payee}: "
            f"{format_gbp(ln.amount_pence)}  {ln.description}"
        )
    typer.echo(
        f"posted {r.posted.get('posted', 0)}, already in the ledger {r.posted.get('unchanged', 0)}"
    )
    con.close()


@contract_app.command("statement")
def statement(
    file: FileArg,
    party: Annotated[str, typer.Option("--party", help="Party id")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the statement")],
    store: StoreOpt = None,
) -> None:
    """Write a party's statement (HTML and CSV) from the ledger."""
    contract = _load(file)
    if party not in {p.id for p in contract.parties}:
        typer.echo(
            f"'{party}' is not a party — use one of {', '.join(p.id for p in contract.parties)}",
            err=True,
        )
        raise typer.Exit(2)
    con = _store(store)
    _run(contract, con)
    ledger = Ledger(con, LEDGER_TABLE)
    st = build_statement(ledger, party, contract.id)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{contract.id}_{party}.html").write_text(statement_html(st), encoding="utf-8")
    (out / f"{contract.id}_{party}.csv").write_text(statement_csv(st), encoding="utf-8")
    typer.echo(
        f"{party}: received {format_gbp(st.received_pence)}, paid "
        f"{format_gbp(st.paid_pence)}, net {format_gbp(st.net_pence)}; "
        f"{'reconciles' if reconciles(st, ledger) else 'DOES NOT reconcile'} to the ledger"
    )
    con.close()


@contract_app.command("scenarios")
def scenarios(
    out: Annotated[Path, typer.Option("--out", help="Folder for the reports")],
    store: StoreOpt = None,
) -> None:
    """Run every worked scenario on the store and write the reports and the index."""
    con = _store(store)
    tables = ibis_tables(con)
    results = run_scenarios(tables, con, activity_years(tables))
    for r in results:
        write_contract_report(r, out)
        typer.echo(
            f"{r.spec.scenario_id}: {r.cohort_size:,} people, "
            f"{gbp(r.annual_budget_gbp)} a year, P(loss beyond reserve) "
            f"{r.stress.p_loss_beyond_reserve:.0%} — {r.verdict}"
        )
    typer.echo(str(write_contracts_index(results, out)))
    con.close()
