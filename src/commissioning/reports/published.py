"""Figures for the public: only what passes the small-number gate.

The public workbench pages show these and nothing else from the analytical store. Counts
are suppressed below the threshold, with secondary suppression across each table's rows
and columns (:func:`commissioning.core.suppression.suppress_small_counts`), and the visible
counts rounded to the nearest 5, so no published figure gives back a small number.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from commissioning.core.suppression import suppress_small_counts
from commissioning.data.queries import Tables, mid_year_population


def population_by_place(tables: Tables, years: Sequence[int], threshold: int = 8) -> dict[str, Any]:
    """Registered people by place and financial year (mid-year), suppressed and rounded."""
    pop = mid_year_population(tables, years)
    counts = pop.group_by(["place_code", "year"]).aggregate(people=pop.count()).execute()
    wide = counts.pivot_table(
        index="place_code", columns="year", values="people", aggfunc="sum", fill_value=0
    )
    masked, _ = suppress_small_counts(
        wide, threshold=threshold, round_to=5, totals_published_elsewhere=True
    )
    columns = [int(c) for c in masked.columns]
    rows = [
        {
            "place_code": str(place),
            "people": [
                None if v != v else int(v)  # NaN: hidden
                for v in masked.loc[place].tolist()
            ],
        }
        for place in masked.index
    ]
    return {"years": columns, "rows": rows, "threshold": threshold, "rounded_to": 5}
