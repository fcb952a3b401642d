"""Outils › Paramètres › Numérotation: how dossiers, quotes and invoices are numbered.

Thin: a form types the input, one service checks and acts.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.accounts.models import acting_user
from comptoir.core.access import org_page
from comptoir.core.errors import DomainError, NotFound
from comptoir.core.forms import style_fields
from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource
from comptoir.numbering import masks, services
from comptoir.numbering.forms import NextForm, SeriesForm
from comptoir.numbering.models import Kind

SETTINGS_NAV = "core:org-settings"  # the "Paramètres" menu entry stays lit on every tab
TAB = "numbering:settings"

# The codes a mask may hold, for the page's help (docs/guide/README.md says the same).
LEGEND = [
    (masks.YEAR, gettext_lazy("the year, 4 digits (2026)")),
    (masks.SHORT_YEAR, gettext_lazy("the year, 2 digits (26)")),
    (masks.MONTH, gettext_lazy("the month, 01 to 12")),
    (masks.DAY, gettext_lazy("the day, 01 to 31")),
    (
        masks.OPERATOR,
        gettext_lazy("the operator's initials: the dossier's technician, or those a station sends"),
    ),
    (
        masks.COUNTER,
        gettext_lazy("the counter, padded with zeros to the width (00042 with a width of 5)"),
    ),
]


def _page(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return render(
        request,
        template,
        {"nav_active": SETTINGS_NAV, "active_tab": TAB, "legend": LEGEND, **context},
    )


def _back(member: Membership) -> HttpResponse:
    return redirect(TAB, org=member.organization.slug)


def _state(member: Membership, kind: str) -> services.SeriesState:
    if kind not in Kind.values:
        raise NotFound(_("Not found."))
    return next(
        state for state in services.overview(member.organization) if state.series.kind == kind
    )


def _refused(form: Any, exc: DomainError) -> None:
    field = exc.details.get("field") if isinstance(exc.details, dict) else None
    form.add_error(field if field in form.fields else None, exc.message)
    style_fields(form)  # mark the refused field as invalid


def _saved(request: HttpRequest, member: Membership, kind: str, text: str) -> None:
    series = services.get_series(member.organization, kind)
    _value, number = services.preview(series)
    messages.success(request, text % {"series": series.get_kind_display(), "number": number})


@org_page(Resource.SETTINGS, Action.VIEW, name="numbering-settings")
def numbering_settings(request: HttpRequest, member: Membership) -> HttpResponse:
    return _page(
        request,
        "numbering/settings.html",
        {
            "states": services.overview(member.organization),
            "can_change": member.can(Resource.SETTINGS, Action.CHANGE),
        },
    )


@org_page(Resource.SETTINGS, Action.CHANGE, name="numbering-series-edit", methods=("GET", "POST"))
def series_edit(request: HttpRequest, member: Membership, kind: str) -> HttpResponse:
    state = _state(member, kind)
    series = state.series
    form = SeriesForm(
        request.POST or None,
        initial={
            "mask": series.mask,
            "width": series.width,
            "reset": series.reset,
            "offset": series.offset,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_series(
                member.organization, kind, actor=acting_user(request), **form.cleaned_data
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            _saved(request, member, kind, _("%(series)s: numbering saved, next number %(number)s."))
            return _back(member)
    return _page(request, "numbering/series_form.html", {"form": form, "state": state})


@org_page(Resource.SETTINGS, Action.CHANGE, name="numbering-next-edit", methods=("GET", "POST"))
def next_edit(request: HttpRequest, member: Membership, kind: str) -> HttpResponse:
    state = _state(member, kind)
    form = NextForm(request.POST or None, initial={"next_value": state.next_counter})
    if request.method == "POST" and form.is_valid():
        try:
            services.set_next(
                member.organization,
                kind,
                form.cleaned_data["next_value"],
                actor=acting_user(request),
            )
        except DomainError as exc:
            _refused(form, exc)
        else:
            _saved(request, member, kind, _("%(series)s: the next number is now %(number)s."))
            return _back(member)
    return _page(request, "numbering/next_form.html", {"form": form, "state": state})
