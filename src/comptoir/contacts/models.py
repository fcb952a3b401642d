"""People and companies the business works with: clients, agencies, notaries, owners, prospects."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.core.models import Organization
from comptoir.core.text import search_key


class Contact(models.Model):
    """A person or a company in the organisation's address book."""

    class Kind(models.TextChoices):
        PERSON = "person", _("Person")
        COMPANY = "company", _("Company")

    class Category(models.TextChoices):
        CLIENT = "client", _("Client")
        AGENCY = "agency", _("Estate agency")
        NOTARY = "notary", _("Notary")
        OWNER = "owner", _("Owner")
        MANAGER = "manager", _("Property manager")
        PROSPECT = "prospect", _("Prospect")
        OTHER = "other", _("Other")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="contacts"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PERSON)
    category = models.CharField(
        _("category"), max_length=12, choices=Category.choices, default=Category.CLIENT
    )
    civility = models.CharField(_("civility"), max_length=10, blank=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    company_name = models.CharField(_("company name"), max_length=200, blank=True)
    siren = models.CharField("SIREN", max_length=9, blank=True)
    siret = models.CharField("SIRET", max_length=14, blank=True)
    vat_number = models.CharField(_("VAT number"), max_length=20, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    search_text = models.TextField(editable=False, default="")
    sort_name = models.CharField(max_length=200, editable=False, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["last_name", "company_name", "pk"]
        indexes = [
            models.Index(fields=["organization", "category"]),
            models.Index(fields=["organization", "email"]),
            models.Index(fields=["organization", "siret"]),
            models.Index(fields=["organization", "phone"]),
            models.Index(fields=["organization", "sort_name"]),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        person = " ".join(part for part in (self.civility, self.first_name, self.last_name) if part)
        if self.kind == self.Kind.COMPANY:
            return self.company_name or person or "—"
        return person or self.company_name or "—"

    def refresh_search_text(
        self,
        addresses: list[ContactAddress] | None = None,
        channels: list[ContactChannel] | None = None,
    ) -> None:
        """Recompute `search_text` and `sort_name` (not saved).

        From the given addresses and channels, or else the saved ones: pass them when
        the contact is not saved yet (bulk inserts) or they are not saved yet either.
        """
        if addresses is None:
            addresses = list(self.addresses.all()) if self.pk else []
        if channels is None:
            channels = list(self.channels.all()) if self.pk else []
        self.search_text = search_key(
            self.first_name,
            self.last_name,
            self.company_name,
            self.email,
            self.phone,
            self.siret,
            self.siren,
            self.vat_number,
            *(address.search_part for address in addresses),
            *(channel.value for channel in channels),
        )
        self.sort_name = self.sort_key()[:200]

    def sort_key(self) -> str:
        """What the list sorts by: a company's name, a person's last then first name."""
        person = f"{self.last_name} {self.first_name}"
        if self.kind == self.Kind.COMPANY:
            return search_key(self.company_name or person)
        return search_key(person if person.strip() else self.company_name)


class ContactAddress(models.Model):
    """One of a contact's addresses (billing, site, home…); a part may be missing (an
    imported row with a city only)."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="addresses")
    label = models.CharField(_("label"), max_length=60, blank=True)
    street = models.CharField(_("street"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=10, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, default="FR")

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        place = f"{self.postcode} {self.city}".strip()
        return ", ".join(part for part in (self.street, place) if part)

    @property
    def search_part(self) -> str:
        return f"{self.street} {self.postcode} {self.city}"


class ContactChannel(models.Model):
    """An additional e-mail address or phone number of a contact."""

    class Kind(models.TextChoices):
        EMAIL = "email", _("E-mail")
        PHONE = "phone", _("Phone")

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    label = models.CharField(_("label"), max_length=60, blank=True)
    value = models.CharField(_("value"), max_length=254)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.value
