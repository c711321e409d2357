"""Synthetic people hold up when an analyst slices them: diagnoses fit age and sex, injuries
carry an external cause, falls fall on older people."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from commissioning.synthetic.simulate import FALL_CAUSES

#: Age in completed months on the day of the event, from the first of the month of birth
#: (the data keep birth to the month, so this can be up to a month above the true age).
MONTHS = "date_diff('month', make_date(p.birth_year, p.birth_month, 1), a.start_date)"
AGE = f"({MONTHS} // 12)"


def outside(low: int, high: int | None = None) -> str:
    """Rows whose age is surely below ``low`` or surely above ``high`` (years)."""
    above = f" OR {MONTHS} > {12 * (high + 1)}" if high is not None else ""
    return f"({MONTHS} < {12 * low}{above})"


@pytest.fixture(scope="module")
def con(calibration_population: Path) -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    for name in ("people", "activity"):
        c.execute(
            f"CREATE VIEW {name} AS SELECT * FROM "
            f"read_parquet('{calibration_population}/{name}.parquet')"
        )
    return c


def _count(con: duckdb.DuckDBPyConnection, where: str) -> int:
    sql = f"SELECT count(*) FROM activity a JOIN people p USING (nhs_number) WHERE {where}"
    row = con.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize(
    ("codes", "wrong"),
    [
        ("'O47.9', 'O80'", f"p.sex = 'M' OR {outside(15, 49)}"),  # pregnancy
        ("'D25.9'", f"p.sex = 'M' OR {outside(25, 64)}"),  # fibroids
        ("'N40'", f"p.sex = 'F' OR {outside(40)}"),  # prostate
        ("'P59.9'", f"{MONTHS} > 12"),  # neonatal jaundice
        ("'H25.9'", outside(50)),  # senile cataract
    ],
)
def test_no_diagnosis_falls_outside_its_sex_and_age(
    con: duckdb.DuckDBPyConnection, codes: str, wrong: str
) -> None:
    assert _count(con, f"a.primary_diagnosis IN ({codes})") > 0
    assert _count(con, f"a.primary_diagnosis IN ({codes}) AND ({wrong})") == 0


def test_hip_fractures_are_mostly_of_older_people(con: duckdb.DuckDBPyConnection) -> None:
    hips = _count(con, "a.primary_diagnosis = 'S72.0'")
    older = _count(con, f"a.primary_diagnosis = 'S72.0' AND {AGE} >= 65")
    # In England about 95% of hip fractures are in people aged 65 and over (National Hip
    # Fracture Database); at least 85% here.
    assert hips > 100
    assert older / hips >= 0.85


def test_injuries_and_only_injuries_carry_an_external_cause(
    con: duckdb.DuckDBPyConnection,
) -> None:
    injury = "regexp_matches(a.primary_diagnosis, '^[ST]')"
    hospital = "a.point_of_delivery IN ('emergency_admission', 'ae_attendance')"
    assert _count(con, f"{hospital} AND {injury} AND a.external_cause IS NULL") == 0
    assert _count(con, f"a.external_cause IS NOT NULL AND NOT {injury}") == 0
    assert _count(con, "a.primary_diagnosis LIKE 'W%'") == 0  # never a primary diagnosis
    falls = f"a.external_cause IN ({', '.join(repr(c) for c in FALL_CAUSES)})"
    older = _count(con, f"{hospital} AND {falls} AND {AGE} >= 65")
    injuries_older = _count(con, f"{hospital} AND {injury} AND {AGE} >= 65")
    assert older / injuries_older >= 0.75  # most injuries of older people are falls


def test_admissions_carry_a_secondary_diagnosis_from_the_persons_conditions(
    con: duckdb.DuckDBPyConnection,
) -> None:
    admitted = "a.point_of_delivery = 'emergency_admission'"
    with_secondary = _count(con, f"{admitted} AND a.secondary_diagnosis IS NOT NULL")
    assert with_secondary > 0.3 * _count(con, admitted)
    assert _count(con, "a.secondary_diagnosis = a.primary_diagnosis") == 0


def test_low_value_procedures_fit_their_patients_and_vary_by_practice(
    con: duckdb.DuckDBPyConnection, calibration_population: Path
) -> None:
    grommets = "a.procedure_code = 'D15.1'"
    assert _count(con, grommets) > 0
    assert _count(con, f"{grommets} AND {outside(1, 12)}") == 0
    arthroscopy = "a.procedure_code = 'W85.1'"
    con.execute(
        "CREATE VIEW conditions AS SELECT * FROM "
        f"read_parquet('{calibration_population}/conditions.parquet')"
    )
    without_oa = con.execute(
        "SELECT count(*) FROM activity a WHERE a.procedure_code = 'W85.1' AND NOT EXISTS "
        "(SELECT 1 FROM conditions c WHERE c.nhs_number = a.nhs_number "
        "AND c.condition_code = 'OA' AND c.diagnosis_date <= a.start_date)"
    ).fetchone()
    assert _count(con, arthroscopy) > 0 and without_oa == (0,)
    # The practice planted with three times the rate has the highest rate of its place.
    effects = f"read_parquet('{calibration_population}/synthetic_practice_effects.parquet')"
    planted = con.execute(
        f"SELECT practice_code FROM {effects} WHERE effect = 'low_value_procedures' AND planted = 1"
    ).fetchall()
    (code,) = planted[0]
    rates = con.execute(
        "SELECT p.practice_code, count(a.activity_id) / count(DISTINCT p.nhs_number) AS rate "
        "FROM people p LEFT JOIN activity a ON a.nhs_number = p.nhs_number AND "
        "a.procedure_code IN ('W85.1', 'A52.1', 'D15.1', 'F34.1', 'A65.1') "
        "JOIN read_parquet('" + str(calibration_population) + "/gp_practices.parquet') g "
        "ON g.practice_code = p.practice_code WHERE g.place_code = 'NVL' "
        "GROUP BY 1 ORDER BY rate DESC"
    ).fetchall()
    assert rates[0][0] == code


def test_nothing_happens_before_the_first_day_of_the_data(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Stays ending in a death early in the first year, and admissions of the last twelve
    months of life, start no earlier than the data do."""
    row = con.execute("SELECT min(start_date) FROM activity").fetchone()
    assert row is not None and str(row[0]) >= "2021-04-01"
