"""Importing contacts in a real browser: a Windows-1252 CSV from a field software, one
column mapped by hand on the mapping screen, the dry run, then the contacts in the list.
And the contact form on a phone."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from comptoir.contacts.models import Contact
from comptoir.contacts.services import create_contact
from comptoir.core.models import AuditEntry
from tests.browser.conftest import RESULTS, axe_violations, describe
from tests.conftest import make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXPORT = (
    "Nom;Prénom;Société;Courriel;Joignable au;CP;Ville;Type\r\n"
    "Lefèvre;Hélène;;helene.lefevre@exemple.fr;06 12 34 56 78;59000;Lille;Propriétaire\r\n"
    "Martin;Paul;;paul.martin@exemple.fr;07 11 22 33 44;59800;Lille;Client\r\n"
    ";;Agence Rihour;rihour@agences.fr;03 20 00 00 00;59800;Lille;Agence immobilière\r\n"
)


@pytest.fixture(autouse=True)
def upload_storage(settings: Any, tmp_path: Path) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "files")},
        },
    }


def test_import_a_csv_through_the_mapping_screen(page, log_in_as, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    admin = make_org("acme", "Acme Diagnostics")["admin"]
    create_contact(
        admin.org, actor=None, last_name="Lefèvre", email="helene.lefevre@exemple.fr"
    )  # already known: a duplicate
    source = tmp_path / "contacts-v4.csv"
    source.write_bytes(EXPORT.encode("cp1252"))
    log_in_as(page, admin.user)

    page.goto("/o/acme/contacts/")
    page.get_by_role("link", name="Importer").click()
    page.wait_for_url("**/o/acme/contacts/importer/")
    page.locator("#id_file").set_input_files(str(source))
    page.get_by_role("button", name="Lire le fichier").click()
    page.wait_for_url(re.compile(r"/o/acme/contacts/importer/[A-Za-z0-9_-]+/$"))

    # The screen guessed every column but one; the preview shows the accents right.
    expect(page.locator("#file-info")).to_contain_text("windows-1252")
    expect(page.locator("#file-info")).to_contain_text("point-virgule")
    expect(page.locator("#preview")).to_contain_text("Hélène")
    expect(page.get_by_label("Courriel")).to_have_value("email")
    expect(page.get_by_label("Société")).to_have_value("company_name")
    reachable = page.get_by_label("Joignable au")
    expect(reachable).to_have_value("")
    reachable.select_option("phone")
    assert not (violations := axe_violations(page)), describe(violations)

    # The dry run: two to create, the known one flagged, nothing written yet.
    page.get_by_role("button", name="Vérifier (essai à blanc)").click()
    expect(page.locator("#count-create")).to_have_text("2 contacts à créer")
    expect(page.locator("#duplicates")).to_contain_text(
        "même adresse e-mail que le contact « Lefèvre »"
    )
    expect(page.get_by_label("Joignable au")).to_have_value("phone")
    assert Contact.objects.count() == 1
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS / "contacts-import.png"), full_page=True)

    page.get_by_role("button", name="Importer maintenant").click()
    page.wait_for_url("**/o/acme/contacts/?sort=-created")
    expect(page.locator("main .alert-success")).to_contain_text("2 contacts importés.")
    table = page.locator("#contact-table tbody")
    expect(table.locator("tr", has_text="Paul Martin")).to_contain_text("07 11 22 33 44")
    expect(table.locator("tr", has_text="Agence Rihour")).to_contain_text("Agence immobilière")
    expect(table.locator("tr")).to_have_count(3)
    assert not (violations := axe_violations(page)), describe(violations)

    paul = Contact.objects.get(last_name="Martin")
    assert (paul.phone, paul.category, paul.addresses.get().city) == (
        "07 11 22 33 44",
        "client",
        "Lille",
    )
    assert AuditEntry.objects.filter(action="contact.import").count() == 1


def test_contact_form_on_a_phone(phone_page, log_in_as) -> None:
    from playwright.sync_api import expect

    page = phone_page
    admin = make_org("acme", "Acme Diagnostics")["admin"]
    log_in_as(page, admin.user)
    page.goto("/o/acme/contacts/nouveau/")
    page.get_by_label("Nom", exact=True).fill("Morel")
    page.get_by_label("Prénom").fill("Anne")
    page.get_by_label("Téléphone").fill("06 98 76 54 32")
    page.locator("#id_addresses-0-street").fill("4 rue des Clercs")
    page.locator("#id_addresses-0-postcode").fill("62000")
    page.locator("#id_addresses-0-city").fill("Arras")
    page.get_by_role("button", name="Ajouter un e-mail ou un téléphone").click()
    page.locator("#id_channels-1-value").fill("anne.morel@travail.fr")
    page.locator("#id_channels-1-kind").select_option("email")
    expect(page.get_by_label("Nom", exact=True)).to_have_value("Morel")  # kept
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the form scrolls sideways on a phone ({width}px)"
    page.get_by_role("button", name="Créer le contact").click()
    page.wait_for_url(re.compile(r"/o/acme/contacts/[0-9a-f-]{36}/$"))
    expect(page.locator("main h1")).to_contain_text("Anne Morel")
    anne = Contact.objects.get()
    assert [str(address) for address in anne.addresses.all()] == ["4 rue des Clercs, 62000 Arras"]
    assert [(c.kind, c.value) for c in anne.channels.all()] == [("email", "anne.morel@travail.fr")]
