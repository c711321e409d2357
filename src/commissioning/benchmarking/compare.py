"""Benchmarking an indicator: a place against its peers, practices within a place, and
its quarterly series in statistical process control (C10, C18).

* :func:`peer_comparison`: the home place and its peers with 95% intervals, a funnel plot
  (Spiegelhalter limits, over-dispersion switchable) and a rank;
* :func:`opportunity`: activity and pounds if the home place matched the mean of its best
  five peers, and the peer mean (NHS RightCare Commissioning for Value style);
* :func:`practice_variation`: practices of one place against expected for their own
  populations (age, sex and deprivation), classified against 95% and 99.8% funnel limits
  that allow for over-dispersion when the practices show it, and judged by polarity;
* :func:`spc_chart`: an XmR chart of the quarterly series with Making Data Count icons.

See ``docs/methods/benchmarking.md`` for the methods and their caveats.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from commissioning.benchmarking.adjusted import (
    DEFAULT_ADJUSTMENT,
    DEFAULT_OVERDISPERSION,
    AdjustedComparison,
    Adjustment,
    OverdispersionRule,
    compare_units,
    judgement,
    plain_label,
)
from commissioning.core.suppression import DEFAULT_THRESHOLD
from commissioning.indicators.compute import compute_indicator, indicator_series
from commissioning.indicators.frames import attach, records
from commissioning.indicators.library import Indicator, Library, default_library
from commissioning.indicators.stats import FunnelPlot, funnel_plot
from commissioning.monitoring.spc import XmrChart, xmr_chart

Tables = Mapping[str, ir.Table]
BEST_PEERS = 5


@dataclass(frozen=True)
class PeerComparison:
    """The home place and its peers for one indicator.

    ``table`` has one row per place (home first) with the indicator columns of
    :func:`compute_indicator`, ``is_home``, ``rank`` (1 best, by polarity; by value,
    highest first, when polarity is neither), the funnel ``classification``, its
    ``judgement`` by polarity and a plain ``label``; for rates also ``expected``, the
    adjusted ``ratio`` with its 95% limits, the funnel limits and ``adjustment``.
    ``funnel`` is None for measures without a funnel (means, life expectancy).
    """

    indicator: Indicator
    table: pd.DataFrame
    funnel: FunnelPlot | None
    funnel_multiplier: float
    home_place: str


def _funnel_inputs(
    ind: Indicator, table: pd.DataFrame
) -> tuple[str, np.ndarray, np.ndarray, float]:
    if "expected" in table.columns:
        return "ratio", table["numerator"].to_numpy(), table["expected"].to_numpy(), 1.0
    if ind.measure == "proportion":
        return (
            "proportion",
            table["numerator"].to_numpy(),
            table["denominator"].to_numpy(),
            ind.multiplier,
        )
    return "rate", table["numerator"].to_numpy(), table["denominator"].to_numpy(), ind.multiplier


def _funnel(
    ind: Indicator, table: pd.DataFrame, overdispersion: bool
) -> tuple[FunnelPlot | None, float]:
    if ind.measure not in ("rate", "proportion"):
        return None, 1.0
    statistic, num, den, mult = _funnel_inputs(ind, table)
    fp = funnel_plot(num, den, statistic=statistic, overdispersion=overdispersion, multiplier=mult)  # type: ignore[arg-type]
    return fp, mult


def _rank(ind: Indicator, values: pd.Series) -> pd.Series:
    ascending = ind.polarity == "lower_is_better"
    return values.rank(ascending=ascending, method="min", na_option="bottom").astype(int)


def peer_comparison(
    tables: Tables,
    indicator_id: str,
    years: Sequence[int],
    home_place: str,
    peers: Sequence[str],
    *,
    overdispersion: bool = True,
    adjustment: Adjustment = DEFAULT_ADJUSTMENT,
    library: Library | None = None,
) -> PeerComparison:
    """The indicator for the home place and its peers, ranked, with a funnel plot.

    Rates go on the funnel as observed over expected events, the expected ones from the
    pooled rates of all places by age band x sex x IMD decile (``adjustment``;
    :func:`benchmarking.adjusted.compare_units`), so each place is compared with what its
    own population would lead one to expect; the values and ranks stay those of the
    library (directly standardised or crude). Proportions go on it as they are. With
    ``overdispersion`` the limits are widened by Spiegelhalter's tau² (estimated over all
    places) when the winsorised test finds the places vary more than chance allows.
    ``judgement`` reads the classification by the indicator's polarity and ``label``
    says it in plain words.
    """
    lib = library or default_library()
    ind = lib.get(indicator_id)
    places = [home_place, *[p for p in peers if p != home_place]]
    table = compute_indicator(tables, indicator_id, "place_code", years, library=lib)
    table = table[table["place_code"].isin(places)].copy()
    table["is_home"] = table["place_code"] == home_place
    table["rank"] = _rank(ind, table["value"])
    table = table.sort_values(["is_home", "rank"], ascending=[False, True]).reset_index(drop=True)
    if ind.measure == "rate":
        comparison = compare_units(
            tables,
            indicator_id,
            "place_code",
            years,
            adjustment=adjustment,
            overdispersion=DEFAULT_OVERDISPERSION if overdispersion else "never",
            library=lib,
        )
        adjusted = comparison.table[
            ["place_code", "expected", "ratio", "ratio_lower", "ratio_upper", "z_score"]
            + [c for c in comparison.table.columns if c.startswith("funnel_")]
            + ["classification", "judgement", "label"]
        ]
        own = [c for c in table.columns if c == "expected" or c.startswith("ratio")]
        # an indirectly standardised indicator brings its own age-sex ratio: the
        # adjusted one replaces it on the funnel
        table = table.drop(columns=own).merge(adjusted, on="place_code", how="left")
        table["adjustment"] = adjustment
        fp: FunnelPlot | None = _adjusted_funnel(table, comparison)
        table = table.drop(columns="z_score")
        return PeerComparison(ind, table, fp, 1.0, home_place)
    fp, mult = _funnel(ind, table, overdispersion)
    table["classification"] = fp.points["classification"].to_numpy() if fp else "n/a"
    table["judgement"] = [
        "n/a" if c == "n/a" else judgement(c, ind.polarity) for c in table["classification"]
    ]
    table["label"] = [
        "no funnel"
        if c == "n/a"
        else plain_label(c).replace("expected for its population", "its peers")
        for c in table["classification"]
    ]
    return PeerComparison(ind, table, fp, mult, home_place)


def cost_per_event(
    tables: Tables,
    indicator: Indicator,
    years: Sequence[int],
    place_code: str,
    library: Library | None = None,
) -> float | None:
    """Mean cost (£) of one numerator event in the place; None unless the indicator is a
    rate counting activity events by a filter."""
    spec = indicator.numerator
    if indicator.computation is not None or spec is None or spec.source != "activity":
        return None
    if indicator.measure != "rate":
        return None
    lib = library or default_library()
    costed = indicator.model_copy(
        update={"numerator": spec.model_copy(update={"value": "cost_gbp"})}
    )
    rec = attach(tables, records(tables, costed, years, lib.codelists), years)
    rec = rec.filter(rec.place_code == place_code)
    out = rec.aggregate(events=rec.count(), cost=rec.value.sum()).execute()
    events = float(out["events"].iloc[0])
    return float(out["cost"].iloc[0]) / events if events > 0 else None


def opportunity(
    comparison: PeerComparison,
    cost_per_event_gbp: float | None = None,
    best: int = BEST_PEERS,
) -> pd.DataFrame:
    """Events (and £) the home place would gain or save at two benchmarks.

    Pure. The benchmarks are the mean value of the ``best`` (5) best peers by polarity
    (lowest for lower-is-better and for activity with no polarity, as Commissioning for
    Value does) and the mean of all peers. The opportunity in events scales the home
    numerator by ``1 - benchmark / home value`` (so it works for standardised rates);
    positive means fewer events (or, for higher-is-better, more good outcomes) are
    possible; a negative value means the home place already does better. Caveat: the
    best five are partly there by chance; the overdispersed funnel is the fairer view.

    Peers whose count is suppressed (too small to publish) are left out of both means:
    their values are not published, and a published mean that included them would give
    them back (n times the mean less the visible values). A home place whose own count is
    suppressed gets no figures.
    """
    ind = comparison.indicator
    t = comparison.table
    home = t[t["is_home"]].iloc[0]
    hidden = t["suppressed"].astype(bool) if "suppressed" in t.columns else False
    peers = t[~t["is_home"] & t["value"].notna() & ~hidden]
    home_hidden = bool(home.get("suppressed", False))
    ascending = ind.polarity != "higher_is_better"
    best_peers = peers.sort_values("value", ascending=ascending).head(best)
    rows = []
    for label, bench in (
        (f"Mean of the best {len(best_peers)} peers", best_peers["value"].mean()),
        ("Mean of all peers", peers["value"].mean()),
    ):
        value = float("nan") if home_hidden else float(home["value"])
        gap = value - bench if ascending else bench - value
        if ind.measure in ("rate", "proportion") and value > 0:
            events = float(home["numerator"]) * (1.0 - bench / value)
            events = events if ascending else -events
        else:
            events = float("nan")
        gbp = events * cost_per_event_gbp if cost_per_event_gbp is not None else float("nan")
        rows.append(
            {
                "indicator_id": ind.id,
                "benchmark": label,
                "home_value": value,
                "benchmark_value": float(bench),
                "gap": gap,
                "opportunity_events": events,
                "cost_per_event_gbp": float("nan")
                if cost_per_event_gbp is None
                else cost_per_event_gbp,
                "opportunity_gbp": gbp,
                "peers_used": ", ".join(
                    (best_peers if "best" in label else peers)["place_code"].astype(str)
                ),
            }
        )
    return pd.DataFrame(rows)


def _adjusted_funnel(table: pd.DataFrame, comparison: AdjustedComparison) -> FunnelPlot:
    """The adjusted comparison as a funnel plot of O/E against expected events."""
    points = pd.DataFrame(
        {
            "numerator": table["observed" if "observed" in table else "numerator"].to_numpy(),
            "denominator": table["expected"].to_numpy(),
            "value": table["ratio"].to_numpy(),
            "z_score": table["z_score"].to_numpy(),
            "lower_95": table["funnel_lower_95"].to_numpy(),
            "upper_95": table["funnel_upper_95"].to_numpy(),
            "lower_99_8": table["funnel_lower_99_8"].to_numpy(),
            "upper_99_8": table["funnel_upper_99_8"].to_numpy(),
            "classification": table["classification"].to_numpy(),
        }
    )
    return FunnelPlot(
        points=points,
        target=1.0,
        phi=comparison.phi,
        tau2=comparison.tau2,
        overdispersion_adjusted=comparison.random_effects,
    )


def practice_variation(
    tables: Tables,
    indicator_id: str,
    place_code: str,
    years: Sequence[int],
    *,
    adjustment: Adjustment = DEFAULT_ADJUSTMENT,
    overdispersion: OverdispersionRule = DEFAULT_OVERDISPERSION,
    threshold: int = DEFAULT_THRESHOLD,
    library: Library | None = None,
) -> tuple[pd.DataFrame, FunnelPlot]:
    """Practices of a place against what their own populations would lead one to expect.

    Rates: every practice's observed events over those expected at the pooled rates of
    all practices by age band x sex x IMD decile (``adjustment``), with funnel limits
    widened for over-dispersion only when the winsorised test finds it
    (``overdispersion``; :func:`benchmarking.adjusted.compare_units`). The limits and the
    over-dispersion are estimated over all practices; the practices of ``place_code`` are
    returned. ``value``, ``lower`` and ``upper`` are the indirectly standardised rate
    (the ratio times the overall crude rate, on the indicator's scale); ``judgement``
    reads the classification by the indicator's polarity and ``label`` says it plainly.
    Proportions are compared, unadjusted, with the pooled proportion of the place's
    practices. Returns the practice table and the funnel plot (of the place's practices).
    """
    lib = library or default_library()
    ind = lib.get(indicator_id)
    if ind.measure not in ("rate", "proportion"):
        raise ValueError(
            f"practice variation needs a rate or proportion; {indicator_id!r} is a {ind.measure}"
        )
    practices = tables["gp_practices"]
    own = practices.filter(practices.place_code == place_code).select(
        "practice_code", "practice_name"
    )
    names = own.execute()
    if ind.measure == "proportion":
        return _proportion_variation(tables, ind, names, years, lib)
    comparison = compare_units(
        tables,
        indicator_id,
        "practice_code",
        years,
        adjustment=adjustment,
        overdispersion=overdispersion,
        library=lib,
    )
    everyone = comparison.table
    crude = float(everyone["observed"].sum() / everyone["population"].sum())
    scale = crude * ind.multiplier
    table = everyone.merge(names, on="practice_code").sort_values("practice_code")
    table = table.reset_index(drop=True)
    table["numerator"] = table["observed"]
    table["denominator"] = table["population"]
    table["value"] = table["ratio"] * scale
    table["lower"] = table["ratio_lower"] * scale
    table["upper"] = table["ratio_upper"] * scale
    table["lower_99_8"] = table["ratio_lower_99_8"] * scale
    table["upper_99_8"] = table["ratio_upper_99_8"] * scale
    table["unit"] = ind.unit
    table["suppressed"] = (table["observed"] > 0) & (table["observed"] < threshold)
    table["funnel_z_score"] = table.pop("z_score")
    fp = _adjusted_funnel(table.rename(columns={"funnel_z_score": "z_score"}), comparison)
    return table, fp


def _proportion_variation(
    tables: Tables,
    ind: Indicator,
    names: pd.DataFrame,
    years: Sequence[int],
    lib: Library,
) -> tuple[pd.DataFrame, FunnelPlot]:
    table = compute_indicator(
        tables, ind.id, "practice_code", years, library=lib, standardisation="none"
    )
    table = (
        table.merge(names, on="practice_code").sort_values("practice_code").reset_index(drop=True)
    )
    fp = _funnel(ind, table, False)[0]
    assert fp is not None
    pts = fp.points
    for col in ("z_score", "lower_95", "upper_95", "lower_99_8", "upper_99_8", "classification"):
        table[f"funnel_{col}" if col != "classification" else col] = pts[col].to_numpy()
    table["judgement"] = [judgement(c, ind.polarity) for c in table["classification"]]
    table["label"] = [
        plain_label(c).replace("expected for its population", "the place's practices")
        for c in table["classification"]
    ]
    return table, fp


def spc_chart(
    tables: Tables,
    indicator_id: str,
    place_code: str,
    years: Sequence[int],
    *,
    by: str = "quarter",
    target: float | None = None,
    library: Library | None = None,
) -> tuple[pd.DataFrame, XmrChart]:
    """The indicator's series for a place and its XmR chart with Making Data Count icons."""
    lib = library or default_library()
    ind = lib.get(indicator_id)
    series = indicator_series(tables, indicator_id, place_code, by, years, library=lib)
    chart = xmr_chart(
        series["value"].to_numpy(),
        dates=list(series["period"]),
        polarity=ind.polarity,
        target=target,
    )
    return series, chart


__all__ = [
    "PeerComparison",
    "cost_per_event",
    "opportunity",
    "peer_comparison",
    "practice_variation",
    "spc_chart",
]
