"""The streamed loader: Parquet columns taken with their own types are checked like text,
lines are right across row groups, NHS numbers are checked in SQL as in Python, control
totals are exact, and the connection's memory settings are kept."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from commissioning.data.load import (
    LOAD_MEMORY_LIMIT,
    LoadError,
    Source,
    _control_sum_sql,
    control_sum,
    load_files,
)
from commissioning.data.pseudonymise import (
    hmac_pads,
    nhs_number_valid,
    pseudonym,
    pseudonym_sql,
)
from commissioning.data.read import stage_file
from commissioning.store.duckdb_store import connect

KEY = b"a test key that is long enough"
NUMBERS = ["9434765919", "9022101940", "9503626749", "9857404006", "9033585561", "9028319662"]


def _reference(con: object, folder: Path) -> None:
    places = folder / "places.csv"
    places.write_text("place_code,place_name,rurality,is_home\nP1,Home,urban,1\n")
    practices = folder / "gp_practices.csv"
    practices.write_text("practice_code,practice_name,place_code\nA81001,Surgery,P1\n")
    load_files(con, [Source(places, "places"), Source(practices, "gp_practices")], KEY)  # type: ignore[arg-type]


def _people(rows: list[dict[str, object]]) -> pa.Table:
    """A people table with its own Parquet types: whole numbers and dates."""
    day = pa.date32()
    return pa.table(
        {
            "nhs_number": pa.array([r["nhs"] for r in rows], pa.string()),
            "birth_year": pa.array([r.get("year", 1950) for r in rows], pa.int64()),
            "birth_month": pa.array([r.get("month", 3) for r in rows], pa.int64()),
            "sex": pa.array(["F"] * len(rows)).dictionary_encode(),
            "lsoa_code": pa.array(["E01000001"] * len(rows)),
            "imd_decile": pa.array([r.get("imd", 3) for r in rows], pa.int32()),
            "practice_code": pa.array(["A81001"] * len(rows)),
            "registration_date": pa.array(
                [r.get("registered", dt.date(2010, 1, 1)) for r in rows], day
            ),
            "deregistration_date": pa.array([None] * len(rows), day),
            "death_date": pa.array([None] * len(rows), day),
            "place_of_death": pa.array([None] * len(rows), pa.string()),
        }
    )


def test_typed_parquet_columns_are_checked_and_lines_hold_across_row_groups(
    tmp_path: Path,
) -> None:
    con = connect(":memory:")
    _reference(con, tmp_path)
    rows: list[dict[str, object]] = [
        {"nhs": NUMBERS[0]},
        {"nhs": NUMBERS[1], "imd": 11},
        {"nhs": NUMBERS[2]},
        {"nhs": NUMBERS[3], "registered": dt.date(2099, 1, 1)},
        {"nhs": NUMBERS[4], "month": None},
        {"nhs": NUMBERS[5], "year": 1890},
        {"nhs": "9434765918"},
    ]
    path = tmp_path / "people.parquet"
    pq.write_table(_people(rows), path, row_group_size=2)
    (report,) = load_files(con, [Source(path, "people")], KEY)
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (7, 2, 5)
    rejects = dict(con.execute("SELECT line, reason FROM rejects").fetchall())
    assert rejects == {
        3: "imd_decile is above 10",
        5: "registration_date is in the future",
        6: "birth_month is missing",
        7: "birth_year is below 1,900; "
        "alive and older than 115: check birth_year or the missing death_date",
        8: "nhs_number is missing, fails the modulus 11 check or is a placeholder "
        "(one digit repeated)",
    }
    (row_json,) = con.execute("SELECT row_json FROM rejects WHERE line = 3").fetchone()  # type: ignore[misc]
    assert '"imd_decile":"11"' in row_json and NUMBERS[1] not in row_json
    stored = {r[0] for r in con.execute("SELECT person_id FROM people").fetchall()}
    assert stored == {pseudonym(NUMBERS[0], KEY), pseudonym(NUMBERS[2], KEY)}


def test_nhs_numbers_are_checked_in_sql_as_in_python(tmp_path: Path) -> None:
    """Spaces are ignored, so two ways of writing one number are one person (a duplicate
    key); invalid numbers and placeholders are rejected, the rest pseudonymised."""
    con = connect(":memory:")
    _reference(con, tmp_path)
    numbers = [
        "943 476 5919",
        "9434765919",
        " 9022101940 ",
        "0000000000",
        "9434765918",
        "94347659190",
        "943476591X",
        "9503626749",
    ]
    header = (
        "nhs_number,birth_year,birth_month,sex,lsoa_code,imd_decile,practice_code,"
        "registration_date,deregistration_date,death_date,place_of_death"
    )
    rest = ",1950,3,F,E01000001,3,A81001,2010-01-01,,,"
    path = tmp_path / "people.csv"
    path.write_text("\n".join([header, *(f'"{n}"{rest}' for n in numbers)]) + "\n")
    (report,) = load_files(con, [Source(path, "people")], KEY)
    rejected = dict(con.execute("SELECT line, reason FROM rejects").fetchall())
    valid = nhs_number_valid([n.strip() for n in numbers])
    for line, number, ok in zip(range(2, 10), numbers, valid, strict=True):
        placeholder = len(set(number.replace(" ", ""))) == 1
        assert (ok and not placeholder) == (line not in rejected or "duplicate" in rejected[line])
    assert "duplicate key" in rejected[3]
    assert (report.rows_loaded, report.rows_rejected) == (3, 5)
    stored = {r[0] for r in con.execute("SELECT person_id FROM people").fetchall()}
    assert stored == {pseudonym(n, KEY) for n in ("9434765919", "9022101940", "9503626749")}


@settings(max_examples=60, deadline=None)
@given(
    key=st.binary(min_size=1, max_size=200),
    digits=st.lists(st.from_regex(r"[0-9]{10}", fullmatch=True), min_size=1, max_size=5),
)
def test_pseudonyms_in_sql_are_the_pseudonyms(key: bytes, digits: list[str]) -> None:
    """The engine's HMAC is Python's for any key: shorter than SHA-256's 64-byte block,
    exactly one block, and longer (hashed first)."""
    con = duckdb.connect()
    got = con.execute(
        f"SELECT {pseudonym_sql('d')} FROM unnest($numbers) t(d)",
        {**hmac_pads(key), "numbers": digits},
    ).fetchall()
    assert [g for (g,) in got] == [pseudonym(d, key) for d in digits]


@pytest.mark.parametrize("length", [63, 64, 65])
def test_pseudonyms_in_sql_at_the_block_edge(length: int) -> None:
    key = bytes(range(length))
    number = "'9434765919'"
    got = duckdb.connect().execute(f"SELECT {pseudonym_sql(number)}", hmac_pads(key))
    assert got.fetchall() == [(pseudonym("9434765919", key),)]


@pytest.mark.parametrize(
    "values",
    [
        [190.0, 12.34, 0.25, 1_000_000.0, None],  # within two places: summed as numbers
        [190.0, 0.1 + 0.2, float("nan"), float("inf"), 1e20],  # written as text first
    ],
)
def test_a_control_sum_of_a_parquet_float_column_is_that_of_its_text(
    tmp_path: Path, values: list[float | None]
) -> None:
    path = tmp_path / "activity.parquet"
    pq.write_table(pa.table({"cost_gbp": pa.array(values, pa.float64())}), path)
    con = connect(":memory:")
    staged = stage_file(con, path)
    assert staged.native == {"cost_gbp": "double"}
    want = control_sum(pq.read_table(path)["cost_gbp"])
    assert _control_sum_sql(con, "cost_gbp", "double") == want
    assert _control_sum_sql(con, "cost_gbp") == want
    assert want != Decimal(0)


def test_a_load_keeps_the_connection_memory_settings(tmp_path: Path) -> None:
    con = connect(":memory:")
    settings = (
        "SELECT current_setting('memory_limit'), current_setting('temp_directory'), "
        "current_setting('preserve_insertion_order')"
    )
    for limit in ("", "100MB"):  # the default, above the loader's limit, and one below
        con.execute(f"SET memory_limit = '{limit}'" if limit else "RESET memory_limit")
        before = con.execute(settings).fetchone()
        _reference(con, tmp_path)
        assert con.execute(settings).fetchone() == before
    assert LOAD_MEMORY_LIMIT == "4GiB"


def test_a_load_works_within_the_memory_limit_it_is_given(tmp_path: Path) -> None:
    con = connect(":memory:")
    places = tmp_path / "places.csv"
    places.write_text("place_code,place_name,rurality,is_home\nP1,Home,urban,1\n")
    default = con.execute("SELECT current_setting('memory_limit')").fetchall()
    inside: list[object] = []

    def say(_message: str) -> None:  # the limit in force while the load runs
        inside.append(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])

    load_files(con, [Source(places, "places")], KEY, on_progress=say, memory_limit="1GiB")
    assert inside and set(inside) == {"1.0 GiB"}
    assert con.execute("SELECT current_setting('memory_limit')").fetchall() == default
    with pytest.raises(LoadError, match="'lots' is not an amount of memory"):
        load_files(con, [Source(places, "places")], KEY, memory_limit="lots")


def _activity(costs: pa.Array) -> pa.Table:
    """Events of one person (``NUMBERS[0]``) with these costs, one an event."""
    n = len(costs)
    day = pa.array([dt.date(2020, 1, 1)] * n)
    none = pa.array([None] * n, pa.string())
    return pa.table(
        {
            "activity_id": [f"A{i}" for i in range(n)],
            "nhs_number": [NUMBERS[0]] * n,
            "setting": ["social_care"] * n,
            "point_of_delivery": ["nursing_care"] * n,
            "provider_code": ["RAA"] * n,
            "start_date": day,
            "end_date": day,
            "los_days": pa.array([0] * n, pa.int64()),
            "primary_diagnosis": ["I10"] * n,
            "secondary_diagnosis": none,
            "external_cause": none,
            "procedure_code": none,
            "units": pa.array([1.0] * n),
            "cost_gbp": costs,
        }
    )


def _load_costs(folder: Path, costs: pa.Array) -> tuple[dict[int, str], list[tuple[str, object]]]:
    """Reasons by line, and the stored costs, of loading events with these costs."""
    folder.mkdir()
    con = connect(":memory:")
    _reference(con, folder)
    pq.write_table(_people([{"nhs": NUMBERS[0]}]), folder / "people.parquet")
    load_files(con, [Source(folder / "people.parquet", "people")], KEY)
    pq.write_table(_activity(costs), folder / "activity.parquet")
    try:
        load_files(con, [Source(folder / "activity.parquet", "activity")], KEY)
    except LoadError:  # every row failed: the reasons are not kept, so compare none
        return {}, []
    reasons = dict(con.execute("SELECT line, reason FROM rejects").fetchall())
    stored = con.execute("SELECT activity_id, cost_gbp FROM activity ORDER BY 1").fetchall()
    return reasons, stored


_COSTS = st.one_of(
    st.integers(-(10**15), 10**15).map(lambda pence: pence / 100),  # whole pence
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.1 + 0.2, 1e12, 999_999_999_999.99, 1e-5, -0.0, 12.345, 1e20]),
    st.none(),
)


@settings(max_examples=25, deadline=None)
@given(costs=st.lists(_COSTS, min_size=1, max_size=12))
@example(costs=[0.0, -0.375])  # not in pence and negative: "not an amount" alone, both ways
@example(costs=[0.1, 1e12, 999_999_999_999.99, -5.0, None])
def test_float_costs_are_checked_as_their_text_is(costs: list[float | None]) -> None:
    """A Parquet float column of amounts is taken as it is (a float in whole pence is its
    amount); the rejects and stored amounts are those of the same values given as text."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        as_float = _load_costs(Path(tmp) / "float", pa.array(costs, pa.float64()))
        text = [None if c is None else repr(c) for c in costs]
        as_text = _load_costs(Path(tmp) / "text", pa.array(text, pa.string()))
    assert as_float == as_text


def test_a_float_cost_not_in_pence_is_rejected_once(tmp_path: Path) -> None:
    costs = [12.34, 12.345, float("nan"), 1e12, 999_999_999_999.99, -5.0, None, -0.0]
    reasons, stored = _load_costs(tmp_path / "f", pa.array(costs, pa.float64()))
    assert reasons == {
        3: "cost_gbp is not an amount in pounds",
        4: "cost_gbp is not an amount in pounds",
        5: "cost_gbp is not an amount in pounds",
        6: "cost_gbp is outside the plausible range for nursing_care (£0 to £1,000,000)",
        7: "cost_gbp is below 0",
        8: "cost_gbp is missing",
    }
    assert stored == [("A0", Decimal("12.34")), ("A7", Decimal("0.00"))]


def test_codes_are_stored_trimmed_and_an_empty_code_is_missing(tmp_path: Path) -> None:
    """Codes are checked once a distinct text; a column whose texts are all clean is
    stored as it is, one with spaces around a value is trimmed, and a blank value of an
    optional code is missing (a required one is rejected as missing)."""
    con = connect(":memory:")
    _reference(con, tmp_path)
    header = (
        "nhs_number,birth_year,birth_month,sex,lsoa_code,imd_decile,practice_code,"
        "registration_date,deregistration_date,death_date,place_of_death"
    )
    rows = [
        f"{NUMBERS[0]},1950,3, F ,E01000001,3,A81001,2010-01-01,,,",
        f"{NUMBERS[1]},1950,3,M,E01000001,3,A81001 ,2010-01-01,,2020-01-01,  home ",
        f"{NUMBERS[2]},1950,3,F,E01000001,3,A81001,2010-01-01,,,   ",
        f"{NUMBERS[3]},1950,3,  ,E01000001,3,A81001,2010-01-01,,,",
    ]
    path = tmp_path / "people.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    (report,) = load_files(con, [Source(path, "people")], KEY)
    assert dict(con.execute("SELECT line, reason FROM rejects").fetchall()) == {5: "sex is missing"}
    stored = con.execute(
        "SELECT sex, lsoa_code, practice_code, place_of_death FROM people ORDER BY death_date "
        "NULLS FIRST, place_of_death NULLS FIRST"
    ).fetchall()
    assert stored == [
        ("F", "E01000001", "A81001", None),
        ("F", "E01000001", "A81001", None),
        ("M", "E01000001", "A81001", "home"),
    ]
    assert report.rows_loaded == 3
