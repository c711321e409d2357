"""Exact money: the one rounding rule and splits that add up exactly."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from commissioning.settlement.money import (
    allocate,
    format_gbp,
    instalments,
    multiply_pence,
    to_gbp,
    to_pence,
)


def test_round_half_to_even_at_the_penny() -> None:
    assert to_pence("0.125") == 12  # 12.5p -> 12p (even)
    assert to_pence("0.135") == 14  # 13.5p -> 14p (even)
    assert to_pence(0.1) == 10  # floats go through their shortest repr
    assert multiply_pence(15_000, Decimal("0.75")) == 11_250
    assert multiply_pence(5, Decimal("0.5")) == 2  # 2.5p -> 2p


def test_format_and_back() -> None:
    assert format_gbp(-123_456) == "-£1,234.56"
    assert to_gbp(123_456) == Decimal("1234.56")


def test_instalments_last_absorbs() -> None:
    assert instalments(10, 4) == [2, 2, 2, 4]  # 2.5 -> 2 (even), last 10 - 6 = 4
    assert instalments(100_000_002) == [25_000_000, 25_000_000, 25_000_000, 25_000_002]


def test_largest_remainder_example() -> None:
    # 100p in thirds: 33.33 each -> floors 33/33/33 = 99; the 1p left goes to the first
    # (remainders tie, earlier part wins).
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    # 2,501p by 0.5/0.3/0.2 -> 1,250.5/750.3/500.2 -> 1,251/750/500.
    assert allocate(2501, ["0.5", "0.3", "0.2"]) == [1251, 750, 500]
    assert allocate(-2501, ["0.5", "0.3", "0.2"]) == [-1251, -750, -500]


@given(
    total=st.integers(min_value=-(10**12), max_value=10**12),
    weights=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=12).filter(
        any
    ),
)
def test_shares_split_a_sum_exactly(total: int, weights: list[int]) -> None:
    parts = allocate(total, weights)
    assert sum(parts) == total
    exact = [Decimal(total) * w / sum(weights) for w in weights]
    assert all(abs(Decimal(p) - e) < 1 for p, e in zip(parts, exact, strict=True))


@given(total=st.integers(min_value=0, max_value=10**13), parts=st.integers(1, 12))
def test_instalments_add_up(total: int, parts: int) -> None:
    split = instalments(total, parts)
    assert sum(split) == total
    assert len(split) == parts
