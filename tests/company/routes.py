"""How to call each company route, for tests/core/test_routes.py (role matrix × personas)."""

from __future__ import annotations

from comptoir.company import services
from comptoir.company.models import CompanyDocument
from tests.company.factories import a_device, a_tariff, pdf_upload, png_upload, smtp_config
from tests.conftest import Persona
from tests.core.test_routes import Builder, page
from tests.peers.conftest import free_port

PROFILE_FORM = {
    "legal_name": "Acme Diagnostics SAS",
    "legal_form": "sas",
    "share_capital": "10 000,00",
    "siret": "73282932000074",
    "postcode": "59000",
    "city": "Lille",
    "country": "France",
}
TARIFF_FORM = {
    "code": "DPE",
    "label": "DPE maison",
    "mission_type": "",
    "price_excl_vat": "150,00",
    "vat_rate": "20.00",
}
DEVICE_FORM = {
    "name": "Disto D2",
    "kind": "laser",
    "expiry_kind": "calibration",
    "serial_number": "LD-1",
}
SMTP_FORM = {
    "host": "smtp.acme-diag.fr",
    "port": "587",
    "security": "starttls",
    "username": "contact@acme-diag.fr",
    "password": "s3cret-smtp",
    "from_email": "contact@acme-diag.fr",
    "from_name": "Acme",
}


def admin_of(people: dict[str, Persona]) -> Persona:
    return people["admin"]


def a_document(people: dict[str, Persona]) -> str:
    admin = admin_of(people)
    return str(
        services.upload_document(
            admin.org, CompanyDocument.Kind.CGV, pdf_upload(), actor=admin.user
        ).public_id
    )


def with_logo(people: dict[str, Persona]) -> str:
    admin = admin_of(people)
    services.set_logo(admin.org, png_upload(), actor=admin.user)
    return page("company:logo-file")


def with_smtp(
    people: dict[str, Persona], url_name: str, data: dict[str, str] | None
) -> tuple[str, str, dict[str, str] | None]:
    """A server on a closed loopback port ("send a test" fails fast and says so), then a POST."""
    smtp_config(admin_of(people), free_port())
    return "POST", page(url_name), data


ROUTES: dict[str, Builder] = {
    "company-profile": lambda people, me: ("POST", page("company:profile"), PROFILE_FORM),
    "company-logo": lambda people, me: ("POST", page("company:logo"), {"logo": png_upload()}),
    "company-logo-file": lambda people, me: ("GET", with_logo(people), None),
    "company-documents": lambda people, me: ("GET", page("company:documents"), None),
    "company-document-upload": lambda people, me: (
        "POST",
        page("company:document-upload", kind="cgi"),
        {"file": pdf_upload("cgi.pdf")},
    ),
    "company-document": lambda people, me: (
        "GET",
        page("company:document", document_id=a_document(people)),
        None,
    ),
    "company-tariffs": lambda people, me: ("GET", page("company:tariffs"), {"show": "all"}),
    "company-tariff-add": lambda people, me: ("POST", page("company:tariff-add"), TARIFF_FORM),
    "company-tariff-edit": lambda people, me: (
        "POST",
        page("company:tariff-edit", tariff_id=a_tariff(admin_of(people)).public_id),
        {**TARIFF_FORM, "code": "DPE-2"},
    ),
    "company-tariff-active": lambda people, me: (
        "POST",
        page("company:tariff-active", tariff_id=a_tariff(admin_of(people)).public_id),
        {"active": "0"},
    ),
    "company-tariff-delete": lambda people, me: (
        "POST",
        page("company:tariff-delete", tariff_id=a_tariff(admin_of(people)).public_id),
        None,
    ),
    "company-devices": lambda people, me: ("GET", page("company:devices"), None),
    "company-device-add": lambda people, me: ("POST", page("company:device-add"), DEVICE_FORM),
    "company-device-edit": lambda people, me: (
        "POST",
        page("company:device-edit", device_id=a_device(admin_of(people)).public_id),
        DEVICE_FORM,
    ),
    "company-device-active": lambda people, me: (
        "POST",
        page("company:device-active", device_id=a_device(admin_of(people)).public_id),
        {"active": "0"},
    ),
    "company-smtp": lambda people, me: ("POST", page("company:smtp"), SMTP_FORM),
    "company-smtp-test": lambda people, me: with_smtp(
        people, "company:smtp-test", {"to": "admin@acme.test"}
    ),
    "company-smtp-remove": lambda people, me: with_smtp(people, "company:smtp-remove", None),
}
