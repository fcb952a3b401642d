"""Compléments endpoints: receipts, vehicles, trips and the monthly statement.

Money and kilometres travel as decimal strings ("12.50", "42.5"), never as
JSON numbers, so that no client rounds them through floating point.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema
from ninja import Status as Reply
from ninja.files import UploadedFile
from pydantic import Field, StrictBool

from comptoir.accounts.models import acting_user
from comptoir.company.services import get_profile
from comptoir.core.access import by_public_id
from comptoir.core.api_base import ErrorOut, InSchema, OutSchema, org_endpoint
from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource
from comptoir.expenses import exports, listing, services
from comptoir.expenses.models import ExpenseCategory, Receipt, Trip, Vehicle
from comptoir.expenses.statements import Statement, VehicleMonth, build_statement

router = Router(tags=["expenses"])
ERRORS: dict[int, Any] = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
E = "/orgs/{org}/expenses"

Money = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{1,8}(\.[0-9]{1,2})?$",
        description='Euros as a decimal string with a dot, at most 2 decimals: "12.50".',
        examples=["12.50"],
    ),
]
Km = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{1,4}(\.[0-9])?$",
        description='Kilometres as a decimal string, at most 1 decimal: "42.5" (5000 at most).',
        examples=["42.5"],
    ),
]
Month = Annotated[
    str,
    Field(
        pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$",
        description="YYYY-MM, from 2000-01 to 2099-12",
        examples=["2026-03"],
    ),
]
Text = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
UUID_OR_EMPTY = r"^$|^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
State = Literal["valid", "cancelled", "all"]
VehicleKind = Literal["car", "motorcycle", "moped"]  # Vehicle.Kind (a test keeps them in step)
STATE_FILTER: dict[str, Any] = {"valid": False, "cancelled": True, "all": "all"}


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def km(value: Decimal) -> str:
    return f"{value:.1f}"


class ExpenseRef(Schema):
    id: UUID
    name: str


class ExpenseCategoryOut(Schema):
    code: str
    label: str
    is_active: bool


class ExpenseDossierRef(Schema):
    id: UUID
    number: str


class ReceiptOut(OutSchema):
    id: UUID
    member: ExpenseRef
    date: date
    supplier: str
    amount_ttc: str
    amount_ht: str
    amount_vat: str
    category: ExpenseCategoryOut
    dossier: ExpenseDossierRef | None
    notes: str
    file_name: str
    content_type: str
    size: int
    cancelled: bool
    cancelled_at: datetime | None
    cancel_reason: str
    created_at: datetime


class ReceiptTotalsOut(Schema):
    count: int
    ttc: str
    ht: str
    vat: str


class ReceiptPage(Schema):
    items: list[ReceiptOut]
    count: int
    next_offset: int | None
    totals: ReceiptTotalsOut


class ReceiptQuery(Schema):
    member: UUID | None = None
    month: Month | None = None
    category: str | None = Field(default=None, max_length=40)
    state: State = "valid"
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=10_000_000)


class ReceiptIn(Schema):
    """A receipt's details, sent as form fields next to its file (multipart)."""

    member: UUID
    date: date
    supplier: Text
    amount_ttc: Money
    amount_ht: Money
    amount_vat: Money
    category: str = Field(
        min_length=1, max_length=40, description="A category code, e.g. carburant, repas."
    )
    dossier: str = Field(
        default="",
        pattern=UUID_OR_EMPTY,
        description="The id of a dossier to link, or empty (a form field cannot be null).",
    )
    notes: str = Field(default="", max_length=2000)


class ExpenseCancelIn(InSchema):
    reason: str = Field(min_length=1, max_length=300, pattern=r"\S")


class VehicleOut(OutSchema):
    id: UUID
    member: ExpenseRef
    label: str
    registration: str
    kind: str
    fiscal_power: int | None
    is_electric: bool
    is_active: bool


class VehicleQuery(Schema):
    member: UUID | None = None


class VehicleIn(InSchema):
    member: UUID
    label: Text
    registration: str = Field(default="", max_length=20)
    kind: VehicleKind = "car"
    fiscal_power: int | None = Field(
        default=None, ge=1, le=99, description="Box P.6 of the registration; null for a moped."
    )
    is_electric: StrictBool = False


class TripOut(OutSchema):
    id: UUID
    member: ExpenseRef
    vehicle: ExpenseRef
    date: date
    origin: str
    destination: str
    distance_km: str
    purpose: str
    dossier: ExpenseDossierRef | None
    cancelled: bool
    cancelled_at: datetime | None
    cancel_reason: str
    created_at: datetime


class TripPage(Schema):
    items: list[TripOut]
    count: int
    next_offset: int | None
    total_km: str


class TripQuery(Schema):
    member: UUID | None = None
    vehicle: UUID | None = None
    month: Month | None = None
    state: State = "valid"
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=10_000_000)


class TripIn(InSchema):
    member: UUID
    vehicle: UUID
    date: date
    origin: Text
    destination: Text
    distance_km: Km
    purpose: str = Field(min_length=1, max_length=300, pattern=r"\S")
    dossier: UUID | None = None


class ExpenseCategoryTotalOut(Schema):
    label: str
    ttc: str
    ht: str
    vat: str


class VehicleMonthOut(Schema):
    vehicle: ExpenseRef
    description: str
    scale_year: int
    scale_provisional: bool
    power_class: str
    km_month: str
    km_year_to_date: str
    band: str
    formula: str
    rate_per_km: str
    provisional_amount: str
    annual_amount_to_date: str
    provisional_to_date: str
    regularisation_to_date: str
    regularisation: str
    total: str
    trips: list[TripOut]


class ExpenseStatementOut(Schema):
    member: ExpenseRef
    month: str
    receipts: list[ReceiptOut]
    receipt_totals: ReceiptTotalsOut
    by_category: list[ExpenseCategoryTotalOut]
    mileage: list[VehicleMonthOut]
    mileage_total: str
    total: str


class ExpenseStatementQuery(Schema):
    member: UUID
    month: Month


class ExpenseExportQuery(ExpenseStatementQuery):
    format: Literal["xlsx", "pdf"] = "xlsx"


# --- output ---------------------------------------------------------------------------


def _ref(record: Any) -> dict[str, Any]:
    return {"id": record.public_id, "name": str(record)}


def _dossier(record: Receipt | Trip) -> dict[str, Any] | None:
    found = record.dossier
    return {"id": found.public_id, "number": found.number} if found else None


def receipt_out(receipt: Receipt) -> dict[str, Any]:
    category: ExpenseCategory = receipt.category
    return {
        "id": receipt.public_id,
        "member": _ref(receipt.member),
        "date": receipt.date,
        "supplier": receipt.supplier,
        "amount_ttc": money(receipt.amount_ttc),
        "amount_ht": money(receipt.amount_ht),
        "amount_vat": money(receipt.amount_vat),
        "category": {
            "code": category.code,
            "label": category.label,
            "is_active": category.is_active,
        },
        "dossier": _dossier(receipt),
        "notes": receipt.notes,
        "file_name": receipt.file_name,
        "content_type": receipt.content_type,
        "size": receipt.size,
        "cancelled": receipt.is_cancelled,
        "cancelled_at": receipt.cancelled_at,
        "cancel_reason": receipt.cancel_reason,
        "created_at": receipt.created_at,
    }


def vehicle_out(vehicle: Vehicle) -> dict[str, Any]:
    return {
        "id": vehicle.public_id,
        "member": _ref(vehicle.member),
        "label": vehicle.label,
        "registration": vehicle.registration,
        "kind": vehicle.kind,
        "fiscal_power": vehicle.fiscal_power,
        "is_electric": vehicle.is_electric,
        "is_active": vehicle.is_active,
    }


def trip_out(trip: Trip) -> dict[str, Any]:
    return {
        "id": trip.public_id,
        "member": _ref(trip.member),
        "vehicle": _ref(trip.vehicle),
        "date": trip.date,
        "origin": trip.origin,
        "destination": trip.destination,
        "distance_km": km(trip.distance_km),
        "purpose": trip.purpose,
        "dossier": _dossier(trip),
        "cancelled": trip.is_cancelled,
        "cancelled_at": trip.cancelled_at,
        "cancel_reason": trip.cancel_reason,
        "created_at": trip.created_at,
    }


def _vehicle_month(row: VehicleMonth, member: Membership) -> dict[str, Any]:
    return {
        "vehicle": _ref(row.vehicle),
        "description": row.vehicle.description,
        "scale_year": row.scale.scale.year,
        "scale_provisional": row.scale.provisional,
        "power_class": row.power_class.label,
        "km_month": km(row.km),
        "km_year_to_date": km(row.year.distance),
        "band": row.band.distance_label,
        "formula": row.band.formula,
        "rate_per_km": str(row.rate.normalize()),
        "provisional_amount": money(row.provisional),
        "annual_amount_to_date": money(row.year.annual),
        "provisional_to_date": money(row.year.provisional),
        "regularisation_to_date": money(row.year.regularisation),
        "regularisation": money(row.regularisation),
        "total": money(row.total),
        "trips": [trip_out(_with_member(trip, member)) for trip in row.trips],
    }


def _with_member(trip: Trip, member: Membership) -> Trip:
    trip.member = member  # the statement's member: saves a query per trip
    return trip


def statement_out(statement: Statement) -> dict[str, Any]:
    totals = statement.receipt_totals
    return {
        "member": _ref(statement.member),
        "month": f"{statement.year}-{statement.month:02d}",
        "receipts": [receipt_out(r) for r in statement.receipts],
        "receipt_totals": {
            "count": len(statement.receipts),
            "ttc": money(totals.ttc),
            "ht": money(totals.ht),
            "vat": money(totals.vat),
        },
        "by_category": [
            {
                "label": group.label,
                "ttc": money(group.totals.ttc),
                "ht": money(group.totals.ht),
                "vat": money(group.totals.vat),
            }
            for group in statement.by_category
        ],
        "mileage": [_vehicle_month(row, statement.member) for row in statement.vehicles],
        "mileage_total": money(statement.mileage_total),
        "total": money(statement.total),
    }


def _page(items: list[dict[str, Any]], count: int, offset: int, limit: int) -> dict[str, Any]:
    end = offset + limit
    return {"items": items, "count": count, "next_offset": end if end < count else None}


def _filters(member: Membership, query: ReceiptQuery | TripQuery) -> dict[str, Any]:
    data = query.dict()
    data["member"] = listing.colleague(member, data["member"]) if data.get("member") else None
    data["cancelled"] = STATE_FILTER[data.pop("state")]
    return data


def _receipt(member: Membership, receipt_id: str, action: Action = Action.VIEW) -> Receipt:
    return by_public_id(listing.receipts(member, action), receipt_id)


def _trip(member: Membership, trip_id: str, action: Action = Action.VIEW) -> Trip:
    return by_public_id(listing.trips(member, action), trip_id)


def _linked_dossier(member: Membership, dossier_id: UUID | None) -> Any:
    return by_public_id(listing.dossiers(member), dossier_id) if dossier_id else None


# --- receipts -------------------------------------------------------------------------


@router.get(
    f"{E}/receipts",
    response={200: ReceiptPage, **ERRORS},
    summary="List receipts (member, month, category), with their totals",
)
@org_endpoint("api-receipts", Resource.RECEIPTS, Action.VIEW)
def list_receipts(
    request: HttpRequest, member: Membership, filters: Query[ReceiptQuery]
) -> dict[str, Any]:
    queryset = listing.filter_receipts(listing.receipts(member), _filters(member, filters))
    count = queryset.count()
    rows = queryset.order_by("-date", "-pk")[filters.offset : filters.offset + filters.limit]
    totals = listing.receipt_totals(queryset)
    return {
        **_page([receipt_out(r) for r in rows], count, filters.offset, filters.limit),
        "totals": {
            "count": totals.count,
            "ttc": money(totals.ttc),
            "ht": money(totals.ht),
            "vat": money(totals.vat),
        },
    }


@router.post(
    f"{E}/receipts",
    response={201: ReceiptOut, **ERRORS},
    summary="Add a receipt: its file (JPEG, PNG, HEIC photo or PDF) and its amounts",
    description=(
        "Multipart form. `amount_ttc` must equal `amount_ht` + `amount_vat` to the cent: "
        'otherwise 400 with `details.field` = "amount_ttc". The file is 20 MB at most.'
    ),
)
@org_endpoint("api-receipt-add", Resource.RECEIPTS, Action.ADD)
def create_receipt(
    request: HttpRequest,
    member: Membership,
    payload: Form[ReceiptIn],
    file: File[UploadedFile],
) -> Reply[dict[str, Any]]:
    category = services.category_by_code(member.organization, payload.category)
    if category is None:
        raise services.InvalidExpense(
            _("Category: “%(code)s” is not a category of this organisation.")
            % {"code": payload.category},
            details={"field": "category"},
        )
    receipt = services.create_receipt(
        member.organization,
        actor=acting_user(request),
        upload=file,
        file_name=file.name or "",
        member=listing.colleague(member, payload.member),
        date=payload.date,
        supplier=payload.supplier,
        amount_ttc=payload.amount_ttc,
        amount_ht=payload.amount_ht,
        amount_vat=payload.amount_vat,
        category=category,
        dossier=_linked_dossier(member, UUID(payload.dossier) if payload.dossier else None),
        notes=payload.notes,
    )
    return Reply(201, receipt_out(receipt))


@router.get(
    f"{E}/receipts/{{receipt_id}}", response={200: ReceiptOut, **ERRORS}, summary="A receipt"
)
@org_endpoint("api-receipt", Resource.RECEIPTS, Action.VIEW)
def get_receipt(request: HttpRequest, member: Membership, receipt_id: str) -> dict[str, Any]:
    return receipt_out(_receipt(member, receipt_id))


@router.get(
    f"{E}/receipts/{{receipt_id}}/file",
    response={200: None, **ERRORS},
    summary="Download a receipt's file",
)
@org_endpoint("api-receipt-file", Resource.RECEIPTS, Action.VIEW)
def receipt_file(request: HttpRequest, member: Membership, receipt_id: str) -> FileResponse:
    receipt = _receipt(member, receipt_id)
    response = FileResponse(
        receipt.file.open("rb"),
        as_attachment=True,
        filename=receipt.file_name,
        content_type=receipt.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.post(
    f"{E}/receipts/{{receipt_id}}/cancel",
    response={200: ReceiptOut, **ERRORS},
    summary="Cancel a receipt (it stays, out of the totals); 409 if already cancelled",
)
@org_endpoint("api-receipt-cancel", Resource.RECEIPTS, Action.DELETE)
def cancel_receipt(
    request: HttpRequest, member: Membership, receipt_id: str, payload: ExpenseCancelIn
) -> dict[str, Any]:
    receipt = _receipt(member, receipt_id, Action.DELETE)
    cancelled = services.cancel_receipt(receipt, actor=acting_user(request), reason=payload.reason)
    return receipt_out(cancelled)


@router.get(
    f"{E}/categories",
    response={200: list[ExpenseCategoryOut], **ERRORS},
    summary="The organisation's receipt categories",
)
@org_endpoint("api-expense-categories", Resource.RECEIPTS, Action.VIEW)
def list_categories(request: HttpRequest, member: Membership) -> list[dict[str, Any]]:
    return [
        {"code": c.code, "label": c.label, "is_active": c.is_active}
        for c in services.categories(member.organization)
    ]


# --- vehicles and trips ---------------------------------------------------------------


@router.get(
    f"{E}/vehicles", response={200: list[VehicleOut], **ERRORS}, summary="The members' vehicles"
)
@org_endpoint("api-vehicles", Resource.MILEAGE, Action.VIEW)
def list_vehicles(
    request: HttpRequest, member: Membership, filters: Query[VehicleQuery]
) -> list[dict[str, Any]]:
    queryset = listing.vehicles(member)
    if filters.member is not None:
        queryset = queryset.filter(member=listing.colleague(member, filters.member))
    return [vehicle_out(v) for v in queryset.order_by("member__display_name", "label", "pk")]


@router.post(f"{E}/vehicles", response={201: VehicleOut, **ERRORS}, summary="Add a vehicle")
@org_endpoint("api-vehicle-add", Resource.MILEAGE, Action.ADD)
def create_vehicle(
    request: HttpRequest, member: Membership, payload: VehicleIn
) -> Reply[dict[str, Any]]:
    data = payload.dict()
    owner = listing.colleague(member, data.pop("member"))
    vehicle = services.create_vehicle(
        member.organization, actor=acting_user(request), member=owner, **data
    )
    return Reply(201, vehicle_out(vehicle))


@router.get(
    f"{E}/trips",
    response={200: TripPage, **ERRORS},
    summary="List trips (member, vehicle, month), with their kilometres",
)
@org_endpoint("api-trips", Resource.MILEAGE, Action.VIEW)
def list_trips(
    request: HttpRequest, member: Membership, filters: Query[TripQuery]
) -> dict[str, Any]:
    data = _filters(member, filters)
    if data.get("vehicle"):
        data["vehicle"] = by_public_id(listing.vehicles(member), data["vehicle"])
    queryset = listing.filter_trips(listing.trips(member), data)
    count = queryset.count()
    rows = queryset.order_by("-date", "-pk")[filters.offset : filters.offset + filters.limit]
    return {
        **_page([trip_out(t) for t in rows], count, filters.offset, filters.limit),
        "total_km": km(listing.total_km(queryset)),
    }


@router.post(f"{E}/trips", response={201: TripOut, **ERRORS}, summary="Add a trip")
@org_endpoint("api-trip-add", Resource.MILEAGE, Action.ADD)
def create_trip(request: HttpRequest, member: Membership, payload: TripIn) -> Reply[dict[str, Any]]:
    trip = services.create_trip(
        member.organization,
        actor=acting_user(request),
        member=listing.colleague(member, payload.member),
        vehicle=by_public_id(listing.vehicles(member), payload.vehicle),
        date=payload.date,
        origin=payload.origin,
        destination=payload.destination,
        distance_km=payload.distance_km,
        purpose=payload.purpose,
        dossier=_linked_dossier(member, payload.dossier),
    )
    return Reply(201, trip_out(trip))


@router.post(
    f"{E}/trips/{{trip_id}}/cancel",
    response={200: TripOut, **ERRORS},
    summary="Cancel a trip (it stays, out of the allowance); 409 if already cancelled",
)
@org_endpoint("api-trip-cancel", Resource.MILEAGE, Action.DELETE)
def cancel_trip(
    request: HttpRequest, member: Membership, trip_id: str, payload: ExpenseCancelIn
) -> dict[str, Any]:
    trip = _trip(member, trip_id, Action.DELETE)
    return trip_out(services.cancel_trip(trip, actor=acting_user(request), reason=payload.reason))


# --- statement ------------------------------------------------------------------------


def _statement(member: Membership, query: ExpenseStatementQuery) -> Statement:
    year, month = listing.parse_month(query.month) or (0, 0)  # the pattern checked it
    subject = listing.colleague(member, query.member)
    return build_statement(
        subject, year, month, with_mileage=member.can(Resource.MILEAGE, Action.VIEW)
    )


@router.get(
    f"{E}/statement",
    response={200: ExpenseStatementOut, **ERRORS},
    summary="A member's monthly statement: receipts, trips, allowance and totals",
    description=(
        "The mileage allowance of a month is provisional (the month's km × the rate of the "
        "band reached by the year's cumulative distance); December adds the year's "
        "regularisation, so that the year comes to the scale's amount for its distance."
    ),
)
@org_endpoint("api-expense-statement", Resource.RECEIPTS, Action.VIEW)
def get_statement(
    request: HttpRequest, member: Membership, query: Query[ExpenseStatementQuery]
) -> dict[str, Any]:
    return statement_out(_statement(member, query))


@router.get(
    f"{E}/statement/export",
    response={200: None, **ERRORS},
    summary="A member's monthly statement as XLSX or PDF",
)
@org_endpoint("api-expense-statement-export", Resource.RECEIPTS, Action.VIEW)
def export_statement(
    request: HttpRequest, member: Membership, query: Query[ExpenseExportQuery]
) -> HttpResponse:
    statement = _statement(member, query)
    stem = f"etat-{query.month}"
    if query.format == "pdf":
        data = exports.statement_pdf(statement, get_profile(member.organization))
        response = HttpResponse(data, content_type="application/pdf")
    else:
        data = exports.statement_xlsx(statement, member.organization.name)
        response = HttpResponse(
            data,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{stem}.{query.format}"'
    return response
