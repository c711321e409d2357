"""The Making Data Count icons, drawn as small SVG images with their meaning in words.

Variation icons (NHS England and NHS Improvement, *Making Data Count: strengthening your
decisions*, 2019, and its "SPC icons" guidance): grey for common cause variation only;
blue for special cause improvement, orange for special cause concern, purple where the
measure has no better direction; the letter says whether the special cause is High or
Low. Assurance icons: blue "P" when the process consistently passes the target, orange
"F" when it consistently fails, grey "?" when it hits and misses. Each icon carries its
meaning as its accessible name and title, so the colour is never the only cue.
"""

from __future__ import annotations

from markupsafe import Markup, escape

#: icon key: (colour, letter)
_ICONS: dict[str, tuple[str, str]] = {
    "common_cause": ("#768692", "~"),
    "special_cause_improving_high": ("#005eb8", "H"),
    "special_cause_improving_low": ("#005eb8", "L"),
    "special_cause_concerning_high": ("#b65200", "H"),
    "special_cause_concerning_low": ("#b65200", "L"),
    "special_cause_neither_high": ("#7c2855", "H"),
    "special_cause_neither_low": ("#7c2855", "L"),
    "consistently_passes": ("#005eb8", "P"),
    "consistently_fails": ("#b65200", "F"),
    "hit_and_miss": ("#768692", "?"),
}


def icon_svg(key: str | None, meaning: str) -> Markup:
    """The icon of ``key`` as inline SVG, named by ``meaning``; empty for no icon."""
    if not key or key not in _ICONS:
        return Markup("")
    colour, letter = _ICONS[key]
    label = escape(meaning)
    return Markup(
        f'<svg class="mdc-icon" width="26" height="26" viewBox="0 0 26 26" role="img" '
        f'aria-label="{label}"><title>{label}</title>'
        f'<circle cx="13" cy="13" r="11.5" fill="#fff" stroke="{colour}" stroke-width="3"/>'
        f'<text x="13" y="17.5" text-anchor="middle" font-size="13" font-weight="700" '
        f'font-family="Arial, sans-serif" fill="{colour}">{escape(letter)}</text></svg>'
    )


def variation_icon(key: str | None, meaning: str) -> Markup:
    """The icon followed by its meaning in words, for a table cell."""
    return icon_svg(key, meaning) + Markup(" ") + escape(meaning)
