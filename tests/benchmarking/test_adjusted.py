"""Spec tests for case-mix adjusted comparison: hand-worked indirect standardisation with
deprivation strata, Spiegelhalter's phi and tau² on the log scale, and polarity."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commissioning.benchmarking.adjusted import (
    PLAIN_LABELS,
    classify_units,
    indirect_standardisation,
    judgement,
    log_ratio_overdispersion,
    plain_label,
    ratio_limits,
)
from commissioning.indicators.stats import funnel_limits

# Two practices, one age band and sex, two deprivation quintiles. Practice A serves mostly
# the least deprived quintile, B mostly the most deprived one.
COUNTS = pd.DataFrame(
    {
        "unit": ["A", "A", "B", "B"],
        "band": [0, 0, 0, 0],
        "sex": ["F", "F", "F", "F"],
        "deprivation": [1, 5, 1, 5],
        "observed": [20.0, 15.0, 40.0, 5.0],
        "population": [100.0, 300.0, 300.0, 100.0],
    }
)


def test_indirect_standardisation_by_deprivation_by_hand() -> None:
    # Reference rates: quintile 1 60/400 = 0.15, quintile 5 20/400 = 0.05.
    # E(A) = 100 x 0.15 + 300 x 0.05 = 30; E(B) = 300 x 0.15 + 100 x 0.05 = 50.
    out = indirect_standardisation(COUNTS).set_index("unit")
    assert out.loc["A", "expected"] == pytest.approx(30.0)
    assert out.loc["B", "expected"] == pytest.approx(50.0)
    assert out.loc["A", "ratio"] == pytest.approx(35 / 30)
    assert out.loc["B", "ratio"] == pytest.approx(45 / 50)
    # Byar's limits of 35 events: 35(1 - 1/315 - 1.959964/(3 sqrt 35))^3 = 24.37521.
    assert out.loc["A", "ratio_lower"] == pytest.approx(24.37521 / 30, rel=1e-6)
    assert out.loc["A", "ratio_upper"] == pytest.approx(48.67801 / 30, rel=1e-6)
    assert out.loc["B", "ratio_lower"] == pytest.approx(32.82025 / 50, rel=1e-6)
    assert out.loc["A", "ratio_lower_99_8"] < out.loc["A", "ratio_lower"]


def test_leaving_deprivation_out_reverses_the_comparison() -> None:
    # By age and sex only, both practices expect 400 x 0.1 = 40 events: A looks low (0.875)
    # and B high (1.125), the opposite of the deprivation-adjusted answer.
    out = indirect_standardisation(COUNTS, strata=("band", "sex")).set_index("unit")
    assert list(out["expected"]) == pytest.approx([40.0, 40.0])
    assert list(out["ratio"]) == pytest.approx([0.875, 1.125])


# Ten units with E = 100 and z = sqrt(E) log(O/E) = -3, -2, -1, -1, 0, 0, 1, 1, 2, 3.
Z = np.array([-3.0, -2.0, -1.0, -1.0, 0.0, 0.0, 1.0, 1.0, 2.0, 3.0])
EXPECTED = np.full(10, 100.0)
OBSERVED = EXPECTED * np.exp(Z / 10.0)


def test_phi_and_tau2_by_hand() -> None:
    # Winsorised at the 10% and 90% quantiles (linear interpolation): -2.1 and 2.1.
    # phi = (2 x 2.1² + 2 x 2² + 4 x 1²) / 10 = 20.82 / 10 = 2.082.
    # tau² = (10 x 2.082 - 9) / (1000 - 100000/1000) = 11.82 / 900.
    od = log_ratio_overdispersion(OBSERVED, EXPECTED)
    assert od.z_scores == pytest.approx(Z)
    assert od.units == 10
    assert od.phi == pytest.approx(2.082)
    assert od.tau2 == pytest.approx(11.82 / 900)
    # I phi = 20.82 against chi-square on 9 degrees of freedom.
    assert od.p_value == pytest.approx(0.0134741, rel=1e-4)


def test_random_effects_limits_by_hand() -> None:
    # exp(±3.090232 sqrt(1/100 + 11.82/900)) = exp(±0.470008).
    lower, upper = ratio_limits([100.0], confidence=0.998, tau2=11.82 / 900)
    assert upper[0] == pytest.approx(1.600016, rel=1e-6)
    assert lower[0] == pytest.approx(1 / 1.600016, rel=1e-6)


def test_without_overdispersion_the_limits_are_exact_poisson() -> None:
    lower, upper = ratio_limits([4.0, 50.0, 900.0], confidence=0.95)
    exact = funnel_limits([4.0, 50.0, 900.0], statistic="ratio", target=1.0, confidence=0.95)
    assert list(lower) == pytest.approx(list(exact[0]))
    assert list(upper) == pytest.approx(list(exact[1]))


def test_no_overdispersion_gives_zero_tau2() -> None:
    # z = 0, ±0.5, winsorised to ±0.3: phi = 0.18 / 5 = 0.036, far below 1.
    z = np.array([-0.5, 0.0, 0.0, 0.5, 0.0])
    od = log_ratio_overdispersion(400 * np.exp(z / 20), np.full(5, 400.0))
    assert od.phi == pytest.approx(0.036)
    assert od.tau2 == 0.0 and od.p_value > 0.9


def _ratios(observed: np.ndarray, expected: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit": [f"U{i}" for i in range(len(observed))],
            "observed": observed,
            "expected": expected,
            "ratio": observed / expected,
        }
    )


def test_when_tested_widens_only_over_dispersed_units() -> None:
    ratios = _ratios(OBSERVED, EXPECTED)
    never, _, widened_never = classify_units(ratios, "lower_is_better", overdispersion="never")
    tested, od, widened = classify_units(ratios, "lower_is_better", overdispersion="when_tested")
    assert not widened_never and widened and od.p_value < 0.05
    # z = 3 is beyond the exact 99.8% limit, inside the widened one.
    assert never["classification"].iloc[-1] == "above 99.8%"
    assert never["judgement"].iloc[-1] == "worse"
    assert tested["classification"].iloc[-1] == "above 95%"
    assert tested["judgement"].iloc[-1] == "similar"
    assert tested["label"].iloc[-1] == PLAIN_LABELS["similar"]
    calm = _ratios(np.array([98.0, 101.0, 100.0, 103.0]), np.full(4, 100.0))
    _, od_calm, widened_calm = classify_units(calm, "lower_is_better")
    assert od_calm.p_value > 0.05 and not widened_calm


@pytest.mark.parametrize(
    ("classification", "polarity", "expected"),
    [
        ("above 99.8%", "lower_is_better", "worse"),
        ("below 99.8%", "lower_is_better", "better"),
        ("above 99.8%", "higher_is_better", "better"),
        ("below 99.8%", "higher_is_better", "worse"),
        ("above 99.8%", "neither", "higher"),
        ("below 99.8%", "neither", "lower"),
        ("above 95%", "lower_is_better", "similar"),
        ("below 95%", "higher_is_better", "similar"),
        ("within", "lower_is_better", "similar"),
        ("missing", "neither", "missing"),
    ],
)
def test_judgement_follows_polarity(classification: str, polarity: str, expected: str) -> None:
    assert judgement(classification, polarity) == expected  # type: ignore[arg-type]


def test_judgement_at_95_percent() -> None:
    assert judgement("above 95%", "lower_is_better", level="95%") == "worse"
    assert judgement("below 95%", "neither", level="95%") == "lower"


def test_plain_labels() -> None:
    assert plain_label("above 99.8%") == "higher than expected for its population"
    assert plain_label("below 99.8%") == "lower than expected for its population"
    assert plain_label("above 95%") == "similar to expected for its population"
    assert plain_label("missing") == "not shown"


stratum = st.tuples(
    st.sampled_from(["A", "B", "C"]),
    st.integers(0, 3),
    st.sampled_from(["F", "M"]),
    st.integers(1, 5),
    st.integers(0, 60),
    st.integers(1, 500),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(stratum, min_size=1, max_size=30))
def test_expected_events_add_up_to_observed(
    rows: list[tuple[str, int, str, int, int, int]],
) -> None:
    """At the pooled rates of the same units, expected events add up to observed ones."""
    counts = pd.DataFrame(
        rows, columns=["unit", "band", "sex", "deprivation", "observed", "population"]
    ).astype({"observed": float, "population": float})
    out = indirect_standardisation(counts)
    assert out["expected"].sum() == pytest.approx(out["observed"].sum(), abs=1e-9)
    assert math.isclose(out["population"].sum(), counts["population"].sum())


@settings(max_examples=60, deadline=None)
@given(
    st.floats(0.5, 5000.0),
    st.floats(0.0, 0.2),
    st.sampled_from([0.95, 0.998]),
)
def test_limits_surround_one_and_widen_with_tau2(
    expected: float, tau2: float, confidence: float
) -> None:
    lo0, hi0 = ratio_limits([expected], confidence=confidence)
    lo, hi = ratio_limits([expected], confidence=confidence, tau2=tau2 + 1e-4)
    assert lo[0] < 1.0 < hi[0]
    assert lo0[0] <= 1.0 <= hi0[0]
    assert lo[0] * hi[0] == pytest.approx(1.0)  # symmetric on the log scale
