"""Settling a contract period (C16): from a contract and a quarter's inputs to the lines paid.

For the quarter ``(year, quarter)`` of a contract, :func:`settle_period` produces, in order:

1. core payments by the year's basis — block or capitation instalments (the year's budget
   less its value at risk, in four instalments, the last absorbing rounding), activity
   (count × tariff by point of delivery), year of care (people × price per band, as a
   quarterly instalment) or episodes (count × bundle price);
2. outcome payments — the quarter's share of the value at risk, split among measures by
   weight, times the payment curve at each measure's attainment;
3. form-specific flows — subcontract instalments from a prime provider, an integrated
   pathway hub's coordinator fee and provider contracts, a social impact bond's capital
   and capped outcome payments to the investor;
4. in-year adjustments;
5. at quarter 4, if the outturn is given, the year-end risk and gain share in corridors,
   and for a joint venture the distribution of the vehicle's retained gain (or call on
   its partners for its loss) by equity share.

Pots shared by several parties (alliance partners, venture partners) are split with the
largest remainder method so the parts add up exactly. All amounts are integer pence,
rounded half to even once per line (:mod:`commissioning.settlement.money`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from commissioning.contracts.curves import attainment, payout_fraction
from commissioning.contracts.forms import (
    ActivityForm,
    EpisodeWithReablementForm,
    IntegratedPathwayHubForm,
    JointVentureForm,
    PrimeProviderForm,
    SocialImpactBondForm,
    YearOfCareForm,
)
from commissioning.contracts.schema import Contract
from commissioning.contracts.versions import content_hash
from commissioning.settlement.corridors import split_variance
from commissioning.settlement.lines import (
    YEAR_END,
    PeriodInputs,
    SettlementLine,
    canonical,
    make_line_id,
    period_index,
    sha256_hex,
)
from commissioning.settlement.money import (
    MONEY_CONTEXT,
    allocate,
    instalment,
    multiply_pence,
    to_pence,
)


class SettlementError(ValueError):
    """The inputs cannot be settled against this contract; the message says what to fix."""


def annual_budget_pence(contract: Contract, year: int) -> int:
    """The annual budget of contract year ``year`` in pence.

    ``budget_gbp`` for the year if given; otherwise the baseline grown by the indexation
    (uplift less efficiency) if the contract has one, else by the do-nothing growth, and
    reduced by the year's planned savings:
    ``baseline × (1 + growth)^(year - 1) × (1 - planned_savings)``, rounded half to even.
    """
    rules = contract.year_rules(year)
    if rules.budget_gbp is not None:
        return to_pence(rules.budget_gbp)
    finance = contract.finance
    with localcontext(MONEY_CONTEXT):
        if finance.indexation is not None:
            growth = finance.indexation.uplift - finance.indexation.efficiency
        else:
            growth = finance.do_nothing_growth
        grown = finance.baseline_budget_gbp * (1 + growth) ** (year - 1)
        return to_pence(grown * (1 - rules.planned_savings))


def do_nothing_budget_pence(contract: Contract, year: int) -> int:
    """The do-nothing spend of year ``year``: the baseline grown at the do-nothing growth,
    with no planned savings."""
    with localcontext(MONEY_CONTEXT):
        return to_pence(
            contract.finance.baseline_budget_gbp
            * (1 + contract.finance.do_nothing_growth) ** (year - 1)
        )


def value_at_risk_pence(contract: Contract, year: int) -> int:
    """The year's value at risk on outcomes: budget × value_at_risk, rounded half to even."""
    return multiply_pence(
        annual_budget_pence(contract, year), contract.year_rules(year).value_at_risk
    )


def _one_provider(contract: Contract) -> list[tuple[str, Decimal]]:
    return [(getattr(contract.form, "provider"), Decimal(1))]  # noqa: B009


def _alliance_partners(contract: Contract) -> list[tuple[str, Decimal]]:
    return [(p.id, p.share or Decimal(0)) for p in contract.parties_with_role("alliance_partner")]


#: Who receives the core and outcome payments and carries the risk share, per form type.
#: Every form type of :data:`commissioning.contracts.forms.ContractForm` must be here
#: (:func:`commissioning.contracts.registry.registry_problems` checks it).
PROVIDER_SIDE: dict[str, Callable[[Contract], list[tuple[str, Decimal]]]] = {
    "block": _one_provider,
    "activity": _one_provider,
    "year_of_care": _one_provider,
    "episode_with_reablement": _one_provider,
    "capitation_with_outcome_incentive": _one_provider,
    "social_impact_bond": _one_provider,
    "prime_provider": lambda c: [(getattr(c.form, "prime"), Decimal(1))],  # noqa: B009
    "alliance": _alliance_partners,
    "integrated_pathway_hub": lambda c: [(getattr(c.form, "hub"), Decimal(1))],  # noqa: B009
    "joint_venture": lambda c: [(getattr(c.form, "vehicle"), Decimal(1))],  # noqa: B009
}


def provider_side(contract: Contract) -> list[tuple[str, Decimal]]:
    """Who receives the core and outcome payments and carries the risk share, with shares."""
    rule = PROVIDER_SIDE.get(contract.form.type)
    if rule is None:
        raise SettlementError(
            f"form '{contract.form.type}' has no provider-side rule — register it in "
            "settlement.settle.PROVIDER_SIDE"
        )
    return rule(contract)


class _Builder:
    """Accumulates the lines of one period with shared provenance."""

    def __init__(
        self,
        contract: Contract,
        inputs: PeriodInputs,
        *,
        quarter: int | None = None,
        digest: str | None = None,
    ) -> None:
        self.contract = contract
        self.inputs = inputs
        self.quarter = inputs.quarter if quarter is None else quarter
        self.hash = content_hash(contract)
        self.digest = inputs.digest() if digest is None else digest
        self.lines: list[SettlementLine] = []
        self.pending: frozenset[str] = frozenset()

    def add(
        self,
        kind: str,
        key: str,
        payer: str,
        payee: str,
        amount_pence: int,
        description: str,
        inputs: dict[str, object],
    ) -> None:
        provenance = dict(inputs)
        if self.inputs.event_digest:
            provenance.setdefault("event_digest", self.inputs.event_digest)
        self.lines.append(
            SettlementLine(
                line_id=make_line_id(
                    self.hash, self.inputs.year, self.quarter, kind, key, payer, payee
                ),
                contract_id=self.contract.id,
                contract_hash=self.hash,
                year=self.inputs.year,
                quarter=self.quarter,
                kind=kind,
                key=key,
                payer=payer,
                payee=payee,
                amount_pence=amount_pence,
                description=description,
                inputs=tuple(sorted((k, str(v)) for k, v in provenance.items())),
                inputs_digest=self.digest,
            )
        )

    def split(
        self,
        kind: str,
        key: str,
        payer: str | None,
        recipients: Sequence[tuple[str, Decimal]],
        amount_pence: int,
        description: str,
        inputs: dict[str, object],
    ) -> None:
        """Split ``amount_pence`` among recipients by share; ``payer=None`` reverses the flow
        (each recipient pays the commissioner its part)."""
        parts = allocate(amount_pence, [share for _, share in recipients])
        commissioner = self.contract.commissioner.id
        for (party, share), part in zip(recipients, parts, strict=True):
            detail = dict(inputs)
            if len(recipients) > 1:
                detail.update(pot_pence=amount_pence, share=share)
            if payer is None:
                self.add(kind, key, party, commissioner, part, description, detail)
            else:
                self.add(kind, key, payer, party, part, description, detail)


def _core_capitated(b: _Builder, budget: int, at_risk: int) -> None:
    """Block or capitation: the budget less the value at risk in four instalments (an
    integrated pathway hub's fee and provider contracts first)."""
    contract, inputs = b.contract, b.inputs
    rules = contract.year_rules(inputs.year)
    form = contract.form
    payer = contract.commissioner.id
    q = inputs.quarter
    recipients = provider_side(contract)
    kind = "capitation" if rules.basis == "capitation" else "block_instalment"
    core_annual = budget - at_risk
    core = instalment(core_annual, q)
    facts: dict[str, object] = {
        "annual_budget_pence": budget,
        "value_at_risk_pence": at_risk,
        "core_annual_pence": core_annual,
        "instalment": f"{q} of 4",
    }
    if isinstance(form, IntegratedPathwayHubForm):
        fee = instalment(to_pence(form.coordinator_fee_gbp), q)
        b.add("coordinator_fee", "", payer, form.hub, fee, "Hub coordinator fee", facts)
        core -= fee
        for pc in form.provider_contracts:
            part = instalment(to_pence(pc.annual_value_gbp), q)
            b.add(
                "provider_contract",
                pc.party,
                payer,
                pc.party,
                part,
                f"Provider contract instalment ({pc.party})",
                facts,
            )
            core -= part
        if core < 0:
            raise SettlementError(
                f"year {inputs.year}: the coordinator fee and provider contracts exceed the "
                "budget net of value at risk — raise the budget or lower the contracts"
            )
    b.split(kind, "", payer, recipients, core, f"{kind.replace('_', ' ').capitalize()}", facts)


def _core_activity(b: _Builder, budget: int, at_risk: int) -> None:
    """Activity: count × tariff by point of delivery."""
    form = b.contract.form
    assert isinstance(form, ActivityForm)
    payee = provider_side(b.contract)[0][0]
    for pod, count in sorted(b.inputs.activity_counts.items()):
        if pod not in form.tariff_gbp:
            raise SettlementError(
                f"no tariff for point of delivery '{pod}' — add it to form.tariff_gbp"
            )
        price = to_pence(form.tariff_gbp[pod])
        b.add(
            "activity",
            pod,
            b.contract.commissioner.id,
            payee,
            count * price,
            f"Activity: {count} × {pod}",
            {"count": count, "tariff_pence": price},
        )


def _core_year_of_care(b: _Builder, budget: int, at_risk: int) -> None:
    """Year of care: people × annual price per band, as a quarterly instalment."""
    form = b.contract.form
    assert isinstance(form, YearOfCareForm)
    payee = provider_side(b.contract)[0][0]
    q = b.inputs.quarter
    for band, people in sorted(b.inputs.people_by_band.items()):
        if band not in form.price_per_person_gbp:
            raise SettlementError(
                f"no year-of-care price for band '{band}' — add it to form.price_per_person_gbp"
            )
        price = to_pence(form.price_per_person_gbp[band])
        b.add(
            "year_of_care",
            band,
            b.contract.commissioner.id,
            payee,
            instalment(people * price, q),
            f"Year of care: {people} people in band {band}",
            {"people": people, "price_per_person_pence": price, "instalment": f"{q} of 4"},
        )


def _core_episode(b: _Builder, budget: int, at_risk: int) -> None:
    """Episodes with reablement: count × bundle price."""
    form = b.contract.form
    assert isinstance(form, EpisodeWithReablementForm)
    price = to_pence(form.bundle_price_gbp)
    episodes = b.inputs.episodes
    b.add(
        "episode",
        "",
        b.contract.commissioner.id,
        provider_side(b.contract)[0][0],
        episodes * price,
        f"Episodes with reablement: {episodes}",
        {"episodes": episodes, "bundle_price_pence": price},
    )


def _core_outcomes_only(b: _Builder, budget: int, at_risk: int) -> None:
    """Outcomes only (a social impact bond): no core payment; the form's flows pay."""


#: How each payment basis settles a quarter's core payment. Every basis of
#: :data:`commissioning.contracts.schema.PaymentBasis` must be here, and in the stress
#: model's :data:`commissioning.contracts.stress.BASIS_STRESS`.
BASIS_SETTLEMENT: dict[str, Callable[[_Builder, int, int], None]] = {
    "block": _core_capitated,
    "capitation": _core_capitated,
    "activity": _core_activity,
    "year_of_care": _core_year_of_care,
    "episode": _core_episode,
    "outcomes_only": _core_outcomes_only,
}


def _core(b: _Builder, budget: int, at_risk: int) -> None:
    basis = b.contract.year_rules(b.inputs.year).basis
    settle_core = BASIS_SETTLEMENT.get(basis)
    if settle_core is None:
        raise SettlementError(
            f"payment basis '{basis}' has no settlement rule — register it in "
            "settlement.settle.BASIS_SETTLEMENT"
        )
    settle_core(b, budget, at_risk)


def _outcomes(b: _Builder, at_risk: int) -> None:
    contract, inputs = b.contract, b.inputs
    measures = contract.outcomes.measures
    if at_risk == 0 or not measures:
        return
    missing = [
        m.indicator_id
        for m in measures
        if m.indicator_id not in inputs.indicator_values and m.indicator_id not in b.pending
    ]
    if missing:
        raise SettlementError(
            f"{len(missing)} indicator value(s) missing for {inputs.year}/Q{inputs.quarter}: "
            + ", ".join(missing)
            + " — supply them in indicator_values"
        )
    pot = instalment(at_risk, inputs.quarter)
    slices = allocate(pot, [m.weight for m in measures])
    recipients = provider_side(contract)
    if isinstance(contract.form, IntegratedPathwayHubForm):
        recipients = [(contract.form.hub, Decimal(1))]
    for measure, slice_pence in zip(measures, slices, strict=True):
        if measure.indicator_id not in inputs.indicator_values:
            continue  # awaiting certification: nothing is due on it yet
        value = inputs.indicator_values[measure.indicator_id]
        attained = attainment(measure, value)
        fraction = payout_fraction(measure.curve, attained)
        earned = multiply_pence(slice_pence, fraction)
        facts: dict[str, object] = {
            "indicator": measure.indicator_id,
            "value": value,
            "baseline": measure.baseline,
            "target": measure.target,
            "attainment": attained,
            "payout_fraction": fraction,
            "measure_pot_pence": slice_pence,
            "unearned_pence": slice_pence - earned,
        }
        b.split(
            "outcome_payment",
            measure.indicator_id,
            contract.commissioner.id,
            recipients,
            earned,
            f"Outcome payment: {measure.name}",
            facts,
        )


def _form_flows(b: _Builder, history: Sequence[SettlementLine]) -> None:
    contract, inputs = b.contract, b.inputs
    form = contract.form
    q = inputs.quarter
    if isinstance(form, PrimeProviderForm):
        for sub in form.subcontracts:
            annual = to_pence(sub.annual_value_gbp)
            b.add(
                "subcontract",
                sub.party,
                form.prime,
                sub.party,
                instalment(annual, q),
                f"Subcontract instalment: {sub.services}",
                {"annual_value_pence": annual, "instalment": f"{q} of 4"},
            )
    if isinstance(form, SocialImpactBondForm):
        capital = to_pence(form.capital_gbp)
        if inputs.year == 1 and q == 1:
            b.add(
                "sib_capital",
                "",
                form.investor,
                form.provider,
                capital,
                "Social investment capital",
                {"capital_pence": capital},
            )
        with localcontext(MONEY_CONTEXT):
            ceiling = to_pence(form.capital_gbp * (1 + form.max_return_on_capital))
        paid = sum(
            ln.amount_pence
            for ln in history
            if ln.kind == "sib_outcome_payment"
            and ln.contract_id == contract.id
            and ln.period_index < period_index(inputs.year, q)
        )
        unknown = sorted(set(inputs.sib_outcome_counts) - set(form.outcome_prices_gbp))
        if unknown:
            raise SettlementError(
                f"no outcome price for {', '.join(unknown)} — add it to form.outcome_prices_gbp"
            )
        # Under the cap, outcomes are paid in the order the contract lists their prices.
        for outcome in form.outcome_prices_gbp:
            if outcome not in inputs.sib_outcome_counts:
                continue
            count = inputs.sib_outcome_counts[outcome]
            price = to_pence(form.outcome_prices_gbp[outcome])
            due = count * price
            amount = max(0, min(due, ceiling - paid))
            b.add(
                "sib_outcome_payment",
                outcome,
                contract.commissioner.id,
                form.investor,
                amount,
                f"Outcome payment: {count} × {outcome}",
                {
                    "count": count,
                    "price_pence": price,
                    "due_pence": due,
                    "paid_before_pence": paid,
                    "ceiling_pence": ceiling,
                },
            )
            paid += amount


def _adjustments(b: _Builder) -> None:
    known = {p.id for p in b.contract.parties}
    for adj in b.inputs.adjustments:
        for who in (adj.payer, adj.payee):
            if who not in known:
                raise SettlementError(f"adjustment {adj.reference}: '{who}' is not a party")
        b.add(
            "adjustment",
            adj.reference,
            adj.payer,
            adj.payee,
            to_pence(adj.amount_gbp),
            adj.description,
            {"reference": adj.reference, "amount_gbp": adj.amount_gbp},
        )


@dataclass(frozen=True)
class YearEndFacts:
    """What the year-end reconciliation of one contract year needs, all in pence.

    ``budget_pence`` and ``value_at_risk_pence`` are the year's (pro-rated over the versions
    in force), for the corridors; ``core_paid_pence`` and ``outcome_paid_pence`` what the
    commissioner paid in the year's quarters as core payments and as outcome payments, the
    quarters settled up to date with the versions in force (so the core needs no true-up);
    ``outturn_pence`` the certified cost of the year.
    """

    budget_pence: int
    value_at_risk_pence: int
    core_paid_pence: int
    outcome_paid_pence: int
    outturn_pence: int
    corrections_pence: int = 0

    @property
    def amount_paid_pence(self) -> int:
        """What the provider side was paid for the year, with the corrections agreed on its
        lines (``corrections_pence``, net to the provider)."""
        return self.core_paid_pence + self.outcome_paid_pence + self.corrections_pence

    @property
    def outcome_payout(self) -> Decimal:
        """Share of the value at risk earned through outcome payments (1 with none at risk)."""
        if self.value_at_risk_pence == 0:
            return Decimal(1)
        return Decimal(self.outcome_paid_pence) / Decimal(self.value_at_risk_pence)


CORE_KINDS = frozenset({"capitation", "block_instalment", "coordinator_fee", "provider_contract"})


def _year_end(b: _Builder, facts: YearEndFacts) -> None:
    """The risk or gain share and a joint venture's flows."""
    contract, year = b.contract, b.inputs.year
    rules = contract.year_rules(year)
    commissioner = contract.commissioner.id
    recipients = provider_side(contract)
    if rules.risk_share is None:
        return
    rs = rules.risk_share
    core = facts.core_paid_pence
    basis = facts.amount_paid_pence if rs.variance_basis == "amount_paid" else core
    quality_met = rs.quality_gate is None or facts.outcome_payout >= rs.quality_gate
    split = split_variance(
        basis, facts.outturn_pence, rs, budget_pence=facts.budget_pence, quality_met=quality_met
    )
    details: dict[str, object] = {
        "annual_budget_pence": facts.budget_pence,
        "value_at_risk_pence": facts.value_at_risk_pence,
        "outcome_paid_pence": facts.outcome_paid_pence,
        "corrections_pence": facts.corrections_pence,
        "variance_basis": rs.variance_basis,
        "basis_pence": basis,
        "outturn_pence": facts.outturn_pence,
        "direction": split.direction,
        "variance_pence": split.variance_pence,
        "provider_part_pence": split.provider_pence,
        "commissioner_part_pence": split.commissioner_pence,
        "capped": split.capped,
        "below_minimum_rate": split.below_minimum_rate,
        "quality_gate_met": quality_met,
    }
    if split.direction == "underspend":
        b.split(
            "gain_share",
            "",
            None,
            recipients,
            split.commissioner_pence,
            "Year-end gain share returned to the commissioner",
            details,
        )
    elif split.direction == "overspend":
        b.split(
            "risk_share",
            "",
            commissioner,
            recipients,
            split.commissioner_pence,
            "Year-end risk share: commissioner's part of the overspend",
            details,
        )
    form = contract.form
    if isinstance(form, JointVentureForm) and split.provider_pence:
        partners = [
            (p.id, p.share or Decimal(0)) for p in contract.parties_with_role("venture_partner")
        ]
        parts = allocate(split.provider_pence, [s for _, s in partners])
        for (partner, share), part in zip(partners, parts, strict=True):
            detail = {**details, "equity_share": share}
            if split.direction == "underspend":
                b.add(
                    "jv_distribution",
                    "",
                    form.vehicle,
                    partner,
                    part,
                    "Distribution of the venture's retained gain",
                    detail,
                )
            else:
                b.add(
                    "jv_contribution",
                    "",
                    partner,
                    form.vehicle,
                    part,
                    "Partner's contribution to the venture's loss",
                    detail,
                )


def year_end_lines(
    contract: Contract, year: int, facts: YearEndFacts, inputs_digest: str = ""
) -> list[SettlementLine]:
    """The lines of contract year ``year``'s year-end (period ``Y{year}YE``).

    Settled after quarter 4, once the outturn is certified (and, in contract operations,
    once the year's quarters are settled up to date with the versions in force): the
    risk or gain share on the variance between what was at stake and the outturn (see
    :class:`commissioning.contracts.schema.RiskShare`), and a joint venture's
    distribution to (or call on) its partners.
    """
    if year > contract.duration_years:
        raise SettlementError(
            f"year {year} is after the contract ends (it runs {contract.duration_years} years)"
        )
    b = _Builder(
        contract,
        PeriodInputs(year=year, quarter=4),
        quarter=YEAR_END,
        digest=inputs_digest or sha256_hex(canonical(facts.__dict__)),
    )
    _year_end(b, facts)
    return b.lines


def _legacy_year_end(
    b: _Builder, budget: int, at_risk: int, history: Sequence[SettlementLine]
) -> None:
    """Quarter 4 settled with the outturn in one call (the all-at-once calculation used by
    the stress and property tests): the year's outcome payments come from ``history`` and
    this period's lines."""
    inputs = b.inputs
    if inputs.outturn_cost_gbp is None or inputs.quarter != 4:
        return
    year_lines = [ln for ln in history if ln.year == inputs.year] + b.lines
    outcome = sum(ln.amount_pence for ln in year_lines if ln.kind == "outcome_payment")
    facts = YearEndFacts(
        budget_pence=budget,
        value_at_risk_pence=at_risk,
        core_paid_pence=budget - at_risk,
        outcome_paid_pence=outcome,
        outturn_pence=to_pence(inputs.outturn_cost_gbp),
    )
    _year_end(b, facts)


def settle_period(
    contract: Contract,
    inputs: PeriodInputs,
    history: Sequence[SettlementLine] = (),
    *,
    pending: Iterable[str] = (),
) -> list[SettlementLine]:
    """Settle one quarter: every line the contract pays for ``inputs``.

    ``history`` holds the lines of earlier periods (a social impact bond's return cap and
    the all-at-once year-end read it). ``pending`` names outcome measures whose value is
    not yet certified: they pay nothing yet (and are never taken at their baseline); any
    other measure without a value is an error. The result is deterministic: the same
    contract, inputs and history give identical lines with identical ids.
    """
    if inputs.year > contract.duration_years:
        raise SettlementError(
            f"year {inputs.year} is after the contract ends (it runs {contract.duration_years} "
            "years)"
        )
    b = _Builder(contract, inputs)
    b.pending = frozenset(pending)
    budget = annual_budget_pence(contract, inputs.year)
    at_risk = value_at_risk_pence(contract, inputs.year)
    _core(b, budget, at_risk)
    _outcomes(b, at_risk)
    _form_flows(b, history)
    _adjustments(b)
    _legacy_year_end(b, budget, at_risk, history)
    return b.lines


def settle_periods(contract: Contract, periods: Iterable[PeriodInputs]) -> list[SettlementLine]:
    """Settle quarters in order, passing each the lines of those before it."""
    lines: list[SettlementLine] = []
    for inputs in sorted(periods, key=lambda p: (p.year, p.quarter)):
        lines.extend(settle_period(contract, inputs, lines))
    return lines


def net_by_party(lines: Iterable[SettlementLine]) -> dict[str, int]:
    """Net pence received by each party (received minus paid); the values add up to 0."""
    net: dict[str, int] = {}
    for line in lines:
        net[line.payee] = net.get(line.payee, 0) + line.amount_pence
        net[line.payer] = net.get(line.payer, 0) - line.amount_pence
    return net
