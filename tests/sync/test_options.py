"""Comptoir Cloud options: cleaning, effective options, the sync window, the admin password."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pytest

from comptoir.core.errors import DomainError
from comptoir.core.models import AuditEntry
from comptoir.sync import configure
from comptoir.sync import options as station_options
from comptoir.sync.models import CloudOptions, Station
from tests.sync.conftest import StationClient

PASSWORD = "options-secret-42"


def model(station: StationClient) -> Station:
    return Station.objects.get(public_id=station.station_id)


def company(people: Any, values: dict[str, Any], **kwargs: Any) -> CloudOptions:
    kwargs.setdefault("common", None)
    kwargs.setdefault("invoice_station", None)
    kwargs.setdefault("admin_password", None)
    return configure.set_company_options(
        people["admin"].org, values, actor=people["admin"].user, **kwargs
    )


def own(station: StationClient, **values: Any) -> Station:
    return configure.set_station_options(
        model(station), values, own_settings=True, admin_password=None, actor=None
    )


def put_options(station: StationClient, body: dict[str, Any]) -> Any:
    return station.client().put(
        station.url("station/options"), json.dumps(body), content_type="application/json"
    )


# --- clean() ----------------------------------------------------------------------------


def test_clean_refuses_an_unknown_key_and_names_it():
    """An option nobody knows is refused with its name and the known ones."""
    with pytest.raises(DomainError) as caught:
        station_options.clean({"fetch_missing": True, "fetch_everything": True})
    assert caught.value.code == "invalid"
    assert "fetch_everything" in caught.value.message
    assert caught.value.details["field"] == "fetch_everything"
    assert "fetch_missing" in caught.value.details["known"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("force_activation", "yes"),
        ("force_activation", None),
        ("fetch_missing", 1),
        ("update_present", ""),
        ("fetch_horizon_days", "7"),
        ("fetch_horizon_days", True),
        ("fetch_horizon_days", 7.0),
        ("fetch_horizon_days", -2),
        ("window_start", 24),
        ("window_end", -1),
        ("send_after", "2026-13-01"),
        ("fetch_after", "demain"),
        ("fetch_after", 20260101),
    ],
)
def test_clean_refuses_a_bad_value_and_names_the_key(key, value):
    """Each wrong value is a DomainError whose details name the option."""
    with pytest.raises(DomainError) as caught:
        station_options.clean({key: value})
    assert caught.value.code == "invalid"
    assert caught.value.details["field"] == key
    assert caught.value.message


def test_clean_keeps_good_values_and_normalises_dates():
    """Dates come back as ISO text; empty dates and hours are None; nothing is added."""
    cleaned = station_options.clean(
        {
            "send_after": date(2026, 1, 5),
            "fetch_after": "2026-02-01",
            "window_start": 0,
            "window_end": None,
            "fetch_horizon_days": -1,
            "fetch_missing": False,
            "not_systematic": True,
        }
    )
    assert cleaned == {
        "send_after": "2026-01-05",
        "fetch_after": "2026-02-01",
        "window_start": 0,
        "window_end": None,
        "fetch_horizon_days": -1,
        "fetch_missing": False,
        "not_systematic": True,
    }
    assert station_options.clean({"send_after": ""}) == {"send_after": None}


def test_clean_keeps_only_the_day_of_a_date_time():
    """A date-time given for a date option keeps its day, a value the feed can read."""
    cleaned = station_options.clean({"fetch_after": datetime(2026, 3, 4, 15, 30)})
    assert cleaned == {"fetch_after": "2026-03-04"}


# --- effective() ------------------------------------------------------------------------


def test_effective_defaults(station):
    """A station nobody configured applies the defaults, with the company flags."""
    effective = station_options.effective(model(station))
    assert effective["enabled"] is True
    assert effective["fetch_missing"] is False
    assert effective["fetch_horizon_days"] == -1
    assert effective["update_present"] is True
    assert effective["window_start"] is None and effective["window_end"] is None
    assert effective["warn_newer"] is True and effective["import_invoicing"] is True
    assert effective["may_send_invoices"] is True
    assert effective["common"] is False


def test_common_settings_replace_the_stations_own_options(people, station, other_station):
    """use_common: stations without their own settings apply the common ones only."""
    configure.set_station_options(
        model(station),
        {"window_start": 22, "window_end": 7},
        admin_password=None,
        actor=None,
    )
    own(other_station, fetch_missing=False, window_start=9)
    company(
        people, {"use_common": True}, common={"fetch_missing": True, "fetch_after": "2026-01-01"}
    )
    shared = station_options.effective(model(station))
    assert shared["common"] is True
    assert shared["fetch_missing"] is True and shared["fetch_after"] == "2026-01-01"
    assert shared["window_start"] is None  # its own options do not apply
    separate = station_options.effective(model(other_station))
    assert separate["common"] is False
    assert separate["fetch_missing"] is False and separate["window_start"] == 9
    assert separate["fetch_after"] is None


def test_without_common_settings_each_station_applies_its_own(people, station):
    """use_common off: the common settings are ignored."""
    company(people, {"use_common": False}, common={"fetch_missing": True})
    configure.set_station_options(
        model(station), {"send_after": "2025-06-30"}, admin_password=None, actor=None
    )
    effective = station_options.effective(model(station))
    assert effective["fetch_missing"] is False
    assert effective["send_after"] == "2025-06-30"
    assert effective["common"] is False


@pytest.mark.parametrize(
    ("enable_all", "force", "enabled"),
    [(True, True, True), (True, False, True), (False, True, True), (False, False, False)],
)
def test_a_station_is_enabled_by_the_company_or_by_force(
    people, station, enable_all, force, enabled
):
    """enabled = “enable on every station” or the station's “force activation”."""
    company(people, {"enable_all": enable_all})
    own(station, force_activation=force)
    assert station_options.effective(model(station))["enabled"] is enabled


def test_company_flags_reach_every_station(people, station, other_station):
    """No newer warning, no invoice import, and the one station allowed to send invoices."""
    company(
        people,
        {"no_newer_warning": True, "no_invoice_import": True},
        invoice_station=model(other_station),
    )
    mine = station_options.effective(model(station))
    theirs = station_options.effective(model(other_station))
    assert mine["warn_newer"] is False and mine["import_invoicing"] is False
    assert (mine["may_send_invoices"], theirs["may_send_invoices"]) == (False, True)


def test_the_invoice_station_must_belong_to_the_organisation(people):
    """Naming another organisation's station as the invoice station is refused."""
    from tests.sync.test_protocol import pair_station_for_outsider

    foreign = model(pair_station_for_outsider(people))
    with pytest.raises(DomainError) as caught:
        company(people, {}, invoice_station=foreign)
    assert caught.value.details == {"field": "invoice_station"}
    assert not CloudOptions.objects.filter(invoice_station__isnull=False).exists()


def test_the_station_api_shows_the_effective_options(people, station):
    """GET station answers with what the station applies."""
    company(people, {"use_common": True}, common={"fetch_missing": True, "window_start": 22})
    options = station.get("station").json()["options"]
    assert options["fetch_missing"] is True and options["window_start"] == 22
    assert options["common"] is True


# --- in_window() ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "hour", "minute", "inside"),
    [
        (None, None, 3, 0, True),
        (8, None, 3, 0, True),
        (8, 8, 3, 0, True),
        (8, 18, 7, 59, False),
        (8, 18, 8, 0, True),
        (8, 18, 17, 59, True),
        (8, 18, 18, 0, False),
        (22, 7, 21, 59, False),
        (22, 7, 22, 0, True),
        (22, 7, 23, 30, True),
        (22, 7, 0, 0, True),
        (22, 7, 6, 59, True),
        (22, 7, 7, 0, False),
        (22, 7, 12, 0, False),
    ],
)
def test_the_sync_window_may_cross_midnight(start, end, hour, minute, inside):
    """in_window: start included, end excluded; 22→7 covers the night."""
    moment = datetime(2026, 11, 22, hour, minute)
    window = {"window_start": start, "window_end": end}
    assert station_options.in_window(window, moment) is inside


# --- the administrator password of the options ---------------------------------------------


def test_without_a_password_a_station_changes_its_options(station):
    """No password set: the station's PUT is applied and the effective options come back."""
    response = put_options(station, {"options": {"fetch_missing": True}})
    assert response.status_code == 200, response.content
    assert response.json()["options"]["fetch_missing"] is True
    assert model(station).options == {"fetch_missing": True}


@pytest.mark.parametrize("given", [None, "", "wrong-password"])
def test_a_protected_options_window_refuses_a_missing_or_wrong_password(people, station, given):
    """403 admin_password, and nothing changed: options, own settings, audit."""
    company(people, {}, new_admin_password=PASSWORD)
    before = model(station)
    audits = AuditEntry.objects.filter(action="station.options").count()
    body: dict[str, Any] = {"options": {"fetch_missing": True, "window_start": 1}}
    if given is not None:
        body["admin_password"] = given
    response = put_options(station, body)
    assert response.status_code == 403
    assert response.json()["code"] == "admin_password"
    after = model(station)
    assert (after.options, after.own_settings) == (before.options, before.own_settings)
    assert AuditEntry.objects.filter(action="station.options").count() == audits


def test_the_right_password_opens_the_options(people, station):
    """With the administrator password the change is applied and audited."""
    company(people, {}, new_admin_password=PASSWORD)
    response = put_options(
        station, {"options": {"fetch_missing": True}, "admin_password": PASSWORD}
    )
    assert response.status_code == 200, response.content
    assert response.json()["options"]["fetch_missing"] is True
    entry = AuditEntry.objects.filter(action="station.options").latest("seq")
    assert entry.after["fetch_missing"] is True
    assert CloudOptions.objects.get().admin_password != PASSWORD  # kept hashed


def test_a_bad_option_from_the_station_is_refused_by_name(station):
    """A wrong value sent by the agent: 400 naming the option, nothing stored."""
    response = put_options(station, {"options": {"window_end": 25}})
    assert response.status_code == 400
    assert response.json()["details"] == {"field": "window_end"}
    assert "window_end" in response.json()["message"]
    assert model(station).options == {}


def test_changing_the_company_options_needs_the_current_password(people):
    """Once set, the password guards the company options too; it can then be removed."""
    company(people, {}, new_admin_password=PASSWORD)
    with pytest.raises(DomainError) as caught:
        company(people, {"enable_all": False}, admin_password="guess")
    assert caught.value.code == "admin_password"
    assert CloudOptions.objects.get().enable_all is True
    company(people, {}, admin_password=PASSWORD, new_admin_password="")
    assert station_options.check_admin_password(CloudOptions.objects.get(), None) is True
