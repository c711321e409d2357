"""Decommissioning candidates from literal tables, worked by hand.

Four practices, two age bands (women only, for brevity); P1 and P2 are the home place's.

    practice  people 18-64  people 65+  tonsillectomies 18-64  65+
    P1               1,000       1,000                      4    8
    P2               2,000           0                      4    0
    P3               1,000       1,000                      2    2
    P4                   0       2,000                      0   10

Rates of all practices: 18-64 10 / 4,000 = 0.0025; 65+ 20 / 4,000 = 0.005. Expected:
P1 2.5 + 5 = 7.5, P2 5, P3 7.5, P4 10; observed to expected: P1 1.6, P2 0.8, P3 0.5333,
P4 1.0. The lowest quartile (linear interpolation, position 0.75 between the first and
second of 0.5333, 0.8, 1.0, 1.6) is 0.5333 + 0.75 x 0.2667 = 0.7333. Excess at that
ratio: P1 12 - 7.5 x 0.7333 = 6.5, P2 4 - 5 x 0.7333 = 0.3333; 6.8333 procedures at
£1,200 release £8,200 a year.

Snoring surgery, not to be routinely commissioned: P1's two (£900 and £1,100) release
£2,000; P3's is not the home place's.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commissioning.decide.low_value import (
    by_provider,
    low_value_candidates,
    low_value_summary,
    match_ebi,
    practice_ratios,
    read_ebi_list,
    variation_candidates,
)
from commissioning.decide.pbma import (
    Candidate,
    against_threshold,
    cost_per_qaly,
)

POPULATION = pd.DataFrame(
    [
        ("P1", "18-64", "F", 1000),
        ("P1", "65+", "F", 1000),
        ("P2", "18-64", "F", 2000),
        ("P3", "18-64", "F", 1000),
        ("P3", "65+", "F", 1000),
        ("P4", "65+", "F", 2000),
    ],
    columns=["practice_code", "age_band", "sex", "people"],
)


def _procedures() -> pd.DataFrame:
    rows = []
    for practice, young, old in (("P1", 4, 8), ("P2", 4, 0), ("P3", 2, 2), ("P4", 0, 10)):
        for band, n in (("18-64", young), ("65+", old)):
            rows += [("Tonsillectomy", "criteria", practice, band, "F", 1200.0, "RXA")] * n
    rows += [
        ("Snoring surgery", "not_routine", "P1", "18-64", "F", 900.0, "RXA"),
        ("Snoring surgery", "not_routine", "P1", "18-64", "F", 1100.0, "RXB"),
        ("Snoring surgery", "not_routine", "P3", "18-64", "F", 1000.0, "RXB"),
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "intervention",
            "category",
            "practice_code",
            "age_band",
            "sex",
            "cost_gbp",
            "provider_code",
        ],
    )


def test_practice_ratios_are_indirectly_standardised() -> None:
    tonsils = _procedures().query("intervention == 'Tonsillectomy'")
    r = practice_ratios(tonsils, POPULATION).set_index("practice_code")
    assert r["expected"].to_dict() == pytest.approx({"P1": 7.5, "P2": 5, "P3": 7.5, "P4": 10})
    assert r["observed"].to_dict() == {"P1": 12, "P2": 4, "P3": 4, "P4": 10}
    assert r["ratio"].to_dict() == pytest.approx({"P1": 1.6, "P2": 0.8, "P3": 4 / 7.5, "P4": 1.0})


def test_the_money_released_at_the_benchmark() -> None:
    s = low_value_summary(_procedures(), POPULATION, ["P1", "P2"]).set_index("intervention")
    t = s.loc["Tonsillectomy"]
    assert t["procedures"] == 16 and t["cost_gbp"] == pytest.approx(19_200)
    assert t["benchmark_ratio"] == pytest.approx(0.7333333, abs=1e-6)
    assert t["procedures_above_benchmark"] == pytest.approx(6.8333333, abs=1e-6)
    assert t["released_gbp"] == pytest.approx(8_200)
    assert t["years"] == 1
    pooled = low_value_summary(_procedures(), POPULATION, ["P1", "P2"], years=2)
    two = pooled.set_index("intervention").loc["Tonsillectomy"]  # the same, over 2 years
    assert (two["procedures"], two["released_gbp"]) == (16, pytest.approx(4_100))
    snoring = s.loc["Snoring surgery"]
    assert snoring["procedures"] == 2 and snoring["released_gbp"] == pytest.approx(2_000)
    assert snoring["rule"] == "to zero: not to be routinely commissioned"
    assert pd.isna(snoring["benchmark_ratio"])


def test_no_practice_expecting_five_no_benchmark_and_no_money() -> None:
    # P2's 4 and P3's 4 only: rates 6 / 4,000 and 2 / 4,000; expected P1 2, P2 3, P3 2, P4 1
    few = _procedures().query("intervention == 'Tonsillectomy' and practice_code in ('P2', 'P3')")
    ratios = practice_ratios(few, POPULATION).set_index("practice_code")
    assert ratios["expected"].to_dict() == pytest.approx({"P1": 2, "P2": 3, "P3": 2, "P4": 1})
    s = low_value_summary(few, POPULATION, ["P1", "P2"]).iloc[0]
    assert pd.isna(s["benchmark_ratio"]) and s["released_gbp"] == 0
    assert s["procedures"] == 4


def test_candidates_release_the_money_and_carry_the_panels_scores() -> None:
    s = low_value_summary(_procedures(), POPULATION, ["P1", "P2"])
    scores = {"ebi-tonsillectomy": {"health_gain": 3.0}}
    cands = {c.id: c for c in low_value_candidates(s, scores)}
    assert cands["ebi-tonsillectomy"].cost == pytest.approx(-8_200)
    assert cands["ebi-tonsillectomy"].scores == {"health_gain": 3.0}
    assert cands["ebi-snoring-surgery"].cost == pytest.approx(-2_000)
    assert cands["ebi-snoring-surgery"].scores == {}
    assert cands["ebi-snoring-surgery"].name == "Reduce Snoring surgery to zero"
    assert cands["ebi-snoring-surgery"].source == "Evidence-Based Interventions list"


def test_by_provider() -> None:
    p = by_provider(_procedures().query("intervention == 'Snoring surgery'"))
    assert p.to_dict("records") == [
        {
            "intervention": "Snoring surgery",
            "provider_code": "RXA",
            "procedures": 1,
            "cost_gbp": 900.0,
        },
        {
            "intervention": "Snoring surgery",
            "provider_code": "RXB",
            "procedures": 2,
            "cost_gbp": 2100.0,
        },
    ]


def test_activity_is_matched_to_the_list_by_procedure_and_diagnosis() -> None:
    activity = pd.DataFrame(
        {
            "procedure_code": ["F34.1", "F34.1", "F34.1", "W85.1", "W37.1", "H01.1", "H01.1", None],
            "primary_diagnosis": [
                "J03.9",
                "J35.0",
                "C09.9",
                "M17.1",
                "M16.9",
                "R10.4",
                "K35.8",
                "J03.9",
            ],
        }
    )
    m = match_ebi(activity, read_ebi_list())
    assert m["intervention"].tolist() == [
        "Tonsillectomy for recurrent tonsillitis",
        "Tonsillectomy for recurrent tonsillitis",
        "Knee arthroscopy for patients with osteoarthritis",
        "Appendicectomy without confirmation of appendicitis",
    ]
    assert m["category"].tolist() == ["criteria", "criteria", "not_routine", "criteria"]
    assert m["primary_diagnosis"].tolist() == ["J03.9", "J35.0", "M17.1", "R10.4"]


def test_the_shipped_list() -> None:
    ebi = read_ebi_list()
    assert ebi["intervention"].nunique() == 25
    assert set(ebi["ebi_list"]) == {"1", "2"}
    assert ebi["opcs4_prefix"].str.fullmatch(r"[A-Z]\d{2,3}").all()
    assert set(ebi.loc[ebi["code_source"] == "not_verified", "opcs4_prefix"]) == {"Q103", "A651"}
    knee = ebi[ebi["intervention"].str.startswith("Knee arthroscopy")]
    assert sorted(knee["opcs4_prefix"]) == ["W802", "W851", "W852"]


def test_variation_candidates_from_the_opportunity_table() -> None:
    opp = pd.DataFrame(
        {
            "indicator_id": ["emergency_admissions", "emergency_admissions", "gp_appointments"],
            "benchmark": ["Mean of the best 5 peers", "Mean of all peers", "Mean of all peers"],
            "opportunity_gbp": [500_000.0, 120_000.0, -30_000.0],
        }
    )
    cands = variation_candidates(opp, {"emergency_admissions": "Emergency admissions"})
    assert [(c.id, c.name, c.cost) for c in cands] == [
        (
            "variation-emergency-admissions",
            "Bring emergency admissions to the mean of all peers",
            -120_000.0,
        )
    ]
    best = variation_candidates(opp, benchmark="Mean of the best 5 peers")
    assert [c.cost for c in best] == [-500_000.0]


def test_cost_per_qaly_against_the_nice_threshold() -> None:
    def c(cost: float, qalys: float | None) -> Candidate:
        return Candidate("x", "x", cost, {}, qalys)

    assert cost_per_qaly(c(150_000, 10)) == 15_000
    assert against_threshold(c(150_000, 10)) == "within the threshold"
    assert against_threshold(c(250_000, 10)) == "within the upper threshold"
    assert against_threshold(c(300_000, 10)) == "within the upper threshold"  # £30,000 exactly
    assert against_threshold(c(310_000, 10)) == "above the threshold"
    assert cost_per_qaly(c(-80_000, -2)) == 40_000  # released per QALY lost
    assert against_threshold(c(-80_000, -2)) == "releases more than the threshold"
    assert against_threshold(c(-30_000, -2)) == "releases less than the threshold"
    assert against_threshold(c(-10_000, 1)) == "dominant"
    assert cost_per_qaly(c(-10_000, 1)) is None
    assert against_threshold(c(10_000, -1)) == "dominated"
    assert against_threshold(c(10_000, None)) == "QALYs not known"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["P1", "P2", "P3", "P4"]),
            st.sampled_from(["18-64", "65+"]),
            st.sampled_from(["criteria", "not_routine"]),
            st.floats(100, 5_000),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_the_money_released_never_exceeds_what_the_home_practices_spend(
    rows: list[tuple[str, str, str, float]],
) -> None:
    procedures = pd.DataFrame(
        [(f"X {c}", c, p, band, "F", cost) for p, band, c, cost in rows],
        columns=["intervention", "category", "practice_code", "age_band", "sex", "cost_gbp"],
    )
    s = low_value_summary(procedures, POPULATION, ["P1", "P2"])
    assert (s["released_gbp"] >= 0).all()
    assert (s["released_gbp"] <= s["cost_gbp"] + 1e-6).all()
    zero = s[s["category"] == "not_routine"]
    assert zero["released_gbp"].to_numpy() == pytest.approx(zero["cost_gbp"].to_numpy())
