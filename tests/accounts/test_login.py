"""Logging in and out of the web interface: identifiers, refusals, throttling, audit."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from comptoir.accounts import services
from comptoir.core.models import AuditEntry
from tests.conftest import PASSWORD
from tests.helpers import shows

LOGIN = reverse("accounts:login")
BAD_CREDENTIALS = "Incorrect e-mail/login or password."
TOO_MANY = "Too many failed attempts. Wait a few minutes and try again, or reset your password."


def log_in(
    identifier: str, password: str = PASSWORD, client: Client | None = None, next_url: str = ""
):
    client = client or Client()
    data = {"identifier": identifier, "password": password}
    if next_url:
        data["next"] = next_url
    return client, client.post(LOGIN, data)


def logged_in_user_id(client: Client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value is not None else None


def entries(org, action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(organization=org, action=action).order_by("seq"))


@pytest.mark.parametrize("identifier", ["admin@acme.test", "admin-acme", "  ADMIN@Acme.TEST "])
def test_login_with_email_or_login(people, identifier):
    admin = people["admin"]
    client, response = log_in(identifier)
    assert response.status_code == 302
    assert response.url == reverse("core:org-picker")
    assert logged_in_user_id(client) == admin.user.pk
    admin.user.refresh_from_db()
    assert admin.user.last_login is not None
    # one organisation: the picker goes straight to its dashboard
    picker = client.get(reverse("core:org-picker"))
    assert picker.url == reverse("core:dashboard", kwargs={"org": "acme"})


def test_login_writes_an_audit_entry(people):
    admin = people["admin"]
    log_in("admin-acme")
    [entry] = entries(admin.org, "auth.login")
    assert entry.actor_id == admin.user.pk
    assert (entry.object_type, entry.object_id) == ("user", str(admin.user.public_id))
    assert entry.ip == "127.0.0.1"
    assert entries(people["outsider"].org, "auth.login") == []


def test_wrong_password_is_refused_and_audited(people):
    admin = people["admin"]
    client, response = log_in("admin@acme.test", "not-the-password")
    assert response.status_code == 200
    assert shows(response, BAD_CREDENTIALS)
    assert logged_in_user_id(client) is None
    [entry] = entries(admin.org, "auth.login_failed")
    assert entry.actor_id is None
    assert entry.object_id == str(admin.user.public_id)
    assert entry.after == {"reason": "bad_credentials"}


def test_unknown_identifier_goes_to_the_platform_log(people):
    _client, response = log_in("nobody@nowhere.test", "whatever-password")
    assert shows(response, BAD_CREDENTIALS)
    [entry] = AuditEntry.objects.filter(chain="platform", action="auth.login_failed")
    assert (entry.object_type, entry.object_repr) == ("login", "nobody@nowhere.test")
    assert entry.organization_id is None


def test_next_is_followed_only_on_this_site(people):
    members = reverse("accounts:members", kwargs={"org": "acme"})
    _client, response = log_in("admin-acme", next_url=members)
    assert response.url == members
    _client, response = log_in("admin-acme", next_url="https://evil.example/o/")
    assert response.url == reverse("core:org-picker")


def test_throttling_refuses_even_the_right_password(people, settings):
    settings.COMPTOIR_LOGIN_MAX_FAILURES = 3
    admin = people["admin"]
    for _ in range(3):
        _client, response = log_in("admin-acme", "wrong-password")
        assert shows(response, BAD_CREDENTIALS)
    client, response = log_in("admin-acme")
    assert response.status_code == 200
    assert shows(response, TOO_MANY)
    assert logged_in_user_id(client) is None
    # the lock is per identifier, whatever its case
    _client, response = log_in("ADMIN-ACME")
    assert shows(response, TOO_MANY)
    assert len(entries(admin.org, "auth.login_failed")) == 3
    # another account from the same address is not locked yet
    client, response = log_in("backoffice-acme")
    assert logged_in_user_id(client) == people["backoffice"].user.pk


def test_login_and_email_share_one_counter(people, settings):
    """Naming the account by its e-mail does not give an attacker a second set of tries."""
    settings.COMPTOIR_LOGIN_MAX_FAILURES = 3
    log_in("admin-acme", "wrong-password")
    log_in("admin@acme.test", "wrong-password")
    log_in("Admin-Acme", "wrong-password")
    client, response = log_in("admin@acme.test")
    assert shows(response, TOO_MANY)
    assert logged_in_user_id(client) is None


def test_success_resets_the_failure_count(people, settings):
    settings.COMPTOIR_LOGIN_MAX_FAILURES = 3
    for _ in range(2):
        log_in("admin-acme", "wrong-password")
    log_in("admin-acme")
    for _ in range(2):
        log_in("admin-acme", "wrong-password")
    client, _response = log_in("admin-acme")
    assert logged_in_user_id(client) == people["admin"].user.pk


def test_blocked_member_cannot_log_in(people):
    blocked = people["blocked"]
    client, response = log_in("blocked@acme.test")
    assert response.status_code == 200
    assert shows(response, "Your access has been blocked by your administrator.")
    assert logged_in_user_id(client) is None
    [entry] = entries(blocked.org, "auth.login_failed")
    assert entry.after == {"reason": "refused"}
    assert entry.object_id == str(blocked.user.public_id)


def test_station_technician_cannot_log_in_to_the_web(people):
    client, response = log_in("tech_station-acme")
    assert shows(response, "Your profile works on a workstation only and has no web access.")
    assert logged_in_user_id(client) is None


def test_user_in_two_organisations_picks_and_switches(people, django_capture_on_commit_callbacks):
    admin, outsider = people["admin"], people["outsider"]
    with django_capture_on_commit_callbacks(execute=True):
        new = services.add_member(
            outsider.org,
            actor=outsider.user,
            display_name="Admin acme",
            role="backoffice",
            email="ADMIN@acme.test",
        )
    assert new.membership.user_id == admin.user.pk
    assert new.setup_url is None  # an existing account: told, not invited
    assert [message.to for message in mail.outbox] == [["admin@acme.test"]]

    client, response = log_in("admin-acme")
    picker = client.get(response.url)
    assert picker.status_code == 200
    rows = [(row.organization.slug, row.role) for row in picker.context["rows"]]
    assert rows == [("acme", "admin"), ("globex", "backoffice")]
    page = picker.content.decode()
    assert "Acme Diagnostics" in page and "Globex Expertises" in page
    for slug in ("acme", "globex", "acme"):
        dashboard = client.get(reverse("core:dashboard", kwargs={"org": slug}))
        assert dashboard.status_code == 200
        assert dashboard.context["member"].organization.slug == slug
        assert client.session["current_org"] == slug
    # back-office in globex: no Outils there
    members = client.get(reverse("accounts:members", kwargs={"org": "globex"}))
    assert members.status_code == 403
    # ?choose=1 shows the picker, the current organisation marked
    again = client.get(reverse("core:org-picker") + "?choose=1")
    assert again.context["current"] == "acme"


def test_logout_ends_the_session_and_is_audited(people):
    admin = people["admin"]
    client, _response = log_in("admin-acme")
    response = client.post(reverse("accounts:logout"))
    assert response.url == LOGIN
    assert logged_in_user_id(client) is None
    [entry] = entries(admin.org, "auth.logout")
    assert entry.actor_id == admin.user.pk
    dashboard = reverse("core:dashboard", kwargs={"org": "acme"})
    assert client.get(dashboard).url == f"{LOGIN}?next={dashboard}"
    assert client.get(reverse("accounts:logout")).status_code == 405  # POST only
