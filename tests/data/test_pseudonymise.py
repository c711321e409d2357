"""NHS number checks and keyed pseudonyms."""

from __future__ import annotations

import nhs_number
from hypothesis import assume, given
from hypothesis import strategies as st
from nhs_number import REGION_SCOTLAND

from commissioning.data.pseudonymise import (
    key_fingerprint,
    nhs_number_valid,
    pseudonym,
    pseudonymise,
)


def test_worked_check_digits() -> None:
    # 943 476 591 -> 9x10 + 4x9 + 3x8 + 4x7 + 7x6 + 6x5 + 5x4 + 9x3 + 1x2 = 299;
    # 299 mod 11 = 2; 11 - 2 = 9: the check digit is 9.
    assert nhs_number_valid(["9434765919", "943 476 5919"]).tolist() == [True, True]
    assert (
        nhs_number_valid(
            ["9434765918", "943476591", "94347659199", "abcdefghij", "", None]
        ).tolist()
        == [False] * 6
    )


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_agrees_with_the_nhs_number_package(value: str) -> None:
    # The package also checks that Scottish CHI numbers start with a date; the modulus 11
    # rule (NHS Data Dictionary) is the same everywhere else.
    assume(not REGION_SCOTLAND.contains_number(value))
    assert bool(nhs_number_valid([value])[0]) == nhs_number.is_valid(value)


def test_pseudonym_is_keyed_stable_and_not_the_number() -> None:
    a = pseudonym("9434765919", b"key one, sixteen+")
    assert a == pseudonym("943 476 5919", b"key one, sixteen+")
    assert a != pseudonym("9434765919", b"key two, sixteen+")
    assert len(a) == 20 and "9434765919" not in a
    assert pseudonymise(["9434765919", "9434765918"], b"key one, sixteen+") == [a, None]
    assert key_fingerprint(b"k1") != key_fingerprint(b"k2")
