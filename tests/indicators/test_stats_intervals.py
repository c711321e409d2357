"""Intervals for proportions, counts, rates and means against published values."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from commissioning.indicators.stats import (
    byar_interval,
    exact_poisson_interval,
    mean_with_ci,
    poisson_count_interval,
    proportion_with_ci,
    rate_with_ci,
    wilson_interval,
    z_value,
)

Z95 = 1.959963984540054  # qnorm(0.975)


def test_z_values_for_95_and_99_8_percent():
    # Standard normal tables: 1.9600 and 3.0902.
    assert z_value(0.95) == pytest.approx(1.9600, abs=5e-5)
    assert z_value(0.998) == pytest.approx(3.0902, abs=5e-5)


@pytest.mark.parametrize("confidence", [95, 0, 1, -0.5])
def test_confidence_must_be_a_fraction(confidence):
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 2, confidence)


@pytest.mark.parametrize(
    ("x", "n", "lower", "upper"),
    [
        # Newcombe RG. Two-sided confidence intervals for the single proportion.
        # Stat Med 1998;17:857-72, Table II, method 3 (Wilson score without correction).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_1998(x, n, lower, upper):
    lo, hi = wilson_interval(x, n)
    assert lo == pytest.approx(lower, abs=5e-5)
    assert hi == pytest.approx(upper, abs=5e-5)


def test_wilson_8_of_10_by_hand():
    # (2x + z² ∓ z·sqrt(z² + 4x(1 - x/n))) / (2(n + z²)) with x=8, n=10, worked by hand.
    z = Z95
    spread = z * math.sqrt(z**2 + 4 * 8 * (1 - 0.8))
    expected = ((16 + z**2 - spread) / (2 * (10 + z**2)), (16 + z**2 + spread) / (2 * (10 + z**2)))
    est = proportion_with_ci(8, 10)
    assert est.value == pytest.approx(0.8)
    assert (est.lower, est.upper) == pytest.approx(expected, rel=1e-9)
    assert (float(est.lower), float(est.upper)) == pytest.approx((0.4902, 0.9433), abs=5e-5)


def test_proportion_edges():
    est = proportion_with_ci([0, 10, 0, np.nan], [10, 10, 0, 5], multiplier=100)
    assert est.lower[0] == 0.0 and est.value[0] == 0.0 and est.upper[0] > 0
    assert est.upper[1] == pytest.approx(100.0) and est.lower[1] < 100
    assert np.isnan(est.value[2]) and np.isnan(est.lower[2]) and np.isnan(est.upper[2])
    assert np.isnan(est.value[3]) and np.isnan(est.lower[3])


def test_proportion_rejects_bad_input():
    with pytest.raises(ValueError, match="exceed"):
        proportion_with_ci(11, 10)
    with pytest.raises(ValueError, match="zero or more"):
        proportion_with_ci(-1, 10)


def test_empty_and_single_arrays_keep_their_shape():
    assert proportion_with_ci([], []).value.shape == (0,)
    assert rate_with_ci([], []).lower.shape == (0,)
    assert rate_with_ci([5], [1000]).upper.shape == (1,)


# Exact Poisson 95% limits for 0-9 events: Garwood (1936); tabulated in Breslow NE,
# Day NE, Statistical methods in cancer research vol. II (1987), Appendix and in the
# PHE Technical Guide: Confidence Intervals (exact Poisson table).
EXACT_95 = [
    (0, 0.0000, 3.6889),
    (1, 0.0253, 5.5716),
    (2, 0.2422, 7.2247),
    (3, 0.6187, 8.7673),
    (4, 1.0899, 10.2416),
    (5, 1.6235, 11.6683),
    (6, 2.2019, 13.0595),
    (7, 2.8144, 14.4227),
    (8, 3.4538, 15.7632),
    (9, 4.1154, 17.0848),
]


@pytest.mark.parametrize(("count", "lower", "upper"), EXACT_95)
def test_exact_poisson_table(count, lower, upper):
    lo, hi = exact_poisson_interval(count)
    assert lo == pytest.approx(lower, abs=5e-5)
    assert hi == pytest.approx(upper, abs=5e-5)
    # Independent route: gamma quantiles (the chi-square/gamma identity).
    if count:
        assert lo == pytest.approx(stats.gamma.ppf(0.025, count), rel=1e-9)
    assert hi == pytest.approx(stats.gamma.ppf(0.975, count + 1), rel=1e-9)


def test_byar_for_50_events_by_hand():
    # Breslow and Day (1987): O(1 - 1/9O - z/3√O)³ and (O+1)(1 - 1/9(O+1) + z/3√(O+1))³.
    lower = 50 * (1 - 1 / 450 - Z95 / (3 * math.sqrt(50))) ** 3
    upper = 51 * (1 - 1 / 459 + Z95 / (3 * math.sqrt(51))) ** 3
    lo, hi = byar_interval(50)
    assert (lo, hi) == pytest.approx((lower, upper), rel=1e-12)
    assert (float(lo), float(hi)) == pytest.approx((37.11, 65.92), abs=5e-3)
    # Byar's approximates the exact interval (37.11, 65.92) closely at 50 events.
    exact_lo, exact_hi = exact_poisson_interval(50)
    assert lo == pytest.approx(exact_lo, rel=1e-3)
    assert hi == pytest.approx(exact_hi, rel=1e-3)


def test_count_interval_switches_to_byar_at_ten():
    lo, hi = poisson_count_interval([9, 10])
    assert lo[0] == pytest.approx(exact_poisson_interval(9)[0])
    assert lo[1] == pytest.approx(byar_interval(10)[0])
    assert hi[1] == pytest.approx(byar_interval(10)[1])


def test_rate_per_100000():
    est = rate_with_ci(50, 100_000)
    assert est.value == pytest.approx(50.0)
    assert (float(est.lower), float(est.upper)) == pytest.approx((37.11, 65.92), abs=5e-3)
    zero = rate_with_ci(0, 1000, multiplier=1000)
    assert zero.value == 0 and zero.lower == 0
    assert zero.upper == pytest.approx(3.6889, abs=5e-5)


def test_rate_at_99_8_percent_is_wider():
    narrow = rate_with_ci(30, 10_000)
    wide = rate_with_ci(30, 10_000, confidence=0.998)
    assert wide.lower < narrow.lower and wide.upper > narrow.upper


def test_rate_nan_and_zero_denominator():
    est = rate_with_ci([np.nan, 5], [100, 0])
    assert np.isnan(est.value).all() and np.isnan(est.upper).all()


def test_mean_t_interval():
    # t(0.975; 15) = 2.131 (Student's t table): 10 ± 2.131 × 2/√16.
    est = mean_with_ci(10.0, 2.0, 16)
    assert (float(est.lower), float(est.upper)) == pytest.approx((8.934, 11.066), abs=5e-4)
    single = mean_with_ci([3.0], [0.0], [1])
    assert np.isnan(single.lower[0]) and single.value[0] == 3.0


@given(
    x=st.integers(min_value=0, max_value=500),
    extra=st.integers(min_value=0, max_value=500),
    confidence=st.sampled_from([0.9, 0.95, 0.998]),
)
def test_proportion_interval_contains_estimate(x, extra, confidence):
    n = x + extra
    est = proportion_with_ci(x, n, confidence)
    if n == 0:
        assert np.isnan(est.value)
    else:
        assert est.lower - 1e-12 <= est.value <= est.upper + 1e-12


@given(
    count=st.integers(min_value=0, max_value=5000),
    confidence=st.sampled_from([0.95, 0.998]),
)
def test_count_interval_contains_count(count, confidence):
    lo, hi = poisson_count_interval(count, confidence)
    assert 0 <= lo <= count <= hi


@given(x=st.integers(min_value=1, max_value=50), extra=st.integers(min_value=1, max_value=50))
def test_intervals_narrow_as_denominator_grows(x, extra):
    n = x + extra
    scale = np.array([1, 2, 4, 8])
    prop = proportion_with_ci(x * scale, n * scale)
    assert np.all(np.diff(prop.upper - prop.lower) < 0)
    rate = rate_with_ci(x * scale, n * scale * 100)
    assert np.all(np.diff(rate.upper - rate.lower) < 0)
