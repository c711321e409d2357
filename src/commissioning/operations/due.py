"""What is due for a period, and what is still to post: pure calculation over the signed
versions, the certified values and the lines already posted.

For a quarter, each signed version in force pays its lines
(:func:`commissioning.settlement.settle.settle_period`) for the share of the quarter's
days it was in force (a mid-quarter variation is pro-rated by day, each part rounded once,
half to even). Measures measured **year to date** pay, in quarter ``k``, the outcome
payments due on the year-to-date value for quarters 1..k less those due at quarter
``k - 1`` — so a late improvement is caught up and a fall is clawed back. Measures
measured **annually** pay nothing in quarters 1-3 and the whole year's outcome payments in
quarter 4, on the year's certified value.

For a year-end, :func:`commissioning.settlement.settle.year_end_lines` on the version in
force at the year's end, with the budget and value at risk pro-rated by day over the
versions of the year.

:func:`deltas` compares what is due with what is already posted for the same period,
line by line (kind, key and the two parties, in either direction), and returns only the
differences: so settling a period again after a new version, a restated value or a
corrected outturn posts adjusting entries, never the period a second time. Corrections
agreed on a dispute stand on their own and are not undone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from commissioning.contracts.schema import Contract
from commissioning.operations.calendar import Period, VersionShare
from commissioning.settlement.lines import (
    PeriodInputs,
    SettlementLine,
    canonical,
    make_line_id,
    sha256_hex,
)
from commissioning.settlement.money import multiply_pence
from commissioning.settlement.settle import (
    CORE_KINDS,
    YearEndFacts,
    annual_budget_pence,
    settle_period,
    value_at_risk_pence,
    year_end_lines,
)

LineKey = tuple[str, str, str, str]  # kind, key, party a, party b (a < b)


@dataclass(frozen=True)
class Due:
    """What a period owes: the lines, the measures still awaiting certification and a
    description of the versions and values it was computed from."""

    lines: list[SettlementLine]
    awaiting: list[str]
    basis: dict[str, object]


def _like(
    template: SettlementLine,
    year: int,
    quarter: int,
    payer: str,
    payee: str,
    amount_pence: int,
    description: str,
    inputs: tuple[tuple[str, str], ...],
) -> SettlementLine:
    """A line of the same kind, key, contract and provenance as ``template``, with its own
    period, parties, amount, description and inputs (and the id those make)."""
    t = template
    return replace(
        t,
        line_id=make_line_id(t.contract_hash, year, quarter, t.kind, t.key, payer, payee),
        year=year,
        quarter=quarter,
        payer=payer,
        payee=payee,
        amount_pence=amount_pence,
        description=description,
        inputs=inputs,
    )


def _inputs(
    contract: Contract, year: int, quarter: int, values: dict[tuple[str, str], Decimal]
) -> tuple[PeriodInputs, list[str]]:
    def of(kind: str) -> dict[str, Decimal]:
        return {k: v for (kd, k), v in values.items() if kd == kind}

    ids = [m.indicator_id for m in contract.outcomes.measures]
    indicator = {k: v for k, v in of("indicator").items() if k in ids}
    awaiting = [i for i in ids if i not in indicator]
    inputs = PeriodInputs(
        year=year,
        quarter=quarter,
        indicator_values=indicator,
        activity_counts={k: int(v) for k, v in of("activity").items()},
        people_by_band={k: int(v) for k, v in of("people_band").items()},
        episodes=int(of("episodes").get("", 0)),
        sib_outcome_counts={k: int(v) for k, v in of("sib_outcome").items()},
    )
    return inputs, awaiting


def _key(line: SettlementLine) -> tuple[LineKey, int]:
    """The line's key and its amount signed in the key's direction (a pays b)."""
    a, b = sorted((line.payer, line.payee))
    sign = 1 if line.payer == a else -1
    return (line.kind, line.key, a, b), sign * line.amount_pence


def net_by_key(lines: Iterable[SettlementLine]) -> dict[LineKey, int]:
    """Signed totals per (kind, key, parties); corrections are left out."""
    out: dict[LineKey, int] = {}
    for line in lines:
        if line.kind == "correction":
            continue
        key, signed = _key(line)
        out[key] = out.get(key, 0) + signed
    return out


def _scaled_lines(
    share: VersionShare, lines: list[SettlementLine]
) -> list[tuple[SettlementLine, int]]:
    if share.days == share.period_days:
        return [(ln, ln.amount_pence) for ln in lines]
    fraction = Decimal(share.days) / Decimal(share.period_days)
    return [(ln, multiply_pence(ln.amount_pence, fraction)) for ln in lines]


def _quarter_lines(
    share: VersionShare,
    year: int,
    quarter: int,
    values: dict[tuple[str, str], Decimal],
    history: Sequence[SettlementLine],
    *,
    with_outcomes: bool,
) -> tuple[list[SettlementLine], list[str]]:
    """One version's lines for its share of the quarter (outcome payments left out when
    they are computed to date across the versions, :func:`_outcomes_to_date`)."""
    contract = share.contract
    inputs, awaiting = _inputs(contract, year, quarter, values)
    lines = settle_period(contract, inputs, history, pending=awaiting)
    if not with_outcomes:
        lines = [ln for ln in lines if ln.kind != "outcome_payment"]
    return lines, awaiting


def _outcomes_to_date(
    shares_by_quarter: Sequence[Sequence[VersionShare]],
    year: int,
    upto: int,
    values: dict[tuple[str, str], Decimal],
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], SettlementLine], list[str]]:
    """Outcome payments due for quarters 1..``upto`` on one value measured to date: each
    quarter's pot under the versions in force in that quarter (by day), at the value's
    attainment. Returns the totals by (measure, payee), a template line of each and the
    measures awaiting certification."""
    totals: dict[tuple[str, str], int] = {}
    templates: dict[tuple[str, str], SettlementLine] = {}
    awaiting: set[str] = set()
    for q in range(1, upto + 1):
        for share in shares_by_quarter[q - 1]:
            inputs, waiting = _inputs(share.contract, year, q, values)
            awaiting.update(waiting)
            lines = [
                ln
                for ln in settle_period(share.contract, inputs, pending=waiting)
                if ln.kind == "outcome_payment"
            ]
            for line, amount in _scaled_lines(share, lines):
                key = (line.key, line.payee)
                totals[key] = totals.get(key, 0) + amount
                templates[key] = line
    return totals, templates, sorted(awaiting)


def _outcome_lines_to_date(
    shares_by_quarter: Sequence[Sequence[VersionShare]],
    year: int,
    quarter: int,
    values_by_quarter: dict[int, dict[tuple[str, str], Decimal]],
    history: Sequence[SettlementLine],
    measurement: str,
) -> tuple[list[SettlementLine], list[str]]:
    """The quarter's outcome lines when outcomes are measured to date or annually.

    Year to date: what is due for quarters 1..k on the year-to-date value, less what the
    year's earlier quarters actually posted for each measure. Annual: nothing before
    quarter 4; at quarter 4, the year's outcome payments on the year's value."""
    if measurement == "annual" and quarter < 4:
        return [], []
    totals, templates, awaiting = _outcomes_to_date(
        shares_by_quarter, year, quarter, values_by_quarter.get(quarter, {})
    )
    paid_before: dict[tuple[str, str], int] = {}
    for ln in history:
        if ln.kind == "outcome_payment" and ln.year == year and ln.quarter < quarter:
            key = (ln.key, ln.payee)
            if key in templates:  # paid to the provider side
                paid_before[key] = paid_before.get(key, 0) + ln.amount_pence
            else:  # a claw-back, from the provider side
                back = (ln.key, ln.payer)
                paid_before[back] = paid_before.get(back, 0) - ln.amount_pence
    lines = []
    label = "the year, on its annual value" if measurement == "annual" else "year to date"
    for key, amount in totals.items():
        if key[0] in awaiting:
            continue
        change = amount - paid_before.get(key, 0)
        if change == 0:
            continue
        t = templates[key]
        payer, payee = (t.payer, t.payee) if change > 0 else (t.payee, t.payer)
        lines.append(
            _like(
                t,
                year,
                quarter,
                payer,
                payee,
                abs(change),
                f"{t.description} ({label})",
                (
                    *t.inputs,
                    ("due_to_date_pence", str(amount)),
                    ("paid_in_earlier_quarters_pence", str(paid_before.get(key, 0))),
                ),
            )
        )
    return lines, awaiting


def _merge(
    parts: list[tuple[VersionShare, list[SettlementLine]]], year: int, quarter: int
) -> list[SettlementLine]:
    if len(parts) == 1 and parts[0][0].days == parts[0][0].period_days:
        return parts[0][1]
    amounts: dict[LineKey, int] = {}
    templates: dict[LineKey, SettlementLine] = {}
    sources: dict[LineKey, list[str]] = {}
    for share, lines in parts:
        for line, amount in _scaled_lines(share, lines):
            key, sign = _key(line)
            amounts[key] = amounts.get(key, 0) + (amount if sign > 0 else -amount)
            templates[key] = line
            sources.setdefault(key, []).append(
                f"{share.content_hash[:12]} {share.days}/{share.period_days} days"
            )
    merged = []
    for key, amount in amounts.items():
        if amount == 0:
            continue
        t = templates[key]
        _, _, a, b = key
        payer, payee = (a, b) if amount > 0 else (b, a)
        merged.append(
            _like(
                t,
                year,
                quarter,
                payer,
                payee,
                abs(amount),
                f"{t.description} (pro-rated by day over the versions in force)",
                (*t.inputs, ("versions", "; ".join(sources[key]))),
            )
        )
    return merged


def quarter_due(
    shares_by_quarter: Sequence[Sequence[VersionShare]],
    year: int,
    quarter: int,
    values_by_quarter: dict[int, dict[tuple[str, str], Decimal]],
    history: Sequence[SettlementLine],
) -> Due:
    """What quarter ``(year, quarter)`` owes under the versions in force in each of the
    year's quarters (``shares_by_quarter``, quarters 1-4)."""
    shares = shares_by_quarter[quarter - 1]
    measurement = shares[-1].contract.outcomes.measurement
    per_period = measurement == "period"
    values = values_by_quarter.get(quarter, {})
    parts = []
    awaiting: set[str] = set()
    for share in shares:
        lines, waiting = _quarter_lines(
            share, year, quarter, values, history, with_outcomes=per_period
        )
        parts.append((share, lines))
        if per_period:
            awaiting.update(waiting)
    merged = _merge(parts, year, quarter)
    if not per_period:
        outcome_lines, waiting = _outcome_lines_to_date(
            shares_by_quarter, year, quarter, values_by_quarter, history, measurement
        )
        merged += outcome_lines
        awaiting.update(waiting)
    basis: dict[str, object] = {
        "versions": [
            f"{s.contract.version} {s.content_hash} {s.days}/{s.period_days}" for s in shares
        ],
        "measurement": measurement,
        "values": {f"{k}:{key}": str(v) for (k, key), v in values.items()},
    }
    return Due(merged, sorted(awaiting), basis)


def year_weights(
    shares_by_quarter: Sequence[Sequence[VersionShare]],
) -> list[tuple[VersionShare, Decimal]]:
    """Each version's share of the year: the share of the year's four instalments it was in
    force for, each quarter pro-rated by day — so a variation from a quarter's first day
    counts whole quarters, as the instalments do."""
    weights: dict[str, Decimal] = {}
    first: dict[str, VersionShare] = {}
    for shares in shares_by_quarter:
        for s in shares:
            first.setdefault(s.content_hash, s)
            weights[s.content_hash] = (
                weights.get(s.content_hash, Decimal(0))
                + Decimal(s.days) / Decimal(s.period_days) / 4
            )
    return [(first[h], w) for h, w in weights.items()]


def year_end_due(
    shares_by_quarter: Sequence[Sequence[VersionShare]],
    year: int,
    posted_year: Sequence[SettlementLine],
    outturn_pence: int,
    corrections: Sequence[SettlementLine] = (),
) -> Due:
    """What year ``year``'s year-end owes: the risk or gain share by the version in force
    at the year's end, on the budget and value at risk pro-rated over the versions of the
    year (:func:`year_weights`, for the corridors) and on what the year's quarters paid
    (``posted_year``, settled up to date with the versions in force) plus the
    ``corrections`` agreed on the year's lines, wherever they posted."""
    weights = year_weights(shares_by_quarter)
    budget = sum(multiply_pence(annual_budget_pence(s.contract, year), w) for s, w in weights)
    at_risk = sum(multiply_pence(value_at_risk_pence(s.contract, year), w) for s, w in weights)
    latest = shares_by_quarter[-1][-1].contract
    commissioner = latest.commissioner.id
    core_paid = sum(
        ln.amount_pence if ln.payer == commissioner else -ln.amount_pence
        for ln in posted_year
        if ln.kind in CORE_KINDS and commissioner in (ln.payer, ln.payee)
    )
    outcome_paid = sum(
        ln.amount_pence if ln.payer == commissioner else -ln.amount_pence
        for ln in posted_year
        if ln.kind == "outcome_payment"
    )
    # Corrections agreed on disputes stand as agreed; they are part of what was paid.
    corrected = sum(
        ln.amount_pence if ln.payer == commissioner else -ln.amount_pence
        for ln in corrections
        if commissioner in (ln.payer, ln.payee)
    )
    facts = YearEndFacts(
        budget_pence=budget,
        value_at_risk_pence=at_risk,
        core_paid_pence=core_paid,
        outcome_paid_pence=outcome_paid,
        outturn_pence=outturn_pence,
        corrections_pence=corrected,
    )
    digest = sha256_hex(canonical([facts.__dict__, [[s.content_hash, str(w)] for s, w in weights]]))
    lines = year_end_lines(latest, year, facts, digest)
    basis: dict[str, object] = {
        "versions": [
            f"{s.contract.version} {s.content_hash} {w:.6f} of the year" for s, w in weights
        ],
        "facts": {k: str(v) for k, v in facts.__dict__.items()},
    }
    return Due(lines, [], basis)


def deltas(
    due: Sequence[SettlementLine],
    posted: Sequence[SettlementLine],
    run_tag: str,
    when: Period,
) -> list[SettlementLine]:
    """The lines still to post: what is due less what is posted, per line key.

    A key posted for the first time keeps the due line's description and provenance; a
    change to a posted key is an adjusting entry that names the amount due, the amount
    posted and the contract versions behind both."""
    due_net = net_by_key(due)
    posted_net = net_by_key(posted)
    templates = {_key(ln)[0]: ln for ln in [*posted, *due] if ln.kind != "correction"}
    posted_hashes: dict[LineKey, set[str]] = {}
    for ln in posted:
        posted_hashes.setdefault(_key(ln)[0], set()).add(ln.contract_hash)
    out = []
    for key in sorted(set(due_net) | set(posted_net)):
        change = due_net.get(key, 0) - posted_net.get(key, 0)
        if change == 0:
            continue
        kind, k, a, b = key
        payer, payee = (a, b) if change > 0 else (b, a)
        t = templates[key]
        first = key not in posted_net
        inputs = (
            t.inputs
            if first
            else (
                *t.inputs,
                ("due_pence", str(due_net.get(key, 0))),
                ("posted_pence", str(posted_net.get(key, 0))),
                ("posted_under_versions", ", ".join(sorted(posted_hashes.get(key, set())))),
                ("due_under_version", t.contract_hash),
            )
        )
        description = t.description if first else f"Adjustment: {t.description}"
        line = _like(t, when.year, when.quarter, payer, payee, abs(change), description, inputs)
        out.append(
            replace(
                line,
                line_id=make_line_id(run_tag, when.year, when.quarter, kind, k, payer, payee),
            )
        )
    return out
