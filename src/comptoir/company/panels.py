"""The home dashboard's panels this app contributes (registered in CompanyConfig.ready).

The appointment and scheduling panels read dossiers through
`dossiers.listing.base_queryset`, so a technician who only sees their own
dossiers only sees their own appointments.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone

from comptoir.company import services
from comptoir.company.expiry import EXPIRY_WARNING_DAYS, expiry_state
from comptoir.core.dashboard import DashboardPanel, add_panel
from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource
from comptoir.dossiers.lifecycle import Status
from comptoir.dossiers.listing import base_queryset

TO_SCHEDULE_SHOWN = 10


def appointments(member: Membership) -> dict[str, Any]:
    """Today's and tomorrow's appointments (local time), earliest first."""
    today = timezone.localdate()
    zone = timezone.get_current_timezone()
    start = datetime.combine(today, time.min, tzinfo=zone)
    end = datetime.combine(today + timedelta(days=2), time.min, tzinfo=zone)
    rows = list(
        base_queryset(member)
        .filter(appointment_at__gte=start, appointment_at__lt=end)
        .select_related("technician")
        .order_by("appointment_at")
    )
    days = []
    for offset, label in ((0, "today"), (1, "tomorrow")):
        day = today + timedelta(days=offset)
        days.append(
            {
                "key": label,
                "date": day,
                "dossiers": [
                    dossier
                    for dossier in rows
                    if timezone.localtime(dossier.appointment_at).date() == day
                ],
            }
        )
    return {"days": days}


def to_schedule(member: Membership) -> dict[str, Any]:
    """Dossiers waiting for an appointment: how many, and the longest-waiting ones."""
    waiting = base_queryset(member).filter(status=Status.TO_SCHEDULE)
    first = list(
        waiting.select_related("ordering_party").order_by("created_at", "pk")[:TO_SCHEDULE_SHOWN]
    )
    return {
        "count": waiting.count() if len(first) == TO_SCHEDULE_SHOWN else len(first),
        "dossiers": first,
    }


def expiring(member: Membership) -> dict[str, Any] | None:
    """Certifications and devices expiring within the warning window (or expired).

    Administrators see every active member's certifications and the devices;
    others see their own certifications only, and no panel when none expires.
    """
    everyone = member.can(Resource.SETTINGS, Action.VIEW)
    today = timezone.localdate()
    certifications = [
        {"item": cert, "state": expiry_state(cert.expires_on, today)}
        for cert in services.expiring_certifications(member, everyone=everyone, today=today)
    ]
    devices = []
    if everyone:
        devices = [
            {"item": device, "state": device.expiry(today)}
            for device in services.expiring_devices(member.organization, today)
        ]
    if not everyone and not certifications:
        return None
    return {
        "certifications": certifications,
        "devices": devices,
        "everyone": everyone,
        "days": EXPIRY_WARNING_DAYS,
    }


def register() -> None:
    add_panel(
        DashboardPanel(
            "appointments",
            "company/panels/appointments.html",
            appointments,
            Resource.DOSSIERS,
            Action.VIEW,
            order=10,
        )
    )
    add_panel(
        DashboardPanel(
            "to-schedule",
            "company/panels/to_schedule.html",
            to_schedule,
            Resource.DOSSIERS,
            Action.VIEW,
            order=20,
        )
    )
    add_panel(DashboardPanel("expiring", "company/panels/expiring.html", expiring, order=30))
