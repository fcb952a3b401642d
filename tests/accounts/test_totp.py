"""Two-factor authentication with TOTP: setting it up, logging in, the org-wide rule."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from comptoir.core.models import AuditEntry
from tests.conftest import PASSWORD
from tests.helpers import fr

SETUP = reverse("accounts:totp-setup")
VERIFY = reverse("accounts:otp-verify")
DASHBOARD = reverse("core:dashboard", kwargs={"org": "acme"})
BAD_CODE = "This code is not valid. Check your phone's clock and try the next code."


@pytest.fixture(autouse=True)
def no_otp_throttle(settings):
    """django-otp makes you wait after a wrong code; these tests retry at once."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def code_for(device: TOTPDevice, drift: int = 0) -> str:
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift)
    return f"{value:06d}"


def wrong_code_for(device: TOTPDevice) -> str:
    """A well-formed code that matches none of the accepted time steps."""
    accepted = {code_for(device, drift) for drift in range(-2, 3)}
    return next(f"{n:06d}" for n in range(1000000) if f"{n:06d}" not in accepted)


def test_setting_up_totp(people):
    admin = people["admin"]
    client = admin.client()
    page = client.get(SETUP)
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=admin.user, confirmed=False)
    assert page.context["secret"] and "<svg" in page.context["qr_svg"]

    refused = client.post(SETUP, {"code": wrong_code_for(device)})
    assert refused.status_code == 200
    assert refused.context["form"].errors == {
        "code": [fr("This code is not valid. Scan the QR code again and retry.")]
    }
    device.refresh_from_db()
    assert device.confirmed is False

    response = client.post(SETUP, {"code": code_for(device)})
    assert response.status_code == 302
    assert response.url == reverse("core:org-picker")
    device.refresh_from_db()
    assert device.confirmed is True
    assert TOTPDevice.objects.filter(user=admin.user).count() == 1
    assert (
        AuditEntry.objects.filter(
            organization=admin.org, action="auth.2fa_enabled", actor=admin.user
        ).count()
        == 1
    )
    assert client.get(SETUP).context["enabled"] is True


def test_login_then_requires_the_code(people):
    admin = people["admin"]
    device = TOTPDevice.objects.create(user=admin.user, name="Téléphone", confirmed=True)
    client = Client()
    response = client.post(
        reverse("accounts:login"), {"identifier": "admin-acme", "password": PASSWORD}
    )
    assert response.url == VERIFY
    assert "_auth_user_id" not in client.session  # not logged in yet
    assert client.get(DASHBOARD).status_code == 302

    refused = client.post(VERIFY, {"code": wrong_code_for(device)})
    assert refused.status_code == 200
    assert refused.context["form"].errors == {"code": [fr(BAD_CODE)]}
    assert "_auth_user_id" not in client.session
    failed = AuditEntry.objects.get(organization=admin.org, action="auth.login_failed")
    assert failed.after == {"reason": "bad_second_factor"}
    malformed = client.post(VERIFY, {"code": "12ab"})
    assert malformed.context["form"].errors == {
        "code": [fr("Enter the 6 digits shown by your app.")]
    }

    response = client.post(VERIFY, {"code": code_for(device)})
    assert response.url == reverse("core:org-picker")
    assert int(client.session["_auth_user_id"]) == admin.user.pk
    assert client.get(DASHBOARD).status_code == 200
    assert AuditEntry.objects.filter(organization=admin.org, action="auth.login").count() == 1


def test_a_code_cannot_be_replayed(people):
    admin = people["admin"]
    device = TOTPDevice.objects.create(user=admin.user, name="Téléphone", confirmed=True)
    code = code_for(device)
    for expected_logged_in in (True, False):
        client = Client()
        client.post(reverse("accounts:login"), {"identifier": "admin-acme", "password": PASSWORD})
        client.post(VERIFY, {"code": code})
        assert ("_auth_user_id" in client.session) is expected_logged_in


def test_verify_page_without_a_pending_login_goes_to_login(db):
    assert Client().get(VERIFY).url == reverse("accounts:login")


def test_org_requiring_2fa_sends_its_admin_to_the_setup_page(people):
    admin, backoffice = people["admin"], people["backoffice"]
    admin.org.require_admin_2fa = True
    admin.org.save()
    client = admin.client()
    for url in (DASHBOARD, reverse("accounts:members", kwargs={"org": "acme"})):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url == SETUP
    # the back-office member is not concerned
    assert backoffice.client().get(DASHBOARD).status_code == 200
    # the session API is held to the same rule; a personal token is not a session
    refused = client.get("/api/v1/orgs/acme/members")
    assert refused.status_code == 403
    assert refused.json()["code"] == "2fa_required"
    assert admin.api().get("/api/v1/orgs/acme/members").status_code == 200

    # once set up in this session, the pages open
    client.get(SETUP)
    device = TOTPDevice.objects.get(user=admin.user)
    client.post(SETUP, {"code": code_for(device)})
    assert client.get(DASHBOARD).status_code == 200


def test_turning_totp_off_needs_a_valid_code(people):
    admin = people["admin"]
    device = TOTPDevice.objects.create(user=admin.user, name="Téléphone", confirmed=True)
    client = admin.client()
    client.post(reverse("accounts:totp-disable"), {"code": wrong_code_for(device)})
    assert TOTPDevice.objects.filter(user=admin.user).count() == 1
    client.post(reverse("accounts:totp-disable"), {"code": code_for(device)})
    assert TOTPDevice.objects.filter(user=admin.user).count() == 0
    assert (
        AuditEntry.objects.filter(organization=admin.org, action="auth.2fa_disabled").count() == 1
    )
