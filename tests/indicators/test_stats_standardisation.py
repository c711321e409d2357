"""Directly and indirectly standardised rates and ratios."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from commissioning.indicators.stats import (
    byar_interval,
    directly_standardised_rate,
    european_standard_population_2013,
    expected_events,
    indirectly_standardised_ratio,
    rate_with_ci,
)

Z95 = 1.959963984540054


def test_esp2013_weights():
    # Eurostat (2013) revision of the European Standard Population: 19 bands, 100,000.
    esp = european_standard_population_2013()
    assert len(esp) == 19
    assert esp.sum() == 100_000
    assert esp.index[0] == "0-4" and esp.index[-1] == "90+"
    assert list(esp.iloc[:3]) == [5000, 5500, 5500]
    assert list(esp.iloc[-4:]) == [4000, 2500, 1500, 1000]
    assert esp.attrs["start_age"][-1] == 90


def test_dsr_dobson_worked_by_hand():
    # Three bands, weights 1:2:1; DSR = Σ w x/n / Σw, var = Σ w² x/n² / (Σw)²,
    # limits DSR + sqrt(var/O)(O_lim - O) (Dobson et al. 1991; PHE Technical Guide).
    x = [10.0, 20.0, 30.0]
    n = [1000.0, 4000.0, 2000.0]
    w = [1.0, 2.0, 1.0]
    dsr = (10 / 1000 + 2 * 20 / 4000 + 30 / 2000) / 4
    var = (10 / 1000**2 + 4 * 20 / 4000**2 + 30 / 2000**2) / 16
    o = 60.0
    byar_lo = o * (1 - 1 / (9 * o) - Z95 / (3 * math.sqrt(o))) ** 3
    byar_hi = (o + 1) * (1 - 1 / (9 * (o + 1)) + Z95 / (3 * math.sqrt(o + 1))) ** 3
    lower = dsr + math.sqrt(var / o) * (byar_lo - o)
    upper = dsr + math.sqrt(var / o) * (byar_hi - o)
    result = directly_standardised_rate(x, n, w, multiplier=100_000)
    assert result.value == pytest.approx(dsr * 1e5, rel=1e-12)
    assert result.lower == pytest.approx(lower * 1e5, rel=1e-12)
    assert result.upper == pytest.approx(upper * 1e5, rel=1e-12)
    assert float(result.value) == pytest.approx(875.0, rel=1e-4)  # 0.035 / 4 per person
    assert not result.suppressed
    assert result.total_events == 60 and result.total_population == 7000


def test_dsr_one_band_equals_crude_rate():
    # With one band the Dobson limits reduce to the count limits over the population.
    result = directly_standardised_rate([[120.0]], [[50_000.0]], [1.0])
    crude = rate_with_ci(120, 50_000)
    assert result.value[0] == pytest.approx(crude.value)
    assert result.lower[0] == pytest.approx(crude.lower)
    assert result.upper[0] == pytest.approx(crude.upper)


def test_dsr_many_areas_with_esp2013_and_suppression():
    rng = np.random.default_rng(1)
    population = rng.integers(1000, 5000, size=(3, 19)).astype(float)
    events = rng.integers(0, 30, size=(3, 19)).astype(float)
    events[1] = 0
    events[1, 5] = 9  # nine events: suppressed
    population[2, 3] = 0  # a band with no population: suppressed
    result = directly_standardised_rate(events, population, multiplier=1000)
    assert result.value.shape == (3,)
    assert list(result.suppressed) == [False, True, True]
    assert np.isnan(result.value[1]) and np.isnan(result.lower[1]) and np.isnan(result.upper[1])
    assert result.lower[0] < result.value[0] < result.upper[0]
    wide = directly_standardised_rate(events, population, confidence=0.998, multiplier=1000)
    assert wide.lower[0] < result.lower[0] and wide.upper[0] > result.upper[0]


def test_dsr_zero_events_and_missing_counts():
    zero = directly_standardised_rate(np.zeros(19), np.full(19, 1000.0))
    assert zero.suppressed and np.isnan(zero.value)
    events = np.full(19, 5.0)
    events[0] = np.nan  # missing counts are zero, as PHEindicatormethods na.zero
    with_nan = directly_standardised_rate(events, np.full(19, 1000.0))
    assert with_nan.total_events == 90


def test_dsr_rejects_wrong_shapes_and_negative_counts():
    with pytest.raises(ValueError, match="band"):
        directly_standardised_rate(np.ones(18), np.ones(18))
    with pytest.raises(ValueError, match="negative"):
        directly_standardised_rate([-1.0, 20.0], [10.0, 10.0], [1.0, 1.0])


def test_isr_worked_values():
    # O = 50, E = 40: ratio 1.25, Byar limits 37.108/40 and 65.920/40.
    lo, _ = byar_interval(50)
    result = indirectly_standardised_ratio(50, 40, multiplier=100)
    assert result.value == pytest.approx(125.0)
    assert result.lower == pytest.approx(lo / 40 * 100)
    assert (float(result.lower), float(result.upper)) == pytest.approx((92.77, 164.80), abs=5e-3)
    # O = 5 < 10: exact limits 1.6235 and 11.6683 (Garwood) over E = 4.
    small = indirectly_standardised_ratio(5, 4)
    assert (float(small.lower), float(small.upper)) == pytest.approx(
        (1.6235 / 4, 11.6683 / 4), abs=5e-5
    )


def test_expected_events_from_reference_rates():
    population = [[1000, 2000], [500, 0]]
    expected = expected_events(population, [10, 60], [10_000, 20_000])
    assert expected == pytest.approx([1000 * 0.001 + 2000 * 0.003, 500 * 0.001])
    result = indirectly_standardised_ratio([7, 0], expected)
    assert result.value == pytest.approx([1.0, 0.0])
    assert result.lower[1] == 0 and result.upper[1] > 0
    with pytest.raises(ValueError, match="reference_population"):
        expected_events(population, [1, 1], [0, 10])
    assert np.isnan(indirectly_standardised_ratio(3, 0).value)


@given(
    events=st.lists(st.integers(min_value=0, max_value=200), min_size=19, max_size=19),
    population=st.lists(st.integers(min_value=1, max_value=100_000), min_size=19, max_size=19),
)
def test_dsr_interval_contains_estimate(events, population):
    result = directly_standardised_rate(events, population)
    if result.suppressed:
        assert np.isnan(result.value)
    else:
        assert result.lower <= result.value <= result.upper
