"""Demo agenda (MegaDiags: the past month and the next two weeks) and generated appointments."""

from __future__ import annotations

import argparse
from datetime import datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from comptoir.agenda import feeds, services
from comptoir.agenda.models import Appointment
from comptoir.core import audit
from comptoir.core.demo_registry import DemoContext
from comptoir.core.models import Membership, Organization
from comptoir.dossiers.lifecycle import Status
from comptoir.dossiers.models import Dossier

PAST_DAYS, AHEAD_DAYS = 30, 14
SLOTS = (time(8, 30), time(10, 30), time(14, 0), time(16, 0))


def _length(dossier: Dossier) -> timedelta:
    """45 minutes, and a quarter of an hour per mission."""
    return timedelta(minutes=45 + 15 * dossier.missions.count())


def load(ctx: DemoContext) -> None:
    org: Organization = ctx.objects["megadiags"]
    office: Membership = ctx.objects["megadiags:mmarty"]
    logins = ("jdurant", "llefebvre", "mguyot")
    technicians = [ctx.objects[f"megadiags:{login}"] for login in logins]
    with audit.backdated(ctx.days_ago(60)):
        services.save_settings(
            org, actor=ctx.objects["megadiags:dcollet"].user, digest_time=time(18, 30)
        )
    _book_existing(ctx, org, office, technicians)
    _fill_ahead(ctx, org, office, technicians)
    _internal(ctx, office, technicians)
    with audit.backdated(ctx.days_ago(20)):
        feed = feeds.regenerate(technicians[0], actor=technicians[0].user)
    ctx.objects["agenda:feed"] = feed


def _book_existing(
    ctx: DemoContext, org: Organization, office: Membership, technicians: list[Membership]
) -> None:
    """The dossiers' appointments of the past month and the next two weeks, in the agenda."""
    dossiers = Dossier.objects.filter(
        organization=org,
        technician__in=technicians,
        appointment_at__gte=ctx.now - timedelta(days=PAST_DAYS),
        appointment_at__lt=ctx.now + timedelta(days=AHEAD_DAYS),
        deleted_at__isnull=True,
    ).order_by("appointment_at")
    for dossier in dossiers:
        assert dossier.appointment_at is not None and dossier.technician is not None
        start = dossier.appointment_at
        with audit.backdated(min(start - timedelta(days=3), ctx.now)):
            appointment = services.create_appointment(
                office,
                services.AppointmentInput(
                    starts_at=start,
                    ends_at=start + _length(dossier),
                    technician=dossier.technician,
                    dossier=dossier,
                ),
                actor=office.user,
                confirm_overlap=True,
            )
        if start > ctx.now and ctx.random.random() < 0.15:
            # a client asked for another day: moved by the office
            later = start + timedelta(days=ctx.random.choice([1, 2, 7]))
            with audit.backdated(ctx.days_ago(1)):
                services.move_appointment(
                    office,
                    appointment,
                    starts_at=later,
                    ends_at=later + (appointment.ends_at - appointment.starts_at),
                    version=appointment.version,
                    actor=office.user,
                    confirm_overlap=True,
                )


def _free_slot(
    ctx: DemoContext,
    technician: Membership,
    taken: set[tuple[int, datetime]],
    length: timedelta,
) -> datetime | None:
    """The technician's first slot in the next two weeks free for `length` (a visit with
    many missions runs over two hours)."""
    zone = timezone.get_current_timezone()
    for offset in range(1, AHEAD_DAYS + 1):
        day = ctx.today + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for slot in SLOTS:
            start = datetime.combine(day, slot, tzinfo=zone)
            if (technician.pk, start) in taken:
                continue
            if not services.overlapping(technician, start, start + max(length, timedelta(hours=2))):
                taken.add((technician.pk, start))
                return start
    return None


def _fill_ahead(
    ctx: DemoContext, org: Organization, office: Membership, technicians: list[Membership]
) -> None:
    """The office books the dossiers waiting for an appointment into the next two weeks."""
    waiting = list(
        Dossier.objects.filter(
            organization=org, status=Status.TO_SCHEDULE, deleted_at__isnull=True
        ).order_by("created_at")[:25]
    )
    taken: set[tuple[int, datetime]] = set()
    for index, dossier in enumerate(waiting):
        technician = dossier.technician or technicians[index % len(technicians)]
        if technician not in technicians:
            technician = technicians[index % len(technicians)]
        start = _free_slot(ctx, technician, taken, _length(dossier))
        if start is None:
            continue
        with audit.backdated(ctx.days_ago(ctx.random.randint(0, 3))):
            services.create_appointment(
                office,
                services.AppointmentInput(
                    starts_at=start,
                    ends_at=start + _length(dossier),
                    technician=technician,
                    dossier=dossier,
                ),
                actor=office.user,
            )


def _internal(ctx: DemoContext, office: Membership, technicians: list[Membership]) -> None:
    """Time without a dossier: a calibration, a training day (one of them cancelled)."""
    zone = timezone.get_current_timezone()
    monday = ctx.today + timedelta(days=7 - ctx.today.weekday())
    calibration = datetime.combine(monday, time(8, 0), tzinfo=zone)
    with audit.backdated(ctx.days_ago(10)):
        services.create_appointment(
            office,
            services.AppointmentInput(
                starts_at=calibration,
                ends_at=calibration + timedelta(hours=1),
                technician=technicians[2],
                title="Étalonnage de l'analyseur plomb",
                address="12 rue de la Monnaie, 59000 Lille",
            ),
            actor=office.user,
            confirm_overlap=True,
        )
        training_day = monday + timedelta(days=3)
        training = services.create_appointment(
            office,
            services.AppointmentInput(
                starts_at=datetime.combine(training_day, time(9, 0), tzinfo=zone),
                ends_at=datetime.combine(training_day, time(17, 0), tzinfo=zone),
                technician=technicians[1],
                title="Formation DPE 2026",
                notes="Salle 2, apporter l'ordinateur portable.",
            ),
            actor=office.user,
            confirm_overlap=True,
        )
    with audit.backdated(ctx.days_ago(2)):
        services.cancel_appointment(office, training, actor=office.user)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--appointments",
        type=int,
        default=0,
        help="Appointments to add (members listed on the calendar, or every active member).",
    )


@transaction.atomic
def generate(ctx: DemoContext, options: dict[str, Any]) -> str:
    """Bulk-insert appointments over the last 90 days and the next 9 months."""
    count = options.get("appointments") or 0
    if count <= 0:
        return ""
    org: Organization = ctx.objects["org"]
    rng = ctx.random
    members = Membership.objects.filter(organization=org, is_blocked=False)
    technicians = list(members.filter(listed_on_calendar=True)[:50]) or list(members[:50])
    dossier_ids = list(
        Dossier.objects.filter(organization=org, deleted_at__isnull=True).values_list(
            "pk", flat=True
        )[:20000]
    )
    zone = timezone.get_current_timezone()
    today = timezone.localdate()
    now = timezone.now()
    rows = []
    for index in range(count):
        day = today + timedelta(days=-90 + (365 * index) // max(count, 1))
        start = datetime.combine(day, rng.choice(SLOTS), tzinfo=zone)
        rows.append(
            Appointment(
                organization=org,
                technician=technicians[index % len(technicians)],
                dossier_id=rng.choice(dossier_ids) if dossier_ids else None,
                starts_at=start,
                ends_at=start + timedelta(minutes=rng.choice([45, 60, 90, 120])),
                title="" if dossier_ids else f"Rendez-vous {index + 1}",
                address="" if dossier_ids else "1 place du Théâtre, 59000 Lille",
                status=Appointment.Status.CANCELLED
                if rng.random() < 0.05
                else Appointment.Status.PLANNED,
                created_at=now,
                updated_at=now,
            )
        )
    Appointment.objects.bulk_create(rows, batch_size=2000)
    audit.record(
        "appointment.generate",
        organization=org,
        actor=None,
        object_type="appointment",
        object_repr=f"{count} rendez-vous générés",
        after={"count": count},
    )
    return f"{count} appointments"
