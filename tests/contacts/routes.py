"""How to call each contact route, for tests/core/test_routes.py (role matrix × personas)."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from comptoir.contacts import services, uploads
from tests.conftest import Persona
from tests.contacts.conftest import CONTACT_FORM
from tests.core.test_routes import API, Builder, page

IMPORT_CSV = "Nom;Prénom;E-mail\nDurand;Paul;paul.durand@exemple.fr\n".encode()
IMPORT_MAPPING = {
    "col_0": "last_name",
    "col_1": "first_name",
    "col_2": "email",
    "default_category": "owner",
}


def a_contact(people: dict[str, Persona], me: Persona) -> str:
    """A fresh contact of "acme", named in no dossier (so it may be deleted)."""
    contact = services.create_contact(
        people["admin"].org,
        actor=people["admin"].user,
        last_name="Dupont",
        first_name="Jeanne",
        email="jeanne.dupont@exemple.fr",
    )
    return str(contact.public_id)


def an_upload(people: dict[str, Persona], me: Persona) -> str:
    """A file uploaded a moment ago by the persona asking (uploads are per member)."""
    return uploads.save_upload(me.member, "contacts.csv", IMPORT_CSV)


def upload_file() -> SimpleUploadedFile:
    return SimpleUploadedFile("contacts.csv", IMPORT_CSV, content_type="text/csv")


ROUTES: dict[str, Builder] = {
    "contact-lookup": lambda people, me: ("GET", page("contacts:lookup"), {"contact_q": "ac"}),
    "contact-list": lambda people, me: ("GET", page("contacts:list"), {"q": "dupont"}),
    "contact-export": lambda people, me: ("GET", page("contacts:export"), {"format": "csv"}),
    "contact-create": lambda people, me: ("POST", page("contacts:create"), CONTACT_FORM),
    "contact-detail": lambda people, me: (
        "GET",
        page("contacts:detail", contact_id=a_contact(people, me)),
        None,
    ),
    "contact-edit": lambda people, me: (
        "POST",
        page("contacts:edit", contact_id=a_contact(people, me)),
        CONTACT_FORM,
    ),
    "contact-delete": lambda people, me: (
        "POST",
        page("contacts:delete", contact_id=a_contact(people, me)),
        None,
    ),
    "contact-import": lambda people, me: ("POST", page("contacts:import"), {"file": upload_file()}),
    "contact-import-map": lambda people, me: (
        "POST",
        page("contacts:import-map", upload_id=an_upload(people, me)),
        IMPORT_MAPPING,
    ),
    "contact-import-run": lambda people, me: (
        "POST",
        page("contacts:import-run", upload_id=an_upload(people, me)),
        IMPORT_MAPPING,
    ),
    "contact-import-cancel": lambda people, me: (
        "POST",
        page("contacts:import-cancel", upload_id=an_upload(people, me)),
        None,
    ),
    "api-contacts": lambda people, me: ("GET", f"{API}/contacts", {"q": "dupont"}),
    "api-contact": lambda people, me: ("GET", f"{API}/contacts/{a_contact(people, me)}", None),
    "api-contact-add": lambda people, me: (
        "POST",
        f"{API}/contacts",
        {
            "kind": "company",
            "company_name": "Étude Maître Lefebvre",
            "category": "notary",
            "siret": "73282932000074",
        },
    ),
    "api-contact-change": lambda people, me: (
        "PATCH",
        f"{API}/contacts/{a_contact(people, me)}",
        {"phone": "06 11 22 33 44"},
    ),
    "api-contact-delete": lambda people, me: (
        "DELETE",
        f"{API}/contacts/{a_contact(people, me)}",
        None,
    ),
}

SUCCESS_STATUS = {"contact-import-map": 200}  # the dry run's report is the answer
