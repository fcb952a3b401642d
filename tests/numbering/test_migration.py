"""Existing organisations carry on their dossier numbering when the series take over."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from comptoir.core.services import create_organization
from comptoir.numbering import services
from comptoir.numbering.models import IssuedNumber

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("dossiers", "0003_sync_revisions"), ("numbering", "0001_initial")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest():
    """Every app's last migration: going back to BEFORE also unapplied the apps that
    depend on dossiers (sync, agenda, expenses…); they must come back too, or the
    tests run after this one on the same database would miss their tables."""
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def test_counters_and_numbers_are_carried_over():
    org = create_organization("Ancienne SARL", "ancienne", "business")
    old = migrate(BEFORE)
    counter = old.get_model("dossiers", "DossierCounter")
    dossier = old.get_model("dossiers", "Dossier")
    counter.objects.create(organization_id=org.pk, year=2025, last=812)
    counter.objects.create(organization_id=org.pk, year=2026, last=41)
    for sequence in (41, 43):  # 43: a number above the counter (given by hand)
        dossier.objects.create(
            organization_id=org.pk,
            number=f"2026-{sequence:05d}",
            year=2026,
            sequence=sequence,
            created_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
        )

    migrate(latest())

    assert services.allocate(org, "dossier", when=date(2025, 12, 1)) == "2025-00813"
    assert services.allocate(org, "dossier", when=date(2026, 12, 1)) == "2026-00044"
    carried = IssuedNumber.objects.filter(organization=org, number__in=["2026-00041", "2026-00043"])
    assert sorted(carried.values_list("number", "counter", "dated", "reserved_by")) == [
        ("2026-00041", 41, date(2026, 3, 2), "web"),
        ("2026-00043", 43, date(2026, 3, 2), "web"),
    ]

    # and back: the yearly counters get the highest values given
    old = migrate(BEFORE)
    counters = old.get_model("dossiers", "DossierCounter").objects.filter(organization_id=org.pk)
    assert sorted(counters.values_list("year", "last")) == [(2025, 813), (2026, 44)]
    migrate(latest())
