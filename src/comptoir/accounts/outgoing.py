"""Which server and sender an e-mail leaves through; the apps above accounts decide.

Accounts cannot import the apps above it (company holds the SMTP settings of an
organisation and of its members), so those apps register a router: a function
`(organization_id, member_id) -> route | None`. The first router that answers
decides. A route is a dict with any of these keys:

- `host`, `port`, `username`, `password`, `use_tls`, `use_ssl`, `timeout`: an
  SMTP server of its own; without `host` the platform's backend (settings.EMAIL_*)
  carries the message;
- `from_email`: the sender (default: settings.DEFAULT_FROM_EMAIL);
- `reply_to`: a list of addresses replies go to.

Routers run in the task that sends, never while the request is open.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend

OutgoingRoute = dict[str, Any]
OutgoingRouter = Callable[[int | None, int | None], OutgoingRoute | None]

OUTGOING_ROUTERS: list[OutgoingRouter] = []
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


def add_outgoing_router(router: OutgoingRouter) -> None:
    """Register once (AppConfig.ready may run more than once in tests)."""
    if router not in OUTGOING_ROUTERS:
        OUTGOING_ROUTERS.append(router)


def route_for(organization_id: int | None, member_id: int | None) -> OutgoingRoute:
    """The first registered router's answer; {} means the platform's defaults."""
    if organization_id is None and member_id is None:
        return {}
    for router in OUTGOING_ROUTERS:
        route = router(organization_id, member_id)
        if route is not None:
            return route
    return {}


def connection_for(route: OutgoingRoute) -> BaseEmailBackend | None:
    """An SMTP connection for a route with its own server; None: the platform's backend."""
    if not route.get("host"):
        return None
    return get_connection(
        SMTP_BACKEND,
        fail_silently=False,
        host=route["host"],
        port=int(route.get("port") or 25),
        username=route.get("username") or "",
        password=route.get("password") or "",
        use_tls=bool(route.get("use_tls")),
        use_ssl=bool(route.get("use_ssl")),
        timeout=route.get("timeout") or settings.EMAIL_TIMEOUT,
    )


def build_message(
    to: list[str],
    subject: str,
    text: str,
    html: str = "",
    *,
    route: OutgoingRoute,
    reply_to: list[str] | None = None,
    connection: BaseEmailBackend | None = None,
) -> EmailMultiAlternatives:
    """One message with the route's sender and Reply-To (the caller's Reply-To wins)."""
    message = EmailMultiAlternatives(
        subject,
        text,
        route.get("from_email") or settings.DEFAULT_FROM_EMAIL,
        to,
        reply_to=reply_to or route.get("reply_to") or None,
        connection=connection,
    )
    if html:
        message.attach_alternative(html, "text/html")
    return message
