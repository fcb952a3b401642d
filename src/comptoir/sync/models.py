"""Comptoir Cloud: stations, their options, pairing codes, uploads, cloud clean-ups,
the exchange zone."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import ApiToken, User
from comptoir.core.models import Membership, Organization
from comptoir.dossiers.models import Dossier

PAIRING_TTL = timedelta(hours=24)
UPLOAD_TTL = timedelta(hours=24)
QUARANTINE = timedelta(days=30)


class CloudOptions(models.Model):
    """The company-wide part of the “Options Comptoir Cloud” window.

    `common` holds the per-station options shared by every station (when
    `use_common` is on and a station does not ask for its own).
    """

    organization = models.OneToOneField(
        Organization, on_delete=models.PROTECT, related_name="cloud_options"
    )
    enable_all = models.BooleanField(_("Enable Comptoir Cloud on every station"), default=True)
    use_common = models.BooleanField(_("Use common settings for all stations"), default=False)
    no_newer_warning = models.BooleanField(
        _("Do not warn that a newer dossier exists on the cloud"), default=False
    )
    no_invoice_import = models.BooleanField(
        _("Do not import the stations' invoicing into the back-office"), default=False
    )
    invoice_station = models.ForeignKey(
        "Station",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("Only this station may transfer invoices"),
    )
    admin_password = models.CharField(max_length=128, blank=True, editable=False)
    common = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return str(self.organization)


class Station(models.Model):
    """A field PC or tablet running the agent, paired with the hub."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="stations"
    )
    name = models.CharField(_("station name"), max_length=100)
    membership = models.ForeignKey(
        Membership,
        on_delete=models.PROTECT,
        related_name="stations",
        verbose_name=_("account used by the station"),
    )
    token = models.OneToOneField(
        ApiToken, on_delete=models.PROTECT, null=True, blank=True, related_name="station"
    )
    # Per-station part of the options window; see options.py for the keys.
    own_settings = models.BooleanField(_("Use different settings on this station"), default=False)
    options = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    paired_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    agent_version = models.CharField(max_length=40, blank=True)
    platform = models.CharField(max_length=40, blank=True)
    checkpoint = models.BigIntegerField(default=0)
    # Raised by “Relire depuis le début”: a station that has not honoured this value yet
    # reads the whole change feed again from 0 at its next pass (see docs/sync/protocol.md).
    reread = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="station_name_unique")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.paired_at is not None


class PairingCode(models.Model):
    """A single-use code that turns into a station token; only its hash is kept."""

    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="pairing_codes")
    code_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.station} ({self.expires_at:%Y-%m-%d %H:%M})"


class StationDossier(models.Model):
    """A dossier a station holds (it sent or fetched it): the feed keeps it informed."""

    # The unique (station, dossier) index leads with it: no index of its own.
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="+", db_index=False)
    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["station", "dossier"], name="station_dossier_unique")
        ]

    def __str__(self) -> str:
        return f"{self.station_id}:{self.dossier_id}"


class StationBlob(models.Model):
    """A blob whose bytes a station sent itself (a batch or an upload whose hash the hub
    checked): kept for the stations that see only their own dossiers, which may name
    in a push only the files they may read or have sent (docs/sync/protocol.md)."""

    # The unique (station, sha256) index leads with it: no index of its own.
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="+", db_index=False)
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["station", "sha256"], name="station_blob_unique")
        ]

    def __str__(self) -> str:
        return f"{self.station_id}:{self.sha256[:12]}"


class Upload(models.Model):
    """A resumable upload of one large blob: on local files its chunks are written in
    place in one part file, renamed into the blob once its hash is checked; on another
    storage each chunk is kept as an object and they are put together at the end."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    station = models.ForeignKey(
        Station, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    offset = models.PositiveBigIntegerField(default=0)
    chunks = models.JSONField(default=list)  # [[start, end], …] stored in order
    reserved = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    abandoned_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.sha256[:12]} {self.offset}/{self.size}"

    def chunk_name(self, start: int) -> str:
        return f"orgs/{self.organization.public_id.hex}/uploads/{self.public_id.hex}/{start:016d}"

    def part_name(self) -> str:
        """The one file the chunks are written into, on local files (`blobs.part_path`)."""
        return f"orgs/{self.organization.public_id.hex}/uploads/{self.public_id.hex}.part"


class CloudCleanup(models.Model):
    """Removal of the cloud copies of the dossiers dated in a range.

    30 days of quarantine first (cancellable); then the documents' bytes are
    removed from the cloud. Stations keep their own copies.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="cloud_cleanups"
    )
    date_from = models.DateField(_("from"))
    date_to = models.DateField(_("to"))
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    quarantine_until = models.DateTimeField()
    dossier_count = models.PositiveIntegerField(default=0)
    size = models.PositiveBigIntegerField(default=0)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    executed_at = models.DateTimeField(null=True, blank=True)
    freed = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.date_from} → {self.date_to}"

    @property
    def state(self) -> str:
        if self.cancelled_at:
            return "cancelled"
        if self.executed_at:
            return "done"
        return "quarantine"


class ExchangeZoneEntry(models.Model):
    """A dossier sent to the exchange zone by hand (“zone d'échange entreprise”).

    The dossiers of the agenda's appointments of today and tomorrow are in the
    zone by themselves; this row puts any other dossier there. It stays until it
    is removed by hand (`removed_at` set: the row is kept as history) or, for a
    dossier whose appointment was at or after the day it was added, until that
    day is over (see `comptoir.sync.zone`). One open row per dossier at most.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="exchange_zone_entries"
    )
    dossier = models.ForeignKey(
        Dossier, on_delete=models.PROTECT, related_name="exchange_zone_entries"
    )
    added_at = models.DateTimeField(default=timezone.now)
    added_on = models.DateField(default=timezone.localdate)  # the Paris day of added_at
    added_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-added_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["dossier"],
                condition=models.Q(removed_at__isnull=True),
                name="exchange_zone_one_open_entry",
            )
        ]
        indexes = [models.Index(fields=["organization", "removed_at"])]

    def __str__(self) -> str:
        return f"{self.dossier_id} {self.added_at:%Y-%m-%d}"
