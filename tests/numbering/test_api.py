"""The numbering API: what the stations call (docs/sync/protocol.md) and the series view."""

from __future__ import annotations

from django.test import Client
from django.utils import timezone

from comptoir.accounts import tokens
from comptoir.accounts.models import ApiToken
from comptoir.numbering import services
from comptoir.numbering.models import IssuedNumber
from tests.conftest import nothing_changes
from tests.helpers import assert_outsider_gets_404, fr

API = "/api/v1/orgs/acme/numbering"
YEAR = timezone.localdate().year


def post(client, url, data):
    return client.post(url, data, content_type="application/json")


def test_next_number_for_a_station(people):
    tech = people["tech_all"]
    response = post(tech.api(), f"{API}/dossier/next", {"operator": "DUJ"})
    assert response.status_code == 200
    assert response.json() == {"number": f"{YEAR}-00001"}
    issued = IssuedNumber.objects.get(number=f"{YEAR}-00001")
    # the token's name tells who got it ("tests" for the personas' tokens)
    assert (issued.reserved_by, issued.operator, issued.reserved) == ("tests", "DUJ", False)
    assert post(tech.api(), f"{API}/quote/next", {}).json() == {"number": f"D{YEAR}-00001"}


def test_a_station_token_name_is_the_source(people):
    tech = people["tech_own"]
    _token, secret = tokens.create_token(tech.member, "PC bureau", actor=tech.user)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    number = post(client, f"{API}/dossier/next", {"operator": None}).json()["number"]
    assert IssuedNumber.objects.get(number=number).reserved_by == "PC bureau"


def test_a_browser_session_is_the_web(people):
    admin = people["admin"]
    number = post(admin.client(), f"{API}/dossier/next", {}).json()["number"]
    assert IssuedNumber.objects.get(number=number).reserved_by == "web"


def test_reserve_a_block(people):
    tech = people["tech_all"]
    response = post(tech.api(), f"{API}/dossier/reserve", {"count": 3, "operator": "duj"})
    assert response.status_code == 200
    assert response.json() == {"numbers": [f"{YEAR}-0000{n}" for n in (1, 2, 3)]}
    assert post(tech.api(), f"{API}/dossier/next", {}).json() == {"number": f"{YEAR}-00004"}
    assert set(IssuedNumber.objects.values_list("reserved", flat=True)) == {True, False}


def test_invoice_numbers_are_never_given_to_stations(people):
    tech = people["admin"]
    for path, body in (("next", {}), ("reserve", {"count": 2})):
        with nothing_changes():
            response = post(tech.api(), f"{API}/invoice/{path}", body)
        assert response.status_code == 409
        assert response.json() == {
            "code": "invoice_numbers_hub_only",
            "message": fr(
                "Invoice numbers are only given by the hub, when an invoice is validated: "
                "they cannot be asked for or reserved."
            ),
            "details": {},
        }


def test_refusals(people):
    admin = people["admin"]
    cases = [
        ("receipt/next", {}, 422, "invalid_input"),
        ("dossier/reserve", {"count": 0}, 422, "invalid_input"),
        ("dossier/reserve", {"count": 501}, 422, "invalid_input"),
        ("dossier/reserve", {"count": "3"}, 422, "invalid_input"),
        ("dossier/reserve", {}, 422, "invalid_input"),
        ("dossier/next", {"operator": "D.J"}, 422, "invalid_input"),
        ("dossier/next", {"operator": "TOOLONG"}, 422, "invalid_input"),
    ]
    for path, body, status, code in cases:
        with nothing_changes():
            response = post(admin.api(), f"{API}/{path}", body)
        assert (response.status_code, response.json()["code"]) == (status, code), path


def test_operator_required_by_the_mask(people):
    admin = people["admin"]
    services.update_series(
        admin.org, "dossier", mask="%AAAA%-%OPE%-%N%", width=4, reset="yearly", offset=0, actor=None
    )
    with nothing_changes():
        response = post(admin.api(), f"{API}/dossier/next", {"operator": None})
    assert response.status_code == 400
    assert response.json()["code"] == "operator_required"
    assert response.json()["details"] == {"field": "operator"}
    ok = post(admin.api(), f"{API}/dossier/next", {"operator": "duj"})
    assert ok.json() == {"number": f"{YEAR}-DUJ-0001"}


def test_read_only_token_cannot_take_numbers(people):
    admin = people["admin"]
    _token, secret = tokens.create_token(admin.member, "Lecture", actor=admin.user, scope="read")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    with nothing_changes():
        response = post(client, f"{API}/dossier/next", {})
    assert (response.status_code, response.json()["code"]) == (403, "read_only_token")
    assert client.get(API).status_code == 200


def test_series_overview(people):
    admin = people["admin"]
    services.reserve_block(admin.org, "quote", 2, operator="MMT", source="PC bureau")
    services.set_next(admin.org, "invoice", 287, actor=admin.user)
    body = admin.api().get(API).json()
    assert [series["series"] for series in body["series"]] == ["dossier", "quote", "invoice"]
    quote = body["series"][1]
    assert {key: quote[key] for key in quote if key != "last_numbers"} == {
        "series": "quote",
        "mask": "D%AAAA%-%N%",
        "width": 5,
        "reset": "yearly",
        "offset": 0,
        "period": str(YEAR),
        "last_counter": 2,
        "next_counter": 3,
        "next_number": f"D{YEAR}-00003",
    }
    assert [
        (item["number"], item["given_to"], item["operator"], item["reserved"])
        for item in quote["last_numbers"]
    ] == [
        (f"D{YEAR}-00002", "PC bureau", "MMT", True),
        (f"D{YEAR}-00001", "PC bureau", "MMT", True),
    ]
    invoice = body["series"][2]
    assert (invoice["next_number"], invoice["last_numbers"]) == (f"F{YEAR}-00287", [])


def test_only_settings_viewers_see_the_series(people):
    for key in ("backoffice", "tech_all", "tech_own"):
        response = people[key].api().get(API)
        assert (response.status_code, response.json()["code"]) == (403, "forbidden")


def test_outsider_gets_404(people):
    outsider = people["outsider"]
    assert_outsider_gets_404(outsider.api(), "GET", API)
    assert_outsider_gets_404(outsider.api(), "POST", f"{API}/dossier/next", {"operator": "DUJ"})
    assert_outsider_gets_404(outsider.api(), "POST", f"{API}/quote/reserve", {"count": 2})


def test_a_whole_json_number_is_a_count(people):
    """JSON Schema's "integer" includes 2.0; a text or a fraction is refused."""
    admin = people["admin"]
    response = post(admin.api(), f"{API}/quote/reserve", {"count": 2.0})
    assert response.json() == {"numbers": [f"D{YEAR}-00001", f"D{YEAR}-00002"]}
    for bad in (2.5, True, "2"):
        refused = post(admin.api(), f"{API}/quote/reserve", {"count": bad})
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid_input")


def test_a_technician_without_web_access_takes_numbers_from_a_station(people):
    """Station access, not the web grant, lets a station take and reserve numbers."""
    tech = people["tech_station"]
    _token, secret = tokens.create_token(
        tech.member, "Tablette", actor=tech.user, kind=ApiToken.Kind.STATION
    )
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert post(client, f"{API}/dossier/next", {}).json() == {"number": f"{YEAR}-00001"}
    reserved = post(client, f"{API}/dossier/reserve", {"count": 2})
    assert reserved.json() == {"numbers": [f"{YEAR}-00002", f"{YEAR}-00003"]}
    with nothing_changes():  # the personal token of the same person: no web grant
        assert post(tech.api(), f"{API}/dossier/next", {}).status_code == 403
    assert client.get(API).status_code == 403  # the series settings stay a web matter
