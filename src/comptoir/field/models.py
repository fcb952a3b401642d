"""The field app's own data: the links that pair a phone, and the paired phones."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.core.models import Membership, Organization


class PairingLink(models.Model):
    """A single-use, short-lived link that connects a phone to a member's account.

    Shown once, as a QR code and as text, on the member's "My phone" page. Only a
    SHA-256 of its secret is stored. `otp_device_id` names the second factor that
    had verified the session which made the link (empty if none): the phone's
    session counts as verified by it.
    """

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="pairing_links")
    token_hash = models.CharField(max_length=64, unique=True)
    otp_device_id = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["member", "used_at"])]

    def __str__(self) -> str:
        return f"pairing link for {self.member}"


class PairedDevice(models.Model):
    """A phone connected to a member's account by a pairing link.

    The phone holds a long-lived session (`session_key`); revoking the device,
    or blocking the member, ends that session at its next request.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="paired_devices")
    name = models.CharField(_("name"), max_length=100)
    user_agent = models.CharField(max_length=300, blank=True, default="")
    session_key = models.CharField(max_length=40, blank=True, default="", editable=False)
    created_at = models.DateTimeField(_("paired on"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["member", "revoked_at"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
