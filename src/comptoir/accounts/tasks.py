"""Background jobs of the accounts app. E-mails always leave from here."""

from __future__ import annotations

from django_tasks import task

from comptoir.accounts.outgoing import build_message, connection_for, route_for


@task()
def send_email(
    to: list[str],
    subject: str,
    text: str,
    html: str = "",
    reply_to: list[str] | None = None,
    organization_id: int | None = None,
    member_id: int | None = None,
) -> int:
    """Send one message. Safe to retry: the only effect is the message itself.

    With an organisation (and a member), the registered outgoing routers choose
    the server and the sender: the member's or the organisation's own SMTP, or
    the platform's address with Reply-To set to the organisation's.
    """
    route = route_for(organization_id, member_id)
    message = build_message(
        to, subject, text, html, route=route, reply_to=reply_to, connection=connection_for(route)
    )
    return message.send()
