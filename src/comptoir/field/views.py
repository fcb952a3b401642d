"""The field app's pages (/o/<org>/terrain/): today and tomorrow, dossiers, a new dossier,
a new appointment, a receipt. Thin: the scoped querysets of the apps below fetch, their
services act; every form posts without JavaScript."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.accounts.models import acting_user
from comptoir.agenda import views as agenda_views
from comptoir.agenda.selectors import calendar_technicians
from comptoir.core.access import org_page
from comptoir.core.errors import DomainError
from comptoir.core.forms import show_refusal
from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource
from comptoir.dossiers import listing
from comptoir.dossiers import services as dossier_services
from comptoir.dossiers.forms import NoteForm
from comptoir.dossiers.models import Dossier
from comptoir.expenses import services as expense_services
from comptoir.field import selectors
from comptoir.field.directions import to_address
from comptoir.field.forms import FieldDossierForm, FieldReceiptForm


def actions_for(member: Membership) -> dict[str, bool]:
    """What the member's role offers in the field app (buttons and tabs)."""
    return {
        "can_see_agenda": member.can(Resource.CALENDAR, Action.VIEW),
        "can_add_appointment": member.can(Resource.CALENDAR, Action.ADD),
        "can_see_dossiers": member.can(Resource.DOSSIERS, Action.VIEW),
        "can_add_dossier": member.can(Resource.DOSSIERS, Action.ADD),
        "can_add_receipt": member.can(Resource.RECEIPTS, Action.ADD),
    }


def _page(
    request: HttpRequest, member: Membership, template: str, context: dict[str, Any]
) -> HttpResponse:
    return render(
        request,
        template,
        {"field_org": member.organization.slug, **actions_for(member), **context},
    )


def _dossier(member: Membership, dossier_id: str, action: Action = Action.VIEW) -> Dossier:
    return listing.dossier_for(member, dossier_id, action)


def _home(member: Membership) -> HttpResponse:
    return redirect("field:home", org=member.organization.slug)


# --- today and tomorrow ---------------------------------------------------------------


def _chosen_technician(
    request: HttpRequest, member: Membership
) -> tuple[Membership, list[Membership]]:
    """Whose appointments: one's own, or a colleague's for roles that see every agenda."""
    technicians = calendar_technicians(member)
    wanted = request.GET.get("technicien", "")
    chosen = next((tech for tech in technicians if str(tech.public_id) == wanted), member)
    return chosen, technicians


@org_page(None, name="field-home")
def home(request: HttpRequest, member: Membership) -> HttpResponse:
    days: list[selectors.Day] = []
    chosen, technicians = member, list[Membership]()
    if member.can(Resource.CALENDAR, Action.VIEW):
        chosen, technicians = _chosen_technician(request, member)
        days = selectors.two_days(member, chosen)
    return _page(
        request,
        member,
        "field/home.html",
        {"days": days, "chosen": chosen, "technicians": technicians, "tab": "home"},
    )


# --- dossiers -----------------------------------------------------------------------------


@org_page(Resource.DOSSIERS, Action.VIEW, name="field-dossiers")
def dossier_list(request: HttpRequest, member: Membership) -> HttpResponse:
    text = request.GET.get("q", "").replace("\x00", "")[:200]  # PostgreSQL refuses U+0000
    return _page(
        request,
        member,
        "field/dossiers.html",
        {"dossiers": selectors.dossiers_for(member, text), "q": text, "tab": "dossiers"},
    )


@org_page(Resource.DOSSIERS, Action.VIEW, name="field-dossier")
def dossier_detail(request: HttpRequest, member: Membership, dossier_id: str) -> HttpResponse:
    dossier = _dossier(member, dossier_id)
    return _page(
        request,
        member,
        "field/dossier.html",
        {
            "dossier": dossier,
            "directions": to_address(dossier.address),
            "contacts": selectors.contacts_of(dossier),
            "appointments": selectors.upcoming_for(member, dossier),
            "notes": dossier.notes.select_related("author")[:20],
            "documents": dossier.documents.filter(removed_at__isnull=True)[:20],
            "note_form": NoteForm(),
            "can_add_note": dossier_services.may_change(member, dossier),
            "tab": "dossiers",
        },
    )


@org_page(Resource.DOSSIERS, Action.CHANGE, name="field-note-add", methods=("POST",))
def note_add(request: HttpRequest, member: Membership, dossier_id: str) -> HttpResponse:
    dossier = _dossier(member, dossier_id, Action.CHANGE)
    try:
        dossier_services.add_note(dossier, request.POST.get("text", ""), actor=acting_user(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Note added."))
    url = reverse(
        "field:dossier", kwargs={"org": member.organization.slug, "dossier_id": dossier.public_id}
    )
    return redirect(f"{url}#notes")


@org_page(Resource.DOSSIERS, Action.ADD, name="field-dossier-create", methods=("GET", "POST"))
def dossier_create(request: HttpRequest, member: Membership) -> HttpResponse:
    dossier_services.mission_types(member.organization)
    form = FieldDossierForm(member, request.POST or None)
    if request.method == "POST" and form.is_valid():
        values = form.values()
        if not form.errors:
            data = dossier_services.DossierInput(values, form.cleaned_data.get("missions", []))
            try:
                dossier = dossier_services.create_dossier(member, data, actor=acting_user(request))
            except DomainError as exc:
                show_refusal(form, exc)
            else:
                messages.success(request, _("Dossier %(number)s created.") % {"number": dossier})
                return redirect(
                    "field:dossier", org=member.organization.slug, dossier_id=dossier.public_id
                )
    return _page(request, member, "field/dossier_form.html", {"form": form, "tab": "dossiers"})


# --- a new appointment --------------------------------------------------------------------


def _next_hour() -> dict[str, str]:
    """Prefill the form with the next full hour, today."""
    now = timezone.localtime()
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return {"start": start.replace(tzinfo=None).isoformat()}


@org_page(Resource.CALENDAR, Action.ADD, name="field-appointment-add", methods=("GET", "POST"))
def appointment_add(request: HttpRequest, member: Membership) -> HttpResponse:
    booking = agenda_views.book(request, member, {**_next_hour(), **request.GET.dict()})
    if booking.made is not None:
        start = timezone.localtime(booking.made.starts_at)
        messages.success(
            request,
            _("Appointment saved: %(day)s at %(time)s.")
            % {"day": f"{start:%d/%m/%Y}", "time": f"{start:%H:%M}"},
        )
        return _home(member)
    return _page(
        request,
        member,
        "field/appointment_form.html",
        {
            "form": booking.form,
            "dossier": booking.dossier,
            "overlap": booking.overlap,
            "tab": "appointment",
        },
    )


# --- a receipt --------------------------------------------------------------------------


def _receipt_form(request: HttpRequest, member: Membership) -> FieldReceiptForm:
    return FieldReceiptForm(
        request.POST or None,
        request.FILES or None,
        members=[],
        categories=expense_services.categories(member.organization, active_only=True),
        initial={"date": timezone.localdate(), "dossier": request.GET.get("dossier", "")[:30]},
    )


@org_page(Resource.RECEIPTS, Action.ADD, name="field-receipt-add", methods=("GET", "POST"))
def receipt_add(request: HttpRequest, member: Membership) -> HttpResponse:
    form = _receipt_form(request, member)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            receipt = expense_services.create_receipt(
                member.organization,
                actor=acting_user(request),
                upload=upload,
                file_name=upload.name,
                **form.receipt_fields(member),  # the member's own: the form has no member field
            )
        except DomainError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Receipt “%(name)s” saved.") % {"name": receipt})
            return _home(member)
    return _page(request, member, "field/receipt_form.html", {"form": form, "tab": "receipt"})
