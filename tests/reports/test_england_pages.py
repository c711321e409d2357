"""Places against England on the pages of the small population's pack: the England column
and the verdict beside each value, a spine chart per place, the gate's declarations, and
no verdict where a value is suppressed. The spine chart's scale is checked on a
hand-worked row."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pandas as pd
import pytest

from commissioning.indicators.england import compare_with_england, default_national_values
from commissioning.indicators.library import default_library
from commissioning.reports.audit import audit_published
from commissioning.reports.england import COMPARISON_COLUMNS, spine, spine_figure


def _rows(html: str, caption: str) -> list[list[str]]:
    """The body rows of the table whose caption is ``caption``, as cell texts."""
    start = html.index(caption)
    body = html[start : html.index("</table>", start)]
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1], flags=re.S):
        rows.append([unescape(c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr)])
    return rows


def _headers(html: str, caption: str) -> list[str]:
    start = html.index(caption)
    head = html[start : html.index("</thead>", start)]
    return [unescape(c) for c in re.findall(r"<th(?:\s[^>]*)?>(.*?)</th>", head)]


def _spine_titles(html: str) -> list[str]:
    return re.findall(r'"text":"([^"]*) compared with England"', html)


def test_spine_row_scale_worked_by_hand() -> None:
    # four places, England 349, lower is better: lowest 300, 25th percentile
    # 300 + 0.75 x 40 = 330, 75th 360 + 0.25 x 60 = 375, highest 420; the place furthest
    # from England is 420 - 349 = 71 away, so 71 is the half-width and better (lower) is right
    s = spine([360.0, 300.0, 420.0, 340.0], 349.0, "lower_is_better")
    assert s is not None
    assert (s.lowest, s.q25, s.q75, s.highest, s.places) == (300.0, 330.0, 375.0, 420.0, 4)
    assert s.half_width == 71.0
    assert s.position(349.0) == 0.0
    assert s.position(420.0) == -1.0
    assert s.position(300.0) == pytest.approx(49 / 71)
    assert s.position(375.0) == pytest.approx(-26 / 71)
    up = spine([360.0, 300.0, 420.0, 340.0], 349.0, "higher_is_better")
    assert up is not None and up.position(420.0) == 1.0
    assert spine([float("nan")], 349.0, "neither") is None  # nothing to draw


def test_every_place_is_compared_with_england_by_the_fingertips_rule(pack: Path) -> None:
    table = pd.read_csv(pack / "england_comparison.csv")
    assert list(table.columns) == COMPARISON_COLUMNS
    lib, nat = default_library(), default_national_values()
    assert set(table["indicator_id"]) == set(lib.ids)
    assert table["place_code"].nunique() == 10
    for _, r in table.iterrows():
        eng = nat.england(r["indicator_id"])
        if eng is None:
            assert pd.isna(r["england_value"]) and r["verdict"] == "not compared"
            continue
        assert r["england_value"] == eng.value and r["england_period"] == eng.period
        hidden = bool(r["suppressed"])
        if hidden:  # a suppressed value: nothing shown, no verdict
            assert pd.isna(r["value"]) and pd.isna(r["lower"]) and pd.isna(r["upper"])
            assert r["verdict"] == "not compared"
        else:
            polarity = lib.get(r["indicator_id"]).polarity
            assert r["verdict"] == compare_with_england(
                r["value"], r["lower"], r["upper"], eng.value, polarity
            )
    mortality = table[table.indicator_id == "mortality_under_75"]
    assert set(mortality["england_value"]) == {349.0}
    assert (table["suppressed"] & (table["verdict"] != "not compared")).sum() == 0
    assert (~table["suppressed"] & table["england_value"].notna()).sum() > 0  # some compared


def test_the_gate_declares_england_values_as_published_national_figures(pack: Path) -> None:
    files = json.loads((pack / "manifest.json").read_text())["files"]
    for name in ("england_comparison.csv", "needs_england.csv", "benchmark_england.csv"):
        entry = files[name]
        assert entry["safe"]["england_value"] == "published national figure"
        assert entry["hidden_flag"] == "suppressed"
        assert entry["derived"] == ["value", "lower", "upper"]
    spread = files["spine.csv"]["safe"]
    assert spread["england_value"] == "published national figure"
    assert spread["q25"] == "a quantile of the places' published (unsuppressed) values"
    assert audit_published(pack) == []


def test_indicators_page_shows_england_and_the_verdict_beside_the_value(pack: Path) -> None:
    html = (pack / "indicators.html").read_text()
    nat = default_national_values()
    lib = default_library()
    headers = _headers(html, "tier 1 indicators")
    assert headers[2:6] == ["Value", "95% interval", "England (period)", "Compared with England"]
    tier_rows = [row for tier in (1, 2, 3) for row in _rows(html, f"tier {tier} indicators")]
    by_title = {row[0]: row for row in tier_rows}
    assert by_title["Deaths under 75 (all causes)"][4] == "349 (2021 to 2023)"
    assert by_title["Life expectancy at birth"][4] == "-"
    assert by_title["Life expectancy at birth"][5] == "No England value shipped"
    for ind in lib.indicators:
        row = by_title[ind.title]
        if row[2] == "suppressed (small count)" and nat.england(ind.id) is not None:
            assert row[5] == "Not compared (suppressed)"
    table = pd.read_csv(pack / "england_comparison.csv")
    places = table["place_code"].nunique()
    assert len(_spine_titles(html)) == places  # a spine chart per place
    counts = _rows(html, "How many indicators each place has better, similar or worse")
    assert len(counts) == places
    # each place's verdicts add up to its indicators with an England value
    with_england = table[table["england_value"].notna()].groupby("place_code").size()
    assert sorted(sum(int(c) for c in row[1:]) for row in counts) == sorted(with_england)
    compared = table[table["verdict"] != "not compared"].groupby("place_code").size()
    assert sorted(sum(int(c) for c in row[1:-1]) for row in counts if row[1:-1]) == sorted(
        list(compared) + [0] * (places - len(compared))
    )
    assert "national quartiles are not shipped" in html


def test_needs_page_shows_each_place_against_england(pack: Path) -> None:
    html = (pack / "needs.html").read_text()
    rows = _rows(html, "Each place against England")
    table = pd.read_csv(pack / "needs_england.csv")
    shipped = [i for i in table["indicator_id"].unique() if default_national_values().england(i)]
    assert len(rows) == len(shipped) * table["place_code"].nunique()
    assert _headers(html, "Each place against England") == [
        "Indicator",
        "Place",
        "Value",
        "95% interval",
        "England",
        "Compared with England",
    ]
    for row in rows:
        if row[2] == "suppressed":
            assert row[5] == "Not compared (suppressed)" and row[3] == ""
        elif row[2] == "no data":  # no record of the kind in the place (no deaths, say)
            assert row[5] == "Not compared (no data)"
        else:
            assert row[5] in {"Better", "Similar", "Worse"}
    assert {r[4] for r in rows if r[0] == "Deaths under 75 (all causes)"} == {"349 (2021 to 2023)"}
    assert len(_spine_titles(html)) == table["place_code"].nunique()
    assert "No England value shipped for: Life expectancy at birth" in html


def test_benchmark_page_has_the_home_places_spine_chart(pack: Path) -> None:
    html = (pack / "benchmark.html").read_text()
    assert "The home place against England" in html
    assert len(_spine_titles(html)) == 1


def test_spine_figure_from_a_literal_table() -> None:
    lib = default_library()
    comparison = pd.DataFrame(
        {
            "indicator_id": ["mortality_under_75"] * 5 + ["readmission_30_days", "spend_per_head"],
            "place_code": ["A", "B", "C", "D", "E", "B", "A"],
            "value": [300.0, 340.0, 360.0, 420.0, float("nan"), 14.0, 1500.0],
            "lower": [280.0, 320.0, 330.0, 400.0, float("nan"), 12.0, 1400.0],
            "upper": [320.0, 360.0, 390.0, 440.0, float("nan"), 16.0, 1600.0],
            "suppressed": [False, False, False, False, True, False, False],
            "england_value": [349.0] * 5 + [13.8, float("nan")],
            "england_lower": [float("nan")] * 7,
            "england_upper": [float("nan")] * 7,
            "england_period": ["2021 to 2023"] * 5 + ["2017/18", ""],
            "verdict": ["better", "similar", "similar", "worse", "not compared", "similar", "x"],
        }
    )
    block = spine_figure(comparison, lib, "A", "Ashdown")
    assert block is not None
    fig = block.figure
    labels = [t.y[0] for t in fig.data if t.type == "scatter" and t.marker.opacity == 0]
    assert labels == [
        "Deaths under 75 (all causes)<br>300 (England 349)",
        "Emergency readmissions within 30 days<br>no data (England 13.8)",
    ]
    better = [t for t in fig.data if t.name == "Ashdown: better"]
    assert len(better) == 1 and better[0].x == (pytest.approx(49 / 71),)  # as worked above
    bars = [t for t in fig.data if t.type == "bar" and t.y[0] == labels[0]]
    # lowest to 25th, 25th to 75th, 75th to highest of the four shown places, better right
    spans = sorted((round(t.base[0], 4), round(t.base[0] + t.x[0], 4)) for t in bars)
    assert spans == [
        (round(-1.0, 4), round(-26 / 71, 4)),
        (round(-26 / 71, 4), round(19 / 71, 4)),
        (round(19 / 71, 4), round(49 / 71, 4)),
    ]
    assert "Compared with England, Ashdown: better on deaths under 75 (all causes); " in block.note
    assert "not compared (suppressed or no interval) on emergency readmissions" in block.note
    assert block.note.endswith("Not shown, no England value shipped: Spend per head.")
