"""How to call each agenda route, for tests/core/test_routes.py (role matrix × personas)."""

from __future__ import annotations

from comptoir.core.models import Membership
from tests.agenda.factories import book, listed, paris, tomorrow
from tests.conftest import Persona
from tests.core.test_routes import API, Builder, page


def assignee(people: dict[str, Persona], me: Persona) -> Membership:
    """The persona asking when they belong to "acme" (own-agenda roles reach only their own
    appointments), else the own-agenda technician; listed on the calendar either way."""
    mine = me.org == people["admin"].org and not me.member.is_blocked
    member = me.member if mine else people["tech_own"].member
    listed(member)
    return member


def an_appointment(people: dict[str, Persona], me: Persona) -> str:
    return str(book(people, assignee(people, me), paris(tomorrow(), 10)).public_id)


def new_appointment_form(people: dict[str, Persona], me: Persona) -> dict[str, str]:
    return {
        "technician": str(assignee(people, me).public_id),
        "day": tomorrow().isoformat(),
        "start": "14:00",
        "end": "15:30",
        "title": "Visite préalable",
        "dossier": "",
    }


def new_appointment_api(people: dict[str, Persona], me: Persona) -> dict[str, str]:
    assignee(people, me)
    return {
        "start": f"{tomorrow().isoformat()}T14:00:00",
        "end": f"{tomorrow().isoformat()}T15:30:00",
        "title": "Visite préalable",
    }


def events_of_tomorrow(people: dict[str, Persona], me: Persona) -> dict[str, str]:
    an_appointment(people, me)
    day = tomorrow().isoformat()
    return {"start": f"{day}T00:00:00", "end": f"{day}T23:59:00"}


ROUTES: dict[str, Builder] = {
    "agenda": lambda people, me: ("GET", page("agenda:calendar"), None),
    "agenda-appointment-add": lambda people, me: (
        "POST",
        page("agenda:appointment-add"),
        new_appointment_form(people, me),
    ),
    "agenda-appointment": lambda people, me: (
        "GET",
        page("agenda:appointment", appointment_id=an_appointment(people, me)),
        None,
    ),
    "agenda-appointment-cancel": lambda people, me: (
        "POST",
        page("agenda:appointment-cancel", appointment_id=an_appointment(people, me)),
        None,
    ),
    "agenda-map": lambda people, me: (
        "GET",
        page("agenda:map"),
        {"date": tomorrow().isoformat(), "technician": str(assignee(people, me).public_id)},
    ),
    "agenda-feed": lambda people, me: ("GET", page("agenda:feed"), None),
    "agenda-feed-regenerate": lambda people, me: ("POST", page("agenda:feed-regenerate"), None),
    "agenda-feed-revoke": lambda people, me: ("POST", page("agenda:feed-revoke"), None),
    "agenda-feed-options": lambda people, me: (
        "POST",
        page("agenda:feed-options"),
        {"private": "on"},
    ),
    "agenda-settings": lambda people, me: (
        "POST",
        page("agenda:settings"),
        {"digest_enabled": "on", "digest_time": "19:15", "default_duration": "90"},
    ),
    "api-agenda-events": lambda people, me: (
        "GET",
        f"{API}/agenda/events",
        events_of_tomorrow(people, me),
    ),
    "api-appointment-add": lambda people, me: (
        "POST",
        f"{API}/agenda/appointments",
        new_appointment_api(people, me),
    ),
    "api-appointment": lambda people, me: (
        "GET",
        f"{API}/agenda/appointments/{an_appointment(people, me)}",
        None,
    ),
    "api-appointment-move": lambda people, me: (
        "POST",
        f"{API}/agenda/appointments/{an_appointment(people, me)}/move",
        {
            "start": f"{tomorrow().isoformat()}T16:00:00+01:00",
            "end": f"{tomorrow().isoformat()}T17:00:00+01:00",
            "version": 1,
        },
    ),
    "api-appointment-cancel": lambda people, me: (
        "POST",
        f"{API}/agenda/appointments/{an_appointment(people, me)}/cancel",
        {"version": 1},
    ),
}
