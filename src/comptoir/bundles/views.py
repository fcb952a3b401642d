"""Pages of Paramètres › Sauvegarde des paramètres and › Menus déroulants.

Thin: a form types the input, a scoped helper fetches the record, one service acts.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from comptoir.bundles import dropdowns, services
from comptoir.bundles.forms import (
    DropdownItemFormSet,
    DropdownListForm,
    SectionsForm,
)
from comptoir.bundles.models import DropdownList, SettingsBundle
from comptoir.bundles.sections import SECTIONS
from comptoir.core.access import get_scoped, org_page, scoped
from comptoir.core.errors import DomainError
from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource

SETTINGS_NAV = "core:org-settings"  # the "Paramètres" menu entry stays lit on every tab


def _page(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, template, {"nav_active": SETTINGS_NAV, **context})


def _labels(names: list[str]) -> list[str]:
    return [str(SECTIONS[name].label) for name in names if name in SECTIONS]


def _sections_text(names: list[str]) -> str:
    return ", ".join(_labels(names))


# --- bundles -------------------------------------------------------------------------


@org_page(Resource.SETTINGS, Action.VIEW, name="settings-bundles")
def bundle_list(request: HttpRequest, member: Membership) -> HttpResponse:
    org = member.organization
    received = Paginator(
        scoped(
            services.bundles_of(org, SettingsBundle.Direction.FROM_STATION),
            member,
            Resource.SETTINGS,
        ),
        25,
    ).get_page(request.GET.get("page"))
    published = services.bundles_of(org, SettingsBundle.Direction.TO_STATIONS)[:10]
    rows = [
        {"bundle": bundle, "sections": _sections_text(bundle.section_names)} for bundle in received
    ]
    return _page(
        request,
        "bundles/list.html",
        {
            "page": received,
            "rows": rows,
            "published": [
                {"bundle": bundle, "sections": _sections_text(bundle.section_names)}
                for bundle in published
            ],
        },
    )


def _bundle(member: Membership, bundle_id: str, action: Action = Action.VIEW) -> SettingsBundle:
    return get_scoped(
        SettingsBundle.objects.select_related("organization", "created_by", "imported_by"),
        member,
        bundle_id,
        Resource.SETTINGS,
        action,
    )


@org_page(Resource.SETTINGS, Action.VIEW, name="settings-bundle")
def bundle_detail(request: HttpRequest, member: Membership, bundle_id: str) -> HttpResponse:
    bundle = _bundle(member, bundle_id)
    incoming = bundle.direction == SettingsBundle.Direction.FROM_STATION
    return _page(
        request,
        "bundles/detail.html",
        {
            "bundle": bundle,
            "previews": services.preview(bundle) if incoming else [],
            "contents": [] if incoming else _contents(bundle),
            "imported": _sections_text(list(bundle.imported_sections or [])),
            "may_import": member.can(Resource.SETTINGS, Action.CHANGE),
        },
    )


def _contents(bundle: SettingsBundle) -> list[dict[str, Any]]:
    """What a published bundle holds, section by section (rows of the list sections)."""
    rows = []
    for name in bundle.section_names:
        payload = bundle.sections[name]
        count = len(payload) if isinstance(payload, list | dict) else 0
        rows.append({"name": name, "label": str(SECTIONS[name].label), "count": count})
    return rows


@org_page(Resource.SETTINGS, Action.CHANGE, name="settings-bundle-import", methods=("POST",))
def bundle_import(request: HttpRequest, member: Membership, bundle_id: str) -> HttpResponse:
    bundle = _bundle(member, bundle_id, Action.CHANGE)
    names = request.POST.getlist("sections")
    try:
        summaries = services.import_bundle(bundle, names, actor=request.user, member=member)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Import done: %(sections)s. The audit log keeps every change.")
            % {"sections": _sections_text(list(summaries))},
        )
        not_matched = summaries.get("operators", {}).get("not_matched")
        if not_matched:
            messages.warning(
                request,
                _(
                    "Operators not matched (add them on the Users page, then import "
                    "again): %(initials)s."
                )
                % {"initials": ", ".join(not_matched)},
            )
    return redirect("bundles:detail", org=member.organization.slug, bundle_id=bundle.public_id)


@org_page(Resource.SETTINGS, Action.CHANGE, name="settings-bundle-publish", methods=("GET", "POST"))
def bundle_publish(request: HttpRequest, member: Membership) -> HttpResponse:
    org = member.organization
    posted = request.POST if request.method == "POST" else None
    form = SectionsForm(posted, initial={"sections": SECTIONS.names})
    if request.method == "POST" and form.is_valid():
        try:
            bundle = services.publish_bundle(
                org, form.cleaned_data["sections"], actor=request.user, member=member
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _(
                    "Version %(version)s is published: the stations get it the next time "
                    "they import the configuration."
                )
                % {"version": bundle.version},
            )
            return redirect("bundles:list", org=org.slug)
    chosen = set(form["sections"].value() or [])
    return _page(
        request,
        "bundles/publish.html",
        {
            "form": form,
            "sections": [
                {"name": section.name, "label": section.label, "help": section.help}
                for section in SECTIONS
            ],
            "chosen": chosen,
        },
    )


# --- drop-down lists ---------------------------------------------------------------------


@org_page(Resource.SETTINGS, Action.VIEW, name="dropdown-lists")
def dropdown_lists(request: HttpRequest, member: Membership) -> HttpResponse:
    rows = scoped(DropdownList.objects.all(), member, Resource.SETTINGS).order_by("label", "key")
    return _page(request, "bundles/dropdowns.html", {"rows": rows})


@org_page(Resource.SETTINGS, Action.ADD, name="dropdown-list-add", methods=("GET", "POST"))
def dropdown_list_add(request: HttpRequest, member: Membership) -> HttpResponse:
    org = member.organization
    form = DropdownListForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            found = dropdowns.create_list(org, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(_field(form, exc), exc.message)
        else:
            messages.success(
                request, _("List “%(label)s” created: add its items.") % {"label": found.label}
            )
            return redirect("bundles:dropdown-edit", org=org.slug, list_id=found.public_id)
    return _page(request, "bundles/dropdown_add.html", {"form": form})


def _field(form: Any, exc: DomainError) -> str | None:
    name = exc.details.get("field") if isinstance(exc.details, dict) else None
    return name if name in form.fields else None


@org_page(Resource.SETTINGS, Action.CHANGE, name="dropdown-list-edit", methods=("GET", "POST"))
def dropdown_list_edit(request: HttpRequest, member: Membership, list_id: str) -> HttpResponse:
    found = get_scoped(
        DropdownList.objects.select_related("organization"),
        member,
        list_id,
        Resource.SETTINGS,
        Action.CHANGE,
    )
    existing = [dict(item) for item in found.items]
    posted = request.POST if request.method == "POST" else None
    form = DropdownListForm(posted, initial={"label": found.label, "key": found.key})
    form.fields["key"].disabled = True
    items = DropdownItemFormSet(posted, initial=existing, prefix="items")
    if request.method == "POST" and form.is_valid() and items.is_valid():
        known = {item["key"] for item in existing}
        kept, seen = [], set()
        for index, row in enumerate(items.forms):
            data = row.cleaned_data
            key = data.get("key", "")
            if index < items.initial_form_count():
                # An item already in the list keeps its key, whatever is posted.
                if key not in known:
                    key = existing[index]["key"] if index < len(existing) else ""
                seen.add(key)
            if data.get("remove") or row.is_blank():
                continue
            kept.append(
                {
                    "key": key,
                    "label": data.get("label", ""),
                    "description": data.get("description", ""),
                }
            )
        try:
            dropdowns.update_list(
                found, actor=request.user, label=form.cleaned_data["label"], items=kept, seen=seen
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("bundles:dropdowns", org=member.organization.slug)
    return _page(
        request,
        "bundles/dropdown_edit.html",
        {"form": form, "items": items, "list": found, "existing": len(existing)},
    )
