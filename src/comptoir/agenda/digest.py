"""The evening e-mail: each technician gets the list of their next day's appointments.

`schedule()` runs from cron (`comptoir agenda digests`, every 15 minutes): for
every organisation whose chosen time has passed today, it claims one
`DigestDelivery` per member who has appointments tomorrow (a unique row per
member and day, so a second run, or two at once, claim nothing more) and
queues the sending task after commit. `deliver()` is that task's body: it moves
the row from QUEUED to SENDING with a conditional update before it talks to the
SMTP server, so a task run twice, or started again by a restarted worker, sends
nothing more. The e-mail leaves through the member's own server, else the
organisation's (comptoir.accounts.outgoing routers).
"""

from __future__ import annotations

import logging
import smtplib
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from comptoir.accounts.outgoing import build_message, connection_for, route_for
from comptoir.agenda.models import AgendaSettings, Appointment, DigestDelivery
from comptoir.agenda.selectors import (
    contacts_of,
    day_bounds,
    live,
    missions_of,
    summary_of,
    with_details,
)
from comptoir.core.models import Membership

logger = logging.getLogger(__name__)

REQUEUE_AFTER = timedelta(minutes=10)  # a queued e-mail whose task was lost is queued again
D = DigestDelivery.Status


def _due_organization_ids(now: datetime, candidates: set[int]) -> set[int]:
    """Of these organisations, those whose digest time has passed today (and not switched off)."""
    local = timezone.localtime(now).time()
    configured = {
        row.organization_id: row
        for row in AgendaSettings.objects.filter(organization_id__in=candidates)
    }
    default = AgendaSettings()
    due = set()
    for org_id in candidates:
        chosen = configured.get(org_id, default)
        if chosen.digest_enabled and local >= chosen.digest_time:
            due.add(org_id)
    return due


def recipients(day: date, organization_ids: set[int] | None = None) -> list[tuple[int, int]]:
    """(organisation, member) pairs with planned appointments on `day`, who can receive mail."""
    start, end = day_bounds(day)
    rows = live(
        Appointment.objects.filter(
            status=Appointment.Status.PLANNED,
            starts_at__gte=start,
            starts_at__lt=end,
            technician__is_blocked=False,
            technician__user__is_active=True,
        ).exclude(Q(technician__user__email__isnull=True) | Q(technician__user__email=""))
    )
    if organization_ids is not None:
        rows = rows.filter(organization_id__in=organization_ids)
    return sorted(set(rows.values_list("organization_id", "technician_id")))


def schedule(now: datetime | None = None) -> int:
    """Claim and queue the digests that are due; returns how many were queued."""
    from comptoir.agenda.tasks import send_digest

    now = now or timezone.now()
    tomorrow = timezone.localtime(now).date() + timedelta(days=1)
    pairs = recipients(tomorrow)
    due = _due_organization_ids(now, {org_id for org_id, _member in pairs})
    already = set(
        DigestDelivery.objects.filter(day=tomorrow).values_list("membership_id", flat=True)
    )
    queued = 0
    for org_id, member_id in pairs:
        if org_id not in due or member_id in already:
            continue
        try:
            with transaction.atomic():
                delivery = DigestDelivery.objects.create(
                    organization_id=org_id, membership_id=member_id, day=tomorrow, claimed_at=now
                )
                transaction.on_commit(partial(send_digest.enqueue, delivery.pk))
        except IntegrityError:
            continue  # claimed by another run at the same moment
        queued += 1
    stale = DigestDelivery.objects.filter(status=D.QUEUED, claimed_at__lt=now - REQUEUE_AFTER)
    for delivery_id in stale.values_list("pk", flat=True):
        # the claim in deliver() makes a second task for the same row harmless
        transaction.on_commit(partial(send_digest.enqueue, delivery_id))
    return queued


def _finish(delivery: DigestDelivery, status: str, detail: str = "", count: int = 0) -> str:
    DigestDelivery.objects.filter(pk=delivery.pk).update(
        status=status, detail=detail[:500], appointments=count, finished_at=timezone.now()
    )
    return status


def _item(appointment: Appointment) -> dict[str, Any]:
    return {
        "start": timezone.localtime(appointment.starts_at),
        "end": timezone.localtime(appointment.ends_at),
        "summary": summary_of(appointment),
        "place": appointment.place,
        "missions": missions_of(appointment),
        "contacts": contacts_of(appointment),
        "notes": appointment.notes,
        "url": settings.BASE_URL
        + reverse(
            "agenda:appointment",
            kwargs={
                "org": appointment.organization.slug,
                "appointment_id": appointment.public_id,
            },
        ),
    }


def compose(member: Membership, day: date) -> tuple[str, str, str, int]:
    """Subject, text and HTML of the member's e-mail for `day`, and how many appointments."""
    start, end = day_bounds(day)
    rows = list(
        with_details(
            live(
                Appointment.objects.filter(
                    technician=member,
                    status=Appointment.Status.PLANNED,
                    starts_at__gte=start,
                    starts_at__lt=end,
                )
            )
        )
        .select_related("organization")
        .order_by("starts_at", "pk")
    )
    map_url = settings.BASE_URL + reverse("agenda:map", kwargs={"org": member.organization.slug})
    context = {
        "member": member,
        "org": member.organization,
        "day": day,
        "items": [_item(row) for row in rows],
        "map_url": f"{map_url}?date={day.isoformat()}&technician={member.public_id}",
    }
    with translation.override(member.user.language or "fr"):
        subject = render_to_string("agenda/email/digest.subject", context).strip()
        text = render_to_string("agenda/email/digest.txt", context)
        html = render_to_string("agenda/email/digest.html", context)
    return subject, text, html, len(rows)


def deliver(delivery_id: int) -> str:
    """Send one claimed digest, at most once; returns the row's final status."""
    claimed = DigestDelivery.objects.filter(pk=delivery_id, status=D.QUEUED).update(
        status=D.SENDING, attempted_at=timezone.now()
    )
    if not claimed:
        return "already handled"
    delivery = DigestDelivery.objects.select_related(
        "membership", "membership__user", "membership__organization"
    ).get(pk=delivery_id)
    member = delivery.membership
    user = member.user
    if member.is_blocked or not user.is_active or not user.email:
        return _finish(delivery, D.SKIPPED, "member blocked or without e-mail")
    subject, text, html, count = compose(member, delivery.day)
    if not count:
        return _finish(delivery, D.SKIPPED, "no appointment left")
    route = route_for(member.organization_id, member.pk)
    message = build_message(
        [user.email], subject, text, html, route=route, connection=connection_for(route)
    )
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("digest %s for %s failed: %r", delivery.day, member.public_id, exc)
        return _finish(delivery, D.FAILED, repr(exc), count)
    return _finish(delivery, D.SENT, "", count)
