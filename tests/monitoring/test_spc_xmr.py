"""XmR charts and the Making Data Count rules, as small literal series.

Most series start with a baseline of twelve points alternating 11, 9 (mean 10, every
moving range 2), fixed with ``baseline_points=12``: the process limits are then
10 ± 2.66 × 2 = 4.68 and 15.32 and the two-sigma lines 10 ± 3.5467.
"""

import numpy as np
import pandas as pd
import pytest

from commissioning.monitoring.spc import xmr_chart

BASE = [11.0, 9.0] * 6


def chart(tail, polarity="higher_is_better", **kwargs):
    return xmr_chart(BASE + list(tail), polarity=polarity, baseline_points=12, **kwargs)


def test_limits_from_mean_moving_range():
    result = xmr_chart(BASE)
    points = result.points
    assert points["mean"].iloc[0] == pytest.approx(10.0)
    assert points["upper_limit"].iloc[0] == pytest.approx(15.32)
    assert points["lower_limit"].iloc[0] == pytest.approx(4.68)
    assert points["upper_two_sigma"].iloc[0] == pytest.approx(10 + 2 * 5.32 / 3)
    assert np.isnan(points["moving_range"].iloc[0]) and points["moving_range"].iloc[1] == 2
    assert not points["special_cause"].any()
    assert result.variation_icon == "common_cause"
    assert result.warnings == ()


def test_shift_needs_seven_points_on_one_side():
    six = chart([10.5] * 6)
    assert not six.points["shift"].any()
    seven = chart([10.5] * 7)
    assert seven.points["shift"].tolist() == [False] * 12 + [True] * 7
    assert set(seven.points["variation"].iloc[12:]) == {"improvement"}
    assert seven.variation_icon == "special_cause_improving_high"


def test_point_on_the_mean_breaks_a_run():
    result = chart([10.5] * 3 + [10.0] + [10.5] * 4)
    assert not result.points["shift"].any()


def test_shift_below_by_polarity():
    low_good = chart([9.5] * 7, polarity="lower_is_better")
    assert set(low_good.points["variation"].iloc[12:]) == {"improvement"}
    assert low_good.variation_icon == "special_cause_improving_low"
    high_good = chart([9.5] * 7, polarity="higher_is_better")
    assert set(high_good.points["variation"].iloc[12:]) == {"concern"}
    assert high_good.variation_icon == "special_cause_concerning_low"


def test_trend_needs_seven_points_each_higher():
    six = chart([8.6, 9.2, 9.8, 10.4, 11.0, 11.6])
    assert not six.points["trend"].any()
    seven = chart([8.6, 9.2, 9.8, 10.4, 11.0, 11.6, 12.2])
    assert seven.points["trend"].tolist() == [False] * 12 + [True] * 7
    assert seven.points["direction"].iloc[-1] == "high"
    assert seven.variation_icon == "special_cause_improving_high"
    falling = chart([11.6, 11.0, 10.4, 9.8, 9.2, 8.6, 8.0])
    assert falling.points["trend"].iloc[-7:].all()
    assert falling.variation_icon == "special_cause_concerning_low"


def test_equal_values_break_a_trend():
    result = chart([8.6, 9.2, 9.8, 9.8, 10.4, 11.0, 11.6, 12.2])
    assert not result.points["trend"].any()


def test_point_beyond_a_limit_by_polarity():
    high = chart([16.0], polarity="lower_is_better")
    assert high.points["beyond_limit"].tolist() == [False] * 12 + [True]
    assert high.points["variation"].iloc[-1] == "concern"
    assert high.variation_icon == "special_cause_concerning_high"
    neither = chart([16.0], polarity="neither")
    assert neither.points["variation"].iloc[-1] == "neither_high"
    assert neither.variation_icon == "special_cause_neither_high"
    low = chart([4.0], polarity="neither")
    assert low.variation_icon == "special_cause_neither_low"
    inside = chart([15.0])
    assert not inside.points["special_cause"].any()


def test_two_of_three_beyond_two_sigma_on_one_side():
    fired = chart([14.0, 10.5, 14.0])
    assert fired.points["two_of_three"].iloc[-3:].tolist() == [True, False, True]
    crossing = chart([14.0, 9.5, 14.0])  # middle point below the mean
    assert not crossing.points["two_of_three"].any()
    single = chart([14.0, 10.5, 10.5])
    assert not single.points["special_cause"].any()
    # Making Data Count (2023): a point beyond the limit counts towards the two.
    with_limit = chart([14.0, 16.0, 10.5])
    assert with_limit.points["two_of_three"].iloc[-3:].tolist() == [True, True, False]
    assert with_limit.points["beyond_limit"].iloc[-2]


def test_conflicting_signals_show_improvement():
    # Seven falling points all above the mean: a high shift and a downward trend.
    tail = [15.0, 14.5, 14.0, 13.5, 13.0, 12.5, 12.0]
    higher = chart(tail, polarity="higher_is_better")
    assert set(higher.points["variation"].iloc[-7:]) == {"improvement"}
    lower = chart(tail, polarity="lower_is_better")
    assert set(lower.points["variation"].iloc[-7:]) == {"improvement"}
    assert lower.points["direction"].iloc[-1] == "low"


def test_screening_large_moving_ranges():
    values = [10, 12, 10, 12, 10, 12, 10, 40, 10, 12, 10, 12]
    mean = sum(values) / 12
    plain = xmr_chart(values)
    assert plain.points["upper_limit"].iloc[0] == pytest.approx(mean + 2.66 * 78 / 11)
    screened = xmr_chart(values, screen_moving_ranges=True)
    # Both ranges of 30 exceed 3.267 × 78/11 = 23.17 and are left out: mean range 2.
    assert screened.points["upper_limit"].iloc[0] == pytest.approx(mean + 2.66 * 2)
    assert screened.points["mean"].iloc[0] == pytest.approx(mean)
    assert screened.points["beyond_limit"].iloc[7]
    assert plain.points["lower_limit"].iloc[0] < 0 < screened.points["lower_limit"].iloc[0]


def test_rebasing_by_position_and_date():
    values = [11.0, 9.0] * 6 + [21.0, 19.0] * 6
    single = xmr_chart(values)
    assert single.points["shift"].all()
    rebased = xmr_chart(values, rebase_at=[12])
    assert rebased.points["segment"].tolist() == [0] * 12 + [1] * 12
    assert rebased.points["mean"].iloc[0] == pytest.approx(10.0)
    assert rebased.points["mean"].iloc[-1] == pytest.approx(20.0)
    assert rebased.points["upper_limit"].iloc[-1] == pytest.approx(25.32)
    assert np.isnan(rebased.points["moving_range"].iloc[12])
    assert not rebased.points["special_cause"].any()
    dates = pd.date_range("2023-01-01", periods=24, freq="MS")
    by_date = xmr_chart(values, dates=dates, rebase_at=["2024-01-01"])
    assert by_date.points["segment"].tolist() == rebased.points["segment"].tolist()
    assert by_date.points["date"].iloc[0] == pd.Timestamp("2023-01-01")
    with pytest.raises(ValueError, match="rebase date"):
        xmr_chart(values, dates=dates, rebase_at=["2030-01-01"])


def test_warning_when_fewer_than_twelve_points_set_the_limits():
    assert xmr_chart(BASE[:11]).warnings == (
        "segment 0: limits set from 11 points; at least 12 are recommended",
    )
    assert xmr_chart(BASE).warnings == ()
    baseline = xmr_chart(BASE * 2, baseline_points=6)
    assert "from 6 points" in baseline.warnings[0]
    rebased = xmr_chart(BASE * 2, rebase_at=[20])
    assert rebased.warnings == ("segment 1: limits set from 4 points; at least 12 are recommended",)


def test_baseline_fixes_the_limits():
    result = xmr_chart([*BASE, 30.0, 30.0], baseline_points=12)
    assert result.points["mean"].iloc[-1] == pytest.approx(10.0)
    assert result.points["beyond_limit"].iloc[-2:].all()
    unfixed = xmr_chart([*BASE, 30.0, 30.0])
    assert unfixed.points["mean"].iloc[-1] > 10.0


@pytest.mark.parametrize(
    ("polarity", "target", "icon"),
    [
        ("higher_is_better", 20.0, "consistently_fails"),
        ("higher_is_better", 2.0, "consistently_passes"),
        ("higher_is_better", 12.0, "hit_and_miss"),
        ("lower_is_better", 20.0, "consistently_passes"),
        ("lower_is_better", 2.0, "consistently_fails"),
        ("lower_is_better", 5.0, "hit_and_miss"),
        ("neither", 20.0, None),
        ("higher_is_better", None, None),
    ],
)
def test_assurance_icons(polarity, target, icon):
    assert xmr_chart(BASE, polarity=polarity, target=target).assurance_icon == icon


def test_assurance_uses_the_latest_segment():
    values = [11.0, 9.0] * 6 + [21.0, 19.0] * 6
    result = xmr_chart(values, polarity="higher_is_better", target=12.0, rebase_at=[12])
    assert result.assurance_icon == "consistently_passes"


def test_empty_single_and_missing_values():
    empty = xmr_chart([])
    assert empty.points.empty and empty.variation_icon is None and empty.assurance_icon is None
    single = xmr_chart([5.0], target=1.0, polarity="higher_is_better")
    assert np.isnan(single.points["upper_limit"].iloc[0])
    assert single.variation_icon == "common_cause" and single.assurance_icon is None
    assert single.warnings
    gappy = xmr_chart([*BASE[:6], np.nan, *BASE[6:]])
    assert gappy.points["variation"].iloc[6] == "missing"
    assert gappy.points["upper_limit"].iloc[0] == pytest.approx(15.32)
    assert gappy.points["moving_range"].iloc[7] == 2


def test_bad_arguments():
    with pytest.raises(ValueError, match="polarity"):
        xmr_chart([1.0, 2.0], polarity="up")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dates"):
        xmr_chart([1.0, 2.0], dates=["2024-02-01", "2024-01-01"])
    with pytest.raises(ValueError, match="baseline_points"):
        xmr_chart([1.0, 2.0], baseline_points=0)
