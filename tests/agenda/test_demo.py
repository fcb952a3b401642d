"""The demo agenda (the past month, the next two weeks) and `generate --appointments`."""

from __future__ import annotations

from datetime import time, timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from comptoir.agenda import demo, services
from comptoir.agenda.models import Appointment, CalendarFeed
from comptoir.core.demo_registry import DemoContext
from comptoir.core.models import AuditEntry
from comptoir.dossiers.lifecycle import Status
from comptoir.dossiers.models import Dossier
from tests.agenda.factories import a_dossier


def test_demo_loader(team):
    staff = {
        "dcollet": team["admin"],
        "mmarty": team["backoffice"],
        "jdurant": team["tech_all"],
        "llefebvre": team["tech_own"],
        "mguyot": team["tech_station"],
    }
    ctx = DemoContext(write=lambda line: None)
    ctx.objects["megadiags"] = team["admin"].org
    ctx.objects.update({f"megadiags:{login}": person.member for login, person in staff.items()})
    now = timezone.now()
    booked = []
    for days, person in ((-20, "jdurant"), (-2, "llefebvre"), (3, "mguyot"), (40, "jdurant")):
        dossier = a_dossier(team, staff[person].member)
        moment = (now + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
        Dossier.objects.filter(pk=dossier.pk).update(appointment_at=moment, status=Status.SCHEDULED)
        booked.append(dossier)
    waiting = [a_dossier(team) for _ in range(3)]

    demo.load(ctx)

    in_window = Appointment.objects.filter(dossier__in=booked[:3])
    assert in_window.count() == 3, "the past month and the next two weeks"
    assert not Appointment.objects.filter(dossier=booked[3]).exists(), "beyond two weeks"
    for dossier in booked[:3]:
        dossier.refresh_from_db()
        appointment = Appointment.objects.get(dossier=dossier, status="planned")
        assert dossier.appointment_at == appointment.starts_at
        assert appointment.technician_id == dossier.technician_id
    for dossier in waiting:
        dossier.refresh_from_db()
        appointment = Appointment.objects.get(dossier=dossier)
        assert dossier.status == Status.SCHEDULED
        assert dossier.appointment_at == appointment.starts_at
        local = timezone.localtime(appointment.starts_at)
        assert local.weekday() < 5 and local.date() > timezone.localdate()
        assert local.date() <= timezone.localdate() + timedelta(days=14)
    assert Appointment.objects.filter(title="Formation DPE 2026", status="cancelled").count() == 1
    assert services.settings_for(team["admin"].org).digest_time == time(18, 30)
    assert CalendarFeed.objects.filter(membership=team["tech_all"].member).exists()
    assert AuditEntry.objects.filter(action="appointment.create").count() >= 8


def test_generate_appointments(team):
    out = StringIO()
    call_command("generate", "--org", "acme", "--appointments", "120", stdout=out)
    rows = Appointment.objects.filter(organization=team["admin"].org)
    assert rows.count() == 120
    assert "120 appointments" in out.getvalue()
    technicians = set(rows.values_list("technician__listed_on_calendar", flat=True))
    assert technicians == {True}
    first = timezone.localtime(rows.order_by("starts_at").first().starts_at).date()
    assert first == timezone.localdate() - timedelta(days=90)
    assert AuditEntry.objects.filter(action="appointment.generate").get().after == {"count": 120}
