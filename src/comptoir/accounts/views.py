"""Pages: login, two-factor, passwords, members, personal tokens. Thin: forms in, services out."""

from __future__ import annotations

from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from comptoir.accounts import services, throttle, tokens
from comptoir.accounts.forms import (
    CertificationForm,
    LoginForm,
    MemberForm,
    OtpForm,
    ResetRequestForm,
    SetPasswordForm,
    TokenForm,
)
from comptoir.accounts.models import ApiToken, User, acting_user
from comptoir.core.access import by_public_id, get_member_for, org_page
from comptoir.core.errors import DomainError
from comptoir.core.middleware import client_ip
from comptoir.core.models import AuditEntry, Certification, Membership
from comptoir.core.roles import Action, Resource

PENDING_USER = "pending_2fa_user"


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "core:org-picker"


def _complete_login(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    login(request, user, backend="comptoir.accounts.backends.LoginOrEmailBackend")
    services.record_login(user)
    return redirect(next_url)


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        identifier = form.cleaned_data["identifier"]
        ip = client_ip(request)
        wanted = identifier.strip().lower()  # a login or an e-mail, as the backend reads it
        known = User.objects.filter(Q(login=wanted) | Q(email=wanted)).first()
        # One counter per account, whether it is named by its login or its e-mail.
        counter = f"user:{known.pk}" if known else identifier
        if throttle.is_locked(counter, ip):
            form.add_error(
                None,
                _(
                    "Too many failed attempts. Wait a few minutes and try again, "
                    "or reset your password."
                ),
            )
        else:
            user = authenticate(
                request, username=identifier, password=form.cleaned_data["password"]
            )
            refusal = services.login_refusal(user) if user else None
            if user is None or refusal:
                throttle.note_failure(counter, ip)
                services.record_failed_login(
                    identifier, known, "refused" if refusal else "bad_credentials"
                )
                form.add_error(None, refusal or _("Incorrect e-mail/login or password."))
            else:
                throttle.clear(counter)
                if user_has_device(user, confirmed=True):
                    request.session[PENDING_USER] = user.pk
                    request.session["pending_next"] = _next_url(request)
                    return redirect("accounts:otp-verify")
                return _complete_login(request, user, _next_url(request))
    return render(
        request, "accounts/login.html", {"form": form, "next": request.GET.get("next", "")}
    )


@require_http_methods(["GET", "POST"])
def otp_verify(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING_USER)
    user = User.objects.filter(pk=pending, is_active=True).first() if pending else None
    if user is None:
        return redirect("accounts:login")
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"].strip()
        device = _matching_device(user, code)
        if device is None:
            services.record_failed_login(user.login, user, "bad_second_factor")
            form.add_error(
                "code", _("This code is not valid. Check your phone's clock and try the next code.")
            )
        else:
            next_url = request.session.pop("pending_next", "core:org-picker")
            request.session.pop(PENDING_USER, None)
            response = _complete_login(request, user, next_url)
            otp_login(request, device)
            return response
    return render(request, "accounts/otp_verify.html", {"form": form})


def _matching_device(user: User, code: str) -> TOTPDevice | None:
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        allowed, _info = device.verify_is_allowed()
        if allowed and device.verify_token(code):
            return device
    return None


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        services.record_logout(acting_user(request))
    logout(request)
    messages.success(request, _("You are logged out."))
    return redirect("accounts:login")


@login_required
@require_http_methods(["GET", "POST"])
def totp_setup(request: HttpRequest) -> HttpResponse:
    """Turn on two-factor authentication with an authenticator app."""
    user: User = request.user  # type: ignore[assignment]
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if confirmed:
        return render(request, "accounts/totp_setup.html", {"enabled": True})
    device, _created = TOTPDevice.objects.get_or_create(
        user=user, confirmed=False, defaults={"name": "Application d'authentification"}
    )
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"].strip()):
            services.confirm_totp_device(user, device)
            otp_login(request, device)
            messages.success(request, _("Two-factor authentication is on."))
            return redirect("core:org-picker")
        form.add_error("code", _("This code is not valid. Scan the QR code again and retry."))
    qr = segno.make(device.config_url, error="m").svg_inline(scale=4, title="QR code TOTP")
    return render(
        request,
        "accounts/totp_setup.html",
        {"form": form, "qr_svg": qr, "secret": _base32(device), "enabled": False},
    )


def _base32(device: TOTPDevice) -> str:
    import base64

    return base64.b32encode(device.bin_key).decode()


@login_required
@require_POST
def totp_disable(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = OtpForm(request.POST)
    if form.is_valid() and _matching_device(user, form.cleaned_data["code"].strip()):
        services.remove_totp_devices(user)
        messages.success(request, _("Two-factor authentication is off."))
    else:
        messages.error(request, _("Enter a valid code from your app to turn it off."))
    return redirect("accounts:totp-setup")


@require_http_methods(["GET", "POST"])
def setup_link(request: HttpRequest, secret: str) -> HttpResponse:
    """The page behind an invitation or password-reset link."""
    link = tokens.valid_setup_link(secret)
    if link is None:
        return render(request, "accounts/setup_link_invalid.html", status=410)
    form = SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.complete_setup_link(link, form.cleaned_data["password"])
        except DomainError as exc:
            form.add_error("password", exc.message)
        else:
            messages.success(request, _("Your password is set. Welcome!"))
            return _complete_login(request, user, "core:org-picker")
    return render(request, "accounts/setup_link.html", {"form": form, "link": link})


@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    form = ResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.request_password_reset(form.cleaned_data["identifier"])
        messages.success(
            request,
            _(
                "If an account matches, an e-mail with a link is on its "
                "way. The link is valid for 2 hours."
            ),
        )
        return redirect("accounts:login")
    return render(request, "accounts/password_reset.html", {"form": form})


# --- members (Outils › Utilisateurs) -----------------------------------------


@org_page(Resource.SETTINGS, Action.VIEW, name="members")
def members(request: HttpRequest, member: Membership) -> HttpResponse:
    rows = (
        Membership.objects.filter(organization=member.organization)
        .select_related("user")
        .order_by("is_blocked", "display_name")
    )
    return render(request, "accounts/members.html", {"rows": rows})


@org_page(Resource.SETTINGS, Action.ADD, name="member-add", methods=("GET", "POST"))
def member_add(request: HttpRequest, member: Membership) -> HttpResponse:
    form = MemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.changes()
        try:
            new = services.add_member(member.organization, actor=acting_user(request), **data)
        except DomainError as exc:
            _form_error(form, exc)
        else:
            if new.setup_url:
                messages.success(
                    request,
                    _("%(name)s is added; the invitation e-mail is on its way.")
                    % {"name": new.membership.display_name},
                )
            else:
                messages.success(
                    request, _("%(name)s is added.") % {"name": new.membership.display_name}
                )
            return redirect(
                "accounts:member-edit",
                org=member.organization.slug,
                member_id=new.membership.public_id,
            )
    return render(request, "accounts/member_form.html", {"form": form, "target": None})


def _form_error(form: Any, exc: DomainError) -> None:
    field = exc.details.get("field") if isinstance(exc.details, dict) else None
    form.add_error(field if field in form.fields else None, exc.message)


@org_page(Resource.SETTINGS, Action.CHANGE, name="member-edit", methods=("GET", "POST"))
def member_edit(request: HttpRequest, member: Membership, member_id: str) -> HttpResponse:
    target = get_member_for(member, member_id)
    form = MemberForm.for_member(target, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_member(target, actor=acting_user(request), **form.changes())
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect(
                "accounts:member-edit", org=member.organization.slug, member_id=target.public_id
            )
    history = audit_for(target)
    return render(
        request,
        "accounts/member_form.html",
        {
            "form": form,
            "target": target,
            "cert_form": CertificationForm(),
            "certifications": target.certifications.all(),
            "history": history,
            "has_history": services.has_history(target),
            "shown_password": _pop_shown_password(request, target),
        },
    )


def _pop_shown_password(request: HttpRequest, target: Membership) -> dict[str, str] | None:
    """The password generated for `target`, taken out of the session: it is shown once."""
    shown = request.session.get("shown_password")
    if not shown or shown.get("member") != str(target.public_id):
        return None
    del request.session["shown_password"]
    return dict(shown)


def audit_for(target: Membership) -> Any:
    return AuditEntry.objects.filter(
        organization=target.organization, object_id=str(target.public_id)
    ).order_by("-created_at", "-seq")[:20]


def _member_action(
    request: HttpRequest, member: Membership, member_id: str, operation: Any, success: str
) -> HttpResponse:
    target = get_member_for(member, member_id, Action.CHANGE)
    try:
        result = operation(target, actor=acting_user(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success % {"name": target.display_name})
        if isinstance(result, str):
            request.session["shown_password"] = {
                "member": str(target.public_id),
                "password": result,
            }
    return redirect(
        "accounts:member-edit", org=member.organization.slug, member_id=target.public_id
    )


@org_page(Resource.SETTINGS, Action.CHANGE, name="member-block", methods=("POST",))
def member_block(request: HttpRequest, member: Membership, member_id: str) -> HttpResponse:
    return _member_action(
        request,
        member,
        member_id,
        services.block_member,
        _("%(name)s is blocked: no more access, history kept."),
    )


@org_page(Resource.SETTINGS, Action.CHANGE, name="member-unblock", methods=("POST",))
def member_unblock(request: HttpRequest, member: Membership, member_id: str) -> HttpResponse:
    return _member_action(
        request, member, member_id, services.unblock_member, _("%(name)s is unblocked.")
    )


@org_page(Resource.SETTINGS, Action.CHANGE, name="member-password", methods=("POST",))
def member_password(request: HttpRequest, member: Membership, member_id: str) -> HttpResponse:
    return _member_action(
        request,
        member,
        member_id,
        services.generate_password,
        _("New password generated for %(name)s."),
    )


@org_page(Resource.SETTINGS, Action.CHANGE, name="member-invite", methods=("POST",))
def member_invite(request: HttpRequest, member: Membership, member_id: str) -> HttpResponse:
    return _member_action(
        request,
        member,
        member_id,
        services.resend_invitation,
        _("Invitation sent again to %(name)s."),
    )


@org_page(Resource.SETTINGS, Action.DELETE, name="member-remove", methods=("POST",))
def member_remove(request: HttpRequest, member: Membership, member_id: str) -> HttpResponse:
    target = get_member_for(member, member_id, Action.DELETE)
    try:
        services.remove_member(target, actor=acting_user(request))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(
            "accounts:member-edit", org=member.organization.slug, member_id=target.public_id
        )
    messages.success(request, _("%(name)s is removed.") % {"name": target.display_name})
    return redirect("accounts:members", org=member.organization.slug)


@org_page(Resource.SETTINGS, Action.CHANGE, name="member-certification", methods=("POST",))
def member_certification(
    request: HttpRequest, member: Membership, member_id: str, cert_id: str | None = None
) -> HttpResponse:
    target = get_member_for(member, member_id, Action.CHANGE)
    existing = None
    if cert_id:
        existing = by_public_id(Certification.objects.filter(membership=target), cert_id)
    form = CertificationForm(request.POST)
    if form.is_valid():
        try:
            services.save_certification(
                target, actor=acting_user(request), certification=existing, **form.cleaned_data
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Certification saved."))
    else:
        errors = "; ".join(
            f"{form.fields[name].label}: {' '.join(map(str, errs))}"
            for name, errs in form.errors.items()
            if name in form.fields
        )
        messages.error(request, _("Certification not saved: %(errors)s") % {"errors": errors})
    return redirect(
        "accounts:member-edit", org=member.organization.slug, member_id=target.public_id
    )


# --- personal tokens ---------------------------------------------------------


@org_page(None, name="tokens", methods=("GET", "POST"))
def personal_tokens(request: HttpRequest, member: Membership) -> HttpResponse:
    form = TokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, created = tokens.create_token(
                member,
                form.cleaned_data["name"],
                actor=acting_user(request),
                scope=form.cleaned_data["scope"],
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            form = TokenForm()
    rows = ApiToken.objects.filter(membership=member, kind=ApiToken.Kind.PERSONAL)
    return render(request, "accounts/tokens.html", {"form": form, "rows": rows, "created": created})


@org_page(None, name="token-revoke", methods=("POST",))
def token_revoke(request: HttpRequest, member: Membership, token_id: str) -> HttpResponse:
    token = by_public_id(
        ApiToken.objects.filter(membership=member).select_related("membership__organization"),
        token_id,
    )
    tokens.revoke_token(token, actor=acting_user(request))
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("accounts:tokens", org=member.organization.slug)
