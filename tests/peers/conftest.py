"""Real peer servers on loopback: an SMTP server (aiosmtpd) the e-mail backend talks to."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.contacts import api_formats

# String formats the API publishes whose check digits JSON Schema cannot express (SIREN,
# SIRET, VAT numbers): the fuzzer in test_api_fuzz.py draws valid ones, so a request valid
# per the schema is one the API must accept.
api_formats.register()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Mailbox:
    """What the SMTP server accepted: one envelope per message."""

    host: str
    port: int
    envelopes: list[Any] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    """An aiosmtpd server on 127.0.0.1 and a free port, for the duration of one test."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox("127.0.0.1", free_port())
    controller = Controller(mailbox, hostname=mailbox.host, port=mailbox.port, ready_timeout=10)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_settings(settings: Any, smtp_server: Mailbox) -> Mailbox:
    """Django sends through the real SMTP server, in plain text on loopback."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    return smtp_server
