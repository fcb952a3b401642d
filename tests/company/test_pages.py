"""The settings pages as an administrator uses them, in French; refusals change nothing."""

from __future__ import annotations

import html
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from comptoir.company import services
from comptoir.company.models import CompanyDocument, CompanyProfile, Device, SmtpSettings, Tariff
from tests.company.factories import a_device, a_tariff, pdf_bytes, pdf_upload, png_upload, tiny_png
from tests.conftest import nothing_changes
from tests.helpers import assert_outsider_gets_404, fr

BASE = "/o/acme/parametres"


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_every_tab_is_reachable_from_the_settings_hub(people):
    response = people["admin"].client().get(f"{BASE}/")
    assert response.status_code == 200
    page = response.content.decode()
    for url in ("entreprise/", "documents/", "tarifs/", "appareils/", "e-mail/", ""):
        assert f'href="{BASE}/{url}"' in page, url
    assert 'aria-current="page" href="/o/acme/parametres/"' in page.replace(
        'nav-link text-nowrap active" ', ""
    )


def test_company_tab_lights_the_settings_menu_entry(people):
    page = people["admin"].client().get(f"{BASE}/entreprise/").content.decode()
    assert 'class="nav-link active" aria-current="page" href="/o/acme/parametres/"' in page


def test_company_details_are_saved_and_shown(people):
    admin = people["admin"]
    client = admin.client()
    response = client.post(
        f"{BASE}/entreprise/",
        {
            "legal_name": "Acme Diagnostics SAS",
            "legal_form": "sas",
            "share_capital": "10 000",
            "siret": "732 829 320 00074",
            "naf_code": "71.20B",
            "vat_number": "FR44732829320",
            "street": "55 rue Faidherbe",
            "postcode": "59000",
            "city": "Lille",
            "country": "France",
            "email": "contact@acme-diag.fr",
            "policy_expires_on": "2027-03-31",
            "document_footer": "SAS au capital de 10 000 €",
        },
    )
    assert response.status_code == 302
    profile = CompanyProfile.objects.get(organization=admin.org)
    assert (profile.siren, profile.share_capital) == ("732829320", Decimal("10000.00"))
    page = text(client.get(f"{BASE}/entreprise/"))
    assert "SIRET 73282932000074 · NAF 71.20B" in page
    assert 'value="10\u202f000,00"' in page
    assert "SAS au capital de 10 000 €" in page


def test_an_invalid_siret_is_shown_next_to_the_field_and_nothing_is_written(people):
    client = people["admin"].client()
    with nothing_changes():
        response = client.post(f"{BASE}/entreprise/", {"siret": "73282932000075", "city": "Lille"})
    assert response.status_code == 200
    message = fr(
        "“%(value)s” is not a valid SIRET: 14 digits (SIREN + NIC) whose check digit matches."
    ) % {"value": "73282932000075"}
    assert message in text(response)
    assert (
        'class="form-control is-invalid" aria-describedby="id_siret_helptext" '
        'aria-invalid="true" id="id_siret"'
    ) in response.content.decode()


def test_logo_upload_and_file(people):
    client = people["admin"].client()
    response = client.post(f"{BASE}/entreprise/logo/", {"logo": png_upload()})
    assert response.status_code == 302
    image = client.get(f"{BASE}/entreprise/logo/fichier/")
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content) == tiny_png()


def test_a_fake_logo_is_refused_with_a_message(people):
    client = people["admin"].client()
    with nothing_changes():
        response = client.post(
            f"{BASE}/entreprise/logo/",
            {"logo": SimpleUploadedFile("logo.png", b"GIF8 no")},
            follow=True,
        )
    assert fr("“%(name)s” is not a PNG, JPEG, GIF or WebP image.") % {"name": "logo.png"} in text(
        response
    )


def test_documents_upload_replace_download(people):
    admin = people["admin"]
    client = admin.client()
    client.post(f"{BASE}/documents/cgv/", {"file": pdf_upload("cgv-v1.pdf", "V1")})
    response = client.post(
        f"{BASE}/documents/cgv/", {"file": pdf_upload("cgv-v2.pdf", "V2")}, follow=True
    )
    page = text(response)
    assert "cgv-v2.pdf" in page and "cgv-v1.pdf" in page
    old = CompanyDocument.objects.get(organization=admin.org, name="cgv-v1.pdf")
    download = client.get(f"{BASE}/documents/fichier/{old.public_id}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == pdf_bytes("V1")
    assert download["Content-Disposition"].startswith("attachment")


def test_a_non_pdf_document_is_refused_with_a_french_message(people):
    client = people["admin"].client()
    fake = SimpleUploadedFile("cgv.pdf", b"\xd0\xcf\x11\xe0 an old .doc")
    with nothing_changes():
        response = client.post(f"{BASE}/documents/cgv/", {"file": fake}, follow=True)
    assert fr("“%(name)s” is not a PDF file: export the document as PDF and upload it again.") % {
        "name": "cgv.pdf"
    } in text(response)


def test_unknown_document_kind_is_404(people):
    response = people["admin"].client().post(f"{BASE}/documents/rib/", {"file": pdf_upload()})
    assert response.status_code == 404


def test_tariff_list_shows_french_amounts(people):
    admin = people["admin"]
    a_tariff(admin, code="DPE", price_excl_vat=Decimal("1234.50"), vat_rate=Decimal("5.50"))
    page = text(admin.client().get(f"{BASE}/tarifs/"))
    assert "1\u202f234,50\u00a0€" in page  # excl. VAT
    assert "5,5\u00a0%" in page
    assert "1\u202f302,40\u00a0€" in page  # incl. VAT


def test_tariff_add_with_a_negative_price_gives_a_french_error_and_writes_nothing(people):
    client = people["admin"].client()
    with nothing_changes():
        response = client.post(
            f"{BASE}/tarifs/nouveau/",
            {
                "code": "DPE",
                "label": "DPE",
                "mission_type": "",
                "price_excl_vat": "-150",
                "vat_rate": "20.00",
            },
        )
    assert response.status_code == 200
    assert fr("%(what)s cannot be negative.") % {"what": fr("The price")} in text(response)


def test_tariff_add_edit_and_deactivate_through_the_pages(people):
    admin = people["admin"]
    client = admin.client()
    response = client.post(
        f"{BASE}/tarifs/nouveau/",
        {
            "code": "dpe",
            "label": "DPE maison",
            "mission_type": "dpe",
            "price_excl_vat": "150,00",
            "vat_rate": "20.00",
        },
    )
    assert response.status_code == 302
    tariff = Tariff.objects.get(organization=admin.org)
    assert (tariff.code, tariff.mission_type.code, tariff.price_excl_vat) == (
        "DPE",
        "dpe",
        Decimal("150.00"),
    )
    edit = client.get(f"{BASE}/tarifs/{tariff.public_id}/").content.decode()
    assert 'value="150,00"' in edit
    client.post(
        f"{BASE}/tarifs/{tariff.public_id}/",
        {
            "code": "DPE",
            "label": "DPE maison",
            "mission_type": "",
            "price_excl_vat": "165",
            "vat_rate": "10.00",
        },
    )
    tariff.refresh_from_db()
    assert (tariff.mission_type, tariff.price_excl_vat, tariff.vat_rate) == (
        None,
        Decimal("165.00"),
        Decimal("10.00"),
    )
    client.post(f"{BASE}/tarifs/{tariff.public_id}/activation/", {"active": "0"})
    tariff.refresh_from_db()
    assert tariff.is_active is False
    assert "DPE maison" not in text(client.get(f"{BASE}/tarifs/"))
    assert "DPE maison" in text(client.get(f"{BASE}/tarifs/", {"show": "inactive"}))


def test_devices_show_expiry_badges(people):
    from datetime import timedelta

    from django.utils import timezone

    admin = people["admin"]
    a_device(admin, name="Niton", expires_on=timezone.localdate() + timedelta(days=10))
    a_device(admin, name="Testo", expires_on=timezone.localdate() - timedelta(days=1))
    page = text(admin.client().get(f"{BASE}/appareils/"))
    assert fr("Expires soon") in page and fr("Expired") in page


def test_smtp_page_never_shows_the_password(people):
    admin = people["admin"]
    client = admin.client()
    response = client.post(
        f"{BASE}/e-mail/",
        {
            "host": "smtp.acme-diag.fr",
            "port": "465",
            "security": "ssl",
            "username": "contact@acme-diag.fr",
            "password": "Tres-secret-99",
            "from_email": "contact@acme-diag.fr",
            "from_name": "Acme",
        },
    )
    assert response.status_code == 302
    page = client.get(f"{BASE}/e-mail/").content.decode()
    assert "Tres-secret-99" not in page
    assert SmtpSettings.objects.get(organization=admin.org).has_password
    assert (
        html.escape(fr("A password is stored (encrypted). Leave the field empty to keep it."))
        in page
    )


def test_a_members_own_server_page(people):
    admin, tech = people["admin"], people["tech_all"]
    client = admin.client()
    url = f"{BASE}/e-mail/{tech.member.public_id}/"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "host": "smtp.gmail.com",
            "port": "587",
            "security": "starttls",
            "username": "tech@gmail.com",
            "password": "app-password",
            "from_email": "tech@gmail.com",
            "from_name": "",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == url
    config = SmtpSettings.objects.get(membership=tech.member)
    assert config.organization == admin.org
    assert client.post(f"{url}supprimer/").status_code == 302
    assert not SmtpSettings.objects.filter(membership=tech.member).exists()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_outsiders_reach_nothing_of_another_organisation(people, method):
    """The globex administrator, on their own organisation's URLs, with acme's ids: 404."""
    admin, outsider = people["admin"], people["outsider"]
    tariff, device = a_tariff(admin), a_device(admin)
    document = services.upload_document(admin.org, "cgv", pdf_upload(), actor=admin.user)
    theirs = f"/o/{outsider.org.slug}/parametres"
    urls = [
        f"{theirs}/tarifs/{tariff.public_id}/",
        f"{theirs}/appareils/{device.public_id}/",
        f"{theirs}/e-mail/{admin.member.public_id}/",
    ]
    if method == "GET":
        urls.append(f"{theirs}/documents/fichier/{document.public_id}/")
    else:
        urls += [
            f"{theirs}/tarifs/{tariff.public_id}/activation/",
            f"{theirs}/tarifs/{tariff.public_id}/supprimer/",
            f"{theirs}/appareils/{device.public_id}/activation/",
            f"{theirs}/e-mail/{admin.member.public_id}/test/",
        ]
    for url in urls:
        assert_outsider_gets_404(
            outsider.client(), method, url, {"active": "0"} if method == "POST" else None
        )
    assert Device.objects.get(pk=device.pk).is_active is True
