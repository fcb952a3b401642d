"""Reading the agenda: who may see which appointments, and what an appointment shows.

`visible` is the one way to list appointments for a member (organisation in the
query, only their own for the roles whose calendar grant is scoped to it);
`get_appointment_for` turns a public id into an appointment, with the same 404
for "missing" and "not yours".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.agenda.models import Appointment
from comptoir.core.access import by_public_id, scoped
from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource, Scope
from comptoir.dossiers.models import Mission


def with_details(queryset: QuerySet[Appointment]) -> QuerySet[Appointment]:
    """Everything an appointment shows, in a fixed number of queries."""
    missions = Mission.objects.select_related("mission_type").order_by("pk")
    return queryset.select_related(
        "organization",
        "technician",
        "dossier",
        "dossier__ordering_party",
        "dossier__owner",
    ).prefetch_related(Prefetch("dossier__missions", queryset=missions))


def live(queryset: QuerySet[Appointment]) -> QuerySet[Appointment]:
    """Leave out the appointments of deleted dossiers."""
    return queryset.filter(Q(dossier__isnull=True) | Q(dossier__deleted_at__isnull=True))


def visible(member: Membership, action: Action = Action.VIEW) -> QuerySet[Appointment]:
    """The appointments the member may act on (Forbidden without the calendar right)."""
    return live(
        scoped(
            Appointment.objects.all(), member, Resource.CALENDAR, action, owner_field="technician"
        )
    )


def get_appointment_for(
    member: Membership, public_id: str | UUID, action: Action = Action.VIEW
) -> Appointment:
    return by_public_id(with_details(visible(member, action)), public_id)


def between(queryset: QuerySet[Appointment], start: datetime, end: datetime) -> QuerySet:
    """Appointments that overlap [start, end)."""
    return queryset.filter(starts_at__lt=end, ends_at__gt=start)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Midnight to midnight in Paris (23 or 25 hours on a daylight-saving day)."""
    zone = timezone.get_current_timezone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def calendar_technicians(member: Membership) -> list[Membership]:
    """Whose agendas the member sees: every member listed on the calendar, or only theirs."""
    if member.scope_for(Resource.CALENDAR) is Scope.OWN:
        return [member]
    return list(
        Membership.objects.filter(
            organization=member.organization, listed_on_calendar=True, is_blocked=False
        ).order_by("display_name", "pk")
    )


def text_colour(background: str) -> str:
    """Black or white, whichever reads better on `background` (WCAG contrast)."""
    try:
        red, green, blue = (int(background[i : i + 2], 16) / 255 for i in (1, 3, 5))
    except (ValueError, IndexError):
        return "#000000"

    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)
    on_white = 1.05 / (luminance + 0.05)
    on_black = (luminance + 0.05) / 0.05
    return "#000000" if on_black >= on_white else "#ffffff"


@dataclass(frozen=True)
class Contact:
    role: str
    name: str
    phone: str
    email: str


def missions_of(appointment: Appointment) -> list[str]:
    if appointment.dossier is None:
        return []
    return [str(mission.mission_type) for mission in appointment.dossier.missions.all()]


def contacts_of(appointment: Appointment) -> list[Contact]:
    dossier = appointment.dossier
    if dossier is None:
        return []
    found = []
    for role, contact in (
        (_("Ordering party"), dossier.ordering_party),
        (_("Owner"), dossier.owner),
    ):
        if contact is not None:
            found.append(Contact(str(role), contact.display_name, contact.phone, contact.email))
    return found


def summary_text(title: str, number: str | None, missions: list[str]) -> str:
    """The line an agenda shows: the title, or the dossier's number and missions ("" if none)."""
    if title:
        return title
    if number is not None:
        return f"{number} · {', '.join(missions)}" if missions else number
    return ""


def summary_of(appointment: Appointment) -> str:
    dossier = appointment.dossier
    number = dossier.number if dossier is not None else None
    return summary_text(appointment.title, number, missions_of(appointment)) or _("Appointment")


def technician_out(member: Membership) -> dict[str, Any]:
    return {
        "id": member.public_id,
        "name": member.display_name,
        "initials": member.initials,
        "color": member.agenda_color,
        "text_color": text_colour(member.agenda_color),
    }
