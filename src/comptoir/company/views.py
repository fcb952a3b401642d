"""Pages of Outils › Paramètres: company, documents, tariffs, devices, outgoing e-mail.

Thin: a form types the input, a scoped helper fetches the record, one service acts.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from comptoir.company import outgoing, services
from comptoir.company.expiry import EXPIRY_WARNING_DAYS
from comptoir.company.forms import (
    DeviceForm,
    DocumentForm,
    LogoForm,
    ProfileForm,
    SmtpForm,
    SmtpTestForm,
    TariffForm,
    apply_errors,
)
from comptoir.company.models import CompanyDocument, Device, SmtpSettings, Tariff
from comptoir.core.access import get_member_for, get_scoped, org_page, scoped
from comptoir.core.errors import DomainError
from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource

SETTINGS_NAV = "core:org-settings"  # the "Paramètres" menu entry stays lit on every tab


def _page(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, template, {"nav_active": SETTINGS_NAV, **context})


def _refusal(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, exc.message)


def _form_errors(form: Any) -> str:
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


def _file(stored: Any, filename: str, content_type: str, *, inline: bool) -> FileResponse:
    response = FileResponse(
        stored.open("rb"), as_attachment=not inline, filename=filename, content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Entreprise ----------------------------------------------------------------------


@org_page(Resource.SETTINGS, Action.CHANGE, name="company-profile", methods=("GET", "POST"))
def profile(request: HttpRequest, member: Membership) -> HttpResponse:
    org = member.organization
    current = services.get_profile(org)
    form = ProfileForm.for_profile(current, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_profile(org, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_errors(form, exc.details, exc.message)
        else:
            messages.success(request, _("Company details saved."))
            return redirect("company:profile", org=org.slug)
    return _page(
        request, "company/profile.html", {"form": form, "profile": current, "logo_form": LogoForm()}
    )


@org_page(Resource.SETTINGS, Action.CHANGE, name="company-logo", methods=("POST",))
def logo(request: HttpRequest, member: Membership) -> HttpResponse:
    org = member.organization
    try:
        if request.POST.get("remove"):
            services.remove_logo(org, actor=request.user)
            messages.success(request, _("Logo removed."))
        else:
            form = LogoForm(request.POST, request.FILES)
            if not form.is_valid():
                messages.error(request, _form_errors(form))
            else:
                upload = form.cleaned_data["logo"]
                services.set_logo(org, upload, actor=request.user, name=upload.name)
                messages.success(request, _("Logo saved."))
    except DomainError as exc:
        _refusal(request, exc)
    return redirect("company:profile", org=org.slug)


@org_page(Resource.SETTINGS, Action.VIEW, name="company-logo-file")
def logo_file(request: HttpRequest, member: Membership) -> HttpResponseBase:
    current = services.get_profile(member.organization)
    if not current.pk or not current.logo:
        raise Http404
    return _file(current.logo, current.logo_name, current.logo_content_type, inline=True)


# --- Documents ---------------------------------------------------------------------


@org_page(Resource.SETTINGS, Action.VIEW, name="company-documents")
def documents(request: HttpRequest, member: Membership) -> HttpResponse:
    return _page(
        request,
        "company/documents.html",
        {"kinds": services.documents_by_kind(member.organization)},
    )


@org_page(Resource.SETTINGS, Action.CHANGE, name="company-document-upload", methods=("POST",))
def document_upload(request: HttpRequest, member: Membership, kind: str) -> HttpResponse:
    if kind not in CompanyDocument.Kind.values:
        raise Http404
    form = DocumentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
    else:
        upload = form.cleaned_data["file"]
        try:
            document = services.upload_document(
                member.organization, kind, upload, actor=request.user, name=upload.name
            )
        except DomainError as exc:
            _refusal(request, exc)
        else:
            messages.success(
                request,
                _("“%(name)s” is now the current %(kind)s.")
                % {"name": document.name, "kind": document.get_kind_display()},
            )
    return redirect("company:documents", org=member.organization.slug)


@org_page(Resource.SETTINGS, Action.VIEW, name="company-document")
def document_download(
    request: HttpRequest, member: Membership, document_id: str
) -> HttpResponseBase:
    document = get_scoped(CompanyDocument.objects.all(), member, document_id, Resource.SETTINGS)
    return _file(
        document.file, document.name, "application/pdf", inline=request.GET.get("inline") == "1"
    )


# --- Tarifs ------------------------------------------------------------------------


@org_page(Resource.SETTINGS, Action.VIEW, name="company-tariffs")
def tariffs(request: HttpRequest, member: Membership) -> HttpResponse:
    rows = scoped(Tariff.objects.select_related("mission_type"), member, Resource.SETTINGS)
    show = request.GET.get("show", "active")
    if show == "active":
        rows = rows.filter(is_active=True)
    elif show == "inactive":
        rows = rows.filter(is_active=False)
    return _page(request, "company/tariffs.html", {"rows": rows, "show": show})


@org_page(Resource.SETTINGS, Action.ADD, name="company-tariff-add", methods=("GET", "POST"))
def tariff_add(request: HttpRequest, member: Membership) -> HttpResponse:
    org = member.organization
    form = TariffForm(org, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tariff = services.create_tariff(org, actor=request.user, **form.changes())
        except DomainError as exc:
            apply_errors(form, exc.details, exc.message)
        else:
            messages.success(request, _("Tariff %(code)s added.") % {"code": tariff.code})
            return redirect("company:tariffs", org=org.slug)
    return _page(request, "company/tariff_form.html", {"form": form, "tariff": None})


def _tariff(member: Membership, tariff_id: str, action: Action) -> Tariff:
    return get_scoped(
        Tariff.objects.select_related("mission_type", "organization"),
        member,
        tariff_id,
        Resource.SETTINGS,
        action,
    )


@org_page(Resource.SETTINGS, Action.CHANGE, name="company-tariff-edit", methods=("GET", "POST"))
def tariff_edit(request: HttpRequest, member: Membership, tariff_id: str) -> HttpResponse:
    tariff = _tariff(member, tariff_id, Action.CHANGE)
    form = TariffForm.for_tariff(tariff, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_tariff(tariff, actor=request.user, **form.changes())
        except DomainError as exc:
            apply_errors(form, exc.details, exc.message)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("company:tariffs", org=member.organization.slug)
    return _page(request, "company/tariff_form.html", {"form": form, "tariff": tariff})


@org_page(Resource.SETTINGS, Action.CHANGE, name="company-tariff-active", methods=("POST",))
def tariff_active(request: HttpRequest, member: Membership, tariff_id: str) -> HttpResponse:
    tariff = _tariff(member, tariff_id, Action.CHANGE)
    active = request.POST.get("active") == "1"
    services.set_tariff_active(tariff, active, actor=request.user)
    if active:
        messages.success(request, _("Tariff %(code)s is active again.") % {"code": tariff.code})
    else:
        messages.success(
            request,
            _("Tariff %(code)s is deactivated: it stays in the history but is no longer offered.")
            % {"code": tariff.code},
        )
    return redirect("company:tariffs", org=member.organization.slug)


@org_page(Resource.SETTINGS, Action.DELETE, name="company-tariff-delete", methods=("POST",))
def tariff_delete(request: HttpRequest, member: Membership, tariff_id: str) -> HttpResponse:
    tariff = _tariff(member, tariff_id, Action.DELETE)
    try:
        services.delete_tariff(tariff, actor=request.user)
    except DomainError as exc:
        _refusal(request, exc)
    else:
        messages.success(request, _("Tariff %(code)s deleted.") % {"code": tariff.code})
    return redirect("company:tariffs", org=member.organization.slug)


# --- Appareils ---------------------------------------------------------------------


@org_page(Resource.SETTINGS, Action.VIEW, name="company-devices")
def devices(request: HttpRequest, member: Membership) -> HttpResponse:
    rows = scoped(Device.objects.all(), member, Resource.SETTINGS)
    return _page(request, "company/devices.html", {"rows": rows, "days": EXPIRY_WARNING_DAYS})


@org_page(Resource.SETTINGS, Action.ADD, name="company-device-add", methods=("GET", "POST"))
def device_add(request: HttpRequest, member: Membership) -> HttpResponse:
    org = member.organization
    form = DeviceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.create_device(org, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_errors(form, exc.details, exc.message)
        else:
            messages.success(request, _("Device “%(name)s” added.") % {"name": device.name})
            return redirect("company:devices", org=org.slug)
    return _page(request, "company/device_form.html", {"form": form, "device": None})


def _device(member: Membership, device_id: str) -> Device:
    return get_scoped(
        Device.objects.select_related("organization"),
        member,
        device_id,
        Resource.SETTINGS,
        Action.CHANGE,
    )


@org_page(Resource.SETTINGS, Action.CHANGE, name="company-device-edit", methods=("GET", "POST"))
def device_edit(request: HttpRequest, member: Membership, device_id: str) -> HttpResponse:
    device = _device(member, device_id)
    form = DeviceForm.for_device(device, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_device(device, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_errors(form, exc.details, exc.message)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("company:devices", org=member.organization.slug)
    return _page(request, "company/device_form.html", {"form": form, "device": device})


@org_page(Resource.SETTINGS, Action.CHANGE, name="company-device-active", methods=("POST",))
def device_active(request: HttpRequest, member: Membership, device_id: str) -> HttpResponse:
    device = _device(member, device_id)
    active = request.POST.get("active") == "1"
    services.update_device(device, actor=request.user, is_active=active)
    if active:
        messages.success(request, _("“%(name)s” is back in service.") % {"name": device.name})
    else:
        messages.success(
            request,
            _("“%(name)s” is retired: it stays in the list of past devices.")
            % {"name": device.name},
        )
    return redirect("company:devices", org=member.organization.slug)


# --- E-mail d'envoi ----------------------------------------------------------------


def _smtp_target(member: Membership, member_id: str | None) -> Membership | None:
    return get_member_for(member, member_id, Action.CHANGE) if member_id else None


def _smtp_url(member: Membership, target: Membership | None) -> str:
    if target is None:
        return reverse("company:smtp", kwargs={"org": member.organization.slug})
    return reverse(
        "company:smtp-member",
        kwargs={"org": member.organization.slug, "member_id": target.public_id},
    )


@org_page(Resource.SETTINGS, Action.CHANGE, name="company-smtp", methods=("GET", "POST"))
def smtp(request: HttpRequest, member: Membership, member_id: str | None = None) -> HttpResponse:
    org = member.organization
    target = _smtp_target(member, member_id)
    config = outgoing.settings_for(org, target)
    company = services.get_profile(org)
    default_email = (target.user.email if target else company.email) or ""
    form = SmtpForm.for_settings(config, request.POST or None, default_email)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        password, clear = data.pop("password"), data.pop("clear_password")
        try:
            outgoing.save_settings(
                org,
                actor=request.user,
                membership=target,
                password=password,
                clear_password=clear,
                **data,
            )
        except DomainError as exc:
            apply_errors(form, exc.details, exc.message)
        else:
            messages.success(
                request, _("Outgoing e-mail settings saved. Send a test to check them.")
            )
            return redirect(_smtp_url(member, target))
    own = {
        row.membership_id: row
        for row in SmtpSettings.objects.filter(organization=org, membership__isnull=False)
    }
    people = (
        []
        if target
        else [
            {"member": person, "config": own.get(person.pk)}
            for person in Membership.objects.filter(organization=org, is_blocked=False)
            .select_related("user")
            .order_by("display_name")
        ]
    )
    return _page(
        request,
        "company/smtp.html",
        {
            "form": form,
            "config": config,
            "target": target,
            "company": company,
            "people": people,
            "platform_from": settings.DEFAULT_FROM_EMAIL,
            "test_form": SmtpTestForm(initial={"to": request.user.email}),  # type: ignore[union-attr]
        },
    )


@org_page(Resource.SETTINGS, Action.CHANGE, name="company-smtp-test", methods=("POST",))
def smtp_test(
    request: HttpRequest, member: Membership, member_id: str | None = None
) -> HttpResponse:
    target = _smtp_target(member, member_id)
    config = outgoing.settings_for(member.organization, target)
    form = SmtpTestForm(request.POST)
    if config is None:
        messages.error(request, _("Save the server's settings before testing them."))
    elif not form.is_valid():
        messages.error(request, _form_errors(form))
    else:
        outcome = outgoing.send_test(config, actor=request.user, to=form.cleaned_data["to"])
        (messages.success if outcome.ok else messages.error)(request, outcome.message)
    return redirect(_smtp_url(member, target))


@org_page(Resource.SETTINGS, Action.CHANGE, name="company-smtp-remove", methods=("POST",))
def smtp_remove(
    request: HttpRequest, member: Membership, member_id: str | None = None
) -> HttpResponse:
    target = _smtp_target(member, member_id)
    config = outgoing.settings_for(member.organization, target)
    if config is not None:
        outgoing.remove_settings(config, actor=request.user)
        messages.success(
            request,
            _(
                "The server is removed: e-mails now leave from the "
                "platform's address, with replies going to the company's "
                "e-mail."
            ),
        )
    return redirect(_smtp_url(member, target))
