"""Core endpoints: the audit log and the role matrix."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from comptoir.core.api_base import BIGINT_MAX, ErrorOut, org_endpoint
from comptoir.core.models import AuditEntry, Membership
from comptoir.core.roles import ROLE_SPECS, Action, Resource, Role

router = Router(tags=["organisation"])
ERRORS: dict[int, Any] = {403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class AuditOut(Schema):
    seq: int
    created_at: datetime
    actor: UUID | None
    actor_label: str
    ip: str | None
    action: str
    object_type: str
    object_id: str
    object_repr: str
    before: Any
    after: Any
    hash: str


class AuditPage(Schema):
    items: list[AuditOut]
    next_before: int | None = Field(description="Pass as `before` to get the next page.")


class AuditFilters(Schema):
    action: str | None = Field(
        default=None, max_length=60, description="Action, or its prefix such as “member.”."
    )
    before: int | None = Field(
        default=None, ge=1, le=BIGINT_MAX, description="Entries older than this seq."
    )
    limit: int = Field(default=100, ge=1, le=1000)


class GrantOut(Schema):
    resource: str
    actions: list[str]
    scope: str


class RoleOut(Schema):
    role: str
    label: str
    audience: str
    web_access: bool
    station_access: bool
    grants: list[GrantOut]


@router.get(
    "/orgs/{org}/audit",
    response={200: AuditPage, **ERRORS},
    summary="The organisation's audit log, newest first",
)
@org_endpoint("api-audit", Resource.SETTINGS, Action.VIEW)
def audit_log(
    request: HttpRequest, member: Membership, filters: Query[AuditFilters]
) -> dict[str, Any]:
    rows = AuditEntry.objects.filter(organization=member.organization).select_related("actor")
    if filters.action:
        rows = rows.filter(action__startswith=filters.action)
    if filters.before:
        rows = rows.filter(seq__lt=filters.before)
    page = list(rows.order_by("-seq")[: filters.limit + 1])
    more = len(page) > filters.limit
    page = page[: filters.limit]
    return {
        "items": [
            {
                "seq": row.seq,
                "created_at": row.created_at,
                "actor": row.actor.public_id if row.actor else None,
                "actor_label": row.actor_label,
                "ip": row.ip,
                "action": row.action,
                "object_type": row.object_type,
                "object_id": row.object_id,
                "object_repr": row.object_repr,
                "before": row.before,
                "after": row.after,
                "hash": row.hash,
            }
            for row in page
        ],
        "next_before": page[-1].seq if more and page else None,
    }


@router.get(
    "/orgs/{org}/roles",
    response={200: list[RoleOut], **ERRORS},
    summary="The role matrix: what each role may do",
)
@org_endpoint("api-roles", None, Action.VIEW)
def roles(request: HttpRequest, member: Membership) -> list[dict[str, Any]]:
    return [
        {
            "role": role,
            "label": str(Role(role).label),
            "audience": spec.audience,
            "web_access": spec.web_access,
            "station_access": spec.station_access,
            "grants": [
                {"resource": resource, "actions": sorted(grant.actions), "scope": grant.scope}
                for resource, grant in spec.grants.items()
            ],
        }
        for role, spec in ROLE_SPECS.items()
    ]
