"""Domain operations on receipts, vehicles and trips. Every write is transactional and
audited; nothing is deleted (a receipt or a trip is cancelled, a category or a vehicle
is put out of use).

The caller resolves members, categories, vehicles and dossiers through scoped
queries (`comptoir.core.access`); these functions check again that each one
belongs to the organisation, so a mistake there is a 404, never a leak.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from comptoir.accounts.models import User
from comptoir.company.formatting import euros, french_number
from comptoir.core import audit
from comptoir.core.errors import Conflict, DomainError, NotFound
from comptoir.core.models import Membership, Organization
from comptoir.core.services import check_storage, reserve_storage
from comptoir.dossiers.models import Dossier
from comptoir.expenses import mileage
from comptoir.expenses.files import inspect_receipt
from comptoir.expenses.models import (
    DEFAULT_CATEGORIES,
    ExpenseCategory,
    Receipt,
    Trip,
    Vehicle,
)

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("99999999.99")  # what the columns hold (10 digits, 2 decimals)
MAX_TRIP_KM = Decimal(5000)
EARLIEST = date(2000, 1, 1)
LARGEST = Decimal("1e12")  # beyond any amount or distance here; keeps quantize() exact
RECEIPT_FIELDS = (
    "member",
    "date",
    "supplier",
    "amount_ttc",
    "amount_ht",
    "amount_vat",
    "category",
    "dossier",
    "notes",
)
TRIP_FIELDS = ("member", "vehicle", "date", "origin", "destination", "distance_km", "purpose")
VEHICLE_FIELDS = ("label", "registration", "kind", "fiscal_power", "is_electric", "is_active")
SCALE_FIELDS = ("kind", "fiscal_power", "is_electric")


class InvalidExpense(DomainError):
    """A value a receipt, a vehicle or a trip cannot take; `details["field"]` names it."""

    code = "invalid_input"


def _refuse(field: str, message: str) -> InvalidExpense:
    return InvalidExpense(message, details={"field": field})


# --- values ---------------------------------------------------------------------------


def parse_decimal(value: Any, field: str, label: str, places: int) -> Decimal:
    """A number typed the French way ("1 234,5") or sent as text or Decimal; refused
    (naming the field) when it is not a number or has too many decimals."""
    if isinstance(value, Decimal):
        number = value
    else:
        text = str(value if value is not None else "").strip()
        text = text.replace("\u202f", "").replace("\u00a0", "").replace(" ", "")
        text = text.replace("€", "").replace(",", ".")
        if not text:
            raise _refuse(field, _("%(label)s: enter a number.") % {"label": label})
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise _refuse(
                field,
                _("%(label)s: “%(value)s” is not a number.") % {"label": label, "value": value},
            ) from None
    if not number.is_finite():
        raise _refuse(field, _("%(label)s: enter a number.") % {"label": label})
    if abs(number) >= LARGEST:
        raise _refuse(field, _("%(label)s: this number is too large.") % {"label": label})
    exponent = number.as_tuple().exponent
    if (
        isinstance(exponent, int)
        and exponent < -places
        and number != number.quantize(Decimal(1).scaleb(-places))
    ):
        raise _refuse(
            field,
            _("%(label)s: %(places)d decimal places at most.") % {"label": label, "places": places},
        )
    return number.quantize(Decimal(1).scaleb(-places))


def _amount(value: Any, field: str, label: str) -> Decimal:
    number = parse_decimal(value, field, label, 2)
    if number < 0:
        raise _refuse(field, _("%(label)s cannot be negative.") % {"label": label})
    if number > MAX_AMOUNT:
        raise _refuse(
            field, _("%(label)s: %(max)s at most.") % {"label": label, "max": euros(MAX_AMOUNT)}
        )
    return number


def check_amounts(ttc: Any, ht: Any, vat: Any) -> tuple[Decimal, Decimal, Decimal]:
    """The three amounts of a receipt, checked: TTC = HT + TVA to the cent."""
    amount_ttc = _amount(ttc, "amount_ttc", _("Amount incl. VAT"))
    amount_ht = _amount(ht, "amount_ht", _("Amount excl. VAT"))
    amount_vat = _amount(vat, "amount_vat", _("VAT"))
    if amount_ttc == 0:
        raise _refuse("amount_ttc", _("Amount incl. VAT: enter the amount paid."))
    if amount_ttc != amount_ht + amount_vat:
        raise _refuse(
            "amount_ttc",
            _(
                "Amount incl. VAT: %(ttc)s is not the amount excl. VAT (%(ht)s) plus the VAT "
                "(%(vat)s), which make %(sum)s. Correct one of the three amounts."
            )
            % {
                "ttc": euros(amount_ttc),
                "ht": euros(amount_ht),
                "vat": euros(amount_vat),
                "sum": euros(amount_ht + amount_vat),
            },
        )
    return amount_ttc, amount_ht, amount_vat


def _text(value: Any, field: str, label: str, max_length: int, *, required: bool = True) -> str:
    text = " ".join(str(value or "").split()) if field != "notes" else str(value or "").strip()
    if required and not text:
        raise _refuse(field, _("%(label)s is required.") % {"label": label})
    if len(text) > max_length:
        raise _refuse(
            field,
            _("%(label)s: %(max)d characters at most.") % {"label": label, "max": max_length},
        )
    return text


def _date(value: Any, field: str = "date") -> date:
    if not isinstance(value, date):
        raise _refuse(field, _("Date: enter a date."))
    if value > timezone.localdate():
        raise _refuse(field, _("Date: %(date)s is in the future.") % {"date": f"{value:%d/%m/%Y}"})
    if value < EARLIEST:
        raise _refuse(
            field, _("Date: %(date)s is too far in the past.") % {"date": f"{value:%d/%m/%Y}"}
        )
    return value


def _same_org(org: Organization, *records: Any) -> None:
    """Every record given belongs to `org` (a scoped lookup made sure; this is the backstop)."""
    for record in records:
        if record is not None and record.organization_id != org.pk:
            raise NotFound(_("Not found."))


# --- categories -----------------------------------------------------------------------


def ensure_categories(org: Organization) -> None:
    """The default categories, created once (an organisation may then rename them)."""
    ExpenseCategory.objects.bulk_create(
        [
            ExpenseCategory(
                organization=org, code=code, label=label, is_builtin=True, position=index * 10
            )
            for index, (code, label) in enumerate(DEFAULT_CATEGORIES)
        ],
        ignore_conflicts=True,
    )


def categories(org: Organization, *, active_only: bool = False) -> list[ExpenseCategory]:
    if not ExpenseCategory.objects.filter(organization=org, is_builtin=True).exists():
        ensure_categories(org)
    queryset = ExpenseCategory.objects.filter(organization=org)
    if active_only:
        queryset = queryset.filter(is_active=True)
    return list(queryset)


def category_by_code(org: Organization, code: str) -> ExpenseCategory | None:
    """One of the organisation's categories (the defaults exist from the first call)."""
    return next((category for category in categories(org) if category.code == code), None)


@transaction.atomic
def create_category(org: Organization, label: str, *, actor: User | None) -> ExpenseCategory:
    """A new category; its code is made from the label (“Frais postaux” → frais-postaux)."""
    label = _text(label, "label", _("Label"), 80)
    code = slugify(label)[:40] or "categorie"
    if ExpenseCategory.objects.filter(organization=org, code=code).exists():
        raise Conflict(
            _("The category “%(label)s” already exists.") % {"label": label},
            code="category_exists",
            details={"field": "label"},
        )
    category = ExpenseCategory.objects.create(
        organization=org, code=code, label=label, position=1000
    )
    audit.record(
        "expense_category.create",
        organization=org,
        actor=actor,
        target=category,
        after={"code": code, "label": label},
    )
    return category


@transaction.atomic
def update_category(
    category: ExpenseCategory,
    *,
    actor: User | None,
    label: str | None = None,
    is_active: bool | None = None,
) -> ExpenseCategory:
    """Rename a category or put it out of use (its receipts keep it)."""
    before = {"label": category.label, "is_active": category.is_active}
    if label is not None:
        category.label = _text(label, "label", _("Label"), 80)
    if is_active is not None:
        category.is_active = is_active
    category.save(update_fields=["label", "is_active"])
    audit.record_change(
        "expense_category.update",
        organization=category.organization,
        actor=actor,
        target=category,
        before=before,
        after={"label": category.label, "is_active": category.is_active},
    )
    return category


# --- receipts -------------------------------------------------------------------------


def receipt_state(receipt: Receipt) -> dict[str, Any]:
    """What the audit log keeps of a receipt, in words a reader understands."""
    return dict(
        audit.jsonable(
            {
                "member": str(receipt.member),
                "date": receipt.date,
                "supplier": receipt.supplier,
                "amount_ttc": receipt.amount_ttc,
                "amount_ht": receipt.amount_ht,
                "amount_vat": receipt.amount_vat,
                "category": receipt.category.code,
                "dossier": receipt.dossier.number if receipt.dossier else None,
                "notes": receipt.notes,
            }
        )
    )


def _receipt_values(
    org: Organization, fields: Mapping[str, Any], current: Receipt | None = None
) -> dict[str, Any]:
    """The fields checked, the others kept from `current` (all required on creation)."""
    unknown = set(fields) - set(RECEIPT_FIELDS)
    if unknown:
        raise DomainError(_("Unknown field: %(name)s.") % {"name": ", ".join(sorted(unknown))})
    merged = {name: getattr(current, name) for name in RECEIPT_FIELDS} if current else {}
    merged.update(fields)
    for name in ("member", "category"):
        if merged.get(name) is None:
            label = _("Member") if name == "member" else _("Category")
            raise _refuse(name, _("%(label)s is required.") % {"label": label})
    _same_org(org, merged["member"], merged["category"], merged.get("dossier"))
    category = merged["category"]
    if not category.is_active and (current is None or current.category_id != category.pk):
        raise _refuse(
            "category",
            _("The category “%(label)s” is no longer in use.") % {"label": category.label},
        )
    ttc, ht, vat = check_amounts(
        merged.get("amount_ttc"), merged.get("amount_ht"), merged.get("amount_vat")
    )
    return {
        "member": merged["member"],
        "date": _date(merged.get("date")),
        "supplier": _text(merged.get("supplier"), "supplier", _("Supplier"), 200),
        "amount_ttc": ttc,
        "amount_ht": ht,
        "amount_vat": vat,
        "category": category,
        "dossier": merged.get("dossier"),
        "notes": _text(merged.get("notes"), "notes", _("Notes"), 2000, required=False),
    }


def create_receipt(
    org: Organization,
    *,
    actor: User | None,
    upload: IO[bytes],
    file_name: str = "",
    **fields: Any,
) -> Receipt:
    """A receipt with its file, counted against the storage quota; refused whole when a
    value is wrong (InvalidExpense names the field) and then nothing is stored."""
    values = _receipt_values(org, fields)
    found = inspect_receipt(upload, file_name or getattr(upload, "name", "") or "")
    check_storage(org, found.size)
    stored = ""
    try:
        with transaction.atomic():
            receipt = Receipt(
                organization=org,
                created_by=actor if getattr(actor, "pk", None) else None,
                file_name=found.name,
                content_type=found.content_type,
                size=found.size,
                sha256=found.sha256,
                **values,
            )
            content = upload if isinstance(upload, File) else File(upload, name=found.name)
            receipt.file.save(found.name, content, save=False)
            stored = receipt.file.name or ""
            receipt.save()
            reserve_storage(org, found.size)
            audit.record(
                "receipt.create",
                organization=org,
                actor=actor,
                target=receipt,
                after={
                    **receipt_state(receipt),
                    "file": found.name,
                    "size": found.size,
                    "sha256": found.sha256,
                },
            )
    except BaseException:
        if stored:
            default_storage.delete(stored)
        raise
    return receipt


def _not_cancelled(record: Receipt | Trip) -> None:
    if record.is_cancelled:
        raise Conflict(
            _("This entry was cancelled on %(date)s: it cannot change any more.")
            % {"date": f"{timezone.localtime(record.cancelled_at):%d/%m/%Y}"},
            code="cancelled",
        )


@transaction.atomic
def update_receipt(receipt: Receipt, *, actor: User | None, **fields: Any) -> Receipt:
    """Correct a receipt's details (its file stays: cancel and enter it again to replace it)."""
    receipt = (
        Receipt.objects.select_for_update(of=("self",))
        .select_related("category", "dossier")
        .get(pk=receipt.pk)
    )
    _not_cancelled(receipt)
    before = receipt_state(receipt)
    for name, value in _receipt_values(receipt.organization, fields, receipt).items():
        setattr(receipt, name, value)
    receipt.save()
    audit.record_change(
        "receipt.update",
        organization=receipt.organization,
        actor=actor,
        target=receipt,
        before=before,
        after=receipt_state(receipt),
    )
    return receipt


def _reason(reason: str) -> str:
    return _text(reason, "reason", _("Reason"), 300)


@transaction.atomic
def cancel_receipt(receipt: Receipt, *, actor: User | None, reason: str) -> Receipt:
    """Take a receipt out of the totals and statements; it stays, marked cancelled."""
    why = _reason(reason)
    receipt = (
        Receipt.objects.select_for_update(of=("self",))
        .select_related("category", "dossier")
        .get(pk=receipt.pk)
    )
    _not_cancelled(receipt)
    receipt.cancelled_at = timezone.now()
    receipt.cancelled_by = actor if getattr(actor, "pk", None) else None
    receipt.cancel_reason = why
    receipt.save(update_fields=["cancelled_at", "cancelled_by", "cancel_reason", "updated_at"])
    audit.record(
        "receipt.cancel",
        organization=receipt.organization,
        actor=actor,
        target=receipt,
        before=receipt_state(receipt),
        after={"cancelled": True, "reason": why},
    )
    return receipt


# --- vehicles -------------------------------------------------------------------------


def vehicle_state(vehicle: Vehicle) -> dict[str, Any]:
    state = audit.snapshot(vehicle, list(VEHICLE_FIELDS))
    state["member"] = str(vehicle.member)
    return state


def _vehicle_values(
    org: Organization, fields: Mapping[str, Any], current: Vehicle | None = None
) -> dict[str, Any]:
    unknown = set(fields) - set(VEHICLE_FIELDS)
    if unknown:
        raise DomainError(_("Unknown field: %(name)s.") % {"name": ", ".join(sorted(unknown))})
    merged: dict[str, Any] = {"kind": Vehicle.Kind.CAR, "is_electric": False, "is_active": True}
    if current is not None:
        merged = {name: getattr(current, name) for name in VEHICLE_FIELDS}
    merged.update(fields)
    kind = merged.get("kind")
    if kind not in Vehicle.Kind.values:
        raise _refuse("kind", _("Kind: choose car, motorcycle or moped."))
    power = merged.get("fiscal_power")
    if kind == Vehicle.Kind.MOPED:
        power = None
    elif not isinstance(power, int) or isinstance(power, bool) or not 1 <= power <= 99:
        raise _refuse(
            "fiscal_power",
            _("Fiscal horsepower: a whole number from 1 to 99 (box P.6 of the registration)."),
        )
    return {
        "label": _text(merged.get("label"), "label", _("Vehicle"), 100),
        "registration": _text(
            merged.get("registration"), "registration", _("Registration"), 20, required=False
        ).upper(),
        "kind": kind,
        "fiscal_power": power,
        "is_electric": bool(merged.get("is_electric")),
        "is_active": bool(merged.get("is_active", True)),
    }


@transaction.atomic
def create_vehicle(
    org: Organization, *, actor: User | None, member: Membership, **fields: Any
) -> Vehicle:
    _same_org(org, member)
    vehicle = Vehicle.objects.create(
        organization=org, member=member, **_vehicle_values(org, fields)
    )
    audit.record(
        "vehicle.create",
        organization=org,
        actor=actor,
        target=vehicle,
        after=vehicle_state(vehicle),
    )
    return vehicle


@transaction.atomic
def update_vehicle(vehicle: Vehicle, *, actor: User | None, **fields: Any) -> Vehicle:
    """Rename a vehicle or put it out of use. What the scale reads (kind, horsepower,
    electric) is fixed once trips use it: a changed car is a new vehicle."""
    vehicle = (
        Vehicle.objects.select_for_update(of=("self",)).select_related("member").get(pk=vehicle.pk)
    )
    before = vehicle_state(vehicle)
    values = _vehicle_values(vehicle.organization, fields, vehicle)
    changed = [name for name in SCALE_FIELDS if values[name] != getattr(vehicle, name)]
    if changed and vehicle.trips.exists():
        raise Conflict(
            _(
                "This vehicle already has trips: its kind, horsepower and energy are what "
                "their allowance was computed on. Add a new vehicle instead."
            ),
            code="vehicle_in_use",
            details={"field": changed[0]},
        )
    for name, value in values.items():
        setattr(vehicle, name, value)
    vehicle.save()
    audit.record_change(
        "vehicle.update",
        organization=vehicle.organization,
        actor=actor,
        target=vehicle,
        before=before,
        after=vehicle_state(vehicle),
    )
    return vehicle


# --- trips ----------------------------------------------------------------------------


def trip_state(trip: Trip) -> dict[str, Any]:
    return dict(
        audit.jsonable(
            {
                "member": str(trip.member),
                "vehicle": str(trip.vehicle),
                "date": trip.date,
                "origin": trip.origin,
                "destination": trip.destination,
                "distance_km": trip.distance_km,
                "purpose": trip.purpose,
                "dossier": trip.dossier.number if trip.dossier else None,
            }
        )
    )


def _distance(value: Any) -> Decimal:
    label = _("Distance")
    number = parse_decimal(value, "distance_km", label, 1)
    if number <= 0:
        raise _refuse("distance_km", _("Distance: enter the kilometres driven."))
    if number > MAX_TRIP_KM:
        raise _refuse(
            "distance_km",
            _("Distance: %(max)s km at most for one trip.")
            % {"max": french_number(MAX_TRIP_KM, 0)},
        )
    return number


def _trip_values(
    org: Organization, fields: Mapping[str, Any], current: Trip | None = None
) -> dict[str, Any]:
    unknown = set(fields) - {*TRIP_FIELDS, "dossier"}
    if unknown:
        raise DomainError(_("Unknown field: %(name)s.") % {"name": ", ".join(sorted(unknown))})
    merged = {name: getattr(current, name) for name in (*TRIP_FIELDS, "dossier")} if current else {}
    merged.update(fields)
    member, vehicle = merged.get("member"), merged.get("vehicle")
    if member is None:
        raise _refuse("member", _("%(label)s is required.") % {"label": _("Member")})
    if vehicle is None:
        raise _refuse("vehicle", _("%(label)s is required.") % {"label": _("Vehicle")})
    _same_org(org, member, vehicle, merged.get("dossier"))
    if vehicle.member_id != member.pk:
        raise _refuse(
            "vehicle",
            _("The vehicle “%(vehicle)s” is not one of %(member)s's.")
            % {"vehicle": vehicle, "member": member},
        )
    if not vehicle.is_active and (current is None or current.vehicle_id != vehicle.pk):
        raise _refuse(
            "vehicle", _("The vehicle “%(vehicle)s” is out of use.") % {"vehicle": vehicle}
        )
    when = _date(merged.get("date"))
    mileage.scale_for(when.year)  # refuses a year no scale covers
    return {
        "member": member,
        "vehicle": vehicle,
        "date": when,
        "origin": _text(merged.get("origin"), "origin", _("From"), 200),
        "destination": _text(merged.get("destination"), "destination", _("To"), 200),
        "distance_km": _distance(merged.get("distance_km")),
        "purpose": _text(merged.get("purpose"), "purpose", _("Purpose"), 300),
        "dossier": merged.get("dossier"),
    }


@transaction.atomic
def create_trip(org: Organization, *, actor: User | None, **fields: Any) -> Trip:
    trip = Trip.objects.create(
        organization=org,
        created_by=actor if getattr(actor, "pk", None) else None,
        **_trip_values(org, fields),
    )
    audit.record("trip.create", organization=org, actor=actor, target=trip, after=trip_state(trip))
    return trip


@transaction.atomic
def update_trip(trip: Trip, *, actor: User | None, **fields: Any) -> Trip:
    trip = (
        Trip.objects.select_for_update(of=("self",))
        .select_related("vehicle", "dossier", "member")
        .get(pk=trip.pk)
    )
    _not_cancelled(trip)
    before = trip_state(trip)
    for name, value in _trip_values(trip.organization, fields, trip).items():
        setattr(trip, name, value)
    trip.save()
    audit.record_change(
        "trip.update",
        organization=trip.organization,
        actor=actor,
        target=trip,
        before=before,
        after=trip_state(trip),
    )
    return trip


@transaction.atomic
def cancel_trip(trip: Trip, *, actor: User | None, reason: str) -> Trip:
    why = _reason(reason)
    trip = (
        Trip.objects.select_for_update(of=("self",))
        .select_related("vehicle", "dossier", "member")
        .get(pk=trip.pk)
    )
    _not_cancelled(trip)
    trip.cancelled_at = timezone.now()
    trip.cancelled_by = actor if getattr(actor, "pk", None) else None
    trip.cancel_reason = why
    trip.save(update_fields=["cancelled_at", "cancelled_by", "cancel_reason", "updated_at"])
    audit.record(
        "trip.cancel",
        organization=trip.organization,
        actor=actor,
        target=trip,
        before=trip_state(trip),
        after={"cancelled": True, "reason": why},
    )
    return trip


def dossier_by_number(queryset: Any, number: str) -> Dossier | None:
    """A dossier of an already scoped queryset by its number ("" → None); refused when
    there is none (the page's dossier field takes the number people know)."""
    number = " ".join(str(number or "").split())
    if not number:
        return None
    found: Dossier | None = queryset.filter(number__iexact=number).first()
    if found is None:
        raise _refuse("dossier", _("No dossier numbered “%(number)s”.") % {"number": number})
    return found
