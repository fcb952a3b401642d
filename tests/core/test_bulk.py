"""`insert_rows` and `one_of`: the bulk helpers the sync hub writes thousands of rows with."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from comptoir.core.bulk import Insert, give_keys, insert_rows, object_rows, one_of, one_of_uuids
from comptoir.dossiers.models import Blob, Document, Dossier, DossierRevision
from tests.agenda.factories import a_dossier


def sha(index: int) -> str:
    return hashlib.sha256(str(index).encode()).hexdigest()


def test_rows_take_the_fields_defaults_like_the_orm(people):
    dossier = a_dossier(people)
    org = dossier.organization
    insert_rows(
        Document,
        [
            {
                "organization_id": org.pk,
                "dossier_id": dossier.pk,
                "name": f"rapport-{index}.pdf",
                "file": f"blobs/{sha(index)}",
                "content_type": "application/pdf",
                "size": 10 + index,
                "sha256": sha(index),
            }
            for index in range(3)
        ],
    )
    documents = list(Document.objects.filter(dossier=dossier).order_by("name"))
    assert [d.name for d in documents] == ["rapport-0.pdf", "rapport-1.pdf", "rapport-2.pdf"]
    assert len({d.public_id for d in documents}) == 3  # a callable default, once per row
    assert all(d.kind == Document.Kind.OTHER and d.source == "" for d in documents)
    assert all(d.uploaded_at is not None and d.removed_at is None for d in documents)
    assert documents[2].file.name == f"blobs/{sha(2)}" and documents[2].size == 12


def test_a_column_some_rows_leave_out_takes_its_default_in_those_rows_only(people):
    dossier = a_dossier(people)
    org = dossier.organization
    gone = timezone.now() - timedelta(days=2)
    base = {"organization_id": org.pk, "dossier_id": dossier.pk, "size": 1}
    insert_rows(
        Document,
        [
            {**base, "name": "a.pdf", "sha256": sha(1), "source": "station:PC", "removed_at": gone},
            {**base, "name": "b.pdf", "sha256": sha(2)},
            {**base, "name": "c.pdf", "sha256": sha(3), "kind": Document.Kind.PHOTO},
        ],
    )
    found = {d.name: d for d in Document.objects.filter(dossier=dossier)}
    assert found["a.pdf"].source == "station:PC" and found["a.pdf"].removed_at == gone
    assert found["b.pdf"].source == "" and found["b.pdf"].removed_at is None
    assert found["b.pdf"].kind == Document.Kind.OTHER and found["c.pdf"].kind == Document.Kind.PHOTO
    assert found["c.pdf"].removed_at is None and found["c.pdf"].source == ""


def test_json_and_dates_are_stored_as_the_orm_reads_them(people):
    dossier = a_dossier(people)
    document = {"id": str(dossier.public_id), "nested": {"é": [1, 2]}}
    insert_rows(
        DossierRevision, [{"dossier_id": dossier.pk, "rev": "1-" + "a" * 32, "document": document}]
    )
    revision = DossierRevision.objects.get(dossier=dossier, rev="1-" + "a" * 32)
    assert revision.document == document and revision.created_at is not None


def test_a_broken_constraint_is_an_integrity_error_and_writes_nothing(people):
    org = a_dossier(people).organization
    rows = [{"organization_id": org.pk, "sha256": sha(1), "size": 1}] * 2
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(Blob, rows)
    assert not Blob.objects.filter(organization=org).exists()


def test_no_rows_is_no_query(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        insert_rows(Blob, [])


@pytest.mark.parametrize("count", [0, 1, 40_000])
def test_one_of_matches_a_long_list_in_one_parameter(people, count):
    org = a_dossier(people).organization
    insert_rows(Blob, [{"organization_id": org.pk, "sha256": sha(i), "size": i} for i in range(5)])
    wanted = [sha(i) for i in range(3, 3 + count)]
    found = set(
        Blob.objects.filter(organization=org, sha256__in=one_of(wanted)).values_list(
            "sha256", flat=True
        )
    )
    assert found == {sha(i) for i in range(3, min(5, 3 + count))}


def test_callable_uuid_defaults_are_random_version_4_uuids(people):
    dossier = a_dossier(people)
    org = dossier.organization
    rows = [
        {
            "organization_id": org.pk,
            "dossier_id": dossier.pk,
            "name": f"f{i}",
            "sha256": sha(i),
            "size": i,
        }
        for i in range(200)
    ]
    insert_rows(Document, rows)
    ids = list(Document.objects.filter(dossier=dossier).values_list("public_id", flat=True))
    assert len(set(ids)) == 200
    assert {value.version for value in ids} == {4}
    assert {value.variant for value in ids} == {uuid.RFC_4122}


def unsaved(model: Dossier, prefix: str, count: int, first_seq: int = 0) -> list[Dossier]:
    """`count` new dossiers beside `model`, numbered `prefix`-0, -1…"""
    return [
        Dossier(
            organization=model.organization,
            number=f"{prefix}-{i}",
            created_by=model.created_by,
            change_seq=first_seq + i,
            year=model.year,
            sequence=i,
        )
        for i in range(count)
    ]


def insert_objects(objects: list[Dossier]) -> None:
    Insert(Dossier, object_rows(Dossier, objects)).run()
    give_keys(Dossier, objects, key="public_id")


def test_inserted_objects_are_written_and_given_their_keys(people):
    model = a_dossier(people)
    org = model.organization
    objects = unsaved(model, "BULK", 3, first_seq=1000)
    objects[0].public_id = str(uuid.uuid4()).upper()  # text, as a station may send it
    insert_objects(objects)
    for obj in objects:
        stored = Dossier.objects.get(pk=obj.pk)
        assert stored.number == obj.number and stored.change_seq == obj.change_seq
        assert str(stored.public_id) == str(obj.public_id).lower()
        assert not obj._state.adding
    objects[1].number = "BULK-1b"
    objects[1].save(update_fields=["number"])  # an UPDATE of the row, not a second INSERT
    assert Dossier.objects.filter(organization=org, number__startswith="BULK-").count() == 3


def test_object_rows_stamp_auto_now_dates_like_save(people):
    model = a_dossier(people)
    objects = unsaved(model, "STAMP", 2, first_seq=2000)
    insert_objects(objects)
    stored = Dossier.objects.get(pk=objects[0].pk)
    assert objects[0].updated_at is not None
    assert stored.updated_at == objects[0].updated_at  # the instance holds what was written


def test_uuid_values_given_as_text_are_stored_as_the_orm_stores_them(people):
    dossier = a_dossier(people)
    given = uuid.uuid4()
    insert_rows(
        Document,
        [
            {
                "organization_id": dossier.organization.pk,
                "dossier_id": dossier.pk,
                "public_id": str(given).upper(),
                "name": "a.pdf",
                "sha256": sha(1),
                "size": 1,
            }
        ],
    )
    assert Document.objects.get(public_id=given).name == "a.pdf"


def test_one_of_uuids_matches_uuids_and_their_text_and_skips_what_is_no_uuid(people):
    dossier = a_dossier(people)
    other = a_dossier(people)
    wanted = [str(dossier.public_id).upper(), other.public_id, "not-a-uuid", ""]
    found = set(
        Dossier.objects.filter(public_id__in=one_of_uuids(wanted)).values_list("pk", flat=True)
    )
    assert found == {dossier.pk, other.pk}
    assert not Dossier.objects.filter(public_id__in=one_of_uuids(["nope"])).exists()


def test_a_column_set_after_the_rows_were_prepared_is_what_is_written(people):
    model = a_dossier(people)
    objects = unsaved(model, "LATE", 3)
    insert = Insert(Dossier, object_rows(Dossier, objects))
    assert not Dossier.objects.filter(number__startswith="LATE-").exists()  # nothing yet
    insert.set("change_seq", [3000, 3001, 3002])
    when = timezone.now() - timedelta(days=3)
    insert.set("appointment_at", [when, None, when])  # prepared as the field prepares it
    with pytest.raises(ValueError, match="2 values for 3 rows"):
        insert.set("change_seq", [1, 2])
    insert.run()
    stored = dict(
        Dossier.objects.filter(number__startswith="LATE-").values_list("number", "change_seq")
    )
    assert stored == {"LATE-0": 3000, "LATE-1": 3001, "LATE-2": 3002}
    assert Dossier.objects.get(number="LATE-0").appointment_at == when
    assert Dossier.objects.get(number="LATE-1").appointment_at is None
