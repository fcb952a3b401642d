"""Domain operations on organisations: creation, settings, plan limits, quota."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.template.defaultfilters import filesizeformat
from django.utils.text import slugify
from django.utils.translation import gettext as _

from comptoir.core import audit
from comptoir.core.errors import DomainError, LimitExceeded
from comptoir.core.models import MemberPreference, Membership, Organization, Plan
from comptoir.core.roles import ROLE_SPECS

DEFAULT_PLAN = "standard"
ORG_SETTINGS_FIELDS = ["name", "require_admin_2fa"]


def default_plan() -> Plan:
    plan, _created = Plan.objects.get_or_create(
        code=DEFAULT_PLAN, defaults={"name": "Standard", "max_web_users": 10}
    )
    return plan


@transaction.atomic
def create_organization(
    name: str, slug: str, kind: str, *, actor: Any = None, plan: Plan | None = None
) -> Organization:
    name = name.strip()
    if not name:
        raise DomainError(_("The organisation needs a name."), details={"field": "name"})
    if slug != slugify(slug) or not slug:
        raise DomainError(
            _("“%(slug)s” is not a valid short name: use lowercase letters, digits and hyphens.")
            % {"slug": slug},
            details={"field": "slug"},
        )
    if kind not in Organization.Kind.values:
        raise DomainError(
            _("Unknown organisation kind “%(kind)s”.") % {"kind": kind}, details={"field": "kind"}
        )
    if Organization.objects.filter(slug=slug).exists():
        raise DomainError(
            _("The short name “%(slug)s” is already taken.") % {"slug": slug},
            code="slug_taken",
            details={"field": "slug"},
        )
    org = Organization.objects.create(name=name, slug=slug, kind=kind, plan=plan or default_plan())
    audit.record(
        "organization.create",
        organization=org,
        actor=actor,
        target=org,
        after=audit.snapshot(org, ["name", "slug", "kind"]),
    )
    return org


@transaction.atomic
def update_organization(org: Organization, *, actor: Any, **changes: Any) -> Organization:
    unknown = set(changes) - set(ORG_SETTINGS_FIELDS)
    if unknown:
        raise DomainError(_("Unknown setting: %(name)s.") % {"name": ", ".join(sorted(unknown))})
    before = audit.snapshot(org, ORG_SETTINGS_FIELDS)
    for key, value in changes.items():
        setattr(org, key, value)
    org.save(update_fields=list(changes))
    after = audit.snapshot(org, ORG_SETTINGS_FIELDS)
    audit.record_change(
        "organization.update",
        organization=org,
        actor=actor,
        target=org,
        before=before,
        after=after,
    )
    return org


def web_user_count(org: Organization) -> int:
    return Membership.objects.filter(organization=org).with_web_access().count()


def check_web_user_capacity(org: Organization, role: str) -> None:
    """Refuse one more active web user beyond the plan's limit."""
    limit = org.plan.max_web_users
    if limit is None or not ROLE_SPECS[role].web_access:
        return
    if web_user_count(org) >= limit:
        raise LimitExceeded(
            _(
                "Your plan “%(plan)s” allows %(limit)d web users and all are in use: block a "
                "member who has left or change plan."
            )
            % {"plan": org.plan.name, "limit": limit},
            details={"limit": limit},
        )


def _quota_exceeded(org: Organization, size: int) -> LimitExceeded:
    org.refresh_from_db(fields=["storage_used_bytes"])
    quota = org.plan.storage_quota_bytes
    return LimitExceeded(
        _(
            "Storage quota exceeded: %(used)s used of %(quota)s, %(size)s more refused. "
            "Free space or raise the quota."
        )
        % {
            "used": filesizeformat(org.storage_used_bytes),
            "quota": filesizeformat(quota),
            "size": filesizeformat(size),
        },
        code="quota_exceeded",
        details={"used": org.storage_used_bytes, "quota": quota, "requested": size},
    )


def check_storage(org: Organization, size: int) -> None:
    """Refuse `size` more bytes before any is kept, when they would not fit.

    Only a first check, so that a refused file costs no write: the bytes are
    counted by `reserve_storage`, in the transaction that records them.
    """
    if size < 0:
        raise DomainError(_("A size cannot be negative."))
    if (
        size
        and not Organization.objects.filter(
            pk=org.pk, storage_used_bytes__lte=org.plan.storage_quota_bytes - size
        ).exists()
    ):
        raise _quota_exceeded(org, size)


def reserve_storage(org: Organization, size: int) -> None:
    """Count `size` more bytes against the quota, or refuse with a clear message.

    Call it inside the transaction that records what holds the bytes (a blob,
    an upload, a file field), and give bytes back with `release_storage` in the
    transaction that drops the record: a crash between the two steps then leaves
    neither, and the counter always equals what the records hold. One
    conditional UPDATE: two concurrent uploads cannot both squeeze under the
    limit.
    """
    if size < 0:
        raise DomainError(_("A size cannot be negative."))
    if not size:
        return
    quota = org.plan.storage_quota_bytes
    claimed = Organization.objects.filter(pk=org.pk, storage_used_bytes__lte=quota - size).update(
        storage_used_bytes=F("storage_used_bytes") + size
    )
    if claimed != 1:
        raise _quota_exceeded(org, size)
    org.refresh_from_db(fields=["storage_used_bytes"])


def release_storage(org: Organization, size: int) -> None:
    """Give `size` bytes back; call it in the transaction that drops their record."""
    if not size:
        return
    Organization.objects.filter(pk=org.pk, storage_used_bytes__gte=size).update(
        storage_used_bytes=F("storage_used_bytes") - size
    )
    org.refresh_from_db(fields=["storage_used_bytes"])


def get_preference(member: Membership, key: str, default: Any = None) -> Any:
    found = MemberPreference.objects.filter(membership=member, key=key).first()
    return found.value if found else default


def set_preference(member: Membership, key: str, value: Any) -> None:
    """Interface preferences are not business records: they are not audited."""
    MemberPreference.objects.update_or_create(membership=member, key=key, defaults={"value": value})
