"""The field app on a phone (390×844) in a real browser: paired by the link of the QR code
made on a desktop, today's appointments with their directions, a receipt photographed
from the phone; the service worker installed, the offline page without a network; the
phone disconnected from the desktop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from comptoir.expenses.models import Receipt
from comptoir.field.models import PairedDevice
from tests.agenda.factories import a_dossier, book, list_everyone, paris
from tests.browser.conftest import RESULTS, axe_violations, describe
from tests.conftest import make_org
from tests.helpers import fr

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A real 1×1 PNG: what a phone's camera hands over, in small.
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
    assert not violations, f"axe on {where}:\n{describe(violations)}"


def test_pair_a_phone_see_today_and_add_a_receipt(
    page: Any, phone_page: Any, log_in_as: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    people = make_org("acme", "Acme Diagnostics")
    list_everyone(people)
    me = people["backoffice"]  # may enter receipts (technicians may not)
    today = timezone.localdate()
    dossier = a_dossier(people, me.member)
    book(people, me.member, paris(today, 16), dossier=dossier)
    book(
        people,
        me.member,
        paris(today, 8, 30),
        title="Étalonnage",
        address="1 place du Théâtre, Lille",
    )

    # On the desktop: menu with one's name › My phone › Connect a phone.
    log_in_as(page, me.user)
    page.goto("/o/acme/")
    page.locator("nav .dropdown-toggle").click()
    page.locator("a.dropdown-item[href='/o/acme/mon-telephone/']").click()
    page.wait_for_url("**/mon-telephone/")
    page.locator("main form button[type=submit]").first.click()
    link = page.locator("[data-testid=pairing-link]")
    expect(link).to_be_visible()
    expect(page.locator(".qr svg")).to_be_visible()
    _axe(page, "the My phone page")

    # On the phone: the link of the QR code asks to confirm, then opens the field app.
    phone_page.goto(link.inner_text().strip())
    confirm = phone_page.get_by_role("button", name="Connecter ce téléphone")
    expect(confirm).to_be_visible()
    _axe(phone_page, "the confirmation of the pairing link")
    confirm.click()
    phone_page.wait_for_url("**/o/acme/terrain/")
    cards = phone_page.locator("[data-testid=appointment]")
    expect(cards).to_have_count(2)
    expect(cards.nth(0)).to_contain_text("08:30")
    expect(cards.nth(0)).to_contain_text("Étalonnage")
    expect(cards.nth(1)).to_contain_text("16:00")
    expect(cards.nth(1)).to_contain_text(dossier.number)
    waze = cards.nth(0).locator("a[data-app=waze]")
    assert waze.get_attribute("href") == (
        "https://waze.com/ul?q=1%20place%20du%20Th%C3%A9%C3%A2tre%2C%20Lille&navigate=yes"
    )
    tab = phone_page.locator("[data-testid=receipt-tab]")
    box = tab.bounding_box()
    assert box is not None and box["height"] >= 44, "a tap target"
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390, "no sideways scroll"
    _axe(phone_page, "the field home on a phone")
    RESULTS.mkdir(exist_ok=True)
    phone_page.screenshot(path=str(RESULTS / "field-home.png"), full_page=True)

    # The service worker takes the field app in hand.
    scope = phone_page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope.endswith("/o/acme/terrain/")

    # A receipt, its photo from the camera.
    photo = tmp_path / "ticket.png"
    photo.write_bytes(PIXEL)
    tab.click()
    phone_page.wait_for_url("**/terrain/justificatif/")
    camera = phone_page.locator("#id_file")
    assert camera.get_attribute("capture") == "environment"
    assert camera.get_attribute("accept") == "image/*"
    _axe(phone_page, "the receipt form on a phone")
    camera.set_input_files(str(photo))
    phone_page.fill("#id_supplier", "Total Énergies Lille")
    phone_page.select_option("#id_category", "carburant")
    phone_page.fill("#id_amount_ttc", "60,00")
    phone_page.fill("#id_amount_vat", "10,00")
    phone_page.fill("#id_dossier", dossier.number)
    phone_page.locator("main form button[type=submit]").click()
    phone_page.wait_for_url("**/o/acme/terrain/")
    expect(phone_page.locator("main [role=status]")).to_contain_text("Total Énergies Lille")
    receipt = Receipt.objects.get()
    assert (receipt.member, receipt.dossier, str(receipt.amount_ht)) == (
        me.member,
        dossier,
        "50.00",
    )
    assert (receipt.content_type, receipt.size) == ("image/png", len(PIXEL))

    # Without a network, the offline page rather than the browser's error.
    phone_page.context.set_offline(True)
    phone_page.goto("/o/acme/terrain/dossiers/")
    expect(phone_page.locator("h1")).to_have_text(fr("No connection"))
    phone_page.context.set_offline(False)

    # Back on the desktop: the phone is listed; disconnecting it ends its session.
    page.goto("/o/acme/mon-telephone/")
    row = page.locator("[data-testid=device]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Chrome")  # the name read from the phone's User-Agent
    row.locator("button[type=submit]").click()
    page.wait_for_url("**/mon-telephone/")
    assert PairedDevice.objects.get().revoked_at is not None
    phone_page.goto("/o/acme/terrain/")
    assert "/compte/connexion/" in phone_page.url
