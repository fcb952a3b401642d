"""The monthly statement of a member (état mensuel): the month's receipts and trips, their
totals, and the mileage allowance — provisional for the month, regularised in December.

Computed from the records as they are when asked (cancelled ones left out): a
receipt or a trip added later to a past month changes that month's statement,
which is exported again. See `comptoir.expenses.mileage` for the allowance.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.utils import formats, timezone

from comptoir.company.formatting import french_number
from comptoir.core.models import Membership
from comptoir.expenses import mileage
from comptoir.expenses.models import Receipt, Trip, Vehicle

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Totals:
    ttc: Decimal = ZERO
    ht: Decimal = ZERO
    vat: Decimal = ZERO

    def plus(self, receipt: Receipt) -> Totals:
        return Totals(
            self.ttc + receipt.amount_ttc,
            self.ht + receipt.amount_ht,
            self.vat + receipt.amount_vat,
        )


def totals_of(receipts: list[Receipt]) -> Totals:
    total = Totals()
    for receipt in receipts:
        total = total.plus(receipt)
    return total


@dataclass(frozen=True)
class CategoryTotal:
    label: str
    totals: Totals


@dataclass(frozen=True)
class VehicleMonth:
    """One vehicle in the month: its trips, and the allowance by the year's scale."""

    vehicle: Vehicle
    trips: list[Trip]
    scale: mileage.ScaleChoice
    power_class: mileage.PowerClass
    year: mileage.YearToDate
    regularised: bool  # December: the year's regularisation is in the total

    @property
    def km(self) -> Decimal:
        return self.year.last.km

    @property
    def band(self) -> mileage.Band:
        return self.year.last.band

    @property
    def rate(self) -> Decimal:
        """The per-km rate of the month's provisional amount (uplift included)."""
        uplift = 1 + self.scale.scale.electric_uplift if self.vehicle.is_electric else 1
        return self.band.rate * uplift

    @property
    def rate_text(self) -> str:
        """The rate as people read it: "0,357", "0,7272" (no trailing zeros)."""
        exponent = self.rate.normalize().as_tuple().exponent
        return french_number(self.rate, max(-exponent, 0) if isinstance(exponent, int) else 0)

    @property
    def provisional(self) -> Decimal:
        return self.year.last.amount

    @property
    def regularisation(self) -> Decimal:
        return self.year.regularisation if self.regularised else ZERO

    @property
    def total(self) -> Decimal:
        return self.provisional + self.regularisation


@dataclass
class Statement:
    member: Membership
    year: int
    month: int
    receipts: list[Receipt]
    vehicles: list[VehicleMonth]
    with_mileage: bool = True  # False: a role that may not see mileage (none today)
    generated_at: datetime = field(default_factory=timezone.now)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def label(self) -> str:
        """The month as people read it, "novembre 2026" in French."""
        return str(formats.date_format(self.first_day, "F Y"))

    @property
    def receipt_totals(self) -> Totals:
        return totals_of(self.receipts)

    @property
    def by_category(self) -> list[CategoryTotal]:
        groups: dict[str, list[Receipt]] = defaultdict(list)
        for receipt in self.receipts:
            groups[receipt.category.label].append(receipt)
        return [CategoryTotal(label, totals_of(rows)) for label, rows in sorted(groups.items())]

    @property
    def trips(self) -> list[Trip]:
        rows = [trip for vehicle in self.vehicles for trip in vehicle.trips]
        return sorted(rows, key=lambda trip: (trip.date, trip.pk))

    @property
    def km(self) -> Decimal:
        return sum((vehicle.km for vehicle in self.vehicles), Decimal(0))

    @property
    def mileage_total(self) -> Decimal:
        return sum((vehicle.total for vehicle in self.vehicles), ZERO)

    @property
    def total(self) -> Decimal:
        return self.receipt_totals.ttc + self.mileage_total

    @property
    def is_december(self) -> bool:
        return self.month == 12

    @property
    def provisional_scale(self) -> bool:
        return any(vehicle.scale.provisional for vehicle in self.vehicles)


def build_statement(
    member: Membership, year: int, month: int, *, with_mileage: bool = True
) -> Statement:
    """The statement of `member` (a membership of the organisation, resolved by the
    caller through a scoped lookup) for one month."""
    org = member.organization
    receipts = list(
        Receipt.objects.filter(
            organization=org,
            member=member,
            date__year=year,
            date__month=month,
            cancelled_at__isnull=True,
        )
        .select_related("category", "dossier")
        .order_by("date", "pk")
    )
    vehicles = _vehicle_months(member, year, month) if with_mileage else []
    return Statement(member, year, month, receipts, vehicles, with_mileage)


def _vehicle_months(member: Membership, year: int, month: int) -> list[VehicleMonth]:
    trips = (
        Trip.objects.filter(
            organization=member.organization,
            member=member,
            date__year=year,
            date__month__lte=month,
            cancelled_at__isnull=True,
        )
        .select_related("vehicle", "dossier")
        .order_by("date", "pk")
    )
    km: dict[int, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    of_month: dict[int, list[Trip]] = defaultdict(list)
    vehicles: dict[int, Vehicle] = {}
    for trip in trips:
        vehicles[trip.vehicle_id] = trip.vehicle
        km[trip.vehicle_id][trip.date.month] += trip.distance_km
        if trip.date.month == month:
            of_month[trip.vehicle_id].append(trip)
    shown = [pk for pk in vehicles if of_month[pk] or month == 12]
    if not shown:
        return []
    choice = mileage.scale_for(year)
    rows = []
    for pk in shown:
        vehicle = vehicles[pk]
        power_class = choice.scale.power_class(vehicle.kind, vehicle.fiscal_power)
        summary = mileage.year_to_date(
            choice.scale, power_class, km[pk], month, electric=vehicle.is_electric
        )
        rows.append(VehicleMonth(vehicle, of_month[pk], choice, power_class, summary, month == 12))
    return sorted(rows, key=lambda row: (row.vehicle.label, row.vehicle.pk))
