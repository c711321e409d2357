"""Business cases by HM Treasury's Green Book: worked by hand first.

Discount factors: 1 / (1 + r)^t, year 0 undiscounted, with the Green Book's declining
long-term rates (3.5% to year 30, then 3.0% to year 75, ...; 1.5% for health effects, then
1.29%). Optimism bias: the upper bound of the supplementary guidance (standard buildings:
24% of capital cost), reduced by the share the case has mitigated.

The worked case: £100,000 of building works in year 0 (standard buildings, half the bias
mitigated: 12%, so £112,000), running costs of £50,000 and cash-releasing savings of
£90,000 in each of years 1 to 3.

    discount factors (3.5%): 1, 0.966183575, 0.933510700, 0.901942706
    sum of years 1-3:           2.801636981
    present value of costs:     112,000 + 50,000 x 2.801636981 = 252,081.849
    present value of benefits:  90,000 x 2.801636981             = 252,147.328
    net present value:          65.479
    cumulative discounted net:  -112,000; -73,352.657; -36,012.229; +65.479
    payback: in year 3, at 2 + 36,012.229 / 36,077.708 = 2.998 years
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commissioning.decide.business_case import (
    BusinessCase,
    CashFlow,
    appraise,
    discount_factor,
    optimism_bias,
    simulate,
)

CASE = BusinessCase(
    name="Community falls service",
    flows=[
        CashFlow("building works", "capital", {0: 100_000}, bias="standard_buildings"),
        CashFlow("running costs", "cost", {1: 50_000, 2: 50_000, 3: 50_000}),
        CashFlow("fewer admissions", "benefit", {1: 90_000, 2: 90_000, 3: 90_000}),
    ],
    bias_mitigated=0.5,
)


def test_discount_factors_are_the_green_books() -> None:
    assert discount_factor(0) == 1.0
    assert discount_factor(1) == pytest.approx(0.966183575, abs=1e-9)
    assert discount_factor(30) == pytest.approx(0.3563, abs=5e-5)  # Green Book table A6
    assert discount_factor(31) == pytest.approx(discount_factor(30) / 1.03, rel=1e-12)
    assert discount_factor(76) == pytest.approx(discount_factor(30) / 1.03**45 / 1.025, rel=1e-12)
    assert discount_factor(10, health=True) == pytest.approx(1 / 1.015**10, rel=1e-12)
    assert discount_factor(31, health=True) == pytest.approx(1 / 1.015**30 / 1.0129, rel=1e-12)


def test_optimism_bias_is_the_upper_bound_less_what_is_mitigated() -> None:
    assert optimism_bias("standard_buildings", 0.0) == pytest.approx(0.24)
    assert optimism_bias("standard_buildings", 0.5) == pytest.approx(0.12)
    assert optimism_bias("equipment_development", 0.0) == pytest.approx(2.00)
    with pytest.raises(ValueError, match="unknown kind of project 'bridges'"):
        optimism_bias("bridges", 0.0)


def test_the_worked_case() -> None:
    a = appraise(CASE)
    assert a.pv_costs == pytest.approx(252_081.849, abs=0.01)
    assert a.pv_benefits == pytest.approx(252_147.328, abs=0.01)
    assert a.npv == pytest.approx(65.479, abs=0.01)
    assert a.benefit_cost_ratio == pytest.approx(252_147.328 / 252_081.849, rel=1e-9)
    assert a.roi == pytest.approx(65.479 / 252_081.849, rel=1e-4)
    assert a.payback_years == pytest.approx(2 + 36_012.229 / 36_077.708, abs=1e-4)
    assert a.optimism_bias_gbp == pytest.approx(12_000.0)
    assert [round(v, 3) for v in a.cumulative] == [-112_000.0, -73_352.657, -36_012.229, 65.479]


def test_a_case_that_never_pays_back_says_so() -> None:
    case = BusinessCase(
        "Never",
        [
            CashFlow("works", "capital", {0: 100_000}),
            CashFlow("savings", "benefit", {1: 10_000}),
        ],
    )
    a = appraise(case)
    assert a.npv < 0 and a.payback_years is None and a.break_even_benefit_scale > 1


def test_break_even_scales_benefits_to_an_npv_of_zero() -> None:
    a = appraise(CASE)
    scaled = appraise(CASE.scaled_benefits(a.break_even_benefit_scale))
    assert scaled.npv == pytest.approx(0.0, abs=1e-6)


def test_monte_carlo_keeps_the_central_case_and_widens_with_uncertainty() -> None:
    fixed = simulate(CASE, runs=500, seed=1, benefit_spread=0.0, cost_spread=0.0)
    assert fixed.npv_low == pytest.approx(appraise(CASE).npv, abs=1e-6)
    assert fixed.npv_high == pytest.approx(appraise(CASE).npv, abs=1e-6)
    wide = simulate(CASE, runs=2_000, seed=1, benefit_spread=0.2, cost_spread=0.1)
    assert wide.npv_low < appraise(CASE).npv < wide.npv_high
    assert 0.3 < wide.p_positive < 0.7  # the worked case is near break-even
    again = simulate(CASE, runs=2_000, seed=1, benefit_spread=0.2, cost_spread=0.1)
    assert again == wide


@given(st.integers(min_value=0, max_value=400))
def test_discount_factors_fall_with_time(year: int) -> None:
    assert 0 < discount_factor(year + 1) < discount_factor(year) <= 1
    assert discount_factor(year, health=True) >= discount_factor(year)


def test_a_malformed_case_names_the_field() -> None:
    with pytest.raises(ValueError, match="running costs: year -1 is before year 0"):
        BusinessCase("x", [CashFlow("running costs", "cost", {-1: 5.0})])
    with pytest.raises(ValueError, match="kind must be one of capital, cost, benefit"):
        BusinessCase("x", [CashFlow("y", "income", {0: 5.0})])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bias_mitigated must be from 0 to 1"):
        BusinessCase("x", [CashFlow("y", "cost", {0: 5.0})], bias_mitigated=1.5)


def test_a_case_is_linked_to_the_contract_that_delivers_it() -> None:
    from commissioning.decide.business_case import Registered, contract_link

    register = {"frail-elderly-alliance": Registered(("1.0", "1.1"), "live")}
    ok = contract_link("approved", "frail-elderly-alliance", "1.1", register)
    assert (ok.contract_status, ok.flag) == ("live", "")
    assert contract_link("approved", "frail-elderly-alliance", None, register).flag == ""
    missing = contract_link("approved", "falls-hub", "1.0", register)
    assert missing.flag == "contract falls-hub is not in the register"
    assert missing.contract_status == "not registered"
    wrong = contract_link("approved", "frail-elderly-alliance", "2.0", register)
    assert wrong.flag == (
        "contract frail-elderly-alliance has no version 2.0 in the register (registered: 1.0, 1.1)"
    )
    unnamed = contract_link("approved", None, None, register)
    assert unnamed.flag == "approved, but names no contract to deliver it"
    assert contract_link("draft", None, None, register).flag == ""  # not yet needed


def test_the_case_file_names_its_contract(tmp_path: Path) -> None:
    from commissioning.decide.files import example, read_case

    cf = read_case(example("falls_case.toml"))
    assert (cf.status, cf.contract_id, cf.contract_version) == (
        "approved",
        "frail-elderly-alliance",
        "1.0",
    )
    bad = tmp_path / "c.toml"
    bad.write_text('name = "x"\nstatus = "agreed"\nflows = []\n')
    with pytest.raises(ValueError, match="status"):
        read_case(bad)
