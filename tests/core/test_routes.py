"""Every registered route × every persona, against the role matrix.

`ROUTE_RULES` (comptoir.core.access) lists every page and API route with the
permission it needs. `ROUTES` below says how to call each one; a route that
is missing here fails `test_every_route_has_a_request`, so a new page or
endpoint gets the role, blocked-member and outsider checks for free.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse

import comptoir.urls  # noqa: F401  (registers every route)
from comptoir.accounts import services
from comptoir.accounts.models import ApiToken
from comptoir.core.access import ROUTE_RULES, RouteRule
from comptoir.core.roles import ROLE_SPECS, allows
from tests.conftest import PERSONA_ROLES, Persona, nothing_changes
from tests.helpers import assert_outsider_gets_404, fr, send, shows

ORG = "acme"
API = f"/api/v1/orgs/{ORG}"

Request = tuple[str, str, dict[str, Any] | None]
Builder = Callable[[dict[str, Persona], Persona], Request]


def page(name: str, **kwargs: Any) -> str:
    return reverse(name, kwargs={"org": ORG, **kwargs})


def member_id(people: dict[str, Persona], key: str) -> str:
    return str(people[key].member.public_id)


def own_token_id(me: Persona) -> str:
    return str(ApiToken.objects.filter(membership=me.member).order_by("pk")[0].public_id)


def fresh_invitee(people: dict[str, Persona]) -> str:
    """A member added by mistake a moment ago: no history, so removable."""
    new = services.add_member(
        people["admin"].org,
        actor=people["admin"].user,
        display_name="Added By Mistake",
        role="technician_all",
        email="mistake@acme.test",
    )
    return str(new.membership.public_id)


MEMBER_FORM = {
    "role": "technician_all",
    "display_name": "Tech_All acme",
    "login": "tech_all-acme",
    "email": "tech_all@acme.test",
    "initials": "TA",
    "phone": "06 01 02 03 04",
    "agenda_color": "#123456",
}
NEW_MEMBER = {
    "role": "backoffice",
    "display_name": "Nina Nouvelle",
    "email": "nina@acme.test",
    "agenda_color": "#2e9afe",
}
CERTIFICATION = {
    "kind": "dpe",
    "number": "CPDI-1",
    "body": "Bureau Veritas",
    "expires_on": "2030-06-30",
}

# route name -> (people, the persona asking) -> (method, url, data)
ROUTES: dict[str, Builder] = {
    # pages
    "dashboard": lambda people, me: ("GET", page("core:dashboard"), None),
    "audit": lambda people, me: ("GET", page("core:audit"), {"action": "member."}),
    "audit-export": lambda people, me: ("GET", page("core:audit-export"), None),
    "org-settings": lambda people, me: (
        "POST",
        page("core:org-settings"),
        {"name": "Acme Diagnostics SAS"},
    ),
    "members": lambda people, me: ("GET", page("accounts:members"), None),
    "member-add": lambda people, me: ("POST", page("accounts:member-add"), NEW_MEMBER),
    "member-edit": lambda people, me: (
        "POST",
        page("accounts:member-edit", member_id=member_id(people, "tech_all")),
        MEMBER_FORM,
    ),
    "member-block": lambda people, me: (
        "POST",
        page("accounts:member-block", member_id=member_id(people, "tech_own")),
        None,
    ),
    "member-unblock": lambda people, me: (
        "POST",
        page("accounts:member-unblock", member_id=member_id(people, "blocked")),
        None,
    ),
    "member-password": lambda people, me: (
        "POST",
        page("accounts:member-password", member_id=member_id(people, "tech_own")),
        None,
    ),
    "member-invite": lambda people, me: (
        "POST",
        page("accounts:member-invite", member_id=member_id(people, "tech_all")),
        None,
    ),
    "member-remove": lambda people, me: (
        "POST",
        page("accounts:member-remove", member_id=fresh_invitee(people)),
        None,
    ),
    "member-certification": lambda people, me: (
        "POST",
        page("accounts:member-certification", member_id=member_id(people, "tech_all")),
        CERTIFICATION,
    ),
    "tokens": lambda people, me: (
        "POST",
        page("accounts:tokens"),
        {"name": "Sauvegarde", "scope": "read"},
    ),
    "token-revoke": lambda people, me: (
        "POST",
        page("accounts:token-revoke", token_id=own_token_id(me)),
        None,
    ),
    # API
    "api-roles": lambda people, me: ("GET", f"{API}/roles", None),
    "api-audit": lambda people, me: ("GET", f"{API}/audit", {"action": "member."}),
    "api-members": lambda people, me: ("GET", f"{API}/members", None),
    "api-member": lambda people, me: (
        "GET",
        f"{API}/members/{member_id(people, 'tech_all')}",
        None,
    ),
    "api-member-add": lambda people, me: (
        "POST",
        f"{API}/members",
        {"display_name": "Nina Nouvelle", "role": "backoffice", "email": "nina@acme.test"},
    ),
    "api-member-change": lambda people, me: (
        "PATCH",
        f"{API}/members/{member_id(people, 'tech_all')}",
        {"phone": "06 99 99 99 99"},
    ),
    "api-member-block": lambda people, me: (
        "POST",
        f"{API}/members/{member_id(people, 'tech_own')}/block",
        None,
    ),
    "api-member-unblock": lambda people, me: (
        "POST",
        f"{API}/members/{member_id(people, 'blocked')}/unblock",
        None,
    ),
    "api-tokens": lambda people, me: ("GET", f"{API}/tokens", None),
    "api-token-add": lambda people, me: ("POST", f"{API}/tokens", {"name": "Sauvegarde"}),
    "api-token-revoke": lambda people, me: ("DELETE", f"{API}/tokens/{own_token_id(me)}", None),
}


def _app_routes() -> None:
    """Each app's tests declare their routes in tests/<app>/routes.py (ROUTES, SUCCESS_STATUS)."""
    import importlib
    import pkgutil

    import tests

    for module in pkgutil.iter_modules(tests.__path__):
        try:
            routes = importlib.import_module(f"tests.{module.name}.routes")
        except ModuleNotFoundError:
            continue
        ROUTES.update(routes.ROUTES)
        SUCCESS_STATUS.update(getattr(routes, "SUCCESS_STATUS", {}))


# A page answers 200 to GET and redirects after a successful POST, except:
SUCCESS_STATUS = {
    "tokens": 200,  # shows the new token's secret once, on the same page
}
_app_routes()

PAGE_PERSONAS = list(PERSONA_ROLES)  # admin, backoffice, tech_all, tech_own, tech_station
API_PERSONAS = [key for key in PERSONA_ROLES if key != "tech_station"]
CASES = [
    pytest.param(rule, key, id=f"{rule.name}-{key}")
    for rule in ROUTE_RULES.values()
    for key in (PAGE_PERSONAS if rule.kind == "page" else API_PERSONAS)
]


def expected_allowed(rule: RouteRule, role: str) -> bool:
    """The role matrix's answer; no resource means any active member with web access."""
    if rule.kind == "page" and not ROLE_SPECS[role].web_access:
        return False
    return rule.resource is None or allows(role, rule.resource, rule.action)


def test_every_route_has_a_request():
    missing = sorted(set(ROUTE_RULES) - set(ROUTES))
    assert not missing, f"add these routes to ROUTES in {__name__}: {missing}"
    stale = sorted(set(ROUTES) - set(ROUTE_RULES))
    assert not stale, f"these ROUTES entries match no registered route: {stale}"


def test_the_registry_holds_pages_and_api():
    kinds = {rule.kind for rule in ROUTE_RULES.values()}
    assert kinds == {"page", "api"}
    assert len(CASES) == sum(5 if rule.kind == "page" else 4 for rule in ROUTE_RULES.values())


@pytest.mark.parametrize(("rule", "key"), CASES)
def test_route_obeys_the_role_matrix(people, rule, key):
    if rule.name not in ROUTES:
        pytest.fail(f"add {rule.name!r} to ROUTES in {__name__}")
    me = people[key]
    method, url, data = ROUTES[rule.name](people, me)
    client = me.client() if rule.kind == "page" else me.api()
    if expected_allowed(rule, me.member.role):
        response = send(client, method, url, data)
        assert response.status_code not in (403, 404), (
            f"{key} should reach {method} {url}, got {response.status_code}"
        )
        if rule.kind == "page":
            default = 302 if method == "POST" else 200
            assert response.status_code == SUCCESS_STATUS.get(rule.name, default)
        else:
            assert response.status_code in (200, 201, 204)
        return
    with nothing_changes():
        response = send(client, method, url, data)
    assert response.status_code == 403, f"{key} {method} {url}: got {response.status_code}"
    if rule.kind == "page":
        assert response["Content-Type"].startswith("text/html")
        message = (
            "Your profile has no access to the web interface."
            if not me.member.spec.web_access
            else "Your role does not allow this action."
        )
        assert shows(response, message)
    else:
        assert response.json() == {
            "code": "forbidden",
            "message": fr("Your role does not allow this action."),
            "details": {},
        }


def test_station_technician_is_refused_on_every_page(people):
    """Spelled out, whatever the matrix says: no web access at all."""
    me = people["tech_station"]
    for rule in ROUTE_RULES.values():
        if rule.kind != "page":
            continue
        method, url, data = ROUTES[rule.name](people, me)
        with nothing_changes():
            response = send(me.client(), method, url, data)
        assert response.status_code == 403, f"{rule.name}: {response.status_code}"


def test_blocked_member_gets_404_on_every_page(people):
    me = people["blocked"]
    for rule in ROUTE_RULES.values():
        if rule.kind != "page":
            continue
        method, url, data = ROUTES[rule.name](people, people["admin"])
        with nothing_changes():
            response = send(me.client(), method, url, data)
        assert response.status_code == 404, f"{rule.name}: {response.status_code}"


def test_blocked_member_token_is_revoked_everywhere(people):
    """A member blocked after getting a token: the token answers 401 on every endpoint."""
    me = people["tech_all"]
    services.block_member(me.member, actor=people["admin"].user)
    for rule in ROUTE_RULES.values():
        if rule.kind != "api":
            continue
        method, url, data = ROUTES[rule.name](people, me)
        with nothing_changes():
            response = send(me.api(), method, url, data)
        assert response.status_code == 401, f"{rule.name}: {response.status_code}"
        assert response.json() == {
            "code": "unauthenticated",
            "details": {},
            "message": fr("Authentication required: send “Authorization: Bearer <token>”."),
        }


def test_outsider_gets_404_everywhere(people):
    """The administrator of another organisation: 404 on every route of "acme"."""
    outsider = people["outsider"]
    for rule in ROUTE_RULES.values():
        method, url, data = ROUTES[rule.name](people, outsider)
        client = outsider.client() if rule.kind == "page" else outsider.api()
        assert_outsider_gets_404(client, method, url, data)
