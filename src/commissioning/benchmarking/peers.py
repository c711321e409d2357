"""Similar places: the peers a place is fairly compared with (C10).

Each place is described by its age structure (share aged 0-15, 65 and over, 85 and
over), deprivation (mean IMD decile and share living in the two most deprived deciles)
and rurality (urban 0, mixed 0.5, rural 1). Every feature is turned into a z-score
across all places and the peers of a place are those nearest by Euclidean distance on
the z-scores, in the spirit of the NHS RightCare Commissioning for Value "10 most
similar" groups and the CIPFA nearest neighbours model (both standardised distances over
demographic, deprivation and rurality variables). See ``docs/methods/benchmarking.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from commissioning.data.queries import mid_year_population

Tables = Mapping[str, ir.Table]

FEATURES: tuple[str, ...] = (
    "share_0_15",
    "share_65_plus",
    "share_85_plus",
    "mean_imd_decile",
    "share_most_deprived",
    "rurality_score",
)
FEATURE_LABELS = {
    "share_0_15": "Aged 0-15 (%)",
    "share_65_plus": "Aged 65+ (%)",
    "share_85_plus": "Aged 85+ (%)",
    "mean_imd_decile": "Mean IMD decile (1 most deprived)",
    "share_most_deprived": "In the two most deprived deciles (%)",
    "rurality_score": "Rurality (0 urban, 1 rural)",
}
RURALITY_SCORE = {"urban": 0.0, "mixed": 0.5, "rural": 1.0}
DEFAULT_PEERS = 10


def place_profiles(tables: Tables, years: Sequence[int]) -> pd.DataFrame:
    """One row a place: name, rurality, person-years and the similarity features (shares
    as percentages of the mid-year population pooled over ``years``)."""
    pop = mid_year_population(tables, years)
    agg = pop.group_by("place_code").aggregate(
        person_years=pop.count(),
        aged_0_15=(pop.age_years <= 15).cast("int64").sum(),
        aged_65=(pop.age_years >= 65).cast("int64").sum(),
        aged_85=(pop.age_years >= 85).cast("int64").sum(),
        imd_sum=pop.imd_decile.sum(),
        deprived=(pop.imd_decile <= 2).cast("int64").sum(),
    )
    places = tables["places"].select("place_code", "place_name", "rurality", "is_home")
    df = places.join(agg, "place_code").execute()
    n = df["person_years"].astype(float)
    out = df[["place_code", "place_name", "rurality", "is_home", "person_years"]].copy()
    out["share_0_15"] = 100.0 * df["aged_0_15"] / n
    out["share_65_plus"] = 100.0 * df["aged_65"] / n
    out["share_85_plus"] = 100.0 * df["aged_85"] / n
    out["mean_imd_decile"] = df["imd_sum"] / n
    out["share_most_deprived"] = 100.0 * df["deprived"] / n
    out["rurality_score"] = df["rurality"].map(RURALITY_SCORE).astype(float)
    return out.sort_values("place_code").reset_index(drop=True)


def similar_places(
    profiles: pd.DataFrame,
    place_code: str,
    n: int = DEFAULT_PEERS,
    features: Sequence[str] = FEATURES,
) -> pd.DataFrame:
    """The ``n`` places most similar to ``place_code``, nearest first.

    Pure: z-scores each feature across all places (mean 0, standard deviation 1; a
    feature with no spread is left out), then ranks the other places by Euclidean
    distance to ``place_code``. Returns the profiles of the peers with ``distance`` and
    ``rank`` (1 nearest).
    """
    if place_code not in set(profiles["place_code"]):
        raise ValueError(f"place {place_code!r} is not in the profiles")
    x = profiles[list(features)].astype(float)
    sd = x.std(ddof=0)
    keep = sd[sd > 0].index
    z = (x[keep] - x[keep].mean()) / sd[keep]
    home = z[profiles["place_code"] == place_code].iloc[0]
    distance = np.sqrt(((z - home) ** 2).sum(axis=1))
    out = profiles.assign(distance=distance)
    out = out[out["place_code"] != place_code].sort_values(["distance", "place_code"])
    out = out.head(n).reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    return out
