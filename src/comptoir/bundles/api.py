"""Settings bundles over the API: a station pushes its parameters, fetches the web's.

The push reads its body itself (up to 5 MB: a logo in base64 and the address book
weigh more than Django's default 2.5 MB for a request body), after the caller's
organisation and rights are checked, so a refused caller's bytes are never read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja import Status as Reply
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from comptoir.accounts.models import acting_user
from comptoir.bundles import services
from comptoir.bundles.models import SettingsBundle
from comptoir.bundles.sections import SECTIONS
from comptoir.core.api_base import (
    ErrorOut,
    InSchema,
    OutSchema,
    org_endpoint,
    parse_json,
    refuse_unstorable,
)
from comptoir.core.errors import Forbidden
from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource

router = Router(tags=["settings bundles"])
ERRORS: dict[int, Any] = {
    400: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    413: ErrorOut,
    422: ErrorOut,
}
NAMES = "|".join(SECTIONS.names)
SECTIONS_PATTERN = f"^(({NAMES})(,({NAMES}))*)?$"


class SettingsPushIn(InSchema):
    model_config = ConfigDict(extra="forbid")

    sections: dict[str, Any] = Field(min_length=1)


PUSH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["sections"],
    "additionalProperties": False,
    "properties": {
        "sections": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "description": "The station's parameters by section (docs/sync/settings.md).",
            "properties": {section.name: section.schema for section in SECTIONS},
        }
    },
}


class VersionOut(Schema):
    version: int


class SettingsOut(Schema):
    version: int
    sections: dict[str, Any]


class SettingsQuery(Schema):
    sections: str = Field(
        default="",
        max_length=500,
        description=(
            "Comma-separated section names (all of them when empty): " + ", ".join(SECTIONS.names)
        ),
        json_schema_extra={"pattern": SECTIONS_PATTERN},
    )


class VersionsQuery(Schema):
    direction: SettingsBundle.Direction | None = None
    limit: int = Field(default=50, ge=1, le=500)


class BundleOut(OutSchema):
    version: int
    direction: str
    source: str
    created_at: datetime
    sections: list[str]
    size: int
    imported_at: datetime | None
    imported_sections: list[str]


def _source(request: HttpRequest, member: Membership) -> str:
    """The station's token name; "web" for a browser session."""
    token = getattr(getattr(request, "auth", None), "token", None)
    return str(token.name) if token is not None else services.WEB_SOURCE


def _readable(member: Membership, name: str) -> bool:
    """Stations too: a section holding records the role may not see is not sent."""
    needed = SECTIONS[name].read_permission
    return needed is None or member.can(*needed)


def _read_body(request: HttpRequest) -> dict[str, Any]:
    limit = services.MAX_BUNDLE_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise services.BundleTooLarge(declared)
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise services.BundleTooLarge(declared or len(raw))
    data = parse_json(raw)
    refuse_unstorable(data, ["body"])  # as everywhere else
    try:
        payload = SettingsPushIn.model_validate(data)
    except PydanticValidationError as exc:
        raise NinjaValidationError(
            [{**error, "loc": ["body", *error["loc"]]} for error in exc.errors()]
        ) from None
    return payload.sections


@router.post(
    "/orgs/{org}/sync/settings",
    response={201: VersionOut, **ERRORS},
    summary="A station sends its parameters (imported later from the web, section by section)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": PUSH_SCHEMA}},
        }
    },
)
@org_endpoint("api-sync-settings-push", Resource.DOSSIERS, Action.ADD, stations=True)
def push_settings(request: HttpRequest, member: Membership) -> Reply[dict[str, Any]]:
    sections = _read_body(request)
    bundle = services.receive_bundle(
        member.organization,
        sections,
        actor=acting_user(request),
        member=member,
        source=_source(request, member),
    )
    return Reply(201, {"version": bundle.version})


@router.get(
    "/orgs/{org}/sync/settings",
    response={200: SettingsOut, **ERRORS},
    summary="The latest parameters the web published for the stations",
)
@org_endpoint("api-sync-settings", Resource.DOSSIERS, Action.VIEW, stations=True)
def get_settings(
    request: HttpRequest, member: Membership, query: Query[SettingsQuery]
) -> dict[str, Any]:
    asked = services.section_names(query.sections.split(",")) if query.sections else None
    refused = [name for name in asked or [] if not _readable(member, name)]
    if refused:
        raise Forbidden(
            _("Your role does not allow reading the section “%(name)s”.") % {"name": refused[0]}
        )
    bundle = services.latest_published(member.organization)
    sections = {
        name: payload
        for name, payload in services.published_sections(bundle, asked).items()
        if _readable(member, name)  # when no section is named: all those the member may read
    }
    return {"version": bundle.version, "sections": sections}


@router.get(
    "/orgs/{org}/sync/settings/versions",
    response={200: list[BundleOut], **ERRORS},
    summary="The settings bundles received and published, newest first",
)
@org_endpoint("api-sync-settings-versions", Resource.DOSSIERS, Action.VIEW, stations=True)
def list_versions(
    request: HttpRequest, member: Membership, query: Query[VersionsQuery]
) -> list[dict[str, Any]]:
    found = services.bundles_of(member.organization, query.direction)[: query.limit]
    return [
        {
            "version": bundle.version,
            "direction": bundle.direction,
            "source": bundle.source,
            "created_at": bundle.created_at,
            "sections": bundle.section_names,
            "size": bundle.size,
            "imported_at": bundle.imported_at,
            "imported_sections": list(bundle.imported_sections or []),
        }
        for bundle in found
    ]
