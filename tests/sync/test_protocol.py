"""The station protocol through the real API: pairing, push, feed, fetch, conflicts."""

from __future__ import annotations

import json

from django.test import Client

from comptoir.accounts.models import ApiToken
from comptoir.dossiers import exchange
from comptoir.dossiers.models import Document, Dossier, DossierRevision
from comptoir.sync.models import PairingCode, Station
from tests.sync.conftest import document, item


def test_pairing_gives_a_station_token_once(people):
    from comptoir.sync import services

    admin = people["admin"]
    _station, code = services.add_station(
        admin.org, "PC bureau", member=people["tech_all"].member, actor=admin.user
    )
    body = {"code": code.lower().replace("-", ""), "name": "ignored"}
    first = Client().post("/api/v1/sync/pair", json.dumps(body), content_type="application/json")
    assert first.status_code == 201
    assert first.json()["name"] == "PC bureau"
    assert ApiToken.objects.get(station__name="PC bureau").kind == ApiToken.Kind.STATION
    again = Client().post("/api/v1/sync/pair", json.dumps(body), content_type="application/json")
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_code"
    assert PairingCode.objects.get().used_at is not None


def test_station_info_carries_effective_options_and_quota(station):
    response = station.get("station")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "PC bureau"
    assert body["options"]["enabled"] is True
    assert body["options"]["update_present"] is True
    assert body["quota"]["limit"] > 0


def test_push_then_feed_then_fetch(station, other_station):
    doc = document(files=[b"%PDF rapport"])
    missing = station.push(item(doc)).json()["results"][0]
    assert missing["status"] == "rejected" and missing["code"] == "missing_blobs"
    assert station.batch([b"%PDF rapport"]).status_code == 200
    result = station.push(item(doc)).json()["results"][0]
    assert result["status"] == "accepted", result
    dossier = Dossier.objects.get(public_id=doc["id"])
    assert dossier.number == "2026-00100"
    assert dossier.revision == result["rev"]
    assert dossier.ordering_party is not None
    assert Document.objects.get(dossier=dossier).name == "fichier-0.pdf"
    # a retry is a no-op
    again = station.push(item(doc)).json()["results"][0]
    assert again["status"] == "unchanged"
    assert DossierRevision.objects.filter(dossier=dossier).count() == 1

    # the other station does not fetch missing dossiers by default: nothing in its feed
    feed = other_station.get("changes?since=0").json()
    assert feed["results"] == [] and feed["done"] and feed["next"] >= result["seq"]

    # the sender sees its dossier in the feed, then fetches it
    feed = station.get("changes?since=0").json()
    assert [entry["id"] for entry in feed["results"]] == [doc["id"]]
    fetched = station.post("dossiers/fetch", {"ids": [doc["id"]]}).json()["dossiers"][0]
    assert fetched["document"] == doc and fetched["rev"] == result["rev"]


def test_concurrent_edits_keep_both_versions(station, other_station):
    doc = document()
    first = station.push(item(doc)).json()["results"][0]
    other_station.post("dossiers/fetch", {"ids": [doc["id"]]})
    mine = {**doc, "status": "done"}
    theirs = {**doc, "property": {**doc["property"], "floor": "3"}}
    accepted = station.push(item(mine, first["rev"])).json()["results"][0]
    assert accepted["status"] == "accepted"
    conflict = other_station.push(item(theirs, first["rev"])).json()["results"][0]
    assert conflict["status"] == "conflict"
    assert conflict["head_rev"] == accepted["rev"]
    dossier = Dossier.objects.get(public_id=doc["id"])
    assert dossier.in_conflict and dossier.revision == accepted["rev"]
    kept = DossierRevision.objects.get(dossier=dossier, is_conflict=True)
    assert kept.document == theirs

    listed = other_station.get(f"dossiers/{doc['id']}/conflicts").json()
    assert listed["head"]["rev"] == accepted["rev"]
    assert listed["conflicts"][0]["station"] == "Tablette terrain"
    resolved = other_station.post(
        f"dossiers/{doc['id']}/resolve",
        {
            "keep": "both",
            "head_rev": accepted["rev"],
            "document": {**mine, "property": theirs["property"]},
        },
    )
    assert resolved.status_code == 200, resolved.content
    dossier.refresh_from_db()
    assert not dossier.in_conflict and dossier.floor == "3" and dossier.status == "done"
    assert DossierRevision.objects.filter(dossier=dossier).count() == 4  # nothing deleted


def test_bad_input_is_refused_item_by_item(station):
    good = document()
    bad = document(number="../../etc")
    traversal = document(number="2026-00101", files=[b"x"])
    traversal["files"][0]["name"] = "../secret"
    unknown = {**document(number="2026-00102"), "colour": "red"}
    response = station.push(item(good), item(bad), item(traversal), item(unknown))
    statuses = [(r["status"], r["code"]) for r in response.json()["results"]]
    assert statuses == [
        ("accepted", None),
        ("rejected", "invalid"),
        ("rejected", "invalid"),
        ("rejected", "invalid"),
    ]
    assert Dossier.objects.count() == 1
    errors = response.json()["results"][2]["details"]["errors"]
    assert errors[0]["loc"] == ["files", 0, "name"]


def test_a_push_item_that_is_not_an_object_is_refused_whole(station):
    """Each item is validated as a JSON object (plain pydantic, no attribute access)."""
    for bad in ([None, None], "x", 3, [item(document())]):
        response = station.post("dossiers/push", {"dossiers": [item(document()), bad]})
        assert response.status_code == 422, response.content
        assert response.json()["code"] == "invalid_input"
    assert not Dossier.objects.exists()


def test_a_push_answer_has_every_published_field(station):
    doc = document()
    results = station.push(item(doc), item(document(number="../x"))).json()["results"]
    fields = {"id", "status", "rev", "seq", "head_rev", "head_seq", "number", "code",
              "message", "details"}  # fmt: skip
    assert [set(r) for r in results] == [fields, fields]
    assert results[0]["status"] == "accepted" and results[0]["details"] == {}
    assert results[1]["code"] == "invalid" and results[1]["details"]["errors"]


def test_a_wrong_revision_id_is_refused(station):
    doc = document()
    wrong = {**item(doc), "rev": "1-" + "0" * 32}
    result = station.push(wrong).json()["results"][0]
    assert result["code"] == "bad_rev"
    assert not Dossier.objects.exists()


def test_same_number_from_two_stations_gets_a_new_number(station, other_station):
    first = document(number="2026-00042")
    second = document(number="2026-00042")
    assert station.push(item(first)).json()["results"][0]["status"] == "accepted"
    result = other_station.push(item(second)).json()["results"][0]
    assert result["status"] == "accepted"
    assert result["number"] != "2026-00042"
    # the station's retry with its original revision is recognised
    retry = other_station.push(item(second)).json()["results"][0]
    assert retry["status"] == "unchanged" and retry["head_rev"] == result["rev"]
    # the version the station sent is kept as it was sent, under its own revision id
    sent = item(second)
    kept = DossierRevision.objects.get(dossier__public_id=second["id"], rev=sent["rev"])
    assert kept.document == second
    assert exchange.revision_id(kept.document, None) == kept.rev


def test_another_organisations_dossier_is_not_found(people, station):
    doc = document()
    station.push(item(doc))
    outsider = pair_station_for_outsider(people)
    assert outsider.get(f"dossiers/{doc['id']}/conflicts").status_code == 404
    result = outsider.push(item(doc)).json()["results"][0]
    assert result["code"] == "not_found"
    assert outsider.post("dossiers/fetch", {"ids": [doc["id"]]}).json()["dossiers"] == []
    # and a token never reaches another organisation's short name
    foreign = Client(HTTP_AUTHORIZATION=f"Bearer {station.token}")
    assert foreign.get(f"/api/v1/orgs/{outsider.org}/sync/changes").status_code == 404


def pair_station_for_outsider(people):
    from comptoir.sync import services

    outsider = people["outsider"]
    _station, code = services.add_station(
        outsider.org, "Globex PC", member=outsider.member, actor=outsider.user
    )
    body = (
        Client()
        .post("/api/v1/sync/pair", json.dumps({"code": code}), content_type="application/json")
        .json()
    )
    from tests.sync.conftest import StationClient

    return StationClient(body["org"], body["token"], body["station"])


def test_personal_tokens_cannot_use_the_station_protocol(people):
    admin = people["admin"]
    response = admin.api().get(f"/api/v1/orgs/{admin.org.slug}/sync/changes")
    assert response.status_code == 403
    assert response.json()["code"] == "station_token_required"


def test_revoked_station_is_refused(people, station):
    from comptoir.sync import services

    services.revoke_station(Station.objects.get(), actor=people["admin"].user)
    assert station.get("changes").status_code == 401


def test_web_edits_become_revisions_stations_see(people, station):
    from comptoir.dossiers import services as dossier_services

    doc = document()
    pushed = station.push(item(doc)).json()["results"][0]
    dossier = Dossier.objects.get(public_id=doc["id"])
    dossier_services.change_status(dossier, "done", actor=people["admin"].user)
    dossier.refresh_from_db()
    assert dossier.revision.startswith("2-")
    feed = station.get(f"changes?since={pushed['seq']}").json()
    assert feed["results"][0]["rev"] == dossier.revision
    head = station.post("dossiers/fetch", {"ids": [doc["id"]]}).json()["dossiers"][0]
    assert head["document"]["status"] == "done"


def test_unusual_offsets_are_stored_as_the_same_instant(people, station):
    """Found by the fuzzer on PostgreSQL: an offset of +18:32 was a 500 (the database
    refuses it). Instants are stored in UTC; one outside the calendar is a clear 400."""
    admin = people["admin"]
    url = f"/api/v1/orgs/{admin.org.slug}/dossiers"
    created = admin.api().post(
        url, {"appointment_at": "3149-04-23T05:52:38+18:32"}, content_type="application/json"
    )
    assert created.status_code == 201, created.content
    stored = Dossier.objects.get().appointment_at
    assert stored.isoformat() == "3149-04-22T11:20:38+00:00"
    before = Dossier.objects.count()
    refused = admin.api().post(
        url, {"appointment_at": "9999-12-31T23:00:00-05:00"}, content_type="application/json"
    )
    assert refused.status_code == 400
    assert refused.json()["details"] == {"field": "appointment_at"}
    assert Dossier.objects.count() == before

    doc = document(number="2026-00777", appointment="2026-11-25T09:00:00+18:32")
    assert station.push(item(doc)).json()["results"][0]["status"] == "accepted"
    far = document(number="2026-00778", appointment="9999-12-31T23:00:00-05:00")
    result = station.push(item(far)).json()["results"][0]
    assert result["code"] == "invalid"
    assert result["details"]["errors"][0]["loc"] == ["appointment"]


def test_out_of_range_numbers_are_refused_not_a_server_error(station):
    """Found by the fuzzer: a checkpoint beyond a BIGINT was a 500 on save. Now a 422."""
    before = Station.objects.values_list("checkpoint", "reported_at").get()
    for checkpoint in (2**63, 2**64 + 3, -1):
        response = station.post("station/report", {"checkpoint": checkpoint})
        assert response.status_code == 422, response.content
        assert response.json()["code"] == "invalid_input"
    response = station.post("station/report", {"counts": {"green": 2**70}})
    assert response.status_code == 422, response.content
    assert Station.objects.values_list("checkpoint", "reported_at").get() == before
    assert station.get("changes", data={"since": 2**64}).status_code == 422
    accepted = station.post("station/report", {"checkpoint": 2**63 - 1, "counts": {"green": 4}})
    assert accepted.status_code == 204, accepted.content
    assert accepted.content == b""  # a 204 carries no body
    assert Station.objects.get().checkpoint == 2**63 - 1


def test_fetch_names_the_revision_whose_document_it_sends_when_a_write_lands_between(
    station, other_station, monkeypatch
):
    """A push lands after fetch read the dossiers and before it read their heads: the
    answer pairs the new head's rev with the new head's document, never an old rev
    with a newer document."""
    from comptoir.sync import services

    doc = document()
    first = station.push(item(doc)).json()["results"][0]
    newer = {**doc, "status": "done"}
    manager = services.DossierRevision.objects
    real_filter = manager.filter
    pushed: list[dict] = []
    armed = [True]

    def filter_after_a_push(*args, **kwargs):
        if armed:  # the first heads query of the fetch: the other station pushes first
            armed.clear()
            pushed.append(other_station.push(item(newer, first["rev"])).json()["results"][0])
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(manager, "filter", filter_after_a_push)
    fetched = station.post("dossiers/fetch", {"ids": [doc["id"]]}).json()["dossiers"][0]
    monkeypatch.undo()
    assert pushed and pushed[0]["status"] == "accepted"
    assert fetched["rev"] == pushed[0]["rev"]
    assert fetched["document"] == newer


def test_a_file_hash_ending_in_a_line_break_is_invalid_not_missing(station):
    """`…\\n` is not a SHA-256: the item is refused as invalid, naming the field, and
    nothing is written (it used to be taken for a file the hub lacks)."""
    assert station.batch([b"%PDF rapport"]).status_code == 200
    doc = document(files=[b"%PDF rapport"])
    doc["files"][0]["sha256"] += "\n"
    result = station.push(item(doc)).json()["results"][0]
    assert (result["status"], result["code"]) == ("rejected", "invalid")
    assert result["details"]["errors"][0]["loc"] == ["files", 0, "sha256"]
    assert not Dossier.objects.filter(public_id=doc["id"]).exists()


def test_a_file_size_other_than_the_hubs_is_invalid_and_nothing_is_written(station):
    """The hub has the bytes: a size that differs from them is refused, naming the file
    (it was recorded as it came; a size over 2^63 was a 500)."""
    assert station.batch([b"%PDF rapport", b"plan"]).status_code == 200
    for size in (999, 10**20, 0):
        doc = document(files=[b"%PDF rapport", b"plan"])
        doc["files"][1]["size"] = size
        result = station.push(item(doc)).json()["results"][0]
        assert (result["status"], result["code"]) == ("rejected", "invalid"), result
        [error] = result["details"]["errors"]
        assert error == {"loc": ["files", 1, "size"], "msg": "the hub holds this file with 4 bytes"}
        assert not Dossier.objects.filter(public_id=doc["id"]).exists()
    doc = document(files=[b"%PDF rapport", b"plan"])
    assert station.push(item(doc)).json()["results"][0]["status"] == "accepted"
