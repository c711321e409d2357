"""One registry of payment forms and bases, and the check that every consumer handles each.

The form types are the members of :data:`commissioning.contracts.forms.ContractForm` (their
``type`` tags); the payment bases are :data:`commissioning.contracts.schema.PaymentBasis`.
From them:

* the schema (the discriminated union and :data:`~commissioning.contracts.forms.ALLOWED_BASES`),
* settlement (:data:`commissioning.settlement.settle.PROVIDER_SIDE` per form and
  :data:`~commissioning.settlement.settle.BASIS_SETTLEMENT` per basis),
* the stress model (:data:`commissioning.contracts.stress.BASIS_STRESS` per basis) and
* the error messages of the loader (the tags it strips from field paths)

must agree. :func:`registry_problems` lists every disagreement; ``contract check`` reports
them as problems, so a form or basis that one consumer does not handle fails loudly when
a contract using it is checked — never by paying nothing.
"""

from __future__ import annotations

from typing import get_args

from commissioning.contracts.forms import ALLOWED_BASES, ContractForm
from commissioning.contracts.schema import PaymentBasis


def form_types() -> list[str]:
    """The ``type`` tag of every form in the schema's union."""
    union = get_args(ContractForm)[0]
    return [get_args(m.model_fields["type"].annotation)[0] for m in get_args(union)]


def payment_bases() -> list[str]:
    """Every payment basis a contract year may name."""
    return list(get_args(PaymentBasis))


def registry_problems() -> list[str]:
    """Every form or basis some consumer does not handle (empty when all agree)."""
    from commissioning.contracts.load import _UNION_TAGS
    from commissioning.contracts.stress import BASIS_STRESS
    from commissioning.settlement.settle import BASIS_SETTLEMENT, PROVIDER_SIDE

    problems = []
    bases = set(payment_bases())
    for basis in sorted(bases):
        if basis not in BASIS_SETTLEMENT:
            problems.append(f"basis '{basis}' has no settlement rule (BASIS_SETTLEMENT)")
        if basis not in BASIS_STRESS:
            problems.append(f"basis '{basis}' has no stress model (BASIS_STRESS)")
    for kind in form_types():
        if kind not in ALLOWED_BASES:
            problems.append(f"form '{kind}' has no allowed bases (ALLOWED_BASES)")
        elif not ALLOWED_BASES[kind] <= bases:
            extra = sorted(ALLOWED_BASES[kind] - bases)
            problems.append(f"form '{kind}' allows unknown bases {extra}")
        if kind not in PROVIDER_SIDE:
            problems.append(f"form '{kind}' has no provider-side rule (PROVIDER_SIDE)")
        if kind not in _UNION_TAGS:
            problems.append(f"form '{kind}' is unknown to the loader's messages (_UNION_TAGS)")
    for kind in sorted(set(ALLOWED_BASES) - set(form_types())):
        problems.append(f"ALLOWED_BASES names '{kind}', which is not a form of the schema")
    return problems
