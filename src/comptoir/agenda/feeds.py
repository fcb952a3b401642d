"""A member's calendar subscription: its secret address, its content, its validator.

The address is `/agenda/ics/<feed id><mac>.ics`: the feed's public id (hex) and
an HMAC-SHA256 of its nonce under a key derived from SECRET_KEY (keys in
SECRET_KEY_FALLBACKS still verify, so the secret key can be rotated). Nothing
in the database alone gives the address away; regenerating draws a new nonce,
revoking makes every address of the feed answer 404.

A subscribed phone or Outlook asks again every hour or so: `fingerprint` is one
aggregate query over what the feed shows, and an unchanged fingerprint answers
304 without building anything. The feed is one-way (Comptoir → calendar).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from comptoir.accounts.models import User
from comptoir.agenda import ics
from comptoir.agenda.models import Appointment, CalendarFeed, new_nonce
from comptoir.agenda.selectors import day_bounds, live, summary_text
from comptoir.contacts.models import Contact
from comptoir.core import audit
from comptoir.core.errors import DomainError
from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource
from comptoir.dossiers.models import Dossier, Mission, MissionType

FORMAT = "1"  # bump when the feed's content changes shape: every client refetches
PAST_DAYS = 90  # how far back a feed goes; everything ahead is included
MAC_LENGTH = 32
VALIDATOR_SECONDS = 60
FEED_FIELDS = (
    "public_id",
    "organization_id",
    "nonce",
    "private",
    "revoked_at",
    "membership__role",
    "membership__is_blocked",
    "membership__display_name",
    "membership__organization_id",
    "membership__user__is_active",
    "membership__user__language",
    "membership__organization__name",
    "membership__organization__slug",
)
TOKEN_RE = re.compile(r"^([0-9a-f]{32})([0-9a-f]{32})\Z")


# --- the secret address -------------------------------------------------------------


def _mac(nonce: str, secret_key: str) -> str:
    key = hashlib.sha256(b"comptoir.agenda.feed.v1" + secret_key.encode()).digest()
    return hmac.new(key, nonce.encode(), hashlib.sha256).hexdigest()[:MAC_LENGTH]


def token_for(feed: CalendarFeed) -> str:
    return feed.public_id.hex + _mac(feed.nonce, settings.SECRET_KEY)


def url_for(feed: CalendarFeed) -> str:
    """The address to give a calendar application (https://…/agenda/ics/….ics)."""
    return settings.BASE_URL + reverse("agenda:feed-ics", kwargs={"token": token_for(feed)})


def webcal_url(feed: CalendarFeed) -> str:
    """The same as webcal://, which phones open straight in their calendar."""
    return re.sub(r"^https?://", "webcal://", url_for(feed))


def feed_for_token(token: str) -> CalendarFeed | None:
    """The active feed the token opens, whose member may still see their agenda; else None."""
    match = TOKEN_RE.match(token)
    if match is None:
        return None
    feed = (
        CalendarFeed.objects.select_related(
            "membership", "membership__user", "membership__organization"
        )
        .only(*FEED_FIELDS)  # asked every few minutes by every phone: keep the query small
        .filter(public_id=match.group(1), revoked_at__isnull=True)
        .first()
    )
    if feed is None:
        return None
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    if not any(hmac.compare_digest(_mac(feed.nonce, key), match.group(2)) for key in keys):
        return None
    member = feed.membership
    if not (member.user.is_active and member.can(Resource.CALENDAR, Action.VIEW)):
        return None
    return feed


# --- managing one's feed --------------------------------------------------------------


def _record(action: str, feed: CalendarFeed, actor: User | None, **after: Any) -> None:
    audit.record(
        action,
        organization=feed.membership.organization,
        actor=actor,
        target=feed,
        object_repr=str(_("Calendar subscription of %(name)s") % {"name": feed.membership}),
        after={"member": str(feed.membership.public_id), **after},
    )


@transaction.atomic
def regenerate(member: Membership, *, actor: User | None) -> CalendarFeed:
    """A (new) address for the member's feed; the previous one stops working."""
    if member.is_blocked:
        raise DomainError(_("A blocked member has no calendar subscription."))
    feed = CalendarFeed.objects.select_for_update().filter(membership=member).first()
    if feed is None:
        feed = CalendarFeed.objects.create(organization=member.organization, membership=member)
        _record("agenda.feed.create", feed, actor)
        return feed
    feed.nonce = new_nonce()
    feed.regenerated_at = timezone.now()
    feed.revoked_at = None
    feed.save(update_fields=["nonce", "regenerated_at", "revoked_at"])
    _record("agenda.feed.regenerate", feed, actor)
    return feed


def active_feed(member: Membership, *, actor: User | None) -> CalendarFeed:
    """The member's working feed, made on first use (the support command prints it)."""
    feed = CalendarFeed.objects.filter(membership=member, revoked_at__isnull=True).first()
    return feed or regenerate(member, actor=actor)


@transaction.atomic
def revoke(feed: CalendarFeed, *, actor: User | None) -> None:
    if CalendarFeed.objects.filter(pk=feed.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    ):
        _record("agenda.feed.revoke", feed, actor)


@transaction.atomic
def set_private(feed: CalendarFeed, private: bool, *, actor: User | None) -> None:
    if CalendarFeed.objects.filter(pk=feed.pk).exclude(private=private).update(private=private):
        _record("agenda.feed.options", feed, actor, private=private)
    feed.private = private


# --- content ---------------------------------------------------------------------


def _since() -> date:
    return timezone.localdate() - timedelta(days=PAST_DAYS)


def _window(feed: CalendarFeed) -> QuerySet[Appointment]:
    return live(
        Appointment.objects.filter(
            organization_id=feed.organization_id,
            technician_id=feed.membership_id,
            ends_at__gte=day_bounds(_since())[0],
        )
    )


def fingerprint(feed: CalendarFeed) -> str:
    """A strong validator of the feed's bytes, computed without building them: what the
    feed shows changes only if one of these does (one aggregate query and a small one)."""
    seen = _window(feed).aggregate(
        n=Count("pk"),
        last_change=Max("updated_at"),
        last_dossier_change=Max("dossier__updated_at"),
        last_party_change=Max("dossier__ordering_party__updated_at"),
        last_owner_change=Max("dossier__owner__updated_at"),
    )
    labels = MissionType.objects.filter(organization_id=feed.organization_id).values_list(
        "code", "label"
    )
    member = feed.membership
    parts = [
        FORMAT,
        feed.public_id.hex,
        str(feed.private),
        str(_since()),
        member.organization.name,
        member.display_name,
        member.user.language,
        settings.BASE_URL,
        *(str(seen[key]) for key in sorted(seen)),
        *(f"{code}={label}" for code, label in sorted(labels)),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def _validator_key(membership_id: int) -> str:
    return f"agenda:feed-validator:{membership_id}"


def validator(feed: CalendarFeed) -> str:
    """`fingerprint`, remembered for VALIDATOR_SECONDS: a phone polling every few minutes
    costs a cache read. The agenda's own writes forget it at once (`forget`); a change to
    a dossier or a contact shows within VALIDATOR_SECONDS."""
    key = _validator_key(feed.membership_id)
    stamp = (feed.public_id.hex, feed.nonce, feed.private, str(_since()))
    found = cache.get(key)
    if isinstance(found, tuple) and len(found) == 2 and found[0] == stamp:
        return str(found[1])
    value = fingerprint(feed)
    cache.set(key, (stamp, value), VALIDATOR_SECONDS)
    return value


def forget(*membership_ids: int) -> None:
    """After a commit that changed these members' appointments: recompute their validators."""
    cache.delete_many([_validator_key(pk) for pk in membership_ids])


@dataclass(frozen=True)
class Feed:
    body: bytes
    etag: str


@dataclass(frozen=True)
class _Texts:
    """The words of the feed, translated once per build."""

    appointment: str
    dossier: str
    missions: str
    contact: str
    ordering_party: str
    owner: str


def _texts() -> _Texts:
    return _Texts(
        appointment=_("Appointment"),
        dossier=_("Dossier %(number)s"),
        missions=_("Missions: %(list)s"),
        contact=_("%(role)s: %(name)s"),
        ordering_party=_("Ordering party"),
        owner=_("Owner"),
    )


def _contact_line(texts: _Texts, role: str, contact: Contact) -> str:
    line = texts.contact % {"role": role, "name": contact.display_name}
    reach = " · ".join(part for part in (contact.phone, contact.email) if part)
    return f"{line} ({reach})" if reach else line


ROW_FIELDS = (
    "public_id",
    "version",
    "starts_at",
    "ends_at",
    "updated_at",
    "status",
    "title",
    "address",
    "notes",
    "dossier_id",
)


def events(feed: CalendarFeed) -> Iterator[ics.FeedEvent]:
    """The feed's events from plain rows: a few queries whatever the number of events."""
    texts = _texts()
    window = _window(feed)
    with_dossier = Subquery(window.filter(dossier__isnull=False).values("dossier_id"))
    dossiers = {
        dossier.pk: dossier
        for dossier in Dossier.objects.filter(pk__in=with_dossier).only(
            "number",
            "property_street",
            "property_postcode",
            "property_city",
            "ordering_party_id",
            "owner_id",
        )
    }
    missions: dict[int, list[str]] = defaultdict(list)
    for dossier_id, label in (
        Mission.objects.filter(dossier_id__in=with_dossier)
        .order_by("pk")
        .values_list("dossier_id", "mission_type__label")
    ):
        missions[dossier_id].append(label)
    contacts: dict[int, Contact] = {}
    if not feed.private:
        parties = Dossier.objects.filter(pk__in=with_dossier)
        contacts = {
            contact.pk: contact
            for contact in Contact.objects.filter(
                Q(pk__in=Subquery(parties.values("ordering_party_id")))
                | Q(pk__in=Subquery(parties.values("owner_id")))
            ).only("kind", "civility", "first_name", "last_name", "company_name", "phone", "email")
        }
    page = _page_url(feed)
    for row in window.order_by("starts_at", "pk").values_list(*ROW_FIELDS).iterator(2000):
        public_id, version, start, end, stamp, status, title, address, notes, dossier_id = row
        dossier = dossiers.get(dossier_id) if dossier_id else None
        labels = missions.get(dossier_id, []) if dossier_id else []
        if feed.private:
            summary, description, url = ", ".join(labels) or texts.appointment, "", ""
        else:
            number = dossier.number if dossier is not None else None
            summary = summary_text(title, number, labels) or texts.appointment
            description = _description(texts, dossier, labels, contacts, notes)
            url = page.replace(PLACEHOLDER, str(public_id))
        yield ics.FeedEvent(
            uid=f"{public_id}@comptoir",
            sequence=version - 1,
            start=start,
            end=end,
            stamp=stamp,
            summary=summary,
            location=(dossier.address if dossier is not None else "") or address,
            description=description,
            cancelled=status == Appointment.Status.CANCELLED,
            url=url,
        )


PLACEHOLDER = "00000000-0000-0000-0000-000000000000"


def _page_url(feed: CalendarFeed) -> str:
    slug = feed.membership.organization.slug
    return settings.BASE_URL + reverse(
        "agenda:appointment", kwargs={"org": slug, "appointment_id": PLACEHOLDER}
    )


def _description(
    texts: _Texts,
    dossier: Dossier | None,
    labels: list[str],
    contacts: dict[int, Contact],
    notes: str,
) -> str:
    lines = []
    if dossier is not None:
        lines.append(texts.dossier % {"number": dossier.number})
    if labels:
        lines.append(texts.missions % {"list": ", ".join(labels)})
    if dossier is not None:
        for role, contact_id in (
            (texts.ordering_party, dossier.ordering_party_id),
            (texts.owner, dossier.owner_id),
        ):
            if contact_id is not None and contact_id in contacts:
                lines.append(_contact_line(texts, role, contacts[contact_id]))
    if notes:
        lines.append(notes)
    return "\n".join(lines)


def build(feed: CalendarFeed, etag: str | None = None) -> Feed:
    """The whole feed, in the member's language."""
    with translation.override(feed.membership.user.language or "fr"):
        name = f"Comptoir · {feed.membership.organization.name}"
        if not feed.private:
            name = f"{name} · {feed.membership.display_name}"
        body = ics.calendar(name, events(feed)).encode()
    return Feed(body=body, etag=etag or validator(feed))
