"""The indicators page (C9, C18): every library indicator for the home place, with its
interval, tier, polarity and unit, and SPC charts of a few quarterly series.

Writes ``indicators.html``, ``indicators.csv`` (every indicator for every place, small
counts blanked) and ``spc.csv`` (each charted series' Making Data Count icon) through the
publication gate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import ibis.expr.types as ir
import pandas as pd
import plotly.graph_objects as go

from commissioning.benchmarking.compare import spc_chart
from commissioning.data.queries import home_place as find_home_place
from commissioning.indicators.compute import compute_all
from commissioning.indicators.england import NationalValues, default_national_values
from commissioning.indicators.library import Indicator, Library, default_library
from commissioning.monitoring.spc import XmrChart
from commissioning.reports.england import (
    ENGLAND_DISCLOSURE,
    SPINE_DISCLOSURE,
    england_cell,
    england_comparison,
    england_sections,
    spine_table,
    verdict_cell,
)
from commissioning.reports.formatting import gbp, names_in
from commissioning.reports.html import FigureBlock, Section, TableBlock, publish_page
from commissioning.reports.icons import variation_icon
from commissioning.reports.publish import Disclosure, Outputs, as_outputs

Tables = Mapping[str, ir.Table]

#: An XmR chart needs at least this many points (NHS England, Making Data Count: 15 to 20
#: points give useful limits; 12 is the least it suggests).
SPC_MIN_POINTS = 12
#: The published columns of ``indicators.csv`` (and of comparisons and practices).
INDICATOR_DISCLOSURE = Disclosure(
    counts=["numerator", "denominator"],
    derived=["sum_of_values", "value", "lower", "upper", "lower_99_8", "upper_99_8"],
    hidden_flag="suppressed",
)
#: ``indicators.csv`` also carries the observed/expected columns of the indirectly
#: standardised indicators (NHS OF 2.3.i): an expected count and its ratios, blanked with
#: the row when it is suppressed.
INDICATOR_FILE_DISCLOSURE = Disclosure(
    counts=INDICATOR_DISCLOSURE.counts,
    derived=[
        *INDICATOR_DISCLOSURE.derived,
        "expected",
        "ratio",
        "ratio_lower",
        "ratio_upper",
        "ratio_lower_99_8",
        "ratio_upper_99_8",
    ],
    hidden_flag="suppressed",
)
TIER_NAMES = {
    1: "1 Health status achieved or retained",
    2: "2 Process of recovery",
    3: "3 Sustainability of health",
}
POLARITY_TEXT = {
    "higher_is_better": "Higher is better",
    "lower_is_better": "Lower is better",
    "neither": "No better direction",
}
ICON_TEXT = {
    "common_cause": "Common cause variation only",
    "special_cause_improving_high": "Special cause: improving (high)",
    "special_cause_improving_low": "Special cause: improving (low)",
    "special_cause_concerning_high": "Special cause: concerning (high)",
    "special_cause_concerning_low": "Special cause: concerning (low)",
    "special_cause_neither_high": "Special cause: higher (no better direction)",
    "special_cause_neither_low": "Special cause: lower (no better direction)",
    "consistently_passes": "Consistently meets the target",
    "consistently_fails": "Consistently misses the target",
    "hit_and_miss": "Hit and miss against the target",
}
VARIATION_COLOURS = {
    "improvement": "#005eb8",
    "concern": "#ed8b00",
    "neither_high": "#7c2855",
    "neither_low": "#7c2855",
}
SUPPRESSED = "suppressed (small count)"


def fmt(value: float, unit: str = "") -> str:
    """A number for people: thousands separated, sensible decimals, '-' when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    v = float(value)
    if unit.startswith("£"):
        return gbp(v)
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:,.1f}"
    if abs(v) >= 1:
        return f"{v:,.2f}"
    return f"{v:,.3f}"


def value_with_interval(row: pd.Series, unit: str) -> tuple[str, str]:
    """('value', 'lower to upper') or the suppression note."""
    if bool(row["suppressed"]):
        return SUPPRESSED, ""
    return fmt(row["value"], unit), f"{fmt(row['lower'], unit)} to {fmt(row['upper'], unit)}"


def published(frame: pd.DataFrame, threshold: int = 8) -> pd.DataFrame:
    """The frame with every figure of a suppressed row blanked, for files that leave us.
    A row is suppressed if its numerator is, or if its denominator counts fewer than
    ``threshold`` (a mean of three people's scores is three people's scores)."""
    out = frame.copy()
    few = pd.Series(False, index=out.index)
    for column in ("numerator", "denominator"):
        counts = pd.to_numeric(out[column], errors="coerce")
        few |= ((counts > 0) & (counts < threshold)).fillna(False)
    hide = out["suppressed"].astype(bool) | few
    out["suppressed"] = hide
    for col in out.columns:
        if col in (
            "numerator",
            "denominator",
            "observed",
            "expected",
            "rank",
            "funnel_z_score",
        ) or col.startswith(("value", "lower", "upper", "ratio")):
            out[col] = out[col].astype(float).where(~hide)
    if "classification" in out.columns:  # where a hidden value falls is the value's hint
        out["classification"] = out["classification"].where(~hide, "suppressed")
    return out


def with_counts_apart(frame: pd.DataFrame, library: Library) -> pd.DataFrame:
    """For a published file: the ``numerator`` of a mean (a sum of scores or of pounds,
    not a count) moves to ``sum_of_values``, so ``numerator`` holds only counts."""
    out = frame.copy()
    means = {i.id for i in library.indicators if i.measure.startswith("mean")}
    is_mean = out["indicator_id"].isin(means).to_numpy()
    out["numerator"] = out["numerator"].astype(float)
    out.insert(
        list(out.columns).index("numerator") + 1,
        "sum_of_values",
        out["numerator"].where(is_mean),
    )
    out.loc[is_mean, "numerator"] = float("nan")
    return out


def spc_figure(series: pd.DataFrame, chart: XmrChart, ind: Indicator, place: str) -> go.Figure:
    """An XmR chart: values, mean, process limits, special-cause points coloured."""
    pts = chart.points
    fig = go.Figure()
    x = series["period"]
    fig.add_trace(
        go.Scatter(
            x=x,
            y=pts["value"],
            mode="lines+markers",
            name=ind.title,
            line={"color": "#768692"},
            marker={"color": "#768692"},
        )
    )
    for col, name, dash in (
        ("mean", "Mean", "solid"),
        ("upper_limit", "Upper process limit", "dash"),
        ("lower_limit", "Lower process limit", "dash"),
    ):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=pts[col],
                mode="lines",
                name=name,
                line={"color": "#231f20", "dash": dash, "width": 1},
            )
        )
    for variation, colour in VARIATION_COLOURS.items():
        sel = pts["variation"] == variation
        if sel.any():
            fig.add_trace(
                go.Scatter(
                    x=x[sel],
                    y=pts["value"][sel],
                    mode="markers",
                    name=variation.replace("_", " "),
                    marker={"color": colour, "size": 10},
                )
            )
    icon = ICON_TEXT.get(chart.variation_icon or "", "no data")
    fig.update_layout(
        title=f"{ind.title}, {place}, by quarter: {icon}",
        yaxis_title=ind.unit,
        xaxis_title="Quarter (start)",
        height=380,
        margin={"t": 60, "b": 40},
    )
    return fig


def write_indicators_report(
    tables: Tables,
    out: Outputs | Path,
    years: Sequence[int],
    home_place: str | None = None,
    *,
    library: Library | None = None,
    spc_indicators: Sequence[str] | None = None,
    national: NationalValues | None = None,
) -> Path:
    """Write ``indicators.html`` and its tables through the publication gate; return the
    page.

    The page lists every indicator of the library for the home place (``places.is_home``
    unless given) over ``years`` with its 95% interval, the range across places, tier,
    kind, polarity, unit and source, then XmR charts by quarter with Making Data Count
    icons of ``spc_indicators`` (every indicator of the library by default) whose series
    has at least :data:`SPC_MIN_POINTS` quarters and no suppressed quarter. Beside each
    value: the published England value (``national``, the packaged ``england.csv`` by
    default) and the verdict against it; a spine chart per place. Small counts are
    suppressed, and a suppressed value gets no verdict.
    """
    lib = library or default_library()
    years = list(years)
    home = home_place or find_home_place(tables)
    outputs = as_outputs(out)
    home_name = names_in(tables).get(home, home)
    allp = published(compute_all(tables, "place_code", years, library=lib), outputs.threshold)
    outputs.table(
        "indicators.csv",
        with_counts_apart(allp, lib).rename(columns={"group": "place_code"}),
        INDICATOR_FILE_DISCLOSURE,
    )
    nat = national or default_national_values()
    comparison = england_comparison(allp, lib, nat)
    outputs.table("england_comparison.csv", comparison, ENGLAND_DISCLOSURE)
    outputs.table("spine.csv", spine_table(comparison, lib), SPINE_DISCLOSURE)

    sections = []
    for tier in (1, 2, 3):
        rows, flags = [], []
        for ind in [i for i in lib.indicators if i.tier == tier]:
            part = allp[allp["indicator_id"] == ind.id]
            mine = part[part["group"] == home]
            shown = part[~part["suppressed"].astype(bool)]["value"]
            spread = (
                f"{fmt(shown.min(), ind.unit)} to {fmt(shown.max(), ind.unit)}"
                if len(shown)
                else "-"
            )
            eng = nat.england(ind.id)
            if mine.empty:
                value, interval, verdict = "-", "", "-"
            else:
                value, interval = value_with_interval(mine.iloc[0], ind.unit)
                row = comparison[
                    (comparison.indicator_id == ind.id) & (comparison.place_code == home)
                ].iloc[0]
                verdict = verdict_cell(
                    str(row["verdict"]), bool(row["suppressed"]), eng is not None
                )
            rows.append(
                [
                    ind.title,
                    "Process" if ind.kind == "process" else "Outcome",
                    value,
                    interval,
                    england_cell(eng, ind.unit),
                    verdict,
                    ind.unit,
                    spread,
                    POLARITY_TEXT[ind.polarity],
                    ind.source,
                ]
            )
            flags.append("")
        sections.append(
            Section(
                title=f"Tier {TIER_NAMES[tier]}",
                intro="Values for the home place over the financial years shown, with 95% "
                "confidence intervals. Process measures count activity, not outcomes.",
                tables=[
                    TableBlock(
                        title=f"{home_name}: tier {tier} indicators",
                        columns=[
                            "Indicator",
                            "Kind",
                            "Value",
                            "95% interval",
                            "England (period)",
                            "Compared with England",
                            "Unit",
                            "Range across places",
                            "Polarity",
                            "Source it imitates",
                        ],
                        rows=rows,
                        flags=flags,
                        note="Counts below 8 are suppressed. Rates marked age-standardised "
                        "use the 2013 European Standard Population. England values are "
                        "published national figures for the period shown.",
                    )
                ],
            )
        )
    places = [home, *sorted(p for p in set(comparison["place_code"]) if p != home)]
    sections += england_sections(comparison, lib, places, names_in(tables), years, national=nat)
    figures, icon_rows = [], []
    spc_rows: list[dict[str, object]] = []
    ids = list(spc_indicators) if spc_indicators is not None else [i.id for i in lib.indicators]
    for ind_id in ids:
        ind = lib.get(ind_id)
        try:
            series, chart = spc_chart(tables, ind_id, home, years, library=lib)
        except ValueError:  # no quarterly series for this indicator (life expectancy, say)
            icon_rows.append(
                [ind.title, "Not charted: no quarterly series", POLARITY_TEXT[ind.polarity], "0"]
            )
            continue
        if "denominator" in series.columns and len(series):
            series = published(series, outputs.threshold)
        if len(series) < SPC_MIN_POINTS or series["suppressed"].astype(bool).any():
            if not len(series):
                reason = "Not charted: no quarterly series"
            elif len(series) < SPC_MIN_POINTS:
                reason = f"Not charted: {len(series)} quarters, fewer than {SPC_MIN_POINTS}"
            else:
                reason = "Not charted: a quarter has a small count"
            icon_rows.append([ind.title, reason, POLARITY_TEXT[ind.polarity], str(len(series))])
            continue  # too few points, or a chart would reveal small counts
        figures.append(
            FigureBlock(
                spc_figure(series.reset_index(drop=True), chart, ind, home_name),
                note="Each point is one quarter (rates annualised). The dashed lines are "
                "process limits (mean ± 2.66 × mean moving range); coloured points break a "
                "Making Data Count rule. " + ("; ".join(chart.warnings) if chart.warnings else ""),
            )
        )
        spc_rows.append(
            {
                "indicator_id": ind_id,
                "title": ind.title,
                "variation_icon": chart.variation_icon or "",
                "variation": ICON_TEXT.get(chart.variation_icon or "", "-"),
                "quarters": len(series),
            }
        )
        icon_rows.append(
            [
                ind.title,
                variation_icon(
                    chart.variation_icon, ICON_TEXT.get(chart.variation_icon or "", "-")
                ),
                POLARITY_TEXT[ind.polarity],
                str(len(series)),
            ]
        )
    sections.append(
        Section(
            title="Statistical process control",
            intro="Quarterly series for the home place on XmR charts, read with NHS England's "
            "Making Data Count rules: a point beyond a limit, a run of 7 on one side of the "
            "mean, a trend of 7, or two of three points near a limit.",
            tables=[
                TableBlock(
                    "Variation icons",
                    ["Indicator", "Latest variation", "Polarity", "Quarters"],
                    icon_rows,
                )
            ],
            figures=figures,
        )
    )
    outputs.table(
        "spc.csv",
        pd.DataFrame(
            spc_rows, columns=["indicator_id", "title", "variation_icon", "variation", "quarters"]
        ),
        Disclosure(labels=["quarters"]),
    )
    first, last = min(years), max(years)
    return publish_page(
        outputs,
        "indicators.html",
        "Outcome and process indicators",
        f"{home_name}, financial years {first}/{str(first + 1)[-2:]} to "
        f"{last}/{str(last + 1)[-2:]}",
        sections,
    )
