"""Importing contacts through the pages: upload, mapping with preview, dry run, confirm.

A file with an error anywhere writes nothing; duplicates are skipped unless ticked;
the uploaded file belongs to the member who sent it and is gone after the import.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from comptoir.contacts import services, uploads
from comptoir.contacts.importing import read_table
from comptoir.contacts.models import Contact
from comptoir.core.errors import NotFound
from comptoir.core.models import AuditEntry
from tests.contacts.conftest import HEADERS, ROWS, csv_bytes, xlsx_bytes
from tests.contacts.test_importing import BAD_ROWS, EXPECTED_MAPPING
from tests.helpers import shows


def url(name: str, **kwargs) -> str:
    return reverse(f"contacts:{name}", kwargs={"org": "acme", **kwargs})


def upload(client, data: bytes, name: str = "contacts.csv"):
    return client.post(url("import"), {"file": SimpleUploadedFile(name, data)})


def upload_id_of(response) -> str:
    match = re.fullmatch(r"/o/acme/contacts/importer/([A-Za-z0-9_-]+)/", response.url)
    assert match, response.url
    return match.group(1)


def mapping_post(mapping: list[str], category: str = "client", force=()) -> dict:
    data = {f"col_{index}": key for index, key in enumerate(mapping)}
    data["default_category"] = category
    data["force"] = [str(line) for line in force]
    return data


def selected(content: str, name: str) -> str:
    select = re.search(rf'<select name="{name}".*?</select>', content, re.DOTALL).group(0)
    found = re.search(r'<option value="([^"]*)"[^>]* selected', select)
    return found.group(1) if found else ""


def stored_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


def test_full_import_of_a_french_csv(people, upload_storage):
    admin = people["admin"]
    client = admin.client()
    response = upload(client, csv_bytes(ROWS, encoding="utf-8-sig"), "Export V4.csv")
    assert response.status_code == 302
    upload_id = upload_id_of(response)
    assert len(stored_files(upload_storage)) == 2  # the file and its name

    # Step 2: the guessed mapping, the file's facts, a preview.
    page = client.get(url("import-map", upload_id=upload_id))
    content = page.content.decode()
    assert [selected(content, f"col_{i}") for i in range(len(HEADERS))] == EXPECTED_MAPPING
    assert "Export V4.csv" in content
    assert "Texte CSV, encodage utf-8-sig · séparateur : point-virgule" in content
    assert "3 lignes à importer" in content
    assert "Agence de l&#x27;Hôtel de Ville" in content
    assert Contact.objects.count() == 0

    # The dry run: a report, nothing written.
    report = client.post(
        url("import-map", upload_id=upload_id), mapping_post(EXPECTED_MAPPING, "owner")
    )
    assert report.status_code == 200
    assert shows(report, "Dry run: nothing written yet")
    content = report.content.decode()
    assert "3 contacts à créer" in content and "0 erreur" in content
    assert 'id="run-import"' in content
    assert Contact.objects.count() == 0

    # Confirm.
    done = client.post(
        url("import-run", upload_id=upload_id), mapping_post(EXPECTED_MAPPING, "owner")
    )
    assert done.status_code == 302
    assert done.url == url("list") + "?sort=-created"
    listing = client.get(done.url)
    assert shows(listing, "3 contacts importés.")
    contacts = {c.display_name: c for c in Contact.objects.filter(organization=admin.org)}
    assert sorted(contacts) == [
        "Agence de l'Hôtel de Ville",
        "M. Étienne Dubœuf",
        "Mme Hélène Lefèvre",
    ]
    helene = contacts["Mme Hélène Lefèvre"]
    assert (helene.category, helene.kind, helene.phone, helene.notes) == (
        "owner",
        "person",
        "03 20 12 34 56",
        "Clés chez la gardienne",
    )
    assert [(c.kind, c.label, c.value) for c in helene.channels.all()] == [
        ("phone", "Portable", "06 12 34 56 78")
    ]
    agency = contacts["Agence de l'Hôtel de Ville"]
    assert (agency.kind, agency.category, agency.siren, agency.vat_number) == (
        "company",
        "agency",
        "732829320",
        "FR44732829320",
    )
    etienne = contacts["M. Étienne Dubœuf"]
    assert etienne.category == "owner"  # the file gave none: the default chosen
    assert [str(a) for a in etienne.addresses.all()] == ["3 chemin des Prés, 01000 Bourg-en-Bresse"]
    assert "bourg-en-bresse" in etienne.search_text
    for name in ("Hélène", "Hôtel", "Dubœuf"):
        assert name in listing.content.decode()

    # One audit entry per contact, one for the import; the file is gone.
    creations = AuditEntry.objects.filter(organization=admin.org, action="contact.create")
    assert creations.count() == 3
    assert all(entry.after["source"] == "import" for entry in creations)
    [summary] = AuditEntry.objects.filter(organization=admin.org, action="contact.import")
    assert summary.after == {
        "file": "Export V4.csv",
        "lines": 3,
        "created": 3,
        "skipped_duplicates": 0,
        "forced_duplicates": [],
    }
    assert summary.actor_id == admin.user.pk
    assert stored_files(upload_storage) == []
    again = client.post(url("import-run", upload_id=upload_id), mapping_post(EXPECTED_MAPPING))
    assert again.status_code == 302 and again.url == url("import")
    assert Contact.objects.count() == 3


def test_xlsx_upload_through_the_pages(people):
    client = people["backoffice"].client()
    rows = [
        [
            "",
            "Morel",
            "Anne",
            "",
            "anne.morel@exemple.fr",
            320001122,
            None,
            "",
            59000,
            "Lille",
            None,
            "",
            "Notaire",
            "",
        ]
    ]
    upload_id = upload_id_of(upload(client, xlsx_bytes(rows), "contacts.xlsx"))
    page = client.get(url("import-map", upload_id=upload_id))
    assert shows(page, "XLSX spreadsheet")
    done = client.post(url("import-run", upload_id=upload_id), mapping_post(EXPECTED_MAPPING))
    assert done.status_code == 302
    [anne] = Contact.objects.all()
    assert (anne.display_name, anne.phone, anne.category) == ("Anne Morel", "0320001122", "notary")
    assert anne.created_by == people["backoffice"].user


def test_a_file_with_errors_lists_every_bad_line_and_writes_nothing(people, assert_nothing_changes):
    client = people["admin"].client()
    upload_id = upload_id_of(upload(client, csv_bytes(BAD_ROWS, encoding="cp1252")))
    report = client.post(url("import-map", upload_id=upload_id), mapping_post(EXPECTED_MAPPING))
    content = report.content.decode()
    errors = re.search(
        r'<div class="alert alert-danger" role="alert" id="errors">(.*?)</div>', content, re.DOTALL
    ).group(1)
    assert re.findall(r"<li>(.*?)</li>", errors) == [
        "ligne 3 : Il faut un nom ou une raison sociale.",
        "ligne 4 : Adresse e-mail « roux@ » invalide.",
        "ligne 4 : Code postal « 590 » invalide (5 chiffres).",
        "ligne 5 : SIRET 12345678900000 invalide (clé de contrôle incorrecte).",
        "ligne 6 : Catégorie « Fournisseur » inconnue (valeurs possibles : Client, Agence "
        "immobilière, Notaire, Propriétaire, Gestionnaire de biens, Prospect, Autre).",
        "ligne 7 : Numéro de TVA FR00303265045 invalide (clé de contrôle incorrecte).",
        "ligne 7 : Numéro de téléphone « tél. bureau » invalide.",
    ]
    assert "7 erreurs" in content
    assert 'id="run-import"' not in content
    # Even when posted anyway, nothing is written.
    with assert_nothing_changes():
        refused = client.post(
            url("import-run", upload_id=upload_id), mapping_post(EXPECTED_MAPPING)
        )
    assert refused.status_code == 200
    assert shows(refused, "Le fichier contient 7 erreurs : rien n'a été importé.")
    assert "ligne 5 : SIRET 12345678900000 invalide" in refused.content.decode()


def test_the_service_refuses_a_file_with_errors_and_says_where(people, assert_nothing_changes):
    admin = people["admin"]
    table = read_table(csv_bytes(BAD_ROWS))
    with assert_nothing_changes(), pytest.raises(services.ImportRefused) as caught:
        services.import_contacts(
            admin.org,
            actor=admin.user,
            table=table,
            mapping=EXPECTED_MAPPING,
            default_category="client",
            force=set(),
        )
    assert caught.value.status == 422
    assert caught.value.details["errors"][3] == (
        "ligne 5 : SIRET 12345678900000 invalide (clé de contrôle incorrecte)."
    )


def test_duplicates_are_skipped_unless_ticked(people):
    admin = people["admin"]
    services.create_contact(
        admin.org, actor=admin.user, last_name="Lefèvre", email="HELENE.LEFEVRE@exemple.fr"
    )
    services.create_contact(
        admin.org,
        actor=admin.user,
        kind="company",
        company_name="Agence HDV",
        siret="73282932000074",
    )
    client = admin.client()
    upload_id = upload_id_of(upload(client, csv_bytes(ROWS)))
    report = client.post(url("import-map", upload_id=upload_id), mapping_post(EXPECTED_MAPPING))
    content = report.content.decode()
    table = re.search(r'<table[^>]*id="duplicates">(.*?)</table>', content, re.DOTALL).group(1)
    assert "même adresse e-mail que le contact « Lefèvre »" in table
    assert "même SIRET que le contact « Agence HDV »" in table
    assert "1 contact à créer" in content and "2 doublons possibles" in content
    done = client.post(
        url("import-run", upload_id=upload_id), mapping_post(EXPECTED_MAPPING, force=[3])
    )
    assert done.status_code == 302
    names = sorted(Contact.objects.values_list("company_name", "last_name"))
    assert names == [
        ("", "Dubœuf"),
        ("", "Lefèvre"),
        ("Agence HDV", ""),
        ("Agence de l'Hôtel de Ville", ""),
    ]
    [summary] = AuditEntry.objects.filter(action="contact.import")
    assert (
        summary.after["created"],
        summary.after["skipped_duplicates"],
        summary.after["forced_duplicates"],
    ) == (2, 1, [3])


def test_the_run_checks_again_against_contacts_added_since_the_dry_run(people):
    admin = people["admin"]
    client = admin.client()
    upload_id = upload_id_of(upload(client, csv_bytes(ROWS[:1])))
    report = client.post(url("import-map", upload_id=upload_id), mapping_post(EXPECTED_MAPPING))
    assert "1 contact à créer" in report.content.decode()
    services.create_contact(
        admin.org, actor=admin.user, last_name="Lefèvre", phone="06.12.34.56.78"
    )  # a colleague, meanwhile
    client.post(url("import-run", upload_id=upload_id), mapping_post(EXPECTED_MAPPING))
    assert Contact.objects.count() == 1


def test_a_mapping_without_a_name_column_is_refused(people):
    client = people["admin"].client()
    upload_id = upload_id_of(upload(client, csv_bytes(ROWS)))
    mapping = [
        "" if key in {"last_name", "company_name", "first_name"} else key
        for key in EXPECTED_MAPPING
    ]
    report = client.post(url("import-map", upload_id=upload_id), mapping_post(mapping))
    assert shows(report, "Choose the column that holds the last name or the company name.")
    assert 'id="report"' not in report.content.decode()


def test_an_unreadable_file_is_refused_at_upload(people, upload_storage):
    client = people["admin"].client()
    response = upload(client, b"\xd0\xcf\x11\xe0" + b"\x00" * 64, "vieux.xls")
    assert response.status_code == 200
    assert shows(
        response, "Old Excel files (.xls) cannot be read: open it and save it as .xlsx or CSV."
    )
    assert stored_files(upload_storage) == []


def test_an_upload_belongs_to_its_member(people, assert_nothing_changes):
    """A colleague with the same rights cannot open, run or cancel someone else's import."""
    upload_id = uploads.save_upload(people["admin"].member, "a.csv", csv_bytes(ROWS))
    colleague = people["backoffice"].client()
    for name, data in (("import-map", None), ("import-run", mapping_post(EXPECTED_MAPPING))):
        with assert_nothing_changes():
            response = (
                colleague.get(url(name, upload_id=upload_id))
                if data is None
                else colleague.post(url(name, upload_id=upload_id), data)
            )
        assert response.status_code == 302 and response.url == url("import")
    colleague.post(url("import-cancel", upload_id=upload_id))
    assert uploads.load_upload(people["admin"].member, upload_id).name == "a.csv"


@pytest.mark.parametrize(
    "upload_id", ["unknown-upload-id-000000", "..", "a.b.c.d.e.f.g.h.i.j", "x"]
)
def test_unknown_or_malformed_upload_ids(people, upload_id):
    client = people["admin"].client()
    response = client.get(url("import-map", upload_id=upload_id))
    assert response.status_code == 302
    follow = client.get(response.url)
    assert shows(follow, "This import is finished or has expired: upload the file again.")


def test_cancel_deletes_the_file(people, upload_storage):
    client = people["admin"].client()
    upload_id = upload_id_of(upload(client, csv_bytes(ROWS)))
    response = client.post(url("import-cancel", upload_id=upload_id))
    assert response.url == url("list")
    assert stored_files(upload_storage) == []
    assert Contact.objects.count() == 0


def test_stale_uploads_are_purged_at_the_next_upload_of_anyone(people, upload_storage):
    import os
    import time

    old = uploads.save_upload(people["admin"].member, "old.csv", csv_bytes(ROWS))
    recent = uploads.save_upload(people["tech_all"].member, "recent.csv", csv_bytes(ROWS))
    two_days_ago = time.time() - 2 * 86400
    for path in stored_files(upload_storage):
        if path.name.startswith(old):
            os.utime(path, (two_days_ago, two_days_ago))
    new = uploads.save_upload(people["backoffice"].member, "new.csv", csv_bytes(ROWS))
    assert sorted(path.name for path in stored_files(upload_storage)) == sorted(
        f"{upload_id}.{suffix}" for upload_id in (recent, new) for suffix in ("data", "json")
    )
    with pytest.raises(NotFound, match="expiré"):
        uploads.load_upload(people["admin"].member, old)


def test_export_then_import_elsewhere_maps_every_column_by_itself(people):
    """An export edited in a spreadsheet comes back in: its headings are the import's."""
    admin, outsider = people["admin"], people["outsider"]
    services.create_contact(
        admin.org,
        actor=admin.user,
        kind="company",
        category="notary",
        company_name="Étude Lefebvre",
        email="etude@notaires.fr",
        phone="03 21 00 00 00",
        siret="73282932000074",
        vat_number="FR44732829320",
        notes="Envoyer les actes",
        addresses=[{"street": "4 rue des Clercs", "postcode": "62000", "city": "Arras"}],
        channels=[{"kind": "phone", "label": "", "value": "06 99 99 99 99"}],
    )
    export = admin.client().get(url("export"), {"format": "csv"})
    data = b"".join(
        chunk if isinstance(chunk, bytes) else chunk.encode() for chunk in export.streaming_content
    )
    other = outsider.client()
    response = other.post(
        reverse("contacts:import", kwargs={"org": "globex"}),
        {"file": SimpleUploadedFile("export.csv", data)},
    )
    upload_id = response.url.rstrip("/").rsplit("/", 1)[1]
    page = other.get(
        reverse("contacts:import-map", kwargs={"org": "globex", "upload_id": upload_id})
    )
    content = page.content.decode()
    mapping = [selected(content, f"col_{index}") for index in range(17)]
    assert mapping == [
        "civility",
        "last_name",
        "first_name",
        "company_name",
        "kind",
        "category",
        "email",
        "phone",
        "street",
        "postcode",
        "city",
        "siret",
        "siren",
        "vat_number",
        "email",
        "phone",
        "notes",
    ]
    other.post(
        reverse("contacts:import-run", kwargs={"org": "globex", "upload_id": upload_id}),
        mapping_post(mapping),
    )
    [copy] = Contact.objects.filter(organization=outsider.org)
    assert (copy.kind, copy.category, copy.company_name, copy.siret, copy.notes) == (
        "company",
        "notary",
        "Étude Lefebvre",
        "73282932000074",
        "Envoyer les actes",
    )
    assert [(c.kind, c.value) for c in copy.channels.all()] == [("phone", "06 99 99 99 99")]
    assert [str(a) for a in copy.addresses.all()] == ["4 rue des Clercs, 62000 Arras"]
