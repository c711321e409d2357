"""Measured values from the store: the provider's (or the commissioner's) submission of a
contract year's outcome values, computed from the person-level data by the same
definitions the worked scenarios and the indicator library use.

The data are by financial year (April to March) and the measures are computed over a
whole year, so values from the store serve a contract whose years are financial years and
whose outcomes are measured annually (``outcomes.measurement = "annual"``): they are
submitted for quarter 4 of the contract year, once the year has ended. They are only
*submitted*: another person certifies them before they pay, as any value. Measures the
data do not hold (``measured_from = "return"``, or not in the data) are left for the
provider's return.
"""

from __future__ import annotations

import math
from decimal import Decimal

from commissioning.contracts.cohort import fetch_place_data, select_cohort
from commissioning.contracts.measures import measure_values
from commissioning.contracts.schema import PathwayScope
from commissioning.data.queries import Tables, activity_years
from commissioning.operations.base import OperationError, Operations, require_actor
from commissioning.operations.calendar import period
from commissioning.operations.measurements import Measurement, submit
from commissioning.operations.register import signed_versions
from commissioning.settlement.lines import YEAR_END


def submit_from_data(
    ops: Operations,
    tables: Tables,
    contract_id: str,
    year: int,
    actor: str,
    place_code: str | None = None,
) -> tuple[list[Measurement], list[str]]:
    """Submit the year's values of every measure the data hold; returns the submissions
    and the measures left for the provider's return (with the reason)."""
    actor = require_actor(actor)
    versions = signed_versions(ops, contract_id)
    if not versions:
        raise OperationError(f"{contract_id} has no signed version")
    year_end = period(versions[0].contract, year, YEAR_END)
    contract = next(
        (
            v.contract
            for v in reversed(versions)
            if (v.contract.effective_from or v.contract.start_date) <= year_end.end
        ),
        versions[0].contract,
    )
    if contract.outcomes.measurement != "annual":
        raise OperationError(
            "values from the store are measured over whole financial years — they serve "
            'a contract whose outcomes are measured annually (measurement = "annual"); '
            "submit quarterly values from your own returns instead"
        )
    start = year_end.start
    if (start.month, start.day) != (4, 1):
        raise OperationError(
            f"the data are by financial year (1 April to 31 March) but contract year {year} "
            f"starts on {start} — submit its values from your own returns"
        )
    fy = start.year
    available = activity_years(tables)
    if fy not in available:
        raise OperationError(
            f"the store has no activity for financial year {fy}/{str(fy + 1)[2:]} "
            f"(it holds {', '.join(str(y) for y in available) or 'none'}) — load it first"
        )
    years = [y for y in available if y <= fy]
    data = fetch_place_data(tables, years, place_code)
    scope = contract.scope
    rule = scope.eligibility_rule if isinstance(scope, PathwayScope) else scope.cohort_rule
    cohort = select_cohort(data.person_years, rule)
    wanted = [m.indicator_id for m in contract.outcomes.measures if m.measured_from == "data"]
    values = measure_values(wanted, data, cohort)
    submitted: list[Measurement] = []
    left: list[str] = [
        f"{m.indicator_id}: from the provider's return"
        for m in contract.outcomes.measures
        if m.measured_from == "return"
    ]
    with ops.store.transaction():
        for ind in wanted:
            series = values.get(ind)
            value = series.get(fy) if series is not None else None
            if value is None or not math.isfinite(float(value)):
                left.append(f"{ind}: not in the data for {fy}")
                continue
            submitted.append(
                submit(
                    ops,
                    contract_id,
                    year,
                    4,
                    "indicator",
                    ind,
                    Decimal(str(round(float(value), 4))),
                    actor,
                    source=f"measured from the store: {cohort['year'].eq(fy).sum():,} "
                    f"person-years of the cohort in financial year {fy}",
                )
            )
    return submitted, left
