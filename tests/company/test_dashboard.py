"""The home dashboard: which panels each role sees, and what they hold."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import pytest
from django.utils import timezone

from comptoir.core.dashboard import PANELS, panels_for
from comptoir.core.models import Certification
from comptoir.dossiers import services as dossier_services
from tests.company.factories import a_device
from tests.conftest import Persona


def at(days: int, hour: int) -> datetime:
    day = timezone.localdate() + timedelta(days=days)
    return datetime.combine(day, time(hour), tzinfo=timezone.get_current_timezone())


def dossier(
    people: dict[str, Persona], technician: str | None, when: datetime | None, street: str
) -> str:
    member = people["admin"].member
    fields: dict[str, Any] = {
        "property_street": street,
        "property_postcode": "59000",
        "property_city": "Lille",
        "appointment_at": when,
        "technician": people[technician].member if technician else None,
    }
    made = dossier_services.create_dossier(
        member, dossier_services.DossierInput(fields, ["dpe"]), actor=people["admin"].user
    )
    return made.number


@pytest.fixture
def agenda(people) -> dict[str, str]:
    numbers = {
        "own_today": dossier(people, "tech_own", at(0, 10), "1 rue Nationale"),
        "all_today": dossier(people, "tech_all", at(0, 8), "2 rue de Paris"),
        "own_tomorrow": dossier(people, "tech_own", at(1, 14), "3 rue Faidherbe"),
        "later": dossier(people, "tech_own", at(2, 9), "4 rue des Arts"),
        "yesterday": dossier(people, "tech_all", at(-1, 9), "5 avenue Foch"),
        "own_waiting": dossier(people, "tech_own", None, "6 rue Gambetta"),
    }
    for index in range(11):
        numbers[f"waiting_{index}"] = dossier(people, None, None, f"{index + 10} rue Pasteur")
    return numbers


OURS = ["appointments", "to-schedule", "expiring", "recent-activity"]


def panels(persona: Persona) -> dict[str, dict[str, Any]]:
    """The panels this test module is about (other apps may add theirs)."""
    return {panel.key: panel.data for panel in panels_for(persona.member) if panel.key in OURS}


def appointment_numbers(data: dict[str, Any]) -> dict[str, list[str]]:
    return {day["key"]: [row.number for row in day["dossiers"]] for day in data["days"]}


def test_the_panels_are_registered_in_order():
    assert [panel.key for panel in PANELS if panel.key in OURS] == OURS


def test_administrator_sees_every_panel(people, agenda):
    shown = panels(people["admin"])
    assert list(shown) == OURS
    assert appointment_numbers(shown["appointments"]) == {
        "today": [agenda["all_today"], agenda["own_today"]],
        "tomorrow": [agenda["own_tomorrow"]],
    }
    assert shown["to-schedule"]["count"] == 12
    assert [row.number for row in shown["to-schedule"]["dossiers"]] == [
        agenda["own_waiting"],
        *(agenda[f"waiting_{index}"] for index in range(9)),
    ]
    assert shown["expiring"] == {"certifications": [], "devices": [], "everyone": True, "days": 60}


def test_own_dossiers_technician_sees_only_their_appointments(people, agenda):
    shown = panels(people["tech_own"])
    assert list(shown) == ["appointments", "to-schedule"]
    assert appointment_numbers(shown["appointments"]) == {
        "today": [agenda["own_today"]],
        "tomorrow": [agenda["own_tomorrow"]],
    }
    assert shown["to-schedule"]["count"] == 1
    assert [row.number for row in shown["to-schedule"]["dossiers"]] == [agenda["own_waiting"]]


@pytest.mark.parametrize("key", ["backoffice", "tech_all"])
def test_back_office_and_all_dossiers_technician_see_the_whole_agenda(people, agenda, key):
    shown = panels(people[key])
    assert list(shown) == ["appointments", "to-schedule"]
    assert appointment_numbers(shown["appointments"])["today"] == [
        agenda["all_today"],
        agenda["own_today"],
    ]
    assert shown["to-schedule"]["count"] == 12


def test_expiring_certifications_and_devices(people):
    admin, tech = people["admin"], people["tech_all"]
    today = timezone.localdate()
    soon = Certification.objects.create(
        membership=tech.member,
        kind="amiante",
        number="CPDI-1",
        body="Bureau Veritas",
        expires_on=today + timedelta(days=35),
    )
    Certification.objects.create(
        membership=tech.member,
        kind="dpe",
        number="CPDI-2",
        body="Bureau Veritas",
        expires_on=today + timedelta(days=400),
    )
    niton = a_device(admin, name="Niton", expires_on=today + timedelta(days=41))
    a_device(admin, name="Disto", expires_on=today + timedelta(days=300))
    admin_view = panels(admin)["expiring"]
    assert [(row["item"], row["state"]) for row in admin_view["certifications"]] == [(soon, "soon")]
    assert [(row["item"], row["state"]) for row in admin_view["devices"]] == [(niton, "soon")]
    tech_view = panels(tech)["expiring"]
    assert (tech_view["everyone"], tech_view["devices"]) == (False, [])
    assert [row["item"] for row in tech_view["certifications"]] == [soon]
    assert "expiring" not in panels(people["backoffice"]), "nothing of theirs expires"

    page = admin.client().get("/o/acme/").content.decode()
    assert 'data-panel="expiring"' in page
    assert "Niton" in page and "Bureau Veritas" in page


def test_the_dashboard_page_shows_the_panels_per_role(people, agenda):
    page = people["tech_own"].client().get("/o/acme/").content.decode()
    assert 'data-panel="appointments"' in page and 'data-panel="to-schedule"' in page
    assert 'data-panel="recent-activity"' not in page
    assert agenda["own_today"] in page
    assert agenda["all_today"] not in page
    admin_page = people["admin"].client().get("/o/acme/").content.decode()
    assert 'data-panel="recent-activity"' in admin_page


def test_the_dashboard_query_count_does_not_grow_with_the_agenda(
    people, agenda, django_assert_max_num_queries
):
    client = people["admin"].client()
    client.get("/o/acme/")  # warm the session and the caches
    with django_assert_max_num_queries(16):  # 14 today: no query per appointment
        assert client.get("/o/acme/").status_code == 200
