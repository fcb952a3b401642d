"""Pairing a phone: the single-use link, the paired device, its revocation.

A member makes a link from a session that passed login (and the second factor,
where required): the "My phone" page shows it as a QR code. The phone opens it
without a password and gets a session of its own, tied to a `PairedDevice`. The
view opens that session (services never see the request); the middleware asks
`device_session_allowed` on every request of a paired phone, so a revocation or
a blocked member ends the phone's session at once. Every step is audited.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from importlib import import_module
from uuid import UUID

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from comptoir.accounts.models import User
from comptoir.accounts.tokens import digest
from comptoir.core import audit
from comptoir.core.errors import DomainError, Forbidden
from comptoir.core.models import Membership
from comptoir.field.models import PairedDevice, PairingLink

LINK_LIFETIME = timedelta(minutes=5)
# The phone's session lasts this long after its last use (Django's sliding expiry).
DEVICE_SESSION_SECONDS = 90 * 24 * 3600
LAST_SEEN_GRANULARITY = timedelta(minutes=5)
BLOCKED = "member blocked"

SYSTEMS = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"))
OTHER_SYSTEMS = (("Windows", "Windows"), ("Macintosh", "Mac"), ("Linux", "Linux"))
BROWSERS = (
    ("EdgA/", "Edge"),
    ("Edg/", "Edge"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("FxiOS/", "Firefox"),
    ("Firefox/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
ANDROID_MODEL = re.compile(r"Android [\d.]+; ([^;)]+)\)")


class PairingLinkInvalid(DomainError):
    """The link is unknown, already used or expired, or its member may no longer connect."""

    code = "pairing_link_invalid"
    status = 410


@dataclass(frozen=True)
class Pairing:
    """A redeemed link: the new device, and the second factor its session counts as."""

    device: PairedDevice
    otp_device_id: str


def device_name(user_agent: str) -> str:
    """ "iPhone · Safari", "Android (Pixel 8) · Chrome"… read from the User-Agent."""
    agent = user_agent or ""
    system = next((label for needle, label in SYSTEMS + OTHER_SYSTEMS if needle in agent), "")
    if system == "Android" and (model := ANDROID_MODEL.search(agent)):
        name = model.group(1).strip()
        if name and name != "K":  # Chrome's reduced User-Agent hides the model as "K"
            system = f"Android ({name[:40]})"
    browser = next((label for needle, label in BROWSERS if needle in agent), "")
    parts = [part for part in (system, browser) if part]
    return " · ".join(parts) if parts else _("Phone")


@transaction.atomic
def create_pairing_link(
    member: Membership, *, actor: User | None, otp_device_id: str = ""
) -> tuple[PairingLink, str]:
    """A new link for the member's phone; returns it with the only copy of its secret.

    The member's earlier links that were not used yet stop working: only the code on
    screen connects a phone.
    """
    if member.is_blocked or not member.spec.web_access:
        raise Forbidden(_("Your profile cannot connect a phone."))
    now = timezone.now()
    PairingLink.objects.filter(member=member, used_at__isnull=True, expires_at__gt=now).update(
        expires_at=now
    )
    secret = secrets.token_urlsafe(32)
    link = PairingLink.objects.create(
        organization=member.organization,
        member=member,
        token_hash=digest(secret),
        otp_device_id=otp_device_id[:100],
        created_at=now,
        expires_at=now + LINK_LIFETIME,
    )
    audit.record(
        "device.link",
        organization=member.organization,
        actor=actor,
        target=member,
        after={"expires_at": link.expires_at},
    )
    return link, secret


def _refusal(link: PairingLink | None) -> str | None:
    """Why this link cannot connect a phone now, or None."""
    if link is None:
        return _("This link is not valid.")
    if link.used_at is not None:
        return _("This link has already been used: it works only once.")
    if link.expires_at <= timezone.now():
        return _("This link has expired: it is valid for 5 minutes.")
    member = link.member
    if member.is_blocked or not member.user.is_active or not member.spec.web_access:
        return _("This account can no longer connect a phone.")
    return None


def pairing_link(secret: str) -> PairingLink:
    """The link of this secret while it can still be used, else PairingLinkInvalid.
    Reading it does not use it: a link preview (a messaging app, a mail scanner)
    opening the address must neither use it up nor get the session."""
    link = None
    if secret and "\x00" not in secret:  # PostgreSQL refuses U+0000 in a query
        link = (
            PairingLink.objects.select_related("member__user", "member__organization")
            .filter(token_hash=digest(secret))
            .first()
        )
    refusal = _refusal(link)
    if refusal is not None or link is None:
        raise PairingLinkInvalid(refusal or _("This link is not valid."))
    return link


@transaction.atomic
def redeem_pairing_link(secret: str, *, user_agent: str) -> Pairing:
    """Use the link (once) and record the phone; PairingLinkInvalid changes nothing."""
    link = pairing_link(secret)
    now = timezone.now()
    claimed = PairingLink.objects.filter(
        pk=link.pk, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if not claimed:  # used by another request a moment ago
        raise PairingLinkInvalid(_("This link has already been used: it works only once."))
    member = link.member
    device = PairedDevice.objects.create(
        organization=link.organization,
        member=member,
        name=device_name(user_agent),
        user_agent=(user_agent or "")[:300],
        created_at=now,
        last_seen_at=now,
    )
    audit.record(
        "device.pair",
        organization=link.organization,
        actor=member.user,
        target=device,
        object_repr=f"{member} — {device.name}",
        after={
            "member": str(member.public_id),
            "name": device.name,
            "user_agent": device.user_agent,
        },
    )
    return Pairing(device, link.otp_device_id)


def bind_session(device: PairedDevice, session_key: str) -> None:
    """Remember the phone's session, to end it when the device is revoked."""
    PairedDevice.objects.filter(pk=device.pk).update(session_key=session_key)
    device.session_key = session_key


def _session_store() -> type[SessionBase]:
    return import_module(settings.SESSION_ENGINE).SessionStore  # type: ignore[no-any-return]


def end_session(session_key: str) -> None:
    """Delete a session from the session store (the phone is logged out)."""
    if session_key:
        _session_store()().delete(session_key)


def live_sessions(session_keys: Iterable[str]) -> set[str]:
    """Those of these sessions that exist and have not expired: one query with the
    database session stores, one lookup each with the others."""
    keys = {key for key in session_keys if key}
    if not keys:
        return set()
    store = _session_store()
    if issubclass(store, DatabaseSessionStore):
        return set(
            store.get_model_class()
            .objects.filter(session_key__in=keys, expire_date__gt=timezone.now())
            .values_list("session_key", flat=True)
        )
    return {key for key in keys if store().exists(key)}


@transaction.atomic
def revoke_device(device: PairedDevice, *, actor: User | None, reason: str = "") -> bool:
    """Disconnect the phone: its session ends now. False when it was already revoked."""
    now = timezone.now()
    claimed = PairedDevice.objects.filter(pk=device.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=actor if getattr(actor, "pk", None) else None
    )
    if not claimed:
        return False
    device.revoked_at = now
    audit.record(
        "device.revoke",
        organization=device.organization,
        actor=actor,
        target=device,
        object_repr=f"{device.member} — {device.name}",
        before={"revoked": False},
        after={"revoked": True, **({"reason": reason} if reason else {})},
    )
    if device.session_key:
        transaction.on_commit(partial(end_session, device.session_key))
    return True


def _touch(device: PairedDevice) -> None:
    """Note the phone's use at most every few minutes: not a write per request."""
    now = timezone.now()
    if device.last_seen_at and now - device.last_seen_at < LAST_SEEN_GRANULARITY:
        return
    PairedDevice.objects.filter(pk=device.pk).update(last_seen_at=now)
    device.last_seen_at = now


def device_session_allowed(device_id: str, user_id: int) -> bool:
    """May the session of this paired phone go on? No once the device is revoked, or its
    member blocked (the device is then revoked), or the session is someone else's."""
    try:
        key = UUID(str(device_id))
    except ValueError:
        return False
    device = (
        PairedDevice.objects.select_related("member__user", "member__organization", "organization")
        .filter(public_id=key)
        .first()
    )
    if device is None or device.member.user_id != user_id or device.revoked_at is not None:
        return False
    if device.member.is_blocked or not device.member.user.is_active:
        revoke_device(device, actor=None, reason=BLOCKED)
        return False
    _touch(device)
    return True
