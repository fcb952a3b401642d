"""Tenancy and access: organisations, plans, memberships, certifications, audit."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.core.roles import (
    WEB_ROLES,
    Action,
    Resource,
    Role,
    RoleSpec,
    Scope,
    allows,
    grant_for,
    spec_for,
)

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser


def default_storage_quota() -> int:
    return int(settings.COMPTOIR_DEFAULT_STORAGE_QUOTA)


class Plan(models.Model):
    """A subscription formula and its limits. An organisation has one."""

    code = models.SlugField(unique=True)
    name = models.CharField(_("name"), max_length=80)
    max_web_users = models.PositiveIntegerField(
        _("web users"), null=True, blank=True, help_text=_("Empty means unlimited.")
    )
    storage_quota_bytes = models.BigIntegerField(_("storage quota"), default=default_storage_quota)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class Organization(models.Model):
    """A tenant: a business, an accounting firm, or the software vendor."""

    class Kind(models.TextChoices):
        BUSINESS = "business", _("Business")
        FIRM = "firm", _("Accounting firm")
        VENDOR = "vendor", _("Software vendor")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("short name"), max_length=50, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.BUSINESS)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="organizations")
    require_admin_2fa = models.BooleanField(
        _("require two-factor authentication for administrators"), default=False
    )
    storage_used_bytes = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(storage_used_bytes__gte=0), name="org_storage_used_positive"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def audit_chain(self) -> str:
        return self.public_id.hex


color_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Enter a colour such as #2e9afe."))


class MembershipQuerySet(models.QuerySet["Membership"]):
    def active(self) -> MembershipQuerySet:
        return self.filter(is_blocked=False, user__is_active=True)

    def with_web_access(self) -> MembershipQuerySet:
        """Not blocked, and in a role that may use the web interface."""
        return self.filter(is_blocked=False, role__in=WEB_ROLES)


class Membership(models.Model):
    """A person's place in one organisation: their role and their profile there.

    A membership is never deleted once the person has acted: it is blocked,
    so that everything they did stays attributed to them.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    display_name = models.CharField(_("name"), max_length=150)
    initials = models.CharField(_("initials"), max_length=5, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    address_street = models.CharField(_("private address"), max_length=200, blank=True)
    address_postcode = models.CharField(_("postcode"), max_length=10, blank=True)
    address_city = models.CharField(_("city"), max_length=100, blank=True)
    performs_diagnostics = models.BooleanField(_("performs diagnostics"), default=False)
    listed_on_calendar = models.BooleanField(_("listed on the calendar"), default=False)
    agenda_color = models.CharField(
        _("agenda colour"), max_length=7, default="#2e9afe", validators=[color_validator]
    )
    is_blocked = models.BooleanField(_("blocked"), default=False)
    blocked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["display_name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="one_membership_per_org"),
        ]
        indexes = [models.Index(fields=["organization", "is_blocked", "role"])]

    def __str__(self) -> str:
        return self.display_name

    @property
    def spec(self) -> RoleSpec:
        return spec_for(self.role)

    @property
    def is_active(self) -> bool:
        return not self.is_blocked

    def can(self, resource: Resource, action: Action, *, owner_id: int | None = None) -> bool:
        """May this member act on a record? `owner_id`: membership the record is assigned to."""
        if self.is_blocked:
            return False
        own = owner_id is None or owner_id == self.pk
        return allows(self.role, resource, action, own=own)

    def scope_for(self, resource: Resource) -> Scope | None:
        grant = grant_for(self.role, resource)
        return grant.scope if grant else None

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValidationError(_("A member is never deleted; block them instead."))


class Certification(models.Model):
    """A technician's certification (attestation): type, number, body, expiry."""

    class Kind(models.TextChoices):
        DPE = "dpe", "DPE"
        ASBESTOS = "amiante", "Amiante"
        LEAD = "plomb", "Plomb (CREP)"
        TERMITES = "termites", "Termites"
        GAS = "gaz", "Gaz"
        ELECTRICITY = "electricite", "Électricité"
        OTHER = "autre", _("Other")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    membership = models.ForeignKey(
        Membership, on_delete=models.PROTECT, related_name="certifications"
    )
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices)
    number = models.CharField(_("number"), max_length=60)
    body = models.CharField(_("certifying body"), max_length=120)
    expires_on = models.DateField(_("expiry date"))

    class Meta:
        ordering = ["expires_on"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"


class MemberPreference(models.Model):
    """A member's remembered choice in the interface (list columns, filters…)."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="preferences")
    key = models.CharField(max_length=60)
    value = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["membership", "key"], name="one_preference_per_key")
        ]

    def __str__(self) -> str:
        return self.key


class AuditEntry(models.Model):
    """One line of the append-only audit log.

    Entries form a hash chain per organisation (`chain`); database triggers
    refuse UPDATE and DELETE. Write them only through `comptoir.core.audit`.
    """

    chain = models.CharField(max_length=32)
    seq = models.PositiveBigIntegerField()
    created_at = models.DateTimeField()
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True)
    request_id = models.CharField(max_length=32, blank=True)
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True)
    after = models.JSONField(null=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-created_at", "-seq"]
        constraints = [
            models.UniqueConstraint(fields=["chain", "seq"], name="audit_chain_seq_unique"),
        ]
        indexes = [
            models.Index(fields=["organization", "-created_at"]),
            models.Index(fields=["organization", "action"]),
            models.Index(fields=["organization", "object_type", "object_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.chain}#{self.seq} {self.action}"


class AuditChainHead(models.Model):
    """The last link of one audit chain; locked while an entry is appended."""

    chain = models.CharField(max_length=32, primary_key=True)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.chain}@{self.seq}"


def user_label(user: AbstractBaseUser | None) -> str:
    if user is None:
        return ""
    return str(user)
