"""The worked scenarios end to end on the calibration population (60,000 people, 4 years)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from commissioning.data.load import Source, load_files, table_for_file
from commissioning.data.pseudonymise import DEMO_KEY
from commissioning.operations import register, runs
from commissioning.operations.base import DEMO_LEDGER_KEY, Operations, open_operations
from commissioning.reports.contract_report import write_contract_report, write_contracts_index
from commissioning.scenarios.worked import SCENARIOS, ScenarioResult, run_scenarios
from commissioning.settlement.settle import net_by_party
from commissioning.store.duckdb_store import connect, ibis_tables
from commissioning.store.records import wrap_duckdb

YEARS = [2021, 2022, 2023, 2024]


@pytest.fixture(scope="module")
def store(calibration_population: Path) -> duckdb.DuckDBPyConnection:
    con = connect(":memory:")
    sources = [
        Source(p, table_for_file(p)) for p in sorted(calibration_population.glob("*.parquet"))
    ]
    load_files(con, sources, DEMO_KEY)
    return con


@pytest.fixture(scope="module")
def ops(store: duckdb.DuckDBPyConnection) -> Operations:
    return open_operations(wrap_duckdb(store), DEMO_LEDGER_KEY)


@pytest.fixture(scope="module")
def results(store: duckdb.DuckDBPyConnection, ops: Operations) -> list[ScenarioResult]:
    return run_scenarios(ibis_tables(store), ops, YEARS, n_runs=4_000)


def test_every_scenario_has_a_budget_from_the_data(results: list[ScenarioResult]) -> None:
    assert [r.spec.scenario_id for r in results] == [s.scenario_id for s in SCENARIOS]
    for r in results:
        assert r.cohort_size > 0
        assert r.plan.spend_gbp > 0
        assert r.annual_budget_gbp > 0
        assert r.contract.finance.baseline_budget_gbp > 0
        assert r.contract_years == {1: 2023, 2: 2024}


def test_settlement_conserves_money_and_statements_reconcile(
    results: list[ScenarioResult], ops: Operations
) -> None:
    assert ops.ledger.verify().ok
    for r in results:
        assert r.lines, r.spec.scenario_id
        assert all(ln.amount_pence >= 0 for ln in r.lines)
        assert sum(net_by_party(r.lines).values()) == 0
        assert all(r.reconciled.values())
        # The statements together account for every line twice (payer and payee).
        total = sum(s.received_pence for s in r.statements)
        assert total == sum(ln.amount_pence for ln in r.lines)


def test_scenarios_go_through_the_register_and_approved_runs(
    results: list[ScenarioResult], ops: Operations
) -> None:
    for r in results:
        v = register.find_version(ops, r.contract.id, r.contract.version)
        assert v.signed and v.contract.version.endswith("-planned")
        posted = [run for run in runs.runs(ops, r.contract.id) if run.status == "posted"]
        # Two contract years: four quarters and a year-end each, in order.
        assert [run.period for run in posted] == [
            "Y1Q1",
            "Y1Q2",
            "Y1Q3",
            "Y1Q4",
            "Y1YE",
            "Y2Q1",
            "Y2Q2",
            "Y2Q3",
            "Y2Q4",
            "Y2YE",
        ]
        assert all(run.approved_by and run.reviewed_by != run.prepared_by for run in posted)


def test_rerunning_posts_no_new_ledger_lines(
    store: duckdb.DuckDBPyConnection, ops: Operations, results: list[ScenarioResult]
) -> None:
    before = ops.ledger.head()
    again = run_scenarios(ibis_tables(store), ops, YEARS, ["ld_prime_provider"], n_runs=500)
    assert ops.ledger.head() == before
    assert again[0].lines == results[0].lines


def test_the_optimistic_contract_is_flagged_and_the_others_are_not(
    results: list[ScenarioResult],
) -> None:
    by_id = {r.spec.scenario_id: r for r in results}
    optimistic = by_id.pop("optimistic_older_people")
    assert optimistic.stress.p_loss_beyond_reserve > 0.5
    assert optimistic.verdict == "likely to fail"
    assert "savings assumed early and large" in optimistic.verdict_reason
    assert sum(not r.failing for r in by_id.values()) >= 4


def test_every_verdict_agrees_with_its_own_figures(results: list[ScenarioResult]) -> None:
    for r in results:
        s = r.stress
        beyond = s.p_loss_beyond_reserve
        if r.verdict == "likely to hold":
            assert beyond <= 0.2, r.spec.scenario_id
            assert s.p_cumulative_loss <= 0.5 and s.p_commissioner_overspend <= 0.5
        elif r.verdict == "likely to fail":
            assert beyond > 0.5, r.spec.scenario_id
        else:
            assert r.verdict == "at risk" and beyond <= 0.5
            assert beyond > 0.2 or s.p_cumulative_loss > 0.5 or s.p_commissioner_overspend > 0.5
        assert f"P(provider loses over the contract) {s.p_cumulative_loss:.0%}," in r.verdict_reason


def test_measured_outcomes_come_from_the_data(results: list[ScenarioResult]) -> None:
    pennine = next(r for r in results if r.spec.scenario_id == "pennine_msk_hub")
    knee = next(m for m in pennine.measures if m.indicator_id == "knee_replacement_health_gain")
    assert knee.source == "direct"
    assert 0.1 < knee.measured[2023] < 0.5


def test_reports_and_index_are_written(results: list[ScenarioResult], tmp_path: Path) -> None:
    page = write_contract_report(results[0], tmp_path)
    text = page.read_text(encoding="utf-8")
    assert "Budget and trajectory" in text and "Stress test" in text
    party = results[0].statements[0].party
    assert (tmp_path / f"{results[0].spec.scenario_id}_statements" / f"{party}.csv").exists()
    index = write_contracts_index(results, tmp_path).read_text(encoding="utf-8")
    assert "likely to fail" in index
