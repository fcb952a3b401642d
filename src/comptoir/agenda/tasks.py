"""Background jobs of the agenda: geocoding addresses, sending the evening e-mail.

Both are idempotent: the geocoding cache is keyed by address, and a digest is
sent only by the run that moves its row from QUEUED to SENDING.
"""

from __future__ import annotations

from django_tasks import task

from comptoir.agenda import digest, geocoding


@task()
def geocode_addresses(addresses: list[str]) -> int:
    """Fill the geocoding cache for these addresses; returns how many are located."""
    geocoder = geocoding.get_geocoder()
    if geocoder is None:
        return 0
    located = 0
    for address in addresses[:200]:
        row = geocoding.geocode(address, geocoder)
        if row is not None and row.latitude is not None:
            located += 1
    return located


@task()
def send_digest(delivery_id: int) -> str:
    """Send one claimed evening e-mail (see comptoir.agenda.digest)."""
    return digest.deliver(delivery_id)
