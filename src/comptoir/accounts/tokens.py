"""Secrets: API tokens, single-use links, generated passwords."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.accounts.models import ApiToken, SetupLink, User
from comptoir.core import audit
from comptoir.core.errors import DomainError
from comptoir.core.models import Membership, Organization

TOKEN_PREFIX = "cpt"
LAST_USED_GRANULARITY = timedelta(minutes=1)
# No 0/O, 1/l/I: a generated password is read aloud or copied by hand.
READABLE = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def readable_password(groups: int = 4, size: int = 4) -> str:
    return "-".join("".join(secrets.choice(READABLE) for _ in range(size)) for _ in range(groups))


@transaction.atomic
def create_token(
    member: Membership,
    name: str,
    *,
    actor: User | None,
    kind: str = ApiToken.Kind.PERSONAL,
    scope: str = ApiToken.Scope.WRITE,
) -> tuple[ApiToken, str]:
    """Create a token; returns it with the only copy of its plaintext."""
    name = name.strip()
    if not name:
        raise DomainError(
            _("Give the token a name, e.g. the script or device using it."),
            details={"field": "name"},
        )
    if scope not in ApiToken.Scope.values:
        raise DomainError(
            _("Unknown token access “%(scope)s”.") % {"scope": scope}, details={"field": "scope"}
        )
    if member.is_blocked:
        raise DomainError(_("A blocked member cannot receive a token."))
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        membership=member,
        kind=kind,
        name=name[:100],
        scope=scope,
        prefix=prefix,
        secret_hash=digest(secret),
    )
    audit.record(
        "token.create",
        organization=member.organization,
        actor=actor,
        target=token,
        after={"name": token.name, "kind": kind, "scope": scope, "member": str(member.public_id)},
    )
    return token, f"{TOKEN_PREFIX}_{prefix}_{secret}"


def find_token(raw: str) -> ApiToken | None:
    """The active token matching `raw`, with its membership loaded, or None."""
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or "\x00" in raw:  # PostgreSQL refuses it
        return None
    # The prefix is unique: a slice, not `first()`, whose ORDER BY over the joined
    # columns is a good part of compiling this query (made at every API call).
    found = ApiToken.objects.select_related(
        "membership__organization__plan", "membership__user"
    ).filter(prefix=parts[1], revoked_at__isnull=True)[:1]
    token = next(iter(found), None)
    if token is None or not hmac.compare_digest(token.secret_hash, digest(parts[2])):
        return None
    member = token.membership
    if member.is_blocked or not member.user.is_active:
        return None
    _touch(token)
    return token


def _touch(token: ApiToken) -> None:
    """Record use at most once a minute: a busy script must not write on every call."""
    now = timezone.now()
    if token.last_used_at and now - token.last_used_at < LAST_USED_GRANULARITY:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


@transaction.atomic
def revoke_token(token: ApiToken, *, actor: User | None, reason: str = "") -> None:
    claimed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if claimed:
        audit.record(
            "token.revoke",
            organization=token.membership.organization,
            actor=actor,
            target=token,
            after={"reason": reason} if reason else None,
        )


def revoke_all_tokens(member: Membership, *, actor: User | None, reason: str) -> int:
    tokens = list(ApiToken.objects.filter(membership=member, revoked_at__isnull=True))
    for token in tokens:
        revoke_token(token, actor=actor, reason=reason)
    return len(tokens)


def issue_setup_link(
    user: User, purpose: str, *, organization: Organization | None, hours: int
) -> str:
    """Create a link; returns the secret part of its URL (only copy)."""
    secret = secrets.token_urlsafe(32)
    SetupLink.objects.create(
        user=user,
        organization=organization,
        purpose=purpose,
        token_hash=digest(secret),
        expires_at=timezone.now() + timedelta(hours=hours),
    )
    return secret


def valid_setup_link(secret: str) -> SetupLink | None:
    return (
        SetupLink.objects.select_related("user", "organization")
        .filter(token_hash=digest(secret), used_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )


def claim_setup_link(link: SetupLink) -> bool:
    """Mark the link used; False if it was already used or has expired meanwhile."""
    return bool(
        SetupLink.objects.filter(
            pk=link.pk, used_at__isnull=True, expires_at__gt=timezone.now()
        ).update(used_at=timezone.now())
    )
