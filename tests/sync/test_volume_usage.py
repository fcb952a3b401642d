"""“Volume de données”: each year shows the bytes the cloud really holds for its dossiers.

`Dossier.files_size` is the size of the head revision's file list: it leaves out the
documents taken out of the list (whose bytes the cloud keeps), counts twice a file
listed twice, and still counts the files of a dossier whose cloud copy was cleaned up.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from comptoir.dossiers import services as dossier_services
from comptoir.dossiers.models import Blob, Document, Dossier
from comptoir.sync import cleanup
from tests.sync.conftest import StationClient, document, item

OLD = b"%PDF report of 2024"
SHARED = b"logo used in 2024 and 2025"
NEW = b"%PDF report of 2025, a little longer"
DRAFT = b"%PDF first draft of the 2025 report, replaced since"
PHOTO = b"\xff\xd8 photo of the boiler"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(autouse=True)
def storage(settings, tmp_path):
    """Blobs go to a fresh folder for each test."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "files")},
        },
    }


def dossier_doc(number: str, created: str, files: list[bytes]) -> dict[str, Any]:
    return document(
        number=number, files=files, created_at=created, year=int(created[:4]), appointment=None
    )


def push(station: StationClient, doc: dict[str, Any], base: str | None = None) -> str:
    result = station.push(item(doc, base)).json()["results"][0]
    assert result["status"] == "accepted", result
    return str(result["rev"])


def sizes(org: Any) -> dict[int, int]:
    return {row["year"]: row["size"] for row in cleanup.usage_by_year(org)}


def used(org: Any) -> int:
    org.refresh_from_db(fields=["storage_used_bytes"])
    return int(org.storage_used_bytes)


def test_a_file_taken_out_of_a_dossier_is_still_held(people, station):
    """A station drops a file from its list: the document is kept, and so are its bytes."""
    org = people["admin"].org
    assert station.batch([NEW, DRAFT]).status_code == 200
    doc = dossier_doc("2025-00001", "2025-02-01T10:00:00+01:00", [NEW, DRAFT])
    rev = push(station, doc)
    kept = [entry for entry in doc["files"] if entry["sha256"] == sha(NEW)]
    push(station, {**doc, "files": kept}, rev)

    dossier = Dossier.objects.get(public_id=doc["id"])
    assert dossier.files_size == len(NEW)  # the list only
    assert Document.objects.get(sha256=sha(DRAFT)).removed_at is not None
    assert Blob.objects.get(sha256=sha(DRAFT)).purged_at is None
    assert sizes(org) == {2025: len(NEW) + len(DRAFT)}
    assert used(org) == len(NEW) + len(DRAFT)


def test_a_document_removed_on_the_web_is_still_held(people):
    """Removing a document on the web keeps its bytes on the cloud: the year still counts them."""
    admin = people["admin"]
    dossier = dossier_services.create_dossier(
        admin.member, dossier_services.DossierInput({}, ["dpe"]), actor=admin.user
    )
    report = dossier_services.add_document(
        dossier,
        SimpleUploadedFile("rapport.pdf", NEW, content_type="application/pdf"),
        kind="report",
        actor=admin.user,
    )
    dossier_services.add_document(
        dossier,
        SimpleUploadedFile("photo.jpg", PHOTO, content_type="image/jpeg"),
        kind="photo",
        actor=admin.user,
    )
    assert dossier_services.remove_document(report, actor=admin.user)
    dossier.refresh_from_db()
    assert dossier.files_size == len(PHOTO)
    assert sizes(admin.org) == {dossier.year: len(NEW) + len(PHOTO)}
    assert used(admin.org) == len(NEW) + len(PHOTO)


def test_bytes_stored_once_count_once_in_a_year(people, station):
    """The same file in two dossiers of a year, or twice in one, is held once."""
    org = people["admin"].org
    assert station.batch([SHARED, NEW]).status_code == 200
    push(station, dossier_doc("2025-00001", "2025-02-01T10:00:00+01:00", [SHARED, NEW]))
    push(station, dossier_doc("2025-00002", "2025-03-01T10:00:00+01:00", [SHARED, SHARED]))
    assert sum(Dossier.objects.values_list("files_size", flat=True)) == 3 * len(SHARED) + len(NEW)
    assert sizes(org) == {2025: len(SHARED) + len(NEW)}
    assert used(org) == len(SHARED) + len(NEW)


def test_a_cleaned_up_year_holds_nothing_once_the_clean_up_ran(people, station):
    """During the quarantine the bytes are still there; after it, the year's dossiers hold
    nothing, even a file the cloud keeps for another year's dossier."""
    admin = people["admin"]
    assert station.batch([OLD, SHARED, NEW]).status_code == 200
    push(station, dossier_doc("2024-00001", "2024-03-10T10:00:00+01:00", [OLD, SHARED]))
    push(station, dossier_doc("2025-00001", "2025-02-01T10:00:00+01:00", [SHARED, NEW]))
    request = cleanup.request(
        admin.org, date(2024, 1, 1), date(2024, 12, 31), actor=admin.user, confirm_senders=True
    )
    in_quarantine = {2025: len(SHARED) + len(NEW), 2024: len(OLD) + len(SHARED)}
    assert sizes(admin.org) == in_quarantine

    assert cleanup.execute_due(request.quarantine_until + timedelta(seconds=1)) == 1
    assert Blob.objects.get(sha256=sha(OLD)).purged_at is not None
    rows = cleanup.usage_by_year(admin.org)
    assert rows == [
        {"year": 2025, "dossiers": 1, "size": len(SHARED) + len(NEW), "quarantined": 0},
        {"year": 2024, "dossiers": 1, "size": 0, "quarantined": 1},
    ]
    assert sum(row["size"] for row in rows) == used(admin.org)

    # the same bytes sent again for a 2025 dossier count for 2025, not for the cleaned year
    assert station.batch([OLD]).status_code == 200
    push(station, dossier_doc("2025-00002", "2025-06-01T10:00:00+02:00", [OLD]))
    assert sizes(admin.org) == {2025: len(SHARED) + len(NEW) + len(OLD), 2024: 0}


def test_a_purged_file_of_a_dossier_outside_the_clean_up_is_not_counted(people, station):
    """A file taken out of a 2025 dossier, also listed by a cleaned 2024 dossier, is purged
    with it: 2025 no longer counts it."""
    admin = people["admin"]
    assert station.batch([OLD, NEW]).status_code == 200
    push(station, dossier_doc("2024-00001", "2024-03-10T10:00:00+01:00", [OLD]))
    doc = dossier_doc("2025-00001", "2025-02-01T10:00:00+01:00", [OLD, NEW])
    rev = push(station, doc)
    push(station, {**doc, "files": [e for e in doc["files"] if e["sha256"] == sha(NEW)]}, rev)
    assert sizes(admin.org) == {2025: len(OLD) + len(NEW), 2024: len(OLD)}
    request = cleanup.request(
        admin.org, date(2024, 1, 1), date(2024, 12, 31), actor=admin.user, confirm_senders=True
    )
    cleanup.execute_due(request.quarantine_until + timedelta(seconds=1))
    assert sizes(admin.org) == {2025: len(NEW), 2024: 0}
    assert used(admin.org) == len(NEW)


def test_the_volume_page_shows_the_held_bytes(people, station):
    """The page lists each year with what the cloud holds for it."""
    admin = people["admin"]
    assert station.batch([SHARED, NEW]).status_code == 200
    push(station, dossier_doc("2025-00001", "2025-02-01T10:00:00+01:00", [SHARED, NEW]))
    push(station, dossier_doc("2025-00002", "2025-03-01T10:00:00+01:00", [SHARED]))
    response = admin.client().get("/o/acme/parametres/volume/")
    assert response.status_code == 200
    assert [(row["year"], row["dossiers"], row["size"]) for row in response.context["years"]] == [
        (2025, 2, len(SHARED) + len(NEW))
    ]
