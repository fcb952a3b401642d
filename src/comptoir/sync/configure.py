"""Changing the Comptoir Cloud options, from the web or from a station."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from comptoir.accounts.models import User
from comptoir.core import audit
from comptoir.core.errors import DomainError, Forbidden
from comptoir.core.models import Organization
from comptoir.sync import options as station_options
from comptoir.sync.models import CloudOptions, Station

COMPANY_FLAGS = ("enable_all", "use_common", "no_newer_warning", "no_invoice_import")


def cloud_options(org: Organization) -> CloudOptions:
    found, _created = CloudOptions.objects.get_or_create(organization=org)
    return found


def _check_password(org: Organization, password: str | None) -> None:
    found = CloudOptions.objects.filter(organization=org).first()
    if not station_options.check_admin_password(found, password):
        raise Forbidden(
            _("The options are protected: give the administrator password of the options."),
            code="admin_password",
        )


@transaction.atomic
def set_company_options(
    org: Organization,
    values: dict[str, Any],
    *,
    common: dict[str, Any] | None,
    invoice_station: Station | None,
    admin_password: str | None,
    new_admin_password: str | None = None,
    actor: User | None,
) -> CloudOptions:
    _check_password(org, admin_password)
    cloud = cloud_options(org)
    before = {key: getattr(cloud, key) for key in COMPANY_FLAGS}
    before["common"] = dict(cloud.common)
    for key in COMPANY_FLAGS:
        if key in values:
            setattr(cloud, key, bool(values[key]))
    if common is not None:
        cloud.common = station_options.clean(common)
    if invoice_station is not None and invoice_station.organization_id != org.pk:
        raise DomainError(_("Unknown station."), details={"field": "invoice_station"})
    cloud.invoice_station = invoice_station
    if new_admin_password is not None:
        station_options.set_admin_password(cloud, new_admin_password)
    cloud.save()
    after = {key: getattr(cloud, key) for key in COMPANY_FLAGS}
    after["common"] = dict(cloud.common)
    after["invoice_station"] = invoice_station.name if invoice_station else None
    if new_admin_password is not None:
        after["admin_password"] = "changed" if new_admin_password else "removed"
    audit.record_change(
        "cloud.options", organization=org, actor=actor, target=cloud, before=before, after=after
    )
    return cloud


@transaction.atomic
def set_station_options(
    station: Station,
    values: dict[str, Any],
    *,
    own_settings: bool | None = None,
    admin_password: str | None,
    actor: User | None,
) -> Station:
    _check_password(station.organization, admin_password)
    cleaned = station_options.clean(values)
    before = {"own_settings": station.own_settings, **station.options}
    station.options = {**station.options, **cleaned}
    if own_settings is not None:
        station.own_settings = own_settings
    station.save(update_fields=["options", "own_settings"])
    audit.record_change(
        "station.options",
        organization=station.organization,
        actor=actor,
        target=station,
        before=before,
        after={"own_settings": station.own_settings, **station.options},
    )
    return station
