"""The population needs report: one self-contained HTML page and its tables.

:func:`needs_analysis` computes everything (no files); :func:`write_needs_report` writes
``needs.html``, a CSV per table and ``person_year.parquet`` (too big for CSV at scale).
Published counts below the suppression threshold are hidden, and so is every figure
derived from them (:func:`commissioning.core.suppression.suppress_small_counts`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from commissioning.core.csvsafe import write_csv
from commissioning.core.suppression import suppress_small_counts
from commissioning.population import needs as N
from commissioning.population import programme_budget as PB
from commissioning.population.person_year import person_year_table
from commissioning.population.segments import assign_segments, segment_order, segment_profile
from commissioning.reports.html import FigureBlock, Section, TableBlock, write_page
from commissioning.risk.stratify import RiskEvaluation, evaluate_risk


@dataclass
class NeedsAnalysis:
    """All the tables behind the needs report (unsuppressed; suppress to publish)."""

    years: list[int]
    person_year: pd.DataFrame
    pyramid: pd.DataFrame
    prevalence: pd.DataFrame  # group "All" and each place
    prevalence_by_deprivation: pd.DataFrame
    activity_by_place: pd.DataFrame
    activity_by_practice: pd.DataFrame
    activity_by_deprivation: pd.DataFrame
    activity_by_segment: pd.DataFrame
    segments: pd.DataFrame
    risk: RiskEvaluation | None
    spend_by_programme: pd.DataFrame
    spend_by_setting: pd.DataFrame
    spend_by_provider: pd.DataFrame
    spend_by_segment: pd.DataFrame
    weighted_spend_by_place: pd.DataFrame
    concentration: pd.DataFrame


def needs_analysis(tables: Mapping[str, ir.Table], years: Sequence[int]) -> NeedsAnalysis:
    """Compute the needs assessment, segments, risk model and programme budget."""
    years = sorted(years)
    latest = years[-1]
    py_expr = assign_segments(person_year_table(tables, years))
    arrow = py_expr.to_pyarrow()
    frame = arrow.to_pandas()
    py = ibis.memtable(arrow)
    prev_all = N.prevalence(py, [latest])
    prev_place = N.prevalence(py, [latest], by="place_code")
    truth = None
    if "synthetic_person_year" in tables:
        truth = tables["synthetic_person_year"].to_pandas()
        truth = truth if len(truth) else None
    risk = evaluate_risk(frame, years, truth) if len(years) >= 3 else None
    segs = py.select("person_id", "year", "segment")
    return NeedsAnalysis(
        years=list(years),
        person_year=frame,
        pyramid=N.population_pyramid(py, tables["places"], latest),
        prevalence=pd.concat([prev_all, prev_place], ignore_index=True),
        prevalence_by_deprivation=N.prevalence(py, [latest], by="imd_decile"),
        activity_by_place=N.activity_and_spend(py, years, by="place_code"),
        activity_by_practice=N.activity_and_spend(py, [latest], by="practice_code"),
        activity_by_deprivation=N.activity_and_spend(py, years, by="imd_decile"),
        activity_by_segment=N.activity_and_spend(py, years, by="segment"),
        segments=segment_profile(py),
        risk=risk,
        spend_by_programme=PB.spend_by(tables, years, ("programme",)),
        spend_by_setting=PB.spend_by(tables, years, ("setting",)),
        spend_by_provider=PB.spend_by(tables, [latest], ("provider_code",)),
        spend_by_segment=PB.spend_by(tables, [latest], ("segment", "programme"), segs),
        weighted_spend_by_place=PB.spend_per_weighted_head(
            frame[frame.year == latest].reset_index(drop=True), "place_code"
        ),
        concentration=PB.cost_concentration(frame),
    )


# --- Suppression and formatting --------------------------------------------------------------


def suppress(
    frame: pd.DataFrame, counts: Sequence[str], derived: Sequence[str] = (), threshold: int = 8
) -> pd.DataFrame:
    """Hide counts from 1 to threshold-1 (and cells that would reveal them), and blank the
    ``derived`` figures of any row with a hidden count."""
    if frame.empty:
        return frame.copy()
    masked, mask = suppress_small_counts(
        frame[list(counts)].fillna(0).astype(float), threshold=threshold
    )
    out = frame.copy()
    for c in counts:
        out[c] = masked[c]
    hidden_row = mask.any(axis=1).to_numpy()
    for c in derived:
        out.loc[hidden_row, c] = np.nan
    return out


#: Prevalence figures computed from the count of cases (hidden with it).
PREVALENCE_DERIVED = [
    "crude_pct",
    "crude_lower_pct",
    "crude_upper_pct",
    "dsr_pct",
    "dsr_lower_pct",
    "dsr_upper_pct",
]
#: Counts of a segment, and the figures computed from them.
SEGMENT_COUNTS = ["people", "deaths", "emergency_admissions", "bed_days"]


def _numeric_except(frame: pd.DataFrame, keep: Sequence[str]) -> list[str]:
    return [c for c in frame.columns if c not in keep and pd.api.types.is_numeric_dtype(frame[c])]


def suppress_segments(frame: pd.DataFrame, threshold: int = 8) -> pd.DataFrame:
    """Segments with their counts suppressed and every other figure of a hidden row
    (spend, shares, rates, changes) blanked with them."""
    counts = [c for c in SEGMENT_COUNTS if c in frame.columns]
    return suppress(frame, counts, _numeric_except(frame, [*counts, "year", "order"]), threshold)


def suppress_rates(frame: pd.DataFrame, threshold: int = 8) -> pd.DataFrame:
    """Activity rates by group: each ``*_per_1000`` rate is a count of events over the
    group's population, so a rate from 1 to ``threshold - 1`` events (rate × population /
    1,000) is hidden, with the per-head spend of the same setting and the row's total
    spend (which would give it back by subtraction); a group of fewer than ``threshold``
    people is hidden whole."""
    out = frame.copy()
    population = out["population"].astype(float)
    numeric = _numeric_except(out, ["year"])
    small_group = (population > 0) & (population < threshold)
    row_hidden = small_group.copy()
    for rate in [c for c in out.columns if c.endswith("_per_1000")]:
        events = (out[rate].astype(float) * population / 1000).round()
        hide = (events > 0) & (events < threshold)
        out.loc[hide, rate] = np.nan
        head = rate.removesuffix("_per_1000") + "_per_head_gbp"
        if head in out.columns:
            out.loc[hide, head] = np.nan
        row_hidden |= hide
    for total in ("spend_gbp", "spend_per_head_gbp"):
        if total in out.columns:
            out.loc[row_hidden, total] = np.nan
    for c in numeric:
        out.loc[small_group, c] = np.nan
    return out


def suppress_spend(frame: pd.DataFrame, threshold: int = 8) -> pd.DataFrame:
    """Spend by a grouping with its count of events: a small count is hidden with the spend
    and share it gives."""
    return suppress(frame, ["events"], _numeric_except(frame, ["events", "year"]), threshold)


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "suppressed"
    if isinstance(value, float | np.floating):
        return f"{value:,.{digits}f}"
    if isinstance(value, int | np.integer):
        return f"{value:,}"
    return str(value)


def _table(title: str, frame: pd.DataFrame, columns: dict[str, str], note: str = "") -> TableBlock:
    rows = [[_fmt(r[c]) for c in columns] for _, r in frame.iterrows()]
    return TableBlock(title=title, columns=list(columns.values()), rows=rows, note=note)


# --- Figures ---------------------------------------------------------------------------------


def _pyramid_figure(pyr: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for area, style in (("All places", "lines+markers"), ("Home", None)):
        part = pyr[pyr.area == area]
        for sex, sign in (("M", -1), ("F", 1)):
            p = part[part.sex == sex]
            x = sign * 100 * p.share
            name = f"{area} {'men' if sex == 'M' else 'women'}"
            if style is None:
                fig.add_bar(y=p.age_band, x=x, orientation="h", name=name)
            else:
                fig.add_scatter(y=p.age_band, x=x, mode="lines+markers", name=name)
    fig.update_layout(
        barmode="overlay",
        xaxis_title="% of population (men left, women right)",
        yaxis_title="Age band",
        height=520,
    )
    return fig


def _prevalence_figure(prev: pd.DataFrame) -> go.Figure:
    p = prev[prev.group == N.ALL].sort_values("crude_pct", ascending=False)
    fig = go.Figure()
    for prefix, name in (("crude", "Crude"), ("dsr", "Age-standardised (ESP2013)")):
        fig.add_bar(
            x=p.condition.str.upper(),
            y=p[f"{prefix}_pct"],
            name=name,
            error_y={
                "type": "data",
                "symmetric": False,
                "array": p[f"{prefix}_upper_pct"] - p[f"{prefix}_pct"],
                "arrayminus": p[f"{prefix}_pct"] - p[f"{prefix}_lower_pct"],
            },
        )
    fig.update_layout(barmode="group", yaxis_title="Prevalence (%)", height=420)
    return fig


def _segments_figure(seg: pd.DataFrame) -> go.Figure:
    total = seg.people.sum()
    fig = go.Figure()
    fig.add_scatter(
        x=100 * seg.people / total,
        y=100 * seg.share_of_spend,
        mode="markers+text",
        text=seg.segment,
        textposition="top center",
        marker={"size": 14},
    )
    top = float(max(100 * seg.people.max() / total, 100 * seg.share_of_spend.max()))
    fig.add_scatter(x=[0, top], y=[0, top], mode="lines", name="spend in line with size")
    fig.update_layout(
        xaxis_title="% of people", yaxis_title="% of spend", showlegend=False, height=480
    )
    return fig


def _tiers_figure(tiers: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=tiers.tier, y=100 * tiers.people / tiers.people.sum(), name="% of people")
    fig.add_bar(x=tiers.tier, y=100 * tiers.share_of_spend, name="% of this year's spend")
    fig.update_layout(barmode="group", yaxis_title="%", height=380)
    return fig


def _calibration_figure(risk: RiskEvaluation) -> go.Figure:
    fig = go.Figure()
    for e in (risk.model, risk.baseline):
        fig.add_scatter(
            x=100 * e.deciles.predicted,
            y=100 * e.deciles.observed,
            mode="lines+markers",
            name=e.name,
        )
    top = float(100 * risk.model.deciles[["predicted", "observed"]].to_numpy().max())
    fig.add_scatter(x=[0, top], y=[0, top], mode="lines", name="perfect calibration")
    fig.update_layout(
        xaxis_title="Predicted risk, mean of tenth (%)",
        yaxis_title="Observed admissions (%)",
        height=420,
    )
    return fig


def _bar(frame: pd.DataFrame, x: str, title: str) -> go.Figure:
    fig = go.Figure(go.Bar(x=frame[x], y=frame.spend_gbp / 1e6))
    fig.update_layout(yaxis_title="Spend (£ million)", title=title, height=420)
    return fig


# --- The page --------------------------------------------------------------------------------


def _sections(a: NeedsAnalysis, threshold: int) -> list[Section]:
    latest = a.years[-1]
    pyr = suppress(a.pyramid, ["people"], ["share"], threshold)
    prev = suppress(a.prevalence, ["cases"], PREVALENCE_DERIVED, threshold)
    seg = a.segments[a.segments.year == latest].copy()
    seg["order"] = seg.segment.map({s: i for i, s in enumerate(segment_order())})
    seg = suppress_segments(seg.sort_values("order"), threshold)
    sections = [
        Section(
            f"Population, {latest}",
            "Everyone registered and alive on 1 October, by age band and sex: bars for the "
            "home place, lines for all places together.",
            figures=[
                FigureBlock(
                    _pyramid_figure(pyr),
                    "A wider bar than the line means the home place has a larger share of its "
                    "population in that age band than the places together.",
                )
            ],
        ),
        Section(
            "Prevalence of long-term conditions",
            f"People with each condition diagnosed by 31 March {latest + 1}, per 100 people "
            "registered on 1 October. Age-standardised figures (2013 European Standard "
            "Population) allow for age; bars show 95% intervals.",
            figures=[
                FigureBlock(
                    _prevalence_figure(prev),
                    "Where the age-standardised bar is well below the crude one, the condition "
                    "is common mainly because the population is old.",
                )
            ],
            tables=[
                _table(
                    "Prevalence, all places",
                    prev[prev.group == N.ALL],
                    {
                        "condition": "Condition",
                        "cases": "People",
                        "crude_pct": "Crude %",
                        "dsr_pct": "Age-standardised %",
                        "dsr_lower_pct": "lower",
                        "dsr_upper_pct": "upper",
                    },
                )
            ],
        ),
        Section(
            "Segments (Bridges to Health)",
            "Each person-year falls in the first segment whose rule it meets. A segment "
            "above the line uses more than its share of spend.",
            figures=[
                FigureBlock(
                    _segments_figure(seg.dropna(subset=["people"])),
                    "Small segments near the end of life use a large share of spend.",
                )
            ],
            tables=[
                _table(
                    f"Segments, {latest}",
                    seg,
                    {
                        "segment": "Segment",
                        "people": "People",
                        "spend_per_head_gbp": "Spend per head £",
                        "share_of_spend": "Share of spend",
                        "emergency_admissions_per_1000": "Emergency admissions per 1,000",
                        "spend_change": "Spend change on last year",
                    },
                )
            ],
        ),
    ]
    if a.risk is not None:
        sections += _risk_sections(a.risk, threshold)
    prog = a.spend_by_programme[a.spend_by_programme.year == latest]
    sett = a.spend_by_setting[a.spend_by_setting.year == latest]
    conc = a.concentration[a.concentration.year == latest]
    sections.append(
        Section(
            f"Programme budget, {latest}",
            "Spend by programme (from the primary diagnosis; contacts without one are "
            "attributed by setting where possible) and by setting.",
            figures=[
                FigureBlock(
                    _bar(prog, "programme", "By programme"),
                    "GP and community contacts carry no diagnosis, so they appear as not "
                    "attributable.",
                ),
                FigureBlock(_bar(sett, "setting", "By setting"), "Spend by setting of care."),
            ],
            tables=[
                _table(
                    "Concentration of spend",
                    conc,
                    {
                        "top_1pct_share": "Costliest 1%",
                        "top_5pct_share": "Costliest 5%",
                        "top_20pct_share": "Costliest 20%",
                    },
                    "Share of the year's spend used by the costliest people.",
                ),
                _table(
                    "Spend per weighted head by place",
                    a.weighted_spend_by_place,
                    {
                        "group": "Place",
                        "spend_per_head_gbp": "£ per head",
                        "spend_per_weighted_head_gbp": "£ per weighted head",
                        "index": "Index (1 = average)",
                    },
                    "Weights from a Tweedie model of cost on age, sex and condition count.",
                ),
            ],
        )
    )
    return sections


def _risk_sections(risk: RiskEvaluation, threshold: int) -> list[Section]:
    summary = risk.summary()
    tiers = suppress(risk.tiers, ["people", "next_emergency_admissions"], ["spend_gbp"], threshold)
    ppv = risk.model.top.assign(share_pct=100 * risk.model.top.share)
    return [
        Section(
            "Risk of an emergency admission next year",
            f"Trained on {', '.join(map(str, risk.train_years))} (features) with the next "
            f"year's outcome; tested on {risk.test_year} for different people "
            f"({risk.test_rows:,} people). The oracle is the true probability, known only "
            "in synthetic data: the best any model could do.",
            figures=[
                FigureBlock(
                    _tiers_figure(tiers.fillna(0)),
                    "The top tiers are few people but a large share of spend.",
                ),
                FigureBlock(
                    _calibration_figure(risk),
                    "Points on the diagonal mean predicted risks match what happened.",
                ),
            ],
            tables=[
                _table(
                    "Model evaluation",
                    summary,
                    {
                        "score": "Score",
                        "auc": "AUC",
                        "calibration_slope": "Calibration slope",
                        "calibration_intercept": "Calibration intercept",
                    },
                    "AUC: chance a person admitted is ranked above one not (0.5 is guessing). "
                    "Slope 1 and intercept 0 mean well calibrated.",
                ),
                _table(
                    "Top of the list (model)",
                    suppress(ppv, ["selected", "true_positives"], ["ppv", "sensitivity"]),
                    {
                        "share_pct": "Top %",
                        "selected": "People",
                        "ppv": "PPV",
                        "sensitivity": "Sensitivity",
                    },
                    "PPV: share of those selected who were admitted; sensitivity: share of all "
                    "admitted people who were selected.",
                ),
            ],
        )
    ]


def write_needs_report(
    tables: Mapping[str, ir.Table],
    out_dir: Path,
    years: Sequence[int],
    suppression_threshold: int = 8,
) -> Path:
    """Write ``needs.html``, the tables as CSV and ``person_year.parquet`` to ``out_dir``.

    ``tables`` are Ibis tables (files or the store); ``years`` financial years. Returns
    the path of ``needs.html``. CSVs of aggregates are suppressed like the page; the
    person-level files (person_year.parquet, who_would_gain_most.csv) are not for
    publication.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    a = needs_analysis(tables, years)
    t = suppression_threshold
    a.person_year.to_parquet(out_dir / "person_year.parquet", index=False)
    csvs = {
        "prevalence": suppress(a.prevalence, ["cases"], PREVALENCE_DERIVED, t),
        "prevalence_by_deprivation": suppress(
            a.prevalence_by_deprivation, ["cases"], PREVALENCE_DERIVED, t
        ),
        "activity_by_place": suppress_rates(a.activity_by_place, t),
        "activity_by_practice": suppress_rates(a.activity_by_practice, t),
        "activity_by_deprivation": suppress_rates(a.activity_by_deprivation, t),
        "activity_by_segment": suppress_rates(a.activity_by_segment, t),
        "segments": suppress_segments(a.segments, t),
        "spend_by_programme": suppress_spend(a.spend_by_programme, t),
        "spend_by_setting": suppress_spend(a.spend_by_setting, t),
        "spend_by_provider": suppress_spend(a.spend_by_provider, t),
        "spend_by_segment": suppress_spend(a.spend_by_segment, t),
        "spend_per_weighted_head": a.weighted_spend_by_place,
        "cost_concentration": a.concentration,
    }
    if a.risk is not None:
        csvs["risk_evaluation"] = a.risk.summary()
        csvs["risk_tiers"] = suppress(a.risk.tiers, ["people"], ["spend_gbp"], t)
        csvs["risk_calibration"] = a.risk.model.deciles
        csvs["who_would_gain_most"] = a.risk.gain
    for name, frame in csvs.items():
        write_csv(frame, out_dir / f"{name}.csv")
    span = f"{a.years[0]} to {a.years[-1]}" if len(a.years) > 1 else str(a.years[0])
    return write_page(
        out_dir / "needs.html",
        "Population needs",
        f"Financial years {span}; counts under {t} are suppressed.",
        _sections(a, t),
    )


def needs_figures(a: NeedsAnalysis, digits: int = 3) -> dict[str, Any]:
    """Headline figures of the report, rounded: the content of the golden test."""

    def r(x: Any) -> Any:
        return (
            None if x is None or (isinstance(x, float) and np.isnan(x)) else round(float(x), digits)
        )

    latest = a.years[-1]
    prev = a.prevalence[a.prevalence.group == N.ALL].set_index("condition")
    seg = a.segments[a.segments.year == latest].set_index("segment")
    prog = a.spend_by_programme[a.spend_by_programme.year == latest].set_index("programme")
    conc = a.concentration[a.concentration.year == latest].iloc[0]
    out: dict[str, Any] = {
        "person_years": len(a.person_year),
        "mid_year_population": int(a.pyramid[a.pyramid.area == "All places"].people.sum()),
        "prevalence_crude_pct": {c: r(v) for c, v in prev.crude_pct.items()},
        "prevalence_dsr_pct": {c: r(v) for c, v in prev.dsr_pct.items()},
        "segment_people": {s: int(v) for s, v in seg.people.items()},
        "segment_share_of_spend": {s: r(v) for s, v in seg.share_of_spend.items()},
        "programme_share_of_spend": {p: r(v) for p, v in prog.share_of_spend.items()},
        "spend_top_1_5_20pct": [r(conc[c]) for c in conc.index if str(c).startswith("top_")],
    }
    if a.risk is not None:
        out["risk_auc"] = {
            e.name: r(e.auc) for e in (a.risk.model, a.risk.baseline, a.risk.oracle) if e
        }
        out["risk_calibration_slope"] = r(a.risk.model.calibration.slope)
    return out
