"""Compléments pages: receipts, mileage (vehicles, trips, the scale) and monthly statements.

Thin: a form types the input, `listing` fetches through scoped querysets, one
service acts, the page renders.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from comptoir.accounts.models import acting_user
from comptoir.company.services import get_profile
from comptoir.core.access import by_public_id, org_page
from comptoir.core.errors import DomainError, NotFound
from comptoir.core.forms import show_refusal
from comptoir.core.models import AuditEntry, Membership
from comptoir.core.roles import Action, Resource
from comptoir.expenses import exports, listing, mileage, services
from comptoir.expenses.forms import (
    CancelForm,
    CategoryForm,
    ListFilters,
    ReceiptForm,
    StatementForm,
    TripForm,
    VehicleForm,
)
from comptoir.expenses.models import Receipt, Trip, Vehicle
from comptoir.expenses.statements import build_statement

NAV = "expenses:receipts"  # the "Compléments" menu entry stays lit on every page here


def _page(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, template, {"nav_active": NAV, **context})


def _query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- receipts -------------------------------------------------------------------------


def _receipt(member: Membership, receipt_id: str, action: Action = Action.VIEW) -> Receipt:
    return by_public_id(listing.receipts(member, action), receipt_id)


def _list_filters(request: HttpRequest, member: Membership, **extra: Any) -> ListFilters:
    return ListFilters(request.GET or None, members=listing.colleagues(member), **extra)


def _filter_values(member: Membership, form: ListFilters) -> dict[str, Any] | None:
    """The filters as the listing reads them; None when a value is not valid."""
    if not form.is_bound:
        return {}
    if not form.is_valid():
        return None
    data = dict(form.cleaned_data)
    data["member"] = listing.colleague(member, data["member"]) if data.get("member") else None
    data["cancelled"] = {"": False, "1": True, "all": "all"}[data.get("cancelled") or ""]
    return data


@org_page(Resource.RECEIPTS, Action.VIEW, name="receipt-list")
def receipt_list(request: HttpRequest, member: Membership) -> HttpResponse:
    categories = services.categories(member.organization)
    form = _list_filters(request, member, categories=categories)
    data = _filter_values(member, form)
    queryset = listing.receipts(member)
    queryset = listing.filter_receipts(queryset, data) if data is not None else queryset.none()
    page = Paginator(queryset.order_by("-date", "-pk"), listing.PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return _page(
        request,
        "expenses/receipts.html",
        {
            "form": form,
            "page": page,
            "query": _query(request),
            "totals": listing.receipt_totals(queryset),
            "can_add": member.can(Resource.RECEIPTS, Action.ADD),
            "tab": "receipts",
        },
    )


@org_page(Resource.RECEIPTS, Action.ADD, name="receipt-create", methods=("GET", "POST"))
def receipt_create(request: HttpRequest, member: Membership) -> HttpResponse:
    form = ReceiptForm(
        request.POST or None,
        request.FILES or None,
        members=listing.colleagues(member),
        categories=services.categories(member.organization, active_only=True),
        initial={"member": str(member.public_id), "date": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            receipt = services.create_receipt(
                member.organization,
                actor=acting_user(request),
                upload=upload,
                file_name=upload.name,
                **form.receipt_fields(member),
            )
        except DomainError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Receipt “%(name)s” saved.") % {"name": receipt})
            if request.POST.get("again"):
                return redirect("expenses:receipt-create", org=member.organization.slug)
            return redirect(
                "expenses:receipt", org=member.organization.slug, receipt_id=receipt.public_id
            )
    return _page(request, "expenses/receipt_form.html", {"form": form, "tab": "receipts"})


@org_page(Resource.RECEIPTS, Action.CHANGE, name="receipt-edit", methods=("GET", "POST"))
def receipt_edit(request: HttpRequest, member: Membership, receipt_id: str) -> HttpResponse:
    receipt = _receipt(member, receipt_id, Action.CHANGE)
    initial = {
        "member": str(receipt.member.public_id),
        "date": receipt.date,
        "supplier": receipt.supplier,
        "category": receipt.category.code,
        "amount_ttc": receipt.amount_ttc,
        "amount_ht": receipt.amount_ht,
        "amount_vat": receipt.amount_vat,
        "dossier": receipt.dossier.number if receipt.dossier else "",
        "notes": receipt.notes,
    }
    choices = services.categories(member.organization, active_only=True)
    if receipt.category not in choices:
        choices.append(receipt.category)
    form = ReceiptForm(
        request.POST or None,
        members=listing.colleagues(member),
        categories=choices,
        with_file=False,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_receipt(
                receipt, actor=acting_user(request), **form.receipt_fields(member)
            )
        except DomainError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Receipt “%(name)s” saved.") % {"name": receipt})
            return redirect(
                "expenses:receipt", org=member.organization.slug, receipt_id=receipt.public_id
            )
    return _page(
        request,
        "expenses/receipt_form.html",
        {"form": form, "receipt": receipt, "tab": "receipts"},
    )


def _history(member: Membership, kind: str, record: Any) -> Any:
    return AuditEntry.objects.filter(
        organization=member.organization, object_type=kind, object_id=str(record.public_id)
    ).order_by("-created_at", "-seq")[:50]


@org_page(Resource.RECEIPTS, Action.VIEW, name="receipt-detail")
def receipt_detail(request: HttpRequest, member: Membership, receipt_id: str) -> HttpResponse:
    receipt = _receipt(member, receipt_id)
    return _page(
        request,
        "expenses/receipt_detail.html",
        {
            "receipt": receipt,
            "cancel_form": CancelForm(),
            "history": _history(member, "receipt", receipt),
            "can_change": member.can(Resource.RECEIPTS, Action.CHANGE),
            "can_cancel": member.can(Resource.RECEIPTS, Action.DELETE),
            "tab": "receipts",
        },
    )


@org_page(Resource.RECEIPTS, Action.DELETE, name="receipt-cancel", methods=("POST",))
def receipt_cancel(request: HttpRequest, member: Membership, receipt_id: str) -> HttpResponse:
    receipt = _receipt(member, receipt_id, Action.DELETE)
    form = CancelForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError(_("Give the reason for cancelling."))
        services.cancel_receipt(
            receipt, actor=acting_user(request), reason=form.cleaned_data["reason"]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Receipt “%(name)s” cancelled.") % {"name": receipt})
    return redirect("expenses:receipt", org=member.organization.slug, receipt_id=receipt.public_id)


@org_page(Resource.RECEIPTS, Action.VIEW, name="receipt-file")
def receipt_file(request: HttpRequest, member: Membership, receipt_id: str) -> HttpResponseBase:
    """The receipt's file: shown in the page (`?inline=1`) or downloaded."""
    receipt = _receipt(member, receipt_id)
    inline = request.GET.get("inline") == "1"
    response = FileResponse(
        receipt.file.open("rb"),
        as_attachment=not inline,
        filename=receipt.file_name,
        content_type=receipt.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    if inline:  # shown in the receipt page's frame
        response["X-Frame-Options"] = "SAMEORIGIN"
    return response


# --- categories -----------------------------------------------------------------------


@org_page(Resource.RECEIPTS, Action.VIEW, name="expense-categories")
def category_list(request: HttpRequest, member: Membership) -> HttpResponse:
    return _page(
        request,
        "expenses/categories.html",
        {
            "categories": services.categories(member.organization),
            "form": CategoryForm(),
            "can_change": member.can(Resource.RECEIPTS, Action.CHANGE),
            "tab": "receipts",
        },
    )


@org_page(Resource.RECEIPTS, Action.CHANGE, name="expense-category-add", methods=("POST",))
def category_add(request: HttpRequest, member: Membership) -> HttpResponse:
    form = CategoryForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError(_("Give the category a label (80 characters at most)."))
        category = services.create_category(
            member.organization, form.cleaned_data["label"], actor=acting_user(request)
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Category “%(label)s” added.") % {"label": category.label})
    return redirect("expenses:categories", org=member.organization.slug)


@org_page(Resource.RECEIPTS, Action.CHANGE, name="expense-category-edit", methods=("POST",))
def category_edit(request: HttpRequest, member: Membership, code: str) -> HttpResponse:
    category = services.category_by_code(member.organization, code)
    if category is None:
        raise NotFound(_("Not found."))
    label = request.POST.get("label")
    active = request.POST.get("is_active")
    try:
        services.update_category(
            category,
            actor=acting_user(request),
            label=label if label is not None else None,
            is_active=None if active is None else active == "1",
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Category “%(label)s” saved.") % {"label": category.label})
    return redirect("expenses:categories", org=member.organization.slug)


# --- vehicles -------------------------------------------------------------------------


def _vehicle(member: Membership, vehicle_id: str, action: Action = Action.VIEW) -> Vehicle:
    return by_public_id(listing.vehicles(member, action), vehicle_id)


@org_page(Resource.MILEAGE, Action.VIEW, name="vehicle-list")
def vehicle_list(request: HttpRequest, member: Membership) -> HttpResponse:
    rows = listing.vehicles(member).order_by("member__display_name", "-is_active", "label")
    return _page(
        request,
        "expenses/vehicles.html",
        {"vehicles": rows, "can_add": member.can(Resource.MILEAGE, Action.ADD), "tab": "mileage"},
    )


def _vehicle_fields(form: VehicleForm) -> dict[str, Any]:
    data = dict(form.cleaned_data)
    data.pop("member")
    return data


@org_page(Resource.MILEAGE, Action.ADD, name="vehicle-create", methods=("GET", "POST"))
def vehicle_create(request: HttpRequest, member: Membership) -> HttpResponse:
    form = VehicleForm(
        request.POST or None,
        members=listing.colleagues(member),
        initial={"member": request.GET.get("member", ""), "is_active": True, "kind": "car"},
    )
    if request.method == "POST" and form.is_valid():
        try:
            vehicle = services.create_vehicle(
                member.organization,
                actor=acting_user(request),
                member=listing.colleague(member, form.cleaned_data["member"]),
                **_vehicle_fields(form),
            )
        except DomainError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Vehicle “%(name)s” saved.") % {"name": vehicle})
            return redirect("expenses:vehicles", org=member.organization.slug)
    return _page(request, "expenses/vehicle_form.html", {"form": form, "tab": "mileage"})


@org_page(Resource.MILEAGE, Action.CHANGE, name="vehicle-edit", methods=("GET", "POST"))
def vehicle_edit(request: HttpRequest, member: Membership, vehicle_id: str) -> HttpResponse:
    vehicle = _vehicle(member, vehicle_id, Action.CHANGE)
    form = VehicleForm(
        request.POST or None,
        members=[vehicle.member],
        initial={
            "member": str(vehicle.member.public_id),
            **{name: getattr(vehicle, name) for name in services.VEHICLE_FIELDS},
        },
    )
    form.fields["member"].disabled = True
    if request.method == "POST" and form.is_valid():
        try:
            services.update_vehicle(vehicle, actor=acting_user(request), **_vehicle_fields(form))
        except DomainError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Vehicle “%(name)s” saved.") % {"name": vehicle})
            return redirect("expenses:vehicles", org=member.organization.slug)
    return _page(
        request, "expenses/vehicle_form.html", {"form": form, "vehicle": vehicle, "tab": "mileage"}
    )


# --- trips ----------------------------------------------------------------------------


def _trip(member: Membership, trip_id: str, action: Action = Action.VIEW) -> Trip:
    return by_public_id(listing.trips(member, action), trip_id)


@org_page(Resource.MILEAGE, Action.VIEW, name="trip-list")
def trip_list(request: HttpRequest, member: Membership) -> HttpResponse:
    vehicles = list(listing.vehicles(member))
    form = _list_filters(request, member, vehicles=vehicles)
    data = _filter_values(member, form)
    if data is not None:
        vehicle = data.get("vehicle")
        data["vehicle"] = by_public_id(listing.vehicles(member), vehicle) if vehicle else None
    queryset = listing.trips(member)
    queryset = listing.filter_trips(queryset, data) if data is not None else queryset.none()
    page = Paginator(queryset.order_by("-date", "-pk"), listing.PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return _page(
        request,
        "expenses/trips.html",
        {
            "form": form,
            "page": page,
            "query": _query(request),
            "km": listing.total_km(queryset),
            "count": queryset.filter(cancelled_at__isnull=True).count(),
            "can_add": member.can(Resource.MILEAGE, Action.ADD),
            "can_change": member.can(Resource.MILEAGE, Action.CHANGE),
            "can_cancel": member.can(Resource.MILEAGE, Action.DELETE),
            "cancel_form": CancelForm(),
            "has_vehicles": bool(vehicles),
            "tab": "mileage",
        },
    )


def _trip_form(request: HttpRequest, member: Membership, initial: dict[str, Any]) -> TripForm:
    vehicles = [v for v in listing.vehicles(member) if v.is_active]
    return TripForm(
        request.POST or None, members=listing.colleagues(member), vehicles=vehicles, initial=initial
    )


def _trip_fields(member: Membership, form: TripForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "member": listing.colleague(member, data["member"]),
        "vehicle": by_public_id(listing.vehicles(member), data["vehicle"]),
        "date": data["date"],
        "origin": data["origin"],
        "destination": data["destination"],
        "distance_km": data["distance_km"],
        "purpose": data["purpose"],
        "dossier": services.dossier_by_number(listing.dossiers(member), data["dossier"]),
    }


@org_page(Resource.MILEAGE, Action.ADD, name="trip-create", methods=("GET", "POST"))
def trip_create(request: HttpRequest, member: Membership) -> HttpResponse:
    form = _trip_form(request, member, {"date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            trip = services.create_trip(
                member.organization, actor=acting_user(request), **_trip_fields(member, form)
            )
        except DomainError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Trip “%(name)s” saved.") % {"name": trip})
            if request.POST.get("again"):
                return redirect("expenses:trip-create", org=member.organization.slug)
            return redirect("expenses:trips", org=member.organization.slug)
    return _page(request, "expenses/trip_form.html", {"form": form, "tab": "mileage"})


@org_page(Resource.MILEAGE, Action.CHANGE, name="trip-edit", methods=("GET", "POST"))
def trip_edit(request: HttpRequest, member: Membership, trip_id: str) -> HttpResponse:
    trip = _trip(member, trip_id, Action.CHANGE)
    form = _trip_form(
        request,
        member,
        {
            "member": str(trip.member.public_id),
            "vehicle": str(trip.vehicle.public_id),
            "date": trip.date,
            "origin": trip.origin,
            "destination": trip.destination,
            "distance_km": trip.distance_km,
            "purpose": trip.purpose,
            "dossier": trip.dossier.number if trip.dossier else "",
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_trip(trip, actor=acting_user(request), **_trip_fields(member, form))
        except DomainError as exc:
            show_refusal(form, exc)
        else:
            messages.success(request, _("Trip “%(name)s” saved.") % {"name": trip})
            return redirect("expenses:trips", org=member.organization.slug)
    return _page(
        request,
        "expenses/trip_form.html",
        {"form": form, "trip": trip, "history": _history(member, "trip", trip), "tab": "mileage"},
    )


@org_page(Resource.MILEAGE, Action.DELETE, name="trip-cancel", methods=("POST",))
def trip_cancel(request: HttpRequest, member: Membership, trip_id: str) -> HttpResponse:
    trip = _trip(member, trip_id, Action.DELETE)
    form = CancelForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError(_("Give the reason for cancelling."))
        services.cancel_trip(trip, actor=acting_user(request), reason=form.cleaned_data["reason"])
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Trip “%(name)s” cancelled.") % {"name": trip})
    return redirect("expenses:trips", org=member.organization.slug)


@org_page(Resource.MILEAGE, Action.VIEW, name="mileage-scale")
def scale_page(request: HttpRequest, member: Membership) -> HttpResponse:
    """The scale used for a year, as published (or the one standing in for it)."""
    years = mileage.stored_years()
    today = timezone.localdate().year
    asked = request.GET.get("year", "")
    year = int(asked) if asked.isdigit() and years[0] <= int(asked) <= today + 1 else today
    choice = mileage.scale_for(year)
    return _page(
        request,
        "expenses/scale.html",
        {
            "choice": choice,
            "years": sorted({*years, today}, reverse=True),
            "tab": "mileage",
        },
    )


# --- statements -----------------------------------------------------------------------


def _statement_form(request: HttpRequest, member: Membership) -> StatementForm:
    today = timezone.localdate()
    params = request.GET if request.GET.get("member") or request.GET.get("month") else None
    return StatementForm(
        params,
        members=listing.colleagues(member),
        initial={"member": str(member.public_id), "month": f"{today:%Y-%m}"},
    )


def _statement(member: Membership, form: StatementForm) -> Any:
    year, month = listing.parse_month(form.cleaned_data["month"]) or (0, 0)
    subject = listing.colleague(member, form.cleaned_data["member"])
    return build_statement(
        subject, year, month, with_mileage=member.can(Resource.MILEAGE, Action.VIEW)
    )


@org_page(Resource.RECEIPTS, Action.VIEW, name="expense-statement")
def statement_page(request: HttpRequest, member: Membership) -> HttpResponse:
    form = _statement_form(request, member)
    statement = None
    if form.is_bound and form.is_valid():
        try:
            statement = _statement(member, form)
        except DomainError as exc:
            show_refusal(form, exc)
    return _page(
        request,
        "expenses/statement.html",
        {"form": form, "statement": statement, "query": _query(request), "tab": "statements"},
    )


@org_page(Resource.RECEIPTS, Action.VIEW, name="expense-statement-export")
def statement_export(request: HttpRequest, member: Membership) -> HttpResponseBase:
    """The statement as XLSX (default) or PDF (`format=pdf`)."""
    form = _statement_form(request, member)
    if not (form.is_bound and form.is_valid()):
        messages.error(request, _("Choose a member and a month."))
        return redirect("expenses:statement", org=member.organization.slug)
    try:
        statement = _statement(member, form)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(
            f"{reverse('expenses:statement', kwargs={'org': member.organization.slug})}"
            f"?{_query(request)}"
        )
    stem = f"etat-{statement.year}-{statement.month:02d}-{_slug(statement.member.display_name)}"
    if request.GET.get("format") == "pdf":
        data = exports.statement_pdf(statement, get_profile(member.organization))
        response = HttpResponse(data, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{stem}.pdf"'
        return response
    data = exports.statement_xlsx(statement, member.organization.name)
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{stem}.xlsx"'
    return response


def _slug(text: str) -> str:
    return slugify(text)[:40] or "membre"
