"""The per-station options of the “Options Comptoir Cloud” window, and what a
station actually applies (its effective options)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.contrib.auth.hashers import check_password, make_password
from django.utils.translation import gettext as _

from comptoir.core.errors import DomainError
from comptoir.sync.models import CloudOptions, Station


@dataclass(frozen=True)
class Option:
    key: str
    kind: type
    default: Any


# Defaults follow the guide's advice (“check the blue options”).
STATION_OPTIONS: tuple[Option, ...] = (
    Option("force_activation", bool, True),
    Option("send_after", date, None),
    Option("fetch_missing", bool, False),
    Option("fetch_after", date, None),
    Option("fetch_horizon_days", int, -1),
    Option("update_present", bool, True),
    Option("fetch_statistics", bool, False),
    Option("window_start", int, None),
    Option("window_end", int, None),
    Option("not_systematic", bool, False),
    Option("refresh_icon", bool, True),
)
BY_KEY = {option.key: option for option in STATION_OPTIONS}


def defaults() -> dict[str, Any]:
    return {option.key: option.default for option in STATION_OPTIONS}


def clean(raw: dict[str, Any]) -> dict[str, Any]:
    """Validate per-station options (JSON values); raise DomainError naming the key."""
    cleaned: dict[str, Any] = {}
    for key, value in raw.items():
        option = BY_KEY.get(key)
        if option is None:
            raise DomainError(
                _("Unknown option “%(key)s”.") % {"key": key},
                code="invalid",
                details={"field": key, "known": sorted(BY_KEY)},
            )
        cleaned[key] = _coerce(option, value)
    for key in ("window_start", "window_end"):
        value = cleaned.get(key)
        if value is not None and not 0 <= value <= 23:
            raise DomainError(
                _("%(key)s must be an hour from 0 to 23.") % {"key": key}, details={"field": key}
            )
    if cleaned.get("fetch_horizon_days") is not None and cleaned["fetch_horizon_days"] < -1:
        raise DomainError(
            _("The horizon is a number of days, or -1 for no limit."),
            details={"field": "fetch_horizon_days"},
        )
    return cleaned


def _coerce(option: Option, value: Any) -> Any:
    if value is None or value == "":
        if option.kind is bool:
            raise DomainError(
                _("%(key)s must be true or false.") % {"key": option.key},
                details={"field": option.key},
            )
        return None
    if option.kind is bool:
        if not isinstance(value, bool):
            raise DomainError(
                _("%(key)s must be true or false.") % {"key": option.key},
                details={"field": option.key},
            )
        return value
    if option.kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise DomainError(
                _("%(key)s must be a whole number.") % {"key": option.key},
                details={"field": option.key},
            )
        return value
    if isinstance(value, datetime):  # the feed and the clean-up read a plain date
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise DomainError(
            _("%(key)s must be a date (YYYY-MM-DD).") % {"key": option.key},
            details={"field": option.key},
        ) from None


def company(org_options: CloudOptions | None) -> CloudOptions:
    return org_options or CloudOptions()


def effective(station: Station) -> dict[str, Any]:
    """What the station applies: common settings unless it has its own, plus company flags."""
    org_options = CloudOptions.objects.filter(organization_id=station.organization_id).first()
    cloud = company(org_options)
    values = defaults()
    if cloud.use_common and not station.own_settings:
        values.update(cloud.common or {})
    else:
        values.update(station.options or {})
    enabled = cloud.enable_all or bool(values.get("force_activation"))
    invoice_station = cloud.invoice_station_id
    return {
        "enabled": enabled,
        **{key: values.get(key) for key in BY_KEY},
        "warn_newer": not cloud.no_newer_warning,
        "import_invoicing": not cloud.no_invoice_import,
        "may_send_invoices": invoice_station is None or invoice_station == station.pk,
        "common": bool(cloud.use_common and not station.own_settings),
    }


def in_window(options: dict[str, Any], moment: datetime) -> bool:
    """Whether `moment` is inside the sync window; a window may cross midnight (22→7)."""
    start, end = options.get("window_start"), options.get("window_end")
    if start is None or end is None or start == end:
        return True
    now = moment.time()
    if start < end:
        return time(start) <= now < time(end)
    return now >= time(start) or now < time(end)


def set_admin_password(cloud: CloudOptions, password: str) -> None:
    cloud.admin_password = make_password(password) if password else ""


def check_admin_password(cloud: CloudOptions | None, password: str | None) -> bool:
    if cloud is None or not cloud.admin_password:
        return True
    return bool(password) and check_password(password, cloud.admin_password)
