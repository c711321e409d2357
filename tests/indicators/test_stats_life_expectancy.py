"""Life expectancy (Chiang II with Silcocks' final band) against PHE's worked values."""

import numpy as np
import pytest

from commissioning.indicators.stats import LIFE_TABLE_START_AGES, life_expectancy

# PHEindicatormethods tests/testthat/testLifeExpectancy.R, df1 and answer1 (from PHE's
# Life Expectancy Calculator): 20 bands <1, 1-4, 5-9, ..., 90+.
POPULATION = [7060, 35059, 46974, 48489, 43219, 38561, 46009, 57208, 61435, 55601, 50209,
              56416, 46411, 39820, 37978, 37039, 33288, 23306, 11936, 11936]  # fmt: skip
DEATHS = [17, 9, 4, 8, 20, 15, 24, 33, 50, 71, 100, 163, 263, 304, 536, 872, 1390, 1605,
          1936, 1937]  # fmt: skip
VALUE = [80.16960813, 79.36245674, 75.44193645, 70.47299936, 65.52909542, 60.67510088,
         55.78835987, 50.92752727, 46.06740425, 41.24505636, 36.49322717, 31.83343842,
         27.26027992, 22.9719144, 18.76856852, 14.95858336, 11.51684445, 8.618849241,
         6.163942934, 6.16210635]  # fmt: skip
LOWER = [79.88268548, 79.0898816, 75.17407307, 70.20675732, 65.26548673, 60.41876577,
         55.53801579, 50.68279939, 45.82666794, 41.00842831, 36.26223216, 31.60996318,
         27.04337271, 22.76653134, 18.57570352, 14.77985004, 11.34831778, 8.451134045,
         5.978358351, 5.887683386]  # fmt: skip
UPPER = [80.45653078, 79.63503188, 75.70979983, 70.7392414, 65.79270412, 60.931436,
         56.03870395, 51.17225516, 46.30814055, 41.48168441, 36.72422219, 32.05691365,
         27.47718713, 23.17729746, 18.96143352, 15.13731667, 11.68537112, 8.786564437,
         6.349527517, 6.436529314]  # fmt: skip


def test_matches_phe_life_expectancy_calculator():
    result = life_expectancy(DEATHS, POPULATION)
    assert result.flag == ""
    # PHE's values are tested to 4 decimal places; the calculator used z = 1.96 rather
    # than 1.959964, which moves the limits by about 5e-6 years.
    np.testing.assert_allclose(result.value, VALUE, atol=5e-5)
    np.testing.assert_allclose(result.lower, LOWER, atol=5e-5)
    np.testing.assert_allclose(result.upper, UPPER, atol=5e-5)
    value, lower, upper = result.at(0)
    assert (value, lower, upper) == pytest.approx((80.1696, 79.8827, 80.4565), abs=5e-5)


def test_many_areas_and_99_8_percent():
    deaths = np.array([DEATHS, DEATHS])
    population = np.array([POPULATION, POPULATION])
    result = life_expectancy(deaths, population, confidence=0.998)
    assert result.value.shape == (2, 20)
    np.testing.assert_allclose(result.value[1], VALUE, atol=5e-5)
    assert np.all(result.lower[0] < np.asarray(LOWER))
    assert result.at(65)[0] == pytest.approx([18.7686, 18.7686], abs=5e-5)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d, p: d.__setitem__(3, -5), "negative deaths"),
        (lambda d, p: p.__setitem__(5, 0), "zero or negative population"),
        (lambda d, p: p.__setitem__(18, 119), "more deaths than population"),
        (lambda d, p: d.__setitem__(19, 0), "no deaths in the final"),
        (lambda d, p: d.__setitem__(0, np.nan), "missing"),
    ],
)
def test_unusable_areas_are_flagged_not_calculated(change, reason):
    deaths = np.array(DEATHS, dtype=float)
    population = np.array(POPULATION, dtype=float)
    change(deaths, population)
    result = life_expectancy(np.array([deaths, DEATHS]), np.array([population, POPULATION]))
    assert reason in result.flag[0]
    assert np.isnan(result.value[0]).all() and np.isnan(result.lower[0]).all()
    assert result.flag[1] == ""
    np.testing.assert_allclose(result.value[1], VALUE, atol=5e-5)


def test_small_population_is_not_calculated():
    # PHEindicatormethods df_low_pops: total 2,883 person-years (5,000 or fewer).
    population = [128, 152, 120, 176, 194, 180, 145, 149, 107, 185, 165, 109, 100, 122, 133,
                  189, 123, 121, 147, 138]  # fmt: skip
    deaths = [58, 93, 78, 94, 59, 71, 80, 73, 69, 72, 91, 69, 78, 71, 54, 91, 82, 53, 50, 84]
    result = life_expectancy(deaths, population)
    assert "5,000" in str(result.flag)
    assert np.isnan(result.value).all()


def test_wide_interval_suppresses_value_but_keeps_limits():
    population = np.full(20, 400.0)
    deaths = np.full(20, 1.0)
    deaths[-1] = 1.0
    result = life_expectancy(deaths, population)
    assert result.flag == ""
    assert result.wide_interval[-1]
    assert np.isnan(result.value[-1]) and np.isfinite(result.lower[-1])


def test_shape_is_checked():
    assert len(LIFE_TABLE_START_AGES) == 20
    with pytest.raises(ValueError, match="20 age bands"):
        life_expectancy(DEATHS[:19], POPULATION[:19])
    with pytest.raises(ValueError, match="start_age"):
        life_expectancy(DEATHS, POPULATION).at(3)
    empty = life_expectancy(np.zeros((0, 20)), np.zeros((0, 20)))
    assert empty.value.shape == (0, 20)
