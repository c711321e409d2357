"""Contract reports: one self-contained HTML page per worked scenario, and an index (C23).

:func:`write_contract_report` writes ``<scenario>.html`` with the cohort, the budget and
its trajectory, the outcomes framework and its warnings, the stress test and the
settlements to date, and each party's statement (HTML and CSV) beside it.
:func:`write_contracts_index` writes ``contracts.html``, one row per scenario with a
verdict in plain words. :func:`run_contract_stage` runs the lot for the demo.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from commissioning.data.queries import Tables
from commissioning.operations.base import DEMO_LEDGER_KEY, open_operations
from commissioning.reports.formatting import gbp
from commissioning.reports.html import (
    FigureBlock,
    Section,
    TableBlock,
    restricted_page,
    write_page,
)
from commissioning.reports.publish import Outputs
from commissioning.scenarios.worked import ScenarioResult, run_scenarios
from commissioning.settlement.lines import period_label
from commissioning.settlement.money import format_gbp
from commissioning.settlement.settle import value_at_risk_pence
from commissioning.settlement.statement import statement_csv, statement_html
from commissioning.store.records import wrap_duckdb

Say = Callable[[str], None]


def _records(frame: Any) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in rec.items()} for rec in frame.to_dict("records")]


def _year_label(year: int, calendar_year: int) -> str:
    return f"{year} ({calendar_year}/{str(calendar_year + 1)[2:]})"


def _gbp(x: float) -> str:
    return gbp(x)


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _scope_section(r: ScenarioResult) -> Section:
    seed_per_head = (
        _gbp(r.spec.seed_annual_gbp / r.spec.seed_population) if r.spec.seed_population else "—"
    )
    rows = [
        ["Seed case", r.spec.seed_case],
        ["Cohort rule", r.rule],
        ["Place", f"{r.place_code} ({r.place_people:,} person-years in {r.base_year})"],
        [
            "Cohort in the base year",
            f"{r.cohort_size:,} people ({r.base_year}/{str(r.base_year + 1)[2:]})",
        ],
        [
            "Contract years settled from the data",
            ", ".join(f"year {t} = {fy}/{str(fy + 1)[2:]}" for t, fy in r.contract_years.items()),
        ],
        ["Seed's annual budget", _gbp(r.spec.seed_annual_gbp)],
        ["Seed's budget per head of population", seed_per_head],
        ["Our annual budget (year 1)", _gbp(r.annual_budget_gbp)],
        ["Our budget per head of the place", _gbp(r.annual_budget_gbp / max(r.place_people, 1))],
    ]
    return Section(
        "Scope",
        r.file_contract.title,
        tables=[TableBlock("Who and what is in scope", ["", ""], rows)],
    )


def _budget_section(r: ScenarioResult) -> Section:
    p = r.plan
    base = TableBlock(
        f"Baseline spend {p.base_year}/{str(p.base_year + 1)[2:]} by setting (services in scope)",
        ["setting", "spend", "per person", "share"],
        [
            [s, _gbp(v), _gbp(pp), _pct(sh)]
            for s, v, pp, sh in p.baseline[
                ["setting", "spend_gbp", "per_person_gbp", "share"]
            ].itertuples(index=False)
        ],
        note=(
            f"{p.people:,} people, {_gbp(p.spend_gbp)} in all: {_gbp(p.per_person_gbp)} per "
            f"person, {_gbp(p.risk_adjusted_per_person_gbp)} per need-weighted person "
            f"({p.weighted_people:,.1f} weighted people). Demographic change "
            f"{p.demographic_growth:+.2%} a year (age-sex structure of the place), cost "
            f"growth {p.cost_growth:.1%} a year, allocation cap ±{p.cap:.0%} a year."
        ),
    )
    t = p.trajectory
    traj = TableBlock(
        "Trajectory by contract year",
        [
            "year",
            "do nothing",
            "planned savings",
            "target",
            "allocation (paid)",
            "to smoothing reserve",
            "reserve balance",
        ],
        [
            [
                _year_label(int(row["year"]), int(row["calendar_year"])),
                _gbp(row["do_nothing_gbp"]),
                _pct(row["planned_savings"]),
                _gbp(row["target_gbp"]),
                format_gbp(int(row["allocation_pence"])),
                _gbp(row["to_reserve_gbp"]),
                _gbp(row["reserve_balance_gbp"]),
            ]
            for row in _records(t)
        ],
        note="The allocation follows the target but changes by no more than the cap from one "
        "year to the next; the difference is paid into (or drawn from) the commissioner's "
        "smoothing reserve. A negative balance is a planned call on contingency.",
    )
    weights = TableBlock(
        "Need weights (base year, normalised to mean 1)",
        ["age group | sex | need", "person-years", "mean cost", "weight"],
        [
            [c, f"{n:,}", _gbp(m), f"{w:.2f}"]
            for c, n, m, w in p.weights[
                ["cell", "person_years", "mean_cost_gbp", "weight"]
            ].itertuples(index=False)
        ],
    )
    fig = go.Figure()
    x = [f"Y{int(y)}" for y in t["year"]]
    fig.add_scatter(x=x, y=t["do_nothing_gbp"], name="Do nothing", mode="lines+markers")
    fig.add_scatter(
        x=x, y=t["target_gbp"], name="Target (with planned savings)", mode="lines+markers"
    )
    fig.add_scatter(
        x=x, y=t["allocation_gbp"], name="Capped allocation (paid)", mode="lines+markers"
    )
    fig.update_layout(yaxis_title="£ a year", height=380, margin={"t": 30})
    return Section(
        "Budget and trajectory",
        "The budget comes from the cohort's own spend in the data, risk-adjusted and "
        "projected; see docs/methods/capitated-budgets.md.",
        tables=[base, traj, weights],
        figures=[
            FigureBlock(
                fig,
                "Do-nothing spend, the target after planned savings, and the "
                "allocation paid (£ a year).",
            )
        ],
    )


def _outcomes_section(r: ScenarioResult) -> Section:
    c = r.contract
    var = [value_at_risk_pence(c, y.year) for y in c.years]
    rows = []
    for m in r.measures:
        measured = "; ".join(f"{y}: {v:.4g}" for y, v in sorted(m.measured.items())) or "—"
        rows.append(
            [
                m.indicator_id,
                m.name,
                str(m.tier),
                f"{m.weight:.2f}",
                f"{m.file_baseline:.4g}",
                f"{m.baseline:.4g}",
                f"{m.target:.4g}",
                measured,
                m.curve,
                m.definition,
                f"{m.source}: {m.how}",
            ]
        )
    table = TableBlock(
        "Measures",
        [
            "indicator",
            "name",
            "tier",
            "weight",
            "file baseline",
            "baseline (data)",
            "target",
            "measured by year",
            "curve",
            "definition",
            "how measured",
        ],
        rows,
        note="Measured baselines come from the base year; targets keep the file's relative "
        "improvement. Measures from the indicator library use its definition for the cohort "
        "(crude rates, in the contract's unit); contract-specific measures are those the "
        "library cannot express. Measures not in the data are settled at their baseline "
        "(nothing earned).",
    )
    at_risk = TableBlock(
        "Value at risk by year",
        ["year", "share of budget", "value at risk"],
        [
            [str(y.year), _pct(float(y.value_at_risk)), format_gbp(v)]
            for y, v in zip(c.years, var, strict=True)
        ],
    )
    warn_rows = [[w.code, w.message] for w in r.framework_warnings]
    warn_rows += [
        ["chance_variation", f"{ch.indicator_id}: {ch.note}"]
        for ch in r.chance_checks
        if ch.flagged
    ]
    warnings = TableBlock("Warnings", ["check", "message"], warn_rows or [["none", "no warnings"]])
    return Section("Outcomes framework", tables=[table, at_risk, warnings])


def _stress_section(r: ScenarioResult) -> Section:
    s = r.stress
    cum = s.cumulative_margin_gbp
    hist = go.Figure()
    hist.add_histogram(x=cum, nbinsx=60, name="cumulative margin")
    hist.add_vline(x=-s.reserve_gbp, line_dash="dash", annotation_text="− reserve")
    hist.update_layout(
        xaxis_title="provider's cumulative margin (£)",
        yaxis_title="runs",
        height=340,
        margin={"t": 30},
    )
    drivers = go.Figure()
    drivers.add_bar(x=[rho for _, rho in s.drivers], y=[n for n, _ in s.drivers], orientation="h")
    drivers.update_layout(
        xaxis_title="rank correlation with cumulative margin", height=300, margin={"t": 30}
    )
    summary = s.summary()
    pct = s.margin_percentiles()
    rows = [
        [f"Y{i + 1}", _gbp(pct[0, i]), _gbp(pct[1, i]), _gbp(pct[2, i])]
        for i in range(pct.shape[1])
    ]
    return Section(
        "Stress test",
        f"{len(cum):,} simulated lives of version {r.contract.version} — the version proposed "
        f"from the data (baseline {_gbp(float(r.contract.finance.baseline_budget_gbp))}), the "
        f"one settled above; the example file's own figures are not stressed here (run "
        f"'commissioning contract simulate' on a file for that). Seed 0. Verdict: "
        f"{r.verdict} — {r.verdict_reason}.",
        tables=[
            TableBlock(
                "Headline",
                ["", ""],
                [
                    [
                        "P(provider loses more than its reserve in any year)",
                        _pct(summary["p_loss_beyond_reserve"]),
                    ],
                    ["P(provider loses over the contract)", _pct(summary["p_cumulative_loss"])],
                    [
                        "P(commissioner pays more than do nothing)",
                        _pct(summary["p_commissioner_overspend"]),
                    ],
                    ["Median cumulative margin", _gbp(summary["median_cumulative_margin_gbp"])],
                    ["Reserve", _gbp(summary["reserve_gbp"])],
                ],
            ),
            TableBlock(
                "Provider margin by year", ["year", "5th centile", "median", "95th centile"], rows
            ),
        ],
        figures=[
            FigureBlock(
                hist,
                "Distribution of the provider's margin over the whole "
                "contract; the dashed line is minus the reserve.",
            ),
            FigureBlock(drivers, "What drives the margin."),
        ],
    )


def _settlement_section(r: ScenarioResult, out_dir: Path) -> Section:
    per: dict[tuple[int, int, str], int] = {}
    for ln in r.lines:
        per[(ln.year, ln.quarter, ln.payee)] = (
            per.get((ln.year, ln.quarter, ln.payee), 0) + ln.amount_pence
        )
        per[(ln.year, ln.quarter, ln.payer)] = (
            per.get((ln.year, ln.quarter, ln.payer), 0) - ln.amount_pence
        )
    rows = [[period_label(y, q), party, format_gbp(v)] for (y, q, party), v in sorted(per.items())]
    links = []
    folder = out_dir / f"{r.spec.scenario_id}_statements"
    folder.mkdir(parents=True, exist_ok=True)
    for st in r.statements:
        (folder / f"{st.party}.html").write_text(statement_html(st), encoding="utf-8")
        (folder / f"{st.party}.csv").write_text(statement_csv(st), encoding="utf-8")
        ok = "reconciles" if r.reconciled[st.party] else "DOES NOT reconcile"
        links.append(
            (
                f"{st.party}: statement (net {format_gbp(st.net_pence)}, {ok} to the ledger)",
                f"{folder.name}/{st.party}.html",
            )
        )
        links.append((f"{st.party}: CSV", f"{folder.name}/{st.party}.csv"))
    outturn = "; ".join(f"year {t}: {_gbp(v)}" for t, v in r.outturn_gbp.items())
    return Section(
        "Settlements to date",
        f"{len(r.lines)} lines posted to the ledger by settlement runs (drafted, reviewed, "
        f"approved, posted), each quarter on certified values; the year-end settled once "
        f"the outturn was certified. Year-end outturn (the cohort's in-scope spend in the "
        f"data): {outturn}. {_ledger_note(r)}",
        tables=[
            TableBlock(
                "Net by quarter and party (received − paid)", ["period", "party", "net"], rows
            )
        ],
        links=links,
    )


def _ledger_note(r: ScenarioResult) -> str:
    checks = [s.verification for s in r.statements if s.verification is not None]
    if not checks:
        return ""
    return (
        f"Contract {r.contract.id}, version {r.contract.version} as signed; {checks[-1].summary()}."
    )


def _page(
    outputs: Outputs | None,
    out_dir: Path,
    name: str,
    title: str,
    subtitle: str,
    sections: Sequence[Section],
) -> Path:
    """A working page: in the restricted folder of ``outputs`` (contract working papers
    and statements are for the parties, not for publication), or on its own."""
    if outputs is not None:
        return restricted_page(
            outputs, str(out_dir.relative_to(outputs.restricted) / name), title, subtitle, sections
        )
    return write_page(out_dir / name, title, subtitle, sections)


def write_contract_report(
    result: ScenarioResult, out_dir: Path, outputs: Outputs | None = None
) -> Path:
    """Write ``<scenario>.html`` and the statements beside it; returns the page's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sections = [
        _scope_section(result),
        _budget_section(result),
        _outcomes_section(result),
        _stress_section(result),
        _settlement_section(result, out_dir),
    ]
    return _page(
        outputs,
        out_dir,
        f"{result.spec.scenario_id}.html",
        result.contract.title,
        f"{result.contract.form.type.replace('_', ' ')} · {result.contract.duration_years} "
        f"years · verdict: {result.verdict}",
        sections,
    )


def write_contracts_index(
    results: Sequence[ScenarioResult], out_dir: Path, outputs: Outputs | None = None
) -> Path:
    """Write ``contracts.html``: one row per scenario with its verdict in plain words."""
    rows: list[list[str]] = []
    flags: list[str] = []
    for r in results:
        rows.append(
            [
                r.contract.title,
                r.contract.form.type.replace("_", " "),
                f"{r.cohort_size:,}",
                _gbp(r.annual_budget_gbp),
                _pct(r.stress.p_loss_beyond_reserve),
                f"{r.verdict}: {r.verdict_reason}",
            ]
        )
        flags.append("miss" if r.failing else "")
    links = [(r.contract.title, f"{r.spec.scenario_id}.html") for r in results]
    return _page(
        outputs,
        out_dir,
        "contracts.html",
        "Outcome-based contracts: worked scenarios",
        "The seeds' case studies run on the population in the store",
        [
            Section(
                "Scenarios",
                "Each contract's budget comes from its cohort's spend in the data; its outcomes "
                "are measured from the data; its first years are settled into the ledger; and it "
                "is stress-tested before signing.",
                tables=[
                    TableBlock(
                        "Contracts",
                        [
                            "contract",
                            "form",
                            "cohort",
                            "annual budget",
                            "P(provider loss beyond reserve)",
                            "verdict",
                        ],
                        rows,
                        flags=flags,
                    )
                ],
                links=links,
            )
        ],
    )


def run_contract_stage(
    tables: Tables,
    con: Any,
    outputs: Outputs,
    years: Sequence[int],
    say: Say,
    anchor: Path | None = None,
) -> Path:
    """Run every scenario through contract operations on the store ``con`` (the demo's
    ledger key, the anchor beside the store), write each report and the index into the
    restricted folder (``contracts/``); returns the index's path."""
    say("contracts: running the worked scenarios (cohort, budget, settlement, stress test)")
    ops = open_operations(wrap_duckdb(con), DEMO_LEDGER_KEY, anchor)
    results = run_scenarios(tables, ops, years)
    folder = outputs.restricted / "contracts"
    for r in results:
        write_contract_report(r, folder, outputs)
        say(
            f"    {r.spec.scenario_id}: {r.cohort_size:,} people, "
            f"{_gbp(r.annual_budget_gbp)} a year, P(loss beyond reserve) "
            f"{r.stress.p_loss_beyond_reserve:.0%} — {r.verdict}"
        )
    return write_contracts_index(results, folder, outputs)


__all__ = ["run_contract_stage", "write_contract_report", "write_contracts_index"]
