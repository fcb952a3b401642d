"""The settings endpoints a station's agent calls: push, fetch, versions."""

from __future__ import annotations

import json

from django.test import Client

from comptoir.accounts import tokens
from comptoir.accounts.models import ApiToken
from comptoir.api import api
from comptoir.bundles.models import SettingsBundle
from comptoir.bundles.sections import SECTIONS
from comptoir.contacts import services as contacts
from tests.bundles.factories import (
    a_published_bundle,
    company_payload,
    contacts_payload,
    dropdowns_payload,
    tariffs_payload,
)
from tests.conftest import nothing_changes
from tests.helpers import assert_outsider_gets_404, fr

API = "/api/v1/orgs/acme/sync/settings"


def station(persona, name="PC bureau", scope=ApiToken.Scope.WRITE) -> Client:
    _token, secret = tokens.create_token(
        persona.member, name, actor=persona.user, kind=ApiToken.Kind.STATION, scope=scope
    )
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def push(client: Client, body) -> object:
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(API, data, content_type="application/json")


def test_a_station_pushes_its_settings_and_gets_a_version(people):
    client = station(people["tech_all"])
    response = push(
        client, {"sections": {"tariffs": tariffs_payload(), "dropdowns": dropdowns_payload()}}
    )
    assert response.status_code == 201, response.content
    assert response.json() == {"version": 1}
    bundle = SettingsBundle.objects.get(organization=people["admin"].org)
    assert (bundle.direction, bundle.source, bundle.created_by) == (
        "from_station",
        "PC bureau",
        people["tech_all"].member,
    )
    assert push(client, {"sections": {"company": company_payload()}}).json() == {"version": 2}
    # a web session (or a personal script) is recorded as "web"
    session = people["admin"].client()
    response = session.post(
        API, json.dumps({"sections": {"dropdowns": {}}}), content_type="application/json"
    )
    assert response.status_code == 201
    assert SettingsBundle.objects.get(version=3, organization=people["admin"].org).source == "web"


def test_an_own_dossiers_technician_may_push_nothing_is_applied(people):
    response = push(people["tech_own"].api(), {"sections": {"tariffs": tariffs_payload()}})
    assert response.status_code == 201
    assert not people["admin"].org.tariffs.exists()


def test_unknown_sections_answer_422_with_the_valid_ones(people):
    with nothing_changes():
        response = push(people["tech_all"].api(), {"sections": {"tarifs": [], "dropdowns": {}}})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "unknown_section"
    assert body["details"] == {"unknown": ["tarifs"], "valid": SECTIONS.names}
    assert "tarifs" in body["message"] and "dropdowns" in body["message"]


def test_a_bad_section_answers_400_naming_section_and_field(people):
    with nothing_changes():
        response = push(
            people["tech_all"].api(),
            {
                "sections": {
                    "dropdowns": {},
                    "tariffs": [{"code": "DPE", "label": "DPE", "price_excl_vat": "abc"}],
                }
            },
        )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_bundle"
    assert (body["details"]["section"], body["details"]["field"]) == ("tariffs", "0.price_excl_vat")


def test_malformed_bodies_answer_422(people):
    client = people["tech_all"].api()
    for body in (
        b"{not json",
        b"\xff\xfe",
        {"sections": {}},
        {"sections": []},
        {"settings": {"dropdowns": {}}},
        {"sections": {"dropdowns": {}}, "version": 3},
        ["sections"],
        {"sections": {"dropdowns": {"pieces": {"label": "P\x00"}}}},
        b'{"sections": {"dropdowns": {"pieces": {"label": "P\\ud800"}}}}',  # half a character
        b'{"sections": {"company": {"name": "Acme", "capital": NaN}}}',  # not a JSON number
    ):
        with nothing_changes():
            response = push(client, body)
        assert response.status_code == 422, (body, response.content)
        assert response.json()["code"] == "invalid_input"


def test_nan_in_a_bundle_is_refused_as_not_json(people):
    """Python reads NaN; JSON has no such number, and PostgreSQL refused it with a 500."""
    client = station(people["tech_all"])
    with nothing_changes():
        response = push(client, b'{"sections": {"company": {"x": NaN}}}')
    assert response.status_code == 422, response.content
    assert response.json()["details"] == [
        {
            "where": "body",
            "problem": "Le corps de la requête n'est pas un JSON valide : NaN n'est pas un "
            "nombre JSON.",
        }
    ]


def test_a_body_over_5_mb_answers_413_without_being_kept(people):
    client = people["tech_all"].api()
    big = {"sections": {"contacts": [{"last_name": "x", "notes": "y" * (5 * 1024 * 1024)}]}}
    with nothing_changes():
        response = push(client, big)
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "bundle_too_large"
    assert body["details"]["limit"] == 5 * 1024 * 1024


def test_a_read_only_token_cannot_push(people):
    client = station(people["tech_all"], scope=ApiToken.Scope.READ)
    with nothing_changes():
        response = push(client, {"sections": {"dropdowns": {}}})
    assert response.status_code == 403
    assert response.json()["code"] == "read_only_token"


def test_stations_fetch_the_latest_publication_restricted_to_the_asked_sections(people):
    client = station(people["tech_all"])
    response = client.get(API)
    assert response.status_code == 404
    assert response.json()["code"] == "no_settings_published"
    assert response.json()["message"] == fr(
        "The web has not published any settings for the stations yet "
        "(Settings › Settings backup › Send to the stations)."
    )
    admin = people["admin"]
    a_published_bundle(admin, "tariffs")
    latest = a_published_bundle(admin, "company", "dropdowns", "contacts")
    response = client.get(API, {"sections": "dropdowns,tariffs,dropdowns"})
    assert response.status_code == 200
    assert response.json() == {"version": latest.version, "sections": {"dropdowns": {}}}
    everything = client.get(API).json()
    assert set(everything["sections"]) == {"company", "dropdowns", "contacts"}

    wrong = client.get(API, {"sections": "company,menus"})
    assert wrong.status_code == 422
    assert wrong.json()["code"] == "unknown_section"
    assert wrong.json()["details"]["valid"] == SECTIONS.names


def test_the_address_book_needs_the_contacts_right(people):
    admin = people["admin"]
    contacts.create_contact(admin.org, actor=admin.user, last_name="Martin")
    a_published_bundle(admin, "company", "contacts")
    own = people["tech_own"].api()  # dossiers yes, contacts no
    response = own.get(API, {"sections": "contacts"})
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert set(own.get(API).json()["sections"]) == {"company"}
    assert (
        people["tech_all"]
        .api()
        .get(API, {"sections": "contacts"})
        .json()["sections"]["contacts"][0]["last_name"]
        == "Martin"
    )


def test_versions_list_both_directions_newest_first(people):
    admin = people["admin"]
    push(
        people["tech_all"].api(),
        {"sections": {"tariffs": tariffs_payload(), "contacts": contacts_payload()}},
    )
    a_published_bundle(admin, "dropdowns")
    rows = people["tech_all"].api().get(f"{API}/versions").json()
    assert [(row["version"], row["direction"], row["sections"]) for row in rows] == [
        (2, "to_stations", ["dropdowns"]),
        (1, "from_station", ["tariffs", "contacts"]),
    ]
    assert rows[1]["imported_at"] is None and rows[1]["imported_sections"] == []
    only = (
        people["tech_all"].api().get(f"{API}/versions", {"direction": "from_station", "limit": 1})
    )
    assert [row["version"] for row in only.json()] == [1]


def test_another_organisation_gets_404_everywhere(people):
    a_published_bundle(people["admin"], "dropdowns")
    outsider = people["outsider"].api()
    assert_outsider_gets_404(outsider, "POST", API, {"sections": {"dropdowns": {}}})
    assert_outsider_gets_404(outsider, "GET", API)
    assert_outsider_gets_404(outsider, "GET", f"{API}/versions")


def test_the_openapi_document_describes_the_push(people):
    schema = api.get_openapi_schema()
    post = schema["paths"]["/api/v1/orgs/{org}/sync/settings"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]["sections"]["properties"]) == set(SECTIONS.names)
    assert body["properties"]["sections"]["additionalProperties"] is False
    assert {201, 400, 413, 422} <= set(post["responses"])
    get = schema["paths"]["/api/v1/orgs/{org}/sync/settings"]["get"]
    [param] = [item for item in get["parameters"] if item["name"] == "sections"]
    assert "company" in param["schema"]["pattern"]


def test_a_technician_without_web_access_syncs_settings_from_a_station(people):
    """Station access, not the web grant, lets a station push and fetch (docs/roles.md)."""
    admin, tech = people["admin"], people["tech_station"]
    contacts.create_contact(admin.org, actor=admin.user, last_name="Martin")
    a_published_bundle(admin, "company", "contacts")
    client = station(tech)
    assert push(client, {"sections": {"company": company_payload()}}).status_code == 201
    body = client.get(API).json()
    assert set(body["sections"]) == {"company"}  # no address book: the role has no contacts
    assert client.get(f"{API}/versions").status_code == 200
    with nothing_changes():  # the same person's personal token: no web grant, refused
        refused = push(tech.api(), {"sections": {"company": company_payload()}})
    assert refused.status_code == 403
    tech.member.is_blocked = True
    tech.member.save(update_fields=["is_blocked"])
    with nothing_changes():
        blocked = push(client, {"sections": {"company": company_payload()}})
    assert blocked.status_code in (401, 403)
