"""French business identifiers, checked with python-stdnum: SIREN, SIRET, VAT, NAF, IBAN, BIC;
and the accounting codes of the company profile (journals, customer account prefix)."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from stdnum import bic as swift_bic
from stdnum import iban as iso_iban
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as NumberError
from stdnum.fr import siren as fr_siren
from stdnum.fr import siret as fr_siret

NAF_PATTERN = re.compile(r"^(\d{2})\.?(\d{2})([A-Z])\Z")
JOURNAL_PATTERN = re.compile(r"^[A-Z0-9]{1,6}\Z")
ACCOUNT_PATTERN = re.compile(r"^[A-Z0-9]{1,10}\Z")


class InvalidIdentifier(ValueError):
    """The message says what is wrong, in the user's language."""


def clean_siren(raw: str) -> str:
    if not raw.strip():
        return ""
    try:
        return str(fr_siren.validate(raw))
    except NumberError:
        raise InvalidIdentifier(
            _("“%(value)s” is not a valid SIREN: 9 digits whose check digit matches.")
            % {"value": raw.strip()}
        ) from None


def clean_siret(raw: str) -> str:
    if not raw.strip():
        return ""
    try:
        return str(fr_siret.validate(raw))
    except NumberError:
        raise InvalidIdentifier(
            _(
                "“%(value)s” is not a valid SIRET: 14 digits (SIREN + NIC) "
                "whose check digit matches."
            )
            % {"value": raw.strip()}
        ) from None


def clean_vat(raw: str) -> str:
    """An EU VAT number (FR12345678901), compact and upper-case."""
    if not raw.strip():
        return ""
    try:
        return str(eu_vat.validate(raw)).upper()
    except NumberError:
        raise InvalidIdentifier(
            _(
                "“%(value)s” is not a valid VAT number (for France: FR, "
                "a 2-digit key and the SIREN)."
            )
            % {"value": raw.strip()}
        ) from None


def vat_siren(vat: str) -> str | None:
    """The SIREN inside a French VAT number, None for another country's."""
    return vat[4:] if vat.startswith("FR") and len(vat) == 13 else None


def clean_naf(raw: str) -> str:
    """A NAF (APE) code in INSEE's form: 71.20B."""
    value = re.sub(r"\s", "", raw).upper()
    if not value:
        return ""
    match = NAF_PATTERN.match(value)
    if match is None:
        raise InvalidIdentifier(
            _("“%(value)s” is not a NAF code: 4 digits and a letter, such as 71.20B.")
            % {"value": raw.strip()}
        )
    return "{}.{}{}".format(*match.groups())


def clean_iban(raw: str) -> str:
    """An IBAN in its compact, upper-case form (FR7630006000011234567890189)."""
    if not raw.strip():
        return ""
    try:
        return str(iso_iban.validate(raw))
    except NumberError:
        raise InvalidIdentifier(
            _(
                "“%(value)s” is not a valid IBAN: check the country code, the two-digit key "
                "and the length (27 characters for France)."
            )
            % {"value": raw.strip()}
        ) from None


def format_iban(value: str) -> str:
    """FR76 3000 6000 0112 3456 7890 189."""
    return str(iso_iban.format(value))


def clean_bic(raw: str) -> str:
    """A BIC (SWIFT code) in its compact, upper-case form: 8 or 11 characters."""
    if not raw.strip():
        return ""
    try:
        return str(swift_bic.validate(raw))
    except NumberError:
        raise InvalidIdentifier(
            _(
                "“%(value)s” is not a valid BIC: 8 or 11 letters and digits "
                "(bank, country, place, branch), such as BNPAFRPPXXX."
            )
            % {"value": raw.strip()}
        ) from None


def clean_journal_code(raw: str) -> str:
    """An accounting journal's code: 1 to 6 letters or digits (VE, BQ, HA…)."""
    value = re.sub(r"\s", "", raw).upper()
    if value and not JOURNAL_PATTERN.match(value):
        raise InvalidIdentifier(
            _("“%(value)s” is not a journal code: 1 to 6 letters or digits, such as VE.")
            % {"value": raw.strip()}
        )
    return value


def clean_account_prefix(raw: str) -> str:
    """The start of the customer accounts: 1 to 10 letters or digits (411, C…)."""
    value = re.sub(r"\s", "", raw).upper()
    if value and not ACCOUNT_PATTERN.match(value):
        raise InvalidIdentifier(
            _("“%(value)s” is not an account prefix: 1 to 10 letters or digits, such as 411.")
            % {"value": raw.strip()}
        )
    return value
