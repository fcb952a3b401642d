"""The dossier services desktop clients write through (comptoir.webdav): versions,
removal, rename and copy keep the file list unique and lose nothing."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from comptoir.core.errors import Conflict, DomainError
from comptoir.core.models import Organization
from comptoir.dossiers import services
from comptoir.dossiers.models import Blob, Document


@pytest.fixture
def dossier(people):
    admin = people["admin"]
    return services.create_dossier(
        admin.member, services.DossierInput({}, ["dpe"]), actor=admin.user
    )


def write(dossier, name, data, actor):
    return services.write_document(dossier, ContentFile(data, name=name), name=name, actor=actor)


def test_a_new_version_keeps_the_previous_one_and_counts_bytes_once(people, dossier):
    actor = people["admin"].user
    org = dossier.organization
    first = write(dossier, "rapport.pdf", b"v1", actor)
    second = write(dossier, "rapport.pdf", b"v2", actor)
    again = write(dossier, "rapport.pdf", b"v2", actor)
    first.refresh_from_db()
    assert again.pk == second.pk
    assert (first.removed_at is not None, second.removed_at) == (True, None)
    assert Organization.objects.get(pk=org.pk).storage_used_bytes == 4
    third = write(dossier, "copie.pdf", b"v1", actor)  # bytes the organisation already has
    assert third.sha256 == hashlib.sha256(b"v1").hexdigest()
    assert Organization.objects.get(pk=org.pk).storage_used_bytes == 4


def test_remove_is_soft_and_happens_once(people, dossier):
    actor = people["admin"].user
    document = write(dossier, "plan.pdf", b"plan", actor)
    assert services.remove_document(document, actor=actor) is True
    assert services.remove_document(document, actor=actor) is False
    assert Document.objects.get(pk=document.pk).removed_at is not None


def test_rename_refuses_a_taken_name_and_bad_names(people, dossier):
    actor = people["admin"].user
    document = write(dossier, "a.pdf", b"a", actor)
    write(dossier, "b.pdf", b"b", actor)
    with pytest.raises(Conflict):
        services.rename_document(document, "B.PDF", actor=actor)
    with pytest.raises(DomainError):
        services.rename_document(document, "../a.pdf", actor=actor)
    renamed = services.rename_document(document, "A.PDF", actor=actor)  # its own name, new case
    assert (renamed.pk, renamed.name) == (document.pk, "A.PDF")


def test_copy_refuses_bytes_purged_from_the_cloud(people, dossier):
    actor = people["admin"].user
    document = write(dossier, "a.pdf", b"a", actor)
    Blob.objects.filter(sha256=document.sha256).update(purged_at=timezone.now())
    with pytest.raises(Conflict):
        services.copy_document(document, dossier, name="b.pdf", actor=actor)


@pytest.mark.parametrize(
    "name",
    [
        "rapport.pdf",
        "PHOTO.JPG",
        "plan.v2.dxf",
        "archive.tar.gz",
        "sans-extension",
        ".cache",
        "a.b",
    ],
)
def test_a_documents_content_type_is_the_standard_guess_for_its_name(name):
    import mimetypes

    from comptoir.dossiers.exchange import content_type_for

    expected = mimetypes.guess_type(name)[0] or "application/octet-stream"
    assert content_type_for(name) == expected
    assert content_type_for(name) == expected  # and again, from the cache
