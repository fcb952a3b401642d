"""The dossier pages: list (search, filters, sort, columns, bulk), form, detail, documents."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from comptoir.contacts.services import create_contact
from comptoir.core.models import AuditEntry, MemberPreference
from comptoir.dossiers import services
from comptoir.dossiers.listing import DEFAULT_COLUMNS, PREFERENCE_KEY
from comptoir.dossiers.models import Document, Dossier
from tests.helpers import shows

LIST = "/o/acme/dossiers/"


def new(person, technician=None, **fields):
    codes = fields.pop("missions", ["dpe"])
    if technician is not None:
        fields["technician"] = technician
    return services.create_dossier(
        person.member, services.DossierInput(fields, codes), actor=person.user
    )


def numbers(response) -> list[str]:
    return [row["dossier"].number for row in response.context["rows"]]


def test_list_shows_newest_first_with_default_columns(people):
    admin = people["admin"]
    first, second = new(admin), new(admin)
    response = admin.client().get(LIST)
    assert response.status_code == 200
    assert numbers(response) == [second.number, first.number]
    assert [column.key for column in response.context["columns"]] == DEFAULT_COLUMNS


def test_search_by_street_number_and_name_ignores_accents(people):
    admin = people["admin"]
    agency = create_contact(admin.org, actor=None, kind="company", company_name="Agence Beffroi")
    church = new(admin, property_street="3 rue de l'Église", property_city="Lille")
    agency_one = new(admin, property_street="9 rue Faidherbe", ordering_party=agency)
    client = admin.client()
    assert numbers(client.get(LIST, {"q": "eglise"})) == [church.number]
    assert numbers(client.get(LIST, {"q": "beffroi"})) == [agency_one.number]
    assert numbers(client.get(LIST, {"q": church.number})) == [church.number]
    assert numbers(client.get(LIST, {"q": "faidherbe lille"})) == []


def test_filters_status_technician_mission_year_and_dates(people):
    admin, tech = people["admin"], people["tech_all"]
    now = timezone.now()
    soon = new(
        admin, technician=tech.member, missions=["gaz"], appointment_at=now + timedelta(days=2)
    )
    later = new(admin, appointment_at=now + timedelta(days=40))
    client = admin.client()
    assert numbers(client.get(LIST, {"status": "scheduled"})) == [later.number, soon.number]
    assert numbers(client.get(LIST, {"technician": str(tech.member.public_id)})) == [soon.number]
    assert numbers(client.get(LIST, {"mission": "gaz"})) == [soon.number]
    end = timezone.localdate() + timedelta(days=10)
    assert numbers(client.get(LIST, {"end": end.isoformat()})) == [soon.number]
    assert numbers(client.get(LIST, {"year": soon.year})) == [later.number, soon.number]


def test_sort_by_city_both_ways(people):
    admin = people["admin"]
    arras = new(admin, property_city="Arras")
    lille = new(admin, property_city="Lille")
    client = admin.client()
    assert numbers(client.get(LIST, {"sort": "city"})) == [arras.number, lille.number]
    assert numbers(client.get(LIST, {"sort": "-city"})) == [lille.number, arras.number]


def test_own_scope_technician_sees_only_their_dossiers(people):
    admin, tech = people["admin"], people["tech_own"]
    mine = new(admin, technician=tech.member)
    new(admin, technician=people["tech_all"].member)
    assert numbers(tech.client().get(LIST)) == [mine.number]


def test_query_count_does_not_grow_with_rows(people):
    admin = people["admin"]
    agency = create_contact(admin.org, actor=None, kind="company", company_name="Agence")
    client = admin.client()
    new(admin, ordering_party=agency, technician=people["tech_all"].member)
    with CaptureQueriesContext(connection) as few:
        client.get(LIST)
    for _ in range(30):
        new(
            admin,
            ordering_party=agency,
            technician=people["tech_all"].member,
            missions=["dpe", "gaz", "erp"],
        )
    with CaptureQueriesContext(connection) as many:
        response = client.get(LIST)
    assert len(response.context["rows"]) == 31
    assert len(many) == len(few)


def test_columns_are_remembered_per_member(people):
    admin = people["admin"]
    client = admin.client()
    response = client.post(f"{LIST}colonnes/", {"columns": ["number", "owner", "nonsense"]})
    assert response.status_code == 302
    assert MemberPreference.objects.get(membership=admin.member, key=PREFERENCE_KEY).value == [
        "number",
        "owner",
    ]
    assert [c.key for c in client.get(LIST).context["columns"]] == ["number", "owner"]
    other = people["backoffice"].client().get(LIST)
    assert [c.key for c in other.context["columns"]] == DEFAULT_COLUMNS


def test_export_csv_and_xlsx_use_the_chosen_columns(people):
    admin = people["admin"]
    dossier = new(admin, property_street="5 rue Pasteur", property_city="Lens")
    client = admin.client()
    client.post(f"{LIST}colonnes/", {"columns": ["number", "address", "city"]})
    response = client.get(f"{LIST}export/", {"format": "csv"})
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows == [["Numéro", "Adresse", "Ville"], [dossier.number, "5 rue Pasteur", "Lens"]]
    response = client.get(f"{LIST}export/", {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert [[cell.value for cell in row] for row in sheet.iter_rows()] == [
        ["Numéro", "Adresse", "Ville"],
        [dossier.number, "5 rue Pasteur", "Lens"],
    ]


def test_bulk_assign_and_bulk_export(people):
    admin, tech = people["admin"], people["tech_all"]
    one, two, three = new(admin), new(admin), new(admin)
    client = admin.client()
    response = client.post(
        f"{LIST}selection/",
        {
            "action": "assign",
            "technician": str(tech.member.public_id),
            "selected": [str(one.public_id), str(two.public_id)],
        },
    )
    assert response.status_code == 302
    assigned = Dossier.objects.filter(technician=tech.member).values_list("number", flat=True)
    assert sorted(assigned) == sorted([one.number, two.number])
    assert AuditEntry.objects.filter(action="dossier.update").count() == 2
    response = client.post(
        f"{LIST}selection/", {"action": "export-csv", "selected": [str(three.public_id)]}
    )
    text = b"".join(response.streaming_content).decode("utf-8")
    assert three.number in text and one.number not in text


def test_bulk_assign_refused_to_own_scope_technician(people, assert_nothing_changes):
    admin, tech = people["admin"], people["tech_own"]
    mine = new(admin, technician=tech.member)
    with assert_nothing_changes():
        response = tech.client().post(
            f"{LIST}selection/",
            {
                "action": "assign",
                "technician": str(people["tech_all"].member.public_id),
                "selected": [str(mine.public_id)],
            },
        )
    assert response.status_code == 302
    assert Dossier.objects.get(pk=mine.pk).technician == tech.member


def test_create_from_the_form_with_two_missions(people):
    admin = people["admin"]
    owner = create_contact(admin.org, actor=None, last_name="DUPONT")
    response = admin.client().post(
        f"{LIST}nouveau/",
        {
            "missions": ["dpe", "amiante"],
            "owner": str(owner.public_id),
            "property_street": "8 rue des Arts",
            "property_postcode": "59000",
            "property_city": "Lille",
            "property_type": "flat",
            "surface": "52,30",
            "technician": str(people["tech_all"].member.public_id),
        },
    )
    dossier = Dossier.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{LIST}{dossier.public_id}/"
    assert str(dossier.surface) == "52.30"
    assert dossier.owner == owner
    assert sorted(dossier.missions.values_list("mission_type__code", flat=True)) == [
        "amiante",
        "dpe",
    ]


def test_form_errors_are_french_and_nothing_is_written(people, assert_nothing_changes):
    admin = people["admin"]
    services.mission_types(admin.org)
    with assert_nothing_changes():
        response = admin.client().post(
            f"{LIST}nouveau/",
            {"property_postcode": "59", "property_type": "flat", "year_built": "3000"},
        )
    assert response.status_code == 200
    assert shows(response, "5 digits, e.g. 59000.")
    assert "2100" in response.content.decode()


def test_detail_shows_timeline_history_and_documents(people):
    admin = people["admin"]
    dossier = new(admin, property_street="1 rue Nationale")
    services.change_status(dossier, "done", actor=admin.user)
    response = admin.client().get(f"{LIST}{dossier.public_id}/")
    assert response.status_code == 200
    current = [item["label"] for item in response.context["timeline"] if item["current"]]
    assert [str(label) for label in current] == ["Réalisé"] or len(current) == 1
    actions = [entry.action for entry in response.context["history"]]
    assert actions == ["dossier.status", "dossier.create"]


def test_upload_preview_and_download_a_report(people):
    admin = people["admin"]
    dossier = new(admin)
    client = admin.client()
    pdf = SimpleUploadedFile("rapport.pdf", b"%PDF-1.4 rapport", content_type="application/pdf")
    response = client.post(f"{LIST}{dossier.public_id}/documents/", {"kind": "report", "file": pdf})
    assert response.status_code == 302
    document = Document.objects.get(dossier=dossier)
    url = f"{LIST}{dossier.public_id}/documents/{document.public_id}/"
    inline = client.get(url, {"inline": "1"})
    assert inline["Content-Type"] == "application/pdf"
    assert inline["Content-Disposition"].startswith("inline")
    download = client.get(url)
    assert download["Content-Disposition"].startswith("attachment")
    assert b"".join(download.streaming_content) == b"%PDF-1.4 rapport"


def test_a_document_of_another_dossier_is_404(people):
    admin = people["admin"]
    one, two = new(admin), new(admin)
    document = services.add_document(
        one,
        SimpleUploadedFile("a.pdf", b"%PDF-1.4", content_type="application/pdf"),
        kind="report",
        actor=admin.user,
    )
    response = admin.client().get(f"{LIST}{two.public_id}/documents/{document.public_id}/")
    assert response.status_code == 404


def test_delete_refused_with_documents_shows_why(people):
    admin = people["admin"]
    dossier = new(admin)
    services.add_document(
        dossier, SimpleUploadedFile("a.pdf", b"%PDF-1.4"), kind="report", actor=admin.user
    )
    response = admin.client().post(f"{LIST}{dossier.public_id}/supprimer/", follow=True)
    assert shows(response, "This dossier has documents: archive it instead of deleting it.")
    assert Dossier.objects.get(pk=dossier.pk).deleted_at is None


def test_count_is_capped_on_large_results(people, monkeypatch):
    from comptoir.dossiers import listing

    admin = people["admin"]
    for _ in range(4):
        new(admin)
    monkeypatch.setattr(listing, "COUNT_CAP", 3)
    response = admin.client().get(LIST)
    assert response.context["page"].paginator.capped is True
    assert shows(response, "More than 1,000 dossiers: refine the search")
    monkeypatch.setattr(listing, "COUNT_CAP", 4)
    response = admin.client().get(LIST)
    assert response.context["page"].paginator.capped is False
    assert response.context["page"].paginator.count == 4
