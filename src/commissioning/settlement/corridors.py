"""Risk and gain share in corridors (C16).

At year end the variance between the annual budget and the provider's outturn cost is
split between provider and commissioner band by band. With corridors
``[0, 2%) -> 1.0``, ``[2%, 10%) -> 0.5`` and nothing beyond, on a £10m budget:

* an underspend of £200,000 (exactly 2%) is kept in full by the provider;
* an underspend of £1,000,000 (exactly 10%) gives the provider £200,000 + 0.5 × £800,000 =
  £600,000 and returns £400,000 to the commissioner;
* an underspend of £1,500,000 gives the provider the same £600,000 (its gain is capped at
  the last corridor) and returns £900,000.

An overspend is split by ``overspend_corridors`` if given, else by the same corridors. The
provider's part is then limited by ``gain_cap_gbp`` / ``loss_cap_gbp``; the commissioner's
part is the rest, so the two always add up to the variance exactly. The provider's exact
part is rounded once, half to even, to whole pence.

A minimum savings rate (or minimum loss rate) below which nothing is shared is not the
same rule as a first corridor with a zero share: with a 2% minimum savings rate a 3%
underspend is shared from its first pound, while a zero-share corridor [0, 2%) would
share only the part above 2%. See docs/methods/payment-corridors.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Literal

import numpy as np
import numpy.typing as npt

from commissioning.contracts.schema import Corridor, RiskShare
from commissioning.settlement.money import MONEY_CONTEXT, round_pence, to_pence

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class VarianceSplit:
    """How a year's variance is shared. Amounts are non-negative pence.

    ``direction`` is ``underspend`` (budget above outturn: ``provider_pence`` is what the
    provider keeps, ``commissioner_pence`` what it returns), ``overspend`` (``provider_pence``
    is what the provider bears, ``commissioner_pence`` what the commissioner pays extra) or
    ``on_budget``.
    """

    direction: Literal["underspend", "overspend", "on_budget"]
    variance_pence: int
    provider_pence: int
    commissioner_pence: int
    capped: bool
    below_minimum_rate: bool = False
    quality_gate_failed: bool = False


def _bands(risk_share: RiskShare, overspend: bool) -> list[Corridor]:
    if overspend and risk_share.overspend_corridors is not None:
        return risk_share.overspend_corridors
    return risk_share.corridors


def split_variance(
    basis_pence: int,
    outturn_pence: int,
    risk_share: RiskShare,
    *,
    budget_pence: int | None = None,
    quality_met: bool = True,
) -> VarianceSplit:
    """Share the variance ``basis - outturn`` between provider and commissioner.

    ``basis_pence`` is what the outturn is compared with (the amount paid or the core
    budget, by the contract's ``variance_basis``); ``budget_pence``, the annual budget that
    corridor bounds and minimum rates are fractions of, defaults to the basis.
    ``quality_met`` False means the quality gate failed: the provider keeps no gain.
    """
    budget = basis_pence if budget_pence is None else budget_pence
    variance = basis_pence - outturn_pence
    if variance == 0:
        return VarianceSplit("on_budget", 0, 0, 0, False)
    overspend = variance < 0
    size = abs(variance)
    direction: Literal["underspend", "overspend"] = "overspend" if overspend else "underspend"
    minimum = risk_share.minimum_loss_rate if overspend else risk_share.minimum_savings_rate
    if Decimal(size) < minimum * budget:
        return VarianceSplit(direction, size, 0, size, False, below_minimum_rate=True)
    if not overspend and not quality_met:
        return VarianceSplit(direction, size, 0, size, False, quality_gate_failed=True)
    budget_pence = budget
    with localcontext(MONEY_CONTEXT):
        provider_exact = Decimal(0)
        for band in _bands(risk_share, overspend):
            low = band.from_share * budget_pence
            high = Decimal(size) if band.to_share is None else band.to_share * budget_pence
            inside = min(Decimal(size), high) - low
            if inside > 0:
                provider_exact += band.provider_share * inside
    provider = round_pence(provider_exact)
    cap_gbp = risk_share.loss_cap_gbp if overspend else risk_share.gain_cap_gbp
    capped = False
    if cap_gbp is not None and provider > to_pence(cap_gbp):
        provider = to_pence(cap_gbp)
        capped = True
    return VarianceSplit(direction, size, provider, size - provider, capped)


def provider_share_array(
    basis: FloatArray,
    outturn: FloatArray,
    risk_share: RiskShare,
    *,
    budget: FloatArray | None = None,
    quality_met: npt.NDArray[np.bool_] | None = None,
) -> FloatArray:
    """Vectorised float version of :func:`split_variance` for simulation: the provider's
    signed part of the variance ``basis - outturn`` (positive = gain kept, negative = loss
    borne), for arrays in **pounds** (the caps are in pounds). No rounding: modelling."""
    basis = np.asarray(basis, dtype=np.float64)
    budget = basis if budget is None else np.asarray(budget, dtype=np.float64)
    variance = basis - np.asarray(outturn, dtype=np.float64)
    size = np.abs(variance)
    parts = []
    for overspend in (False, True):
        part = np.zeros_like(size)
        for band in _bands(risk_share, overspend):
            low = float(band.from_share) * budget
            high = size if band.to_share is None else float(band.to_share) * budget
            part += float(band.provider_share) * np.clip(np.minimum(size, high) - low, 0.0, None)
        cap = risk_share.loss_cap_gbp if overspend else risk_share.gain_cap_gbp
        if cap is not None:
            part = np.minimum(part, float(cap))
        minimum = risk_share.minimum_loss_rate if overspend else risk_share.minimum_savings_rate
        part = np.where(size < float(minimum) * budget, 0.0, part)
        if not overspend and quality_met is not None:
            part = np.where(quality_met, part, 0.0)
        parts.append(part)
    return np.where(variance >= 0, parts[0], -parts[1])
