"""Requests and assertions that every feature's tests reuse.

`send(client, method, url, data)` sends a request the way the route expects
it: a query string for GET, form fields for a page, a JSON body for the API
(any URL under /api/).

`assert_outsider_gets_404(client, method, url, data=None)` is the cross-
organisation check of CONVENTIONS.md § 11. Give it a client logged in (or a
bearer client) for someone who does not belong to the organisation in the
URL; it asserts a 404 — JSON `{"code": "not_found"}` on the API — and that the
request wrote nothing. Use it for every new page and endpoint, e.g.:

    from tests.helpers import assert_outsider_gets_404

    def test_outsider_cannot_see_a_dossier(people):
        url = f"/api/v1/orgs/acme/dossiers/{dossier.public_id}"
        assert_outsider_gets_404(people["outsider"].api(), "GET", url)
        assert_outsider_gets_404(people["outsider"].api(), "PATCH", url, {"title": "x"})

tests/core/test_routes.py already runs it over every registered route of
"acme": add your route to its ROUTES table and you get this check for free.
"""

from __future__ import annotations

import html
from typing import Any

from django.test import Client
from django.utils import translation

from tests.conftest import nothing_changes


def is_api(url: str) -> bool:
    return url.startswith("/api/")


def send(client: Client, method: str, url: str, data: dict[str, Any] | None = None) -> Any:
    """One request; JSON body on the API, form fields on pages, query string for GET."""
    verb = method.lower()
    call = getattr(client, verb)
    if verb == "get":
        return call(url, data or {})
    if is_api(url) and not any(hasattr(value, "read") for value in (data or {}).values()):
        return call(url, data or {}, content_type="application/json")
    return call(url, data or {})  # form fields, or multipart when a file is attached


def assert_outsider_gets_404(
    client: Client, method: str, url: str, data: dict[str, Any] | None = None
) -> Any:
    """The request answers 404 (never 403, never data) and changes nothing."""
    with nothing_changes():
        response = send(client, method, url, data)
    assert response.status_code == 404, (
        f"{method} {url}: an outsider got {response.status_code}, expected 404"
    )
    if is_api(url):
        body = response.json()
        assert body == {"code": "not_found", "message": body["message"], "details": {}}
        assert body["message"] in {fr("Organisation not found."), fr("Not found.")}
    else:
        assert response["Content-Type"].startswith("text/html")
    return response


def fr(text: str) -> str:
    """A message as a French user gets it (pages and the API answer in French)."""
    with translation.override("fr"):
        return translation.gettext(text)


def shows(response: Any, text: str) -> bool:
    """Does the page show this message, as a French user reads it?

    Template text comes out as translated; messages and form errors are also
    HTML-escaped (an apostrophe becomes &#x27;).
    """
    content = response.content.decode()
    message = fr(text)
    return message in content or html.escape(message) in content
