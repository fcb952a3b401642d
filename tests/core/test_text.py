"""Search keys: lower case, no accents, single spaces (comptoir.core.text)."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from comptoir.core.text import fold, search_key


def reference(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return re.sub(r"\s+", " ", bare.casefold()).strip()


def test_examples():
    assert fold("Élodie  Müller") == "elodie muller"
    assert fold("  14 RUE Esquermoise\t") == "14 rue esquermoise"
    assert fold("Straße ﬁnale") == "strasse finale"  # casefold and compatibility forms
    assert fold("Ça coûte 12,50 €") == "ca coute 12,50 €"
    assert search_key("2026-00042", None, "", "Lille", "Agence du Beffroi") == (
        "2026-00042 lille agence du beffroi"
    )


@given(st.text())
def test_same_as_the_plain_definition(text):
    assert fold(text) == reference(text)


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_text(text):
    assert fold(text) == reference(text)
