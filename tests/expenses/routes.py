"""How to call each Compléments route, for tests/core/test_routes.py (role matrix × personas)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Persona
from tests.core.test_routes import API, Builder, page
from tests.expenses.conftest import PDF, make_receipt, make_trip, make_vehicle, upload

E = f"{API}/expenses"


def tech_id(people: dict[str, Persona]) -> str:
    return str(people["tech_all"].member.public_id)


def a_receipt(people: dict[str, Persona]) -> str:
    return str(make_receipt(people).public_id)


def a_vehicle(people: dict[str, Persona]) -> str:
    return str(make_vehicle(people).public_id)


def a_trip(people: dict[str, Persona]) -> str:
    return str(make_trip(people, make_vehicle(people)).public_id)


def receipt_form(people: dict[str, Persona], *, with_file: bool = True) -> dict[str, Any]:
    form: dict[str, Any] = {
        "member": tech_id(people),
        "date": "2025-03-14",
        "supplier": "Sanef A1",
        "category": "peage",
        "amount_ttc": "12,60",
        "amount_ht": "10,50",
        "amount_vat": "2,10",
        "dossier": "",
        "notes": "",
    }
    if with_file:
        form["file"] = upload(PDF, "peage.pdf")
    return form


def trip_form(people: dict[str, Persona]) -> dict[str, Any]:
    return {
        "member": tech_id(people),
        "vehicle": a_vehicle(people),
        "date": "2025-03-14",
        "origin": "Lille",
        "destination": "Arras",
        "distance_km": "53,4",
        "purpose": "Repérage amiante",
        "dossier": "",
    }


VEHICLE_FORM = {"label": "Renault Kangoo", "kind": "car", "fiscal_power": "6", "is_active": "on"}
STATEMENT = {"month": "2025-03"}


def api_receipt(people: dict[str, Persona]) -> dict[str, Any]:
    return {
        "member": tech_id(people),
        "date": "2025-03-14",
        "supplier": "Sanef A1",
        "category": "peage",
        "amount_ttc": "12.60",
        "amount_ht": "10.50",
        "amount_vat": "2.10",
        "file": upload(PDF, "peage.pdf"),
    }


ROUTES: dict[str, Builder] = {
    "receipt-list": lambda people, me: ("GET", page("expenses:receipts"), {"month": "2025-03"}),
    "receipt-create": lambda people, me: (
        "POST",
        page("expenses:receipt-create"),
        receipt_form(people),
    ),
    "receipt-detail": lambda people, me: (
        "GET",
        page("expenses:receipt", receipt_id=a_receipt(people)),
        None,
    ),
    "receipt-edit": lambda people, me: (
        "POST",
        page("expenses:receipt-edit", receipt_id=a_receipt(people)),
        receipt_form(people, with_file=False),
    ),
    "receipt-cancel": lambda people, me: (
        "POST",
        page("expenses:receipt-cancel", receipt_id=a_receipt(people)),
        {"reason": "Saisi deux fois"},
    ),
    "receipt-file": lambda people, me: (
        "GET",
        page("expenses:receipt-file", receipt_id=a_receipt(people)),
        {"inline": "1"},
    ),
    "expense-categories": lambda people, me: ("GET", page("expenses:categories"), None),
    "expense-category-add": lambda people, me: (
        "POST",
        page("expenses:category-add"),
        {"label": "Frais postaux"},
    ),
    "expense-category-edit": lambda people, me: (
        "POST",
        page("expenses:category-edit", code="repas"),
        {"label": "Repas d'affaires"},
    ),
    "vehicle-list": lambda people, me: ("GET", page("expenses:vehicles"), None),
    "vehicle-create": lambda people, me: (
        "POST",
        page("expenses:vehicle-create"),
        {**VEHICLE_FORM, "member": tech_id(people)},
    ),
    "vehicle-edit": lambda people, me: (
        "POST",
        page("expenses:vehicle-edit", vehicle_id=a_vehicle(people)),
        {**VEHICLE_FORM, "label": "Peugeot 208 (2019)", "fiscal_power": "5"},
    ),
    "trip-list": lambda people, me: ("GET", page("expenses:trips"), {"month": "2025-03"}),
    "trip-create": lambda people, me: ("POST", page("expenses:trip-create"), trip_form(people)),
    "trip-edit": lambda people, me: (
        "POST",
        page("expenses:trip-edit", trip_id=a_trip(people)),
        trip_form(people),
    ),
    "trip-cancel": lambda people, me: (
        "POST",
        page("expenses:trip-cancel", trip_id=a_trip(people)),
        {"reason": "Trajet annulé"},
    ),
    "mileage-scale": lambda people, me: ("GET", page("expenses:scale"), {"year": "2025"}),
    "expense-statement": lambda people, me: (
        "GET",
        page("expenses:statement"),
        {**STATEMENT, "member": tech_id(people)},
    ),
    "expense-statement-export": lambda people, me: (
        "GET",
        page("expenses:statement-export"),
        {**STATEMENT, "member": tech_id(people), "format": "xlsx"},
    ),
    "api-receipts": lambda people, me: ("GET", f"{E}/receipts", {"month": "2025-03"}),
    "api-receipt-add": lambda people, me: ("POST", f"{E}/receipts", api_receipt(people)),
    "api-receipt": lambda people, me: ("GET", f"{E}/receipts/{a_receipt(people)}", None),
    "api-receipt-file": lambda people, me: (
        "GET",
        f"{E}/receipts/{a_receipt(people)}/file",
        None,
    ),
    "api-receipt-cancel": lambda people, me: (
        "POST",
        f"{E}/receipts/{a_receipt(people)}/cancel",
        {"reason": "Saisi deux fois"},
    ),
    "api-expense-categories": lambda people, me: ("GET", f"{E}/categories", None),
    "api-vehicles": lambda people, me: ("GET", f"{E}/vehicles", None),
    "api-vehicle-add": lambda people, me: (
        "POST",
        f"{E}/vehicles",
        {"member": tech_id(people), "label": "Renault Zoé", "fiscal_power": 4, "is_electric": True},
    ),
    "api-trips": lambda people, me: ("GET", f"{E}/trips", {"month": "2025-03"}),
    "api-trip-add": lambda people, me: (
        "POST",
        f"{E}/trips",
        {
            "member": tech_id(people),
            "vehicle": a_vehicle(people),
            "date": "2025-03-14",
            "origin": "Lille",
            "destination": "Arras",
            "distance_km": "53.4",
            "purpose": "Repérage amiante",
        },
    ),
    "api-trip-cancel": lambda people, me: (
        "POST",
        f"{E}/trips/{a_trip(people)}/cancel",
        {"reason": "Trajet annulé"},
    ),
    "api-expense-statement": lambda people, me: (
        "GET",
        f"{E}/statement",
        {**STATEMENT, "member": tech_id(people)},
    ),
    "api-expense-statement-export": lambda people, me: (
        "GET",
        f"{E}/statement/export",
        {**STATEMENT, "member": tech_id(people), "format": "xlsx"},
    ),
}
