"""The receipt and trip lists: scoped querysets, filters (member, month, category,
vehicle, cancelled) and totals; shared by the pages and the API."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet, Sum

from comptoir.core.access import by_public_id, scoped
from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource
from comptoir.dossiers import listing as dossier_listing
from comptoir.dossiers.models import Dossier
from comptoir.expenses.models import Receipt, Trip, Vehicle

PAGE_SIZE = 50
MONTH = re.compile(r"^(20[0-9]{2})-(0[1-9]|1[0-2])\Z")  # 2000 to 2099, as dates are


def parse_month(text: str | None) -> tuple[int, int] | None:
    """The (year, month) of "2026-03"; None for anything else."""
    found = MONTH.match(text or "")
    return (int(found.group(1)), int(found.group(2))) if found else None


def receipts(member: Membership, action: Action = Action.VIEW) -> QuerySet[Receipt]:
    return scoped(
        Receipt.objects.select_related("member", "category", "dossier"),
        member,
        Resource.RECEIPTS,
        action,
    )


def trips(member: Membership, action: Action = Action.VIEW) -> QuerySet[Trip]:
    return scoped(
        Trip.objects.select_related("member", "vehicle", "dossier"),
        member,
        Resource.MILEAGE,
        action,
    )


def vehicles(member: Membership, action: Action = Action.VIEW) -> QuerySet[Vehicle]:
    return scoped(Vehicle.objects.select_related("member"), member, Resource.MILEAGE, action)


def colleagues(member: Membership) -> QuerySet[Membership]:
    """The members a receipt or a trip may belong to: every member of the organisation
    (a blocked one too: a departed technician's last expenses still come in)."""
    return Membership.objects.filter(organization=member.organization).order_by(
        "is_blocked", "display_name", "pk"
    )


def colleague(member: Membership, public_id: Any) -> Membership:
    return by_public_id(colleagues(member), public_id)


def dossiers(member: Membership) -> QuerySet[Dossier]:
    """The dossiers the member may see, to link a receipt or a trip to."""
    return dossier_listing.base_queryset(member)


def filter_receipts(queryset: QuerySet[Receipt], data: dict[str, Any]) -> QuerySet[Receipt]:
    """`member` (a Membership), `month` ("YYYY-MM"), `category` (a code), `cancelled`
    (True: only cancelled ones; False or absent: only valid ones; "all": both)."""
    queryset = _common(queryset, data)
    if data.get("category"):
        queryset = queryset.filter(category__code=data["category"])
    return queryset


def filter_trips(queryset: QuerySet[Trip], data: dict[str, Any]) -> QuerySet[Trip]:
    queryset = _common(queryset, data)
    if data.get("vehicle") is not None:
        queryset = queryset.filter(vehicle=data["vehicle"])
    return queryset


def _common(queryset: QuerySet[Any], data: dict[str, Any]) -> QuerySet[Any]:
    if data.get("member") is not None:
        queryset = queryset.filter(member=data["member"])
    month = parse_month(data.get("month"))
    if month:
        queryset = queryset.filter(date__year=month[0], date__month=month[1])
    cancelled = data.get("cancelled")
    if cancelled != "all":
        queryset = queryset.filter(cancelled_at__isnull=not cancelled)
    return queryset


@dataclass(frozen=True)
class ReceiptTotals:
    count: int
    ttc: Decimal
    ht: Decimal
    vat: Decimal


def receipt_totals(queryset: QuerySet[Receipt]) -> ReceiptTotals:
    """Totals of the listed receipts, cancelled ones left out."""
    valid = queryset.filter(cancelled_at__isnull=True).order_by()
    sums = valid.aggregate(ttc=Sum("amount_ttc"), ht=Sum("amount_ht"), vat=Sum("amount_vat"))
    zero = Decimal("0.00")
    return ReceiptTotals(
        count=valid.count(),
        ttc=_cents(sums["ttc"] or zero),
        ht=_cents(sums["ht"] or zero),
        vat=_cents(sums["vat"] or zero),
    )


def total_km(queryset: QuerySet[Trip]) -> Decimal:
    found = queryset.filter(cancelled_at__isnull=True).order_by().aggregate(km=Sum("distance_km"))
    return Decimal(found["km"] or 0).quantize(Decimal("0.1"))


def _cents(value: Decimal) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))
