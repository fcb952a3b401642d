"""Who is asking: HTTP Basic with the member's e-mail (or login) and a personal token.

Desktop clients cannot do two-factor login, so WebDAV takes "app passwords": the
personal API tokens (`cpt_<prefix>_<secret>`, only their SHA-256 is stored). A
session cookie never authenticates /dav/. Every failure (no header, a malformed
one, an unknown or revoked token, a blocked member, a token of someone else) gets
the same 401 before any path is looked at, so it tells nothing about what exists.
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from wsgidav.mw.base_mw import BaseMiddleware

from comptoir.accounts import tokens
from comptoir.accounts.models import ApiToken, User
from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource

PRINCIPAL = "comptoir.principal"
REALM = "Comptoir"

StartResponse = Any


@dataclass(frozen=True)
class Principal:
    """A member holding a personal token; writes need a read-and-write token."""

    token: ApiToken

    @property
    def member(self) -> Membership:
        return self.token.membership

    @property
    def user(self) -> User:
        return self.token.membership.user

    @property
    def may_write(self) -> bool:
        return self.token.scope == ApiToken.Scope.WRITE


def principal_of(environ: dict[str, Any]) -> Principal:
    found: Principal = environ[PRINCIPAL]
    return found


def credentials(header: str) -> tuple[str, str] | None:
    """(user name, password) from an `Authorization: Basic …` header, or None."""
    scheme, _sep, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    name, sep, password = decoded.partition(":")
    if not sep or not name or not password:
        return None
    return name.strip(), password


def authenticate(header: str) -> Principal | None:
    """The principal for this header: a personal token whose member is the person named."""
    found = credentials(header)
    if found is None:
        return None
    name, secret = found
    token = tokens.find_token(secret)  # None when revoked, or the member is blocked
    if token is None or token.kind != ApiToken.Kind.PERSONAL:
        return None
    user = token.membership.user
    named = name.casefold()
    if named not in {(user.email or "").casefold(), user.login.casefold()}:
        return None
    return Principal(token)


class TokenAuthenticator(BaseMiddleware):  # type: ignore[misc]
    """WsgiDAV middleware: 401 unless the Basic credentials name a member and their token."""

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        principal = authenticate(environ.get("HTTP_AUTHORIZATION", ""))
        if principal is None:
            return self._refuse(start_response, "401 Unauthorized", _unauthorized())
        if not principal.member.can(Resource.DOSSIERS, Action.VIEW):
            return self._refuse(start_response, "403 Forbidden", _role_refused())
        environ[PRINCIPAL] = principal
        # WsgiDAV's lock principal: a lock belongs to the member who took it
        environ["wsgidav.auth.user_name"] = str(principal.member.public_id)
        return self.next_app(environ, start_response)  # type: ignore[no-any-return]

    def _refuse(self, start_response: StartResponse, status: str, text: str) -> list[bytes]:
        body = text.encode()
        headers = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
        ]
        if status.startswith("401"):
            headers.append(("WWW-Authenticate", f'Basic realm="{REALM}", charset="UTF-8"'))
        start_response(status, headers)
        return [body]


def _unauthorized() -> str:
    return _(
        "Sign in with your e-mail address and a personal access token "
        "(in Comptoir: your user menu › Access tokens)."
    )


def _role_refused() -> str:
    return _("Your role does not allow this action.")
