"""The contacts API: exact JSON in and out, 422 naming the field, 409 when in use, 404 elsewhere."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.dateparse import parse_datetime

from comptoir.contacts import services
from comptoir.contacts.models import Contact
from comptoir.core.models import AuditEntry
from comptoir.dossiers import services as dossier_services
from tests.helpers import assert_outsider_gets_404, fr

API = "/api/v1/orgs/acme"
JSON = "application/json"


def stamp(moment) -> str:
    """A datetime as the API writes it."""
    text = moment.isoformat()
    return text.replace("+00:00", "Z")


def agency(admin) -> Contact:
    return services.create_contact(
        admin.org,
        actor=admin.user,
        kind="company",
        category="agency",
        company_name="Agence Rihour",
        siret="73282932000074",
        email="rihour@agences.fr",
        phone="03 20 00 00 00",
        notes="Clés à l'accueil",
        addresses=[
            {"label": "Siège", "street": "1 place Rihour", "postcode": "59800", "city": "Lille"}
        ],
        channels=[{"kind": "phone", "label": "Portable", "value": "06 12 34 56 78"}],
    )


def expected(contact: Contact, **changes) -> dict:
    contact.refresh_from_db()
    return {
        "id": str(contact.public_id),
        "kind": "company",
        "category": "agency",
        "display_name": "Agence Rihour",
        "civility": "",
        "first_name": "",
        "last_name": "",
        "company_name": "Agence Rihour",
        "siren": "732829320",
        "siret": "73282932000074",
        "vat_number": "",
        "email": "rihour@agences.fr",
        "phone": "03 20 00 00 00",
        "notes": "Clés à l'accueil",
        "addresses": [
            {
                "label": "Siège",
                "street": "1 place Rihour",
                "postcode": "59800",
                "city": "Lille",
                "country": "FR",
            }
        ],
        "channels": [{"kind": "phone", "label": "Portable", "value": "06 12 34 56 78"}],
        "created_at": stamp(contact.created_at),
        "updated_at": stamp(contact.updated_at),
        **changes,
    }


def same_times(body: dict, contact: Contact) -> dict:
    """The API writes times to the millisecond: compare them as instants."""
    for name in ("created_at", "updated_at"):
        assert abs(parse_datetime(body[name]) - getattr(contact, name)).total_seconds() < 0.001
        body[name] = stamp(getattr(contact, name))
    return body


def test_list_with_search_filters_and_paging(people):
    admin = people["admin"]
    rihour = agency(admin)
    for name in ("Morel", "Petit", "Blanc"):
        services.create_contact(admin.org, actor=admin.user, last_name=name, category="owner")
    client = admin.api()
    body = client.get(f"{API}/contacts", {"q": "rihour lille"}).json()
    assert body["count"] == 1 and body["next_offset"] is None
    assert [same_times(item, rihour) for item in body["items"]] == [expected(rihour)]
    page = client.get(f"{API}/contacts", {"category": "owner", "limit": 2}).json()
    assert ([item["last_name"] for item in page["items"]], page["count"], page["next_offset"]) == (
        ["Blanc", "Morel"],
        3,
        2,
    )
    rest = client.get(f"{API}/contacts", {"category": "owner", "limit": 2, "offset": 2}).json()
    assert [item["last_name"] for item in rest["items"]] == ["Petit"]
    companies = client.get(f"{API}/contacts", {"kind": "company"}).json()
    assert [item["display_name"] for item in companies["items"]] == ["Agence Rihour"]


def test_list_query_count_does_not_grow(people):
    admin = people["admin"]
    for index in range(30):
        agency(admin) if index % 2 else services.create_contact(
            admin.org, actor=admin.user, last_name=f"N{index}"
        )
    client = admin.api()
    client.get(f"{API}/contacts")  # the token's "last used" is written once a minute
    with CaptureQueriesContext(connection) as small:
        client.get(f"{API}/contacts", {"limit": 2})
    with CaptureQueriesContext(connection) as large:
        client.get(f"{API}/contacts", {"limit": 30})
    assert len(small.captured_queries) == len(large.captured_queries) <= 8


def test_get_one_with_its_dossiers(people):
    admin = people["admin"]
    rihour = agency(admin)
    dossier = dossier_services.create_dossier(
        admin.member,
        dossier_services.DossierInput({"ordering_party": rihour}, ["dpe"]),
        actor=admin.user,
    )
    response = admin.api().get(f"{API}/contacts/{rihour.public_id}")
    assert response.status_code == 200
    assert same_times(response.json(), rihour) == expected(
        rihour,
        dossiers=[
            {
                "id": str(dossier.public_id),
                "number": dossier.number,
                "status": "to_schedule",
                "roles": ["ordering_party"],
            }
        ],
    )


def test_create(people):
    admin = people["admin"]
    response = admin.api().post(
        f"{API}/contacts",
        {
            "kind": "person",
            "category": "owner",
            "civility": "Mme",
            "first_name": "Hélène",
            "last_name": "Lefèvre",
            "email": "helene@exemple.fr",
            "phone": "+33 6 12 34 56 78",
            "vat_number": "",
            "addresses": [{"street": "12 rue Nationale", "postcode": "59000", "city": "Lille"}],
            "channels": [{"kind": "email", "value": "h.lefevre@travail.fr"}],
        },
        content_type=JSON,
    )
    assert response.status_code == 201
    contact = Contact.objects.get(organization=admin.org)
    assert same_times(response.json(), contact) == {
        "id": str(contact.public_id),
        "kind": "person",
        "category": "owner",
        "display_name": "Mme Hélène Lefèvre",
        "civility": "Mme",
        "first_name": "Hélène",
        "last_name": "Lefèvre",
        "company_name": "",
        "siren": "",
        "siret": "",
        "vat_number": "",
        "email": "helene@exemple.fr",
        "phone": "+33 6 12 34 56 78",
        "notes": "",
        "addresses": [
            {
                "label": "",
                "street": "12 rue Nationale",
                "postcode": "59000",
                "city": "Lille",
                "country": "FR",
            }
        ],
        "channels": [{"kind": "email", "label": "", "value": "h.lefevre@travail.fr"}],
        "created_at": stamp(contact.created_at),
        "updated_at": stamp(contact.updated_at),
        "dossiers": [],
    }
    [entry] = AuditEntry.objects.filter(action="contact.create")
    assert entry.actor_id == admin.user.pk


def test_invalid_identifiers_answer_422_naming_the_field(people, assert_nothing_changes):
    client = people["admin"].api()
    with assert_nothing_changes():
        response = client.post(
            f"{API}/contacts",
            {
                "kind": "company",
                "company_name": "SARL Dupuis",
                "siret": "12345678900000",
                "vat_number": "FR00303265045",
            },
            content_type=JSON,
        )
    assert response.status_code == 422
    assert response.json() == {
        "code": "invalid_input",
        "message": "SIRET 12345678900000 invalide (clé de contrôle incorrecte).",
        "details": {
            "field": "siret",
            "errors": [
                {
                    "field": "siret",
                    "message": "SIRET 12345678900000 invalide (clé de contrôle incorrecte).",
                },
                {
                    "field": "vat_number",
                    "message": "Numéro de TVA FR00303265045 invalide (clé de contrôle incorrecte).",
                },
            ],
        },
    }
    with assert_nothing_changes():
        nameless = client.post(f"{API}/contacts", {"email": "a@exemple.fr"}, content_type=JSON)
    assert nameless.status_code == 422
    assert nameless.json() == {
        "code": "invalid_input",
        "message": "Il faut un nom ou une raison sociale.",
        "details": {
            "field": "last_name",
            "errors": [{"field": "last_name", "message": "Il faut un nom ou une raison sociale."}],
        },
    }


def test_siren_and_siret_together_are_refused_the_siren_comes_from_the_siret(
    people, assert_nothing_changes
):
    client = people["admin"].api()
    with assert_nothing_changes():
        response = client.post(
            f"{API}/contacts",
            {
                "kind": "company",
                "company_name": "SARL Dupuis",
                "siren": "732829320",
                "siret": "73282932000074",
            },
            content_type=JSON,
        )
    assert response.status_code == 422
    assert response.json()["details"] == [
        {
            "where": "body.payload",
            "problem": fr(
                "Send the SIRET or the SIREN, not both: the SIREN is taken from the SIRET."
            ),
        }
    ]
    created = client.post(
        f"{API}/contacts",
        {"kind": "company", "company_name": "SARL Dupuis", "siret": "732 829 320 00074"},
        content_type=JSON,
    )
    assert (created.json()["siren"], created.json()["siret"]) == ("732829320", "73282932000074")


def test_a_siren_that_the_stored_siret_does_not_start_with_is_a_conflict(
    people, assert_nothing_changes
):
    admin = people["admin"]
    rihour = agency(admin)
    with assert_nothing_changes():
        response = admin.api().patch(
            f"{API}/contacts/{rihour.public_id}", {"siren": "303265045"}, content_type=JSON
        )
    assert response.status_code == 409
    assert response.json() == {
        "code": "siret_mismatch",
        "message": "Le SIRET 73282932000074 n'appartient pas au SIREN 303265045.",
        "details": {"field": "siren"},
    }


def test_schema_errors_answer_422_with_where(people, assert_nothing_changes):
    client = people["admin"].api()
    with assert_nothing_changes():
        response = client.post(
            f"{API}/contacts",
            {"last_name": "A", "kind": "robot", "addresses": [{"country": "France"}]},
            content_type=JSON,
        )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_input"
    assert [item["where"] for item in body["details"]] == [
        "body.payload.kind",
        "body.payload.addresses.0.country",
    ]
    assert body["message"] == fr("Invalid input at %(where)s.") % {
        "where": "body.payload.kind, body.payload.addresses.0.country"
    }


def test_patch_changes_only_what_is_sent(people):
    admin = people["admin"]
    rihour = agency(admin)
    response = admin.api().patch(
        f"{API}/contacts/{rihour.public_id}",
        {
            "phone": "03 20 11 11 11",
            "notes": None,
            "addresses": [{"street": "5 rue Esquermoise", "postcode": "59800", "city": "Lille"}],
        },
        content_type=JSON,
    )
    assert response.status_code == 200
    rihour.refresh_from_db()
    assert same_times(response.json(), rihour) == expected(
        rihour,
        phone="03 20 11 11 11",
        notes="",
        dossiers=[],
        addresses=[
            {
                "label": "",
                "street": "5 rue Esquermoise",
                "postcode": "59800",
                "city": "Lille",
                "country": "FR",
            }
        ],
    )
    [entry] = AuditEntry.objects.filter(action="contact.update")
    assert entry.after == {
        "phone": "03 20 11 11 11",
        "notes": "",
        "addresses": ["5 rue Esquermoise, 59800 Lille"],
    }


def test_patch_with_a_wrong_siret_changes_nothing(people, assert_nothing_changes):
    admin = people["admin"]
    rihour = agency(admin)
    with assert_nothing_changes():
        response = admin.api().patch(
            f"{API}/contacts/{rihour.public_id}", {"siret": "7328293200007"}, content_type=JSON
        )
    assert response.status_code == 422
    assert response.json()["message"] == "SIRET 7328293200007 invalide (14 chiffres attendus)."


def test_delete(people):
    admin = people["admin"]
    rihour = agency(admin)
    response = admin.api().delete(f"{API}/contacts/{rihour.public_id}")
    assert response.status_code == 204
    assert not Contact.objects.filter(pk=rihour.pk).exists()
    assert (
        AuditEntry.objects.filter(action="contact.delete", object_id=str(rihour.public_id)).count()
        == 1
    )


def test_delete_refused_with_409_when_a_dossier_names_it(people, assert_nothing_changes):
    admin = people["admin"]
    rihour = agency(admin)
    dossier_services.create_dossier(
        admin.member, dossier_services.DossierInput({"owner": rihour}, ["dpe"]), actor=admin.user
    )
    with assert_nothing_changes():
        response = admin.api().delete(f"{API}/contacts/{rihour.public_id}")
    assert response.status_code == 409
    assert response.json() == {
        "code": "contact_in_use",
        "message": "Ce contact figure dans 1 dossier : il ne peut pas être supprimé.",
        "details": {},
    }


def test_another_organisation_gets_404_everywhere(people):
    admin, outsider = people["admin"], people["outsider"]
    rihour = agency(admin)
    client = outsider.api()
    one = f"{API}/contacts/{rihour.public_id}"
    assert_outsider_gets_404(client, "GET", f"{API}/contacts")
    assert_outsider_gets_404(client, "POST", f"{API}/contacts", {"last_name": "Intrus"})
    assert_outsider_gets_404(client, "GET", one)
    assert_outsider_gets_404(client, "PATCH", one, {"notes": "x"})
    assert_outsider_gets_404(client, "DELETE", one)
    # and their own organisation's URL with Acme's contact id: 404 too
    theirs = f"/api/v1/orgs/globex/contacts/{rihour.public_id}"
    assert_outsider_gets_404(client, "GET", theirs)
    assert_outsider_gets_404(client, "DELETE", theirs)


def test_technician_of_own_dossiers_has_no_contacts(people, assert_nothing_changes):
    rihour = agency(people["admin"])
    client = people["tech_own"].api()
    with assert_nothing_changes():
        response = client.get(f"{API}/contacts/{rihour.public_id}")
    assert response.status_code == 403
    assert response.json() == {
        "code": "forbidden",
        "message": fr("Your role does not allow this action."),
        "details": {},
    }


def test_published_choices_are_the_models():
    from typing import get_args

    from comptoir.contacts import api

    assert list(get_args(api.Kind)) == Contact.Kind.values
    assert list(get_args(api.Category)) == Contact.Category.values
