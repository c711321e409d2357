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

from collections.abc import Callable, Sequence

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


#: The coded histories of the frailty index, each a list of ICD-10 prefixes of the primary
#: diagnosis (falls are found in any position: see :func:`_activity_codes`).
HISTORY_LISTS: dict[str, tuple[str, ...]] = {
    "falls": C.FALL_PREFIXES,
    "fracture": C.FRAGILITY_FRACTURE_PREFIXES,
    "syncope": C.SYNCOPE_PREFIXES,
    "urinary": C.URINARY_PREFIXES,
    "visual": C.VISUAL_PREFIXES,
}


CodeFlag = Callable[[ir.StringValue], ir.BooleanValue]


def _prefixed(prefixes: Sequence[str]) -> CodeFlag:
    """Whether a dot-free code starts with one of ``prefixes``."""
    return lambda dx: _starts_with_any(dx, prefixes)


def _lookup(act: ir.Table, column: str, flags: dict[str, CodeFlag]) -> ir.Table:
    """``flags`` of each distinct value of ``column`` of the activity table, computed once
    a code rather than once a row (a million events have a few thousand codes). The
    flags are expressions of ``dx``, the code with its dot taken out; the table has the
    code as ``<column>__code``."""
    key = f"{column}__code"
    codes = act.select(**{key: act[column]}).distinct()
    codes = codes.mutate(dx=codes[key].fill_null("").replace(".", ""))
    return codes.select(key, **{name: flag(codes.dx) for name, flag in flags.items()})


def _activity_codes(act: ir.Table) -> ir.Table:
    """The activity table with the flags its codes give (each looked up over the distinct
    codes): ``fall`` (W00-W19 in the primary, secondary or external cause position),
    ``history_<name>`` (the primary diagnosis in a frailty history list), ``acsc`` (an
    ambulatory care sensitive condition: chronic or acute list, J20 only with a COPD
    secondary diagnosis) and ``maternity`` (primary diagnosis in chapter O or P)."""
    rules = C.ACSC_CHRONIC.secondary_rules
    plain = [p for p in C.ACSC_ICD10_PREFIXES if p not in rules]
    rule_prefixes = list(rules)
    primary_flags: dict[str, CodeFlag] = {
        "p_fall": _prefixed(C.FALL_PREFIXES),
        **{
            f"history_{name}": _prefixed(prefixes)
            for name, prefixes in HISTORY_LISTS.items()
            if name != "falls"
        },
        "acsc_plain": _prefixed(plain),
        **{f"acsc_rule_{i}": _prefixed((p,)) for i, p in enumerate(rule_prefixes)},
        "maternity": _prefixed(("O", "P")),
    }
    flagged = act.mutate(
        primary_diagnosis__code=act.primary_diagnosis,
        **{
            f"{c}__code": act[c]
            for c in ("secondary_diagnosis", "external_cause")
            if c in act.columns
        },
    )
    flagged = flagged.left_join(
        _lookup(act, "primary_diagnosis", primary_flags), "primary_diagnosis__code"
    )
    secondary_fall: ir.BooleanValue = ibis.literal(False)
    secondary_rule = [ibis.literal(False) for _ in rule_prefixes]
    if "secondary_diagnosis" in act.columns:
        secondary_flags: dict[str, CodeFlag] = {
            "s_fall": _prefixed(C.FALL_PREFIXES),
            **{f"s_rule_{i}": _prefixed(rules[p]) for i, p in enumerate(rule_prefixes)},
        }
        flagged = flagged.left_join(
            _lookup(act, "secondary_diagnosis", secondary_flags), "secondary_diagnosis__code"
        )
        secondary_fall = flagged.s_fall.fill_null(False)
        secondary_rule = [
            flagged[f"s_rule_{i}"].fill_null(False) for i in range(len(rule_prefixes))
        ]
    cause_fall: ir.BooleanValue = ibis.literal(False)
    if "external_cause" in act.columns:
        cause = {"c_fall": _prefixed(C.FALL_PREFIXES)}
        flagged = flagged.left_join(_lookup(act, "external_cause", cause), "external_cause__code")
        cause_fall = flagged.c_fall.fill_null(False)
    acsc = flagged.acsc_plain.fill_null(False)
    for i in range(len(rule_prefixes)):
        acsc = acsc | (flagged[f"acsc_rule_{i}"].fill_null(False) & secondary_rule[i])
    return flagged.select(
        *act.columns,
        fall=flagged.p_fall.fill_null(False) | secondary_fall | cause_fall,
        **{
            f"history_{name}": flagged[f"history_{name}"].fill_null(False)
            for name in HISTORY_LISTS
            if name != "falls"
        },
        acsc=acsc,
        maternity=flagged.maternity.fill_null(False),
    )


def _activity_by_year(tables: Tables) -> ir.Table:
    """One scan of the activity table: per person and financial year, the use and cost
    of the year and the first date of each coded history (for the frailty index)."""
    act = _activity_codes(tables["activity"])
    act = act.mutate(year=financial_year(act.start_date), cost=act.cost_gbp.cast("float64"))
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
    history = {
        f"history_{name}_date": act.start_date.min(
            where=act.fall if name == "falls" else act[f"history_{name}"]
        )
        for name in HISTORY_LISTS
    }
    return act.group_by(["person_id", "year"]).aggregate(**metrics, **history)


def _history_dates(by_year: ir.Table) -> ir.Table:
    """First date of each coded history used by the frailty index, per person (from the
    per-year table, which is far smaller than the activity)."""
    return by_year.group_by("person_id").aggregate(
        **{f"history_{name}_date": by_year[f"history_{name}_date"].min() for name in HISTORY_LISTS}
    )


def _use(by_year: ir.Table, years: Sequence[int]) -> ir.Table:
    """Use and cost per person and year, for ``years``."""
    return by_year.filter(by_year.year.isin(list(years))).select(
        "person_id", "year", *use_columns()
    )


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
    by_year = _activity_by_year(tables)
    j = base.left_join(_condition_dates(tables), "person_id")
    j = j.left_join(_history_dates(by_year), "person_id")
    j = j.left_join(_use(by_year, years), ["person_id", "year"])
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
