"""Every calibration target is met by a 60,000-person population over four years: pooled,
and in each year on its own, with the population in a steady state."""

from __future__ import annotations

from pathlib import Path

from commissioning.synthetic.calibration import (
    STEADY_FIGURES,
    TARGETS,
    Target,
    compare,
    compare_each_year,
    measure,
    measure_each_year,
    unsteady,
)
from commissioning.synthetic.files import tables_from_folder

YEARS = [2021, 2022, 2023, 2024]


def test_every_target_is_met(calibration_population: Path) -> None:
    rows = compare(measure(tables_from_folder(calibration_population), YEARS))
    missed = [
        f"{r.target.label}: {r.measured:.4g} (target {r.target.value:g}, "
        f"{r.target.tolerance_text()})"
        for r in rows
        if not r.met
    ]
    assert not missed, "calibration targets missed:\n" + "\n".join(missed)
    assert len(rows) == len(TARGETS) >= 40


def test_every_target_is_met_in_every_year(calibration_population: Path) -> None:
    by_year = measure_each_year(tables_from_folder(calibration_population), YEARS)
    missed = [
        f"{year} {r.target.label}: {r.measured:.4g} (target {r.target.value:g}, "
        f"{r.target.tolerance_text()})"
        for year, rows in compare_each_year(by_year).items()
        for r in rows
        if not r.met
    ]
    assert not missed, "calibration targets missed in a year:\n" + "\n".join(missed)
    assert unsteady(by_year) == []


def test_unsteady_names_a_figure_that_jumps() -> None:
    steady = {key: 100.0 for key in STEADY_FIGURES}
    by_year = {2021: dict(steady), 2022: dict(steady), 2023: {**steady, "spend_per_head": 125.0}}
    (found,) = unsteady(by_year)
    assert found.startswith("spend_per_head: 100 in 2022 and 125 in 2023")
    assert unsteady({2021: steady, 2022: {**steady, "spend_per_head": 104.0}}) == []


def test_target_bounds() -> None:
    points = Target("x", "x", 18.5, 1.5, "points", "%", "s")
    assert points.bounds() == (17.0, 20.0)
    assert points.met(17.0) and points.met(20.0) and not points.met(16.99)
    rel = Target("x", "x", 110, 0.15, "relative", "", "s")
    assert rel.bounds() == (110 * 0.85, 110 * 1.15)
    rng = Target("x", "x", 1950, (1600.0, 2300.0), "range", "£", "s")
    assert rng.met(1600) and not rng.met(2300.01)
    assert not rng.met(float("nan"))
