"""``commissioning decide``: priority setting and business cases from their TOML files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from commissioning.cli.main import friendly_errors, out
from commissioning.reports.publish import Outputs

decide_app = typer.Typer(
    help="Decide what to buy and stop buying: a priority-setting exercise (programme "
    "budgeting and marginal analysis) and business cases by the Green Book.",
    no_args_is_help=True,
)

FileArgument = Annotated[Path, typer.Argument(help="The TOML file (see the shipped examples).")]
OutOption = Annotated[
    Path, typer.Option("--out", help="Folder of the pack (the page goes to its published/).")
]


def _outputs(out_dir: Path) -> Outputs:
    return Outputs(out_dir)


@decide_app.command("priorities")
@friendly_errors
def priorities(file: FileArgument, out_dir: OutOption = Path("out")) -> None:
    """The best package of candidates within the budget, the greedy ranking beside it,
    and how the choice turns on the weights and on uncertain scores."""
    from commissioning.decide.files import read_exercise
    from commissioning.decide.pbma import best_package
    from commissioning.reports.decide_report import write_priorities_page

    ef = read_exercise(file)
    best = best_package(ef.exercise)
    page = write_priorities_page(_outputs(out_dir), ef)
    out.print(f"Best package: {', '.join(best.chosen) or 'nothing'} (value {best.value:.1f})")
    out.print(f"Written to {page}")


@decide_app.command("case")
@friendly_errors
def case(file: FileArgument, out_dir: OutOption = Path("out")) -> None:
    """A business case appraised by the Green Book: NPV, ROI, payback, break-even and
    the range of the NPV."""
    from commissioning.decide.business_case import appraise
    from commissioning.decide.files import read_case
    from commissioning.reports.decide_report import write_case_page
    from commissioning.reports.formatting import gbp

    cf = read_case(file)
    a = appraise(cf.case)
    page = write_case_page(_outputs(out_dir), cf)
    out.print(f"Net present value {gbp(a.npv)}; benefit-cost ratio {a.benefit_cost_ratio:.2f}")
    out.print(f"Written to {page}")


@decide_app.command("example")
@friendly_errors
def example(
    name: Annotated[str, typer.Argument(help="priorities or case")],
    to: Annotated[Path, typer.Option("--to", help="Where to copy it.")] = Path("."),
) -> None:
    """Copy a shipped example file to start from."""
    import shutil

    from commissioning.decide.files import example as example_path

    files = {"priorities": "priorities.toml", "case": "falls_case.toml"}
    if name not in files:
        raise ValueError(f"no example {name!r}; use priorities or case")
    target = to / files[name] if to.is_dir() else to
    shutil.copyfile(example_path(files[name]), target)
    out.print(f"Copied to {target}")
