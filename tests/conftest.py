"""Personas every feature's tests reuse, and the helpers that check refusals.

Each organisation in tests has an administrator, a back-office assistant, a
technician of each kind, a blocked former technician; `outsider` is the
administrator of another organisation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.test import Client

os.environ.setdefault("COMPTOIR_TESTING", "1")

PASSWORD = "persona-password-2026"


@dataclass
class Persona:
    key: str
    member: Any  # comptoir.core.models.Membership
    token: str  # a read-write personal token

    @property
    def user(self) -> Any:
        return self.member.user

    @property
    def org(self) -> Any:
        return self.member.organization

    def client(self) -> Client:
        client = Client()
        client.force_login(self.user, backend="comptoir.accounts.backends.LoginOrEmailBackend")
        return client

    def api(self) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Bearer {self.token}")


PERSONA_ROLES = {
    "admin": "admin",
    "backoffice": "backoffice",
    "tech_all": "technician_all",
    "tech_own": "technician_own",
    "tech_station": "technician_station",
}


def make_org(slug: str, name: str) -> dict[str, Persona]:
    from comptoir.accounts import services, tokens
    from comptoir.core.models import Plan
    from comptoir.core.services import create_organization

    plan, _ = Plan.objects.get_or_create(
        code="test", defaults={"name": "Test", "max_web_users": 50}
    )
    org = create_organization(name, slug, "business", plan=plan)
    people: dict[str, Persona] = {}
    admin_user = None
    for key, role in [*PERSONA_ROLES.items(), ("blocked", "technician_all")]:
        new = services.add_member(
            org,
            actor=admin_user,
            display_name=f"{key.title()} {slug}",
            role=role,
            email=f"{key}@{slug}.test",
            login=f"{key}-{slug}",
        )
        member = new.membership
        member.user.set_password(PASSWORD)
        member.user.save(update_fields=["password"])
        admin_user = admin_user or member.user
        token = ""
        if key != "blocked":
            _t, token = tokens.create_token(member, "tests", actor=member.user)
        people[key] = Persona(key, member, token)
    services.block_member(people["blocked"].member, actor=admin_user)
    for persona in people.values():
        persona.member.refresh_from_db()
    return people


@pytest.fixture
def people(db: Any) -> dict[str, Persona]:
    """The personas of "acme", plus `outsider`: the administrator of "globex"."""
    acme = make_org("acme", "Acme Diagnostics")
    globex = make_org("globex", "Globex Expertises")
    acme["outsider"] = globex["admin"]
    return acme


@pytest.fixture
def admin(people: dict[str, Persona]) -> Persona:
    return people["admin"]


@pytest.fixture
def outsider(people: dict[str, Persona]) -> Persona:
    return people["outsider"]


# Touched by any authenticated call, refused or not: not a business change.
VOLATILE = {"last_used_at", "last_login"}


def database_state() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every Comptoir table, to prove a refused request wrote nothing."""
    state = {}
    for model in apps.get_models():
        if model._meta.app_label in {"core", "accounts"} or model.__module__.startswith(
            "comptoir."
        ):
            fields = [
                field.attname
                for field in model._meta.concrete_fields
                if field.attname not in VOLATILE
            ]
            rows = model._default_manager.order_by("pk").values_list(*fields)
            state[model._meta.label] = list(rows)
    return state


@contextmanager
def nothing_changes() -> Iterator[None]:
    before = database_state()
    yield
    after = database_state()
    changed = [label for label in before if before[label] != after[label]]
    assert not changed, f"a refused request changed {changed}"


@pytest.fixture
def assert_nothing_changes() -> Callable[[], Any]:
    return nothing_changes


@pytest.fixture(autouse=True)
def french_by_default() -> Iterator[None]:
    """Each test starts in French, like a fresh request: a previous test's request with
    an English cookie must not leave its language active in this thread."""
    from django.utils import translation

    translation.activate("fr")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def empty_cache(request: pytest.FixtureRequest) -> None:
    """Each test that uses the database starts with an empty cache: the embedded cache is
    a table that transactional tests (live servers) commit to, and nothing else empties."""
    used = [name for name in ("transactional_db", "db") if name in request.fixturenames]
    if used:
        from django.core.cache import cache

        request.getfixturevalue(used[0])
        cache.clear()
