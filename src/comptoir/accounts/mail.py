"""Composing e-mails from templates; they are sent by a task after commit."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from comptoir.accounts.outgoing import (
    OUTGOING_ROUTERS,
    OutgoingRoute,
    OutgoingRouter,
    add_outgoing_router,
)
from comptoir.accounts.tasks import send_email
from comptoir.core.models import Membership, Organization

# The outgoing-router hook (see comptoir.accounts.outgoing) is part of this module's API.
__all__ = [
    "OUTGOING_ROUTERS",
    "OutgoingRoute",
    "OutgoingRouter",
    "add_outgoing_router",
    "queue_email",
]


def queue_email(
    to: str,
    template: str,
    context: dict[str, Any],
    *,
    language: str = "fr",
    organization: Organization | None = None,
    member: Membership | None = None,
) -> None:
    """Render `accounts/email/<template>.{subject,txt,html}` and send once committed.

    `organization` (and `member`, who the message is from) let the outgoing
    routers pick the server and sender: see `comptoir.accounts.outgoing`.
    """
    with translation.override(language):
        subject = render_to_string(f"accounts/email/{template}.subject", context).strip()
        text = render_to_string(f"accounts/email/{template}.txt", context)
        html = render_to_string(f"accounts/email/{template}.html", context)
    organization_id = (
        organization.pk
        if organization is not None
        else (member.organization_id if member is not None else None)
    )
    transaction.on_commit(
        partial(
            send_email.enqueue,
            [to],
            subject,
            text,
            html,
            organization_id=organization_id,
            member_id=member.pk if member is not None else None,
        )
    )
