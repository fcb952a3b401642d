"""Outgoing e-mail settings: encrypted passwords, audit without secrets, routing of messages."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.db import connection
from django.test import override_settings

from comptoir.accounts.mail import OUTGOING_ROUTERS, queue_email
from comptoir.accounts.outgoing import route_for
from comptoir.company import outgoing, services
from comptoir.company.models import SmtpSettings
from comptoir.core.models import AuditEntry
from tests.company.factories import smtp_config
from tests.conftest import nothing_changes
from tests.helpers import fr

SECRET = "Tr3s-Secret-SMTP-pass"


def raw_rows(table: str) -> str:
    """Every column of every row, as the database holds them."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        return repr(cursor.fetchall())


def test_the_company_router_is_registered():
    assert outgoing.route in OUTGOING_ROUTERS


def test_password_is_encrypted_and_never_stored_or_audited_in_clear(people):
    admin = people["admin"]
    config = smtp_config(
        admin, 587, username="contact@acme-diag.fr", password=SECRET, security="starttls"
    )
    assert config.has_password
    assert SECRET not in raw_rows("company_smtpsettings")
    assert SECRET not in config.password_encrypted
    audit_text = json.dumps(
        [[entry.before, entry.after] for entry in AuditEntry.objects.filter(organization=admin.org)]
    )
    assert SECRET not in audit_text
    entry = AuditEntry.objects.filter(organization=admin.org, action="smtp.create").get()
    assert entry.after == {
        "host": "127.0.0.1",
        "port": 587,
        "security": "starttls",
        "username": "contact@acme-diag.fr",
        "from_email": "contact@acme-diag.fr",
        "from_name": "",
        "password_set": True,
        "password_changed": True,
    }
    assert outgoing.route_for_settings(config)["password"] == SECRET


def test_an_empty_password_keeps_the_stored_one_and_clearing_removes_it(people):
    admin = people["admin"]
    config = smtp_config(admin, 587, password=SECRET)
    token = config.password_encrypted
    kept = smtp_config(admin, 2525, password="")
    assert (kept.pk, kept.password_encrypted, kept.port) == (config.pk, token, 2525)
    update = AuditEntry.objects.filter(organization=admin.org, action="smtp.update").get()
    assert (update.before, update.after) == ({"port": 587}, {"port": 2525})
    cleared = outgoing.save_settings(
        admin.org,
        actor=admin.user,
        host="127.0.0.1",
        port=2525,
        security="none",
        username="",
        from_email="a@acme.test",
        from_name="",
        clear_password=True,
    )
    assert not cleared.has_password


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("host", "smtp example", "Enter the server's name, such as smtp.example.fr."),
        ("port", 70000, "Enter a port between 1 and 65535 (usually 587, or 465 for SSL)."),
        ("security", "tls13", "Choose the connection's security."),
        ("from_email", "contact", "Enter the address the e-mails are sent from."),
    ],
)
def test_bad_settings_are_refused_and_write_nothing(people, field, value, message):
    admin = people["admin"]
    data = {
        "host": "smtp.acme-diag.fr",
        "port": 587,
        "security": "starttls",
        "username": "",
        "from_email": "contact@acme-diag.fr",
        "from_name": "",
    }
    data[field] = value
    with nothing_changes(), pytest.raises(services.FieldErrors) as refused:
        outgoing.save_settings(admin.org, actor=admin.user, password=SECRET, **data)
    assert refused.value.details["errors"] == {field: fr(message)}


def test_a_member_of_another_organisation_cannot_get_settings_here(people):
    admin = people["admin"]
    with nothing_changes(), pytest.raises(services.DomainError):
        smtp_config(admin, 587, membership=people["outsider"].member)


# --- routing -------------------------------------------------------------------------------


def test_without_settings_nor_company_email_the_platform_defaults_apply(people):
    org = people["admin"].org
    assert outgoing.route(org.pk, None) is None
    assert route_for(org.pk, None) == {}


@override_settings(DEFAULT_FROM_EMAIL="Comptoir <noreply@comptoir.example>")
def test_without_settings_mail_leaves_from_the_platform_with_reply_to(
    people, django_capture_on_commit_callbacks
):
    admin = people["admin"]
    services.update_profile(
        admin.org, actor=admin.user, legal_name="Acme Diagnostics SAS", email="contact@acme-diag.fr"
    )
    assert outgoing.route(admin.org.pk, None) == {
        "from_email": "Acme Diagnostics SAS <noreply@comptoir.example>",
        "reply_to": ["contact@acme-diag.fr"],
    }
    with django_capture_on_commit_callbacks(execute=True):
        queue_email(
            "client@example.fr",
            "password_reset",
            {"user": admin.user, "url": "https://x.test/", "hours": 2},
            organization=admin.org,
        )
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.from_email == "Acme Diagnostics SAS <noreply@comptoir.example>"
    assert message.reply_to == ["contact@acme-diag.fr"]


def test_the_members_own_server_wins_then_the_organisations(people):
    admin, tech = people["admin"], people["tech_all"]
    services.update_profile(admin.org, actor=admin.user, email="contact@acme-diag.fr")
    smtp_config(admin, 2525, from_email="contact@acme-diag.fr", from_name="Acme")
    smtp_config(
        admin,
        2526,
        membership=tech.member,
        from_email="tech@acme-diag.fr",
        password=SECRET,
        username="tech@acme-diag.fr",
    )
    org_route = outgoing.route(admin.org.pk, admin.member.pk)
    assert org_route == {
        "host": "127.0.0.1",
        "port": 2525,
        "username": "",
        "password": "",
        "use_tls": False,
        "use_ssl": False,
        "from_email": "Acme <contact@acme-diag.fr>",
    }
    member_route = outgoing.route(admin.org.pk, tech.member.pk)
    assert (member_route["port"], member_route["from_email"], member_route["password"]) == (
        2526,
        "tech@acme-diag.fr",
        SECRET,
    )
    assert "reply_to" not in member_route


def test_a_blocked_members_server_is_not_used(people):
    admin, gone = people["admin"], people["blocked"]
    smtp_config(admin, 2525)
    smtp_config(admin, 2526, membership=gone.member, from_email="old@acme-diag.fr")
    assert outgoing.route(admin.org.pk, gone.member.pk)["port"] == 2525


def test_reply_to_points_to_the_company_when_the_sender_differs(people):
    admin = people["admin"]
    services.update_profile(admin.org, actor=admin.user, email="contact@acme-diag.fr")
    smtp_config(admin, 2525, from_email="noreply@acme-diag.fr")
    assert outgoing.route(admin.org.pk, None)["reply_to"] == ["contact@acme-diag.fr"]


def test_an_unreadable_password_falls_back_to_the_platform(people, settings):
    admin = people["admin"]
    services.update_profile(admin.org, actor=admin.user, email="contact@acme-diag.fr")
    smtp_config(admin, 2525, password=SECRET)
    with override_settings(SECRET_KEY="z" * 60, SECRET_KEY_FALLBACKS=[]):
        fallback = outgoing.route(admin.org.pk, None)
    assert fallback is not None and "host" not in fallback
    assert fallback["reply_to"] == ["contact@acme-diag.fr"]


def test_removing_settings_is_audited(people):
    admin = people["admin"]
    config = smtp_config(admin, 2525, password=SECRET)
    outgoing.remove_settings(config, actor=admin.user)
    assert not SmtpSettings.objects.filter(organization=admin.org).exists()
    entry = AuditEntry.objects.filter(organization=admin.org, action="smtp.remove").get()
    assert entry.before["password_set"] is True and entry.after is None
