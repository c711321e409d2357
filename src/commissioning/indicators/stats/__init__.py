"""Pure statistics for indicators: intervals, standardisation, funnel plots, life expectancy.

Every function takes arrays and explicit parameters and returns arrays; none reads
configuration or files (other than the packaged European Standard Population) or prints.
"""

from commissioning.indicators.stats.funnel import (
    FunnelPlot,
    Overdispersion,
    classify,
    estimate_overdispersion,
    exact_binomial_limit,
    exact_poisson_limit,
    funnel_limits,
    funnel_plot,
)
from commissioning.indicators.stats.intervals import (
    Estimate,
    byar_interval,
    exact_poisson_interval,
    mean_with_ci,
    poisson_count_interval,
    proportion_with_ci,
    rate_with_ci,
    wilson_interval,
    z_value,
)
from commissioning.indicators.stats.life_expectancy import (
    LIFE_TABLE_START_AGES,
    LifeExpectancy,
    life_expectancy,
)
from commissioning.indicators.stats.standardisation import (
    StandardisedRate,
    StandardisedRatio,
    directly_standardised_rate,
    european_standard_population_2013,
    expected_events,
    indirectly_standardised_ratio,
)

__all__ = [
    "LIFE_TABLE_START_AGES",
    "Estimate",
    "FunnelPlot",
    "LifeExpectancy",
    "Overdispersion",
    "StandardisedRate",
    "StandardisedRatio",
    "byar_interval",
    "classify",
    "directly_standardised_rate",
    "estimate_overdispersion",
    "european_standard_population_2013",
    "exact_binomial_limit",
    "exact_poisson_interval",
    "exact_poisson_limit",
    "expected_events",
    "funnel_limits",
    "funnel_plot",
    "indirectly_standardised_ratio",
    "life_expectancy",
    "mean_with_ci",
    "poisson_count_interval",
    "proportion_with_ci",
    "rate_with_ci",
    "wilson_interval",
    "z_value",
]
