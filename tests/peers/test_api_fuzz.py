"""Schemathesis fuzzes the JSON API over HTTP against the live server.

Every operation of the published OpenAPI schema, with generated valid and
invalid input: never a 5xx, and every answer (status, content type, headers,
body) matches the schema. Once as Acme's administrator (org = acme), once as
the administrator of another organisation aiming at Acme, who only ever gets
404 — never 403 and never data.

The schema is built from the app at collection time (the live server is not
up yet then) so that each operation is its own test; `test_published_schema`
checks that it is the very document the server publishes.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config._checks import (
    POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES,
    PositiveDataAcceptanceConfig,
)

from comptoir.api import api
from tests.conftest import Persona

pytestmark = pytest.mark.peer

ORG = "acme"  # the organisation of the `people` personas
OPENAPI = api.get_openapi_schema()
schema = schemathesis.openapi.from_dict(OPENAPI)
schema.config.update(parameters={"org": ORG}, request_timeout=30)
# The API refuses U+0000 in any text with a 422 (PostgreSQL cannot store it; the API's
# description says so): generated "valid" strings leave it out, and
# `test_nul_characters_are_refused` below sends it on purpose.
schema.config.generation.update(allow_x00=False)
# Schema-valid input may still break a business rule the schema cannot express (a mission
# type the organisation does not have, a surface the form refuses): the API answers 400
# with a domain code and a message naming the field. The fuzzer still fails on any 5xx,
# any answer that does not match the schema, and any 2xx to an outsider.
schema.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
    expected_statuses=[*POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES, "400"]
)

# The personas are made once per operation and shared by its examples, on purpose: the
# examples then also meet the records the previous ones created. The suite (and CI) replays
# the same examples every run, so a red run always names a reproducible case; `make fuzz`
# (COMPTOIR_FUZZ_RANDOM=1, COMPTOIR_FUZZ_EXAMPLES=200) explores new ones, and each case it
# finds becomes a regression test.
EXAMPLES = int(os.environ.get("COMPTOIR_FUZZ_EXAMPLES", "25"))
BOUNDED = settings(
    max_examples=EXAMPLES,
    derandomize=os.environ.get("COMPTOIR_FUZZ_RANDOM") != "1",
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)


@schemathesis.serializer("application/x-comptoir-batch")
def batch_framing(ctx: Any, value: Any) -> bytes:
    """The files batch (docs/sync/protocol.md) is raw bytes; the fuzzer sends any bytes."""
    return value if isinstance(value, bytes) else str(value).encode()


def station_token(persona: Persona) -> str:
    """The station protocol (/sync/) answers station tokens only: pair one for the persona."""
    from comptoir.sync import services

    _station, code = services.add_station(
        persona.org, f"Fuzz {persona.key}", member=persona.member, actor=persona.user
    )
    return services.pair(code)[1]


STATION_TOKENS: dict[str, str] = {}  # a persona's personal token -> its station's token


def token_for(case: Any, persona: Persona) -> str:
    if "/sync/" not in case.path:
        return persona.token
    if persona.token not in STATION_TOKENS:  # personal tokens are new for every test
        STATION_TOKENS[persona.token] = station_token(persona)
    return STATION_TOKENS[persona.token]


def test_published_schema(live_server: Any) -> None:
    response = requests.get(f"{live_server.url}/api/v1/openapi.json", timeout=30)
    assert response.status_code == 200
    assert response.json() == OPENAPI


@schema.parametrize()
@BOUNDED
def test_api_as_admin(case: Any, live_server: Any, people: dict[str, Persona]) -> None:
    admin = people["admin"]
    assert admin.org.slug == ORG
    token = token_for(case, admin)
    case.call_and_validate(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"})


@schema.parametrize()
@BOUNDED
def test_api_as_outsider(case: Any, live_server: Any, people: dict[str, Persona]) -> None:
    outsider = people["outsider"]
    assert outsider.org.slug != ORG
    token = token_for(case, outsider)
    response = case.call_and_validate(
        base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}
    )
    if "org" in (case.path_parameters or {}):
        # Another organisation's records: never data, and never a 403 that confirms they exist.
        assert not 200 <= response.status_code < 300, (response.status_code, response.text)
        assert response.status_code != 403, response.text


def test_nul_characters_are_refused(live_server: Any, people: dict[str, Persona]) -> None:
    """Found by the fuzzer on PostgreSQL: U+0000 in a text was a 500. Now a 422 everywhere."""
    from comptoir.core.models import Membership

    base = f"{live_server.url}/api/v1/orgs/{ORG}"
    auth = {"Authorization": f"Bearer {people['admin'].token}"}
    before = Membership.objects.count()
    sent = [
        requests.post(
            f"{base}/members",
            json={"display_name": "A\x00", "role": "admin"},
            headers=auth,
            timeout=30,
        ),
        requests.post(
            f"{base}/members",
            json={"display_name": "A", "role": "admin", "phone": ["\x00"]},
            headers=auth,
            timeout=30,
        ),
        requests.post(f"{base}/tokens", json={"name": "\x00"}, headers=auth, timeout=30),
        requests.get(f"{base}/audit", params={"action": "member.\x00"}, headers=auth, timeout=30),
        requests.get(
            f"{base}/members", params={"blocked": ["true", "false"]}, headers=auth, timeout=30
        ),
    ]
    for response in sent:
        assert response.status_code == 422, (response.request.url, response.text)
        assert response.json()["code"] == "invalid_input"
    assert Membership.objects.count() == before
    refused = requests.get(
        f"{base}/members",
        timeout=30,
        headers={"Authorization": f"Bearer {people['admin'].token}\x00"},
    )
    assert refused.status_code == 401, refused.text
    elsewhere = requests.get(
        f"{live_server.url}/api/v1/orgs/a%00b/members", headers=auth, timeout=30
    )
    assert elsewhere.status_code == 404, elsewhere.text
