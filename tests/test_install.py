"""The package as a user gets it: a wheel built from this tree, installed in a fresh virtual
environment, run from another folder through its ``commissioning`` entry point.

What this proves: the wheel holds every module and data file the commands below use (the
settings template, examples, indicator library, report templates, schema lists), the
``commissioning`` script is made and works outside the source tree, and the installed code
— not this checkout — is what runs. What it does not prove: that the dependency bounds in
``pyproject.toml`` resolve from the registry. To stay offline and fast, the wheel is
installed with ``--no-deps --no-index`` and the fresh environment reaches the dependencies
of the environment running the tests through a ``.pth`` file (a path line only: that
environment's own ``.pth`` files, such as the editable install of this checkout, are not
read). ``./run test`` resolves the dependencies from the registry itself, with the
constraints in ``requirements.lock``.

It takes about 30 s of processor time (a minute or more on a busy machine), so
``./run test --fast`` leaves it out (it is marked ``install``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.install


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh virtual environment with the wheel installed, and the environment variables
    that put its ``bin`` first and keep this checkout off the import path."""
    tmp = tmp_path_factory.mktemp("install")
    tree = tmp / "tree"  # a copy, so building writes nothing into the checkout
    tree.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, tree / name)
    shutil.copytree(
        ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", "dist", "."],
         tree, env)  # fmt: skip
    (wheel,) = (tree / "dist").glob("commissioning-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp, env)
    python = venv / "bin" / "python"
    _run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
         tmp, env)  # fmt: skip
    site = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp, env
    ).stdout.strip()
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return venv, env


def test_the_wheel_runs_from_another_folder(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    venv, env = installed
    command = str(venv / "bin" / "commissioning")
    where = _run(
        [str(venv / "bin" / "python"), "-c", "import commissioning; print(commissioning.__file__)"],
        tmp_path,
        env,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # the installed copy, not the checkout
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert _run([command, "--version"], tmp_path, env).stdout == f"commissioning {version}\n"

    _run([command, "init", "work"], tmp_path, env)
    work = tmp_path / "work"
    assert (work / "commissioning.toml").is_file() and (work / "README.txt").is_file()
    _run([command, "synth", "--people", "300", "--years", "2", "--out", "synthetic"], work, env)
    manifest = json.loads((work / "synthetic" / "manifest.json").read_text())
    files = sorted(str(p) for p in (work / "synthetic").glob("*.parquet"))
    _run([command, "load", "--demo", *files], work, env)  # the store named in the settings
    counts = json.loads(_run([command, "status", "--json"], work, env).stdout)["rows"]
    for name, info in manifest["files"].items():
        assert counts[name] == info["rows"], name
    assert counts["rejects"] == 0

    _run([command, "indicators", "--out", "reports"], work, env)
    published = pd.read_csv(work / "reports" / "published" / "indicators.csv")
    places = set(pd.read_parquet(work / "synthetic" / "places.parquet")["place_code"])
    assert len(places) == 10 and places <= set(published["place_code"])
    assert (work / "reports" / "published" / "indicators.html").is_file()
    # The same report from this checkout's code, on the same store, is the same table.
    from typer.testing import CliRunner

    from commissioning.cli.main import app

    store = str(work / "commissioning.duckdb")
    here = CliRunner().invoke(app, ["indicators", "--store", store, "--out", str(tmp_path / "x")])
    assert here.exit_code == 0, here.output
    # (Equal to 1e-9: DuckDB's parallel float sums may differ in the last digit.)
    here_csv = pd.read_csv(tmp_path / "x" / "published" / "indicators.csv")
    pd.testing.assert_frame_equal(published, here_csv, check_exact=False, rtol=1e-9)
