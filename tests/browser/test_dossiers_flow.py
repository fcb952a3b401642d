"""A back-office day in a real browser: create a dossier with two missions, upload a
report, find it by address, choose the list's columns and see them remembered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from comptoir.contacts.services import create_contact
from comptoir.core.models import MemberPreference
from comptoir.dossiers import services
from comptoir.dossiers.models import Document, Dossier
from tests.browser.conftest import RESULTS, axe_violations, describe
from tests.conftest import make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dossier_day(page, log_in_as, tmp_path: Path):
    people = make_org("acme", "Acme Diagnostics")
    admin = people["admin"]
    services.mission_types(admin.org)
    create_contact(admin.org, actor=None, kind="company", company_name="Agence du Beffroi")
    log_in_as(page, admin.user)

    page.goto("/o/acme/dossiers/nouveau/")
    page.get_by_label("DPE").check()
    page.get_by_label("Amiante").check()
    page.locator("#search_ordering_party").fill("beffroi")
    page.locator("#id_ordering_party option", has_text="Agence du Beffroi").wait_for(
        state="attached"
    )
    page.get_by_label("Adresse", exact=True).fill("14 rue Esquermoise")
    page.get_by_label("Code postal").fill("59000")
    page.get_by_label("Ville").fill("Lille")
    page.get_by_label("Surface (m²)").fill("48,5")
    page.get_by_role("button", name="Créer le dossier").click()
    page.wait_for_url(re.compile(r"/o/acme/dossiers/[0-9a-f-]{36}/$"))
    dossier = Dossier.objects.get()
    assert sorted(dossier.missions.values_list("mission_type__code", flat=True)) == [
        "amiante",
        "dpe",
    ]
    assert str(dossier.ordering_party) == "Agence du Beffroi"

    report = tmp_path / "rapport-amiante.pdf"
    report.write_bytes(b"%PDF-1.4\n% rapport de reperage amiante\n")
    page.locator("#id_file").set_input_files(str(report))
    page.get_by_role("button", name="Déposer").click()
    page.get_by_text("rapport-amiante.pdf").wait_for()
    assert Document.objects.get().name == "rapport-amiante.pdf"

    page.goto("/o/acme/dossiers/")
    page.get_by_label("Rechercher (numéro, nom, adresse)").fill("esquermoise")
    page.locator("#dossier-table tbody tr", has_text=dossier.number).wait_for()
    assert page.locator("#dossier-table tbody tr").count() == 1
    assert not (violations := axe_violations(page)), describe(violations)

    page.get_by_role("button", name="Colonnes").click()
    page.get_by_label("Propriétaire").check()
    page.get_by_label("Missions").uncheck()
    # The form posts and redirects back to the list: wait for that page,
    # then reload it to prove the choice was stored, not just rendered.
    with page.expect_navigation(url=re.compile(r"/o/acme/dossiers/(\?.*)?$")):
        page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_load_state("load")
    page.reload()
    headers = page.locator("#dossier-table thead th[data-column]").evaluate_all(
        "cells => cells.map(cell => cell.dataset.column)"
    )
    assert "owner" in headers and "missions" not in headers
    assert "owner" in MemberPreference.objects.get(membership=admin.member).value
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS / "dossiers.png"), full_page=True)


def test_create_a_dossier_from_a_phone(phone_page, log_in_as):
    people = make_org("acme", "Acme Diagnostics")
    tech = people["tech_all"]
    services.mission_types(tech.org)
    log_in_as(phone_page, tech.user)
    phone_page.goto("/o/acme/dossiers/nouveau/")
    phone_page.get_by_label("DPE").check()
    phone_page.get_by_label("Ville").fill("Arras")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the form scrolls sideways on a phone ({width}px)"
    phone_page.get_by_role("button", name="Créer le dossier").click()
    phone_page.wait_for_url(re.compile(r"/o/acme/dossiers/[0-9a-f-]{36}/$"))
    assert Dossier.objects.get().property_city == "Arras"
