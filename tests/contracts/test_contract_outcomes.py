"""Outcomes framework checks and payment curves."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from commissioning.contracts.curves import attainment, payout_fraction, payout_fraction_array
from commissioning.contracts.load import load_example
from commissioning.contracts.outcomes import (
    LinearCurve,
    Measure,
    OutcomesFramework,
    Step,
    SteppedCurve,
    ThresholdCurve,
    _wilson_half_width,
    chance_variation_checks,
    check_framework,
)


def measure(i: int, tier: int = 1, weight: str = "0.5", **kw: object) -> Measure:
    data: dict[str, object] = {
        "indicator_id": f"m{i}",
        "name": f"Measure {i}",
        "tier": tier,
        "weight": Decimal(weight),
        "baseline": Decimal("0.5"),
        "target": Decimal("0.6"),
        "polarity": "higher_is_better",
        "kind": "proportion",
    }
    data.update(kw)
    return Measure.model_validate(data)


def test_examples_have_no_framework_warnings() -> None:
    for name in ("ld_prime_provider", "pennine_msk_hub", "frail_elderly_alliance"):
        assert check_framework(load_example(name).outcomes) == []


def test_too_many_measures_cites_seed_004() -> None:
    weights = ["0.0625"] * 16
    framework = OutcomesFramework(
        measures=[measure(i, tier=3, weight=w) for i, w in enumerate(weights)]
    )
    codes = [w.code for w in check_framework(framework)]
    assert codes == ["too_many_measures"]
    assert "219" in check_framework(framework)[0].message


def test_no_tier_3_measure_warns() -> None:
    framework = OutcomesFramework(measures=[measure(1, tier=1), measure(2, tier=2)])
    assert [w.code for w in check_framework(framework)] == ["no_tier_3"]


def test_wilson_half_width_by_hand() -> None:
    # p = 0.5, n = 100, z = 1.96: denom = 1 + 3.8416/100 = 1.038416;
    # sqrt(0.25/100 + 3.8416/40000) = sqrt(0.0025 + 0.00009604) = 0.0509514;
    # half-width = 1.96/1.038416 x 0.0509514 = 0.096170.
    assert math.isclose(_wilson_half_width(0.5, 100), 0.096170, abs_tol=2e-5)


def test_chance_variation_flags_small_cohorts() -> None:
    # A 10-point improvement on a 50% baseline: at n = 100 the Wilson half-width is 0.096
    # (< 0.10, not flagged); at n = 80 it is 0.107 (> 0.10, flagged).
    framework = OutcomesFramework(measures=[measure(1, weight="1")])
    assert not chance_variation_checks(framework, 100)[0].flagged
    assert chance_variation_checks(framework, 80)[0].flagged


def test_chance_variation_for_rates_and_scores() -> None:
    pennine = load_example("pennine_msk_hub").outcomes
    checks = {c.indicator_id: c for c in chance_variation_checks(pennine, 400)}
    # Knee health gain, sd 0.3: 1.96 x 0.3 / sqrt(400) = 0.0294 < 0.051 -> not flagged.
    assert math.isclose(
        checks["knee_replacement_health_gain"].chance_half_width or 0, 0.0294, abs_tol=1e-4
    )
    assert not checks["knee_replacement_health_gain"].flagged
    # Revisions 3.5% -> 2.5% in 400 people: Wilson half-width ~0.019 > 0.01 -> flagged.
    assert checks["revision_within_5_years"].flagged
    # A score with no sd is noted, not judged.
    score = OutcomesFramework(measures=[measure(1, weight="1", kind="score")])
    assert chance_variation_checks(score, 100)[0].chance_half_width is None


def test_curves_by_hand() -> None:
    m = measure(
        1,
        weight="1",
        baseline=Decimal(20),
        target=Decimal(15),
        kind="score",
        polarity="lower_is_better",
    )
    assert attainment(m, 16) == Decimal("0.8")  # (16 - 20) / (15 - 20)
    assert payout_fraction(LinearCurve(), Decimal("0.8")) == Decimal("0.8")
    assert payout_fraction(LinearCurve(floor=Decimal("0.5")), Decimal("0.8")) == Decimal("0.6")
    assert payout_fraction(LinearCurve(), Decimal("1.7")) == 1
    assert payout_fraction(ThresholdCurve(), Decimal("0.99")) == 0
    stepped = SteppedCurve(
        steps=[
            Step(attainment=Decimal("0.5"), payout=Decimal("0.4")),
            Step(attainment=Decimal(1), payout=Decimal(1)),
        ]
    )
    assert payout_fraction(stepped, Decimal("0.7")) == Decimal("0.4")
    assert payout_fraction(stepped, Decimal("-3")) == 0


CURVES = [
    LinearCurve(),
    LinearCurve(floor=Decimal("-0.5")),
    ThresholdCurve(threshold=Decimal("0.8")),
    SteppedCurve(
        steps=[
            Step(attainment=Decimal("0.25"), payout=Decimal("0.2")),
            Step(attainment=Decimal(1), payout=Decimal(1)),
        ]
    ),
]


@given(
    a=st.decimals(-5, 5, places=4),
    b=st.decimals(-5, 5, places=4),
    i=st.integers(0, len(CURVES) - 1),
)
def test_payout_is_monotone_and_bounded(a: Decimal, b: Decimal, i: int) -> None:
    curve = CURVES[i]
    low, high = sorted((a, b))
    assert 0 <= payout_fraction(curve, low) <= payout_fraction(curve, high) <= 1
    vector = payout_fraction_array(curve, np.array([float(low), float(high)]))
    assert vector[0] <= vector[1]
    assert math.isclose(vector[1], float(payout_fraction(curve, high)), abs_tol=1e-9)
