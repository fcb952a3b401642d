from __future__ import annotations

from functools import partial
from typing import Any

from django.http import HttpRequest

from comptoir.core.navigation import entries_for, settings_tabs_for


def navigation(request: HttpRequest) -> dict[str, Any]:
    member = getattr(request, "member", None)
    if member is None:
        return {"nav_entries": [], "member": None}
    # The settings tabs are only computed by the pages that show them (a callable).
    return {
        "nav_entries": entries_for(member),
        "member": member,
        "org": member.organization,
        "settings_tabs": partial(settings_tabs_for, member),
    }
