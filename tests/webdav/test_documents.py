"""A dossier's folder over WebDAV: versions, removal, rename and copy through the
dossier services (audit, revisions), ETag and Range, properties, locks, bad input."""

from __future__ import annotations

import hashlib
import html
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from comptoir.core.models import AuditEntry, Organization
from comptoir.dossiers.models import Document, Dossier, DossierRevision
from comptoir.webdav.models import DavLock, DavProperty
from tests.conftest import nothing_changes
from tests.helpers import fr
from tests.webdav.conftest import Dav, body, dav_path

REPORT = b"%PDF-1.4 first version of the report"


@pytest.fixture
def dossier(dossier_of):
    return dossier_of("tech_all", ("rapport.pdf", REPORT))


@pytest.fixture
def dav(people):
    return Dav.of(people["tech_all"])


def stored_files() -> set[str]:
    """The files stored for this test's organisations (other test workers share the folder)."""
    root = Path(default_storage.location)
    return {
        str(path.relative_to(root))
        for public_id in Organization.objects.values_list("public_id", flat=True)
        for path in (root / "orgs" / public_id.hex).rglob("*")
        if path.is_file()
    }


def actions(dossier: Dossier) -> list[str]:
    return list(
        AuditEntry.objects.filter(organization=dossier.organization)
        .order_by("seq")
        .values_list("action", flat=True)
    )


def listed(dossier: Dossier) -> dict[str, str]:
    rows = Document.objects.filter(dossier=dossier, removed_at__isnull=True)
    return dict(rows.values_list("name", "sha256"))


def test_get_sends_the_bytes_with_etag_last_modified_and_length(dossier, dav):
    response = dav.get(dav_path(dossier, "rapport.pdf"))
    document = Document.objects.get(dossier=dossier)
    assert response.status_code == 200
    assert body(response) == REPORT
    assert response["ETag"] == f'"{hashlib.sha256(REPORT).hexdigest()}"'
    assert response["Content-Length"] == str(len(REPORT))
    assert response["Accept-Ranges"] == "bytes"
    assert response["Last-Modified"] == document.uploaded_at.strftime("%a, %d %b %Y %H:%M:%S GMT")
    head = dav.request("HEAD", dav_path(dossier, "rapport.pdf"))
    assert (head.status_code, head["Content-Length"]) == (200, str(len(REPORT)))


def test_a_range_request_gets_the_slice(dossier, dav):
    response = dav.get(dav_path(dossier, "rapport.pdf"), range="bytes=5-12")
    assert response.status_code == 206
    assert body(response) == REPORT[5:13]
    assert response["Content-Range"] == f"bytes 5-12/{len(REPORT)}"
    tail = dav.get(dav_path(dossier, "rapport.pdf"), range="bytes=-6")
    assert (tail.status_code, body(tail)) == (206, REPORT[-6:])
    assert dav.get(dav_path(dossier, "rapport.pdf"), range="bytes=900-999").status_code == 416


def test_conditional_requests_use_the_sha256_etag(dossier, dav):
    etag = f'"{hashlib.sha256(REPORT).hexdigest()}"'
    path = dav_path(dossier, "rapport.pdf")
    assert dav.get(path, if_none_match=etag).status_code == 304
    with nothing_changes():
        assert dav.put(path, b"lost update", if_match='"0000"').status_code == 412
    assert dav.put(path, b"second version", if_match=etag).status_code == 204


def test_a_large_file_streams_whole(dossier, dav):
    data = bytes(range(256)) * 4096  # 1 MiB: more than the view buffers
    assert dav.put(dav_path(dossier, "big.bin"), data).status_code == 201
    response = dav.get(dav_path(dossier, "big.bin"))
    assert response.streaming
    assert body(response) == data


def test_overwriting_makes_a_new_version_and_keeps_the_old_one(dossier, dav):
    before_rev = Dossier.objects.get(pk=dossier.pk).revision
    response = dav.put(dav_path(dossier, "rapport.pdf"), b"%PDF-1.4 second version")
    assert response.status_code == 204
    assert response["ETag"] == f'"{hashlib.sha256(b"%PDF-1.4 second version").hexdigest()}"'
    versions = Document.objects.filter(dossier=dossier, name="rapport.pdf").order_by("pk")
    assert [(doc.size, doc.removed_at is None) for doc in versions] == [
        (len(REPORT), False),
        (23, True),
    ]
    assert body(dav.get(dav_path(dossier, "rapport.pdf"))) == b"%PDF-1.4 second version"
    assert actions(dossier)[-1] == "document.replace"
    dossier.refresh_from_db()
    assert dossier.revision != before_rev
    head = DossierRevision.objects.get(dossier=dossier, rev=dossier.revision).document
    assert head["files"] == [
        {
            "name": "rapport.pdf",
            "sha256": hashlib.sha256(b"%PDF-1.4 second version").hexdigest(),
            "size": 23,
        }
    ]


def test_the_same_bytes_again_change_nothing(dossier, dav):
    with nothing_changes():
        assert dav.put(dav_path(dossier, "rapport.pdf"), REPORT).status_code == 204


def test_an_empty_file_is_accepted_as_desktop_clients_create_them(dossier, dav):
    assert dav.put(dav_path(dossier, "Nouveau document.txt"), b"").status_code == 201
    assert dav.put(dav_path(dossier, "Nouveau document.txt"), b"text").status_code == 204
    assert listed(dossier)["Nouveau document.txt"] == hashlib.sha256(b"text").hexdigest()


def test_delete_takes_the_file_out_of_the_list_and_keeps_it(dossier, dav):
    assert dav.delete(dav_path(dossier, "rapport.pdf")).status_code == 204
    document = Document.objects.get(dossier=dossier)
    assert document.removed_at is not None
    assert default_storage.exists(document.file.name), "the bytes stay"
    assert actions(dossier)[-1] == "document.remove"
    dossier.refresh_from_db()
    head = DossierRevision.objects.get(dossier=dossier, rev=dossier.revision).document
    assert head["files"] == []


def test_move_in_the_dossier_renames_the_same_document(dossier, dav):
    document = Document.objects.get(dossier=dossier)
    response = dav.move(dav_path(dossier, "rapport.pdf"), dav_path(dossier, "Rapport DPE.pdf"))
    assert response.status_code == 201
    document.refresh_from_db()
    assert (document.name, document.removed_at) == ("Rapport DPE.pdf", None)
    assert listed(dossier) == {"Rapport DPE.pdf": document.sha256}
    assert actions(dossier)[-1] == "document.rename"


def test_move_onto_an_existing_name_needs_overwrite(dossier, dav):
    dav.put(dav_path(dossier, "plan.pdf"), b"plan")
    with nothing_changes():
        refused = dav.move(dav_path(dossier, "plan.pdf"), dav_path(dossier, "rapport.pdf"), "F")
        assert refused.status_code == 412
    moved = dav.move(dav_path(dossier, "plan.pdf"), dav_path(dossier, "rapport.pdf"), "T")
    assert moved.status_code == 204
    assert listed(dossier) == {"rapport.pdf": hashlib.sha256(b"plan").hexdigest()}


def test_copy_in_and_across_dossiers_shares_the_bytes(people, dossier, dossier_of, dav):
    other = dossier_of("tech_all")
    files = stored_files()
    source = dav_path(dossier, "rapport.pdf")
    assert dav.copy(source, dav_path(dossier, "copie.pdf")).status_code == 201
    assert dav.copy(source, dav_path(other, "rapport.pdf")).status_code == 201
    sha = hashlib.sha256(REPORT).hexdigest()
    assert listed(dossier) == {"rapport.pdf": sha, "copie.pdf": sha}
    assert listed(other) == {"rapport.pdf": sha}
    assert stored_files() == files, "content-addressed: nothing stored twice"


def test_move_across_dossiers_copies_then_removes(dossier, dossier_of, dav):
    other = dossier_of("tech_all")
    response = dav.move(dav_path(dossier, "rapport.pdf"), dav_path(other, "rapport.pdf"))
    assert response.status_code == 201
    assert listed(dossier) == {}
    assert listed(other) == {"rapport.pdf": hashlib.sha256(REPORT).hexdigest()}


def test_the_structure_is_comptoirs(dossier, dav):
    year = f"/dav/acme/{dossier.year}"
    files = stored_files()
    with nothing_changes():
        refusals = {
            "folder in a dossier": dav.mkcol(dav_path(dossier, "photos")),
            "new year": dav.mkcol("/dav/acme/2099"),
            "new dossier": dav.mkcol(f"{year}/NEW-1"),
            "file beside the dossiers": dav.put(f"{year}/note.txt", b"x"),
            "file in the organisation": dav.put("/dav/acme/note.txt", b"x"),
            "delete a dossier": dav.delete(dav_path(dossier)),
            "move a dossier": dav.move(dav_path(dossier), f"{year}/OTHER/"),
            "delete a year": dav.delete(f"{year}/"),
            "copy a year": dav.copy(f"{year}/", "/dav/acme/Espace/year/"),
        }
    assert stored_files() == files
    assert {name: response.status_code for name, response in refusals.items()} == dict.fromkeys(
        refusals, 403
    )
    folder_message = fr(
        "A dossier's folder holds files only. Put your folders in your space “Espace”."
    )
    assert folder_message in html.unescape(body(refusals["folder in a dossier"]).decode())
    assert Dossier.objects.filter(pk=dossier.pk, deleted_at__isnull=True).exists()


def test_propfind_of_the_whole_organisation_is_refused(dossier, dav):
    response = dav.propfind("/dav/acme/", depth="infinity")
    assert response.status_code == 403
    assert b"propfind-finite-depth" in body(response)
    assert dav.propfind(dav_path(dossier), depth="infinity").status_code == 207


BAD_PATHS = {
    "dot dot": "/dav/acme/{year}/{number}/../../{year}/{number}/x.pdf",
    "dot": "/dav/acme/{year}/{number}/./x.pdf",
    "nul": "/dav/acme/{year}/{number}/x%00.pdf",
    "control": "/dav/acme/{year}/{number}/x%0A.pdf",
    "overlong name": "/dav/acme/{year}/{number}/" + "é" * 128 + ".pdf",
}


@pytest.mark.parametrize("template", BAD_PATHS.values(), ids=list(BAD_PATHS))
def test_bad_paths_are_refused_before_anything(dossier, dav, template):
    path = template.format(year=dossier.year, number=dossier.number)
    files = stored_files()
    with nothing_changes():
        for response in (dav.put(path, b"data"), dav.propfind(path), dav.mkcol(path)):
            assert response.status_code == 400
            assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert stored_files() == files


def test_a_bad_destination_is_refused(dossier, dav):
    with nothing_changes():
        traversal = dav.move(dav_path(dossier, "rapport.pdf"), "/dav/acme/../../etc/passwd")
        assert traversal.status_code == 400
        nul = dav.copy(dav_path(dossier, "rapport.pdf"), dav_path(dossier, "x%00.pdf"))
        assert nul.status_code == 400


def test_a_name_the_stations_cannot_keep_is_refused(dossier, dav):
    with nothing_changes():
        response = dav.put(dav_path(dossier, "a%5Cb.pdf"), b"data")  # a backslash
    assert response.status_code == 400
    assert fr("“%(name)s” is not a valid file name.") % {"name": "a\\b.pdf"} in html.unescape(
        body(response).decode()
    )


def test_a_file_over_the_quota_is_refused(dossier, dav):
    org = dossier.organization
    Organization.objects.filter(pk=org.pk).update(
        storage_used_bytes=org.plan.storage_quota_bytes - 10
    )
    files = stored_files()
    with nothing_changes():
        response = dav.put(dav_path(dossier, "big.pdf"), b"x" * 100)
    assert response.status_code == 507
    assert stored_files() == files


PROPPATCH = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:comptoir:test">'
    "<D:set><D:prop><Z:colour>rouge é</Z:colour></D:prop></D:set></D:propertyupdate>"
)
PROPFIND_COLOUR = (
    '<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" '
    'xmlns:Z="urn:comptoir:test"><D:prop><Z:colour/></D:prop></D:propfind>'
)


def test_dead_properties_are_kept_and_follow_a_rename(dossier, dav):
    path = dav_path(dossier, "rapport.pdf")
    assert dav.request("PROPPATCH", path, PROPPATCH, content_type="text/xml").status_code == 207
    assert DavProperty.objects.count() == 1
    found = dav.propfind(path, depth="0", body=PROPFIND_COLOUR)
    assert "rouge é" in body(found).decode()
    dav.move(path, dav_path(dossier, "renamed.pdf"))
    moved = dav.propfind(dav_path(dossier, "renamed.pdf"), depth="0", body=PROPFIND_COLOUR)
    assert "rouge é" in body(moved).decode()
    assert DavProperty.objects.get().url == dav_path(dossier, "renamed.pdf")[len("/dav") :]


LOCK = (
    '<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:">'
    "<D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>"
    "<D:owner>Word</D:owner></D:lockinfo>"
)


def test_a_lock_is_stored_and_keeps_others_out(people, dossier, dav):
    path = dav_path(dossier, "rapport.pdf")
    locked = dav.request("LOCK", path, LOCK, content_type="text/xml", timeout="Second-600")
    assert locked.status_code == 200
    token = locked["Lock-Token"].strip("<>")
    assert DavLock.objects.get().token == token
    admin = Dav.of(people["admin"])
    with nothing_changes():
        assert admin.put(path, b"someone else").status_code == 423
    assert dav.put(path, b"with the token", **{"if": f"(<{token}>)"}).status_code == 204
    assert dav.request("UNLOCK", path, lock_token=f"<{token}>").status_code == 204
    assert not DavLock.objects.exists()


def test_a_lock_on_a_new_name_creates_an_empty_file(dossier, dav):
    locked = dav.request("LOCK", dav_path(dossier, "brouillon.docx"), LOCK, content_type="text/xml")
    assert locked.status_code == 201
    assert listed(dossier)["brouillon.docx"] == hashlib.sha256(b"").hexdigest()


def test_a_name_differing_only_by_case_is_a_new_version_under_the_new_spelling(dossier, dav):
    assert dav.put(dav_path(dossier, "RAPPORT.PDF"), b"%PDF upper").status_code == 201
    assert listed(dossier) == {"RAPPORT.PDF": hashlib.sha256(b"%PDF upper").hexdigest()}
    assert Document.objects.filter(dossier=dossier).count() == 2
    assert body(dav.get(dav_path(dossier, "RAPPORT.PDF"))) == b"%PDF upper"
