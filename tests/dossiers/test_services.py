"""Dossier domain rules: numbering, scope, lifecycle, deletion, documents, quota."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from comptoir.contacts.services import create_contact
from comptoir.core.errors import Conflict, DomainError, Forbidden, LimitExceeded
from comptoir.core.models import AuditEntry, Organization, Plan
from comptoir.core.services import release_storage
from comptoir.dossiers import blobs, services
from comptoir.dossiers.lifecycle import LIFECYCLE, Status, may_move
from comptoir.dossiers.models import Blob, Document, Dossier


def new(person, **fields):
    codes = fields.pop("missions", ["dpe"])
    return services.create_dossier(
        person.member, services.DossierInput(fields, codes), actor=person.user
    )


def test_numbers_are_sequential_per_year_and_organisation(people):
    admin, outsider = people["admin"], people["outsider"]
    first, second = new(admin), new(admin)
    other = new(outsider)
    year = first.year
    assert (first.number, second.number) == (f"{year}-00001", f"{year}-00002")
    assert other.number == f"{year}-00001"


def test_create_records_missions_and_audit(people):
    admin = people["admin"]
    dossier = new(
        admin, missions=["dpe", "amiante", "dpe"], property_city="Lille", surface=Decimal("45.50")
    )
    assert sorted(dossier.missions.values_list("mission_type__code", flat=True)) == [
        "amiante",
        "dpe",
    ]
    entry = AuditEntry.objects.get(action="dossier.create", object_id=str(dossier.public_id))
    assert entry.after["missions"] == ["amiante", "dpe"]
    assert entry.after["surface"] == "45.50"
    assert entry.actor == admin.user


def test_unknown_mission_type_is_refused_and_nothing_written(people, assert_nothing_changes):
    admin = people["admin"]
    new(admin)  # the mission types exist
    with assert_nothing_changes(), pytest.raises(DomainError) as raised:
        new(admin, missions=["dpe", "radon"])
    assert raised.value.details == {"field": "missions"}
    assert "radon" in raised.value.message


def test_own_scope_technician_creates_dossiers_for_themselves(people):
    tech = people["tech_own"]
    dossier = new(tech, technician=people["tech_all"].member)
    assert dossier.technician == tech.member


def test_own_scope_technician_cannot_hand_a_dossier_over(people):
    tech = people["tech_own"]
    dossier = new(tech)
    with pytest.raises(Forbidden):
        services.update_dossier(
            tech.member,
            dossier,
            services.DossierInput({"technician": people["tech_all"].member}),
            actor=tech.user,
        )


def test_blocked_or_foreign_technician_is_refused(people):
    admin = people["admin"]
    for technician in (people["blocked"].member, people["outsider"].member):
        with pytest.raises(DomainError) as raised:
            new(admin, technician=technician)
        assert raised.value.details == {"field": "technician"}


def test_foreign_contact_is_refused(people):
    stranger = create_contact(people["outsider"].org, actor=None, last_name="Étranger")
    with pytest.raises(DomainError) as raised:
        new(people["admin"], ordering_party=stranger)
    assert raised.value.details == {"field": "ordering_party"}


def test_appointment_schedules_the_dossier(people):
    from django.utils import timezone

    dossier = new(people["admin"], appointment_at=timezone.now())
    assert dossier.status == Status.SCHEDULED


def test_update_audits_only_what_changed(people):
    admin = people["admin"]
    dossier = new(admin, floor="1", property_city="Lille")
    services.update_dossier(
        admin.member, dossier, services.DossierInput({"floor": "2"}), actor=admin.user
    )
    entry = AuditEntry.objects.get(action="dossier.update", object_id=str(dossier.public_id))
    assert (entry.before, entry.after) == ({"floor": "1"}, {"floor": "2"})


def test_search_text_folds_accents_and_case(people):
    owner = create_contact(people["admin"].org, actor=None, first_name="Élodie", last_name="MÜLLER")
    dossier = new(people["admin"], property_street="12 Rue de l'Église", owner=owner)
    assert "rue de l'eglise" in dossier.search_text
    assert "elodie muller" in dossier.search_text


@pytest.mark.parametrize("step", LIFECYCLE, ids=lambda step: step.status)
def test_lifecycle_moves(people, step):
    dossier = new(people["admin"])
    Dossier.objects.filter(pk=dossier.pk).update(status=step.status)
    dossier.refresh_from_db()
    for target in Status:
        allowed = target in step.moves_to
        assert may_move(step.status, target) is allowed
    target = step.moves_to[0]
    services.change_status(dossier, target, actor=people["admin"].user)
    assert Dossier.objects.get(pk=dossier.pk).status == target


def test_invalid_move_is_a_conflict(people):
    dossier = new(people["admin"])
    with pytest.raises(Conflict) as raised:
        services.change_status(dossier, Status.PAID, actor=people["admin"].user)
    assert raised.value.code == "invalid_transition"
    assert Dossier.objects.get(pk=dossier.pk).status == Status.TO_SCHEDULE


def test_delete_keeps_a_tombstone_and_refuses_with_documents(people):
    admin = people["admin"]
    empty, filled = new(admin), new(admin)
    services.add_document(
        filled, ContentFile(b"%PDF-1.4 x", name="r.pdf"), kind="report", actor=admin.user
    )
    services.delete_dossier(empty, actor=admin.user)
    assert Dossier.objects.get(pk=empty.pk).deleted_at is not None
    with pytest.raises(Conflict) as raised:
        services.delete_dossier(filled, actor=admin.user)
    assert raised.value.code == "dossier_not_deletable"
    assert Dossier.objects.get(pk=filled.pk).deleted_at is None


def test_document_is_hashed_stored_and_counted(people):
    admin = people["admin"]
    dossier = new(admin)
    document = services.add_document(
        dossier, ContentFile(b"hello", name="note.txt"), kind="other", actor=admin.user
    )
    assert document.sha256 == ("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
    assert (document.size, document.name, document.content_type) == (5, "note.txt", "text/plain")
    assert document.file.read() == b"hello"
    assert Organization.objects.get(pk=admin.org.pk).storage_used_bytes == 5


def test_document_over_quota_is_refused_and_nothing_kept(people):
    admin = people["admin"]
    dossier = new(admin)
    plan = admin.org.plan
    plan.storage_quota_bytes = 10
    plan.save()
    with pytest.raises(LimitExceeded) as raised:
        services.add_document(
            dossier, ContentFile(b"x" * 11, name="big.pdf"), kind="report", actor=admin.user
        )
    assert raised.value.code == "quota_exceeded"
    assert Document.objects.count() == 0
    assert Organization.objects.get(pk=admin.org.pk).storage_used_bytes == 0


def test_bytes_purged_from_the_cloud_are_stored_again_and_counted(people):
    admin = people["admin"]
    first = services.add_document(
        new(admin), ContentFile(b"hello", name="note.txt"), kind="other", actor=admin.user
    )
    blob = Blob.objects.get(organization=admin.org, sha256=first.sha256)
    blobs.delete(admin.org, blob.sha256)  # as a cloud clean-up does once its quarantine ends
    Blob.objects.filter(pk=blob.pk).update(purged_at=timezone.now())
    release_storage(admin.org, blob.size)

    again = services.add_document(
        new(admin), ContentFile(b"hello", name="note.txt"), kind="other", actor=admin.user
    )
    assert again.file.read() == b"hello"
    assert Blob.objects.get(pk=blob.pk).purged_at is None
    assert Organization.objects.get(pk=admin.org.pk).storage_used_bytes == 5


def test_empty_document_is_refused(people):
    dossier = new(people["admin"])
    with pytest.raises(DomainError) as raised:
        services.add_document(
            dossier, ContentFile(b"", name="vide.pdf"), kind="report", actor=people["admin"].user
        )
    assert raised.value.details == {"field": "file"}


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from([2025, 2026]), min_size=1, max_size=12))
def test_allocation_never_repeats_or_skips(django_db_blocker, years):
    """Property: numbers of a year are 1..n with no gap and no duplicate."""
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        plan, _new = Plan.objects.get_or_create(code="p", defaults={"name": "P"})
        org = Organization.objects.create(name="P", slug="prop-test", plan=plan)
        given_numbers: dict[int, list[int]] = {}
        for year in years:
            sequence, number = services.allocate_number(org, year)
            given_numbers.setdefault(year, []).append(sequence)
            assert number == f"{year}-{sequence:05d}"
        for sequences in given_numbers.values():
            assert sequences == list(range(1, len(sequences) + 1))
        transaction.set_rollback(True)
