"""Case files (dossiers): the property, the missions, the documents, the notes."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from comptoir.contacts.models import Contact
from comptoir.core.models import Membership, Organization
from comptoir.core.text import search_key
from comptoir.dossiers.lifecycle import Status

BUILTIN_MISSION_TYPES = [
    ("dpe", "DPE"),
    ("amiante", "Amiante"),
    ("plomb", "Plomb (CREP)"),
    ("termites", "Termites"),
    ("gaz", "Gaz"),
    ("electricite", "Électricité"),
    ("erp", "ERP (État des risques)"),
    ("carrez", "Loi Carrez / Boutin"),
]


class MissionType(models.Model):
    """A kind of diagnostic; the built-in ones plus those an organisation defines."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="mission_types"
    )
    code = models.SlugField(_("code"), max_length=30)
    label = models.CharField(_("label"), max_length=100)
    is_builtin = models.BooleanField(default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["-is_builtin", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "code"], name="mission_type_code_unique"
            )
        ]

    def __str__(self) -> str:
        return self.label


class Dossier(models.Model):
    """A case file: one property, one or more missions, for an ordering party."""

    class PropertyType(models.TextChoices):
        HOUSE = "house", _("House")
        FLAT = "flat", _("Flat")
        BUILDING = "building", _("Building")
        COMMERCIAL = "commercial", _("Commercial premises")
        COMMON_PARTS = "common_parts", _("Common parts")
        LAND = "land", _("Land")
        OTHER = "other", _("Other")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Each index below starts with the organization: no index of its own, one fewer to
    # write for each of the thousands of dossiers a station's first push creates.
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="dossiers", db_index=False
    )
    number = models.CharField(_("number"), max_length=30)
    year = models.PositiveSmallIntegerField(_("year"))
    sequence = models.PositiveIntegerField()
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.TO_SCHEDULE
    )
    ordering_party = models.ForeignKey(
        Contact,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ordered_dossiers",
        verbose_name=_("ordering party"),
    )
    owner = models.ForeignKey(
        Contact,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_dossiers",
        verbose_name=_("owner"),
    )
    technician = models.ForeignKey(
        Membership,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="dossiers",
        verbose_name=_("technician"),
    )
    appointment_at = models.DateTimeField(_("appointment"), null=True, blank=True)
    property_street = models.CharField(_("street"), max_length=200, blank=True)
    property_postcode = models.CharField(_("postcode"), max_length=10, blank=True)
    property_city = models.CharField(_("city"), max_length=100, blank=True)
    property_type = models.CharField(
        _("property type"), max_length=16, choices=PropertyType.choices, default=PropertyType.FLAT
    )
    surface = models.DecimalField(
        _("surface (m²)"),
        max_digits=9,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    year_built = models.PositiveSmallIntegerField(
        _("year built"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1000), MaxValueValidator(2100)],
    )
    lots = models.CharField(_("lots"), max_length=200, blank=True)
    floor = models.CharField(_("floor"), max_length=30, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    search_text = models.TextField(editable=False, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Sync: the head revision ("<generation>-<digest>", see docs/sync/protocol.md),
    # the organisation-wide change sequence of the last write, open conflicts, and
    # the end of the quarantine when the cloud copy is scheduled for removal.
    revision = models.CharField(max_length=50, blank=True, default="", editable=False)
    change_seq = models.BigIntegerField(default=0, editable=False)
    in_conflict = models.BooleanField(_("to verify"), default=False, editable=False)
    quarantined_until = models.DateTimeField(null=True, blank=True, editable=False)
    files_size = models.PositiveBigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-year", "-sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="dossier_number_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "change_seq"]),
            # covers the list's count (organisation, not deleted) without reading rows
            models.Index(fields=["organization", "deleted_at"]),
            models.Index(fields=["organization", "status"]),
            models.Index(fields=["organization", "technician"]),
            models.Index(fields=["organization", "appointment_at"]),
            models.Index(fields=["organization", "ordering_party"]),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def address(self) -> str:
        city = " ".join(part for part in (self.property_postcode, self.property_city) if part)
        return ", ".join(part for part in (self.property_street, city) if part)

    def refresh_search_text(self) -> None:
        """Number, names and address, folded: what the list's search looks in."""
        parties = [party.search_text for party in (self.ordering_party, self.owner) if party]
        self.search_text = search_key(
            self.number, self.property_street, self.property_postcode, self.property_city, *parties
        )


class ChangeCounter(models.Model):
    """The organisation's change sequence: every dossier write takes the next value.

    The row stays locked until the writing transaction commits, so sequences
    become visible in order and a change feed reader never skips one.
    """

    organization = models.OneToOneField(Organization, on_delete=models.PROTECT, related_name="+")
    last = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return str(self.last)


class DossierRevision(models.Model):
    """A version of a dossier's document, as written by a station or the web.

    Heads and conflict revisions are both kept; nothing here is ever deleted.
    """

    # The unique (dossier, rev) index leads with it: no index of its own.
    dossier = models.ForeignKey(
        Dossier, on_delete=models.PROTECT, related_name="revisions", db_index=False
    )
    rev = models.CharField(max_length=50)
    base_rev = models.CharField(max_length=50, blank=True, default="")
    document = models.JSONField()
    is_conflict = models.BooleanField(default=False)
    resolved_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=120, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["dossier", "rev"], name="dossier_revision_unique")
        ]
        indexes = [models.Index(fields=["dossier", "is_conflict"])]

    def __str__(self) -> str:
        return self.rev


class Mission(models.Model):
    """One diagnostic to perform in a dossier."""

    # The unique (dossier, mission_type) index leads with it: no index of its own.
    dossier = models.ForeignKey(
        Dossier, on_delete=models.CASCADE, related_name="missions", db_index=False
    )
    mission_type = models.ForeignKey(MissionType, on_delete=models.PROTECT, related_name="missions")

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["dossier", "mission_type"], name="mission_once_per_dossier"
            )
        ]

    def __str__(self) -> str:
        return str(self.mission_type)


def blob_path(org: Organization, sha256: str) -> str:
    """Where a blob's bytes live in the storage: content-addressed, per organisation."""
    return f"orgs/{org.public_id.hex}/blobs/{sha256[:2]}/{sha256}"


class Blob(models.Model):
    """Bytes stored once per organisation, named by their SHA-256.

    The same file sent by two stations, or uploaded twice, is stored and
    counted against the quota once.
    """

    # The unique (organization, sha256) index leads with it: no index of its own.
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "sha256"], name="blob_unique")
        ]

    def __str__(self) -> str:
        return self.sha256


def document_path(document: Document, filename: str) -> str:
    org = document.organization.public_id.hex
    return f"orgs/{org}/dossiers/{document.dossier.public_id.hex}/{uuid.uuid4().hex}"


class Document(models.Model):
    """A file of a dossier: a report, a photo, a plan."""

    class Kind(models.TextChoices):
        REPORT = "report", _("Report")
        PHOTO = "photo", _("Photo")
        PLAN = "plan", _("Plan")
        OTHER = "other", _("Other")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    # The (dossier, removed_at) index leads with it: no index of its own.
    dossier = models.ForeignKey(
        Dossier, on_delete=models.PROTECT, related_name="documents", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.OTHER)
    name = models.CharField(_("name"), max_length=255)
    file = models.FileField(upload_to=document_path, max_length=300)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(default=timezone.now)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    # A station that no longer has the file, or a newer file under the same
    # name: the document leaves the dossier's file list but is never deleted.
    removed_at = models.DateTimeField(null=True, blank=True, editable=False)
    source = models.CharField(max_length=120, blank=True, default="", editable=False)

    class Meta:
        ordering = ["-uploaded_at"]
        indexes = [models.Index(fields=["dossier", "removed_at"])]

    def __str__(self) -> str:
        return self.name

    @property
    def previewable(self) -> str:
        if self.content_type == "application/pdf":
            return "pdf"
        if self.content_type in {"image/jpeg", "image/png", "image/gif", "image/webp"}:
            return "image"
        return ""


class Note(models.Model):
    """A dated note on a dossier, by a member."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("note"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.text[:50]


class CustomField(models.Model):
    """An extra field the organisation adds to its dossiers."""

    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", pgettext_lazy("custom field type", "Number")
        DATE = "date", _("Date")
        YES_NO = "bool", _("Yes / no")

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="dossier_fields"
    )
    key = models.SlugField(max_length=40)
    label = models.CharField(_("label"), max_length=80)
    kind = models.CharField(_("type"), max_length=8, choices=Kind.choices, default=Kind.TEXT)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="custom_field_key_unique")
        ]

    def __str__(self) -> str:
        return self.label
