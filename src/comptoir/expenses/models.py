"""Compléments: purchase receipts (justificatifs d'achats) and mileage (frais kilométriques).

Nothing here is ever deleted: a receipt or a trip entered by mistake is
cancelled (who, when, why), stays visible, and leaves the totals.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.core.models import Membership, Organization
from comptoir.dossiers.models import Dossier

# The categories every organisation starts with; it may rename, add and deactivate.
DEFAULT_CATEGORIES = [
    ("carburant", "Carburant"),
    ("peage", "Péage"),
    ("stationnement", "Stationnement"),
    ("repas", "Repas"),
    ("hotel", "Hôtel"),
    ("fournitures", "Fournitures"),
    ("materiel", "Matériel"),
    ("autre", "Autre"),
]


class ExpenseCategory(models.Model):
    """A receipt category of one organisation (Carburant, Péage…)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    code = models.SlugField(_("code"), max_length=40)
    label = models.CharField(_("label"), max_length=80)
    is_builtin = models.BooleanField(default=False, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["position", "label", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "code"], name="expense_category_code_unique"
            )
        ]

    def __str__(self) -> str:
        return self.label


def receipt_path(receipt: Receipt, filename: str) -> str:
    """Receipt files live apart from dossier blobs: a cloud clean-up never touches them."""
    return f"orgs/{receipt.organization.public_id.hex}/receipts/{uuid.uuid4().hex}"


class CancellableEntry(models.Model):
    """Who entered a receipt or a trip and when; a cancelled one is kept, never deleted."""

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    cancel_reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        abstract = True


class Receipt(CancellableEntry):
    """A purchase receipt of a member: the photo or PDF and its amounts.

    TTC = HT + TVA to the cent, checked by the services.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="+", verbose_name=_("member")
    )
    date = models.DateField(_("date"))
    supplier = models.CharField(_("supplier"), max_length=200)
    amount_ttc = models.DecimalField(_("amount incl. VAT"), max_digits=10, decimal_places=2)
    amount_ht = models.DecimalField(_("amount excl. VAT"), max_digits=10, decimal_places=2)
    amount_vat = models.DecimalField(_("VAT"), max_digits=10, decimal_places=2)
    category = models.ForeignKey(
        ExpenseCategory, on_delete=models.PROTECT, related_name="+", verbose_name=_("category")
    )
    dossier = models.ForeignKey(
        Dossier,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("dossier"),
    )
    notes = models.TextField(_("notes"), blank=True, max_length=2000)
    file = models.FileField(upload_to=receipt_path, max_length=300)
    file_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=50)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["-date", "-pk"]
        indexes = [
            models.Index(fields=["organization", "member", "date"]),
            models.Index(fields=["organization", "date"]),
        ]
        # TTC = HT + TVA is checked in Decimal by the services, not here: SQLite keeps
        # decimals as floating point, where 90.05 + 10.05 need not equal 100.10.
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_ht__gte=0) & Q(amount_vat__gte=0) & Q(amount_ttc__gt=0),
                name="receipt_amounts_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date:%d/%m/%Y} — {self.supplier}"

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def previewable(self) -> str:
        """How a page shows the file: "pdf", "image", "heic" (some browsers only)."""
        if self.content_type == "application/pdf":
            return "pdf"
        if self.content_type in {"image/jpeg", "image/png"}:
            return "image"
        return "heic"


class Vehicle(models.Model):
    """A member's own vehicle used for business trips, as the mileage scale sees it:
    its kind, its fiscal horsepower (carte grise, P.6) and whether it is electric."""

    class Kind(models.TextChoices):
        CAR = "car", _("Car")
        MOTORCYCLE = "motorcycle", _("Motorcycle (over 50 cm³)")
        MOPED = "moped", _("Moped (50 cm³ or less)")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="+", verbose_name=_("member")
    )
    label = models.CharField(_("vehicle"), max_length=100)
    registration = models.CharField(_("registration"), max_length=20, blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.CAR)
    fiscal_power = models.PositiveSmallIntegerField(_("fiscal horsepower"), null=True, blank=True)
    is_electric = models.BooleanField(_("electric"), default=False)
    is_active = models.BooleanField(_("in use"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-is_active", "label", "pk"]

    def __str__(self) -> str:
        return self.label

    @property
    def description(self) -> str:
        parts: list[Any] = [self.get_kind_display()]
        if self.fiscal_power:
            parts.append(f"{self.fiscal_power} CV")
        if self.is_electric:
            parts.append(_("electric"))
        return " · ".join(str(part) for part in parts)


class Trip(CancellableEntry):
    """A business trip with one of the member's vehicles."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="+", verbose_name=_("member")
    )
    vehicle = models.ForeignKey(
        Vehicle, on_delete=models.PROTECT, related_name="trips", verbose_name=_("vehicle")
    )
    date = models.DateField(_("date"))
    origin = models.CharField(_("from"), max_length=200)
    destination = models.CharField(_("to"), max_length=200)
    distance_km = models.DecimalField(_("distance (km)"), max_digits=7, decimal_places=1)
    purpose = models.CharField(_("purpose"), max_length=300)
    dossier = models.ForeignKey(
        Dossier,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("dossier"),
    )

    class Meta:
        ordering = ["-date", "-pk"]
        indexes = [
            models.Index(fields=["organization", "member", "date"]),
            models.Index(fields=["vehicle", "date"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(distance_km__gt=Decimal(0)), name="trip_distance_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date:%d/%m/%Y} — {self.origin} → {self.destination}"

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None
