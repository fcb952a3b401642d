"""Outils › Paramètres › Dossiers: the organisation's mission types and custom fields.

Thin: a form types the input, the configuration service checks and acts.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from comptoir.accounts.models import acting_user
from comptoir.core.access import org_page
from comptoir.core.errors import DomainError, NotFound
from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource
from comptoir.dossiers import configuration
from comptoir.dossiers.forms import CustomFieldForm, MissionTypeForm
from comptoir.dossiers.models import CustomField, MissionType

SETTINGS_NAV = "core:org-settings"  # the "Paramètres" menu entry stays lit on every tab
TAB = "dossiers:settings"


def _page(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, template, {"nav_active": SETTINGS_NAV, "active_tab": TAB, **context})


def _back(member: Membership) -> HttpResponse:
    return redirect(TAB, org=member.organization.slug)


def _refused(form: Any, exc: DomainError) -> None:
    field = exc.details.get("field") if isinstance(exc.details, dict) else None
    form.add_error(field if field in form.fields else None, exc.message)


def _mission_type(member: Membership, code: str) -> MissionType:
    found = configuration.mission_type_by_code(member.organization, code)
    if found is None:
        raise NotFound(_("Not found."))
    return found


def _custom_field(member: Membership, key: str) -> CustomField:
    found = configuration.custom_field_by_key(member.organization, key)
    if found is None:
        raise NotFound(_("Not found."))
    return found


@org_page(Resource.SETTINGS, Action.VIEW, name="dossier-settings")
def dossier_settings(request: HttpRequest, member: Membership) -> HttpResponse:
    org = member.organization
    return _page(
        request,
        "dossiers/settings.html",
        {
            "mission_types": configuration.all_mission_types(org),
            "custom_fields": configuration.custom_fields(org),
            "can_change": member.can(Resource.SETTINGS, Action.CHANGE),
        },
    )


# --- Mission types -----------------------------------------------------------------


@org_page(
    Resource.SETTINGS, Action.CHANGE, name="dossier-mission-type-add", methods=("GET", "POST")
)
def mission_type_add(request: HttpRequest, member: Membership) -> HttpResponse:
    form = MissionTypeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            kind = configuration.create_mission_type(
                member, form.cleaned_data["label"], actor=acting_user(request)
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            messages.success(
                request,
                _("Mission type “%(label)s” added (code %(code)s).")
                % {"label": kind.label, "code": kind.code},
            )
            return _back(member)
    return _page(request, "dossiers/settings_form.html", {"form": form, "mission_type": None})


@org_page(
    Resource.SETTINGS, Action.CHANGE, name="dossier-mission-type-edit", methods=("GET", "POST")
)
def mission_type_edit(request: HttpRequest, member: Membership, code: str) -> HttpResponse:
    kind = _mission_type(member, code)
    if kind.is_builtin:
        messages.error(request, _("A built-in mission type cannot be renamed."))
        return _back(member)
    form = MissionTypeForm(request.POST or None, initial={"label": kind.label})
    if request.method == "POST" and form.is_valid():
        try:
            configuration.rename_mission_type(
                member, kind, form.cleaned_data["label"], actor=acting_user(request)
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return _back(member)
    return _page(request, "dossiers/settings_form.html", {"form": form, "mission_type": kind})


@org_page(Resource.SETTINGS, Action.CHANGE, name="dossier-mission-type-active", methods=("POST",))
def mission_type_active(request: HttpRequest, member: Membership, code: str) -> HttpResponse:
    kind = _mission_type(member, code)
    active = request.POST.get("active") == "1"
    configuration.set_mission_type_active(member, kind, active, actor=acting_user(request))
    if active:
        messages.success(
            request, _("“%(label)s” is offered on new dossiers again.") % {"label": kind.label}
        )
    else:
        messages.success(
            request,
            _(
                "“%(label)s” is deactivated: it is no longer offered on new dossiers "
                "but stays on the dossiers that have it."
            )
            % {"label": kind.label},
        )
    return _back(member)


# --- Custom fields -----------------------------------------------------------------


@org_page(
    Resource.SETTINGS, Action.CHANGE, name="dossier-custom-field-add", methods=("GET", "POST")
)
def custom_field_add(request: HttpRequest, member: Membership) -> HttpResponse:
    form = CustomFieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            field = configuration.create_custom_field(
                member,
                form.cleaned_data["label"],
                form.cleaned_data["kind"],
                actor=acting_user(request),
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            messages.success(request, _("Field “%(label)s” added.") % {"label": field.label})
            return _back(member)
    return _page(request, "dossiers/settings_form.html", {"form": form, "custom_field": None})


@org_page(
    Resource.SETTINGS, Action.CHANGE, name="dossier-custom-field-edit", methods=("GET", "POST")
)
def custom_field_edit(request: HttpRequest, member: Membership, key: str) -> HttpResponse:
    field = _custom_field(member, key)
    form = CustomFieldForm(request.POST or None, initial={"label": field.label}, renaming=True)
    if request.method == "POST" and form.is_valid():
        try:
            configuration.rename_custom_field(
                member, field, form.cleaned_data["label"], actor=acting_user(request)
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return _back(member)
    return _page(request, "dossiers/settings_form.html", {"form": form, "custom_field": field})


@org_page(Resource.SETTINGS, Action.CHANGE, name="dossier-custom-field-move", methods=("POST",))
def custom_field_move(request: HttpRequest, member: Membership, key: str) -> HttpResponse:
    field = _custom_field(member, key)
    offset = -1 if request.POST.get("direction") == "up" else 1
    configuration.move_custom_field(member, field, offset, actor=acting_user(request))
    return _back(member)


@org_page(Resource.SETTINGS, Action.CHANGE, name="dossier-custom-field-delete", methods=("POST",))
def custom_field_delete(request: HttpRequest, member: Membership, key: str) -> HttpResponse:
    field = _custom_field(member, key)
    try:
        configuration.delete_custom_field(member, field, actor=acting_user(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Field “%(label)s” deleted.") % {"label": field.label})
    return _back(member)
