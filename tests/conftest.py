"""Shared fixtures: small synthetic populations written once per test session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from commissioning.synthetic.generate import generate, write
from commissioning.synthetic.parameters import SyntheticParameters

pytest_plugins = ["postgres_fixture", "nhs_scan"]  # nhs_scan: see tests/nhs_scan.py

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


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install '.[browser]'")
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: apt-get install chromium", pytrace=False)
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """One local two-core SparkSession for the whole test run, stopped at the end."""
    if _java() is None:
        pytest.fail(
            "Spark needs a Java runtime (17 or later) and none was found on PATH or in "
            "JAVA_HOME. Install one (apt-get install default-jre-headless; `./run test` "
            "does this) and run the tests again.",
            pytrace=False,
        )
    try:
        import pyspark  # noqa: F401

        from commissioning.store.spark import local_spark_builder
    except ImportError as exc:
        pytest.fail(
            f"pyspark is not installed ({exc}); install the spark extra: pip install -e '.[spark]'",
            pytrace=False,
        )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPARK_LOCAL_IP", "127.0.0.1")
        try:
            session = local_spark_builder("commissioning-tests").getOrCreate()
        except Exception as exc:
            pytest.fail(f"a local Spark could not start: {exc}", pytrace=False)
        session.sparkContext.setLogLevel("ERROR")
        try:
            yield session
        finally:
            session.stop()
