"""Fixtures of the company tests: the loopback SMTP servers of tests/peers, and one with login."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.peers.conftest import Mailbox, free_port, smtp_server  # noqa: F401  (fixtures)


@dataclass
class LoginMailbox(Mailbox):
    """A server that demands AUTH LOGIN/PLAIN and records the credentials it was given."""

    logins: list[tuple[str, str]] = field(default_factory=list)
    password: str = ""

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> Any:
        from aiosmtpd.smtp import AuthResult

        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((login, password))
        # handled=False: aiosmtpd answers 535 itself on a refusal
        return AuthResult(success=password == self.password, handled=False)


@pytest.fixture
def smtp_login_server() -> Iterator[LoginMailbox]:
    """An aiosmtpd server on loopback that requires a login (plain text: loopback only)."""
    from aiosmtpd.controller import Controller

    mailbox = LoginMailbox("127.0.0.1", free_port(), password="Mot-de-passe-SMTP-42")
    controller = Controller(
        mailbox,
        hostname=mailbox.host,
        port=mailbox.port,
        ready_timeout=10,
        authenticator=mailbox.authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()
