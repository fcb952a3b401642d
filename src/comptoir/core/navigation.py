"""The navigation bar: each app declares its entries; members see what they may use."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource


@dataclass(frozen=True)
class NavEntry:
    label: StrOrPromise
    url_name: str
    icon: str
    resource: Resource | None = None
    action: Action = Action.VIEW
    order: int = 100


NAV_ENTRIES: list[NavEntry] = []


def add_nav_entry(entry: NavEntry) -> None:
    if entry.url_name not in {known.url_name for known in NAV_ENTRIES}:
        NAV_ENTRIES.append(entry)
        NAV_ENTRIES.sort(key=lambda item: item.order)


def entries_for(member: Membership) -> list[dict[str, str]]:
    slug = member.organization.slug
    return [
        {
            "label": str(entry.label),
            "icon": entry.icon,
            "url_name": entry.url_name,
            "url": reverse(entry.url_name, kwargs={"org": slug}),
        }
        for entry in NAV_ENTRIES
        if entry.resource is None or member.can(entry.resource, entry.action)
    ]


# The tabs of Outils › Paramètres. Core owns the "Security" tab (the organisation's
# name and two-factor rule); apps above it add theirs (company: Entreprise, Tarifs…).
SETTINGS_TABS: list[NavEntry] = [
    NavEntry(
        _("Security"),
        "core:org-settings",
        "shield-lock",
        Resource.SETTINGS,
        Action.CHANGE,
        order=900,
    ),
]


def add_settings_tab(entry: NavEntry) -> None:
    if entry.url_name not in {known.url_name for known in SETTINGS_TABS}:
        SETTINGS_TABS.append(entry)
        SETTINGS_TABS.sort(key=lambda item: item.order)


def settings_tabs_for(member: Membership) -> list[dict[str, str]]:
    slug = member.organization.slug
    return [
        {
            "label": str(entry.label),
            "icon": entry.icon,
            "url_name": entry.url_name,
            "url": reverse(entry.url_name, kwargs={"org": slug}),
        }
        for entry in SETTINGS_TABS
        if entry.resource is None or member.can(entry.resource, entry.action)
    ]
