"""Contact tests: uploads kept in a temporary folder, and spreadsheet files as users make them."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook


@pytest.fixture(autouse=True)
def upload_storage(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """Files of the import (and documents) go to a folder of this test only."""
    folder = tmp_path / "files"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder)},
        },
    }
    yield folder


HEADERS = [
    "Civilité",
    "Nom",
    "Prénom",
    "Raison sociale",
    "E-mail",
    "Téléphone",
    "Portable",
    "Adresse",
    "Code postal",
    "Ville",
    "SIRET",
    "N° TVA",
    "Catégorie",
    "Notes",
]
ROWS = [
    [
        "Mme",
        "Lefèvre",
        "Hélène",
        "",
        "helene.lefevre@exemple.fr",
        "03 20 12 34 56",
        "06 12 34 56 78",
        "12 rue Nationale",
        "59000",
        "Lille",
        "",
        "",
        "Propriétaire",
        "Clés chez la gardienne",
    ],
    [
        "",
        "",
        "",
        "Agence de l'Hôtel de Ville",
        "contact@agence-hdv.fr",
        "03 20 55 66 77",
        "",
        "1 place Rihour",
        "59800",
        "Lille",
        "73282932000074",
        "FR44732829320",
        "Agence immobilière",
        "",
    ],
    [
        "M.",
        "Dubœuf",
        "Étienne",
        "",
        "e.duboeuf@exemple.fr",
        "",
        "07 11 22 33 44",
        "3 chemin des Prés",
        "01000",
        "Bourg-en-Bresse",
        "",
        "",
        "",
        "",
    ],
]

# A company with an address and a mobile, as the contact form posts it.
CONTACT_FORM = {
    "kind": "company",
    "category": "agency",
    "company_name": "Agence du Beffroi",
    "email": "contact@beffroi.fr",
    "phone": "03 20 00 00 00",
    "siret": "73282932000074",
    "addresses-TOTAL_FORMS": "1",
    "addresses-INITIAL_FORMS": "0",
    "addresses-0-label": "Siège",
    "addresses-0-street": "2 place du Théâtre",
    "addresses-0-postcode": "59000",
    "addresses-0-city": "Lille",
    "addresses-0-country": "FR",
    "channels-TOTAL_FORMS": "1",
    "channels-INITIAL_FORMS": "0",
    "channels-0-kind": "phone",
    "channels-0-label": "Portable",
    "channels-0-value": "06 12 34 56 78",
}


def csv_bytes(
    rows: list[list[str]],
    *,
    separator: str = ";",
    encoding: str = "utf-8",
    headers: list[str] | None = None,
) -> bytes:
    """A CSV as a spreadsheet writes it: CRLF line ends, quotes where needed."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=separator, lineterminator="\r\n")
    writer.writerow(HEADERS if headers is None else headers)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]], headers: list[str] | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Contacts"
    sheet.append(HEADERS if headers is None else headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
