"""Places against England on the pages: the England column, the verdict and spine charts.

The comparison is :func:`commissioning.indicators.england.compare_with_england` (each
place's 95% interval against the published England value, read with the indicator's
polarity). The spine chart follows the design of OHID's Fingertips area profiles (Public
Health England, *Technical Guide: Spine Charts*, 2017): one row per indicator, England's
value the centre line, a bar from the worst to the best of the comparator areas with the
25th to 75th percentile shaded lighter, better always to the right, and the area's value a
circle coloured by its verdict. National quartiles are not shipped, so the comparator
areas are the places in the data (their unsuppressed values), and every caption says so.

Published through the gate: ``england_comparison.csv`` (each place's value beside the
England value and the verdict; the England figures declared safe as published national
figures, the verdict a label that reads "not compared" wherever the value is suppressed)
and ``spine.csv`` (each indicator's spread across the places).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ibis.expr.types as ir
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from commissioning.indicators.compute import compute_indicator
from commissioning.indicators.england import (
    NationalValue,
    NationalValues,
    compare_frame,
    default_national_values,
)
from commissioning.indicators.library import Indicator, Library, Polarity
from commissioning.reports.html import FigureBlock, Section, TableBlock
from commissioning.reports.publish import Disclosure

PUBLISHED_NATIONAL = "published national figure"
#: Words for each verdict, as the pages show them.
VERDICT_TEXT = {
    "better": "Better",
    "similar": "Similar",
    "worse": "Worse",
    "higher": "Higher",
    "lower": "Lower",
    "not compared": "Not compared",
}
#: Fingertips' colours for the comparison with England.
VERDICT_COLOURS = {
    "better": "#92d050",
    "similar": "#ffc000",
    "worse": "#c00000",
    "higher": "#bed2ff",
    "lower": "#5555e6",
}
ENGLAND_LINE = "#e4002b"
DARK, LIGHT = "#8b8b8b", "#c9c9c9"
#: The published columns of ``england_comparison.csv``.
ENGLAND_DISCLOSURE = Disclosure(
    derived=["value", "lower", "upper"],
    hidden_flag="suppressed",
    safe={c: PUBLISHED_NATIONAL for c in ("england_value", "england_lower", "england_upper")},
)
SPREAD_WHY = "a quantile of the places' published (unsuppressed) values"
SPINE_DISCLOSURE = Disclosure(
    safe={
        "places": "a number of places, not of people or events",
        "lowest": SPREAD_WHY,
        "q25": SPREAD_WHY,
        "q75": SPREAD_WHY,
        "highest": SPREAD_WHY,
        "england_value": PUBLISHED_NATIONAL,
    }
)
COMPARISON_COLUMNS = [
    "indicator_id",
    "place_code",
    "value",
    "lower",
    "upper",
    "suppressed",
    "england_value",
    "england_lower",
    "england_upper",
    "england_period",
    "verdict",
]


@dataclass(frozen=True)
class Spine:
    """One row of a spine chart: the spread of the comparator areas' values around the
    England value, and the scale that puts England at 0, the area furthest from it at
    -1 or 1, and better to the right (higher to the right with no better direction)."""

    england: float
    lowest: float
    q25: float
    q75: float
    highest: float
    places: int
    half_width: float
    direction: int

    def position(self, x: float) -> float:
        """Where ``x`` falls on the row, from -1 (left) to 1 (right)."""
        return self.direction * (float(x) - self.england) / self.half_width


def spine(values: Sequence[float], england: float, polarity: Polarity) -> Spine | None:
    """The spine row of ``values`` (the comparator areas' unsuppressed values) about
    ``england``: lowest, 25th and 75th percentiles (linear interpolation) and highest, and
    the scale. None without a value to show."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if not len(v) or not np.isfinite(england):
        return None
    lowest, q25, q75, highest = (float(x) for x in np.percentile(v, [0, 25, 75, 100]))
    half = max(abs(lowest - england), abs(highest - england))
    return Spine(
        england=float(england),
        lowest=lowest,
        q25=q25,
        q75=q75,
        highest=highest,
        places=len(v),
        half_width=half if half > 0 else 1.0,
        direction=-1 if polarity == "lower_is_better" else 1,
    )


def england_comparison(
    frame: pd.DataFrame, library: Library, national: NationalValues | None = None
) -> pd.DataFrame:
    """Every place's value (a frame from ``published(compute_all(...))``, place in
    ``group``) with the England value, its period and the verdict: the table
    ``england_comparison.csv`` publishes."""
    out = compare_frame(frame, library, national)
    out = out.rename(columns={"group": "place_code"})
    return out[COMPARISON_COLUMNS].reset_index(drop=True)


def place_comparison(
    tables: Mapping[str, ir.Table],
    years: Sequence[int],
    indicators: Sequence[str],
    library: Library,
    threshold: int,
    national: NationalValues | None = None,
) -> pd.DataFrame:
    """:func:`england_comparison` of ``indicators`` for every place over ``years``, with
    small counts suppressed as on the indicators page (and so not compared)."""
    from commissioning.reports.indicators_report import published  # see _fmt

    parts = [
        compute_indicator(tables, i, "place_code", years, library=library).rename(
            columns={"place_code": "group"}
        )
        for i in indicators
    ]
    return england_comparison(
        published(pd.concat(parts, ignore_index=True), threshold), library, national
    )


def spine_table(comparison: pd.DataFrame, library: Library) -> pd.DataFrame:
    """Each indicator with an England value: its spread over the places' unsuppressed
    values (``spine.csv``)."""
    rows = []
    for ind in library.indicators:
        part = comparison[comparison["indicator_id"] == ind.id]
        if part.empty or not np.isfinite(part["england_value"].iloc[0]):
            continue
        shown = part.loc[~part["suppressed"].astype(bool), "value"].astype(float)
        s = spine(list(shown), float(part["england_value"].iloc[0]), ind.polarity)
        rows.append(
            {
                "indicator_id": ind.id,
                "places": 0 if s is None else s.places,
                "lowest": np.nan if s is None else s.lowest,
                "q25": np.nan if s is None else s.q25,
                "q75": np.nan if s is None else s.q75,
                "highest": np.nan if s is None else s.highest,
                "england_value": float(part["england_value"].iloc[0]),
            }
        )
    return pd.DataFrame(
        rows,
        columns=["indicator_id", "places", "lowest", "q25", "q75", "highest", "england_value"],
    )


def _fmt(value: float, unit: str) -> str:
    # the indicators page's formatter, imported here because that page imports this module
    from commissioning.reports.indicators_report import fmt

    return fmt(value, unit)


def england_cell(value: NationalValue | None, unit: str) -> str:
    """'349 (2021 to 2023)', or a dash when no England value is shipped."""
    if value is None:
        return "-"
    return f"{_fmt(value.value, unit)} ({value.period})"


def verdict_cell(verdict: str, suppressed: bool, has_england: bool) -> str:
    """The verdict in words, saying why there is none."""
    if not has_england:
        return "No England value shipped"
    if suppressed:
        return "Not compared (suppressed)"
    return VERDICT_TEXT.get(verdict, verdict)


def _period(years: Sequence[int]) -> str:
    first, last = min(years), max(years)
    return f"financial years {first}/{str(first + 1)[-2:]} to {last}/{str(last + 1)[-2:]}"


def spine_figure(
    comparison: pd.DataFrame,
    library: Library,
    place: str,
    place_name: str,
    indicators: Sequence[str] | None = None,
) -> FigureBlock | None:
    """The spine chart of ``place``: one row per indicator with an England value."""
    rows = []
    left_out = []
    ids = list(indicators) if indicators is not None else library.ids
    for ind_id in ids:
        ind = library.get(ind_id)
        part = comparison[comparison["indicator_id"] == ind_id]
        if part.empty:
            continue
        england = float(part["england_value"].iloc[0])
        if not np.isfinite(england):
            left_out.append(ind.title)
            continue
        shown = part.loc[~part["suppressed"].astype(bool), "value"].astype(float)
        s = spine(list(shown), england, ind.polarity)
        mine = part[part["place_code"] == place]
        value = float(mine["value"].iloc[0]) if len(mine) else float("nan")
        hidden = not len(mine) or bool(mine["suppressed"].iloc[0]) or not np.isfinite(value)
        verdict = "not compared" if hidden else str(mine["verdict"].iloc[0])
        text = "no data" if not len(mine) else "suppressed" if hidden else _fmt(value, ind.unit)
        rows.append((ind, s, england, value, verdict, hidden, text))
    if not rows:
        return None
    fig = go.Figure()
    markers: dict[str, tuple[list[float], list[str]]] = {}
    summary: dict[str, list[str]] = {}
    for ind, s, england, value, verdict, hidden, shown_value in rows:
        label = f"{ind.title}<br>{shown_value} (England {_fmt(england, ind.unit)})"
        summary.setdefault(verdict, []).append(ind.title[:1].lower() + ind.title[1:])
        fig.add_trace(  # every row keeps its place, with or without a spread to draw
            go.Scatter(
                x=[0],
                y=[label],
                mode="markers",
                marker={"opacity": 0},
                showlegend=False,
                hoverinfo="skip",
            )
        )
        if s is None:
            continue
        ends = sorted([s.position(s.lowest), s.position(s.highest)])
        inner = sorted([s.position(s.q25), s.position(s.q75)])
        for (a, b), colour in (
            ((ends[0], inner[0]), DARK),
            ((inner[0], inner[1]), LIGHT),
            ((inner[1], ends[1]), DARK),
        ):
            fig.add_trace(
                go.Bar(
                    y=[label],
                    x=[b - a],
                    base=[a],
                    orientation="h",
                    marker_color=colour,
                    showlegend=False,
                    hoverinfo="skip",
                )
            )
        if not hidden:
            xs, ys = markers.setdefault(verdict, ([], []))
            xs.append(max(-1.05, min(1.05, s.position(value))))
            ys.append(label)
    for verdict, (xs, ys) in markers.items():
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="markers",
                name=f"{place_name}: {VERDICT_TEXT[verdict].lower()}",
                marker={
                    "color": VERDICT_COLOURS.get(verdict, "#ffffff"),
                    "size": 14,
                    "line": {"color": "#231f20", "width": 1},
                },
            )
        )
    fig.add_shape(
        type="line", x0=0, x1=0, y0=0, y1=1, yref="paper", line={"color": ENGLAND_LINE, "width": 3}
    )
    fig.add_trace(  # the England line's legend entry
        go.Scatter(x=[None], y=[None], mode="lines", name="England", line={"color": ENGLAND_LINE})
    )
    fig.update_layout(
        title=f"{place_name} compared with England",
        barmode="overlay",
        height=150 + 56 * len(rows),
        margin={"t": 90, "b": 30, "l": 20, "r": 20},
        plot_bgcolor="#ffffff",
        xaxis={"range": [-1.12, 1.12], "visible": False},
        yaxis={"autorange": "reversed", "automargin": True, "showgrid": False},
        legend={"orientation": "h", "y": 0, "yanchor": "top"},
    )
    for x, text, anchor in (
        (-1.1, "← worse (or lower)", "left"),
        (0, "England", "center"),
        (1.1, "better (or higher) →", "right"),
    ):
        fig.add_annotation(
            x=x,
            y=1.0,
            yref="paper",
            yanchor="bottom",
            text=text,
            showarrow=False,
            xanchor=anchor,
            font={"color": ENGLAND_LINE if text == "England" else "#425563"},
        )
    said = "; ".join(
        f"{'not compared (suppressed or no interval)' if v == 'not compared' else v} on "
        f"{', '.join(titles)}"
        for v, titles in summary.items()
    )
    note = (
        f"Compared with England, {place_name}: {said}. Each row is centred on England's "
        "published value (the red line); the grey bar runs from the worst to the best of the "
        "places in the data, with their 25th to 75th percentile lighter: national quartiles "
        "are not shipped, so the spread is that of these places, suppressed values left out. "
        "Better is to the right (higher, where no direction is better). The circle's colour "
        "is the comparison of the place's 95% interval with England's value."
    )
    if left_out:
        note += f" Not shown, no England value shipped: {', '.join(left_out)}."
    return FigureBlock(fig, note)


def _counts(comparison: pd.DataFrame, place: str) -> list[str]:
    part = comparison[comparison["place_code"] == place]
    part = part[np.isfinite(part["england_value"].astype(float))]
    verdicts = [str(v) for v in part["verdict"]]
    return [str(verdicts.count(v)) for v in VERDICT_TEXT]


def england_sections(
    comparison: pd.DataFrame,
    library: Library,
    places: Sequence[str],
    names: Mapping[str, str],
    years: Sequence[int],
    *,
    indicators: Sequence[str] | None = None,
    national: NationalValues | None = None,
    detail: bool = False,
) -> list[Section]:
    """A section with the count of verdicts for each place (or, with ``detail``, each
    place's value beside England's and the verdict) and a spine chart per place."""
    nat = national or default_national_values()
    ids = list(indicators) if indicators is not None else library.ids
    shipped = [i for i in ids if nat.england(i) is not None]
    missing = [library.get(i).title for i in ids if nat.england(i) is None]
    intro = (
        "Each place's 95% confidence interval against the published England value, as on "
        "OHID's Fingertips: better or worse when the interval excludes England's value, "
        "similar when it includes it (higher or lower where no direction is better). England "
        f"values are for the periods shown beside them; the places' for {_period(years)}, so "
        "the comparison is a guide to the level, not a test of the same years."
    )
    if missing:
        intro += f" No England value shipped for: {', '.join(missing)}."
    tables: list[TableBlock] = []
    if detail:
        rows = []
        for ind_id in shipped:
            ind = library.get(ind_id)
            eng = nat.england(ind_id)
            for place in places:
                rows.append(_detail_row(comparison, ind, eng, place, names))
        tables.append(
            TableBlock(
                "Each place against England",
                ["Indicator", "Place", "Value", "95% interval", "England", "Compared with England"],
                rows,
                note="Values from small counts are suppressed, and not compared.",
            )
        )
    else:
        rows = [
            [names.get(p, p), *_counts(comparison[comparison.indicator_id.isin(shipped)], p)]
            for p in places
        ]
        tables.append(
            TableBlock(
                "How many indicators each place has better, similar or worse than England",
                ["Place", *VERDICT_TEXT.values()],
                rows,
                note="Counts of indicators (with an England value), not of people.",
            )
        )
    figures = []
    for place in places:
        block = spine_figure(comparison, library, place, names.get(place, place), shipped)
        if block is not None:
            figures.append(block)
    return [Section("Compared with England", intro, tables=tables, figures=figures)]


def _detail_row(
    comparison: pd.DataFrame,
    ind: Indicator,
    eng: NationalValue | None,
    place: str,
    names: Mapping[str, str],
) -> list[str]:
    part = comparison[(comparison.indicator_id == ind.id) & (comparison.place_code == place)]
    if part.empty:
        return [
            ind.title,
            names.get(place, place),
            "no data",
            "",
            england_cell(eng, ind.unit),
            "Not compared (no data)",
        ]
    r = part.iloc[0]
    hidden = bool(r["suppressed"])
    value = "suppressed" if hidden else _fmt(r["value"], ind.unit)
    interval = "" if hidden else f"{_fmt(r['lower'], ind.unit)} to {_fmt(r['upper'], ind.unit)}"
    return [
        ind.title,
        names.get(place, place),
        value,
        interval,
        england_cell(eng, ind.unit),
        verdict_cell(str(r["verdict"]), hidden, eng is not None),
    ]


def home_spine_section(
    comparison: pd.DataFrame,
    library: Library,
    home: str,
    names: Mapping[str, str],
    years: Sequence[int],
) -> Section:
    """The home place's spine chart, for the benchmarking page."""
    block = spine_figure(comparison, library, home, names.get(home, home))
    return Section(
        "The home place against England",
        "Where the home place stands against England's published values and the spread of "
        f"the places in the data ({_period(years)}), as on a Fingertips spine chart.",
        figures=[block] if block is not None else [],
    )
