"""A push whose answer was lost: the station's next version names the revisions it sent
(`sent`) and follows them instead of conflicting with its own earlier writes."""

from __future__ import annotations

from typing import Any

from comptoir.dossiers import exchange
from comptoir.dossiers.models import Dossier, DossierRevision
from tests.sync.conftest import StationClient, document, item


def pushed(station: StationClient, entry: dict[str, Any]) -> dict[str, Any]:
    answer = station.push(entry)
    assert answer.status_code == 200, answer.content
    result: dict[str, Any] = answer.json()["results"][0]
    return result


def with_sent(entry: dict[str, Any], *revs: str) -> dict[str, Any]:
    return {**entry, "sent": list(revs)}


def test_a_new_dossier_whose_answer_was_lost_is_followed(station):
    first = document()
    r1 = pushed(station, item(first))["rev"]
    # the answer never came: the station still thinks the dossier is new
    second = {**first, "custom_fields": {"note": "complété"}}
    result = pushed(station, with_sent(item(second), r1))
    assert result["status"] == "accepted", result
    dossier = Dossier.objects.get(public_id=first["id"])
    assert dossier.revision == result["rev"] and not dossier.in_conflict
    assert DossierRevision.objects.get(dossier=dossier, rev=result["rev"]).base_rev == r1


def test_two_lost_answers_in_a_row_are_followed(station):
    doc = document()
    base = pushed(station, item(doc))["rev"]
    r2 = pushed(station, item({**doc, "status": "done"}, base))["rev"]
    r3 = pushed(station, with_sent(item({**doc, "status": "report_sent"}, base), r2))
    assert r3["status"] == "accepted", r3
    final = item({**doc, "status": "paid"}, base)
    result = pushed(station, with_sent(final, r3["rev"], r2))
    assert result["status"] == "accepted", result
    dossier = Dossier.objects.get(public_id=doc["id"])
    assert dossier.revision == final["rev"]
    assert not DossierRevision.objects.filter(dossier=dossier, is_conflict=True).exists()


def test_without_sent_the_same_push_is_a_conflict_and_both_versions_are_kept(station):
    doc = document()
    base = pushed(station, item(doc))["rev"]
    pushed(station, item({**doc, "status": "done"}, base))
    result = pushed(station, item({**doc, "status": "paid"}, base))
    assert result["status"] == "conflict"


def test_sent_cannot_pass_over_a_web_version(people, station):
    doc = document()
    base = pushed(station, item(doc))["rev"]
    dossier = Dossier.objects.get(public_id=doc["id"])
    Dossier.objects.filter(pk=dossier.pk).update(property_city="Roubaix")
    exchange.touch(dossier, source="web")
    dossier.refresh_from_db()
    web_rev = dossier.revision
    assert web_rev != base
    result = pushed(station, with_sent(item({**doc, "status": "done"}, base), web_rev))
    assert result["status"] == "conflict"
    assert (
        DossierRevision.objects.get(dossier=dossier, rev=web_rev).document["property"]["city"]
        == "Roubaix"
    )


def test_sent_cannot_pass_over_another_stations_version(station, other_station):
    doc = document()
    base = pushed(station, item(doc))["rev"]
    theirs = pushed(other_station, item({**doc, "status": "done"}, base))
    assert theirs["status"] == "accepted"
    result = pushed(station, with_sent(item({**doc, "status": "paid"}, base), theirs["rev"]))
    assert result["status"] == "conflict"


def test_bad_sent_values_are_refused_or_ignored(station):
    doc = document()
    base = pushed(station, item(doc))["rev"]
    pushed(station, item({**doc, "status": "done"}, base))
    too_many = with_sent(item({**doc, "status": "paid"}, base), *[f"1-{i:032x}" for i in range(21)])
    answer = station.push(too_many)
    assert answer.status_code == 422
    assert "sent" in answer.content.decode()
    odd = with_sent(item({**doc, "status": "paid"}, base), "pas-une-revision", "")
    assert pushed(station, odd)["status"] == "conflict"
