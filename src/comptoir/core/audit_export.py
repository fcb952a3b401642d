"""The audit log as a spreadsheet (ClicFacture exports its action log to Excel)."""

from __future__ import annotations

from collections.abc import Iterable
from io import BytesIO

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from comptoir.core.audit import as_row
from comptoir.core.models import AuditEntry


def headers() -> list[str]:
    return [
        _("No."),
        _("Date"),
        _("Who"),
        _("IP address"),
        _("Action"),
        _("Object type"),
        _("Object"),
        _("Before"),
        _("After"),
    ]


def audit_workbook(entries: Iterable[AuditEntry]) -> BytesIO:
    """Stream entries into a write-only workbook (memory stays flat on long logs)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Audit log"))
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for title in headers():
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    for entry in entries.iterator(chunk_size=2000) if hasattr(entries, "iterator") else entries:
        row = as_row(entry)
        date_cell = WriteOnlyCell(sheet, value=row[1])
        date_cell.number_format = "DD/MM/YYYY HH:MM:SS"
        sheet.append([row[0], date_cell, *row[2:]])
    buffer = BytesIO()
    book.save(buffer)
    buffer.seek(0)
    return buffer
