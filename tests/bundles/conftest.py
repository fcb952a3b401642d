"""Fixtures of the bundle tests."""

from __future__ import annotations

from typing import Any

import pytest

from comptoir.accounts import services as accounts
from tests.conftest import Persona


@pytest.fixture
def admin(people: dict[str, Persona]) -> Persona:
    return people["admin"]


@pytest.fixture
def technician(people: dict[str, Persona]) -> Any:
    """The all-dossiers technician, the only member with the initials TA."""
    admin = people["admin"].user
    for key, initials in (("tech_own", "TO"), ("tech_station", "TS"), ("blocked", "BL")):
        accounts.update_member(people[key].member, actor=admin, initials=initials)
    member = people["tech_all"].member
    accounts.update_member(member, actor=admin, initials="TA", phone="")
    member.refresh_from_db()
    return member
