"""The person-year table: one row a person and financial year, the base of C5-C8.

Built once as an Ibis expression, so the same definition runs on DuckDB, Spark or any
warehouse Ibis reaches (``tests/population/test_person_year_spark.py`` checks the two
engines agree). Definitions (see ``docs/population.md``):

* **who**: everyone registered with a practice at any point in the financial year
  (registration began on or before 31 March and neither deregistration nor death came
  before 1 April). ``in_mid_year_population`` marks those registered and alive on
  1 October, the denominator of rates (as :func:`commissioning.data.queries.mid_year_population`).
* **age**: completed years on 1 October of the year (0 for babies born later);
  ``age_band`` in the 19 bands of the 2013 European Standard Population.
* **conditions**: a flag per long-term condition (lower-case code, e.g. ``hf``) when it
  was diagnosed on or before the last day of the year (31 March); ``condition_count``
  is their number and ``cms_score`` the Cambridge Multimorbidity Score.
* **frailty** (65 and over): an eFI proxy (``codes.EFI_LABEL``, "eFI proxy, 20 of 36
  deficits"): ``efi_deficits`` counts the 20 deficits of the electronic Frailty Index
  (Clegg et al. 2016) this data can see, ``efi`` = deficits / 26 (``codes.EFI_PROXY_SCALE``)
  and ``frailty`` the eFI band of that index (fit, mild, moderate, severe); null below 65.
* **multimorbidity**: ``cms_score`` is the Cambridge Multimorbidity Score with the
  published general-outcome weights (Payne et al. 2020) of the 17 of its 20 conditions
  this data carries (``codes.CMS_LABEL``).
* **last year of life**: ``died_in_year`` is 1 when the person died within the year.
* **use and cost**: events and cost (£) per setting for activity starting in the year,
  emergency and elective admissions, ACSC emergency admissions (the chronic list of NHS
  Outcomes Framework 2.3.i and the acute list after 3a, shared with the indicator
  library), bed days, total cost.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from commissioning.core.schema import SETTINGS, condition_codes
from commissioning.data.queries import Tables, financial_year
from commissioning.population import codes as C

AGE_BAND_LABELS: tuple[str, ...] = (*(f"{a}-{a + 4}" for a in range(0, 90, 5)), "90+")


def _starts_with_any(code: ir.StringValue, prefixes: Sequence[str]) -> ir.BooleanValue:
    """Whether a dot-free code starts with any prefix, by set membership per prefix
    length (much faster than one ``startswith`` per prefix on large tables)."""
    out: ir.BooleanValue | None = None
    for length in sorted({len(p) for p in prefixes}):
        test = code.substr(0, length).isin(sorted({p for p in prefixes if len(p) == length}))
        out = test if out is None else (out | test)
    return out if out is not None else ibis.literal(False)


def _flag(cond: ir.BooleanValue) -> ir.IntegerValue:
    return cond.fill_null(False).cast("int64")


def age_band(age_years: ir.IntegerValue) -> ir.StringValue:
    """ESP2013 five-year band label (``0-4`` ... ``85-89``, ``90+``) of an age in years."""
    branches = [(age_years < a + 5, f"{a}-{a + 4}") for a in range(0, 90, 5)]
    return ibis.cases(*branches, else_="90+")


def _registered(tables: Tables, years: Sequence[int]) -> ir.Table:
    people = tables["people"]
    practices = tables["gp_practices"].select("practice_code", "place_code")
    yrs = ibis.memtable({"year": list(years)}, schema={"year": "int64"})
    j = people.cross_join(yrs)
    start = ibis.date(j.year, 4, 1)
    end = ibis.date(j.year + 1, 3, 31)
    census = ibis.date(j.year, 10, 1)
    registered = (
        (j.registration_date <= end)
        & (j.deregistration_date.isnull() | (j.deregistration_date >= start))
        & (j.death_date.isnull() | (j.death_date >= start))
    )
    j = j.filter(registered)
    mid_year = (
        (j.registration_date <= census)
        & (j.deregistration_date.isnull() | (j.deregistration_date > census))
        & (j.death_date.isnull() | (j.death_date > census))
        & ((j.birth_year < j.year) | ((j.birth_year == j.year) & (j.birth_month <= 10)))
    )
    raw_age = j.year - j.birth_year - (j.birth_month > 10).cast("int64")
    age = ibis.greatest(raw_age, ibis.literal(0, "int64"))
    died = j.death_date.notnull() & (j.death_date >= start) & (j.death_date <= end)
    base = j.select(
        "person_id",
        "year",
        age_years=age,
        sex=j.sex,
        imd_decile=j.imd_decile,
        practice_code=j.practice_code,
        in_mid_year_population=_flag(mid_year),
        died_in_year=_flag(died),
    )
    base = base.mutate(age_band=age_band(base.age_years))
    return base.join(practices, "practice_code")


def _condition_dates(tables: Tables) -> ir.Table:
    cond = tables["conditions"]
    return cond.group_by("person_id").aggregate(
        **{
            f"{code.lower()}_date": cond.diagnosis_date.min(where=cond.condition_code == code)
            for code in condition_codes()
        }
    )


def _normalised_diagnosis(act: ir.Table, column: str = "primary_diagnosis") -> ir.StringValue:
    if column not in act.columns:
        return ibis.literal("")
    return act[column].fill_null("").replace(".", "")


def _acsc(primary: ir.StringValue, secondary: ir.StringValue) -> ir.BooleanValue:
    """Primary diagnosis an ACSC (chronic or acute list); J20 only with COPD secondary."""
    rules = C.ACSC_CHRONIC.secondary_rules
    plain = [p for p in C.ACSC_ICD10_PREFIXES if p not in rules]
    cond = _starts_with_any(primary, plain)
    for prefix, needs in rules.items():
        cond = cond | (primary.startswith(prefix) & _starts_with_any(secondary, needs))
    return cond


def _history_dates(tables: Tables) -> ir.Table:
    """First date of each coded history used by the frailty index, per person."""
    act = tables["activity"]
    dx = _normalised_diagnosis(act)
    # A fall is an external cause: coded beside an injury (external_cause or a secondary
    # position) in hospital data, and in the primary position only in older extracts.
    fall = (
        _starts_with_any(dx, C.FALL_PREFIXES)
        | _starts_with_any(_normalised_diagnosis(act, "secondary_diagnosis"), C.FALL_PREFIXES)
        | _starts_with_any(_normalised_diagnosis(act, "external_cause"), C.FALL_PREFIXES)
    )
    lists = {
        "falls": C.FALL_PREFIXES,
        "fracture": C.FRAGILITY_FRACTURE_PREFIXES,
        "syncope": C.SYNCOPE_PREFIXES,
        "urinary": C.URINARY_PREFIXES,
        "visual": C.VISUAL_PREFIXES,
    }
    any_history = fall | _starts_with_any(dx, [p for v in lists.values() for p in v])
    act = act.mutate(dx=dx, fall=fall).filter(any_history)
    return act.group_by("person_id").aggregate(
        **{
            f"history_{name}_date": act.start_date.min(
                where=act.fall if name == "falls" else _starts_with_any(act.dx, prefixes)
            )
            for name, prefixes in lists.items()
        }
    )


def _use(tables: Tables, years: Sequence[int]) -> ir.Table:
    act = tables["activity"]
    act = act.mutate(year=financial_year(act.start_date))
    act = act.filter(act.year.isin(list(years)))
    dx = _normalised_diagnosis(act)
    act = act.mutate(
        cost=act.cost_gbp.cast("float64"),
        acsc=_acsc(dx, _normalised_diagnosis(act, "secondary_diagnosis")),
        maternity=dx.startswith("O") | dx.startswith("P"),
    )
    emergency = act.point_of_delivery == "emergency_admission"
    elective = act.point_of_delivery.isin(["elective_inpatient", "day_case"])
    apc = act.setting == "admitted_patient_care"
    zero = ibis.literal(0.0)
    metrics: dict[str, ir.Value] = {}
    for s in SETTINGS:
        metrics[f"{s}_events"] = (act.setting == s).cast("int64").sum()
        metrics[f"{s}_cost_gbp"] = ibis.ifelse(act.setting == s, act.cost, zero).sum()
    metrics |= {
        "emergency_admissions": emergency.cast("int64").sum(),
        "acsc_emergency_admissions": (emergency & act.acsc).cast("int64").sum(),
        "elective_admissions": elective.cast("int64").sum(),
        "bed_days": ibis.ifelse(apc, act.los_days.fill_null(0), 0).sum(),
        "emergency_bed_days": ibis.ifelse(emergency, act.los_days.fill_null(0), 0).sum(),
        "emergency_cost_gbp": ibis.ifelse(emergency, act.cost, zero).sum(),
        "acsc_cost_gbp": ibis.ifelse(emergency & act.acsc, act.cost, zero).sum(),
        "maternity_events": act.maternity.cast("int64").sum(),
        "total_cost_gbp": act.cost.sum(),
    }
    return act.group_by(["person_id", "year"]).aggregate(**metrics)


def use_columns() -> tuple[str, ...]:
    """Names of the use and cost columns, in table order."""
    return (
        *C.setting_columns(),
        "emergency_admissions",
        "acsc_emergency_admissions",
        "elective_admissions",
        "bed_days",
        "emergency_bed_days",
        "emergency_cost_gbp",
        "acsc_cost_gbp",
        "maternity_events",
        "total_cost_gbp",
    )


_BASE_COLUMNS = (
    "person_id",
    "year",
    "age_years",
    "age_band",
    "sex",
    "imd_decile",
    "practice_code",
    "place_code",
    "in_mid_year_population",
    "died_in_year",
)


def person_year_table(tables: Tables, years: Sequence[int]) -> ir.Table:
    """The person-year table for ``years`` (financial years by starting year).

    Columns: person_id, year, age_years, age_band, sex, imd_decile, practice_code,
    place_code, in_mid_year_population, died_in_year, one 0/1 flag per condition (``hyp``,
    ``dm``, ...), condition_count, cms_score, efi_deficits, efi, frailty, the events and
    cost (£, float) per setting (``<setting>_events``, ``<setting>_cost_gbp``),
    emergency_admissions, acsc_emergency_admissions, elective_admissions, bed_days,
    emergency_bed_days, emergency_cost_gbp, acsc_cost_gbp, maternity_events and
    total_cost_gbp. Ordered by nothing: sort when order matters.
    """
    base = _registered(tables, years)
    j = base.left_join(_condition_dates(tables), "person_id")
    j = j.left_join(_history_dates(tables), "person_id")
    j = j.left_join(_use(tables, years), ["person_id", "year"])
    end = ibis.date(j.year + 1, 3, 31)
    five_years_before = ibis.date(j.year - 4, 4, 1)
    cond_cols = C.condition_columns()

    flags = {c: _flag(j[f"{c}_date"] <= end) for c in cond_cols}
    derived_flags = {
        "can_5y": _flag((j["can_date"] <= end) & (j["can_date"] >= five_years_before)),
        **{
            f"history_{name}": _flag(j[f"history_{name}_date"] <= end)
            for name in ("falls", "fracture", "syncope", "urinary", "visual")
        },
        "care": _flag(j["social_care_events"].fill_null(0) > 0),
    }
    use = {c: j[c].fill_null(0) for c in use_columns()}
    # Built in steps so that each flag is computed once (engines do not share repeated
    # sub-expressions, and the scores reuse the flags many times).
    step = j.select(*_BASE_COLUMNS, **flags, **derived_flags, **use)
    flag = {c: step[c] for c in (*cond_cols, *derived_flags)}

    def any_of(names: Sequence[str]) -> ir.IntegerValue:
        values = [flag[n.replace(":", "_")] for n in names]
        return ibis.greatest(*values) if len(values) > 1 else values[0]

    count: ir.IntegerValue = sum((flag[c] for c in cond_cols), ibis.literal(0, "int64"))
    cms: ir.FloatingValue = sum(
        (any_of(names) * weight for _, names, weight in C.CMS_WEIGHTS), ibis.literal(0.0)
    )
    deficits: ir.IntegerValue = sum(
        (any_of(names) for _, names in C.EFI_DEFICITS), ibis.literal(0, "int64")
    )
    old = step.age_years >= C.FRAILTY_MIN_AGE
    scored = step.mutate(
        condition_count=count,
        cms_score=cms.round(4),
        efi_deficits=ibis.ifelse(old, deficits, ibis.null("int64")),
    )
    frailty = ibis.cases(
        *((scored.efi_deficits <= top, name) for name, top in C.FRAILTY_BANDS),
        else_=ibis.ifelse(scored.efi_deficits.notnull(), C.FRAILTY_SEVERE, ibis.null("string")),
    )
    scored = scored.mutate(
        efi=(scored.efi_deficits.cast("float64") / C.EFI_PROXY_SCALE).round(4),
        frailty=frailty,
    )
    return scored.select(
        *_BASE_COLUMNS,
        *cond_cols,
        "condition_count",
        "cms_score",
        "efi_deficits",
        "efi",
        "frailty",
        *use_columns(),
    )
