"""Compléments in a real browser: a receipt entered with its photo (the VAT computed from
TTC and HT), shown inline; a trip; the monthly statement; axe on every page, on a desktop
and on a phone."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from comptoir.expenses.models import Receipt
from tests.browser.conftest import RESULTS, axe_violations, describe
from tests.conftest import Persona
from tests.expenses.conftest import PNG, make_receipt, make_trip, make_vehicle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A real 1×1 PNG, so that the browser draws the receipt's photo.
PIXEL = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(autouse=True)
def receipt_storage(settings: Any, tmp_path: Path) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "files")},
        },
    }


def _axe(page: Any, where: str) -> None:
    violations = axe_violations(page)
    assert not violations, f"axe on {where} ({page.viewport_size}):\n{describe(violations)}"


def test_enter_a_receipt_and_see_it(
    page: Any, people: dict[str, Persona], log_in_as: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    assert PIXEL.startswith(PNG[:8])
    photo = tmp_path / "ticket.png"
    photo.write_bytes(PIXEL)
    log_in_as(page, people["backoffice"].user)

    page.goto("/o/acme/complements/justificatifs/")
    _axe(page, "the receipt list")
    page.locator("a[href='/o/acme/complements/justificatifs/nouveau/']").click()
    page.wait_for_url("**/justificatifs/nouveau/")
    _axe(page, "the receipt form")
    page.select_option("#id_member", str(people["tech_all"].member.public_id))
    page.fill("#id_date", "2025-03-14")
    page.fill("#id_supplier", "Brasserie du Beffroi")
    page.select_option("#id_category", "repas")
    page.fill("#id_amount_ttc", "26,40")
    page.fill("#id_amount_ht", "24")
    page.locator("#id_file").set_input_files(str(photo))
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url("**/justificatifs/*-*/")

    receipt = Receipt.objects.get()
    assert (receipt.amount_ttc, receipt.amount_vat) == (Decimal("26.40"), Decimal("2.40"))
    expect(page.locator("main")).to_contain_text("2,40")
    image = page.locator("main img.img-fluid")
    expect(image).to_be_visible()
    assert page.evaluate("img => img.naturalWidth", image.element_handle()) == 1
    _axe(page, "the receipt page")
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS / "expenses-receipt.png"), full_page=True)


def test_the_mileage_and_statement_pages(
    page: Any, phone_page: Any, people: dict[str, Persona], log_in_as: Any
) -> None:
    from playwright.sync_api import expect

    vehicle = make_vehicle(people)
    make_trip(people, vehicle, date=date(2025, 3, 4), distance_km="100")
    make_receipt(people)
    member = people["tech_all"].member.public_id
    for browser_page in (page, phone_page):
        log_in_as(browser_page, people["admin"].user)
        for path in (
            "/o/acme/complements/frais-kilometriques/",
            "/o/acme/complements/frais-kilometriques/vehicules/",
            "/o/acme/complements/frais-kilometriques/nouveau/",
            "/o/acme/complements/frais-kilometriques/bareme/?year=2025",
            "/o/acme/complements/justificatifs/categories/",
            f"/o/acme/complements/etats/?member={member}&month=2025-03",
        ):
            response = browser_page.goto(path)
            assert response is not None and response.ok, path
            _axe(browser_page, path)
    expect(page.locator("#statement-total")).to_contain_text("87,60")
    page.screenshot(path=str(RESULTS / "expenses-statement.png"), full_page=True)
