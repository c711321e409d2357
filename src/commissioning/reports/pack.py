"""The index of the published pack: what is in it, for whom, and the headline table.

Written last, from the folder itself: it links each page the pack holds (with the tables
behind it for analysts) and shows spend per head by place and setting read back from the
published ``activity_by_place.csv``, so the index shows nothing the gate did not pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from commissioning.reports.formatting import HIDDEN, SETTING_NAMES, gbp, name_of, names_in
from commissioning.reports.html import Section, TableBlock, publish_page
from commissioning.reports.publish import Outputs

#: The pages of the pack, in reading order, with what each tells a reader.
PAGES: dict[str, tuple[str, str]] = {
    "needs.html": (
        "Population needs",
        "Who lives here, which long-term conditions they have, how need and spend fall "
        "across groups, and who is at risk of an emergency admission.",
    ),
    "indicators.html": (
        "Outcomes and statistical process control",
        "Every outcome and process indicator with its 95% interval, and the quarterly "
        "series on charts that separate real change from noise.",
    ),
    "benchmark.html": (
        "Comparison with similar places",
        "The home place beside the places most like it, the opportunity in activity and "
        "pounds, and variation between practices.",
    ),
    "portfolio.html": (
        "The commissioning portfolio",
        "Programmes, contracts and pilots in one view, and the nine measures of effective "
        "commissioning with their evidence.",
    ),
    "priorities.html": (
        "Priorities for investment and disinvestment",
        "Candidates scored by the panel against agreed criteria, the best package within "
        "the budget, and how the choice turns on the weights.",
    ),
    "pilot_evaluation.html": (
        "Did the pilot work?",
        "A pilot's effect estimated three ways, against the effect planted in the "
        "synthetic data: before and after, and a matched comparison.",
    ),
    "business_case.html": (
        "Business case",
        "A proposed service change appraised as the Green Book sets out: net present "
        "value, return, payback and the range of outcomes.",
    ),
}


def fy(year: int) -> str:
    """A financial year as it is written: 2023/24."""
    return f"{year}/{str(year + 1)[2:]}"


def _rates_block(published: Path, year: int, names: Mapping[str, str]) -> TableBlock | None:
    path = published / "activity_by_place.csv"
    if not path.is_file():
        return None
    frame = pd.read_csv(path)
    frame = frame[frame["year"] == year].sort_values("spend_per_head_gbp", ascending=False)
    settings = [s for s in SETTING_NAMES if f"{s}_per_head_gbp" in frame.columns]

    def money(v: Any) -> str:
        return HIDDEN if v != v else gbp(float(v))

    rows = [
        [
            names.get(str(r["group"]), str(r["group"])),
            *(money(r[f"{s}_per_head_gbp"]) for s in settings),
            money(r["spend_per_head_gbp"]),
        ]
        for _, r in frame.iterrows()
    ]
    return TableBlock(
        f"Spend per head (£), {fy(year)}, by setting of care",
        ["Place", *(name_of(s) for s in settings), "All settings"],
        rows,
        note="Events per 1,000 people by place and setting are in activity_by_place.csv.",
    )


def write_index(
    outputs: Outputs, tables: Mapping[str, Any], years: Sequence[int], about: str
) -> Path:
    """Write ``index.html`` of the published pack; ``about`` says whose data it is."""
    names = names_in(tables)
    home = next(
        (str(r.place_name) for r in tables["places"].execute().itertuples() if r.is_home),
        "the home place",
    )
    tables_by_page: dict[str, list[str]] = {
        "needs.html": [],
        "indicators.html": ["indicators.csv", "spc.csv"],
        "benchmark.html": [
            "peers.csv",
            "comparison.csv",
            "opportunity.csv",
            "practice_variation.csv",
        ],
        "portfolio.html": [],
        "priorities.html": ["priorities.csv"],
        "business_case.html": ["business_case.csv"],
        "pilot_evaluation.html": ["pilot_evaluation.csv"],
    }
    listed = set(outputs.listed())
    known = {t for ts in tables_by_page.values() for t in ts}
    tables_by_page["needs.html"] = sorted(
        n for n in listed if n.endswith(".csv") and n not in known
    )
    sections = []
    for page, (title, what) in PAGES.items():
        if page not in listed:
            continue
        sections.append(
            Section(
                title,
                what,
                links=[(f"Read: {title}", page)]
                + [
                    (f"Table for analysts: {t} (CSV)", t)
                    for t in tables_by_page[page]
                    if t in listed
                ],
            )
        )
    block = _rates_block(outputs.published, years[-1], names)
    if block is not None:
        sections.append(
            Section(
                "Spend per head a year, by place and setting",
                "Pounds spent in the year for each person registered at mid-year, by place "
                "and setting of care.",
                tables=[block],
            )
        )
    sections.append(
        Section(
            "About these figures",
            f"{about} Counts from 1 to {outputs.threshold - 1} are hidden, with any figure that "
            "would give them back (an interval, a rate, a total less the other parts); codes "
            "are shown by their names. Every table here lists, in manifest.json, what each of "
            "its columns is.",
        )
    )
    return publish_page(
        outputs,
        "index.html",
        f"Health and care in {home}: the commissioning pack",
        f"Population needs, outcomes, comparison with similar places and spend, {outputs.period}",
        sections,
        index=True,
    )
