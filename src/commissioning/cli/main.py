"""The ``commissioning`` command: one command, a sub-command for each job.

The CLI only translates: it reads settings and options, calls the same service
functions the tests call, and shows progress and results.  A user's mistake gets a
one-line error and exit code 2, never a traceback.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from commissioning.cli.config import ConfigError, load_settings, pseudonymisation_key
from commissioning.data.load import LoadError, Source, load_files, table_for_file

app = typer.Typer(
    help="A workbench for commissioning health and care: understand needs, plan, "
    "contract for outcomes and pay for them, on pseudonymised person-level data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()
F = TypeVar("F", bound=Callable[..., Any])

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Settings file (default: ./commissioning.toml if present)."),
]
StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store", help="The store's DuckDB file (default from settings: commissioning.duckdb)."
    ),
]


def friendly_errors(func: F) -> F:
    """Turn a user's mistake into one clear line and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ConfigError, LoadError, FileNotFoundError, ValueError) as exc:
            console.print(f"[bold red]error:[/] {escape(str(exc))}")
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def progress_printer() -> Callable[[str], None]:
    start = time.perf_counter()

    def say(message: str) -> None:
        console.print(f"[dim]{time.perf_counter() - start:7.1f}s[/] {message}")

    return say


@app.command()
@friendly_errors
def synth(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the files to.")] = Path(
        "synthetic"
    ),
    people: Annotated[int, typer.Option(help="People registered at the start.")] = 200_000,
    years: Annotated[int, typer.Option(help="Financial years to simulate.")] = 4,
    first_year: Annotated[int, typer.Option(help="First financial year (2021 = 2021/22).")] = 2021,
    seed: Annotated[
        int, typer.Option(help="Seed: the same seed writes the same bytes.")
    ] = 20261123,
    file_format: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    calibration: Annotated[
        bool,
        typer.Option(
            "--calibration",
            help="Also measure the population against national figures and print the comparison.",
        ),
    ] = False,
) -> None:
    """Write a synthetic population: ten places (a home place and nine peers) over
    several years, calibrated to national figures, with the ground truth kept."""
    from commissioning.synthetic.generate import generate, write
    from commissioning.synthetic.parameters import SyntheticParameters

    if file_format not in ("parquet", "csv"):
        raise ValueError("--format must be parquet or csv")
    params = SyntheticParameters(people=people, years=years, first_year=first_year, seed=seed)
    say = progress_printer()
    tables = generate(params, on_progress=say)
    say(f"writing {file_format} files to {out_dir}")
    manifest = write(tables, out_dir, params, file_format)  # type: ignore[arg-type]
    files: dict[str, dict[str, Any]] = manifest["files"]  # type: ignore[assignment]
    for name, info in files.items():
        say(f"  {name}: {info['rows']:,} rows")
    if calibration:
        _print_calibration(out_dir, params.first_year, params.years, file_format)


def _print_calibration(folder: Path, first_year: int, years: int, file_format: str) -> None:
    from commissioning.synthetic.calibration import compare, measure
    from commissioning.synthetic.files import tables_from_folder

    rows = compare(
        measure(
            tables_from_folder(folder, file_format), list(range(first_year, first_year + years))
        )
    )
    table = RichTable(title="Calibration against national figures")
    for col in ("figure", "generated", "target", "tolerance", "unit", ""):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r.target.label,
            f"{r.measured:,.3g}" if r.measured < 100 else f"{r.measured:,.0f}",
            f"{r.target.value:,g}",
            r.target.tolerance_text(),
            r.target.unit,
            "[green]met[/]" if r.met else "[bold red]MISSED[/]",
        )
    out.print(table)
    missed = [r for r in rows if not r.met]
    out.print(f"{len(rows) - len(missed)} of {len(rows)} targets met.")
    if missed:
        raise typer.Exit(1)


@app.command()
@friendly_errors
def load(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="CSV or Parquet files, each named after "
            "its table (people.csv, activity.parquet), or with --table."
        ),
    ],
    table: Annotated[str | None, typer.Option(help="The table, if not in the file name.")] = None,
    source: Annotated[
        str,
        typer.Option(
            "--format", help="canonical, or a hospital episode extract: hes-apc, hes-op, hes-ae."
        ),
    ] = "canonical",
    demo: Annotated[
        bool,
        typer.Option(
            "--demo", help="Synthetic data only: use the fixed demo pseudonymisation key."
        ),
    ] = False,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> None:
    """Check and load data files into the store. NHS numbers are pseudonymised on
    reading; bad rows are kept aside with their reasons; a load is all or nothing."""
    from commissioning.data.hes import read_hes
    from commissioning.store.duckdb_store import connect

    settings = load_settings(config)
    key = pseudonymisation_key(settings, demo)
    sources = []
    for f in files:
        if source == "canonical":
            sources.append(Source(f, table or table_for_file(f)))
        else:
            sources.append(Source(f, "activity", rows=read_hes(f, source), source_format=source))
    con = connect(store or settings.store.path)
    reports = load_files(con, sources, key, on_progress=progress_printer())
    summary = RichTable(title="Load")
    for col in ("file", "table", "read", "loaded", "rejected", ""):
        summary.add_column(col)
    for r in reports:
        summary.add_row(
            r.file_name,
            r.table,
            f"{r.rows_read:,}",
            f"{r.rows_loaded:,}",
            f"{r.rows_rejected:,}",
            "already loaded: nothing changed" if r.already_loaded else "",
        )
    out.print(summary)
    if any(r.rows_rejected for r in reports):
        out.print("See the reasons with: commissioning rejects")


@app.command()
@friendly_errors
def rejects(
    limit: Annotated[int, typer.Option(help="How many to show.")] = 20,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> None:
    """Show rows that failed checks: file, line and reason."""
    from commissioning.data.load import rejects_summary
    from commissioning.store.duckdb_store import connect

    settings = load_settings(config)
    con = connect(store or settings.store.path)
    table = RichTable(title="Rejected rows")
    for col in ("file", "line", "reason"):
        table.add_column(col)
    for row in rejects_summary(con, limit):
        table.add_row(*row)
    out.print(table)


@app.command()
@friendly_errors
def status(store: StoreOption = None, config: ConfigOption = None) -> None:
    """What the store holds: rows in each table, loads and rejects."""
    from commissioning.store.duckdb_store import connect, table_counts

    settings = load_settings(config)
    path = store or settings.store.path
    if not Path(path).exists():
        raise FileNotFoundError(f"{path}: no store here yet; load data first")
    counts = table_counts(connect(path))
    table = RichTable(title=f"Store {path}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in counts.items():
        table.add_row(name, f"{n:,}")
    out.print(table)


@app.command()
@friendly_errors
def demo(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for the store and reports.")
    ] = Path("out"),
    people: Annotated[int, typer.Option(help="People in the synthetic population.")] = 200_000,
    years: Annotated[int, typer.Option(help="Financial years.")] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic population.")] = 20261123,
) -> None:
    """Run the whole workbench on a synthetic population: generate it, load it,
    check it against national figures, and write every report with an index page."""
    from commissioning.cli.demo import run_demo

    index = run_demo(out_dir, people=people, years=years, seed=seed, say=progress_printer())
    out.print(f"Open {index} in a browser to see the reports.")


def main() -> None:  # pragma: no cover - console script entry
    sys.exit(app())
