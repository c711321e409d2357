"""The benchmarking page (C10): similar places, funnel plots, ranked charts with
intervals, the opportunity in activity and pounds, and practice variation in the home
place.

Writes ``benchmark.html`` and CSVs for analysts (``peers.csv``, ``comparison.csv``,
``opportunity.csv``, ``practice_variation.csv``) through the publication gate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import ibis.expr.types as ir
import pandas as pd
import plotly.graph_objects as go

from commissioning.benchmarking.adjusted import (
    DEFAULT_ADJUSTMENT,
    DEFAULT_OVERDISPERSION,
    Adjustment,
    OverdispersionRule,
)
from commissioning.benchmarking.compare import (
    PeerComparison,
    cost_per_event,
    opportunity,
    peer_comparison,
    practice_variation,
)
from commissioning.benchmarking.peers import (
    FEATURE_LABELS,
    FEATURES,
    place_profiles,
    similar_places,
)
from commissioning.data.queries import home_place as find_home_place
from commissioning.indicators.england import default_national_values
from commissioning.indicators.library import Indicator, Library, default_library
from commissioning.indicators.stats import FunnelPlot
from commissioning.reports.england import ENGLAND_DISCLOSURE, home_spine_section, place_comparison
from commissioning.reports.formatting import names_in
from commissioning.reports.html import FigureBlock, Section, TableBlock, publish_page
from commissioning.reports.indicators_report import (
    INDICATOR_DISCLOSURE,
    fmt,
    published,
    value_with_interval,
    with_counts_apart,
)
from commissioning.reports.publish import Disclosure, Outputs, as_outputs

_RATIOS = ["expected", "ratio", "ratio_lower", "ratio_upper"]
_FUNNEL_LIMITS = ("funnel_lower_95", "funnel_upper_95", "funnel_lower_99_8", "funnel_upper_99_8")
COMPARISON_DISCLOSURE = Disclosure(
    counts=INDICATOR_DISCLOSURE.counts,
    derived=[*INDICATOR_DISCLOSURE.derived, *_RATIOS, "rank"],
    hidden_flag="suppressed",
    safe={
        c: "a funnel limit: a function of the expected count, the target and the spread "
        "between all places only"
        for c in _FUNNEL_LIMITS
    },
)
PRACTICE_DISCLOSURE = Disclosure(
    counts=INDICATOR_DISCLOSURE.counts,
    derived=[
        *INDICATOR_DISCLOSURE.derived,
        *_RATIOS,
        "ratio_lower_99_8",
        "ratio_upper_99_8",
        "funnel_z_score",
    ],
    hidden_flag="suppressed",
    labels=["judgement", "label", "adjustment"],
    safe={
        c: "a funnel limit: a function of the expected count, the target and the spread "
        "between all practices only"
        for c in _FUNNEL_LIMITS
    },
)
PRACTICE_COLUMNS = (
    "indicator_id",
    "practice_code",
    "practice_name",
    "numerator",
    "denominator",
    "value",
    "lower",
    "upper",
    "lower_99_8",
    "upper_99_8",
    "unit",
    "suppressed",
    "expected",
    "ratio",
    "ratio_lower",
    "ratio_upper",
    "ratio_lower_99_8",
    "ratio_upper_99_8",
    "funnel_z_score",
    "funnel_lower_95",
    "funnel_upper_95",
    "funnel_lower_99_8",
    "funnel_upper_99_8",
    "classification",
    "judgement",
    "label",
    "adjustment",
)
#: Row style and point colour of each judgement: red worse, green better (by the
#: indicator's polarity); purple higher or lower where neither direction is better
#: (the NHS colours Fingertips and Making Data Count use for the same readings).
JUDGEMENT_FLAG = {"worse": "miss", "better": "hit", "higher": "neutral", "lower": "neutral"}
JUDGEMENT_COLOUR = {
    "worse": "#d5281b",
    "better": "#007f3b",
    "higher": "#330072",
    "lower": "#330072",
    "similar": "#768692",
    "missing": "#768692",
}
JUDGEMENT_TEXT = {
    "worse": "worse",
    "better": "better",
    "higher": "no better direction",
    "lower": "no better direction",
}
ADJUSTMENT_TEXT = {
    "age_sex_deprivation": "age band, sex and deprivation decile (IMD) of their small area",
    "age_sex_deprivation_quintile": "age band, sex and deprivation quintile (IMD) of their "
    "small area",
    "age_sex": "age band and sex",
    "none": "registered population (crude rates)",
}
PEERS_DISCLOSURE = Disclosure(
    counts=["person_years"],
    derived=[
        "share_0_15",
        "share_65_plus",
        "share_85_plus",
        "mean_imd_decile",
        "share_most_deprived",
    ],
    labels=["is_home", "rank"],
    safe={
        "rurality_score": "the place's rurality class as a number",
        "distance": "a distance between places' profiles of thousands of people",
    },
)
OPPORTUNITY_WHY = (
    "a place-level figure: the home place's indicator against the mean of visible peers "
    "(suppressed peers are left out)"
)

Tables = Mapping[str, ir.Table]

BENCHMARK_INDICATORS = (
    "emergency_admissions",
    "ae_attendances",
    "gp_appointments",
    "outpatient_first",
    "elective_admissions",
    "acsc_chronic_admissions",
    "readmission_30_days",
)
PRACTICE_INDICATORS = ("outpatient_first", "emergency_admissions")
HOME_COLOUR, PEER_COLOUR = "#005eb8", "#768692"


def funnel_figure(
    fp: FunnelPlot,
    labels: Sequence[str],
    home: str,
    title: str,
    x_title: str,
    y_title: str,
    hidden: Sequence[bool],
    multiplier: float = 1.0,
    colours: Sequence[str] | None = None,
) -> go.Figure:
    """Points with their 95% and 99.8% limits, sorted by denominator; suppressed hidden.

    Points are coloured by ``colours`` (one per point) when given, else the home place in
    blue and the others in grey."""
    pts = fp.points.assign(label=list(labels), hidden=list(hidden))
    if colours is not None:
        pts = pts.assign(colour=list(colours))
    else:
        pts = pts.assign(colour=[HOME_COLOUR if lab == home else PEER_COLOUR for lab in labels])
    order = pts.sort_values("denominator")
    fig = go.Figure()
    for col, name, dash in (
        ("upper_99_8", "99.8% limits", "dash"),
        ("lower_99_8", None, "dash"),
        ("upper_95", "95% limits", "dot"),
        ("lower_95", None, "dot"),
    ):
        fig.add_trace(
            go.Scatter(
                x=order["denominator"],
                y=order[col],
                mode="lines",
                name=name or col,
                showlegend=name is not None,
                line={"color": "#425563", "dash": dash, "width": 1},
            )
        )
    fig.add_hline(y=float(fp.target * multiplier), line={"color": "#231f20", "width": 1})
    shown = pts[~pts["hidden"]]
    fig.add_trace(
        go.Scatter(
            x=shown["denominator"],
            y=shown["value"],
            mode="markers+text",
            text=shown["label"],
            textposition="top center",
            name="Units",
            marker={"color": list(shown["colour"]), "size": 10},
        )
    )
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, height=420)
    return fig


def ranked_figure(table: pd.DataFrame, label: str, title: str, unit: str) -> go.Figure:
    """Horizontal bars in rank order with 95% intervals; the home place highlighted."""
    t = table[~table["suppressed"].astype(bool)].sort_values("value")
    colours = [HOME_COLOUR if h else PEER_COLOUR for h in t["is_home"]]
    fig = go.Figure(
        go.Bar(
            x=t["value"],
            y=t[label],
            orientation="h",
            marker={"color": colours},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": t["upper"] - t["value"],
                "arrayminus": t["value"] - t["lower"],
            },
        )
    )
    fig.update_layout(title=title, xaxis_title=unit, height=80 + 32 * len(t), showlegend=False)
    return fig


def _comparison_section(pc: PeerComparison, opp: pd.DataFrame, names: Mapping[str, str]) -> Section:
    ind = pc.indicator
    t = pc.table.assign(place=[names.get(str(c), str(c)) for c in pc.table["place_code"]])
    figures = [
        FigureBlock(
            ranked_figure(t, "place", f"{ind.title}: home place and peers", ind.unit),
            note=f"Bars are values ({ind.unit}) with 95% confidence intervals; the home place "
            "is in blue. Overlapping intervals mean the difference may be chance.",
        )
    ]
    if pc.funnel is not None:
        ratio = "expected" in t.columns
        home_row = t[t["is_home"]].iloc[0]
        home_reading = ""
        if str(home_row["judgement"]) not in ("suppressed", "n/a", "missing"):
            verdict = str(home_row["judgement"])
            home_reading = f" {names.get(pc.home_place, pc.home_place)} is {home_row['label']}" + (
                f" ({JUDGEMENT_TEXT[verdict]})." if verdict in JUDGEMENT_TEXT else "."
            )
        adjusted = ADJUSTMENT_TEXT.get(str(t["adjustment"].iloc[0]), "") if ratio else ""
        figures.append(
            FigureBlock(
                funnel_figure(
                    pc.funnel,
                    list(t["place"]),
                    names.get(pc.home_place, pc.home_place),
                    f"{ind.title}: funnel plot",
                    "Expected events" if ratio else "Denominator",
                    "Observed / expected" if ratio else ind.unit,
                    list(t["suppressed"].astype(bool)),
                    pc.funnel_multiplier,
                    colours=[JUDGEMENT_COLOUR.get(str(j), PEER_COLOUR) for j in t["judgement"]],
                ),
                note="Each point is a place"
                + (
                    f", its events against those expected for its population by {adjusted}"
                    if ratio
                    else ""
                )
                + ". Points outside the dotted (95%) or dashed (99.8%) limits differ by more "
                "than chance would explain"
                + (
                    "; limits are widened for over-dispersion (the places vary more than "
                    "chance alone allows)."
                    if pc.funnel.overdispersion_adjusted
                    else "."
                )
                + " Outside the 99.8% limits, red is worse and green better by the "
                "indicator's direction; purple is higher or lower where neither is better."
                + home_reading,
            )
        )
    rows = []
    for _, r in opp.iterrows():
        rows.append(
            [
                r["benchmark"],
                fmt(r["benchmark_value"], ind.unit),
                fmt(r["home_value"], ind.unit),
                fmt(r["opportunity_events"]),
                fmt(r["opportunity_gbp"], "£"),
                ", ".join(names.get(c.strip(), c.strip()) for c in str(r["peers_used"]).split(",")),
            ]
        )
    tables = [
        TableBlock(
            f"{ind.title}: opportunity",
            [
                "Benchmark",
                f"Benchmark ({ind.unit})",
                f"Home ({ind.unit})",
                "Events a year",
                "£ a year",
                "Peers used",
            ],
            rows,
            note="Events (and pounds at the home place's cost per event) if the home place "
            "matched the benchmark, per year. The best five are partly there by chance: "
            "read with the over-dispersed funnel. Negative: the home place already does better.",
        )
    ]
    return Section(title=ind.title, intro=ind.description, tables=tables, figures=figures)


def _england_section(
    tables: Tables, outputs: Outputs, years: Sequence[int], home: str, lib: Library
) -> Section:
    """The home place's spine chart against the published England values, from the
    indicators with one (``benchmark_england.csv``)."""
    ids = [i for i in default_national_values().ids if i in lib.ids]
    comparison = place_comparison(tables, years, ids, lib, outputs.threshold)
    outputs.table("benchmark_england.csv", comparison, ENGLAND_DISCLOSURE)
    return home_spine_section(comparison, lib, home, names_in(tables), years)


def _hide_judgements(table: pd.DataFrame) -> pd.DataFrame:
    """Where a suppressed practice falls is a hint of its value: hide it in words too."""
    hidden = table["suppressed"].astype(bool)
    out = table.copy()
    for col in ("judgement", "label"):
        if col in out.columns:
            out[col] = out[col].where(~hidden, "suppressed")
    return out


def practice_flag(judgement: str) -> str:
    """The row style of a practice's judgement: 'miss' (red) worse, 'hit' (green) better,
    'neutral' (purple) higher or lower with no better direction, '' similar."""
    return JUDGEMENT_FLAG.get(judgement, "")


def _practice_section(
    ind: Indicator,
    table: pd.DataFrame,
    fp: FunnelPlot,
    home_name: str,
    adjustment: Adjustment,
) -> Section:
    rows, flags, colours = [], [], []
    for _, r in table.iterrows():
        value, interval = value_with_interval(r, ind.unit)
        hidden = bool(r["suppressed"])
        ratio = (
            "-"
            if hidden or "ratio" not in r
            else f"{r['ratio']:.2f} ({r['ratio_lower']:.2f} to {r['ratio_upper']:.2f})"
        )
        verdict = str(r.get("judgement", "similar"))
        reading = "-" if hidden else str(r["label"])
        if not hidden and verdict in JUDGEMENT_TEXT:
            reading = f"{reading} ({JUDGEMENT_TEXT[verdict]})"
        rows.append([r["practice_name"], value, interval, ratio, reading])
        flags.append("" if hidden else practice_flag(verdict))
        colours.append(JUDGEMENT_COLOUR.get(verdict, PEER_COLOUR))
    widened = fp.overdispersion_adjusted
    spread = (
        f"The practices vary more than chance alone allows (over-dispersion factor "
        f"{fp.phi:.1f}), so the limits are widened by the spread between practices "
        f"(standard deviation {fp.tau2**0.5:.3f} on the log scale): only a practice "
        "beyond that ordinary spread is flagged."
        if widened
        else "The practices vary no more than chance allows, so the limits are those of "
        "chance alone."
    )
    if ind.measure == "rate" and adjustment == "none":
        intro = (
            "Each practice's events against those expected at the crude rate of all "
            "practices, not adjusted for age, sex or deprivation. " + spread
        )
        x_title, y_title = "Expected events", "Observed / expected"
    elif ind.measure == "rate":
        intro = (
            "Each practice against what its own population would lead one to expect: the "
            "events expected if its patients had the rates of all practices' patients of "
            f"the same {ADJUSTMENT_TEXT[adjustment]}. A ratio of 1 is as expected. " + spread
        )
        x_title, y_title = "Expected events", "Observed / expected"
    else:
        intro = "Each practice against the pooled proportion of the place's practices."
        x_title, y_title = "Denominator", ind.unit
    polarity = {
        "lower_is_better": "Lower is better: red rows are higher than expected (worse), "
        "green rows lower (better).",
        "higher_is_better": "Higher is better: green rows are higher than expected "
        "(better), red rows lower (worse).",
        "neither": "Neither direction is better: purple rows are higher or lower than "
        "expected, neither good nor bad in itself.",
    }[ind.polarity]
    return Section(
        title=f"Practices in {home_name}: {ind.title.lower()}",
        intro=intro,
        tables=[
            TableBlock(
                f"{ind.title} by practice",
                [
                    "Practice",
                    f"Value ({ind.unit})",
                    "95% interval",
                    "Observed / expected (95% interval)",
                    "Compared with its population",
                ],
                rows,
                flags=flags,
                note="Coloured rows are outside the 99.8% limits. " + polarity,
            )
        ],
        figures=[
            FigureBlock(
                funnel_figure(
                    fp,
                    list(table["practice_code"]),
                    "",
                    f"{ind.title}: practices",
                    x_title,
                    y_title,
                    list(table["suppressed"].astype(bool)),
                    colours=colours,
                ),
                note="Each point is a practice; outside the dashed lines (99.8%) is very "
                "unlikely to be chance or the ordinary spread between practices. "
                + polarity.replace("rows", "points"),
            )
        ],
    )


def write_benchmark_report(
    tables: Tables,
    out: Outputs | Path,
    years: Sequence[int],
    home_place: str | None = None,
    *,
    indicators: Sequence[str] = BENCHMARK_INDICATORS,
    practice_indicators: Sequence[str] = PRACTICE_INDICATORS,
    peers: int = 10,
    overdispersion: bool = True,
    practice_adjustment: Adjustment = DEFAULT_ADJUSTMENT,
    practice_overdispersion: OverdispersionRule = DEFAULT_OVERDISPERSION,
    library: Library | None = None,
) -> Path:
    """Write ``benchmark.html`` and the analysts' CSVs through the publication gate;
    return the page.

    Practices are compared with what their own populations would lead one to expect
    (``practice_adjustment``, by default age, sex and deprivation), with limits widened
    for over-dispersion when the winsorised test finds it (``practice_overdispersion``);
    flags and colours follow each indicator's polarity."""
    lib = library or default_library()
    years = list(years)
    home = home_place or find_home_place(tables)
    outputs = as_outputs(out)
    n_years = len(years)
    names = names_in(tables)
    home_name = names.get(home, home)

    profiles = place_profiles(tables, years)
    similar = similar_places(profiles, home, n=peers)
    outputs.table("peers.csv", similar, PEERS_DISCLOSURE)
    home_row = profiles[profiles["place_code"] == home]
    peer_rows = [
        [r["place_name"], str(r["rank"]), f"{r['distance']:.2f}", *[fmt(r[f]) for f in FEATURES]]
        for _, r in similar.iterrows()
    ]
    peer_rows.insert(
        0,
        [
            f"{home_row['place_name'].iloc[0]} (home)",
            "-",
            "-",
            *[fmt(home_row[f].iloc[0]) for f in FEATURES],
        ],
    )
    sections = [
        Section(
            title="Similar places",
            intro="Peers are the places nearest to the home place on age structure, deprivation "
            "and rurality: each measure is scaled to a z-score across places, and the distance "
            "is the Euclidean distance between z-scores (as in the NHS RightCare and CIPFA "
            "nearest-neighbour groups).",
            tables=[
                TableBlock(
                    "Peers, nearest first",
                    ["Place", "Rank", "Distance", *[FEATURE_LABELS[f] for f in FEATURES]],
                    peer_rows,
                )
            ],
        )
    ]
    comparisons, opps = [], []
    peer_codes = list(similar["place_code"])
    for ind_id in indicators:
        pc = peer_comparison(
            tables, ind_id, years, home, peer_codes, overdispersion=overdispersion, library=lib
        )
        # what is shown and what the opportunity uses: small counts and few people hidden
        pc = dataclasses.replace(pc, table=_hide_judgements(published(pc.table, outputs.threshold)))
        cost = cost_per_event(tables, pc.indicator, years, home, library=lib)
        opp = opportunity(pc, cost)
        # opportunity per year: the numerator pools the years
        opp["opportunity_events"] = opp["opportunity_events"] / n_years
        opp["opportunity_gbp"] = opp["opportunity_gbp"] / n_years
        comparisons.append(pc.table.assign(home_place=home))
        opps.append(opp)
        sections.append(_comparison_section(pc, opp, names))
    comparison = with_counts_apart(
        pd.concat([published(c, outputs.threshold) for c in comparisons], ignore_index=True),
        lib,
    )
    outputs.table("comparison.csv", comparison, COMPARISON_DISCLOSURE)
    opportunities = pd.concat(opps, ignore_index=True)
    outputs.table(
        "opportunity.csv",
        opportunities,
        Disclosure(
            safe={
                c: OPPORTUNITY_WHY
                for c in opportunities.columns
                if pd.api.types.is_numeric_dtype(opportunities[c])
            }
        ),
    )

    variation = []
    for ind_id in practice_indicators:
        table, fp = practice_variation(
            tables,
            ind_id,
            home,
            years,
            adjustment=practice_adjustment,
            overdispersion=practice_overdispersion,
            library=lib,
        )
        table = _hide_judgements(published(table, outputs.threshold))
        table["adjustment"] = practice_adjustment
        variation.append(table[[c for c in PRACTICE_COLUMNS if c in table.columns]])
        sections.append(
            _practice_section(lib.get(ind_id), table, fp, home_name, practice_adjustment)
        )
    if variation:
        outputs.table(
            "practice_variation.csv",
            with_counts_apart(
                pd.concat([published(v, outputs.threshold) for v in variation], ignore_index=True),
                lib,
            ),
            PRACTICE_DISCLOSURE,
        )
    sections.append(_england_section(tables, outputs, years, home, lib))
    first, last = min(years), max(years)
    return publish_page(
        outputs,
        "benchmark.html",
        "Benchmarking and unwarranted variation",
        f"{home_name} and its most similar places, financial years {first} to {last}",
        sections,
    )
