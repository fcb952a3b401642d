"""Agenda endpoints: the events of a period (the agenda page's feed), making, moving
and cancelling appointments. A date-time without an offset is Paris time."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja import Status as Reply
from pydantic import Field, StrictBool

from comptoir.accounts.models import acting_user
from comptoir.agenda import services
from comptoir.agenda.models import Appointment
from comptoir.agenda.selectors import (
    between,
    contacts_of,
    get_appointment_for,
    missions_of,
    summary_of,
    technician_out,
    visible,
    with_details,
)
from comptoir.core.access import by_public_id
from comptoir.core.api_base import BIGINT_MAX, ErrorOut, InSchema, OutSchema, org_endpoint
from comptoir.core.errors import DomainError
from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource
from comptoir.dossiers import listing
from comptoir.dossiers.models import Dossier

router = Router(tags=["agenda"])
ERRORS: dict[int, Any] = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
MAX_PERIOD = timedelta(days=100)
PARIS_NOTE = "ISO 8601; without an offset, Paris time."


class TechnicianOut(Schema):
    id: UUID
    name: str
    initials: str
    color: str = Field(description="The member's agenda colour, #rrggbb.")
    text_color: str = Field(description="Black or white, whichever reads better on `color`.")


class DossierBrief(Schema):
    id: UUID
    number: str
    status: str


class ContactOut(Schema):
    role: str
    name: str
    phone: str
    email: str


class AppointmentOut(OutSchema):
    id: UUID
    version: int = Field(description="Send it back when moving: a stale one answers 409.")
    status: str
    start: datetime
    end: datetime
    summary: str
    title: str
    notes: str
    technician: TechnicianOut
    dossier: DossierBrief | None
    address: str
    missions: list[str]
    contacts: list[ContactOut]
    url: str = Field(description="The appointment's page.")


class EventsQuery(Schema):
    start: datetime = Field(description=f"Beginning of the period. {PARIS_NOTE}")
    end: datetime = Field(description=f"End of the period (at most 100 days on). {PARIS_NOTE}")
    technician: list[UUID] = Field(
        default_factory=list, description="Only these members (repeat the parameter)."
    )
    include_cancelled: bool = False


class AppointmentIn(InSchema):
    start: datetime = Field(description=PARIS_NOTE)
    end: datetime = Field(description=PARIS_NOTE)
    technician: UUID | None = Field(default=None, description="Default: yourself.")
    dossier: UUID | None = None
    title: str = Field(default="", max_length=200)
    address: str = Field(default="", max_length=300, description="Without a dossier only.")
    notes: str = Field(default="", max_length=5000)
    confirm_overlap: StrictBool = Field(
        default=False, description="Book even if the technician is busy then (else 409)."
    )


class MoveIn(InSchema):
    start: datetime = Field(description=PARIS_NOTE)
    end: datetime = Field(description=PARIS_NOTE)
    version: int = Field(ge=1, le=BIGINT_MAX, description="The version you saw.")
    technician: UUID | None = Field(default=None, description="Hand it over to this member.")
    confirm_overlap: StrictBool = False


class CancelIn(InSchema):
    version: int | None = Field(default=None, ge=1, le=BIGINT_MAX)


def aware(moment: datetime) -> datetime:
    """An instant: naive date-times are Paris time."""
    if timezone.is_naive(moment):
        try:
            return timezone.make_aware(moment, timezone.get_current_timezone())
        except (OverflowError, ValueError):
            raise DomainError(
                _("The date is outside the calendar."), details={"field": "start"}
            ) from None
    return moment


def appointment_out(appointment: Appointment) -> dict[str, Any]:
    dossier = appointment.dossier
    return {
        "id": appointment.public_id,
        "version": appointment.version,
        "status": appointment.status,
        "start": timezone.localtime(appointment.starts_at),
        "end": timezone.localtime(appointment.ends_at),
        "summary": summary_of(appointment),
        "title": appointment.title,
        "notes": appointment.notes,
        "technician": technician_out(appointment.technician),
        "dossier": (
            {"id": dossier.public_id, "number": dossier.number, "status": dossier.status}
            if dossier is not None
            else None
        ),
        "address": appointment.place,
        "missions": missions_of(appointment),
        "contacts": [asdict(contact) for contact in contacts_of(appointment)],
        "url": reverse(
            "agenda:appointment",
            kwargs={"org": appointment.organization.slug, "appointment_id": appointment.public_id},
        ),
    }


def _technician(member: Membership, technician_id: UUID | None) -> Membership | None:
    if technician_id is None:
        return None
    return by_public_id(Membership.objects.filter(organization=member.organization), technician_id)


def _dossier(member: Membership, dossier_id: UUID | None) -> Dossier | None:
    if dossier_id is None:
        return None
    return by_public_id(listing.base_queryset(member), dossier_id)


def _reloaded(member: Membership, appointment: Appointment) -> Appointment:
    return by_public_id(with_details(visible(member)), appointment.public_id)


@router.get(
    "/orgs/{org}/agenda/events",
    response={200: list[AppointmentOut], **ERRORS},
    summary="Appointments overlapping a period (the agenda's events, at most 2,000)",
)
@org_endpoint("api-agenda-events", Resource.CALENDAR, Action.VIEW)
def events(
    request: HttpRequest, member: Membership, filters: Query[EventsQuery]
) -> list[dict[str, Any]]:
    start, end = services.checked_times(aware(filters.start), aware(filters.end))
    if end - start > MAX_PERIOD:
        raise DomainError(_("Ask for at most 100 days at a time."), details={"field": "end"})
    rows = between(visible(member), start, end)
    if filters.technician:
        rows = rows.filter(technician__public_id__in=filters.technician)
    if not filters.include_cancelled:
        rows = rows.filter(status=Appointment.Status.PLANNED)
    rows = with_details(rows)
    return [appointment_out(row) for row in rows.order_by("starts_at", "pk")[:2000]]


@router.post(
    "/orgs/{org}/agenda/appointments",
    response={201: AppointmentOut, **ERRORS},
    summary="Make an appointment (409 `double_booking` when the technician is busy)",
)
@org_endpoint("api-appointment-add", Resource.CALENDAR, Action.ADD)
def create(request: HttpRequest, member: Membership, payload: AppointmentIn) -> Any:
    data = services.AppointmentInput(
        starts_at=aware(payload.start),
        ends_at=aware(payload.end),
        technician=_technician(member, payload.technician),
        dossier=_dossier(member, payload.dossier),
        title=payload.title,
        address=payload.address,
        notes=payload.notes,
    )
    made = services.create_appointment(
        member, data, actor=acting_user(request), confirm_overlap=payload.confirm_overlap
    )
    return Reply(201, appointment_out(_reloaded(member, made)))


@router.get(
    "/orgs/{org}/agenda/appointments/{appointment_id}",
    response={200: AppointmentOut, **ERRORS},
    summary="An appointment: its dossier, address, missions and contacts",
)
@org_endpoint("api-appointment", Resource.CALENDAR, Action.VIEW)
def detail(request: HttpRequest, member: Membership, appointment_id: str) -> dict[str, Any]:
    return appointment_out(get_appointment_for(member, appointment_id))


@router.post(
    "/orgs/{org}/agenda/appointments/{appointment_id}/move",
    response={200: AppointmentOut, **ERRORS},
    summary="Move or resize an appointment (409 `stale_version`, `double_booking`)",
)
@org_endpoint("api-appointment-move", Resource.CALENDAR, Action.CHANGE)
def move(
    request: HttpRequest, member: Membership, appointment_id: str, payload: MoveIn
) -> dict[str, Any]:
    appointment = get_appointment_for(member, appointment_id, Action.CHANGE)
    moved = services.move_appointment(
        member,
        appointment,
        starts_at=aware(payload.start),
        ends_at=aware(payload.end),
        version=payload.version,
        technician=_technician(member, payload.technician),
        actor=acting_user(request),
        confirm_overlap=payload.confirm_overlap,
    )
    return appointment_out(_reloaded(member, moved))


@router.post(
    "/orgs/{org}/agenda/appointments/{appointment_id}/cancel",
    response={200: AppointmentOut, **ERRORS},
    summary="Cancel an appointment (kept, shown as cancelled)",
)
@org_endpoint("api-appointment-cancel", Resource.CALENDAR, Action.DELETE)
def cancel(
    request: HttpRequest, member: Membership, appointment_id: str, payload: CancelIn
) -> dict[str, Any]:
    appointment = get_appointment_for(member, appointment_id, Action.DELETE)
    cancelled = services.cancel_appointment(
        member, appointment, actor=acting_user(request), version=payload.version
    )
    return appointment_out(_reloaded(member, cancelled))
