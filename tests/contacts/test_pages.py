"""Contact pages: the list (search, filters, sort, pages, export), the form, the record."""

from __future__ import annotations

import csv
import html
import io
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from comptoir.contacts import services
from comptoir.contacts.listing import PAGE_SIZE
from comptoir.contacts.models import Contact
from comptoir.core.models import AuditEntry
from comptoir.dossiers import services as dossier_services
from tests.contacts.conftest import CONTACT_FORM
from tests.helpers import assert_outsider_gets_404, fr, shows


def url(name: str, org: str = "acme", **kwargs) -> str:
    return reverse(f"contacts:{name}", kwargs={"org": org, **kwargs})


def names_in(response) -> list[str]:
    return re.findall(
        r'<a href="/o/acme/contacts/[0-9a-f-]{36}/" class="fw-semibold">([^<]+)</a>',
        response.content.decode(),
    )


def address_book(admin) -> dict[str, Contact]:
    made = {}
    for spec in (
        {
            "kind": "company",
            "category": "agency",
            "company_name": "Agence Rihour",
            "email": "rihour@agences.fr",
            "addresses": [{"street": "1 place Rihour", "postcode": "59800", "city": "Lille"}],
        },
        {
            "category": "owner",
            "last_name": "Lefèvre",
            "first_name": "Hélène",
            "email": "helene@exemple.fr",
            "phone": "06 12 34 56 78",
            "addresses": [{"street": "12 rue Nationale", "postcode": "59000", "city": "Lille"}],
        },
        {
            "category": "owner",
            "last_name": "Dubois",
            "first_name": "Marc",
            "addresses": [{"street": "3 rue de Paris", "postcode": "62000", "city": "Arras"}],
        },
        {
            "kind": "company",
            "category": "notary",
            "company_name": "Étude Carpentier",
            "email": "etude@notaires.fr",
        },
    ):
        contact = services.create_contact(admin.org, actor=admin.user, **spec)
        made[contact.display_name] = contact
    return made


def test_list_is_sorted_by_name_and_shows_the_count(people):
    admin = people["admin"]
    address_book(admin)
    response = admin.client().get(url("list"))
    assert response.status_code == 200
    assert names_in(response) == [
        "Agence Rihour",
        "Marc Dubois",
        "Étude Carpentier",
        "Hélène Lefèvre",
    ]
    assert "4 contacts" in response.content.decode()
    descending = admin.client().get(url("list"), {"sort": "-name"})
    assert names_in(descending) == [
        "Hélène Lefèvre",
        "Étude Carpentier",
        "Marc Dubois",
        "Agence Rihour",
    ]
    by_email = admin.client().get(url("list"), {"sort": "email"})
    assert names_in(by_email) == [
        "Marc Dubois",
        "Étude Carpentier",
        "Hélène Lefèvre",
        "Agence Rihour",
    ]


def test_search_category_and_kind_filters(people):
    admin = people["admin"]
    address_book(admin)
    client = admin.client()
    assert names_in(client.get(url("list"), {"q": "lille"})) == ["Agence Rihour", "Hélène Lefèvre"]
    assert names_in(client.get(url("list"), {"q": "HELENE 0612"})) == []
    assert names_in(client.get(url("list"), {"q": "helene 06 12"})) == ["Hélène Lefèvre"]
    assert names_in(client.get(url("list"), {"category": "owner"})) == [
        "Marc Dubois",
        "Hélène Lefèvre",
    ]
    assert names_in(client.get(url("list"), {"kind": "company", "q": "étude"})) == [
        "Étude Carpentier"
    ]
    partial = client.get(url("list"), {"q": "arras"}, HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode()
    assert names_in(partial) == ["Marc Dubois"]
    assert "1 contact" in partial.content.decode()
    refused = client.get(url("list"), {"category": "nonsense"})
    assert names_in(refused) == [] and refused.status_code == 200


def test_pages_of_50_with_a_query_count_that_does_not_grow(people):
    admin = people["admin"]
    Contact.objects.bulk_create(
        [
            Contact(
                organization=admin.org,
                last_name=f"Nom{index:03d}",
                sort_name=f"nom{index:03d}",
                search_text=f"nom{index:03d}",
            )
            for index in range(120)
        ]
    )
    client = admin.client()
    client.get(url("list"))  # warm up the session
    with CaptureQueriesContext(connection) as first:
        page1 = client.get(url("list"))
    with CaptureQueriesContext(connection) as third:
        page3 = client.get(url("list"), {"page": 3})
    assert len(names_in(page1)) == PAGE_SIZE and len(names_in(page3)) == 20
    assert names_in(page3)[0] == "Nom100"
    assert "120 contacts" in page1.content.decode()
    assert "Page 1 sur 3" in page1.content.decode()
    assert len(first.captured_queries) == len(third.captured_queries) <= 12


def test_create_with_several_addresses_and_channels(people):
    admin = people["admin"]
    client = admin.client()
    form = client.get(url("create"))
    assert form.status_code == 200
    assert 'name="addresses-TOTAL_FORMS" value="1"' in form.content.decode()
    data = {
        **CONTACT_FORM,
        "addresses-TOTAL_FORMS": "2",
        "addresses-1-label": "Agence",
        "addresses-1-street": "5 rue Esquermoise",
        "addresses-1-postcode": "59800",
        "addresses-1-city": "Lille",
        "addresses-1-country": "FR",
    }
    response = client.post(url("create"), data)
    contact = Contact.objects.get(organization=admin.org)
    assert response.url == url("detail", contact_id=contact.public_id)
    assert [str(a) for a in contact.addresses.all()] == [
        "2 place du Théâtre, 59000 Lille",
        "5 rue Esquermoise, 59800 Lille",
    ]
    assert [(c.kind, c.value) for c in contact.channels.all()] == [("phone", "06 12 34 56 78")]
    assert contact.siren == "732829320"
    detail = client.get(response.url)
    assert "Contact « Agence du Beffroi » enregistré." in detail.content.decode()


def test_add_a_row_keeps_what_was_typed_and_saves_nothing(people):
    client = people["admin"].client()
    data = {**CONTACT_FORM, "more": "addresses"}
    response = client.post(url("create"), data)
    content = response.content.decode()
    assert response.status_code == 200
    assert Contact.objects.count() == 0
    assert 'name="addresses-TOTAL_FORMS" value="2"' in content
    assert 'value="Agence du Beffroi"' in content and 'value="2 place du Théâtre"' in content
    assert 'name="addresses-1-street"' in content


def test_form_errors_name_the_field_and_write_nothing(people, assert_nothing_changes):
    client = people["admin"].client()
    data = {
        **CONTACT_FORM,
        "siret": "12345678900000",
        "email": "contact@",
        "addresses-0-postcode": "590",
    }
    with assert_nothing_changes():
        response = client.post(url("create"), data)
    assert response.status_code == 200
    content = response.content.decode()
    assert "SIRET 12345678900000 invalide (clé de contrôle incorrecte)." in content
    assert "Adresse e-mail « contact@ » invalide." in content
    empty = {**CONTACT_FORM, "company_name": "", "kind": "person"}
    with assert_nothing_changes():
        response = client.post(url("create"), empty)
    assert shows(response, "A name or a company name is required.")


def test_edit_replaces_addresses_and_audits(people):
    admin = people["admin"]
    contact = address_book(admin)["Hélène Lefèvre"]
    client = admin.client()
    page = client.get(url("edit", contact_id=contact.public_id))
    content = page.content.decode()
    assert 'value="12 rue Nationale"' in content
    assert 'name="addresses-TOTAL_FORMS" value="2"' in content  # hers and an empty one
    data = {
        "kind": "person",
        "category": "client",
        "last_name": "Lefèvre",
        "first_name": "Hélène",
        "email": "helene@exemple.fr",
        "phone": "06 12 34 56 78",
        "addresses-TOTAL_FORMS": "2",
        "addresses-INITIAL_FORMS": "0",
        "addresses-0-street": "",
        "addresses-0-postcode": "",
        "addresses-0-city": "",
        "addresses-1-street": "8 quai du Wault",
        "addresses-1-postcode": "59000",
        "addresses-1-city": "Lille",
        "addresses-1-country": "FR",
        "channels-TOTAL_FORMS": "1",
        "channels-INITIAL_FORMS": "0",
        "channels-0-kind": "email",
        "channels-0-value": "h.lefevre@travail.fr",
    }
    response = client.post(url("edit", contact_id=contact.public_id), data)
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.category == "client"
    assert [str(a) for a in contact.addresses.all()] == ["8 quai du Wault, 59000 Lille"]
    [entry] = AuditEntry.objects.filter(action="contact.update")
    assert entry.before == {
        "category": "owner",
        "addresses": ["12 rue Nationale, 59000 Lille"],
        "channels": [],
    }
    assert entry.after == {
        "category": "client",
        "addresses": ["8 quai du Wault, 59000 Lille"],
        "channels": ["email: h.lefevre@travail.fr"],
    }


def test_detail_lists_the_dossiers_the_contact_appears_in(people):
    admin = people["admin"]
    agency = address_book(admin)["Agence Rihour"]
    dossier = dossier_services.create_dossier(
        admin.member,
        dossier_services.DossierInput(
            {"ordering_party": agency, "owner": agency, "property_city": "Lille"}, ["dpe"]
        ),
        actor=admin.user,
    )
    response = admin.client().get(url("detail", contact_id=agency.public_id))
    content = response.content.decode()
    link = reverse("dossiers:detail", kwargs={"org": "acme", "dossier_id": dossier.public_id})
    assert f'<a href="{link}" class="fw-semibold">{dossier.number}</a>' in content
    roles = html.escape(f"{fr('Ordering party')}, {fr('Owner')}")
    assert f"{roles} · {fr('To schedule')} · Lille" in content
    assert "Ce contact figure dans 1 dossier : il ne peut pas être supprimé." in content
    assert url("delete", contact_id=agency.public_id) not in content
    assert "contact.create" in content  # the history


def test_delete_from_the_page(people):
    admin = people["admin"]
    contact = address_book(admin)["Marc Dubois"]
    client = admin.client()
    page = client.get(url("detail", contact_id=contact.public_id))
    assert url("delete", contact_id=contact.public_id) in page.content.decode()
    response = client.post(url("delete", contact_id=contact.public_id))
    assert response.url == url("list")
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_delete_refused_when_in_a_dossier_says_why(people, assert_nothing_changes):
    admin = people["admin"]
    contact = address_book(admin)["Marc Dubois"]
    dossier_services.create_dossier(
        admin.member, dossier_services.DossierInput({"owner": contact}, ["dpe"]), actor=admin.user
    )
    client = admin.client()
    with assert_nothing_changes():
        response = client.post(url("delete", contact_id=contact.public_id))
    assert response.url == url("detail", contact_id=contact.public_id)
    assert "Ce contact figure dans 1 dossier : il ne peut pas être supprimé." in (
        client.get(response.url).content.decode()
    )


def test_export_csv_and_xlsx_of_the_filtered_list(people):
    admin = people["admin"]
    address_book(admin)
    client = admin.client()
    response = client.get(url("export"), {"format": "csv", "q": "lille"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="contacts-')
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert rows[0] == [
        "Civilité",
        "Nom",
        "Prénom",
        "Raison sociale",
        "Personne ou société",
        "Catégorie",
        "E-mail",
        "Téléphone",
        "Adresse",
        "Code postal",
        "Ville",
        "SIRET",
        "SIREN",
        "Numéro de TVA intracommunautaire",
        "Autres e-mails",
        "Autres téléphones",
        "Notes",
    ]
    assert [row[1] or row[3] for row in rows[1:]] == ["Agence Rihour", "Lefèvre"]
    assert rows[2][7:11] == ["06 12 34 56 78", "12 rue Nationale", "59000", "Lille"]
    book = client.get(url("export"), {"format": "xlsx", "category": "notary"})
    sheet = load_workbook(io.BytesIO(b"".join(book.streaming_content))).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[1][3] == "Étude Carpentier" and len(values) == 2


def test_a_formula_is_exported_as_text(people):
    admin = people["admin"]
    services.create_contact(admin.org, actor=admin.user, last_name='=HYPERLINK("x")')
    client = admin.client()
    text = b"".join(client.get(url("export"), {"format": "csv"}).streaming_content).decode()
    assert "'=HYPERLINK" in text
    book = client.get(url("export"), {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(b"".join(book.streaming_content))).active
    cell = sheet.cell(row=2, column=2)
    assert (cell.value, cell.data_type) == ('=HYPERLINK("x")', "s")


def test_another_organisations_contact_is_404(people):
    outsider = people["outsider"]
    theirs = services.create_contact(outsider.org, actor=outsider.user, last_name="Secret")
    client = people["admin"].client()
    for name, method in (("detail", "GET"), ("edit", "GET"), ("edit", "POST"), ("delete", "POST")):
        assert_outsider_gets_404(
            client,
            method,
            url(name, contact_id=theirs.public_id),
            CONTACT_FORM if name == "edit" else None,
        )
    assert Contact.objects.get(pk=theirs.pk).last_name == "Secret"


def test_navigation_entry_for_those_who_may_see_contacts(people):
    link = f'href="{url("list")}"'
    assert link in people["tech_all"].client().get(url("list")).content.decode()
    dashboard = reverse("core:dashboard", kwargs={"org": "acme"})
    assert link not in people["tech_own"].client().get(dashboard).content.decode()
