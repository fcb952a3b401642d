"""The settings pages in Chromium: no serious accessibility violation, and a PDF upload works."""

from __future__ import annotations

from typing import Any

import pytest

from comptoir.company.models import CompanyDocument
from tests.browser.conftest import axe_violations, describe
from tests.company.factories import a_device, a_tariff, pdf_bytes, smtp_config
from tests.conftest import Persona

pytestmark = pytest.mark.browser

PAGES = [
    "/o/acme/parametres/entreprise/",
    "/o/acme/parametres/documents/",
    "/o/acme/parametres/tarifs/",
    "/o/acme/parametres/tarifs/nouveau/",
    "/o/acme/parametres/appareils/",
    "/o/acme/parametres/appareils/nouveau/",
    "/o/acme/parametres/e-mail/",
    "/o/acme/parametres/",
    "/o/acme/",
]


def test_settings_pages_pass_axe(page: Any, people: dict[str, Persona], log_in_as: Any) -> None:
    admin = people["admin"]
    a_tariff(admin)
    a_device(admin)
    smtp_config(admin, 2525)
    log_in_as(page, admin.user)
    for path in PAGES:
        response = page.goto(path)
        assert response is not None and response.ok, path
        violations = axe_violations(page)
        assert not violations, f"axe on {path}:\n{describe(violations)}"


def test_upload_the_cgv_in_the_browser(
    page: Any, people: dict[str, Persona], log_in_as: Any, tmp_path: Any
) -> None:
    admin = people["admin"]
    log_in_as(page, admin.user)
    page.goto("/o/acme/parametres/documents/")
    pdf = tmp_path / "cgv-acme.pdf"
    pdf.write_bytes(pdf_bytes("CGV Acme"))
    page.set_input_files("#file-cgv", str(pdf))
    page.locator("form:has(#file-cgv) button[type=submit]").click()
    page.wait_for_selector("main .alert-success")
    assert page.locator("a:has-text('cgv-acme.pdf')").count() == 1
    document = CompanyDocument.objects.get(organization=admin.org, kind="cgv")
    assert (document.name, document.is_current) == ("cgv-acme.pdf", True)
