"""Shared numbering: the series of dossier, quote and invoice numbers of an organisation.

A series says how a number looks (its mask) and when its counter starts again; a
counter per (series, period) holds the last value given; every number given is
kept in `IssuedNumber`, whose UNIQUE (organisation, kind, number) constraint is
the backstop against a duplicate, whatever happens above it.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.core.models import Organization


class Kind(models.TextChoices):
    """What a series numbers."""

    DOSSIER = "dossier", _("Dossiers")
    QUOTE = "quote", _("Quotes")
    INVOICE = "invoice", _("Invoices")


class Reset(models.TextChoices):
    """When the counter starts again."""

    YEARLY = "yearly", _("Every year")
    MONTHLY = "monthly", _("Every month")
    NEVER = "never", _("Never")


class NumberSeries(models.Model):
    """How an organisation numbers its dossiers, its quotes or its invoices.

    One per organisation and kind, created with the defaults the first time it
    is used (see `comptoir.numbering.masks.DEFAULTS`).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("series"), max_length=10, choices=Kind.choices)
    mask = models.CharField(_("mask"), max_length=40)
    width = models.PositiveSmallIntegerField(_("counter width"))
    reset = models.CharField(
        _("counter restarts"), max_length=10, choices=Reset.choices, default=Reset.YEARLY
    )
    offset = models.PositiveIntegerField(_("starting offset"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind"], name="number_series_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.mask})"


class NumberCounter(models.Model):
    """The last counter value given in one period of a series.

    `period` is "2026" for a yearly series, "2026-03" for a monthly one, ""
    for a series that never restarts. Incremented with UPDATE … SET last =
    last + 1 inside the transaction that uses the number: the row stays locked
    until commit, and a rolled-back transaction gives its value back.
    """

    series = models.ForeignKey(NumberSeries, on_delete=models.PROTECT, related_name="counters")
    period = models.CharField(max_length=7, blank=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "period"], name="number_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.period or '-'}: {self.last}"


class IssuedNumber(models.Model):
    """A number given out: to the web, to a station (one by one or in a reserved block),
    or to an invoice at its validation. Never reused; the last ones are shown in
    Paramètres › Numérotation."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("series"), max_length=10, choices=Kind.choices)
    number = models.CharField(_("number"), max_length=30)
    period = models.CharField(max_length=7, blank=True)
    counter = models.PositiveIntegerField()
    dated = models.DateField(_("date"))
    issued_at = models.DateTimeField(default=timezone.now)
    reserved_by = models.CharField(_("given to"), max_length=100)
    operator = models.CharField(_("operator"), max_length=5, blank=True)
    reserved = models.BooleanField(_("reserved for offline work"), default=False)

    class Meta:
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "number"], name="issued_number_unique"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "kind", "-id"], name="issued_number_recent"),
        ]

    def __str__(self) -> str:
        return self.number
