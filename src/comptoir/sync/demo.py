"""Demo: two paired stations with different options, a dossier to verify, a
cloud clean-up in quarantine, two dossiers sent to the exchange zone by hand —
so the Comptoir Cloud pages show something true."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from comptoir.core.audit import backdated
from comptoir.core.demo_registry import DemoContext
from comptoir.core.models import Organization
from comptoir.dossiers import exchange
from comptoir.dossiers.models import Dossier, DossierRevision
from comptoir.sync import cleanup, configure, services, zone
from comptoir.sync.models import Station, StationDossier


def load_late(ctx: DemoContext) -> None:
    org: Organization = ctx.objects["megadiags"]
    admin = ctx.objects["megadiags:dcollet"]
    technician = ctx.objects["megadiags:jdurant"]
    office = _paired(ctx, org, "PC bureau", admin, "windows", days=0.02)
    tablet = _paired(ctx, org, "Tablette terrain", technician, "android", days=0.4)
    year_start = ctx.today.replace(month=1, day=1)
    configure.set_company_options(
        org,
        {"enable_all": True, "use_common": True},
        common={
            "fetch_missing": True,
            "fetch_after": (year_start - timedelta(days=365)).isoformat(),
            "update_present": True,
            "force_activation": True,
        },
        invoice_station=office,
        admin_password=None,
        actor=admin.user,
    )
    configure.set_station_options(
        tablet,
        {
            "fetch_missing": False,
            "send_after": year_start.isoformat(),
            "window_start": 22,
            "window_end": 7,
        },
        own_settings=True,
        admin_password=None,
        actor=admin.user,
    )
    dossiers = list(
        Dossier.objects.filter(organization=org, deleted_at__isnull=True).order_by("-created_at")
    )
    recent = [dossier for dossier in dossiers if dossier.technician_id == technician.pk][:30]
    StationDossier.objects.bulk_create(
        [StationDossier(station=office, dossier=dossier) for dossier in dossiers[:200]]
        + [StationDossier(station=tablet, dossier=dossier) for dossier in recent],
        ignore_conflicts=True,
    )
    if recent:
        _conflict(recent[0], tablet)
    oldest = dossiers[-1] if dossiers else None
    if oldest is not None:
        day = timezone.localtime(oldest.created_at).date()
        with backdated(ctx.days_ago(3)):
            cleanup.request(org, day, day, actor=admin.user, confirm_senders=True)
    Station.objects.filter(pk=office.pk).update(
        counts={"green": 196, "orange": 1, "blue": 2, "red": 1, "grey": 0},
        reported_at=ctx.days_ago(0.02),
    )
    Station.objects.filter(pk=tablet.pk).update(
        counts={"green": 27, "orange": 1, "blue": 0, "red": 1, "grey": 12},
        errors=[
            {
                "dossier": str(recent[1].public_id) if len(recent) > 1 else "",
                "number": recent[1].number if len(recent) > 1 else "",
                "reason": "Quota dépassé : envoi suspendu jusqu'à libération d'espace.",
            }
        ],
        reported_at=ctx.days_ago(0.4),
    )
    sent = _exchange_zone(ctx, org, admin, technician)
    ctx.write(
        "Comptoir Cloud: stations “PC bureau” and “Tablette terrain”, "
        f"{sent} dossiers sent to the exchange zone by hand"
    )


def _exchange_zone(ctx: DemoContext, org: Organization, admin: Any, technician: Any) -> int:
    """The technician's next visit after tomorrow, and a dossier whose report is late."""
    live = Dossier.objects.filter(
        organization=org, deleted_at__isnull=True, quarantined_until__isnull=True
    )
    after_tomorrow = ctx.now + timedelta(days=3)
    chosen = [
        live.filter(technician=technician, appointment_at__gte=after_tomorrow)
        .order_by("appointment_at")
        .first(),
        live.filter(technician=technician, appointment_at__lt=ctx.days_ago(2))
        .order_by("-appointment_at")
        .first(),
    ]
    sent = 0
    for dossier in chosen:
        if dossier is not None:
            with backdated(ctx.days_ago(0.2)):
                zone.add(admin, dossier, actor=admin.user)
            sent += 1
    return sent


def _paired(
    ctx: DemoContext, org: Organization, name: str, member: object, platform: str, days: float
) -> Station:
    station, code = services.add_station(org, name, member=member, actor=None)  # type: ignore[arg-type]
    station, _token = services.pair(code, version="1.0.0", platform=platform)
    Station.objects.filter(pk=station.pk).update(last_seen_at=ctx.days_ago(days))
    return station


def _conflict(dossier: Dossier, station: Station) -> None:
    exchange.touch(dossier, source="web")
    dossier.refresh_from_db()
    head = exchange.head_document(dossier) or exchange.to_document(dossier)
    theirs = {**head, "property": {**head["property"], "floor": "2e étage, porte gauche"}}
    base = DossierRevision.objects.get(dossier=dossier, rev=dossier.revision).base_rev
    DossierRevision.objects.create(
        dossier=dossier,
        rev=exchange.revision_id(theirs, base or None),
        base_rev=base,
        document=theirs,
        is_conflict=True,
        source=f"station:{station.name}",
    )
    Dossier.objects.filter(pk=dossier.pk).update(in_conflict=True)
    exchange.bump(dossier)
