"""Contract as code (C13): the typed model of an outcome-based contract.

A contract file (TOML, see docs/contracts.md) is validated into :class:`Contract`. The
model holds: identity and version; scope (a population cohort or a pathway); the services
in scope by setting and point of delivery; duration (1-15 years) in quarterly periods; the
form (:mod:`commissioning.contracts.forms`); the parties and their shares; the finance
baseline; a per-year schedule of payment basis, value at risk and risk/gain-share
corridors; and the outcomes framework (:mod:`commissioning.contracts.outcomes`).

Cross-field rules (years numbered 1..duration, parties named by the form exist with the
right role, shares of one pot add up to 1, ...) are checked together and reported as one
``contract_rules`` error whose context lists every problem with its field path.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from commissioning.contracts.forms import (
    ALLOWED_BASES,
    ActivityForm,
    AllianceForm,
    BlockForm,
    CapitationForm,
    ContractForm,
    EpisodeWithReablementForm,
    IntegratedPathwayHubForm,
    JointVentureForm,
    PrimeProviderForm,
    SocialImpactBondForm,
    YearOfCareForm,
)
from commissioning.contracts.outcomes import OutcomesFramework
from commissioning.contracts.types import (
    FractionValue,
    GrowthRate,
    Identifier,
    MoneyGbp,
    StrictModel,
    Text,
)

Setting = Literal[
    "primary_care",
    "community",
    "mental_health",
    "urgent_care",
    "emergency_admission",
    "elective_admission",
    "outpatient",
    "social_care",
]

PartyRole = Literal[
    "commissioner",
    "provider",
    "prime_provider",
    "subcontractor",
    "alliance_partner",
    "hub",
    "joint_venture",
    "venture_partner",
    "investor",
]

PaymentBasis = Literal[
    "block", "activity", "year_of_care", "episode", "capitation", "outcomes_only"
]


def _check_rule(rule: str) -> str:
    """Rules are kept as text for now: non-empty, with balanced brackets and quotes."""
    if not rule.strip():
        raise PydanticCustomError(
            "rule_empty",
            "must not be empty — write a rule such as "
            'age >= 75 and frailty in ("moderate", "severe")',
        )
    depth = 0
    quote: str | None = None
    for char in rule:
        if quote:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                break
    if depth != 0 or quote:
        raise PydanticCustomError(
            "rule_unbalanced",
            "has unbalanced brackets or quotes — close every '(' and every quote",
        )
    return rule


class PopulationScope(StrictModel):
    """A population cohort defined by a segment rule, e.g. frail people aged 75 and over."""

    kind: Literal["population"] = "population"
    cohort_rule: Annotated[str, AfterValidator(_check_rule)]
    description: str = ""


class PathwayScope(StrictModel):
    """A pathway: people become the provider's responsibility when eligible, for a window
    of ``window_days`` (the Swedish hip/knee model, seed 002)."""

    kind: Literal["pathway"] = "pathway"
    eligibility_rule: Annotated[str, AfterValidator(_check_rule)]
    window_days: int = Field(ge=1, le=15 * 366)
    description: str = ""


Scope = Annotated[PopulationScope | PathwayScope, Field(discriminator="kind")]


class ServiceLine(StrictModel):
    """A service in scope: a setting and optionally the points of delivery within it."""

    setting: Setting
    points_of_delivery: list[str] = Field(default_factory=list)


class Party(StrictModel):
    """A party to the contract. ``share`` is its share of the pot its role shares."""

    id: Identifier
    name: Text
    role: PartyRole
    share: FractionValue | None = None


class Indexation(StrictModel):
    """How the budget moves from year to year: an uplift less an efficiency factor
    (the National Tariff's cost uplift less its efficiency factor), apart from the
    do-nothing growth of demand and cost that the budget is compared with."""

    uplift: GrowthRate
    efficiency: FractionValue = Decimal(0)


class Finance(StrictModel):
    """The money baseline. ``baseline_budget_gbp`` is year 1's annual budget before planned
    savings. ``do_nothing_growth`` is the expected growth of spend without the contract;
    the budget grows by it too unless ``indexation`` says otherwise. Planning from data
    (``commissioning contract budget``) proposes a new version with a baseline from the
    cohort's spend; the signed figures are never changed in place."""

    baseline_budget_gbp: MoneyGbp
    do_nothing_growth: GrowthRate = Decimal(0)
    indexation: Indexation | None = None
    provider_reserve_gbp: MoneyGbp | None = None


class Corridor(StrictModel):
    """A band of the budget variance, as fractions of the budget, and the provider's share.

    ``from_share`` 0.02 and ``to_share`` 0.10 with ``provider_share`` 0.5 means the provider
    keeps (or bears) half of any variance between 2% and 10% of the budget.
    ``to_share`` omitted means no upper bound.
    """

    from_share: FractionValue
    to_share: FractionValue | None = None
    provider_share: FractionValue


class RiskShare(StrictModel):
    """Year-end risk and gain share on the variance between what was at stake and outturn.

    ``variance_basis`` says what the outturn is compared with: ``amount_paid`` (default) —
    what the provider was actually paid for the year, the core payments plus the outcome
    payments it earned, so value withheld and not earned is never counted as a saving; or
    ``core_budget`` — the budget less the whole value at risk (outcome payments are then a
    reward kept outside the share). Corridor bounds are fractions of the annual budget.

    ``corridors`` apply to an underspend (gain); they also apply to an overspend (risk)
    unless ``overspend_corridors`` are given (asymmetric sharing). Beyond the last closed
    corridor the provider's share is 0 — its gain or loss is capped there. ``gain_cap_gbp``
    and ``loss_cap_gbp`` cap, in pounds, what the provider may keep or must bear.

    ``minimum_savings_rate`` (the Medicare Shared Savings Program's MSR): an underspend
    smaller than this fraction of the budget is not shared at all (the provider keeps
    none of it, as chance alone could produce it); once it is reached, the corridors apply
    from the first pound. ``minimum_loss_rate`` is the same for an overspend (the provider
    bears none of a smaller one). ``quality_gate``: the provider keeps a gain only if its
    outcome payments earned at least this share of the year's value at risk.
    """

    variance_basis: Literal["amount_paid", "core_budget"] = "amount_paid"
    corridors: list[Corridor] = Field(min_length=1)
    overspend_corridors: list[Corridor] | None = None
    gain_cap_gbp: MoneyGbp | None = None
    loss_cap_gbp: MoneyGbp | None = None
    minimum_savings_rate: FractionValue = Decimal(0)
    minimum_loss_rate: FractionValue = Decimal(0)
    quality_gate: FractionValue | None = None


class PaymentYear(StrictModel):
    """The payment rules of one contract year.

    ``value_at_risk`` is the share of the year's budget withheld and earned back through
    outcome payments; ``planned_savings`` the share of the do-nothing spend the budget is
    set below; ``budget_gbp`` overrides the derived budget.
    """

    year: int = Field(ge=1, le=15)
    basis: PaymentBasis
    value_at_risk: FractionValue = Decimal(0)
    planned_savings: FractionValue = Decimal(0)
    budget_gbp: MoneyGbp | None = None
    risk_share: RiskShare | None = None


class Contract(StrictModel):
    """An outcome-based contract, validated. See docs/contracts.md for the file format.

    ``effective_from`` is set on a variation: the date from which this version's terms
    replace the previous version's (pro-rated by day within a period and in the year-end
    reconciliation). The first version takes effect at ``start_date``.
    """

    id: Identifier
    version: Text
    title: Text
    description: str = ""
    scope: Scope
    services: list[ServiceLine] = Field(min_length=1)
    duration_years: int = Field(ge=1, le=15)
    start_date: date
    effective_from: date | None = None
    periods: Literal["quarter"] = "quarter"
    form: ContractForm
    parties: list[Party] = Field(min_length=2)
    finance: Finance
    years: list[PaymentYear] = Field(min_length=1)
    outcomes: OutcomesFramework = Field(default_factory=OutcomesFramework)

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Contract:
        problems = _cross_field_problems(self)
        if problems:
            raise PydanticCustomError(
                "contract_rules",
                "; ".join(f"{path}: {message}" for path, message in problems),
                {"problems": problems},
            )
        return self

    # -- convenience accessors used by settlement -------------------------------------------
    def party(self, party_id: str) -> Party:
        """The party with id ``party_id``."""
        for p in self.parties:
            if p.id == party_id:
                return p
        raise KeyError(party_id)

    def parties_with_role(self, role: str) -> list[Party]:
        """Parties with ``role``, in file order."""
        return [p for p in self.parties if p.role == role]

    @property
    def commissioner(self) -> Party:
        """The paying commissioner: the first commissioner listed (the pooled-budget host)."""
        return self.parties_with_role("commissioner")[0]

    def year_rules(self, year: int) -> PaymentYear:
        """The payment rules for contract year ``year`` (1-based)."""
        return self.years[year - 1]


def _shares_problems(parties: list[Party], role: str, what: str) -> list[tuple[str, str]]:
    chosen = [(i, p) for i, p in enumerate(parties) if p.role == role]
    problems: list[tuple[str, str]] = []
    missing = [i for i, p in chosen if p.share is None]
    for i in missing:
        problems.append((f"parties[{i}].share", f"each {what} needs a share — e.g. share = 0.5"))
    if not missing and chosen:
        total = sum((p.share or Decimal(0) for _, p in chosen), Decimal(0))
        if total != 1:
            problems.append(
                ("parties", f"{what} shares add up to {total}, not 1 — adjust them to add up to 1")
            )
    return problems


def _role_problem(
    contract: Contract, path: str, party_id: str, roles: tuple[str, ...]
) -> list[tuple[str, str]]:
    known = {p.id: p for p in contract.parties}
    if party_id not in known:
        return [(path, f"'{party_id}' is not a party — add it to [[parties]] or fix the id")]
    if known[party_id].role not in roles:
        wanted = " or ".join(roles)
        return [(path, f"'{party_id}' has role '{known[party_id].role}' — it must be {wanted}")]
    return []


def _form_problems(contract: Contract) -> list[tuple[str, str]]:
    form = contract.form
    problems: list[tuple[str, str]] = []
    single = (BlockForm, ActivityForm, YearOfCareForm, EpisodeWithReablementForm, CapitationForm)
    if isinstance(form, single):
        problems += _role_problem(contract, "form.provider", form.provider, ("provider",))
    elif isinstance(form, PrimeProviderForm):
        problems += _role_problem(contract, "form.prime", form.prime, ("prime_provider",))
        for i, sub in enumerate(form.subcontracts):
            problems += _role_problem(
                contract, f"form.subcontracts[{i}].party", sub.party, ("subcontractor",)
            )
    elif isinstance(form, AllianceForm):
        if len(contract.parties_with_role("alliance_partner")) < 2:
            problems.append(("parties", "an alliance needs at least two alliance_partner parties"))
        problems += _shares_problems(contract.parties, "alliance_partner", "alliance partner")
    elif isinstance(form, IntegratedPathwayHubForm):
        problems += _role_problem(contract, "form.hub", form.hub, ("hub",))
        for i, pc in enumerate(form.provider_contracts):
            problems += _role_problem(
                contract, f"form.provider_contracts[{i}].party", pc.party, ("provider",)
            )
    elif isinstance(form, JointVentureForm):
        problems += _role_problem(contract, "form.vehicle", form.vehicle, ("joint_venture",))
        if not contract.parties_with_role("venture_partner"):
            problems.append(("parties", "a joint venture needs venture_partner parties"))
        problems += _shares_problems(contract.parties, "venture_partner", "venture partner")
    elif isinstance(form, SocialImpactBondForm):
        problems += _role_problem(contract, "form.investor", form.investor, ("investor",))
        problems += _role_problem(contract, "form.provider", form.provider, ("provider",))
    return problems


def _cross_field_problems(contract: Contract) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    ids = [p.id for p in contract.parties]
    for i, pid in enumerate(ids):
        if ids.index(pid) != i:
            problems.append((f"parties[{i}].id", f"'{pid}' repeats — give each party its own id"))
    if not contract.parties_with_role("commissioner"):
        problems.append(("parties", 'no commissioner — add a party with role = "commissioner"'))
    elif len(contract.parties_with_role("commissioner")) > 1:
        problems += _shares_problems(contract.parties, "commissioner", "pooled-budget commissioner")
    problems += _form_problems(contract)
    if contract.effective_from is not None:
        end = _add_years(contract.start_date, contract.duration_years)
        if not contract.start_date <= contract.effective_from < end:
            problems.append(
                (
                    "effective_from",
                    f"is {contract.effective_from} but must fall within the contract "
                    f"({contract.start_date} to the day before {end}) — give the date this "
                    "version's terms take effect",
                )
            )

    numbers = [y.year for y in contract.years]
    if numbers != list(range(1, contract.duration_years + 1)):
        problems.append(
            (
                "years",
                f"years are numbered {numbers} — give one [[years]] entry for each year "
                f"1 to {contract.duration_years}, in order",
            )
        )
    allowed = ALLOWED_BASES[contract.form.type]
    has_measures = bool(contract.outcomes.measures)
    for i, y in enumerate(contract.years):
        if y.basis not in allowed:
            problems.append(
                (
                    f"years[{i}].basis",
                    f"'{y.basis}' is not allowed for a {contract.form.type} contract — use "
                    + " or ".join(f"'{b}'" for b in sorted(allowed)),
                )
            )
        if y.value_at_risk > 0 and y.basis not in ("block", "capitation"):
            problems.append(
                (
                    f"years[{i}].value_at_risk",
                    "only a block or capitation year can hold value at risk — set it to 0",
                )
            )
        if y.value_at_risk > 0 and not has_measures:
            problems.append(
                (
                    f"years[{i}].value_at_risk",
                    "value is at risk but the outcomes framework has no measures — add "
                    "[[outcomes.measures]] or set value_at_risk = 0",
                )
            )
        if y.risk_share is not None:
            if y.basis != "capitation":
                problems.append(
                    (
                        f"years[{i}].risk_share",
                        "risk and gain share applies to capitation years only — remove it or "
                        'set basis = "capitation"',
                    )
                )
            for key in ("corridors", "overspend_corridors"):
                bands = getattr(y.risk_share, key)
                if bands is not None:
                    problems += _corridor_problems(bands, f"years[{i}].risk_share.{key}")
    return problems


def _add_years(day: date, years: int) -> date:
    """``day`` moved on by whole years (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _corridor_problems(bands: list[Any], path: str) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    expected_from = Decimal(0)
    for j, band in enumerate(bands):
        if band.from_share != expected_from:
            problems.append(
                (
                    f"{path}[{j}].from_share",
                    f"is {band.from_share} but must be {expected_from} — corridors start at 0 "
                    "and each starts where the one before ends",
                )
            )
        if band.to_share is None:
            if j != len(bands) - 1:
                problems.append(
                    (f"{path}[{j}].to_share", "only the last corridor may be open-ended")
                )
            break
        if band.to_share <= band.from_share:
            problems.append((f"{path}[{j}].to_share", "must be above from_share"))
        expected_from = band.to_share
    return problems


def contract_json_schema() -> dict[str, Any]:
    """The JSON Schema of a contract file, generated from :class:`Contract`."""
    return Contract.model_json_schema(by_alias=True)


def contract_json_schema_text() -> str:
    """:func:`contract_json_schema` as indented JSON text for the docs."""
    return json.dumps(contract_json_schema(), indent=2, sort_keys=True)
