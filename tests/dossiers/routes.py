"""How to call each dossier route, for tests/core/test_routes.py (role matrix × personas)."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.text import slugify

from comptoir.dossiers import configuration
from comptoir.dossiers import services as dossier_services
from comptoir.dossiers.models import Document
from tests.conftest import Persona
from tests.core.test_routes import API, Builder, page


def a_dossier(people: dict[str, Persona], me: Persona, *, with_document: bool = False) -> str:
    """A dossier of "acme" assigned to the persona asking (or to the own-dossiers
    technician when the persona is an outsider), so own-scope roles may reach it."""
    mine = me.org == people["admin"].org and not me.member.is_blocked
    assignee = me.member if mine else people["tech_own"].member
    dossier = dossier_services.create_dossier(
        people["admin"].member,
        dossier_services.DossierInput(
            {
                "technician": assignee,
                "property_street": "1 rue Nationale",
                "property_postcode": "59000",
                "property_city": "Lille",
            },
            ["dpe"],
        ),
        actor=people["admin"].user,
    )
    if with_document:
        dossier_services.add_document(
            dossier, upload("plan.pdf"), kind="plan", actor=people["admin"].user
        )
    return str(dossier.public_id)


def upload(name: str = "rapport.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4 test", content_type="application/pdf")


def a_document(people: dict[str, Persona], me: Persona) -> tuple[str, str]:
    dossier_id = a_dossier(people, me, with_document=True)
    document = Document.objects.get(dossier__public_id=dossier_id)
    return dossier_id, str(document.public_id)


def a_custom_type(people: dict[str, Persona]) -> str:
    """A custom type of "acme" (the same one when asked again in a test)."""
    admin = people["admin"]
    kind = configuration.mission_type_by_code(
        admin.org, "assainissement"
    ) or configuration.create_mission_type(admin.member, "Assainissement", actor=admin.user)
    return kind.code


def a_builtin_type(people: dict[str, Persona]) -> str:
    dossier_services.ensure_mission_types(people["admin"].org)
    return "dpe"


def a_custom_field(people: dict[str, Persona], label: str = "Digicode") -> str:
    """A text field of "acme" (the same one when asked again in a test)."""
    admin = people["admin"]
    field = configuration.custom_field_by_key(
        admin.org, slugify(label)
    ) or configuration.create_custom_field(admin.member, label, "text", actor=admin.user)
    return field.key


def two_custom_fields(people: dict[str, Persona]) -> str:
    a_custom_field(people, "Digicode")
    return a_custom_field(people, "Gardien")


DOSSIER_FORM = {
    "missions": ["dpe", "amiante"],
    "property_street": "12 rue de Paris",
    "property_postcode": "59000",
    "property_city": "Lille",
    "property_type": "flat",
    "surface": "45,5",
}

ROUTES: dict[str, Builder] = {
    "dossier-list": lambda people, me: ("GET", page("dossiers:list"), {"q": "nationale"}),
    "dossier-columns": lambda people, me: (
        "POST",
        page("dossiers:columns"),
        {"columns": ["number", "city"]},
    ),
    "dossier-export": lambda people, me: ("GET", page("dossiers:export"), {"format": "csv"}),
    "dossier-bulk": lambda people, me: (
        "POST",
        page("dossiers:bulk"),
        {"action": "export-csv", "selected": [a_dossier(people, me)]},
    ),
    "dossier-create": lambda people, me: ("POST", page("dossiers:create"), DOSSIER_FORM),
    "dossier-detail": lambda people, me: (
        "GET",
        page("dossiers:detail", dossier_id=a_dossier(people, me)),
        None,
    ),
    "dossier-edit": lambda people, me: (
        "POST",
        page("dossiers:edit", dossier_id=a_dossier(people, me)),
        DOSSIER_FORM,
    ),
    "dossier-status": lambda people, me: (
        "POST",
        page("dossiers:status", dossier_id=a_dossier(people, me)),
        {"status": "done"},
    ),
    "dossier-delete": lambda people, me: (
        "POST",
        page("dossiers:delete", dossier_id=a_dossier(people, me)),
        None,
    ),
    "dossier-document-add": lambda people, me: (
        "POST",
        page("dossiers:document-add", dossier_id=a_dossier(people, me)),
        {"kind": "report", "file": upload()},
    ),
    "dossier-document": lambda people, me: (
        "GET",
        page(
            "dossiers:document",
            **dict(zip(("dossier_id", "document_id"), a_document(people, me), strict=True)),
        ),
        None,
    ),
    "dossier-note-add": lambda people, me: (
        "POST",
        page("dossiers:note-add", dossier_id=a_dossier(people, me)),
        {"text": "Clés chez le gardien."},
    ),
    "dossier-settings": lambda people, me: ("GET", page("dossiers:settings"), None),
    "dossier-mission-type-add": lambda people, me: (
        "POST",
        page("dossiers:mission-type-add"),
        {"label": "Diagnostic piscine"},
    ),
    "dossier-mission-type-edit": lambda people, me: (
        "POST",
        page("dossiers:mission-type-edit", code=a_custom_type(people)),
        {"label": "Assainissement non collectif"},
    ),
    "dossier-mission-type-active": lambda people, me: (
        "POST",
        page("dossiers:mission-type-active", code=a_builtin_type(people)),
        {"active": "0"},
    ),
    "dossier-custom-field-add": lambda people, me: (
        "POST",
        page("dossiers:custom-field-add"),
        {"label": "Digicode", "kind": "text"},
    ),
    "dossier-custom-field-edit": lambda people, me: (
        "POST",
        page("dossiers:custom-field-edit", key=a_custom_field(people)),
        {"label": "Code d'accès"},
    ),
    "dossier-custom-field-move": lambda people, me: (
        "POST",
        page("dossiers:custom-field-move", key=two_custom_fields(people)),
        {"direction": "up"},
    ),
    "dossier-custom-field-delete": lambda people, me: (
        "POST",
        page("dossiers:custom-field-delete", key=a_custom_field(people)),
        None,
    ),
    "api-dossiers": lambda people, me: ("GET", f"{API}/dossiers", {"q": "nationale"}),
    "api-dossier-add": lambda people, me: (
        "POST",
        f"{API}/dossiers",
        {"missions": ["dpe"], "property_city": "Lille"},
    ),
    "api-dossier": lambda people, me: ("GET", f"{API}/dossiers/{a_dossier(people, me)}", None),
    "api-dossier-change": lambda people, me: (
        "PATCH",
        f"{API}/dossiers/{a_dossier(people, me)}",
        {"floor": "3"},
    ),
    "api-dossier-status": lambda people, me: (
        "POST",
        f"{API}/dossiers/{a_dossier(people, me)}/status",
        {"status": "done"},
    ),
    "api-dossier-delete": lambda people, me: (
        "DELETE",
        f"{API}/dossiers/{a_dossier(people, me)}",
        None,
    ),
    "api-document-add": lambda people, me: (
        "POST",
        f"{API}/dossiers/{a_dossier(people, me)}/documents",
        {"kind": "report", "file": upload()},
    ),
    "api-document": lambda people, me: (
        "GET",
        "{}/dossiers/{}/documents/{}".format(API, *a_document(people, me)),
        None,
    ),
    "api-mission-types": lambda people, me: ("GET", f"{API}/mission-types", None),
}

SUCCESS_STATUS = {"dossier-bulk": 200}  # the export of the ticked dossiers is the answer
