"""Contact pages: the list (search, filters, export), the record, and the import's steps."""

from __future__ import annotations

import contextlib
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from comptoir.accounts.models import acting_user
from comptoir.contacts import importing, listing, services, uploads
from comptoir.contacts.forms import (
    ContactForm,
    ImportFileForm,
    MappingForm,
    forced_lines,
    part_formsets,
    part_values,
)
from comptoir.contacts.models import Contact
from comptoir.contacts.services import search_contacts
from comptoir.contacts.validation import CONTACT_FIELDS
from comptoir.core.access import by_public_id, org_page, scoped
from comptoir.core.errors import DomainError, NotFound
from comptoir.core.models import AuditEntry, Membership
from comptoir.core.roles import Action, Resource

ROLE_LABELS = {"ordering_party": gettext_lazy("Ordering party"), "owner": gettext_lazy("Owner")}


def _contact(member: Membership, contact_id: str, action: Action = Action.VIEW) -> Contact:
    return by_public_id(listing.with_related(listing.base_queryset(member, action)), contact_id)


@org_page(Resource.CONTACTS, Action.VIEW, name="contact-lookup")
def contact_lookup(request: HttpRequest, member: Membership) -> HttpResponse:
    """Options for a contact picker (htmx): the 20 best matches of `contact_q`."""
    text = request.GET.get("contact_q", "")
    rows = search_contacts(scoped(Contact.objects.all(), member, Resource.CONTACTS), text)
    return render(
        request,
        "contacts/_options.html",
        {
            "rows": rows.order_by("sort_name", "pk")[:20] if text else [],
            "selected": request.GET.get("selected", ""),
        },
    )


@org_page(Resource.CONTACTS, Action.VIEW, name="contact-list")
def contact_list(request: HttpRequest, member: Membership) -> HttpResponse:
    form, queryset = listing.filtered(member, request.GET)
    page = Paginator(queryset, listing.PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    sort = query.pop("sort", [""])[-1]
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "sort": sort,
        "headers": listing.HEADERS,
        "rows": [(contact, listing.first_address(contact)) for contact in page],
        "categories": Contact.Category.choices,
        "kinds": Contact.Kind.choices,
        "can_add": member.can(Resource.CONTACTS, Action.ADD),
    }
    template = "contacts/_table.html" if request.headers.get("HX-Request") else "contacts/list.html"
    return render(request, template, context)


@org_page(Resource.CONTACTS, Action.VIEW, name="contact-export")
def contact_export(request: HttpRequest, member: Membership) -> HttpResponseBase:
    _form, queryset = listing.filtered(member, request.GET)
    rows = listing.export_rows(queryset)
    stamp = timezone.localdate().isoformat()
    if request.GET.get("format") == "csv":
        response = StreamingHttpResponse(
            listing.export_csv(rows), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="contacts-{stamp}.csv"'
        return response
    return FileResponse(
        listing.export_xlsx(rows), as_attachment=True, filename=f"contacts-{stamp}.xlsx"
    )


def _form_page(request: HttpRequest, member: Membership, contact: Contact | None) -> HttpResponse:
    """Create or edit: the record and its repeated rows, saved together or not at all."""
    if request.method == "POST":
        form = ContactForm(request.POST)
        more = request.POST.get("more", "")
        address_set, channel_set = part_formsets(request.POST, more=more)
        if not more:
            saved = _save(request, member, form, address_set, channel_set, contact)
            if saved is not None:
                messages.success(request, _("Contact “%(name)s” saved.") % {"name": saved})
                return redirect(
                    "contacts:detail", org=member.organization.slug, contact_id=saved.public_id
                )
    else:
        form = ContactForm.for_contact(contact)
        address_set, channel_set = part_formsets(
            addresses=[
                _values(a, ["label", "street", "postcode", "city", "country"])
                for a in contact.addresses.all()
            ]
            if contact
            else None,
            channels=[_values(c, ["kind", "label", "value"]) for c in contact.channels.all()]
            if contact
            else None,
        )
    return render(
        request,
        "contacts/form.html",
        {"form": form, "address_set": address_set, "channel_set": channel_set, "contact": contact},
    )


def _values(instance: Any, names: list[str]) -> dict[str, Any]:
    return {name: getattr(instance, name) for name in names}


def _save(
    request: HttpRequest,
    member: Membership,
    form: ContactForm,
    address_set: Any,
    channel_set: Any,
    contact: Contact | None,
) -> Contact | None:
    if not (form.is_valid() and address_set.is_valid() and channel_set.is_valid()):
        return None
    fields = {name: form.cleaned_data[name] for name in CONTACT_FIELDS}
    parts = {"addresses": part_values(address_set), "channels": part_values(channel_set)}
    try:
        if contact is None:
            return services.create_contact(
                member.organization,
                actor=request.user,  # type: ignore[arg-type]
                **parts,
                **fields,
            )
        return services.update_contact(contact, actor=request.user, **parts, **fields)  # type: ignore[arg-type]
    except DomainError as exc:
        problems = exc.details.get("errors") if isinstance(exc.details, dict) else None
        for problem in problems or [{"field": None, "message": exc.message}]:
            name = problem["field"] if problem["field"] in form.fields else None
            form.add_error(name, problem["message"])
        return None


@org_page(Resource.CONTACTS, Action.ADD, name="contact-create", methods=("GET", "POST"))
def contact_create(request: HttpRequest, member: Membership) -> HttpResponse:
    return _form_page(request, member, None)


@org_page(Resource.CONTACTS, Action.CHANGE, name="contact-edit", methods=("GET", "POST"))
def contact_edit(request: HttpRequest, member: Membership, contact_id: str) -> HttpResponse:
    return _form_page(request, member, _contact(member, contact_id, Action.CHANGE))


@org_page(Resource.CONTACTS, Action.VIEW, name="contact-detail")
def contact_detail(request: HttpRequest, member: Membership, contact_id: str) -> HttpResponse:
    contact = _contact(member, contact_id)
    history = AuditEntry.objects.filter(
        organization=member.organization, object_type="contact", object_id=str(contact.public_id)
    ).order_by("-created_at", "-seq")
    return render(
        request,
        "contacts/detail.html",
        {
            "contact": contact,
            "dossiers": [
                (dossier, ", ".join(str(ROLE_LABELS[role]) for role in roles))
                for dossier, roles in services.dossiers_of(contact, member)
            ],
            "history": history[:50],
            "can_change": member.can(Resource.CONTACTS, Action.CHANGE),
            "can_delete": member.can(Resource.CONTACTS, Action.DELETE),
            "deletion_refusal": services.deletion_refusal(contact),
        },
    )


@org_page(Resource.CONTACTS, Action.DELETE, name="contact-delete", methods=("POST",))
def contact_delete(request: HttpRequest, member: Membership, contact_id: str) -> HttpResponse:
    contact = _contact(member, contact_id, Action.DELETE)
    try:
        services.delete_contact(contact, actor=request.user)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(
            "contacts:detail", org=member.organization.slug, contact_id=contact.public_id
        )
    messages.success(request, _("Contact “%(name)s” deleted.") % {"name": contact})
    return redirect("contacts:list", org=member.organization.slug)


# --- import ---------------------------------------------------------------------------


@org_page(Resource.CONTACTS, Action.ADD, name="contact-import", methods=("GET", "POST"))
def contact_import(request: HttpRequest, member: Membership) -> HttpResponse:
    """Step 1: the file."""
    form = ImportFileForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read()
        try:
            importing.read_table(data)  # say now, not at the next step, if it is unreadable
            upload_id = uploads.save_upload(member, upload.name, data)
        except DomainError as exc:
            form.add_error("file", exc.message)
        else:
            return redirect(
                "contacts:import-map", org=member.organization.slug, upload_id=upload_id
            )
    return render(request, "contacts/import.html", {"form": form})


def _stored(
    request: HttpRequest, member: Membership, upload_id: str
) -> tuple[uploads.StoredUpload, importing.Table] | HttpResponse:
    try:
        stored = uploads.load_upload(member, upload_id)
        return stored, importing.read_table(stored.data)
    except NotFound as exc:
        messages.error(request, exc.message)
    except DomainError as exc:
        uploads.discard_upload(member, upload_id)
        messages.error(request, exc.message)
    return redirect("contacts:import", org=member.organization.slug)


def _mapping_page(
    request: HttpRequest,
    member: Membership,
    stored: uploads.StoredUpload,
    table: importing.Table,
    form: MappingForm,
    plan: importing.Plan | None,
) -> HttpResponse:
    samples = [
        [row.cells[index] for row in table.rows[:3] if row.cells[index]]
        for index in range(len(table.headers))
    ]
    force = forced_lines(request.POST.getlist("force"))
    to_create = plan.to_create(force) if plan else []
    return render(
        request,
        "contacts/import_map.html",
        {
            "stored": stored,
            "table": table,
            "form": form,
            "plan": plan,
            "force": force,
            "columns": list(zip(form.column_fields(), samples, strict=True)),
            "preview": table.preview(5),
            "separator": importing.SEPARATOR_NAMES.get(table.separator, ""),
            "to_create": to_create[:20],
            "create_count": len(to_create),
            "more_count": len(to_create) - 20,
            "error_lines": [importing.error_line(line, message) for line, message in plan.errors]
            if plan
            else [],
        },
    )


@org_page(Resource.CONTACTS, Action.ADD, name="contact-import-map", methods=("GET", "POST"))
def contact_import_map(request: HttpRequest, member: Membership, upload_id: str) -> HttpResponse:
    """Step 2: which column is what, with a preview; posted, the dry run's report."""
    found = _stored(request, member, upload_id)
    if isinstance(found, HttpResponse):
        return found
    stored, table = found
    form = MappingForm(table.headers, importing.guess_mapping(table.headers), request.POST or None)
    plan = None
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.plan_import(
                member.organization, table, form.mapping(), form.cleaned_data["default_category"]
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
    return _mapping_page(request, member, stored, table, form, plan)


@org_page(Resource.CONTACTS, Action.ADD, name="contact-import-run", methods=("POST",))
def contact_import_run(request: HttpRequest, member: Membership, upload_id: str) -> HttpResponse:
    """Step 3: write it, all or nothing."""
    found = _stored(request, member, upload_id)
    if isinstance(found, HttpResponse):
        return found
    stored, table = found
    form = MappingForm(table.headers, importing.guess_mapping(table.headers), request.POST)
    if not form.is_valid():
        return _mapping_page(request, member, stored, table, form, None)
    mapping, category = form.mapping(), form.cleaned_data["default_category"]
    try:
        result = services.import_contacts(
            member.organization,
            actor=acting_user(request),
            table=table,
            mapping=mapping,
            default_category=category,
            force=forced_lines(request.POST.getlist("force")),
            file_name=stored.name,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        plan = None
        if isinstance(exc, services.ImportRefused):
            plan = services.plan_import(member.organization, table, mapping, category)
        else:
            form.add_error(None, exc.message)
        return _mapping_page(request, member, stored, table, form, plan)
    uploads.discard_upload(member, upload_id)
    messages.success(
        request,
        ngettext("%(count)d contact imported.", "%(count)d contacts imported.", result.created)
        % {"count": result.created},
    )
    if result.skipped:
        messages.info(
            request,
            ngettext(
                "%(count)d duplicate skipped.", "%(count)d duplicates skipped.", result.skipped
            )
            % {"count": result.skipped},
        )
    url = reverse("contacts:list", kwargs={"org": member.organization.slug})
    return redirect(f"{url}?sort=-created")


@org_page(Resource.CONTACTS, Action.ADD, name="contact-import-cancel", methods=("POST",))
def contact_import_cancel(request: HttpRequest, member: Membership, upload_id: str) -> HttpResponse:
    with contextlib.suppress(NotFound):  # already gone: the same answer
        uploads.discard_upload(member, upload_id)
    messages.info(request, _("Import cancelled: nothing was written."))
    return redirect("contacts:list", org=member.organization.slug)
