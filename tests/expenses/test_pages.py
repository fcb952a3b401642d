"""The Compléments pages: lists with filters and totals, entering a receipt with its photo,
the receipt shown inline, cancelling, vehicles and trips, the statement page, the menu."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from comptoir.dossiers import services as dossier_services
from comptoir.expenses import services
from comptoir.expenses.models import ExpenseCategory, Receipt, Trip, Vehicle
from tests.expenses.conftest import (
    HEIC,
    JPEG,
    PDF,
    category,
    make_receipt,
    make_trip,
    make_vehicle,
    upload,
)
from tests.helpers import assert_outsider_gets_404, shows


def url(name: str, **kwargs: str) -> str:
    return reverse(f"expenses:{name}", kwargs={"org": "acme", **kwargs})


def form(people, **changes):
    return {
        "member": str(people["tech_all"].member.public_id),
        "date": "2025-03-14",
        "supplier": "Brasserie du Beffroi",
        "category": "repas",
        "amount_ttc": "26,40",
        "amount_ht": "24,00",
        "amount_vat": "",
        "dossier": "",
        "notes": "Déjeuner avec l'agence",
        "file": upload(JPEG, "ticket.jpg"),
        **changes,
    }


def test_the_menu_shows_the_expenses_to_those_who_may_use_them(people):
    link = url("receipts")
    assert (
        link
        in people["admin"].client().get(reverse("core:dashboard", args=["acme"])).content.decode()
    )
    assert link in people["backoffice"].client().get(url("trips")).content.decode()
    page = people["tech_all"].client().get(reverse("core:dashboard", args=["acme"]))
    assert page.status_code == 200 and link not in page.content.decode()


def test_enter_a_receipt_the_vat_is_computed_from_ttc_and_ht(people):
    client = people["backoffice"].client()
    assert client.get(url("receipt-create")).status_code == 200
    response = client.post(url("receipt-create"), form(people))
    assert response.status_code == 302
    receipt = Receipt.objects.get()
    assert response["Location"] == url("receipt", receipt_id=str(receipt.public_id))
    assert (receipt.amount_ttc, receipt.amount_ht, receipt.amount_vat) == (
        Decimal("26.40"),
        Decimal("24.00"),
        Decimal("2.40"),
    )
    assert receipt.member == people["tech_all"].member
    assert receipt.content_type == "image/jpeg"


def test_inconsistent_amounts_show_the_error_on_the_field_and_save_nothing(
    people, assert_nothing_changes
):
    client = people["admin"].client()
    services.categories(people["admin"].org)
    with assert_nothing_changes():
        response = client.post(url("receipt-create"), form(people, amount_vat="2,00"))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'aria-invalid="true" id="id_amount_ttc"' in content  # the field named
    feedback = content.split('id="id_amount_ttc_helptext"', 1)[1].split("</div>", 2)[1]
    assert "26,40" in feedback and "26,00" in feedback  # what TTC is, what HT + TVA make


def test_a_dossier_number_links_the_receipt_and_an_unknown_one_is_refused(people):
    dossier = dossier_services.create_dossier(
        people["admin"].member,
        dossier_services.DossierInput({"property_city": "Lille"}, ["dpe"]),
        actor=people["admin"].user,
    )
    client = people["admin"].client()
    refused = client.post(url("receipt-create"), form(people, dossier="2099-99999"))
    assert refused.status_code == 200 and Receipt.objects.count() == 0
    assert "2099-99999" in refused.content.decode()
    client.post(url("receipt-create"), form(people, dossier=dossier.number))
    assert Receipt.objects.get().dossier == dossier


@pytest.mark.parametrize(
    ("data", "marker"),
    [(JPEG, "<img"), (PDF, "<iframe"), (HEIC, "<source srcset=")],
)
def test_the_receipt_page_shows_the_file_inline(people, data, marker):
    admin = people["admin"]
    receipt = services.create_receipt(
        admin.org,
        actor=admin.user,
        upload=upload(data, "scan"),
        member=admin.member,
        date=date(2025, 3, 1),
        supplier="Hôtel Ibis Arras",
        amount_ttc="88.00",
        amount_ht="80.00",
        amount_vat="8.00",
        category=category(admin.org, "hotel"),
    )
    client = admin.client()
    page = client.get(url("receipt", receipt_id=str(receipt.public_id)))
    assert page.status_code == 200
    inline = f"{url('receipt-file', receipt_id=str(receipt.public_id))}?inline=1"
    content = page.content.decode()
    assert marker in content and inline in content
    served = client.get(inline)
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == data
    assert served["Content-Disposition"].startswith("inline")
    assert served["X-Frame-Options"] == "SAMEORIGIN"
    assert served["X-Content-Type-Options"] == "nosniff"
    download = client.get(url("receipt-file", receipt_id=str(receipt.public_id)))
    assert download["Content-Disposition"].startswith("attachment")


def test_the_list_filters_by_member_month_and_category_with_totals(people):
    admin = people["admin"]
    make_receipt(people)
    make_receipt(
        people,
        supplier="TotalEnergies",
        amount_ttc="60.00",
        amount_ht="50.00",
        amount_vat="10.00",
        category=category(admin.org, "carburant"),
    )
    make_receipt(people, member=people["backoffice"].member, supplier="Bureau Vallée")
    make_receipt(people, date=date(2025, 4, 1), supplier="Avril")
    client = admin.client()
    tech = str(people["tech_all"].member.public_id)
    page = client.get(url("receipts"), {"member": tech, "month": "2025-03"})
    content = page.content.decode()
    assert "TotalEnergies" in content and "Brasserie du Beffroi" in content
    assert "Bureau Vallée" not in content and "Avril" not in content
    assert '<strong id="total-ttc">84,00' in content
    fuel = client.get(url("receipts"), {"category": "carburant"}).content.decode()
    assert '<strong id="total-ttc">60,00' in fuel and "Brasserie" not in fuel
    bad = client.get(url("receipts"), {"month": "mars"})
    assert bad.status_code == 200 and "TotalEnergies" not in bad.content.decode()


def test_cancel_from_the_receipt_page(people):
    receipt = make_receipt(people)
    client = people["backoffice"].client()
    refused = client.post(url("receipt-cancel", receipt_id=str(receipt.public_id)), {"reason": ""})
    assert refused.status_code == 302
    receipt.refresh_from_db()
    assert not receipt.is_cancelled
    client.post(url("receipt-cancel", receipt_id=str(receipt.public_id)), {"reason": "Doublon"})
    receipt.refresh_from_db()
    assert receipt.is_cancelled and receipt.cancel_reason == "Doublon"
    page = client.get(url("receipt", receipt_id=str(receipt.public_id))).content.decode()
    assert "Doublon" in page
    assert url("receipt-edit", receipt_id=str(receipt.public_id)) not in page


def test_categories_page_adds_renames_and_retires(people):
    client = people["admin"].client()
    assert client.get(url("categories")).status_code == 200
    client.post(url("category-add"), {"label": "Frais postaux"})
    client.post(url("category-edit", code="hotel"), {"label": "Hébergement"})
    client.post(url("category-edit", code="materiel"), {"is_active": "0"})
    org = people["admin"].org
    found = {
        c.code: (c.label, c.is_active) for c in ExpenseCategory.objects.filter(organization=org)
    }
    assert found["frais-postaux"] == ("Frais postaux", True)
    assert found["hotel"] == ("Hébergement", True)
    assert found["materiel"] == ("Matériel", False)
    new = client.get(url("receipt-create")).content.decode()
    assert "Hébergement" in new and ">Matériel<" not in new
    assert client.post(url("category-edit", code="inconnue"), {"label": "x"}).status_code == 404


def test_vehicles_and_trips_pages(people):
    client = people["backoffice"].client()
    tech = people["tech_all"].member
    response = client.post(
        url("vehicle-create"),
        {
            "member": str(tech.public_id),
            "label": "Renault Zoé",
            "kind": "car",
            "fiscal_power": "4",
            "is_electric": "on",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    vehicle = Vehicle.objects.get()
    assert (vehicle.member, vehicle.fiscal_power, vehicle.is_electric) == (tech, 4, True)
    trip = {
        "member": str(tech.public_id),
        "vehicle": str(vehicle.public_id),
        "date": "2025-03-04",
        "origin": "Lille",
        "destination": "Lens",
        "distance_km": "38,5",
        "purpose": "DPE maison",
        "dossier": "",
    }
    assert client.post(url("trip-create"), trip).status_code == 302
    refused = client.post(url("trip-create"), {**trip, "distance_km": "0"})
    assert refused.status_code == 200 and Trip.objects.count() == 1
    listing = client.get(url("trips"), {"month": "2025-03"}).content.decode()
    assert "DPE maison" in listing and '<strong id="total-km">38,5 km' in listing
    edit = client.post(
        url("vehicle-edit", vehicle_id=str(vehicle.public_id)),
        {"label": "Zoé", "kind": "car", "fiscal_power": "5", "is_electric": "on"},
    )
    assert edit.status_code == 200  # horsepower fixed once trips exist
    vehicle.refresh_from_db()
    assert vehicle.fiscal_power == 4


def test_the_scale_page_shows_the_official_formulas(people):
    page = people["admin"].client().get(url("scale"), {"year": "2025"}).content.decode()
    assert "d × 0,636" in page and "d × 0,357 + 1\u202f395" in page and "d × 0,470" in page
    assert "arrêté du 27 mars 2023" in page


def test_the_statement_page_and_its_exports(people):
    vehicle = make_vehicle(people)
    make_trip(people, vehicle, distance_km="100")
    make_receipt(people)
    client = people["admin"].client()
    query = {"member": str(people["tech_all"].member.public_id), "month": "2025-03"}
    page = client.get(url("statement"), query)
    content = page.content.decode()
    assert page.status_code == 200
    assert "63,60" in content  # 100 km × 0.636
    assert "87,60" in content  # 24.00 + 63.60
    xlsx = client.get(url("statement-export"), {**query, "format": "xlsx"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert "etat-2025-03-tech_all-acme.xlsx" in xlsx["Content-Disposition"]
    pdf = client.get(url("statement-export"), {**query, "format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    nothing = client.get(url("statement-export"), {"month": "2025-03"})
    assert nothing.status_code == 302


def test_technicians_get_403_on_the_pages_and_write_nothing(people, assert_nothing_changes):
    receipt = make_receipt(people)
    for key in ("tech_all", "tech_own"):
        client = people[key].client()
        with assert_nothing_changes():
            response = client.post(url("receipt-create"), form(people))
        assert response.status_code == 403
        assert shows(response, "Your role does not allow this action.")
        with assert_nothing_changes():
            response = client.post(
                url("receipt-cancel", receipt_id=str(receipt.public_id)), {"reason": "x"}
            )
        assert response.status_code == 403
        assert client.get(url("receipt-file", receipt_id=str(receipt.public_id))).status_code == 403


def test_outsider_gets_404(people):
    receipt = make_receipt(people)
    client = people["outsider"].client()
    assert_outsider_gets_404(client, "GET", url("receipt", receipt_id=str(receipt.public_id)))
    assert_outsider_gets_404(client, "GET", url("receipt-file", receipt_id=str(receipt.public_id)))
    assert_outsider_gets_404(client, "POST", url("receipt-create"), form(people))
    assert_outsider_gets_404(client, "GET", url("statement-export"), {"month": "2025-03"})


def test_a_receipt_of_another_organisation_is_404_for_its_admin_too(people):
    """Same URL shape, other organisation's record: 404, as for a missing one."""
    receipt = make_receipt(people)
    client = people["outsider"].client()
    foreign = reverse(
        "expenses:receipt", kwargs={"org": "globex", "receipt_id": str(receipt.public_id)}
    )
    assert client.get(foreign).status_code == 404
