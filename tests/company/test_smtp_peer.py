"""Messages leave through the organisation's (or a member's) own SMTP server, real, on loopback."""

from __future__ import annotations

import html
from email import message_from_bytes, policy
from typing import Any

import pytest
from django.core import mail

from comptoir.accounts import services as accounts_services
from comptoir.accounts.mail import queue_email
from comptoir.company import outgoing
from comptoir.company import services as company_services
from comptoir.company.models import SmtpSettings
from comptoir.core.models import AuditEntry
from tests.company.conftest import LoginMailbox
from tests.company.factories import smtp_config
from tests.helpers import fr
from tests.peers.conftest import Mailbox, free_port

pytestmark = [
    pytest.mark.peer,
    # The loopback server takes a login without TLS on purpose (nothing leaves the machine).
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]

PASSWORD = "Mot-de-passe-SMTP-42"


def parsed(envelope: Any) -> Any:
    return message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)


def test_an_invitation_leaves_through_the_organisations_server(
    people, smtp_login_server: LoginMailbox, django_capture_on_commit_callbacks
):
    admin = people["admin"]
    company_services.update_profile(
        admin.org, actor=admin.user, legal_name="Acme Diagnostics SAS", email="contact@acme-diag.fr"
    )
    smtp_config(
        admin,
        smtp_login_server.port,
        username="bureau@acme-diag.fr",
        password=PASSWORD,
        from_email="bureau@acme-diag.fr",
        from_name="Acme Diagnostics",
    )
    with django_capture_on_commit_callbacks(execute=True):
        accounts_services.add_member(
            admin.org,
            actor=admin.user,
            display_name="Camille Roux",
            role="technician_all",
            email="camille.roux@example.fr",
        )
    assert smtp_login_server.logins == [("bureau@acme-diag.fr", PASSWORD)], (
        "the decrypted password reached the server"
    )
    assert len(smtp_login_server.envelopes) == 1
    envelope = smtp_login_server.envelopes[0]
    assert envelope.mail_from == "bureau@acme-diag.fr"
    assert envelope.rcpt_tos == ["camille.roux@example.fr"]
    message = parsed(envelope)
    assert message["From"] == "Acme Diagnostics <bureau@acme-diag.fr>"
    assert message["Reply-To"] == "contact@acme-diag.fr"
    assert not mail.outbox, "nothing went through the platform's backend"


def test_a_member_sends_through_their_own_server(
    people,
    smtp_server: Mailbox,
    smtp_login_server: LoginMailbox,
    django_capture_on_commit_callbacks,
):
    admin, tech = people["admin"], people["tech_all"]
    smtp_config(
        admin,
        smtp_login_server.port,
        username="bureau@acme-diag.fr",
        password=PASSWORD,
        from_email="bureau@acme-diag.fr",
    )
    smtp_config(
        admin,
        smtp_server.port,
        membership=tech.member,
        from_email="tech.all@acme-diag.fr",
        from_name="Tech All",
    )
    with django_capture_on_commit_callbacks(execute=True):
        queue_email(
            "client@example.fr",
            "password_reset",
            {"user": tech.user, "url": "https://x.test/", "hours": 2},
            member=tech.member,
        )
    assert [parsed(envelope)["From"] for envelope in smtp_server.envelopes] == [
        "Tech All <tech.all@acme-diag.fr>"
    ]
    assert smtp_login_server.envelopes == [], "the organisation's server was not used"


def test_send_a_test_from_the_page(people, smtp_server: Mailbox):
    admin = people["admin"]
    config = smtp_config(admin, smtp_server.port, from_email="contact@acme-diag.fr")
    response = admin.client().post(
        f"/o/{admin.org.slug}/parametres/e-mail/test/", {"to": "david@acme-diag.fr"}, follow=True
    )
    assert response.status_code == 200
    expected = fr("The test e-mail was accepted by %(host)s for %(to)s.") % {
        "host": "127.0.0.1",
        "to": "david@acme-diag.fr",
    }
    assert html.escape(expected) in response.content.decode()
    assert len(smtp_server.envelopes) == 1
    message = parsed(smtp_server.envelopes[0])
    assert message["To"] == "david@acme-diag.fr"
    assert message["From"] == "Acme Diagnostics <contact@acme-diag.fr>"
    config.refresh_from_db()
    assert (config.last_test_ok, config.last_test_message) == (True, expected)
    entry = AuditEntry.objects.filter(organization=admin.org, action="smtp.test").get()
    assert entry.after == {"to": "david@acme-diag.fr", "ok": True, "message": expected}


def test_send_a_test_reports_a_refused_connection_in_french(people):
    admin = people["admin"]
    port = free_port()  # nothing listens there
    smtp_config(admin, port)
    response = admin.client().post(
        f"/o/{admin.org.slug}/parametres/e-mail/test/", {"to": "david@acme-diag.fr"}, follow=True
    )
    expected = fr(
        "The server %(host)s refused the connection on port %(port)s: check the "
        "server name and the port."
    ) % {"host": "127.0.0.1", "port": port}
    assert html.escape(expected) in response.content.decode()
    config = SmtpSettings.objects.get(organization=admin.org)
    assert (config.last_test_ok, config.last_test_message) == (False, expected)


def test_send_a_test_reports_a_wrong_password(people, smtp_login_server: LoginMailbox):
    admin = people["admin"]
    config = smtp_config(
        admin, smtp_login_server.port, username="bureau@acme-diag.fr", password="not-the-password"
    )
    outcome = outgoing.send_test(config, actor=admin.user, to="david@acme-diag.fr")
    assert outcome.ok is False
    assert outcome.message.startswith(
        fr("The server refused the user name or the password (%(reply)s).").split("(")[0]
    )
    assert "535" in outcome.message
    assert smtp_login_server.envelopes == []


def test_send_a_test_reports_a_server_without_starttls(people, smtp_server: Mailbox):
    admin = people["admin"]
    config = smtp_config(admin, smtp_server.port, security="starttls")
    outcome = outgoing.send_test(config, actor=admin.user, to="david@acme-diag.fr")
    assert outcome.ok is False
    assert outcome.message == fr(
        "The server does not offer this security (%(detail)s): choose another security "
        "setting or port."
    ) % {"detail": "STARTTLS extension not supported by server."}
