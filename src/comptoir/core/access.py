"""The one way a request turns an organisation slug or an id into a record.

Every lookup filters by organisation in the query and answers the same
NotFound for "missing" and "belongs to someone else". Pages use `org_page`,
API endpoints `comptoir.core.api.org_endpoint`; both register the route with
the permission it needs, so the test suite can check every route against the
role matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar
from uuid import UUID

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from comptoir.core.errors import Forbidden, NotFound
from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource, Role, Scope

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class RouteRule:
    """A route and the permission it needs (None: any active member)."""

    name: str
    kind: str  # "page" or "api"
    resource: Resource | None
    action: Action
    methods: tuple[str, ...]


ROUTE_RULES: dict[str, RouteRule] = {}


def register_route(rule: RouteRule) -> None:
    ROUTE_RULES[rule.name] = rule


def membership_for(user: Any, org_slug: str) -> Membership:
    """The user's active membership in the organisation, or NotFound."""
    if not getattr(user, "is_authenticated", False) or not user.is_active or "\x00" in org_slug:
        raise NotFound(_("Organisation not found."))  # (PostgreSQL refuses U+0000 in a query)
    member = (
        Membership.objects.select_related("organization", "organization__plan", "user")
        .filter(user=user, organization__slug=org_slug, is_blocked=False)
        .first()
    )
    if member is None:
        raise NotFound(_("Organisation not found."))
    return member


def require(
    member: Membership, resource: Resource | None, action: Action, *, owner_id: int | None = None
) -> None:
    """Refuse (Forbidden) unless the member's role allows the action."""
    if resource is None:
        return
    if not member.can(resource, action, owner_id=owner_id):
        raise Forbidden(_("Your role does not allow this action."))


def scoped(
    queryset: models.QuerySet[M],
    member: Membership,
    resource: Resource | None = None,
    action: Action = Action.VIEW,
    owner_field: str | None = None,
) -> models.QuerySet[M]:
    """Records of the member's organisation that the member may act on.

    `owner_field` names the membership a record is assigned to; roles whose
    grant is scoped to their own records only see those.
    """
    queryset = queryset.filter(organization=member.organization)
    if resource is None:
        return queryset
    require(member, resource, action)
    if owner_field and member.scope_for(resource) is Scope.OWN:
        queryset = queryset.filter(**{owner_field: member})
    return queryset


def by_public_id(queryset: models.QuerySet[M], public_id: str | UUID) -> M:
    """One record of an already scoped queryset by its public id, or NotFound."""
    try:
        key = UUID(str(public_id))
    except ValueError:
        raise NotFound(_("Not found.")) from None
    found = queryset.filter(public_id=key).first()
    if found is None:
        raise NotFound(_("Not found."))
    return found


def get_scoped(
    queryset: models.QuerySet[M],
    member: Membership,
    public_id: str | UUID,
    resource: Resource | None = None,
    action: Action = Action.VIEW,
    owner_field: str | None = None,
) -> M:
    """One record by public id, through `scoped`; NotFound for missing or foreign."""
    return by_public_id(scoped(queryset, member, resource, action, owner_field), public_id)


def get_member_for(
    member: Membership, public_id: str | UUID, action: Action = Action.VIEW
) -> Membership:
    """A colleague in the same organisation; managing members is an Outils right."""
    return get_scoped(
        Membership.objects.select_related("user"), member, public_id, Resource.SETTINGS, action
    )


ViewFunc = Callable[..., HttpResponseBase]


def org_page(
    resource: Resource | None = None,
    action: Action = Action.VIEW,
    name: str | None = None,
    methods: tuple[str, ...] = ("GET",),
) -> Callable[[ViewFunc], ViewFunc]:
    """Decorate a page under /o/<org>/: login, membership, web access, 2FA, role.

    The view receives the membership as its second argument. Outsiders and
    blocked members get 404; roles without the right get 403.
    """

    def decorate(view: ViewFunc) -> ViewFunc:
        route_name = name or view.__name__.replace("_", "-")
        register_route(RouteRule(route_name, "page", resource, action, methods))

        @wraps(view)
        def wrapper(request: HttpRequest, org: str, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            try:
                member = membership_for(request.user, org)
            except NotFound:
                raise Http404 from None
            if not member.spec.web_access:
                raise PermissionDenied(_("Your profile has no access to the web interface."))
            if needs_second_factor(request.user, member):
                return redirect("accounts:totp-setup")
            if request.method not in methods and request.method not in ("HEAD", "OPTIONS"):
                return HttpResponse(status=405)
            try:
                require(member, resource, action)
            except Forbidden as exc:
                raise PermissionDenied(exc.message) from None
            request.session["current_org"] = org
            request.member = member  # type: ignore[attr-defined]
            try:
                return view(request, member, *args, **kwargs)
            except NotFound:
                raise Http404 from None
            except Forbidden as exc:
                raise PermissionDenied(exc.message) from None

        return wrapper

    return decorate


def needs_second_factor(user: Any, member: Membership) -> bool:
    """An organisation may require TOTP of its administrators (session logins only)."""
    if not (member.organization.require_admin_2fa and member.role == Role.ADMIN):
        return False
    is_verified = getattr(user, "is_verified", None)
    return not (callable(is_verified) and is_verified())
