"""Mileage allowances (indemnités kilométriques) by the official French scale.

The scale gives the allowance of a *year*: the formula depends on the band the
year's whole business distance with one vehicle falls into ("d × a" up to
5,000 km for a car, "d × a + b" from 5,001 to 20,000 km, "d × a" beyond). A
month cannot know the year's total, so each month is paid provisionally and the
year is regularised:

- the provisional amount of a month is its kilometres × the rate `a` of the band
  the cumulative distance of the year has reached at the end of that month;
- the allowance to date is the scale applied to the cumulative distance;
- the regularisation is the allowance to date minus the provisional amounts of
  the year so far. December's statement adds it to its total: the year then
  comes to exactly the scale's amount for the year's distance.

An electric vehicle's amounts are raised by the scale's uplift (20 %). Amounts
are rounded to the cent, half up, as the last step of each computation.
Pure functions: no database, so the arithmetic is tested on its own.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

from django.utils.translation import gettext as _

from comptoir.company.formatting import french_number
from comptoir.core.errors import DomainError

CENT = Decimal("0.01")
ZERO = Decimal(0)
SCALES_PACKAGE = "comptoir.expenses.scales"


class NoScale(DomainError):
    """No scale covers the year asked (it is before the first one stored)."""

    code = "no_mileage_scale"


@dataclass(frozen=True)
class Band:
    """One distance band: `d × rate + fixed` for `low_km < d ≤ high_km`."""

    low_km: Decimal
    high_km: Decimal | None
    rate: Decimal
    fixed: Decimal

    def covers(self, distance: Decimal) -> bool:
        return distance > self.low_km and (self.high_km is None or distance <= self.high_km)

    @property
    def formula(self) -> str:
        """As the scale prints it: "d × 0,357 + 1 395"."""
        text = f"d × {french_number(self.rate, 3)}"
        return f"{text} + {french_number(self.fixed, 0)}" if self.fixed else text

    @property
    def distance_label(self) -> str:
        low = int(self.low_km)
        if self.high_km is None:
            return _("over %(low)s km") % {"low": french_number(low, 0)}
        if not low:
            return _("up to %(high)s km") % {"high": french_number(self.high_km, 0)}
        return _("%(low)s to %(high)s km") % {
            "low": french_number(low + 1, 0),
            "high": french_number(self.high_km, 0),
        }


@dataclass(frozen=True)
class PowerClass:
    """The vehicles of a kind up to `max_cv` fiscal horsepower (None: and more)."""

    label: str
    max_cv: int | None
    bands: tuple[Band, ...]

    def band_for(self, distance: Decimal) -> Band:
        """The band of a cumulative distance (the first band for 0 km)."""
        for band in self.bands:
            if band.covers(distance):
                return band
        return self.bands[0]


@dataclass(frozen=True)
class VehicleScale:
    kind: str
    label: str
    classes: tuple[PowerClass, ...]

    def power_class(self, fiscal_power: int | None) -> PowerClass:
        """The class of a fiscal horsepower; a kind with one class ignores it."""
        power = fiscal_power or 0
        for power_class in self.classes:
            if power_class.max_cv is None or power <= power_class.max_cv:
                return power_class
        return self.classes[-1]


@dataclass(frozen=True)
class Scale:
    """The scale of one year, for every kind of vehicle."""

    year: int
    source: str
    electric_uplift: Decimal
    kinds: dict[str, VehicleScale]

    def power_class(self, kind: str, fiscal_power: int | None) -> PowerClass:
        return self.kinds[kind].power_class(fiscal_power)


def _parse(data: dict[str, Any]) -> Scale:
    kinds = {}
    for kind, spec in data["kinds"].items():
        limits = [Decimal(0), *(Decimal(limit) for limit in spec["band_limits_km"])]
        classes = []
        for item in spec["classes"]:
            bands = tuple(
                Band(
                    low_km=limits[index],
                    high_km=limits[index + 1] if index + 1 < len(limits) else None,
                    rate=Decimal(band["rate"]),
                    fixed=Decimal(band.get("fixed", "0")),
                )
                for index, band in enumerate(item["bands"])
            )
            classes.append(PowerClass(item["label"], item["max_cv"], bands))
        kinds[kind] = VehicleScale(kind, spec["label"], tuple(classes))
    return Scale(
        year=int(data["year"]),
        source=data["source"],
        electric_uplift=Decimal(data["electric_uplift"]),
        kinds=kinds,
    )


@lru_cache(maxsize=1)
def stored_years() -> tuple[int, ...]:
    """The years that have a scale file, oldest first."""
    names = (entry.name for entry in resources.files(SCALES_PACKAGE).iterdir())
    return tuple(sorted(int(name[:4]) for name in names if re.fullmatch(r"\d{4}\.json", name)))


@lru_cache(maxsize=16)
def load_scale(year: int) -> Scale:
    """The stored scale of `year` (the year must be in `stored_years()`)."""
    text = resources.files(SCALES_PACKAGE).joinpath(f"{year}.json").read_text(encoding="utf-8")
    scale = _parse(json.loads(text))
    if scale.year != year:
        raise ValueError(f"{year}.json holds the scale of {scale.year}")
    return scale


@dataclass(frozen=True)
class ScaleChoice:
    """The scale used for a year; `provisional` when that year's scale is not published
    yet and the latest earlier one stands in for it."""

    year: int
    scale: Scale
    provisional: bool


def scale_for(year: int) -> ScaleChoice:
    years = stored_years()
    if year in years:
        return ScaleChoice(year, load_scale(year), provisional=False)
    earlier = [stored for stored in years if stored < year]
    if not earlier:
        raise NoScale(
            _("No mileage scale is stored for %(year)s: the first one is that of %(first)s.")
            % {"year": year, "first": years[0]},
            details={"field": "date"},
        )
    return ScaleChoice(year, load_scale(earlier[-1]), provisional=True)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _uplift(scale: Scale, electric: bool) -> Decimal:
    return 1 + scale.electric_uplift if electric else Decimal(1)


def annual_amount(
    scale: Scale, power_class: PowerClass, distance: Decimal, *, electric: bool
) -> Decimal:
    """The scale's allowance for a year's cumulative `distance` (km)."""
    if distance <= 0:
        return ZERO.quantize(CENT)
    band = power_class.band_for(distance)
    return _cents((distance * band.rate + band.fixed) * _uplift(scale, electric))


@dataclass(frozen=True)
class MonthLine:
    """One month of a vehicle's year: its kilometres, the cumulative distance at its
    end, the band that distance is in, and the provisional amount."""

    month: int
    km: Decimal
    cumulative_km: Decimal
    band: Band
    amount: Decimal


@dataclass(frozen=True)
class YearToDate:
    """A vehicle's year from January to a month."""

    months: tuple[MonthLine, ...]
    distance: Decimal
    annual: Decimal  # the scale applied to the cumulative distance
    provisional: Decimal  # the provisional amounts of the months, added up
    regularisation: Decimal  # annual - provisional

    @property
    def last(self) -> MonthLine:
        return self.months[-1]


def year_to_date(
    scale: Scale,
    power_class: PowerClass,
    km_by_month: dict[int, Decimal],
    through_month: int,
    *,
    electric: bool,
) -> YearToDate:
    """Months 1 to `through_month` of a year, from the kilometres of each month."""
    months, cumulative, provisional = [], ZERO, ZERO
    for month in range(1, through_month + 1):
        km = km_by_month.get(month, ZERO)
        cumulative += km
        band = power_class.band_for(cumulative)
        amount = _cents(km * band.rate * _uplift(scale, electric))
        provisional += amount
        months.append(MonthLine(month, km, cumulative, band, amount))
    annual = annual_amount(scale, power_class, cumulative, electric=electric)
    return YearToDate(tuple(months), cumulative, annual, provisional, annual - provisional)
