"""An invitation leaves through a real SMTP server and its link sets up the account."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from tests.conftest import Persona
from tests.peers.conftest import Mailbox

pytestmark = pytest.mark.peer

NEW_EMAIL = "camille.roux@acme.test"
NEW_PASSWORD = "Velo-rouge-sous-la-pluie-71"
LINK = re.compile(r"https?://[^\s<>\"]+/compte/lien/[A-Za-z0-9_-]+/")


def test_invitation_over_smtp_then_first_login(
    people: dict[str, Persona],
    smtp_settings: Mailbox,
    django_capture_on_commit_callbacks: Any,
) -> None:
    admin = people["admin"]
    form = {
        "display_name": "Camille Roux",
        "role": "technician_all",
        "email": NEW_EMAIL,
        "login": "",
        "initials": "",
        "agenda_color": "#2e9afe",
    }
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin.client().post(f"/o/{admin.org.slug}/utilisateurs/nouveau/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert len(callbacks) == 1, "one e-mail queued after commit"

    # The SMTP server got exactly one message, for her, and Django kept nothing locally.
    assert len(smtp_settings.envelopes) == 1
    envelope = smtp_settings.envelopes[0]
    assert envelope.rcpt_tos == [NEW_EMAIL]
    assert envelope.mail_from == parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    assert not getattr(mail, "outbox", [])
    message = message_from_bytes(
        envelope.original_content or envelope.content, policy=policy.default
    )
    assert message["To"] == NEW_EMAIL
    assert message["Subject"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",))
    assert html is not None, "the invitation has an HTML alternative"
    links = set(LINK.findall(text))
    assert len(links) == 1, text
    path = urlsplit(links.pop()).path

    # She follows the link and chooses her password.
    browser = Client()
    page = browser.get(path)
    assert page.status_code == 200
    done = browser.post(path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302, done.content.decode()[:2000]
    assert browser.get(path).status_code == 410, "the link works once"

    # Later, from another browser, she logs in with it.
    other = Client()
    login = other.post(
        "/compte/connexion/", {"identifier": NEW_EMAIL, "password": NEW_PASSWORD}, follow=True
    )
    assert login.wsgi_request.user.is_authenticated
    assert login.wsgi_request.user.email == NEW_EMAIL
    assert login.redirect_chain[-1][0] == f"/o/{admin.org.slug}/"
    refused = Client().post(
        "/compte/connexion/", {"identifier": NEW_EMAIL, "password": "not-her-password"}
    )
    assert refused.status_code == 200
    assert not refused.wsgi_request.user.is_authenticated
