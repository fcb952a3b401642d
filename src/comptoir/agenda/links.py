"""What the agenda adds to the pages of the apps below it."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource
from comptoir.dossiers.models import Dossier


def appointment_link(member: Membership, dossier: Dossier) -> dict[str, str] | None:
    """ "Make an appointment" on a dossier's page, for those who may."""
    if dossier.deleted_at is not None or not member.can(Resource.CALENDAR, Action.ADD):
        return None
    url = reverse("agenda:appointment-add", kwargs={"org": member.organization.slug})
    return {
        "url": f"{url}?dossier={dossier.public_id}",
        "label": _("Make an appointment"),
        "icon": "calendar-plus",
    }


def register() -> None:
    from comptoir.dossiers.views import DETAIL_LINKS

    if appointment_link not in DETAIL_LINKS:
        DETAIL_LINKS.append(appointment_link)
