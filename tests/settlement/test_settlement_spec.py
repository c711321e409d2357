"""Spec tests: "this contract and these measured outcomes pay £X to each party".

Each test states the arithmetic by hand beside the expected pence. The worked examples in
docs/methods/payment-*.md are these tests.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from settlement_cases import CORRIDORS_2_10, MEASURE_A, MEASURE_B, make

from commissioning.contracts.schema import Contract
from commissioning.settlement.lines import Adjustment, PeriodInputs, SettlementLine
from commissioning.settlement.settle import (
    SettlementError,
    annual_budget_pence,
    do_nothing_budget_pence,
    net_by_party,
    settle_period,
    settle_periods,
)


def paid(lines: list[SettlementLine], kind: str, payee: str, key: str | None = None) -> int:
    """Pence of ``kind`` lines paid to ``payee`` (optionally one key)."""
    return sum(
        ln.amount_pence
        for ln in lines
        if ln.kind == kind and ln.payee == payee and (key is None or ln.key == key)
    )


Q = PeriodInputs


# -- block, activity, year of care, episode ------------------------------------------------


def test_block_pays_quarter_instalments_last_absorbs_rounding() -> None:
    # £1,000,000.02 a year = 100,000,002p; /4 = 25,000,000.5 -> half to even 25,000,000p
    # for Q1-Q3; Q4 = 100,000,002 - 3 x 25,000,000 = 25,000,002p.
    c = make(
        form={"type": "block", "provider": "prov"},
        finance={"baseline_budget_gbp": "1000000.02"},
        years=[{"year": 1, "basis": "block"}],
    )
    amounts = [
        paid(settle_period(c, Q(year=1, quarter=q)), "block_instalment", "prov")
        for q in range(1, 5)
    ]
    assert amounts == [25_000_000, 25_000_000, 25_000_000, 25_000_002]
    assert sum(amounts) == 100_000_002


def test_activity_pays_count_times_tariff_by_point_of_delivery() -> None:
    # 120 first outpatient appointments x £150.00 = £18,000.00;
    # 300 follow-ups x £85.50 = £25,650.00.
    c = make(
        form={
            "type": "activity",
            "provider": "prov",
            "tariff_gbp": {"op_first": 150, "op_follow_up": "85.50"},
        },
        years=[{"year": 1, "basis": "activity"}],
    )
    lines = settle_period(
        c, Q(year=1, quarter=2, activity_counts={"op_first": 120, "op_follow_up": 300})
    )
    assert paid(lines, "activity", "prov", "op_first") == 1_800_000
    assert paid(lines, "activity", "prov", "op_follow_up") == 2_565_000
    with pytest.raises(SettlementError, match="no tariff for point of delivery 'ae'"):
        settle_period(c, Q(year=1, quarter=2, activity_counts={"ae": 1}))


def test_year_of_care_pays_people_times_price_per_band_quarterly() -> None:
    # low band: 100 people x £1,200 = £120,000 a year -> £30,000.00 a quarter.
    # high band: 7 x £4,850.50 = £33,953.50 = 3,395,350p; /4 = 848,837.5 -> even 848,838p
    # for Q1-Q3 and Q4 = 3,395,350 - 3 x 848,838 = 848,836p.
    c = make(
        form={
            "type": "year_of_care",
            "provider": "prov",
            "price_per_person_gbp": {"low": 1200, "high": "4850.50"},
        },
        years=[{"year": 1, "basis": "year_of_care"}],
    )
    people = {"low": 100, "high": 7}
    q1 = settle_period(c, Q(year=1, quarter=1, people_by_band=people))
    q4 = settle_period(c, Q(year=1, quarter=4, people_by_band=people))
    assert paid(q1, "year_of_care", "prov", "low") == 3_000_000
    assert paid(q1, "year_of_care", "prov", "high") == 848_838
    assert paid(q4, "year_of_care", "prov", "high") == 848_836


def test_episode_with_reablement_pays_bundle_price_per_episode() -> None:
    # 13 hip-replacement episodes with reablement x £7,250 = £94,250.00.
    c = make(
        form={"type": "episode_with_reablement", "provider": "prov", "bundle_price_gbp": 7250},
        years=[{"year": 1, "basis": "episode"}],
    )
    lines = settle_period(c, Q(year=1, quarter=3, episodes=13))
    assert paid(lines, "episode", "prov") == 9_425_000


# -- capitation with outcome incentive ------------------------------------------------------

CAPITATION_10 = {
    "years": [{"year": 1, "basis": "capitation", "value_at_risk": 0.10}],
    "outcomes": {"measures": [MEASURE_A, MEASURE_B]},
}


def test_capitation_and_outcome_payments() -> None:
    # Budget £1,000,000; 10% at risk = £100,000; core £900,000 -> £225,000 a quarter.
    # Quarter outcome pot £25,000: A (weight 0.6) £15,000, B (weight 0.4) £10,000.
    # A: 0.575 on baseline 0.50 -> target 0.60: attainment 0.75, linear -> 0.75 x £15,000
    #    = £11,250. B: 16 on baseline 20 -> target 15: attainment 0.8 < threshold 1 -> £0.
    c = make(**CAPITATION_10)
    lines = settle_period(c, Q(year=1, quarter=1, indicator_values={"a": "0.575", "b": 16}))
    assert paid(lines, "capitation", "prov") == 22_500_000
    assert paid(lines, "outcome_payment", "prov", "a") == 1_125_000
    assert paid(lines, "outcome_payment", "prov", "b") == 0
    line_a = next(ln for ln in lines if ln.key == "a")
    assert dict(line_a.inputs)["attainment"] == "0.75"
    assert dict(line_a.inputs)["unearned_pence"] == "375000"
    assert net_by_party(lines) == {"prov": 23_625_000, "icb": -23_625_000}


def test_missing_indicator_value_is_an_error_naming_it() -> None:
    c = make(**CAPITATION_10)
    with pytest.raises(SettlementError, match=r"missing .* b — supply them"):
        settle_period(c, Q(year=1, quarter=1, indicator_values={"a": 1}))


def _risk(**risk_share: object) -> dict[str, object]:
    return {"years": [{"year": 1, "basis": "capitation", "risk_share": risk_share}]}


@pytest.mark.parametrize(
    ("outturn_gbp", "kind", "expected_pence"),
    [
        # exactly 2% under (£20,000): provider keeps all of it; returns £0.
        (980_000, "gain_share", 0),
        # exactly 10% under (£100,000): keeps 20,000 + 0.5 x 80,000 = 60,000; returns £40,000.
        (900_000, "gain_share", 4_000_000),
        # 15% under (£150,000): keeps 60,000 (no share beyond 10%); returns £90,000.
        (850_000, "gain_share", 9_000_000),
        # 5% over (£50,000): bears 20,000 + 0.5 x 30,000 = 35,000; commissioner pays £15,000.
        (1_050_000, "risk_share", 1_500_000),
        # exactly 10% over: bears 60,000; commissioner pays £40,000.
        (1_100_000, "risk_share", 4_000_000),
    ],
)
def test_year_end_corridors(outturn_gbp: int, kind: str, expected_pence: int) -> None:
    c = make(**_risk(corridors=CORRIDORS_2_10))
    lines = settle_period(c, Q(year=1, quarter=4, outturn_cost_gbp=outturn_gbp))
    line = next(ln for ln in lines if ln.kind == kind)
    assert line.amount_pence == expected_pence
    if kind == "gain_share":
        assert (line.payer, line.payee) == ("prov", "icb")
    else:
        assert (line.payer, line.payee) == ("icb", "prov")


def test_caps_limit_what_the_provider_keeps_and_bears() -> None:
    # Gain cap £50,000 at 10% under: keeps 50,000 not 60,000; returns £50,000.
    # Loss cap £25,000 at 5% over: bears 25,000 not 35,000; commissioner pays £25,000.
    c = make(**_risk(corridors=CORRIDORS_2_10, gain_cap_gbp=50_000, loss_cap_gbp=25_000))
    under = settle_period(c, Q(year=1, quarter=4, outturn_cost_gbp=900_000))
    over = settle_period(c, Q(year=1, quarter=4, outturn_cost_gbp=1_050_000))
    assert paid(under, "gain_share", "icb") == 5_000_000
    assert paid(over, "risk_share", "prov") == 2_500_000
    assert dict(over[-1].inputs)["capped"] == "True"


def test_asymmetric_overspend_corridors() -> None:
    # Provider bears every overspend (one open corridor at 1.0): 5% over -> commissioner £0.
    c = make(
        **_risk(
            corridors=CORRIDORS_2_10,
            overspend_corridors=[{"from_share": 0, "provider_share": 1}],
        )
    )
    lines = settle_period(c, Q(year=1, quarter=4, outturn_cost_gbp=1_050_000))
    assert paid(lines, "risk_share", "prov") == 0


def test_budget_grows_and_planned_savings_reduce_it() -> None:
    # Year 3: £1,000,000 x 1.05^2 x (1 - 0.10) = £992,250.00.
    years = [
        {"year": y, "basis": "capitation", "planned_savings": 0.1 * (y == 3)} for y in (1, 2, 3)
    ]
    c = make(
        duration_years=3,
        finance={"baseline_budget_gbp": 1_000_000, "do_nothing_growth": 0.05},
        years=years,
    )
    assert annual_budget_pence(c, 3) == 99_225_000


# -- the year the rules change (fee based, then capitation with outcomes) --------------------


def test_fee_years_then_capitation_with_outcomes_and_risk_share() -> None:
    # Years 1-2: block fee £250,000 a quarter, nothing at risk, no risk share even if an
    # outturn is reported. Year 3: capitation, 10% at risk: core £225,000 a quarter; outcome
    # pot £25,000; A at target pays £15,000, B at target pays £10,000 each quarter, so the
    # provider is paid the whole £1,000,000. Year-3 outturn £900,000: returns £40,000.
    c = make(
        form={"type": "prime_provider", "prime": "prov"},
        parties=[
            {"id": "icb", "name": "ICB", "role": "commissioner"},
            {"id": "prov", "name": "Prime", "role": "prime_provider"},
        ],
        duration_years=3,
        years=[
            {"year": 1, "basis": "block"},
            {"year": 2, "basis": "block"},
            {
                "year": 3,
                "basis": "capitation",
                "value_at_risk": 0.10,
                "risk_share": {"corridors": CORRIDORS_2_10},
            },
        ],
        outcomes={"measures": [MEASURE_A, MEASURE_B]},
    )
    at_target = {"a": "0.60", "b": 15}
    y2q4 = settle_period(
        c, Q(year=2, quarter=4, indicator_values=at_target, outturn_cost_gbp=900_000)
    )
    assert [(ln.kind, ln.amount_pence) for ln in y2q4] == [("block_instalment", 25_000_000)]
    y3 = settle_periods(
        c,
        [
            Q(
                year=3,
                quarter=q,
                indicator_values=at_target,
                outturn_cost_gbp=900_000 if q == 4 else None,
            )
            for q in (1, 2, 3, 4)
        ],
    )
    y3q4 = [ln for ln in y3 if ln.quarter == 4]
    assert paid(y3q4, "capitation", "prov") == 22_500_000
    assert paid(y3q4, "outcome_payment", "prov") == 2_500_000
    assert paid(y3q4, "gain_share", "icb") == 4_000_000


# -- prime provider, alliance, hub, joint venture, social impact bond ------------------------


def test_prime_provider_pays_subcontractors() -> None:
    # Capitation £2,000,000 -> £500,000 a quarter to the prime; the prime pays the
    # subcontractor £400,000 / 4 = £100,000; the prime nets £400,000.
    c = make(
        form={
            "type": "prime_provider",
            "prime": "prime",
            "subcontracts": [{"party": "sub", "annual_value_gbp": 400_000}],
        },
        parties=[
            {"id": "icb", "name": "ICB", "role": "commissioner"},
            {"id": "prime", "name": "Prime", "role": "prime_provider"},
            {"id": "sub", "name": "Sub", "role": "subcontractor"},
        ],
        finance={"baseline_budget_gbp": 2_000_000},
    )
    lines = settle_period(c, Q(year=1, quarter=1))
    assert net_by_party(lines) == {"prime": 40_000_000, "icb": -50_000_000, "sub": 10_000_000}


ALLIANCE = {
    "form": {"type": "alliance"},
    "parties": [
        {"id": "icb", "name": "ICB", "role": "commissioner"},
        {"id": "acute", "name": "Acute", "role": "alliance_partner", "share": 0.5},
        {"id": "community", "name": "Community", "role": "alliance_partner", "share": 0.3},
        {"id": "gp", "name": "GP federation", "role": "alliance_partner", "share": 0.2},
    ],
}


def test_alliance_pot_split_by_shares_with_largest_remainder() -> None:
    # Budget £100.01 = 10,001p: Q1-Q3 = 2,500.25 -> 2,500p; Q4 = 2,501p.
    # Q4 split 0.5/0.3/0.2: exact 1,250.5 / 750.3 / 500.2 -> floors 1,250/750/500 = 2,500;
    # the 1p left goes to the largest remainder (acute, .5): 1,251 / 750 / 500.
    c = make(**ALLIANCE, finance={"baseline_budget_gbp": "100.01"})
    lines = settle_period(c, Q(year=1, quarter=4))
    assert {ln.payee: ln.amount_pence for ln in lines} == {
        "acute": 1251,
        "community": 750,
        "gp": 500,
    }


def test_alliance_collective_gain_and_loss() -> None:
    # £1,000,000 budget, outturn £900,000: the alliance keeps £60,000 and returns £40,000,
    # the partners paying 20,000 / 12,000 / 8,000. Outturn £1,050,000: the commissioner pays
    # £15,000 of the overspend: 7,500 / 4,500 / 3,000.
    c = make(**ALLIANCE, **_risk(corridors=CORRIDORS_2_10))
    under = settle_period(c, Q(year=1, quarter=4, outturn_cost_gbp=900_000))
    back = {ln.payer: ln.amount_pence for ln in under if ln.kind == "gain_share"}
    assert back == {"acute": 2_000_000, "community": 1_200_000, "gp": 800_000}
    over = settle_period(c, Q(year=1, quarter=4, outturn_cost_gbp=1_050_000))
    extra = {ln.payee: ln.amount_pence for ln in over if ln.kind == "risk_share"}
    assert extra == {"acute": 750_000, "community": 450_000, "gp": 300_000}


def test_integrated_pathway_hub_fee_contracts_and_outcomes() -> None:
    # Budget £1,000,000, 5% at risk: core £950,000 -> £237,500 a quarter, of which the hub
    # fee £100,000/4 = £25,000 and the acute contract £600,000/4 = £150,000; the hub keeps
    # the remaining £62,500. Outcome pot £50,000/4 = £12,500, measure at target -> all to hub.
    measure = {**MEASURE_A, "weight": 1}
    c = make(
        form={
            "type": "integrated_pathway_hub",
            "hub": "hub",
            "coordinator_fee_gbp": 100_000,
            "provider_contracts": [{"party": "acute", "annual_value_gbp": 600_000}],
        },
        parties=[
            {"id": "icb", "name": "ICB", "role": "commissioner"},
            {"id": "hub", "name": "Hub", "role": "hub"},
            {"id": "acute", "name": "Acute", "role": "provider"},
        ],
        years=[{"year": 1, "basis": "capitation", "value_at_risk": 0.05}],
        outcomes={"measures": [measure]},
    )
    lines = settle_period(c, Q(year=1, quarter=1, indicator_values={"a": "0.6"}))
    assert paid(lines, "coordinator_fee", "hub") == 2_500_000
    assert paid(lines, "provider_contract", "acute") == 15_000_000
    assert paid(lines, "capitation", "hub") == 6_250_000
    assert paid(lines, "outcome_payment", "hub") == 1_250_000


def test_joint_venture_shares_retained_gain_and_loss_by_equity() -> None:
    # Outturn £950,000 (5% under): the venture keeps 20,000 + 0.5 x 30,000 = £35,000 and
    # returns £15,000; it distributes 0.6/0.4: £21,000 and £14,000.
    # Outturn £1,030,000 (3% over): bears 20,000 + 0.5 x 10,000 = £25,000, commissioner pays
    # £5,000; partners contribute £15,000 and £10,000.
    c = make(
        form={"type": "joint_venture", "vehicle": "jv"},
        parties=[
            {"id": "icb", "name": "ICB", "role": "commissioner"},
            {"id": "jv", "name": "Venture", "role": "joint_venture"},
            {"id": "p1", "name": "Partner 1", "role": "venture_partner", "share": 0.6},
            {"id": "p2", "name": "Partner 2", "role": "venture_partner", "share": 0.4},
        ],
        **_risk(corridors=CORRIDORS_2_10),
    )
    under = settle_period(c, Q(year=1, quarter=4, outturn_cost_gbp=950_000))
    assert paid(under, "gain_share", "icb") == 1_500_000
    assert paid(under, "jv_distribution", "p1") == 2_100_000
    assert paid(under, "jv_distribution", "p2") == 1_400_000
    over = settle_period(c, Q(year=1, quarter=4, outturn_cost_gbp=1_030_000))
    assert paid(over, "risk_share", "jv") == 500_000
    contributions = {ln.payer: ln.amount_pence for ln in over if ln.kind == "jv_contribution"}
    assert contributions == {"p1": 1_500_000, "p2": 1_000_000}


def test_social_impact_bond_outcome_payments_and_capped_return() -> None:
    # Capital £500,000, return capped at 20%: the investor can receive at most £600,000.
    # Q1: 100 x £2,000 + 50 x £1,500 = £275,000 (and the capital goes to the provider).
    # Q2: employment 150 x £2,000 = £300,000 (total 575,000); housing due £150,000 but only
    #     £25,000 is left under the cap. Q3: nothing left; the investor's return is £100,000.
    c = make(
        form={
            "type": "social_impact_bond",
            "investor": "investor",
            "provider": "prov",
            "capital_gbp": 500_000,
            "outcome_prices_gbp": {"sustained_employment": 2000, "stable_housing": 1500},
            "max_return_on_capital": 0.2,
        },
        parties=[
            {"id": "icb", "name": "ICB", "role": "commissioner"},
            {"id": "investor", "name": "Social investor", "role": "investor"},
            {"id": "prov", "name": "Provider", "role": "provider"},
        ],
        years=[{"year": 1, "basis": "outcomes_only"}],
    )
    lines = settle_periods(
        c,
        [
            Q(
                year=1,
                quarter=1,
                sib_outcome_counts={"sustained_employment": 100, "stable_housing": 50},
            ),
            Q(
                year=1,
                quarter=2,
                sib_outcome_counts={"sustained_employment": 150, "stable_housing": 100},
            ),
            Q(year=1, quarter=3, sib_outcome_counts={"sustained_employment": 10}),
        ],
    )
    by_period = {}
    for ln in lines:
        if ln.kind == "sib_outcome_payment":
            by_period[(ln.quarter, ln.key)] = ln.amount_pence
    assert by_period == {
        (1, "sustained_employment"): 20_000_000,
        (1, "stable_housing"): 7_500_000,
        (2, "sustained_employment"): 30_000_000,
        (2, "stable_housing"): 2_500_000,
        (3, "sustained_employment"): 0,
    }
    net = net_by_party(lines)
    assert net["investor"] == 60_000_000 - 50_000_000  # return of £100,000 = 20%
    assert net["prov"] == 50_000_000


def test_in_year_adjustment_is_its_own_line() -> None:
    # A £12,345.67 winter-pressures adjustment from the commissioner to the provider.
    c = make(years=[{"year": 1, "basis": "capitation"}])
    adj = Adjustment(
        reference="ADJ-7",
        description="Winter pressures",
        payer="icb",
        payee="prov",
        amount_gbp=Decimal("12345.67"),
    )
    lines = settle_period(c, Q(year=1, quarter=3, adjustments=[adj]))
    assert paid(lines, "adjustment", "prov", "ADJ-7") == 1_234_567


def test_every_line_carries_provenance() -> None:
    c = make(**CAPITATION_10)
    inputs = Q(year=1, quarter=1, indicator_values={"a": "0.575", "b": 16}, event_digest="abc")
    for line in settle_period(c, inputs):
        assert line.contract_id == "spec"
        assert len(line.contract_hash) == 64
        assert line.period == "Y1Q1"
        assert line.inputs_digest == inputs.digest()
        assert ("event_digest", "abc") in line.inputs


# -- what was at stake: withheld value at risk is not a saving ----------------------------


def _at_stake(**risk: object) -> Contract:
    return make(
        years=[
            {
                "year": 1,
                "basis": "capitation",
                "value_at_risk": 0.10,
                "risk_share": {"corridors": [{"from_share": 0, "provider_share": 0.5}], **risk},
            }
        ],
        outcomes={"measures": [MEASURE_A, MEASURE_B]},
    )


def _year(c: Contract, values: dict[str, object], outturn: int) -> list:
    return settle_periods(
        c,
        [
            Q(
                year=1,
                quarter=q,
                indicator_values=values,
                outturn_cost_gbp=outturn if q == 4 else None,
            )
            for q in (1, 2, 3, 4)
        ],
    )


def test_no_gain_share_while_the_provider_lost_money_on_what_it_was_paid() -> None:
    # Budget £1,000,000 with 10% (£100,000) at risk; outcomes stay at baseline, so nothing
    # of the value at risk is earned: the provider is paid £900,000. Outturn £950,000 (95%
    # of the budget). On the budget the "variance" would be a £50,000 underspend and the
    # provider would return £25,000 of gain; on what it was paid it overspent £50,000 and
    # the commissioner pays half of that, £25,000, as its risk share.
    lines = _year(_at_stake(), {"a": "0.50", "b": 20}, 950_000)
    assert paid(lines, "outcome_payment", "prov") == 0
    assert not [ln for ln in lines if ln.kind == "gain_share"]
    assert paid(lines, "risk_share", "prov") == 2_500_000
    net = net_by_party(lines)
    assert net["prov"] == 90_000_000 + 2_500_000


def test_core_budget_basis_keeps_outcome_payments_outside_the_share() -> None:
    # Outcomes at target: £100,000 earned. Core budget £900,000, outturn £950,000: an
    # overspend of £50,000 on the core; the commissioner pays half, £25,000.
    lines = _year(_at_stake(variance_basis="core_budget"), {"a": "0.60", "b": 15}, 950_000)
    assert paid(lines, "outcome_payment", "prov") == 10_000_000
    assert paid(lines, "risk_share", "prov") == 2_500_000


def test_minimum_savings_rate_is_not_a_zero_share_first_corridor() -> None:
    # Outcomes at target: paid £1,000,000. Outturn £970,000: a 3% underspend (£30,000).
    # MSR 2%: reached, so shared from the first pound at 50%: the provider returns £15,000.
    # A zero-share corridor [0, 2%) would have returned £20,000 + half of £10,000 = £25,000.
    at_target = {"a": "0.60", "b": 15}
    msr = _year(_at_stake(minimum_savings_rate=0.02), at_target, 970_000)
    assert paid(msr, "gain_share", "icb") == 1_500_000
    corridor = make(
        years=[
            {
                "year": 1,
                "basis": "capitation",
                "value_at_risk": 0.10,
                "risk_share": {
                    "corridors": [
                        {"from_share": 0, "to_share": 0.02, "provider_share": 0},
                        {"from_share": 0.02, "provider_share": 0.5},
                    ]
                },
            }
        ],
        outcomes={"measures": [MEASURE_A, MEASURE_B]},
    )
    assert paid(_year(corridor, at_target, 970_000), "gain_share", "icb") == 2_500_000
    # Below the MSR (a 1.5% underspend, £15,000) nothing is shared: all £15,000 returned.
    below = _year(_at_stake(minimum_savings_rate=0.02), at_target, 985_000)
    assert paid(below, "gain_share", "icb") == 1_500_000


def test_quality_gate_withholds_the_gain() -> None:
    # Gate: at least 50% of the value at risk earned. Measure B at target (40% weight)
    # earns £40,000 of £100,000: 40% < 50%, so the provider keeps none of its gain.
    # Paid £940,000, outturn £840,000: underspend £100,000, all returned.
    lines = _year(_at_stake(quality_gate=0.5), {"a": "0.50", "b": 15}, 840_000)
    assert paid(lines, "outcome_payment", "prov") == 4_000_000
    assert paid(lines, "gain_share", "icb") == 10_000_000
    # With A at target as well (all earned) the gate is met: half the £160,000 returned.
    met = _year(_at_stake(quality_gate=0.5), {"a": "0.60", "b": 15}, 840_000)
    assert paid(met, "gain_share", "icb") == 8_000_000


def test_indexation_is_apart_from_do_nothing_growth() -> None:
    # Baseline £1,000,000; do-nothing growth 5% a year; budget indexed at uplift 3% less
    # efficiency 1.1% = 1.9% a year. Year 3 budget: 1,000,000 x 1.019^2 = £1,038,361.00;
    # do-nothing year 3: 1,000,000 x 1.05^2 = £1,102,500.
    c = make(
        duration_years=3,
        finance={
            "baseline_budget_gbp": 1_000_000,
            "do_nothing_growth": 0.05,
            "indexation": {"uplift": 0.03, "efficiency": 0.011},
        },
        years=[{"year": y, "basis": "capitation"} for y in (1, 2, 3)],
    )
    assert annual_budget_pence(c, 3) == 103_836_100
    assert do_nothing_budget_pence(c, 3) == 110_250_000
