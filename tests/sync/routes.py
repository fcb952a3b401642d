"""How to call each Comptoir Cloud page, for tests/core/test_routes.py."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from comptoir.dossiers.models import Dossier
from comptoir.sync import services, zone
from comptoir.sync.models import CloudCleanup, Station
from tests.conftest import Persona
from tests.core.test_routes import page
from tests.dossiers.routes import a_dossier


def a_station(people: dict[str, Persona]) -> str:
    admin = people["admin"]
    name = f"PC {Station.objects.count() + 1}"  # routes may be built several times per test
    station, _code = services.add_station(
        admin.org, name, member=people["tech_all"].member, actor=admin.user
    )
    return str(station.public_id)


def a_cleanup(people: dict[str, Persona]) -> int:
    admin = people["admin"]
    return CloudCleanup.objects.create(
        organization=admin.org,
        date_from=timezone.localdate() - timedelta(days=3000),
        date_to=timezone.localdate() - timedelta(days=2000),
        requested_by=admin.user,
        quarantine_until=timezone.now() + timedelta(days=30),
    ).pk


def in_the_zone(people: dict[str, Persona], me: Persona) -> str:
    """A dossier of "acme" assigned to the persona (see `a_dossier`), sent to the zone."""
    dossier_id = a_dossier(people, me)
    admin = people["admin"]
    zone.add(admin.member, Dossier.objects.get(public_id=dossier_id), actor=admin.user)
    return dossier_id


ROUTES = {
    "stations": lambda people, me: ("GET", page("sync:stations"), None),
    "station-add": lambda people, me: (
        "POST",
        page("sync:station-add"),
        {"name": "Tablette", "membership": people["tech_all"].member.pk},
    ),
    "station": lambda people, me: (
        "GET",
        page("sync:station", station_id=a_station(people)),
        None,
    ),
    "station-options": lambda people, me: (
        "POST",
        page("sync:station-options", station_id=a_station(people)),
        {"force_activation": "on", "fetch_horizon_days": "-1", "update_present": "on"},
    ),
    "station-code": lambda people, me: (
        "POST",
        page("sync:station-code", station_id=a_station(people)),
        None,
    ),
    "station-reread": lambda people, me: (
        "POST",
        page("sync:station-reread", station_id=a_station(people)),
        None,
    ),
    "station-revoke": lambda people, me: (
        "POST",
        page("sync:station-revoke", station_id=a_station(people)),
        None,
    ),
    "cloud-options": lambda people, me: ("GET", page("sync:options"), None),
    "volume": lambda people, me: ("GET", page("sync:volume"), None),
    "cleanup-cancel": lambda people, me: (
        "POST",
        page("sync:cleanup-cancel", cleanup_id=a_cleanup(people)),
        None,
    ),
    "exchange-zone": lambda people, me: ("GET", page("sync:zone"), None),
    "exchange-zone-add": lambda people, me: (
        "POST",
        page("sync:zone-add", dossier_id=a_dossier(people, me)),
        None,
    ),
    "exchange-zone-remove": lambda people, me: (
        "POST",
        page("sync:zone-remove", dossier_id=in_the_zone(people, me)),
        None,
    ),
    "dossier-conflicts": lambda people, me: (
        "GET",
        page("sync:conflicts", dossier_id=a_dossier(people, me)),
        None,
    ),
}

# Adding a station and asking for a new code show the code on the same page.
SUCCESS_STATUS = {"station-add": 200, "station-code": 200}

__all__ = ["ROUTES", "SUCCESS_STATUS", "Station"]
