"""Pages of Paramètres › Postes and › Volume de données, and a dossier's conflicts."""

from __future__ import annotations

from typing import Any

import segno
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from comptoir.core.access import by_public_id, org_page, require
from comptoir.core.errors import DomainError, NotFound
from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource
from comptoir.dossiers import listing
from comptoir.dossiers.models import DossierRevision
from comptoir.sync import cleanup, compare, configure, services
from comptoir.sync import options as station_options
from comptoir.sync.forms import CleanupForm, CompanyOptionsForm, StationAddForm, StationOptionsForm
from comptoir.sync.models import CloudCleanup, Station

SETTINGS_NAV = "core:org-settings"
COLOURS = [
    ("green", _("Transferred"), "success"),
    ("orange", _("To verify"), "warning"),
    ("blue", _("To process"), "primary"),
    ("red", _("Quarantine / transfer error"), "danger"),
    ("grey", _("Not concerned"), "secondary"),
]


def _page(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, template, {"nav_active": SETTINGS_NAV, "colours": COLOURS, **context})


def _members(member: Membership) -> Any:
    return Membership.objects.filter(organization=member.organization, is_blocked=False)


def _station(member: Membership, station_id: str) -> Station:
    return by_public_id(Station.objects.filter(organization=member.organization), station_id)


def _pairing(request: HttpRequest, station: Station, code: str) -> dict[str, Any]:
    hub = request.build_absolute_uri("/")
    command = f"comptoir-agent pair {hub} {code}"
    return {
        "code": code,
        "command": command,
        "qr": segno.make(command, error="m").svg_inline(scale=4, title=_("Pairing code")),
        "paired_station": station,
    }


@org_page(Resource.SETTINGS, Action.VIEW, name="stations")
def stations(request: HttpRequest, member: Membership) -> HttpResponse:
    return _stations_page(request, member, StationAddForm(members=_members(member)), {})


def _stations_page(
    request: HttpRequest, member: Membership, form: StationAddForm, extra: dict[str, Any]
) -> HttpResponse:
    org = member.organization
    rows = list(
        Station.objects.filter(organization=org)
        .select_related("membership")
        .order_by("revoked_at", "name")
    )
    for row in rows:
        row.badges = [  # type: ignore[attr-defined]
            (key, label, row.counts[key]) for key, label, _css in COLOURS if row.counts.get(key)
        ]
    cloud = configure.cloud_options(org)
    return _page(
        request,
        "sync/stations.html",
        {
            "rows": rows,
            "form": form,
            "cloud": cloud,
            "can_change": member.can(Resource.SETTINGS, Action.CHANGE),
            **extra,
        },
    )


@org_page(Resource.SETTINGS, Action.CHANGE, name="station-add", methods=("POST",))
def station_add(request: HttpRequest, member: Membership) -> HttpResponse:
    form = StationAddForm(request.POST, members=_members(member))
    if not form.is_valid():
        return _stations_page(request, member, form, {})
    try:
        station, code = services.add_station(
            member.organization,
            form.cleaned_data["name"],
            member=form.cleaned_data["membership"],
            actor=request.user,  # type: ignore[arg-type]
        )
    except DomainError as exc:
        form.add_error("name", exc.message)
        return _stations_page(request, member, form, {})
    return _stations_page(
        request, member, StationAddForm(members=_members(member)), _pairing(request, station, code)
    )


@org_page(Resource.SETTINGS, Action.VIEW, name="station")
def station_detail(request: HttpRequest, member: Membership, station_id: str) -> HttpResponse:
    station = _station(member, station_id)
    return _station_page(request, member, station, None)


def _station_page(
    request: HttpRequest,
    member: Membership,
    station: Station,
    form: StationOptionsForm | None,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    values = {**station_options.defaults(), **station.options}
    form = form or StationOptionsForm(
        initial=StationOptionsForm.initial_for(station.own_settings, values)
    )
    cloud = configure.cloud_options(member.organization)
    return _page(
        request,
        "sync/station.html",
        {
            "station": station,
            "form": form,
            "effective": station_options.effective(station),
            "cloud": cloud,
            "counts": [
                (key, label, css, station.counts.get(key, 0)) for key, label, css in COLOURS
            ],
            "can_change": member.can(Resource.SETTINGS, Action.CHANGE),
            **(extra or {}),
        },
    )


@org_page(Resource.SETTINGS, Action.CHANGE, name="station-options", methods=("POST",))
def station_options_post(request: HttpRequest, member: Membership, station_id: str) -> HttpResponse:
    station = _station(member, station_id)
    form = StationOptionsForm(request.POST)
    if not form.is_valid():
        return _station_page(request, member, station, form)
    try:
        configure.set_station_options(
            station,
            form.options(),
            own_settings=form.cleaned_data["own_settings"],
            admin_password=form.cleaned_data["admin_password"],
            actor=request.user,  # type: ignore[arg-type]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return _station_page(request, member, station, form)
    messages.success(request, _("The options of the station are saved."))
    return redirect("sync:station", org=member.organization.slug, station_id=station.public_id)


@org_page(Resource.SETTINGS, Action.CHANGE, name="station-code", methods=("POST",))
def station_code(request: HttpRequest, member: Membership, station_id: str) -> HttpResponse:
    station = _station(member, station_id)
    if station.revoked_at is not None:
        raise NotFound(_("This station was revoked."))
    code = services.issue_code(station, actor=request.user)  # type: ignore[arg-type]
    return _station_page(request, member, station, None, _pairing(request, station, code))


@org_page(Resource.SETTINGS, Action.CHANGE, name="station-reread", methods=("POST",))
def station_reread(request: HttpRequest, member: Membership, station_id: str) -> HttpResponse:
    """“Relire depuis le début”: the station reads the whole change feed again at its next
    pass (it re-lists every dossier, as on its first pass; nothing local is removed)."""
    station = _station(member, station_id)
    if station.revoked_at is not None:
        raise NotFound(_("This station was revoked."))
    services.request_reread(station, actor=request.user)  # type: ignore[arg-type]
    messages.success(
        request,
        _(
            "The station “%(name)s” will read the whole list of the cloud's dossiers again "
            "at its next synchronisation."
        )
        % {"name": station.name},
    )
    return redirect("sync:station", org=member.organization.slug, station_id=station.public_id)


@org_page(Resource.SETTINGS, Action.CHANGE, name="station-revoke", methods=("POST",))
def station_revoke(request: HttpRequest, member: Membership, station_id: str) -> HttpResponse:
    station = _station(member, station_id)
    services.revoke_station(station, actor=request.user)  # type: ignore[arg-type]
    messages.success(request, _("The station “%(name)s” is revoked.") % {"name": station.name})
    return redirect("sync:stations", org=member.organization.slug)


@org_page(Resource.SETTINGS, Action.VIEW, name="cloud-options", methods=("GET", "POST"))
def company_options(request: HttpRequest, member: Membership) -> HttpResponse:
    org = member.organization
    cloud = configure.cloud_options(org)
    active = Station.objects.filter(organization=org, revoked_at__isnull=True)
    common_values = {**station_options.defaults(), **cloud.common}
    if request.method == "POST":
        require(member, Resource.SETTINGS, Action.CHANGE)
        form = CompanyOptionsForm(request.POST, stations=active)
        common = StationOptionsForm(request.POST, prefix="common")
        if form.is_valid() and common.is_valid():
            data = form.cleaned_data
            new_password: str | None = data["new_admin_password"] or None
            if data["remove_admin_password"]:
                new_password = ""
            try:
                configure.set_company_options(
                    org,
                    data,
                    common=common.options(),
                    invoice_station=data["invoice_station"],
                    admin_password=data["admin_password"],
                    new_admin_password=new_password,
                    actor=request.user,  # type: ignore[arg-type]
                )
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("The Comptoir Cloud options are saved."))
                return redirect("sync:options", org=org.slug)
    else:
        form = CompanyOptionsForm(
            initial={
                "enable_all": cloud.enable_all,
                "use_common": cloud.use_common,
                "no_newer_warning": cloud.no_newer_warning,
                "no_invoice_import": cloud.no_invoice_import,
                "invoice_station": cloud.invoice_station,
            },
            stations=active,
        )
        common = StationOptionsForm(
            prefix="common", initial=StationOptionsForm.initial_for(False, common_values)
        )
    return _page(
        request,
        "sync/options.html",
        {
            "form": form,
            "common": common,
            "cloud": cloud,
            "can_change": member.can(Resource.SETTINGS, Action.CHANGE),
        },
    )


@org_page(Resource.SETTINGS, Action.VIEW, name="volume", methods=("GET", "POST"))
def volume(request: HttpRequest, member: Membership) -> HttpResponse:
    org = member.organization
    cleanup.execute_due()
    form = CleanupForm(request.POST or None)
    plan = None
    if request.method == "POST":
        require(member, Resource.SETTINGS, Action.CHANGE)
        if form.is_valid():
            data = form.cleaned_data
            try:
                plan = cleanup.plan(org, data["date_from"], data["date_to"])
                if "confirm" in request.POST:
                    done = cleanup.request(
                        org,
                        data["date_from"],
                        data["date_to"],
                        actor=request.user,  # type: ignore[arg-type]
                        confirm_senders=data["confirm_senders"],
                    )
                    messages.success(
                        request,
                        _(
                            "%(count)s dossiers are in quarantine until %(date)s; "
                            "you can cancel until then."
                        )
                        % {"count": done.dossier_count, "date": done.quarantine_until.date()},
                    )
                    return redirect("sync:volume", org=org.slug)
            except DomainError as exc:
                messages.error(request, exc.message)
    org.refresh_from_db(fields=["storage_used_bytes"])
    return _page(
        request,
        "sync/volume.html",
        {
            "years": cleanup.usage_by_year(org),
            "used": org.storage_used_bytes,
            "quota": org.plan.storage_quota_bytes,
            "percent": min(
                round(100 * org.storage_used_bytes / max(org.plan.storage_quota_bytes, 1)), 100
            ),
            "form": form,
            "plan": plan,
            "cleanups": CloudCleanup.objects.filter(organization=org)[:20],
            "can_change": member.can(Resource.SETTINGS, Action.CHANGE),
        },
    )


@org_page(Resource.SETTINGS, Action.CHANGE, name="cleanup-cancel", methods=("POST",))
def cleanup_cancel(request: HttpRequest, member: Membership, cleanup_id: int) -> HttpResponse:
    found = CloudCleanup.objects.filter(organization=member.organization, pk=cleanup_id).first()
    if found is None:
        raise NotFound(_("Clean-up not found."))
    try:
        cleanup.cancel(found, actor=request.user)  # type: ignore[arg-type]
        messages.success(request, _("The clean-up is cancelled; the dossiers stay on the cloud."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("sync:volume", org=member.organization.slug)


@org_page(Resource.DOSSIERS, Action.VIEW, name="dossier-conflicts", methods=("GET", "POST"))
def dossier_conflicts(request: HttpRequest, member: Membership, dossier_id: str) -> HttpResponse:
    queryset = listing.base_queryset(member, Action.VIEW)
    dossier = by_public_id(queryset, dossier_id)
    url = reverse(
        "sync:conflicts", kwargs={"org": member.organization.slug, "dossier_id": dossier_id}
    )
    if request.method == "POST":
        require(member, Resource.DOSSIERS, Action.CHANGE)
        dossier = by_public_id(listing.base_queryset(member, Action.CHANGE), dossier_id)
        keep = request.POST.get("keep", "")
        document = None
        if keep != "cloud":
            revision = DossierRevision.objects.filter(
                dossier=dossier, rev=keep, is_conflict=True, resolved_at__isnull=True
            ).first()
            if revision is None:
                messages.error(request, _("This version is no longer open: look again."))
                return redirect(url)
            document = revision.document
        try:
            services.resolve(
                dossier,
                keep="cloud" if keep == "cloud" else "local",
                head_rev=request.POST.get("head_rev", ""),
                document=document,
                source=f"web:{request.user.get_username()}",
                actor=request.user,  # type: ignore[arg-type]
            )
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(url)
        messages.success(
            request, _("The conflict is resolved; every version is kept in the history.")
        )
        return redirect("dossiers:detail", org=member.organization.slug, dossier_id=dossier_id)
    data = services.conflicts(dossier)
    rows = compare.comparison(
        data["head"]["document"], [conflict["document"] for conflict in data["conflicts"]]
    )
    return render(
        request,
        "sync/conflicts.html",
        {
            "nav_active": "dossiers:list",
            "dossier": dossier,
            "data": data,
            "differing": [row for row in rows if row["differs"]],
            "same": [row for row in rows if not row["differs"]],
            "can_change": member.can(Resource.DOSSIERS, Action.CHANGE),
        },
    )
