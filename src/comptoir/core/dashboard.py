"""The home dashboard's panels: each app contributes its own, core renders them.

Core cannot import the apps above it, so an app registers a `DashboardPanel`
in its `AppConfig.ready` with `add_panel()`. The dashboard shows, in `order`,
the panels the member's role allows (`resource`/`action`, as for navigation)
whose context function returns a dict; returning None hides the panel (for
instance a technician with no certification to renew).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from comptoir.core.models import AuditEntry, Membership
from comptoir.core.roles import Action, Resource

PanelContext = Callable[[Membership], dict[str, Any] | None]


@dataclass(frozen=True)
class DashboardPanel:
    """One card of the home page: a template and the function that fills it."""

    key: str
    template: str
    context_function: PanelContext
    resource: Resource | None = None
    action: Action = Action.VIEW
    order: int = 100
    width: str = "col-md-6 col-xl-4"  # Bootstrap grid classes of the card's column


@dataclass(frozen=True)
class RenderedPanel:
    key: str
    template: str
    width: str
    data: dict[str, Any]


PANELS: list[DashboardPanel] = []


def add_panel(panel: DashboardPanel) -> None:
    """Register a panel once (AppConfig.ready may run more than once in tests)."""
    if panel.key in {known.key for known in PANELS}:
        return
    PANELS.append(panel)
    PANELS.sort(key=lambda item: item.order)


def panels_for(member: Membership) -> list[RenderedPanel]:
    """The panels this member may see, filled, in order."""
    shown = []
    for panel in PANELS:
        if panel.resource is not None and not member.can(panel.resource, panel.action):
            continue
        data = panel.context_function(member)
        if data is not None:
            shown.append(RenderedPanel(panel.key, panel.template, panel.width, data))
    return shown


RECENT_ACTIVITY_SIZE = 8


def recent_activity(member: Membership) -> dict[str, Any]:
    entries = AuditEntry.objects.filter(organization=member.organization).order_by(
        "-created_at", "-seq"
    )[:RECENT_ACTIVITY_SIZE]
    return {"entries": list(entries)}


add_panel(
    DashboardPanel(
        "recent-activity",
        "core/panels/recent_activity.html",
        recent_activity,
        Resource.SETTINGS,
        Action.VIEW,
        order=900,
        width="col-md-12 col-xl-8",
    )
)
