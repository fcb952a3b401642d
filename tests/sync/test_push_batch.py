"""A push of many new dossiers is written in bulk: the same records and answers as
one by one, in a few queries, and item-by-item answers for whatever is not new."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from comptoir.contacts.models import Contact
from comptoir.dossiers import exchange
from comptoir.dossiers.models import Document, Dossier, DossierRevision, Mission
from comptoir.sync import services
from comptoir.sync.models import Station, StationDossier
from tests.sync.conftest import document, item, pair_station
from tests.sync.test_protocol import pair_station_for_outsider


def _records(public_id: str) -> dict[str, Any]:
    dossier = Dossier.objects.get(public_id=public_id)
    return {
        "number": dossier.number,
        "status": dossier.status,
        "street": dossier.property_street,
        "appointment": dossier.appointment_at,
        "client": dossier.ordering_party.display_name if dossier.ordering_party else None,
        "files_size": dossier.files_size,
        "missions": sorted(
            Mission.objects.filter(dossier=dossier).values_list("mission_type__code", flat=True)
        ),
        "files": sorted(
            Document.objects.filter(dossier=dossier).values_list("name", "sha256", "size", "kind")
        ),
        "revisions": list(
            DossierRevision.objects.filter(dossier=dossier).values_list(
                "rev", "base_rev", "document", "is_conflict"
            )
        ),
        "head": exchange.head_document(dossier),
    }


def _send_files(station: Any, files: list[bytes]) -> None:
    assert station.batch(files).status_code == 200


def test_a_batch_of_new_dossiers_makes_the_records_one_by_one_would(people, monkeypatch):
    station = pair_station(people)
    one_by_one = services._push_one
    files = [f"rapport {index}".encode() for index in range(6)]
    _send_files(station, files)
    docs = [
        document(number=f"2026-{200 + index:05d}", files=files[index : index + 2])
        for index in range(5)
    ]
    monkeypatch.setattr(services, "_push_one", None)  # the batch must not need it
    with CaptureQueriesContext(connection) as batch_queries:
        results = station.push(*(item(doc) for doc in docs)).json()["results"]
    monkeypatch.setattr(services, "_push_one", one_by_one)
    assert [(r["id"], r["status"], r["number"]) for r in results] == [
        (doc["id"], "accepted", doc["number"]) for doc in docs
    ]
    in_bulk = {doc["id"]: _records(doc["id"]) for doc in docs}

    alone = [
        document(number=f"2026-{300 + index:05d}", files=files[index : index + 2])
        for index in range(5)
    ]
    with CaptureQueriesContext(connection) as single_queries:
        for doc in alone:
            assert station.push(item(doc)).json()["results"][0]["status"] == "accepted"
    for doc, twin in zip(docs, alone, strict=True):
        made, expected = in_bulk[doc["id"]], _records(twin["id"])
        for key in ("status", "street", "appointment", "client", "files_size", "missions"):
            assert made[key] == expected[key], key
        assert [f[1:] for f in made["files"]] == [f[1:] for f in expected["files"]]
        assert [(r[1], r[3]) for r in made["revisions"]] == [("", False)]
        assert made["revisions"][0][2] == doc and made["head"] == doc
    # the feed numbers them in order, one sequence each
    seqs = [r["seq"] for r in results]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert len(batch_queries) < len(single_queries) / 2
    # the station holds each of them, as it holds those sent one by one
    held = set(
        StationDossier.objects.filter(station__public_id=station.station_id).values_list(
            "dossier__public_id", flat=True
        )
    )
    assert {str(value) for value in held} == {doc["id"] for doc in docs + alone}
    # the same batch again: answered unchanged, held once
    again = station.push(*(item(doc) for doc in docs)).json()["results"]
    assert [r["status"] for r in again] == ["unchanged"] * len(docs)
    assert StationDossier.objects.filter(station__public_id=station.station_id).count() == len(
        docs + alone
    )


def test_a_batch_mixing_new_updated_invalid_and_taken_numbers_answers_each_in_order(people):
    station = pair_station(people)
    existing = document(number="2026-00010")
    first = station.push(item(existing)).json()["results"][0]
    changed = {**existing, "status": "done"}
    new_one, new_two = document(number="2026-00011"), document(number="2026-00012")
    same_number = document(number="2026-00011")  # twice in the same batch: renumbered
    invalid = document(number="../x")
    results = station.push(
        item(new_one),
        item(changed, first["rev"]),
        item(invalid),
        item(same_number),
        item(new_two),
        item(new_one),  # the same item again in the batch: recognised
    ).json()["results"]
    assert [(r["id"], r["status"]) for r in results] == [
        (new_one["id"], "accepted"),
        (existing["id"], "accepted"),
        (invalid["id"], "rejected"),
        (same_number["id"], "accepted"),
        (new_two["id"], "accepted"),
        (new_one["id"], "unchanged"),
    ]
    assert results[3]["number"] != "2026-00011"
    assert Dossier.objects.get(public_id=existing["id"]).status == "done"
    assert Dossier.objects.filter(number="2026-00011").count() == 1
    assert not Dossier.objects.filter(public_id=invalid["id"]).exists()


def test_a_new_dossier_whose_id_another_organisation_has_is_not_found(people):
    station = pair_station(people)
    theirs = pair_station_for_outsider(people)
    taken = document(number="2026-00500")
    assert theirs.push(item(taken)).json()["results"][0]["status"] == "accepted"
    mine = document(number="2026-00501")
    results = station.push(item(mine), item({**taken, "number": "2026-00502"})).json()["results"]
    assert [r["status"] for r in results] == ["accepted", "rejected"]
    assert results[1]["code"] == "not_found"
    assert Dossier.objects.get(public_id=taken["id"]).number == "2026-00500"


def test_a_batch_of_updates_makes_the_records_one_by_one_would(people, monkeypatch):
    station = pair_station(people)
    one_by_one = services._push_one
    files = [f"piece {index}".encode() for index in range(12)]
    _send_files(station, files)

    def pushed(docs: list[dict[str, Any]]) -> dict[str, str]:
        answers = station.push(*(item(doc) for doc in docs)).json()["results"]
        return {r["id"]: r["rev"] for r in answers}

    def changed(doc: dict[str, Any], index: int) -> dict[str, Any]:
        # a new status and missions, a file replaced, one dropped, one added
        return document(
            number=doc["number"],
            files=[files[index + 1], files[index + 6]],
            status="done",
            missions=["dpe", "gaz"],
            id=doc["id"],
        )

    batch = [document(number=f"2026-{600 + i:05d}", files=files[i : i + 2]) for i in range(4)]
    alone = [document(number=f"2026-{700 + i:05d}", files=files[i : i + 2]) for i in range(4)]
    heads = {**pushed(batch), **pushed(alone)}
    monkeypatch.setattr(services, "_push_one", None)  # the batch must not need it
    with CaptureQueriesContext(connection) as batch_queries:
        results = station.push(
            *(item(changed(doc, i), heads[doc["id"]]) for i, doc in enumerate(batch))
        ).json()["results"]
    monkeypatch.setattr(services, "_push_one", one_by_one)
    assert [(r["id"], r["status"]) for r in results] == [(d["id"], "accepted") for d in batch]
    with CaptureQueriesContext(connection) as single_queries:
        for i, doc in enumerate(alone):
            answer = station.push(item(changed(doc, i), heads[doc["id"]])).json()["results"]
            assert answer[0]["status"] == "accepted"
    for i, (doc, twin) in enumerate(zip(batch, alone, strict=True)):
        made, expected = _records(doc["id"]), _records(twin["id"])
        for key in ("status", "street", "client", "files_size", "missions"):
            assert made[key] == expected[key], key
        assert [f[1:] for f in made["files"]] == [f[1:] for f in expected["files"]]
        live = Document.objects.filter(dossier__public_id=doc["id"], removed_at__isnull=True)
        assert sorted(live.values_list("name", "sha256")) == sorted(
            (f["name"], f["sha256"]) for f in changed(doc, i)["files"]
        )
        assert [(r[1], r[3]) for r in made["revisions"]] == [("", False), (heads[doc["id"]], False)]
        assert made["head"] == changed(doc, i)
        assert Dossier.objects.get(public_id=doc["id"]).revision == results[i]["rev"]
    seqs = [r["seq"] for r in results]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert len(batch_queries) < len(single_queries) / 2


def test_a_batch_of_updates_leaves_conflicts_and_retries_to_each_item(people):
    station = pair_station(people)
    docs = [document(number=f"2026-{800 + i:05d}") for i in range(4)]
    first = station.push(*(item(doc) for doc in docs)).json()["results"]
    heads = {r["id"]: r["rev"] for r in first}
    stale = first[0]["rev"]
    web = station.push(item({**docs[0], "status": "done"}, stale)).json()["results"][0]
    moved = {"street": "3 place du Théâtre", "postcode": "59000", "city": "Lille"}
    edits = [{**doc, "property": moved} for doc in docs]
    items = [item(edits[0], stale)]  # made on the version the web has since changed
    items += [item(edit, heads[edit["id"]]) for edit in edits[1:]]
    results = station.push(*items).json()["results"]
    assert [r["status"] for r in results] == ["conflict", "accepted", "accepted", "accepted"]
    assert results[0]["head_rev"] == web["rev"]
    assert Dossier.objects.get(public_id=docs[0]["id"]).status == "done"  # nothing overwritten
    again = station.push(*items[1:]).json()["results"]  # a resent batch is a no-op
    assert [r["status"] for r in again] == ["unchanged"] * 3
    assert DossierRevision.objects.filter(dossier__public_id=docs[1]["id"]).count() == 2


def test_an_update_costs_a_bounded_number_of_queries_per_dossier(people):
    """Each update of a batch adds only its own row's write to the queries the batch
    makes in all (its revision, missions and documents are read and written together);
    the organisation is not read again."""
    station = pair_station(people)
    files = [f"rapport {index}".encode() for index in range(8)]
    _send_files(station, files)
    docs = [
        document(number=f"2026-{400 + index:05d}", files=files[index : index + 2])
        for index in range(4)
    ]
    heads = {
        r["id"]: r["rev"] for r in station.push(*(item(doc) for doc in docs)).json()["results"]
    }

    def update(some: list[dict[str, Any]]) -> int:
        changed = [dict(doc, status="done") for doc in some]
        with CaptureQueriesContext(connection) as queries:
            results = station.push(*(item(doc, heads[doc["id"]]) for doc in changed)).json()
        assert {r["status"] for r in results["results"]} == {"accepted"}
        heads.update({r["id"]: r["rev"] for r in results["results"]})
        return len(queries.captured_queries)

    one, three = update(docs[:1]), update(docs[1:])
    assert (three - one) / 2 <= 2


def _planned(people: Any, docs: list[dict[str, Any]]) -> tuple[Any, Any, Any]:
    """The push's first step, as a second push would run it while another one writes."""
    pair_station(people)
    station = Station.objects.get(organization=people["admin"].org)
    materializer = exchange.Materializer(station.organization)
    checked = [services._check_item(item(doc), {}) for doc in docs]
    answered, creation = services._plan_creation(station, checked, materializer, "station:x")
    assert answered == {} and creation is not None
    return station, materializer, creation


def test_the_rows_of_new_dossiers_are_prepared_without_writing(people):
    docs = [document(number=f"2026-{700 + index:05d}") for index in range(3)]
    with CaptureQueriesContext(connection) as queries:
        _planned(people, docs)
    writes = [q["sql"] for q in queries.captured_queries[-4:] if not q["sql"].startswith("SELECT")]
    assert writes == []  # reads only: no write lock is taken (pairing wrote before)
    assert not Contact.objects.filter(email="contact@beffroi.fr").exists()
    assert not Dossier.objects.filter(number__startswith="2026-007").exists()


def test_a_client_another_writer_made_meanwhile_is_not_made_twice(people):
    docs = [document(number=f"2026-{710 + index:05d}") for index in range(3)]
    station, materializer, creation = _planned(people, docs)
    theirs = Contact(
        organization=station.organization,
        kind=Contact.Kind.COMPANY,
        company_name="Agence du Beffroi",
        email="contact@beffroi.fr",
    )
    theirs.refresh_search_text(addresses=[], channels=[])
    theirs.save()
    with transaction.atomic():
        results = services._create_in_bulk(station, creation, materializer)
    assert [r.status for r in results.values()] == ["accepted"] * 3
    assert Contact.objects.filter(email="contact@beffroi.fr").count() == 1
    for doc in docs:
        dossier = Dossier.objects.get(public_id=doc["id"])
        assert dossier.ordering_party_id == theirs.pk
        assert "beffroi" in dossier.search_text


def test_a_client_deleted_meanwhile_is_made_again(people):
    docs = [document(number=f"2026-{720 + index:05d}") for index in range(3)]
    org = people["admin"].org
    gone = Contact.objects.create(
        organization=org,
        kind=Contact.Kind.COMPANY,
        company_name="Agence du Beffroi",
        email="contact@beffroi.fr",
    )
    station, materializer, creation = _planned(people, docs)
    Contact.objects.filter(pk=gone.pk).delete()  # no dossier named it: it may go
    with transaction.atomic():
        results = services._create_in_bulk(station, creation, materializer)
    assert [r.status for r in results.values()] == ["accepted"] * 3
    again = Contact.objects.get(organization=org, email="contact@beffroi.fr")
    assert again.pk != gone.pk
    assert set(
        Dossier.objects.filter(public_id__in=[d["id"] for d in docs]).values_list(
            "ordering_party_id", flat=True
        )
    ) == {again.pk}
