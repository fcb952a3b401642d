"""Test data of the agenda: listed technicians, dossiers, appointments at Paris times."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

from comptoir.agenda import services
from comptoir.agenda.models import Appointment
from comptoir.core.models import Membership
from comptoir.dossiers import services as dossier_services
from comptoir.dossiers.models import Dossier
from tests.conftest import Persona

COLOURS = {
    "admin": "#1f3a5f",
    "backoffice": "#6c757d",
    "tech_all": "#2e9afe",
    "tech_own": "#ffd43b",
    "tech_station": "#e8590c",
    "blocked": "#7048e8",
}


def paris(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_current_timezone())


def tomorrow() -> date:
    return timezone.localdate() + timedelta(days=1)


def listed(*members: Membership) -> None:
    """Tick "listed on the calendar" (and give the persona's colour)."""
    for member in members:
        key = member.user.login.split("-")[0]
        Membership.objects.filter(pk=member.pk).update(
            listed_on_calendar=True, agenda_color=COLOURS.get(key, "#2e9afe")
        )
        member.refresh_from_db()


def list_everyone(people: dict[str, Persona]) -> None:
    listed(*(people[key].member for key in COLOURS if key in people))


def a_dossier(
    people: dict[str, Persona], technician: Membership | None = None, **fields: Any
) -> Dossier:
    admin = people["admin"]
    values: dict[str, Any] = {
        "property_street": "12 rue Esquermoise",
        "property_postcode": "59000",
        "property_city": "Lille",
    }
    values.update(fields)
    if technician is not None:
        values["technician"] = technician
    return dossier_services.create_dossier(
        admin.member,
        dossier_services.DossierInput(values, ["dpe", "amiante"]),
        actor=admin.user,
    )


def book(
    people: dict[str, Persona],
    technician: Membership,
    start: datetime,
    minutes: int = 60,
    *,
    dossier: Dossier | None = None,
    by: Persona | None = None,
    **fields: Any,
) -> Appointment:
    """An appointment made by the administrator (or `by`), overlaps allowed."""
    who = by or people["admin"]
    return services.create_appointment(
        who.member,
        services.AppointmentInput(
            starts_at=start,
            ends_at=start.astimezone(UTC) + timedelta(minutes=minutes),  # elapsed, not wall time
            technician=technician,
            dossier=dossier,
            **fields,
        ),
        actor=who.user,
        confirm_overlap=True,
    )
