"""``commissioning decide``: priority setting and business cases from their TOML files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from commissioning.cli.main import ConfigOption, StoreOption, friendly_errors, out
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


def _pack(out_dir: Path) -> Outputs:
    return Outputs(out_dir)


@decide_app.command("priorities")
@friendly_errors
def priorities(
    file: FileArgument,
    out_dir: OutOption = Path("out"),
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            help="A store to find low-value procedures in (the Evidence-Based "
            "Interventions list, the latest three years), as disinvestment candidates.",
        ),
    ] = None,
    opportunity: Annotated[
        Path | None,
        typer.Option(
            "--opportunity",
            help="The benchmark's opportunity.csv: money released at the peers' mean, as "
            "disinvestment candidates.",
        ),
    ] = None,
) -> None:
    """The best package of candidates within the budget, the greedy ranking beside it,
    how the choice turns on the weights and on uncertain scores, cost per QALY against
    NICE's threshold, and disinvestment candidates found in the data."""
    import pandas as pd

    from commissioning.decide.files import read_exercise, with_found
    from commissioning.decide.pbma import best_package
    from commissioning.reports.decide_report import write_priorities_page

    ef = read_exercise(file)
    low_value = None
    if store is not None:
        from commissioning.cli.main import _open_store_tables
        from commissioning.decide.from_store import low_value_in_store

        _, tables, years = _open_store_tables(store, None)
        found_in_store = low_value_in_store(tables, years[-3:])
        low_value = found_in_store.summary
    opp = pd.read_csv(opportunity) if opportunity is not None else None
    outputs = _pack(out_dir)
    if store is not None:  # for analysts: by provider and by practice, small counts and all
        outputs.restricted_table("low_value_by_provider.csv", found_in_store.providers)
        outputs.restricted_table("low_value_by_practice.csv", found_in_store.practices)
    page = write_priorities_page(outputs, ef, low_value, opp)
    found = with_found(ef, low_value, opp, threshold=outputs.threshold)
    best = best_package(found.exercise.exercise)
    out.print(f"Best package: {', '.join(best.chosen) or 'nothing'} (value {best.value:.1f})")
    if found.low_value is not None:
        lv = found.low_value
        out.print(
            f"Low-value procedures on the Evidence-Based Interventions list: "
            f"{len(lv)} interventions found, £{lv['released_gbp'].sum():,.0f} a year "
            "released at the benchmarks (small counts left out)"
        )
    for c in found.waiting:
        out.print(f"to score: {c.id} ({c.name}, releases £{-c.cost:,.0f} a year)")
    out.print(f"Written to {page}")


@decide_app.command("case")
@friendly_errors
def case(
    file: FileArgument,
    out_dir: OutOption = Path("out"),
    records: Annotated[
        str | None,
        typer.Option(
            "--records",
            help="The record store whose contract register the case's contract is checked "
            "against: a DuckDB file or postgresql://...",
        ),
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Use the demo ledger key (synthetic demo store only)")
    ] = False,
) -> None:
    """A business case appraised by the Green Book: NPV, ROI, payback, break-even and
    the range of the NPV; with --records, the contract that delivers it checked against
    the register."""
    from commissioning.decide.business_case import appraise, contract_link
    from commissioning.decide.files import read_case
    from commissioning.reports.decide_report import registered_contracts, write_case_page
    from commissioning.reports.formatting import gbp

    cf = read_case(file)
    a = appraise(cf.case)
    link = None
    if records is not None:
        from commissioning.cli.contract import _ops

        link = contract_link(
            cf.status,
            cf.contract_id,
            cf.contract_version,
            registered_contracts(_ops(records, demo)),
        )
    page = write_case_page(_pack(out_dir), cf, link)
    out.print(f"Net present value {gbp(a.npv)}; benefit-cost ratio {a.benefit_cost_ratio:.2f}")
    if link is not None:
        out.print(
            f"flag: {link.flag}"
            if link.flag
            else f"Delivered by {link.contract_id} (in the register: {link.contract_status})"
        )
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


@decide_app.command("pilot")
@friendly_errors
def pilot(
    places: Annotated[
        list[str], typer.Option("--place", help="A place where the pilot ran (repeat for more).")
    ],
    before: Annotated[int, typer.Option(help="The financial year before the pilot (e.g. 2022).")],
    after: Annotated[int, typer.Option(help="The financial year of the pilot (e.g. 2023).")],
    outcome: Annotated[
        str, typer.Option(help="A count in the person-year table, e.g. emergency_admissions.")
    ] = "emergency_admissions",
    min_before: Annotated[
        float, typer.Option(help="Eligible: the outcome before at least this (0: everyone).")
    ] = 0.0,
    out_dir: OutOption = Path("out"),
    store: StoreOption = None,
    config: ConfigOption = None,
) -> None:
    """Did a pilot work? Its effect on the outcome estimated from the store's data: before
    and after, a propensity-matched difference in differences against eligible people
    elsewhere, and an interrupted time series of the matched groups by month, with the
    balance of the groups and the people needed next time."""
    from commissioning.cli.main import _open_store_tables, _outputs
    from commissioning.decide.evaluation import Pilot, cohort, evaluate
    from commissioning.decide.from_store import outcome_events
    from commissioning.population.person_year import person_year_table, use_columns
    from commissioning.reports.decide_report import write_evaluation_page

    if outcome not in use_columns():
        raise ValueError(
            f"--outcome must be a column of the person-year table: {', '.join(use_columns())}"
        )
    _, tables, years = _open_store_tables(store, config)
    missing = [y for y in (before, after) if y not in years]
    if missing:
        raise ValueError(f"the store has no activity in {missing}; it covers {years}")
    spec = Pilot(outcome, before, after, tuple(places), min_before)
    person_year = person_year_table(tables, [before, after]).to_pandas()
    events = outcome_events(tables, outcome, [before, after])
    ev = evaluate(person_year, spec, events=events)
    sd = float(cohort(person_year, spec)["after"].std())
    page = write_evaluation_page(_outputs(out_dir, config, years), ev, None, sd)
    m = ev.matched.estimate
    out.print(
        f"Matched difference in differences: {m.effect:+.3f} per person "
        f"(95% interval {m.lower:+.3f} to {m.upper:+.3f}); before and after: {ev.naive.effect:+.3f}"
    )
    its = ev.its_estimate
    if its is not None:
        out.print(
            f"Interrupted time series: {its.effect:+.3f} per person a year "
            f"(95% interval {its.lower:+.3f} to {its.upper:+.3f})"
        )
    for warning in ev.warnings:
        out.print(f"note: {warning}")
    out.print(f"Written to {page}")
