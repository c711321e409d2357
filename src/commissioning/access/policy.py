"""Roles and what each may do: one table, read on every request.

A person belongs to one organisation and holds one role in it. Organisations are
commissioners (an ICB or a council) or providers. What a role may do is
:data:`PERMISSIONS`; *where* it may do it is decided by the organisation: a contract is
seen only by the organisations that hold one of its parties (``party_orgs``), a
population's analyses only by the commissioner whose places they cover, and users and the
access log only within the administrator's own organisation. The public (no sign-in) has
no role and sees only published pages.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Roles, with the name people see.
ROLES: dict[str, str] = {
    "analyst": "Commissioning analyst",
    "contract_manager": "Contract manager",
    "finance_approver": "Finance approver",
    "provider": "Provider",
    "data_manager": "Data manager",
    "admin": "Administrator",
}

#: Organisation kinds, with the roles their people may hold.
ORG_KINDS: dict[str, frozenset[str]] = {
    "icb": frozenset({"analyst", "contract_manager", "finance_approver", "data_manager", "admin"}),
    "council": frozenset(
        {"analyst", "contract_manager", "finance_approver", "data_manager", "admin"}
    ),
    "provider": frozenset({"provider", "data_manager", "admin"}),
}
COMMISSIONER_KINDS = frozenset({"icb", "council"})

#: What each role may do. A permission on a contract also needs the person's organisation
#: to hold a party of it (and, for the commissioner's actions, a commissioner party).
PERMISSIONS: dict[str, frozenset[str]] = {
    "view_contracts": frozenset({"contract_manager", "finance_approver", "provider"}),
    "view_statement": frozenset({"contract_manager", "finance_approver", "provider"}),
    "draft_run": frozenset({"contract_manager"}),
    "review_run": frozenset({"contract_manager", "finance_approver"}),
    "approve_run": frozenset({"finance_approver"}),
    "post_run": frozenset({"finance_approver"}),
    "certify_value": frozenset({"provider", "contract_manager"}),
    "raise_dispute": frozenset({"provider", "contract_manager", "finance_approver"}),
    "resolve_dispute": frozenset({"finance_approver"}),
    "register_version": frozenset({"contract_manager"}),
    "sign_version": frozenset({"contract_manager", "provider"}),
    "close_period": frozenset({"finance_approver"}),
    "view_analysis": frozenset({"analyst"}),
    "view_people": frozenset({"analyst"}),
    "manage_data": frozenset({"data_manager"}),
    "manage_users": frozenset({"admin"}),
    "view_audit": frozenset({"admin"}),
    "record_measures": frozenset({"analyst", "contract_manager"}),
}

#: Permissions that act for the commissioner of a contract (the organisation must hold a
#: commissioner party); the others act for whichever party the organisation holds.
COMMISSIONER_ACTIONS = frozenset(
    {
        "draft_run",
        "review_run",
        "approve_run",
        "post_run",
        "resolve_dispute",
        "register_version",
        "close_period",
    }
)


@dataclass(frozen=True)
class Principal:
    """A signed-in person (or a system acting with one person's token)."""

    user_id: int
    username: str
    display_name: str
    org_id: str
    org_name: str
    org_kind: str
    role: str
    places: tuple[str, ...] = ()

    @property
    def role_name(self) -> str:
        """The role as people say it."""
        return ROLES.get(self.role, self.role)

    @property
    def is_commissioner(self) -> bool:
        """True for people of an ICB or a council."""
        return self.org_kind in COMMISSIONER_KINDS

    def may(self, permission: str) -> bool:
        """True if the person's role carries ``permission`` (anywhere)."""
        return self.role in PERMISSIONS[permission]


def may_on_contract(
    who: Principal, permission: str, party_roles: dict[str, str], held: set[str]
) -> bool:
    """May ``who`` use ``permission`` on a contract whose parties have ``party_roles``
    (party id -> role in the contract), given the party ids ``held`` by their
    organisation?"""
    if not who.may(permission) or not held:
        return False
    if permission in COMMISSIONER_ACTIONS:
        return any(party_roles.get(p) == "commissioner" for p in held) and who.is_commissioner
    return True
