"""The agenda: appointments, calendar feeds, the evening e-mail, the geocoding cache."""

from __future__ import annotations

import secrets
import uuid
from datetime import time

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from comptoir.core.models import Membership, Organization
from comptoir.dossiers.models import Dossier


class Appointment(models.Model):
    """A technician's time slot, usually to visit a dossier's property.

    Times are stored in UTC and shown in Europe/Paris. `version` goes up by one
    on every change: a drag in the agenda sends the version it saw (a stale one
    is refused), and calendar feeds publish it as the event's SEQUENCE. A
    cancelled appointment is kept (status CANCELLED), never deleted.
    """

    class Status(models.TextChoices):
        PLANNED = "planned", pgettext_lazy("appointment", "Planned")
        CANCELLED = "cancelled", pgettext_lazy("appointment", "Cancelled")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="appointments"
    )
    dossier = models.ForeignKey(
        Dossier,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="appointments",
        verbose_name=_("dossier"),
    )
    technician = models.ForeignKey(
        Membership,
        on_delete=models.PROTECT,
        related_name="appointments",
        verbose_name=_("technician"),
    )
    starts_at = models.DateTimeField(_("start"))
    ends_at = models.DateTimeField(_("end"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PLANNED
    )
    title = models.CharField(_("title"), max_length=200, blank=True)
    address = models.CharField(
        _("address"),
        max_length=300,
        blank=True,
        help_text=_("Only for an appointment without a dossier."),
    )
    notes = models.TextField(_("notes"), blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="appointment_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "starts_at"]),
            models.Index(fields=["technician", "starts_at"]),
            models.Index(fields=["dossier", "status"]),
        ]

    def __str__(self) -> str:
        start = timezone.localtime(self.starts_at)
        return f"{start:%d/%m/%Y %H:%M} {self.technician}"

    @property
    def is_cancelled(self) -> bool:
        return self.status == self.Status.CANCELLED

    @property
    def place(self) -> str:
        """Where it happens: the dossier's property, or the appointment's own address."""
        if self.dossier_id is not None and self.dossier is not None and self.dossier.address:
            return self.dossier.address
        return self.address


def default_digest_time() -> time:
    return time(18, 0)


class AgendaSettings(models.Model):
    """The organisation's agenda options (Outils › Paramètres › Agenda)."""

    organization = models.OneToOneField(
        Organization, on_delete=models.PROTECT, related_name="agenda_settings"
    )
    digest_enabled = models.BooleanField(
        _("e-mail each technician their next day's appointments"), default=True
    )
    digest_time = models.TimeField(_("sent at"), default=default_digest_time)
    default_duration = models.PositiveSmallIntegerField(
        _("default length of an appointment (minutes)"), default=60
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.organization} {self.digest_time:%H:%M}"


def new_nonce() -> str:
    return secrets.token_hex(16)


class CalendarFeed(models.Model):
    """A member's calendar subscription (ICS) address.

    The address carries the feed's public id and an HMAC of `nonce` keyed by
    SECRET_KEY: the database alone does not reveal it, it can be shown again at
    any time, and a new nonce (regenerate) or `revoked_at` makes the old one
    answer 404. `private`: events carry only the address and the mission types.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    membership = models.OneToOneField(
        Membership, on_delete=models.PROTECT, related_name="calendar_feed"
    )
    nonce = models.CharField(max_length=64, default=new_nonce, editable=False)
    private = models.BooleanField(
        _("leave out personal data (only the address and the mission types)"), default=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    regenerated_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return f"feed {self.membership}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class DigestDelivery(models.Model):
    """The evening e-mail of one member for one day: claimed once, sent at most once.

    The row is created (unique member + day) before anything is queued, so two
    runs of the scheduler never queue two e-mails; the task moves it from
    QUEUED to SENDING with a conditional update before it talks to the server,
    so two runs of the task (or a restarted worker) never send two.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        SKIPPED = "skipped", _("Not sent")
        FAILED = "failed", _("Failed")

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    membership = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="digest_deliveries"
    )
    day = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    appointments = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(default=timezone.now)
    attempted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-day", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["membership", "day"], name="one_digest_per_member_day")
        ]
        indexes = [models.Index(fields=["status", "claimed_at"])]

    def __str__(self) -> str:
        return f"{self.membership} {self.day} {self.status}"


class GeocodedAddress(models.Model):
    """What the geocoder answered for an address, keyed by its normalised text.

    A cache shared by every organisation (an address is public knowledge);
    nothing here says who asked.
    """

    class Outcome(models.TextChoices):
        FOUND = "found", _("Found")
        NOT_FOUND = "not_found", _("Not found")

    key = models.CharField(max_length=300, unique=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    label = models.CharField(max_length=300, blank=True)
    score = models.FloatField(null=True, blank=True)
    fetched_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.key
