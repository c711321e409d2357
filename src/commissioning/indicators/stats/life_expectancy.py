"""Period life expectancy from an abridged life table (Chiang II, Silcocks' final band).

Deaths and populations (person-years) come in the 20 bands PHE and ONS use: <1, 1-4,
5-9, ..., 85-89, 90+ (start ages in :data:`LIFE_TABLE_START_AGES`), on the **last**
axis; any leading shape (areas, sexes, periods) is kept. See
``docs/methods/life-expectancy.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from commissioning.indicators.stats.intervals import FloatArray, check_confidence, z_value

LIFE_TABLE_START_AGES: tuple[int, ...] = (0, 1, *range(5, 95, 5))
#: PHE does not calculate life expectancy for populations of 5,000 or fewer person-years.
LE_MIN_POPULATION = 5_000
#: PHE suppresses a value whose 95% confidence interval is wider than this many years.
LE_MAX_CI_WIDTH_YEARS = 20.0
_RADIX = 100_000.0


@dataclass(frozen=True)
class LifeExpectancy:
    """Life expectancy at each band start age, with limits and standard errors.

    Arrays have the input shape: the last axis is the start age (0, 1, 5, ..., 90).
    ``flag`` has the leading shape and holds "" for a calculated area or the reason it
    was not calculated (all its values are then NaN). ``wide_interval`` is True where the
    95% interval is wider than 20 years: there ``value`` is NaN but the limits are kept
    (PHE practice).
    """

    value: FloatArray
    lower: FloatArray
    upper: FloatArray
    standard_error: FloatArray
    flag: npt.NDArray[np.str_]
    wide_interval: npt.NDArray[np.bool_]
    confidence: float

    def at(self, start_age: int) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``(value, lower, upper)`` of life expectancy at ``start_age`` (0, 1, 5, ...)."""
        if start_age not in LIFE_TABLE_START_AGES:
            raise ValueError(f"start_age must be one of {LIFE_TABLE_START_AGES}, got {start_age}")
        i = LIFE_TABLE_START_AGES.index(start_age)
        return self.value[..., i], self.lower[..., i], self.upper[..., i]


def _area_flags(deaths: FloatArray, population: FloatArray, min_population: float) -> list[str]:
    flags = []
    for d, p in zip(deaths, population, strict=True):
        if np.isnan(d).any() or np.isnan(p).any():
            flags.append("missing deaths or population")
        elif (d < 0).any():
            flags.append("negative deaths")
        elif (p <= 0).any():
            flags.append("zero or negative population in an age band")
        elif (d > p).any():
            flags.append("more deaths than population in an age band")
        elif p.sum() <= min_population:
            flags.append(f"total population of {min_population:,.0f} or fewer")
        elif d[-1] <= 0:
            flags.append("no deaths in the final (90+) age band")
        else:
            flags.append("")
    return flags


def life_expectancy(
    deaths: npt.ArrayLike,
    population: npt.ArrayLike,
    *,
    confidence: float = 0.95,
    min_population: float = LE_MIN_POPULATION,
) -> LifeExpectancy:
    """Life expectancy at every band start age by Chiang's method II (abridged table).

    For band i with width nᵢ, deaths Dᵢ and person-years Pᵢ: ``Mᵢ = Dᵢ/Pᵢ``,
    ``qᵢ = nᵢMᵢ / (1 + nᵢMᵢ(1 - aᵢ))`` (1 if that exceeds 1) with aᵢ = 0.1 for <1 and
    0.5 otherwise; survivors lᵢ from a radix of 100,000; ``Lᵢ = nᵢ(lᵢ₊₁ + aᵢdᵢ)`` and,
    for the open 90+ band, ``L = l/M``; ``eᵢ = Tᵢ/lᵢ``. The variance follows Chiang,
    ``Σ lⱼ²((1 - aⱼ)nⱼ + eⱼ₊₁)² qⱼ²(1 - qⱼ)/Dⱼ / lᵢ²``, with Silcocks et al.'s term
    ``(l/2)² · 4/(D·M²)`` for the final band; limits are ``e ± z·SE``.

    An area is not calculated (NaN and a ``flag``) with negative deaths, a band with no
    population, more deaths than population, a total of ``min_population`` (5,000)
    person-years or fewer, or no deaths at 90+.

    References: Chiang CL. The Life Table and its Construction. In: Introduction to
    Stochastic Processes in Biostatistics. Wiley, 1968:189-214. Silcocks PBS, Jenner DA,
    Reza R. Life expectancy as a summary of mortality in a population: statistical
    considerations and suitability for use by health authorities. J Epidemiol Community
    Health 2001;55:38-43. Eayres DP, Williams ES. J Epidemiol Community Health
    2004;58:243-9. PHE Life Expectancy Calculator; PHEindicatormethods
    ``phe_life_expectancy``.
    """
    level = check_confidence(confidence)
    d_in = np.asarray(deaths, dtype=np.float64)
    p_in = np.asarray(population, dtype=np.float64)
    bands = len(LIFE_TABLE_START_AGES)
    if d_in.shape != p_in.shape or d_in.ndim == 0 or d_in.shape[-1] != bands:
        raise ValueError(
            f"deaths and population must have the same shape with {bands} age bands "
            f"(<1, 1-4, 5-9, ..., 90+) on the last axis; got {d_in.shape} and {p_in.shape}"
        )
    lead = d_in.shape[:-1]
    d = d_in.reshape(-1, bands)
    p = p_in.reshape(-1, bands)
    flags = np.array(_area_flags(d, p, min_population), dtype=str)
    ok = flags == ""
    # Neutral values where an area is flagged, so the arithmetic below stays finite.
    d = np.where(ok[:, None], d, 1.0)
    p = np.where(ok[:, None], p, 2.0)

    m = d / p
    width = np.diff(np.asarray(LIFE_TABLE_START_AGES, dtype=np.float64))
    n = np.concatenate([np.broadcast_to(width, (len(d), bands - 1)), 2.0 / m[:, -1:]], axis=1)
    a = np.full(bands, 0.5)
    a[0] = 0.1
    q = np.where(d <= p / n / a, m * n / (1.0 + m * n * (1.0 - a)), 1.0)
    survivors = _RADIX * np.concatenate(
        [np.ones((len(d), 1)), np.cumprod(1.0 - q[:, :-1], axis=1)], axis=1
    )
    next_survivors = np.concatenate([survivors[:, 1:], np.zeros((len(d), 1))], axis=1)
    dying = survivors - next_survivors
    years_lived = n * (next_survivors + a * dying)
    years_lived[:, -1] = survivors[:, -1] / m[:, -1]
    total_years = np.cumsum(years_lived[:, ::-1], axis=1)[:, ::-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        e = np.where(survivors > 0, total_years / survivors, 0.0)
        var_p = np.where(dying == 0, 0.0, q**2 * (1.0 - q) / d)
    var_p[:, -1] = 4.0 / (d[:, -1] * m[:, -1] ** 2)
    next_e = np.concatenate([e[:, 1:], np.zeros((len(d), 1))], axis=1)
    weighted = var_p * survivors**2 * ((1.0 - a) * n + next_e) ** 2
    weighted[:, -1] = (survivors[:, -1] / 2.0) ** 2 * var_p[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(np.cumsum(weighted[:, ::-1], axis=1)[:, ::-1] / survivors**2)

    z = z_value(level)
    wide = z_value(0.95) * se > LE_MAX_CI_WIDTH_YEARS / 2.0
    nan = np.float64(np.nan)
    keep = ok[:, None]
    value = np.where(keep & ~wide & np.isfinite(e), e, nan)
    return LifeExpectancy(
        value=value.reshape(d_in.shape),
        lower=np.where(keep, e - z * se, nan).reshape(d_in.shape),
        upper=np.where(keep, e + z * se, nan).reshape(d_in.shape),
        standard_error=np.where(keep, se, nan).reshape(d_in.shape),
        flag=flags.reshape(lead),
        wide_interval=(wide & keep).reshape(d_in.shape),
        confidence=level,
    )
