"""End to end: a station that sees only its own dossiers holds files identical to another
technician's, and the agent against the real hub (pytest-django's live server) sends
their bytes before naming them, as for any file the hub lacks, and ends green.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from comptoir.dossiers import services as dossier_services
from comptoir.dossiers.models import Document, Dossier
from comptoir.sync import services
from comptoir.sync.models import StationBlob, Upload
from tests.agenda.factories import a_dossier
from tests.agent.conftest import Station, make_doc, write_dossier
from tests.conftest import make_org

pytestmark = pytest.mark.django_db(transaction=True)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def storage(settings: Any, tmp_path: Path) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "files")},
        },
    }


def test_a_restricted_station_sends_the_bytes_of_a_file_another_technician_has(
    live_server: Any, tmp_path: Path, storage: None
) -> None:
    people = make_org("acme", "Acme Diagnostics")
    admin, own = people["admin"], people["tech_own"]
    small = b"%PDF-1.4 attestation " + os.urandom(2000)
    big = os.urandom(5 * 1024 * 1024 + 3)  # over 4 MiB: a chunked upload
    theirs = a_dossier(people, people["tech_all"].member)
    for name, data in (("attestation.pdf", small), ("plan.pdf", big)):
        dossier_services.add_document(
            theirs,
            SimpleUploadedFile(name, data, content_type="application/pdf"),
            kind="report",
            actor=admin.user,
        )
    row, code = services.add_station(admin.org, "Tablette", member=own.member, actor=admin.user)
    agent = Station(tmp_path / "poste")
    assert agent("pair", live_server.url, code).code == 0
    doc = make_doc("2026-00777")
    write_dossier(agent.root, doc, {"attestation.pdf": small, "plan.pdf": big})

    result = agent("sync")
    assert result.code == 0, result.err
    made = Dossier.objects.get(public_id=doc["id"])
    assert sorted(Document.objects.filter(dossier=made).values_list("sha256", flat=True)) == sorted(
        [sha(small), sha(big)]
    )
    # the station sent both: the small one in a batch, the big one in its own upload
    assert set(StationBlob.objects.filter(station=row).values_list("sha256", flat=True)) == {
        sha(small),
        sha(big),
    }
    assert Upload.objects.get(station=row, completed_at__isnull=False).sha256 == sha(big)
    row.refresh_from_db()
    assert row.counts.get("green") == 1 and not row.errors, (row.counts, row.errors)
    assert agent("--quiet", "sync").code == 0  # nothing left to do
    assert Dossier.objects.filter(organization=admin.org).count() == 2
