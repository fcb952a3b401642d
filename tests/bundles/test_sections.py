"""Each section's codec: validate, export, diff and apply against the web's data.

An apply goes through the owning app's services (checked and audited there); a bad
payload is refused naming the section and the field, and writes nothing.
"""

from __future__ import annotations

import base64
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from comptoir.accounts import services as accounts
from comptoir.accounts.models import User
from comptoir.bundles import dropdowns
from comptoir.bundles.models import DropdownList
from comptoir.bundles.sections import (
    ADDED,
    CHANGED,
    DEACTIVATED,
    KEPT,
    NOT_MATCHED,
    SECTIONS,
    Change,
    InvalidBundle,
)
from comptoir.company.models import CompanyProfile, Device, Tariff
from comptoir.contacts import services as contacts
from comptoir.contacts.models import Contact
from comptoir.core.models import AuditEntry, Certification, Membership
from comptoir.numbering import services as numbering
from tests.bundles.factories import (
    IBAN,
    SIRET,
    accounting_payload,
    company_payload,
    contacts_payload,
    devices_payload,
    dropdowns_payload,
    logo_payload,
    operators_payload,
    tariffs_payload,
)
from tests.company.factories import a_device, a_tariff, pdf_bytes, tiny_png
from tests.conftest import nothing_changes
from tests.helpers import fr


def run(name: str, persona: Any, payload: Any) -> dict[str, Any]:
    section = SECTIONS[name]
    return section.apply(persona.org, section.validate(payload), actor=persona.user)


def diff(name: str, persona: Any, payload: Any) -> list[Change]:
    section = SECTIONS[name]
    return section.diff(persona.org, section.validate(payload))


def refused(name: str, payload: Any) -> InvalidBundle:
    with pytest.raises(InvalidBundle) as caught:
        SECTIONS[name].validate(payload)
    return caught.value


def actions(org: Any) -> list[str]:
    return list(
        AuditEntry.objects.filter(organization=org).order_by("seq").values_list("action", flat=True)
    )


def test_the_nine_sections_of_the_field_software():
    assert SECTIONS.names == [
        "company",
        "logo_footer",
        "operators",
        "accounting",
        "numbering",
        "tariffs",
        "devices",
        "contacts",
        "dropdowns",
    ]


# --- company -------------------------------------------------------------------------


def test_company_is_normalised_compared_applied_and_exported(admin):
    payload = company_payload(
        siret="732 829 320 00074", website="www.acme-diag.fr", share_capital=10000
    )
    cleaned = SECTIONS["company"].validate(payload)
    assert (cleaned["siret"], cleaned["website"], cleaned["share_capital"]) == (
        SIRET,
        "https://www.acme-diag.fr",
        "10000.00",
    )
    changes = diff("company", admin, payload)
    by_field = {change.field: change for change in changes}
    assert by_field["legal_form"].after == "SAS"
    assert by_field["policy_expires_on"].after == "31/03/2027"
    assert by_field["legal_name"].before == "Acme Diagnostics"  # the unsaved profile's default

    summary = run("company", admin, payload)
    profile = CompanyProfile.objects.get(organization=admin.org)
    assert (profile.siren, profile.share_capital, profile.policy_expires_on) == (
        "732829320",
        Decimal("10000.00"),
        date(2027, 3, 31),
    )
    assert "siret" in summary["changed"]
    assert "company.profile.create" in actions(admin.org)
    assert diff("company", admin, payload) == []
    exported = SECTIONS["company"].export(admin.org)
    assert exported["siret"] == SIRET and exported["share_capital"] == "10000.00"
    assert diff("company", admin, exported) == []


def test_company_fields_absent_are_left_and_empty_ones_cleared(admin):
    run("company", admin, company_payload())
    run("company", admin, {"phone": "", "city": "Roubaix"})
    profile = CompanyProfile.objects.get(organization=admin.org)
    assert (profile.phone, profile.city, profile.insurer) == ("", "Roubaix", "Hiscox")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"siret": "73282932000075"}, "siret"),
        ({"policy_expires_on": "31/03/2027"}, "policy_expires_on"),
        ({"share_capital": "beaucoup"}, "share_capital"),
        ({"legal_form": "gmbh"}, "legal_form"),
        ({"email": "pas une adresse"}, "email"),
        ({"city": 59000}, "city"),
        ({"capital": "1"}, "capital"),
        (["legal_name"], "company"),
    ],
)
def test_a_bad_company_payload_names_the_field(people, payload, field):
    error = refused("company", payload)
    assert error.section == "company" and error.details["field"] == field
    assert error.code == "invalid_bundle" and error.status == 400
    assert "company" in error.message and field in error.message


def test_company_consistency_is_checked_at_apply_and_nothing_is_written(admin):
    run("company", admin, company_payload())
    with nothing_changes(), pytest.raises(InvalidBundle) as caught:
        run("company", admin, {"siren": "552100554"})
    assert caught.value.details["field"] == "siret"


# --- accounting ------------------------------------------------------------------------


def test_accounting_details_are_applied_with_the_iban_shown_in_groups(admin):
    changes = diff(
        "accounting", admin, accounting_payload(iban="fr76 3000 6000 0112 3456 7890 189")
    )
    by_field = {change.field: change for change in changes}
    assert by_field["iban"].after == "FR76 3000 6000 0112 3456 7890 189"
    assert by_field["sales_journal"].before == "VE" and by_field["sales_journal"].after == "VT"
    assert "customer_account_prefix" not in by_field  # 411 already
    run("accounting", admin, accounting_payload())
    profile = CompanyProfile.objects.get(organization=admin.org)
    assert (profile.iban, profile.bic, profile.vat_regime) == (IBAN, "BNPAFRPPXXX", "receipts")
    assert SECTIONS["accounting"].export(admin.org)["iban"] == IBAN


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("iban", "FR7630006000011234567890188"),
        ("bic", "BNPA1RPP"),
        ("sales_journal", "VENTES-2026"),
        ("customer_account_prefix", "411-CLIENTS"),
        ("vat_regime", "flat"),
    ],
)
def test_bad_bank_and_accounting_details_are_refused(people, field, value):
    error = refused("accounting", accounting_payload(**{field: value}))
    assert (error.section, error.details["field"]) == ("accounting", field)


# --- logo and footer ---------------------------------------------------------------------


def test_logo_and_footer_are_applied_then_removed_by_null(admin):
    changes = diff("logo_footer", admin, logo_payload())
    assert {change.field for change in changes} == {"document_footer", "logo"}
    run("logo_footer", admin, logo_payload())
    profile = CompanyProfile.objects.get(organization=admin.org)
    assert profile.logo_name == "logo.png" and profile.logo_content_type == "image/png"
    assert profile.document_footer == "SAS au capital de 10 000 €"
    assert diff("logo_footer", admin, logo_payload()) == []  # the same image: no change
    exported = SECTIONS["logo_footer"].export(admin.org)
    assert base64.b64decode(exported["logo"]["data"]) == tiny_png()

    assert diff("logo_footer", admin, {"document_footer": profile.document_footer}) == []
    [removal] = diff("logo_footer", admin, {"logo": None})
    assert (removal.field, removal.after) == ("logo", "")
    run("logo_footer", admin, {"logo": None})
    profile.refresh_from_db()
    assert not profile.logo
    assert "company.logo.remove" in actions(admin.org)


@pytest.mark.parametrize(
    ("logo", "field"),
    [
        ({"name": "logo.png", "data": "pas du base64 !"}, "logo.data"),
        ({"name": "logo.pdf", "data": base64.b64encode(pdf_bytes()).decode()}, "logo.data"),
        ({"name": "logo.png"}, "logo.data"),
        ({"data": "", "format": "png"}, "logo.format"),
        ("logo.png", "logo"),
    ],
)
def test_a_bad_logo_is_refused(people, logo, field):
    error = refused("logo_footer", {"logo": logo})
    assert error.details["field"] == field


# --- operators ---------------------------------------------------------------------------


def test_operators_are_matched_by_initials_and_never_created(admin, technician):
    members, users = Membership.objects.count(), User.objects.count()
    changes = diff("operators", admin, operators_payload())
    kinds = {(change.kind, change.field) for change in changes}
    assert {(NOT_MATCHED, ""), (CHANGED, "display_name"), (CHANGED, "phone")} <= kinds
    assert (ADDED, "certifications") in kinds
    [unmatched] = [change for change in changes if change.kind == NOT_MATCHED]
    assert (unmatched.row, unmatched.after) == ("ZZZ", "Zoé Inconnue")
    [email] = [change for change in changes if change.field == "email"]
    assert (email.kind, email.before, email.after) == (
        KEPT,
        "tech_all@acme.test",
        "thomas.aubert@acme.test",
    )

    summary = run("operators", admin, operators_payload(initials="ta"))
    assert summary == {"updated": 1, "certifications": 1, "not_matched": ["ZZZ"]}
    technician.refresh_from_db()
    technician.user.refresh_from_db()
    assert (technician.display_name, technician.phone) == ("Thomas Aubert", "06 11 22 33 44")
    assert technician.user.email == "tech_all@acme.test"  # the sign-in address is kept
    cert = Certification.objects.get(membership=technician)
    assert (cert.kind, cert.number, cert.expires_on) == ("dpe", "CPDI-4242", date(2030, 6, 30))
    assert (Membership.objects.count(), User.objects.count()) == (members, users)
    assert {change.kind for change in diff("operators", admin, operators_payload())} == {
        NOT_MATCHED,
        KEPT,
    }

    renewed = operators_payload()
    renewed[0]["certifications"][0].update(number="CPDI-5000", expires_on="2035-06-30")
    run("operators", admin, renewed)
    cert = Certification.objects.get(membership=technician)  # updated by kind, not duplicated
    assert (cert.number, cert.expires_on) == ("CPDI-5000", date(2035, 6, 30))
    assert "certification.update" in actions(admin.org)


def test_an_account_without_e_mail_gets_the_station_s(admin, technician):
    User.objects.filter(pk=technician.user_id).update(email=None)
    [change] = diff("operators", admin, [{"initials": "TA", "email": "Thomas@Acme.test"}])
    assert (change.kind, change.field, change.after) == (CHANGED, "email", "thomas@acme.test")
    run("operators", admin, [{"initials": "TA", "email": "thomas@acme.test"}])
    technician.user.refresh_from_db()
    assert technician.user.email == "thomas@acme.test"


def test_blank_operator_values_erase_nothing_and_shared_initials_match_nobody(
    people, admin, technician
):
    accounts.update_member(technician, actor=admin.user, phone="06 99 99 99 99")
    run("operators", admin, [{"initials": "TA", "name": "", "phone": "", "email": None}])
    technician.refresh_from_db()
    assert technician.phone == "06 99 99 99 99"

    accounts.update_member(people["tech_own"].member, actor=admin.user, initials="TA")
    [change] = diff("operators", admin, [{"initials": "TA", "phone": "01 02 03 04 05"}])
    assert change.kind == NOT_MATCHED
    assert change.before == fr("several members have these initials")


def test_an_e_mail_taken_by_another_account_refuses_the_import(admin, technician):
    User.objects.filter(pk=technician.user_id).update(email=None)
    payload = [{"initials": "TA", "email": "admin@acme.test", "phone": "06 01 01 01 01"}]
    with nothing_changes(), pytest.raises(InvalidBundle) as caught:
        run("operators", admin, payload)
    assert caught.value.details["field"] == "0.email"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ([{"name": "Sans initiales"}], "0.initials"),
        ([{"initials": "TA"}, {"initials": "ta"}], "1.initials"),
        ([{"initials": "TROPLONG"}], "0.initials"),
        ([{"initials": "TA", "email": "tech1.mej"}], "0.email"),
        (
            [{"initials": "TA", "certifications": [{"kind": "radon"}]}],
            "0.certifications.0.expires_on",
        ),
        (
            [
                {
                    "initials": "TA",
                    "certifications": [
                        {"kind": "radon", "number": "1", "body": "B", "expires_on": "2030-01-01"}
                    ],
                }
            ],
            "0.certifications.0.kind",
        ),
        ({"initials": "TA"}, "operators"),
    ],
)
def test_a_bad_operator_payload_names_the_field(people, payload, field):
    assert refused("operators", payload).details["field"] == field


# --- numbering ---------------------------------------------------------------------------


def test_numbering_goes_through_the_numbering_app(admin):
    exported = SECTIONS["numbering"].export(admin.org)
    assert exported == numbering.series_settings(admin.org)
    assert diff("numbering", admin, exported) == []

    wanted = {"series": {"quote": {"mask": "DEV-%AAAA%-%N%", "width": 4}}}
    changes = {change.field: change for change in diff("numbering", admin, wanted)}
    assert set(changes) == {"series.quote.mask", "series.quote.width"}
    assert changes["series.quote.width"].after == "4"
    run("numbering", admin, wanted)
    series = numbering.series_settings(admin.org)["series"]["quote"]
    assert (series["mask"], series["width"]) == ("DEV-%AAAA%-%N%", 4)
    assert diff("numbering", admin, wanted) == []


def test_a_bad_numbering_payload_is_refused_by_the_numbering_app(admin):
    assert refused("numbering", ["series"]).details["field"] == "numbering"
    with nothing_changes(), pytest.raises(InvalidBundle) as caught:
        run("numbering", admin, {"series": {"quote": {"width": "cinq"}}})
    assert caught.value.section == "numbering"
    assert caught.value.details["field"] == "series.quote.width"


# --- tariffs -----------------------------------------------------------------------------


def test_tariffs_are_upserted_by_code_and_missing_ones_deactivated(admin):
    old = a_tariff(admin, code="PACK", label="Pack vente")
    a_tariff(admin, code="DPE", label="DPE", price_excl_vat=Decimal("140.00"))
    changes = diff("tariffs", admin, tariffs_payload())
    assert [(change.kind, change.row, change.field) for change in changes] == [
        (CHANGED, "DPE", "label"),
        (CHANGED, "DPE", "mission_type"),
        (CHANGED, "DPE", "price_excl_vat"),
        (ADDED, "AMI", ""),
        (DEACTIVATED, "PACK", ""),
    ]
    price = next(change for change in changes if change.field == "price_excl_vat")
    assert (price.before, price.after) == ("140,00\u00a0€", "150,00\u00a0€")

    assert run("tariffs", admin, tariffs_payload()) == {"added": 1, "updated": 1, "deactivated": 1}
    rows = {tariff.code: tariff for tariff in Tariff.objects.filter(organization=admin.org)}
    assert set(rows) == {"PACK", "DPE", "AMI"}  # never deleted
    assert rows["PACK"].is_active is False
    assert (rows["DPE"].price_excl_vat, rows["DPE"].mission_type.code) == (Decimal("150.00"), "dpe")
    assert rows["AMI"].vat_rate == Decimal("20.00")
    assert diff("tariffs", admin, tariffs_payload()) == []
    exported = SECTIONS["tariffs"].export(admin.org)
    assert {row["code"]: row["is_active"] for row in exported} == {
        "AMI": True,
        "DPE": True,
        "PACK": False,
    }
    assert {"tariff.create", "tariff.update", "tariff.deactivate"} <= set(actions(admin.org))
    assert old.pk in set(Tariff.objects.values_list("pk", flat=True))


def test_a_station_tariff_marked_inactive_arrives_inactive(admin):
    run(
        "tariffs",
        admin,
        [{"code": "OLD", "label": "Ancien", "price_excl_vat": "10", "is_active": False}],
    )
    assert Tariff.objects.get(organization=admin.org, code="OLD").is_active is False


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (
            {"code": "DPE", "label": "DPE", "price_excl_vat": "150", "vat_rate": "19.6"},
            "0.vat_rate",
        ),
        ({"code": "D P E", "label": "DPE", "price_excl_vat": "150"}, "0.code"),
        ({"code": "DPE", "label": "", "price_excl_vat": "150"}, "0.label"),
        ({"code": "DPE", "label": "DPE", "price_excl_vat": "-1"}, "0.price_excl_vat"),
        ({"code": "DPE", "label": "DPE", "price_excl_vat": "1.234"}, "0.price_excl_vat"),
        ({"code": "DPE", "label": "DPE", "price_excl_vat": True}, "0.price_excl_vat"),
        ({"code": "DPE", "label": "DPE"}, "0.price_excl_vat"),
        ({"code": "DPE", "label": "DPE", "price_excl_vat": "1", "is_active": "oui"}, "0.is_active"),
    ],
)
def test_a_bad_tariff_names_the_row_and_field(people, row, field):
    assert refused("tariffs", [row]).details["field"] == field


def test_a_tariff_code_twice_is_refused(people):
    rows = [
        {"code": "DPE", "label": "A", "price_excl_vat": "1"},
        {"code": "dpe", "label": "B", "price_excl_vat": "2"},
    ]
    assert refused("tariffs", rows).details["field"] == "1.code"


def test_an_unknown_mission_type_refuses_the_whole_section(admin):
    payload = [
        *tariffs_payload(),
        {"code": "X", "label": "X", "price_excl_vat": "1", "mission_type": "radon"},
    ]
    with nothing_changes(), pytest.raises(InvalidBundle) as caught:
        run("tariffs", admin, payload)
    assert caught.value.details["field"] == "2.mission_type"


# --- devices -----------------------------------------------------------------------------


def test_devices_are_matched_by_serial_then_by_name_and_never_removed(admin):
    niton = a_device(admin, name="Analyseur plomb", serial_number="XLP-1")
    laser = a_device(admin, name="TELEMETRE LASER", kind="laser", serial_number="")
    other = a_device(admin, name="Caméra", kind="thermal")
    changes = diff("devices", admin, devices_payload())
    assert {(change.kind, change.field) for change in changes} >= {
        (CHANGED, "name"),
        (CHANGED, "manufacturer"),
        (CHANGED, "expires_on"),
    }
    assert all(change.kind != ADDED for change in changes)
    assert run("devices", admin, devices_payload()) == {"added": 0, "updated": 2}
    niton.refresh_from_db()
    laser.refresh_from_db()
    assert (niton.name, niton.expires_on) == ("Niton XLp 300", date(2027, 1, 31))
    assert laser.name == "Télémètre laser"
    assert Device.objects.filter(pk=other.pk).exists()
    assert diff("devices", admin, devices_payload()) == []

    run("devices", admin, [{"name": "Détecteur gaz", "kind": "gas", "serial_number": "G-1"}])
    assert Device.objects.filter(organization=admin.org).count() == 4
    assert diff("devices", admin, SECTIONS["devices"].export(admin.org)) == []


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"name": ""}, "0.name"),
        ({"name": "X", "kind": "radar"}, "0.kind"),
        ({"name": "X", "expires_on": "demain"}, "0.expires_on"),
        ({"name": "X", "expiry_kind": "battery"}, "0.expiry_kind"),
    ],
)
def test_a_bad_device_names_the_row_and_field(people, row, field):
    assert refused("devices", [row]).details["field"] == field


# --- contacts ----------------------------------------------------------------------------


def test_contacts_are_added_with_their_addresses_and_phones(admin):
    changes = diff("contacts", admin, contacts_payload())
    assert [(change.kind, change.row) for change in changes] == [
        (ADDED, "Élodie Martin"),
        (ADDED, "Agence du Beffroi"),
    ]
    assert run("contacts", admin, contacts_payload()) == {"added": 2, "updated": 0}
    martin = Contact.objects.get(organization=admin.org, last_name="Martin")
    assert [str(address) for address in martin.addresses.all()] == ["3 rue de Paris, 59000 Lille"]
    agency = Contact.objects.get(organization=admin.org, company_name="Agence du Beffroi")
    assert (agency.category, agency.siren) == ("agency", SIRET[:9])
    assert [channel.value for channel in agency.channels.all()] == ["03 20 11 22 33"]
    assert diff("contacts", admin, contacts_payload()) == []


def test_contacts_are_completed_never_erased_nor_removed(admin):
    kept = contacts.create_contact(
        admin.org, actor=admin.user, last_name="Durand", phone="0600000000"
    )
    martin = contacts.create_contact(
        admin.org,
        actor=admin.user,
        first_name="Elodie",
        last_name="MARTIN",
        category="notary",
        notes="Cliente fidèle",
        addresses=[
            {
                "label": "Bureau",
                "street": "1 place du Théâtre",
                "postcode": "59000",
                "city": "Lille",
            }
        ],
    )
    payload = contacts_payload()[:1]
    payload[0]["notes"] = ""
    changes = diff("contacts", admin, payload)  # matched by name: accents and case aside
    assert {(change.kind, change.field) for change in changes} == {
        (CHANGED, "first_name"),
        (CHANGED, "last_name"),
        (CHANGED, "email"),
        (CHANGED, "phone"),
        (ADDED, "addresses"),
    }
    assert run("contacts", admin, payload) == {"added": 0, "updated": 1}
    martin.refresh_from_db()
    assert (martin.email, martin.notes, martin.category) == (
        "elodie.martin@example.fr",
        "Cliente fidèle",  # an empty value never erases
        "notary",  # the category is only taken for a new contact
    )
    assert [address.city for address in martin.addresses.all()] == ["Lille", "Lille"]
    assert Contact.objects.filter(pk=kept.pk).exists()

    by_email = [
        {"last_name": "Martin-Dupont", "email": "ELODIE.MARTIN@example.fr", "phone": "0611111111"}
    ]
    run("contacts", admin, by_email)
    martin.refresh_from_db()
    assert (martin.last_name, martin.phone) == ("Martin-Dupont", "0611111111")
    assert Contact.objects.filter(organization=admin.org).count() == 2


def test_the_same_new_contact_twice_is_added_once(admin):
    row = {"last_name": "Petit", "email": "petit@example.fr"}
    assert run("contacts", admin, [row, {**row, "phone": "0612121212"}]) == {
        "added": 1,
        "updated": 1,
    }
    assert Contact.objects.get(organization=admin.org, last_name="Petit").phone == "0612121212"


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"last_name": "X", "siret": "73282932000075"}, "0.siret"),
        ({"first_name": ""}, "0.last_name"),
        ({"last_name": "X", "category": "fournisseur"}, "0.category"),
        (
            {
                "last_name": "X",
                "addresses": [{"postcode": "5900", "city": "Lille", "country": "FRA"}],
            },
            "0.addresses.0.country",
        ),
        (
            {"last_name": "X", "channels": [{"kind": "fax", "value": "0320000000"}]},
            "0.channels.0.channels",
        ),
        ({"last_name": "X", "fax": "0320000000"}, "0.fax"),
    ],
)
def test_a_bad_contact_names_the_row_and_field(people, row, field):
    assert refused("contacts", [row]).details["field"] == field


# --- drop-down lists ---------------------------------------------------------------------


def test_dropdowns_are_merged_into_the_web_never_replaced(admin):
    dropdowns.create_list(
        admin.org,
        actor=admin.user,
        key="pieces",
        label="Pièces",
        items=[
            {"key": "cuisine", "label": "Cuisine", "description": "Faïence murale"},
            {"key": "entree", "label": "Entrée", "description": "Parquet chêne"},
        ],
    )
    changes = diff("dropdowns", admin, dropdowns_payload())
    assert [(change.kind, change.row, change.field) for change in changes] == [
        (CHANGED, "pieces › cuisine", "description"),
        (ADDED, "pieces › sejour", ""),
        (ADDED, "materiaux", ""),
    ]
    assert run("dropdowns", admin, dropdowns_payload()) == {
        "lists_added": 1,
        "lists_changed": 1,
        "items_added": 2,
    }
    pieces = DropdownList.objects.get(organization=admin.org, key="pieces")
    assert pieces.items == [
        {"key": "cuisine", "label": "Cuisine", "description": "Carrelage au sol"},
        {"key": "entree", "label": "Entrée", "description": "Parquet chêne"},
        {"key": "sejour", "label": "Séjour", "description": ""},
    ]
    assert {"dropdown_list.create", "dropdown_list.merge"} <= set(actions(admin.org))

    emptied = dropdowns_payload()
    emptied["pieces"]["items"][0]["description"] = ""
    assert diff("dropdowns", admin, emptied) == []  # an empty description never erases
    run("dropdowns", admin, emptied)
    pieces.refresh_from_db()
    assert pieces.items[0]["description"] == "Carrelage au sol"
    assert SECTIONS["dropdowns"].export(admin.org)["pieces"]["items"] == pieces.items


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"pieces": {"items": [{"key": "a"}, {"key": "a"}]}}, "pieces.items.1.key"),
        ({"pieces": {"items": [{"label": "Sans clé"}]}}, "pieces.items.0.key"),
        ({"pieces": {"items": [{"key": "a", "description": 3}]}}, "pieces.items.0.description"),
        ({"pieces": {"items": "cuisine"}}, "pieces.items"),
        ({"pieces": {"entries": []}}, "pieces.entries"),
        ({"": {"items": []}}, '""'),
        ([], "dropdowns"),
    ],
)
def test_a_bad_dropdown_payload_names_the_field(people, payload, field):
    assert refused("dropdowns", payload).details["field"] == field
