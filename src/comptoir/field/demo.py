"""Demo: Jean Durant (MegaDiags) has appointments today and tomorrow on his phone.

The agenda's loader books the demo dossiers' appointments and fills the next two
weeks from tomorrow on; a weekend or a quiet day could leave the field app's home
empty. This books one dossier visit for each of the two days that has none.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db.models import Q
from django.utils import timezone

from comptoir.agenda import services as agenda_services
from comptoir.agenda.models import Appointment
from comptoir.agenda.selectors import day_bounds
from comptoir.core import audit
from comptoir.core.demo_registry import DemoContext
from comptoir.core.models import Membership
from comptoir.dossiers.lifecycle import Status
from comptoir.dossiers.models import Dossier

SLOTS = (time(14, 0), time(9, 30))  # today, tomorrow


def load(ctx: DemoContext) -> None:
    office: Membership = ctx.objects["megadiags:mmarty"]
    technician: Membership = ctx.objects["megadiags:jdurant"]
    zone = timezone.get_current_timezone()
    for offset, slot in enumerate(SLOTS):
        day = ctx.today + timedelta(days=offset)
        start, end = day_bounds(day)
        if Appointment.objects.filter(
            technician=technician,
            status=Appointment.Status.PLANNED,
            starts_at__lt=end,
            ends_at__gt=start,
        ).exists():
            continue
        dossier = (
            Dossier.objects.filter(
                organization=office.organization,
                status=Status.TO_SCHEDULE,
                deleted_at__isnull=True,
            )
            .filter(Q(technician=technician) | Q(technician__isnull=True))
            .order_by("-created_at")
            .first()
        )
        begins = datetime.combine(day, slot, tzinfo=zone)
        with audit.backdated(ctx.days_ago(1)):
            agenda_services.create_appointment(
                office,
                agenda_services.AppointmentInput(
                    starts_at=begins,
                    ends_at=begins + timedelta(hours=1, minutes=30),
                    technician=technician,
                    dossier=dossier,
                    title="" if dossier else "Visite de contrôle",
                    address="" if dossier else "1 place du Théâtre, 59000 Lille",
                ),
                actor=office.user,
                confirm_overlap=True,
            )
