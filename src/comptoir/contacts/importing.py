"""Reading a contact list (XLSX or CSV) and planning its import; no database, no request.

The steps, each a plain function that tests call alone:

1. `read_table(data)` — XLSX (any sheet writer: Excel, LibreOffice, openpyxl) or CSV
   whose encoding (UTF-8 with or without BOM, UTF-16, Windows-1252) and separator
   (`;`, `,`, tab) are detected. Every row keeps its line number as the user's
   spreadsheet shows it (the header is line 1).
2. `guess_mapping(headers)` — which contact field each column holds, from French
   and English headings ("Nom", "Raison sociale", "Courriel", "Tél. portable"…).
3. `plan_import(table, mapping, existing)` — every row checked and normalised,
   with its errors ("SIRET … invalide") and its duplicates (same e-mail, phone
   or SIRET as an earlier line or an existing contact). The services write a
   plan only when it holds no error at all.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from django.utils import translation
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from comptoir.contacts.models import Contact, ContactChannel
from comptoir.contacts.validation import (
    FieldError,
    check_address,
    check_channel,
    check_contact,
    has_address,
    phone_digits,
)
from comptoir.core.errors import DomainError
from comptoir.core.text import fold

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
SEPARATORS = (";", ",", "\t")
SEPARATOR_NAMES = {
    ";": gettext_lazy("semicolon"),
    ",": gettext_lazy("comma"),
    "\t": gettext_lazy("tab"),
}
_SNIFF_CHARS = 64 * 1024
_SNIFF_ROWS = 50


class ImportFileError(DomainError):
    """The file cannot be read as a table: says why, in the user's terms."""

    code = "import_file"


# --- 1. reading -----------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    line: int  # as the spreadsheet or text editor numbers it; the header is line 1
    cells: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    format: str  # "xlsx" or "csv"
    headers: tuple[str, ...]
    rows: tuple[Row, ...]
    encoding: str = ""  # CSV only
    separator: str = ""  # CSV only

    def preview(self, count: int = 5) -> list[Row]:
        return list(self.rows[:count])


def read_table(data: bytes) -> Table:
    """The first sheet of an XLSX file, or a CSV text, as headers and rows of text."""
    if len(data) > MAX_BYTES:
        raise ImportFileError(
            _("The file is too large (%(size)d MB at most).") % {"size": MAX_BYTES // (1024 * 1024)}
        )
    if not data.strip():
        raise ImportFileError(_("The file is empty."))
    if data.startswith(b"PK\x03\x04"):
        return read_xlsx(data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            _("Old Excel files (.xls) cannot be read: open it and save it as .xlsx or CSV.")
        )
    return read_csv(data)


def decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding it was in: a BOM says so, else UTF-8 if it decodes as
    such, else Windows-1252 (what Excel writes on a French Windows)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "iso-8859-1"


def detect_separator(text: str) -> str:
    """The separator that cuts the first lines into the most regular columns.

    Each candidate splits a sample (quotes respected); the winner gives the same
    number of columns (at least two) on the most lines, then on the header, then
    the most columns. Ties go to `;`, the separator of French spreadsheets.
    """
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    best, best_score = ";", (0.0, False, 0)
    for separator in SEPARATORS:
        rows = _sample_rows(sample, separator)
        if not rows:
            continue
        counts = [len(row) for row in rows]
        width = max(Counter(counts).most_common(), key=lambda item: (item[1], item[0]))[0]
        if width < 2:
            continue
        score = (counts.count(width) / len(counts), counts[0] == width, width)
        if score > best_score:
            best, best_score = separator, score
    return best


def _sample_rows(sample: str, separator: str) -> list[list[str]]:
    rows = []
    try:
        for row in csv.reader(io.StringIO(sample, newline=""), delimiter=separator):
            if any(cell.strip() for cell in row):
                rows.append(row)
                if len(rows) >= _SNIFF_ROWS:
                    break
    except csv.Error:
        return rows
    return rows


def read_csv(data: bytes) -> Table:
    text, encoding = decode(data)
    if "\x00" in text:
        raise ImportFileError(_("This file is neither an XLSX spreadsheet nor a CSV text."))
    separator = detect_separator(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    return _table("csv", _csv_records(reader), encoding=encoding, separator=separator)


def _csv_records(reader: Any) -> Iterator[tuple[int, list[str]]]:
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError(
                _("Line %(line)d: the file cannot be read (%(reason)s).")
                % {"line": start, "reason": exc}
            ) from None
        yield start, record


def read_xlsx(data: bytes) -> Table:
    from openpyxl import load_workbook  # only the import needs it

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError):
        raise ImportFileError(
            _("This file is neither an XLSX spreadsheet nor a CSV text.")
        ) from None
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # some writers record a wrong size; read every row
        records = (
            (line, [cell_text(value) for value in values])
            for line, values in enumerate(sheet.iter_rows(values_only=True), start=1)
        )
        return _table("xlsx", records)
    finally:
        book.close()


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a person would type in it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 612345678.0: a number typed without its leading 0
    if isinstance(value, datetime):
        return date_format(value, "d/m/Y H:i" if value.time() != time() else "d/m/Y")
    if isinstance(value, date):
        return date_format(value, "d/m/Y")
    return str(value).strip()


def _table(kind: str, records: Iterable[tuple[int, list[str]]], **extra: str) -> Table:
    headers: list[str] | None = None
    rows: list[Row] = []
    for line, record in records:
        cells = [cell.strip() for cell in record]
        if not any(cells):
            continue
        if headers is None:
            headers = cells
            continue
        if len(rows) >= MAX_ROWS:
            raise ImportFileError(
                _("Too many rows: %(count)d at most per import.") % {"count": MAX_ROWS}
            )
        rows.append(Row(line, tuple(cells)))
    if headers is None:
        raise ImportFileError(_("The file is empty."))
    width = max([len(headers), *(_used_width(row.cells) for row in rows)])
    headers = [
        header or _("Column %(number)d") % {"number": index + 1}
        for index, header in enumerate([*headers, *[""] * (width - len(headers))])
    ]
    rows = [Row(row.line, (*row.cells[:width], *[""] * (width - len(row.cells)))) for row in rows]
    return Table(kind, tuple(headers), tuple(rows), **extra)


def _used_width(cells: tuple[str, ...]) -> int:
    width = len(cells)
    while width and not cells[width - 1]:
        width -= 1
    return width


# --- 2. mapping -----------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A contact field a column can fill.

    `names` match a whole heading; `words` match a word or phrase inside one.
    Several columns may fill one target: `merge` says how ("first" non-empty value,
    "join" with spaces, "lines" one per line, "channel": the first is the main
    e-mail or phone, the others extra ones labelled with their heading).
    """

    key: str
    label: Any
    names: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    merge: str = "first"


# In the order a heading is tried against `words`: "Adresse e-mail" is an e-mail,
# "Nom société" a company, "Code postal" not an address.
TARGETS: tuple[Target, ...] = (
    Target("siret", "SIRET", words=("siret",)),
    Target("siren", "SIREN", words=("siren",)),
    Target(
        "vat_number",
        gettext_lazy("VAT number"),
        names=("n tva", "numero de tva", "tva intracommunautaire", "vat number"),
        words=("tva", "vat"),
    ),
    Target(
        "email",
        gettext_lazy("E-mail"),
        names=("adresse electronique", "email address"),
        words=("email", "e mail", "courriel", "mail", "emails", "e mails"),
        merge="channel",
    ),
    Target(
        "postcode",
        gettext_lazy("Postcode"),
        names=("cp", "zip"),
        words=("code postal", "postcode", "postal code", "zip code"),
    ),
    Target(
        "first_name",
        gettext_lazy("First name"),
        words=("prenom", "first name", "firstname", "given name"),
    ),
    Target(
        "company_name",
        gettext_lazy("Company name"),
        names=(
            "agence",
            "etude",
            "cabinet",
            "organisation",
            "organization",
            "denomination",
            "client societe",
        ),
        words=("societe", "raison sociale", "entreprise", "company"),
    ),
    Target(
        "civility",
        gettext_lazy("Civility"),
        names=("civ", "titre", "title", "salutation"),
        words=("civilite",),
    ),
    Target(
        "phone",
        gettext_lazy("Phone"),
        names=("fixe", "gsm", "cellulaire", "cell"),
        words=("telephone", "tel", "portable", "mobile", "phone", "telephones"),
        merge="channel",
    ),
    Target("city", gettext_lazy("City"), words=("ville", "commune", "localite", "city", "town")),
    Target(
        "category",
        gettext_lazy("Category"),
        names=("type", "type de contact", "famille"),
        words=("categorie", "category"),
    ),
    Target(
        "kind",
        gettext_lazy("Person or company"),
        names=(
            "nature",
            "kind",
            "personne physique ou morale",
            "type de personne",
            "personne ou societe",
            "person or company",
        ),
    ),
    Target(
        "notes",
        gettext_lazy("Notes"),
        names=("memo", "divers", "informations"),
        words=(
            "note",
            "notes",
            "remarque",
            "remarques",
            "commentaire",
            "commentaires",
            "observation",
            "observations",
            "comment",
            "comments",
        ),
        merge="lines",
    ),
    Target(
        "street",
        gettext_lazy("Address"),
        words=("adresse", "address", "rue", "voie", "complement d adresse", "street"),
        merge="join",
    ),
    Target(
        "last_name",
        gettext_lazy("Last name"),
        names=("nom de famille", "surname", "family name"),
        words=("nom", "name"),
        merge="join",
    ),
)
TARGET_KEYS = {target.key: target for target in TARGETS}
NAME_TARGETS = {"last_name", "first_name", "company_name"}
_NON_WORD = re.compile(r"[^0-9a-z]+")


def heading_key(text: str) -> str:
    """ "N° TVA intracom." → "n tva intracom": folded, punctuation as spaces."""
    return _NON_WORD.sub(" ", fold(text)).strip()


def guess_target(header: str) -> str:
    key = heading_key(header)
    if not key:
        return ""
    for target in TARGETS:
        if key in target.names or key in target.words:
            return target.key
    padded = f" {key} "
    for target in TARGETS:
        if any(f" {word} " in padded for word in target.words):
            return target.key
    return ""


def guess_mapping(headers: Iterable[str]) -> list[str]:
    """The target of each column ("" for a column left out)."""
    return [guess_target(header) for header in headers]


def target_choices() -> list[tuple[str, str]]:
    order = [
        "civility",
        "last_name",
        "first_name",
        "company_name",
        "kind",
        "category",
        "email",
        "phone",
        "street",
        "postcode",
        "city",
        "siret",
        "siren",
        "vat_number",
        "notes",
    ]
    return [(key, capfirst(str(TARGET_KEYS[key].label))) for key in order]


def check_mapping(mapping: list[str], width: int) -> list[str]:
    """Why this mapping cannot be used (empty when it can)."""
    problems = []
    if len(mapping) != width or any(key and key not in TARGET_KEYS for key in mapping):
        problems.append(_("The column choices do not match the file: upload it again."))
    elif not NAME_TARGETS & set(mapping):
        problems.append(_("Choose the column that holds the last name or the company name."))
    return problems


# --- 3. planning ----------------------------------------------------------------


@dataclass
class Existing:
    """What identifies the contacts already in the address book: key → their name."""

    emails: dict[str, str] = field(default_factory=dict)
    phones: dict[str, str] = field(default_factory=dict)
    sirets: dict[str, str] = field(default_factory=dict)

    def add(
        self,
        name: str,
        emails: Iterable[str] = (),
        phones: Iterable[str] = (),
        sirets: Iterable[str] = (),
    ) -> None:
        for kind, values in (("email", emails), ("phone", phones), ("siret", sirets)):
            for value in values:
                key = duplicate_key(kind, value)
                if key:
                    self._store(kind).setdefault(key, name)

    def _store(self, kind: str) -> dict[str, str]:
        return {"email": self.emails, "phone": self.phones, "siret": self.sirets}[kind]

    def find(self, kind: str, key: str) -> str | None:
        return self._store(kind).get(key)


def duplicate_key(kind: str, value: str) -> str:
    """E-mails compare without case, phones by their digits, SIRETs as they are."""
    value = (value or "").strip()
    if kind == "email":
        return value.lower()
    if kind == "phone":
        digits = phone_digits(value)
        return digits if len(digits) >= 6 else ""
    return value


@dataclass
class PlannedRow:
    line: int
    contact: dict[str, Any]
    addresses: list[dict[str, str]] = field(default_factory=list)
    channels: list[dict[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return Contact(
            **{
                key: value
                for key, value in self.contact.items()
                if key in {"kind", "civility", "first_name", "last_name", "company_name"}
            }
        ).display_name

    @property
    def category_label(self) -> str:
        value = self.contact.get("category")
        return str(Contact.Category(value).label) if value in Contact.Category.values else ""

    @property
    def city(self) -> str:
        return self.addresses[0]["city"] if self.addresses else ""

    def identity_keys(self) -> Iterator[tuple[str, str]]:
        emails = [self.contact.get("email", "")] + [
            channel["value"] for channel in self.channels if channel["kind"] == "email"
        ]
        phones = [self.contact.get("phone", "")] + [
            channel["value"] for channel in self.channels if channel["kind"] == "phone"
        ]
        for kind, values in (
            ("email", emails),
            ("phone", phones),
            ("siret", [self.contact.get("siret", "")]),
        ):
            for value in values:
                key = duplicate_key(kind, value)
                if key:
                    yield kind, key


@dataclass
class Plan:
    rows: list[PlannedRow]

    @property
    def errors(self) -> list[tuple[int, str]]:
        return [(row.line, message) for row in self.rows for message in row.errors]

    @property
    def duplicates(self) -> list[PlannedRow]:
        return [row for row in self.rows if row.duplicates and not row.errors]

    def to_create(self, force: set[int] | frozenset[int] = frozenset()) -> list[PlannedRow]:
        """Rows without error; a duplicate only when its line is in `force`."""
        return [
            row for row in self.rows if not row.errors and (not row.duplicates or row.line in force)
        ]


def error_line(line: int, message: str) -> str:
    return _("Line %(line)d: %(reason)s") % {"line": line, "reason": message}


def plan_import(
    table: Table,
    mapping: list[str],
    existing: Existing,
    default_category: str = Contact.Category.CLIENT,
) -> Plan:
    """Every row of the table checked, normalised and compared with the others."""
    vocabulary = _category_words()
    seen: dict[tuple[str, str], int] = {}
    rows = []
    for row in table.rows:
        planned = _plan_row(row, table.headers, mapping, vocabulary, default_category)
        for kind, key in planned.identity_keys():
            first = seen.setdefault((kind, key), row.line)
            if first != row.line:
                planned.duplicates.append(_same_as_line(kind, first))
            else:
                name = existing.find(kind, key)
                if name is not None:
                    planned.duplicates.append(_same_as_contact(kind, name))
        planned.duplicates = list(dict.fromkeys(planned.duplicates))
        rows.append(planned)
    return Plan(rows)


def _same_as_line(kind: str, line: int) -> str:
    messages = {
        "email": _("same e-mail address as line %(line)d"),
        "phone": _("same phone number as line %(line)d"),
        "siret": _("same SIRET as line %(line)d"),
    }
    return messages[kind] % {"line": line}


def _same_as_contact(kind: str, name: str) -> str:
    messages = {
        "email": _("same e-mail address as the contact “%(name)s”"),
        "phone": _("same phone number as the contact “%(name)s”"),
        "siret": _("same SIRET as the contact “%(name)s”"),
    }
    return messages[kind] % {"name": name}


def _grouped(
    row: Row, headers: tuple[str, ...], mapping: list[str]
) -> dict[str, list[tuple[str, str]]]:
    values: dict[str, list[tuple[str, str]]] = {}
    for header, key, cell in zip(headers, mapping, row.cells, strict=True):
        if key and cell:
            values.setdefault(key, []).append((header, cell))
    return values


def _plan_row(
    row: Row,
    headers: tuple[str, ...],
    mapping: list[str],
    vocabulary: dict[str, dict[str, str]],
    default_category: str,
) -> PlannedRow:
    values = _grouped(row, headers, mapping)
    fields: dict[str, str] = {}
    extra: list[dict[str, str]] = []
    for key, items in values.items():
        merge = TARGET_KEYS[key].merge
        texts = [text for _header, text in items]
        if merge == "join":
            fields[key] = " ".join(texts)
        elif merge == "lines":
            fields[key] = "\n".join(texts)
        else:
            fields[key] = texts[0]
        if merge == "channel":
            extra += [{"kind": key, "label": header, "value": text} for header, text in items[1:]]
    planned = PlannedRow(row.line, {})
    errors: list[FieldError] = []
    contact_fields = {
        name: fields.get(name, "")
        for name in (
            "civility",
            "first_name",
            "last_name",
            "company_name",
            "siren",
            "siret",
            "vat_number",
            "email",
            "phone",
            "notes",
        )
    }
    contact_fields["category"] = _word(
        fields.get("category"), vocabulary["category"], default_category, "category", errors
    )
    has_person = bool(contact_fields["first_name"] or contact_fields["last_name"])
    fallback = (
        Contact.Kind.COMPANY
        if contact_fields["company_name"] and not has_person
        else Contact.Kind.PERSON
    )
    contact_fields["kind"] = _word(fields.get("kind"), vocabulary["kind"], fallback, "kind", errors)
    cleaned, problems = check_contact(contact_fields)
    errors += problems
    if not any(cleaned.get(name) for name in NAME_TARGETS):
        errors.append(FieldError("last_name", _("A name or a company name is required.")))
    if cleaned.get("siret") and not cleaned.get("siren"):
        cleaned["siren"] = cleaned["siret"][:9]
    planned.contact = cleaned
    place = {name: fields.get(name, "") for name in ("street", "postcode", "city")}
    if has_address(place):
        address, problems = check_address(place)
        errors += problems
        planned.addresses.append(address)
    for item in extra:
        channel, problems = check_channel({**item, "kind": _channel_kind(item["kind"])})
        errors += problems
        planned.channels.append(channel)
    planned.errors = [error.message for error in errors]
    return planned


def _channel_kind(target: str) -> str:
    return ContactChannel.Kind.EMAIL if target == "email" else ContactChannel.Kind.PHONE


def _word(
    value: str | None, words: dict[str, str], default: str, name: str, errors: list[FieldError]
) -> str:
    if not value:
        return default
    found = words.get(heading_key(value))
    if found is None:
        choices = Contact.Category if name == "category" else Contact.Kind
        message = (
            _("Unknown category “%(value)s” (possible values: %(choices)s).")
            if name == "category"
            else _(
                "Unknown value “%(value)s” for person or company (possible values: %(choices)s)."
            )
        )
        errors.append(
            FieldError(
                name,
                message
                % {"value": value, "choices": ", ".join(str(label) for label in choices.labels)},
            )
        )
        return default
    return found


CATEGORY_WORDS = {
    "client": "client",
    "clients": "client",
    "particulier": "client",
    "customer": "client",
    "agence": "agency",
    "agence immobiliere": "agency",
    "agent immobilier": "agency",
    "immobilier": "agency",
    "agency": "agency",
    "real estate agency": "agency",
    "notaire": "notary",
    "etude notariale": "notary",
    "office notarial": "notary",
    "notaires": "notary",
    "proprietaire": "owner",
    "proprietaires": "owner",
    "bailleur": "owner",
    "vendeur": "owner",
    "gestionnaire": "manager",
    "syndic": "manager",
    "administrateur de biens": "manager",
    "gestion locative": "manager",
    "property manager": "manager",
    "prospect": "prospect",
    "prospects": "prospect",
    "autre": "other",
    "autres": "other",
    "divers": "other",
}
KIND_WORDS = {
    "personne": "person",
    "particulier": "person",
    "personne physique": "person",
    "physique": "person",
    "pp": "person",
    "individual": "person",
    "societe": "company",
    "entreprise": "company",
    "personne morale": "company",
    "morale": "company",
    "pm": "company",
    "professionnel": "company",
    "pro": "company",
    "organisation": "company",
    "organization": "company",
}


def _category_words() -> dict[str, dict[str, str]]:
    """Accepted words for a category or a kind: codes, labels in French and English,
    and the usual words of French address books."""
    words: dict[str, dict[str, str]] = {"category": dict(CATEGORY_WORDS), "kind": dict(KIND_WORDS)}
    for name, choices in (("category", Contact.Category), ("kind", Contact.Kind)):
        for value, label in choices.choices:
            words[name][heading_key(value)] = value
            for language in ("fr", "en"):
                with translation.override(language):
                    words[name][heading_key(str(label))] = value
    return words
