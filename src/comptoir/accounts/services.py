"""Domain operations on people: provisioning, invitations, profiles, blocking, passwords.

Every function takes the acting user explicitly, writes an audit entry in the
same transaction as the change, and queues e-mails to leave after commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from comptoir.accounts import tokens
from comptoir.accounts.mail import queue_email
from comptoir.accounts.models import SetupLink, User
from comptoir.core import audit
from comptoir.core.errors import Conflict, DomainError, invalid_model
from comptoir.core.models import (
    AuditEntry,
    Certification,
    Membership,
    MembershipQuerySet,
    Organization,
)
from comptoir.core.roles import ROLE_SPECS, Role, may_assign
from comptoir.core.services import check_web_user_capacity, create_organization

PROFILE_FIELDS = [
    "display_name",
    "initials",
    "phone",
    "address_street",
    "address_postcode",
    "address_city",
    "performs_diagnostics",
    "listed_on_calendar",
    "agenda_color",
]
AUDITED_FIELDS = ["role", "login", "email", *PROFILE_FIELDS]
LOGIN_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@+-]{1,149}\Z")


def setup_url(secret: str) -> str:
    return settings.BASE_URL + reverse("accounts:setup-link", kwargs={"secret": secret})


def _clean_email(email: str | None) -> str | None:
    email = (email or "").strip().lower()
    if not email:
        return None
    try:
        validate_email(email)
    except ValidationError:
        raise DomainError(
            _("“%(email)s” is not a valid e-mail address.") % {"email": email},
            details={"field": "email"},
        ) from None
    return email


def _clean_login(login: str) -> str:
    login = login.strip().lower()
    if not LOGIN_PATTERN.match(login):
        raise DomainError(
            _(
                "“%(login)s” is not a valid login: 2 to 150 lowercase letters, digits, "
                "dots, hyphens or @."
            )
            % {"login": login},
            details={"field": "login"},
        )
    return login


def suggest_login(display_name: str, email: str | None) -> str:
    """A free login from the name ("Jean Durant" → "jdurant"), as the seed does."""
    words = slugify(display_name).split("-")
    base = (words[0][:1] + "".join(words[1:])) if len(words) > 1 else words[0]
    if not base and email:
        base = slugify(email.split("@")[0])
    base = (base or "utilisateur")[:140]
    candidate, number = base, 1
    while User.objects.filter(login__iexact=candidate).exists():
        number += 1
        candidate = f"{base}{number}"
    return candidate


def default_initials(display_name: str) -> str:
    words = [word for word in re.split(r"[\s-]+", display_name) if word]
    return "".join(word[0] for word in words[:3]).upper()


def _check_role(role: str) -> None:
    if role not in ROLE_SPECS or not may_assign(role):
        raise DomainError(_("Unknown role “%(role)s”.") % {"role": role}, details={"field": "role"})


@dataclass(frozen=True)
class NewMember:
    membership: Membership
    setup_url: str | None  # the invitation link, when one was sent


@transaction.atomic
def add_member(
    org: Organization,
    *,
    actor: User | None,
    display_name: str,
    role: str,
    email: str | None = None,
    login: str | None = None,
    **profile: Any,
) -> NewMember:
    """Add a person to the organisation and invite them by e-mail when they have one.

    An address that already has a Comptoir account joins with that account
    (one user, several organisations) and is told by e-mail.
    """
    display_name = display_name.strip()
    if not display_name:
        raise DomainError(_("Enter the member's name."), details={"field": "display_name"})
    _check_role(role)
    email = _clean_email(email)
    unknown = set(profile) - set(PROFILE_FIELDS)
    if unknown:
        raise DomainError(_("Unknown field: %(name)s.") % {"name": ", ".join(sorted(unknown))})
    check_web_user_capacity(org, role)
    user = User.objects.filter(email=email).first() if email else None
    if user is None:
        login = _clean_login(login) if login else suggest_login(display_name, email)
        if User.objects.filter(login__iexact=login).exists():
            raise Conflict(
                _("The login “%(login)s” is already taken.") % {"login": login},
                code="login_taken",
                details={"field": "login"},
            )
        user = User.objects.create_user(login=login, email=email, full_name=display_name)
    elif Membership.objects.filter(organization=org, user=user).exists():
        raise Conflict(
            _("%(email)s is already a member.") % {"email": email},
            code="already_member",
            details={"field": "email"},
        )
    if not profile.get("initials"):  # left blank on the page or the API: made from the name
        profile["initials"] = default_initials(display_name)
    member = Membership(
        organization=org, user=user, role=role, display_name=display_name, **profile
    )
    _validate(member)
    member.save()
    audit.record(
        "member.create", organization=org, actor=actor, target=member, after=_member_state(member)
    )
    link = _invite(member, actor) if email else None
    return NewMember(member, link)


def _invite(member: Membership, actor: User | None) -> str | None:
    user, org = member.user, member.organization
    assert user.email
    context: dict[str, Any] = {"org": org, "member": member, "inviter": actor, "login": user.login}
    if user.has_usable_password():
        context["url"] = settings.BASE_URL + reverse("core:dashboard", kwargs={"org": org.slug})
        queue_email(user.email, "added_to_org", context, language=user.language, organization=org)
        return None
    secret = tokens.issue_setup_link(
        user,
        SetupLink.Purpose.INVITATION,
        organization=org,
        hours=settings.COMPTOIR_SETUP_LINK_HOURS,
    )
    url = setup_url(secret)
    context.update(url=url, hours=settings.COMPTOIR_SETUP_LINK_HOURS)
    queue_email(user.email, "invitation", context, language=user.language, organization=org)
    audit.record(
        "member.invite", organization=org, actor=actor, target=member, after={"email": user.email}
    )
    return url


@transaction.atomic
def resend_invitation(member: Membership, *, actor: User | None) -> str | None:
    if not member.user.email:
        raise DomainError(_("This member has no e-mail address: generate a password instead."))
    if member.is_blocked:
        raise DomainError(_("This member is blocked."))
    return _invite(member, actor)


def _member_state(member: Membership) -> dict[str, Any]:
    state = audit.snapshot(member, ["role", *PROFILE_FIELDS, "is_blocked"])
    state["login"] = member.user.login
    state["email"] = member.user.email
    return state


def _validate(member: Membership) -> None:
    try:
        member.full_clean(exclude=["organization", "user"], validate_unique=False)
    except ValidationError as exc:
        raise invalid_model(exc, Membership) from None


def _active_admins(org: Organization) -> int:
    return Membership.objects.filter(organization=org, role=Role.ADMIN, is_blocked=False).count()


def _keep_an_admin(member: Membership, new_role: str | None = None, blocking: bool = False) -> None:
    losing = (
        member.role == Role.ADMIN
        and not member.is_blocked
        and (blocking or (new_role is not None and new_role != Role.ADMIN))
    )
    if losing and _active_admins(member.organization) <= 1:
        raise Conflict(
            _("The organisation must keep at least one active administrator."), code="last_admin"
        )


@transaction.atomic
def update_member(member: Membership, *, actor: User | None, **changes: Any) -> Membership:
    """Change a member's role, login, e-mail or profile; each change is audited."""
    unknown = set(changes) - set(AUDITED_FIELDS)
    if unknown:
        raise DomainError(_("Unknown field: %(name)s.") % {"name": ", ".join(sorted(unknown))})
    before = _member_state(member)
    if "role" in changes and changes["role"] != member.role:
        _check_role(changes["role"])
        _keep_an_admin(member, new_role=changes["role"])
        if not ROLE_SPECS[member.role].web_access:
            check_web_user_capacity(member.organization, changes["role"])
    _apply_identity(member.user, changes.pop("login", None), changes.pop("email", ...))
    for key, value in changes.items():
        setattr(member, key, value)
    _validate(member)
    member.save()
    old, new = audit.diff(before, _member_state(member))
    if new:
        action = "member.role_change" if "role" in new else "member.update"
        audit.record(
            action,
            organization=member.organization,
            actor=actor,
            target=member,
            before=old,
            after=new,
        )
    return member


def _apply_identity(user: User, login: str | None, email: Any) -> None:
    fields: list[str] = []
    if login is not None and login.strip().lower() != user.login:
        login = _clean_login(login)
        if User.objects.filter(login__iexact=login).exclude(pk=user.pk).exists():
            raise Conflict(
                _("The login “%(login)s” is already taken.") % {"login": login},
                code="login_taken",
                details={"field": "login"},
            )
        user.login, fields = login, [*fields, "login"]
    if email is not ...:
        email = _clean_email(email)
        if email and User.objects.filter(email=email).exclude(pk=user.pk).exists():
            raise Conflict(
                _("%(email)s is used by another account.") % {"email": email},
                code="email_taken",
                details={"field": "email"},
            )
        if email != user.email:
            user.email, fields = email, [*fields, "email"]
    if fields:
        user.save(update_fields=fields)


@transaction.atomic
def block_member(member: Membership, *, actor: User | None) -> Membership:
    """A member who leaves is blocked: no login, tokens revoked, history kept."""
    if member.is_blocked:
        return member
    if actor is not None and member.user_id == actor.pk:
        raise Conflict(_("You cannot block yourself."), code="self_block")
    _keep_an_admin(member, blocking=True)
    member.is_blocked, member.blocked_at = True, timezone.now()
    member.save(update_fields=["is_blocked", "blocked_at", "updated_at"])
    revoked = tokens.revoke_all_tokens(member, actor=actor, reason="member blocked")
    audit.record(
        "member.block",
        organization=member.organization,
        actor=actor,
        target=member,
        before={"is_blocked": False},
        after={"is_blocked": True, "tokens_revoked": revoked},
    )
    return member


@transaction.atomic
def unblock_member(member: Membership, *, actor: User | None) -> Membership:
    if not member.is_blocked:
        return member
    check_web_user_capacity(member.organization, member.role)
    member.is_blocked, member.blocked_at = False, None
    member.save(update_fields=["is_blocked", "blocked_at", "updated_at"])
    audit.record(
        "member.unblock",
        organization=member.organization,
        actor=actor,
        target=member,
        before={"is_blocked": True},
        after={"is_blocked": False},
    )
    return member


def has_history(member: Membership) -> bool:
    """Has this person done anything here? Then they can only be blocked."""
    user = member.user
    return (
        user.last_login is not None
        or AuditEntry.objects.filter(organization=member.organization, actor=user).exists()
        or member.tokens.exists()
        or Certification.objects.filter(membership=member).exists()
    )


@transaction.atomic
def remove_member(member: Membership, *, actor: User | None) -> None:
    """Undo a mistaken addition. Refused once the member has any history."""
    if has_history(member):
        raise Conflict(
            _(
                "%(name)s has a history in Comptoir and cannot be deleted: block "
                "them instead, so that their work stays attributed to them."
            )
            % {"name": member.display_name},
            code="member_has_history",
        )
    _keep_an_admin(member, blocking=True)
    state = _member_state(member)
    SetupLink.objects.filter(
        user=member.user, organization=member.organization, used_at__isnull=True
    ).update(expires_at=timezone.now())
    audit.record(
        "member.remove", organization=member.organization, actor=actor, target=member, before=state
    )
    Membership.objects.filter(pk=member.pk).delete()


@transaction.atomic
def generate_password(member: Membership, *, actor: User | None) -> str:
    """For a technician without e-mail: a new password, shown once to the administrator."""
    if member.is_blocked:
        raise DomainError(_("This member is blocked."))
    password = tokens.readable_password()
    member.user.set_password(password)
    member.user.save(update_fields=["password"])
    audit.record(
        "member.password_generated", organization=member.organization, actor=actor, target=member
    )
    return password


def set_password(user: User, password: str) -> None:
    """Validate then set; raises DomainError with the validators' messages."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise DomainError(
            " ".join(exc.messages), code="weak_password", details={"field": "password"}
        ) from None
    user.set_password(password)
    user.save(update_fields=["password"])


def record_security_event(
    action: str, user: User, *, actor: User | None, after: dict[str, Any] | None = None
) -> None:
    """Security events about a person go to each organisation they belong to."""
    orgs = Organization.objects.filter(memberships__user=user).distinct()
    for org in orgs:
        audit.record(
            action,
            organization=org,
            actor=actor,
            target=user,
            object_type="user",
            object_repr=str(user),
            after=after,
        )
    if not orgs:
        audit.record(action, organization=None, actor=actor, target=user, after=after)


@transaction.atomic
def complete_setup_link(link: SetupLink, password: str) -> User:
    """Set the password through an invitation or reset link (single use)."""
    user = link.user
    set_password(user, password)
    if not tokens.claim_setup_link(link):
        raise DomainError(_("This link has already been used or has expired."), code="link_expired")
    record_security_event(f"auth.password_set.{link.purpose}", user, actor=user)
    return user


@transaction.atomic
def request_password_reset(identifier: str) -> None:
    """E-mail a reset link if the address or login belongs to an active account.

    Says nothing either way, so that nobody can probe which addresses exist.
    """
    identifier = identifier.strip().lower()
    user = User.objects.filter(Q(email=identifier) | Q(login=identifier), is_active=True).first()
    if user is None or not user.email or not web_memberships(user).exists():
        return
    secret = tokens.issue_setup_link(user, SetupLink.Purpose.RESET, organization=None, hours=2)
    queue_email(
        user.email,
        "password_reset",
        {"user": user, "url": setup_url(secret), "hours": 2},
        language=user.language,
    )
    record_security_event("auth.password_reset_requested", user, actor=None)


def web_memberships(user: User) -> MembershipQuerySet:
    return Membership.objects.filter(user=user).with_web_access()


def login_refusal(user: User) -> str | None:
    """Why this user may not use the web interface, or None."""
    if not user.is_active:
        return _("This account is disabled.")
    memberships = Membership.objects.filter(user=user)
    if not memberships.exists():
        return _("This account belongs to no organisation.")
    if not memberships.filter(is_blocked=False).exists():
        return _("Your access has been blocked by your administrator.")
    if not web_memberships(user).exists():
        return _("Your profile works on a workstation only and has no web access.")
    return None


def record_login(user: User) -> None:
    record_security_event("auth.login", user, actor=user)


def record_logout(user: User) -> None:
    record_security_event("auth.logout", user, actor=user)


def record_failed_login(identifier: str, user: User | None, reason: str) -> None:
    if user is None:
        audit.record(
            "auth.login_failed",
            organization=None,
            actor=None,
            object_type="login",
            object_repr=identifier[:200],
            after={"reason": reason},
        )
        return
    record_security_event("auth.login_failed", user, actor=None, after={"reason": reason})


@dataclass(frozen=True)
class ProvisionedOrganization:
    organization: Organization
    admin: Membership
    setup_url: str


@transaction.atomic
def provision_organization(
    name: str,
    slug: str,
    kind: str,
    admin_email: str,
    *,
    actor: User | None = None,
    admin_name: str = "",
) -> ProvisionedOrganization:
    """A new tenant and its first administrator, who gets a set-up link by e-mail."""
    email = _clean_email(admin_email)
    if email is None:
        raise DomainError(
            _("The first administrator needs an e-mail address."), details={"field": "admin_email"}
        )
    org = create_organization(name, slug, kind, actor=actor)
    display = admin_name or email.split("@")[0]
    new = add_member(org, actor=actor, display_name=display, role=Role.ADMIN, email=email)
    url = new.setup_url
    if url is None:  # an existing account: give them a way in all the same
        url = settings.BASE_URL + reverse("core:dashboard", kwargs={"org": org.slug})
    return ProvisionedOrganization(org, new.membership, url)


@transaction.atomic
def save_certification(
    member: Membership,
    *,
    actor: User | None,
    kind: str,
    number: str,
    body: str,
    expires_on: Any,
    certification: Certification | None = None,
) -> Certification:
    cert = certification or Certification(membership=member)
    fields = ["kind", "number", "body", "expires_on"]
    before = audit.snapshot(cert, fields) if certification else None
    cert.kind, cert.number, cert.body, cert.expires_on = (
        kind,
        number.strip(),
        body.strip(),
        expires_on,
    )
    try:
        cert.full_clean(exclude=["membership"])
    except ValidationError as exc:
        raise invalid_model(exc, Certification) from None
    cert.save()
    audit.record(
        "certification.update" if certification else "certification.create",
        organization=member.organization,
        actor=actor,
        target=cert,
        object_repr=f"{member.display_name} — {cert}",
        before=before,
        after=audit.snapshot(cert, fields),
    )
    return cert


@transaction.atomic
def confirm_totp_device(user: User, device: TOTPDevice) -> None:
    """The code from the app matched: two-factor login is on from now."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    record_security_event("auth.2fa_enabled", user, actor=user)


@transaction.atomic
def remove_totp_devices(user: User) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    record_security_event("auth.2fa_disabled", user, actor=user)
