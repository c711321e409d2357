"""The command line in scripts: exit codes, ``--json`` results and ``--quiet``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from commissioning.cli.main import EXIT_CODES, app

runner = CliRunner()

PLACES = """place_code,place_name,rurality,is_home
AAA,Home,urban,1
BBB,Peer one,rural,0
CCC,Peer two,urban,0
DDD,Peer three,on the moon,0
"""


def test_a_load_that_rejects_rows_exits_3_and_reports_them_as_json(tmp_path: Path) -> None:
    (tmp_path / "places.csv").write_text(PLACES)
    args = ["load", "--demo", "--json", "--store", str(tmp_path / "s.duckdb")]
    result = runner.invoke(app, [*args, str(tmp_path / "places.csv")])
    assert result.exit_code == 3, result.output
    assert json.loads(result.stdout) == [
        {
            "file": "places.csv",
            "table": "places",
            "rows_read": 4,
            "rows_loaded": 3,
            "rows_rejected": 1,
            "already_loaded": False,
            "ignored_columns": [],
        }
    ]
    rejects = runner.invoke(app, ["rejects", "--json", "--store", str(tmp_path / "s.duckdb")])
    assert rejects.exit_code == 0
    (reject,) = json.loads(rejects.stdout)
    assert (reject["file"], reject["line"]) == ("places.csv", 5)
    assert "rurality" in reject["reason"]
    again = runner.invoke(app, [*args, str(tmp_path / "places.csv")])
    assert again.exit_code == 0  # nothing new was rejected: the file was already loaded
    assert json.loads(again.stdout)[0]["already_loaded"] is True
    status = runner.invoke(app, ["status", "--json", "--store", str(tmp_path / "s.duckdb")])
    assert json.loads(status.stdout)["rows"]["places"] == 3
    assert json.loads(status.stdout)["rows"]["rejects"] == 1


def test_a_clean_load_exits_0(tmp_path: Path) -> None:
    (tmp_path / "places.csv").write_text(PLACES.replace("on the moon", "rural"))
    result = runner.invoke(
        app, ["load", "--demo", "--store", str(tmp_path / "s.duckdb"), str(tmp_path / "places.csv")]
    )
    assert result.exit_code == 0, result.output


def test_quiet_leaves_standard_error_empty(tmp_path: Path) -> None:
    args = ["synth", "--people", "300", "--years", "1", "--out", str(tmp_path / "a")]
    loud = runner.invoke(app, args)
    assert loud.exit_code == 0 and "writing parquet files" in loud.stderr
    quiet = runner.invoke(app, ["--quiet", *args[:-1], str(tmp_path / "b")])
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""
    assert (tmp_path / "b" / "manifest.json").exists()


def test_mistakes_exit_2_with_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["status", "--store", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'none.duckdb'}: no store here yet; load data first"
    ]
    assert runner.invoke(app, ["status", "--no-such-option"]).exit_code == 2


def test_help_screens_show_no_type_for_flags() -> None:
    for args in (["--help"], ["load", "--help"], ["demo", "--help"], ["contract", "--help"]):
        result = runner.invoke(app, args, terminal_width=100)
        assert result.exit_code == 0
        assert "<bool>" not in result.output, args
    load_help = runner.invoke(app, ["load", "--help"], terminal_width=100).output
    assert "<path>" in load_help  # options that take a value still show its type
    assert "--json" in load_help and "--demo" in load_help


def test_the_exit_codes_are_in_the_cli_reference() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    table = "\n".join(f"| {code} | {meaning} |" for code, meaning in EXIT_CODES.items())
    assert table in page
