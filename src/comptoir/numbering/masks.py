"""Number masks: what they may contain, how a number is made from one. No database here.

Codes: `%AAAA%` year, `%AA%` two-digit year, `%MM%` month, `%JJ%` day,
`%OPE%` the operator's initials, `%N%` the counter padded with zeros to the
series' width. Anything else is taken as written: letters, digits, "-", "_"
and "." (a dossier number also names the dossier's folder on the stations).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

from comptoir.core.errors import DomainError
from comptoir.numbering.models import Kind, Reset

YEAR, SHORT_YEAR, MONTH, DAY, OPERATOR, COUNTER = "%AAAA%", "%AA%", "%MM%", "%JJ%", "%OPE%", "%N%"
CODES = (YEAR, SHORT_YEAR, MONTH, DAY, OPERATOR, COUNTER)
CODE_PATTERN = re.compile(r"%(AAAA|AA|MM|JJ|OPE|N)%")
LITERAL_PATTERN = re.compile(r"^[A-Za-z0-9._-]*\Z")

MAX_NUMBER_LENGTH = 30  # Dossier.number and IssuedNumber.number
MAX_MASK_LENGTH = 40
MIN_WIDTH, MAX_WIDTH = 1, 12
MAX_COUNTER = 999_999_999  # counters and offsets stay below this
MAX_OPERATOR_LENGTH = 5


@dataclass(frozen=True)
class Defaults:
    mask: str
    width: int
    reset: str


DEFAULTS: dict[str, Defaults] = {
    # exactly the dossier numbers Comptoir gave before series existed: 2026-00042
    Kind.DOSSIER: Defaults(f"{YEAR}-{COUNTER}", 5, Reset.YEARLY),
    Kind.QUOTE: Defaults(f"D{YEAR}-{COUNTER}", 5, Reset.YEARLY),
    Kind.INVOICE: Defaults(f"F{YEAR}-{COUNTER}", 5, Reset.YEARLY),
}


def period_of(reset: str, day: date) -> str:
    """The counter's period for a date: "2026", "2026-03", or "" when it never restarts."""
    if reset == Reset.YEARLY:
        return f"{day.year:04d}"
    if reset == Reset.MONTHLY:
        return f"{day.year:04d}-{day.month:02d}"
    return ""


def uses_operator(mask: str) -> bool:
    return OPERATOR in mask


def clean_operator(raw: str | None) -> str:
    """Initials as they go in a number: letters and digits, upper case, accents removed."""
    if not raw:
        return ""
    folded = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
    return "".join(char for char in folded if char.isalnum()).upper()[:MAX_OPERATOR_LENGTH]


def render(mask: str, *, day: date, counter: int, width: int, operator: str | None = None) -> str:
    """The number for `counter` on `day`; `%OPE%` stays as it is when no operator is given
    (a preview); `check_operator` refuses that before a number is really given."""
    values = {
        "AAAA": f"{day.year:04d}",
        "AA": f"{day.year % 100:02d}",
        "MM": f"{day.month:02d}",
        "JJ": f"{day.day:02d}",
        "OPE": operator or OPERATOR,
        "N": f"{counter:0{width}d}",
    }
    return CODE_PATTERN.sub(lambda match: values[match.group(1)], mask)


def check_operator(mask: str, raw: str | None) -> str:
    """The operator's initials for a number of this mask; refused when the mask needs them
    and none are given."""
    operator = clean_operator(raw)
    if uses_operator(mask) and not operator:
        raise DomainError(
            _(
                "This numbering puts the operator's initials in the number (%(code)s): "
                "choose the technician or give the operator's initials."
            )
            % {"code": OPERATOR},
            code="operator_required",
            details={"field": "operator"},
        )
    return operator


def _mask_error(message: str) -> DomainError:
    return DomainError(message, code="invalid_mask", details={"field": "mask"})


def check_series(kind: str, mask: str, width: int, reset: str, offset: int) -> None:
    """Refuse a series whose numbers could repeat or could not be used as names."""
    if kind not in Kind.values:
        raise DomainError(_("Unknown numbering series."), code="unknown_series")
    if reset not in Reset.values:
        raise DomainError(
            _("Choose when the counter restarts."),
            code="invalid_reset",
            details={"field": "reset"},
        )
    if isinstance(width, bool) or not MIN_WIDTH <= width <= MAX_WIDTH:
        raise DomainError(
            _("The counter width must be between %(low)s and %(high)s digits.")
            % {"low": MIN_WIDTH, "high": MAX_WIDTH},
            code="invalid_width",
            details={"field": "width"},
        )
    if isinstance(offset, bool) or not 0 <= offset < MAX_COUNTER:
        raise DomainError(
            _("The starting offset must be between 0 and %(high)s.") % {"high": MAX_COUNTER - 1},
            code="invalid_offset",
            details={"field": "offset"},
        )
    check_mask(kind, mask, reset, width)


def check_mask(kind: str, mask: str, reset: str, width: int) -> None:
    if not mask.strip():
        raise _mask_error(_("The mask is empty."))
    if len(mask) > MAX_MASK_LENGTH:
        raise _mask_error(
            _("The mask is longer than %(count)s characters.") % {"count": MAX_MASK_LENGTH}
        )
    literal = CODE_PATTERN.sub("", mask)
    if "%" in literal:
        raise _mask_error(
            _("The mask holds an unknown code. The codes are: %(codes)s.")
            % {"codes": ", ".join(CODES)}
        )
    if not LITERAL_PATTERN.match(literal):
        raise _mask_error(
            _(
                "Besides its codes, the mask may only hold letters without accents, digits, "
                "“-”, “_” and “.” (a dossier number also names its folder)."
            )
        )
    codes = CODE_PATTERN.findall(mask)
    if codes.count("N") != 1:
        raise _mask_error(
            _("The mask must hold the counter %(code)s exactly once.") % {"code": COUNTER}
        )
    has_year = "AAAA" in codes or "AA" in codes
    if reset == Reset.MONTHLY and not (has_year and "MM" in codes):
        raise _mask_error(
            _(
                "The counter restarts every month: the mask must hold the month (%(month)s) "
                "and the year (%(year)s or %(short)s), otherwise numbers would repeat."
            )
            % {"month": MONTH, "year": YEAR, "short": SHORT_YEAR}
        )
    if reset == Reset.YEARLY and not has_year:
        raise _mask_error(
            _(
                "The counter restarts every year: the mask must hold the year "
                "(%(year)s or %(short)s), otherwise numbers would repeat."
            )
            % {"year": YEAR, "short": SHORT_YEAR}
        )
    if kind == Kind.INVOICE and "OPE" in codes:
        raise _mask_error(
            _(
                "Invoice numbers cannot hold the operator (%(code)s): they form one "
                "continuous series for the whole company."
            )
            % {"code": OPERATOR}
        )
    longest = render(
        mask,
        day=date(2000, 12, 31),
        counter=10**width - 1,
        width=width,
        operator="X" * MAX_OPERATOR_LENGTH,
    )
    if len(longest) > MAX_NUMBER_LENGTH:
        raise _mask_error(
            _("Numbers made by this mask would be longer than %(count)s characters.")
            % {"count": MAX_NUMBER_LENGTH}
        )
