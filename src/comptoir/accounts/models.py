"""Identity: users, API tokens, and single-use links (invitation, password reset)."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.core.models import Membership, Organization


def acting_user(request: HttpRequest) -> User:
    """The user behind a request that passed login checks (org_page, API auth)."""
    principal = getattr(request, "auth", None)  # the API's token or session principal
    if principal is not None and hasattr(principal, "user"):
        return cast(User, principal.user)
    return cast(User, request.user)


class UserManager(BaseUserManager["User"]):
    def create_user(
        self, login: str, email: str | None = None, password: str | None = None, **extra: Any
    ) -> User:
        user = self.model(
            login=login.strip().lower(),
            email=self.normalize_email(email).lower() if email else None,
            **extra,
        )
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user


class User(AbstractBaseUser):
    """A person. Identified by a login (editable) and, usually, an e-mail address.

    A user may belong to several organisations; their role and profile in each
    live on the membership. Users are never deleted.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    login = models.CharField(_("login"), max_length=150, unique=True)
    email = models.EmailField(_("e-mail address"), unique=True, null=True, blank=True)
    full_name = models.CharField(_("name"), max_length=150, blank=True)
    language = models.CharField(_("language"), max_length=5, default="fr")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "login"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        ordering = ["login"]
        constraints = [
            models.UniqueConstraint(Lower("login"), name="user_login_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or self.login

    @property
    def is_staff(self) -> bool:  # used by Django's debug tooling only
        return False

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        """Django's permission framework is not used: rights come from the role matrix."""
        return False

    def has_module_perms(self, app_label: str) -> bool:
        return False

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        from django.core.exceptions import ValidationError

        raise ValidationError(_("A user is never deleted; block their memberships instead."))


class ApiToken(models.Model):
    """A bearer token: personal (scripts, WebDAV clients) or a workstation's.

    Only a SHA-256 of the secret is stored; the full token is shown once.
    Format: ``cpt_<prefix>_<secret>``.
    """

    class Kind(models.TextChoices):
        PERSONAL = "personal", _("Personal")
        STATION = "station", _("Workstation")

    class Scope(models.TextChoices):
        READ = "read", _("Read only")
        WRITE = "write", _("Read and write")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="tokens")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PERSONAL)
    name = models.CharField(_("name"), max_length=100)
    scope = models.CharField(_("access"), max_length=8, choices=Scope.choices, default=Scope.WRITE)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class SetupLink(models.Model):
    """A single-use, expiring link to set a password (invitation or reset)."""

    class Purpose(models.TextChoices):
        INVITATION = "invitation", _("Invitation")
        RESET = "reset", _("Password reset")

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="setup_links")
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, related_name="+"
    )
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.purpose} for {self.user}"
