"""Playwright driving Debian's Chromium against pytest-django's live server.

The browser is launched once per test session (per xdist worker). Without
/usr/bin/chromium the browser tests are skipped, unless
COMPTOIR_REQUIRE_BROWSER=1 (CI), where a missing browser is a failure.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

# Playwright's sync API keeps an asyncio loop running in the test thread, so
# Django would refuse ORM calls made by the test itself (fixtures, assertions).
# The live server answers from its own thread; this only concerns the tests.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path(os.environ.get("COMPTOIR_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
RESULTS = Path(__file__).resolve().parents[2] / "test-results"
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 15_000


def _unavailable(reason: str) -> None:
    if os.environ.get("COMPTOIR_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (COMPTOIR_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the session (per xdist worker)."""
    if not CHROMIUM.exists():
        _unavailable(
            f"{CHROMIUM} not found: install Debian's chromium "
            "(apt-get install chromium) to run the browser tests"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _new_page(chromium: Any, live_server: Any, viewport: dict[str, int] | None) -> Iterator[Any]:
    context = chromium.new_context(
        base_url=live_server.url,
        locale="fr-FR",
        viewport=viewport or {"width": 1280, "height": 900},
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


@pytest.fixture
def page(chromium: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) at a desktop size; fails on JavaScript errors."""
    yield from _new_page(chromium, live_server, None)


@pytest.fixture
def phone_page(chromium: Any, live_server: Any) -> Iterator[Any]:
    """The same at a phone's size (390×844)."""
    yield from _new_page(chromium, live_server, PHONE)


@pytest.fixture
def log_in_as(live_server: Any) -> Any:
    """Give a page a session for a user without going through the login form."""

    def log_in(page: Any, user: Any) -> None:
        client = Client()
        client.force_login(user, backend="comptoir.accounts.backends.LoginOrEmailBackend")
        page.context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )

    return log_in


def axe_violations(
    page: Any, *, impacts: tuple[str, ...] = ("serious", "critical")
) -> list[dict[str, Any]]:
    """Run axe-core on the current page; the violations of the given impacts."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document)")
    return [v for v in result["violations"] if v.get("impact") in impacts]


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']} "
            f"<{violation['helpUrl']}>"
        )
        for node in violation["nodes"][:10]:
            summary = node.get("failureSummary", "").replace("\n", " ")
            lines.append(f"    {json.dumps(node['target'])}: {summary}")
    return "\n".join(lines)
