"""The mileage scale and the allowance, against amounts computed by hand from the official
tables (arrêté du 27 mars 2023, reconducted for 2024 and 2025)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from comptoir.expenses import mileage

D = Decimal


def amount(year: int, kind: str, power: int | None, km: str, *, electric: bool = False) -> Decimal:
    scale = mileage.load_scale(year)
    return mileage.annual_amount(scale, scale.power_class(kind, power), D(km), electric=electric)


def test_the_stored_years_are_2024_and_2025():
    assert mileage.stored_years()[:2] == (2024, 2025)


@pytest.mark.parametrize(
    ("power", "km", "expected"),
    [
        # d × a up to 5,000 km
        (3, "4000", "2116.00"),  # 4000 × 0.529
        (4, "4000", "2424.00"),  # 4000 × 0.606
        (5, "4000", "2544.00"),  # 4000 × 0.636 (the DGFiP's own example)
        (6, "4000", "2660.00"),  # 4000 × 0.665
        (7, "4000", "2788.00"),  # 4000 × 0.697
        (11, "4000", "2788.00"),  # "7 CV et plus"
        (7, "5000", "3485.00"),  # 5,000 km is still the first band
        # d × a + b from 5,001 to 20,000 km
        (4, "5001", "3030.34"),  # 5001 × 0.340 + 1330
        (5, "12000", "5679.00"),  # 12000 × 0.357 + 1395
        (6, "15000", "7067.00"),  # 15000 × 0.374 + 1457
        (3, "20000", "7385.00"),  # 20000 × 0.316 + 1065
        # d × a beyond 20,000 km
        (3, "25000", "9250.00"),  # 25000 × 0.370
        (7, "30000", "14100.00"),  # 30000 × 0.470
        (5, "1234.5", "785.14"),  # 1234.5 × 0.636 = 785.142 → rounded to the cent
    ],
)
def test_cars_by_fiscal_horsepower_and_band(power, km, expected):
    assert amount(2024, "car", power, km) == D(expected)
    assert amount(2025, "car", power, km) == D(expected)  # the 2025 scale is 2024's


def test_an_electric_car_gets_twenty_percent_more():
    assert amount(2025, "car", 5, "12000", electric=True) == D("6814.80")  # 5679 × 1.2
    assert amount(2025, "car", 4, "3000", electric=True) == D("2181.60")  # 3000 × 0.606 × 1.2


@pytest.mark.parametrize(
    ("kind", "power", "km", "expected"),
    [
        ("motorcycle", 2, "2000", "790.00"),  # 2000 × 0.395
        ("motorcycle", 4, "2000", "936.00"),  # 2000 × 0.468
        ("motorcycle", 4, "4500", "1527.00"),  # 4500 × 0.082 + 1158
        ("motorcycle", 8, "7000", "2401.00"),  # 7000 × 0.343
        ("moped", None, "2500", "787.50"),  # 2500 × 0.315
        ("moped", None, "4000", "1027.00"),  # 4000 × 0.079 + 711
        ("moped", None, "7000", "1386.00"),  # 7000 × 0.198
    ],
)
def test_two_wheelers(kind, power, km, expected):
    assert amount(2024, kind, power, km) == D(expected)


def test_formulas_are_printed_as_the_official_table():
    scale = mileage.load_scale(2025)
    bands = scale.power_class("car", 5).bands
    assert [band.formula for band in bands] == [
        "d × 0,636",
        "d × 0,357 + 1\u202f395",
        "d × 0,427",
    ]
    labels = [band.distance_label for band in bands]
    assert "5\u202f000 km" in labels[0]
    assert "5\u202f001" in labels[1] and "20\u202f000 km" in labels[1]
    assert "20\u202f000 km" in labels[2]


def test_a_year_without_a_published_scale_uses_the_latest_one_provisionally():
    last = mileage.stored_years()[-1]
    choice = mileage.scale_for(last + 1)
    assert choice.provisional is True
    assert choice.scale.year == last
    assert mileage.scale_for(2025).provisional is False


def test_a_year_before_the_first_scale_is_refused_with_a_clear_message():
    with pytest.raises(mileage.NoScale) as refused:
        mileage.scale_for(2023)
    assert "2023" in refused.value.message and "2024" in refused.value.message
    assert refused.value.details == {"field": "date"}


def summary(km_by_month: dict[int, str], through: int, *, power: int = 5, electric=False):
    scale = mileage.load_scale(2025)
    return mileage.year_to_date(
        scale,
        scale.power_class("car", power),
        {month: D(km) for month, km in km_by_month.items()},
        through,
        electric=electric,
    )


def test_monthly_provisional_amounts_follow_the_band_of_the_cumulative_distance():
    # 1,200 km a month from January to October with a 5 CV car: 12,000 km in the year.
    year = dict.fromkeys(range(1, 11), "1200")
    april = summary(year, 4)
    assert [line.amount for line in april.months] == [D("763.20")] * 4  # 1200 × 0.636
    assert april.distance == D(4800)
    assert april.annual == D("3052.80")
    assert april.regularisation == D("0.00")  # still in the first band: nothing to regularise

    may = summary(year, 5)
    assert may.last.cumulative_km == D(6000)
    assert may.last.amount == D("428.40")  # 1200 × 0.357: the second band's rate
    assert may.annual == D("3537.00")  # 6000 × 0.357 + 1395
    # 200 km of May were below 5,000 km, paid at 0.357 instead of 0.636: 200 × 0.279
    assert may.regularisation == D("55.80")


def test_december_regularises_the_year_to_the_scale_amount():
    year = dict.fromkeys(range(1, 11), "1200")
    december = summary(year, 12)
    assert december.last.km == 0 and december.last.amount == D("0.00")
    assert december.provisional == D("5623.20")  # 4 × 763.20 + 6 × 428.40
    assert december.annual == D("5679.00")  # 12000 × 0.357 + 1395
    assert december.regularisation == D("55.80")
    assert december.provisional + december.regularisation == december.annual


def test_crossing_20000_km_regularises_the_whole_year_at_the_third_band():
    year = dict.fromkeys(range(1, 11), "2500")  # 25,000 km, 5 CV
    december = summary(year, 12)
    # 2 × 2500 × 0.636 + 6 × 2500 × 0.357 + 2 × 2500 × 0.427
    assert december.provisional == D("3180.00") + D("5355.00") + D("2135.00")
    assert december.annual == D("10675.00")  # 25000 × 0.427
    assert december.regularisation == D("5.00")


def test_electric_uplift_applies_to_the_provisional_amounts_too():
    march = summary({3: "1000"}, 3, power=4, electric=True)
    assert march.last.amount == D("727.20")  # 1000 × 0.606 × 1.2
    assert march.annual == D("727.20")
    assert march.regularisation == D("0.00")
