"""Programme budgeting (C8): spend by programme, setting, provider and segment.

* **Programme** of an event: the NHS programme budgeting category (PBC) of its primary
  diagnosis's ICD-10 chapter and range (Department of Health programme budgeting
  guidance). Events with no diagnosis are attributed by setting where the setting says
  what the care is for (mental health contacts to *Mental health*, social care packages
  to *Social care needs*) and otherwise counted as *Not attributable (no diagnosis)*
  (GP appointments, community contacts). Chemotherapy sessions (Z51.1) count as cancer.
* **Spend per weighted head**: a Tweedie GLM (power 1.5, log link) of each person-year's
  cost on age band × sex and the number of long-term conditions (capped at 6) gives each
  person an expected cost; the weight is that divided by its mean (so weights average 1)
  and a group's weighted population is the sum of its weights. Spend per weighted head
  compares groups after allowing for age, sex and recorded need.
* **Concentration**: the share of spend used by the costliest 1%, 5% and 20% of
  person-years in each year.
See ``docs/population.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from sklearn.linear_model import TweedieRegressor

from commissioning.data.queries import Tables, financial_year

NOT_ATTRIBUTABLE = "Not attributable (no diagnosis)"

#: (programme, first code, last code) on the dot-free three-character ICD-10 code,
#: checked in order. After the NHS programme budgeting categories.
PROGRAMME_RANGES: tuple[tuple[str, str, str], ...] = (
    ("Cancers and tumours", "C00", "D48"),
    ("Learning disability", "F70", "F79"),
    ("Mental health", "F00", "F99"),
    ("Infectious diseases", "A00", "B99"),
    ("Blood disorders", "D50", "D89"),
    ("Endocrine, nutritional and metabolic", "E00", "E90"),
    ("Neurological", "G00", "G99"),
    ("Eye and vision", "H00", "H59"),
    ("Hearing", "H60", "H95"),
    ("Circulation", "I00", "I99"),
    ("Respiratory", "J00", "J99"),
    ("Dental", "K00", "K14"),
    ("Gastro-intestinal", "K15", "K93"),
    ("Skin", "L00", "L99"),
    ("Musculoskeletal", "M00", "M99"),
    ("Genito-urinary", "N00", "N99"),
    ("Maternity and reproductive health", "O00", "O99"),
    ("Conditions of neonates", "P00", "P96"),
    ("Poisoning and adverse effects", "T36", "T65"),
    ("Trauma and injuries", "S00", "T98"),
    ("Trauma and injuries", "V01", "Y98"),
    ("Other (signs, symptoms and congenital)", "Q00", "R99"),
    ("Healthy individuals", "Z00", "Z99"),
)
SETTING_PROGRAMMES = {"mental_health": "Mental health", "social_care": "Social care needs"}


def programme(primary_diagnosis: ir.StringValue, setting: ir.StringValue) -> ir.StringValue:
    """Programme budgeting category of an event (see the module notes)."""
    code = primary_diagnosis.fill_null("").upper().replace(".", "")
    three = code.substr(0, 3)
    branches: list[tuple[ir.BooleanValue, str]] = [(code.startswith("Z511"), "Cancers and tumours")]
    branches += [((three >= lo) & (three <= hi), name) for name, lo, hi in PROGRAMME_RANGES]
    by_setting = [(setting == s, name) for s, name in SETTING_PROGRAMMES.items()]
    return ibis.cases(
        *[((code != "") & cond, name) for cond, name in branches],
        *by_setting,
        else_=NOT_ATTRIBUTABLE,
    )


def spend_by(
    tables: Tables,
    years: Sequence[int],
    by: Sequence[str] = ("programme",),
    segments: ir.Table | None = None,
) -> pd.DataFrame:
    """Events and spend (£) by year and ``by`` (any of programme, setting,
    point_of_delivery, provider_code and, with ``segments`` — a table of person_id, year,
    segment — segment), with each row's share of the year's spend."""
    act = tables["activity"]
    act = act.mutate(
        year=financial_year(act.start_date),
        programme=programme(act.primary_diagnosis, act.setting),
        cost=act.cost_gbp.cast("float64"),
    )
    act = act.filter(act.year.isin(list(years)))
    if "segment" in by:
        if segments is None:
            raise ValueError("spend by segment needs the segments table (person_id, year, segment)")
        seg = segments.select("person_id", "year", "segment")
        act = act.left_join(seg, ["person_id", "year"])
        act = act.mutate(segment=act.segment.fill_null("Not registered in the year"))
    keys = ["year", *by]
    out = act.group_by(keys).aggregate(events=act.count(), spend_gbp=act.cost.sum()).to_pandas()
    out["share_of_spend"] = out.spend_gbp / out.groupby("year").spend_gbp.transform("sum")
    return out.sort_values(["year", "spend_gbp"], ascending=[True, False]).reset_index(drop=True)


def need_weights(frame: pd.DataFrame, random_state: int = 0) -> pd.Series:
    """Need weights (mean 1) for person-year rows from a Tweedie GLM of total cost.

    ``frame`` needs age_band, sex, condition_count and total_cost_gbp. The model is
    fitted on these rows (one model for all years given); weights are the fitted expected
    costs divided by their mean. ``random_state`` is unused (the fit is deterministic)
    and kept for a uniform signature.
    """
    del random_state
    x = _design(frame)
    y = frame.total_cost_gbp.to_numpy(dtype=np.float64)
    glm = TweedieRegressor(power=1.5, link="log", alpha=1e-6, max_iter=1000)
    glm.fit(x, y)
    expected = glm.predict(x)
    return pd.Series(expected / expected.mean(), index=frame.index, name="need_weight")


def _design(frame: pd.DataFrame) -> np.ndarray:
    cells = frame.age_band.astype(str) + "|" + frame.sex.astype(str)
    dummies = pd.get_dummies(cells, dtype=np.float64)
    count = np.minimum(frame.condition_count.to_numpy(dtype=np.float64), 6.0)
    count_dummies = pd.get_dummies(count.astype(int), prefix="n", dtype=np.float64)
    return np.hstack([dummies.to_numpy(), count_dummies.to_numpy()[:, 1:]])


#: The need weights' cells: age band, sex and long-term conditions (capped at 6).
CONDITION_CAP = 6


def need_cells(person_year: ir.Table, by: str) -> ir.Table:
    """Person-year rows counted in the engine by ``by``, year and need cell (age band,
    sex, conditions capped at :data:`CONDITION_CAP`): ``registered`` and ``spend_gbp``.
    A few thousand rows whatever the population, for :func:`spend_per_weighted_head`."""
    py = person_year
    capped = ibis.least(py.condition_count, ibis.literal(CONDITION_CAP, "int64"))
    cells = py.mutate(group=py[by], capped_conditions=capped)
    return cells.group_by(["group", "year", "age_band", "sex", "capped_conditions"]).aggregate(
        registered=cells.count(), spend_gbp=cells.total_cost_gbp.sum()
    )


def cells_of(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """:func:`need_cells` of person-year rows already in pandas."""
    f = frame.assign(
        group=frame[by], capped_conditions=np.minimum(frame.condition_count, CONDITION_CAP)
    )
    return (
        f.groupby(["group", "year", "age_band", "sex", "capped_conditions"], observed=True)
        .agg(registered=("person_id", "size"), spend_gbp=("total_cost_gbp", "sum"))
        .reset_index()
    )


def spend_per_weighted_head(cells: pd.DataFrame) -> pd.DataFrame:
    """Spend per head and per weighted head by group and year, from need cells
    (:func:`need_cells` or :func:`cells_of`).

    The Tweedie GLM of :func:`need_weights` is fitted to the cells' mean cost weighted by
    their person-years. Every person-year of a cell has the same design row, and the
    Tweedie deviance depends on the fitted mean only through terms linear in the cost,
    so this fit is the fit to the person-year rows themselves, at the cost of a few
    thousand rows rather than millions. A person-year's weight is its cell's expected cost
    over the mean expected cost of all person-years.

    Columns: group, year, registered (person-years), weighted_population, spend_gbp,
    spend_per_head_gbp, spend_per_weighted_head_gbp, and index (spend per weighted head
    against the overall figure for the year, 1 is average).
    """
    need = (
        cells.groupby(["age_band", "sex", "capped_conditions"], observed=True)
        .agg(registered=("registered", "sum"), spend_gbp=("spend_gbp", "sum"))
        .reset_index()
    )
    x = _design(need.rename(columns={"capped_conditions": "condition_count"}))
    rows = need.registered.to_numpy(dtype=np.float64)
    glm = TweedieRegressor(power=1.5, link="log", alpha=1e-6, max_iter=1000)
    glm.fit(x, need.spend_gbp.to_numpy(dtype=np.float64) / rows, sample_weight=rows)
    expected = glm.predict(x)
    need["weight"] = expected / (np.sum(expected * rows) / rows.sum())
    f = cells.merge(
        need[["age_band", "sex", "capped_conditions", "weight"]],
        on=["age_band", "sex", "capped_conditions"],
    )
    f["weighted"] = f.weight * f.registered
    g = (
        f.groupby(["group", "year"])
        .agg(
            registered=("registered", "sum"),
            weighted_population=("weighted", "sum"),
            spend_gbp=("spend_gbp", "sum"),
        )
        .reset_index()
    )
    g["registered"] = g.registered.astype("int64")
    g["spend_per_head_gbp"] = g.spend_gbp / g.registered
    g["spend_per_weighted_head_gbp"] = g.spend_gbp / g.weighted_population
    overall = f.groupby("year").spend_gbp.sum() / f.groupby("year").weighted.sum()
    g["index"] = g.spend_per_weighted_head_gbp / g.year.map(overall)
    return g


def cost_concentration(
    frame: pd.DataFrame, shares: Sequence[float] = (0.01, 0.05, 0.2)
) -> pd.DataFrame:
    """Share of each year's spend used by the costliest ``shares`` of person-years.

    Columns: year, person_years, spend_gbp and ``top_<p>pct_share`` per share.
    """
    rows = []
    for year, part in frame.groupby("year"):
        cost = np.sort(part.total_cost_gbp.to_numpy(dtype=np.float64))[::-1]
        total = cost.sum()
        row: dict[str, object] = {"year": year, "person_years": len(cost), "spend_gbp": total}
        for share in shares:
            k = int(np.ceil(share * len(cost)))
            row[f"top_{share * 100:g}pct_share"] = cost[:k].sum() / total if total else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
