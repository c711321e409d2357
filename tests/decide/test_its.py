"""Interrupted time series: segmented regression with Newey-West errors, worked by hand.

Eight months, the intervention from month 4. The series is the line 20 + 2t before and
22 + (t - 4) after (a step of -6 against the old line carried on, and a slope 1 lower),
plus residuals (1, -1, -1, 1) before and (-1, 1, 1, -1) after, which are orthogonal to a
line on four points, so the fit is exactly b0 = 20, b1 = 2, b2 = -6, b3 = -1:

    month    0   1   2   3   4   5   6   7
    series  21  21  23  27  21  24  25  24

Each coefficient is a weighted sum of the series. The step b2 is the after line at month
4 less the before line carried on to month 4; by the least-squares weights of a line on
four points (1/4 + (t - 1.5)(t0 - 1.5)/5) its weights are (0.5, 0, -0.5, -1) before and
(0.7, 0.4, 0.1, -0.2) after; the slope change b3 has weights (t - 1.5)/5: (0.3, 0.1,
-0.1, -0.3) after less the same before. With one lag (Bartlett weight 1/2), the
Newey-West variance of a coefficient with weights a is n/(n-k) [Σ (a_t e_t)² + Σ_t
(a_t e_t)(a_{t-1} e_{t-1})], n/(n-k) = 8/4:

    b2: a_t e_t = (0.5, 0, 0.5, -1, -0.7, 0.4, 0.1, 0.2); Σ² = 2.2; lag products -0.02
        variance 2 (2.2 - 0.02) = 4.36
    b3: a_t e_t = (0.3, -0.1, 0.1, -0.3, 0.3, -0.1, 0.1, -0.3); Σ² = 0.4; lag -0.23
        variance 2 (0.4 - 0.23) = 0.34

The average effect over the four months after is b2 + b3 x 1.5 = -7.5.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commissioning.decide.evaluation import (
    interrupted_time_series,
    newey_west_lags,
    ols_newey_west,
)

SERIES = [21, 21, 23, 27, 21, 24, 25, 24]
T_4 = 2.7764451051977987  # Student's t, 97.5th percentile, 4 degrees of freedom


def test_the_coefficients_are_exact() -> None:
    its = interrupted_time_series(SERIES, 4, lags=1)
    assert its.baseline_level.estimate == pytest.approx(20.0)
    assert its.baseline_trend.estimate == pytest.approx(2.0)
    assert its.level_change.estimate == pytest.approx(-6.0)
    assert its.trend_change.estimate == pytest.approx(-1.0)
    assert its.average_effect.estimate == pytest.approx(-7.5)
    assert its.fitted == pytest.approx([20, 22, 24, 26, 22, 23, 24, 25])
    assert its.counterfactual == pytest.approx([20, 22, 24, 26, 28, 30, 32, 34])
    assert (its.periods_before, its.periods_after, its.lags) == (4, 4, 1)


def test_the_newey_west_errors_are_those_worked_by_hand() -> None:
    its = interrupted_time_series(SERIES, 4, lags=1)
    assert its.level_change.se == pytest.approx(math.sqrt(4.36))
    assert its.trend_change.se == pytest.approx(math.sqrt(0.34))
    assert its.level_change.lower == pytest.approx(-6.0 - T_4 * math.sqrt(4.36))
    assert its.level_change.upper == pytest.approx(-6.0 + T_4 * math.sqrt(4.36))
    # with no lag, White's errors: variance 2 x 2.2 = 4.4 (the residuals all have size 1)
    assert interrupted_time_series(SERIES, 4, lags=0).level_change.se == pytest.approx(
        math.sqrt(4.4)
    )


def test_newey_west_on_a_mean_worked_by_hand() -> None:
    # y = 1, 2, 3, 4 on a constant: mean 2.5, residuals -1.5, -0.5, 0.5, 1.5.
    # Σ e² = 5; Σ e_t e_{t-1} = 0.75 - 0.25 + 0.75 = 1.25; (X'X)⁻¹ = 1/4; n/(n-k) = 4/3.
    # One lag: (5 + 2 x 1/2 x 1.25) / 16 x 4/3 = 25/48.
    beta, cov = ols_newey_west(np.array([1.0, 2, 3, 4]), np.ones((4, 1)), 1)
    assert beta[0] == pytest.approx(2.5)
    assert cov[0, 0] == pytest.approx(25 / 48)
    assert ols_newey_west(np.array([1.0, 2, 3, 4]), np.ones((4, 1)), 0)[1][0, 0] == (
        pytest.approx(5 / 12)
    )


def test_a_comparison_series_is_taken_away() -> None:
    control = [5.0, 7.0, 4.0, 9.0, 6.0, 8.0, 5.0, 7.0]
    treated = [s + c for s, c in zip(SERIES, control, strict=True)]
    its = interrupted_time_series(treated, 4, control=control, lags=1)
    assert its.controlled
    assert its.level_change.estimate == pytest.approx(-6.0)
    assert its.level_change.se == pytest.approx(math.sqrt(4.36))
    with pytest.raises(ValueError, match="one value for every period"):
        interrupted_time_series(treated, 4, control=control[:-1])


def test_too_short_a_series_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 3 periods before the start and 3 after"):
        interrupted_time_series(SERIES, 6)


def test_the_automatic_lag() -> None:
    # floor(4 (n/100)^(2/9)): 24 months -> 2; 100 -> 4; 8 -> 2
    assert [newey_west_lags(n) for n in (8, 24, 100)] == [2, 2, 4]


@settings(max_examples=50, deadline=None)
@given(
    st.floats(-50, 50),
    st.floats(-5, 5),
    st.floats(-20, 20),
    st.floats(-5, 5),
    st.integers(3, 12),
    st.integers(3, 12),
)
def test_a_series_on_the_model_is_recovered_exactly(
    b0: float, b1: float, b2: float, b3: float, before: int, after: int
) -> None:
    t = np.arange(before + after, dtype=float)
    post = (t >= before).astype(float)
    y = b0 + b1 * t + b2 * post + b3 * (t - before) * post
    its = interrupted_time_series(y, before)
    assert its.level_change.estimate == pytest.approx(b2, abs=1e-6)
    assert its.trend_change.estimate == pytest.approx(b3, abs=1e-6)
    assert its.average_effect.estimate == pytest.approx(b2 + b3 * (after - 1) / 2, abs=1e-6)
    assert its.level_change.se == pytest.approx(0.0, abs=1e-6)


def test_the_pilot_series_counts_a_reused_comparison_once() -> None:
    """Two treated people (rows 0, 1) matched to the same comparison (row 2): the
    comparison's mean counts its events twice over two pairs, its distinct count once."""
    import pandas as pd

    from commissioning.decide.evaluation import Estimate, Matched, Pilot, pilot_series

    c = pd.DataFrame({"person_id": ["a", "b", "z"]})
    m = Matched(Estimate("matched", 0, 0, 0, 2, 1), pd.DataFrame(), 0, 0.0, (0, 1), (2, 2))
    events = pd.DataFrame(
        {
            "person_id": ["a", "a", "b", "z", "z", "z"],
            "start_date": pd.to_datetime(
                ["2022-04-03", "2022-04-20", "2023-05-01", "2022-04-09", "2023-05-02", "2021-01-01"]
            ),
        }
    )
    s = pilot_series(c, m, events, Pilot("x", 2022, 2023, ("A",)))
    assert len(s) == 24 and str(s["month"].iloc[0]) == "2022-04"
    april, may_after = s.iloc[0], s.iloc[13]
    assert (april["treated"], april["treated_events"]) == (1.0, 2)  # a's two, over 2 people
    assert (april["comparison"], april["comparison_events"]) == (1.0, 1)  # z's one, twice
    assert (may_after["treated"], may_after["comparison"]) == (0.5, 1.0)
    assert s["comparison_events"].sum() == 2  # the 2021 event is outside the two years
