"""`exchange.touch`: the web's records become the dossier's head document, once, even
when two requests touch the same dossier at the same time."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from comptoir.dossiers import exchange
from comptoir.dossiers.models import Dossier, DossierRevision
from tests.agenda.factories import a_dossier


def changed_behind_its_back(people) -> Dossier:
    """A dossier whose records changed without a revision (as before a touch)."""
    dossier = a_dossier(people)
    Dossier.objects.filter(pk=dossier.pk).update(property_city="Roubaix")
    return dossier


def test_a_touch_writes_the_change_once_and_a_second_changes_nothing(people):
    dossier = changed_behind_its_back(people)
    before = DossierRevision.objects.filter(dossier=dossier).count()
    exchange.touch(dossier, source="hub")
    dossier.refresh_from_db()
    head = dossier.revision
    assert DossierRevision.objects.filter(dossier=dossier).count() == before + 1
    assert exchange.head_document(dossier)["property"]["city"] == "Roubaix"
    exchange.touch(dossier, source="hub")
    dossier.refresh_from_db()
    assert dossier.revision == head
    assert DossierRevision.objects.filter(dossier=dossier).count() == before + 1


def test_a_touch_that_loses_the_race_finds_the_revision_written_and_stops(people):
    """The other request wrote the same revision between this one's read and its write
    (a database without row locks): no error, and the revision is there once."""
    dossier = changed_behind_its_back(people)
    dossier.refresh_from_db()
    document = exchange.to_document(dossier, exchange.head_document(dossier))
    rev = exchange.revision_id(document, dossier.revision)
    DossierRevision.objects.create(
        dossier=dossier, rev=rev, base_rev=dossier.revision, document=document, source="other"
    )
    exchange.touch(dossier, source="hub")
    assert DossierRevision.objects.filter(dossier=dossier, rev=rev).count() == 1


def test_another_integrity_error_is_not_swallowed(people, monkeypatch):
    dossier = changed_behind_its_back(people)

    def broken(*args, **kwargs):
        raise IntegrityError("something else")

    monkeypatch.setattr(exchange, "commit_revision", broken)
    with pytest.raises(IntegrityError):
        exchange.touch(dossier, source="hub")
