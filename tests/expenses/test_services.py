"""Receipts, vehicles and trips: what is kept, what is refused (naming the field, writing
nothing), the audit trail, and the monthly statement's figures."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from django.utils import timezone
from freezegun import freeze_time

from comptoir.core.errors import Conflict, DomainError, NotFound
from comptoir.core.models import AuditEntry, Organization
from comptoir.expenses import mileage, services
from comptoir.expenses.models import ExpenseCategory, Receipt, Trip
from comptoir.expenses.statements import build_statement
from tests.conftest import nothing_changes
from tests.expenses.conftest import (
    HEIC,
    JPEG,
    PDF,
    PNG,
    category,
    make_receipt,
    make_trip,
    make_vehicle,
)
from tests.helpers import fr

D = Decimal


def test_default_categories_are_created_once_per_organisation(people):
    org = people["admin"].org
    codes = [c.code for c in services.categories(org)]
    assert codes == [
        "carburant",
        "peage",
        "stationnement",
        "repas",
        "hotel",
        "fournitures",
        "materiel",
        "autre",
    ]
    services.categories(org)
    assert ExpenseCategory.objects.filter(organization=org).count() == 8
    assert ExpenseCategory.objects.filter(organization=people["outsider"].org).count() == 0


def test_categories_can_be_added_renamed_and_put_out_of_use(people):
    admin = people["admin"]
    added = services.create_category(admin.org, "Frais postaux", actor=admin.user)
    assert (added.code, added.label) == ("frais-postaux", "Frais postaux")
    with pytest.raises(Conflict):
        services.create_category(admin.org, "frais postaux", actor=admin.user)
    meals = category(admin.org, "repas")
    services.update_category(meals, actor=admin.user, label="Repas d'affaires", is_active=False)
    meals.refresh_from_db()
    assert (meals.label, meals.is_active) == ("Repas d'affaires", False)
    assert [c.code for c in services.categories(admin.org, active_only=True)].count("repas") == 0
    entry = AuditEntry.objects.filter(action="expense_category.update").get()
    assert entry.before == {"label": "Repas", "is_active": True}
    assert entry.after == {"label": "Repas d'affaires", "is_active": False}


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(JPEG, "image/jpeg"), (PNG, "image/png"), (HEIC, "image/heic"), (PDF, "application/pdf")],
)
def test_a_receipt_keeps_its_file_whatever_its_name_says(people, data, content_type):
    admin = people["admin"]
    receipt = services.create_receipt(
        admin.org,
        actor=admin.user,
        upload=BytesIO(data),
        file_name="IMG_0042.bin",
        member=people["tech_all"].member,
        date=date(2025, 3, 12),
        supplier="  TotalEnergies   Lille ",
        amount_ttc="60,00",
        amount_ht="50",
        amount_vat="10.00",
        category=category(admin.org, "carburant"),
    )
    receipt.refresh_from_db()
    assert receipt.content_type == content_type
    assert receipt.file_name == "IMG_0042.bin"
    assert receipt.size == len(data)
    assert receipt.file.read() == data
    assert receipt.supplier == "TotalEnergies Lille"
    assert (receipt.amount_ttc, receipt.amount_ht, receipt.amount_vat) == (
        D("60.00"),
        D("50.00"),
        D("10.00"),
    )
    org = Organization.objects.get(pk=admin.org.pk)
    assert org.storage_used_bytes == len(data)
    entry = AuditEntry.objects.get(action="receipt.create")
    assert entry.after["amount_ttc"] == "60.00"
    assert entry.after["member"] == "Tech_All acme"
    assert entry.after["file"] == "IMG_0042.bin"


def refuse(people, **fields):
    """The refusal of a receipt with these values, after checking nothing was written."""
    with nothing_changes(), pytest.raises(DomainError) as refused:
        make_receipt(people, **fields)
    return refused.value


def test_ttc_must_be_ht_plus_vat_to_the_cent(people):
    services.categories(people["admin"].org)
    error = refuse(people, amount_ttc="24.01", amount_ht="20.00", amount_vat="4.00")
    assert error.details == {"field": "amount_ttc"}
    assert error.status == 400
    assert "24,01" in error.message and "20,00" in error.message and "4,00" in error.message
    assert "24,00" in error.message  # what HT + TVA make
    assert Receipt.objects.count() == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"amount_ttc": "douze"}, "amount_ttc"),
        ({"amount_ht": "20.001"}, "amount_ht"),
        ({"amount_vat": "-4.00", "amount_ht": "28.00"}, "amount_vat"),
        ({"amount_ttc": "0", "amount_ht": "0", "amount_vat": "0"}, "amount_ttc"),
        ({"amount_ttc": "1e40"}, "amount_ttc"),
        ({"amount_ttc": "NaN"}, "amount_ttc"),
        ({"amount_ht": None}, "amount_ht"),
        ({"supplier": "   "}, "supplier"),
        ({"supplier": "x" * 201}, "supplier"),
        ({"date": date(1999, 12, 31)}, "date"),
        ({"date": "2025-03-01"}, "date"),
    ],
)
def test_a_wrong_value_is_refused_naming_the_field(people, fields, field):
    services.categories(people["admin"].org)
    assert refuse(people, **fields).details == {"field": field}


def test_a_receipt_dated_tomorrow_is_refused(people):
    services.categories(people["admin"].org)
    tomorrow = timezone.localdate() + timedelta(days=1)
    error = refuse(people, date=tomorrow)
    assert error.details == {"field": "date"}
    assert tomorrow.strftime("%d/%m/%Y") in error.message


EMPTY = "The file “%(name)s” is empty."
NOT_A_RECEIPT = "“%(name)s” is not a photo (JPEG, PNG, HEIC) or a PDF."


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", EMPTY),
        (b"GIF89a" + b"\x00" * 20, NOT_A_RECEIPT),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", NOT_A_RECEIPT),
    ],
)
def test_a_file_that_is_not_a_receipt_is_refused(people, data, expected):
    admin = people["admin"]
    services.categories(admin.org)
    with nothing_changes(), pytest.raises(DomainError) as refused:
        services.create_receipt(
            admin.org,
            actor=admin.user,
            upload=BytesIO(data),
            file_name="ticket.gif",
            member=admin.member,
            date=date(2025, 3, 1),
            supplier="Bureau Vallée",
            amount_ttc="12.00",
            amount_ht="10.00",
            amount_vat="2.00",
            category=category(admin.org, "fournitures"),
        )
    assert refused.value.details == {"field": "file"}
    assert refused.value.message == fr(expected) % {"name": "ticket.gif"}


def test_a_file_over_20_mb_is_refused(people, receipt_storage):
    services.categories(people["admin"].org)
    big = PDF + b"\x00" * (20 * 1024 * 1024)
    with nothing_changes(), pytest.raises(DomainError) as refused:
        services.create_receipt(
            people["admin"].org,
            actor=people["admin"].user,
            upload=BytesIO(big),
            file_name="scan.pdf",
            member=people["admin"].member,
            date=date(2025, 3, 1),
            supplier="Hôtel Ibis",
            amount_ttc="110.00",
            amount_ht="100.00",
            amount_vat="10.00",
            category=category(people["admin"].org, "hotel"),
        )
    assert refused.value.details == {"field": "file"}
    assert not [path for path in receipt_storage.rglob("*") if path.is_file()]


def test_another_organisations_member_or_category_is_not_found(people):
    outsider = people["outsider"]
    services.categories(outsider.org)
    services.categories(people["admin"].org)
    with nothing_changes(), pytest.raises(NotFound):
        make_receipt(people, member=outsider.member)
    with nothing_changes(), pytest.raises(NotFound):
        make_receipt(people, category=category(outsider.org))


def test_a_category_out_of_use_is_refused_for_a_new_receipt_but_kept_on_old_ones(people):
    admin = people["admin"]
    receipt = make_receipt(people)
    meals = category(admin.org, "repas")
    services.update_category(meals, actor=admin.user, is_active=False)
    with nothing_changes(), pytest.raises(DomainError) as refused:
        make_receipt(people, category=meals)
    assert refused.value.details == {"field": "category"}
    services.update_receipt(receipt, actor=admin.user, supplier="Brasserie de la Paix")
    receipt.refresh_from_db()
    assert (receipt.supplier, receipt.category.code) == ("Brasserie de la Paix", "repas")


def test_a_receipt_can_be_corrected_and_the_audit_says_what_changed(people):
    admin = people["admin"]
    receipt = make_receipt(people)
    services.update_receipt(
        receipt, actor=admin.user, amount_ttc="26.40", amount_ht="24.00", amount_vat="2.40"
    )
    receipt.refresh_from_db()
    assert receipt.amount_ttc == D("26.40")
    entry = AuditEntry.objects.get(action="receipt.update")
    assert entry.before == {"amount_ttc": "24.00", "amount_ht": "20.00", "amount_vat": "4.00"}
    assert entry.after == {"amount_ttc": "26.40", "amount_ht": "24.00", "amount_vat": "2.40"}
    with nothing_changes(), pytest.raises(DomainError) as refused:
        services.update_receipt(receipt, actor=admin.user, amount_vat="2.41")
    assert refused.value.details == {"field": "amount_ttc"}


def test_a_cancelled_receipt_stays_and_leaves_the_totals(people):
    admin = people["admin"]
    kept = make_receipt(people)
    gone = make_receipt(
        people, supplier="Doublon", amount_ttc="12.00", amount_ht="10.00", amount_vat="2.00"
    )
    with nothing_changes(), pytest.raises(DomainError) as refused:
        services.cancel_receipt(gone, actor=admin.user, reason="  ")
    assert refused.value.details == {"field": "reason"}
    services.cancel_receipt(gone, actor=admin.user, reason="Saisi deux fois")
    gone.refresh_from_db()
    assert gone.is_cancelled and gone.cancelled_by == admin.user
    assert gone.cancel_reason == "Saisi deux fois"
    assert Receipt.objects.count() == 2  # never deleted
    with nothing_changes(), pytest.raises(Conflict):
        services.cancel_receipt(gone, actor=admin.user, reason="encore")
    with nothing_changes(), pytest.raises(Conflict):
        services.update_receipt(gone, actor=admin.user, supplier="Autre")
    statement = build_statement(people["tech_all"].member, 2025, 3)
    assert statement.receipts == [kept]
    assert statement.receipt_totals.ttc == D("24.00")
    entry = AuditEntry.objects.get(action="receipt.cancel")
    assert entry.after == {"cancelled": True, "reason": "Saisi deux fois"}
    assert entry.before["supplier"] == "Doublon"


# --- vehicles and trips ---------------------------------------------------------------


def test_a_vehicle_needs_its_fiscal_horsepower_except_a_moped(people):
    with nothing_changes(), pytest.raises(DomainError) as refused:
        make_vehicle(people, fiscal_power=None)
    assert refused.value.details == {"field": "fiscal_power"}
    with nothing_changes(), pytest.raises(DomainError) as refused:
        make_vehicle(people, fiscal_power=0)
    assert refused.value.details == {"field": "fiscal_power"}
    moped = make_vehicle(people, kind="moped", fiscal_power=3, label="Solex")
    assert moped.fiscal_power is None
    car = make_vehicle(people, registration="gh-512-kl")
    assert car.registration == "GH-512-KL"


def test_what_the_scale_reads_is_fixed_once_a_vehicle_has_trips(people):
    admin = people["admin"]
    vehicle = make_vehicle(people)
    services.update_vehicle(vehicle, actor=admin.user, fiscal_power=6)  # no trip yet: fine
    make_trip(people, vehicle)
    with nothing_changes(), pytest.raises(Conflict) as refused:
        services.update_vehicle(vehicle, actor=admin.user, is_electric=True)
    assert refused.value.details == {"field": "is_electric"}
    services.update_vehicle(vehicle, actor=admin.user, label="Peugeot 208 grise", is_active=False)
    vehicle.refresh_from_db()
    assert (vehicle.label, vehicle.is_active, vehicle.fiscal_power) == (
        "Peugeot 208 grise",
        False,
        6,
    )


def test_a_trip_is_refused_naming_the_field(people):
    vehicle = make_vehicle(people)
    others = make_vehicle(people, "backoffice", label="Clio")
    mine = {"member": vehicle.member}
    cases = [
        (vehicle, {"distance_km": "0"}, "distance_km"),
        (vehicle, {"distance_km": "5000.1"}, "distance_km"),
        (vehicle, {"distance_km": "12.34"}, "distance_km"),
        (vehicle, {"distance_km": "douze"}, "distance_km"),
        (vehicle, {"origin": ""}, "origin"),
        (vehicle, {"purpose": " "}, "purpose"),
        (others, mine, "vehicle"),  # the back office's car for the technician's trip
        (vehicle, {"date": date(2023, 12, 31)}, "date"),  # before the first stored scale
    ]
    for car, fields, field in cases:
        with nothing_changes(), pytest.raises(DomainError) as refused:
            make_trip(people, car, **fields)
        assert refused.value.details == {"field": field}, fields
    assert "2023" in refused.value.message


def test_a_vehicle_out_of_use_takes_no_new_trip(people):
    vehicle = make_vehicle(people)
    services.update_vehicle(vehicle, actor=people["admin"].user, is_active=False)
    vehicle.refresh_from_db()
    with nothing_changes(), pytest.raises(DomainError) as refused:
        make_trip(people, vehicle)
    assert refused.value.details == {"field": "vehicle"}


def test_trips_are_kept_in_tenths_of_a_kilometre_and_cancelled_not_deleted(people):
    admin = people["admin"]
    trip = make_trip(people, make_vehicle(people), distance_km="42,50")
    assert trip.distance_km == D("42.5")
    services.update_trip(trip, actor=admin.user, destination="Tourcoing")
    services.cancel_trip(trip, actor=admin.user, reason="Rendez-vous annulé")
    trip.refresh_from_db()
    assert trip.is_cancelled and Trip.objects.count() == 1
    actions = list(
        AuditEntry.objects.filter(object_type="trip")
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions == ["trip.create", "trip.update", "trip.cancel"]


# --- the statement --------------------------------------------------------------------


def test_the_statement_adds_receipts_and_the_provisional_allowance(people):
    vehicle = make_vehicle(people)  # 5 CV
    for month in range(1, 5):
        make_trip(people, vehicle, date=date(2025, month, 10), distance_km="1200")
    make_trip(people, vehicle, date=date(2025, 5, 3), distance_km="700")
    make_trip(people, vehicle, date=date(2025, 5, 20), distance_km="500")
    make_receipt(people, date=date(2025, 5, 20))
    make_receipt(
        people,
        date=date(2025, 5, 21),
        supplier="Sanef",
        amount_ttc="8.40",
        amount_ht="7.00",
        amount_vat="1.40",
        category=category(people["admin"].org, "peage"),
    )
    statement = build_statement(people["tech_all"].member, 2025, 5)
    assert statement.receipt_totals.ttc == D("32.40")
    assert statement.receipt_totals.vat == D("5.40")
    assert [(g.label, g.totals.ttc) for g in statement.by_category] == [
        ("Péage", D("8.40")),
        ("Repas", D("24.00")),
    ]
    (row,) = statement.vehicles
    assert [trip.distance_km for trip in row.trips] == [D("700"), D("500")]
    assert row.km == D("1200")
    assert row.year.distance == D("6000")
    assert row.provisional == D("428.40")  # 1200 × 0.357
    assert row.year.annual == D("3537.00")  # 6000 × 0.357 + 1395
    assert row.year.regularisation == D("55.80")
    assert row.regularisation == D("0.00")  # in May it is shown, not added
    assert statement.mileage_total == D("428.40")
    assert statement.total == D("460.80")
    assert statement.provisional_scale is False


def test_december_adds_the_regularisation_even_without_a_trip_that_month(people):
    vehicle = make_vehicle(people)
    for month in range(1, 11):
        make_trip(people, vehicle, date=date(2025, month, 10), distance_km="1200")
    statement = build_statement(people["tech_all"].member, 2025, 12)
    (row,) = statement.vehicles
    assert row.trips == []
    assert row.provisional == D("0.00")
    assert row.regularisation == D("55.80")
    assert statement.total == D("55.80")
    # over the year the statements come to the scale's amount for 12,000 km
    months = [
        build_statement(people["tech_all"].member, 2025, m).mileage_total for m in range(1, 13)
    ]
    assert sum(months) == D("5679.00")


def test_statements_of_a_member_leave_out_the_others_and_cancelled_trips(people):
    mine = make_vehicle(people)
    theirs = make_vehicle(people, "backoffice", label="Clio")
    make_trip(people, mine, distance_km="100")
    cancelled = make_trip(people, mine, distance_km="900")
    services.cancel_trip(cancelled, actor=people["admin"].user, reason="Erreur")
    make_trip(people, theirs, distance_km="300")
    (row,) = build_statement(people["tech_all"].member, 2025, 3).vehicles
    assert row.km == D("100") and row.provisional == D("63.60")


def test_a_year_without_its_scale_is_computed_with_the_latest_one_and_says_so(people):
    last = mileage.stored_years()[-1]
    vehicle = make_vehicle(people)
    with freeze_time(f"{last + 1}-02-15 10:00:00"):
        make_trip(people, vehicle, date=date(last + 1, 2, 3), distance_km="100")
        statement = build_statement(people["tech_all"].member, last + 1, 2)
    assert statement.provisional_scale is True
    assert statement.vehicles[0].scale.scale.year == last
    assert statement.mileage_total == D("63.60")
