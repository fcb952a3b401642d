"""Company settings: legal identity, bank and accounting details, documents, tariffs, devices,
outgoing e-mail."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.company.expiry import ExpiryState, expiry_state
from comptoir.company.formatting import percent
from comptoir.company.identifiers import format_iban
from comptoir.core.models import Membership, Organization
from comptoir.dossiers.models import MissionType

CENT = Decimal("0.01")


def _company_path(instance: models.Model, filename: str) -> str:
    org: Organization = instance.organization  # type: ignore[attr-defined]
    return f"orgs/{org.public_id.hex}/company/{uuid.uuid4().hex}"


class CompanyProfile(models.Model):
    """The business's legal identity and letterhead: one per organisation.

    Quotes, invoices and e-mails read it (name, SIRET, VAT number, logo, footer).
    """

    class LegalForm(models.TextChoices):
        EI = "ei", _("Sole proprietorship (EI)")
        EURL = "eurl", "EURL"
        SARL = "sarl", "SARL"
        SASU = "sasu", "SASU"
        SAS = "sas", "SAS"
        SA = "sa", "SA"
        SNC = "snc", "SNC"
        SCOP = "scop", "SCOP"
        OTHER = "other", _("Other")

    class VatRegime(models.TextChoices):
        RECEIPTS = "receipts", _("VAT on receipts (encaissements)")
        DEBITS = "debits", _("VAT on debits (débits)")
        FRANCHISE = "franchise", _("VAT-exempt small business (franchise en base)")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.OneToOneField(
        Organization, on_delete=models.PROTECT, related_name="company_profile"
    )
    legal_name = models.CharField(_("company name"), max_length=200, blank=True)
    legal_form = models.CharField(
        _("legal form"), max_length=10, choices=LegalForm.choices, blank=True
    )
    share_capital = models.DecimalField(
        _("share capital (€)"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0))],
    )
    siren = models.CharField("SIREN", max_length=9, blank=True)
    siret = models.CharField("SIRET", max_length=14, blank=True)
    naf_code = models.CharField(_("NAF code"), max_length=6, blank=True)
    vat_number = models.CharField(_("VAT number"), max_length=20, blank=True)
    street = models.CharField(_("street"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=10, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=60, blank=True, default="France")
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    website = models.URLField(_("website"), blank=True)
    insurer = models.CharField(_("insurance company"), max_length=120, blank=True)
    policy_number = models.CharField(_("policy number"), max_length=60, blank=True)
    policy_expires_on = models.DateField(_("policy expiry date"), null=True, blank=True)
    iban = models.CharField("IBAN", max_length=34, blank=True)
    bic = models.CharField("BIC", max_length=11, blank=True)
    bank_name = models.CharField(_("bank"), max_length=120, blank=True)
    sales_journal = models.CharField(
        _("sales journal code"), max_length=6, blank=True, default="VE"
    )
    bank_journal = models.CharField(_("bank journal code"), max_length=6, blank=True, default="BQ")
    customer_account_prefix = models.CharField(
        _("customer account prefix"), max_length=10, blank=True, default="411"
    )
    vat_regime = models.CharField(
        _("VAT regime"), max_length=12, choices=VatRegime.choices, blank=True
    )
    logo = models.FileField(upload_to=_company_path, max_length=300, blank=True)
    logo_name = models.CharField(max_length=255, blank=True)
    logo_content_type = models.CharField(max_length=50, blank=True)
    logo_size = models.PositiveBigIntegerField(default=0)
    document_footer = models.TextField(_("document footer"), max_length=1000, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.legal_name or self.organization.name

    @property
    def iban_display(self) -> str:
        """The IBAN in groups of four, as printed on invoices."""
        return format_iban(self.iban) if self.iban else ""

    @property
    def address_lines(self) -> list[str]:
        town = " ".join(part for part in (self.postcode, self.city) if part)
        return [line for line in (self.street, town) if line]


class CompanyDocument(models.Model):
    """One version of a company document (CGV, CGI…). Replacing one keeps the old version."""

    class Kind(models.TextChoices):
        CGV = "cgv", _("General terms of sale (CGV)")
        CGI = "cgi", _("General terms of intervention (CGI)")
        PREREQUISITES = "prerequisites", _("Prerequisites for the diagnostics")
        WITHDRAWAL = "withdrawal", _("Withdrawal form")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("document"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("file name"), max_length=255)
    file = models.FileField(upload_to=_company_path, max_length=300)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(default=timezone.now)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    is_current = models.BooleanField(default=True)
    replaced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "-uploaded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind"],
                condition=models.Q(is_current=True),
                name="one_current_company_document",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.name}"


VAT_RATES = [Decimal("20.00"), Decimal("10.00"), Decimal("5.50"), Decimal("2.10"), Decimal("0.00")]


class Tariff(models.Model):
    """A line of the price list: what a mission (or any service) costs, excluding VAT.

    Billing reads tariffs when it drafts quotes; a tariff once used is
    deactivated, never deleted.
    """

    VAT_CHOICES = [(rate, percent(rate)) for rate in VAT_RATES]

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="tariffs")
    code = models.CharField(_("code"), max_length=30)
    label = models.CharField(_("label"), max_length=200)
    mission_type = models.ForeignKey(
        MissionType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("mission type"),
    )
    price_excl_vat = models.DecimalField(
        _("price excl. VAT (€)"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal(0))],
    )
    vat_rate = models.DecimalField(
        _("VAT rate"), max_digits=4, decimal_places=2, choices=VAT_CHOICES, default=Decimal("20.00")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_active", "code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="tariff_code_unique"),
            models.CheckConstraint(
                condition=models.Q(price_excl_vat__gte=0), name="tariff_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.label}"

    @property
    def vat_amount(self) -> Decimal:
        return (self.price_excl_vat * self.vat_rate / 100).quantize(CENT, ROUND_HALF_UP)

    @property
    def price_incl_vat(self) -> Decimal:
        return self.price_excl_vat + self.vat_amount


class Device(models.Model):
    """A measuring instrument, with the date its calibration (or its source) expires."""

    class Kind(models.TextChoices):
        XRF = "xrf", _("Lead analyser (XRF)")
        GAS = "gas", _("Gas detector")
        CO = "co", _("Carbon monoxide meter")
        LASER = "laser", _("Laser distance meter")
        MOISTURE = "moisture", _("Moisture meter")
        THERMAL = "thermal", _("Thermal camera")
        ELECTRICAL = "electrical", _("Electrical installation tester")
        OTHER = "other", _("Other")

    class ExpiryKind(models.TextChoices):
        CALIBRATION = "calibration", _("Calibration")
        SOURCE = "source", _("Radioactive source")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="devices")
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.OTHER)
    manufacturer = models.CharField(_("manufacturer"), max_length=80, blank=True)
    model_reference = models.CharField(_("model"), max_length=80, blank=True)
    serial_number = models.CharField(_("serial number"), max_length=60, blank=True)
    expiry_kind = models.CharField(
        _("what expires"), max_length=12, choices=ExpiryKind.choices, default=ExpiryKind.CALIBRATION
    )
    expires_on = models.DateField(_("expiry date"), null=True, blank=True)
    notes = models.TextField(_("notes"), max_length=2000, blank=True)
    is_active = models.BooleanField(_("in service"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_active", "expires_on", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "serial_number"],
                condition=~models.Q(serial_number=""),
                name="device_serial_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def expiry(self, today: date | None = None) -> ExpiryState:
        return expiry_state(self.expires_on, today)


class SmtpSettings(models.Model):
    """An SMTP server that mail leaves through: the organisation's, or one member's.

    The password is stored encrypted (`comptoir.company.crypto`) and never shown back.
    """

    class Security(models.TextChoices):
        NONE = "none", _("None")
        STARTTLS = "starttls", "STARTTLS"
        SSL = "ssl", "SSL/TLS"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    host = models.CharField(_("server"), max_length=200)
    port = models.PositiveIntegerField(
        _("port"), default=587, validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    security = models.CharField(
        _("security"), max_length=10, choices=Security.choices, default=Security.STARTTLS
    )
    username = models.CharField(_("user name"), max_length=200, blank=True)
    password_encrypted = models.TextField(blank=True, editable=False)
    from_email = models.EmailField(_("sender address"))
    from_name = models.CharField(_("sender name"), max_length=120, blank=True)
    last_test_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_test_ok = models.BooleanField(null=True, editable=False)
    last_test_message = models.TextField(blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(membership__isnull=True),
                name="one_smtp_per_organization",
            ),
            models.UniqueConstraint(
                fields=["membership"],
                condition=models.Q(membership__isnull=False),
                name="one_smtp_per_member",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_email} via {self.host}:{self.port}"

    @property
    def has_password(self) -> bool:
        return bool(self.password_encrypted)
