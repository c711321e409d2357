"""The command line, end to end: real files, a real store, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from commissioning.cli.main import app

runner = CliRunner()


def test_synth_load_status_and_rejects(tmp_path: Path) -> None:
    data, store = tmp_path / "data", tmp_path / "s.duckdb"
    result = runner.invoke(app, ["synth", "--people", "600", "--years", "1", "--out", str(data)])
    assert result.exit_code == 0, result.output
    assert (data / "activity.parquet").exists() and (data / "manifest.json").exists()
    files = [str(p) for p in sorted(data.glob("*.parquet"))]
    result = runner.invoke(app, ["load", "--demo", "--store", str(store), *files])
    assert result.exit_code == 0, result.output
    assert "people" in result.output
    again = runner.invoke(app, ["load", "--demo", "--store", str(store), *files])
    assert "already loaded into activity; nothing to do" in again.output
    status = runner.invoke(app, ["status", "--store", str(store)])
    assert status.exit_code == 0 and "activity" in status.output
    assert runner.invoke(app, ["rejects", "--store", str(store)]).exit_code == 0


def test_load_refuses_without_a_key(tmp_path: Path) -> None:
    (tmp_path / "places.csv").write_text("place_code,place_name,rurality,is_home\nP,H,urban,1\n")
    env = {k: v for k, v in os.environ.items() if k != "COMMISSIONING_PSEUDONYMISATION_KEY"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "commissioning.cli",
            "load",
            "--store",
            str(tmp_path / "s.duckdb"),
            str(tmp_path / "places.csv"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "no pseudonymisation key" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "s.duckdb").exists()
    env["COMMISSIONING_PSEUDONYMISATION_KEY"] = "a secret of enough length"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "commissioning.cli",
            "load",
            "--store",
            str(tmp_path / "s.duckdb"),
            str(tmp_path / "places.csv"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr


def test_user_mistakes_get_one_clear_line(tmp_path: Path) -> None:
    missing = runner.invoke(
        app, ["load", "--demo", "--store", str(tmp_path / "s.duckdb"), str(tmp_path / "nope.csv")]
    )
    assert missing.exit_code == 2
    assert "cannot tell which table" in missing.output
    odd = tmp_path / "people.txt"
    odd.write_text("x")
    result = runner.invoke(app, ["load", "--demo", "--store", str(tmp_path / "s.duckdb"), str(odd)])
    assert result.exit_code == 2 and "unknown file type" in result.output
    bad_config = tmp_path / "c.toml"
    bad_config.write_text("[store]\npth = 'x'\n")
    result = runner.invoke(app, ["status", "--config", str(bad_config)])
    assert result.exit_code == 2 and "store.pth" in result.output


def test_demo_writes_an_index_page(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["demo", "--out", str(tmp_path), "--people", "3000", "--years", "2", "--no-serve"]
    )
    assert result.exit_code == 0, (result.output[-3000:], repr(result.exception))
    assert "workbench is at" not in result.output  # --no-serve: reports only
    import duckdb

    with duckdb.connect(
        str(tmp_path / "restricted" / "commissioning.duckdb"), read_only=True
    ) as con:
        users = {r[0] for r in con.execute("SELECT username FROM users").fetchall()}
        linked = con.execute("SELECT count(DISTINCT contract_id) FROM party_orgs").fetchone()
    assert {"cat.manager", "fay.finance", "pat.provider", "ada.admin"} <= users
    assert linked is not None and linked[0] == 8  # six worked scenarios and two live contracts
    page = (tmp_path / "published" / "index.html").read_text()
    assert "Data as at 31 March 2023" in page and "needs.html" in page
    assert "http" not in page.split("<body>")[1]
    working = (tmp_path / "restricted" / "index.html").read_text()
    assert "Is the synthetic population believable?" in working and "RESTRICTED" in working
    assert (tmp_path / "restricted" / "calibration.csv").exists()
    # the two folders never mix: nothing person-level or working in the published one
    published = {
        p.relative_to(tmp_path / "published").as_posix()
        for p in (tmp_path / "published").rglob("*")
        if p.is_file()
    }
    assert not {n for n in published if n.endswith((".parquet", ".duckdb", ".jsonl", ".wal"))}
    assert "who_would_gain_most.csv" not in published and "calibration.csv" not in published
    assert {p.name for p in tmp_path.iterdir()} == {"published", "restricted"}
    from commissioning.reports.audit import audit_published

    assert audit_published(tmp_path / "published") == []  # the outsider's audit


def test_the_version_comes_from_the_package_metadata() -> None:
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"commissioning {version('commissioning')}"


def test_the_run_script_works_from_any_folder(tmp_path: Path) -> None:
    """Its help is printed from another folder, and nothing is made there."""
    import subprocess

    script = Path(__file__).resolve().parents[2] / "run"
    done = subprocess.run(
        [str(script), "help"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert "./run demo" in done.stdout and "--fast" in done.stdout
    assert list(tmp_path.iterdir()) == []


def test_analyses_work_within_the_memory_limit_set(tmp_path: Path) -> None:
    """``analysis.memory_limit`` holds the database to that memory while an analysis
    runs; unset, DuckDB's own default stands; a limit that is not an amount is refused."""
    import pytest

    from commissioning.cli.config import ConfigError, load_settings
    from commissioning.cli.main import _open_store_tables

    data, store = tmp_path / "data", tmp_path / "s.duckdb"
    assert runner.invoke(app, ["synth", "--people", "300", "--years", "1", "--out", str(data)])
    files = [str(p) for p in sorted(data.glob("*.parquet"))]
    assert runner.invoke(app, ["load", "--demo", "--store", str(store), *files]).exit_code == 0
    config = tmp_path / "commissioning.toml"
    config.write_text('[analysis]\nmemory_limit = "1GiB"\n')
    con, _, years = _open_store_tables(store, config)
    assert years and con.execute("SELECT current_setting('memory_limit')").fetchall() == [
        ("1.0 GiB",)
    ]
    con.close()
    plain = tmp_path / "plain.toml"
    plain.write_text("")
    con, _, _ = _open_store_tables(store, plain)
    assert con.execute("SELECT current_setting('memory_limit')").fetchall() != [("1.0 GiB",)]
    con.close()
    config.write_text('[analysis]\nmemory_limit = "lots"\n')
    with pytest.raises(ConfigError, match="memory_limit"):
        load_settings(config)
