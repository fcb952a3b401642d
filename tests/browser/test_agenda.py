"""The agenda in a real browser: the week view shows each technician's appointments in
their colour, passes axe, and an appointment dragged to another hour is saved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from comptoir.agenda.geocoding import address_key
from comptoir.agenda.models import Appointment, GeocodedAddress
from comptoir.dossiers.models import Dossier
from tests.agenda.factories import a_dossier, book, list_everyone, paris
from tests.browser.conftest import RESULTS, axe_violations, describe
from tests.conftest import make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_week_view_then_drag_an_appointment(page, log_in_as):
    people = make_org("acme", "Acme Diagnostics")
    list_everyone(people)
    day = timezone.localdate() + timedelta(days=1)
    dossier = a_dossier(people, people["tech_all"].member)
    moving = book(people, people["tech_all"].member, paris(day, 10), 60, dossier=dossier)
    book(people, people["tech_own"].member, paris(day, 14), 90, title="Visite de chantier")
    log_in_as(page, people["admin"].user)

    page.goto(f"/o/acme/agenda/?date={day.isoformat()}")
    events = page.locator("#agenda-calendar .fc-timegrid-event")
    events.first.wait_for()
    assert events.count() == 2
    mine = page.locator(f'#agenda-calendar a.fc-event[href$="/rdv/{moving.public_id}/"]')
    assert dossier.number in mine.inner_text()
    assert "10:00" in mine.inner_text()
    colour = mine.evaluate("element => getComputedStyle(element).backgroundColor")
    assert colour == "rgb(46, 154, 254)"  # tech_all's agenda colour, #2e9afe
    assert not (violations := axe_violations(page)), describe(violations)

    # Drag it two hours later, in the same day's column.
    box = mine.bounding_box()
    assert box is not None
    noon = page.locator('#agenda-calendar td.fc-timegrid-slot-lane[data-time="12:00:00"]')
    target = noon.bounding_box()
    assert target is not None
    start_x, start_y = box["x"] + box["width"] / 2, box["y"] + 6
    with page.expect_response(lambda response: response.url.endswith("/move")) as answer:
        page.mouse.move(start_x, start_y)
        page.mouse.down()
        page.mouse.move(start_x, start_y + 10, steps=5)
        page.mouse.move(start_x, target["y"] + 6, steps=20)
        page.mouse.up()
    assert answer.value.status == 200, answer.value.text()

    moving.refresh_from_db()
    assert (moving.starts_at, moving.ends_at, moving.version) == (
        paris(day, 12),
        paris(day, 13),
        2,
    )
    assert Dossier.objects.get(pk=dossier.pk).appointment_at == paris(day, 12)
    page.reload()
    page.locator(f'#agenda-calendar a.fc-event[href$="/rdv/{moving.public_id}/"]').wait_for()
    assert (
        "12:00"
        in page.locator(
            f'#agenda-calendar a.fc-event[href$="/rdv/{moving.public_id}/"]'
        ).inner_text()
    )
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS / "agenda.png"), full_page=True)

    # The month and list views read the same events.
    page.locator(".fc-dayGridMonth-button").click()
    page.locator("#agenda-calendar .fc-daygrid-event").first.wait_for()
    assert page.locator("#agenda-calendar .fc-daygrid-event").count() == 2
    page.locator(".fc-listWeek-button").click()
    page.locator("#agenda-calendar .fc-list-event").first.wait_for()
    assert page.locator("#agenda-calendar .fc-list-event").count() == 2
    assert not (violations := axe_violations(page)), describe(violations)


def test_a_stale_move_is_refused_and_the_agenda_shows_the_current_time(page, log_in_as):
    people = make_org("acme", "Acme Diagnostics")
    list_everyone(people)
    day = timezone.localdate() + timedelta(days=1)
    made = book(people, people["tech_all"].member, paris(day, 9), 60, title="Relevé")
    log_in_as(page, people["backoffice"].user)
    page.goto(f"/o/acme/agenda/?date={day.isoformat()}&view=timeGridDay")
    page.locator("#agenda-calendar .fc-timegrid-event").first.wait_for()
    # Someone else moves it meanwhile; this page still holds version 1.
    Appointment.objects.filter(pk=made.pk).update(
        version=2, starts_at=paris(day, 15), ends_at=paris(day, 16)
    )
    answer = page.evaluate(
        "([id, start, end]) => window.comptoirAgenda.move(id, start, end)",
        [str(made.public_id), f"{day.isoformat()}T11:00:00", f"{day.isoformat()}T12:00:00"],
    )
    assert answer["status"] == 409
    assert answer["data"]["code"] == "stale_version"
    made.refresh_from_db()
    assert made.starts_at == paris(day, 15)
    page.locator("#agenda-calendar .fc-timegrid-event", has_text="15:00").wait_for()


def test_the_days_map_numbers_the_stops_in_order(page, log_in_as):
    people = make_org("acme", "Acme Diagnostics")
    list_everyone(people)
    day = timezone.localdate() + timedelta(days=1)
    tech = people["tech_all"].member
    for hour, street, (lat, lon) in (
        (14, "3 rue de la Monnaie", (50.6413, 3.0637)),
        (9, "12 rue Esquermoise", (50.6386, 3.0614)),
    ):
        book(people, tech, paris(day, hour), dossier=a_dossier(people, property_street=street))
        GeocodedAddress.objects.create(
            key=address_key(f"{street}, 59000 Lille"), outcome="found", latitude=lat, longitude=lon
        )
    log_in_as(page, people["admin"].user)
    page.goto(f"/o/acme/agenda/carte/?date={day.isoformat()}&technician={tech.public_id}")
    markers = page.locator("#agenda-map .leaflet-marker-icon")
    markers.first.wait_for()
    assert markers.count() == 2
    assert page.locator("#agenda-map .agenda-stop").all_inner_texts() == ["1", "2"]
    assert page.locator("#agenda-map path.leaflet-interactive").count() == 1  # the route line
    assert markers.first.get_attribute("title") == "1. 12 rue Esquermoise, 59000 Lille"
    assert not (violations := axe_violations(page)), describe(violations)
