"""A station reaches the dossiers its account may see: a technician on “own dossiers”
(or without web access) gets those assigned to them plus those the station holds,
through every station call (feed, fetch, push, conflicts, resolve)."""

from __future__ import annotations

from typing import Any

import pytest

from comptoir.dossiers import exchange
from comptoir.dossiers.models import Dossier, DossierRevision
from comptoir.sync import configure
from comptoir.sync.models import Station
from tests.agenda.factories import a_dossier
from tests.conftest import Persona, nothing_changes
from tests.sync.conftest import StationClient, document, item, pair_station


def fetch_missing(station: StationClient) -> None:
    configure.set_station_options(
        Station.objects.get(public_id=station.station_id),
        {"fetch_missing": True},
        own_settings=True,
        admin_password=None,
        actor=None,
    )


def feed_ids(station: StationClient) -> set[str]:
    response = station.get("changes?since=0&limit=1000")
    assert response.status_code == 200, response.content
    return {entry["id"] for entry in response.json()["results"]}


def fetched_ids(station: StationClient, *dossiers: Dossier) -> set[str]:
    response = station.post("dossiers/fetch", {"ids": [str(d.public_id) for d in dossiers]})
    assert response.status_code == 200, response.content
    return {entry["id"] for entry in response.json()["dossiers"]}


def head(dossier: Dossier) -> dict[str, Any]:
    """The dossier's head document, given a revision when it never had one."""
    dossier.refresh_from_db()
    if not dossier.revision:
        exchange.touch(dossier, source="hub")
        dossier.refresh_from_db()
    return exchange.head_document(dossier)


@pytest.fixture
def dossiers(people: dict[str, Persona]) -> dict[str, Dossier]:
    return {
        "mine": a_dossier(people, people["tech_own"].member),
        "theirs": a_dossier(people, people["tech_all"].member),
        "nobody": a_dossier(people),
    }


@pytest.mark.parametrize("persona", ["tech_own", "tech_station"])
def test_a_restricted_station_hears_and_fetches_only_its_technicians_dossiers(
    people, dossiers, persona
):
    if persona == "tech_station":
        for dossier in dossiers.values():
            Dossier.objects.filter(pk=dossier.pk, technician=people["tech_own"].member).update(
                technician=people["tech_station"].member
            )
    station = pair_station(people, "Tablette", persona)
    fetch_missing(station)
    mine = str(dossiers["mine"].public_id)
    assert feed_ids(station) == {mine}
    assert fetched_ids(station, *dossiers.values()) == {mine}


def test_a_station_that_sees_everything_still_gets_everything(people, dossiers):
    station = pair_station(people, "PC bureau", "tech_all")
    fetch_missing(station)
    every = {str(d.public_id) for d in dossiers.values()}
    assert feed_ids(station) == every
    assert fetched_ids(station, *dossiers.values()) == every


def test_a_dossier_the_station_made_stays_its_own_whoever_it_is_assigned_to(people, dossiers):
    station = pair_station(people, "Tablette", "tech_own")
    doc = document("2026-00900")
    assert station.push(item(doc)).json()["results"][0]["status"] == "accepted"
    made = Dossier.objects.get(public_id=doc["id"])
    Dossier.objects.filter(pk=made.pk).update(technician=people["tech_all"].member)
    assert fetched_ids(station, made) == {doc["id"]}
    assert doc["id"] in feed_ids(station)


def test_a_restricted_station_cannot_write_another_technicians_dossier(people, dossiers):
    station = pair_station(people, "Tablette", "tech_own")
    theirs = dossiers["theirs"]
    cloud = head(theirs)
    changed = {**cloud, "custom_fields": {"note": "écrasé"}}
    with nothing_changes():
        answer = station.push(item(changed, theirs.revision))
        assert answer.status_code == 200, answer.content
        result = answer.json()["results"][0]
        assert result["status"] == "rejected" and result["code"] == "not_found"
        # a base that is not the head would otherwise be kept as a conflict revision
        result = station.push(item(changed, "1-" + "0" * 32)).json()["results"][0]
        assert result["code"] == "not_found"
    assert not DossierRevision.objects.filter(dossier=theirs, source__startswith="station:")


def test_a_restricted_station_gets_404_on_another_technicians_conflicts(people, dossiers):
    station = pair_station(people, "Tablette", "tech_own")
    theirs = dossiers["theirs"]
    cloud = head(theirs)
    with nothing_changes():
        answer = station.get(f"dossiers/{theirs.public_id}/conflicts")
        assert answer.status_code == 404
        assert answer.json()["code"] == "not_found"
        answer = station.post(
            f"dossiers/{theirs.public_id}/resolve",
            {"keep": "local", "head_rev": theirs.revision, "document": cloud},
        )
        assert answer.status_code == 404
    mine = dossiers["mine"]
    head(mine)
    assert station.get(f"dossiers/{mine.public_id}/conflicts").status_code == 200


def test_a_restricted_station_writes_its_technicians_dossier(people, dossiers):
    station = pair_station(people, "Tablette", "tech_own")
    mine = dossiers["mine"]
    cloud = head(mine)
    changed = {**cloud, "custom_fields": {"note": "vu sur place"}}
    result = station.push(item(changed, mine.revision)).json()["results"][0]
    assert result["status"] == "accepted", result
