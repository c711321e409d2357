"""The demo's organisations, people and one live contract, for the workbench on synthetic
data (never on real data: every demo person has the same published password).

* Northvale ICB commissions the home place's population; its analyst, contract manager,
  finance reviewer and approver, data manager and administrator sign in with the
  password :data:`DEMO_PASSWORD`.
* Northvale council holds the pooled learning-disability budget (the commissioner party of
  that worked contract) and has its own contract manager: it does not see the ICB's
  contracts, and the ICB does not see the council's.
* Each provider party of the register is an organisation; a community trust's person signs
  in to certify values, read statements and raise disputes.
* Two live contracts are registered as their example files stand and signed by every
  party: the frail older people's alliance (the ICB's) and the substance-misuse contract
  (the council's). Their first quarter's values are submitted by the commissioner and
  await the providers' certification — the next step of each contract's life, waiting
  for the people who sign in.
"""

from __future__ import annotations

from decimal import Decimal

from commissioning.access.accounts import Accounts
from commissioning.contracts.load import example_text
from commissioning.operations import measurements, register, runs
from commissioning.operations.base import Operations

DEMO_PASSWORD = "synthetic-demo-only"
ICB, COUNCIL = "northvale-icb", "northvale-council"
#: The live contracts (example file -> contract id, commissioner organisation).
LIVE_CONTRACTS = {
    "frail_elderly_alliance": ("frail-elderly-alliance", ICB),
    "mk_substance_misuse": ("mk-substance-misuse", COUNCIL),
}
#: Contracts whose commissioner party is the council's; every other one is the ICB's.
COUNCIL_CONTRACTS = (
    "ld-prime-provider-worked",
    "mk-substance-misuse-worked",
    "mk-substance-misuse",
)

#: user name, name, organisation, role, delegated limit (finance approvers)
PEOPLE: tuple[tuple[str, str, str, str, int | None], ...] = (
    ("ann.analyst", "Ann Analyst", ICB, "analyst", None),
    ("cat.manager", "Cat Manager", ICB, "contract_manager", None),
    ("rob.reviewer", "Rob Reviewer", ICB, "finance_approver", 1_000_000),
    ("fay.finance", "Fay Finance", ICB, "finance_approver", 200_000_000),
    ("dan.data", "Dan Data", ICB, "data_manager", None),
    ("ada.admin", "Ada Admin", ICB, "admin", None),
    ("pat.provider", "Pat Provider", "community-trust", "provider", None),
    ("col.council", "Col Council", COUNCIL, "contract_manager", None),
    ("vic.council", "Vic Council", COUNCIL, "finance_approver", 50_000_000),
    ("rae.recovery", "Rae Recovery", "recovery-prime", "provider", None),
)


def build_demo_world(ops: Operations, accounts: Accounts, home_place: str) -> None:
    """Create the demo's organisations, people and live contract (once: a store that has
    them already is left as it is)."""
    if accounts.organisation(ICB) is not None:
        return
    setup = "Demo set-up"
    accounts.add_organisation(ICB, "Northvale Integrated Care Board", "icb", setup, [home_place])
    accounts.add_organisation(COUNCIL, "Northvale Council", "council", setup)
    for example, (_, org) in LIVE_CONTRACTS.items():
        manager = "Cat Manager" if org == ICB else "Col Council"
        register.register_version(ops, example_text(example), f"example: {example}", manager)
    for contract_id in register.contract_ids(ops):
        contract = register.find_version(ops, contract_id).contract
        for party in contract.parties:
            if party.role == "commissioner":
                org = COUNCIL if contract_id in COUNCIL_CONTRACTS else ICB
            else:
                org = party.id
                if accounts.organisation(org) is None:
                    accounts.add_organisation(org, party.name, "provider", setup)
            accounts.link_party(contract_id, party.id, org, setup)
    for username, name, org, role, limit in PEOPLE:
        accounts.add_user(username, name, org, role, setup, password=DEMO_PASSWORD)
        if limit is not None:
            runs.add_approver(ops, name, Decimal(limit), "Ada Admin")
    for contract_id, org in LIVE_CONTRACTS.values():
        live = register.find_version(ops, contract_id).contract
        manager = "Cat Manager" if org == ICB else "Col Council"
        for party in live.parties:
            signer = manager if party.role == "commissioner" else f"{party.name} (signatory)"
            register.sign(ops, contract_id, live.version, party.id, signer)
        for measure in live.outcomes.measures:
            measurements.submit(
                ops,
                contract_id,
                1,
                1,
                "indicator",
                measure.indicator_id,
                measure.baseline,
                "Ann Analyst" if org == ICB else "Col Council",
                source="demo: the baseline, as measured for the first quarter",
            )


def demo_sign_ins() -> tuple[tuple[str, str, str], ...]:
    """What the demo's front page lists: user name, role and organisation, password."""
    from commissioning.access.policy import ROLES

    return tuple(
        (username, f"{ROLES[role]}, {org}", DEMO_PASSWORD)
        for username, _name, org, role, _limit in PEOPLE
    )
