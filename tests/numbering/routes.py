"""How to call each numbering route, for tests/core/test_routes.py (role matrix × personas)."""

from __future__ import annotations

from tests.core.test_routes import API, Builder, page

SERIES_FORM = {"mask": "DV%AAAA%-%N%", "width": "6", "reset": "yearly", "offset": "0"}

ROUTES: dict[str, Builder] = {
    "numbering-settings": lambda people, me: ("GET", page("numbering:settings"), None),
    "numbering-series-edit": lambda people, me: (
        "POST",
        page("numbering:series-edit", kind="quote"),
        SERIES_FORM,
    ),
    "numbering-next-edit": lambda people, me: (
        "POST",
        page("numbering:next-edit", kind="invoice"),
        {"next_value": "120"},
    ),
    "api-numbering": lambda people, me: ("GET", f"{API}/numbering", None),
    "api-numbering-next": lambda people, me: (
        "POST",
        f"{API}/numbering/dossier/next",
        {"operator": "DUJ"},
    ),
    "api-numbering-reserve": lambda people, me: (
        "POST",
        f"{API}/numbering/quote/reserve",
        {"count": 3, "operator": None},
    ),
}
