"""Numbers for people: one place for how money and counts are written in reports."""

from __future__ import annotations


def gbp(x: float) -> str:
    """Whole pounds with thousands separated; minus before the pound sign, never "-£0"."""
    whole = round(x)
    return f"-£{-whole:,.0f}" if whole < 0 else f"£{whole:,.0f}"
