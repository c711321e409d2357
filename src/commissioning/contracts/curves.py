"""Payment curves: the share of a measure's value earned at a given attainment.

Attainment is the share of the promised improvement achieved:
``(value - baseline) / (target - baseline)``, so 0 at the baseline and 1 at the target
whatever the polarity. Every curve maps attainment to a payout fraction in [0, 1] and is
monotone non-decreasing, so better outcomes never earn less. Exact (Decimal) versions are
used in settlement; numpy versions in the stress test. See
docs/methods/payment-outcome-curves.md.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

import numpy as np
import numpy.typing as npt

from commissioning.contracts.outcomes import (
    LinearCurve,
    Measure,
    PaymentCurve,
    SteppedCurve,
    ThresholdCurve,
)

FloatArray = npt.NDArray[np.float64]
_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN)


def _decimal(value: Decimal | int | str | float) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def attainment(measure: Measure, value: Decimal | int | str | float) -> Decimal:
    """Share of the baseline-to-target improvement achieved by a measured ``value``."""
    with localcontext(_CONTEXT):
        return (_decimal(value) - measure.baseline) / (measure.target - measure.baseline)


def payout_fraction(curve: PaymentCurve, attained: Decimal) -> Decimal:
    """Exact payout fraction in [0, 1] of a curve at attainment ``attained``."""
    if isinstance(curve, ThresholdCurve):
        return Decimal(1) if attained >= curve.threshold else Decimal(0)
    if isinstance(curve, LinearCurve):
        if attained <= curve.floor:
            return Decimal(0)
        if attained >= 1:
            return Decimal(1)
        with localcontext(_CONTEXT):
            return (attained - curve.floor) / (1 - curve.floor)
    if isinstance(curve, SteppedCurve):
        reached = [s.payout for s in curve.steps if attained >= s.attainment]
        return max(reached) if reached else Decimal(0)
    raise TypeError(f"unknown curve {curve!r}")


def payout_fraction_array(curve: PaymentCurve, attained: FloatArray) -> FloatArray:
    """Vectorised float version of :func:`payout_fraction` for simulation."""
    a = np.asarray(attained, dtype=np.float64)
    if isinstance(curve, ThresholdCurve):
        return (a >= float(curve.threshold)).astype(np.float64)
    if isinstance(curve, LinearCurve):
        floor = float(curve.floor)
        return np.clip((a - floor) / (1.0 - floor), 0.0, 1.0)
    if isinstance(curve, SteppedCurve):
        out = np.zeros_like(a)
        for step in curve.steps:
            out = np.where(a >= float(step.attainment), np.maximum(out, float(step.payout)), out)
        return out
    raise TypeError(f"unknown curve {curve!r}")
