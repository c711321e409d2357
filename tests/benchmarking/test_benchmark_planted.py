"""The benchmark finds the variation the synthetic generator planted (calibration fixture).

Planted (``synthetic/parameters.py``): Fenwick has GP access x0.75 and A&E use x1.35; in
Northvale, the first practice refers to outpatients x1.6 and the second admits x1.45.
The data are loaded into a DuckDB store (person_id pseudonyms, ``conftest.py``) and
benchmarked there.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from commissioning.benchmarking.compare import (
    cost_per_event,
    opportunity,
    peer_comparison,
    practice_variation,
    spc_chart,
)
from commissioning.benchmarking.peers import place_profiles, similar_places
from commissioning.data.queries import home_place
from commissioning.indicators.compute import compute_indicator
from commissioning.reports.benchmark_report import write_benchmark_report
from commissioning.reports.indicators_report import write_indicators_report

YEARS = [2021, 2022, 2023, 2024]


def _practice(table, code):  # type: ignore[no-untyped-def]
    return table[table["practice_code"] == code].iloc[0]


def test_practice_outliers_match_the_planted_practices(store_tables) -> None:  # type: ignore[no-untyped-def]
    home = home_place(store_tables)
    assert home == "NVL"
    op, _ = practice_variation(store_tables, "outpatient_first", home, YEARS)
    em, _ = practice_variation(store_tables, "emergency_admissions", home, YEARS)
    first, second = f"{op['practice_code'].min()}", sorted(op["practice_code"])[1]
    assert first.endswith("001") and second.endswith("002")
    a1 = _practice(op, first)
    a2 = _practice(em, second)
    print(
        f"\noutpatient_first {first}: planted x1.6, found ratio {a1['ratio']:.2f} "
        f"({a1['ratio_lower']:.2f} to {a1['ratio_upper']:.2f}), {a1['classification']}"
        f"\nemergency_admissions {second}: planted x1.45, found ratio {a2['ratio']:.2f} "
        f"({a2['ratio_lower']:.2f} to {a2['ratio_upper']:.2f}), {a2['classification']}"
    )
    assert a1["classification"] == "above 99.8%"
    assert a2["classification"] == "above 99.8%"
    assert a1["ratio_lower"] > 1.3
    assert a2["ratio_lower"] > 1.2
    print(op[["practice_code", "ratio", "ratio_lower", "ratio_upper", "classification"]])
    # The planted practice stands out most: the highest ratio in the place.
    assert op["ratio"].idxmax() == a1.name
    assert em["ratio"].idxmax() == a2.name


def test_fenwick_is_high_on_ae_and_low_on_gp_appointments(store_tables) -> None:  # type: ignore[no-untyped-def]
    ae = compute_indicator(
        store_tables, "ae_attendances", "place_code", YEARS, standardisation="indirect"
    )
    gp = compute_indicator(
        store_tables, "gp_appointments", "place_code", YEARS, standardisation="indirect"
    )
    fen_ae = ae[ae["place_code"] == "FEN"].iloc[0]
    fen_gp = gp[gp["place_code"] == "FEN"].iloc[0]
    print(
        f"\nFEN A&E: planted x1.35, found ratio {fen_ae['ratio']:.2f} "
        f"({fen_ae['ratio_lower']:.2f} to {fen_ae['ratio_upper']:.2f})"
        f"\nFEN GP appointments: planted x0.75, found ratio {fen_gp['ratio']:.2f} "
        f"({fen_gp['ratio_lower']:.2f} to {fen_gp['ratio_upper']:.2f})"
    )
    assert fen_ae["ratio_lower"] > 1.15 and ae["ratio"].idxmax() == fen_ae.name
    assert fen_gp["ratio_upper"] < 0.9 and gp["ratio"].idxmin() == fen_gp.name
    profiles = place_profiles(store_tables, YEARS)
    peers = similar_places(profiles, "FEN", n=9)
    pc = peer_comparison(
        store_tables,
        "ae_attendances",
        YEARS,
        "FEN",
        list(peers["place_code"]),
        overdispersion=False,
    )
    assert pc.table.iloc[0]["classification"] == "above 99.8%"
    assert pc.table.iloc[0]["rank"] == len(pc.table)  # worst: lower is better
    opp = opportunity(pc, cost_per_event(store_tables, pc.indicator, YEARS, "FEN"))
    assert (opp["opportunity_events"] > 0).all() and (opp["opportunity_gbp"] > 0).all()


def test_peers_are_nearest_first_and_exclude_home(store_tables) -> None:  # type: ignore[no-untyped-def]
    profiles = place_profiles(store_tables, YEARS)
    peers = similar_places(profiles, "NVL", n=5)
    assert "NVL" not in set(peers["place_code"])
    assert list(peers["distance"]) == sorted(peers["distance"])
    assert len(peers) == 5


def test_spc_of_a_quarterly_series(store_tables) -> None:  # type: ignore[no-untyped-def]
    series, chart = spc_chart(store_tables, "emergency_admissions", "NVL", YEARS)
    assert len(series) == 16
    assert chart.variation_icon is not None
    assert not chart.warnings


def test_reports_are_written_from_the_store(store_tables, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page = write_indicators_report(store_tables, tmp_path, [2023, 2024])
    assert page.name == "indicators.html" and (tmp_path / "published" / "indicators.csv").exists()
    text = page.read_text(encoding="utf-8")
    assert "Tier 1 Health status achieved or retained" in text and "Lower is better" in text
    bench = write_benchmark_report(store_tables, tmp_path, [2023, 2024])
    html = bench.read_text(encoding="utf-8")
    assert "Similar places" in html
    for name in ("peers.csv", "comparison.csv", "opportunity.csv", "practice_variation.csv"):
        assert (tmp_path / "published" / name).exists()
    practices = pd.read_csv(tmp_path / "published" / "practice_variation.csv", dtype=str)
    # The planted practices, by polarity: more emergency admissions is worse; more
    # outpatient referrals is only higher (no better direction).
    emergency = practices[practices["indicator_id"] == "emergency_admissions"]
    outpatient = practices[practices["indicator_id"] == "outpatient_first"]
    assert set(practices["adjustment"]) == {"age_sex_deprivation"}
    assert emergency["judgement"].iloc[1] == "worse"
    assert outpatient["judgement"].iloc[0] == "higher"
    assert emergency["label"].iloc[1] == "higher than expected for its population"
    assert '<tr class="miss">' in html and '<tr class="neutral">' in html
    assert "higher than expected for its population (worse)" in html
