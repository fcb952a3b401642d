"""The role matrix: who may do what. Permissions are data, and this is the data.

It transcribes the seed's "tableau récapitulatif des profils utilisateurs"
(Liciel, Étape 4). Every other part of Comptoir asks `allows()` or
`Membership.can()`; `comptoir roles-doc` renders this table as docs/roles.md
and a test fails when the two disagree.

Reading of the seed table, cell by cell:

=================  ==========  ==========  ===========  ==============  ==========
row                Admin       BackOffice  Diag. (tous)  Diag. (siens)   sans web
=================  ==========  ==========  ===========  ==============  ==========
Prospects Contacts Complet     Complet     Complet       —               —
Dossiers           Complet +   Complet     Complet       ses dossiers    —
                   suppression
Calendrier         tous        tous        son agenda    son agenda      —
Compléments        Complet     justificatifs d'achats, frais km   —     —
Outils             Complet     —           —             —               —
=================  ==========  ==========  ===========  ==============  ==========

"Complet" on the Dossiers row excludes deletion, which the seed grants to the
administrator alone; on the other rows it is every action.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    BACKOFFICE = "backoffice", _("Back office")
    TECHNICIAN_ALL = "technician_all", _("Technician (all dossiers)")
    TECHNICIAN_OWN = "technician_own", _("Technician (own dossiers only)")
    TECHNICIAN_STATION = "technician_station", _("Technician (no web access)")


class Resource(StrEnum):
    """A row of the seed's table; Compléments is split into its two parts."""

    CONTACTS = "contacts"
    DOSSIERS = "dossiers"
    CALENDAR = "calendar"
    RECEIPTS = "receipts"
    MILEAGE = "mileage"
    SETTINGS = "settings"


class Action(StrEnum):
    VIEW = "view"
    ADD = "add"
    CHANGE = "change"
    DELETE = "delete"


class Scope(StrEnum):
    ALL = "all"  # every record of the organisation
    OWN = "own"  # only the records the member is assigned to


class Audience(StrEnum):
    INTERNAL = "internal"  # staff of the organisation
    EXTERNAL = "external"  # clients, accountants, interlocutors, key-figure viewers


RESOURCE_LABELS: dict[Resource, str] = {
    Resource.CONTACTS: "Prospects / Contacts",
    Resource.DOSSIERS: "Dossiers",
    Resource.CALENDAR: "Calendrier",
    Resource.RECEIPTS: "Compléments : justificatifs d'achats",
    Resource.MILEAGE: "Compléments : frais kilométriques",
    Resource.SETTINGS: "Outils (paramètres, utilisateurs, journal)",
}

EVERY_ACTION = frozenset(Action)
NO_DELETE = frozenset({Action.VIEW, Action.ADD, Action.CHANGE})


@dataclass(frozen=True)
class Grant:
    actions: frozenset[Action]
    scope: Scope = Scope.ALL


@dataclass(frozen=True)
class RoleSpec:
    """What a role is: who holds it, how they connect, and what they may do."""

    role: str
    audience: Audience
    web_access: bool
    station_access: bool
    grants: dict[Resource, Grant] = field(default_factory=dict)


FULL = Grant(EVERY_ACTION)
FULL_OWN = Grant(EVERY_ACTION, Scope.OWN)

ROLE_SPECS: dict[str, RoleSpec] = {
    Role.ADMIN: RoleSpec(
        Role.ADMIN,
        Audience.INTERNAL,
        web_access=True,
        station_access=True,
        grants={
            Resource.CONTACTS: FULL,
            Resource.DOSSIERS: FULL,
            Resource.CALENDAR: FULL,
            Resource.RECEIPTS: FULL,
            Resource.MILEAGE: FULL,
            Resource.SETTINGS: FULL,
        },
    ),
    Role.BACKOFFICE: RoleSpec(
        Role.BACKOFFICE,
        Audience.INTERNAL,
        web_access=True,
        station_access=True,
        grants={
            Resource.CONTACTS: FULL,
            Resource.DOSSIERS: Grant(NO_DELETE),
            Resource.CALENDAR: FULL,
            Resource.RECEIPTS: FULL,
            Resource.MILEAGE: FULL,
        },
    ),
    Role.TECHNICIAN_ALL: RoleSpec(
        Role.TECHNICIAN_ALL,
        Audience.INTERNAL,
        web_access=True,
        station_access=True,
        grants={
            Resource.CONTACTS: FULL,
            Resource.DOSSIERS: Grant(NO_DELETE),
            Resource.CALENDAR: FULL_OWN,
        },
    ),
    Role.TECHNICIAN_OWN: RoleSpec(
        Role.TECHNICIAN_OWN,
        Audience.INTERNAL,
        web_access=True,
        station_access=True,
        grants={
            Resource.DOSSIERS: Grant(NO_DELETE, Scope.OWN),
            Resource.CALENDAR: FULL_OWN,
        },
    ),
    Role.TECHNICIAN_STATION: RoleSpec(
        Role.TECHNICIAN_STATION,
        Audience.INTERNAL,
        web_access=False,
        station_access=True,
    ),
}


WEB_ROLES = frozenset(role for role, spec in ROLE_SPECS.items() if spec.web_access)
TECHNICIAN_ROLES = (Role.TECHNICIAN_ALL, Role.TECHNICIAN_OWN, Role.TECHNICIAN_STATION)


def spec_for(role: str) -> RoleSpec:
    return ROLE_SPECS[role]


def grant_for(role: str, resource: Resource) -> Grant | None:
    return ROLE_SPECS[role].grants.get(resource)


def allows(role: str, resource: Resource, action: Action, *, own: bool = True) -> bool:
    """May `role` perform `action` on a `resource` record?

    `own` says whether the record is assigned to the member asking; it only
    matters for grants scoped to the member's own records. For list pages,
    ask with own=True ("may they see any?") then filter with `Scope`.
    """
    grant = grant_for(role, resource)
    if grant is None or action not in grant.actions:
        return False
    return grant.scope is Scope.ALL or own


def may_assign(role: str) -> bool:
    """Roles an administrator can give from the members page."""
    return ROLE_SPECS[role].audience is Audience.INTERNAL
