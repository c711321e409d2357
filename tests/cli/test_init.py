"""``commissioning init`` makes a working folder a newcomer can use at once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from commissioning.cli.config import Settings, load_settings
from commissioning.cli.init import template_header
from commissioning.cli.main import app

runner = CliRunner()


def test_init_then_load_the_templates_from_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert "Wrote 13 files" in result.output
    # the settings file is every default, and reads back as the defaults
    assert load_settings(tmp_path / "commissioning.toml") == Settings()
    assert "COMMISSIONING_PSEUDONYMISATION_KEY" in (tmp_path / "commissioning.toml").read_text()
    header = (tmp_path / "data" / "people.csv").read_text().splitlines()
    assert header == [",".join(template_header("people"))] and header[0].startswith("nhs_number,")
    assert not (tmp_path / "data" / "synthetic_person_year.csv").exists()
    # the commands the README names work from here, on the folder's own files
    files = [f"data/{t}.csv" for t in ("places", "gp_practices", "people", "activity")]
    result = runner.invoke(app, ["load", "--demo", *files])
    assert result.exit_code == 0, result.output
    assert Path("commissioning.duckdb").exists()  # the settings' store, in this folder
    result = runner.invoke(app, ["contract", "check", "contracts/example_contract.toml"])
    assert result.exit_code == 0 and "passes its checks" in result.output
    result = runner.invoke(app, ["decide", "priorities", "decide/priorities.toml"])
    assert result.exit_code == 0 and (tmp_path / "out" / "published" / "priorities.html").exists()
    assert os.getcwd() == str(tmp_path)


def test_init_overwrites_nothing(tmp_path: Path) -> None:
    (tmp_path / "commissioning.toml").write_text("# mine\n")
    result = runner.invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 2
    assert "already exist: nothing was written" in " ".join(result.output.split())
    assert (tmp_path / "commissioning.toml").read_text() == "# mine\n"
    assert not (tmp_path / "data").exists()
