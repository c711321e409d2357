"""The contract stress test: reproducible, fast, and it flags the optimistic contract."""

from __future__ import annotations

import time

import numpy as np
import pytest

from commissioning.contracts.load import load_example
from commissioning.contracts.stress import (
    Beta,
    Fixed,
    StressAssumptions,
    TruncatedNormal,
    default_assumptions,
    draw,
    run_stress,
    spearman,
)

REALISTIC = [
    "ld_prime_provider",
    "mk_substance_misuse",
    "pennine_msk_hub",
    "staffordshire_cancer_eol",
    "frail_elderly_alliance",
]


def test_same_seed_same_answer() -> None:
    contract = load_example("ld_prime_provider")
    a = run_stress(contract, n_runs=2000, seed=7)
    b = run_stress(contract, n_runs=2000, seed=np.random.default_rng(7))
    c = run_stress(contract, n_runs=2000, seed=8)
    assert np.array_equal(a.margin_gbp, b.margin_gbp)
    assert a.summary() == b.summary()
    assert not np.array_equal(a.margin_gbp, c.margin_gbp)


def test_optimistic_contract_is_flagged_and_the_others_less_so() -> None:
    optimistic = run_stress(load_example("optimistic_older_people"), n_runs=5000, seed=1)
    assert optimistic.p_loss_beyond_reserve > 0.8
    for name in REALISTIC:
        result = run_stress(load_example(name), n_runs=5000, seed=1)
        assert result.p_loss_beyond_reserve < 0.4, name
        assert result.p_loss_beyond_reserve < optimistic.p_loss_beyond_reserve - 0.4, name


def test_outputs_have_the_contract_shape() -> None:
    contract = load_example("staffordshire_cancer_eol")
    result = run_stress(contract, n_runs=1000, seed=3)
    assert result.margin_gbp.shape == (1000, 10)
    assert result.margin_percentiles().shape == (3, 10)
    assert result.cumulative_margin_gbp.shape == (1000,)
    assert 0 <= result.p_commissioner_overspend <= 1
    # Year 1 (block fee, no savings planned): the do-nothing spend is the baseline exactly.
    assert np.allclose(result.do_nothing_gbp[:, 0], 69_000_000)
    assert {name for name, _ in result.drivers} == {
        "demand_growth",
        "cost_growth",
        "outcome_attainment",
        "savings_realised",
        "savings_delay_years",
    }


def test_savings_realised_drives_the_optimistic_contract() -> None:
    result = run_stress(load_example("optimistic_older_people"), n_runs=5000, seed=2)
    name, rho = result.drivers[0]
    assert name == "savings_realised" and rho > 0.5


def test_fixed_inputs_give_a_known_answer() -> None:
    # No uncertainty, savings exactly as planned, outcomes at target: the provider's outturn
    # equals the budget and every outcome pays in full, so the margin is zero every year.
    contract = load_example("mk_substance_misuse")
    g = float(contract.finance.do_nothing_growth)
    fixed = StressAssumptions(
        demand_growth=Fixed(value=g),
        cost_growth=Fixed(value=0.0),
        outcome_attainment=Fixed(value=1.0),
        savings_realised=Fixed(value=1.0),
        savings_delay_years=Fixed(value=0.0),
    )
    result = run_stress(contract, fixed, n_runs=10, seed=0)
    assert np.allclose(result.margin_gbp, 0.0, atol=1.0)
    assert result.p_loss_beyond_reserve == 0.0
    assert all(rho == 0.0 for _, rho in result.drivers)


def test_distributions() -> None:
    rng = np.random.default_rng(0)
    tn = draw(TruncatedNormal(mean=0.02, sd=0.05, low=0.0, high=0.05), rng, (20_000,))
    assert tn.min() >= 0.0 and tn.max() <= 0.05
    beta = draw(Beta(a=6, b=2, low=0.0, high=1.2), rng, (20_000,))
    assert beta.mean() == pytest.approx(0.9, abs=0.01)
    assert default_assumptions(load_example("ld_prime_provider")).demand_growth.kind == (
        "truncated_normal"
    )


def test_spearman_by_hand() -> None:
    x = np.array([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]])
    y = np.array([10.0, 20.0, 30.0, 45.0])
    assert np.allclose(spearman(x, y), [1.0, -1.0])


def test_ten_thousand_runs_of_ten_years_well_under_five_seconds() -> None:
    contract = load_example("staffordshire_cancer_eol")
    start = time.perf_counter()
    run_stress(contract, n_runs=10_000, seed=0)
    assert time.perf_counter() - start < 1.0
