"""A dossier a station sent without a property type can be edited on the web.

The select then offers "— not given —" first and keeps the type empty unless a real
type is chosen; creating a dossier on the web still requires a type.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from comptoir.core.models import AuditEntry
from comptoir.dossiers import services
from comptoir.dossiers.models import Dossier
from tests.helpers import fr, shows
from tests.sync.conftest import document, item, pair_station

LIST = "/o/acme/dossiers/"


@pytest.fixture
def untyped(people) -> Dossier:
    """A dossier pushed by a station whose document has no `property.type`."""
    station = pair_station(people)
    doc = document(number="2026-00042", missions=["dpe"])
    assert "type" not in doc["property"]
    result = station.push(item(doc)).json()["results"][0]
    assert result["status"] == "accepted", result
    dossier = Dossier.objects.get(public_id=doc["id"])
    assert dossier.property_type == ""
    return dossier


def edit_url(dossier: Dossier) -> str:
    return f"{LIST}{dossier.public_id}/modifier/"


def form_data(dossier: Dossier, **changes: Any) -> dict[str, Any]:
    """What the edit page posts when nothing is changed, then `changes`."""
    data = {
        "missions": list(dossier.missions.values_list("mission_type__code", flat=True)),
        "property_street": dossier.property_street,
        "property_postcode": dossier.property_postcode,
        "property_city": dossier.property_city,
        "property_type": dossier.property_type,
        "appointment_at": "",
        "surface": "",
        "year_built": "",
        "lots": dossier.lots,
        "floor": dossier.floor,
    }
    data.update(changes)
    return data


def property_type_select(response: Any) -> str:
    found = re.search(
        r'<select name="property_type"[^>]*>(.*?)</select>', response.content.decode(), re.S
    )
    assert found, "no property type select on the page"
    return found.group(0)


def test_the_edit_page_shows_not_given_selected(people, untyped):
    response = people["admin"].client().get(edit_url(untyped))
    assert response.status_code == 200
    select = property_type_select(response)
    options = re.findall(r"<option[^>]*>[^<]*</option>", select)
    assert options[0] == f'<option value="" selected>{fr("— not given —")}</option>'
    assert [option for option in options if "selected" in option] == [options[0]]
    assert len(options) == 1 + len(Dossier.PropertyType.choices)
    assert " required" not in select.split(">", 1)[0]
    assert response.context["form"]["property_type"].value() == ""


def test_saving_other_fields_keeps_the_type_empty(people, untyped):
    admin = people["admin"]
    response = admin.client().post(
        edit_url(untyped), form_data(untyped, property_city="Roubaix", floor="2")
    )
    assert response.status_code == 302, response.context["form"].errors
    assert response["Location"] == f"{LIST}{untyped.public_id}/"
    untyped.refresh_from_db()
    assert (untyped.property_city, untyped.floor, untyped.property_type) == ("Roubaix", "2", "")
    entry = AuditEntry.objects.filter(action="dossier.update").get()
    assert "property_type" not in (entry.after or {})


def test_a_real_type_can_be_chosen(people, untyped):
    response = (
        people["admin"].client().post(edit_url(untyped), form_data(untyped, property_type="house"))
    )
    assert response.status_code == 302
    untyped.refresh_from_db()
    assert untyped.property_type == Dossier.PropertyType.HOUSE
    # once it has a type, the empty choice is no longer offered
    page = people["admin"].client().get(edit_url(untyped))
    assert 'value=""' not in property_type_select(page)


def test_a_type_outside_the_choices_is_refused(people, untyped, assert_nothing_changes):
    with assert_nothing_changes():
        response = (
            people["admin"]
            .client()
            .post(
                edit_url(untyped),
                form_data(untyped, property_type="villa", property_city="Roubaix"),
            )
        )
    assert response.status_code == 200
    assert "property_type" in response.context["form"].errors


def test_a_typed_dossier_cannot_lose_its_type(people, assert_nothing_changes):
    admin = people["admin"]
    dossier = services.create_dossier(
        admin.member,
        services.DossierInput({"property_type": "flat"}, ["dpe"]),
        actor=admin.user,
    )
    assert 'value=""' not in property_type_select(admin.client().get(edit_url(dossier)))
    with assert_nothing_changes():
        response = admin.client().post(edit_url(dossier), form_data(dossier, property_type=""))
    assert response.status_code == 200
    assert "property_type" in response.context["form"].errors


def test_creating_without_a_type_is_still_refused(people, assert_nothing_changes):
    admin = people["admin"]
    services.mission_types(admin.org)
    client = admin.client()
    assert 'value=""' not in property_type_select(client.get(f"{LIST}nouveau/"))
    for data in ({"missions": ["dpe"]}, {"missions": ["dpe"], "property_type": ""}):
        with assert_nothing_changes():
            response = client.post(f"{LIST}nouveau/", data)
        assert response.status_code == 200
        assert "property_type" in response.context["form"].errors
        assert shows(response, "This field is required.")
