"""Text helpers shared by every app: search keys without accents or case."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lowercase, without accents, single spaces: "Élodie  Müller" → "elodie muller"."""
    bare = unicodedata.normalize("NFKD", text)
    if not bare.isascii():  # no ASCII character is a combining one: most texts skip this
        bare = "".join(char for char in bare if not unicodedata.combining(char))
    return _SPACES.sub(" ", bare.casefold()).strip()


def search_key(*parts: object) -> str:
    return fold(" ".join(str(part) for part in parts if part not in (None, "")))
