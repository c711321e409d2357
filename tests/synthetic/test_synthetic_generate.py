"""The generator: reproducible bytes, valid identifiers, a coherent world, the truth kept."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import numpy as np
import pytest

from commissioning.data.pseudonymise import nhs_number_valid
from commissioning.synthetic.generate import generate, synthetic_nhs_numbers, write
from commissioning.synthetic.parameters import SyntheticParameters


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    params = SyntheticParameters(people=1_500, years=2, seed=5)
    write(generate(params), tmp_path / "a", params)
    write(generate(params), tmp_path / "b", params)
    other = params.model_copy(update={"seed": 6})
    write(generate(other), tmp_path / "c", other)
    a, b, c = _digests(tmp_path / "a"), _digests(tmp_path / "b"), _digests(tmp_path / "c")
    assert a == b
    assert a["activity.parquet"] != c["activity.parquet"]
    assert a["people.parquet"] != c["people.parquet"]


def test_same_seed_same_bytes_as_csv(tmp_path: Path) -> None:
    params = SyntheticParameters(people=800, years=1, seed=3)
    write(generate(params), tmp_path / "a", params, "csv")
    write(generate(params), tmp_path / "b", params, "csv")
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")


def test_synthetic_nhs_numbers_are_distinct_valid_and_never_issued() -> None:
    numbers = synthetic_nhs_numbers(20_000, np.random.default_rng(1))
    assert len(set(numbers)) == 20_000
    assert nhs_number_valid(numbers).all()
    assert all(n.startswith("9") for n in numbers)


def _q(folder: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect()
    for p in folder.glob("*.parquet"):
        con.execute(f"CREATE VIEW {p.stem} AS SELECT * FROM '{p}'")
    return con.execute(sql).fetchall()


def test_world_is_coherent(small_population: Path) -> None:
    f = small_population
    # Ten places, one of them home; every practice in a place; every person in a practice.
    assert _q(f, "SELECT count(*), sum(is_home) FROM places") == [(10, 1)]
    assert _q(
        f,
        "SELECT count(*) FROM gp_practices WHERE place_code NOT IN (SELECT place_code FROM places)",
    ) == [(0,)]
    assert _q(
        f,
        "SELECT count(*) FROM people WHERE practice_code NOT IN "
        "(SELECT practice_code FROM gp_practices)",
    ) == [(0,)]
    # Nobody has activity before registering or after dying.
    assert _q(
        f,
        """SELECT count(*) FROM activity a JOIN people p USING (nhs_number)
                    WHERE a.start_date < p.registration_date
                       OR a.start_date > coalesce(p.death_date, DATE '2100-01-01')""",
    ) == [(0,)]
    # Admissions that end in death end on the day of death.
    assert _q(
        f,
        """SELECT count(*) FROM activity a JOIN people p USING (nhs_number)
                    WHERE a.end_date > p.death_date""",
    ) == [(0,)]
    # Diagnoses come after birth; length of stay matches the dates.
    assert _q(
        f,
        """SELECT count(*) FROM conditions c JOIN people p USING (nhs_number)
                    WHERE c.diagnosis_date < make_date(p.birth_year, p.birth_month, 1)""",
    ) == [(0,)]
    assert _q(
        f,
        """SELECT count(*) FROM activity WHERE los_days IS NOT NULL
                    AND los_days <> date_diff('day', start_date, end_date)""",
    ) == [(0,)]
    # Place of death is given exactly for the dead.
    assert _q(
        f, "SELECT count(*) FROM people WHERE (death_date IS NULL) <> (place_of_death IS NULL)"
    ) == [(0,)]


def test_truth_is_kept_for_every_person_year(small_population: Path) -> None:
    rows = _q(
        small_population,
        """
        SELECT count(*), min(p_emergency_admission), max(p_emergency_admission),
               count(DISTINCT year) FROM synthetic_person_year""",
    )
    n, lo, hi, years = rows[0]
    assert n > 4_000 and years == 2
    assert 0 <= lo < hi <= 1  # type: ignore[operator]
    planted = _q(
        small_population,
        "SELECT effect, max(multiplier) FROM "
        "synthetic_practice_effects WHERE planted = 1 GROUP BY 1 ORDER BY 1",
    )
    assert dict(planted) == pytest.approx(
        {
            "ae_use": 1.35 * 1.3,
            "emergency_admission": 1.45,
            "gp_access": 0.75 * 1.3,
            "outpatient_referral": 1.6,
            "low_value_procedures": 3.0,
        },
        rel=0.3,
    )


def test_need_persists_and_regresses_to_the_mean(small_population: Path) -> None:
    ((corr, slope),) = _q(
        small_population,
        """
        SELECT corr(a.need_index, b.need_index), regr_slope(b.need_index, a.need_index)
        FROM synthetic_person_year a JOIN synthetic_person_year b
          ON a.nhs_number = b.nhs_number AND b.year = a.year + 1""",
    )
    assert 0.5 < corr < 0.97  # type: ignore[operator]
    assert 0.3 < slope < 1.0  # type: ignore[operator]  # regression to the mean


def test_truth_predicts_admissions(small_population: Path) -> None:
    """People whose true risk is higher are admitted more: the truth is the truth."""
    rows = _q(
        small_population,
        """
        WITH t AS (SELECT nhs_number, year, p_emergency_admission p,
                          ntile(5) OVER (ORDER BY p_emergency_admission) q
                   FROM synthetic_person_year),
        a AS (SELECT DISTINCT nhs_number,
                     year(start_date) - CASE WHEN month(start_date) < 4 THEN 1 ELSE 0 END y
              FROM activity WHERE point_of_delivery = 'emergency_admission')
        SELECT q, avg(p), avg(CASE WHEN a.nhs_number IS NULL THEN 0 ELSE 1 END)
        FROM t LEFT JOIN a ON a.nhs_number = t.nhs_number AND a.y = t.year
        GROUP BY q ORDER BY q""",
    )
    observed = [r[2] for r in rows]
    expected = [r[1] for r in rows]
    assert observed == sorted(observed)
    assert observed[-1] > 5 * observed[0]  # type: ignore[operator]
    assert abs(sum(observed) / 5 - sum(expected) / 5) < 0.02  # type: ignore[operator,arg-type]
