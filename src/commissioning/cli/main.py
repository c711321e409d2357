"""The ``commissioning`` command: one command, a sub-command for each job.

The CLI only translates: it reads settings and options, calls the same service
functions the tests call, and shows progress and results.  Progress goes to standard
error (none with ``--quiet``), results to standard output (as JSON with ``--json`` where
they are data).  Exit codes, for scripts (:data:`EXIT_CODES`): a user's mistake gets a
one-line error and exit code 2, never a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from commissioning.cli.config import ConfigError, load_settings, pseudonymisation_key
from commissioning.data.load import LoadError, Source, load_files, table_for_file

EXIT_CODES = {
    0: "done",
    1: "the job ran and what it checks did not hold (a calibration target missed, a ledger "
    "or audit file that does not verify, a statement that does not reconcile), or an "
    "unexpected failure (with a traceback)",
    2: "a mistake in what was asked: a bad option, a missing or unreadable file, settings "
    "that do not validate, no key, an operation refused; one line says what and how to fix it",
    3: "the load finished but rejected rows: the good rows are in the store, the rejected "
    "ones are kept with their reasons (commissioning rejects)",
}
EXIT_REJECTED = 3


def _no_placeholder_for_flags() -> None:
    """Help screens show ``--demo``, not ``--demo <bool>``: a flag takes no value.

    typer's rich help prints a type for every option, flags included; its plain help
    does not. This gives flags no type in the rich help too.
    """
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich
    if getattr(shown, "_commissioning", False):
        return

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return "" if self.is_flag and self.metavar is None else shown(self, ctx)

    display_type_rich._commissioning = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_no_placeholder_for_flags()

app = typer.Typer(
    help="A workbench for commissioning health and care: understand needs, plan, "
    "contract for outcomes and pay for them, on pseudonymised person-level data.\n\n"
    "Exit codes: 0 done; 1 a check did not hold; 2 a mistake in what was asked; "
    "3 a load rejected rows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
console = Console(stderr=True, soft_wrap=True)  # an error is one line, however long
out = Console()
F = TypeVar("F", bound=Callable[..., Any])

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Settings file (default: ./commissioning.toml if present)."),
]
StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="The store: a DuckDB file (a path, or duckdb:///path), or for the analyses a "
        "PostgreSQL database holding the canonical tables (postgresql://user@host/db). "
        "Default from settings: commissioning.duckdb.",
    ),
]
StoreFileOption = Annotated[
    Path | None,
    typer.Option(
        "--store", help="The store's DuckDB file (default from settings: commissioning.duckdb)."
    ),
]


def duckdb_store_path(store: str | None, settings: Any) -> Path:
    """The DuckDB file that ``--store`` (or the settings) names; loads, rejects and the
    store's own tables are in DuckDB, so another engine's address is refused here."""
    from commissioning.store.address import parse_store_address

    where = parse_store_address(store) if store else parse_store_address(settings.store.path)
    if where.path is None:
        raise ValueError(
            f"{where}: this command works on the DuckDB store file; PostgreSQL stores are "
            "read by the analyses (needs, indicators, benchmark)"
        )
    return where.path


class _Quiet:
    """Whether progress is shown; set by ``--quiet`` on each run of the command."""

    on = False


JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the result as JSON on standard output.")
]


def print_json(data: Any) -> None:
    """One JSON document on standard output (paths and dates as text)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _version(value: bool) -> None:
    if value:
        from commissioning import __version__

        out.print(f"commissioning {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and stop."
        ),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="No progress on standard error; results and errors still show. "
            "Put it before the command: commissioning --quiet load ...",
        ),
    ] = False,
) -> None:
    """A workbench for commissioning health and care: understand needs, plan, contract
    for outcomes and pay for them, on pseudonymised person-level data."""
    _Quiet.on = quiet


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
    """Timestamped progress lines on standard error (nothing with ``--quiet``)."""
    if _Quiet.on:
        return lambda message: None
    start = time.perf_counter()

    def say(message: str) -> None:
        console.print(f"[dim]{time.perf_counter() - start:7.1f}s[/] {escape(message)}")

    return say


@contextlib.contextmanager
def progress_bar(total_steps: int) -> Iterator[Callable[[str], None]]:
    """A progress bar over the numbered steps of a long job ("3/8 ..."), with each
    message printed above it. On a terminal that is not interactive only the lines show."""
    if _Quiet.on:
        yield lambda message: None
        return
    start = time.perf_counter()
    with Progress(
        TextColumn("[bold blue]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=total_steps)

        def say(message: str) -> None:
            step = re.match(r"^(\d+)/(\d+) (.*)", message)
            if step:
                bar.update(task, completed=int(step.group(1)) - 1, description=step.group(3)[:40])
            bar.console.print(f"[dim]{time.perf_counter() - start:7.1f}s[/] {escape(message)}")

        yield say
        bar.update(task, completed=total_steps)


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
    chunk_people: Annotated[
        int,
        typer.Option(
            help="A larger population is generated and written in chunks of this many people, "
            "so memory stays bounded (about 3 GB a chunk of 1,000,000)."
        ),
    ] = 1_000_000,
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
    from commissioning.synthetic.generate import synthesise
    from commissioning.synthetic.parameters import SyntheticParameters

    if file_format not in ("parquet", "csv"):
        raise ValueError("--format must be parquet or csv")
    if chunk_people < 1_000:
        raise ValueError("--chunk-people must be at least 1000")
    params = SyntheticParameters(people=people, years=years, first_year=first_year, seed=seed)
    say = progress_printer()
    manifest = synthesise(params, out_dir, file_format, say, chunk_people)  # type: ignore[arg-type]
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
    as_json: JsonOption = False,
) -> None:
    """Check and load data files into the store. NHS numbers are pseudonymised on
    reading; bad rows are kept aside with their reasons; a load is all or nothing.
    Exit code 3 if this load rejected any row (the good rows are loaded)."""
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
    con = connect(duckdb_store_path(store, settings))
    reports = load_files(
        con,
        sources,
        key,
        on_progress=progress_printer(),
        max_reject_share=settings.load.max_reject_share,
        memory_limit=settings.load.memory_limit,
    )
    rejected = any(r.rows_rejected and not r.already_loaded for r in reports)
    if as_json:
        print_json([r.summary() for r in reports])
        if rejected:
            raise typer.Exit(EXIT_REJECTED)
        return
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
    for r in reports:
        if r.ignored_columns:
            out.print(
                f"{escape(r.file_name)}: column(s) not in the {r.table} table were ignored: "
                + escape(", ".join(r.ignored_columns))
            )
    if any(r.rows_rejected for r in reports):
        out.print("See the reasons with: commissioning rejects")
    if rejected:
        raise typer.Exit(EXIT_REJECTED)


@app.command()
@friendly_errors
def rejects(
    limit: Annotated[int, typer.Option(help="How many to show.")] = 20,
    store: StoreOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show rows that failed checks: file, line and reason."""
    from commissioning.data.load import rejects_summary
    from commissioning.store.duckdb_store import connect

    settings = load_settings(config)
    con = connect(duckdb_store_path(store, settings))
    if as_json:
        rows = rejects_summary(con, limit)
        print_json([{"file": f, "line": int(n), "reason": why} for f, n, why in rows])
        return
    table = RichTable(title="Rejected rows")
    for col in ("file", "line", "reason"):
        table.add_column(col)
    for row in rejects_summary(con, limit):
        table.add_row(*row)
    out.print(table)


@app.command()
@friendly_errors
def status(
    store: StoreOption = None, config: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """What the store holds: rows in each table, loads and rejects."""
    from commissioning.store.duckdb_store import connect, table_counts

    settings = load_settings(config)
    path = duckdb_store_path(store, settings)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no store here yet; load data first")
    counts = table_counts(connect(path))
    if as_json:
        print_json({"store": str(path), "rows": counts})
        return
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
    serve: Annotated[
        bool,
        typer.Option(
            "--serve/--no-serve",
            help="End by serving the web workbench on the demo (--no-serve: reports only, "
            "for scripts and CI).",
        ),
    ] = True,
    port: Annotated[int, typer.Option(help="Port of the web workbench.")] = 8000,
    config: ConfigOption = None,
) -> None:
    """Run the whole workbench on a synthetic population: generate it, load it,
    check it against national figures, write every report with an index page, then serve
    the web workbench on it with the demo's sign-ins."""
    from commissioning.cli.demo import run_demo

    with progress_bar(8) as say:
        index = run_demo(
            out_dir,
            people=people,
            years=years,
            seed=seed,
            say=say,
            threshold=load_settings(config).publication.suppression_threshold,
        )
    out.print(f"Open {index} in a browser to see the published pack.")
    if serve:
        from commissioning.cli.demo import STORE_FILE
        from commissioning.cli.serve import serve_workbench
        from commissioning.reports.publish import RESTRICTED
        from commissioning.web.demo import ICB, demo_sign_ins

        serve_workbench(
            store=out_dir / RESTRICTED / STORE_FILE,
            records=None,
            reports=out_dir,
            population_org=ICB,
            host="127.0.0.1",
            port=port,
            demo=True,
            sign_ins=demo_sign_ins(),
        )


@app.command("init")
@friendly_errors
def init(
    folder: Annotated[Path, typer.Argument(help="The folder to make (default: here).")] = Path("."),
) -> None:
    """Make a working folder: the settings file with every setting explained, a template
    for each data file, an example contract, priority-setting exercise and business case,
    and a README of the next steps. Nothing is overwritten."""
    from commissioning.cli.init import init_folder

    written = init_folder(folder)
    out.print(f"Wrote {len(written)} files in {folder}; read {folder / 'README.txt'} next.")


@app.command("serve")
@friendly_errors
def serve_cmd(
    store: StoreFileOption = None,
    records: Annotated[
        str | None,
        typer.Option("--records", help="The record store: postgresql://... (default: the store)"),
    ] = None,
    reports: Annotated[
        Path | None, typer.Option("--reports", help="Folder of the analyses for analysts")
    ] = None,
    population_org: Annotated[
        str | None,
        typer.Option("--population-org", help="The organisation whose population the store holds"),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo: Annotated[
        bool, typer.Option("--demo", help="The demo store: its keys and sign-ins")
    ] = False,
) -> None:
    """Serve the web workbench: contracts, settlement, analyses, data and the published
    pages, each person seeing what their role and organisation allow."""
    from commissioning.cli.demo import STORE_FILE
    from commissioning.cli.serve import serve_workbench
    from commissioning.reports.publish import RESTRICTED
    from commissioning.web.demo import ICB, demo_sign_ins

    if demo and store is None:
        store = Path("out") / RESTRICTED / STORE_FILE  # where the demo writes its store
    serve_workbench(
        store=store,
        records=records,
        reports=reports or (store.parent.parent if demo and store is not None else None),
        population_org=population_org or (ICB if demo else None),
        host=host,
        port=port,
        demo=demo,
        sign_ins=demo_sign_ins() if demo else (),
    )


def _mount_contracts() -> None:
    from commissioning.cli.contract import contract_app
    from commissioning.cli.decide import decide_app
    from commissioning.cli.serve import access_app

    app.add_typer(contract_app, name="contract")
    app.add_typer(access_app, name="access")
    app.add_typer(decide_app, name="decide")


_mount_contracts()


def main() -> None:  # pragma: no cover - console script entry
    sys.exit(app())


def _open_store_tables(store: str | Path | None, config: Path | None) -> tuple[Any, Any, list[int]]:
    """An open store (the DuckDB connection, or ``None`` for another engine), its Ibis
    tables and the financial years its activity covers. ``store`` is an address
    (:mod:`commissioning.store.address`); the settings' store when it is not given."""
    import duckdb

    from commissioning.data.queries import activity_years
    from commissioning.store.address import open_store_tables, parse_store_address

    settings = load_settings(config)
    where = parse_store_address(store if store is not None else settings.store.path)
    if where.path is not None and not where.path.exists():
        raise FileNotFoundError(f"{where}: no store here yet; load data first (or run demo)")
    opened = open_store_tables(where.text if where.path is None else where.path)
    limit = settings.analysis.memory_limit
    if limit is not None and isinstance(opened.connection, duckdb.DuckDBPyConnection):
        opened.connection.execute("SET memory_limit = ?", [limit.strip()])
    years = activity_years(opened.tables)
    if not years:
        raise ValueError(f"{where}: the store holds no activity yet; load data first")
    return opened.connection, opened.tables, years


OutOption = Annotated[
    Path,
    typer.Option(
        "--out", help="Folder to write the report to (published/ and restricted/ inside it)."
    ),
]


def _outputs(out_dir: Path, config: Path | None, years: list[int]) -> Any:
    """The published and restricted folders under ``out_dir``, with the configured
    suppression threshold, dated to the end of the last financial year in the store."""
    from datetime import date

    from commissioning.reports.pack import fy
    from commissioning.reports.publish import Outputs

    settings = load_settings(config)
    return Outputs(
        out_dir,
        threshold=settings.publication.suppression_threshold,
        as_at=date(years[-1] + 1, 3, 31),
        period=f"financial years {fy(years[0])} to {fy(years[-1])}",
    )


def _print_written(page: Path, outputs: Any) -> None:
    """What a report command wrote, as JSON: the page, the published files (named as in
    the published folder's manifest) and the period the data covers."""
    print_json(
        {
            "page": str(page),
            "published_folder": str(outputs.published),
            "restricted_folder": str(outputs.restricted),
            "published": outputs.listed(),
            "data_as_at": outputs.as_at,
            "period": outputs.period,
        }
    )


@app.command()
@friendly_errors
def needs(
    out_dir: OutOption = Path("out"),
    store: StoreOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Needs assessment: population, prevalence, segments, risk and spend by programme,
    as one HTML report a commissioner can read (small numbers hidden)."""
    from commissioning.reports.needs_report import write_needs_report

    _, tables, years = _open_store_tables(store, config)
    outputs = _outputs(out_dir, config, years)
    page = write_needs_report(tables, outputs, years)
    if as_json:
        _print_written(page, outputs)
        return
    out.print(f"Needs assessment written to {page} (person-level files: {out_dir}/restricted)")


@app.command()
@friendly_errors
def indicators(
    out_dir: OutOption = Path("out"),
    store: StoreOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Outcome indicators for the home place with intervals, and SPC charts of the
    quarterly series (HTML and CSV)."""
    from commissioning.reports.indicators_report import write_indicators_report

    _, tables, years = _open_store_tables(store, config)
    outputs = _outputs(out_dir, config, years)
    page = write_indicators_report(tables, outputs, years)
    if as_json:
        _print_written(page, outputs)
        return
    out.print(f"Indicators written to {page}")


@app.command()
@friendly_errors
def benchmark(
    out_dir: OutOption = Path("out"),
    store: StoreOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """The home place against its most similar peers: funnel plots, ranked charts,
    the opportunity in activity and pounds, and practice-level variation."""
    from commissioning.reports.benchmark_report import write_benchmark_report

    _, tables, years = _open_store_tables(store, config)
    outputs = _outputs(out_dir, config, years)
    page = write_benchmark_report(tables, outputs, years)
    if as_json:
        _print_written(page, outputs)
        return
    out.print(f"Benchmark written to {page}")
