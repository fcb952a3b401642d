"""Addresses to coordinates, for the day's map: a pluggable geocoder and a database cache.

The geocoder is the French national address API (Base Adresse Nationale) by
default: `COMPTOIR_GEOCODER_URL` (empty disables geocoding; tests point it at a
fake server on loopback). Another service plugs in with `COMPTOIR_GEOCODER`, the
dotted path of a class taking the URL and offering `locate(address)`.

Pages never wait for the geocoder: they read the cache (`cached`) and queue the
missing addresses for the background task (`tasks.geocode_addresses`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, Protocol

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from comptoir.agenda.models import GeocodedAddress
from comptoir.core.text import fold

logger = logging.getLogger(__name__)

KEY_LENGTH = 300
# An address the geocoder did not know is asked again after this long (it may
# have been added to the national base since).
RETRY_NOT_FOUND = timedelta(days=7)
QUEUED_FOR = timedelta(minutes=10)  # an address queued is not queued again before
MIN_SCORE = 0.4  # the national API's relevance score below which a match is a guess
_NOT_WORD = re.compile(r"[^\w]+")
_DEFAULT = "comptoir.agenda.geocoding.BanGeocoder"


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    label: str
    score: float | None = None


class GeocoderUnavailable(Exception):
    """The service did not answer usefully (network, 5xx, malformed): try again later."""


class Geocoder(Protocol):
    def locate(self, address: str) -> Location | None:
        """The best match, None when the address is unknown; GeocoderUnavailable otherwise."""


def address_key(address: str) -> str:
    """ "12, Rue  Esquermoise – 59000 LILLE" and "12 rue esquermoise 59000 lille" are one key."""
    return _NOT_WORD.sub(" ", fold(address)).strip()[:KEY_LENGTH]


class BanGeocoder:
    """The national address API (api-adresse.data.gouv.fr): GeoJSON, best match first."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout

    def locate(self, address: str) -> Location | None:
        query = urllib.parse.urlencode({"q": address[:200], "limit": 1})
        separator = "&" if "?" in self.url else "?"
        request = urllib.request.Request(  # noqa: S310  (the URL is the operator's setting)
            f"{self.url}{separator}{query}", headers={"Accept": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = json.loads(response.read(1_000_000))
        except urllib.error.HTTPError as exc:
            if exc.code == 400:  # a query the API finds too short or malformed: unknown
                return None
            raise GeocoderUnavailable(f"HTTP {exc.code}") from exc
        except (OSError, ValueError) as exc:
            raise GeocoderUnavailable(str(exc)) from exc
        return _best_match(body)


def _best_match(body: Any) -> Location | None:
    try:
        features = body["features"]
        if not features:
            return None
        feature = features[0]
        longitude, latitude = feature["geometry"]["coordinates"][:2]
        properties = feature.get("properties") or {}
        score = properties.get("score")
        location = Location(
            latitude=float(latitude),
            longitude=float(longitude),
            label=str(properties.get("label") or "")[:300],
            score=float(score) if score is not None else None,
        )
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise GeocoderUnavailable(f"unexpected answer: {exc}") from exc
    if not (-90 <= location.latitude <= 90 and -180 <= location.longitude <= 180):
        raise GeocoderUnavailable("coordinates out of range")
    if location.score is not None and location.score < MIN_SCORE:
        return None
    return location


def get_geocoder() -> Geocoder | None:
    """The configured geocoder, or None when geocoding is switched off."""
    url = getattr(settings, "COMPTOIR_GEOCODER_URL", "")
    if not url:
        return None
    factory = import_string(getattr(settings, "COMPTOIR_GEOCODER", "") or _DEFAULT)
    return factory(url)  # type: ignore[no-any-return]


def cached(addresses: Iterable[str]) -> dict[str, GeocodedAddress]:
    """The cache's answers for these addresses, by address key (missing ones left out)."""
    keys = {address_key(address) for address in addresses if address_key(address)}
    return {row.key: row for row in GeocodedAddress.objects.filter(key__in=keys)}


def look_up_later(addresses: Iterable[str]) -> None:
    """Queue the background lookup of these addresses once the transaction commits, each
    at most once per QUEUED_FOR: pages shown again and again before the answer comes, or
    while the geocoder is down, do not pile up tasks."""
    wanted = [address for address in dict.fromkeys(addresses) if address_key(address)]
    if wanted and get_geocoder() is not None:
        transaction.on_commit(partial(_enqueue, wanted))


def _enqueue(addresses: list[str]) -> None:
    from comptoir.agenda.tasks import geocode_addresses

    fresh = [
        address
        for address in addresses
        if cache.add(
            "comptoir:geocode-queued:" + hashlib.sha256(address_key(address).encode()).hexdigest(),
            True,
            QUEUED_FOR.total_seconds(),
        )
    ]
    if fresh:
        geocode_addresses.enqueue(fresh)


def needs_lookup(address: str, known: dict[str, GeocodedAddress]) -> bool:
    key = address_key(address)
    if not key:
        return False
    row = known.get(key)
    if row is None:
        return True
    return (
        row.outcome == GeocodedAddress.Outcome.NOT_FOUND
        and row.fetched_at < timezone.now() - RETRY_NOT_FOUND
    )


def geocode(address: str, geocoder: Geocoder | None = None) -> GeocodedAddress | None:
    """The cached answer, asking the geocoder first when needed; None if it is unavailable.

    Safe to run twice at once: the key is unique, the second writer keeps the first's row.
    """
    key = address_key(address)
    if not key:
        return None
    known = cached([address])
    if not needs_lookup(address, known):
        return known[key]
    geocoder = geocoder or get_geocoder()
    if geocoder is None:
        return known.get(key)
    try:
        found = geocoder.locate(address)
    except GeocoderUnavailable as exc:
        logger.warning("geocoding %r failed: %s", key, exc)
        return known.get(key)
    values: dict[str, Any] = {
        "outcome": GeocodedAddress.Outcome.FOUND if found else GeocodedAddress.Outcome.NOT_FOUND,
        "latitude": found.latitude if found else None,
        "longitude": found.longitude if found else None,
        "label": found.label if found else "",
        "score": found.score if found else None,
        "fetched_at": timezone.now(),
    }
    try:
        with transaction.atomic():
            row, _created = GeocodedAddress.objects.update_or_create(key=key, defaults=values)
    except IntegrityError:  # created by a concurrent task in the meantime
        return GeocodedAddress.objects.filter(key=key).first()
    return row
