"""The string formats the contacts API publishes whose check digits JSON Schema cannot
express ("siren", "siret", "eu-vat"), as Hypothesis strategies registered with
Schemathesis: the API fuzzer (tests/peers) then draws numbers the API must accept."""

from __future__ import annotations

import schemathesis
from hypothesis import strategies as st
from stdnum import luhn

DIGITS = "0123456789"
OTHER_EU_VAT = [
    "BE0403019261",
    "DE136695976",
    "NL004495445B01",
    "ESA13585625",
    "IT00743110157",
    "LU15027442",
]


def _keyed(prefix: str) -> str:
    return prefix + luhn.calc_check_digit(prefix)


def _spaced(number: str) -> str:
    """How people write them: "732 829 320", "732 829 320 00074"."""
    return " ".join([number[0:3], number[3:6], number[6:9], *([number[9:]] if number[9:] else [])])


SIRENS = st.text(DIGITS, min_size=8, max_size=8).map(_keyed)
SIRETS = st.tuples(SIRENS, st.text(DIGITS, min_size=4, max_size=4)).map(
    lambda parts: _keyed(parts[0] + parts[1])
)
FRENCH_VAT = SIRENS.map(lambda siren: f"FR{int(siren + '12') % 97:02d}{siren}")

FORMATS = {
    "siren": st.one_of(st.just(""), SIRENS, SIRENS.map(_spaced)),
    "siret": st.one_of(st.just(""), SIRETS, SIRETS.map(_spaced)),
    "eu-vat": st.one_of(
        st.just(""), FRENCH_VAT, FRENCH_VAT.map(str.lower), st.sampled_from(OTHER_EU_VAT)
    ),
}


def register() -> None:
    for name, strategy in FORMATS.items():
        schemathesis.openapi.format(name, strategy)
