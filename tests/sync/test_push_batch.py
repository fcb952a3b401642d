"""A push of many new dossiers is written in bulk: the same records and answers as
one by one, in a few queries, and item-by-item answers for whatever is not new."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from comptoir.dossiers import exchange
from comptoir.dossiers.models import Document, Dossier, DossierRevision, Mission
from comptoir.sync import services
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


def test_an_update_costs_a_bounded_number_of_queries_per_dossier(people):
    """Updates go item by item: each costs the same few queries (its row, its revision,
    missions, documents, the head and sequence), the organisation is not read again and
    the row is written once."""
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
    assert (three - one) / 2 <= 10
