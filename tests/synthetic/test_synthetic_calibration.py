"""Every calibration target is met by a 60,000-person population over four years."""

from __future__ import annotations

from pathlib import Path

from commissioning.synthetic.calibration import TARGETS, Target, compare, measure
from commissioning.synthetic.files import tables_from_folder


def test_every_target_is_met(calibration_population: Path) -> None:
    rows = compare(measure(tables_from_folder(calibration_population), [2021, 2022, 2023, 2024]))
    missed = [
        f"{r.target.label}: {r.measured:.4g} (target {r.target.value:g}, "
        f"{r.target.tolerance_text()})"
        for r in rows
        if not r.met
    ]
    assert not missed, "calibration targets missed:\n" + "\n".join(missed)
    assert len(rows) == len(TARGETS) >= 40


def test_target_bounds() -> None:
    points = Target("x", "x", 18.5, 1.5, "points", "%", "s")
    assert points.bounds() == (17.0, 20.0)
    assert points.met(17.0) and points.met(20.0) and not points.met(16.99)
    rel = Target("x", "x", 110, 0.15, "relative", "", "s")
    assert rel.bounds() == (110 * 0.85, 110 * 1.15)
    rng = Target("x", "x", 1950, (1600.0, 2300.0), "range", "£", "s")
    assert rng.met(1600) and not rng.met(2300.01)
    assert not rng.met(float("nan"))
