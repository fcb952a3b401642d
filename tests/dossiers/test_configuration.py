"""Outils › Paramètres › Dossiers: custom mission types and custom fields."""

from __future__ import annotations

import html

import pytest

from comptoir.core.errors import Conflict, Forbidden
from comptoir.core.models import AuditEntry
from comptoir.dossiers import configuration, services
from comptoir.dossiers.models import CustomField, Dossier, MissionType
from tests.helpers import fr, shows

SETTINGS = "/o/acme/parametres/dossiers/"
LIST = "/o/acme/dossiers/"
API = "/api/v1/orgs/acme"


def mission_choices(client) -> list[str]:
    form = client.get(f"{LIST}nouveau/").context["form"]
    return [code for code, _label in form.fields["missions"].choices]


def test_the_tab_lists_builtin_and_custom_types(people):
    admin = people["admin"]
    configuration.create_mission_type(admin.member, "Assainissement", actor=admin.user)
    response = admin.client().get(SETTINGS)
    assert response.status_code == 200
    codes = [kind.code for kind in response.context["mission_types"]]
    assert codes[0] == "dpe" and codes[-1] == "assainissement"
    assert shows(response, "Custom fields")


def test_a_custom_type_is_offered_on_the_form_and_accepted_by_the_api(people):
    admin = people["admin"]
    client = admin.client()
    response = client.post(f"{SETTINGS}nouvelle-mission/", {"label": "Diagnostic piscine"})
    assert response.status_code == 302
    kind = MissionType.objects.get(organization=admin.org, code="diagnostic-piscine")
    assert (kind.label, kind.is_builtin, kind.is_active) == ("Diagnostic piscine", False, True)
    entry = AuditEntry.objects.get(action="mission_type.create")
    assert entry.after["code"] == "diagnostic-piscine"
    assert "diagnostic-piscine" in mission_choices(client)

    response = client.post(
        f"{LIST}nouveau/",
        {"missions": ["diagnostic-piscine"], "property_type": "house"},
    )
    assert response.status_code == 302
    response = admin.api().post(
        f"{API}/dossiers",
        {"missions": ["dpe", "diagnostic-piscine"], "property_city": "Lille"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["missions"] == ["dpe", "diagnostic-piscine"]


def test_a_deactivated_type_leaves_the_form_but_stays_on_its_dossiers(people):
    admin = people["admin"]
    client = admin.client()
    kind = configuration.create_mission_type(admin.member, "Assainissement", actor=admin.user)
    dossier = services.create_dossier(
        admin.member, services.DossierInput({}, ["dpe", kind.code]), actor=admin.user
    )
    response = client.post(f"{SETTINGS}missions/{kind.code}/activation/", {"active": "0"})
    assert response.status_code == 302
    kind.refresh_from_db()
    assert not kind.is_active
    assert AuditEntry.objects.filter(action="mission_type.update").count() == 1
    assert kind.code not in mission_choices(client)
    refused = admin.api().post(
        f"{API}/dossiers", {"missions": [kind.code]}, content_type="application/json"
    )
    assert refused.status_code == 400
    # editing the dossier keeps the mission it already has
    edit = client.get(f"{LIST}{dossier.public_id}/modifier/").context["form"]
    assert kind.code in [code for code, _label in edit.fields["missions"].choices]
    response = client.post(
        f"{LIST}{dossier.public_id}/modifier/",
        {"missions": ["dpe", kind.code], "property_type": "flat", "floor": "2"},
    )
    assert response.status_code == 302
    assert sorted(dossier.missions.values_list("mission_type__code", flat=True)) == [
        "assainissement",
        "dpe",
    ]
    client.post(f"{SETTINGS}missions/{kind.code}/activation/", {"active": "1"})
    assert kind.code in mission_choices(client)


def test_a_builtin_type_can_be_deactivated_but_not_renamed(people):
    admin = people["admin"]
    client = admin.client()
    services.ensure_mission_types(admin.org)
    client.post(f"{SETTINGS}missions/termites/activation/", {"active": "0"})
    assert "termites" not in mission_choices(client)
    dpe = MissionType.objects.get(organization=admin.org, code="dpe")
    with pytest.raises(Conflict):
        configuration.rename_mission_type(admin.member, dpe, "Diag perf", actor=admin.user)
    client.post(f"{SETTINGS}missions/dpe/", {"label": "Diag perf"})
    dpe.refresh_from_db()
    assert dpe.label == "DPE"


def test_rename_a_custom_type_keeps_its_code(people):
    admin = people["admin"]
    kind = configuration.create_mission_type(admin.member, "Assainissement", actor=admin.user)
    response = admin.client().post(
        f"{SETTINGS}missions/{kind.code}/", {"label": "Assainissement non collectif"}
    )
    assert response.status_code == 302
    kind.refresh_from_db()
    assert (kind.code, kind.label) == ("assainissement", "Assainissement non collectif")
    entry = AuditEntry.objects.get(action="mission_type.update")
    assert entry.before == {"label": "Assainissement"}


def test_a_duplicate_label_is_refused_and_nothing_written(people, assert_nothing_changes):
    admin = people["admin"]
    client = admin.client()
    configuration.create_mission_type(admin.member, "Assainissement", actor=admin.user)
    for label in ("assainissement", "Assainissement !", "DPE"):
        with assert_nothing_changes():
            response = client.post(f"{SETTINGS}nouvelle-mission/", {"label": label})
        assert response.status_code == 200
        [error] = response.context["form"].errors["label"]
        assert error.startswith("Un type de mission")
        assert html.escape(error) in response.content.decode()


def test_only_the_settings_right_changes_the_configuration(people):
    tech = people["tech_all"]
    with pytest.raises(Forbidden):
        configuration.create_mission_type(tech.member, "Piscine", actor=tech.user)


def test_a_custom_field_shows_on_the_form_and_its_value_is_saved(people):
    admin = people["admin"]
    client = admin.client()
    response = client.post(f"{SETTINGS}nouveau-champ/", {"label": "Digicode", "kind": "text"})
    assert response.status_code == 302
    client.post(f"{SETTINGS}nouveau-champ/", {"label": "Visite le", "kind": "date"})
    assert [(f.key, f.position) for f in CustomField.objects.all()] == [
        ("digicode", 0),
        ("visite-le", 1),
    ]
    form = client.get(f"{LIST}nouveau/").context["form"]
    assert form.fields["custom_digicode"].label == "Digicode"
    services.mission_types(admin.org)
    response = client.post(
        f"{LIST}nouveau/",
        {
            "missions": ["dpe"],
            "property_type": "flat",
            "custom_digicode": "A12B",
            "custom_visite-le": "2030-05-04",
        },
    )
    assert response.status_code == 302
    assert Dossier.objects.get().custom_fields == {"digicode": "A12B", "visite-le": "2030-05-04"}


def test_rename_and_reorder_fields(people):
    admin = people["admin"]
    client = admin.client()
    for label in ("Digicode", "Gardien", "Étage"):
        configuration.create_custom_field(admin.member, label, "text", actor=admin.user)
    client.post(f"{SETTINGS}champs/etage/deplacer/", {"direction": "up"})
    client.post(f"{SETTINGS}champs/digicode/", {"label": "Code d'accès"})
    assert [(f.key, f.label) for f in CustomField.objects.all()] == [
        ("digicode", "Code d'accès"),
        ("etage", "Étage"),
        ("gardien", "Gardien"),
    ]
    form = client.get(f"{LIST}nouveau/").context["form"]
    custom = [name for name in form.fields if name.startswith("custom_")]
    assert custom == ["custom_digicode", "custom_etage", "custom_gardien"]
    assert AuditEntry.objects.filter(action="custom_field.update").count() == 2


def test_a_field_in_use_cannot_be_deleted(people, assert_nothing_changes):
    admin = people["admin"]
    client = admin.client()
    field = configuration.create_custom_field(admin.member, "Digicode", "text", actor=admin.user)
    services.create_dossier(
        admin.member,
        services.DossierInput({"custom_fields": {"digicode": "A12"}}, ["dpe"]),
        actor=admin.user,
    )
    with assert_nothing_changes():
        response = client.post(f"{SETTINGS}champs/digicode/supprimer/", follow=True)
    assert CustomField.objects.filter(pk=field.pk).exists()
    [message] = [str(message) for message in response.context["messages"]]
    expected = fr(
        "The field “%(label)s” has a value in %(count)d dossier: "
        "clear it before deleting the field."
    ) % {"label": "Digicode", "count": 1}
    assert message == expected
    assert (
        expected
        != "The field “Digicode” has a value in 1 dossier: clear it before deleting the field."
    )


def test_an_unused_field_is_deleted_and_audited(people):
    admin = people["admin"]
    configuration.create_custom_field(admin.member, "Piscine", "bool", actor=admin.user)
    services.create_dossier(
        admin.member,
        services.DossierInput({"custom_fields": {"piscine": False}}, ["dpe"]),
        actor=admin.user,
    )
    response = admin.client().post(f"{SETTINGS}champs/piscine/supprimer/")
    assert response.status_code == 302
    assert not CustomField.objects.exists()
    assert AuditEntry.objects.get(action="custom_field.delete").before["key"] == "piscine"


def test_the_tab_appears_in_the_settings(people):
    response = people["admin"].client().get(SETTINGS)
    tabs = [tab["url_name"] for tab in response.context["settings_tabs"]()]
    assert "dossiers:settings" in tabs
