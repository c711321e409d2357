"""How often practice benchmarking finds the practice styles planted in a synthetic
population, and how often it flags a practice with none (C2, C10).

The synthetic generator records each practice's true rate multiplier for four kinds of
activity in ``synthetic_practice_effects`` (``planted`` 1 for the styles put there on
purpose; 0 for the ordinary practice-to-practice spread, lognormal with sd 0.07).
:func:`score` compares a practice comparison with that truth:

* sensitivity: the share of planted practices flagged in the direction of their
  multiplier (above the limit when it exceeds 1, below when under 1);
* false-alarm rate: the share of practices without a planted style flagged either way.

:func:`measure` runs :func:`benchmarking.adjusted.compare_units` for the indicators the
styles act on, for each adjustment and over-dispersion rule, so the defaults are chosen
by measurement (``docs/methods/benchmarking.md``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ibis.expr.types as ir
import pandas as pd

from commissioning.benchmarking.adjusted import (
    Adjustment,
    OverdispersionRule,
    classify_units,
    indirect_standardisation,
    stratum_counts,
)
from commissioning.indicators.library import Library, default_library

Tables = Mapping[str, ir.Table]

#: The indicator each planted practice style acts on.
EFFECT_OF_INDICATOR = {
    "emergency_admissions": "emergency_admission",
    "ae_attendances": "ae_use",
    "gp_appointments": "gp_access",
    "outpatient_first": "outpatient_referral",
}
ADJUSTMENTS: tuple[Adjustment, ...] = (
    "none",
    "age_sex",
    "age_sex_deprivation_quintile",
    "age_sex_deprivation",
)
RULES: tuple[OverdispersionRule, ...] = ("never", "when_tested", "always")


@dataclass(frozen=True)
class Score:
    """Planted and unplanted practices, and how many of each were flagged."""

    planted: int
    found: int
    unplanted: int
    false_alarms: int

    @property
    def sensitivity(self) -> float:
        return self.found / self.planted if self.planted else float("nan")

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.unplanted if self.unplanted else float("nan")


def score(
    classification: pd.Series,
    multiplier: pd.Series,
    planted: pd.Series,
    *,
    level: str = "99.8%",
) -> Score:
    """Score funnel classifications ("above 99.8%", ...) against the true multipliers.

    Pure; the three series are aligned by position. ``level`` "99.8%" counts only the
    outer limits as a flag, "95%" counts either.
    """
    c = classification.astype(str).to_numpy()
    m = multiplier.to_numpy(dtype=float)
    p = planted.astype(bool).to_numpy()
    outside = pd.Series(c).str.contains("99.8" if level == "99.8%" else "above|below").to_numpy()
    high = pd.Series(c).str.startswith("above").to_numpy()
    low = pd.Series(c).str.startswith("below").to_numpy()
    right = outside & ((high & (m > 1.0)) | (low & (m < 1.0)))
    return Score(
        planted=int(p.sum()),
        found=int((right & p).sum()),
        unplanted=int((~p).sum()),
        false_alarms=int((outside & ~p).sum()),
    )


def measure(
    tables: Tables,
    years: Sequence[int],
    *,
    indicators: Sequence[str] = tuple(EFFECT_OF_INDICATOR),
    adjustments: Sequence[Adjustment] = ADJUSTMENTS,
    rules: Sequence[OverdispersionRule] = RULES,
    levels: Sequence[str] = ("99.8%", "95%"),
    library: Library | None = None,
) -> pd.DataFrame:
    """Sensitivity and false-alarm rate of the practice comparison on a synthetic store.

    One row per indicator, adjustment, over-dispersion rule and level, with columns
    indicator_id, adjustment, overdispersion, level, phi, tau2 (as applied), planted,
    found, unplanted, false_alarms, sensitivity and false_alarm_rate.
    """
    lib = library or default_library()
    truth = tables["synthetic_practice_effects"].execute()
    rows = []
    for ind_id in indicators:
        ind = lib.get(ind_id)
        effect = truth[truth["effect"] == EFFECT_OF_INDICATOR[ind_id]]
        effect = effect.set_index("practice_code")[["multiplier", "planted"]]
        for adjustment in adjustments:
            counts = stratum_counts(
                tables, ind, "practice_code", years, adjustment=adjustment, library=lib
            )
            ratios = indirect_standardisation(counts)
            for rule in rules:
                table, od, widened = classify_units(ratios, ind.polarity, overdispersion=rule)
                t = table.join(effect, on="unit", how="inner")
                for level in levels:
                    s = score(t["classification"], t["multiplier"], t["planted"], level=level)
                    rows.append(
                        {
                            "indicator_id": ind_id,
                            "adjustment": adjustment,
                            "overdispersion": rule,
                            "level": level,
                            "phi": od.phi,
                            "tau2": od.tau2 if widened else 0.0,
                            "planted": s.planted,
                            "found": s.found,
                            "unplanted": s.unplanted,
                            "false_alarms": s.false_alarms,
                            "sensitivity": s.sensitivity,
                            "false_alarm_rate": s.false_alarm_rate,
                        }
                    )
    return pd.DataFrame(rows)


def pooled(results: pd.DataFrame) -> pd.DataFrame:
    """Sensitivity and false-alarm rate pooled over indicators, per setting."""
    keys = ["adjustment", "overdispersion", "level"]
    out = results.groupby(keys, sort=False)[["planted", "found", "unplanted", "false_alarms"]]
    total = out.sum().reset_index()
    total["sensitivity"] = total["found"] / total["planted"]
    total["false_alarm_rate"] = total["false_alarms"] / total["unplanted"]
    return total


__all__ = [
    "ADJUSTMENTS",
    "EFFECT_OF_INDICATOR",
    "RULES",
    "Score",
    "measure",
    "pooled",
    "score",
]
