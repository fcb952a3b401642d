"""The statement files, read back with independent readers: openpyxl for the XLSX (values,
totals, number formats), pypdf for the PDF (the text holds the totals)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from io import BytesIO

from openpyxl import load_workbook
from pypdf import PdfReader

from comptoir.company.services import get_profile
from comptoir.expenses import exports
from comptoir.expenses.statements import build_statement
from tests.expenses.conftest import category, make_receipt, make_trip, make_vehicle
from tests.helpers import fr


def december_of(people):
    """A 5 CV car, 1,200 km a month from January to October 2025, and two December
    receipts, one a would-be formula: December adds the year's regularisation."""
    admin = people["admin"]
    vehicle = make_vehicle(people)
    for month in range(1, 11):
        make_trip(people, vehicle, date=date(2025, month, 10), distance_km="1200")
    make_trip(people, vehicle, date=date(2025, 12, 2), distance_km="150")
    make_receipt(people, date=date(2025, 12, 3))
    make_receipt(
        people,
        date=date(2025, 12, 5),
        supplier="=HYPERLINK(1)",
        amount_ttc="60.00",
        amount_ht="50.00",
        amount_vat="10.00",
        category=category(admin.org, "carburant"),
    )
    return build_statement(people["tech_all"].member, 2025, 12)


def rows(sheet):
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def labelled(sheet, label):
    """The row whose first cell is `label` (as a French user reads it)."""
    text = fr(label)
    return next(row for row in rows(sheet) if row and row[0] == text)


def test_the_figures_of_december(people):
    statement = december_of(people)
    (row,) = statement.vehicles
    # 12,150 km: 12150 × 0.357 + 1395 = 5732.55; provisional 4 × 763.20 + 6 × 428.40
    # for January to October, and 150 × 0.357 = 53.55 for December.
    assert row.provisional == Decimal("53.55")
    assert row.year.provisional == Decimal("5676.75")
    assert row.year.annual == Decimal("5732.55")
    assert row.regularisation == Decimal("55.80")
    assert statement.mileage_total == Decimal("109.35")
    assert statement.receipt_totals.ttc == Decimal("84.00")
    assert statement.total == Decimal("193.35")


def test_xlsx_holds_the_values_and_the_totals(people):
    statement = december_of(people)
    book = load_workbook(BytesIO(exports.statement_xlsx(statement, "Acme Diagnostics")))
    summary, receipts, mileage = book.worksheets
    assert labelled(summary, "Organisation")[1] == "Acme Diagnostics"
    assert labelled(summary, "Member")[1] == "Tech_All acme"
    assert labelled(summary, "Receipts (incl. VAT)")[1] == 84
    assert labelled(summary, "Mileage allowance for the month (provisional)")[1] == 53.55
    assert labelled(summary, "Yearly mileage regularisation")[1] == 55.8
    assert labelled(summary, "Statement total")[1] == 193.35

    table = rows(receipts)
    assert table[1][:7] == [
        datetime(2025, 12, 3),
        "Brasserie du Beffroi",
        "Repas",
        None,
        20,
        4,
        24,
    ]
    assert table[2][1] == "=HYPERLINK(1)"  # a text, kept as text
    assert receipts.cell(row=3, column=2).data_type == "s"
    assert table[3][:7] == [fr("Total"), None, None, None, 70, 14, 84]
    assert receipts.cell(row=2, column=7).number_format == '#,##0.00 "€"'
    assert receipts.cell(row=2, column=1).number_format == "DD/MM/YYYY"

    trips = rows(mileage)
    assert trips[1][0] == datetime(2025, 12, 2) and trips[1][6] == 150
    assert trips[2][0] == fr("Total") and trips[2][6] == 150
    vehicle = trips[5]
    assert vehicle[2:4] == [150, 12150]
    assert vehicle[5] == 0.357
    assert vehicle[6:11] == [53.55, 5732.55, 5676.75, 55.8, 109.35]
    assert trips[6][0] == fr("Total") and trips[6][10] == 109.35


def test_pdf_text_holds_the_totals(people):
    statement = december_of(people)
    data = exports.statement_pdf(statement, get_profile(people["admin"].org))
    assert data.startswith(b"%PDF-")
    reader = PdfReader(BytesIO(data))
    text = " ".join(page.extract_text() for page in reader.pages)
    flat = " ".join(text.split())  # the PDF wraps cells; spaces of any kind count as one
    assert "Tech_All acme" in flat
    assert "Acme Diagnostics" in flat  # the company name heads the statement
    for amount in ("84,00 €", "53,55 €", "55,80 €", "109,35 €", "193,35 €", "5 732,55 €"):
        assert amount in flat, amount
    assert "Brasserie du Beffroi" in flat and "=HYPERLINK(1)" in flat
    assert "d × 0,357 + 1 395" in flat
