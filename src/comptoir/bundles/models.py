"""Settings bundles (the parameters a station sends, or the web publishes) and the web's
drop-down lists."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.core.models import Membership, Organization


class SettingsBundle(models.Model):
    """One version of the organisation's parameters, by section (company, tariffs…).

    A station pushes its parameters ("from_station"): the web imports the sections an
    administrator chooses, after a diff. The web publishes its own ("to_stations"):
    stations fetch the latest one. Versions count up per organisation, whatever the
    direction; a bundle is never changed (except to note its import) nor deleted.
    """

    class Direction(models.TextChoices):
        FROM_STATION = "from_station", _("Received from a station")
        TO_STATIONS = "to_stations", _("Published for the stations")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField(_("version"))
    direction = models.CharField(_("direction"), max_length=16, choices=Direction.choices)
    source = models.CharField(
        _("source"), max_length=200, help_text=_("The station (token) that sent it, or “web”.")
    )
    created_by = models.ForeignKey(
        Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    sections = models.JSONField(default=dict)
    size = models.PositiveIntegerField(default=0, help_text=_("Bytes of the sections as JSON."))
    imported_at = models.DateTimeField(null=True, blank=True)
    imported_sections = models.JSONField(default=list, blank=True)
    imported_by = models.ForeignKey(
        Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "version"], name="settings_bundle_version_unique"
            ),
        ]
        indexes = [models.Index(fields=["organization", "direction", "-version"])]

    def __str__(self) -> str:
        return f"v{self.version} ({self.source})"

    @property
    def section_names(self) -> list[str]:
        return list(self.sections)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValidationError(_("A settings bundle is never deleted."))


class DropdownList(models.Model):
    """A drop-down list of the web (rooms, materials…): items with a label and a description.

    Imports merge into it by key (`comptoir.bundles.merge`), never replace it.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="dropdown_lists"
    )
    key = models.CharField(_("key"), max_length=60)
    label = models.CharField(_("label"), max_length=200)
    items = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["label", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key"], name="dropdown_list_key_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.label or self.key
