"""WebDAV state that outlives a request: locks, dead properties, members' spaces.

Locks and properties are keyed by the resource's reference URL (WsgiDAV's
`get_ref_url`): the path below /dav/, starting with the organisation's slug.
A member's space is keyed by the member, so its reference URLs carry the
member's id (see provider.SpaceResource.get_ref_url).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from comptoir.core.models import Membership, Organization


class DavLock(models.Model):
    """A WebDAV lock (RFC 4918 §6), shared by every web process through the database."""

    token = models.CharField(max_length=100, unique=True)
    root = models.CharField(max_length=2048, db_index=True)
    principal = models.CharField(max_length=100)
    scope = models.CharField(max_length=10)  # shared | exclusive
    depth = models.CharField(max_length=10)  # 0 | infinity
    owner = models.TextField(blank=True, default="")  # the client's <owner> XML
    timeout = models.FloatField()
    expire = models.FloatField(db_index=True)  # seconds since the epoch
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.root} ({self.scope})"


class DavProperty(models.Model):
    """A dead property a client stored with PROPPATCH: any XML, under a name."""

    url = models.CharField(max_length=2048)
    name = models.CharField(max_length=400)
    value = models.TextField()

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["url", "name"], name="dav_property_unique")]
        indexes = [models.Index(fields=["url"])]

    def __str__(self) -> str:
        return f"{self.url} {self.name}"


class SpaceEntry(models.Model):
    """A file or a folder in a member's own WebDAV space (/dav/<org>/Espace/).

    A scratch area for desktop clients, beside the dossiers: folders of any
    depth, files of any name. Its bytes count against the organisation's quota.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    membership = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="space_entries"
    )
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    name = models.CharField(max_length=255)
    is_folder = models.BooleanField(default=False)
    storage_name = models.CharField(max_length=300, blank=True, default="")
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    content_type = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    modified_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["membership", "parent", "name"], name="space_entry_unique"
            ),
            models.UniqueConstraint(
                fields=["membership", "name"],
                condition=Q(parent__isnull=True),
                name="space_top_entry_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name
