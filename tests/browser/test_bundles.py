"""The bundle pages in Chromium: axe-core finds no serious violation, and the import runs
from the page as an administrator does it (tick, start, see the result)."""

from __future__ import annotations

from typing import Any

import pytest

from comptoir.company.models import Tariff
from tests.browser.conftest import axe_violations, describe
from tests.bundles.conftest import technician  # noqa: F401  (a fixture)
from tests.bundles.factories import a_dropdown_list, a_received_bundle, operators_payload
from tests.conftest import Persona

pytestmark = pytest.mark.browser
BASE = "/o/acme/parametres"


def _check(page: Any, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.ok, f"{path} answered {response and response.status}"
    violations = axe_violations(page)
    assert not violations, f"axe on {path}:\n{describe(violations)}"


def test_the_pages_pass_axe(
    page: Any,
    people: dict[str, Persona],
    technician: Any,  # noqa: F811
    log_in_as: Any,
) -> None:
    admin = people["admin"]
    found = a_dropdown_list(admin)
    bundle = a_received_bundle(people["tech_all"], operators=operators_payload())
    log_in_as(page, admin.user)
    for path in (
        f"{BASE}/sauvegarde/",
        f"{BASE}/sauvegarde/{bundle.public_id}/",
        f"{BASE}/sauvegarde/publier/",
        f"{BASE}/menus-deroulants/",
        f"{BASE}/menus-deroulants/nouveau/",
        f"{BASE}/menus-deroulants/{found.public_id}/",
    ):
        _check(page, path)


def test_importing_from_the_page(
    page: Any,
    people: dict[str, Persona],
    log_in_as: Any,
) -> None:
    admin = people["admin"]
    bundle = a_received_bundle(people["tech_all"])
    log_in_as(page, admin.user)
    page.goto(f"{BASE}/sauvegarde/{bundle.public_id}/")
    page.uncheck("#section-dropdowns-check")
    page.click("main form button[type=submit]")
    page.wait_for_selector("main .alert-success")
    assert Tariff.objects.filter(organization=admin.org).count() == 2
    assert page.is_checked("#section-dropdowns-check")  # still to import
    assert not page.is_checked("#section-tariffs-check")  # imported: unticked now
