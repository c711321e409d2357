"""One conformance suite over every registered payment form (and every payment basis).

Every form of the schema must settle a year, conserve money, pay no negative amount and be
stress-tested; and a form or basis that settlement or the stress model does not handle
must fail loudly — at check time, and at settlement — never by paying nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from settlement_cases import CORRIDORS_2_10, MEASURE_A, MEASURE_B, base_contract

from commissioning.contracts import stress as stress_module
from commissioning.contracts.check import check_contract
from commissioning.contracts.load import contract_from_dict
from commissioning.contracts.registry import form_types, payment_bases, registry_problems
from commissioning.contracts.stress import run_stress
from commissioning.settlement import settle as settle_module
from commissioning.settlement.lines import PeriodInputs
from commissioning.settlement.settle import SettlementError, net_by_party, settle_periods

ICB = {"id": "icb", "name": "ICB", "role": "commissioner"}
OUTCOMES = {"measures": [MEASURE_A, MEASURE_B]}
CAPITATED = [
    {
        "year": 1,
        "basis": "capitation",
        "value_at_risk": 0.1,
        "risk_share": {"corridors": CORRIDORS_2_10},
    }
]

#: One small contract per form, with the inputs a quarter of it needs.
FORMS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "block": (
        {"form": {"type": "block", "provider": "prov"}, "years": [{"year": 1, "basis": "block"}]},
        {},
    ),
    "activity": (
        {
            "form": {"type": "activity", "provider": "prov", "tariff_gbp": {"outpatient": 120}},
            "years": [{"year": 1, "basis": "activity"}],
        },
        {"activity_counts": {"outpatient": 250}},
    ),
    "year_of_care": (
        {
            "form": {
                "type": "year_of_care",
                "provider": "prov",
                "price_per_person_gbp": {"high": 4000},
            },
            "years": [{"year": 1, "basis": "year_of_care"}],
        },
        {"people_by_band": {"high": 30}},
    ),
    "episode_with_reablement": (
        {
            "form": {
                "type": "episode_with_reablement",
                "provider": "prov",
                "bundle_price_gbp": 6500,
            },
            "years": [{"year": 1, "basis": "episode"}],
        },
        {"episodes": 12},
    ),
    "capitation_with_outcome_incentive": ({"years": CAPITATED, "outcomes": OUTCOMES}, {}),
    "prime_provider": (
        {
            "form": {
                "type": "prime_provider",
                "prime": "prime",
                "subcontracts": [{"party": "sub", "annual_value_gbp": 200000}],
            },
            "parties": [
                ICB,
                {"id": "prime", "name": "Prime", "role": "prime_provider"},
                {"id": "sub", "name": "Sub", "role": "subcontractor"},
            ],
            "years": CAPITATED,
            "outcomes": OUTCOMES,
        },
        {},
    ),
    "alliance": (
        {
            "form": {"type": "alliance"},
            "parties": [
                ICB,
                {"id": "a1", "name": "A1", "role": "alliance_partner", "share": 0.6},
                {"id": "a2", "name": "A2", "role": "alliance_partner", "share": 0.4},
            ],
            "years": CAPITATED,
            "outcomes": OUTCOMES,
        },
        {},
    ),
    "integrated_pathway_hub": (
        {
            "form": {
                "type": "integrated_pathway_hub",
                "hub": "hub",
                "coordinator_fee_gbp": 50000,
                "provider_contracts": [{"party": "p1", "annual_value_gbp": 300000}],
            },
            "parties": [
                ICB,
                {"id": "hub", "name": "Hub", "role": "hub"},
                {"id": "p1", "name": "P1", "role": "provider"},
            ],
            "years": CAPITATED,
            "outcomes": OUTCOMES,
        },
        {},
    ),
    "joint_venture": (
        {
            "form": {"type": "joint_venture", "vehicle": "jv"},
            "parties": [
                ICB,
                {"id": "jv", "name": "JV", "role": "joint_venture"},
                {"id": "v1", "name": "V1", "role": "venture_partner", "share": 0.5},
                {"id": "v2", "name": "V2", "role": "venture_partner", "share": 0.5},
            ],
            "years": CAPITATED,
            "outcomes": OUTCOMES,
        },
        {},
    ),
    "social_impact_bond": (
        {
            "form": {
                "type": "social_impact_bond",
                "investor": "inv",
                "provider": "prov",
                "capital_gbp": 100000,
                "outcome_prices_gbp": {"housed": 5000},
            },
            "parties": [
                ICB,
                {"id": "inv", "name": "Investor", "role": "investor"},
                {"id": "prov", "name": "Provider", "role": "provider"},
            ],
            "years": [{"year": 1, "basis": "outcomes_only"}],
        },
        {"sib_outcome_counts": {"housed": 4}},
    ),
}


def test_the_registry_is_whole() -> None:
    assert registry_problems() == []
    assert sorted(FORMS) == sorted(form_types())  # this suite covers every form


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("outturn", [800_000, 1_000_000, 1_150_000])
def test_every_form_settles_a_year_conserving_money(form: str, outturn: int) -> None:
    overrides, inputs = FORMS[form]
    contract = contract_from_dict(base_contract(**overrides))
    assert check_contract(contract).ok
    values = {"a": Decimal("0.55"), "b": Decimal(15)}
    lines = settle_periods(
        contract,
        [
            PeriodInputs(
                year=1,
                quarter=q,
                indicator_values=values,
                outturn_cost_gbp=outturn if q == 4 else None,
                **inputs,
            )
            for q in (1, 2, 3, 4)
        ],
    )
    assert lines, form
    assert all(ln.amount_pence >= 0 for ln in lines)
    assert sum(net_by_party(lines).values()) == 0
    # The provider side is paid something in every form.
    commissioner_paid = -net_by_party(lines)["icb"]
    assert commissioner_paid > 0


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_form_is_stress_tested(form: str) -> None:
    overrides, _ = FORMS[form]
    result = run_stress(contract_from_dict(base_contract(**overrides)), n_runs=300, seed=1)
    assert result.margin_gbp.shape == (300, 1)
    assert np.isfinite(result.margin_gbp).all()
    assert 0 <= result.p_cumulative_loss <= 1


@pytest.mark.parametrize("basis", payment_bases())
def test_a_basis_without_a_stress_model_fails_loudly(
    basis: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(stress_module.BASIS_STRESS, basis)
    assert any(f"'{basis}'" in p for p in registry_problems())
    users = [f for f, (o, _) in FORMS.items() if o.get("years", CAPITATED)[0]["basis"] == basis]
    for form in users:
        contract = contract_from_dict(base_contract(**FORMS[form][0]))
        report = check_contract(contract)
        assert any(p.path == "form.type" and basis in p.message for p in report.problems)
        with pytest.raises(ValueError, match="no stress model"):
            run_stress(contract, n_runs=100)


def test_a_basis_without_a_settlement_rule_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(settle_module.BASIS_SETTLEMENT, "activity")
    overrides, inputs = FORMS["activity"]
    contract = contract_from_dict(base_contract(**overrides))
    assert not check_contract(contract).ok
    with pytest.raises(SettlementError, match="no settlement rule"):
        settle_periods(contract, [PeriodInputs(year=1, quarter=1, **inputs)])


def test_a_form_without_a_provider_side_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(settle_module.PROVIDER_SIDE, "alliance")
    contract = contract_from_dict(base_contract(**FORMS["alliance"][0]))
    assert any("provider-side" in p.message for p in check_contract(contract).problems)
    with pytest.raises(SettlementError, match="no provider-side rule"):
        settle_periods(contract, [PeriodInputs(year=1, quarter=1, indicator_values={"a": 1})])
