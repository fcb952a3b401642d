"""Contact services: validation, addresses and channels, audit, search, deletion rules."""

from __future__ import annotations

import pytest

from comptoir.contacts import services
from comptoir.contacts.models import Contact, ContactAddress, ContactChannel
from comptoir.core.errors import Conflict, DomainError
from comptoir.core.models import AuditEntry
from comptoir.dossiers import services as dossier_services


def entries(org, action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(organization=org, action=action).order_by("seq"))


def make_agency(admin) -> Contact:
    return services.create_contact(
        admin.org,
        actor=admin.user,
        kind="company",
        category="agency",
        company_name="Agence du Beffroi",
        siret="732 829 320 00074",
        vat_number="fr44732829320",
        email="Contact@Beffroi.FR",
        phone="03 20 00 00 00",
        addresses=[
            {
                "label": "Siège",
                "street": "2 place du Théâtre",
                "postcode": "59000",
                "city": "Lille",
            },
            {"street": "", "postcode": "", "city": ""},
        ],  # an empty row: ignored
        channels=[
            {"kind": "phone", "label": "Portable", "value": "06 12 34 56 78"},
            {"kind": "email", "label": "Compta", "value": "compta@beffroi.fr"},
        ],
    )


def test_create_normalises_identifiers_and_keeps_parts(people):
    admin = people["admin"]
    contact = make_agency(admin)
    assert (contact.siret, contact.siren, contact.vat_number) == (
        "73282932000074",
        "732829320",
        "FR44732829320",
    )
    assert contact.email == "Contact@beffroi.fr"
    assert [str(address) for address in contact.addresses.all()] == [
        "2 place du Théâtre, 59000 Lille"
    ]
    assert [(c.kind, c.label, c.value) for c in contact.channels.all()] == [
        ("phone", "Portable", "06 12 34 56 78"),
        ("email", "Compta", "compta@beffroi.fr"),
    ]
    assert contact.sort_name == "agence du beffroi"
    for word in ("beffroi", "theatre", "59000", "lille", "compta@beffroi.fr", "73282932000074"):
        assert word in contact.search_text
    [entry] = entries(admin.org, "contact.create")
    assert entry.actor_id == admin.user.pk
    assert entry.object_id == str(contact.public_id)
    assert entry.after == {
        "kind": "company",
        "category": "agency",
        "civility": "",
        "first_name": "",
        "last_name": "",
        "company_name": "Agence du Beffroi",
        "siren": "732829320",
        "siret": "73282932000074",
        "vat_number": "FR44732829320",
        "email": "Contact@beffroi.fr",
        "phone": "03 20 00 00 00",
        "notes": "",
        "addresses": ["Siège: 2 place du Théâtre, 59000 Lille"],
        "channels": ["phone: 06 12 34 56 78", "email: compta@beffroi.fr"],
    }


def test_invalid_values_are_refused_whole_and_nothing_is_written(people, assert_nothing_changes):
    admin = people["admin"]
    with assert_nothing_changes(), pytest.raises(services.InvalidContact) as caught:
        services.create_contact(
            admin.org,
            actor=admin.user,
            last_name="Durand",
            siret="12345678900000",
            email="durand@",
            addresses=[{"street": "1 rue A", "postcode": "590", "city": "Lille"}],
        )
    error = caught.value
    assert (error.status, error.code) == (422, "invalid_input")
    assert error.message == "SIRET 12345678900000 invalide (clé de contrôle incorrecte)."
    assert error.details == {
        "field": "siret",
        "errors": [
            {
                "field": "siret",
                "message": "SIRET 12345678900000 invalide (clé de contrôle incorrecte).",
            },
            {"field": "email", "message": "Adresse e-mail « durand@ » invalide."},
        ],
    }


def test_a_name_is_required(people):
    admin = people["admin"]
    with pytest.raises(services.InvalidContact) as caught:
        services.create_contact(admin.org, actor=admin.user, email="x@exemple.fr")
    assert caught.value.message == "Il faut un nom ou une raison sociale."
    assert caught.value.details["field"] == "last_name"


def test_unknown_fields_are_refused(people):
    with pytest.raises(DomainError) as caught:
        services.create_contact(people["admin"].org, actor=None, last_name="A", password="x")
    assert caught.value.message == "Champ inconnu : password."


def test_update_records_only_what_changed_and_refreshes_the_search_text(people):
    admin = people["admin"]
    contact = make_agency(admin)
    services.update_contact(
        contact,
        actor=admin.user,
        phone="03 20 99 99 99",
        addresses=[
            {"label": "Agence", "street": "5 rue Esquermoise", "postcode": "59800", "city": "Lille"}
        ],
    )
    contact.refresh_from_db()
    assert contact.phone == "03 20 99 99 99"
    assert [str(a) for a in contact.addresses.all()] == ["5 rue Esquermoise, 59800 Lille"]
    assert ContactChannel.objects.filter(contact=contact).count() == 2  # not sent: kept
    assert "esquermoise" in contact.search_text and "theatre" not in contact.search_text
    [entry] = entries(admin.org, "contact.update")
    assert entry.before == {
        "phone": "03 20 00 00 00",
        "addresses": ["Siège: 2 place du Théâtre, 59000 Lille"],
    }
    assert entry.after == {
        "phone": "03 20 99 99 99",
        "addresses": ["Agence: 5 rue Esquermoise, 59800 Lille"],
    }
    services.update_contact(contact, actor=admin.user, phone="03 20 99 99 99")
    assert len(entries(admin.org, "contact.update")) == 1, "no change, no entry"


def test_the_siren_follows_the_siret_and_a_lone_siren_must_fit_it(people, assert_nothing_changes):
    admin = people["admin"]
    contact = make_agency(admin)
    services.update_contact(contact, actor=admin.user, siret="303 265 045 00011")
    contact.refresh_from_db()
    assert (contact.siret, contact.siren) == ("30326504500011", "303265045")
    with assert_nothing_changes(), pytest.raises(Conflict) as caught:
        services.update_contact(contact, actor=admin.user, siren="732829320")
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        409,
        "siret_mismatch",
        "Le SIRET 30326504500011 n'appartient pas au SIREN 732829320.",
    )
    with pytest.raises(services.InvalidContact) as refused:
        services.update_contact(
            contact, actor=admin.user, siren="732829320", siret="30326504500011"
        )
    assert refused.value.message == ("Le SIRET 30326504500011 n'appartient pas au SIREN 732829320.")
    services.update_contact(contact, actor=admin.user, siren="", siret="")
    contact.refresh_from_db()
    assert (contact.siret, contact.siren) == ("", "")


def test_update_does_not_recheck_untouched_fields(people):
    """A contact stored before a rule existed can still be edited."""
    admin = people["admin"]
    contact = make_agency(admin)
    Contact.objects.filter(pk=contact.pk).update(email="ancienne-adresse")
    contact.refresh_from_db()
    services.update_contact(contact, actor=admin.user, notes="Rappeler lundi")
    contact.refresh_from_db()
    assert (contact.notes, contact.email) == ("Rappeler lundi", "ancienne-adresse")


def test_search_finds_words_anywhere_without_accents(people):
    admin = people["admin"]
    make_agency(admin)
    services.create_contact(
        admin.org,
        actor=admin.user,
        last_name="Lefèvre",
        first_name="Hélène",
        phone="06 00 00 00 01",
    )
    base = Contact.objects.filter(organization=admin.org)
    assert [c.display_name for c in services.search_contacts(base, "HELENE lefevre")] == [
        "Hélène Lefèvre"
    ]
    assert [c.display_name for c in services.search_contacts(base, "théâtre lille")] == [
        "Agence du Beffroi"
    ]
    assert list(services.search_contacts(base, "inconnu")) == []


def test_delete_writes_the_before_state_to_the_audit_log(people):
    admin = people["admin"]
    contact = make_agency(admin)
    public_id = str(contact.public_id)
    services.delete_contact(contact, actor=admin.user)
    assert not Contact.objects.filter(public_id=public_id).exists()
    assert not ContactAddress.objects.exists() and not ContactChannel.objects.exists()
    [entry] = entries(admin.org, "contact.delete")
    assert (entry.object_id, entry.object_repr) == (public_id, "Agence du Beffroi")
    assert entry.before["siret"] == "73282932000074"
    assert entry.after is None


def _dossier_for(admin, **parties):
    return dossier_services.create_dossier(
        admin.member,
        dossier_services.DossierInput({"property_city": "Lille", **parties}, ["dpe"]),
        actor=admin.user,
    )


def test_delete_is_refused_when_a_dossier_names_the_contact(people, assert_nothing_changes):
    admin = people["admin"]
    agency = make_agency(admin)
    owner = services.create_contact(admin.org, actor=admin.user, last_name="Morel")
    _dossier_for(admin, ordering_party=agency)
    _dossier_for(admin, ordering_party=agency, owner=owner)
    for contact, message in (
        (agency, "Ce contact figure dans 2 dossiers : il ne peut pas être supprimé."),
        (owner, "Ce contact figure dans 1 dossier : il ne peut pas être supprimé."),
    ):
        assert services.deletion_refusal(contact) == message
        with assert_nothing_changes(), pytest.raises(Conflict) as caught:
            services.delete_contact(contact, actor=admin.user)
        assert (caught.value.status, caught.value.code, caught.value.message) == (
            409,
            "contact_in_use",
            message,
        )


def test_dossiers_of_lists_both_roles_newest_first(people):
    admin = people["admin"]
    agency = make_agency(admin)
    first = _dossier_for(admin, ordering_party=agency)
    second = _dossier_for(admin, ordering_party=agency, owner=agency)
    rows = services.dossiers_of(agency, admin.member)
    assert [(dossier.number, roles) for dossier, roles in rows] == [
        (second.number, ["ordering_party", "owner"]),
        (first.number, ["ordering_party"]),
    ]
    assert services.dossiers_of(agency, people["tech_own"].member) == []
