"""Shared fixtures: small synthetic populations written once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from commissioning.synthetic.generate import generate, write
from commissioning.synthetic.parameters import SyntheticParameters

SMALL = SyntheticParameters(people=4_000, years=2, seed=11)
CALIBRATION = SyntheticParameters(people=60_000, years=4, seed=20261123)


@pytest.fixture(scope="session")
def small_population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4,000 people over two years, as Parquet files."""
    folder = tmp_path_factory.mktemp("small_population")
    write(generate(SMALL), folder, SMALL)
    return folder


@pytest.fixture(scope="session")
def calibration_population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60,000 people over four years: large enough for every calibration target."""
    folder = tmp_path_factory.mktemp("calibration_population")
    write(generate(CALIBRATION), folder, CALIBRATION)
    return folder
