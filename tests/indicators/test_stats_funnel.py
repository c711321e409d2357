"""Funnel plot limits, over-dispersion and classification."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from commissioning.indicators.stats import (
    estimate_overdispersion,
    exact_poisson_limit,
    funnel_limits,
    funnel_plot,
)


def _spiegelhalter_by_loop(cdf, probability):
    # Appendix A.1 of Spiegelhalter (2005), walked one count at a time.
    r = 0
    while cdf(r) < probability:
        r += 1
    below = cdf(r - 1) if r > 0 else 0.0
    alpha = (cdf(r) - probability) / (cdf(r) - below)
    return max(r - alpha, 0.0)


@pytest.mark.parametrize("mean", [0.5, 3.0, 25.0, 100.0, 1234.5])
@pytest.mark.parametrize("probability", [0.001, 0.025, 0.975, 0.999])
def test_exact_poisson_limit_matches_loop(mean, probability):
    expected = _spiegelhalter_by_loop(lambda r: stats.poisson.cdf(r, mean), probability)
    assert exact_poisson_limit(mean, probability) == pytest.approx(expected, rel=1e-10)


def test_exact_binomial_limits_match_loop():
    n, target = 200, 0.3
    lower, upper = funnel_limits(n, statistic="proportion", target=target, confidence=0.998)
    loop_lower = _spiegelhalter_by_loop(lambda r: stats.binom.cdf(r, n, target), 0.001) / n
    loop_upper = _spiegelhalter_by_loop(lambda r: stats.binom.cdf(r, n, target), 0.999) / n
    assert (lower, upper) == pytest.approx((loop_lower, loop_upper), rel=1e-10)


def _phe_sigma_adjustment(p, population, average, side):
    # PHEindicatormethods R/Funnels.R sigma_adjustment, transcribed.
    z2 = stats.norm.ppf(p) ** 2
    first = average * (population / z2 + 1)
    adj = math.sqrt(
        (-8 * average * (population / z2 + 1)) ** 2
        - 64
        * (1 / z2 + 1 / population)
        * average
        * (population * (average * (population / z2 + 2) - 1) + z2 * (average - 1))
    )
    last = 1 / z2 + 1 / population
    return ((first - adj / 8) if side == "low" else (first + adj / 8)) / last / population


@pytest.mark.parametrize("n", [20, 150, 5000])
def test_wilson_funnel_matches_phe_fingertips(n):
    lower, upper = funnel_limits(
        n, statistic="proportion", target=0.3, confidence=0.95, method="wilson"
    )
    assert lower == pytest.approx(_phe_sigma_adjustment(0.975, n, 0.3, "low"), rel=1e-9)
    assert upper == pytest.approx(_phe_sigma_adjustment(0.975, n, 0.3, "high"), rel=1e-9)
    lower, upper = funnel_limits(
        n, statistic="proportion", target=0.3, confidence=0.998, method="wilson"
    )
    assert upper == pytest.approx(_phe_sigma_adjustment(0.999, n, 0.3, "high"), rel=1e-9)


def test_ratio_and_rate_limits_are_poisson():
    lower, upper = funnel_limits([100.0], statistic="ratio", target=1.0, multiplier=100)
    assert lower[0] == pytest.approx(exact_poisson_limit(100, 0.025))
    assert upper[0] == pytest.approx(exact_poisson_limit(100, 0.975))
    # A rate of 50 per 100,000 in 200,000 people: Poisson mean 100.
    r_lower, r_upper = funnel_limits(
        [200_000.0], statistic="rate", target=0.0005, multiplier=100_000
    )
    assert r_lower[0] == pytest.approx(exact_poisson_limit(100, 0.025) / 2)
    assert r_upper[0] == pytest.approx(exact_poisson_limit(100, 0.975) / 2)


def test_overdispersion_worked_by_hand():
    # Ten units, n = 100, target 0.5, so s = 0.05 and w = 400. z-scores -3..4 winsorised
    # at their 10% and 90% quantiles (-2.1 and 3.1): Σz² = 33.02, phi = 3.302,
    # tau² = (10 × 3.302 - 9) / (4000 - 400) = 0.0066722 (Spiegelhalter 2005, section 6).
    z = np.array([-3, -2, -1, 0, 0, 0, 1, 2, 3, 4], dtype=float)
    numerator = (0.5 + 0.05 * z) * 100
    od = estimate_overdispersion(numerator, np.full(10, 100.0), statistic="proportion", target=0.5)
    np.testing.assert_allclose(od.z_scores, z, atol=1e-12)
    assert od.phi == pytest.approx(3.302, rel=1e-9)
    assert od.tau2 == pytest.approx(24.02 / 3600, rel=1e-9)
    result = funnel_plot(
        numerator, np.full(10, 100.0), statistic="proportion", target=0.5, overdispersion=True
    )
    half = stats.norm.ppf(0.975) * math.sqrt(0.0025 + 24.02 / 3600)
    assert result.points["upper_95"].iloc[0] == pytest.approx(0.5 + half)
    assert result.overdispersion_adjusted


def test_no_overdispersion_keeps_exact_limits():
    od = estimate_overdispersion(
        [50, 50, 51, 49], [100, 100, 100, 100], statistic="proportion", target=0.5
    )
    assert od.tau2 == 0.0
    plain = funnel_plot([50, 50, 51, 49], [100] * 4, statistic="proportion")
    adjusted = funnel_plot([50, 50, 51, 49], [100] * 4, statistic="proportion", overdispersion=True)
    assert not adjusted.overdispersion_adjusted
    assert plain.points.equals(adjusted.points)


def test_classification_and_default_targets():
    numerator = [30, 75, 50, 0, np.nan]
    denominator = [100, 100, 100, 100, 100]
    result = funnel_plot(numerator, denominator, statistic="proportion", multiplier=100)
    assert result.target == pytest.approx(155 / 400)
    labels = list(result.points["classification"])
    assert labels == ["within", "above 99.8%", "above 95%", "below 99.8%", "missing"]
    assert result.points["value"].iloc[1] == pytest.approx(75.0)
    ratio = funnel_plot([10, 30], [10, 10], statistic="ratio")
    assert ratio.target == 1.0
    assert list(ratio.points["classification"]) == ["within", "above 99.8%"]


def test_empty_single_and_bad_input():
    assert len(funnel_plot([], [], statistic="rate").points) == 0
    single = funnel_plot([5], [1000], statistic="rate")
    assert single.points["classification"].iloc[0] == "within"
    assert math.isnan(single.phi)
    with pytest.raises(ValueError, match="statistic"):
        funnel_limits(10, statistic="mean", target=1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shape"):
        funnel_plot([1, 2], [3], statistic="ratio")


@given(
    target=st.floats(min_value=0.02, max_value=0.98),
    confidence=st.sampled_from([0.95, 0.998]),
    statistic=st.sampled_from(["proportion", "ratio", "rate"]),
)
def test_limits_narrow_as_denominator_grows(target, confidence, statistic):
    n = np.array([50.0, 200.0, 800.0, 3200.0, 12800.0])
    lower, upper = funnel_limits(n, statistic=statistic, target=target, confidence=confidence)
    width = upper - lower
    assert np.all(np.diff(width) < 0)
    assert np.all(lower <= target) and np.all(upper >= target)
