"""Keys: weak ones and the published demo key are refused for real data; the store keeps
a salted, slow check of its key, not a fingerprint a guess list can test cheaply."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest

from commissioning.cli.config import ConfigError, Settings, ledger_key, pseudonymisation_key
from commissioning.data.load import LoadError, Source, load_files
from commissioning.data.pseudonymise import DEMO_KEY, key_fingerprint, key_matches, key_problem
from commissioning.store.duckdb_store import connect, get_info


@pytest.mark.parametrize(
    "weak",
    [
        "aaaaaaaaaaaaaaaa",
        " " * 16,
        "password12345678",
        "abcabcabcabcabcabcab",
        "tiny-key",
        "Qwerty-Qwerty-Qwerty",
    ],
)
def test_weak_keys_are_refused_with_the_reason_and_not_the_key(
    weak: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert key_problem(weak) is not None
    monkeypatch.setenv("COMMISSIONING_PSEUDONYMISATION_KEY", weak)
    monkeypatch.setenv("COMMISSIONING_LEDGER_KEY", weak)
    with pytest.raises(ConfigError, match="too weak") as refused:
        pseudonymisation_key(Settings(), demo=False)
    assert weak.strip() == "" or weak not in str(refused.value)
    with pytest.raises(ConfigError, match="too weak"):
        ledger_key(Settings(), None)


@pytest.mark.parametrize(
    "strong",
    ["correct horse battery staple", "kV9-3bq_Zr0x7LmPfW2aTn", "a test key that is long enough"],
)
def test_strong_keys_pass(strong: str) -> None:
    assert key_problem(strong) is None


def test_the_demo_key_is_refused_outside_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMISSIONING_PSEUDONYMISATION_KEY", DEMO_KEY.decode())
    with pytest.raises(ConfigError, match="published demo key"):
        pseudonymisation_key(Settings(), demo=False)
    assert pseudonymisation_key(Settings(), demo=True) == DEMO_KEY


def test_the_demo_key_loads_only_synthetic_nhs_numbers(tmp_path: Path) -> None:
    places = tmp_path / "places.csv"
    places.write_text("place_code,place_name,rurality,is_home\nP1,Home,urban,1\n")
    practices = tmp_path / "gp_practices.csv"
    practices.write_text("practice_code,practice_name,place_code\nA81001,Surgery,P1\n")
    people = tmp_path / "people.csv"
    people.write_text(
        "nhs_number,birth_year,birth_month,sex,lsoa_code,imd_decile,practice_code,"
        "registration_date,deregistration_date,death_date,place_of_death\n"
        "4010232137,1950,3,F,E01000001,3,A81001,2010-01-01,,,\n"
    )
    con = connect(":memory:")
    load_files(con, [Source(places, "places"), Source(practices, "gp_practices")], DEMO_KEY)
    with pytest.raises(LoadError, match="demo key is for synthetic data only") as refused:
        load_files(con, [Source(people, "people")], DEMO_KEY)
    assert "4010232137" not in str(refused.value)
    assert get_info(con, "key_fingerprint") is not None
    assert con.execute("SELECT count(*) FROM people").fetchone() == (0,)


def test_the_store_keeps_a_salted_slow_check_of_its_key(tmp_path: Path) -> None:
    key = b"a test key that is long enough"
    stored = key_fingerprint(key)
    assert stored.startswith("scrypt$") and stored != key_fingerprint(key)  # salted
    assert key_matches(key, stored) and not key_matches(b"another key, long enough", stored)
    legacy = hmac.new(key, b"commissioning key fingerprint", hashlib.sha256).hexdigest()[:16]
    assert key_matches(key, legacy)  # stores made before keep working
    con = connect(":memory:")
    places = tmp_path / "places.csv"
    places.write_text("place_code,place_name,rurality,is_home\nP1,Home,urban,1\n")
    load_files(con, [Source(places, "places")], key)
    check = get_info(con, "key_fingerprint")
    assert check is not None and check.startswith("scrypt$") and key.decode() not in check
    with pytest.raises(LoadError, match="different pseudonymisation key"):
        load_files(con, [Source(places, "places")], b"another key, long enough")
