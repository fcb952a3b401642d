"""Pure rules: French amounts, business identifiers, expiry windows, secret encryption."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from comptoir.company import crypto
from comptoir.company.expiry import EXPIRY_WARNING_DAYS, ExpiryState, expiry_state
from comptoir.company.formatting import euros, french_number, percent
from comptoir.company.identifiers import (
    InvalidIdentifier,
    clean_naf,
    clean_siren,
    clean_siret,
    clean_vat,
    vat_siren,
)
from tests.helpers import fr

NNBSP, NBSP = "\u202f", "\u00a0"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1234.5"), f"1{NNBSP}234,50{NBSP}€"),
        (Decimal("150"), f"150,00{NBSP}€"),
        (Decimal("0"), f"0,00{NBSP}€"),
        (Decimal("1234567.891"), f"1{NNBSP}234{NNBSP}567,89{NBSP}€"),
        (Decimal("-25.5"), f"-25,50{NBSP}€"),
        (None, ""),
    ],
)
def test_euros_in_french(value, expected):
    assert euros(value) == expected


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        (Decimal("20.00"), f"20{NBSP}%"),
        (Decimal("5.50"), f"5,5{NBSP}%"),
        (Decimal("2.10"), f"2,1{NBSP}%"),
        (Decimal("0.00"), f"0{NBSP}%"),
    ],
)
def test_vat_rates_in_french(rate, expected):
    assert percent(rate) == expected


@given(
    st.decimals(
        min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False
    )
)
def test_french_numbers_read_back(value):
    text = french_number(value)
    assert Decimal(text.replace(NNBSP, "").replace(",", ".")) == value
    assert all(len(group) == 3 for group in text.lstrip("-").split(",")[0].split(NNBSP)[1:])


def test_identifiers_are_compacted():
    assert clean_siret("732 829 320 00074") == "73282932000074"
    assert clean_siren("732 829 320") == "732829320"
    assert clean_vat("fr 40 303 265 045") == "FR40303265045"
    assert vat_siren("FR40303265045") == "303265045"
    assert vat_siren("DE136695976") is None
    assert clean_naf("7120b") == "71.20B"
    assert clean_naf(" 71.20 B ") == "71.20B"
    assert clean_siret("") == clean_vat("  ") == clean_naf("") == ""


SIRET_RULE = "“%(value)s” is not a valid SIRET: 14 digits (SIREN + NIC) whose check digit matches."


@pytest.mark.parametrize(
    ("clean", "raw", "message"),
    [
        (clean_siret, "73282932000075", SIRET_RULE),
        (clean_siret, "1234", SIRET_RULE),
        (
            clean_siren,
            "732829321",
            "“%(value)s” is not a valid SIREN: 9 digits whose check digit matches.",
        ),
        (
            clean_vat,
            "FR41303265045",
            "“%(value)s” is not a valid VAT number (for France: FR, a 2-digit key and the SIREN).",
        ),
        (
            clean_naf,
            "7120",
            "“%(value)s” is not a NAF code: 4 digits and a letter, such as 71.20B.",
        ),
    ],
)
def test_bad_identifiers_say_what_is_wrong(clean, raw, message):
    with pytest.raises(InvalidIdentifier) as refused:
        clean(raw)
    assert str(refused.value) == fr(message) % {"value": raw}


def test_expiry_states_around_the_warning_window():
    today = date(2026, 11, 22)
    assert EXPIRY_WARNING_DAYS == 60
    assert expiry_state(None, today) is ExpiryState.NONE
    assert expiry_state(date(2026, 11, 21), today) is ExpiryState.EXPIRED
    assert expiry_state(today, today) is ExpiryState.SOON
    assert expiry_state(date(2027, 1, 21), today) is ExpiryState.SOON  # day 60
    assert expiry_state(date(2027, 1, 22), today) is ExpiryState.OK  # day 61


def test_encryption_round_trip_and_no_plaintext():
    token = crypto.encrypt("Mot de passe très secret")
    assert "secret" not in token and "Mot" not in token
    assert token != crypto.encrypt("Mot de passe très secret")  # a fresh IV each time
    assert crypto.decrypt(token) == "Mot de passe très secret"


def test_a_rotated_secret_key_still_decrypts_then_a_lost_one_does_not(settings):
    token = crypto.encrypt("hunter2-smtp")
    old_key = settings.SECRET_KEY
    with override_settings(SECRET_KEY="n" * 60, SECRET_KEY_FALLBACKS=[old_key]):
        assert crypto.decrypt(token) == "hunter2-smtp"
    with (
        override_settings(SECRET_KEY="n" * 60, SECRET_KEY_FALLBACKS=[]),
        pytest.raises(crypto.UnreadableSecret) as refused,
    ):
        crypto.decrypt(token)
    assert refused.value.message == fr(
        "The stored password can no longer be read (the server's secret key changed): enter "
        "the password again."
    )
