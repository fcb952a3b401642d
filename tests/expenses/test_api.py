"""The Compléments API: receipts (multipart with the file), vehicles, trips, the statement.
Money and kilometres are decimal strings; refusals name the field and write nothing."""

from __future__ import annotations

from datetime import date

import pytest

from comptoir.expenses import services
from comptoir.expenses.models import Receipt, Trip, Vehicle
from tests.expenses.conftest import (
    JPEG,
    PDF,
    category,
    make_receipt,
    make_trip,
    make_vehicle,
    upload,
)
from tests.helpers import assert_outsider_gets_404, send

E = "/api/v1/orgs/acme/expenses"


def receipt_fields(people, **changes):
    return {
        "member": str(people["tech_all"].member.public_id),
        "date": "2025-03-14",
        "supplier": "Sanef A1",
        "category": "peage",
        "amount_ttc": "12.60",
        "amount_ht": "10.50",
        "amount_vat": "2.10",
        "file": upload(JPEG, "IMG_2041.JPG"),
        **changes,
    }


def test_create_a_receipt_with_its_photo(people):
    response = people["backoffice"].api().post(f"{E}/receipts", receipt_fields(people))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["amount_ttc"] == "12.60" and body["amount_ht"] == "10.50"
    assert body["amount_vat"] == "2.10"
    assert body["category"] == {"code": "peage", "label": "Péage", "is_active": True}
    assert body["member"]["name"] == "Tech_All acme"
    assert (body["content_type"], body["file_name"], body["size"]) == (
        "image/jpeg",
        "IMG_2041.JPG",
        len(JPEG),
    )
    assert body["cancelled"] is False
    receipt = Receipt.objects.get(public_id=body["id"])
    assert receipt.created_by == people["backoffice"].user
    download = people["admin"].api().get(f"{E}/receipts/{body['id']}/file")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == JPEG
    assert download["Content-Type"] == "image/jpeg"


def test_inconsistent_amounts_answer_400_naming_the_field_and_write_nothing(
    people, assert_nothing_changes
):
    services.categories(people["admin"].org)
    with assert_nothing_changes():
        response = (
            people["admin"].api().post(f"{E}/receipts", receipt_fields(people, amount_vat="2.00"))
        )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_input"
    assert body["details"] == {"field": "amount_ttc"}
    assert "12,60" in body["message"] and "12,50" in body["message"]


@pytest.mark.parametrize(
    ("changes", "status", "where"),
    [
        ({"amount_ttc": "12,60"}, 422, "amount_ttc"),  # a dot, as the schema says
        ({"amount_ttc": "12.605"}, 422, "amount_ttc"),
        ({"date": "14/03/2025"}, 422, "date"),
        ({"member": "pas-un-uuid"}, 422, "member"),
        ({"category": "cadeaux"}, 400, "category"),
        ({"file": upload(b"GIF89a....", "logo.gif")}, 400, "file"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(people, changes, status, where):
    services.categories(people["admin"].org)
    before = Receipt.objects.count()
    response = people["admin"].api().post(f"{E}/receipts", receipt_fields(people, **changes))
    assert response.status_code == status, response.content
    body = response.json()
    if status == 422:
        assert body["code"] == "invalid_input"
        assert where in body["message"]
    else:
        assert body["details"]["field"] == where
    assert Receipt.objects.count() == before


def test_list_filters_and_totals(people):
    admin = people["admin"]
    make_receipt(people)  # 24.00, repas, March, tech_all
    make_receipt(
        people,
        date=date(2025, 4, 2),
        amount_ttc="60.00",
        amount_ht="50.00",
        amount_vat="10.00",
        category=category(admin.org, "carburant"),
    )
    make_receipt(
        people,
        member=people["backoffice"].member,
        amount_ttc="12.00",
        amount_ht="10.00",
        amount_vat="2.00",
    )
    gone = make_receipt(people, supplier="Doublon")
    services.cancel_receipt(gone, actor=admin.user, reason="Doublon")
    api = admin.api()
    tech = str(people["tech_all"].member.public_id)

    march = api.get(f"{E}/receipts", {"month": "2025-03", "member": tech}).json()
    assert [r["supplier"] for r in march["items"]] == ["Brasserie du Beffroi"]
    assert march["totals"] == {"count": 1, "ttc": "24.00", "ht": "20.00", "vat": "4.00"}

    everything = api.get(f"{E}/receipts").json()
    assert everything["count"] == 3
    assert everything["totals"]["ttc"] == "96.00"

    fuel = api.get(f"{E}/receipts", {"category": "carburant"}).json()
    assert [r["amount_ttc"] for r in fuel["items"]] == ["60.00"]

    cancelled = api.get(f"{E}/receipts", {"state": "cancelled"}).json()
    assert [r["supplier"] for r in cancelled["items"]] == ["Doublon"]
    assert cancelled["items"][0]["cancel_reason"] == "Doublon"
    assert cancelled["totals"]["ttc"] == "0.00"  # a cancelled receipt counts for nothing

    page = api.get(f"{E}/receipts", {"state": "all", "limit": 2}).json()
    assert (len(page["items"]), page["count"], page["next_offset"]) == (2, 4, 2)
    assert api.get(f"{E}/receipts", {"limit": 501}).status_code == 422
    assert api.get(f"{E}/receipts", {"month": "2025-13"}).status_code == 422


def test_cancel_a_receipt_once(people):
    receipt = make_receipt(people)
    api = people["backoffice"].api()
    url = f"{E}/receipts/{receipt.public_id}/cancel"
    first = send(api, "POST", url, {"reason": "Saisi deux fois"})
    assert first.status_code == 200
    assert first.json()["cancelled"] is True
    again = send(api, "POST", url, {"reason": "encore"})
    assert again.status_code == 409
    assert again.json()["code"] == "cancelled"
    assert send(api, "POST", url, {"reason": ""}).status_code == 422


@pytest.mark.parametrize("key", ["tech_all", "tech_own"])
def test_technicians_get_403_and_nothing_is_written(people, key, assert_nothing_changes):
    receipt = make_receipt(people)
    vehicle = make_vehicle(people)
    api = people[key].api()
    calls = [
        ("GET", f"{E}/receipts", None),
        ("POST", f"{E}/receipts", receipt_fields(people)),
        ("POST", f"{E}/receipts/{receipt.public_id}/cancel", {"reason": "x"}),
        ("GET", f"{E}/receipts/{receipt.public_id}/file", None),
        (
            "POST",
            f"{E}/trips",
            {
                "member": str(vehicle.member.public_id),
                "vehicle": str(vehicle.public_id),
                "date": "2025-03-03",
                "origin": "Lille",
                "destination": "Lens",
                "distance_km": "38",
                "purpose": "DPE",
            },
        ),
        ("GET", f"{E}/statement", {"member": str(vehicle.member.public_id), "month": "2025-03"}),
    ]
    for method, url, data in calls:
        with assert_nothing_changes():
            response = send(api, method, url, data)
        assert response.status_code == 403, (url, response.content)
        assert response.json()["code"] == "forbidden"


def test_outsider_gets_404_on_every_record(people):
    receipt = make_receipt(people)
    trip = make_trip(people, make_vehicle(people))
    outsider = people["outsider"].api()
    assert_outsider_gets_404(outsider, "GET", f"{E}/receipts/{receipt.public_id}")
    assert_outsider_gets_404(outsider, "GET", f"{E}/receipts/{receipt.public_id}/file")
    assert_outsider_gets_404(
        outsider, "POST", f"{E}/receipts/{receipt.public_id}/cancel", {"reason": "x"}
    )
    assert_outsider_gets_404(
        outsider, "POST", f"{E}/trips/{trip.public_id}/cancel", {"reason": "x"}
    )
    assert_outsider_gets_404(outsider, "POST", f"{E}/receipts", receipt_fields(people))


def test_a_receipt_for_another_organisations_member_is_404(people, assert_nothing_changes):
    services.categories(people["admin"].org)
    foreign = str(people["outsider"].member.public_id)
    with assert_nothing_changes():
        response = (
            people["admin"].api().post(f"{E}/receipts", receipt_fields(people, member=foreign))
        )
    assert response.status_code == 404


def test_vehicles_and_trips(people):
    api = people["admin"].api()
    tech = str(people["tech_all"].member.public_id)
    created = send(
        api,
        "POST",
        f"{E}/vehicles",
        {"member": tech, "label": "Renault Zoé", "fiscal_power": 4, "is_electric": True},
    )
    assert created.status_code == 201, created.content
    vehicle = created.json()
    assert (vehicle["kind"], vehicle["fiscal_power"], vehicle["is_electric"]) == ("car", 4, True)
    assert (
        send(
            api, "POST", f"{E}/vehicles", {"member": tech, "label": "X", "fiscal_power": 100}
        ).status_code
        == 422
    )
    assert send(api, "POST", f"{E}/vehicles", {"member": tech, "label": "X"}).status_code == 400

    trip = {
        "member": tech,
        "vehicle": vehicle["id"],
        "date": "2025-03-03",
        "origin": "Lille",
        "destination": "Lens",
        "distance_km": "1000",
        "purpose": "Repérage amiante",
    }
    first = send(api, "POST", f"{E}/trips", trip)
    assert first.status_code == 201, first.content
    assert first.json()["distance_km"] == "1000.0"
    assert send(api, "POST", f"{E}/trips", {**trip, "distance_km": "12,5"}).status_code == 422
    bad = send(api, "POST", f"{E}/trips", {**trip, "distance_km": "0"})
    assert bad.status_code == 400 and bad.json()["details"] == {"field": "distance_km"}
    assert Trip.objects.count() == 1

    listed = api.get(f"{E}/trips", {"vehicle": vehicle["id"], "month": "2025-03"}).json()
    assert (listed["count"], listed["total_km"]) == (1, "1000.0")
    vehicles = api.get(f"{E}/vehicles", {"member": tech}).json()
    assert [v["label"] for v in vehicles] == ["Renault Zoé"]
    cancelled = send(api, "POST", f"{E}/trips/{first.json()['id']}/cancel", {"reason": "Erreur"})
    assert cancelled.status_code == 200 and cancelled.json()["cancelled"] is True
    assert api.get(f"{E}/trips").json()["total_km"] == "0.0"
    assert Vehicle.objects.count() == 1


def test_the_statement_in_json(people):
    vehicle = make_vehicle(people, fiscal_power=4, is_electric=True)
    make_trip(people, vehicle, distance_km="1000")
    make_receipt(people)
    tech = str(people["tech_all"].member.public_id)
    response = (
        people["backoffice"].api().get(f"{E}/statement", {"member": tech, "month": "2025-03"})
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["month"] == "2025-03"
    assert body["receipt_totals"] == {"count": 1, "ttc": "24.00", "ht": "20.00", "vat": "4.00"}
    (row,) = body["mileage"]
    assert row["km_month"] == "1000.0"
    assert row["formula"] == "d × 0,606"
    assert row["rate_per_km"] == "0.7272"  # 0.606 × 1.2
    assert row["provisional_amount"] == "727.20"
    assert row["annual_amount_to_date"] == "727.20"
    assert row["regularisation"] == "0.00"
    assert [t["destination"] for t in row["trips"]] == ["Roubaix"]
    assert body["mileage_total"] == "727.20"
    assert body["total"] == "751.20"


def test_the_statement_as_files(people):
    make_receipt(people)
    tech = str(people["tech_all"].member.public_id)
    api = people["admin"].api()
    query = {"member": tech, "month": "2025-03"}
    xlsx = api.get(f"{E}/statement/export", query)
    assert xlsx.status_code == 200
    assert xlsx["Content-Type"].endswith("spreadsheetml.sheet")
    assert xlsx.content[:2] == b"PK"
    pdf = api.get(f"{E}/statement/export", {**query, "format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert 'filename="etat-2025-03.pdf"' in pdf["Content-Disposition"]


def test_a_file_receipt_of_each_kind_is_accepted(people):
    services.categories(people["admin"].org)
    response = (
        people["admin"]
        .api()
        .post(f"{E}/receipts", receipt_fields(people, file=upload(PDF, "facture.pdf")))
    )
    assert response.status_code == 201
    assert response.json()["content_type"] == "application/pdf"


def test_the_api_vehicle_kinds_are_the_model_ones():
    from typing import get_args

    from comptoir.expenses.api import VehicleKind

    assert list(get_args(VehicleKind)) == Vehicle.Kind.values
