"""Agenda pages: the calendar, a new appointment, an appointment, the day's map, one's
subscription address, the organisation's settings; and the ICS feed itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from comptoir.accounts.models import acting_user
from comptoir.agenda import feeds, geocoding, services
from comptoir.agenda.forms import AgendaSettingsForm, AppointmentForm, FeedOptionsForm, initial_from
from comptoir.agenda.models import Appointment, CalendarFeed
from comptoir.agenda.selectors import (
    calendar_technicians,
    contacts_of,
    day_bounds,
    get_appointment_for,
    missions_of,
    summary_of,
    text_colour,
    visible,
    with_details,
)
from comptoir.core.access import org_page
from comptoir.core.errors import DomainError
from comptoir.core.forms import show_refusal
from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource
from comptoir.dossiers import listing
from comptoir.dossiers.models import Dossier

VIEWS = {"dayGridMonth", "timeGridWeek", "timeGridDay", "listWeek"}


def _technicians_out(member: Membership) -> list[dict[str, str]]:
    return [
        {
            "id": str(tech.public_id),
            "name": tech.display_name,
            "color": tech.agenda_color,
            "text_color": text_colour(tech.agenda_color),
        }
        for tech in calendar_technicians(member)
    ]


@org_page(Resource.CALENDAR, Action.VIEW, name="agenda")
def calendar(request: HttpRequest, member: Membership) -> HttpResponse:
    org = member.organization.slug
    api = f"/api/v1/orgs/{org}/agenda"
    config = {
        "eventsUrl": f"{api}/events",
        "moveUrl": f"{api}/appointments/__id__/move",
        "addUrl": reverse("agenda:appointment-add", kwargs={"org": org}),
        "canAdd": member.can(Resource.CALENDAR, Action.ADD),
        "canChange": member.can(Resource.CALENDAR, Action.CHANGE),
        "initialView": view if (view := request.GET.get("view")) in VIEWS else "timeGridWeek",
        "initialDate": _date_param(request.GET.get("date"), None),
        "texts": {
            "stale": _("Someone else changed this appointment: the agenda has been reloaded."),
            "failed": _("The change could not be saved."),
        },
    }
    return render(
        request,
        "agenda/calendar.html",
        {
            "technicians": _technicians_out(member),
            "config": config,
            "can_add": config["canAdd"],
            "today": timezone.localdate(),
        },
    )


@dataclass
class Booking:
    """The appointment form of a page, its dossier, and what a POST of it gave."""

    form: AppointmentForm
    dossier: Dossier | None
    overlap: bool = False  # a double booking: the same form, ticked "Book anyway", books
    made: Appointment | None = None


def book(request: HttpRequest, member: Membership, params: Mapping[str, str]) -> Booking:
    """The agenda's and the phone's "new appointment": the form (initial values from
    `params`), and on a valid POST the appointment booked, or the refusal shown on the
    field it names."""
    defaults = services.settings_for(member.organization)
    dossier = None
    dossier_id = request.POST.get("dossier") or request.GET.get("dossier")
    if dossier_id:
        dossier = listing.dossier_for(member, dossier_id)
    initial = initial_from(params, member, defaults.default_duration)
    form = AppointmentForm(member, request.POST or None, initial=initial, initial_dossier=dossier)
    booking = Booking(form, dossier)
    if request.method == "POST" and form.is_valid():
        try:
            booking.made = services.create_appointment(
                member,
                services.AppointmentInput(**form.values()),
                actor=acting_user(request),
                confirm_overlap=form.cleaned_data["confirm_overlap"],
            )
        except services.DoubleBooking as exc:
            booking.overlap = True
            form.add_error(None, exc.message)
        except DomainError as exc:
            show_refusal(form, exc)
    return booking


@org_page(Resource.CALENDAR, Action.ADD, name="agenda-appointment-add", methods=("GET", "POST"))
def appointment_add(request: HttpRequest, member: Membership) -> HttpResponse:
    booking = book(request, member, request.GET)
    if booking.made is not None:
        messages.success(request, _("Appointment saved."))
        start = timezone.localtime(booking.made.starts_at)
        url = reverse("agenda:calendar", kwargs={"org": member.organization.slug})
        return redirect(f"{url}?date={start.date().isoformat()}")
    return render(
        request,
        "agenda/appointment_form.html",
        {"form": booking.form, "dossier": booking.dossier, "overlap": booking.overlap},
    )


@org_page(Resource.CALENDAR, Action.VIEW, name="agenda-appointment")
def appointment_detail(
    request: HttpRequest, member: Membership, appointment_id: str
) -> HttpResponse:
    appointment = get_appointment_for(member, appointment_id)
    return render(
        request,
        "agenda/appointment.html",
        {
            "appointment": appointment,
            "summary": summary_of(appointment),
            "missions": missions_of(appointment),
            "contacts": contacts_of(appointment),
            "start": timezone.localtime(appointment.starts_at),
            "end": timezone.localtime(appointment.ends_at),
            "can_cancel": not appointment.is_cancelled
            and member.can(Resource.CALENDAR, Action.DELETE, owner_id=appointment.technician_id),
            "can_see_dossier": appointment.dossier is not None
            and listing.base_queryset(member).filter(pk=appointment.dossier.pk).exists(),
        },
    )


@org_page(Resource.CALENDAR, Action.DELETE, name="agenda-appointment-cancel", methods=("POST",))
def appointment_cancel(
    request: HttpRequest, member: Membership, appointment_id: str
) -> HttpResponse:
    appointment = get_appointment_for(member, appointment_id, Action.DELETE)
    try:
        services.cancel_appointment(member, appointment, actor=acting_user(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Appointment cancelled."))
    return redirect(
        "agenda:appointment", org=member.organization.slug, appointment_id=appointment.public_id
    )


def _date_param(raw: str | None, default: date | None) -> Any:
    try:
        return date.fromisoformat(raw) if raw else default
    except ValueError:
        return default


@org_page(Resource.CALENDAR, Action.VIEW, name="agenda-map")
def day_map(request: HttpRequest, member: Membership) -> HttpResponse:
    """One technician's appointments of one day, in order, on a map."""
    day = _date_param(request.GET.get("date"), timezone.localdate())
    technicians = calendar_technicians(member)
    chosen = next(
        (tech for tech in technicians if str(tech.public_id) == request.GET.get("technician")),
        member if member in technicians else (technicians[0] if technicians else member),
    )
    start, end = day_bounds(day)
    rows = list(
        with_details(
            visible(member).filter(
                technician=chosen,
                status=Appointment.Status.PLANNED,
                starts_at__lt=end,
                ends_at__gt=start,
            )
        ).order_by("starts_at", "pk")
    )
    known = geocoding.cached(row.place for row in rows)
    missing = sorted({row.place for row in rows if geocoding.needs_lookup(row.place, known)})
    geocoding.look_up_later(missing)
    stops = []
    for number, row in enumerate(rows, start=1):
        found = known.get(geocoding.address_key(row.place))
        located = found is not None and found.latitude is not None
        stops.append(
            {
                "number": number,
                "start": timezone.localtime(row.starts_at).strftime("%H:%M"),
                "end": timezone.localtime(row.ends_at).strftime("%H:%M"),
                "summary": summary_of(row),
                "address": row.place,
                "url": reverse(
                    "agenda:appointment",
                    kwargs={"org": member.organization.slug, "appointment_id": row.public_id},
                ),
                "lat": found.latitude if located and found else None,
                "lon": found.longitude if located and found else None,
            }
        )
    return render(
        request,
        "agenda/map.html",
        {
            "day": day,
            "technicians": technicians,
            "chosen": chosen,
            "stops": stops,
            "located": [stop for stop in stops if stop["lat"] is not None],
            "map_config": {
                "tiles": settings.COMPTOIR_MAP_TILES_URL,
                "attribution": settings.COMPTOIR_MAP_ATTRIBUTION,
                "colour": chosen.agenda_color,
                "textColour": text_colour(chosen.agenda_color),
                "label": _("Map of the appointments"),
            },
            "geocoding_on": geocoding.get_geocoder() is not None,
        },
    )


# --- one's calendar subscription ------------------------------------------------------


def _own_feed(member: Membership) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(membership=member).first()


@org_page(Resource.CALENDAR, Action.VIEW, name="agenda-feed")
def feed_page(request: HttpRequest, member: Membership) -> HttpResponse:
    feed = _own_feed(member)
    context: dict[str, Any] = {"feed": feed, "form": FeedOptionsForm(initial={"private": False})}
    if feed is not None:
        context["form"] = FeedOptionsForm(initial={"private": feed.private})
    if feed is not None and feed.is_active:
        webcal = feeds.webcal_url(feed)
        context.update(
            url=feeds.url_for(feed),
            webcal=webcal,
            qr=segno.make(webcal, error="m").svg_inline(
                scale=4, title=_("Calendar subscription address")
            ),
        )
    return render(request, "agenda/feed.html", context)


def _back_to_feed(member: Membership) -> HttpResponse:
    return redirect("agenda:feed", org=member.organization.slug)


@org_page(Resource.CALENDAR, Action.CHANGE, name="agenda-feed-regenerate", methods=("POST",))
def feed_regenerate(request: HttpRequest, member: Membership) -> HttpResponse:
    had = _own_feed(member)
    feeds.regenerate(member, actor=acting_user(request))
    if had is not None and had.is_active:
        messages.success(request, _("New address made: the previous one no longer works."))
    else:
        messages.success(request, _("Your subscription address is ready."))
    return _back_to_feed(member)


@org_page(Resource.CALENDAR, Action.CHANGE, name="agenda-feed-revoke", methods=("POST",))
def feed_revoke(request: HttpRequest, member: Membership) -> HttpResponse:
    feed = _own_feed(member)
    if feed is not None and feed.is_active:
        feeds.revoke(feed, actor=acting_user(request))
        messages.success(request, _("The address no longer works."))
    return _back_to_feed(member)


@org_page(Resource.CALENDAR, Action.CHANGE, name="agenda-feed-options", methods=("POST",))
def feed_options(request: HttpRequest, member: Membership) -> HttpResponse:
    form = FeedOptionsForm(request.POST)
    feed = _own_feed(member)
    if feed is None:
        feed = feeds.regenerate(member, actor=acting_user(request))
    if form.is_valid():
        feeds.set_private(feed, form.cleaned_data["private"], actor=acting_user(request))
        messages.success(request, _("Settings saved."))
    return _back_to_feed(member)


# --- Outils › Paramètres › Agenda ---------------------------------------------------


@org_page(Resource.SETTINGS, Action.CHANGE, name="agenda-settings", methods=("GET", "POST"))
def agenda_settings(request: HttpRequest, member: Membership) -> HttpResponse:
    current = services.settings_for(member.organization)
    form = AgendaSettingsForm(
        request.POST or None,
        initial={
            "digest_enabled": current.digest_enabled,
            "digest_time": current.digest_time,
            "default_duration": current.default_duration,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.save_settings(
                member.organization, actor=acting_user(request), **form.cleaned_data
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("agenda:settings", org=member.organization.slug)
    return render(request, "agenda/settings.html", {"form": form})


# --- the feed itself ---------------------------------------------------------------------


def _matches(header: str, etag: str) -> bool:
    wanted = {part.strip().removeprefix("W/") for part in header.split(",")}
    return "*" in wanted or f'"{etag}"' in wanted


@require_safe
def feed_ics(request: HttpRequest, token: str) -> HttpResponse:
    """The subscription itself: no session, the address is the key; 304 when unchanged."""
    feed = feeds.feed_for_token(token)
    if feed is None:
        raise Http404
    etag = feeds.validator(feed)
    headers = {"ETag": f'"{etag}"', "Cache-Control": "private, no-cache"}
    if _matches(request.headers.get("If-None-Match", ""), etag):
        response = HttpResponse(status=304)
    else:
        built = feeds.build(feed, etag)
        response = HttpResponse(built.body, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = 'inline; filename="agenda.ics"'
    for name, value in headers.items():
        response[name] = value
    response["X-Robots-Tag"] = "noindex"
    return response
