"""The exchange zone (“zone d'échange entreprise”): the dossiers offered to the stations.

A dossier is in the zone when

- the agenda has a planned appointment for it today or tomorrow (Europe/Paris
  days: the appointment overlaps [today 00:00, the day after tomorrow 00:00));
- or it was sent there by hand (an open `ExchangeZoneEntry`) and that entry has
  not lapsed. An entry lapses once the day of the dossier's appointment is over,
  when that day was on or after the day the entry was made (the visit it was
  sent for is done). A dossier without an appointment, or sent after its
  appointment (to finish the report, say), stays until someone removes it.

Deleted dossiers, and dossiers whose cloud copy is in quarantine, are never in it.

Who sees what: on the web, a member sees the zone's dossiers they may see
(`listing.base_queryset`). A station sees the whole organisation's zone when the
dossier grant of its account is organisation-wide; otherwise (technician “own
dossiers only”, technician without web access) only its technician's entries:
their appointments and the dossiers assigned to them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.accounts.models import User
from comptoir.agenda.models import Appointment
from comptoir.core import audit
from comptoir.core.access import require
from comptoir.core.errors import Conflict, DomainError
from comptoir.core.models import Membership, Organization
from comptoir.core.roles import Action, Resource
from comptoir.dossiers import exchange
from comptoir.dossiers import services as dossier_services
from comptoir.dossiers.models import Dossier, Mission
from comptoir.sync.models import ExchangeZoneEntry
from comptoir.sync.services import change_entry_of, sees_every_dossier

MAX_BY_HAND = 500  # dossiers sent by hand and still in the zone, per organisation


@dataclass(frozen=True)
class Window:
    """Today and tomorrow, as Paris days, and the instants that bound them."""

    today: date
    start: datetime
    end: datetime

    @property
    def tomorrow(self) -> date:
        return self.today + timedelta(days=1)


def window(now: datetime | None = None) -> Window:
    today = timezone.localdate(now or timezone.now())
    zone = timezone.get_current_timezone()
    start = datetime.combine(today, time.min, tzinfo=zone)
    end = datetime.combine(today + timedelta(days=2), time.min, tzinfo=zone)
    return Window(today, start, end)


def _live_dossier(prefix: str = "dossier__") -> Q:
    return Q(**{f"{prefix}deleted_at__isnull": True, f"{prefix}quarantined_until__isnull": True})


def planned(org: Organization, span: Window) -> QuerySet[Appointment]:
    """The agenda's planned appointments with a dossier, overlapping today or tomorrow."""
    return Appointment.objects.filter(
        _live_dossier(),
        organization=org,
        status=Appointment.Status.PLANNED,
        dossier__isnull=False,
        starts_at__lt=span.end,
        ends_at__gt=span.start,
    )


def by_hand(org: Organization, span: Window) -> QuerySet[ExchangeZoneEntry]:
    """Open hand entries that have not lapsed (see the module docstring)."""
    not_lapsed = (
        Q(dossier__appointment_at__isnull=True)
        | Q(dossier__appointment_at__gte=span.start)
        | Q(dossier__appointment_at__date__lt=F("added_on"))
    )
    return ExchangeZoneEntry.objects.filter(
        _live_dossier(), not_lapsed, organization=org, removed_at__isnull=True
    )


@dataclass
class Presence:
    """Why a dossier is in the zone: its appointments of today and tomorrow, a hand entry."""

    appointments: list[Appointment] = field(default_factory=list)
    entry: ExchangeZoneEntry | None = None

    @property
    def present(self) -> bool:
        return bool(self.appointments or self.entry)


def presence(org: Organization, dossiers: Iterable[Dossier]) -> dict[int, Presence]:
    """Each dossier's presence in the zone (two queries, whatever the number of dossiers)."""
    ids = [dossier.pk for dossier in dossiers]
    found = {pk: Presence() for pk in ids}
    if not ids:
        return found
    span = window()
    for appointment in planned(org, span).filter(dossier_id__in=ids).order_by("starts_at"):
        found[appointment.dossier_id].appointments.append(appointment)  # type: ignore[index]
    for entry in by_hand(org, span).filter(dossier_id__in=ids).select_related("added_by"):
        found[entry.dossier_id].entry = entry
    return found


def presence_of(dossier: Dossier) -> Presence:
    return presence(dossier.organization, [dossier])[dossier.pk]


@dataclass(frozen=True)
class Item:
    """One line of the zone: an appointment of today or tomorrow, or a dossier sent by hand."""

    dossier: Dossier
    appointment: Appointment | None
    entry: ExchangeZoneEntry | None  # the dossier's hand entry, when it has one

    @property
    def starts_at(self) -> datetime | None:
        return self.appointment.starts_at if self.appointment else self.dossier.appointment_at

    @property
    def technician(self) -> Membership | None:
        return self.appointment.technician if self.appointment else self.dossier.technician


def _dossier_details() -> list[Any]:
    missions = Mission.objects.select_related("mission_type").order_by("pk")
    return [Prefetch("dossier__missions", queryset=missions)]


def items(
    org: Organization,
    *,
    visible: QuerySet[Dossier] | None = None,
    technician: Membership | None = None,
) -> list[Item]:
    """The zone, in time order (dossiers without a date last).

    `visible` keeps only those dossiers (a member's scope); `technician` only that
    technician's appointments and dossiers (a station whose grant is “own”).
    """
    span = window()
    appointments = planned(org, span)
    entries = by_hand(org, span)
    if visible is not None:
        appointments = appointments.filter(dossier__in=visible)
        entries = entries.filter(dossier__in=visible)
    if technician is not None:
        appointments = appointments.filter(
            Q(technician=technician) | Q(dossier__technician=technician)
        )
        entries = entries.filter(dossier__technician=technician)
    related = ("dossier__technician", "dossier__ordering_party")
    booked = list(
        appointments.select_related("technician", *related)
        .prefetch_related(*_dossier_details())
        .order_by("starts_at", "pk")
    )
    hand = {
        entry.dossier_id: entry
        for entry in entries.select_related("added_by", *related).prefetch_related(
            *_dossier_details()
        )
    }
    lines = [Item(a.dossier, a, hand.get(a.dossier_id)) for a in booked]  # type: ignore[arg-type]
    covered = {appointment.dossier_id for appointment in booked}
    lines += [Item(e.dossier, None, e) for pk, e in hand.items() if pk not in covered]
    return sorted(
        lines,
        key=lambda line: (
            line.starts_at is None,
            line.starts_at or span.start,
            line.dossier.number,
        ),
    )


# --- sending a dossier to the zone by hand, and removing it ---------------------------


def may_change(member: Membership, dossier: Dossier) -> bool:
    """Whoever may change the dossier may send it to the zone or remove it."""
    return dossier.deleted_at is None and dossier_services.may_change(member, dossier)


def _state(present: bool, entry: bool) -> dict[str, Any]:
    return {"exchange_zone": present, "by_hand": entry}


@transaction.atomic
def add(member: Membership, dossier: Dossier, *, actor: User | None) -> ExchangeZoneEntry:
    """Send a dossier to the zone by hand; nothing changes when it is there by hand already.

    `dossier` comes from the member's organisation (the caller scoped it).
    """
    require(member, Resource.DOSSIERS, Action.CHANGE, owner_id=dossier.technician_id)
    # The dossier's row lock orders two people adding the same dossier at once.
    dossier = Dossier.objects.select_for_update().get(pk=dossier.pk)
    if dossier.deleted_at is not None:
        raise DomainError(_("A deleted dossier cannot be sent to the exchange zone."))
    if dossier.quarantined_until is not None:
        raise DomainError(
            _("This dossier's cloud copy is scheduled for removal: it cannot be sent to the zone.")
        )
    org = dossier.organization
    before = presence_of(dossier)
    if before.entry is not None:
        return before.entry
    if by_hand(org, window()).count() >= MAX_BY_HAND:
        raise Conflict(
            _(
                "The exchange zone already holds %(max)s dossiers sent by hand: "
                "remove some before adding others."
            )
            % {"max": MAX_BY_HAND},
            code="zone_full",
            details={"max": MAX_BY_HAND},
        )
    now = timezone.now()
    # A lapsed entry (its visit is over) makes way for the new one.
    ExchangeZoneEntry.objects.filter(dossier=dossier, removed_at__isnull=True).update(
        removed_at=now
    )
    entry = ExchangeZoneEntry.objects.create(
        organization=org,
        dossier=dossier,
        added_at=now,
        added_on=timezone.localdate(now),
        added_by=actor,
    )
    audit.record(
        "exchange_zone.add",
        organization=org,
        actor=actor,
        target=dossier,
        before=_state(before.present, False),
        after=_state(True, True),
    )
    return entry


@transaction.atomic
def remove(member: Membership, dossier: Dossier, *, actor: User | None) -> bool:
    """Take a dossier sent by hand out of the zone; False when it was not there by hand.

    A dossier with an appointment today or tomorrow stays in the zone through the agenda.
    """
    require(member, Resource.DOSSIERS, Action.CHANGE, owner_id=dossier.technician_id)
    dossier = Dossier.objects.select_for_update().get(pk=dossier.pk)
    before = presence_of(dossier)
    if before.entry is None:
        return False
    ExchangeZoneEntry.objects.filter(pk=before.entry.pk).update(
        removed_at=timezone.now(), removed_by=actor
    )
    audit.record(
        "exchange_zone.remove",
        organization=dossier.organization,
        actor=actor,
        target=dossier,
        before=_state(True, True),
        after=_state(bool(before.appointments), False),
    )
    return True


# --- what a station is told -----------------------------------------------------------


def station_view(member: Membership) -> dict[str, Any]:
    """The zone as the station of `member` sees it (docs/sync/protocol.md, “Exchange zone”)."""
    everyone = sees_every_dossier(member)
    lines = items(member.organization, technician=None if everyone else member)
    for line in lines:
        if not line.dossier.revision:  # never written since revisions exist: give it a head
            with transaction.atomic():  # the change counter stays locked until commit
                exchange.touch(line.dossier, source="hub")
    span = window()
    entries = []
    for line in lines:
        dossier, technician, entry = line.dossier, line.technician, line.entry
        entries.append(
            {
                "dossier": change_entry_of(dossier),
                "address": dossier.address,
                "ordering_party": str(dossier.ordering_party or ""),
                "missions": [str(mission.mission_type) for mission in dossier.missions.all()],
                "appointment": line.appointment.public_id if line.appointment else None,
                "starts_at": line.starts_at,
                "ends_at": line.appointment.ends_at if line.appointment else None,
                "technician": str(technician) if technician else None,
                "technician_id": technician.public_id if technician else None,
                "mine": technician is not None and technician.pk == member.pk,
                "manual": entry is not None,
                "added_at": entry.added_at if entry else None,
            }
        )
    return {
        "today": span.today,
        "tomorrow": span.tomorrow,
        "everyone": everyone,
        "entries": entries,
    }
