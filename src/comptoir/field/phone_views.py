"""Pairing a phone: the member's "My phone" page (back-office), and the link the phone
opens (no login: the link is the key, once, for a few minutes)."""

from __future__ import annotations

from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth import login
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.models import Device

from comptoir.accounts.models import acting_user
from comptoir.core.access import by_public_id, org_page
from comptoir.core.models import Membership
from comptoir.field import services
from comptoir.field.middleware import DEVICE_SESSION_KEY
from comptoir.field.models import PairedDevice

DEVICES_SHOWN = 20


def _devices(member: Membership) -> list[dict[str, Any]]:
    rows = list(
        PairedDevice.objects.filter(member=member).order_by(
            F("revoked_at").desc(nulls_first=True), "-created_at"
        )[:DEVICES_SHOWN]
    )
    live = services.live_sessions(device.session_key for device in rows if device.is_active)
    return [
        {"device": device, "connected": device.is_active and device.session_key in live}
        for device in rows
    ]


def _phone_page(
    request: HttpRequest, member: Membership, extra: dict[str, Any] | None = None
) -> HttpResponse:
    context = {
        "devices": _devices(member),
        "field_url": reverse("field:home", kwargs={"org": member.organization.slug}),
        "minutes": int(services.LINK_LIFETIME.total_seconds() // 60),
        **(extra or {}),
    }
    response = render(request, "field/phone.html", context)
    response["Cache-Control"] = "no-store"  # the link on it connects a phone as this member
    return response


@org_page(None, name="field-phone")
def phone(request: HttpRequest, member: Membership) -> HttpResponse:
    return _phone_page(request, member)


@org_page(None, name="field-phone-link", methods=("POST",))
def phone_link(request: HttpRequest, member: Membership) -> HttpResponse:
    """A new single-use link, shown once as a QR code and as text."""
    verified_by = getattr(request.user, "otp_device", None)
    link, secret = services.create_pairing_link(
        member,
        actor=acting_user(request),
        otp_device_id=verified_by.persistent_id if verified_by is not None else "",
    )
    url = request.build_absolute_uri(reverse("field:pair", kwargs={"secret": secret}))
    qr = segno.make(url, error="m").svg_inline(scale=4, title=_("Phone connection code"))
    return _phone_page(request, member, {"link_url": url, "qr": qr, "expires_at": link.expires_at})


@org_page(None, name="field-device-revoke", methods=("POST",))
def device_revoke(request: HttpRequest, member: Membership, device_id: str) -> HttpResponse:
    device = by_public_id(
        PairedDevice.objects.filter(organization=member.organization, member=member).select_related(
            "member", "organization"
        ),
        device_id,
    )
    if services.revoke_device(device, actor=acting_user(request)):
        messages.success(request, _("“%(name)s” is disconnected.") % {"name": device.name})
    return redirect("field:phone", org=member.organization.slug)


def _open_device_session(request: HttpRequest, pairing: services.Pairing) -> None:
    """Log the phone in as the member, for a long-lived session of its own.

    The session counts as verified by the second factor that verified the session which
    made the link (the link was made after it), so the OTP check does not send it back.
    """
    device = pairing.device
    user = device.member.user
    login(request, user, backend="comptoir.accounts.backends.LoginOrEmailBackend")
    request.session.set_expiry(services.DEVICE_SESSION_SECONDS)
    request.session[DEVICE_SESSION_KEY] = str(device.public_id)
    request.session["current_org"] = device.organization.slug
    if pairing.otp_device_id:
        second_factor = Device.from_persistent_id(pairing.otp_device_id)
        if second_factor is not None and second_factor.confirmed:
            otp_login(request, second_factor)
    request.session.save()  # a session key now, to be able to end this session later
    services.bind_session(device, request.session.session_key or "")


def _pair_invalid(request: HttpRequest, message: str) -> HttpResponse:
    response = render(request, "field/pair_invalid.html", {"message": message}, status=410)
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def pair(request: HttpRequest, secret: str) -> HttpResponse:
    """The link in the QR code. Opening it asks to confirm (a preview of the link by a
    messaging app must not use it up, nor be the one connected); confirming connects the
    phone, then opens the field app."""
    if request.method != "POST":
        try:
            link = services.pairing_link(secret)
        except services.PairingLinkInvalid as exc:
            return _pair_invalid(request, exc.message)
        response = render(
            request,
            "field/pair_confirm.html",
            {"who": link.member.display_name, "organization_name": link.member.organization.name},
        )
        # The address holds the secret: it goes to no other site. (Not "no-referrer": the
        # browser would then send the confirming POST with `Origin: null`, refused.)
        response["Referrer-Policy"] = "same-origin"
        response["X-Robots-Tag"] = "noindex"
        return response
    try:
        with transaction.atomic():
            pairing = services.redeem_pairing_link(
                secret, user_agent=request.headers.get("User-Agent", "")
            )
            _open_device_session(request, pairing)
    except services.PairingLinkInvalid as exc:
        return _pair_invalid(request, exc.message)
    messages.success(  # named: a link someone else made would connect their account
        request,
        _("This phone is connected as %(name)s. Add Comptoir Terrain to your home screen.")
        % {"name": pairing.device.member.display_name},
    )
    return redirect("field:home", org=pairing.device.organization.slug)
