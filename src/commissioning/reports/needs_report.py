"""The population needs report: one self-contained HTML page and its tables.

:func:`needs_analysis` computes everything (no files); :func:`write_needs_report` writes
``needs.html``, a CSV per table and ``person_year.parquet`` (too big for CSV at scale).
Published counts below the suppression threshold are hidden, and so is every figure
derived from them (:func:`commissioning.core.suppression.suppress_small_counts`).
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from commissioning.core.suppression import suppress_small_counts
from commissioning.data.queries import home_place
from commissioning.indicators.library import default_library
from commissioning.population import needs as N
from commissioning.population import programme_budget as PB
from commissioning.population.person_year import person_year_table
from commissioning.population.segments import assign_segments, segment_order, segment_profile
from commissioning.reports.england import ENGLAND_DISCLOSURE, england_sections, place_comparison
from commissioning.reports.formatting import cell, name_of, names_in
from commissioning.reports.html import FigureBlock, Section, TableBlock, publish_page
from commissioning.reports.publish import Disclosure, Outputs, as_outputs
from commissioning.risk.stratify import RiskEvaluation, evaluate_risk

#: Indicators of the population's health shown against England on the needs page.
NEEDS_ENGLAND_INDICATORS = (
    "life_expectancy_at_birth",
    "mortality_under_75",
    "deaths_usual_residence",
    "falls_admissions_65_plus",
    "emergency_admissions_85_plus",
    "acsc_chronic_admissions",
    "emergency_admissions",
)


@dataclass
class NeedsAnalysis:
    """All the tables behind the needs report (unsuppressed; suppress to publish)."""

    years: list[int]
    person_year: pd.DataFrame | None  # None when the table stayed in the engine
    person_year_table: ir.Table
    person_years: int
    risk_sample: NeedsSample | None  # the risk model's people, when a sample
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
    #: The temporary folder of the person-year table when it stayed in the engine
    #: (removed with the analysis, or when the program ends).
    workspace: tempfile.TemporaryDirectory[str] | None = field(
        default=None, repr=False, compare=False
    )


#: Above this many person-years (people in the store times years) the person-year table
#: stays in the engine: only counts come back, and the risk model is trained and tested
#: on a sample of :data:`RISK_SAMPLE_PEOPLE` people.
IN_MEMORY_PERSON_YEARS = 2_000_000
#: People in the risk model's sample when the person-year table stays in the engine.
RISK_SAMPLE_PEOPLE = 300_000


def needs_analysis(
    tables: Mapping[str, ir.Table],
    years: Sequence[int],
    in_memory_person_years: int | None = None,
) -> NeedsAnalysis:
    """Compute the needs assessment, segments, risk model and programme budget.

    Up to ``in_memory_person_years`` (:data:`IN_MEMORY_PERSON_YEARS` if not given) the
    person-year table is brought into memory once
    and every table is computed from it. Beyond that the engine writes it to a Parquet
    file in a temporary folder (the system's, removed with the analysis) and computes the
    same figures from that file, spilling to disk as it needs (a temporary table would be
    held in memory); the risk model, which needs rows in memory, is trained and tested on
    a random sample of people."""
    years = sorted(years)
    latest = years[-1]
    limit = IN_MEMORY_PERSON_YEARS if in_memory_person_years is None else in_memory_person_years
    large = int(tables["people"].count().execute()) * len(years) > limit
    truth_table = tables.get("synthetic_person_year")
    sample: NeedsSample | None = None
    workspace = None
    if not large:
        arrow = assign_segments(person_year_table(tables, years)).to_pyarrow()
        frame = arrow.to_pandas()
        py = ibis.memtable(arrow)
        person_years = len(frame)
        truth = truth_table.to_pandas() if truth_table is not None else None
        risk_frame, concentration_frame = frame, frame
    else:
        workspace = tempfile.TemporaryDirectory(prefix="commissioning-needs-")
        py = _in_engine(tables, years, Path(workspace.name))
        person_years = int(py.count().execute())
        people = int(py.person_id.nunique().execute())
        sampled = _sample_people(py, RISK_SAMPLE_PEOPLE, people)
        risk_frame = py.semi_join(sampled, "person_id").to_pandas()
        sample = NeedsSample(people=int(risk_frame.person_id.nunique()), of=people)
        truth = (
            truth_table.semi_join(sampled, "person_id").to_pandas()
            if truth_table is not None
            else None
        )
        concentration_frame = py.select("year", "total_cost_gbp").to_pandas()
        frame = None
    truth = truth if truth is not None and len(truth) else None
    risk = evaluate_risk(risk_frame, years, truth) if len(years) >= 3 else None
    segs = py.select("person_id", "year", "segment")
    return NeedsAnalysis(
        years=list(years),
        person_year=frame,
        person_year_table=py,
        person_years=person_years,
        risk_sample=sample,
        pyramid=N.population_pyramid(py, tables["places"], latest),
        prevalence=pd.concat(
            [N.prevalence(py, [latest]), N.prevalence(py, [latest], by="place_code")],
            ignore_index=True,
        ),
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
            PB.need_cells(py.filter(py.year == latest), "place_code").to_pandas()
        ),
        concentration=PB.cost_concentration(concentration_frame),
        workspace=workspace,
    )


@dataclass(frozen=True)
class NeedsSample:
    """The people the risk model was trained and tested on, when it was a sample."""

    people: int
    of: int


def _in_engine(tables: Mapping[str, ir.Table], years: Sequence[int], folder: Path) -> ir.Table:
    """The segmented person-year table, written by the engine to Parquet files in
    ``folder`` and read from there: first the person-year table, then, from that file,
    its segments (a join of each year to the year before). One query for both held the
    person-year aggregates and the join's table in memory at once, and at ten million
    people did not fit in 8 GiB. Rows need not keep an order while they are written."""
    expr = person_year_table(tables, years)
    backend = expr._find_backend()
    con = getattr(backend, "con", None)
    ordered = None
    if isinstance(con, duckdb.DuckDBPyConnection):
        (ordered,) = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0]
        con.execute("SET preserve_insertion_order = false")
    try:
        plain = folder / "person_year.parquet"
        backend.to_parquet(expr, plain)
        read = backend.read_parquet(plain, table_name=f"_needs_py_{uuid.uuid4().hex[:12]}")
        segmented = folder / "person_year_segments.parquet"
        backend.to_parquet(assign_segments(read), segmented)
    finally:
        if isinstance(con, duckdb.DuckDBPyConnection) and ordered is not None:
            con.execute(f"SET preserve_insertion_order = {'true' if ordered else 'false'}")
    return backend.read_parquet(segmented, table_name=f"_needs_person_year_{uuid.uuid4().hex[:12]}")


def _sample_people(py: ir.Table, wanted: int, people: int) -> ir.Table:
    """About ``wanted`` of the ``people`` people of the person-year table, chosen by a hash
    of their pseudonym: as good as random, and the same people in every run on the same
    engine."""
    ids = py.select("person_id").distinct()
    share = min(1.0, wanted / max(people, 1))
    bucket = (ids.person_id.hash() % 1_000_000).abs()
    return ids.filter(bucket < round(share * 1_000_000))


def _write_person_year(a: NeedsAnalysis, path: Path) -> None:
    """The person-year table as Parquet: from memory, or written by the engine."""
    if a.person_year is not None:
        a.person_year.to_parquet(path, index=False)
    else:
        a.person_year_table.to_parquet(path)


# --- Suppression and formatting --------------------------------------------------------------


def suppress(
    frame: pd.DataFrame,
    counts: Sequence[str],
    derived: Sequence[str] = (),
    threshold: int = 8,
    *,
    parts: str | None = None,
    within: Sequence[str] = (),
    total: str | None = None,
) -> pd.DataFrame:
    """Hide counts from 1 to threshold-1, and blank the ``derived`` figures of any row with
    a hidden count.

    With ``parts``, the rows of each group (the same values of ``within``) divide a total:
    the row whose ``parts`` value is ``total`` if the table has one, otherwise a total
    published in another table (the "All" row of a related table). Each count column is
    then protected against that sum by secondary suppression
    (:func:`commissioning.core.suppression.suppress_small_counts` with the total as a
    margin), so no hidden count is the total less the visible parts."""
    if frame.empty:
        return frame.copy()
    counts = list(counts)
    values = frame[counts].fillna(0).astype(float).reset_index(drop=True)
    if parts is None:
        _, mask = suppress_small_counts(values, threshold=threshold)
        hidden = mask.to_numpy()
    else:
        hidden = np.zeros(values.shape, dtype=bool)
        labels = frame[list(within)].astype(str).agg("|".join, axis=1) if within else None
        keys = labels.to_numpy() if labels is not None else np.zeros(len(frame), dtype=object)
        is_total = (
            (frame[parts].astype(str) == str(total)).to_numpy()
            if total is not None
            else np.zeros(len(frame), dtype=bool)
        )
        for key in pd.unique(keys):
            idx = np.flatnonzero(keys == key)
            part_idx = idx[~is_total[idx]]
            total_idx = idx[is_total[idx]]
            for j, c in enumerate(counts):
                col = values[c].to_numpy()[part_idx]
                vec = pd.DataFrame({"v": [*col, col.sum()]})
                _, m = suppress_small_counts(vec, threshold=threshold, total_row=len(col))
                flags = m["v"].to_numpy()
                hidden[part_idx, j] = flags[:-1]
                hidden[total_idx, j] = flags[-1]
    out = frame.copy()
    for j, c in enumerate(counts):
        out[c] = np.where(hidden[:, j], np.nan, values[c].to_numpy())
    hidden_row = hidden.any(axis=1)
    for c in derived:
        out[c] = out[c].astype(float)
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
    people is hidden whole. The groups of a year divide its population and its events, so
    both are protected by secondary suppression across the groups (another group's rate
    is hidden too, so the year's total less the visible groups gives nothing back)."""
    out = frame.copy()
    if out.empty:
        return out
    population = out["population"].astype(float)
    numeric = _numeric_except(out, ["year", "group"])
    heads = [c for c in ("population", "registered") if c in out.columns]
    people = suppress(out, heads, threshold=threshold, **_BY_GROUP)
    small_group = ((population > 0) & (population < threshold)).to_numpy()
    # a population hidden only to protect another group's: hide it, and the spend figures
    # that would give it back (total ÷ per head), but not the group's rates
    head_hidden = people[heads].isna().any(axis=1).to_numpy() & ~small_group
    for c in [*heads, *(c for c in out.columns if c.endswith("_gbp"))]:
        if c in out.columns:
            out[c] = out[c].astype(float)
            out.loc[head_hidden, c] = np.nan
    rates = [c for c in out.columns if c.endswith("_per_1000")]
    events = pd.DataFrame(
        {r: (out[r].astype(float) * population / 1000).round().fillna(0) for r in rates}
    )
    events[["group", "year"]] = out[["group", "year"]].to_numpy()
    shown = suppress(events, rates, threshold=threshold, **_BY_GROUP)
    row_hidden = small_group.copy()
    for rate in rates:
        hide = shown[rate].isna().to_numpy()
        out[rate] = out[rate].astype(float)
        out.loc[hide, rate] = np.nan
        head = rate.removesuffix("_per_1000") + "_per_head_gbp"
        if head in out.columns:
            out[head] = out[head].astype(float)
            out.loc[hide, head] = np.nan
        row_hidden |= hide
    for total in ("spend_gbp", "spend_per_head_gbp"):
        if total in out.columns:
            out.loc[row_hidden, total] = np.nan
    for c in numeric:
        out[c] = out[c].astype(float)
        out.loc[small_group, c] = np.nan
    return out


_BY_GROUP: dict[str, Any] = {"parts": "group", "within": ["year"]}


def suppress_spend(
    frame: pd.DataFrame, threshold: int = 8, parts: str | None = None, within: Sequence[str] = ()
) -> pd.DataFrame:
    """Spend by a grouping with its count of events: a small count is hidden with the spend
    and share it gives. With ``parts`` (the grouping column), the groups of each ``within``
    divide the same events, so a hidden count is protected against their sum."""
    keep = ["events", "year", *([parts] if parts else []), *within]
    return suppress(
        frame,
        ["events"],
        _numeric_except(frame, keep),
        threshold,
        parts=parts,
        within=list(within),
    )


def _table(
    title: str,
    frame: pd.DataFrame,
    columns: dict[str, str],
    note: str = "",
    names: Mapping[str, str] | None = None,
) -> TableBlock:
    """A table of ``columns`` (name: heading), each figure written by the pack's one
    formatter and each code in the first column by its name."""
    first = next(iter(columns))
    rows = [
        [
            name_of(r[c], names) if c == first and isinstance(r[c], str) else cell(c, r[c])
            for c in columns
        ]
        for _, r in frame.iterrows()
    ]
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
        title="Population by age band and sex",
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
            x=[name_of(c) for c in p.condition],
            y=p[f"{prefix}_pct"],
            name=name,
            error_y={
                "type": "data",
                "symmetric": False,
                "array": p[f"{prefix}_upper_pct"] - p[f"{prefix}_pct"],
                "arrayminus": p[f"{prefix}_pct"] - p[f"{prefix}_lower_pct"],
            },
        )
    fig.update_layout(
        title="Prevalence of each condition, all places",
        barmode="group",
        yaxis_title="Prevalence (%)",
        height=420,
    )
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
        title="Share of people against share of spend, by segment",
        xaxis_title="% of people",
        yaxis_title="% of spend",
        showlegend=False,
        height=480,
    )
    return fig


def _tiers_figure(tiers: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=tiers.tier, y=100 * tiers.people / tiers.people.sum(), name="% of people")
    fig.add_bar(x=tiers.tier, y=100 * tiers.share_of_spend, name="% of this year's spend")
    fig.update_layout(
        title="Risk tiers: share of people and of spend",
        barmode="group",
        yaxis_title="%",
        height=380,
    )
    return fig


def _safe_deciles(deciles: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Tenths of the risk list whose observed rate gives back no small count."""
    people = deciles.people.astype(float)
    admitted = (deciles.observed * people).round()
    ok = (people >= threshold) & ((admitted == 0) | (admitted >= threshold))
    return deciles[ok.to_numpy()]


def _calibration_figure(risk: RiskEvaluation, threshold: int) -> go.Figure:
    fig = go.Figure()
    top = 0.0
    for e in (risk.model, risk.baseline):
        d = _safe_deciles(e.deciles, threshold)
        fig.add_scatter(
            x=100 * d.predicted,
            y=100 * d.observed,
            mode="lines+markers",
            name=e.name,
        )
        if len(d):
            top = max(top, float(100 * d[["predicted", "observed"]].to_numpy().max()))
    fig.add_scatter(x=[0, top], y=[0, top], mode="lines", name="perfect calibration")
    fig.update_layout(
        title="Predicted against observed risk, by tenth of the list",
        xaxis_title="Predicted risk, mean of tenth (%)",
        yaxis_title="Observed admissions (%)",
        height=420,
    )
    return fig


def _bar(frame: pd.DataFrame, x: str, title: str) -> go.Figure:
    fig = go.Figure(go.Bar(x=[name_of(v) for v in frame[x]], y=frame.spend_gbp / 1e6))
    fig.update_layout(yaxis_title="Spend (£ million)", title=f"Spend {title.lower()}", height=420)
    return fig


# --- The page --------------------------------------------------------------------------------


def _sections(
    a: NeedsAnalysis,
    threshold: int,
    pub: Mapping[str, pd.DataFrame],
    names: Mapping[str, str] | None = None,
) -> list[Section]:
    """The page, drawn only from the tables that passed the publication gate (``pub``)."""
    latest = a.years[-1]
    pyr = pub["population_by_age"]
    prev = pub["prevalence"]
    seg = pub["segments"]
    seg = seg[seg.year == latest].copy()
    seg["order"] = seg.segment.map({s: i for i, s in enumerate(segment_order())})
    seg = seg.sort_values("order")
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
        sections += _risk_sections(a.risk, threshold, pub, a.risk_sample)
    prog = pub["spend_by_programme"]
    prog = prog[(prog.year == latest) & prog.spend_gbp.notna()]
    sett = pub["spend_by_setting"]
    sett = sett[(sett.year == latest) & sett.spend_gbp.notna()]
    conc = pub["cost_concentration"]
    conc = conc[conc.year == latest]
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
                    pub["spend_per_weighted_head"],
                    {
                        "group": "Place",
                        "spend_per_head_gbp": "£ per head",
                        "spend_per_weighted_head_gbp": "£ per weighted head",
                        "index": "Index (1 = average)",
                    },
                    "Weights from a Tweedie model of cost on age, sex and condition count.",
                    names,
                ),
            ],
        )
    )
    return sections


def _risk_sections(
    risk: RiskEvaluation,
    threshold: int,
    pub: Mapping[str, pd.DataFrame],
    sample: NeedsSample | None = None,
) -> list[Section]:
    summary = pub["risk_evaluation"]
    tiers = pub["risk_tiers"]
    ppv = pub["risk_top_of_list"]
    return [
        Section(
            "Risk of an emergency admission next year",
            f"Trained on {', '.join(map(str, risk.train_years))} (features) with the next "
            f"year's outcome; tested on {risk.test_year} for different people "
            f"({risk.test_rows:,} people). The oracle is the true probability, known only "
            "in synthetic data: the best any model could do."
            + (
                f" The model was trained and tested on a random sample of {sample.people:,} "
                f"of the {sample.of:,} people, and the tiers' spend is that of the sample."
                if sample is not None
                else ""
            ),
            figures=[
                FigureBlock(
                    _tiers_figure(tiers.fillna(0)),
                    "The top tiers are few people but a large share of spend.",
                ),
                FigureBlock(
                    _calibration_figure(risk, threshold),
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
                    ppv,
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


def _costliest(frame: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Cost concentration: the share of spend of the costliest 1%, 5% and 20% is shown
    only where that many people are at least ``threshold`` (else it is few people's
    spend)."""
    out = suppress(frame, ["person_years"], ["spend_gbp"], threshold)
    for column, share in (
        ("top_1pct_share", 0.01),
        ("top_5pct_share", 0.05),
        ("top_20pct_share", 0.2),
    ):
        if column in out.columns:
            out[column] = out[column].astype(float)
            few = ~(out["person_years"].astype(float) * share >= threshold)
            out.loc[few.to_numpy(), column] = np.nan
    return out


def _spend_two_ways(frame: pd.DataFrame, rows: str, columns: str, threshold: int) -> pd.DataFrame:
    """Spend by two groupings (``rows`` × ``columns``) in each year: the events of each
    year's table are protected with both margins known (each row's and each column's total
    is published, or can be, elsewhere), and a hidden count takes its spend and share."""
    # every combination is a row (a zero is a row too), so a zero hidden to protect a
    # small count is hidden in the file, not merely absent from it
    grid = pd.MultiIndex.from_product(
        [
            sorted(frame["year"].unique()),
            sorted(frame[rows].unique()),
            sorted(frame[columns].unique()),
        ],
        names=["year", rows, columns],
    )
    out = frame.set_index(["year", rows, columns]).reindex(grid).reset_index()
    for c in _numeric_except(out, ["year"]):
        out[c] = out[c].astype(float).fillna(0.0)
    out["events"] = out["events"].astype(float)
    derived = _numeric_except(out, ["events", "year"])
    for c in derived:
        out[c] = out[c].astype(float)
    for _, part in out.groupby("year", sort=False):
        wide = part.pivot_table(
            index=rows, columns=columns, values="events", aggfunc="sum", fill_value=0.0
        )
        _, mask = suppress_small_counts(wide, threshold=threshold, totals_published_elsewhere=True)
        hidden = mask.stack()
        for i, r, c in zip(part.index, part[rows], part[columns], strict=True):
            if bool(hidden[(r, c)]):
                out.loc[i, ["events", *derived]] = np.nan
    return out


def _top_of_list(risk: RiskEvaluation, threshold: int) -> pd.DataFrame:
    top = risk.model.top.assign(share_pct=100 * risk.model.top.share)
    frame = top[["share_pct", "selected", "true_positives", "ppv", "sensitivity"]]
    return suppress(frame, ["selected", "true_positives"], ["ppv", "sensitivity"], threshold)


def _activity_disclosure(frame: pd.DataFrame) -> Disclosure:
    rates = [c for c in frame.columns if c.endswith("_per_1000")]
    return Disclosure(
        counts=["population", "registered"],
        implied={r: ("population", 1000.0) for r in rates},
        derived=[c for c in frame.columns if c.endswith("_gbp")],
        labels=[c for c in ("group", "year") if pd.api.types.is_numeric_dtype(frame[c])],
        parts="group",
        within=["year"],
    )


def _spend_disclosure(parts: str | None) -> Disclosure:
    return Disclosure(
        counts=["events"],
        derived=["spend_gbp", "share_of_spend"],
        labels=["year"],
        parts=parts,
        within=["year"] if parts else [],
    )


def write_needs_report(
    tables: Mapping[str, ir.Table],
    out: Outputs | Path,
    years: Sequence[int],
    suppression_threshold: int = 8,
) -> Path:
    """Write ``needs.html`` and its tables (suppressed) to the published folder of ``out``,
    and the person-level files (``person_year.parquet``, ``who_would_gain_most.csv``) to
    its restricted folder. ``tables`` are Ibis tables (files or the store); ``years``
    financial years. Returns the path of ``needs.html``."""
    outputs = as_outputs(out, threshold=suppression_threshold)
    a = needs_analysis(tables, years)
    t = outputs.threshold
    _write_person_year(a, outputs.restricted_path("person_year.parquet"))
    prevalence = Disclosure(
        counts=["cases", "population"],
        derived=PREVALENCE_DERIVED,
        parts="group",
        within=["condition"],
    )
    by_decile = Disclosure(
        counts=["cases", "population"],
        derived=PREVALENCE_DERIVED,
        labels=["group"],
        parts="group",
        within=["condition"],
    )
    prev_within: dict[str, Any] = {"parts": "group", "within": ["condition"]}
    published: dict[str, tuple[pd.DataFrame, Disclosure]] = {
        "population_by_age": (
            suppress(a.pyramid, ["people"], ["share"], t, parts="age_band", within=["area", "sex"]),
            Disclosure(
                counts=["people"], derived=["share"], parts="age_band", within=["area", "sex"]
            ),
        ),
        "prevalence": (
            suppress(
                a.prevalence,
                ["cases", "population"],
                PREVALENCE_DERIVED,
                t,
                total=N.ALL,
                **prev_within,
            ),
            prevalence,
        ),
        "prevalence_by_deprivation": (
            suppress(
                a.prevalence_by_deprivation,
                ["cases", "population"],
                PREVALENCE_DERIVED,
                t,
                **prev_within,
            ),
            by_decile,
        ),
    }
    for name in ("place", "practice", "deprivation", "segment"):
        frame = suppress_rates(getattr(a, f"activity_by_{name}"), t)
        published[f"activity_by_{name}"] = (frame, _activity_disclosure(frame))
    seg = suppress_segments(a.segments, t)
    published["segments"] = (
        seg,
        Disclosure(
            counts=[c for c in SEGMENT_COUNTS if c in seg.columns],
            derived=_numeric_except(seg, [*SEGMENT_COUNTS, "year"]),
            labels=["year"],
        ),
    )
    for name, column, within in (
        ("spend_by_programme", "programme", ["year"]),
        ("spend_by_setting", "setting", ["year"]),
        ("spend_by_provider", "provider_code", ["year"]),
    ):
        frame = suppress_spend(getattr(a, name), t, column, within)
        published[name] = (frame, _spend_disclosure(column))
    published["spend_by_segment"] = (
        _spend_two_ways(a.spend_by_segment, "segment", "programme", t),
        Disclosure(
            counts=["events"],
            derived=["spend_gbp", "share_of_spend"],
            labels=["year"],
            parts="programme",
            within=["year", "segment"],
            also=[("segment", ["year", "programme"])],
        ),
    )
    weighted = suppress(
        a.weighted_spend_by_place,
        ["registered"],
        [
            "spend_gbp",
            "spend_per_head_gbp",
            "spend_per_weighted_head_gbp",
            "index",
            "weighted_population",
        ],
        t,
    )
    published["spend_per_weighted_head"] = (
        weighted,
        Disclosure(
            counts=["registered"],
            derived=[
                "spend_gbp",
                "spend_per_head_gbp",
                "spend_per_weighted_head_gbp",
                "index",
                "weighted_population",
            ],
            labels=["year"],
        ),
    )
    published["cost_concentration"] = (
        _costliest(a.concentration, t),
        Disclosure(
            counts=["person_years"],
            derived=["spend_gbp"],
            labels=["year"],
            safe={
                c: f"the share of spend of a group of at least {t} people (hidden otherwise)"
                for c in ("top_1pct_share", "top_5pct_share", "top_20pct_share")
            },
        ),
    )
    if a.risk is not None:
        summary = a.risk.summary()[["score", "auc", "calibration_slope", "calibration_intercept"]]
        why = f"a summary of the model over the whole test year ({a.risk.test_rows:,} people)"
        published["risk_evaluation"] = (
            summary,
            Disclosure(safe={c: why for c in summary.columns if c != "score"}),
        )
        published["risk_top_of_list"] = (
            _top_of_list(a.risk, t),
            Disclosure(
                counts=["selected", "true_positives"],
                derived=["ppv", "sensitivity"],
                labels=["share_pct"],
            ),
        )
        tiers = suppress(
            a.risk.tiers,
            ["people", "next_emergency_admissions"],
            ["spend_gbp", "mean_risk", "share_of_spend"],
            t,
            parts="tier",
        )
        published["risk_tiers"] = (
            tiers,
            Disclosure(
                counts=["people", "next_emergency_admissions"],
                derived=["spend_gbp", "mean_risk", "share_of_spend"],
                parts="tier",
            ),
        )
        deciles = suppress(a.risk.model.deciles, ["people"], ["predicted", "observed"], t)
        admitted = (deciles["observed"] * deciles["people"]).round()
        deciles.loc[((admitted > 0) & (admitted < t)).to_numpy(), "observed"] = np.nan
        published["risk_calibration"] = (
            deciles,
            Disclosure(
                counts=["people"],
                derived=["predicted"],
                implied={"observed": ("people", 1.0)},
                labels=["group"],
            ),
        )
        outputs.restricted_table("who_would_gain_most.csv", a.risk.gain)
    for name, (frame, disclosure) in published.items():
        outputs.table(f"{name}.csv", frame, disclosure)
    lib = default_library()
    england = place_comparison(tables, a.years, NEEDS_ENGLAND_INDICATORS, lib, t)
    outputs.table("needs_england.csv", england, ENGLAND_DISCLOSURE)
    names = names_in(tables)
    sections = _sections(a, t, {k: v[0] for k, v in published.items()}, names)
    home = home_place(tables)
    places = [home, *sorted(p for p in set(england["place_code"]) if p != home)]
    sections += england_sections(
        england, lib, places, names, a.years, indicators=NEEDS_ENGLAND_INDICATORS, detail=True
    )
    span = f"{a.years[0]} to {a.years[-1]}" if len(a.years) > 1 else str(a.years[0])
    return publish_page(
        outputs,
        "needs.html",
        "Population needs",
        f"Financial years {span}; counts under {t} are suppressed.",
        sections,
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
        "person_years": a.person_years,
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
