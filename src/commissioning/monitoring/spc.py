"""Statistical process control: XmR charts with NHS England "Making Data Count" rules.

An XmR (individuals and moving range) chart puts a series of values around its mean with
process limits at ``mean ± 2.66 × mean moving range`` and flags special-cause variation
by four rules. Each flagged point is classified as improvement or concern from the
indicator's polarity, and the chart is summarised by a variation icon and, when there is
a target, an assurance icon. The rule details follow NHS England's Making Data Count
guidance and its Single Chart tool, and the NHSRplotthedots R package where the guidance
is silent; see ``docs/methods/spc.md`` for each choice.

References: NHS England and NHS Improvement. Making Data Count (2019) and Making Data
Count: Strengthening your decisions (2021). Wheeler DJ. Understanding Variation: the Key
to Managing Chaos. 2nd ed. SPC Press, 2000. NHS-R Community, NHSRplotthedots
(``ptd_spc``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

Polarity = Literal["higher_is_better", "lower_is_better", "neither"]

#: 3 / d2 with d2 = 1.128 for moving ranges of two points (Wheeler 2000).
LIMIT_FACTOR = 2.66
#: Moving ranges above this multiple of their mean are screened out (Wheeler 2000).
SCREEN_FACTOR = 3.267
#: Fewer points than this setting the limits trigger a warning (Making Data Count).
MIN_POINTS_FOR_LIMITS = 12
RUN_LENGTH = 7
TREND_LENGTH = 7

COMMON_CAUSE = "common_cause"


@dataclass(frozen=True)
class XmrChart:
    """An XmR chart: per-point results plus the summary icons and warnings.

    ``points`` has one row per input value with columns ``date`` (if dates were given),
    ``value``, ``segment`` (0, 1, ... after each rebase), ``moving_range``, ``mean``,
    ``lower_limit``, ``upper_limit``, ``lower_two_sigma``, ``upper_two_sigma``, the rule
    flags ``beyond_limit``, ``shift``, ``trend`` and ``two_of_three``, ``special_cause``,
    ``direction`` ("high", "low" or "") and ``variation``: "common_cause",
    "improvement", "concern", "neither_high", "neither_low" or "missing".

    ``variation_icon`` describes the latest point: "common_cause",
    "special_cause_improving_high", "special_cause_improving_low",
    "special_cause_concerning_high", "special_cause_concerning_low",
    "special_cause_neither_high" or "special_cause_neither_low" (None with no data).
    ``assurance_icon`` compares the target with the latest limits: "consistently_passes",
    "consistently_fails", "hit_and_miss", or None without a target or a polarity.
    """

    points: pd.DataFrame
    variation_icon: str | None
    assurance_icon: str | None
    warnings: tuple[str, ...]
    polarity: Polarity
    target: float | None


def _run_flags(codes: npt.NDArray[np.int_], min_length: int) -> npt.NDArray[np.bool_]:
    """True where a position is in a run of ``min_length`` or more equal non-zero codes."""
    flags = np.zeros(len(codes), dtype=bool)
    start = 0
    for i in range(1, len(codes) + 1):
        if i == len(codes) or codes[i] != codes[start]:
            if codes[start] != 0 and i - start >= min_length:
                flags[start:i] = True
            start = i
    return flags


def _segment_limits(
    y: npt.NDArray[np.float64], baseline_points: int | None, screen: bool
) -> tuple[float, float, int]:
    """Mean, mean moving range and number of points that set them, for one segment."""
    base = y if baseline_points is None else y[:baseline_points]
    if len(base) == 0:
        return float("nan"), float("nan"), 0
    moving = np.abs(np.diff(base))
    mean_mr = float(moving.mean()) if len(moving) else float("nan")
    if screen and len(moving):
        kept = moving[moving < SCREEN_FACTOR * mean_mr]
        mean_mr = float(kept.mean()) if len(kept) else mean_mr
    return float(base.mean()), mean_mr, len(base)


def _rules(
    y: npt.NDArray[np.float64], mean: float, half_width: float, run_length: int, trend_length: int
) -> dict[str, npt.NDArray[np.int_]]:
    """Rule signals per point: +1 (high), -1 (low), 0 (none); trends may carry both."""
    upper, lower = mean + half_width, mean - half_width
    near = half_width * 2.0 / 3.0
    side = np.sign(y - mean).astype(int)
    beyond = np.where(y > upper, 1, np.where(y < lower, -1, 0))

    shift = np.where(_run_flags(side, run_length), side, 0)

    steps = np.sign(np.diff(y)).astype(int)
    step_run = _run_flags(steps, trend_length - 1)
    trend_up = np.zeros(len(y), dtype=bool)
    trend_down = np.zeros(len(y), dtype=bool)
    for j in np.flatnonzero(step_run):
        target = trend_up if steps[j] > 0 else trend_down
        target[j] = target[j + 1] = True

    # Two of three consecutive points beyond two sigma, all three on the same side of the
    # mean; only the points beyond two sigma are flagged (Making Data Count, 2023 logic:
    # points beyond the process limit count towards the two).
    far = np.where(y > mean + near, 1, np.where(y < mean - near, -1, 0))
    two_of_three = np.zeros(len(y), dtype=int)
    for i in range(len(y) - 2):
        window = slice(i, i + 3)
        for s in (1, -1):
            if np.all(side[window] == s) and np.sum(far[window] == s) >= 2:
                hits = np.flatnonzero(far[window] == s) + i
                two_of_three[hits] = s
    return {
        "beyond_limit": beyond,
        "shift": shift,
        "trend_up": trend_up.astype(int),
        "trend_down": trend_down.astype(int),
        "two_of_three": two_of_three,
    }


def _segments(n: int, rebase_at: Sequence[object], dates: pd.Index | None) -> npt.NDArray[np.int_]:
    starts = set()
    for item in rebase_at:
        if dates is not None and not isinstance(item, int | np.integer):
            matches = np.flatnonzero(dates == pd.Timestamp(item))  # type: ignore[arg-type]
            if len(matches) == 0:
                raise ValueError(f"rebase date {item!r} is not one of the dates")
            starts.add(int(matches[0]))
        else:
            position = int(item)  # type: ignore[call-overload]
            if not 0 <= position < n:
                raise ValueError(f"rebase position {position} is outside 0..{n - 1}")
            starts.add(position)
    segment = np.zeros(n, dtype=int)
    for start in sorted(starts):
        if start > 0:
            segment[start:] += 1
    return segment


def _classify(direction: str, polarity: Polarity) -> str:
    if polarity == "neither":
        return f"neither_{direction}"
    good = "high" if polarity == "higher_is_better" else "low"
    return "improvement" if direction == good else "concern"


def _variation_icon(variation: str, polarity: Polarity) -> str:
    if variation == COMMON_CAUSE:
        return COMMON_CAUSE
    if variation.startswith("neither_"):
        return f"special_cause_{variation}"
    good, bad = ("high", "low") if polarity == "higher_is_better" else ("low", "high")
    if variation == "improvement":
        return f"special_cause_improving_{good}"
    return f"special_cause_concerning_{bad}"


def _assurance_icon(target: float, lower: float, upper: float, polarity: Polarity) -> str | None:
    if polarity == "neither" or np.isnan(lower) or np.isnan(upper):
        return None
    higher = polarity == "higher_is_better"
    if target > upper:
        return "consistently_fails" if higher else "consistently_passes"
    if target < lower:
        return "consistently_passes" if higher else "consistently_fails"
    return "hit_and_miss"


def xmr_chart(
    values: npt.ArrayLike,
    *,
    dates: Sequence[object] | pd.Index | None = None,
    polarity: Polarity = "neither",
    target: float | None = None,
    rebase_at: Sequence[object] = (),
    baseline_points: int | None = None,
    screen_moving_ranges: bool = False,
    min_points: int = MIN_POINTS_FOR_LIMITS,
    run_length: int = RUN_LENGTH,
    trend_length: int = TREND_LENGTH,
) -> XmrChart:
    """Build an XmR chart and apply the Making Data Count special-cause rules.

    ``values`` are in time order (``dates``, if given, must be increasing). Limits are
    ``mean ± 2.66 × mean moving range``, set separately in each segment started by
    ``rebase_at`` (positions, or dates when ``dates`` is given) and, with
    ``baseline_points``, from only the first that many points of each segment. With
    ``screen_moving_ranges`` moving ranges of 3.267 × their mean or more are left out and
    the mean moving range recomputed. Missing values are skipped: they get
    ``variation="missing"`` and the rules run over the remaining points.

    The rules: a point beyond a process limit; a run of ``run_length`` (7) or more points
    on one side of the mean (a point on the mean breaks the run); a trend of
    ``trend_length`` (7) points each strictly higher (or lower) than the one before; two
    of three consecutive points beyond two sigma (two-thirds of the way to a limit), all
    three on the same side of the mean. A warning is returned for each segment whose
    limits come from fewer than ``min_points`` (12) points.
    """
    if polarity not in ("higher_is_better", "lower_is_better", "neither"):
        raise ValueError(
            f"polarity must be 'higher_is_better', 'lower_is_better' or 'neither', got {polarity!r}"
        )
    if baseline_points is not None and baseline_points < 1:
        raise ValueError(f"baseline_points must be 1 or more, got {baseline_points}")
    y_all = np.asarray(values, dtype=np.float64).reshape(-1)
    n = len(y_all)
    date_index = None
    if dates is not None:
        date_index = pd.DatetimeIndex(pd.to_datetime(list(dates)))
        if len(date_index) != n:
            raise ValueError(f"dates has {len(date_index)} entries but values has {n}")
        if not date_index.is_monotonic_increasing:
            raise ValueError("dates must be in increasing order")
    segment = _segments(n, rebase_at, date_index)

    columns: dict[str, npt.NDArray[np.generic]] = {
        "value": y_all,
        "segment": segment,
        "moving_range": np.full(n, np.nan),
        "mean": np.full(n, np.nan),
        "lower_limit": np.full(n, np.nan),
        "upper_limit": np.full(n, np.nan),
        "lower_two_sigma": np.full(n, np.nan),
        "upper_two_sigma": np.full(n, np.nan),
    }
    flags = {name: np.zeros(n, dtype=bool) for name in ("beyond_limit", "shift", "trend")}
    flags["two_of_three"] = np.zeros(n, dtype=bool)
    direction = np.full(n, "", dtype=object)
    variation = np.where(np.isnan(y_all), "missing", COMMON_CAUSE).astype(object)
    warnings: list[str] = []

    for seg in np.unique(segment):
        where = np.flatnonzero((segment == seg) & ~np.isnan(y_all))
        y = y_all[where]
        mean, mean_mr, used = _segment_limits(y, baseline_points, screen_moving_ranges)
        if used < min_points:
            warnings.append(
                f"segment {seg}: limits set from {used} points; at least {min_points} "
                "are recommended"
            )
        if len(y) == 0:
            continue
        half = LIMIT_FACTOR * mean_mr
        columns["moving_range"][where[1:]] = np.abs(np.diff(y))
        columns["mean"][where] = mean
        columns["lower_limit"][where] = mean - half
        columns["upper_limit"][where] = mean + half
        columns["lower_two_sigma"][where] = mean - half * 2.0 / 3.0
        columns["upper_two_sigma"][where] = mean + half * 2.0 / 3.0
        if np.isnan(half):
            continue
        rule = _rules(y, mean, half, run_length, trend_length)
        high = (
            (rule["beyond_limit"] > 0)
            | (rule["shift"] > 0)
            | (rule["trend_up"] > 0)
            | (rule["two_of_three"] > 0)
        )
        low = (
            (rule["beyond_limit"] < 0)
            | (rule["shift"] < 0)
            | (rule["trend_down"] > 0)
            | (rule["two_of_three"] < 0)
        )
        flags["beyond_limit"][where] = rule["beyond_limit"] != 0
        flags["shift"][where] = rule["shift"] != 0
        flags["trend"][where] = (rule["trend_up"] + rule["trend_down"]) > 0
        flags["two_of_three"][where] = rule["two_of_three"] != 0
        for k, i in enumerate(where):
            if not (high[k] or low[k]):
                continue
            if high[k] and low[k]:
                # Conflicting signals: show improvement, as the Making Data Count Single
                # Chart tool does; with no polarity, use the side of the mean.
                if polarity == "neither":
                    side = "high" if y[k] >= mean else "low"
                else:
                    side = "high" if polarity == "higher_is_better" else "low"
            else:
                side = "high" if high[k] else "low"
            direction[i] = side
            variation[i] = _classify(side, polarity)

    points = pd.DataFrame(columns)
    for name, flag in flags.items():
        points[name] = flag
    points["special_cause"] = points[list(flags)].any(axis=1)
    points["direction"] = direction.astype(str)
    points["variation"] = variation.astype(str)
    if date_index is not None:
        points.insert(0, "date", date_index)

    observed = np.flatnonzero(~np.isnan(y_all))
    variation_icon = None
    assurance_icon = None
    if len(observed):
        last = observed[-1]
        variation_icon = _variation_icon(str(variation[last]), polarity)
        if target is not None:
            assurance_icon = _assurance_icon(
                float(target),
                float(columns["lower_limit"][last]),
                float(columns["upper_limit"][last]),
                polarity,
            )
    return XmrChart(
        points=points,
        variation_icon=variation_icon,
        assurance_icon=assurance_icon,
        warnings=tuple(warnings),
        polarity=polarity,
        target=target,
    )
