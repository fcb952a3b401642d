"""“Volume de données”: what the cloud holds per year, and removing the cloud
copies of a date range after 30 days of quarantine."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.accounts.models import User
from comptoir.core import audit
from comptoir.core.errors import Conflict, DomainError
from comptoir.core.models import Organization
from comptoir.core.services import release_storage
from comptoir.dossiers import blobs, exchange
from comptoir.dossiers.models import Blob, Document, Dossier
from comptoir.sync import options as station_options
from comptoir.sync.models import QUARANTINE, CloudCleanup, Station


def usage_by_year(org: Organization) -> list[dict[str, Any]]:
    """Per year, newest first: the dossiers on the cloud, the bytes the cloud holds for
    them (see `held_by_year`), and how many are in quarantine."""
    rows = (
        Dossier.objects.filter(organization=org, deleted_at__isnull=True)
        .values("year")
        .annotate(
            dossiers=Count("pk"),
            quarantined=Count("pk", filter=Q(quarantined_until__isnull=False)),
        )
        .order_by("-year")
    )
    held = held_by_year(org)
    return [
        {
            "year": row["year"],
            "dossiers": row["dossiers"],
            "size": held.get(row["year"], 0),
            "quarantined": row["quarantined"],
        }
        for row in rows
    ]


def held_by_year(org: Organization) -> dict[int, int]:
    """The bytes the cloud holds for each year's dossiers.

    Not `Dossier.files_size`, the size of the head's file list: a document taken out of
    the list keeps its bytes (until a clean-up removes them), a file listed twice is
    stored once, and the files of a dossier whose clean-up ran are gone (a file another
    dossier still uses stays, and counts for that dossier's year). So: the blobs not
    purged that the year's documents name, listed or not, each once per year."""
    cleaned = CloudCleanup.objects.filter(
        organization=org,
        executed_at__isnull=False,
        quarantine_until=OuterRef("dossier__quarantined_until"),
    )
    stored = Blob.objects.filter(
        organization=org, sha256=OuterRef("sha256"), purged_at__isnull=True
    ).values("size")[:1]
    pairs = (
        Document.objects.filter(organization=org, dossier__deleted_at__isnull=True)
        .exclude(Exists(cleaned))
        .annotate(stored=Subquery(stored))
        .filter(stored__isnull=False)
        .order_by()  # else the default ordering (uploaded_at) enters the DISTINCT
        .values_list("dossier__year", "sha256", "stored")
        .distinct()
    )
    held: dict[int, int] = defaultdict(int)
    for year, _sha256, size in pairs:
        held[year] += size
    return dict(held)


def _in_range(org: Organization, date_from: date, date_to: date) -> Any:
    return Dossier.objects.filter(
        organization=org,
        deleted_at__isnull=True,
        created_at__date__gte=date_from,
        created_at__date__lte=date_to,
    )


@dataclass
class Plan:
    dossiers: int
    size: int
    senders: list[Station]


def plan(org: Organization, date_from: date, date_to: date) -> Plan:
    """What a clean-up would take, and which stations would still send that range."""
    if date_from > date_to:
        raise DomainError(
            _("The start date must be before the end date."), details={"field": "date_from"}
        )
    queryset = _in_range(org, date_from, date_to).filter(quarantined_until__isnull=True)
    totals = queryset.aggregate(count=Count("pk"), size=Sum("files_size"))
    senders = []
    for station in Station.objects.filter(organization=org, revoked_at__isnull=True):
        effective = station_options.effective(station)
        send_after = effective.get("send_after")
        if effective["enabled"] and (
            send_after is None or date.fromisoformat(send_after) <= date_to
        ):
            senders.append(station)
    return Plan(totals["count"] or 0, totals["size"] or 0, senders)


@transaction.atomic
def request(
    org: Organization, date_from: date, date_to: date, *, actor: User, confirm_senders: bool
) -> CloudCleanup:
    found = plan(org, date_from, date_to)
    if found.dossiers == 0:
        raise DomainError(_("No dossier on the cloud is dated in this range."))
    if found.senders and not confirm_senders:
        raise Conflict(
            _(
                "These stations still send dossiers of this range: %(names)s. Move their date "
                "“send dossiers dated after” past %(date)s first, or confirm."
            )
            % {"names": ", ".join(s.name for s in found.senders), "date": date_to.isoformat()},
            code="stations_still_send",
            details={"stations": [s.name for s in found.senders]},
        )
    until = timezone.now() + QUARANTINE
    cleanup = CloudCleanup.objects.create(
        organization=org,
        date_from=date_from,
        date_to=date_to,
        requested_by=actor,
        quarantine_until=until,
        dossier_count=found.dossiers,
        size=found.size,
    )
    held = list(
        _in_range(org, date_from, date_to).filter(quarantined_until__isnull=True).only("pk")
    )
    for dossier in held:
        dossier.quarantined_until = until
    exchange.bump_all(org, held, ["quarantined_until"])
    audit.record(
        "cloud.cleanup.request",
        organization=org,
        actor=actor,
        target=cleanup,
        after={"from": date_from, "to": date_to, "dossiers": found.dossiers, "size": found.size},
    )
    return cleanup


@transaction.atomic
def cancel(cleanup: CloudCleanup, *, actor: User) -> None:
    if cleanup.state != "quarantine":
        raise Conflict(_("This clean-up is no longer in quarantine."), code="not_cancellable")
    cleanup.cancelled_at = timezone.now()
    cleanup.cancelled_by = actor
    cleanup.save(update_fields=["cancelled_at", "cancelled_by"])
    released = list(
        Dossier.objects.filter(
            organization=cleanup.organization, quarantined_until=cleanup.quarantine_until
        ).only("pk")
    )
    for dossier in released:
        dossier.quarantined_until = None
    exchange.bump_all(cleanup.organization, released, ["quarantined_until"])
    audit.record(
        "cloud.cleanup.cancel", organization=cleanup.organization, actor=actor, target=cleanup
    )


def execute_due(now: Any = None) -> int:
    """Remove the cloud bytes of clean-ups whose quarantine is over; returns how many ran."""
    now = now or timezone.now()
    done = 0
    for cleanup in CloudCleanup.objects.filter(
        cancelled_at__isnull=True, executed_at__isnull=True, quarantine_until__lte=now
    ).select_related("organization"):
        _execute(cleanup)
        done += 1
    return done


@transaction.atomic
def _execute(cleanup: CloudCleanup) -> None:
    org = cleanup.organization
    dossiers = Dossier.objects.filter(organization=org, quarantined_until=cleanup.quarantine_until)
    hashes = set(Document.objects.filter(dossier__in=dossiers).values_list("sha256", flat=True))
    still_used = set(
        Document.objects.filter(organization=org, sha256__in=hashes, removed_at__isnull=True)
        .exclude(dossier__in=dossiers)
        .values_list("sha256", flat=True)
    )
    freed = 0
    for blob in Blob.objects.filter(
        organization=org, sha256__in=hashes - still_used, purged_at__isnull=True
    ):
        blobs.delete(org, blob.sha256)
        Blob.objects.filter(pk=blob.pk).update(purged_at=timezone.now())
        freed += blob.size
    release_storage(org, freed)
    cleanup.executed_at = timezone.now()
    cleanup.freed = freed
    cleanup.save(update_fields=["executed_at", "freed"])
    audit.record(
        "cloud.cleanup.done",
        organization=org,
        actor=None,
        target=cleanup,
        after={"freed": freed, "dossiers": cleanup.dossier_count},
    )


def quarantine_days_left(cleanup: CloudCleanup) -> int:
    return max((cleanup.quarantine_until - timezone.now()) // timedelta(days=1), 0)
