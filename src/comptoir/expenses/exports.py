"""The monthly statement as files: XLSX (openpyxl) and PDF (WeasyPrint).

Both carry the same figures as the page. The XLSX holds values, not formulas,
so what a spreadsheet shows is what Comptoir computed; texts that look like a
formula ("=…") are kept as texts.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import BytesIO
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from comptoir.company.models import CompanyProfile
from comptoir.expenses.statements import Statement

EUROS = '#,##0.00 "€"'
KM = "#,##0.0"
RATE = "0.0000"
DAY = "DD/MM/YYYY"
BOLD = Font(bold=True)


def _put(sheet: Worksheet, row: list[Any], *, bold: bool = False, formats: Any = None) -> None:
    """Append a row; decimals and dates get a French-readable number format."""
    sheet.append(list(row))
    line = sheet.max_row
    for index, value in enumerate(row, start=1):
        cell = sheet.cell(row=line, column=index)
        if isinstance(value, str) and value.startswith("="):
            cell.data_type = "s"  # a text, never a formula
        if isinstance(value, date):
            cell.number_format = DAY
        elif isinstance(value, Decimal):
            cell.number_format = (formats or {}).get(index, EUROS)
        if bold:
            cell.font = BOLD


def _widths(sheet: Worksheet, widths: list[int]) -> None:
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width


def statement_xlsx(statement: Statement, organization_name: str) -> bytes:
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = _("Summary")[:31]
    _summary_sheet(summary, statement, organization_name)
    _receipts_sheet(book.create_sheet(_("Receipts")[:31]), statement)
    _mileage_sheet(book.create_sheet(_("Mileage")[:31]), statement)
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _summary_sheet(sheet: Worksheet, statement: Statement, organization_name: str) -> None:
    _put(sheet, [_("Monthly expense statement")], bold=True)
    _put(sheet, [_("Organisation"), organization_name])
    _put(sheet, [_("Member"), statement.member.display_name])
    _put(sheet, [_("Month"), statement.label])
    _put(sheet, [_("Produced on"), timezone.localdate(statement.generated_at)])
    sheet.append([])
    _put(sheet, [_("Item"), _("Amount")], bold=True)
    regularisation = sum((vehicle.regularisation for vehicle in statement.vehicles), Decimal(0))
    provisional = statement.mileage_total - regularisation
    _put(sheet, [_("Receipts (incl. VAT)"), statement.receipt_totals.ttc])
    _put(sheet, [_("Mileage allowance for the month (provisional)"), provisional])
    _put(sheet, [_("Yearly mileage regularisation"), regularisation])
    _put(sheet, [_("Statement total"), statement.total], bold=True)
    if statement.provisional_scale:
        sheet.append([])
        _put(sheet, [_scale_note(statement)])
    _widths(sheet, [48, 24])


def _receipts_sheet(sheet: Worksheet, statement: Statement) -> None:
    headers = [
        _("Date"),
        _("Supplier"),
        _("Category"),
        _("Dossier"),
        _("Amount excl. VAT"),
        _("VAT"),
        _("Amount incl. VAT"),
        _("File"),
    ]
    _put(sheet, headers, bold=True)
    for receipt in statement.receipts:
        _put(
            sheet,
            [
                receipt.date,
                receipt.supplier,
                receipt.category.label,
                receipt.dossier.number if receipt.dossier else "",
                receipt.amount_ht,
                receipt.amount_vat,
                receipt.amount_ttc,
                receipt.file_name,
            ],
        )
    totals = statement.receipt_totals
    _put(sheet, [_("Total"), "", "", "", totals.ht, totals.vat, totals.ttc], bold=True)
    sheet.append([])
    _put(sheet, [_("By category"), "", "", "", *headers[4:7]], bold=True)
    for group in statement.by_category:
        _put(sheet, [group.label, "", "", "", group.totals.ht, group.totals.vat, group.totals.ttc])
    _widths(sheet, [12, 32, 18, 14, 16, 12, 16, 30])


def _mileage_sheet(sheet: Worksheet, statement: Statement) -> None:
    km_format = {7: KM}
    _put(
        sheet,
        [_("Date"), _("Vehicle"), _("From"), _("To"), _("Purpose"), _("Dossier"), _("Km")],
        bold=True,
    )
    for trip in statement.trips:
        _put(
            sheet,
            [
                trip.date,
                trip.vehicle.label,
                trip.origin,
                trip.destination,
                trip.purpose,
                trip.dossier.number if trip.dossier else "",
                trip.distance_km,
            ],
            formats=km_format,
        )
    _put(sheet, [_("Total"), "", "", "", "", "", statement.km], bold=True, formats=km_format)
    sheet.append([])
    _put(
        sheet,
        [
            _("Vehicle"),
            _("Scale"),
            _("Km in the month"),
            _("Km this year to date"),
            _("Band"),
            _("Rate per km"),
            _("Provisional amount"),
            _("Yearly allowance to date"),
            _("Provisional amounts this year"),
            _("Regularisation"),
            _("Total"),
        ],
        bold=True,
    )
    for row in statement.vehicles:
        _put(
            sheet,
            [
                f"{row.vehicle.label} ({row.vehicle.description})",
                f"{row.scale.scale.year} — {row.power_class.label}",
                row.km,
                row.year.distance,
                f"{row.band.distance_label} : {row.band.formula}",
                row.rate,
                row.provisional,
                row.year.annual,
                row.year.provisional,
                row.regularisation,
                row.total,
            ],
            formats={3: KM, 4: KM, 6: RATE},
        )
    _put(sheet, [_("Total"), *[""] * 9, statement.mileage_total], bold=True)
    if statement.provisional_scale:
        sheet.append([])
        _put(sheet, [_scale_note(statement)])
    _widths(sheet, [26, 26, 14, 16, 30, 12, 16, 18, 18, 16, 14])


def _scale_note(statement: Statement) -> str:
    used = statement.vehicles[0].scale.scale.year
    return _(
        "The scale for %(year)s is not published yet: the %(used)s scale is used meanwhile."
    ) % {"year": statement.year, "used": used}


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The statement is self-contained: WeasyPrint fetches nothing (no file, no network)."""
    raise ValueError(f"refused to fetch {url}")


def statement_pdf(statement: Statement, company: CompanyProfile) -> bytes:
    from weasyprint import HTML  # type: ignore[import-untyped]  # heavy: loaded on demand

    html = render_to_string(
        "expenses/statement_pdf.html",
        {
            "statement": statement,
            "company": company,
            "scale_note": _scale_note(statement) if statement.provisional_scale else "",
        },
    )
    pdf: bytes = HTML(string=html, url_fetcher=_no_fetch).write_pdf()
    return pdf
