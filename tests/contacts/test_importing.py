"""Reading contact files and planning their import, without the database or a request.

Real-looking files: CSV in UTF-8 (with and without BOM) and Windows-1252 with
`;`, `,` and tab separators; XLSX written by openpyxl and converted by
LibreOffice; a file with errors on given lines.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comptoir.contacts import importing
from comptoir.contacts.importing import (
    Existing,
    ImportFileError,
    decode,
    detect_separator,
    guess_mapping,
    guess_target,
    plan_import,
    read_table,
)
from tests.contacts.conftest import HEADERS, ROWS, csv_bytes, xlsx_bytes

EXPECTED_MAPPING = [
    "civility",
    "last_name",
    "first_name",
    "company_name",
    "email",
    "phone",
    "phone",
    "street",
    "postcode",
    "city",
    "siret",
    "vat_number",
    "category",
    "notes",
]


def lines(table) -> list[tuple[int, tuple[str, ...]]]:
    return [(row.line, row.cells) for row in table.rows]


# --- CSV: encodings and separators ----------------------------------------------------


@pytest.mark.parametrize("separator", [";", ",", "\t"])
@pytest.mark.parametrize(
    ("encoding", "detected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("cp1252", "windows-1252"),
    ],
)
def test_csv_encodings_and_separators_are_detected(separator, encoding, detected):
    data = csv_bytes(ROWS, separator=separator, encoding=encoding)
    table = read_table(data)
    assert (table.format, table.encoding, table.separator) == ("csv", detected, separator)
    assert table.headers == tuple(HEADERS)
    assert lines(table) == [(2, tuple(ROWS[0])), (3, tuple(ROWS[1])), (4, tuple(ROWS[2]))]
    assert table.rows[1].cells[3] == "Agence de l'Hôtel de Ville"
    assert table.rows[2].cells[1] == "Dubœuf"  # œ exists in Windows-1252 (0x9C)


def test_windows_1252_bytes_are_really_single_byte_accents():
    data = csv_bytes(ROWS, encoding="cp1252")
    assert "Hélène".encode("cp1252") in data and b"\xc3\xa9" not in data
    assert read_table(data).rows[0].cells[2] == "Hélène"


def test_utf16_tab_text_from_excel_unicode_export():
    text = "\t".join(HEADERS) + "\r\n" + "\t".join(ROWS[0]) + "\r\n"
    table = read_table(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    assert (table.encoding, table.separator) == ("utf-16", "\t")
    assert lines(table) == [(2, tuple(ROWS[0]))]


def test_quoted_cells_keep_separators_newlines_and_line_numbers():
    data = (
        "Nom;Adresse;Notes\r\n"
        'Durand;"12, rue de la Paix";"Première ligne\r\nDeuxième ligne"\r\n'
        "\r\n"
        'Martin;"3 ; bis rue Haute";"Dit ""le grand"""\r\n'
    ).encode()
    table = read_table(data)
    assert table.separator == ";"
    assert lines(table) == [
        (2, ("Durand", "12, rue de la Paix", "Première ligne\r\nDeuxième ligne")),
        (5, ("Martin", "3 ; bis rue Haute", 'Dit "le grand"')),
    ]


def test_comma_file_with_semicolons_inside_quotes():
    data = b'Nom,Adresse\n"Durand","1; rue A"\n"Martin","2; rue B"\n'
    assert read_table(data).separator == ","


def test_blank_lines_and_leading_blank_lines_keep_the_numbering():
    table = read_table(b"\n;;\nNom;Ville\n\nDurand;Lille\nMartin;Douai\n")
    assert table.headers == ("Nom", "Ville")
    assert lines(table) == [(5, ("Durand", "Lille")), (6, ("Martin", "Douai"))]


def test_ragged_rows_are_padded_and_extra_cells_get_a_heading():
    table = read_table("Nom;Ville\nDurand\nMartin;Douai;à rappeler\n".encode())
    assert table.headers == ("Nom", "Ville", "Colonne 3")
    assert lines(table) == [(2, ("Durand", "", "")), (3, ("Martin", "Douai", "à rappeler"))]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Le fichier est vide."),
        (b"  \r\n\r\n", "Le fichier est vide."),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,
            "Les anciens fichiers Excel (.xls) ne peuvent pas être lus : "
            "ouvrez-le et enregistrez-le au format .xlsx ou CSV.",
        ),
        (b"PK\x03\x04 not really a zip", "Ce fichier n'est ni un classeur XLSX ni un texte CSV."),
        (b"Nom\x00;Ville\n", "Ce fichier n'est ni un classeur XLSX ni un texte CSV."),
    ],
)
def test_unreadable_files_say_why(data, message):
    with pytest.raises(ImportFileError) as caught:
        read_table(data)
    assert caught.value.message == message


def test_too_many_rows(monkeypatch):
    monkeypatch.setattr(importing, "MAX_ROWS", 3)
    with pytest.raises(ImportFileError) as caught:
        read_table(b"Nom\nA\nB\nC\nD\n")
    assert caught.value.message == "Trop de lignes : 3 au plus par import."


def test_decode_prefers_a_bom_then_utf8_then_windows_1252():
    assert decode(codecs.BOM_UTF8 + "é".encode()) == ("é", "utf-8-sig")
    assert decode("é".encode()) == ("é", "utf-8")
    assert decode("é€".encode("cp1252")) == ("é€", "windows-1252")
    assert decode(b"\x81\xe9") == ("\x81é", "iso-8859-1")  # 0x81 is not Windows-1252


# Cells without separators or line breaks; accents that Windows-1252 holds too. (Without
# «», € or œ, whose Windows-1252 bytes could happen to form valid UTF-8 next to a capital.)
CELL = st.text(
    alphabet=st.sampled_from(
        list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .'-@\"/()")
        + list("éèêëàâäùûüçôöîïÉÈÀÇ")
    ),
    max_size=12,
).map(str.strip)
TABLES = st.integers(2, 6).flatmap(
    lambda width: st.tuples(
        st.lists(CELL.filter(bool), min_size=width, max_size=width),  # headings
        st.lists(
            st.lists(CELL, min_size=width, max_size=width).filter(any), min_size=1, max_size=8
        ),
    ).map(lambda parts: [parts[0], *parts[1]])
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=TABLES,
    separator=st.sampled_from([";", ",", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
    newline=st.sampled_from(["\r\n", "\n"]),
)
def test_any_table_written_in_any_encoding_and_separator_reads_back(
    table, separator, encoding, newline
):
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=separator, lineterminator=newline).writerows(table)
    data = buffer.getvalue().encode(encoding)
    read = read_table(data)
    assert read.separator == separator
    assert read.encoding == {"cp1252": "windows-1252"}.get(encoding, encoding) or (
        encoding == "cp1252" and data.isascii() and read.encoding == "utf-8"
    )
    assert read.headers == tuple(table[0])
    assert [row.cells for row in read.rows] == [tuple(row) for row in table[1:]]
    assert [row.line for row in read.rows] == list(range(2, len(table) + 1))


@given(st.text(max_size=300))
def test_detection_never_fails_on_any_text(text):
    assert detect_separator(text) in {";", ",", "\t"}


# --- XLSX ------------------------------------------------------------------------------


def test_xlsx_written_by_openpyxl_with_number_cells():
    rows = [
        [
            "M.",
            "Petit",
            "Louis",
            "",
            "l.petit@exemple.fr",
            320123456,
            612345678,
            "8 rue Basse",
            1000,
            "Bourg-en-Bresse",
            73282932000074,
            "",
            "client",
            None,
        ]
    ]
    table = read_table(xlsx_bytes(rows))
    assert (table.format, table.encoding, table.separator) == ("xlsx", "", "")
    assert table.headers == tuple(HEADERS)
    assert lines(table) == [
        (
            2,
            (
                "M.",
                "Petit",
                "Louis",
                "",
                "l.petit@exemple.fr",
                "320123456",
                "612345678",
                "8 rue Basse",
                "1000",
                "Bourg-en-Bresse",
                "73282932000074",
                "",
                "client",
                "",
            ),
        )
    ]
    plan = plan_import(table, guess_mapping(table.headers), Existing())
    [row] = plan.rows
    assert row.errors == []
    assert row.contact["phone"] == "0320123456"  # the 0 a number cell dropped, restored
    assert row.channels == [{"kind": "phone", "label": "Portable", "value": "0612345678"}]
    assert row.addresses == [
        {
            "label": "",
            "street": "8 rue Basse",
            "postcode": "01000",
            "city": "Bourg-en-Bresse",
            "country": "FR",
        }
    ]
    assert (row.contact["siret"], row.contact["siren"]) == ("73282932000074", "732829320")


def test_xlsx_reads_the_first_sheet_and_keeps_spreadsheet_line_numbers():
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet["A2"], sheet["B2"] = "Nom", "Ville"
    sheet["A3"], sheet["B3"] = "Durand", "Lille"
    sheet["A6"], sheet["B6"] = "Martin", "Douai"
    book.create_sheet("Autre")["A1"] = "ignorée"
    buffer = io.BytesIO()
    book.save(buffer)
    table = read_table(buffer.getvalue())
    assert table.headers == ("Nom", "Ville")
    assert lines(table) == [(3, ("Durand", "Lille")), (6, ("Martin", "Douai"))]


def libreoffice() -> str:
    found = shutil.which("libreoffice") or shutil.which("soffice")
    if found is None:
        reason = (
            "LibreOffice is not installed: apt-get install libreoffice-calc-nogui "
            "to test XLSX files converted by LibreOffice"
        )
        if os.environ.get("COMPTOIR_REQUIRE_PEERS") == "1":
            pytest.fail(f"{reason} (COMPTOIR_REQUIRE_PEERS=1)", pytrace=False)
        pytest.skip(reason)
    return found


def test_xlsx_converted_by_libreoffice(tmp_path: Path):
    """LibreOffice turns a CSV into XLSX as a user's "Save as" would: "0612345678" and
    "01000" become numbers without their leading 0, and the SIRET a 14-digit number."""
    program = libreoffice()
    source = tmp_path / "contacts.csv"
    source.write_bytes(csv_bytes(ROWS, separator=";", encoding="utf-8"))
    out = tmp_path / "out"
    profile = tmp_path / "profile"
    subprocess.run(
        [
            program,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--infilter=CSV:59,34,76,1",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    data = (out / "contacts.xlsx").read_bytes()
    assert data.startswith(b"PK\x03\x04")
    table = read_table(data)
    assert table.format == "xlsx"
    assert table.headers == tuple(HEADERS)
    assert [row.line for row in table.rows] == [2, 3, 4]
    assert table.rows[1].cells[10] == "73282932000074"
    assert table.rows[2].cells[8] in {"1000", "01000"}
    plan = plan_import(table, guess_mapping(table.headers), Existing())
    assert plan.errors == []
    first, agency, third = plan.rows
    assert (first.contact["last_name"], first.contact["phone"]) == ("Lefèvre", "03 20 12 34 56")
    assert first.channels == [{"kind": "phone", "label": "Portable", "value": "06 12 34 56 78"}]
    assert (agency.contact["kind"], agency.contact["category"]) == ("company", "agency")
    assert agency.contact["siret"] == "73282932000074"
    assert third.addresses[0]["postcode"] == "01000"


# --- mapping ---------------------------------------------------------------------------


def test_guess_mapping_of_a_french_export():
    assert guess_mapping(HEADERS) == EXPECTED_MAPPING


@pytest.mark.parametrize(
    ("heading", "target"),
    [
        ("NOM", "last_name"),
        ("Nom de famille", "last_name"),
        ("Last name", "last_name"),
        ("Prénom", "first_name"),
        ("First Name", "first_name"),
        ("Société", "company_name"),
        ("Nom société", "company_name"),
        ("Raison sociale", "company_name"),
        ("Company", "company_name"),
        ("Courriel", "email"),
        ("E-mail", "email"),
        ("Adresse e-mail", "email"),
        ("Email address", "email"),
        ("Mail", "email"),
        ("Tél.", "phone"),
        ("Tél. portable", "phone"),
        ("Téléphone fixe", "phone"),
        ("Portable", "phone"),
        ("Mobile", "phone"),
        ("Phone", "phone"),
        ("Adresse", "street"),
        ("Adresse 2", "street"),
        ("Complément d'adresse", "street"),
        ("Street", "street"),
        ("CP", "postcode"),
        ("Code postal", "postcode"),
        ("Zip code", "postcode"),
        ("Ville", "city"),
        ("City", "city"),
        ("Commune", "city"),
        ("SIRET", "siret"),
        ("N° SIRET", "siret"),
        ("SIREN", "siren"),
        ("TVA", "vat_number"),
        ("N° TVA intracom.", "vat_number"),
        ("VAT number", "vat_number"),
        ("Catégorie", "category"),
        ("Type", "category"),
        ("Category", "category"),
        ("Notes", "notes"),
        ("Commentaire", "notes"),
        ("Remarques", "notes"),
        ("Civilité", "civility"),
        ("Titre", "civility"),
        ("Code client", ""),
        ("Date de création", ""),
        ("", ""),
    ],
)
def test_guess_target(heading, target):
    assert guess_target(heading) == target


def test_check_mapping():
    assert importing.check_mapping(["last_name", ""], 2) == []
    assert importing.check_mapping(["email", "city"], 2) == [
        "Choisissez la colonne qui contient le nom ou la raison sociale."
    ]
    assert importing.check_mapping(["last_name"], 2) == [
        "Les choix de colonnes ne correspondent pas au fichier : envoyez-le à nouveau."
    ]
    assert importing.check_mapping(["last_name", "password"], 2) == [
        "Les choix de colonnes ne correspondent pas au fichier : envoyez-le à nouveau."
    ]


# --- planning: errors and duplicates ---------------------------------------------------

BAD_ROWS = [
    ["", "Durand", "Paul", "", "paul.durand@exemple.fr", "", "", "", "", "", "", "", "", ""],
    ["", "", "", "", "sans.nom@exemple.fr", "", "", "", "", "", "", "", "", ""],
    ["", "Roux", "", "", "roux@", "", "", "", "590", "Lille", "", "", "", ""],
    ["", "", "", "SARL Dupuis", "", "", "", "", "", "", "12345678900000", "", "client", ""],
    ["", "Blanc", "", "", "", "", "", "", "", "", "", "", "Fournisseur", ""],
    ["", "Noir", "", "", "", "tél. bureau", "", "", "", "", "", "FR00303265045", "", ""],
]


def test_errors_carry_their_line_number_and_reason():
    table = read_table(csv_bytes(BAD_ROWS))
    plan = plan_import(table, guess_mapping(table.headers), Existing())
    assert [importing.error_line(line, message) for line, message in plan.errors] == [
        "ligne 3 : Il faut un nom ou une raison sociale.",
        "ligne 4 : Adresse e-mail « roux@ » invalide.",
        "ligne 4 : Code postal « 590 » invalide (5 chiffres).",
        "ligne 5 : SIRET 12345678900000 invalide (clé de contrôle incorrecte).",
        "ligne 6 : Catégorie « Fournisseur » inconnue (valeurs possibles : Client, Agence "
        "immobilière, Notaire, Propriétaire, Gestionnaire de biens, Prospect, Autre).",
        "ligne 7 : Numéro de TVA FR00303265045 invalide (clé de contrôle incorrecte).",
        "ligne 7 : Numéro de téléphone « tél. bureau » invalide.",
    ]
    assert [row.line for row in plan.to_create()] == [2]


def test_duplicates_within_the_file_and_against_the_address_book():
    rows = [
        [
            "",
            "Durand",
            "Paul",
            "",
            "Paul.Durand@exemple.fr",
            "06 12 34 56 78",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        ["", "Durand", "Pauline", "", "paul.durand@EXEMPLE.fr", "", "", "", "", "", "", "", "", ""],
        ["", "Martin", "", "", "", "+33 6 12 34 56 78", "", "", "", "", "", "", "", ""],
        ["", "", "", "Agence Rihour", "", "", "", "", "", "", "732 829 320 00074", "", "", ""],
        ["", "Petit", "", "", "", "", "07 00 00 00 01", "", "", "", "", "", "", ""],
        ["", "Neuf", "", "", "neuf@exemple.fr", "", "", "", "", "", "", "", "", ""],
    ]
    existing = Existing()
    existing.add("Agence du Beffroi", emails=["contact@beffroi.fr"], sirets=["73282932000074"])
    existing.add("M. Petit", phones=["07.00.00.00.01"])
    table = read_table(csv_bytes(rows))
    plan = plan_import(table, guess_mapping(table.headers), existing)
    assert plan.errors == []
    assert [(row.line, row.duplicates) for row in plan.duplicates] == [
        (3, ["même adresse e-mail que la ligne 2"]),
        (4, ["même numéro de téléphone que la ligne 2"]),
        (5, ["même SIRET que le contact « Agence du Beffroi »"]),
        (6, ["même numéro de téléphone que le contact « M. Petit »"]),
    ]
    assert [row.line for row in plan.to_create()] == [2, 7]
    assert [row.line for row in plan.to_create({4, 6})] == [2, 4, 6, 7]


def test_several_columns_for_one_field():
    headers = ["Nom", "Adresse", "Complément d'adresse", "E-mail", "E-mail 2", "Notes", "Remarques"]
    rows = [
        [
            "Durand",
            "Résidence Les Pins",
            "Bât. B",
            "a@exemple.fr",
            "b@exemple.fr",
            "Client fidèle",
            "Payer à 30 jours",
        ]
    ]
    table = read_table(csv_bytes(rows, headers=headers))
    assert guess_mapping(headers) == [
        "last_name",
        "street",
        "street",
        "email",
        "email",
        "notes",
        "notes",
    ]
    [row] = plan_import(table, guess_mapping(headers), Existing()).rows
    assert row.contact["email"] == "a@exemple.fr"
    assert row.channels == [{"kind": "email", "label": "E-mail 2", "value": "b@exemple.fr"}]
    assert row.addresses[0]["street"] == "Résidence Les Pins Bât. B"
    assert row.contact["notes"] == "Client fidèle\nPayer à 30 jours"


@pytest.mark.parametrize(
    ("category", "kind_cell", "expected"),
    [
        ("Notaire", "", ("notary", "person")),
        ("agence immobilière", "Société", ("agency", "company")),
        ("Owner", "personne physique", ("owner", "person")),
        ("PROSPECT", "", ("prospect", "person")),
        ("syndic", "PM", ("manager", "company")),
        ("", "", ("owner", "person")),  # the default category chosen for the file
    ],
)
def test_category_and_kind_words(category, kind_cell, expected):
    headers = ["Nom", "Catégorie", "Nature"]
    table = read_table(csv_bytes([["Durand", category, kind_cell]], headers=headers))
    [row] = plan_import(table, guess_mapping(headers), Existing(), "owner").rows
    assert row.errors == []
    assert (row.contact["category"], row.contact["kind"]) == expected


def test_a_company_name_alone_makes_a_company():
    headers = ["Raison sociale", "Nom"]
    table = read_table(
        csv_bytes([["SCI Les Tilleuls", ""], ["SCI du Port", "Morel"]], headers=headers)
    )
    rows = plan_import(table, guess_mapping(headers), Existing()).rows
    assert [row.contact["kind"] for row in rows] == ["company", "person"]
    assert [row.name for row in rows] == ["SCI Les Tilleuls", "Morel"]
