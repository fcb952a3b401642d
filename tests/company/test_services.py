"""Company services: profile, logo, documents, tariffs, devices; audit and quota included."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from comptoir.company import services
from comptoir.company.expiry import ExpiryState
from comptoir.company.models import CompanyDocument, CompanyProfile, Device, Tariff
from comptoir.core.errors import Conflict, DomainError, LimitExceeded
from comptoir.core.models import AuditEntry, Certification, Organization
from comptoir.dossiers.models import MissionType
from comptoir.dossiers.services import ensure_mission_types
from tests.company.factories import a_device, a_tariff, pdf_bytes, pdf_upload, png_upload, tiny_png
from tests.conftest import nothing_changes
from tests.helpers import fr

SIRET = "73282932000074"


def last_entry(org: Organization, action: str) -> AuditEntry:
    return AuditEntry.objects.filter(organization=org, action=action).order_by("-seq")[0]


def used(org: Organization) -> int:
    org.refresh_from_db(fields=["storage_used_bytes"])
    return org.storage_used_bytes


# --- profile -------------------------------------------------------------------------


def test_reading_the_profile_writes_nothing(people):
    org = people["admin"].org
    with nothing_changes():
        profile = services.get_profile(org)
    assert profile.pk is None
    assert profile.display_name == "Acme Diagnostics"


def test_profile_is_created_then_changed_with_before_and_after(people):
    admin = people["admin"]
    profile = services.update_profile(
        admin.org,
        actor=admin.user,
        legal_name="Acme Diagnostics SAS",
        legal_form="sas",
        share_capital="10 000,00",
        siret="732 829 320 00074",
        naf_code="7120b",
        vat_number="FR 44 732829320",
        postcode="59000",
        city="Lille",
        website="www.acme-diag.fr",
        email="Contact@Acme-Diag.fr",
    )
    profile.refresh_from_db()
    assert (profile.siret, profile.siren, profile.naf_code, profile.vat_number) == (
        SIRET,
        "732829320",
        "71.20B",
        "FR44732829320",
    )
    assert profile.share_capital == Decimal("10000.00")
    assert profile.website == "https://www.acme-diag.fr"
    assert profile.email == "contact@acme-diag.fr"
    created = last_entry(admin.org, "company.profile.create")
    assert created.after["siret"] == SIRET
    assert created.after["share_capital"] == "10000.00"

    services.update_profile(admin.org, actor=admin.user, city="Roubaix", postcode="59100")
    changed = last_entry(admin.org, "company.profile.update")
    assert changed.before == {"postcode": "59000", "city": "Lille"}
    assert changed.after == {"postcode": "59100", "city": "Roubaix"}
    assert CompanyProfile.objects.filter(organization=admin.org).count() == 1


def test_saving_the_same_values_writes_no_audit_entry(people):
    admin = people["admin"]
    services.update_profile(admin.org, actor=admin.user, city="Lille")
    count = AuditEntry.objects.filter(organization=admin.org).count()
    services.update_profile(admin.org, actor=admin.user, city="Lille")
    assert AuditEntry.objects.filter(organization=admin.org).count() == count


@pytest.mark.parametrize(
    ("changes", "field", "message", "params"),
    [
        (
            {"siret": "73282932000075"},
            "siret",
            "“%(value)s” is not a valid SIRET: 14 digits (SIREN + NIC) whose check digit matches.",
            {"value": "73282932000075"},
        ),
        (
            {"siret": SIRET, "siren": "303265045"},
            "siret",
            "The SIRET %(siret)s does not start with the SIREN %(siren)s.",
            {"siret": SIRET, "siren": "303265045"},
        ),
        (
            {"siret": SIRET, "vat_number": "FR40303265045"},
            "vat_number",
            "The VAT number %(vat)s is not that of SIREN %(siren)s.",
            {"vat": "FR40303265045", "siren": "732829320"},
        ),
        ({"share_capital": "-5"}, "share_capital", "%(what)s cannot be negative.", "capital"),
        (
            {"share_capital": "dix mille"},
            "share_capital",
            "%(what)s must be a number, such as 1 234,50.",
            "capital",
        ),
        ({"postcode": "5900"}, "postcode", "A French postcode has 5 digits.", {}),
        (
            {"naf_code": "diagnostics"},
            "naf_code",
            "“%(value)s” is not a NAF code: 4 digits and a letter, such as 71.20B.",
            {"value": "diagnostics"},
        ),
    ],
)
def test_bad_profile_input_is_refused_and_writes_nothing(people, changes, field, message, params):
    admin = people["admin"]
    if params == "capital":
        params = {"what": fr("The share capital")}
    with nothing_changes(), pytest.raises(services.FieldErrors) as refused:
        services.update_profile(admin.org, actor=admin.user, city="Lille", **changes)
    assert refused.value.details["field"] == field
    expected = fr(message) % params if params else fr(message)
    assert refused.value.details["errors"][field] == expected


def test_every_bad_field_is_reported_at_once(people):
    admin = people["admin"]
    with pytest.raises(services.FieldErrors) as refused:
        services.update_profile(
            admin.org, actor=admin.user, siret="1", naf_code="x", email="not-an-address"
        )
    assert sorted(refused.value.details["errors"]) == ["email", "naf_code", "siret"]


# --- logo ----------------------------------------------------------------------------


def test_logo_is_counted_replaced_and_released(people):
    admin = people["admin"]
    org = admin.org
    start = used(org)
    profile = services.set_logo(org, png_upload(), actor=admin.user)
    size = len(tiny_png())
    assert used(org) == start + size
    assert (profile.logo_name, profile.logo_content_type, profile.logo_size) == (
        "logo.png",
        "image/png",
        size,
    )
    first_file = profile.logo.name
    assert profile.logo.storage.exists(first_file)

    bigger = tiny_png() + b"\x00" * 100
    profile = services.set_logo(org, SimpleUploadedFile("logo2.png", bigger), actor=admin.user)
    assert used(org) == start + len(bigger), "the old logo's bytes are released"
    assert profile.logo.storage.exists(profile.logo.name)
    entry = last_entry(org, "company.logo.update")
    assert entry.before == {"logo": "logo.png", "size": size}
    assert entry.after["logo"] == "logo2.png"

    services.remove_logo(org, actor=admin.user)
    assert used(org) == start
    assert not CompanyProfile.objects.get(organization=org).logo


def test_a_file_that_is_not_an_image_is_refused_and_writes_nothing(people):
    admin = people["admin"]
    fake = SimpleUploadedFile("logo.png", b"<svg onload='alert(1)'></svg>")
    with nothing_changes(), pytest.raises(DomainError) as refused:
        services.set_logo(admin.org, fake, actor=admin.user)
    assert refused.value.message == fr("“%(name)s” is not a PNG, JPEG, GIF or WebP image.") % {
        "name": "logo.png"
    }


# --- documents -----------------------------------------------------------------------


def test_a_document_replaced_keeps_its_previous_version(people):
    admin = people["admin"]
    org = admin.org
    start = used(org)
    first = services.upload_document(
        org, "cgv", pdf_upload("cgv-2025.pdf", "CGV 2025"), actor=admin.user
    )
    second = services.upload_document(
        org, "cgv", pdf_upload("cgv-2026.pdf", "CGV 2026"), actor=admin.user
    )
    first.refresh_from_db()
    assert (first.is_current, second.is_current) == (False, True)
    assert first.replaced_at == second.uploaded_at
    assert first.file.storage.exists(first.file.name), "nothing is lost"
    assert used(org) == start + first.size + second.size
    entry = last_entry(org, "company.document.replace")
    assert entry.before["name"] == "cgv-2025.pdf"
    assert entry.after == {
        "kind": "cgv",
        "name": "cgv-2026.pdf",
        "size": second.size,
        "sha256": second.sha256,
    }
    assert services.current_documents(org) == {"cgv": second}
    cgv = next(row for row in services.documents_by_kind(org) if row["kind"] == "cgv")
    assert (cgv["current"], cgv["previous"]) == (second, [first])


def test_a_file_that_is_not_a_pdf_is_refused_and_writes_nothing(people):
    admin = people["admin"]
    word = SimpleUploadedFile(
        "cgv.pdf", b"PK\x03\x04 a .docx renamed", content_type="application/pdf"
    )
    with nothing_changes(), pytest.raises(DomainError) as refused:
        services.upload_document(admin.org, "cgv", word, actor=admin.user)
    assert refused.value.code == "not_a_pdf"
    assert refused.value.message == fr(
        "“%(name)s” is not a PDF file: export the document as PDF and upload it again."
    ) % {"name": "cgv.pdf"}


def test_documents_count_against_the_quota(people):
    admin = people["admin"]
    org = admin.org
    org.plan.storage_quota_bytes = org.storage_used_bytes + 10
    org.plan.save()
    with nothing_changes(), pytest.raises(LimitExceeded):
        services.upload_document(org, "cgi", pdf_upload(), actor=admin.user)
    assert CompanyDocument.objects.filter(organization=org).count() == 0


def test_unknown_document_kind(people):
    admin = people["admin"]
    with pytest.raises(DomainError) as refused:
        services.upload_document(admin.org, "rib", pdf_upload(), actor=admin.user)
    assert refused.value.details == {"field": "kind"}


# --- tariffs -------------------------------------------------------------------------


def test_tariff_create_edit_deactivate_with_audit(people):
    admin = people["admin"]
    org = admin.org
    ensure_mission_types(org)
    dpe = MissionType.objects.get(organization=org, code="dpe")
    tariff = services.create_tariff(
        org,
        actor=admin.user,
        code=" dpe-t2 ",
        label="DPE T2",
        price_excl_vat="1 234,5",
        vat_rate="5.5",
        mission_type=dpe,
    )
    assert (tariff.code, tariff.price_excl_vat, tariff.vat_rate) == (
        "DPE-T2",
        Decimal("1234.50"),
        Decimal("5.50"),
    )
    assert (tariff.vat_amount, tariff.price_incl_vat) == (Decimal("67.90"), Decimal("1302.40"))
    assert last_entry(org, "tariff.create").after == {
        "code": "DPE-T2",
        "label": "DPE T2",
        "mission_type": "dpe",
        "price_excl_vat": "1234.50",
        "vat_rate": "5.50",
        "is_active": True,
    }

    services.update_tariff(tariff, actor=admin.user, price_excl_vat=Decimal("160"))
    entry = last_entry(org, "tariff.update")
    assert (entry.before, entry.after) == (
        {"price_excl_vat": "1234.50"},
        {"price_excl_vat": "160.00"},
    )
    services.set_tariff_active(tariff, False, actor=admin.user)
    assert last_entry(org, "tariff.deactivate").after == {"is_active": False}
    assert list(services.active_tariffs(org)) == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("price_excl_vat", "-10", "%(what)s cannot be negative."),
        ("price_excl_vat", "12,345", "%(what)s has at most 2 decimals (cents)."),
        ("price_excl_vat", "", "Enter the price excluding VAT."),
        ("vat_rate", "19.6", "Choose a French VAT rate: 20, 10, 5.5, 2.1 or 0 %."),
        (
            "code",
            "DPE maison",
            "Enter a code of 1 to 30 letters, digits, dots, hyphens or "
            "underscores, such as DPE or AMI-50.",
        ),
    ],
)
def test_bad_tariff_input_is_refused_and_writes_nothing(people, field, value, message):
    admin = people["admin"]
    data = {"code": "DPE", "label": "DPE", "price_excl_vat": "150", "vat_rate": "20"}
    data[field] = value
    with nothing_changes(), pytest.raises(services.FieldErrors) as refused:
        services.create_tariff(admin.org, actor=admin.user, **data)
    expected = fr(message) % {"what": fr("The price")} if "%(what)s" in message else fr(message)
    assert refused.value.details["errors"] == {field: expected}


def test_tariff_codes_are_unique_per_organisation(people):
    admin, other = people["admin"], people["outsider"]
    a_tariff(admin, code="DPE")
    with pytest.raises(services.FieldErrors) as refused:
        a_tariff(admin, code="dpe")
    assert refused.value.details["errors"] == {
        "code": fr("The code “%(code)s” is already used by another tariff.") % {"code": "DPE"}
    }
    assert a_tariff(other, code="DPE").organization == other.org


def test_a_mission_type_of_another_organisation_is_refused(people):
    admin, other = people["admin"], people["outsider"]
    ensure_mission_types(other.org)
    foreign = MissionType.objects.get(organization=other.org, code="dpe")
    with nothing_changes(), pytest.raises(services.FieldErrors) as refused:
        a_tariff(admin, mission_type=foreign)
    assert refused.value.details["errors"] == {"mission_type": fr("Unknown mission type.")}


def test_a_used_tariff_cannot_be_deleted_an_unused_one_can(people, monkeypatch):
    admin = people["admin"]
    used_one, typo = a_tariff(admin, code="USED"), a_tariff(admin, code="TYPO")
    monkeypatch.setattr(
        services,
        "TARIFF_IN_USE",
        [lambda tariff: "devis D-2026-0012" if tariff.code == "USED" else None],
    )
    with nothing_changes(), pytest.raises(Conflict) as refused:
        services.delete_tariff(used_one, actor=admin.user)
    assert refused.value.message == fr(
        "This tariff cannot be deleted (%(reason)s): deactivate it instead."
    ) % {"reason": "devis D-2026-0012"}
    services.delete_tariff(typo, actor=admin.user)
    assert list(Tariff.objects.filter(organization=admin.org).values_list("code", flat=True)) == [
        "USED"
    ]
    assert last_entry(admin.org, "tariff.delete").before["code"] == "TYPO"


# --- devices -------------------------------------------------------------------------


def test_device_expiry_states_and_serial_uniqueness(people):
    admin = people["admin"]
    today = timezone.localdate()
    soon = a_device(admin, expires_on=today + timedelta(days=59))
    later = a_device(admin, expires_on=today + timedelta(days=61))
    gone = a_device(admin, expires_on=today - timedelta(days=1))
    undated = a_device(admin, expires_on=None)
    assert [device.expiry() for device in (soon, later, gone, undated)] == [
        ExpiryState.SOON,
        ExpiryState.OK,
        ExpiryState.EXPIRED,
        ExpiryState.NONE,
    ]
    assert list(services.expiring_devices(admin.org)) == [gone, soon]
    with nothing_changes(), pytest.raises(services.FieldErrors) as refused:
        a_device(admin, serial_number=soon.serial_number)
    assert refused.value.details["field"] == "serial_number"


def test_retiring_a_device_is_audited_and_hides_it_from_warnings(people):
    admin = people["admin"]
    device = a_device(admin, expires_on=timezone.localdate())
    services.update_device(device, actor=admin.user, is_active=False)
    assert last_entry(admin.org, "device.retire").after == {"is_active": False}
    assert list(services.expiring_devices(admin.org)) == []
    assert Device.objects.filter(pk=device.pk).exists(), "retired, never deleted"


def test_device_needs_a_name_and_a_known_kind(people):
    admin = people["admin"]
    with nothing_changes(), pytest.raises(services.FieldErrors) as refused:
        services.create_device(admin.org, actor=admin.user, name=" ", kind="sonar")
    assert sorted(refused.value.details["errors"]) == ["kind", "name"]


def test_expiring_certifications_everyone_or_own(people):
    admin, tech = people["admin"], people["tech_all"]
    today = timezone.localdate()
    mine = Certification.objects.create(
        membership=tech.member,
        kind="dpe",
        number="C-1",
        body="Dekra",
        expires_on=today + timedelta(days=30),
    )
    Certification.objects.create(
        membership=tech.member,
        kind="gaz",
        number="C-2",
        body="Dekra",
        expires_on=today + timedelta(days=300),
    )
    Certification.objects.create(
        membership=people["blocked"].member,
        kind="dpe",
        number="C-3",
        body="Dekra",
        expires_on=today,
    )
    assert list(services.expiring_certifications(admin.member, everyone=True)) == [mine]
    assert list(services.expiring_certifications(tech.member, everyone=False)) == [mine]
    assert list(services.expiring_certifications(admin.member, everyone=False)) == []


def test_policy_expiry_is_a_date(people):
    admin = people["admin"]
    profile = services.update_profile(
        admin.org, actor=admin.user, policy_expires_on=date(2027, 3, 31)
    )
    assert profile.policy_expires_on == date(2027, 3, 31)


def test_pdf_factory_is_a_real_pdf():
    assert pdf_bytes().startswith(b"%PDF-1.4") and pdf_bytes().rstrip().endswith(b"%%EOF")
