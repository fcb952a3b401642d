"""The dossier API: exact JSON, paging, scope, errors, uploads."""

from __future__ import annotations

import hashlib

from django.core.files.uploadedfile import SimpleUploadedFile

from comptoir.contacts.services import create_contact
from comptoir.core.models import AuditEntry
from comptoir.dossiers import services
from comptoir.dossiers.models import Dossier
from tests.helpers import assert_outsider_gets_404, fr

API = "/api/v1/orgs/acme"


def new(person, **fields):
    codes = fields.pop("missions", ["dpe"])
    return services.create_dossier(
        person.member, services.DossierInput(fields, codes), actor=person.user
    )


def test_create_and_read_back(people):
    admin = people["admin"]
    agency = create_contact(admin.org, actor=None, kind="company", company_name="Agence Vauban")
    response = admin.api().post(
        f"{API}/dossiers",
        {
            "missions": ["dpe", "carrez"],
            "ordering_party": str(agency.public_id),
            "property_street": "4 rue Solférino",
            "property_postcode": "59000",
            "property_city": "Lille",
            "property_type": "flat",
            "surface": 61.2,
            "custom_fields": {"digicode": "A12"},
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    dossier = Dossier.objects.get()
    assert body["id"] == str(dossier.public_id)
    assert body["number"] == dossier.number
    assert body["missions"] == ["dpe", "carrez"]
    assert body["ordering_party"] == {"id": str(agency.public_id), "name": "Agence Vauban"}
    assert (body["surface"], body["status"], body["documents"]) == ("61.20", "to_schedule", [])
    assert body["custom_fields"] == {"digicode": "A12"}
    again = admin.api().get(f"{API}/dossiers/{dossier.public_id}").json()
    assert again == body


def test_list_pages_with_count_and_next_offset(people):
    admin = people["admin"]
    made = [new(admin, property_city="Lille") for _ in range(3)]
    first = admin.api().get(f"{API}/dossiers", {"limit": 2}).json()
    assert first["count"] == 3 and first["next_offset"] == 2
    assert [item["number"] for item in first["items"]] == [made[2].number, made[1].number]
    rest = admin.api().get(f"{API}/dossiers", {"limit": 2, "offset": 2}).json()
    assert [item["number"] for item in rest["items"]] == [made[0].number]
    assert rest["next_offset"] is None


def test_search_and_status_filter(people):
    admin = people["admin"]
    target = new(admin, property_street="7 rue Gambetta")
    new(admin, property_street="2 rue Pasteur")
    body = admin.api().get(f"{API}/dossiers", {"q": "gambetta"}).json()
    assert [item["id"] for item in body["items"]] == [str(target.public_id)]
    body = admin.api().get(f"{API}/dossiers", {"status": "paid"}).json()
    assert body == {"items": [], "count": 0, "next_offset": None}


def test_own_scope_technician_lists_only_theirs_and_gets_404_for_others(people):
    admin, tech = people["admin"], people["tech_own"]
    mine = new(admin, technician=tech.member)
    other = new(admin, technician=people["tech_all"].member)
    body = tech.api().get(f"{API}/dossiers").json()
    assert [item["id"] for item in body["items"]] == [str(mine.public_id)]
    response = tech.api().get(f"{API}/dossiers/{other.public_id}")
    assert response.status_code == 404


def test_bad_input_names_the_field_and_writes_nothing(people, assert_nothing_changes):
    admin = people["admin"]
    with assert_nothing_changes():
        response = admin.api().post(
            f"{API}/dossiers",
            {"property_postcode": "ABC", "surface": -3},
            content_type="application/json",
        )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_input"
    wheres = {item["where"] for item in body["details"]}
    assert {"body.payload.property_postcode", "body.payload.surface"} <= wheres


def test_unknown_mission_is_a_400_with_the_field(people, assert_nothing_changes):
    admin = people["admin"]
    new(admin)
    with assert_nothing_changes():
        response = admin.api().post(
            f"{API}/dossiers", {"missions": ["radon"]}, content_type="application/json"
        )
    assert response.status_code == 400
    assert response.json()["details"] == {"field": "missions"}


def test_status_move_and_refused_move(people):
    admin = people["admin"]
    dossier = new(admin)
    ok = admin.api().post(
        f"{API}/dossiers/{dossier.public_id}/status",
        {"status": "done"},
        content_type="application/json",
    )
    assert (ok.status_code, ok.json()["status"]) == (200, "done")
    refused = admin.api().post(
        f"{API}/dossiers/{dossier.public_id}/status",
        {"status": "to_schedule"},
        content_type="application/json",
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "invalid_transition"


def test_only_the_administrator_deletes(people):
    admin = people["admin"]
    dossier = new(admin)
    refused = people["backoffice"].api().delete(f"{API}/dossiers/{dossier.public_id}")
    assert refused.status_code == 403
    assert refused.json()["message"] == fr("Your role does not allow this action.")
    assert admin.api().delete(f"{API}/dossiers/{dossier.public_id}").status_code == 204
    assert admin.api().get(f"{API}/dossiers/{dossier.public_id}").status_code == 404
    assert AuditEntry.objects.filter(action="dossier.delete").count() == 1


def test_upload_and_download_a_document(people):
    admin = people["admin"]
    dossier = new(admin)
    content = b"%PDF-1.4 rapport amiante"
    response = admin.api().post(
        f"{API}/dossiers/{dossier.public_id}/documents",
        {
            "kind": "report",
            "file": SimpleUploadedFile("amiante.pdf", content, content_type="application/pdf"),
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert (body["name"], body["size"], body["kind"]) == ("amiante.pdf", len(content), "report")
    download = admin.api().get(f"{API}/dossiers/{dossier.public_id}/documents/{body['id']}")
    assert b"".join(download.streaming_content) == content


def test_outsider_gets_404(people):
    dossier = new(people["admin"])
    client = people["outsider"].api()
    assert_outsider_gets_404(client, "GET", f"{API}/dossiers/{dossier.public_id}")
    assert_outsider_gets_404(client, "PATCH", f"{API}/dossiers/{dossier.public_id}", {"floor": "9"})
    assert_outsider_gets_404(client, "DELETE", f"{API}/dossiers/{dossier.public_id}")


def test_mission_types(people):
    body = people["tech_own"].api().get(f"{API}/mission-types").json()
    assert [item["code"] for item in body] == [
        "dpe",
        "amiante",
        "plomb",
        "termites",
        "gaz",
        "electricite",
        "erp",
        "carrez",
    ]
