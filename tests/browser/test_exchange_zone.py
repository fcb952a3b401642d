"""The exchange zone in a real browser: the red-crossed calendar of a dossier in the list,
clicked (htmx), turns into a checked calendar and the zone at the top right counts it."""

from __future__ import annotations

import pytest

from comptoir.dossiers import services
from comptoir.sync import zone
from tests.browser.conftest import axe_violations, describe
from tests.conftest import make_org

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_list_icon_sends_a_dossier_to_the_zone_and_back(page, log_in_as):
    people = make_org("acme", "Acme Diagnostics")
    admin = people["admin"]
    services.mission_types(admin.org)
    dossier, other = (
        services.create_dossier(
            admin.member,
            services.DossierInput({"property_street": street, "property_city": "Lille"}, ["dpe"]),
            actor=admin.user,
        )
        for street in ("14 rue Esquermoise", "3 rue de la Monnaie")
    )
    log_in_as(page, admin.user)
    page.goto("/o/acme/dossiers/")

    mark = page.locator(f"#zone-mark-{dossier.public_id}")
    button = page.locator(f"#zone-button-{dossier.public_id}")
    assert mark.get_attribute("data-present") == "false"
    assert button.locator("i").get_attribute("class") == "bi bi-calendar-x"
    assert "text-danger" in (button.get_attribute("class") or "")
    assert page.locator("#zone-count").inner_text().startswith("0 ")

    button.focus()
    page.keyboard.press("Enter")  # the keyboard works as well as the mouse
    page.locator(f"#zone-mark-{dossier.public_id}[data-present='true']").wait_for()
    assert button.locator("i").get_attribute("class") == "bi bi-calendar-check"
    assert page.locator("#zone-count").inner_text().startswith("1 ")
    assert zone.presence_of(dossier).entry is not None
    assert zone.presence_of(other).present is False
    assert page.url.endswith("/o/acme/dossiers/")  # htmx: no page load
    assert page.evaluate("document.activeElement.id") == f"zone-button-{dossier.public_id}"

    page.reload()
    assert mark.get_attribute("data-present") == "true"
    assert not (violations := axe_violations(page)), describe(violations)

    button.click()  # the checked calendar takes it out again
    page.locator(f"#zone-mark-{dossier.public_id}[data-present='false']").wait_for()
    assert zone.presence_of(dossier).present is False
    assert page.locator("#zone-count").inner_text().startswith("0 ")


def test_the_dossier_page_button_and_the_zone_page(page, log_in_as):
    people = make_org("acme", "Acme Diagnostics")
    admin = people["admin"]
    services.mission_types(admin.org)
    dossier = services.create_dossier(
        admin.member,
        services.DossierInput({"property_street": "14 rue Esquermoise"}, ["dpe"]),
        actor=admin.user,
    )
    log_in_as(page, admin.user)
    page.goto(f"/o/acme/dossiers/{dossier.public_id}/")
    zone_box = page.locator("#zone-detail")
    zone_box.locator("button.btn-outline-danger .bi-calendar-x").wait_for()
    assert not (violations := axe_violations(page)), describe(violations)
    zone_box.locator("button").click()
    page.locator("#zone-detail .badge.text-bg-success").wait_for()
    assert zone.presence_of(dossier).entry is not None

    page.goto("/o/acme/zone-echange/")
    row = page.locator("#zone-table tbody tr", has_text=dossier.number)
    row.wait_for()
    assert not (violations := axe_violations(page)), describe(violations)
    row.locator("button").click()
    page.wait_for_url("**/o/acme/zone-echange/")
    assert page.locator("#zone-table tbody tr", has_text=dossier.number).count() == 0
    assert zone.presence_of(dossier).present is False
