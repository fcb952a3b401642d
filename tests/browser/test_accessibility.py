"""axe-core on the main pages: no "serious" or "critical" violation (WCAG 2.x A/AA rules).

A failure lists each rule, the elements it found and why; fix the template
or comptoir.css, never the test.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import axe_violations, describe
from tests.conftest import Persona

pytestmark = pytest.mark.browser


def _second_org(people: dict[str, Persona]) -> None:
    """The admin also belongs to Globex, so the picker lists two organisations."""
    from comptoir.accounts.services import add_member

    admin, outsider = people["admin"], people["outsider"]
    add_member(
        outsider.org,
        actor=outsider.user,
        display_name="Admin Acme chez Globex",
        role="admin",
        email=admin.user.email,
    )


def _check(page: Any, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.ok, f"{path} answered {response and response.status}"
    violations = axe_violations(page)
    assert not violations, f"axe on {path} ({page.viewport_size}):\n{describe(violations)}"


def test_login_page(page: Any, db: Any) -> None:
    _check(page, "/compte/connexion/")


def test_login_page_with_errors(page: Any, db: Any) -> None:
    page.goto("/compte/connexion/")
    page.fill("input[name=identifier]", "nobody")
    page.fill("input[name=password]", "wrong-password")
    page.click("main form button[type=submit]")
    page.wait_for_selector("main .alert-danger")
    violations = axe_violations(page)
    assert not violations, f"axe on the refused login:\n{describe(violations)}"


def test_org_picker(page: Any, people: dict[str, Persona], log_in_as: Any) -> None:
    _second_org(people)
    log_in_as(page, people["admin"].user)
    _check(page, "/o/")
    assert page.locator("main .list-group a").count() == 2


@pytest.mark.parametrize(
    "path",
    [
        "/o/acme/",
        "/o/acme/utilisateurs/",
        "/o/acme/utilisateurs/nouveau/",
        "/o/acme/journal/",
    ],
)
def test_admin_pages(page: Any, people: dict[str, Persona], log_in_as: Any, path: str) -> None:
    log_in_as(page, people["admin"].user)
    _check(page, path)


def test_member_edit_page(page: Any, people: dict[str, Persona], log_in_as: Any) -> None:
    log_in_as(page, people["admin"].user)
    _check(page, f"/o/acme/utilisateurs/{people['blocked'].member.public_id}/")
    _check(page, f"/o/acme/utilisateurs/{people['tech_all'].member.public_id}/")


def test_members_page_on_a_phone(
    phone_page: Any, people: dict[str, Persona], log_in_as: Any
) -> None:
    log_in_as(phone_page, people["admin"].user)
    _check(phone_page, "/o/acme/utilisateurs/")
    # The menu collapses behind the toggler; opened, it is still clean.
    toggler = phone_page.locator("header .navbar-toggler")
    assert toggler.is_visible()
    toggler.click()
    phone_page.locator("#mainnav.show").wait_for()
    violations = axe_violations(phone_page)
    assert not violations, f"axe with the phone menu open:\n{describe(violations)}"
