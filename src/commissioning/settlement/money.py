"""Exact money: integer pence and one rounding rule.

Every amount that is paid, settled or posted to the ledger is an ``int`` number of pence.
Intermediate arithmetic (a price times a count, a share of a pot, a payment-curve fraction
of a value at risk) is done in :class:`decimal.Decimal` with 28 significant digits, and the
result is rounded **once**, at the settlement line, to whole pence with **round half to
even** (banker's rounding, :data:`decimal.ROUND_HALF_EVEN`). Half-even avoids the upward
drift of round-half-up when many lines are rounded.

Where a whole has to be split into parts that must add back exactly to the whole (a year's
budget into four quarterly instalments, a pot among alliance partners by agreed shares, a
quarter's outcome pot among measures by weight), the split does not round each part
independently. It uses:

* :func:`instalments` — equal parts rounded half to even, the last part absorbing the
  remainder so the parts add up to the whole;
* :func:`allocate` — the largest remainder (Hamilton) method: each part gets the floor of
  its exact share, and the pence left over go one each to the parts with the largest
  fractional remainders (ties to the earlier part).

See docs/methods/payment-rounding.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal, localcontext

PENCE_PER_POUND = 100

#: Arithmetic context for money: 28 significant digits, half-even rounding.
MONEY_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN)


def as_decimal(value: Decimal | int | str | float) -> Decimal:
    """Return ``value`` as a Decimal; floats go through ``str`` so 0.1 stays 0.1."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def round_pence(amount_pence: Decimal | int) -> int:
    """Round an exact amount in pence to whole pence, half to even (the one rounding rule)."""
    if isinstance(amount_pence, int):
        return amount_pence
    return int(amount_pence.to_integral_value(rounding=ROUND_HALF_EVEN))


def to_pence(amount_gbp: Decimal | int | str | float) -> int:
    """Convert pounds to whole pence, rounding half to even at the penny."""
    with localcontext(MONEY_CONTEXT):
        return round_pence(as_decimal(amount_gbp) * PENCE_PER_POUND)


def to_gbp(amount_pence: int) -> Decimal:
    """Convert whole pence to an exact pounds Decimal with two places."""
    return (Decimal(amount_pence) / PENCE_PER_POUND).quantize(Decimal("0.01"))


def format_gbp(amount_pence: int) -> str:
    """Format pence as pounds for people, e.g. ``-123456`` -> ``-£1,234.56``."""
    sign = "-" if amount_pence < 0 else ""
    pounds, pence = divmod(abs(amount_pence), PENCE_PER_POUND)
    return f"{sign}£{pounds:,}.{pence:02d}"


def multiply_pence(amount_pence: int, factor: Decimal | int | str) -> int:
    """Return ``amount_pence * factor`` rounded half to even to whole pence."""
    with localcontext(MONEY_CONTEXT):
        return round_pence(Decimal(amount_pence) * as_decimal(factor))


def instalments(total_pence: int, parts: int = 4) -> list[int]:
    """Split ``total_pence`` into ``parts`` equal instalments; the last absorbs the rounding.

    Each of the first ``parts - 1`` instalments is ``total / parts`` rounded half to even; the
    last is whatever is left, so ``sum(instalments(t, n)) == t`` exactly. Used for quarterly
    capitation and block instalments (``parts=4``).
    """
    if parts < 1:
        raise ValueError("parts must be at least 1")
    with localcontext(MONEY_CONTEXT):
        each = round_pence(Decimal(total_pence) / parts)
    return [each] * (parts - 1) + [total_pence - each * (parts - 1)]


def instalment(total_pence: int, index: int, parts: int = 4) -> int:
    """The ``index``-th (1-based) of :func:`instalments`."""
    if not 1 <= index <= parts:
        raise ValueError(f"index must be between 1 and {parts}")
    return instalments(total_pence, parts)[index - 1]


def allocate(total_pence: int, weights: Sequence[Decimal | int | str | float]) -> list[int]:
    """Split ``total_pence`` in proportion to ``weights`` so the parts add up exactly.

    Largest remainder method: every part first gets the floor of its exact share; the pence
    left over go, one each, to the parts with the largest fractional remainders, ties broken
    in favour of the earlier part. A negative total is split as its absolute value and the
    parts negated, so ``allocate(-t, w) == [-p for p in allocate(t, w)]``.
    """
    if not weights:
        raise ValueError("weights must not be empty")
    dec_weights = [as_decimal(w) for w in weights]
    if any(w < 0 for w in dec_weights):
        raise ValueError("weights must not be negative")
    weight_sum = sum(dec_weights, Decimal(0))
    if weight_sum == 0:
        raise ValueError("weights must not all be zero")
    if total_pence < 0:
        return [-part for part in allocate(-total_pence, dec_weights)]
    with localcontext(MONEY_CONTEXT) as ctx:
        ctx.prec = 60
        exact = [Decimal(total_pence) * w / weight_sum for w in dec_weights]
        floors = [int(x.to_integral_value(rounding=ROUND_FLOOR)) for x in exact]
        remainders = [x - f for x, f in zip(exact, floors, strict=True)]
    left_over = total_pence - sum(floors)
    order = sorted(range(len(floors)), key=lambda i: (-remainders[i], i))
    for i in order[:left_over]:
        floors[i] += 1
    return floors
