"""Contract forms (seed 000 "new models for contracting", seed 002 "outcomes-based
contracting"): who is paid, for what, and how money moves between the parties.

The form says the structure; the per-year schedule in :mod:`commissioning.contracts.schema`
says the basis of payment in each year (block fee, activity, capitation) and how much is
at risk on outcomes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from commissioning.contracts.types import Identifier, MoneyGbp, StrictModel, Text


class BlockForm(StrictModel):
    """A fixed annual value paid in quarterly instalments, whatever the activity."""

    type: Literal["block"] = "block"
    provider: Identifier


class ActivityForm(StrictModel):
    """Payment per unit of activity at a tariff price by point of delivery (pounds)."""

    type: Literal["activity"] = "activity"
    provider: Identifier
    tariff_gbp: dict[str, MoneyGbp] = Field(min_length=1)


class YearOfCareForm(StrictModel):
    """A price per person per year by complexity band, paid quarterly (seed 000)."""

    type: Literal["year_of_care"] = "year_of_care"
    provider: Identifier
    price_per_person_gbp: dict[str, MoneyGbp] = Field(min_length=1)


class EpisodeWithReablementForm(StrictModel):
    """One bundle price per episode covering treatment and reablement (seed 000)."""

    type: Literal["episode_with_reablement"] = "episode_with_reablement"
    provider: Identifier
    bundle_price_gbp: MoneyGbp
    reablement_days: int = Field(default=42, ge=0, le=366)


class CapitationForm(StrictModel):
    """A capitated budget for a cohort with a share at risk on outcomes (seed 002)."""

    type: Literal["capitation_with_outcome_incentive"] = "capitation_with_outcome_incentive"
    provider: Identifier


class Subcontract(StrictModel):
    """A subcontract the prime provider pays out of its budget, quarterly."""

    party: Identifier
    annual_value_gbp: MoneyGbp
    services: Text = "services as specified"


class PrimeProviderForm(StrictModel):
    """A single accountable prime provider holding the budget and paying subcontractors."""

    type: Literal["prime_provider"] = "prime_provider"
    prime: Identifier
    subcontracts: list[Subcontract] = Field(default_factory=list)


class AllianceForm(StrictModel):
    """One contract with several partners sharing a performance framework (seed 000).

    The partners are the parties with role ``alliance_partner``; their ``share`` values
    split every pot — capitation, outcome payments, gain and loss — so collective success is
    collective gain and underperformance affects the whole alliance (seed 002).
    """

    type: Literal["alliance"] = "alliance"
    shared_performance_framework: bool = True


class ProviderContract(StrictModel):
    """A provider's own contract within an integrated pathway hub, paid quarterly."""

    party: Identifier
    annual_value_gbp: MoneyGbp


class IntegratedPathwayHubForm(StrictModel):
    """A hub accountable for a pathway with separate provider contracts (seed 000, 002).

    The hub receives an annual coordinator fee, the outcome payments and what remains of the
    pathway budget after the provider contracts; it carries the pathway's risk share.
    """

    type: Literal["integrated_pathway_hub"] = "integrated_pathway_hub"
    hub: Identifier
    coordinator_fee_gbp: MoneyGbp
    provider_contracts: list[ProviderContract] = Field(default_factory=list)


class JointVentureForm(StrictModel):
    """A contractual joint venture: the commissioner pays the venture vehicle, whose retained
    gain (or loss) is shared by the venture partners by their ``share`` (seed 002)."""

    type: Literal["joint_venture"] = "joint_venture"
    vehicle: Identifier


class SocialImpactBondForm(StrictModel):
    """Investors fund the provider up front; the commissioner pays outcome prices to the
    investor, capped so the investor never receives more than capital × (1 + return cap)."""

    type: Literal["social_impact_bond"] = "social_impact_bond"
    investor: Identifier
    provider: Identifier
    capital_gbp: MoneyGbp
    outcome_prices_gbp: dict[str, MoneyGbp] = Field(min_length=1)
    max_return_on_capital: Decimal = Field(default=Decimal("0.5"), ge=0, le=5)


ContractForm = Annotated[
    BlockForm
    | ActivityForm
    | YearOfCareForm
    | EpisodeWithReablementForm
    | CapitationForm
    | PrimeProviderForm
    | AllianceForm
    | IntegratedPathwayHubForm
    | JointVentureForm
    | SocialImpactBondForm,
    Field(discriminator="type"),
]

#: Payment bases each form may use in a year; the simple forms have one.
ALLOWED_BASES: dict[str, frozenset[str]] = {
    "block": frozenset({"block"}),
    "activity": frozenset({"activity"}),
    "year_of_care": frozenset({"year_of_care"}),
    "episode_with_reablement": frozenset({"episode"}),
    "capitation_with_outcome_incentive": frozenset({"block", "capitation"}),
    "prime_provider": frozenset({"block", "capitation"}),
    "alliance": frozenset({"block", "capitation"}),
    "integrated_pathway_hub": frozenset({"block", "capitation"}),
    "joint_venture": frozenset({"block", "capitation"}),
    "social_impact_bond": frozenset({"outcomes_only"}),
}
