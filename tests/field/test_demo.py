"""The demo: Jean Durant finds appointments today and tomorrow in the field app."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from comptoir.agenda.models import Appointment
from comptoir.agenda.selectors import day_bounds
from comptoir.core.demo_registry import DemoContext
from comptoir.field import demo
from tests.agenda.factories import a_dossier, book, list_everyone, paris


def planned_on(member, day) -> int:
    start, end = day_bounds(day)
    return Appointment.objects.filter(
        technician=member, status="planned", starts_at__lt=end, ends_at__gt=start
    ).count()


def context(people) -> DemoContext:
    ctx = DemoContext(write=lambda line: None)
    ctx.objects["megadiags:mmarty"] = people["backoffice"].member
    ctx.objects["megadiags:jdurant"] = people["tech_all"].member
    return ctx


def test_the_demo_technician_has_appointments_today_and_tomorrow(people):
    list_everyone(people)
    tech = people["tech_all"]
    waiting = a_dossier(people)  # to schedule, nobody's yet
    today = timezone.localdate()
    assert planned_on(tech.member, today) == planned_on(tech.member, today + timedelta(1)) == 0

    demo.load(context(people))

    assert planned_on(tech.member, today) == 1
    assert planned_on(tech.member, today + timedelta(days=1)) == 1
    waiting.refresh_from_db()
    assert waiting.technician == tech.member and waiting.status == "scheduled"
    page = tech.client().get("/o/acme/terrain/").content.decode()
    assert page.count('data-testid="appointment"') == 2
    assert waiting.number in page


def test_a_day_that_has_appointments_is_left_alone(people):
    list_everyone(people)
    tech = people["tech_all"]
    book(people, tech.member, paris(timezone.localdate(), 10), title="Déjà prévu")
    demo.load(context(people))
    assert planned_on(tech.member, timezone.localdate()) == 1
    tomorrow = Appointment.objects.get(title="Visite de contrôle")
    assert timezone.localtime(tomorrow.starts_at).date() == timezone.localdate() + timedelta(1)
