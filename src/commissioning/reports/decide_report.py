"""Decision pages of the pack: a priority-setting exercise and a business case.

Each page is written through the publication gate with the table behind it. Neither holds
a count from person-level data: the people a candidate reaches is the plan's estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go
from markupsafe import Markup

from commissioning.decide.business_case import (
    ContractLink,
    Registered,
    appraise,
    discount_factor,
    simulate,
)
from commissioning.decide.evaluation import Estimate, Evaluation, people_needed
from commissioning.decide.files import CaseFile, ExerciseFile, with_found
from commissioning.decide.low_value import HIDDEN_WITH_COUNT
from commissioning.decide.pbma import (
    NICE_THRESHOLD_GBP,
    Candidate,
    against_threshold,
    best_package,
    cost_per_qaly,
    greedy_package,
    package_uncertainty,
    weight_sensitivity,
)
from commissioning.decide.portfolio import Assessment, Facts
from commissioning.reports.formatting import HIDDEN, cell, count, gbp, share
from commissioning.reports.html import FigureBlock, Section, TableBlock, publish_page
from commissioning.reports.publish import Disclosure, Outputs

if TYPE_CHECKING:
    from commissioning.operations.base import Operations

PLAN = "the plan's estimate, not a count from person-level data"


def _rows(frame: pd.DataFrame) -> list[Any]:
    return [SimpleNamespace(**{str(k): v for k, v in r.items()}) for r in frame.to_dict("records")]


def _label(criterion: str) -> str:
    return criterion.replace("_", " ").capitalize()


def priorities_frame(ef: ExerciseFile) -> pd.DataFrame:
    """One row per candidate: cost, value, value per £1,000 and whether each method
    chooses it, with how often it is chosen when the scores are uncertain."""
    ex = ef.exercise
    best, greedy = best_package(ex), greedy_package(ex)
    often = package_uncertainty(ex, runs=300, seed=0, spread=ef.score_uncertainty)
    return pd.DataFrame(
        [
            {
                "id": c.id,
                "name": c.name,
                "cost_gbp": c.cost,
                "people": ef.people.get(c.id, 0),
                "value": ex.value(c),
                "value_per_1000_gbp": ex.value(c) / c.cost * 1000 if c.cost > 0 else None,
                "qalys": c.qalys,
                "cost_per_qaly_gbp": cost_per_qaly(c),
                "against_nice_threshold": against_threshold(c),
                "source": c.source,
                "in_best_package": c.id in best.chosen,
                "in_greedy_package": c.id in greedy.chosen,
                "share_of_runs_chosen": often[c.id],
            }
            for c in ex.candidates
        ]
    )


def _bubble(frame: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for chosen, colour, label in (
        (True, "#005eb8", "In the best package"),
        (False, "#768692", "Not chosen"),
    ):
        part = frame[frame.in_best_package == chosen]
        fig.add_scatter(
            x=part.cost_gbp / 1000,
            y=part.value,
            mode="markers+text",
            text=part.name,
            textposition="top center",
            name=label,
            marker={"size": (part.people.clip(lower=1) ** 0.5).clip(8, 60), "color": colour},
        )
    fig.update_layout(
        title="Value for money: cost against value, bubble size by people reached",
        xaxis_title="Cost a year (£ thousand; below 0 releases money)",
        yaxis_title="Value (weighted score, 0 to 10)",
        height=460,
    )
    return fig


def _qaly_plane(frame: pd.DataFrame) -> go.Figure | None:
    """Cost against QALYs a year, with NICE's £20,000 and £30,000 per QALY lines."""
    known = frame[frame.qalys.notna()]
    if known.empty:
        return None
    fig = go.Figure()
    fig.add_scatter(
        x=known.qalys,
        y=known.cost_gbp / 1000,
        mode="markers+text",
        text=known.name,
        textposition="top center",
        marker={"size": 12, "color": "#005eb8"},
        name="Candidates",
    )
    reach = max(float(known.qalys.abs().max()), 1.0) * 1.2
    for threshold, dash in zip(NICE_THRESHOLD_GBP, ("dot", "dash"), strict=True):
        fig.add_scatter(
            x=[-reach, reach],
            y=[-reach * threshold / 1000, reach * threshold / 1000],
            mode="lines",
            line={"color": "#768692", "dash": dash},
            name=f"£{threshold:,.0f} per QALY",
        )
    fig.update_layout(
        title="Cost and health: cost a year against QALYs a year, with NICE's threshold",
        xaxis_title="QALYs gained a year (below 0: lost)",
        yaxis_title="Cost a year (£ thousand; below 0 releases money)",
        height=460,
    )
    return fig


LOW_VALUE_DISCLOSURE = Disclosure(
    counts=["procedures"],
    derived=list(HIDDEN_WITH_COUNT),
    labels=["years"],
    safe={"benchmark_ratio": "a quartile of the observed-to-expected ratios of all practices"},
)


def _found_section(
    outputs: Outputs,
    low_value: pd.DataFrame | None,
    variation: list[Candidate],
    waiting: list[Candidate],
) -> Section:
    tables = []
    if low_value is not None:
        outputs.table("low_value_procedures.csv", low_value, LOW_VALUE_DISCLOSURE)
        n = int(low_value["years"].max()) if len(low_value) else 1
        years_text = "a year" if n == 1 else f"{n} years"
        tables.append(
            TableBlock(
                "Procedures on the Evidence-Based Interventions list",
                [
                    "Intervention",
                    f"Procedures ({years_text})",
                    f"Cost ({years_text})",
                    "Brought down",
                    "Procedures above, a year",
                    "Money released a year",
                ],
                [
                    [
                        r.intervention,
                        HIDDEN if r.procedures != r.procedures else count(r.procedures),
                        cell("cost_gbp", r.cost_gbp),
                        r.rule.split(":")[0],
                        HIDDEN
                        if r.procedures_above_benchmark != r.procedures_above_benchmark
                        else f"{r.procedures_above_benchmark:.1f}",
                        cell("released_gbp", r.released_gbp),
                    ]
                    for r in _rows(low_value)
                ],
                note=f"Interventions with 1 to {outputs.threshold - 1} procedures are hidden "
                "and make no candidate. 'To zero': not to be routinely commissioned. 'To the "
                "lowest quartile': each practice's procedures, standardised for age and sex, "
                "above the rate of the practice a quarter of the way up (of practices "
                "expecting at least five procedures; with none, no money is claimed).",
            )
        )
    if variation:
        tables.append(
            TableBlock(
                "Unwarranted variation against similar places",
                ["Candidate", "Money released a year"],
                [[c.name, gbp(-c.cost)] for c in variation],
                note="From the benchmark's opportunity table: the home place at its peers' "
                "mean, priced at its own cost per event.",
            )
        )
    waiting_text = (
        "Still to be scored by the panel before they can join the package: "
        + "; ".join(f"{c.name} (id {c.id})" for c in waiting)
        + ". Scores go in the exercise file under [data_scores.<id>]."
        if waiting
        else "Every candidate found in the data has been scored and is in the exercise."
    )
    return Section(
        "Disinvestment candidates found in the data",
        "Money that could be released: procedures of low value, and activity above similar "
        "places. " + waiting_text,
        tables=tables,
    )


def write_priorities_page(
    outputs: Outputs,
    ef: ExerciseFile,
    low_value: pd.DataFrame | None = None,
    opportunity: pd.DataFrame | None = None,
    titles: dict[str, str] | None = None,
) -> Path:
    """The exercise's page. With ``low_value`` (:func:`low_value_summary`) and
    ``opportunity`` (benchmarking's opportunity table, with indicator ``titles``), the
    disinvestment candidates found in the data are shown, and those the panel has scored
    (the file's ``data_scores``) join the exercise."""
    found = with_found(ef, low_value, opportunity, titles, outputs.threshold)
    ef, shown, variation, waiting = found.exercise, found.low_value, found.variation, found.waiting
    ex = ef.exercise
    frame = priorities_frame(ef)
    best, greedy = best_package(ex), greedy_package(ex)
    outputs.table(
        "priorities.csv",
        frame,
        Disclosure(
            labels=["in_best_package", "in_greedy_package"],
            safe={
                "cost_gbp": "the candidate's planned cost",
                "people": PLAN,
                "value": "the panel's weighted score",
                "value_per_1000_gbp": "the panel's weighted score per £1,000",
                "qalys": "the plan's estimate of QALYs a year",
                "cost_per_qaly_gbp": "the planned cost over the plan's QALYs",
                "share_of_runs_chosen": "a share of simulated choices",
            },
        ),
    )
    yes = Markup("<strong>Yes</strong>")
    rows = [
        [
            r.name,
            gbp(r.cost_gbp),
            count(r.people),
            f"{r.value:.1f}",
            "releases money" if r.cost_gbp <= 0 else f"{r.value_per_1000_gbp:.3f}",
            _per_qaly(r.cost_per_qaly_gbp, r.against_nice_threshold),
            yes if r.in_best_package else "No",
            "Yes" if r.in_greedy_package else "No",
            share(r.share_of_runs_chosen, 0),
        ]
        for r in _rows(frame)
    ]
    weights = ", ".join(f"{_label(k)} {share(w, 0)}" for k, w in ex.weights.items())
    sens = weight_sensitivity(ex, step=0.1)
    sens_rows = [
        [
            _label(s.criterion),
            share(s.weight, 0),
            ", ".join(frame.set_index("id").loc[list(s.chosen), "name"]) or "nothing",
            f"{s.value:.2f}",
            "Yes" if s.changed else "No",
        ]
        for s in sens
    ]
    return publish_page(
        outputs,
        "priorities.html",
        ef.title,
        f"Programme budgeting and marginal analysis within {gbp(ex.budget)} a year",
        [
            Section(
                "The best package within the budget",
                f"The panel's weights: {weights}. Each candidate's value is its weighted "
                f"score. The best package ({', '.join(best.chosen)}) gives a value of "
                f"{best.value:.1f} for {gbp(best.cost)}; ranking by value per pound and "
                f"filling the budget in that order gives {greedy.value:.1f} "
                f"({', '.join(greedy.chosen)}).",
                tables=[
                    TableBlock(
                        "Candidates",
                        [
                            "Candidate",
                            "Cost a year",
                            "People reached",
                            "Value",
                            "Value per £1,000",
                            "Cost per QALY",
                            "In the best package",
                            "Chosen by value per pound",
                            "Chosen when scores vary",
                        ],
                        rows,
                        note=f"'Chosen when scores vary': how often the candidate is in the "
                        f"best package when every score moves up to {ef.score_uncertainty:g} "
                        "points either way (300 draws).",
                    )
                ],
                figures=[
                    FigureBlock(
                        _bubble(frame),
                        "Up and to the left is better value; a disinvestment sits left of "
                        "zero, releasing money for the others.",
                    ),
                    *(
                        [
                            FigureBlock(
                                plane,
                                "Below a threshold line an investment costs less per QALY "
                                "than NICE's threshold (PMG36, 2022); a disinvestment below "
                                "it releases more per QALY lost than the threshold.",
                            )
                        ]
                        if (plane := _qaly_plane(frame)) is not None
                        else []
                    ),
                ],
            ),
            Section(
                "How the choice turns on the weights",
                "Each weight moved 10 points up and down (the others scaled to keep the "
                "total at 100%): where the package changes, the panel's choice rests on "
                "that weight.",
                tables=[
                    TableBlock(
                        "Sensitivity to the weights",
                        ["Criterion", "Weight", "Best package", "Value", "Changed"],
                        sens_rows,
                    )
                ],
            ),
            *(
                [_found_section(outputs, shown, variation, waiting)]
                if shown is not None or opportunity is not None
                else []
            ),
        ],
    )


def _per_qaly(value: float | None, verdict: str) -> str:
    if value is None or value != value:
        return verdict if verdict in ("dominant", "dominated") else "not known"
    return f"{gbp(value)} ({verdict})"


def registered_contracts(ops: Operations) -> dict[str, Registered]:
    """The register as the business cases need it: each contract's versions and status."""
    from commissioning.operations import register

    return {
        cid: Registered(
            tuple(v.contract.version for v in register.versions(ops, cid)),
            register.status(ops, cid),
        )
        for cid in register.contract_ids(ops)
    }


def _delivery(cf: CaseFile, link: ContractLink | None) -> str:
    if link is None:
        named = (
            f"contract {cf.contract_id}"
            + (f" version {cf.contract_version}" if cf.contract_version else "")
            if cf.contract_id
            else "no contract"
        )
        return f"The case is {cf.status} and names {named}; the register was not checked."
    if link.contract_id is None:
        return f"The case is {cf.status} and names no contract." + (
            f" Flag: {link.flag}." if link.flag else ""
        )
    version = f" version {link.contract_version}" if link.contract_version else ""
    text = f"The case is {cf.status}; contract {link.contract_id}{version} delivers it"
    return text + (
        f" (in the register: {link.contract_status})." if not link.flag else f". Flag: {link.flag}."
    )


def write_case_page(outputs: Outputs, cf: CaseFile, link: ContractLink | None = None) -> Path:
    """The case appraised, and the contract that delivers it (``link``: checked against
    the register by :func:`commissioning.decide.business_case.contract_link`)."""
    case = cf.case
    a = appraise(case)
    sim = simulate(
        case,
        runs=2_000,
        seed=0,
        benefit_spread=cf.benefit_uncertainty,
        cost_spread=cf.cost_uncertainty,
    )
    years = list(range(case.horizon + 1))
    by_kind = {
        k: [sum(f.amounts.get(y, 0.0) for f in case.flows if f.kind == k) for y in years]
        for k in ("capital", "cost", "benefit")
    }
    frame = pd.DataFrame(
        {
            "year": years,
            "capital_gbp": by_kind["capital"],
            "cost_gbp": by_kind["cost"],
            "benefit_gbp": by_kind["benefit"],
            "discount_factor": [discount_factor(y) for y in years],
            "cumulative_discounted_net_gbp": a.cumulative,
        }
    )
    outputs.table(
        "business_case.csv",
        frame,
        Disclosure(
            labels=["year"],
            safe={c: "a planned cash flow" for c in frame.columns if c != "year"},
        ),
    )
    fig = go.Figure()
    fig.add_scatter(
        x=years, y=[v / 1000 for v in a.cumulative], mode="lines+markers", name="Cumulative"
    )
    fig.add_hline(y=0, line_dash="dash", line_color="#425563")
    fig.update_layout(
        title="Cumulative discounted net benefit by year",
        xaxis_title="Year (0 is the year of the decision)",
        yaxis_title="£ thousand",
        height=380,
    )
    payback = (
        "never within the case's years"
        if a.payback_years is None
        else f"{a.payback_years:.1f} years"
    )
    headline = [
        ["Present value of costs (with optimism bias)", gbp(a.pv_costs)],
        ["Present value of benefits", gbp(a.pv_benefits)],
        ["Net present value", gbp(a.npv)],
        ["Benefit-cost ratio", f"{a.benefit_cost_ratio:.2f}"],
        ["Return on investment", share(a.roi)],
        ["Discounted payback", payback],
        ["Optimism bias added", gbp(a.optimism_bias_gbp)],
        [
            "Benefits needed to break even",
            share(a.break_even_benefit_scale, 0) + " of those expected",
        ],
        ["Net present value, 90% range", f"{gbp(sim.npv_low)} to {gbp(sim.npv_high)}"],
        ["Chance the net present value is positive", share(sim.p_positive, 0)],
    ]
    yearly = [
        [
            str(r.year),
            gbp(r.capital_gbp),
            gbp(r.cost_gbp),
            gbp(r.benefit_gbp),
            f"{r.discount_factor:.4f}",
            gbp(r.cumulative_discounted_net_gbp),
        ]
        for r in _rows(frame)
    ]
    return publish_page(
        outputs,
        "business_case.html",
        f"Business case: {case.name}",
        "Appraised as HM Treasury's Green Book sets out (discount rate 3.5% a year, optimism bias)",
        [
            Section(
                "The case in figures",
                _delivery(cf, link) + " "
                f"Benefits vary by {share(cf.benefit_uncertainty, 0)} and costs by "
                f"{share(cf.cost_uncertainty, 0)} (one standard deviation) in 2,000 "
                "simulated outcomes.",
                tables=[TableBlock("Appraisal", ["Measure", "Value"], headline)],
                figures=[
                    FigureBlock(
                        fig, "The case pays back where the line crosses zero and stays above it."
                    )
                ],
            ),
            Section(
                "Year by year",
                "Pounds as planned (before discounting; capital with its optimism bias in the "
                "totals), the Green Book discount factor, and the cumulative discounted net "
                "benefit.",
                tables=[
                    TableBlock(
                        "Cash flows",
                        [
                            "Year",
                            "Capital",
                            "Running costs",
                            "Benefits",
                            "Discount factor",
                            "Cumulative net",
                        ],
                        yearly,
                    )
                ],
            ),
        ],
    )


def _its_section(outputs: Outputs, ev: Evaluation, truth: float | None) -> Section | None:
    """The interrupted time series of the matched groups: the monthly series, the fitted
    line and the line before the start carried on. Monthly counts of events (distinct
    events: a comparison person matched twice counts once) are published only when none
    is from 1 to the threshold less one; otherwise the chart shows the
    fitted lines alone (with the fit, a hidden month could be solved for)."""
    if ev.its is None or ev.series is None or ev.its_estimate is None:
        return None
    its, series, m = ev.its, ev.series, ev.matched.estimate
    counts = pd.DataFrame(
        {
            "month": series["month"].astype(str),
            "treated_events": series["treated_events"],
            "comparison_events": series["comparison_events"],
        }
    )
    small = counts[["treated_events", "comparison_events"]]
    shown = not ((small > 0) & (small < outputs.threshold)).to_numpy().any()
    comparison = series["comparison"].to_numpy()
    frame = pd.DataFrame(
        {
            "month": counts["month"],
            "fitted_treated_per_person": comparison + its.fitted,
            "counterfactual_treated_per_person": comparison + its.counterfactual,
        }
    )
    if shown:
        frame = frame.assign(
            treated_events=counts["treated_events"],
            comparison_events=counts["comparison_events"],
            treated_per_person=series["treated"],
            comparison_per_person=series["comparison"],
        )
    outputs.table(
        "pilot_series.csv",
        frame,
        Disclosure(
            counts=["treated_events", "comparison_events"] if shown else [],
            derived=["treated_per_person", "comparison_per_person"] if shown else [],
            safe={
                "fitted_treated_per_person": "the comparison's mean plus the fitted difference"
                if shown
                else "a fit over 24 months of at least the threshold of people",
                "counterfactual_treated_per_person": "as the fitted line, before the start "
                "carried on",
            },
        ),
    )
    months = list(counts["month"])
    fig = go.Figure()
    if shown:
        fig.add_scatter(x=months, y=series["treated"], mode="markers", name="Treated")
        fig.add_scatter(
            x=months,
            y=series["comparison"],
            mode="markers",
            name="Matched comparison",
            marker={"color": "#768692"},
        )
    start = its.periods_before
    fig.add_scatter(
        x=months[:start],
        y=frame["fitted_treated_per_person"][:start],
        mode="lines",
        name="Fitted before",
        line={"color": "#005eb8"},
    )
    fig.add_scatter(
        x=months[start:],
        y=frame["fitted_treated_per_person"][start:],
        mode="lines",
        name="Fitted after",
        line={"color": "#005eb8"},
    )
    fig.add_scatter(
        x=months[start:],
        y=frame["counterfactual_treated_per_person"][start:],
        mode="lines",
        name="Without the pilot (before carried on)",
        line={"color": "#b65200", "dash": "dash"},
    )
    fig.update_layout(
        title="Events per person a month: treated, matched comparison and the fitted lines",
        xaxis_title="Month",
        yaxis_title="Events per person",
        height=400,
    )
    rows = [
        [label, f"{c.estimate:+.4f}", f"{c.lower:+.4f} to {c.upper:+.4f}"]
        for label, c in (
            ("Difference before the start (month 1)", its.baseline_level),
            ("Trend of the difference before, per month", its.baseline_trend),
            ("Change in level at the start", its.level_change),
            ("Change in trend after the start, per month", its.trend_change),
            ("Average change a month after the start", its.average_effect),
        )
    ]
    e = ev.its_estimate
    truth_text = (
        f" The truth planted in the synthetic data is {truth:+.3f}." if truth is not None else ""
    )
    return Section(
        "Month by month: an interrupted time series",
        f"The treated people's events each month less their matched comparison's, over "
        f"{its.periods_before} months before the start and {its.periods_after} after, fitted "
        "by segmented regression (a level and a trend before, a change in each at the "
        f"start), with Newey-West standard errors allowing for {its.lags} months of "
        f"autocorrelation. The average change a month, times 12, is {e.effect:+.3f} per "
        f"person a year (95% interval {e.lower:+.3f} to {e.upper:+.3f}), against "
        f"{m.effect:+.3f} by the matched difference in differences.{truth_text}"
        + (
            ""
            if shown
            else f" Some months had from 1 to {outputs.threshold - 1} events, so the "
            "monthly points are not published; the fitted lines are."
        ),
        tables=[
            TableBlock("Segmented regression", ["Coefficient", "Estimate", "95% interval"], rows)
        ],
        figures=[
            FigureBlock(
                fig,
                "The dashed line is what the treated would have done had the difference "
                "from their comparison carried on as before; the gap to the solid line "
                "after the start is the pilot's effect.",
            )
        ],
    )


def write_evaluation_page(
    outputs: Outputs, ev: Evaluation, truth: float | None, sd_after: float
) -> Path:
    """The pilot's estimates beside each other (and beside the planted truth, on
    synthetic data), the warnings, the balance of the matched groups and the power."""
    pilot, naive, m = ev.pilot, ev.naive, ev.matched.estimate
    outcome = pilot.outcome.replace("_", " ")
    if min(naive.treated, m.treated, m.compared) < outputs.threshold:
        raise ValueError(
            f"fewer than {outputs.threshold} people in a group: the evaluation is not published"
        )
    designs = [naive, m] + ([ev.its_estimate] if ev.its_estimate is not None else [])
    estimates = pd.DataFrame(
        [
            {
                "design": e.design,
                "effect": e.effect,
                "lower": e.lower,
                "upper": e.upper,
                "treated": e.treated,
                "compared": e.compared,
            }
            for e in designs
        ]
    )
    outputs.table(
        "pilot_evaluation.csv",
        estimates,
        Disclosure(
            counts=["treated", "compared"],
            safe={
                c: "a mean change over the treated (at least the threshold of people)"
                for c in ("effect", "lower", "upper")
            },
        ),
    )
    fig = go.Figure()
    names = ["Before and after", "Matched comparison", "Interrupted time series"]
    fig.add_scatter(
        x=[e.effect for e in designs],
        y=names[: len(designs)],
        error_x={
            "type": "data",
            "symmetric": False,
            "array": [e.upper - e.effect for e in designs],
            "arrayminus": [e.effect - e.lower for e in designs],
        },
        mode="markers",
        marker={"size": 12, "color": "#005eb8"},
        name="Estimate and 95% interval",
    )
    if truth is not None:
        fig.add_vline(x=truth, line_dash="dash", line_color="#b65200")
    fig.add_vline(x=0, line_color="#425563")
    fig.update_layout(
        title=f"Change in {outcome} per person a year, by design",
        xaxis_title=f"Change in {outcome} per person",
        height=320,
        showlegend=False,
    )
    rows = [
        [
            e.design.capitalize(),
            f"{e.effect:+.3f}",
            f"{e.lower:+.3f} to {e.upper:+.3f}",
            count(e.treated),
            count(e.compared) if e.compared else "none",
        ]
        for e in designs
    ]
    if truth is not None:
        rows.append(["Planted in the synthetic data (the truth)", f"{truth:+.3f}", "", "", ""])
    labels = {
        "age_years": "Age",
        "female": "Women",
        "condition_count": "Long-term conditions",
        "efi": "Frailty (eFI proxy)",
        "imd_decile": "Deprivation decile",
        "before": f"{outcome.capitalize()} before",
    }
    balance_rows = [
        [
            labels.get(r["covariate"], r["covariate"]),
            f"{r['before_matching']:+.3f}",
            f"{r['after_matching']:+.3f}",
        ]
        for r in ev.matched.balance.to_dict("records")
    ]
    needed = people_needed(sd_after, m.effect) if m.effect else None
    its_section = _its_section(outputs, ev, truth)
    return publish_page(
        outputs,
        "pilot_evaluation.html",
        f"Did the pilot work? {outcome.capitalize()}",
        f"People with {outcome} of at least {pilot.min_before:g} in {pilot.before_year}/"
        f"{str(pilot.before_year + 1)[2:]}, treated in {', '.join(pilot.places)} from April "
        f"{pilot.after_year}",
        [
            Section(
                "The estimates",
                "Each design's estimate of the change the pilot made, per person treated, "
                "with its 95% interval. "
                + (
                    "On synthetic data the true effect is known: it was planted, and is the "
                    "dashed line."
                    if truth is not None
                    else ""
                ),
                tables=[
                    TableBlock(
                        "Estimates",
                        ["Design", "Change per person", "95% interval", "Treated", "Compared with"],
                        rows,
                    )
                ],
                figures=[
                    FigureBlock(
                        fig,
                        "An interval that does not include the dashed line has missed the truth.",
                    )
                ],
            ),
            *([its_section] if its_section is not None else []),
            Section(
                "What to read with care",
                " ".join(ev.warnings) or "No warnings.",
                tables=[
                    TableBlock(
                        "Balance of the groups (standardised differences; below 0.1 is balanced)",
                        ["Characteristic", "All eligible", "Matched"],
                        balance_rows,
                    )
                ],
            ),
            Section(
                "Planning the next pilot",
                (
                    f"To detect a change of {abs(m.effect):.2f} {outcome} per person "
                    f"(standard deviation {sd_after:.2f}) with 80% power at the 5% level, "
                    f"about {needed:,} people are needed in each group."
                )
                if needed
                else "The estimate is zero: no power calculation from it.",
            ),
        ],
    )


def write_portfolio_page(
    outputs: Outputs,
    facts: Facts,
    assessments: Sequence[Assessment],
    programmes: pd.DataFrame,
    pilots: Sequence[Estimate] = (),
    cases: Sequence[tuple[CaseFile, ContractLink]] = (),
) -> Path:
    """Every programme, contract, business case and pilot in one view, and the nine
    measures of effective commissioning with their status and evidence. A case whose
    contract the register does not hold is flagged."""
    icon = {"met": "Met", "partly met": "Partly met", "not met": "Not met"}
    measure_rows = [
        [
            f"{a.measure.number}. {a.measure.activity}",
            a.measure.measure,
            icon.get(a.status, a.status.capitalize()),
            "From the workbench" if a.measure.source == "computed" else "Recorded by people",
            a.evidence,
        ]
        for a in assessments
    ]
    contract_rows = [
        [
            c.title,
            c.form.replace("_", " "),
            c.status,
            gbp(c.annual_budget_gbp),
            str(c.outcome_measures),
        ]
        for c in facts.contracts
    ]
    programme_rows = [
        [
            str(r["programme"]),
            cell("spend_gbp", r["spend_gbp"]),
            "" if r["change"] != r["change"] else f"{100 * r['change']:+.1f}%",
        ]
        for r in programmes.to_dict("records")
    ]
    pilot_rows = [
        [
            e.design.capitalize(),
            f"{e.effect:+.3f}",
            f"{e.lower:+.3f} to {e.upper:+.3f}",
            count(e.treated),
        ]
        for e in pilots
    ]
    sections = [
        Section(
            "How effective is our commissioning?",
            "The nine activities of effective commissioning and their suggested measures "
            "(Smith, Porter, Shaw and others, Nuffield Trust, 2013, table 3): five read from "
            "what the workbench holds, four recorded by people with their evidence.",
            tables=[
                TableBlock(
                    "The nine measures",
                    ["Activity", "Measure", "Status", "Source", "Evidence"],
                    measure_rows,
                    flags=["miss" if a.status == "not met" else "" for a in assessments],
                )
            ],
        ),
        Section(
            "Programmes: where the money goes",
            "Spend by programme in the latest year, the highest first, with the change on "
            "the year before.",
            tables=[TableBlock("Programmes", ["Programme", "Spend", "Change"], programme_rows)],
        ),
        Section(
            "Contracts",
            "Every contract in the register: its form, where it stands, its annual budget "
            "and how many outcome measures it pays on.",
            tables=[
                TableBlock(
                    "Contracts",
                    ["Contract", "Form", "Status", "Annual budget", "Outcome measures"],
                    contract_rows,
                )
            ],
        ),
    ]
    if cases:
        sections.append(
            Section(
                "Business cases",
                "Each case, where it stands, and the contract in the register that "
                "delivers it; a flag where the register does not hold it.",
                tables=[
                    TableBlock(
                        "Business cases",
                        ["Case", "Status", "Net present value", "Contract", "Register"],
                        [
                            [
                                cf.case.name,
                                cf.status,
                                gbp(appraise(cf.case).npv),
                                (link.contract_id or "none named")
                                + (f" v{link.contract_version}" if link.contract_version else ""),
                                link.flag or link.contract_status,
                            ]
                            for cf, link in cases
                        ],
                        flags=["miss" if link.flag else "" for _, link in cases],
                    )
                ],
            )
        )
    if pilot_rows:
        sections.append(
            Section(
                "Pilots",
                "Each pilot's estimated effect per person treated (see the pilot page).",
                tables=[
                    TableBlock(
                        "Pilots", ["Design", "Effect", "95% interval", "Treated"], pilot_rows
                    )
                ],
            )
        )
    return publish_page(
        outputs,
        "portfolio.html",
        "The commissioning portfolio",
        "Programmes, contracts and pilots in one view, and how effective the commissioning is",
        sections,
    )
