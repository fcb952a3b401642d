"""Domain operations on the agenda. Every write is transactional and audited.

A dossier's appointment (`Dossier.appointment_at`, what the stations and the
dossier pages show) follows its agenda: after each change the dossier takes the
start of its next planned appointment (the earliest not yet over, else the last
one), through `dossiers.services.update_dossier`, so the change is audited and
becomes a revision the stations fetch. An appointment set on a station or in the
dossier form is kept as it is and does not appear on the agenda (as in the
seed: only appointments made in the agenda are on the agenda).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.accounts.models import User
from comptoir.agenda import geocoding
from comptoir.agenda.models import AgendaSettings, Appointment
from comptoir.agenda.selectors import between, live
from comptoir.core import audit
from comptoir.core.errors import Conflict, DomainError, Forbidden
from comptoir.core.models import Membership, Organization
from comptoir.core.roles import Action, Resource, Scope
from comptoir.dossiers import exchange
from comptoir.dossiers import services as dossier_services
from comptoir.dossiers.lifecycle import Status
from comptoir.dossiers.models import Dossier

MAX_LENGTH = timedelta(days=31)
FIRST_YEAR, LAST_YEAR = 1990, 2199
TEXT_LIMITS = {"title": 200, "address": 300, "notes": 5000}


class DoubleBooking(Conflict):
    """The technician already has an appointment then: a warning the user may confirm."""

    code = "double_booking"


class StaleVersion(Conflict):
    code = "stale_version"


@dataclass
class AppointmentInput:
    """What a person enters for a new appointment (times aware, any offset)."""

    starts_at: datetime
    ends_at: datetime
    technician: Membership | None = None  # None: the member making it
    dossier: Dossier | None = None
    title: str = ""
    address: str = ""
    notes: str = ""


def state(appointment: Appointment) -> dict[str, Any]:
    """What the audit log keeps of an appointment."""
    dossier = appointment.dossier
    return dict(
        audit.jsonable(
            {
                "dossier": dossier.number if dossier is not None else None,
                "technician": str(appointment.technician),
                "starts_at": appointment.starts_at,
                "ends_at": appointment.ends_at,
                "status": appointment.status,
                "title": appointment.title,
                "address": appointment.address,
                "notes": appointment.notes[:500],
            }
        )
    )


def settings_for(org: Organization) -> AgendaSettings:
    """The organisation's agenda settings (defaults until someone saves them)."""
    found = AgendaSettings.objects.filter(organization=org).first()
    return found or AgendaSettings(organization=org)


# --- checks ----------------------------------------------------------------------


def checked_times(starts_at: datetime, ends_at: datetime) -> tuple[datetime, datetime]:
    """Both instants in UTC, the end after the start, at most a month long."""
    start, end = exchange.in_utc(starts_at), exchange.in_utc(ends_at)
    if start is None or end is None:
        raise DomainError(_("The date is outside the calendar."), details={"field": "start"})
    for field, moment in (("start", start), ("end", end)):
        if not FIRST_YEAR <= moment.year <= LAST_YEAR:
            raise DomainError(
                _("Choose a date between %(first)s and %(last)s.")
                % {"first": FIRST_YEAR, "last": LAST_YEAR},
                details={"field": field},
            )
    if end <= start:
        raise DomainError(_("The end must come after the start."), details={"field": "end"})
    if end - start > MAX_LENGTH:
        raise DomainError(_("An appointment lasts at most 31 days."), details={"field": "end"})
    return start.replace(microsecond=0), end.replace(microsecond=0)


def _check_technician(member: Membership, technician: Membership) -> None:
    """Own-agenda roles book only themselves; others book a listed, active member."""
    if member.scope_for(Resource.CALENDAR) is Scope.OWN and technician.pk != member.pk:
        raise Forbidden(_("You can only manage your own agenda."))
    if technician.organization_id != member.organization_id:
        raise DomainError(_("Unknown technician."), details={"field": "technician"})
    if technician.is_blocked or not (technician.listed_on_calendar or technician.pk == member.pk):
        raise DomainError(
            _("Choose an active member listed on the calendar."), details={"field": "technician"}
        )


def _check_dossier(member: Membership, dossier: Dossier | None) -> None:
    if dossier is None:
        return
    if dossier.organization_id != member.organization_id or dossier.deleted_at is not None:
        raise DomainError(_("Unknown dossier."), details={"field": "dossier"})


def _clean_text(values: dict[str, str]) -> dict[str, str]:
    cleaned = {}
    for name, value in values.items():
        value = (value or "").strip()
        if len(value) > TEXT_LIMITS[name]:
            raise DomainError(
                _("%(field)s: at most %(limit)s characters.")
                % {"field": name, "limit": TEXT_LIMITS[name]},
                details={"field": name},
            )
        cleaned[name] = value
    return cleaned


def overlapping(
    technician: Membership,
    start: datetime,
    end: datetime,
    exclude: Appointment | None = None,
) -> list[Appointment]:
    """The technician's planned appointments that overlap [start, end)."""
    queryset = live(
        between(
            Appointment.objects.filter(technician=technician, status=Appointment.Status.PLANNED),
            start,
            end,
        )
    ).select_related("dossier", "technician")
    if exclude is not None:
        queryset = queryset.exclude(pk=exclude.pk)
    return list(queryset.order_by("starts_at", "pk"))


def _refuse_double_booking(technician: Membership, overlaps: list[Appointment]) -> None:
    if not overlaps:
        return
    when = ", ".join(
        f"{timezone.localtime(item.starts_at):%d/%m %H:%M}–{timezone.localtime(item.ends_at):%H:%M}"
        f"{' (' + item.dossier.number + ')' if item.dossier_id and item.dossier else ''}"
        for item in sorted(overlaps, key=lambda item: item.starts_at)
    )
    raise DoubleBooking(
        _("%(name)s already has an appointment at that time: %(when)s. Confirm to book anyway.")
        % {"name": technician.display_name, "when": when},
        details={
            "overlaps": [
                {
                    "id": str(item.public_id),
                    "start": timezone.localtime(item.starts_at).isoformat(),
                    "end": timezone.localtime(item.ends_at).isoformat(),
                    "dossier": item.dossier.number if item.dossier_id and item.dossier else None,
                }
                for item in overlaps
            ]
        },
    )


# --- the dossier's appointment ------------------------------------------------------


def next_appointment(dossier: Dossier) -> Appointment | None:
    """The dossier's appointment: the earliest planned one not yet over, else the last one."""
    planned = Appointment.objects.filter(
        dossier=dossier, status=Appointment.Status.PLANNED
    ).select_related("technician")
    upcoming = planned.filter(ends_at__gt=timezone.now()).order_by("starts_at", "pk").first()
    return upcoming or planned.order_by("-starts_at", "-pk").first()


def sync_dossier(dossier: Dossier, *, member: Membership, actor: User | None) -> None:
    """Give the dossier its next appointment (and its technician, for roles that may assign).

    Goes through the dossier service, so it is audited and stations see a new revision.
    """
    dossier = Dossier.objects.select_related("technician").get(pk=dossier.pk)
    current = next_appointment(dossier)
    values: dict[str, Any] = {}
    wanted = current.starts_at if current else None
    if dossier.appointment_at != wanted:
        values["appointment_at"] = wanted
    if (
        current is not None
        and current.technician_id != dossier.technician_id
        and not current.technician.is_blocked
        and member.scope_for(Resource.DOSSIERS) is Scope.ALL
    ):
        values["technician"] = current.technician
    if values:
        dossier_services.update_dossier(
            member, dossier, dossier_services.DossierInput(values), actor=actor
        )
    if current is None and dossier.status == Status.SCHEDULED:
        dossier_services.change_status(dossier, Status.TO_SCHEDULE, actor=actor)


def _refresh_feeds(*technician_ids: int) -> None:
    """Calendar feeds of these members recompute their validator once this commits."""
    from comptoir.agenda.feeds import forget

    transaction.on_commit(partial(forget, *technician_ids))


def _geocode_later(address: str) -> None:
    if address:
        geocoding.look_up_later([address])


# --- writes --------------------------------------------------------------------------


@transaction.atomic
def create_appointment(
    member: Membership,
    data: AppointmentInput,
    *,
    actor: User | None,
    confirm_overlap: bool = False,
) -> Appointment:
    if not member.can(Resource.CALENDAR, Action.ADD):
        raise Forbidden(_("Your role does not allow this action."))
    technician = data.technician or member
    _check_technician(member, technician)
    _check_dossier(member, data.dossier)
    start, end = checked_times(data.starts_at, data.ends_at)
    text = _clean_text({"title": data.title, "address": data.address, "notes": data.notes})
    if data.dossier is not None:
        text["address"] = ""  # the dossier's property is the place
    if not confirm_overlap:
        _refuse_double_booking(technician, overlapping(technician, start, end))
    now = timezone.now()
    appointment = Appointment.objects.create(
        organization=member.organization,
        dossier=data.dossier,
        technician=technician,
        starts_at=start,
        ends_at=end,
        created_by=actor,
        created_at=now,
        updated_at=now,
        **text,
    )
    audit.record(
        "appointment.create",
        organization=member.organization,
        actor=actor,
        target=appointment,
        after=state(appointment),
    )
    if data.dossier is not None:
        sync_dossier(data.dossier, member=member, actor=actor)
    _refresh_feeds(technician.pk)
    _geocode_later(data.dossier.address if data.dossier is not None else text["address"])
    return appointment


def _claim(appointment: Appointment, version: int | None, **changes: Any) -> None:
    """Write `changes` if the appointment is still planned and at `version`; else 409."""
    matching = Appointment.objects.filter(pk=appointment.pk, status=Appointment.Status.PLANNED)
    if version is not None:
        matching = matching.filter(version=version)
    if not matching.update(version=F("version") + 1, updated_at=timezone.now(), **changes):
        raise _conflict(appointment)


def _conflict(appointment: Appointment) -> Conflict:
    """Why a change based on an older copy is refused, with the current copy."""
    current = Appointment.objects.select_related("technician").get(pk=appointment.pk)
    if current.status == Appointment.Status.CANCELLED:
        return Conflict(
            _("This appointment has been cancelled."),
            code="appointment_cancelled",
            details={"version": current.version},
        )
    return StaleVersion(
        _(
            "Someone else changed this appointment in the meantime (now %(when)s, %(who)s): "
            "the agenda shows it as it is now."
        )
        % {
            "when": f"{timezone.localtime(current.starts_at):%d/%m/%Y %H:%M}",
            "who": current.technician.display_name,
        },
        details={
            "version": current.version,
            "start": timezone.localtime(current.starts_at).isoformat(),
            "end": timezone.localtime(current.ends_at).isoformat(),
            "technician": str(current.technician.public_id),
        },
    )


@transaction.atomic
def move_appointment(
    member: Membership,
    appointment: Appointment,
    *,
    starts_at: datetime,
    ends_at: datetime,
    version: int,
    actor: User | None,
    technician: Membership | None = None,
    confirm_overlap: bool = False,
) -> Appointment:
    """Move or resize (and maybe hand over) an appointment seen at `version`."""
    technician = technician or appointment.technician
    if not member.can(Resource.CALENDAR, Action.CHANGE, owner_id=appointment.technician_id):
        raise Forbidden(_("Your role does not allow this action."))
    if technician.pk != appointment.technician_id:
        _check_technician(member, technician)
    start, end = checked_times(starts_at, ends_at)
    if appointment.version != version or appointment.is_cancelled:
        raise _conflict(appointment)
    if not confirm_overlap:
        _refuse_double_booking(technician, overlapping(technician, start, end, appointment))
    before = state(appointment)
    _claim(appointment, version, starts_at=start, ends_at=end, technician=technician)
    _refresh_feeds(appointment.technician_id, technician.pk)
    appointment.refresh_from_db()
    audit.record_change(
        "appointment.move",
        organization=appointment.organization,
        actor=actor,
        target=appointment,
        before=before,
        after=state(appointment),
    )
    if appointment.dossier_id is not None and appointment.dossier is not None:
        sync_dossier(appointment.dossier, member=member, actor=actor)
    return appointment


@transaction.atomic
def cancel_appointment(
    member: Membership,
    appointment: Appointment,
    *,
    actor: User | None,
    version: int | None = None,
) -> Appointment:
    """Cancel (kept, shown as cancelled in the calendar feeds); 409 if already cancelled."""
    if not member.can(Resource.CALENDAR, Action.DELETE, owner_id=appointment.technician_id):
        raise Forbidden(_("Your role does not allow this action."))
    before = state(appointment)
    _claim(appointment, version, status=Appointment.Status.CANCELLED, cancelled_at=timezone.now())
    _refresh_feeds(appointment.technician_id)
    appointment.refresh_from_db()
    audit.record_change(
        "appointment.cancel",
        organization=appointment.organization,
        actor=actor,
        target=appointment,
        before=before,
        after=state(appointment),
    )
    if appointment.dossier_id is not None and appointment.dossier is not None:
        sync_dossier(appointment.dossier, member=member, actor=actor)
    return appointment


@transaction.atomic
def save_settings(org: Organization, *, actor: User | None, **values: Any) -> AgendaSettings:
    known = {"digest_enabled", "digest_time", "default_duration"}
    unknown = set(values) - known
    if unknown:
        raise DomainError(_("Unknown field: %(name)s.") % {"name": ", ".join(sorted(unknown))})
    duration = values.get("default_duration")
    if duration is not None and not 5 <= int(duration) <= 24 * 60:
        raise DomainError(
            _("Choose a length between 5 minutes and 24 hours."),
            details={"field": "default_duration"},
        )
    found, _created = AgendaSettings.objects.select_for_update().get_or_create(organization=org)
    fields = sorted(known)
    before = audit.snapshot(found, fields)
    for name, value in values.items():
        setattr(found, name, value)
    found.save()
    audit.record_change(
        "agenda.settings",
        organization=org,
        actor=actor,
        target=found,
        object_repr=str(_("Agenda settings")),
        before=before,
        after=audit.snapshot(found, fields),
    )
    return found
