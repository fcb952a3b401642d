"""An administrator's day, clicked through in a real Chromium.

Log in through the form, pick one of two organisations, add a colleague,
block one who left; the database and the audit log agree with the screen.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import RESULTS
from tests.conftest import PASSWORD, Persona

pytestmark = pytest.mark.browser

BLOCKED_BADGE = re.compile(r"^\s*(Bloqué|Blocked)\s*$")


def test_admin_adds_then_blocks_a_member(page: Any, people: dict[str, Persona]) -> None:
    from playwright.sync_api import expect

    from comptoir.accounts.services import add_member
    from comptoir.core.models import AuditEntry, Membership

    admin, leaver, outsider = people["admin"], people["tech_own"], people["outsider"]
    # The same person also runs another business: one account, two organisations.
    add_member(
        outsider.org,
        actor=outsider.user,
        display_name="Admin Acme chez Globex",
        role="admin",
        email=admin.user.email,
    )

    # Log in through the form.
    page.goto("/compte/connexion/")
    page.fill("input[name=identifier]", admin.user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main form button[type=submit]")

    # The organisation picker lists both; pick Acme.
    page.wait_for_url("**/o/")
    choices = page.locator("main .list-group a.list-group-item")
    expect(choices).to_have_count(2)
    expect(choices.nth(0)).to_contain_text(admin.org.name)
    expect(choices.nth(1)).to_contain_text(outsider.org.name)
    page.click(f"main a[href='/o/{admin.org.slug}/']")
    page.wait_for_url(f"**/o/{admin.org.slug}/")

    # Users, then "Add a user".
    members_url = f"/o/{admin.org.slug}/utilisateurs/"
    page.click(f"header nav a.nav-link[href='{members_url}']")
    page.wait_for_url(f"**{members_url}")
    page.click(f"main a[href='{members_url}nouveau/']")
    page.wait_for_url(f"**{members_url}nouveau/")
    page.fill("input[name=display_name]", "Jeanne Martin")
    page.select_option("select[name=role]", "backoffice")
    page.fill("input[name=email]", "jeanne.martin@acme.test")
    page.click("main form button[type=submit]")

    # Saved: the edit page of the new member, with the success message.
    page.wait_for_url(re.compile(r".*/utilisateurs/[0-9a-f-]{36}/$"))
    expect(page.locator("main .alert-success")).to_contain_text("Jeanne Martin")
    new = Membership.objects.select_related("user").get(
        organization=admin.org, user__email="jeanne.martin@acme.test"
    )
    assert new.role == "backoffice"
    assert not new.is_blocked

    # Back to the list: she is there, active.
    page.click(f"main nav a[href='{members_url}']")
    page.wait_for_url(f"**{members_url}")
    row = page.locator("main table tbody tr", has_text="Jeanne Martin")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("jeanne.martin@acme.test")

    # Block the technician who left; accept the confirmation dialog.
    leaver_row = page.locator("main table tbody tr", has_text=leaver.member.display_name)
    leaver_row.locator(f"a[href='{members_url}{leaver.member.public_id}/']").click()
    page.wait_for_url(f"**{members_url}{leaver.member.public_id}/")
    dialogs: list[str] = []

    def accept(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.click("main form[action$='/bloquer/'] button[type=submit]")
    page.wait_for_load_state()
    expect(page.locator("main h1 .badge")).to_have_text(BLOCKED_BADGE)
    assert len(dialogs) == 1, "blocking asks for confirmation first"

    # The list shows the badge too; keep a picture for humans.
    page.click(f"main nav a[href='{members_url}']")
    page.wait_for_url(f"**{members_url}")
    leaver_row = page.locator("main table tbody tr", has_text=leaver.member.display_name)
    expect(leaver_row.locator(".badge")).to_have_text(BLOCKED_BADGE)
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS / "members.png"), full_page=True)

    # The database and the audit log agree.
    leaver.member.refresh_from_db()
    assert leaver.member.is_blocked
    entries = AuditEntry.objects.filter(organization=admin.org, actor=admin.user)
    assert entries.filter(action="member.create", object_id=str(new.public_id)).exists()
    assert entries.filter(action="member.block", object_id=str(leaver.member.public_id)).exists()
