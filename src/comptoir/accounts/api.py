"""API authentication (bearer tokens, web session) and the members/tokens endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.security import APIKeyCookie, HttpBearer
from pydantic import AfterValidator, Field, StrictBool

from comptoir.accounts import services, tokens
from comptoir.accounts.models import ApiToken, User, acting_user
from comptoir.core.access import by_public_id, get_member_for, membership_for, needs_second_factor
from comptoir.core.api_base import ErrorOut, InSchema, OutSchema, org_endpoint
from comptoir.core.errors import Forbidden, NotFound
from comptoir.core.models import Membership
from comptoir.core.roles import ROLE_SPECS, Action, Resource, may_assign


class TokenPrincipal:
    """A caller holding a token; the token belongs to one membership."""

    def __init__(self, token: ApiToken) -> None:
        self.token = token
        self.user = token.membership.user

    def membership(self, org_slug: str) -> Membership:
        member = self.token.membership
        if member.organization.slug != org_slug:
            raise NotFound(_("Organisation not found."))
        return member

    @property
    def may_write(self) -> bool:
        return self.token.scope == ApiToken.Scope.WRITE

    @property
    def is_station(self) -> bool:
        return self.token.kind == ApiToken.Kind.STATION


class SessionPrincipal:
    """A logged-in browser (the pages' htmx calls); CSRF is checked by Ninja."""

    def __init__(self, user: User) -> None:
        self.user = user

    def membership(self, org_slug: str) -> Membership:
        member = membership_for(self.user, org_slug)
        if not member.spec.web_access:
            raise Forbidden(_("Your profile has no access to the web interface."))
        if needs_second_factor(self.user, member):
            raise Forbidden(_("Two-factor authentication is required."), code="2fa_required")
        return member

    may_write = True


class BearerAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> TokenPrincipal | None:
        found = tokens.find_token(token)
        return TokenPrincipal(found) if found else None


class WebSessionAuth(APIKeyCookie):
    param_name = settings.SESSION_COOKIE_NAME

    def authenticate(self, request: HttpRequest, key: str | None) -> SessionPrincipal | None:
        if request.user.is_authenticated:
            return SessionPrincipal(acting_user(request))
        return None


router = Router(tags=["members"])
ERRORS: dict[int, Any] = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class MembershipBrief(Schema):
    organization: str = Field(description="The organisation's short name (slug).")
    organization_name: str
    kind: str
    role: str


class MeOut(Schema):
    id: UUID
    login: str
    email: str | None
    name: str
    memberships: list[MembershipBrief]


class CertificationOut(Schema):
    id: UUID
    kind: str
    number: str
    body: str
    expires_on: Any


class MemberOut(OutSchema):
    id: UUID
    login: str
    email: str | None
    display_name: str
    initials: str
    role: str
    phone: str
    performs_diagnostics: bool
    listed_on_calendar: bool
    agenda_color: str
    is_blocked: bool
    created_at: datetime


class MemberDetailOut(MemberOut):
    address_street: str
    address_postcode: str
    address_city: str
    certifications: list[CertificationOut]


# The input schemas publish the rules the services apply, so that a request valid per
# the OpenAPI document is accepted (the fuzzer in tests/peers/test_api_fuzz.py checks it).
ASSIGNABLE_ROLES = tuple(str(role) for role in ROLE_SPECS if may_assign(role))
RoleName = Literal[ASSIGNABLE_ROLES]  # type: ignore[valid-type]


def _checked_email(value: str) -> str:
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError(_("Enter a valid e-mail address.")) from None
    return value


Email = Annotated[
    str,
    Field(max_length=254, json_schema_extra={"format": "email"}),
    AfterValidator(_checked_email),
]
# Names are stripped: at least one character that is not a space. Python's str.strip()
# also removes U+001C–U+001F, which are not "\s" for every regex engine.
NAME_PATTERN = r"[^\s\x1c-\x1f]"
# A login as `services.LOGIN_PATTERN` takes it (it is lower-cased); empty: made from the name.
LOGIN_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{1,149}$"
COLOR_PATTERN = r"^#[0-9a-fA-F]{6}$"


class MemberIn(InSchema):
    display_name: str = Field(min_length=1, max_length=150, pattern=NAME_PATTERN)
    role: RoleName = Field(description="A role of GET /orgs/{org}/roles.")
    email: Email | None = Field(default=None, description="Receives the invitation.")
    login: str | None = Field(
        default=None,
        max_length=150,
        pattern=f"^$|{LOGIN_PATTERN}",
        description="Left out or empty, it is made from the name.",
    )
    initials: str = Field(default="", max_length=5)
    phone: str = Field(default="", max_length=30)
    performs_diagnostics: StrictBool = False
    listed_on_calendar: StrictBool = False
    agenda_color: str = Field(default="#2e9afe", pattern=COLOR_PATTERN)


class MemberPatch(InSchema):
    display_name: str | None = Field(
        default=None, min_length=1, max_length=150, pattern=NAME_PATTERN
    )
    role: RoleName | None = None
    email: Email | None = Field(default=None, description="null removes the address.")
    login: str | None = Field(default=None, max_length=150, pattern=LOGIN_PATTERN)
    initials: str | None = Field(default=None, max_length=5)
    phone: str | None = Field(default=None, max_length=30)
    address_street: str | None = Field(default=None, max_length=200)
    address_postcode: str | None = Field(default=None, max_length=10)
    address_city: str | None = Field(default=None, max_length=100)
    performs_diagnostics: StrictBool | None = None
    listed_on_calendar: StrictBool | None = None
    agenda_color: str | None = Field(default=None, pattern=COLOR_PATTERN)


class MemberCreated(Schema):
    member: MemberOut
    invitation_sent: bool


class TokenIn(InSchema):
    name: str = Field(min_length=1, max_length=100)
    scope: str = Field(default="write", pattern="^(read|write)$")


class TokenOut(Schema):
    id: UUID
    name: str
    kind: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret. Shown once; store it now.")


def member_out(member: Membership) -> dict[str, Any]:
    user = member.user
    return {
        "id": member.public_id,
        "login": user.login,
        "email": user.email,
        "display_name": member.display_name,
        "initials": member.initials,
        "role": member.role,
        "phone": member.phone,
        "performs_diagnostics": member.performs_diagnostics,
        "listed_on_calendar": member.listed_on_calendar,
        "agenda_color": member.agenda_color,
        "is_blocked": member.is_blocked,
        "created_at": member.created_at,
    }


# `member_out` as `.values_list()` fields, for lists: the same dicts, without building
# a Membership and a User per row. Keep the two in step (same keys, same order).
MEMBER_OUT_FIELDS = (
    ("id", "public_id"),
    ("login", "user__login"),
    ("email", "user__email"),
    ("display_name", "display_name"),
    ("initials", "initials"),
    ("role", "role"),
    ("phone", "phone"),
    ("performs_diagnostics", "performs_diagnostics"),
    ("listed_on_calendar", "listed_on_calendar"),
    ("agenda_color", "agenda_color"),
    ("is_blocked", "is_blocked"),
    ("created_at", "created_at"),
)
_MEMBER_OUT_KEYS = tuple(key for key, _field in MEMBER_OUT_FIELDS)
_MEMBER_OUT_COLUMNS = tuple(field for _key, field in MEMBER_OUT_FIELDS)


def members_out(rows: QuerySet[Membership]) -> list[dict[str, Any]]:
    """`[member_out(row) for row in rows]`, read as tuples."""
    keys = _MEMBER_OUT_KEYS
    return [
        dict(zip(keys, values, strict=True)) for values in rows.values_list(*_MEMBER_OUT_COLUMNS)
    ]


def member_detail(member: Membership) -> dict[str, Any]:
    data = member_out(member)
    data.update(
        address_street=member.address_street,
        address_postcode=member.address_postcode,
        address_city=member.address_city,
        certifications=[
            {
                "id": cert.public_id,
                "kind": cert.kind,
                "number": cert.number,
                "body": cert.body,
                "expires_on": cert.expires_on,
            }
            for cert in member.certifications.all()
        ],
    )
    return data


def token_out(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.public_id,
        "name": token.name,
        "kind": token.kind,
        "scope": token.scope,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
    }


@router.get("/me", response={200: MeOut, 401: ErrorOut}, summary="Who am I")
def me(request: HttpRequest) -> dict[str, Any]:
    user: User = request.auth.user  # type: ignore[attr-defined]
    rows = Membership.objects.filter(user=user, is_blocked=False).select_related("organization")
    return {
        "id": user.public_id,
        "login": user.login,
        "email": user.email,
        "name": str(user),
        "memberships": [
            {
                "organization": row.organization.slug,
                "organization_name": row.organization.name,
                "kind": row.organization.kind,
                "role": row.role,
            }
            for row in rows
        ],
    }


@router.get(
    "/orgs/{org}/members", response={200: list[MemberOut], **ERRORS}, summary="List the members"
)
@org_endpoint("api-members", Resource.SETTINGS, Action.VIEW)
def list_members(
    request: HttpRequest, member: Membership, blocked: bool | None = None
) -> list[dict[str, Any]]:
    rows = Membership.objects.filter(organization=member.organization)
    if blocked is not None:
        rows = rows.filter(is_blocked=blocked)
    return members_out(rows.order_by("display_name", "pk"))


@router.post(
    "/orgs/{org}/members",
    response={201: MemberCreated, **ERRORS},
    summary="Add a member (invited by e-mail when they have one)",
)
@org_endpoint("api-member-add", Resource.SETTINGS, Action.ADD)
def add_member(
    request: HttpRequest, member: Membership, payload: MemberIn
) -> Status[dict[str, Any]]:
    new = services.add_member(member.organization, actor=acting_user(request), **payload.dict())
    return Status(
        201, {"member": member_out(new.membership), "invitation_sent": new.setup_url is not None}
    )


@router.get(
    "/orgs/{org}/members/{member_id}",
    response={200: MemberDetailOut, **ERRORS},
    summary="One member, with certifications",
)
@org_endpoint("api-member", Resource.SETTINGS, Action.VIEW)
def get_member(request: HttpRequest, member: Membership, member_id: str) -> dict[str, Any]:
    return member_detail(get_member_for(member, member_id))


@router.patch(
    "/orgs/{org}/members/{member_id}",
    response={200: MemberDetailOut, **ERRORS},
    summary="Change a member's role or profile",
)
@org_endpoint("api-member-change", Resource.SETTINGS, Action.CHANGE)
def patch_member(
    request: HttpRequest, member: Membership, member_id: str, payload: MemberPatch
) -> dict[str, Any]:
    target = get_member_for(member, member_id, Action.CHANGE)
    changes = payload.dict(exclude_unset=True)
    services.update_member(target, actor=acting_user(request), **changes)
    return member_detail(target)


@router.post(
    "/orgs/{org}/members/{member_id}/block",
    response={200: MemberOut, **ERRORS},
    summary="Block a member who has left (never deleted)",
)
@org_endpoint("api-member-block", Resource.SETTINGS, Action.CHANGE)
def block_member(request: HttpRequest, member: Membership, member_id: str) -> dict[str, Any]:
    target = get_member_for(member, member_id, Action.CHANGE)
    services.block_member(target, actor=acting_user(request))
    return member_out(target)


@router.post(
    "/orgs/{org}/members/{member_id}/unblock",
    response={200: MemberOut, **ERRORS},
    summary="Unblock a member",
)
@org_endpoint("api-member-unblock", Resource.SETTINGS, Action.CHANGE)
def unblock_member(request: HttpRequest, member: Membership, member_id: str) -> dict[str, Any]:
    target = get_member_for(member, member_id, Action.CHANGE)
    services.unblock_member(target, actor=acting_user(request))
    return member_out(target)


@router.get(
    "/orgs/{org}/tokens",
    response={200: list[TokenOut], **ERRORS},
    summary="My personal tokens in this organisation",
    tags=["tokens"],
)
@org_endpoint("api-tokens", None, Action.VIEW)
def list_tokens(request: HttpRequest, member: Membership) -> list[dict[str, Any]]:
    rows = ApiToken.objects.filter(membership=member, kind=ApiToken.Kind.PERSONAL)
    return [token_out(row) for row in rows]


@router.post(
    "/orgs/{org}/tokens",
    response={201: TokenCreated, **ERRORS},
    summary="Create a personal token",
    tags=["tokens"],
)
@org_endpoint("api-token-add", None, Action.ADD)
def create_token(
    request: HttpRequest, member: Membership, payload: TokenIn
) -> Status[dict[str, Any]]:
    token, secret = tokens.create_token(
        member, payload.name, actor=acting_user(request), scope=payload.scope
    )
    return Status(201, {**token_out(token), "token": secret})


@router.delete(
    "/orgs/{org}/tokens/{token_id}",
    response={200: TokenOut, **ERRORS},
    summary="Revoke one of my personal tokens",
    tags=["tokens"],
)
@org_endpoint("api-token-revoke", None, Action.DELETE)
def revoke_token(request: HttpRequest, member: Membership, token_id: str) -> dict[str, Any]:
    token = by_public_id(
        ApiToken.objects.filter(membership=member).select_related("membership__organization"),
        token_id,
    )
    tokens.revoke_token(token, actor=acting_user(request))
    token.refresh_from_db()
    return token_out(token)
