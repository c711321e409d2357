"""Properties of settlement that hold for any contract and inputs (hypothesis)."""

from __future__ import annotations

from decimal import Decimal

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from settlement_cases import CORRIDORS_2_10, MEASURE_A, TEST_KEY, base_contract

from commissioning.contracts.load import contract_from_dict
from commissioning.settlement.ledger import Ledger
from commissioning.settlement.lines import PeriodInputs
from commissioning.settlement.money import instalments
from commissioning.settlement.settle import (
    annual_budget_pence,
    net_by_party,
    settle_period,
    value_at_risk_pence,
)

budgets = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1e9"), places=2)
fractions = st.decimals(min_value=0, max_value=1, places=3)
settings_fast = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def alliance_contracts(draw: st.DrawFn) -> dict[str, object]:
    n = draw(st.integers(2, 5))
    raw = draw(st.lists(st.integers(1, 1000), min_size=n, max_size=n))
    shares = [Decimal(r) / sum(raw) for r in raw]
    shares[-1] = Decimal(1) - sum(shares[:-1])  # exact sum of 1
    parties = [{"id": "icb", "name": "ICB", "role": "commissioner"}] + [
        {"id": f"p{i}", "name": f"P{i}", "role": "alliance_partner", "share": str(s)}
        for i, s in enumerate(shares)
    ]
    return base_contract(
        form={"type": "alliance"},
        parties=parties,
        finance={"baseline_budget_gbp": str(draw(budgets))},
        years=[
            {
                "year": 1,
                "basis": "capitation",
                "value_at_risk": str(draw(fractions)),
                "risk_share": {"corridors": CORRIDORS_2_10},
            }
        ],
        outcomes={"measures": [{**MEASURE_A, "weight": 1}]},
    )


@settings_fast
@given(data=alliance_contracts(), value=fractions, outturn=budgets)
def test_settlement_conserves_money(
    data: dict[str, object], value: Decimal, outturn: Decimal
) -> None:
    contract = contract_from_dict(data)
    budget = annual_budget_pence(contract, 1)
    at_risk = value_at_risk_pence(contract, 1)
    year = []
    for q in (1, 2, 3, 4):
        inputs = PeriodInputs(
            year=1,
            quarter=q,
            indicator_values={"a": value},
            outturn_cost_gbp=outturn if q == 4 else None,
        )
        lines = settle_period(contract, inputs)
        year += lines
        net = net_by_party(lines)
        # What the commissioner pays equals what the parties receive, to the penny.
        assert -net["icb"] == sum(v for k, v in net.items() if k != "icb")
        # The quarter's capitation pot is paid out exactly, whatever the shares.
        cap = sum(ln.amount_pence for ln in lines if ln.kind == "capitation")
        assert cap == instalments(budget - at_risk)[q - 1]
        # Outcome payments plus what was not earned make up the quarter's pot.
        outcome_lines = [ln for ln in lines if ln.kind == "outcome_payment"]
        earned = sum(ln.amount_pence for ln in outcome_lines)
        unearned = int(dict(outcome_lines[0].inputs)["unearned_pence"]) if outcome_lines else 0
        assert earned + unearned == instalments(at_risk)[q - 1]
    assert sum(ln.amount_pence for ln in year if ln.kind == "capitation") == budget - at_risk


curves = st.one_of(
    st.just({"type": "linear"}),
    st.builds(lambda f: {"type": "linear", "floor": str(f)}, st.decimals(-1, "0.9", places=2)),
    st.builds(lambda t: {"type": "threshold", "threshold": str(t)}, st.decimals(0, 2, places=2)),
    st.just(
        {
            "type": "stepped",
            "steps": [{"attainment": 0.5, "payout": 0.4}, {"attainment": 1, "payout": 1}],
        }
    ),
)


@settings_fast
@given(
    curve=curves,
    higher=st.booleans(),
    v1=st.decimals(-2, 3, places=3),
    v2=st.decimals(-2, 3, places=3),
    budget=budgets,
)
def test_outcome_payment_never_falls_as_attainment_rises(
    curve: dict[str, object], higher: bool, v1: Decimal, v2: Decimal, budget: Decimal
) -> None:
    measure = {
        **MEASURE_A,
        "weight": 1,
        "kind": "score",
        "baseline": 1 if higher else 2,
        "target": 2 if higher else 1,
        "polarity": "higher_is_better" if higher else "lower_is_better",
        "curve": curve,
    }
    contract = contract_from_dict(
        base_contract(
            finance={"baseline_budget_gbp": str(budget)},
            years=[{"year": 1, "basis": "capitation", "value_at_risk": 0.2}],
            outcomes={"measures": [measure]},
        )
    )

    def pays(value: Decimal) -> int:
        lines = settle_period(
            contract, PeriodInputs(year=1, quarter=1, indicator_values={"a": value})
        )
        return sum(ln.amount_pence for ln in lines if ln.kind == "outcome_payment")

    # Better means higher for higher_is_better, lower for lower_is_better.
    worse, better = sorted((v1, v2)) if higher else sorted((v1, v2), reverse=True)
    assert pays(worse) <= pays(better)
    assert 0 <= pays(better) <= value_at_risk_pence(contract, 1)


@settings_fast
@given(data=alliance_contracts(), value=fractions, outturn=budgets)
def test_resettling_a_period_changes_nothing(
    data: dict[str, object], value: Decimal, outturn: Decimal
) -> None:
    contract = contract_from_dict(data)
    inputs = PeriodInputs(
        year=1, quarter=4, indicator_values={"a": value}, outturn_cost_gbp=outturn
    )
    first = settle_period(contract, inputs)
    again = settle_period(
        contract_from_dict(data), PeriodInputs.model_validate(inputs.model_dump())
    )
    assert first == again
    ledger = Ledger(duckdb.connect(), TEST_KEY)
    assert ledger.post_many(first)["posted"] == len(first)
    assert ledger.post_many(again) == {"posted": 0, "unchanged": len(first)}
    assert ledger.verify().ok
