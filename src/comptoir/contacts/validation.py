"""Checking and normalising what people type or import for a contact.

Company identifiers are checked with python-stdnum: SIREN and SIRET (Luhn key,
with La Poste's exception), and VAT numbers of every EU country (French ones
carry the SIREN). Each check returns the compact form that is stored, or raises
`FieldError` whose message names the field and the value, in words a French
user understands ("SIRET 12345678900000 invalide (clé de contrôle incorrecte).").
Nothing here touches the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_errors
from stdnum.eu import vat as eu_vat
from stdnum.fr import siren as fr_siren
from stdnum.fr import siret as fr_siret

from comptoir.contacts.models import Contact, ContactAddress, ContactChannel


@dataclass(frozen=True)
class FieldError(Exception):
    """One wrong value: which field, and a message that names it."""

    field: str
    message: str

    def __str__(self) -> str:
        return self.message


def _reason(exc: stdnum_errors.ValidationError, digits: int | None) -> str:
    if isinstance(exc, stdnum_errors.InvalidChecksum):
        return _("wrong check digit")
    if isinstance(exc, stdnum_errors.InvalidLength) and digits:
        return _("%(count)d digits expected") % {"count": digits}
    if isinstance(exc, stdnum_errors.InvalidComponent):
        return _("unknown country code")
    if digits:
        return _("digits only")
    return _("wrong format")


def clean_siren(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    try:
        return str(fr_siren.validate(value))
    except stdnum_errors.ValidationError as exc:
        raise FieldError(
            "siren",
            _("SIREN %(value)s is not valid (%(reason)s).")
            % {"value": value, "reason": _reason(exc, 9)},
        ) from None


def clean_siret(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    try:
        return str(fr_siret.validate(value))
    except stdnum_errors.ValidationError as exc:
        raise FieldError(
            "siret",
            _("SIRET %(value)s is not valid (%(reason)s).")
            % {"value": value, "reason": _reason(exc, 14)},
        ) from None


def clean_vat(value: str) -> str:
    """An EU VAT number, stored compact and upper-case: "fr 40 303265045" → "FR40303265045"."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        return str(eu_vat.validate(value))
    except stdnum_errors.ValidationError as exc:
        raise FieldError(
            "vat_number",
            _("VAT number %(value)s is not valid (%(reason)s).")
            % {"value": value, "reason": _reason(exc, None)},
        ) from None


_NOT_DIGIT = re.compile(r"[^0-9]")
_FOUR_DIGITS = re.compile(r"[0-9]{4}")
_FIVE_DIGITS = re.compile(r"[0-9]{5}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_PHONE_CHARS = re.compile(r"^[0-9+()./\s-]+\Z")


def phone_digits(value: str) -> str:
    """The digits that identify a phone line, to find duplicates.

    "+33 6 12 34 56 78", "0033612345678" and "06.12.34.56.78" are the same line:
    French numbers are brought to their national form (10 digits from 0), and a
    9-digit number is a French number whose leading 0 a spreadsheet dropped.
    """
    digits = _NOT_DIGIT.sub("", value or "")
    national = None
    if digits.startswith("0033"):
        national = digits[4:]
    elif digits.startswith("33") and (value or "").lstrip().startswith("+"):
        national = digits[2:]
    if national is not None:  # "+33 (0)6 …" writes the national 0 too
        digits = national if national.startswith("0") and len(national) == 10 else "0" + national
    if len(digits) == 9 and digits[0] != "0":
        digits = "0" + digits
    return digits


def clean_phone(value: str, field: str = "phone") -> str:
    """A phone number as typed (spaces tidied), if it looks like one: 6 to 15 digits."""
    value = " ".join((value or "").split())
    if not value:
        return ""
    digits = _NOT_DIGIT.sub("", value)
    if not _PHONE_CHARS.match(value) or not 6 <= len(digits) <= 15:
        raise FieldError(field, _("Phone number “%(value)s” is not valid.") % {"value": value})
    if len(digits) == 9 and digits == value and digits[0] != "0":
        return "0" + digits  # a spreadsheet cell that lost the leading 0
    return value


def clean_email(value: str, field: str = "email") -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if value.lower().startswith("mailto:"):
        value = value[7:]
    try:
        validate_email(value)
    except ValidationError:
        raise FieldError(
            field, _("E-mail address “%(value)s” is not valid.") % {"value": value}
        ) from None
    local, _at, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def clean_postcode(value: str, country: str = "FR") -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if country.upper() == "FR":
        if _FOUR_DIGITS.fullmatch(value):
            value = "0" + value  # 1000 in a spreadsheet was 01000
        if not _FIVE_DIGITS.fullmatch(value):
            raise FieldError(
                "postcode", _("Postcode “%(value)s” is not valid (5 digits).") % {"value": value}
            )
    return value


# --- whole records ------------------------------------------------------------

TEXT_FIELDS = ["civility", "first_name", "last_name", "company_name", "notes"]
CONTACT_FIELDS = [
    "kind",
    "category",
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
]
ADDRESS_FIELDS = ["label", "street", "postcode", "city", "country"]
CHANNEL_FIELDS = ["kind", "label", "value"]


def field_label(model: Any, name: str) -> str:
    return str(model._meta.get_field(name).verbose_name)


def _check_length(model: Any, name: str, value: str) -> None:
    limit = model._meta.get_field(name).max_length
    if limit and len(value) > limit:
        raise FieldError(
            name,
            _("%(field)s: %(count)d characters at most (%(given)d given).")
            % {"field": field_label(model, name).capitalize(), "count": limit, "given": len(value)},
        )


def check_contact(fields: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """Every field of a contact checked and normalised; all the errors, not only the first."""
    cleaned: dict[str, Any] = {}
    errors: list[FieldError] = []

    def run(name: str, check: Any, *args: Any) -> None:
        try:
            cleaned[name] = check(*args)
        except FieldError as exc:
            errors.append(exc)

    for name in TEXT_FIELDS:
        if name in fields:
            run(name, _checked, name, str(fields[name] or "").strip())
    if "kind" in fields:
        run("kind", _choice, "kind", fields["kind"], Contact.Kind)
    if "category" in fields:
        run("category", _choice, "category", fields["category"], Contact.Category)
    for name, check in (
        ("siren", clean_siren),
        ("siret", clean_siret),
        ("vat_number", clean_vat),
        ("email", clean_email),
        ("phone", clean_phone),
    ):
        if name in fields:
            run(name, _checked_with, name, check, fields[name])
    errors.extend(consistency_errors(cleaned))
    return cleaned, errors


def _checked(name: str, value: str) -> str:
    _check_length(Contact, name, value)
    return value


def _checked_with(name: str, check: Any, value: Any) -> str:
    return _checked(name, check(str(value or "")))


def _choice(name: str, value: Any, choices: Any) -> str:
    if value not in choices.values:
        raise FieldError(
            name,
            _("%(field)s: unknown value “%(value)s”.")
            % {"field": field_label(Contact, name).capitalize(), "value": value},
        )
    return str(value)


def consistency_errors(cleaned: dict[str, Any]) -> list[FieldError]:
    """A SIRET starts with its company's SIREN."""
    siren, siret = cleaned.get("siren"), cleaned.get("siret")
    if siren and siret and not siret.startswith(siren):
        return [
            FieldError(
                "siret",
                _("SIRET %(siret)s does not belong to SIREN %(siren)s.")
                % {"siret": siret, "siren": siren},
            )
        ]
    return []


def check_address(data: dict[str, Any]) -> tuple[dict[str, str], list[FieldError]]:
    cleaned = {name: " ".join(str(data.get(name) or "").split()) for name in ADDRESS_FIELDS}
    cleaned["country"] = (cleaned["country"] or "FR").upper()
    if not _COUNTRY.fullmatch(cleaned["country"]):
        return cleaned, [FieldError("country", _("Country: a two-letter code such as FR."))]
    errors = []
    try:
        cleaned["postcode"] = clean_postcode(cleaned["postcode"], cleaned["country"])
    except FieldError as exc:
        errors.append(exc)
    for name in ("label", "street", "postcode", "city"):
        try:
            _check_length(ContactAddress, name, cleaned[name])
        except FieldError as exc:
            errors.append(exc)
    return cleaned, errors


def check_channel(data: dict[str, Any]) -> tuple[dict[str, str], list[FieldError]]:
    kind = str(data.get("kind") or "")
    cleaned = {
        "kind": kind,
        "label": " ".join(str(data.get("label") or "").split()),
        "value": str(data.get("value") or "").strip(),
    }
    errors: list[FieldError] = []
    try:
        if kind == ContactChannel.Kind.EMAIL:
            cleaned["value"] = clean_email(cleaned["value"], "channels")
        elif kind == ContactChannel.Kind.PHONE:
            cleaned["value"] = clean_phone(cleaned["value"], "channels")
        else:
            raise FieldError(
                "channels",
                _("%(field)s: unknown value “%(value)s”.")
                % {"field": field_label(ContactChannel, "kind").capitalize(), "value": kind},
            )
        if not cleaned["value"]:
            raise FieldError("channels", _("Enter the e-mail address or phone number."))
        _check_length(ContactChannel, "label", cleaned["label"])
    except FieldError as exc:
        errors.append(exc)
    return cleaned, errors


def has_address(data: dict[str, Any]) -> bool:
    return any(str(data.get(name) or "").strip() for name in ("street", "postcode", "city"))
