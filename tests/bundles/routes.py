"""How to call each settings-bundle route, for tests/core/test_routes.py (role × persona)."""

from __future__ import annotations

from comptoir.bundles.models import SettingsBundle
from tests.bundles.factories import (
    a_dropdown_list,
    a_published_bundle,
    a_received_bundle,
    dropdowns_payload,
    tariffs_payload,
)
from tests.conftest import Persona
from tests.core.test_routes import API, Builder, page


def admin_of(people: dict[str, Persona]) -> Persona:
    return people["admin"]


def received(people: dict[str, Persona]) -> SettingsBundle:
    return a_received_bundle(people["tech_all"])


def published(people: dict[str, Persona]) -> str:
    a_published_bundle(admin_of(people), "tariffs", "dropdowns")
    return f"{API}/sync/settings"


def list_form(people: dict[str, Persona]) -> dict[str, str]:
    return {
        "label": "Pièces du logement",
        "items-TOTAL_FORMS": "3",
        "items-INITIAL_FORMS": "2",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "2000",
        "items-0-key": "cuisine",
        "items-0-label": "Cuisine",
        "items-0-description": "Faïence murale",
        "items-1-key": "entree",
        "items-1-label": "Entrée",
        "items-1-description": "Parquet chêne",
        "items-2-key": "",
        "items-2-label": "Salle de bains",
        "items-2-description": "",
    }


ROUTES: dict[str, Builder] = {
    # pages
    "settings-bundles": lambda people, me: ("GET", page("bundles:list"), None),
    "settings-bundle": lambda people, me: (
        "GET",
        page("bundles:detail", bundle_id=received(people).public_id),
        None,
    ),
    "settings-bundle-import": lambda people, me: (
        "POST",
        page("bundles:import", bundle_id=received(people).public_id),
        {"sections": ["tariffs", "dropdowns"]},
    ),
    "settings-bundle-publish": lambda people, me: (
        "POST",
        page("bundles:publish"),
        {"sections": ["company", "tariffs", "dropdowns"]},
    ),
    "dropdown-lists": lambda people, me: ("GET", page("bundles:dropdowns"), None),
    "dropdown-list-add": lambda people, me: (
        "POST",
        page("bundles:dropdown-add"),
        {"label": "Matériaux", "key": "materiaux"},
    ),
    "dropdown-list-edit": lambda people, me: (
        "POST",
        page(
            "bundles:dropdown-edit",
            list_id=a_dropdown_list(admin_of(people)).public_id,
        ),
        list_form(people),
    ),
    # API
    "api-sync-settings-push": lambda people, me: (
        "POST",
        f"{API}/sync/settings",
        {"sections": {"tariffs": tariffs_payload(), "dropdowns": dropdowns_payload()}},
    ),
    "api-sync-settings": lambda people, me: (
        "GET",
        published(people),
        {"sections": "tariffs,dropdowns"},
    ),
    "api-sync-settings-versions": lambda people, me: (
        "GET",
        f"{API}/sync/settings/versions",
        {"direction": "to_stations"},
    ),
}
