"""A station reaches the dossiers its account may see: a technician on “own dossiers”
(or without web access) gets those assigned to them plus those the station holds,
through every station call (feed, fetch, push, conflicts, resolve)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from comptoir.core.models import Organization
from comptoir.dossiers import exchange
from comptoir.dossiers.models import Document, Dossier, DossierRevision
from comptoir.sync import configure, services
from comptoir.sync.models import Station, StationBlob
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


def test_a_restricted_station_updating_in_one_batch_writes_only_what_it_may(people, dossiers):
    station = pair_station(people, "Tablette", "tech_own")
    made = document("2026-00901")
    made_rev = station.push(item(made)).json()["results"][0]["rev"]
    Dossier.objects.filter(public_id=made["id"]).update(technician=people["tech_all"].member)
    mine, theirs = dossiers["mine"], dossiers["theirs"]
    note = {"custom_fields": {"note": "vu sur place"}}
    items = [
        item({**head(mine), **note}, mine.revision),
        item({**head(theirs), **note}, theirs.revision),
        item({**made, **note}, made_rev),  # held by the station: its own
    ]
    results = station.push(*items).json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected", "accepted"]
    assert results[1]["code"] == "not_found"
    assert not DossierRevision.objects.filter(dossier=theirs, source__startswith="station:")
    for public_id in (mine.public_id, made["id"]):
        assert Dossier.objects.get(public_id=public_id).custom_fields == {"note": "vu sur place"}


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


# --- file downloads: blobs/fetch and GET blobs/{sha256} ----------------------------------


@pytest.fixture
def storage(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "files")},
        },
    }


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def give_files(pusher: StationClient, dossier: Dossier, *files: bytes, base: str = "") -> str:
    """`pusher` (a station that sees everything) sends `files` as the dossier's file list,
    on its head or, with another `base`, as a conflict version; gives the push status."""
    assert pusher.batch(list(files)).status_code == 200
    changed = {**head(dossier), "files": document(files=list(files))["files"]}
    result = pusher.push(item(changed, base or dossier.revision)).json()["results"][0]
    assert result["status"] in {"accepted", "conflict"}, result
    # the `operator` initials would reassign it (two personas here share theirs)
    Dossier.objects.filter(pk=dossier.pk).update(technician=dossier.technician)
    return str(result["status"])


def batch_of(response: Any) -> list[tuple[str, bytes]]:
    assert response.status_code == 200, response.content
    header, _sep, rest = b"".join(response.streaming_content).partition(b"\n")
    out = []
    for entry in json.loads(header):
        out.append((entry["sha256"], rest[: entry["size"]]))
        rest = rest[entry["size"] :]
    return out


def unknown_file(station: StationClient, sha256: str) -> None:
    """Both download calls answer for `sha256` exactly as for a hash the hub never had."""
    absent = sha(b"never sent " + sha256.encode())
    for extra in ({}, {"HTTP_RANGE": "bytes=0-3"}):
        response = station.get(f"blobs/{sha256}", **extra)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert response.json() == station.get(f"blobs/{absent}", **extra).json()
    response = station.post("blobs/fetch", {"hashes": [sha256]})
    assert response.status_code == 404
    expected = station.post("blobs/fetch", {"hashes": [absent]}).json()
    assert response.json() == {**expected, "details": {"missing": [sha256]}}


@pytest.mark.parametrize("persona", ["tech_own", "tech_station"])
def test_a_restricted_station_cannot_download_another_technicians_file(
    people, dossiers, storage, persona
):
    Dossier.objects.filter(pk=dossiers["mine"].pk).update(technician=people[persona].member)
    office = pair_station(people, "PC bureau", "tech_all")
    give_files(office, dossiers["theirs"], b"rapport de Claire")
    station = pair_station(people, "Tablette", persona)
    with nothing_changes():
        unknown_file(station, sha(b"rapport de Claire"))


def test_a_restricted_station_downloads_its_own_dossiers_files(people, dossiers, storage):
    office = pair_station(people, "PC bureau", "tech_all")
    mine, theirs = b"0123456789 mon rapport", b"leur rapport"
    give_files(office, dossiers["mine"], mine)
    give_files(office, dossiers["theirs"], theirs)
    station = pair_station(people, "Tablette", "tech_own")
    response = station.get(f"blobs/{sha(mine)}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == mine
    response = station.get(f"blobs/{sha(mine)}", HTTP_RANGE="bytes=2-5")
    assert response.status_code == 206
    assert response.content == b"2345"
    assert response["Content-Range"] == f"bytes 2-5/{len(mine)}"
    assert batch_of(station.post("blobs/fetch", {"hashes": [sha(mine)]})) == [(sha(mine), mine)]
    response = station.post("blobs/fetch", {"hashes": [sha(mine), sha(theirs)]})
    assert response.status_code == 404
    assert response.json()["details"] == {"missing": [sha(theirs)]}


def test_a_dossier_the_station_holds_gives_its_files(people, dossiers, storage):
    """Reassigned to another technician, a dossier the station made stays readable."""
    station = pair_station(people, "Tablette", "tech_own")
    data = b"photo prise sur place"
    assert station.batch([data]).status_code == 200
    doc = document("2026-00901", files=[data])
    assert station.push(item(doc)).json()["results"][0]["status"] == "accepted"
    Dossier.objects.filter(public_id=doc["id"]).update(technician=people["tech_all"].member)
    assert station.get(f"blobs/{sha(data)}").status_code == 200
    assert batch_of(station.post("blobs/fetch", {"hashes": [sha(data)]})) == [(sha(data), data)]
    unknown_file(pair_station(people, "Tablette 2", "tech_own"), sha(data))  # does not hold it


def test_removed_and_conflict_files_follow_their_dossier(people, dossiers, storage):
    """A file replaced since, or only in a conflict version: readable with its dossier."""
    office = pair_station(people, "PC bureau", "tech_all")
    old, new, conflict, their_conflict = b"v1", b"v2", b"version du bureau", b"leur version"
    give_files(office, dossiers["mine"], old)
    give_files(office, dossiers["mine"], new)  # same name: the first document is removed
    stale = "1-" + "0" * 32
    assert give_files(office, dossiers["mine"], conflict, base=stale) == "conflict"
    assert give_files(office, dossiers["theirs"], their_conflict, base=stale) == "conflict"
    station = pair_station(people, "Tablette", "tech_own")
    wanted = [sha(old), sha(new), sha(conflict)]
    got = batch_of(station.post("blobs/fetch", {"hashes": wanted}))
    assert got == [(sha(old), old), (sha(new), new), (sha(conflict), conflict)]
    assert station.get(f"blobs/{sha(conflict)}").status_code == 200
    unknown_file(station, sha(their_conflict))


def test_a_station_that_sees_everything_downloads_every_file(people, dossiers, storage):
    office = pair_station(people, "PC bureau", "tech_all")
    mine, theirs = b"mon rapport", b"leur rapport"
    give_files(office, dossiers["mine"], mine)
    give_files(office, dossiers["theirs"], theirs)
    unknown_file(pair_station(people, "Tablette", "tech_own"), sha(theirs))
    for persona in ("tech_all", "admin"):
        station = pair_station(people, f"PC {persona}", persona)
        got = batch_of(station.post("blobs/fetch", {"hashes": [sha(theirs), sha(mine)]}))
        assert got == [(sha(theirs), theirs), (sha(mine), mine)]
        response = station.get(f"blobs/{sha(theirs)}", HTTP_RANGE="bytes=0-3")
        assert response.status_code == 206
        assert response.content == theirs[:4]


def test_the_check_costs_one_query_and_none_when_the_station_sees_everything(
    people, dossiers, storage, django_assert_num_queries
):
    office = pair_station(people, "PC bureau", "tech_all")
    data = b"mon rapport"
    give_files(office, dossiers["mine"], data)
    restricted = pair_station(people, "Tablette", "tech_own")
    calls = {
        "get": lambda station: station.get(f"blobs/{sha(data)}"),
        "fetch": lambda station: station.post("blobs/fetch", {"hashes": [sha(data)]}),
    }
    counts = {}
    for name, station in (("office", office), ("restricted", restricted)):
        for call, send in calls.items():
            for _again in range(2):  # the second call: the station's `last_seen_at` is fresh
                with CaptureQueriesContext(connection) as queries:
                    assert send(station).status_code == 200
            counts[name, call] = len(queries)
    assert counts["restricted", "get"] == counts["office", "get"] + 1
    assert counts["restricted", "fetch"] == counts["office", "fetch"] + 1
    for station, queries in ((office, 0), (restricted, 1)):
        found = Station.objects.select_related("organization", "membership").get(
            public_id=station.station_id
        )
        with django_assert_num_queries(queries):
            assert services.readable_hashes(found, [sha(data)] * 3) == {sha(data)}


def test_a_forbidden_hash_answers_like_an_unknown_or_another_organisations_one(
    people, dossiers, storage
):
    from tests.sync.test_protocol import pair_station_for_outsider

    office = pair_station(people, "PC bureau", "tech_all")
    mine, theirs, globex, absent = b"mon rapport", b"leur rapport", b"rapport Globex", b"?"
    give_files(office, dossiers["mine"], mine)
    give_files(office, dossiers["theirs"], theirs)
    outsider = pair_station_for_outsider(people)
    outsider_doc = document("2026-00500", files=[globex])
    assert outsider.batch([globex]).status_code == 200
    assert outsider.push(item(outsider_doc)).json()["results"][0]["status"] == "accepted"
    assert outsider.get(f"blobs/{sha(globex)}").status_code == 200
    station = pair_station(people, "Tablette", "tech_own")
    for data in (theirs, globex, absent):
        unknown_file(station, sha(data))
    wanted = [sha(mine), sha(globex), sha(theirs), sha(absent)]
    response = station.post("blobs/fetch", {"hashes": wanted})
    assert response.status_code == 404
    assert response.json()["details"] == {"missing": wanted[1:]}


# --- naming a file in a push: a restricted station reads it, or has sent its bytes -------


def absent_file_answer(station: StationClient) -> dict[str, Any]:
    """The push answer for a file the hub never had (rejected: it writes nothing)."""
    doc = document("2026-00999", files=[b"jamais envoye"])
    result: dict[str, Any] = station.push(item(doc)).json()["results"][0]
    assert result["code"] == "missing_blobs", result
    return result


def refused_as_missing(station: StationClient, result: dict[str, Any], *hashes: str) -> None:
    """`result` is the answer a file the hub does not have gets, naming `hashes`."""
    expected = absent_file_answer(station)
    assert result == {**expected, "id": result["id"], "details": {"missing": sorted(hashes)}}


def missing(station: StationClient, *hashes: str) -> list[str]:
    response = station.post("blobs/missing", {"hashes": list(hashes)})
    assert response.status_code == 200, response.content
    return list(response.json()["missing"])


def used_bytes(station: StationClient) -> int:
    return Organization.objects.get(slug=station.org).storage_used_bytes


@pytest.mark.parametrize("together", [False, True], ids=["one_by_one", "in_bulk"])
def test_a_restricted_station_cannot_attach_a_file_it_only_knows_the_hash_of(
    people, dossiers, storage, together
):
    office = pair_station(people, "PC bureau", "tech_all")
    theirs, known, new = b"rapport de Claire", b"mon ancien rapport", b"photo du jour"
    give_files(office, dossiers["theirs"], theirs)
    give_files(office, dossiers["mine"], known)
    station = pair_station(people, "Tablette", "tech_own")
    assert station.batch([new]).json() == {"stored": [sha(new)], "existing": []}
    stolen = document("2026-00910", files=[theirs])
    own = document("2026-00911", files=[new])  # sent first: accepted as before
    reused = document("2026-00912", files=[known])  # a file it reads already: not sent again
    items = [item(stolen), item(own), item(reused)]
    if together:  # the two new dossiers accepted are written in bulk
        results = station.push(*items).json()["results"]
    else:
        results = [station.push(one).json()["results"][0] for one in items]
    assert [result["status"] for result in results] == ["rejected", "accepted", "accepted"]
    refused_as_missing(station, results[0], sha(theirs))
    assert not Dossier.objects.filter(public_id=stolen["id"]).exists()
    assert list(Document.objects.filter(sha256=sha(theirs)).values_list("dossier", flat=True)) == [
        dossiers["theirs"].pk
    ]
    unknown_file(station, sha(theirs))
    for data in (new, known):
        assert station.get(f"blobs/{sha(data)}").status_code == 200


def test_blobs_missing_asks_a_restricted_station_for_a_file_it_may_not_name(
    people, dossiers, storage
):
    office = pair_station(people, "PC bureau", "tech_all")
    theirs, mine = b"rapport de Claire", b"mon rapport"
    give_files(office, dossiers["theirs"], theirs)
    give_files(office, dossiers["mine"], mine)
    absent = sha(b"jamais envoye")
    wanted = [sha(theirs), sha(mine), absent]
    station = pair_station(people, "Tablette", "tech_own")
    assert missing(station, *wanted) == [sha(theirs), absent]
    for persona in ("tech_all", "admin"):
        assert missing(pair_station(people, f"PC {persona}", persona), *wanted) == [absent]
    assert missing(office, *wanted) == [absent]


def test_after_sending_the_bytes_in_a_batch_the_push_is_accepted(people, dossiers, storage):
    office = pair_station(people, "PC bureau", "tech_all")
    theirs = b"rapport de Claire"
    give_files(office, dossiers["theirs"], theirs)
    station = pair_station(people, "Tablette", "tech_own")
    doc = document("2026-00920", files=[theirs])
    with nothing_changes():
        refused = station.push(item(doc)).json()["results"][0]
    refused_as_missing(station, refused, sha(theirs))
    before = used_bytes(station)
    assert station.batch([theirs]).json() == {"stored": [], "existing": [sha(theirs)]}
    assert used_bytes(station) == before  # the hub kept its copy: no quota
    assert missing(station, sha(theirs)) == []
    assert station.push(item(doc)).json()["results"][0]["status"] == "accepted"
    assert station.get(f"blobs/{sha(theirs)}").status_code == 200  # its own dossier's file
    # another restricted station still has to send them
    assert missing(pair_station(people, "Tablette 2", "tech_own"), sha(theirs)) == [sha(theirs)]


def upload(station: StationClient, data: bytes, *, cut: int | None = None) -> dict[str, Any]:
    """Start an upload of `data` and send it (up to `cut` bytes); its last state."""
    response = station.post("uploads", {"sha256": sha(data), "size": len(data)})
    assert response.status_code == 201, response.content
    state: dict[str, Any] = response.json()
    if state["complete"]:
        return state
    end = len(data) if cut is None else cut
    response = station.client().put(
        station.url(f"uploads/{state['id']}"),
        data[state["offset"] : end],
        content_type="application/octet-stream",
        headers={"Content-Range": f"bytes {state['offset']}-{end - 1}/{len(data)}"},
    )
    assert response.status_code == 200, response.content
    return {**response.json(), "id": state["id"]}


def test_after_sending_the_bytes_in_an_upload_the_push_is_accepted(people, dossiers, storage):
    office = pair_station(people, "PC bureau", "tech_all")
    theirs = b"plan de Claire " * 100
    give_files(office, dossiers["theirs"], theirs)
    assert upload(office, theirs)["complete"] is True  # the hub has it: nothing to send
    station = pair_station(people, "Tablette", "tech_own")
    doc = document("2026-00930", files=[theirs])
    before = used_bytes(station)
    state = upload(station, theirs, cut=10)  # an upload of its own, not “complete” at once
    assert state["id"] and state["offset"] == 10 and state["complete"] is False
    assert used_bytes(station) == before  # the hub has these bytes: no quota reserved
    refused_as_missing(station, station.push(item(doc)).json()["results"][0], sha(theirs))
    assert missing(station, sha(theirs)) == [sha(theirs)]
    resumed = station.post("uploads", {"sha256": sha(theirs), "size": len(theirs)}).json()
    assert (resumed["id"], resumed["offset"]) == (state["id"], 10)
    response = station.client().put(
        station.url(f"uploads/{state['id']}"),
        theirs[10:],
        content_type="application/octet-stream",
        headers={"Content-Range": f"bytes 10-{len(theirs) - 1}/{len(theirs)}"},
    )
    assert response.status_code == 200 and response.json()["complete"] is True
    assert used_bytes(station) == before
    assert missing(station, sha(theirs)) == []
    assert upload(station, theirs)["complete"] is True
    assert station.push(item(doc)).json()["results"][0]["status"] == "accepted"


def test_a_restricted_station_does_not_take_over_another_stations_upload(people, dossiers, storage):
    office = pair_station(people, "PC bureau", "tech_all")
    data = b"plan du bureau " * 100
    started = upload(office, data, cut=len(data) - 5)
    station = pair_station(people, "Tablette", "tech_own")
    own = upload(station, data, cut=3)
    assert own["id"] != started["id"] and own["offset"] == 3
    # the office completes its own: the station must still finish sending hers
    response = office.client().put(
        office.url(f"uploads/{started['id']}"),
        data[-5:],
        content_type="application/octet-stream",
        headers={"Content-Range": f"bytes {len(data) - 5}-{len(data) - 1}/{len(data)}"},
    )
    assert response.json()["complete"] is True
    doc = document("2026-00940", files=[data])
    refused_as_missing(station, station.push(item(doc)).json()["results"][0], sha(data))
    assert upload(station, data)["complete"] is True  # hers, resumed at 3
    assert station.push(item(doc)).json()["results"][0]["status"] == "accepted"
    assert used_bytes(station) == len(data)  # counted once


def test_a_restricted_station_cannot_resolve_to_a_file_it_may_not_name(people, dossiers, storage):
    office = pair_station(people, "PC bureau", "tech_all")
    theirs = b"rapport de Claire"
    give_files(office, dossiers["theirs"], theirs)
    station = pair_station(people, "Tablette", "tech_own")
    mine = dossiers["mine"]
    kept = {**head(mine), "files": document(files=[theirs])["files"]}
    payload = {"keep": "local", "head_rev": mine.revision, "document": kept}
    url = f"dossiers/{mine.public_id}/resolve"
    with nothing_changes():
        refused = station.post(url, payload)
    assert refused.status_code == 422
    absent = {**kept, "files": document(files=[b"jamais envoye"])["files"]}
    expected = station.post(url, {**payload, "document": absent}).json()
    assert refused.json() == {**expected, "details": {"missing": [sha(theirs)]}}
    assert station.batch([theirs]).status_code == 200
    assert station.post(url, payload).status_code == 200
    Dossier.objects.filter(pk=mine.pk).update(technician=mine.technician)  # see `give_files`
    assert station.get(f"blobs/{sha(theirs)}").status_code == 200


def test_a_station_that_sees_everything_pays_no_query_for_it(
    people, dossiers, storage, django_assert_num_queries
):
    office = pair_station(people, "PC bureau", "tech_all")
    restricted = pair_station(people, "Tablette", "tech_own")
    counts = {}
    for name, station in (("office", office), ("restricted", restricted)):
        for again in range(2):  # the second time: the station's `last_seen_at` is fresh
            files = [f"{name} {again} {index}".encode() for index in range(3)]
            with CaptureQueriesContext(connection) as queries:
                assert station.batch(files).status_code == 200
            counts[name, "batch"] = len(queries)
            with CaptureQueriesContext(connection) as queries:
                assert missing(station, *map(sha, files)) == []
            counts[name, "missing"] = len(queries)
            docs = [
                document(f"2026-{name[0]}{again}{index}", files=files[index : index + 2])
                for index in range(2)
            ]
            with CaptureQueriesContext(connection) as queries:
                results = station.push(*map(item, docs)).json()["results"]
            assert [result["status"] for result in results] == ["accepted"] * 2
            counts[name, "push"] = len(queries)
    assert counts["restricted", "batch"] == counts["office", "batch"] + 1  # what it sent
    assert counts["restricted", "missing"] == counts["office", "missing"]  # one query each
    assert counts["restricted", "push"] == counts["office", "push"] + 1  # one for the batch
    found = Station.objects.select_related("organization", "membership").get(
        public_id=office.station_id
    )
    hashes = [sha(b"office 1 0"), sha(b"ailleurs")]
    with django_assert_num_queries(0):
        assert services.nameable_hashes(found, hashes) == set(hashes)
        services.remember_sent(found, hashes)
    with django_assert_num_queries(1):
        assert services.missing_for(found, hashes) == [sha(b"ailleurs")]
    assert not StationBlob.objects.filter(station=found).exists()


def test_a_station_call_joins_its_organisation_and_member_once(people, station):
    """The token's lookup brings the member, the organisation and its plan: the station
    is read on its own, and nothing is fetched again on the way."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    station.get("changes", data={"since": 0})  # last use and last seen: written once
    with CaptureQueriesContext(connection) as asked:
        response = station.get("changes", data={"since": 0})
    assert response.status_code == 200, response.content
    tables = [
        q["sql"].split(" FROM ", 1)[1].split(" ", 1)[0] for q in asked if " FROM " in q["sql"]
    ]
    station_reads = [q["sql"] for q in asked if q["sql"].startswith('SELECT "sync_station"')]
    assert len(station_reads) == 1 and "JOIN" not in station_reads[0]
    assert tables.count('"core_organization"') == 0, tables
    assert tables.count('"core_membership"') == 0, tables
