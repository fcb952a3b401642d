"""The agenda API: exact JSON, periods, scope, 409 answers, bad input, nothing written."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from comptoir.agenda.models import Appointment
from comptoir.contacts.services import create_contact
from tests.agenda.factories import a_dossier, book, paris, tomorrow
from tests.conftest import nothing_changes
from tests.helpers import assert_outsider_gets_404, fr

API = "/api/v1/orgs/acme/agenda"


def day_query(day=None, **extra):
    day = (day or tomorrow()).isoformat()
    return {"start": f"{day}T00:00:00", "end": f"{day}T23:59:59", **extra}


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def test_events_show_dossier_address_missions_and_contacts(team):
    admin, tech = team["admin"], team["tech_all"]
    agency = create_contact(
        admin.org,
        actor=None,
        kind="company",
        company_name="Agence du Beffroi",
        phone="03 20 00 00 01",
        email="contact@beffroi.example",
    )
    dossier = a_dossier(team, ordering_party=agency)
    made = book(team, tech.member, paris(tomorrow(), 9, 30), 90, dossier=dossier, notes="Clés")

    response = admin.api().get(f"{API}/events", day_query())

    assert response.status_code == 200
    assert response.json() == [
        {
            "id": str(made.public_id),
            "version": 1,
            "status": "planned",
            "start": paris(tomorrow(), 9, 30).isoformat(),
            "end": paris(tomorrow(), 11).isoformat(),
            "summary": f"{dossier.number} · DPE, Amiante",
            "title": "",
            "notes": "Clés",
            "technician": {
                "id": str(tech.member.public_id),
                "name": tech.member.display_name,
                "initials": tech.member.initials,
                "color": "#2e9afe",
                "text_color": "#000000",
            },
            "dossier": {
                "id": str(dossier.public_id),
                "number": dossier.number,
                "status": "scheduled",
            },
            "address": "12 rue Esquermoise, 59000 Lille",
            "missions": ["DPE", "Amiante"],
            "contacts": [
                {
                    "role": fr("Ordering party"),
                    "name": "Agence du Beffroi",
                    "phone": "03 20 00 00 01",
                    "email": "contact@beffroi.example",
                }
            ],
            "url": f"/o/acme/agenda/rdv/{made.public_id}/",
        }
    ]


def test_events_of_a_period_and_of_chosen_technicians(team):
    admin, all_, own = team["admin"], team["tech_all"], team["tech_own"]
    a = book(team, all_.member, paris(tomorrow(), 9))
    b = book(team, own.member, paris(tomorrow(), 23, 30), 60)  # runs past midnight
    book(team, own.member, paris(tomorrow() + timedelta(days=2), 9))
    cancelled = book(team, all_.member, paris(tomorrow(), 14))
    Appointment.objects.filter(pk=cancelled.pk).update(status="cancelled")

    def ids(**params):
        response = admin.api().get(f"{API}/events", day_query(**params))
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()]

    assert ids() == [str(a.public_id), str(b.public_id)]
    assert ids(technician=str(own.member.public_id)) == [str(b.public_id)]
    assert ids(include_cancelled="true") == [
        str(a.public_id),
        str(cancelled.public_id),
        str(b.public_id),
    ]
    next_day = admin.api().get(f"{API}/events", day_query(tomorrow() + timedelta(days=1)))
    assert [item["id"] for item in next_day.json()] == [str(b.public_id)]


def test_own_agenda_roles_see_only_their_appointments(team):
    all_, own = team["tech_all"], team["tech_own"]
    mine = book(team, own.member, paris(tomorrow(), 9))
    theirs = book(team, all_.member, paris(tomorrow(), 9))
    for person, expected in ((own, mine), (all_, theirs)):
        response = person.api().get(f"{API}/events", day_query())
        assert [item["id"] for item in response.json()] == [str(expected.public_id)]
    # another's appointment is "not found", like a missing one
    hidden = own.api().get(f"{API}/appointments/{theirs.public_id}")
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "not_found"
    with nothing_changes():
        moved = post(
            own.api(),
            f"{API}/appointments/{theirs.public_id}/move",
            {"start": f"{tomorrow()}T15:00:00", "end": f"{tomorrow()}T16:00:00", "version": 1},
        )
    assert moved.status_code == 404


def test_events_query_is_checked(team):
    admin = team["admin"]
    day = tomorrow().isoformat()
    cases = [
        ({"start": f"{day}T10:00:00", "end": f"{day}T09:00:00"}, 400, "invalid"),
        ({"start": "2026-01-01T00:00:00", "end": "2026-06-01T00:00:00"}, 400, "invalid"),
        ({"start": "demain", "end": f"{day}T09:00:00"}, 422, "invalid_input"),
        ({"start": f"{day}T10:00:00"}, 422, "invalid_input"),
        ({**day_query(), "technician": "not-a-uuid"}, 422, "invalid_input"),
    ]
    for params, status, code in cases:
        response = admin.api().get(f"{API}/events", params)
        assert (response.status_code, response.json()["code"]) == (status, code), params


def test_create_reads_naive_times_as_paris_and_answers_the_appointment(team):
    admin, tech = team["admin"], team["tech_all"]
    dossier = a_dossier(team)
    response = post(
        admin.api(),
        f"{API}/appointments",
        {
            "start": f"{tomorrow()}T08:00:00",
            "end": f"{tomorrow()}T07:30:00Z",  # an offset is honoured: 08:30 or 09:30 in Paris
            "technician": str(tech.member.public_id),
            "dossier": str(dossier.public_id),
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    made = Appointment.objects.get()
    assert body["id"] == str(made.public_id)
    assert made.starts_at == paris(tomorrow(), 8)
    assert body["start"] == paris(tomorrow(), 8).isoformat()
    assert made.ends_at.isoformat().startswith(f"{tomorrow()}T07:30:00")
    assert (body["dossier"]["number"], body["technician"]["id"]) == (
        dossier.number,
        str(tech.member.public_id),
    )
    again = admin.api().get(f"{API}/appointments/{made.public_id}")
    assert again.json() == body


def test_double_booking_answers_409_then_books_when_confirmed(team):
    admin, tech = team["admin"], team["tech_all"]
    first = book(team, tech.member, paris(tomorrow(), 10))
    body = {
        "start": f"{tomorrow()}T10:30:00",
        "end": f"{tomorrow()}T11:30:00",
        "technician": str(tech.member.public_id),
    }
    with nothing_changes():
        refused = post(admin.api(), f"{API}/appointments", body)
    assert refused.status_code == 409
    answer = refused.json()
    assert answer["code"] == "double_booking"
    assert [item["id"] for item in answer["details"]["overlaps"]] == [str(first.public_id)]
    booked = post(admin.api(), f"{API}/appointments", {**body, "confirm_overlap": True})
    assert booked.status_code == 201


def test_move_with_the_right_version_then_a_stale_one(team):
    admin, office, tech = team["admin"], team["backoffice"], team["tech_all"]
    made = book(team, tech.member, paris(tomorrow(), 10))
    url = f"{API}/appointments/{made.public_id}/move"
    moved = post(
        admin.api(),
        url,
        {"start": f"{tomorrow()}T14:00:00", "end": f"{tomorrow()}T15:30:00", "version": 1},
    )
    assert moved.status_code == 200, moved.content
    assert (moved.json()["version"], moved.json()["start"]) == (
        2,
        paris(tomorrow(), 14).isoformat(),
    )
    with nothing_changes():
        stale = post(
            office.api(),
            url,
            {"start": f"{tomorrow()}T08:00:00", "end": f"{tomorrow()}T09:00:00", "version": 1},
        )
    assert stale.status_code == 409
    assert stale.json()["code"] == "stale_version"
    assert stale.json()["details"]["version"] == 2
    assert stale.json()["message"] == fr(
        "Someone else changed this appointment in the meantime (now %(when)s, %(who)s): "
        "the agenda shows it as it is now."
    ) % {"when": f"{tomorrow():%d/%m/%Y} 14:00", "who": tech.member.display_name}


def test_hand_over_to_another_technician(team):
    admin, all_, own = team["admin"], team["tech_all"], team["tech_own"]
    made = book(team, all_.member, paris(tomorrow(), 10))
    response = post(
        admin.api(),
        f"{API}/appointments/{made.public_id}/move",
        {
            "start": f"{tomorrow()}T10:00:00",
            "end": f"{tomorrow()}T11:00:00",
            "version": 1,
            "technician": str(own.member.public_id),
        },
    )
    assert response.status_code == 200
    assert response.json()["technician"]["id"] == str(own.member.public_id)


def test_cancel_then_moving_or_cancelling_again_is_a_conflict(team):
    admin, tech = team["admin"], team["tech_all"]
    made = book(team, tech.member, paris(tomorrow(), 10))
    cancelled = post(admin.api(), f"{API}/appointments/{made.public_id}/cancel", {})
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["version"]) == ("cancelled", 2)
    with nothing_changes():
        again = post(admin.api(), f"{API}/appointments/{made.public_id}/cancel", {"version": 2})
        moved = post(
            admin.api(),
            f"{API}/appointments/{made.public_id}/move",
            {"start": f"{tomorrow()}T12:00:00", "end": f"{tomorrow()}T13:00:00", "version": 2},
        )
    assert (again.status_code, again.json()["code"]) == (409, "appointment_cancelled")
    assert (moved.status_code, moved.json()["code"]) == (409, "appointment_cancelled")


def test_bad_bodies_are_refused_and_write_nothing(team):
    admin, tech = team["admin"], team["tech_all"]
    made = book(team, tech.member, paris(tomorrow(), 10))
    day = tomorrow().isoformat()
    cases = [
        (f"{API}/appointments", {"start": f"{day}T10:00:00"}, 422),
        (f"{API}/appointments", {"start": f"{day}T10:00:00", "end": f"{day}T09:00:00"}, 400),
        (
            f"{API}/appointments",
            {"start": f"{day}T10:00", "end": f"{day}T11:00", "title": "x" * 201},
            422,
        ),
        (
            f"{API}/appointments",
            {"start": f"{day}T10:00", "end": f"{day}T11:00", "confirm_overlap": 1},
            422,
        ),
        (
            f"{API}/appointments",
            {
                "start": f"{day}T10:00",
                "end": f"{day}T11:00",
                "dossier": "00000000-0000-0000-0000-000000000000",
            },
            404,
        ),
        (
            f"{API}/appointments/{made.public_id}/move",
            {"start": f"{day}T10:00", "end": f"{day}T11:00", "version": 0},
            422,
        ),
        (
            f"{API}/appointments/{made.public_id}/move",
            {"start": f"{day}T10:00", "end": f"{day}T11:00", "version": 2**63},
            422,
        ),
        (
            f"{API}/appointments/{made.public_id}/move",
            {"start": "9999-12-31T23:59:59-23:59", "end": "9999-12-31T23:59:59", "version": 1},
            400,
        ),
        (f"{API}/appointments/{made.public_id}/move", [None], 422),
    ]
    for url, body, status in cases:
        with nothing_changes():
            response = post(admin.api(), url, body)
        assert response.status_code == status, (body, response.content)
        assert set(response.json()) == {"code", "message", "details"}


def test_outsider_gets_404(team):
    made = book(team, team["tech_all"].member, paris(tomorrow(), 10))
    outsider = team["outsider"].api()
    assert_outsider_gets_404(outsider, "GET", f"{API}/events", day_query())
    assert_outsider_gets_404(outsider, "GET", f"{API}/appointments/{made.public_id}")
    assert_outsider_gets_404(
        outsider,
        "POST",
        f"{API}/appointments/{made.public_id}/move",
        {"start": f"{tomorrow()}T15:00:00", "end": f"{tomorrow()}T16:00:00", "version": 1},
    )
    assert_outsider_gets_404(outsider, "POST", f"{API}/appointments/{made.public_id}/cancel", {})


def test_events_take_a_fixed_number_of_queries(team):
    admin = team["admin"]

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = admin.api().get(f"{API}/events", day_query())
        assert response.status_code == 200
        return len(captured)

    dossier = a_dossier(team)
    book(team, team["tech_all"].member, paris(tomorrow(), 8), dossier=dossier)
    queries()  # the token's "last used" is written once a minute
    one = queries()
    for hour in range(9, 19):
        book(team, team["tech_own"].member, paris(tomorrow(), hour), dossier=a_dossier(team))
    assert queries() == one == 3  # token, membership, appointments (+ missions prefetch)
