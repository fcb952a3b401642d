"""The role matrix against the seed's table, cell by cell, and against docs/roles.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from comptoir.core.roles import ROLE_SPECS, Action, Resource, Role, allows
from comptoir.core.roles_doc import render_roles_markdown

A, B, TA, TO, TS = (
    Role.ADMIN,
    Role.BACKOFFICE,
    Role.TECHNICIAN_ALL,
    Role.TECHNICIAN_OWN,
    Role.TECHNICIAN_STATION,
)
V, ADD, CH, D = Action.VIEW, Action.ADD, Action.CHANGE, Action.DELETE

# (role, resource) -> (actions allowed on any record, actions allowed on own records)
EXPECTED = {
    (A, Resource.CONTACTS): ({V, ADD, CH, D}, {V, ADD, CH, D}),
    (B, Resource.CONTACTS): ({V, ADD, CH, D}, {V, ADD, CH, D}),
    (TA, Resource.CONTACTS): ({V, ADD, CH, D}, {V, ADD, CH, D}),
    (A, Resource.DOSSIERS): ({V, ADD, CH, D}, {V, ADD, CH, D}),
    (B, Resource.DOSSIERS): ({V, ADD, CH}, {V, ADD, CH}),
    (TA, Resource.DOSSIERS): ({V, ADD, CH}, {V, ADD, CH}),
    (TO, Resource.DOSSIERS): (set(), {V, ADD, CH}),
    (A, Resource.CALENDAR): ({V, ADD, CH, D}, {V, ADD, CH, D}),
    (B, Resource.CALENDAR): ({V, ADD, CH, D}, {V, ADD, CH, D}),
    (TA, Resource.CALENDAR): (set(), {V, ADD, CH, D}),
    (TO, Resource.CALENDAR): (set(), {V, ADD, CH, D}),
    (A, Resource.RECEIPTS): ({V, ADD, CH, D}, {V, ADD, CH, D}),
    (B, Resource.RECEIPTS): ({V, ADD, CH, D}, {V, ADD, CH, D}),
    (A, Resource.MILEAGE): ({V, ADD, CH, D}, {V, ADD, CH, D}),
    (B, Resource.MILEAGE): ({V, ADD, CH, D}, {V, ADD, CH, D}),
    (A, Resource.SETTINGS): ({V, ADD, CH, D}, {V, ADD, CH, D}),
}

CELLS = [
    (role, resource, action) for role in ROLE_SPECS for resource in Resource for action in Action
]


@pytest.mark.parametrize(("role", "resource", "action"), CELLS)
def test_every_cell_matches_the_seed(role, resource, action):
    anyone, own = EXPECTED.get((role, resource), (set(), set()))
    assert allows(role, resource, action, own=False) is (action in anyone)
    assert allows(role, resource, action, own=True) is (action in own)


def test_web_access_per_role():
    assert {role for role, spec in ROLE_SPECS.items() if not spec.web_access} == {TS}
    assert all(spec.station_access for spec in ROLE_SPECS.values())


def test_roles_doc_matches_the_matrix():
    doc = Path(__file__).resolve().parents[2] / "docs" / "roles.md"
    assert doc.read_text(encoding="utf-8") == render_roles_markdown(), (
        "docs/roles.md is out of date: run `comptoir roles_doc`"
    )
