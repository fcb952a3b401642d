"""The member's own space: folders and files, each member's apart, quota, audit."""

from __future__ import annotations

import hashlib

from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext

from comptoir.core.models import AuditEntry, Organization
from comptoir.dossiers.models import Document
from comptoir.webdav.models import DavLock, SpaceEntry
from tests.conftest import nothing_changes
from tests.webdav.conftest import Dav, body, dav_path
from tests.webdav.test_documents import LOCK


def used(org: Organization) -> int:
    return Organization.objects.get(pk=org.pk).storage_used_bytes


def test_folders_and_files_in_the_space(people, django_capture_on_commit_callbacks):
    admin = people["admin"]
    dav = Dav.of(admin)
    start = used(admin.org)
    assert dav.mkcol("/dav/acme/Espace/Brouillons").status_code == 201
    assert dav.mkcol("/dav/acme/Espace/Brouillons/2026").status_code == 201
    assert dav.put("/dav/acme/Espace/Brouillons/2026/notes.txt", b"notes").status_code == 201
    assert body(dav.get("/dav/acme/Espace/Brouillons/2026/notes.txt")) == b"notes"
    assert used(admin.org) == start + 5
    entry = SpaceEntry.objects.get(name="notes.txt")
    assert (entry.membership, entry.sha256) == (admin.member, hashlib.sha256(b"notes").hexdigest())
    assert dav.move("/dav/acme/Espace/Brouillons", "/dav/acme/Espace/Archives").status_code == 201
    assert body(dav.get("/dav/acme/Espace/Archives/2026/notes.txt")) == b"notes"
    stored = entry.storage_name
    with django_capture_on_commit_callbacks(execute=True):  # bytes go after commit
        assert dav.delete("/dav/acme/Espace/Archives").status_code == 204
    assert not SpaceEntry.objects.exists()
    assert used(admin.org) == start
    assert not default_storage.exists(stored)
    assert [
        action
        for action in AuditEntry.objects.order_by("seq").values_list("action", flat=True)
        if action.startswith("space.")
    ] == ["space.folder", "space.folder", "space.write", "space.move", "space.delete"]


def test_overwriting_a_space_file_frees_the_old_bytes(people, django_capture_on_commit_callbacks):
    admin = people["admin"]
    dav = Dav.of(admin)
    start = used(admin.org)
    dav.put("/dav/acme/Espace/a.txt", b"12345")
    first = SpaceEntry.objects.get().storage_name
    with django_capture_on_commit_callbacks(execute=True):
        assert dav.put("/dav/acme/Espace/a.txt", b"12").status_code == 204
    assert used(admin.org) == start + 2
    assert not default_storage.exists(first)


def test_each_member_sees_only_their_own_space(people):
    admin, tech = Dav.of(people["admin"]), Dav.of(people["tech_all"])
    admin.put("/dav/acme/Espace/secret.txt", b"admin only")
    with nothing_changes():
        assert tech.get("/dav/acme/Espace/secret.txt").status_code == 404
        assert tech.delete("/dav/acme/Espace/secret.txt").status_code == 404
    assert tech.put("/dav/acme/Espace/secret.txt", b"mine").status_code == 201
    assert body(admin.get("/dav/acme/Espace/secret.txt")) == b"admin only"
    assert body(tech.get("/dav/acme/Espace/secret.txt")) == b"mine"


def test_locks_of_two_spaces_do_not_meet(people):
    admin, tech = Dav.of(people["admin"]), Dav.of(people["tech_all"])
    admin.put("/dav/acme/Espace/doc.txt", b"a")
    tech.put("/dav/acme/Espace/doc.txt", b"t")
    locked = admin.request("LOCK", "/dav/acme/Espace/doc.txt", LOCK, content_type="text/xml")
    assert locked.status_code == 200
    assert DavLock.objects.get().root.startswith(
        f"/acme/Espace/{people['admin'].member.public_id.hex}/"
    )
    assert tech.put("/dav/acme/Espace/doc.txt", b"t2").status_code == 204
    assert admin.put("/dav/acme/Espace/doc.txt", b"a2").status_code == 423


def test_copy_between_the_space_and_a_dossier(people, dossier_of):
    dav = Dav.of(people["tech_all"])
    dossier = dossier_of("tech_all", ("rapport.pdf", b"%PDF report"))
    copied = dav.copy(dav_path(dossier, "rapport.pdf"), "/dav/acme/Espace/rapport.pdf")
    assert copied.status_code == 201
    assert dav.put("/dav/acme/Espace/final.pdf", b"%PDF final").status_code == 201
    moved = dav.move("/dav/acme/Espace/final.pdf", dav_path(dossier, "final.pdf"))
    assert moved.status_code == 201
    assert Document.objects.get(dossier=dossier, name="final.pdf").size == 10
    assert not SpaceEntry.objects.filter(name="final.pdf").exists()
    assert body(dav.get("/dav/acme/Espace/rapport.pdf")) == b"%PDF report"
    dav.mkcol("/dav/acme/Espace/dossier")
    with nothing_changes():
        refused = dav.copy("/dav/acme/Espace/dossier/", dav_path(dossier, "dossier/"))
    assert refused.status_code == 403


def test_the_space_itself_stays(people):
    dav = Dav.of(people["admin"])
    with nothing_changes():
        assert dav.delete("/dav/acme/Espace/").status_code == 403
        assert dav.move("/dav/acme/Espace/", "/dav/acme/Espace2/").status_code == 403


def test_propfind_of_a_dossier_folder_makes_a_fixed_number_of_queries(people, dossier_of):
    """500 files or 5: the same queries (auth, dossier, documents, locks, properties)."""
    dav = Dav.of(people["admin"])
    few = dossier_of("tech_all", *[(f"f{i}.pdf", f"{i}".encode()) for i in range(5)])
    more = dossier_of("tech_all", *[(f"f{i}.pdf", f"{i}".encode()) for i in range(40)])
    counts = []
    for dossier in (few, more):
        dav.propfind(dav_path(dossier))  # token's last use recorded once a minute
        with CaptureQueriesContext(connection) as queries:
            response = dav.propfind(dav_path(dossier))
        assert response.status_code == 207
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 8, counts
