"""The pages as an administrator uses them: received bundles, the diff, the import,
publishing, the drop-down lists; refusals change nothing."""

from __future__ import annotations

import html

from django.utils import translation

from comptoir.bundles import services
from comptoir.bundles.models import DropdownList, SettingsBundle
from comptoir.company.models import Tariff
from tests.bundles.factories import (
    a_dropdown_list,
    a_published_bundle,
    a_received_bundle,
    company_payload,
    dropdowns_payload,
    operators_payload,
    tariffs_payload,
)
from tests.company.factories import a_tariff
from tests.conftest import nothing_changes
from tests.helpers import fr, shows

BASE = "/o/acme/parametres"


def pgettext_fr(context: str, message: str) -> str:
    with translation.override("fr"):
        return translation.pgettext(context, message)


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_the_two_tabs_are_in_the_settings(people):
    page = people["admin"].client().get(f"{BASE}/entreprise/").content.decode()
    assert f'href="{BASE}/sauvegarde/"' in page
    assert f'href="{BASE}/menus-deroulants/"' in page
    assert fr("Settings backup") in html.unescape(page)


def test_received_bundles_are_listed_with_their_station(people):
    bundle = a_received_bundle(people["tech_all"])
    a_published_bundle(people["admin"], "tariffs")
    response = people["admin"].client().get(f"{BASE}/sauvegarde/")
    assert response.status_code == 200
    page = text(response)
    assert "PC bureau" in page
    assert f"{BASE}/sauvegarde/{bundle.public_id}/" in page
    assert pgettext_fr("settings bundle", "Waiting") in page
    assert f"{fr('Tariffs')}, {fr('Drop-down lists')}" in page


def test_the_bundle_page_shows_the_diff_of_each_section(people, technician):
    admin = people["admin"]
    a_tariff(admin, code="DPE", label="DPE", price_excl_vat="140")
    a_dropdown_list(admin)
    bundle = a_received_bundle(
        people["tech_all"],
        tariffs=tariffs_payload(),
        dropdowns=dropdowns_payload(),
        operators=operators_payload(),
        company=company_payload(siret="73282932000074"),
    )
    response = admin.client().get(f"{BASE}/sauvegarde/{bundle.public_id}/")
    assert response.status_code == 200
    page = text(response)
    for name in ("company", "operators", "tariffs", "dropdowns"):
        assert f'name="sections" value="{name}"' in page
    assert "140,00\u00a0€" in page and "150,00\u00a0€" in page  # DPE before → after
    assert "pieces › cuisine" in page and "Carrelage au sol" in page and "Faïence murale" in page
    assert "ZZZ" in page and fr("Not matched") in page
    assert fr("no member has these initials") in page
    assert shows(response, str(SECTIONS_HELP["dropdowns"]))
    assert fr("Start the import") in page


SECTIONS_HELP = {
    "dropdowns": (
        "Lists are merged by key, never replaced: new lists and items are added, labels "
        "updated, and an empty description never erases one. Stations merge the same way, "
        "so sending the lists never destroys the descriptions written on a station."
    )
}


def test_the_import_applies_only_the_ticked_sections(people):
    admin = people["admin"]
    bundle = a_received_bundle(people["tech_all"])
    client = admin.client()
    response = client.post(
        f"{BASE}/sauvegarde/{bundle.public_id}/importer/", {"sections": ["tariffs"]}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}/sauvegarde/{bundle.public_id}/"
    assert Tariff.objects.filter(organization=admin.org).count() == 2
    assert not DropdownList.objects.filter(organization=admin.org).exists()
    page = text(client.get(response["Location"]))
    assert (
        fr("Import done: %(sections)s. The audit log keeps every change.")
        % {"sections": fr("Tariffs")}
        in page
    )
    assert fr("already imported") in page
    bundle.refresh_from_db()
    assert bundle.imported_sections == ["tariffs"]


def test_operators_left_aside_are_named_after_the_import(people, technician):
    bundle = a_received_bundle(people["tech_all"], operators=operators_payload())
    client = people["admin"].client()
    response = client.post(
        f"{BASE}/sauvegarde/{bundle.public_id}/importer/", {"sections": ["operators"]}, follow=True
    )
    assert fr(
        "Operators not matched (add them on the Users page, then import again): %(initials)s."
    ) % {"initials": "ZZZ"} in text(response)


def test_a_refused_import_says_why_and_writes_nothing(people):
    admin = people["admin"]
    bundle = a_received_bundle(people["tech_all"])
    client = admin.client()
    with nothing_changes():
        response = client.post(f"{BASE}/sauvegarde/{bundle.public_id}/importer/", {})
    assert response.status_code == 302
    assert fr("Choose at least one section to import.") in text(client.get(response["Location"]))
    bad = a_received_bundle(
        people["tech_all"],
        tariffs=[
            *tariffs_payload(),
            {"code": "X", "label": "X", "price_excl_vat": "1", "mission_type": "radon"},
        ],
    )
    with nothing_changes():
        response = client.post(
            f"{BASE}/sauvegarde/{bad.public_id}/importer/", {"sections": ["tariffs"]}, follow=True
        )
    assert "2.mission_type" in text(response)


def test_other_roles_and_organisations_are_refused(people):
    bundle = a_received_bundle(people["tech_all"])
    url = f"{BASE}/sauvegarde/{bundle.public_id}/importer/"
    for key in ("backoffice", "tech_all"):
        with nothing_changes():
            response = people[key].client().post(url, {"sections": ["tariffs"]})
        assert response.status_code == 403
        assert shows(response, "Your role does not allow this action.")
    with nothing_changes():
        response = people["outsider"].client().post(url, {"sections": ["tariffs"]})
    assert response.status_code == 404
    foreign = a_received_bundle(people["outsider"])
    assert (
        people["admin"].client().get(f"{BASE}/sauvegarde/{foreign.public_id}/").status_code == 404
    )


def test_publishing_to_the_stations(people):
    client = people["admin"].client()
    page = text(client.get(f"{BASE}/sauvegarde/publier/"))
    assert (
        fr(
            "Drop-down lists are merged by key on the stations, never replaced: a station keeps "
            "all its items and never loses the descriptions written on it."
        )
        in page
    )
    assert page.count('name="sections"') == 9 and page.count("checked") >= 9
    with nothing_changes():
        refused = client.post(f"{BASE}/sauvegarde/publier/", {})
    assert refused.status_code == 200
    assert fr("Choose at least one section.") in text(refused)
    response = client.post(f"{BASE}/sauvegarde/publier/", {"sections": ["company", "dropdowns"]})
    assert response.status_code == 302
    bundle = SettingsBundle.objects.get(organization=people["admin"].org)
    assert (bundle.direction, bundle.section_names) == ("to_stations", ["company", "dropdowns"])
    detail = text(client.get(f"{BASE}/sauvegarde/{bundle.public_id}/"))
    assert fr("Company details") in detail and "Start the import" not in detail


def test_drop_down_lists_are_added_and_edited(people):
    admin = people["admin"]
    client = admin.client()
    assert fr("No list yet: add one, or import a station's settings.") in text(
        client.get(f"{BASE}/menus-deroulants/")
    )
    response = client.post(f"{BASE}/menus-deroulants/nouveau/", {"label": "Pièces du logement"})
    assert response.status_code == 302
    found = DropdownList.objects.get(organization=admin.org)
    assert (found.key, found.items) == ("pieces-du-logement", [])
    assert response["Location"] == f"{BASE}/menus-deroulants/{found.public_id}/"

    form = {
        "label": "Pièces",
        "items-TOTAL_FORMS": "3",
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "2000",
        "items-0-label": "Cuisine",
        "items-0-description": "Faïence murale",
        "items-1-label": "Cuisine",
        "items-2-label": "",
    }
    assert client.post(response["Location"], form).status_code == 302
    found.refresh_from_db()
    assert found.label == "Pièces"
    assert found.items == [
        {"key": "cuisine", "label": "Cuisine", "description": "Faïence murale"},
        {"key": "cuisine-2", "label": "Cuisine", "description": ""},
    ]
    page = text(client.get(response["Location"]))
    assert "<code>cuisine</code>" in page and 'name="items-0-remove"' in page

    edit = {
        **form,
        "items-INITIAL_FORMS": "2",
        "items-TOTAL_FORMS": "5",
        "items-0-key": "renamed-key",  # an existing item's key never changes
        "items-0-label": "Cuisine ouverte",
        "items-1-key": "cuisine-2",
        "items-1-remove": "on",
        "items-2-key": "sdb",
        "items-2-label": "Salle de bains",
        "items-3-label": "",
        "items-4-label": "",
    }
    assert client.post(response["Location"], edit).status_code == 302
    found.refresh_from_db()
    assert found.items == [
        {"key": "cuisine", "label": "Cuisine ouverte", "description": "Faïence murale"},
        {"key": "sdb", "label": "Salle de bains", "description": ""},
    ]


def test_a_refused_list_edit_writes_nothing(people):
    admin = people["admin"]
    found = a_dropdown_list(admin)
    client = admin.client()
    url = f"{BASE}/menus-deroulants/{found.public_id}/"
    form = {
        "label": "Pièces",
        "items-TOTAL_FORMS": "2",
        "items-INITIAL_FORMS": "2",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "2000",
        "items-0-key": "cuisine",
        "items-0-label": "",
        "items-0-description": "Faïence murale",
        "items-1-key": "entree",
        "items-1-label": "Entrée",
    }
    with nothing_changes():
        response = client.post(url, form)
    assert response.status_code == 200
    assert fr("Enter a label of at most %(count)d characters.") % {"count": 200} in text(response)
    with nothing_changes():
        response = client.post(
            f"{BASE}/menus-deroulants/nouveau/", {"label": "Autre", "key": "pieces"}
        )
    assert response.status_code == 200
    assert fr("A list with the key “%(key)s” already exists.") % {"key": "pieces"} in text(response)
    with nothing_changes():
        response = people["backoffice"].client().post(url, form)
    assert response.status_code == 403


def test_items_an_import_added_while_the_page_was_open_are_kept(people):
    admin = people["admin"]
    found = a_dropdown_list(admin)  # cuisine, entree
    client = admin.client()
    url = f"{BASE}/menus-deroulants/{found.public_id}/"
    assert client.get(url).status_code == 200
    a_received_bundle(people["tech_all"])  # brings "sejour" into "pieces"…
    bundle = SettingsBundle.objects.get(organization=admin.org)
    services.import_bundle(bundle, ["dropdowns"], actor=admin.user, member=admin.member)
    form = {  # …while the page still shows the two first items; one is removed
        "label": "Pièces",
        "items-TOTAL_FORMS": "2",
        "items-INITIAL_FORMS": "2",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "2000",
        "items-0-key": "cuisine",
        "items-0-label": "Cuisine",
        "items-0-description": "Faïence murale",
        "items-1-key": "entree",
        "items-1-label": "Entrée",
        "items-1-remove": "on",
    }
    assert client.post(url, form).status_code == 302
    found.refresh_from_db()
    assert [item["key"] for item in found.items] == ["cuisine", "sejour"]
    assert found.items[0]["description"] == "Faïence murale"
