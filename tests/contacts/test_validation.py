"""SIREN, SIRET and VAT numbers (python-stdnum), phones, e-mails, postcodes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comptoir.contacts.validation import (
    FieldError,
    check_address,
    check_contact,
    clean_email,
    clean_phone,
    clean_postcode,
    clean_siren,
    clean_siret,
    clean_vat,
    phone_digits,
)
from tests.helpers import fr


def refusal(check, value: str) -> FieldError:
    with pytest.raises(FieldError) as caught:
        check(value)
    return caught.value


# --- SIREN ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("732829320", "732829320"),
        ("732 829 320", "732829320"),
        ("303265045", "303265045"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_valid_siren_is_stored_compact(typed, stored):
    assert clean_siren(typed) == stored


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("732829321", "SIREN 732829321 invalide (clé de contrôle incorrecte)."),
        ("73282932", "SIREN 73282932 invalide (9 chiffres attendus)."),
        ("73282932A", "SIREN 73282932A invalide (chiffres uniquement)."),
    ],
)
def test_invalid_siren_names_the_field_and_value(typed, message):
    error = refusal(clean_siren, typed)
    assert error.field == "siren"
    assert error.message == message


# --- SIRET ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("73282932000074", "73282932000074"),
        ("732 829 320 00074", "73282932000074"),
        ("356 000 000 00048", "35600000000048"),  # La Poste: its own rule, accepted
    ],
)
def test_valid_siret_is_stored_compact(typed, stored):
    assert clean_siret(typed) == stored


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("12345678900000", "SIRET 12345678900000 invalide (clé de contrôle incorrecte)."),
        ("7328293200007", "SIRET 7328293200007 invalide (14 chiffres attendus)."),
        ("7328293200007X", "SIRET 7328293200007X invalide (chiffres uniquement)."),
    ],
)
def test_invalid_siret_names_the_field_and_value(typed, message):
    error = refusal(clean_siret, typed)
    assert (error.field, error.message) == ("siret", message)


# --- VAT -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("FR40303265045", "FR40303265045"),
        ("fr 40 303 265 045", "FR40303265045"),
        ("FR44732829320", "FR44732829320"),
        ("BE0403019261", "BE0403019261"),
        ("DE 136 695 976", "DE136695976"),
    ],
)
def test_valid_french_and_eu_vat_numbers(typed, stored):
    assert clean_vat(typed) == stored


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("FR00303265045", "Numéro de TVA FR00303265045 invalide (clé de contrôle incorrecte)."),
        ("XX123456", "Numéro de TVA XX123456 invalide (code pays inconnu)."),
        ("FR4030326504", "Numéro de TVA FR4030326504 invalide (format incorrect)."),
    ],
)
def test_invalid_vat_numbers(typed, message):
    error = refusal(clean_vat, typed)
    assert (error.field, error.message) == ("vat_number", message)


def test_a_siret_must_belong_to_the_siren():
    cleaned, errors = check_contact({"siren": "303265045", "siret": "73282932000074"})
    assert cleaned["siret"] == "73282932000074"
    assert [(error.field, error.message) for error in errors] == [
        ("siret", "Le SIRET 73282932000074 n'appartient pas au SIREN 303265045.")
    ]
    _cleaned, errors = check_contact(
        {"siren": "732829320", "siret": "73282932000074", "vat_number": "BE0403019261"}
    )
    assert errors == []


def test_check_contact_reports_every_wrong_field_at_once():
    _cleaned, errors = check_contact(
        {"siren": "1", "siret": "2", "email": "nope", "last_name": "x" * 101, "kind": "robot"}
    )
    assert [error.field for error in errors] == ["last_name", "kind", "siren", "siret", "email"]
    assert errors[0].message == fr("%(field)s: %(count)d characters at most (%(given)d given).") % {
        "field": "Nom",
        "count": 100,
        "given": 101,
    }


# --- phones, e-mails, postcodes ---------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "digits"),
    [
        ("06 12 34 56 78", "0612345678"),
        ("06.12.34.56.78", "0612345678"),
        ("+33 6 12 34 56 78", "0612345678"),
        ("+33 (0)6 12 34 56 78", "0612345678"),
        ("0033 6 12 34 56 78", "0612345678"),
        ("612345678", "0612345678"),  # a spreadsheet dropped the leading 0
        ("+32 2 555 12 12", "3225551212"),
        ("", ""),
    ],
)
def test_phone_digits(typed, digits):
    assert phone_digits(typed) == digits


FRENCH_NUMBERS = st.builds(
    lambda first, rest: f"0{first}{rest}",
    st.integers(1, 9),
    st.text("0123456789", min_size=8, max_size=8),
)


@st.composite
def written_forms(draw, number: str) -> str:
    """One way people write a French number: national or international, any punctuation."""
    digits = number[1:]
    prefix = draw(st.sampled_from(["0", "+33", "+33 ", "0033", "0033 "]))
    separator = draw(st.sampled_from(["", " ", ".", "-", " - "]))
    pairs = [digits[0], *(digits[index : index + 2] for index in range(1, 9, 2))]
    return prefix + separator.join(pairs)


@given(FRENCH_NUMBERS.flatmap(lambda number: st.tuples(st.just(number), written_forms(number))))
def test_every_way_of_writing_a_french_number_gives_the_same_digits(case):
    number, written = case
    assert phone_digits(written) == number
    assert phone_digits(number) == number
    assert clean_phone(written) == " ".join(written.split())


@given(st.text(max_size=40))
def test_phone_digits_are_digits_only(text):
    assert phone_digits(text).isdigit() or phone_digits(text) == ""


def test_clean_phone():
    assert clean_phone("  06 12   34 56 78 ") == "06 12 34 56 78"
    assert clean_phone("612345678") == "0612345678"
    assert refusal(clean_phone, "appeler le soir").message == (
        "Numéro de téléphone « appeler le soir » invalide."
    )
    assert refusal(clean_phone, "12 34").message == "Numéro de téléphone « 12 34 » invalide."


def test_clean_email():
    assert clean_email(" Jean.Dupont@Exemple.FR ") == "Jean.Dupont@exemple.fr"
    assert clean_email("mailto:a@b.fr") == "a@b.fr"
    error = refusal(clean_email, "jean.dupont@")
    assert (error.field, error.message) == ("email", "Adresse e-mail « jean.dupont@ » invalide.")


def test_clean_postcode():
    assert clean_postcode("59000") == "59000"
    assert clean_postcode("1000") == "01000"  # a number cell lost the 0 of the Ain
    assert clean_postcode("B-1000", "BE") == "B-1000"
    assert refusal(clean_postcode, "590").message == "Code postal « 590 » invalide (5 chiffres)."


def test_check_address_normalises_and_refuses():
    cleaned, errors = check_address(
        {"street": " 2  rue du Port ", "postcode": "6000", "city": "Nice", "country": "fr"}
    )
    assert cleaned == {
        "label": "",
        "street": "2 rue du Port",
        "postcode": "06000",
        "city": "Nice",
        "country": "FR",
    }
    assert errors == []
    _cleaned, errors = check_address({"postcode": "75", "country": "France"})
    assert [error.message for error in errors] == ["Pays : un code de deux lettres comme FR."]
