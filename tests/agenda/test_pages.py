"""Agenda pages: the calendar, a new appointment (from a dossier, with the double-booking
warning), an appointment, the day's map, the subscription page, the settings."""

from __future__ import annotations

import json
import re

from comptoir.agenda import feeds
from comptoir.agenda.models import AgendaSettings, Appointment, CalendarFeed
from comptoir.contacts.services import create_contact
from comptoir.core.models import Membership
from tests.agenda.factories import a_dossier, book, paris, tomorrow
from tests.conftest import nothing_changes
from tests.helpers import shows

BASE = "/o/acme/agenda"


def config_of(response) -> dict:
    found = re.search(
        r'<script id="agenda-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert found
    return json.loads(found.group(1))


def test_the_calendar_lists_the_technicians_on_the_calendar_in_their_colours(people, team):
    Membership.objects.filter(pk=people["backoffice"].member.pk).update(listed_on_calendar=False)
    response = team["admin"].client().get(f"{BASE}/")
    assert response.status_code == 200
    page = response.content.decode()
    for key in ("admin", "tech_all", "tech_own", "tech_station"):
        assert f'value="{people[key].member.public_id}"' in page, key
    assert str(people["backoffice"].member.public_id) not in page, "not listed"
    assert str(people["blocked"].member.public_id) not in page, "blocked"
    assert "background: #2e9afe" in page
    config = config_of(response)
    assert config["eventsUrl"] == "/api/v1/orgs/acme/agenda/events"
    assert (config["canAdd"], config["canChange"], config["initialView"]) == (
        True,
        True,
        "timeGridWeek",
    )
    assert "comptoir/vendor/fullcalendar/fullcalendar.global.min.js" in page


def test_an_own_agenda_technician_sees_no_one_else(team):
    response = team["tech_own"].client().get(f"{BASE}/?date=2026-03-30&view=timeGridDay")
    page = response.content.decode()
    assert 'name="technician"' not in page
    assert config_of(response)["initialDate"] == "2026-03-30"


def test_make_an_appointment_from_a_dossier(team):
    admin, tech = team["admin"], team["tech_all"]
    dossier = a_dossier(team)
    detail = admin.client().get(f"/o/acme/dossiers/{dossier.public_id}/")
    link = f"{BASE}/nouveau/?dossier={dossier.public_id}"
    assert link in detail.content.decode()

    form = admin.client().get(link)
    assert form.status_code == 200
    assert f'<option value="{dossier.public_id}" selected>' in form.content.decode()
    response = admin.client().post(
        link,
        {
            "dossier": str(dossier.public_id),
            "technician": str(tech.member.public_id),
            "day": tomorrow().isoformat(),
            "start": "09:00",
            "end": "10:30",
            "notes": "Clés chez le gardien",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}/?date={tomorrow().isoformat()}"
    made = Appointment.objects.get()
    assert (made.dossier_id, made.technician_id, made.starts_at, made.ends_at) == (
        dossier.pk,
        tech.member.pk,
        paris(tomorrow(), 9),
        paris(tomorrow(), 10, 30),
    )
    dossier.refresh_from_db()
    assert dossier.appointment_at == paris(tomorrow(), 9)


def test_the_form_is_prefilled_from_the_agenda_selection(team):
    tech = team["tech_all"]
    response = (
        team["admin"]
        .client()
        .get(
            f"{BASE}/nouveau/",
            {
                "start": f"{tomorrow()}T14:30:00",
                "end": f"{tomorrow()}T16:00:00",
                "technician": str(tech.member.public_id),
            },
        )
    )
    page = response.content.decode()
    assert f'name="day" value="{tomorrow().isoformat()}"' in page
    assert 'name="start" value="14:30"' in page
    assert 'name="end" value="16:00"' in page
    assert f'<option value="{tech.member.public_id}" selected>' in page


def test_double_booking_warns_then_books_when_confirmed(team):
    admin, tech = team["admin"], team["tech_all"]
    book(team, tech.member, paris(tomorrow(), 9), 60, title="Déjà pris")
    form = {
        "technician": str(tech.member.public_id),
        "day": tomorrow().isoformat(),
        "start": "09:30",
        "end": "10:30",
        "title": "Second",
    }
    with nothing_changes():
        warned = admin.client().post(f"{BASE}/nouveau/", form)
    assert warned.status_code == 200
    page = warned.content.decode()
    assert "alert-warning" in page and 'name="confirm_overlap"' in page
    assert f"{tomorrow():%d/%m} 09:00–10:00" in page
    booked = admin.client().post(f"{BASE}/nouveau/", {**form, "confirm_overlap": "on"})
    assert booked.status_code == 302
    assert Appointment.objects.count() == 2


def test_bad_form_input_is_refused_with_the_field(team):
    with nothing_changes():
        response = (
            team["admin"]
            .client()
            .post(
                f"{BASE}/nouveau/",
                {
                    "technician": str(team["tech_all"].member.public_id),
                    "day": tomorrow().isoformat(),
                    "start": "10:00",
                    "end": "09:00",
                },
            )
        )
    assert response.status_code == 200
    assert shows(response, "The end must come after the start.")
    with nothing_changes():
        foreign = (
            team["admin"]
            .client()
            .post(
                f"{BASE}/nouveau/",
                {
                    "technician": str(team["outsider"].member.public_id),
                    "day": tomorrow().isoformat(),
                    "start": "10:00",
                    "end": "11:00",
                },
            )
        )
    assert foreign.status_code == 200, "not a choice"


def test_an_appointment_shows_its_dossier_address_missions_and_contacts(team):
    admin, tech = team["admin"], team["tech_all"]
    agency = create_contact(
        admin.org,
        actor=None,
        kind="company",
        company_name="Agence du Beffroi",
        phone="03 20 00 00 01",
    )
    dossier = a_dossier(team, ordering_party=agency)
    made = book(team, tech.member, paris(tomorrow(), 9), 90, dossier=dossier, notes="Code 4521")
    response = tech.client().get(f"{BASE}/rdv/{made.public_id}/")
    page = response.content.decode()
    for text in (
        dossier.number,
        "12 rue Esquermoise, 59000 Lille",
        "DPE",
        "Amiante",
        "Agence du Beffroi",
        'href="tel:0320000001"',
        "Code 4521",
        "09:00–10:30",
    ):
        assert text in page, text
    assert f"/o/acme/dossiers/{dossier.public_id}/" in page


def test_cancel_from_the_page(team):
    made = book(team, team["tech_own"].member, paris(tomorrow(), 9))
    response = team["tech_own"].client().post(f"{BASE}/rdv/{made.public_id}/annuler/")
    assert response.status_code == 302
    made.refresh_from_db()
    assert made.status == "cancelled"
    again = team["tech_own"].client().post(f"{BASE}/rdv/{made.public_id}/annuler/", follow=True)
    assert shows(again, "This appointment has been cancelled.")


def test_the_days_map_orders_the_stops_and_locates_them_in_the_background(
    team, fake_ban, django_capture_on_commit_callbacks
):
    tech = team["tech_all"]
    second = a_dossier(team, property_street="3 rue de la Monnaie")
    first = a_dossier(team)
    unknown = a_dossier(team, property_street="99 rue Imaginaire")
    book(team, tech.member, paris(tomorrow(), 14), dossier=second)
    book(team, tech.member, paris(tomorrow(), 9), dossier=first)
    book(team, tech.member, paris(tomorrow(), 16), dossier=unknown)
    url = f"{BASE}/carte/?date={tomorrow().isoformat()}&technician={tech.member.public_id}"
    with django_capture_on_commit_callbacks(execute=True):
        waiting = team["admin"].client().get(url)
    assert shows(waiting, "The addresses are being located: reload the page in a moment.")
    assert len(fake_ban.queries) == 3

    shown = team["admin"].client().get(url)
    stops = json.loads(
        re.search(
            r'<script id="agenda-stops" type="application/json">(.*?)</script>',
            shown.content.decode(),
            re.S,
        ).group(1)
    )
    assert [(stop["number"], stop["start"], stop["lat"], stop["lon"]) for stop in stops] == [
        (1, "09:00", 50.6386, 3.0614),
        (2, "14:00", 50.6413, 3.0637),
    ]
    assert shows(shown, "not located")
    assert len(fake_ban.queries) == 3, "nothing asked twice"


def test_the_subscription_page_gives_regenerates_and_switches_off_the_address(team):
    tech = team["tech_all"]
    client = tech.client()
    assert "<svg" not in client.get(f"{BASE}/abonnement/").content.decode()
    assert client.post(f"{BASE}/abonnement/nouvelle-adresse/").status_code == 302
    feed = CalendarFeed.objects.get(membership=tech.member)
    page = client.get(f"{BASE}/abonnement/").content.decode()
    assert feeds.url_for(feed) in page and feeds.webcal_url(feed) in page and "<svg" in page
    client.post(f"{BASE}/abonnement/options/", {"private": "on"})
    feed.refresh_from_db()
    assert feed.private is True
    client.post(f"{BASE}/abonnement/nouvelle-adresse/")
    changed = CalendarFeed.objects.get(pk=feed.pk)
    assert feeds.url_for(changed) != feeds.url_for(feed)
    client.post(f"{BASE}/abonnement/desactiver/")
    assert CalendarFeed.objects.get(pk=feed.pk).revoked_at is not None
    assert feeds.url_for(changed) not in client.get(f"{BASE}/abonnement/").content.decode()


def test_the_settings_tab(team):
    admin = team["admin"]
    page = admin.client().get("/o/acme/parametres/agenda/")
    assert page.status_code == 200
    assert 'value="18:00"' in page.content.decode()
    saved = admin.client().post(
        "/o/acme/parametres/agenda/",
        {"digest_enabled": "on", "digest_time": "19:45", "default_duration": "75"},
    )
    assert saved.status_code == 302
    row = AgendaSettings.objects.get(organization=admin.org)
    assert (row.digest_enabled, str(row.digest_time), row.default_duration) == (
        True,
        "19:45:00",
        75,
    )
    with nothing_changes():
        bad = admin.client().post(
            "/o/acme/parametres/agenda/",
            {"digest_time": "25:00", "default_duration": "1"},
        )
    assert bad.status_code == 200
