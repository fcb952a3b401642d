"""What the field app reads: today's and tomorrow's appointments, a technician's dossiers.

Everything goes through the agenda's and the dossiers' scoped querysets
(`agenda.selectors.visible`, `dossiers.listing.base_queryset`): an own-agenda
role sees only its appointments, an own-dossier role only its dossiers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.agenda import geocoding
from comptoir.agenda.models import Appointment
from comptoir.agenda.selectors import (
    day_bounds,
    missions_of,
    summary_of,
    visible,
    with_details,
)
from comptoir.contacts.models import Contact
from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource
from comptoir.dossiers import listing
from comptoir.dossiers.lifecycle import Status
from comptoir.dossiers.models import Dossier
from comptoir.field.directions import Directions, for_addresses

DOSSIERS_SHOWN = 30


@dataclass(frozen=True)
class Stop:
    """One appointment as the field home shows it (times in Europe/Paris)."""

    appointment: Appointment
    start: datetime
    end: datetime
    summary: str
    missions: list[str]
    address: str
    directions: Directions | None


@dataclass
class Day:
    day: date
    label: str
    stops: list[Stop] = field(default_factory=list)


def appointments_of(
    member: Membership, technician: Membership, start: datetime, end: datetime
) -> QuerySet[Appointment]:
    """The technician's planned appointments overlapping [start, end), as the member may see
    them (an own-agenda role asking for someone else gets none)."""
    return (
        with_details(visible(member))
        .filter(
            technician=technician,
            status=Appointment.Status.PLANNED,
            starts_at__lt=end,
            ends_at__gt=start,
        )
        .order_by("starts_at", "pk")
    )


def two_days(member: Membership, technician: Membership, today: date | None = None) -> list[Day]:
    """Today and tomorrow (Paris days), each with its appointments in order."""
    today = today or timezone.localdate()
    days = [Day(today, _("Today")), Day(today + timedelta(days=1), _("Tomorrow"))]
    bounds = [day_bounds(day.day) for day in days]
    rows = list(appointments_of(member, technician, bounds[0][0], bounds[-1][1]))
    lookup = for_addresses(row.place for row in rows)
    # looked up in the background (as the day map does): the next visit has coordinates
    geocoding.look_up_later(lookup.missing)
    for day, (start, end) in zip(days, bounds, strict=True):
        for row in rows:
            if row.starts_at < end and row.ends_at > start:
                day.stops.append(
                    Stop(
                        appointment=row,
                        start=timezone.localtime(row.starts_at),
                        end=timezone.localtime(row.ends_at),
                        summary=summary_of(row),
                        missions=missions_of(row),
                        address=row.place,
                        directions=lookup.directions.get(row.place),
                    )
                )
    return days


def upcoming_for(member: Membership, dossier: Dossier) -> list[Appointment]:
    """The dossier's planned appointments not over yet, those the member may see."""
    if not member.can(Resource.CALENDAR, Action.VIEW):
        return []
    return list(
        visible(member)
        .filter(dossier=dossier, status=Appointment.Status.PLANNED, ends_at__gt=timezone.now())
        .select_related("technician")
        .order_by("starts_at", "pk")[:5]
    )


@dataclass(frozen=True)
class DossierContact:
    role: str
    contact: Contact


def contacts_of(dossier: Dossier) -> list[DossierContact]:
    """The ordering party and the owner, as the dossier's page shows them."""
    parties = ((_("Ordering party"), dossier.ordering_party), (_("Owner"), dossier.owner))
    return [DossierContact(str(role), contact) for role, contact in parties if contact is not None]


def dossiers_for(member: Membership, text: str) -> QuerySet[Dossier]:
    """A search among the dossiers the member may see; without words, the dossiers assigned
    to the member that are not archived, newest first."""
    queryset = listing.base_queryset(member)
    if text.strip():
        queryset = listing.search(queryset, text)
    else:
        queryset = queryset.filter(technician=member).exclude(status=Status.ARCHIVED)
    return listing.with_related(queryset).order_by("-year", "-sequence")[:DOSSIERS_SHOWN]
