"""Text no database can store is refused at the door of the API, with where it is: a
lone surrogate (half of a UTF-16 pair, `"\\ud800"` in JSON) was a 500 wherever the text
was encoded (a station's push, a member's name)."""

from __future__ import annotations

import json

import pytest

from comptoir.core.models import Membership
from comptoir.dossiers.models import Dossier
from tests.conftest import nothing_changes
from tests.sync.conftest import document, pair_station

API = "/api/v1/orgs/acme"


@pytest.mark.parametrize("half", ["\\ud800", "\\uDBFF", "\\udc00", "\\udc00\\ud800"])
def test_a_lone_surrogate_in_a_push_is_refused_naming_where(people, half):
    station = pair_station(people)
    assert station.batch([b"abc"]).status_code == 200
    doc = document(files=[b"abc"])
    item = {"id": doc["id"], "base_rev": None, "rev": "1-" + "0" * 32, "document": doc}
    body = json.dumps({"dossiers": [item]}).replace("fichier-0.pdf", f"fichier-0{half}.pdf")
    with nothing_changes():
        response = station.client().post(
            station.url("dossiers/push"), body, content_type="application/json"
        )
    assert response.status_code == 422, response.content
    error = response.json()
    assert error["code"] == "invalid_input"
    assert error["details"][0]["where"] == "body.dossiers.0.document.files.0.name"
    assert "U+D" in error["details"][0]["problem"]


def test_half_a_character_as_raw_bytes_is_refused_too(people):
    """json.loads lets the bytes of a lone surrogate through (ED A0 80, no escape)."""
    station = pair_station(people)
    doc = document()
    item = {"id": doc["id"], "base_rev": None, "rev": "1-" + "0" * 32, "document": doc}
    body = json.dumps({"dossiers": [item]}).encode().replace(b"Beffroi", b"Beff\xed\xa0\x80")
    with nothing_changes():
        response = station.client().post(
            station.url("dossiers/push"), body, content_type="application/json"
        )
    assert response.status_code == 422, response.content
    assert response.json()["details"][0]["where"] == "body.dossiers.0.document.client.name"


def test_a_lone_surrogate_in_a_member_name_is_refused(people):
    client = people["admin"].api()
    before = Membership.objects.count()
    body = '{"display_name": "Zo\\udfffe", "role": "admin"}'
    response = client.post(f"{API}/members", body, content_type="application/json")
    assert response.status_code == 422, response.content
    assert response.json()["details"][0]["where"] == "body.display_name"
    assert Membership.objects.count() == before


def test_a_whole_pair_is_a_character_and_is_kept(people):
    """An emoji sent as its escaped pair (json.dumps' default) is one character."""
    station = pair_station(people)
    doc = document()
    doc["client"]["name"] = "Agence 🏠 du Beffroi"
    from tests.sync.conftest import item

    body = json.dumps({"dossiers": [item(doc)]})  # ensure_ascii: "\\ud83c\\udfe0"
    assert "\\ud83c\\udfe0" in body
    response = station.client().post(
        station.url("dossiers/push"), body, content_type="application/json"
    )
    assert response.json()["results"][0]["status"] == "accepted", response.content
    dossier = Dossier.objects.get(public_id=doc["id"])
    assert dossier.ordering_party.display_name == "Agence 🏠 du Beffroi"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"display_name": "Zoe",\n "role": }', "ligne 2, colonne 10"),
        (b'{"display_name": "Zo\xe9", "role": "admin"}', "pas du texte UTF-8 (octet 20)"),
        (b'{"display_name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "trop profondément"),
    ],
    ids=["json", "utf-8", "nested"],
)
def test_a_body_that_does_not_read_says_where_in_french(people, body, problem):
    client = people["admin"].api()
    before = Membership.objects.count()
    response = client.post(f"{API}/members", body, content_type="application/json")
    assert response.status_code == 422, response.content
    error = response.json()
    assert error["code"] == "invalid_input"
    assert error["details"][0]["where"] == "body"
    assert problem in error["details"][0]["problem"]
    assert Membership.objects.count() == before


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json_and_are_refused(people, constant):
    """Python's json reads them, no JSON holds them: PostgreSQL refused them (a 500) and
    SQLite's check made a station's push answer "retry" forever."""
    station = pair_station(people)
    doc = document(custom_fields={"surface": "__here__"})
    item = {"id": doc["id"], "base_rev": None, "rev": "1-" + "0" * 32, "document": doc}
    body = json.dumps({"dossiers": [item]}).replace('"__here__"', constant)
    with nothing_changes():
        response = station.client().post(
            station.url("dossiers/push"), body, content_type="application/json"
        )
    assert response.status_code == 422, response.content
    assert response.json()["details"][0] == {
        "where": "body",
        "problem": f"Le corps de la requête n'est pas un JSON valide : {constant} "
        "n'est pas un nombre JSON.",
    }
