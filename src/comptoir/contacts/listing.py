"""The contact list: search, filters, sort, and the export (XLSX, CSV).

The export's headings are the ones the import recognises, so a list exported,
edited in a spreadsheet and imported into another organisation maps by itself.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from comptoir.contacts.forms import ContactFilters
from comptoir.contacts.models import Contact, ContactAddress, ContactChannel
from comptoir.contacts.services import search_contacts
from comptoir.core.access import scoped
from comptoir.core.models import Membership
from comptoir.core.roles import Action, Resource

PAGE_SIZE = 50


def first_address(contact: Contact) -> ContactAddress | None:
    addresses = contact.addresses.all()  # prefetched
    return addresses[0] if addresses else None


def _address_part(name: str) -> Callable[[Contact], str]:
    def value(contact: Contact) -> str:
        address = first_address(contact)
        return getattr(address, name) if address else ""

    return value


def _channels(kind: str) -> Callable[[Contact], str]:
    def value(contact: Contact) -> str:
        return ", ".join(
            channel.value for channel in contact.channels.all() if channel.kind == kind
        )

    return value


@dataclass(frozen=True)
class Column:
    key: str
    label: Any
    value: Callable[[Contact], Any]
    sort: tuple[str, ...] = ()


SORTS = {
    "name": ("sort_name", "pk"),
    "category": ("category", "sort_name", "pk"),
    "email": ("email", "sort_name", "pk"),
    "created": ("created_at", "pk"),
}

# The list's columns: key, heading, sortable (by SORTS).
HEADERS = [
    ("name", _("Name"), True),
    ("category", _("Category"), True),
    ("email", _("E-mail"), True),
    ("phone", _("Phone"), False),
    ("city", _("City"), False),
    ("siret", "SIRET", False),
]

EXPORT_COLUMNS = [
    Column("civility", _("Civility"), lambda c: c.civility),
    Column("last_name", _("Last name"), lambda c: c.last_name),
    Column("first_name", _("First name"), lambda c: c.first_name),
    Column("company_name", _("Company name"), lambda c: c.company_name),
    Column("kind", _("Person or company"), lambda c: c.get_kind_display()),
    Column("category", _("Category"), lambda c: c.get_category_display()),
    Column("email", _("E-mail"), lambda c: c.email),
    Column("phone", _("Phone"), lambda c: c.phone),
    Column("street", _("Address"), _address_part("street")),
    Column("postcode", _("Postcode"), _address_part("postcode")),
    Column("city", _("City"), _address_part("city")),
    Column("siret", "SIRET", lambda c: c.siret),
    Column("siren", "SIREN", lambda c: c.siren),
    Column("vat_number", _("VAT number"), lambda c: c.vat_number),
    Column("other_emails", _("Other e-mails"), _channels(ContactChannel.Kind.EMAIL)),
    Column("other_phones", _("Other phones"), _channels(ContactChannel.Kind.PHONE)),
    Column("notes", _("Notes"), lambda c: c.notes),
]


def base_queryset(member: Membership, action: Action = Action.VIEW) -> QuerySet[Contact]:
    return scoped(Contact.objects.all(), member, Resource.CONTACTS, action)


def with_related(queryset: QuerySet[Contact]) -> QuerySet[Contact]:
    return queryset.prefetch_related(
        Prefetch("addresses", queryset=ContactAddress.objects.order_by("pk")),
        Prefetch("channels", queryset=ContactChannel.objects.order_by("pk")),
    )


def apply_filters(queryset: QuerySet[Contact], data: dict[str, Any]) -> QuerySet[Contact]:
    if data.get("q"):
        queryset = search_contacts(queryset, data["q"])
    if data.get("category"):
        queryset = queryset.filter(category=data["category"])
    if data.get("kind"):
        queryset = queryset.filter(kind=data["kind"])
    return queryset


def order(queryset: QuerySet[Contact], sort: str | None) -> QuerySet[Contact]:
    descending = (sort or "").startswith("-")
    fields = SORTS.get((sort or "").lstrip("-"), SORTS["name"])
    return queryset.order_by(*[f"-{name}" if descending else name for name in fields])


def filtered(member: Membership, params: Any) -> tuple[ContactFilters, QuerySet[Contact]]:
    form = ContactFilters(params)
    queryset = base_queryset(member)
    if form.is_valid():
        queryset = order(apply_filters(queryset, form.cleaned_data), form.cleaned_data.get("sort"))
    else:
        queryset = queryset.none()
    return form, with_related(queryset)


def export_rows(queryset: QuerySet[Contact]) -> Iterator[list[Any]]:
    yield [capfirst(str(column.label)) for column in EXPORT_COLUMNS]
    # Prefetching works per chunk with iterator(chunk_size=…).
    for contact in queryset.iterator(chunk_size=1000):
        yield [column.value(contact) for column in EXPORT_COLUMNS]


def export_csv(rows: Iterator[list[Any]]) -> Iterator[str]:
    """Semicolon-separated with a BOM: what a French Excel opens without asking."""

    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo(), delimiter=";")
    yield "\ufeff"
    for row in rows:
        yield writer.writerow([_inert(value) for value in row])


def _inert(value: Any) -> Any:
    """A text a spreadsheet would run as a formula ("=…", "@…") is written as text."""
    if isinstance(value, str) and value[:1] in ("=", "@"):
        return "'" + value
    return value


def export_xlsx(rows: Iterator[list[Any]]) -> BytesIO:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Contacts")
    for row in rows:
        sheet.append([_text_cell(sheet, value) for value in row])
    buffer = BytesIO()
    book.save(buffer)
    buffer.seek(0)
    return buffer


def _text_cell(sheet: Any, value: Any) -> Any:
    """Texts stay texts: openpyxl would store "=…" as a formula."""
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value
