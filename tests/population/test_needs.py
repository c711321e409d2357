"""Worked values for crude and age-standardised prevalence on a hand-made table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from commissioning.indicators.stats import european_standard_population_2013
from commissioning.population.needs import prevalence_from_counts


def _counts(cases: list[int], population: list[int]) -> pd.DataFrame:
    bands = list(european_standard_population_2013().index)
    return pd.DataFrame(
        {
            "group": "Place A",
            "age_band": bands,
            "condition": "hf",
            "cases": cases,
            "population": population,
        }
    )


def test_uniform_rate_standardises_to_itself() -> None:
    """1% in every band: crude and standardised prevalence are both exactly 1%."""
    pop = [1000] * 19
    out = prevalence_from_counts(_counts([10] * 19, pop)).iloc[0]
    assert out.cases == 190
    assert out.population == 19_000
    assert out.crude_pct == pytest.approx(1.0)
    assert out.dsr_pct == pytest.approx(1.0)
    assert out.dsr_lower_pct < 1.0 < out.dsr_upper_pct


def test_worked_example_old_population() -> None:
    """Cases only in the 90+ band: 50 of 100 people aged 90+, 1,000 in every other band.

    Crude: 50 / 18,100 = 0.27624%. Standardised: ESP weight of 90+ is 1,000 of 100,000,
    so DSR = 0.5 × 1,000 / 100,000 = 0.5%. Dobson: var = 50 × (1000/100)² / 100000²
    = 5e-7 ... limits DSR + sqrt(var/50) × (O_lim - 50) with Byar's limits for 50.
    """
    cases = [0] * 18 + [50]
    pop = [1000] * 18 + [100]
    out = prevalence_from_counts(_counts(cases, pop)).iloc[0]
    assert out.crude_pct == pytest.approx(100 * 50 / 18_100)
    assert out.dsr_pct == pytest.approx(0.5)
    # Byar's limits for 50 events at 95%
    z = 1.959963984540054
    lo = 50 * (1 - 1 / (9 * 50) - z / (3 * math.sqrt(50))) ** 3
    hi = 51 * (1 - 1 / (9 * 51) + z / (3 * math.sqrt(51))) ** 3
    var = 50 * (1000 / 100) ** 2 / 100_000**2
    scale = math.sqrt(var / 50)
    assert out.dsr_lower_pct == pytest.approx(100 * (0.005 + scale * (lo - 50)), rel=1e-9)
    assert out.dsr_upper_pct == pytest.approx(100 * (0.005 + scale * (hi - 50)), rel=1e-9)


def test_two_areas_same_age_specific_rates_same_dsr() -> None:
    """Different age structures, same age-specific rates: same DSR, different crude."""
    rates = np.linspace(0.001, 0.2, 19)
    young = np.array([2000] * 10 + [200] * 9)
    old = np.array([200] * 10 + [2000] * 9)
    frames = []
    for name, pop in (("young", young), ("old", old)):
        f = _counts(list(np.round(rates * pop).astype(int)), list(pop))
        frames.append(f.assign(group=name))
    out = prevalence_from_counts(pd.concat(frames)).set_index("group")
    assert out.loc["old", "crude_pct"] > 2 * out.loc["young", "crude_pct"]
    assert out.loc["old", "dsr_pct"] == pytest.approx(out.loc["young", "dsr_pct"], rel=0.02)


def test_small_numbers_and_empty_bands_are_not_standardised() -> None:
    out = prevalence_from_counts(_counts([1] * 5 + [0] * 14, [100] * 19)).iloc[0]
    assert out.dsr_suppressed and math.isnan(out.dsr_pct)
    assert not math.isnan(out.crude_pct)


def test_weighted_spend_from_cells_is_the_fit_to_every_row() -> None:
    """The need weights fitted to cell means (weighted by person-years) are the weights
    fitted to the person-year rows themselves: the Tweedie deviance depends on the fitted
    mean only through terms linear in the cost."""
    from commissioning.population import programme_budget as PB

    rng = np.random.default_rng(3)
    n = 4_000
    frame = pd.DataFrame(
        {
            "person_id": [f"p{i}" for i in range(n)],
            "year": 2021,
            "age_band": rng.choice(["0-4", "40-44", "85-89"], n),
            "sex": rng.choice(["F", "M"], n),
            "condition_count": rng.poisson(1.5, n),
            "place_code": rng.choice(["A", "B", "C"], n),
        }
    )
    mean = 300 * np.exp(0.4 * np.minimum(frame.condition_count, 6)) * (1 + (frame.sex == "M"))
    frame["total_cost_gbp"] = rng.gamma(0.5, mean / 0.5) * (rng.random(n) < 0.7)
    by_cells = PB.spend_per_weighted_head(PB.cells_of(frame, "place_code"))
    w = PB.need_weights(frame)
    rows = (
        frame.assign(w=w)
        .groupby("place_code")
        .agg(
            registered=("person_id", "size"), weighted=("w", "sum"), spend=("total_cost_gbp", "sum")
        )
    )
    got = by_cells.set_index("group")
    np.testing.assert_allclose(got.weighted_population, rows.weighted, rtol=1e-5)
    np.testing.assert_allclose(got.spend_gbp, rows.spend, rtol=1e-12)
    assert got.registered.tolist() == rows.registered.tolist()
    overall = rows.spend.sum() / rows.weighted.sum()
    np.testing.assert_allclose(got["index"], rows.spend / rows.weighted / overall, rtol=1e-5)
