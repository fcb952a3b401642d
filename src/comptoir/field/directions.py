"""One-tap navigation to an appointment: Apple Plans, Google Maps and Waze links.

A link carries the coordinates when the agenda's geocoding cache has them (the
apps then need no guess), else the address as typed, percent-encoded (a space is
%20, a comma %2C, "&" %26: an address never breaks the link).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from comptoir.agenda import geocoding

APPLE = "https://maps.apple.com/"
GOOGLE = "https://www.google.com/maps/dir/"
WAZE = "https://waze.com/ul"


@dataclass(frozen=True)
class Directions:
    apple: str
    google: str
    waze: str


def _query(params: dict[str, str]) -> str:
    return urlencode(params, quote_via=quote)  # quote with safe="": every reserved character


def to_point(latitude: float, longitude: float) -> Directions:
    point = f"{latitude:.6f},{longitude:.6f}"
    return Directions(
        apple=f"{APPLE}?daddr={point}",
        google=f"{GOOGLE}?api=1&destination={point}",
        waze=f"{WAZE}?ll={point}&navigate=yes",
    )


def to_address(address: str) -> Directions | None:
    text = " ".join(address.split())
    if not text:
        return None
    return Directions(
        apple=f"{APPLE}?{_query({'daddr': text})}",
        google=f"{GOOGLE}?{_query({'api': '1', 'destination': text})}",
        waze=f"{WAZE}?{_query({'q': text, 'navigate': 'yes'})}",
    )


@dataclass(frozen=True)
class Lookup:
    """Directions by address, and the addresses the geocoder has not answered yet."""

    directions: dict[str, Directions | None]
    missing: list[str]


def for_addresses(addresses: Iterable[str]) -> Lookup:
    """Directions to each address; one query to the geocoding cache."""
    wanted = [address for address in dict.fromkeys(addresses) if address]
    known = geocoding.cached(wanted)
    found: dict[str, Directions | None] = {}
    for address in wanted:
        row = known.get(geocoding.address_key(address))
        if row is not None and row.latitude is not None and row.longitude is not None:
            found[address] = to_point(row.latitude, row.longitude)
        else:
            found[address] = to_address(address)
    missing = sorted(address for address in wanted if geocoding.needs_lookup(address, known))
    return Lookup(found, missing)
