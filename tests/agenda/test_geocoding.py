"""Geocoding through a fake national address API on loopback: asked once, cached by
normalised address, failures leave nothing behind, switched off without a URL."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from comptoir.agenda import geocoding
from comptoir.agenda.models import GeocodedAddress
from comptoir.agenda.tasks import geocode_addresses
from tests.agenda.factories import a_dossier, book, paris, tomorrow


def test_addresses_are_keyed_without_case_accents_or_punctuation():
    assert geocoding.address_key("12, Rue  Esquermoise – 59000 LILLE") == (
        "12 rue esquermoise 59000 lille"
    )
    assert geocoding.address_key("1 place du Théâtre, 59000 Lille") == geocoding.address_key(
        "1 PLACE DU THEATRE 59000 lille"
    )
    assert geocoding.address_key(" , ") == ""


def test_an_address_is_asked_once_then_read_from_the_cache(db, fake_ban):
    found = geocoding.geocode("12, rue Esquermoise, 59000 Lille")
    assert found is not None
    assert (found.outcome, found.latitude, found.longitude, found.label, found.score) == (
        "found",
        50.6386,
        3.0614,
        "12 Rue Esquermoise 59000 Lille",
        0.97,
    )
    again = geocoding.geocode("12 RUE ESQUERMOISE 59000 LILLE")
    assert again is not None and again.pk == found.pk
    assert fake_ban.queries == ["12, rue Esquermoise, 59000 Lille"]


def test_an_unknown_address_is_remembered_and_asked_again_a_week_later(db, fake_ban):
    missing = geocoding.geocode("99 rue Imaginaire, 59000 Lille")
    assert missing is not None
    assert (missing.outcome, missing.latitude) == ("not_found", None)
    geocoding.geocode("99 rue Imaginaire, 59000 Lille")
    assert len(fake_ban.queries) == 1
    GeocodedAddress.objects.update(fetched_at=timezone.now() - timedelta(days=8))
    geocoding.geocode("99 rue Imaginaire, 59000 Lille")
    assert len(fake_ban.queries) == 2
    assert GeocodedAddress.objects.count() == 1


def test_a_failing_service_leaves_nothing_and_a_short_query_is_unknown(db, fake_ban):
    fake_ban.failing = True
    assert geocoding.geocode("12 rue Esquermoise 59000 Lille") is None
    assert GeocodedAddress.objects.count() == 0
    fake_ban.failing = False
    assert geocoding.geocode("12 rue Esquermoise 59000 Lille") is not None
    short = geocoding.geocode("Li")
    assert short is not None and short.outcome == "not_found"


def test_without_a_url_geocoding_is_off(db, settings):
    settings.COMPTOIR_GEOCODER_URL = ""
    assert geocoding.get_geocoder() is None
    assert geocoding.geocode("12 rue Esquermoise 59000 Lille") is None
    assert geocode_addresses.call(["12 rue Esquermoise 59000 Lille"]) == 0
    assert GeocodedAddress.objects.count() == 0


def test_a_new_appointment_has_its_address_located_in_the_background(
    team, fake_ban, django_capture_on_commit_callbacks
):
    dossier = a_dossier(team)
    with django_capture_on_commit_callbacks(execute=True):
        book(team, team["tech_all"].member, paris(tomorrow(), 10), dossier=dossier)
    row = GeocodedAddress.objects.get()
    assert (row.key, row.outcome) == ("12 rue esquermoise 59000 lille", "found")
    assert fake_ban.queries == ["12 rue Esquermoise, 59000 Lille"]


def test_an_address_is_queued_once_while_its_lookup_is_pending(
    db, fake_ban, django_capture_on_commit_callbacks, monkeypatch
):
    """Pages shown again before the answer (or while the geocoder is down) do not pile up
    background lookups; another address still goes, and a rolled-back page queues nothing."""
    from comptoir.agenda import tasks

    queued: list[list[str]] = []

    class Task:
        def enqueue(self, found: list[str]) -> None:
            queued.append(found)

    monkeypatch.setattr(tasks, "geocode_addresses", Task())
    # a page whose transaction never commits queues nothing, and marks nothing either
    geocoding.look_up_later(["12 rue Esquermoise, 59000 Lille"])
    assert queued == []
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            geocoding.look_up_later(["12 rue Esquermoise, 59000 Lille", ""])
    with django_capture_on_commit_callbacks(execute=True):
        geocoding.look_up_later(["12 rue Esquermoise, 59000 Lille", "3 rue de la Monnaie, Lille"])
    assert queued == [["12 rue Esquermoise, 59000 Lille"], ["3 rue de la Monnaie, Lille"]]
