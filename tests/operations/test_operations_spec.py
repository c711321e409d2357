"""Spec tests of contract operations, one per rule a finance team relies on.

Each states the contract, what happened and, worked by hand, what the ledger must hold.
The contract of :func:`ops_cases.contract_data`: £1,000,000 a year from 1 April 2025, paid
in quarterly capitation instalments of £250,000.
"""

from __future__ import annotations

import re

import pytest
from ops_cases import (
    MEASURE_ADMISSIONS,
    MEASURE_HOME,
    certify,
    certify_outturn,
    contract_data,
    operations,
    paid,
    register_signed,
    settle,
    toml_text,
)

from commissioning.operations import disputes, register, runs
from commissioning.operations.base import OperationError
from commissioning.operations.exports import contract_statement
from commissioning.settlement.statement import statement_html

RISK_HALF = {"corridors": [{"from_share": 0, "provider_share": 0.5}]}


def _ledger(ops, contract_id: str = "home-first") -> list:
    return ops.ledger.lines(contract_id=contract_id)


# -- signed terms are never rewritten ---------------------------------------------------------


def test_a_registered_version_never_changes() -> None:
    ops = operations()
    register_signed(ops, contract_data())
    changed = contract_data(finance={"baseline_budget_gbp": 2_000_000})
    with pytest.raises(OperationError, match="give the new terms a new version number"):
        register.register_version(ops, toml_text(changed), "x.toml", "Cat Manager")


def test_settlement_waits_for_every_signature() -> None:
    ops = operations()
    register.register_version(ops, toml_text(contract_data()), "c.toml", "Cat Manager")
    register.sign(ops, "home-first", "1.0", "icb", "Signatory icb")
    assert register.status(ops, "home-first") == "draft"
    with pytest.raises(OperationError, match="every party must sign"):
        runs.draft_run(ops, "home-first", 1, 1, "Cat Manager")


def test_a_new_version_pays_only_the_difference() -> None:
    # Q1 and Q2 settled under 1.0 (£250,000 each). Version 1.1 from the start date raises
    # the budget to £1,200,000 (£300,000 a quarter). Settling Q1 again posts £50,000, not
    # £300,000; a version that changes only its number posts nothing at all.
    ops = operations()
    register_signed(ops, contract_data())
    settle(ops, "home-first", 1, 1)
    settle(ops, "home-first", 1, 2)
    assert paid(_ledger(ops), payee="prov") == 50_000_000
    v11 = contract_data(
        version="1.1", effective_from="2025-04-01", finance={"baseline_budget_gbp": 1_200_000}
    )
    new = register_signed(ops, v11)
    run = settle(ops, "home-first", 1, 1)
    assert [(ln.kind, ln.payer, ln.payee, ln.amount_pence) for ln in run.lines] == [
        ("capitation", "icb", "prov", 5_000_000)
    ]
    facts = dict(run.lines[0].inputs)
    assert facts["due_pence"] == "30000000" and facts["posted_pence"] == "25000000"
    assert new.content_hash in facts["due_under_version"]
    assert facts["posted_under_versions"] != new.content_hash  # names the earlier version
    # The number alone changes: nothing more to post.
    v12 = {**v11, "version": "1.2"}
    register_signed(ops, v12)
    assert settle(ops, "home-first", 1, 1).lines == []
    assert paid(_ledger(ops), payee="prov") == 55_000_000


# -- periods in order, year-end after the data lag ----------------------------------------------


def test_out_of_order_and_gaps_are_refused() -> None:
    ops = operations()
    register_signed(ops, contract_data())
    with pytest.raises(OperationError, match="settle Y1Q3 before Y1Q4"):
        runs.draft_run(ops, "home-first", 1, 4, "Cat Manager")
    with pytest.raises(OperationError, match="settle Y1Q4 before Y2Q1"):
        runs.draft_run(ops, "home-first", 2, 1, "Cat Manager")
    with pytest.raises(OperationError, match="settle Y1Q4 before its year-end"):
        runs.draft_run(ops, "home-first", 1, 5, "Cat Manager")
    assert _ledger(ops) == []


def test_year_end_posts_after_quarter_4_when_the_outturn_arrives() -> None:
    # Year 1 quarters settled, then Y2Q1 and Y2Q2 — the outturn arrives months later. It is
    # £900,000 against £1,000,000 paid: the provider keeps half of the £100,000 and returns
    # £50,000 at the year-end.
    ops = operations()
    years = [{"year": y, "basis": "capitation", "risk_share": RISK_HALF} for y in (1, 2)]
    register_signed(ops, contract_data(years=years))
    for period in [(1, 1), (1, 2), (1, 3), (1, 4), (2, 1), (2, 2)]:
        settle(ops, "home-first", *period)
    with pytest.raises(OperationError, match="outturn is not yet certified"):
        runs.draft_run(ops, "home-first", 1, 5, "Cat Manager")
    certify_outturn(ops, "home-first", 1, "900000.00")
    run = settle(ops, "home-first", 1, 5)
    assert [(ln.kind, ln.payer, ln.payee, ln.amount_pence) for ln in run.lines] == [
        ("gain_share", "prov", "icb", 5_000_000)
    ]
    assert run.period == "Y1YE"
    # A restated outturn (£950,000) posts only the difference: £25,000 back to the provider.
    certify_outturn(ops, "home-first", 1, "950000.00")
    again = settle(ops, "home-first", 1, 5)
    assert [(ln.kind, ln.payer, ln.payee, ln.amount_pence) for ln in again.lines] == [
        ("gain_share", "icb", "prov", 2_500_000)
    ]


# -- measurements: missing stays missing -------------------------------------------------------


def _with_outcomes(**extra: object) -> dict:
    return contract_data(
        years=[
            {"year": 1, "basis": "capitation", "value_at_risk": 0.1},
            {"year": 2, "basis": "capitation", "value_at_risk": 0.1},
        ],
        outcomes={"measures": [MEASURE_HOME, MEASURE_ADMISSIONS], **extra},
    )


def test_a_missing_value_stays_uncertified_and_pays_nothing_yet() -> None:
    # 10% at risk: £25,000 a quarter, £12,500 per measure. 'home' is certified at 0.55
    # (half-way: £6,250); 'admissions' is submitted but not certified: it pays nothing and
    # is listed as awaiting — never taken at its baseline.
    ops = operations()
    register_signed(ops, _with_outcomes())
    certify(ops, "home-first", 1, 1, home="0.55")
    from commissioning.operations import measurements

    measurements.submit(ops, "home-first", 1, 1, "indicator", "admissions", "150", "Pat Provider")
    run = settle(ops, "home-first", 1, 1)
    assert run.awaiting == ["admissions"]
    assert paid(run.lines, "outcome_payment") == 625_000
    with pytest.raises(OperationError, match="awaits certified values for admissions"):
        runs.close_period(ops, "home-first", 1, 1, "Cat Manager")
    # Certified late (at target: £12,500): settling Q1 again posts just that.
    certify(ops, "home-first", 1, 1, admissions="150")
    late = settle(ops, "home-first", 1, 1)
    assert [(ln.key, ln.amount_pence) for ln in late.lines] == [("admissions", 1_250_000)]
    runs.close_period(ops, "home-first", 1, 1, "Cat Manager")
    with pytest.raises(OperationError, match="Y1Q1 is closed"):
        runs.draft_run(ops, "home-first", 1, 1, "Cat Manager")
    with pytest.raises(OperationError, match="Y1Q1 is closed already"):
        runs.close_period(ops, "home-first", 1, 1, "Cat Manager")


def test_a_value_is_submitted_only_after_its_period_ends() -> None:
    from commissioning.operations import measurements

    ops = operations()
    register_signed(ops, _with_outcomes())
    ops.now = lambda: "2025-06-30T17:00:00+00:00"  # the last day of Y1Q1
    with pytest.raises(OperationError, match="can be submitted from 2025-07-01"):
        measurements.submit(ops, "home-first", 1, 1, "indicator", "home", "0.55", "Pat Provider")
    with pytest.raises(OperationError, match="Y1YE runs to 2026-03-31"):
        measurements.submit(ops, "home-first", 1, 5, "outturn", "", "900000", "Pat Provider")
    ops.now = lambda: "2025-07-01T09:00:00+00:00"
    m = measurements.submit(ops, "home-first", 1, 1, "indicator", "home", "0.55", "Pat Provider")
    assert m.submitted_at == "2025-07-01T09:00:00+00:00" and m.status == "submitted"


def test_year_to_date_measures_catch_up_and_claw_back() -> None:
    # 'home' measured year to date, linear from 0.50 to 0.60; pot £12,500 a quarter.
    # Q1 YTD 0.52 (20%): £2,500. Q2 YTD 0.58 (80%): due to date 2 x 12,500 x 0.8 = £20,000,
    # less £2,500 paid: £17,500. Q3 YTD 0.54 (40%): due 3 x 12,500 x 0.4 = £15,000, less
    # £20,000: £5,000 clawed back from the provider.
    ops = operations()
    register_signed(ops, _with_outcomes(measurement="year_to_date"))
    amounts = []
    for q, value in ((1, "0.52"), (2, "0.58"), (3, "0.54")):
        certify(ops, "home-first", 1, q, home=value, admissions="200")
        run = settle(ops, "home-first", 1, q)
        line = next(ln for ln in run.lines if ln.kind == "outcome_payment" and ln.key == "home")
        amounts.append((line.payer, line.amount_pence))
    assert amounts == [("icb", 250_000), ("icb", 1_750_000), ("prov", 500_000)]


def test_year_to_date_catch_up_counts_what_was_paid_not_what_was_due() -> None:
    # Q1 YTD 0.52: £2,500. Q2's value is not certified: nothing on 'home' in Q2. Q3 YTD
    # 0.54: due to date 3 x £12,500 x 0.4 = £15,000, less the £2,500 actually paid:
    # £12,500 — the year pays £15,000 in all, never Q1 twice.
    ops = operations()
    register_signed(ops, _with_outcomes(measurement="year_to_date"))
    certify(ops, "home-first", 1, 1, home="0.52", admissions="200")
    settle(ops, "home-first", 1, 1)
    certify(ops, "home-first", 1, 2, admissions="200")
    assert settle(ops, "home-first", 1, 2).awaiting == ["home"]
    certify(ops, "home-first", 1, 3, home="0.54", admissions="200")
    settle(ops, "home-first", 1, 3)
    home = [ln for ln in _ledger(ops) if ln.key == "home"]
    assert [(ln.quarter, ln.amount_pence) for ln in home] == [(1, 250_000), (3, 1_250_000)]


def test_annual_measures_pay_the_year_at_quarter_4() -> None:
    # Measured over the whole year: Q1-Q3 pay the core only and nothing awaits; Q4 pays the
    # year's four slices on the year's value. 'home' 0.55 (half-way): 4 x £12,500 x 0.5 =
    # £25,000; 'admissions' 150 (target): £50,000.
    ops = operations()
    register_signed(ops, _with_outcomes(measurement="annual"))
    for q in (1, 2, 3):
        run = settle(ops, "home-first", 1, q)
        assert run.awaiting == [] and paid(run.lines, "outcome_payment") == 0
    certify(ops, "home-first", 1, 4, home="0.55", admissions="150")
    run = settle(ops, "home-first", 1, 4)
    outcomes = {ln.key: ln.amount_pence for ln in run.lines if ln.kind == "outcome_payment"}
    assert outcomes == {"home": 2_500_000, "admissions": 5_000_000}


# -- approvals ------------------------------------------------------------------------------


def test_runs_need_three_people_and_a_delegated_limit() -> None:
    ops = operations()
    register_signed(ops, contract_data())
    run = runs.draft_run(ops, "home-first", 1, 1, "Cat Manager")
    assert run.status == "draft" and _ledger(ops) == []
    with pytest.raises(OperationError, match="another person must review"):
        runs.review_run(ops, run.run_id, "Cat Manager")
    with pytest.raises(OperationError, match="reviewed before it is approved"):
        runs.approve_run(ops, run.run_id, "Fay Finance")
    runs.review_run(ops, run.run_id, "Rob Reviewer")
    with pytest.raises(OperationError, match="a third person must approve"):
        runs.approve_run(ops, run.run_id, "Rob Reviewer")
    with pytest.raises(OperationError, match=r"above Sam Small's delegated limit of £1,000\.00"):
        runs.approve_run(ops, run.run_id, "Sam Small")
    with pytest.raises(OperationError, match="not a finance approver"):
        runs.approve_run(ops, run.run_id, "Someone Else")
    with pytest.raises(OperationError, match="only an approved run is posted"):
        runs.post_run(ops, run.run_id, "Fay Finance")
    runs.approve_run(ops, run.run_id, "Fay Finance")
    assert runs.post_run(ops, run.run_id, "Fay Finance").status == "posted"
    assert paid(_ledger(ops)) == 25_000_000


def test_a_run_drafted_before_new_values_is_stale() -> None:
    ops = operations()
    register_signed(ops, _with_outcomes())
    certify(ops, "home-first", 1, 1, home="0.55")
    run = runs.draft_run(ops, "home-first", 1, 1, "Cat Manager")
    runs.review_run(ops, run.run_id, "Rob Reviewer")
    runs.approve_run(ops, run.run_id, "Fay Finance")
    certify(ops, "home-first", 1, 1, admissions="150")  # arrives after the draft
    with pytest.raises(OperationError, match="stale"):
        runs.post_run(ops, run.run_id, "Fay Finance")
    assert runs.get_run(ops, run.run_id).status == "stale"
    assert _ledger(ops) == []


# -- variations: pro-rated in the quarters and the year-end -------------------------------------


def _varied(effective: str) -> tuple:
    ops = operations()
    years = [{"year": y, "basis": "capitation", "risk_share": RISK_HALF} for y in (1, 2)]
    register_signed(ops, contract_data(years=years))
    v11 = contract_data(
        version="1.1",
        effective_from=effective,
        finance={"baseline_budget_gbp": 1_200_000},
        years=years,
    )
    register_signed(ops, v11)
    for q in (1, 2, 3, 4):
        settle(ops, "home-first", 1, q)
    return ops


def test_a_variation_from_q3_is_pro_rated_in_the_year_end() -> None:
    # £1,000,000 a year to 30 September, £1,200,000 from 1 October: 250,000 + 250,000 +
    # 300,000 + 300,000 = £1,100,000 paid, and the year's budget is £1,100,000 (half a year
    # of each). Outturn £1,000,000: an underspend of £100,000 on what was paid; the
    # provider returns half, £50,000 — not half of £200,000, as the new budget alone gives.
    ops = _varied("2025-10-01")
    assert [paid([ln for ln in _ledger(ops) if ln.quarter == q]) for q in (1, 2, 3, 4)] == [
        25_000_000,
        25_000_000,
        30_000_000,
        30_000_000,
    ]
    certify_outturn(ops, "home-first", 1, "1000000.00")
    run = settle(ops, "home-first", 1, 5)
    assert [(ln.kind, ln.amount_pence) for ln in run.lines] == [("gain_share", 5_000_000)]
    facts = dict(run.lines[0].inputs)
    assert facts["annual_budget_pence"] == "110000000"


def test_a_variation_mid_quarter_is_pro_rated_by_day() -> None:
    # Q3 runs 1 October to 31 December (92 days); the variation applies from 16 November:
    # 46 days at £250,000 a quarter and 46 at £300,000 = £125,000 + £150,000 = £275,000.
    ops = _varied("2025-11-16")
    q3 = [ln for ln in _ledger(ops) if ln.quarter == 3]
    assert paid(q3) == 27_500_000
    assert "46/92 days" in dict(q3[0].inputs)["versions"]
    certify_outturn(ops, "home-first", 1, "1075000.00")
    run = settle(ops, "home-first", 1, 5)
    assert run.lines == []  # on budget: 625,000 + 450,000 paid = budget £1,075,000


# -- disputes and read-only statements ---------------------------------------------------------


def test_a_dispute_holds_the_amount_until_resolved() -> None:
    from commissioning.operations.exports import payment_file

    ops = operations()
    register_signed(ops, contract_data())
    run = settle(ops, "home-first", 1, 1)
    line = run.lines[0]
    d = disputes.raise_dispute(ops, line.line_id, "icb", 1_000_000, "double-counted", "Ann Analyst")
    rows = payment_file(ops, "home-first").splitlines()
    assert rows[1].endswith(",250000.00,10000.00,240000.00")
    statement = contract_statement(ops, "home-first", "prov")
    assert statement.total_held_pence == 1_000_000
    assert "£10,000.00\nheld: disputed" in statement_html(statement)
    with pytest.raises(OperationError, match="another person resolves it"):
        disputes.resolve_dispute(ops, d.dispute_id, 24_000_000, "agreed", "Ann Analyst")
    with pytest.raises(OperationError, match=r"between £240,000\.00 and £250,000\.00"):
        disputes.resolve_dispute(ops, d.dispute_id, 500_000_000, "more", "Fay Finance")
    with pytest.raises(OperationError, match="needs a finance approver"):
        disputes.resolve_dispute(ops, d.dispute_id, 24_000_000, "agreed", "Pat Provider")
    disputes.resolve_dispute(ops, d.dispute_id, 24_000_000, "agreed at £240,000", "Fay Finance")
    corrections = [ln for ln in _ledger(ops) if ln.kind == "correction"]
    assert [(c.payer, c.payee, c.amount_pence, c.corrects) for c in corrections] == [
        ("prov", "icb", 1_000_000, line.line_id)
    ]
    # The hold is released; the run pays in full and the correction refunds £10,000.
    rows = [r.split(",") for r in payment_file(ops, "home-first").splitlines()[1:]]
    assert [[r[0], *r[3:]] for r in rows] == [
        ["home-first-dispute-1", "prov", "icb", "10000.00", "0.00", "10000.00"],
        ["home-first-run-1", "icb", "prov", "250000.00", "0.00", "250000.00"],
    ]
    assert disputes.get_dispute(ops, d.dispute_id).status == "resolved"


def test_statements_and_verify_read_only() -> None:
    ops = operations()
    register_signed(ops, contract_data())
    settle(ops, "home-first", 1, 1)
    before = [
        ops.store.query(f"SELECT * FROM {t} ORDER BY 1")
        for t in ("settlement_ledger", "settlement_runs", "contract_events")
    ]
    s = contract_statement(ops, "home-first", "prov")
    ops.ledger.verify()
    after = [
        ops.store.query(f"SELECT * FROM {t} ORDER BY 1")
        for t in ("settlement_ledger", "settlement_runs", "contract_events")
    ]
    assert before == after
    assert s.received_pence == 25_000_000 and s.verification is not None and s.verification.ok


# -- records changed behind the application --------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "what"),
    [
        (
            "UPDATE contract_versions SET file_text = replace(file_text, '1000000', '9000000')",
            "no longer has the terms",
        ),
        ("UPDATE measurements SET value = '0.60'", "measurements (measurement_id=1)"),
        ("UPDATE approvers SET limit_pence = 10 WHERE name = 'Sam Small'", "approvers"),
        ("UPDATE contract_signatures SET signed_by = 'Someone'", "contract_signatures"),
        ("UPDATE settlement_runs SET approved_by = 'Someone'", "settlement_runs (run_id=1)"),
        ("UPDATE contract_events SET actor = 'Someone' WHERE action = 'post_run'", "events"),
    ],
)
def test_signed_terms_values_and_approvals_changed_behind_the_application_are_refused(
    sql: str, what: str
) -> None:
    ops = operations()
    register_signed(ops, _with_outcomes())
    certify(ops, "home-first", 1, 1, home="0.55", admissions="175")
    settle(ops, "home-first", 1, 1)
    assert ops.broken_seals() == []
    ops.store.execute(sql)
    with pytest.raises(OperationError, match=re.escape(what)):
        runs.draft_run(ops, "home-first", 1, 2, "Cat Manager")
    assert _ledger(ops) and len(_ledger(ops)) == 3  # nothing more was posted


def test_two_versions_from_the_same_date_cannot_both_be_signed() -> None:
    # Two drafts, neither saying from when it applies: signing the second in full would
    # silently replace the first from the start date.
    ops = operations()
    for version, budget in (("1", 1_000_000), ("2", 2_000_000)):
        data = contract_data(version=version, finance={"baseline_budget_gbp": budget})
        register.register_version(ops, toml_text(data), "c.toml", "Cat Manager")
    for party in ("icb", "prov"):
        register.sign(ops, "home-first", "1", party, f"Signatory {party}")
    register.sign(ops, "home-first", "2", "icb", "Signatory icb")
    with pytest.raises(OperationError, match="a variation must say from when it applies"):
        register.sign(ops, "home-first", "2", "prov", "Signatory prov")
    assert [v.contract.version for v in register.signed_versions(ops, "home-first")] == ["1"]


def test_values_of_a_closed_period_are_locked() -> None:
    from commissioning.operations import measurements

    ops = operations()
    register_signed(ops, _with_outcomes())
    certify(ops, "home-first", 1, 1, home="0.55", admissions="175")
    settle(ops, "home-first", 1, 1)
    runs.close_period(ops, "home-first", 1, 1, "Fay Finance")
    with pytest.raises(OperationError, match="Y1Q1 is closed: its values are locked"):
        measurements.submit(ops, "home-first", 1, 1, "indicator", "home", "0.6", "Pat Provider")


def test_out_of_range_values_are_refused() -> None:
    from commissioning.operations import measurements

    ops = operations()
    register_signed(ops, _with_outcomes())
    for key, value, message in (
        ("home", "-3", "between 0 and 1"),
        ("home", "1E+400", "larger than any value"),
        ("admissions", "abc", "is not a number"),
    ):
        with pytest.raises(OperationError, match=message):
            measurements.submit(ops, "home-first", 1, 1, "indicator", key, value, "Pat Provider")
    with pytest.raises(OperationError, match="larger than any value"):
        measurements.submit(ops, "home-first", 1, 5, "outturn", "", "1e20", "Pat Provider")


def test_nobody_sets_their_own_limit_and_the_drafter_does_not_post() -> None:
    ops = operations()
    register_signed(ops, contract_data())
    with pytest.raises(OperationError, match="cannot set their own delegated limit"):
        runs.add_approver(ops, "Fay Finance", 10**9, "Fay Finance")
    runs.add_approver(ops, "Cat Manager", 10**7, "Admin")
    run = runs.draft_run(ops, "home-first", 1, 1, "Cat Manager")
    runs.review_run(ops, run.run_id, "Rob Reviewer")
    runs.approve_run(ops, run.run_id, "Fay Finance")
    with pytest.raises(OperationError, match="drafted or reviewed run"):
        runs.post_run(ops, run.run_id, "Cat Manager")
    assert runs.post_run(ops, run.run_id, "Fay Finance").status == "posted"


def test_no_payment_file_from_a_ledger_that_does_not_verify() -> None:
    from commissioning.operations.exports import payment_file

    ops = operations()
    register_signed(ops, contract_data())
    settle(ops, "home-first", 1, 1)
    assert "250000.00" in payment_file(ops, "home-first")
    ops.store.execute("UPDATE settlement_ledger SET amount_pence = 99 WHERE seq = 1")
    with pytest.raises(OperationError, match="no payment file is written"):
        payment_file(ops, "home-first")


def test_a_variation_cannot_reach_back_into_a_closed_period() -> None:
    ops = operations()
    register_signed(ops, contract_data())
    settle(ops, "home-first", 1, 1)
    runs.close_period(ops, "home-first", 1, 1, "Fay Finance")
    late = contract_data(
        version="1.1", effective_from="2025-05-01", finance={"baseline_budget_gbp": 1_200_000}
    )
    with pytest.raises(OperationError, match="reaches back into Y1Q1, which is closed"):
        register.register_version(ops, toml_text(late), "v11.toml", "Cat Manager")


def test_an_empty_draft_does_not_hold_a_period_open() -> None:
    ops = operations()
    register_signed(ops, contract_data())
    settle(ops, "home-first", 1, 1)
    empty = runs.draft_run(ops, "home-first", 1, 1, "Cat Manager")
    assert empty.lines == []
    runs.close_period(ops, "home-first", 1, 1, "Fay Finance")
    assert runs.get_run(ops, empty.run_id).status == "withdrawn"


@pytest.mark.parametrize("measurement", ["period", "year_to_date", "annual"])
def test_outcomes_to_date_pay_each_quarter_under_the_version_in_force(measurement: str) -> None:
    # 'home' is the only measure; at target all quarter by quarter. Version 1.0 holds 10%
    # (£25,000 a quarter) at risk; 1.1, from 1 October (Q3), 20% (£50,000 a quarter).
    # Whatever the measurement: 25,000 + 25,000 + 50,000 + 50,000 = £150,000 for the year.
    home = {**MEASURE_HOME, "weight": 1}
    years = [{"year": y, "basis": "capitation", "value_at_risk": 0.1} for y in (1, 2)]
    ops = operations()
    base = contract_data(years=years, outcomes={"measures": [home], "measurement": measurement})
    register_signed(ops, base)
    varied = [{"year": y, "basis": "capitation", "value_at_risk": 0.2} for y in (1, 2)]
    register_signed(
        ops,
        {**base, "version": "1.1", "effective_from": "2025-10-01", "years": varied},
    )
    for q in (1, 2, 3, 4):
        certify(ops, "home-first", 1, q, home="0.60")
        settle(ops, "home-first", 1, q)
    assert paid(_ledger(ops), "outcome_payment", "prov") == 15_000_000


def test_a_correction_to_a_closed_year_counts_in_that_years_year_end() -> None:
    # Year 1 settled and closed; £10,000 of the Q2 capitation agreed back on a dispute,
    # posted in Y2Q1 (the first open quarter). Outturn £1,000,000 against £990,000 paid:
    # an overspend of £10,000, of which the commissioner pays half, £5,000.
    ops = operations()
    years = [{"year": y, "basis": "capitation", "risk_share": RISK_HALF} for y in (1, 2)]
    register_signed(ops, contract_data(years=years))
    for q in (1, 2, 3, 4):
        settle(ops, "home-first", 1, q)
        runs.close_period(ops, "home-first", 1, q, "Fay Finance")
    q2 = next(ln for ln in _ledger(ops) if ln.quarter == 2)
    d = disputes.raise_dispute(ops, q2.line_id, "icb", 1_000_000, "overpaid", "Ann Analyst")
    disputes.resolve_dispute(ops, d.dispute_id, 24_000_000, "agreed", "Fay Finance")
    correction = next(ln for ln in _ledger(ops) if ln.kind == "correction")
    assert (correction.year, correction.quarter) == (2, 1)
    certify_outturn(ops, "home-first", 1, "1000000.00")
    run = settle(ops, "home-first", 1, 5)
    assert [(ln.kind, ln.payer, ln.payee, ln.amount_pence) for ln in run.lines] == [
        ("risk_share", "icb", "prov", 500_000)
    ]


def test_the_year_end_waits_for_quarters_settled_under_a_new_version() -> None:
    # Year 1 settled under 1.0 (£1,000,000); then 1.1 raises it to £1,100,000 from the
    # start. The year-end refuses until the quarters are settled again (+£25,000 each);
    # it never pays the difference as a true-up that re-settling the quarters would pay
    # a second time.
    ops = operations()
    years = [{"year": y, "basis": "capitation", "risk_share": RISK_HALF} for y in (1, 2)]
    base = contract_data(years=years)
    register_signed(ops, base)
    for q in (1, 2, 3, 4):
        settle(ops, "home-first", 1, q)
    register_signed(
        ops,
        {
            **base,
            "version": "1.1",
            "effective_from": "2025-04-01",
            "finance": {"baseline_budget_gbp": 1_100_000},
        },
    )
    certify_outturn(ops, "home-first", 1, "1100000.00")
    with pytest.raises(OperationError, match="Y1Q1 is not up to date"):
        runs.draft_run(ops, "home-first", 1, 5, "Cat Manager")
    for q in (1, 2, 3, 4):
        assert paid(settle(ops, "home-first", 1, q).lines) == 2_500_000
    assert settle(ops, "home-first", 1, 5).lines == []  # £1,100,000 paid, on budget
    assert paid(_ledger(ops), payee="prov") == 110_000_000
