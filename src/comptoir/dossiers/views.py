"""Dossier pages: the list (search, filters, columns, bulk actions), the form, the file."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_stubs_ext import StrOrPromise

from comptoir.accounts.models import acting_user
from comptoir.core.access import by_public_id, org_page, require
from comptoir.core.errors import DomainError
from comptoir.core.models import AuditEntry, Membership
from comptoir.core.roles import Action, Resource, Scope
from comptoir.dossiers import listing, services
from comptoir.dossiers.forms import DocumentForm, DossierForm, NoteForm
from comptoir.dossiers.lifecycle import LIFECYCLE, STEPS, Status, position
from comptoir.dossiers.models import CustomField, Document, Dossier

# Links that the apps above dossiers add to a dossier's page (agenda: "Make an
# appointment"): each function returns {"url", "label", "icon"} or None.
DetailLink = Callable[[Membership, Dossier], dict[str, str] | None]
DETAIL_LINKS: list[DetailLink] = []

# Pieces of page the apps above dossiers render themselves (sync: the exchange zone),
# as HTML from their own templates; "" adds nothing.
# - DETAIL_WIDGETS: among the buttons of a dossier's page;
# - LIST_WIDGETS: at the top right of the list;
# - ROW_MARKS: a narrow column of the list, one cell per dossier of the page, rendered
#   for the whole page at once (so that it costs a query per page, not per row).
DetailWidget = Callable[[HttpRequest, Membership, Dossier], str]
ListWidget = Callable[[HttpRequest, Membership], str]


@dataclass(frozen=True)
class RowMark:
    key: str
    label: StrOrPromise  # the column's header, for screen readers
    render: Callable[[HttpRequest, Membership, Sequence[Dossier]], Sequence[str]]


DETAIL_WIDGETS: list[DetailWidget] = []
LIST_WIDGETS: list[ListWidget] = []
ROW_MARKS: list[RowMark] = []


def _dossier(member: Membership, dossier_id: str, action: Action = Action.VIEW) -> Dossier:
    return listing.dossier_for(member, dossier_id, action)


@org_page(Resource.DOSSIERS, Action.VIEW, name="dossier-list")
def dossier_list(request: HttpRequest, member: Membership) -> HttpResponse:
    form, queryset = listing.filtered(member, request.GET)
    page = listing.CappedPaginator(queryset, listing.PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    sort = query.pop("sort", [""])[-1]
    columns = listing.columns_for(member)
    dossiers = list(page)
    marks = [mark.render(request, member, dossiers) for mark in ROW_MARKS]
    rows = [
        {
            "dossier": dossier,
            "colour": STEPS[Status(dossier.status)].colour,
            "cells": [(column.key, column.value(dossier)) for column in columns],
            "marks": [cells[index] for cells in marks],
        }
        for index, dossier in enumerate(dossiers)
    ]
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "columns": columns,
        "row_marks": ROW_MARKS,
        "colspan": len(columns) + 1 + len(ROW_MARKS),
        "can_add": member.can(Resource.DOSSIERS, Action.ADD),
        "all_columns": listing.COLUMNS.values(),
        "query": query.urlencode(),
        "sort": sort,
        # own-dossier technicians keep their dossiers: they cannot hand them over
        "can_assign": member.can(Resource.DOSSIERS, Action.CHANGE)
        and member.scope_for(Resource.DOSSIERS) is Scope.ALL,
        **listing.filter_choices(member),
    }
    if request.headers.get("HX-Request"):
        return render(request, "dossiers/_table.html", context)
    context["list_widgets"] = [html for widget in LIST_WIDGETS if (html := widget(request, member))]
    return render(request, "dossiers/list.html", context)


@org_page(Resource.DOSSIERS, Action.VIEW, name="dossier-columns", methods=("POST",))
def dossier_columns(request: HttpRequest, member: Membership) -> HttpResponse:
    listing.save_columns(member, request.POST.getlist("columns"))
    messages.success(request, _("Columns saved."))
    return redirect(back_to_list(request, member))


def back_to_list(request: HttpRequest, member: Membership) -> str:
    url = reverse("dossiers:list", kwargs={"org": member.organization.slug})
    query = request.POST.get("query", "")
    return f"{url}?{query}" if query else url


def _export(member: Membership, queryset: Any, fmt: str) -> HttpResponseBase:
    columns = listing.columns_for(member)
    rows = listing.export_rows(queryset, columns)
    stamp = timezone.localdate().isoformat()
    if fmt == "csv":
        response = StreamingHttpResponse(
            listing.export_csv(rows), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="dossiers-{stamp}.csv"'
        return response
    return FileResponse(
        listing.export_xlsx(rows), as_attachment=True, filename=f"dossiers-{stamp}.xlsx"
    )


@org_page(Resource.DOSSIERS, Action.VIEW, name="dossier-export")
def dossier_export(request: HttpRequest, member: Membership) -> HttpResponseBase:
    _form, queryset = listing.filtered(member, request.GET)
    return _export(member, queryset, request.GET.get("format", "xlsx"))


def _uuids(values: list[str]) -> list[uuid.UUID]:
    keys = []
    for value in values:
        try:
            keys.append(uuid.UUID(value))
        except ValueError:
            continue
    return keys


@org_page(Resource.DOSSIERS, Action.VIEW, name="dossier-bulk", methods=("POST",))
def dossier_bulk(request: HttpRequest, member: Membership) -> HttpResponseBase:
    """Bulk actions on the ticked rows: export (XLSX, CSV) or assign a technician."""
    keys = _uuids(request.POST.getlist("selected"))
    action = request.POST.get("action", "")
    if not keys:
        messages.error(request, _("Tick at least one dossier."))
        return redirect(back_to_list(request, member))
    if action in {"export-xlsx", "export-csv"}:
        queryset = listing.with_related(
            listing.base_queryset(member).filter(public_id__in=keys)
        ).order_by("-year", "-sequence")
        return _export(member, queryset, action.removeprefix("export-"))
    if action != "assign":
        messages.error(request, _("Unknown action."))
        return redirect(back_to_list(request, member))
    require(member, Resource.DOSSIERS, Action.CHANGE)
    technician = None
    if request.POST.get("technician"):
        technician = by_public_id(
            Membership.objects.filter(organization=member.organization), request.POST["technician"]
        )
    dossiers = list(listing.base_queryset(member, Action.CHANGE).filter(public_id__in=keys))
    try:
        count = services.bulk_assign(member, dossiers, technician, actor=acting_user(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            ngettext("%(count)d dossier assigned.", "%(count)d dossiers assigned.", count)
            % {"count": count},
        )
    return redirect(back_to_list(request, member))


def _save(
    request: HttpRequest, member: Membership, form: DossierForm, dossier: Dossier | None
) -> Dossier | None:
    values = form.values()
    if form.errors:
        return None
    data = services.DossierInput(values, form.cleaned_data.get("missions", []))
    try:
        if dossier is None:
            return services.create_dossier(member, data, actor=acting_user(request))
        return services.update_dossier(member, dossier, data, actor=acting_user(request))
    except DomainError as exc:
        field = exc.details.get("field") if isinstance(exc.details, dict) else None
        form.add_error(field if field in form.fields else None, exc.message)
        return None


@org_page(Resource.DOSSIERS, Action.ADD, name="dossier-create", methods=("GET", "POST"))
def dossier_create(request: HttpRequest, member: Membership) -> HttpResponse:
    services.mission_types(member.organization)
    form = DossierForm(member, request.POST or None)
    if request.method == "POST" and form.is_valid():
        dossier = _save(request, member, form, None)
        if dossier is not None:
            messages.success(request, _("Dossier %(number)s created.") % {"number": dossier})
            return redirect(
                "dossiers:detail", org=member.organization.slug, dossier_id=dossier.public_id
            )
    return render(request, "dossiers/form.html", {"form": form, "dossier": None})


@org_page(Resource.DOSSIERS, Action.CHANGE, name="dossier-edit", methods=("GET", "POST"))
def dossier_edit(request: HttpRequest, member: Membership, dossier_id: str) -> HttpResponse:
    dossier = _dossier(member, dossier_id, Action.CHANGE)
    form = DossierForm(member, request.POST or None, instance=dossier)
    if request.method == "POST" and form.is_valid() and _save(request, member, form, dossier):
        messages.success(request, _("Changes saved."))
        return redirect(
            "dossiers:detail", org=member.organization.slug, dossier_id=dossier.public_id
        )
    return render(request, "dossiers/form.html", {"form": form, "dossier": dossier})


@org_page(Resource.DOSSIERS, Action.VIEW, name="dossier-detail")
def dossier_detail(request: HttpRequest, member: Membership, dossier_id: str) -> HttpResponse:
    dossier = _dossier(member, dossier_id)
    history = AuditEntry.objects.filter(
        organization=member.organization, object_type="dossier", object_id=str(dossier.public_id)
    ).order_by("-created_at", "-seq")
    current = position(dossier.status)
    timeline = [
        {
            "step": step,
            "label": step.status.label,
            "done": index < current,
            "current": index == current,
        }
        for index, step in enumerate(LIFECYCLE)
    ]
    moves = [(status, Status(status).label) for status in STEPS[Status(dossier.status)].moves_to]
    return render(
        request,
        "dossiers/detail.html",
        {
            "dossier": dossier,
            "history": history[:50],
            "timeline": timeline,
            "moves": moves,
            "documents": dossier.documents.select_related("uploaded_by"),
            "notes": dossier.notes.select_related("author"),
            "document_form": DocumentForm(),
            "note_form": NoteForm(),
            "can_change": services.may_change(member, dossier),
            "can_delete": member.can(Resource.DOSSIERS, Action.DELETE),
            "deletion_refusal": services.deletion_refusal(dossier),
            "extra_links": [link for make in DETAIL_LINKS if (link := make(member, dossier))],
            "extra_widgets": [
                html for widget in DETAIL_WIDGETS if (html := widget(request, member, dossier))
            ],
            "custom_values": [
                (field.label, dossier.custom_fields.get(field.key))
                for field in CustomField.objects.filter(organization=member.organization)
            ],
        },
    )


@org_page(Resource.DOSSIERS, Action.CHANGE, name="dossier-status", methods=("POST",))
def dossier_status(request: HttpRequest, member: Membership, dossier_id: str) -> HttpResponse:
    dossier = _dossier(member, dossier_id, Action.CHANGE)
    try:
        services.change_status(dossier, request.POST.get("status", ""), actor=acting_user(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("Status: %(status)s.") % {"status": dossier.get_status_display()}
        )
    return redirect("dossiers:detail", org=member.organization.slug, dossier_id=dossier.public_id)


@org_page(Resource.DOSSIERS, Action.DELETE, name="dossier-delete", methods=("POST",))
def dossier_delete(request: HttpRequest, member: Membership, dossier_id: str) -> HttpResponse:
    dossier = _dossier(member, dossier_id, Action.DELETE)
    try:
        services.delete_dossier(dossier, actor=acting_user(request))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(
            "dossiers:detail", org=member.organization.slug, dossier_id=dossier.public_id
        )
    messages.success(request, _("Dossier %(number)s deleted.") % {"number": dossier})
    return redirect("dossiers:list", org=member.organization.slug)


@org_page(Resource.DOSSIERS, Action.CHANGE, name="dossier-document-add", methods=("POST",))
def document_add(request: HttpRequest, member: Membership, dossier_id: str) -> HttpResponse:
    dossier = _dossier(member, dossier_id, Action.CHANGE)
    form = DocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(
            request, " ".join(str(error) for errors in form.errors.values() for error in errors)
        )
    else:
        try:
            services.add_document(
                dossier,
                form.cleaned_data["file"],
                kind=form.cleaned_data["kind"],
                actor=acting_user(request),
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Document added."))
    return redirect("dossiers:detail", org=member.organization.slug, dossier_id=dossier.public_id)


@org_page(Resource.DOSSIERS, Action.VIEW, name="dossier-document")
def document_download(
    request: HttpRequest, member: Membership, dossier_id: str, document_id: str
) -> HttpResponseBase:
    """Download, or show inline (`?inline=1`) for the preview of PDFs and images."""
    dossier = _dossier(member, dossier_id)
    document: Document = by_public_id(dossier.documents.all(), document_id)
    inline = request.GET.get("inline") == "1" and bool(document.previewable)
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=not inline,
        filename=document.name,
        content_type=document.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    if inline:  # shown in the dossier page's preview frame
        response["X-Frame-Options"] = "SAMEORIGIN"
    return response


@org_page(Resource.DOSSIERS, Action.CHANGE, name="dossier-note-add", methods=("POST",))
def note_add(request: HttpRequest, member: Membership, dossier_id: str) -> HttpResponse:
    dossier = _dossier(member, dossier_id, Action.CHANGE)
    try:
        services.add_note(dossier, request.POST.get("text", ""), actor=acting_user(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("dossiers:detail", org=member.organization.slug, dossier_id=dossier.public_id)
