"""Core queries over the canonical tables, written once in Ibis (C4).

Each function takes Ibis tables (bound to DuckDB, Spark or any SQL warehouse
Ibis reaches) and returns an Ibis expression; nothing here knows which engine
runs it.  The parity test runs them on DuckDB and on Spark and compares.

Conventions: a *financial year* is named by the calendar year it starts in
(2022 is 1 April 2022 to 31 March 2023); the *mid-year population* of a year is
everyone registered and alive on 1 October of it; age is in completed years on
that day, from year and month of birth.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ibis
import ibis.expr.types as ir

Tables = Mapping[str, ir.Table]

AGE_BANDS_5Y = tuple(range(0, 90, 5))  # 0-4 ... 85-89, then 90+


def financial_year(date: ir.DateValue) -> ir.IntegerValue:
    """Financial year a date falls in, named by the calendar year it starts in."""
    return date.year() - (date.month() < 4).cast("int64")


def mid_year_population(tables: Tables, years: Sequence[int]) -> ir.Table:
    """One row a person and year for everyone registered and alive on 1 October.

    Columns: person_id, year, age_years, place_code and every other column of ``people``
    (so any person-level column can group the result).
    """
    people = tables["people"]
    practices = tables["gp_practices"].select("practice_code", "place_code")
    yrs = ibis.memtable({"year": list(years)}, schema={"year": "int64"})
    j = people.cross_join(yrs)
    census = ibis.date(j.year, 10, 1)
    alive = (
        (j.registration_date <= census)
        & (j.deregistration_date.isnull() | (j.deregistration_date > census))
        & (j.death_date.isnull() | (j.death_date > census))
        & ((j.birth_year < j.year) | ((j.birth_year == j.year) & (j.birth_month <= 10)))
    )
    pop = j.filter(alive).mutate(
        age_years=(j.year - j.birth_year - (j.birth_month > 10).cast("int64")),
    )
    return pop.join(practices, "practice_code")


def home_place(tables: Tables) -> str:
    """The commissioner's own place (``places.is_home = 1``)."""
    places = tables["places"]
    rows = places.filter(places.is_home == 1).select("place_code").execute()
    if rows.empty:
        raise ValueError("no place has is_home = 1: mark the home place in the places table")
    return str(rows["place_code"].iloc[0])


def activity_years(tables: Tables) -> list[int]:
    """Financial years with any activity, in order."""
    act = tables["activity"]
    out = act.select(year=financial_year(act.start_date)).distinct().execute()
    return sorted(int(y) for y in out["year"])


def activity_in_years(tables: Tables, years: Sequence[int]) -> ir.Table:
    """Activity whose start date falls in the given financial years, with ``year``."""
    act = tables["activity"]
    act = act.mutate(year=financial_year(act.start_date))
    return act.filter(act.year.isin(list(years)))


def population_summary(tables: Tables, years: Sequence[int]) -> ir.Table:
    """Mid-year population pooled over years: person-years and shares by age and sex."""
    pop = mid_year_population(tables, years)
    return pop.aggregate(
        person_years=pop.count(),
        aged_0_15=(pop.age_years <= 15).cast("int64").sum(),
        aged_65_plus=(pop.age_years >= 65).cast("int64").sum(),
        aged_85_plus=(pop.age_years >= 85).cast("int64").sum(),
        male=(pop.sex == "M").cast("int64").sum(),
    )


def deaths_summary(tables: Tables, years: Sequence[int]) -> ir.Table:
    """Deaths in the years (of registered people) and how many were in hospital."""
    people = tables["people"]
    d = people.filter(
        people.death_date.notnull() & financial_year(people.death_date).isin(list(years))
    )
    return d.aggregate(
        deaths=d.count(),
        deaths_in_hospital=(d.place_of_death == "hospital").cast("int64").sum(),
        deaths_in_care_home=(d.place_of_death == "care_home").cast("int64").sum(),
        deaths_at_home=(d.place_of_death == "home").cast("int64").sum(),
    )


HOSPITAL_SETTINGS = ("admitted_patient_care", "outpatient", "ae")


def last_year_of_life(tables: Tables, years: Sequence[int]) -> ir.Table:
    """People who died in the years (by financial year of death) and the cost of their
    hospital care (admitted patient care, outpatients, A&E) and emergency admissions in
    the 365 days to their death. Only deaths at least 365 days after the first activity in
    the data count, so every window is whole."""
    people = tables["people"]
    act = tables["activity"]
    first = act.start_date.min().as_scalar()
    d = people.filter(
        people.death_date.notnull()
        & financial_year(people.death_date).isin(list(years))
        & (people.death_date >= first + ibis.interval(days=365))
    ).select("person_id", "death_date")
    hospital = act.filter(act.setting.isin(list(HOSPITAL_SETTINGS))).select(
        "person_id", "start_date", "cost_gbp", "point_of_delivery"
    )
    j = d.left_join(hospital, "person_id")
    inside = (j.start_date <= j.death_date) & (
        j.start_date > j.death_date - ibis.interval(days=365)
    )
    cost = ibis.ifelse(inside, j.cost_gbp.cast("float64"), 0.0)
    emergency = inside & (j.point_of_delivery == "emergency_admission")
    return j.aggregate(
        decedents=j.person_id.nunique(),
        hospital_cost_gbp=cost.sum(),
        emergency_cost_gbp=ibis.ifelse(emergency, j.cost_gbp.cast("float64"), 0.0).sum(),
    )


def emergency_admissions_in_last_year_of_life(tables: Tables, years: Sequence[int]) -> ir.Table:
    """Emergency admissions in the years, and those of people who died within 365 days of
    the admission. Only admissions at least 365 days before the last activity in the data
    count, so every death that could follow is seen."""
    act = tables["activity"]
    last = act.start_date.max().as_scalar()
    em = act.filter(
        (act.point_of_delivery == "emergency_admission")
        & financial_year(act.start_date).isin(list(years))
        & (act.start_date <= last - ibis.interval(days=365))
    ).select("person_id", "start_date")
    people = tables["people"].select("person_id", "death_date")
    j = em.left_join(people, "person_id")
    dying = (
        j.death_date.notnull()
        & (j.death_date >= j.start_date)
        & (j.death_date < j.start_date + ibis.interval(days=365))
    )
    return j.aggregate(admissions=j.count(), in_last_year=dying.cast("int64").sum())


def care_home_residents_65_plus(tables: Tables, years: Sequence[int]) -> ir.Table:
    """People aged 65 and over on 1 October, and how many of them were living in a care
    home that day (a residential or nursing placement spanning it), pooled over years."""
    pop = mid_year_population(tables, years)
    pop = pop.filter(pop.age_years >= 65).select("person_id", "year")
    act = tables["activity"]
    stays = act.filter(act.point_of_delivery.isin(["residential_care", "nursing_care"]))
    stays = stays.select("person_id", "start_date", "end_date")
    j = pop.join(stays, "person_id")
    census = ibis.date(j.year, 10, 1)
    j = j.filter((j.start_date <= census) & (j.end_date >= census))
    residents = j.select("person_id", "year").distinct().aggregate(residents=ibis._.count())
    return pop.aggregate(people_65_plus=pop.count()).cross_join(residents)


def prevalence(tables: Tables, years: Sequence[int], min_age: int = 0) -> ir.Table:
    """People on each condition's register on 1 October, pooled over years.

    Columns: condition_code, people (numerator), person_years (denominator of people
    aged ``min_age`` and over).
    """
    pop = mid_year_population(tables, years)
    pop = pop.filter(pop.age_years >= min_age)
    cond = tables["conditions"]
    j = pop.join(cond, "person_id")
    j = j.filter(j.diagnosis_date <= ibis.date(j.year, 10, 1))
    num = j.group_by("condition_code").aggregate(people=j.count())
    den = pop.aggregate(person_years=pop.count())
    return num.cross_join(den).order_by("condition_code")


def multimorbidity_65_plus(
    tables: Tables, years: Sequence[int], conditions: Sequence[str]
) -> ir.Table:
    """Among people 65 and over: how many have two or more of ``conditions``."""
    pop = mid_year_population(tables, years)
    pop = pop.filter(pop.age_years >= 65)
    cond = tables["conditions"]
    cond = cond.filter(cond.condition_code.isin(list(conditions)))
    j = pop.join(cond, "person_id")
    j = j.filter(j.diagnosis_date <= ibis.date(j.year, 10, 1))
    counts = j.group_by(["person_id", "year"]).aggregate(n=j.count())
    multi = counts.filter(counts.n >= 2)
    two = multi.aggregate(two_or_more=multi.count())
    den = pop.aggregate(person_years=pop.count())
    return two.cross_join(den)


def activity_by_point_of_delivery(tables: Tables, years: Sequence[int]) -> ir.Table:
    """Events, units and cost by point of delivery, pooled over the years."""
    act = activity_in_years(tables, years)
    return (
        act.group_by(["setting", "point_of_delivery"])
        .aggregate(
            events=act.count(),
            units=act.units.sum(),
            cost_gbp=act.cost_gbp.sum(),
        )
        .order_by("point_of_delivery")
    )


def activity_rates_by_place(tables: Tables, years: Sequence[int]) -> ir.Table:
    """Events and spend per 1,000 mid-year population by place and setting."""
    pop = mid_year_population(tables, years)
    den = pop.group_by("place_code").aggregate(person_years=pop.count())
    act = activity_in_years(tables, years)
    people = tables["people"].select("person_id", "practice_code")
    practices = tables["gp_practices"].select("practice_code", "place_code")
    act = act.join(people, "person_id").join(practices, "practice_code")
    num = act.group_by(["place_code", "setting"]).aggregate(
        events=act.count(), cost_gbp=act.cost_gbp.sum()
    )
    j = num.join(den, "place_code")
    return j.mutate(
        events_per_1000=j.events * 1000.0 / j.person_years,
        cost_per_head_gbp=j.cost_gbp.cast("float64") / j.person_years,
    ).order_by(["place_code", "setting"])


def emergency_discharges(tables: Tables) -> ir.Table:
    """Emergency admissions whose patient was alive at discharge (every year), with the
    patient's ``death_date``."""
    act = tables["activity"]
    em = act.filter(act.point_of_delivery == "emergency_admission")
    people = tables["people"].select("person_id", "death_date")
    em = em.join(people, "person_id")
    return em.filter(em.death_date.isnull() | (em.death_date > em.end_date))


def readmission_flags(tables: Tables) -> ir.Table:
    """Each emergency admission discharged alive, with ``readmitted`` true when another
    emergency admission starts within 30 days of its discharge (NHS Outcomes Framework 3b
    style). Columns: activity_id, person_id, start_date, end_date, provider_code,
    readmitted."""
    idx = emergency_discharges(tables).select(
        "activity_id", "person_id", "start_date", "end_date", "provider_code"
    )
    act = tables["activity"]
    nxt = act.filter(act.point_of_delivery == "emergency_admission").select(
        person_id2=act.person_id, start2=act.start_date, id2=act.activity_id
    )
    pairs = idx.join(
        nxt,
        [
            idx.person_id == nxt.person_id2,
            nxt.start2 >= idx.end_date,
            nxt.start2 <= idx.end_date + ibis.interval(days=30),
            nxt.id2 != idx.activity_id,
        ],
    )
    hit = pairs.select(hit_id=pairs.activity_id).distinct()
    j = idx.left_join(hit, idx.activity_id == hit.hit_id)
    return j.select(
        "activity_id",
        "person_id",
        "start_date",
        "end_date",
        "provider_code",
        readmitted=j.hit_id.notnull(),
    )


def emergency_readmissions(tables: Tables, years: Sequence[int]) -> ir.Table:
    """Emergency admissions (starting in the years) discharged alive, and how many were
    followed by another emergency admission starting within 30 days of discharge."""
    flags = readmission_flags(tables)
    flags = flags.filter(financial_year(flags.start_date).isin(list(years)))
    return flags.aggregate(
        index_admissions=flags.count(), readmitted=flags.readmitted.cast("int64").sum()
    )


def person_costs(tables: Tables, years: Sequence[int]) -> ir.Table:
    """Each mid-year person-year with their total cost in that year (0 if none)."""
    pop = mid_year_population(tables, years)
    act = activity_in_years(tables, years)
    cost = act.group_by(["person_id", "year"]).aggregate(cost_gbp=act.cost_gbp.sum())
    j = pop.left_join(cost, ["person_id", "year"])
    return j.select(
        pop.person_id,
        pop.year,
        pop.age_years,
        cost_gbp=j.cost_gbp.fill_null(0).cast("float64"),
    )


def cost_concentration(tables: Tables, years: Sequence[int]) -> ir.Table:
    """Share of spend used by the costliest 1% and 5% of person-years, within each year."""
    pc = person_costs(tables, years)
    ranked = pc.mutate(
        rank=ibis.row_number().over(
            group_by=pc.year, order_by=[ibis.desc(pc.cost_gbp), pc.person_id]
        ),
        n=pc.count().over(group_by=pc.year),
    )
    return ranked.aggregate(
        total_gbp=ranked.cost_gbp.sum(),
        top_1_gbp=(ranked.rank < ranked.n * 0.01).ifelse(ranked.cost_gbp, 0.0).sum(),
        top_5_gbp=(ranked.rank < ranked.n * 0.05).ifelse(ranked.cost_gbp, 0.0).sum(),
        person_years=ranked.count(),
    )


def emergency_admission_gradients(tables: Tables, years: Sequence[int]) -> ir.Table:
    """Emergency admissions and person-years by age group and deprivation decile."""
    pop = mid_year_population(tables, years)
    act = activity_in_years(tables, years)
    em = act.filter(act.point_of_delivery == "emergency_admission")
    em = em.group_by(["person_id", "year"]).aggregate(admissions=em.count())
    j = pop.left_join(em, ["person_id", "year"])
    j = j.select(pop.age_years, pop.imd_decile, admissions=j.admissions.fill_null(0))
    group = ibis.cases(
        (j.age_years >= 85, "85+"),
        ((j.age_years >= 20) & (j.age_years < 40), "20-39"),
        else_="other",
    )
    g = j.mutate(age_group=group)
    return (
        g.group_by(["age_group", "imd_decile"])
        .aggregate(admissions=g.admissions.sum(), person_years=g.count())
        .order_by(["age_group", "imd_decile"])
    )


def falls_admissions_65_plus(tables: Tables, years: Sequence[int]) -> ir.Table:
    """Emergency admissions for an injury (primary diagnosis ICD-10 S or T) caused by a
    fall (external cause W00 to W19) of people aged 65 and over on 1 October, and their
    person-years: a crude version of PHOF indicator C29."""
    pop = mid_year_population(tables, years)
    pop = pop.filter(pop.age_years >= 65).select("person_id", "year")
    act = activity_in_years(tables, years)
    cause = act.external_cause.fill_null("")
    falls = act.filter(
        (act.point_of_delivery == "emergency_admission")
        & act.primary_diagnosis.fill_null("").re_search("^[ST]")
        & cause.re_search("^W(0[0-9]|1[0-9])")
    )
    falls = falls.group_by(["person_id", "year"]).aggregate(admissions=falls.count())
    j = pop.left_join(falls, ["person_id", "year"])
    return j.aggregate(admissions=j.admissions.fill_null(0).sum(), person_years=j.count())


def proms_gain(tables: Tables) -> ir.Table:
    """Mean EQ-5D index gain by procedure."""
    p = tables["proms"]
    return (
        p.group_by("procedure")
        .aggregate(
            responses=p.count(),
            mean_gain=(p.eq5d_index_post - p.eq5d_index_pre).mean(),
        )
        .order_by("procedure")
    )
