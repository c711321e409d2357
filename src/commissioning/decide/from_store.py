"""What the decision tools read from the store: the events behind a pilot's outcome, month
by month. Ibis queries only; the calculation is in the modules beside this one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ibis.expr.types as ir
import pandas as pd

from commissioning.core.schema import SETTINGS
from commissioning.data.queries import activity_in_years

Tables = Mapping[str, ir.Table]


def outcome_events(tables: Tables, outcome: str, years: Sequence[int]) -> pd.DataFrame | None:
    """One row per event the person-year ``outcome`` counts (``person_id``,
    ``start_date``) in the financial ``years``; None for an outcome that is not a plain
    count of activity events (bed days, costs, events chosen by diagnosis)."""
    act = activity_in_years(tables, years)
    if outcome == "emergency_admissions":
        act = act.filter(act.point_of_delivery == "emergency_admission")
    elif outcome == "elective_admissions":
        act = act.filter(act.point_of_delivery.isin(["elective_inpatient", "day_case"]))
    elif outcome.endswith("_events") and outcome.removesuffix("_events") in SETTINGS:
        act = act.filter(act.setting == outcome.removesuffix("_events"))
    else:
        return None
    return act.select("person_id", "start_date").to_pandas()
