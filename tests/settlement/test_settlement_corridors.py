"""Risk and gain share in corridors: the edges, the caps, and properties that always hold."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from commissioning.contracts.schema import Corridor, RiskShare
from commissioning.settlement.corridors import provider_share_array, split_variance

SHARE = RiskShare(
    corridors=[
        Corridor(from_share=Decimal(0), to_share=Decimal("0.02"), provider_share=Decimal(1)),
        Corridor(
            from_share=Decimal("0.02"), to_share=Decimal("0.10"), provider_share=Decimal("0.5")
        ),
    ]
)
BUDGET = 1_000_000_000  # £10m in pence


def test_exactly_two_percent_is_all_the_providers() -> None:
    split = split_variance(BUDGET, BUDGET - 20_000_000, SHARE)
    assert (split.direction, split.provider_pence, split.commissioner_pence) == (
        "underspend",
        20_000_000,
        0,
    )


def test_exactly_ten_percent() -> None:
    # £1m under: provider £200,000 + 0.5 x £800,000 = £600,000; commissioner £400,000.
    split = split_variance(BUDGET, BUDGET - 100_000_000, SHARE)
    assert (split.provider_pence, split.commissioner_pence) == (60_000_000, 40_000_000)


def test_beyond_the_last_corridor_the_provider_share_is_capped() -> None:
    split = split_variance(BUDGET, BUDGET - 150_000_000, SHARE)
    assert (split.provider_pence, split.commissioner_pence) == (60_000_000, 90_000_000)


def test_on_budget() -> None:
    assert split_variance(BUDGET, BUDGET, SHARE).direction == "on_budget"


def test_half_pence_round_to_even() -> None:
    # Budget 1,000p, 3p over: 3p in the first corridor (to 20p) at share 1 -> 3p; with a
    # 0.5 share corridor from 0: 1.5p -> 2p (even).
    half = RiskShare(corridors=[Corridor(from_share=Decimal(0), provider_share=Decimal("0.5"))])
    assert split_variance(1000, 1003, half).provider_pence == 2
    assert split_variance(1000, 1001, half).provider_pence == 0  # 0.5p -> 0p (even)


CAPPED = RiskShare(
    corridors=SHARE.corridors,
    overspend_corridors=[Corridor(from_share=Decimal(0), provider_share=Decimal("0.75"))],
    gain_cap_gbp=Decimal(250_000),
    loss_cap_gbp=Decimal(150_000),
)


@given(outturn=st.integers(min_value=0, max_value=3 * BUDGET))
def test_caps_hold_and_parts_add_up(outturn: int) -> None:
    split = split_variance(BUDGET, outturn, CAPPED)
    assert split.provider_pence + split.commissioner_pence == abs(BUDGET - outturn)
    assert split.provider_pence >= 0
    assert split.commissioner_pence >= 0
    cap = 15_000_000 if outturn > BUDGET else 25_000_000
    assert split.provider_pence <= cap


@given(a=st.integers(0, 2 * BUDGET), b=st.integers(0, 2 * BUDGET))
def test_provider_result_never_rises_with_cost(a: int, b: int) -> None:
    def provider_result(outturn: int) -> int:
        split = split_variance(BUDGET, outturn, CAPPED)
        return split.provider_pence if split.direction == "underspend" else -split.provider_pence

    low, high = sorted((a, b))
    assert provider_result(low) >= provider_result(high)


def test_vectorised_matches_exact() -> None:
    outturns = np.array([0.0, 9e8, 9.5e8, 9.8e8, 1e9, 1.03e9, 1.1e9, 2e9])
    # The vectorised version works in pounds (as the stress test does).
    kept_gbp = provider_share_array(np.full(outturns.shape, BUDGET / 100), outturns / 100, CAPPED)
    for outturn, value in zip(outturns, kept_gbp, strict=True):
        split = split_variance(BUDGET, int(outturn), CAPPED)
        signed = split.provider_pence if split.direction == "underspend" else -split.provider_pence
        assert abs(value * 100 - signed) < 1
