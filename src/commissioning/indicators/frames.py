"""Ibis query builders for indicators: the records each indicator counts, written once.

Every builder takes Ibis tables (DuckDB, Spark or any engine Ibis reaches) and returns an
Ibis expression using portable operations only. The conventions are those of
``commissioning.data.queries``: a financial year is named by the calendar year it starts
in; the mid-year population of a year is everyone registered and alive on 1 October.

A *record frame* has one row per counted record with columns ``person_id``,
``record_date`` (the date that places it in a year, quarter or month), ``provider_code``
(null where there is none), ``value`` (what a record adds: 1, a cost, an EQ-5D gain, days
at home) and ``flag`` (whether it also meets a proportion's numerator condition).
:func:`attach` adds the person's age on the record date, sex, practice and place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ibis
import ibis.expr.types as ir

from commissioning.data.queries import (
    emergency_discharges,
    financial_year,
    mid_year_population,
)
from commissioning.indicators.library import CodeList, Filter, Indicator, PopulationFilter

Tables = Mapping[str, ir.Table]

#: Bands of the 2013 European Standard Population: 0-4, 5-9, ..., 85-89, 90+.
ESP_BANDS = 19
#: Bands of the abridged life table: <1, 1-4, 5-9, ..., 85-89, 90+.
LE_BANDS = 20
CARE_HOME_PODS = ("residential_care", "nursing_care")
HOSPITAL_PODS = ("emergency_admission", "elective_inpatient")
RECORD_COLUMNS = ("person_id", "record_date", "provider_code", "value", "flag")


def period_start(date: ir.DateValue, by: str) -> ir.DateValue:
    """First day of the quarter (financial quarters start in April, July, October,
    January) or month a date falls in."""
    if by == "quarter":
        return ibis.date(date.year(), ((date.month() - 1) // 3) * 3 + 1, 1)
    if by == "month":
        return ibis.date(date.year(), date.month(), 1)
    raise ValueError(f"by must be 'quarter' or 'month', got {by!r}")


def esp_band(age: ir.IntegerValue) -> ir.IntegerValue:
    """Index of the ESP2013 five-year band (0 for 0-4, ..., 18 for 90+)."""
    return ibis.least(age // 5, ESP_BANDS - 1).cast("int64")


def le_band(age: ir.IntegerValue) -> ir.IntegerValue:
    """Index of the life-table band (0 for under 1, 1 for 1-4, 2 for 5-9, ..., 19 for 90+)."""
    return ibis.cases(
        (age < 1, 0), (age < 5, 1), else_=ibis.least(age // 5 + 1, LE_BANDS - 1)
    ).cast("int64")


def population_condition(t: ir.Table, population: PopulationFilter | Filter) -> ir.BooleanValue:
    """Age and sex limits of a population or filter, on a table with age_years and sex."""
    cond: ir.BooleanValue = ibis.literal(True)
    if population.age_min is not None:
        cond = cond & (t.age_years >= population.age_min)
    if population.age_max is not None:
        cond = cond & (t.age_years <= population.age_max)
    if population.sex is not None:
        cond = cond & (t.sex == population.sex)
    return cond


def code_column(t: ir.Table, name: str) -> ir.StringValue:
    """An ICD-10 column without dots and nulls ("" where missing); "" for every row when
    the table has no such column (``secondary_diagnosis`` and ``external_cause`` may be
    absent from files written before them)."""
    if name not in t.columns:
        return ibis.literal("")
    return t[name].fill_null("").replace(".", "")


def starts_with_any(column: ir.StringValue, prefixes: Sequence[str]) -> ir.BooleanValue:
    """Whether a dot-free code starts with any of the prefixes."""
    cond: ir.BooleanValue = ibis.literal(False)
    for prefix in prefixes:
        cond = cond | column.startswith(prefix)
    return cond


def diagnosis_condition(t: ir.Table, codes: CodeList) -> ir.BooleanValue:
    """Primary diagnosis in the code list; a code with a secondary rule (J20 for COPD in
    NHS OF 2.3.i) counts only with a secondary diagnosis starting with one of its prefixes."""
    primary = code_column(t, "primary_diagnosis")
    secondary = code_column(t, "secondary_diagnosis")
    plain = [p for p in codes.prefixes if p not in codes.secondary_rules]
    cond = starts_with_any(primary, plain)
    for prefix, needs in codes.secondary_rules.items():
        cond = cond | (primary.startswith(prefix) & starts_with_any(secondary, needs))
    return cond


def cause_condition(t: ir.Table, codes: CodeList) -> ir.BooleanValue:
    """An external cause in the code list in any position: ``external_cause`` or
    ``secondary_diagnosis`` (hospital data code chapter XX causes in a secondary position)."""
    return starts_with_any(code_column(t, "external_cause"), codes.prefixes) | starts_with_any(
        code_column(t, "secondary_diagnosis"), codes.prefixes
    )


def _conditions(t: ir.Table, spec: Filter, codelists: Mapping[str, CodeList]) -> ir.BooleanValue:
    """The non-age conditions of a filter, on its source table."""
    cond: ir.BooleanValue = ibis.literal(True)
    if spec.point_of_delivery:
        cond = cond & t.point_of_delivery.isin(list(spec.point_of_delivery))
    if spec.diagnosis_in:
        cond = cond & diagnosis_condition(t, codelists[spec.diagnosis_in])
    if spec.cause_in:
        cond = cond & cause_condition(t, codelists[spec.cause_in])
    if spec.place_of_death_in:
        cond = cond & t.place_of_death.isin(list(spec.place_of_death_in))
    if spec.procedure:
        cond = cond & (t.procedure == spec.procedure)
    if spec.response_min is not None:
        cond = cond & (t.response >= spec.response_min)
    return cond


def _source(tables: Tables, spec: Filter) -> tuple[ir.Table, ir.Value, ir.Value]:
    """The source table of a filter, its record date and its provider code."""
    null_provider = ibis.null().cast("string")
    if spec.source == "activity":
        t = tables["activity"]
        return t, t.start_date, t.provider_code
    if spec.source == "deaths":
        t = tables["people"]
        return t.filter(t.death_date.notnull()), t.death_date, null_provider
    if spec.source == "proms":
        act = tables["activity"].select("activity_id", "provider_code")
        t = tables["proms"].left_join(act, "activity_id")
        return t, t.operation_date, t.provider_code
    t = tables["experience"]
    return t, t.survey_date, null_provider


def _value(t: ir.Table, spec: Filter) -> ir.FloatingValue:
    if spec.value == "count":
        return ibis.literal(1.0)
    if spec.value == "eq5d_gain":
        return (t.eq5d_index_post - t.eq5d_index_pre).cast("float64")
    return t[spec.value].cast("float64").fill_null(0.0)


def filter_records(
    tables: Tables,
    spec: Filter,
    codelists: Mapping[str, CodeList],
    flag_spec: Filter | None = None,
) -> ir.Table:
    """Records meeting ``spec``; ``flag`` marks those also meeting ``flag_spec``."""
    t, date, provider = _source(tables, spec)
    t = t.mutate(_record_date=date, _provider=provider)
    t = t.filter(_conditions(t, spec, codelists))
    flag = _conditions(t, flag_spec, codelists) if flag_spec is not None else ibis.literal(True)
    return t.select(
        person_id=t.person_id,
        record_date=t._record_date.cast("date"),
        provider_code=t._provider.cast("string"),
        value=_value(t, spec),
        flag=flag,
    )


#: Readmission exclusions (NHS OF 3b; NHS Digital I02040 v3): cancer other than benign or
#: in situ (C00-C97) and chemotherapy for cancer (Z51.1), in any diagnosis position, and
#: obstetrics (O00-O99, standing in for the obstetric specialty, which is not recorded).
READMISSION_CANCER = ("C", "Z511")
READMISSION_OBSTETRIC = ("O",)
READMISSION_INDEX_PODS = ("emergency_admission", "elective_inpatient")
READMISSION_DAYS = 29


def _any_diagnosis(t: ir.Table, prefixes: Sequence[str]) -> ir.BooleanValue:
    return starts_with_any(code_column(t, "primary_diagnosis"), prefixes) | starts_with_any(
        code_column(t, "secondary_diagnosis"), prefixes
    )


def readmission_spells(tables: Tables) -> ir.Table:
    """Admitted spells with the flags the readmission indicator needs: ``index_ok`` (may be
    an index spell: an ordinary admission, not cancer, chemotherapy or obstetric, patient
    discharged alive) and ``readmission_ok`` (may count as a readmission: an emergency
    admission, not cancer, chemotherapy or obstetric)."""
    act = tables["activity"]
    people = tables["people"].select("person_id", "death_date")
    spells = act.filter(act.point_of_delivery.isin(list(READMISSION_INDEX_PODS))).join(
        people, "person_id"
    )
    excluded = _any_diagnosis(spells, READMISSION_CANCER) | _any_diagnosis(
        spells, READMISSION_OBSTETRIC
    )
    died_in_hospital = spells.death_date.notnull() & (spells.death_date <= spells.end_date)
    return spells.select(
        "activity_id",
        "person_id",
        "start_date",
        "end_date",
        "provider_code",
        index_ok=~excluded & ~died_in_hospital,
        readmission_ok=~excluded & (spells.point_of_delivery == "emergency_admission"),
    )


def readmission_30_days(tables: Tables) -> ir.Table:
    """Index spells (record date: discharge); ``flag`` when an emergency readmission starts
    0 to 29 days (inclusive) after discharge.

    After NHS Outcomes Framework 3b and NHS Digital I02040 v3, "Emergency readmissions
    within 30 days of discharge from hospital": index spells are ordinary admissions
    (emergency and elective inpatient; day cases are not in the denominator) discharged
    alive; spells with cancer (C00-C97) or chemotherapy for cancer (Z51.1) in the primary
    or secondary diagnosis, or obstetric (O00-O99), are excluded as index spells and as
    readmissions. A readmission counts even if the patient then dies.
    """
    spells = readmission_spells(tables)
    idx = spells.filter(spells.index_ok)
    nxt = spells.filter(spells.readmission_ok).select(
        person_id2=spells.person_id, start2=spells.start_date, id2=spells.activity_id
    )
    pairs = idx.join(
        nxt,
        [
            idx.person_id == nxt.person_id2,
            nxt.start2 >= idx.end_date,
            nxt.start2 <= idx.end_date + ibis.interval(days=READMISSION_DAYS),
            nxt.id2 != idx.activity_id,
        ],
    )
    hit = pairs.select(hit_id=pairs.activity_id).distinct()
    j = idx.left_join(hit, idx.activity_id == hit.hit_id)
    return j.select(
        person_id=j.person_id,
        record_date=j.end_date,
        provider_code=j.provider_code,
        value=ibis.literal(1.0),
        flag=j.hit_id.notnull(),
    )


def _stay_on(
    idx: ir.Table, tables: Tables, pods: Sequence[str], day: str, strict_start: bool
) -> ir.Table:
    """activity_id of the index rows with a stay of ``pods`` covering ``idx[day]``."""
    act = tables["activity"]
    stays = act.filter(act.point_of_delivery.isin(list(pods))).select(
        person_id2=act.person_id, s_id=act.activity_id, s_start=act.start_date, s_end=act.end_date
    )
    began = stays.s_start < idx[day] if strict_start else stays.s_start <= idx[day]
    j = idx.join(
        stays,
        [
            idx.person_id == stays.person_id2,
            began,
            stays.s_end >= idx[day],
            stays.s_id != idx.activity_id,
        ],
    )
    return j.select(hit_id=j.activity_id).distinct()


def at_home_91_days(tables: Tables) -> ir.Table:
    """Older people's discharges; ``flag`` when at home 91 days after discharge.

    After ASCOF 2B(1) (NHS OF 3.6.i), "Proportion of older people (65 and over) who were
    still at home 91 days after discharge from hospital into reablement/rehabilitation
    services": the denominator is discharges alive of people who were not living in a care
    home before admission (a residential or nursing placement already running on the day
    of admission); the numerator is those alive, not in a care home placement and not in
    hospital on the 91st day after discharge. Reablement is not recorded, so every
    emergency discharge stands in for a discharge into reablement (adapted).
    """
    idx = emergency_discharges(tables).select(
        "activity_id", "person_id", "start_date", "end_date", "provider_code", "death_date"
    )
    idx = idx.mutate(day_91=idx.end_date + ibis.interval(days=91))
    before = _stay_on(idx, tables, CARE_HOME_PODS, "start_date", strict_start=True)
    idx = idx.left_join(before, idx.activity_id == before.hit_id)
    idx = idx.filter(idx.hit_id.isnull()).drop("hit_id")
    care = _stay_on(idx, tables, CARE_HOME_PODS, "day_91", strict_start=False)
    care = care.select(care_id=care.hit_id)
    hosp = _stay_on(idx, tables, HOSPITAL_PODS, "day_91", strict_start=False)
    hosp = hosp.select(hosp_id=hosp.hit_id)
    j = idx.left_join(care, idx.activity_id == care.care_id)
    j = j.left_join(hosp, j.activity_id == hosp.hosp_id)
    alive = j.death_date.isnull() | (j.death_date > j.day_91)
    return j.select(
        person_id=j.person_id,
        record_date=j.end_date,
        provider_code=j.provider_code,
        value=ibis.literal(1.0),
        flag=alive & j.care_id.isnull() & j.hosp_id.isnull(),
    )


def _overlap_days(frame: ir.Table, tables: Tables, pods: Sequence[str], name: str) -> ir.Table:
    """Days of stays of ``pods`` inside each person-year window [window_start, window_end)."""
    act = tables["activity"]
    stays = act.filter(act.point_of_delivery.isin(list(pods))).select(
        p2=act.person_id, s_start=act.start_date, s_end=act.end_date
    )
    j = frame.join(
        stays,
        [
            frame.person_id == stays.p2,
            stays.s_start < frame.window_end,
            stays.s_end > frame.window_start,
        ],
    )
    days = ibis.least(j.s_end, j.window_end).delta(
        ibis.greatest(j.s_start, j.window_start), unit="day"
    )
    j = j.mutate(_days=days)
    return j.group_by(["person_id", "year"]).aggregate(**{name: j._days.sum()})


def days_at_home(tables: Tables, years: Sequence[int]) -> ir.Table:
    """One record per mid-year person-year: days in the financial year alive, registered
    and neither in hospital (emergency or elective inpatient stays) nor in a care home."""
    pop = mid_year_population(tables, years)
    start = ibis.greatest(ibis.date(pop.year, 4, 1), pop.registration_date)
    far = ibis.date(9999, 12, 31)
    end = ibis.least(
        ibis.date(pop.year + 1, 4, 1),
        pop.death_date.fill_null(far),
        pop.deregistration_date.fill_null(far),
    )
    frame = pop.mutate(window_start=start, window_end=end)
    # (mutate then select: a select with new columns straight off a join cannot be joined)
    frame = frame.select("person_id", "year", "window_start", "window_end")
    hosp = _overlap_days(frame, tables, HOSPITAL_PODS, "hospital_days")
    care = _overlap_days(frame, tables, CARE_HOME_PODS, "care_days")
    j = frame.left_join(hosp, ["person_id", "year"]).left_join(care, ["person_id", "year"])
    alive = j.window_end.delta(j.window_start, unit="day")
    away = j.hospital_days.fill_null(0) + j.care_days.fill_null(0)
    return j.select(
        person_id=j.person_id,
        record_date=ibis.date(j.year, 10, 1),
        provider_code=ibis.null().cast("string"),
        value=ibis.greatest(alive - away, 0).cast("float64"),
        flag=ibis.literal(True),
    )


def records(
    tables: Tables, indicator: Indicator, years: Sequence[int], codelists: Mapping[str, CodeList]
) -> ir.Table:
    """The record frame of an indicator (before age limits and the choice of years)."""
    comp = indicator.computation
    if comp == "readmission_30_days":
        return readmission_30_days(tables)
    if comp == "at_home_91_days":
        return at_home_91_days(tables)
    if comp == "days_at_home":
        return days_at_home(tables, years)
    if comp == "life_expectancy":
        return filter_records(tables, Filter(source="deaths"), codelists)
    if indicator.measure == "proportion":
        assert indicator.denominator is not None
        return filter_records(tables, indicator.denominator, codelists, indicator.numerator)
    assert indicator.numerator is not None
    return filter_records(tables, indicator.numerator, codelists)


def attach(tables: Tables, frame: ir.Table, years: Sequence[int]) -> ir.Table:
    """Records in ``years`` with year, age on the record date, the person's columns and
    their practice's place."""
    people = tables["people"]
    practices = tables["gp_practices"].select("practice_code", "place_code")
    keep = [c for c in people.columns if c not in ("death_date",)]
    j = frame.join(people.select(*keep), "person_id").join(practices, "practice_code")
    j = j.mutate(year=financial_year(j.record_date))
    j = j.filter(j.year.isin(list(years)))
    before_birthday = (j.record_date.month() < j.birth_month).cast("int64")
    return j.mutate(age_years=j.record_date.year() - j.birth_year - before_birthday)
