"""The exchange zone on the web: its page, sending a dossier there or taking it out, and
what it adds to the dossier pages (an icon per row of the list, the zone at the top
right of the list, a button on a dossier's page) through the hooks of dossiers.views."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.accounts.models import acting_user
from comptoir.core.access import by_public_id, org_page
from comptoir.core.errors import DomainError
from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource
from comptoir.dossiers import listing
from comptoir.dossiers.models import Dossier
from comptoir.dossiers.views import DETAIL_WIDGETS, LIST_WIDGETS, ROW_MARKS, RowMark, back_to_list
from comptoir.sync import zone

WIDGET_ITEMS = 8  # dossiers listed in the list page's drop-down; the zone page has them all


def _day(moment: Any) -> str:
    return date_format(timezone.localtime(moment), "d/m/Y") if moment else ""


def mark_context(member: Membership, dossier: Dossier, found: zone.Presence) -> dict[str, Any]:
    """What the icon of one row says, and what clicking it does (add, remove or nothing)."""
    number = dossier.number
    may = zone.may_change(member, dossier)
    action, label = None, ""
    if found.entry is not None:
        title = _("In the exchange zone (sent by hand)")
        if may:
            action, label = "remove", _("Remove dossier %(number)s from the exchange zone")
    elif found.appointments:
        title = _("In the exchange zone: appointment on %(date)s") % {
            "date": _day(found.appointments[0].starts_at)
        }
    else:
        title = _("Not in the exchange zone")
        if may:
            action, label = "add", _("Send dossier %(number)s to the exchange zone")
    return {
        "dossier": dossier,
        "present": found.present,
        "action": action,
        "title": title,
        "label": (label % {"number": number}) if action else f"{number} : {title}",
        "url": reverse(
            f"sync:zone-{action}",
            kwargs={"org": member.organization.slug, "dossier_id": dossier.public_id},
        )
        if action
        else "",
    }


def row_marks(request: HttpRequest, member: Membership, dossiers: Sequence[Dossier]) -> list[str]:
    found = zone.presence(member.organization, dossiers)
    return [
        render_to_string(
            "sync/zone/_mark.html", mark_context(member, dossier, found[dossier.pk]), request
        )
        for dossier in dossiers
    ]


def _visible(member: Membership) -> Any:
    return listing.base_queryset(member)


def widget_context(member: Membership) -> dict[str, Any]:
    first_lines: dict[int, Any] = {}
    for line in zone.items(member.organization, visible=_visible(member)):
        first_lines.setdefault(line.dossier.pk, line)  # a dossier's earliest line
    dossiers = list(first_lines.values())
    return {
        "zone_lines": dossiers[:WIDGET_ITEMS],
        "zone_count": len(dossiers),
        "org": member.organization,
    }


def list_widget(request: HttpRequest, member: Membership) -> str:
    return render_to_string("sync/zone/_widget.html", widget_context(member), request)


def detail_widget(request: HttpRequest, member: Membership, dossier: Dossier) -> str:
    if dossier.deleted_at is not None:
        return ""
    found = zone.presence_of(dossier)
    context = {
        "dossier": dossier,
        "presence": found,
        "may_change": zone.may_change(member, dossier),
        "appointment_day": _day(found.appointments[0].starts_at) if found.appointments else "",
        "org": member.organization,
    }
    return render_to_string("sync/zone/_detail.html", context, request)


def register() -> None:
    """Called from SyncConfig.ready: the zone on the dossier pages."""
    if row_marks not in [mark.render for mark in ROW_MARKS]:
        ROW_MARKS.append(RowMark("exchange-zone", gettext_lazy("Exchange zone"), row_marks))
    if list_widget not in LIST_WIDGETS:
        LIST_WIDGETS.append(list_widget)
    if detail_widget not in DETAIL_WIDGETS:
        DETAIL_WIDGETS.append(detail_widget)


# --- pages --------------------------------------------------------------------------------


def _changeable(member: Membership, dossier_id: str) -> Dossier:
    """A dossier the member may change (404 for another organisation's or, for a
    technician “own dossiers”, someone else's)."""
    return by_public_id(listing.base_queryset(member, Action.CHANGE), dossier_id)


def _answer(
    request: HttpRequest, member: Membership, dossier: Dossier, done: str, error: str
) -> HttpResponse:
    if request.headers.get("HX-Request"):
        found = zone.presence_of(dossier)
        context = {
            **mark_context(member, dossier, found),
            **widget_context(member),
            "error": error,
            "oob": True,
        }
        return render(request, "sync/zone/_toggled.html", context)
    if error:
        messages.error(request, error)
    elif done:
        messages.success(request, done)
    if request.POST.get("back") == "list":
        return redirect(back_to_list(request, member))
    if request.POST.get("back") == "zone":
        return redirect("sync:zone", org=member.organization.slug)
    return redirect("dossiers:detail", org=member.organization.slug, dossier_id=dossier.public_id)


@org_page(Resource.DOSSIERS, Action.CHANGE, name="exchange-zone-add", methods=("POST",))
def zone_add(request: HttpRequest, member: Membership, dossier_id: str) -> HttpResponse:
    dossier = _changeable(member, dossier_id)
    try:
        zone.add(member, dossier, actor=acting_user(request))
    except DomainError as exc:
        return _answer(request, member, dossier, "", exc.message)
    done = _("Dossier %(number)s is in the exchange zone.") % {"number": dossier.number}
    return _answer(request, member, dossier, done, "")


@org_page(Resource.DOSSIERS, Action.CHANGE, name="exchange-zone-remove", methods=("POST",))
def zone_remove(request: HttpRequest, member: Membership, dossier_id: str) -> HttpResponse:
    dossier = _changeable(member, dossier_id)
    removed = zone.remove(member, dossier, actor=acting_user(request))
    done = (
        _("Dossier %(number)s was removed from the exchange zone.") % {"number": dossier.number}
        if removed
        else ""
    )
    return _answer(request, member, dossier, done, "")


@org_page(Resource.DOSSIERS, Action.VIEW, name="exchange-zone")
def zone_page(request: HttpRequest, member: Membership) -> HttpResponse:
    span = zone.window()
    lines = []
    for line in zone.items(member.organization, visible=_visible(member)):
        start = line.starts_at
        day = timezone.localdate(start) if start else None
        lines.append(
            {
                "line": line,
                "day": day,
                "is_today": day == span.today,
                "is_tomorrow": day == span.tomorrow,
                "may_remove": line.entry is not None and zone.may_change(member, line.dossier),
            }
        )
    return render(
        request,
        "sync/zone/page.html",
        {
            "lines": lines,
            "today": span.today,
            "tomorrow": span.tomorrow,
            "nav_active": "dossiers:list",
        },
    )
