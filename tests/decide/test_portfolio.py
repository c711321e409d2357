"""The nine measures of effective commissioning, from facts set out by hand."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from commissioning.decide.files import example
from commissioning.decide.portfolio import (
    MEASURES,
    ContractLine,
    Facts,
    assess,
    read_recorded,
)

CONTRACTS = [
    ContractLine("frail", "Frail elderly alliance", "alliance", "live", 12e6, 3, True),
    ContractLine("msk", "MSK elective", "activity", "live", 4e6, 0, False),
    ContractLine("copd", "COPD year of care", "activity", "signed", 2e6, 2, True),
    ContractLine("new", "Not signed", "year_of_care", "draft", 1e6, 0, True),
]
FACTS = Facts(
    benchmark_published=True,
    priorities_changed=True,
    public_pages=7,
    data_as_at=date(2025, 3, 31),
    contracts=CONTRACTS,
    top_programmes=["Social care needs", "Circulation", "Cancers and tumours"],
)


def test_there_are_nine_measures_five_read_from_the_workbench() -> None:
    assert [m.number for m in MEASURES] == list(range(1, 10))
    assert [m.number for m in MEASURES if m.source == "computed"] == [2, 4, 5, 8, 9]


def test_computed_measures_worked_by_hand() -> None:
    recorded = read_recorded(example("effectiveness.toml"))
    got = {a.measure.number: a for a in assess(FACTS, recorded)}
    assert got[2].status == "met"
    assert got[4].status == "met" and "7 pages" in got[4].evidence
    # long-term conditions: frail (alliance, shares risk) and copd (activity): 1 of 2
    assert got[5].status == "partly met" and got[5].evidence.startswith("1 of 2")
    # signed (not the draft): frail 3 measures, msk 0, copd 2: 2 of 3
    assert got[8].status == "partly met" and got[8].evidence.startswith("2 of 3")
    # top three programmes, two reviewed
    assert (
        got[9].status == "partly met"
        and "reviewed: Social care needs, Circulation" in got[9].evidence
    )
    assert got[1].status == "partly met" and "recorded by Cat Manager" in got[1].evidence
    assert got[7].status == "met"
    assert got[3].status == got[6].status == "not yet recorded"


def test_without_benchmarking_or_changes_priority_setting_is_not_met() -> None:
    facts = Facts(False, False, 0, None, [], [])
    got = {a.measure.number: a.status for a in assess(facts)}
    assert got[2] == got[4] == got[5] == got[8] == got[9] == "not met"


def test_a_malformed_record_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "e.toml"
    bad.write_text(
        '[[entries]]\nmeasure = 10\nstatus = "met"\nevidence = "x"\n'
        'date = 2025-01-01\nrecorded_by = "A"\n'
    )
    with pytest.raises(
        ValueError, match=r"entries\.0\.measure: Input should be less than or equal to 9"
    ):
        read_recorded(bad)


def test_the_portfolio_flags_a_case_whose_contract_is_not_registered(tmp_path: Path) -> None:
    import dataclasses

    import pandas as pd

    from commissioning.decide.business_case import Registered, contract_link
    from commissioning.decide.files import read_case
    from commissioning.reports.decide_report import write_case_page, write_portfolio_page
    from commissioning.reports.publish import Outputs

    register = {"frail-elderly-alliance": Registered(("1.0",), "live")}
    falls = read_case(example("falls_case.toml"))
    hub = dataclasses.replace(falls, contract_id="falls-hub", contract_version=None)
    hub = dataclasses.replace(hub, case=dataclasses.replace(hub.case, name="Falls hub"))
    cases = [
        (c, contract_link(c.status, c.contract_id, c.contract_version, register))
        for c in (falls, hub)
    ]
    outputs = Outputs(tmp_path)
    programmes = pd.DataFrame({"programme": ["Circulation"], "spend_gbp": [5e6], "change": [0.05]})
    write_portfolio_page(outputs, FACTS, assess(FACTS), programmes, [], cases)
    page = (outputs.published / "portfolio.html").read_text()
    table = page[page.index("Business cases</caption>") :]
    assert "frail-elderly-alliance v1.0</td><td>live</td>" in table.replace("\n", "")
    flagged = '<tr class="miss"><th scope="row">Falls hub</th>'
    assert flagged in table.replace("\n", "")
    assert "contract falls-hub is not in the register" in table
    write_case_page(outputs, falls, cases[0][1])
    case_page = (outputs.published / "business_case.html").read_text()
    assert (
        "The case is approved; contract frail-elderly-alliance version 1.0 delivers it "
        "(in the register: live)." in case_page
    )
