"""The exchange zone: today's and tomorrow's appointments (Paris days) and dossiers sent
by hand, as the stations see it (GET sync/exchange-zone) and as the web shows it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from comptoir.agenda import services as agenda_services
from comptoir.core.models import AuditEntry
from comptoir.dossiers import services as dossier_services
from comptoir.dossiers.models import Dossier
from comptoir.sync import zone
from comptoir.sync.models import ExchangeZoneEntry
from tests.agenda.factories import a_dossier, book, list_everyone, paris
from tests.conftest import Persona, nothing_changes
from tests.helpers import assert_outsider_gets_404, fr
from tests.sync.conftest import StationClient, pair_station

# A Wednesday; the days around it are named after it.
WED = date(2026, 11, 25)
THU, FRI, TUE = WED + timedelta(days=1), WED + timedelta(days=2), WED - timedelta(days=1)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return paris(day, hour, minute)


@pytest.fixture
def team(people: dict[str, Persona]) -> dict[str, Persona]:
    list_everyone(people)
    return people


def numbers(answer: Any) -> list[str]:
    return [entry["dossier"]["number"] for entry in answer.json()["entries"]]


def zone_of(station: StationClient) -> Any:
    response = station.get("exchange-zone")
    assert response.status_code == 200, response.content
    return response


def add(persona: Persona, dossier: Dossier) -> ExchangeZoneEntry:
    return zone.add(persona.member, dossier, actor=persona.user)


# --- what is in the zone -----------------------------------------------------------------


def test_today_and_tomorrow_planned_appointments_are_in_the_zone(team):
    tech = team["tech_all"].member
    with freeze_time(at(WED, 7)):
        dossiers = {
            name: a_dossier(team, tech)
            for name in ("yesterday", "today", "tomorrow", "friday", "cancelled", "deleted")
        }
        book(team, tech, at(TUE, 14), dossier=dossiers["yesterday"])
        today = book(team, tech, at(WED, 9), 90, dossier=dossiers["today"])
        book(team, tech, at(THU, 16), dossier=dossiers["tomorrow"])
        book(team, tech, at(FRI, 8), dossier=dossiers["friday"])
        cancelled = book(team, tech, at(THU, 10), dossier=dossiers["cancelled"])
        agenda_services.cancel_appointment(
            team["admin"].member, cancelled, actor=team["admin"].user
        )
        book(team, tech, at(THU, 11), dossier=dossiers["deleted"])
        Dossier.objects.filter(pk=dossiers["deleted"].pk).update(deleted_at=timezone.now())
        book(team, tech, at(WED, 12), title="Étalonnage", address="1 place du Théâtre")
        station = pair_station(team)
        answer = zone_of(station).json()
    assert answer["today"] == "2026-11-25"
    assert answer["tomorrow"] == "2026-11-26"
    assert answer["everyone"] is True
    assert [e["dossier"]["number"] for e in answer["entries"]] == [
        dossiers["today"].number,
        dossiers["tomorrow"].number,
    ]
    first = answer["entries"][0]
    head = Dossier.objects.get(pk=dossiers["today"].pk)
    assert first == {
        "dossier": {
            "id": str(head.public_id),
            "number": head.number,
            "year": head.year,
            "rev": head.revision,
            "seq": head.change_seq,
            "deleted": False,
            "quarantined_until": None,
            "conflict": False,
            "size": 0,
            "planned": "2026-11-25",
        },
        "address": "12 rue Esquermoise, 59000 Lille",
        "ordering_party": "",
        "missions": ["DPE", "Amiante"],
        "appointment": str(today.public_id),
        "starts_at": "2026-11-25T08:00:00Z",
        "ends_at": "2026-11-25T09:30:00Z",
        "technician": str(tech),
        "technician_id": str(tech.public_id),
        "mine": True,
        "manual": False,
        "added_at": None,
    }


def test_a_dossier_without_a_revision_gets_its_head_before_it_is_offered(team):
    # as bulk-generated data: straight into the table, no revision yet
    dossier = Dossier.objects.create(
        organization=team["admin"].org, number="2026-09999", year=2026, sequence=9999
    )
    add(team["admin"], dossier)
    [entry] = zone_of(pair_station(team)).json()["entries"]
    dossier.refresh_from_db()
    assert entry["dossier"]["rev"] == dossier.revision != ""
    assert entry["dossier"]["seq"] == dossier.change_seq > 0
    assert dossier.revisions.filter(rev=dossier.revision).exists()


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        # 23:30 in Paris on Wednesday is 22:30 UTC: Wednesday and Thursday
        (datetime(2026, 11, 25, 22, 30, tzinfo=UTC), ["wed-late", "thu", "thu-late"]),
        # 00:30 in Paris on Thursday is still Wednesday in UTC: Thursday and Friday
        (datetime(2026, 11, 25, 23, 30, tzinfo=UTC), ["thu", "thu-late", "fri"]),
    ],
    ids=["23h30", "00h30"],
)
def test_the_days_are_paris_days_around_midnight(team, moment, expected):
    tech = team["tech_all"].member
    with freeze_time(at(WED, 7)):
        slots = {
            "wed-late": at(WED, 23),  # 22:00 UTC
            "thu": at(THU, 0, 15),  # still Wednesday in UTC
            "thu-late": at(THU, 23, 30),
            "fri": at(FRI, 0, 30),
        }
        names = {}
        for name, start in slots.items():
            dossier = a_dossier(team, tech)
            book(team, tech, start, 20, dossier=dossier)
            names[dossier.number] = name
        station = pair_station(team)
    with freeze_time(moment):
        assert [names[number] for number in numbers(zone_of(station))] == expected


def test_an_appointment_running_over_midnight_is_in_both_days(team):
    tech = team["tech_all"].member
    with freeze_time(at(WED, 7)):
        dossier = a_dossier(team, tech)
        book(team, tech, at(TUE, 23), 120, dossier=dossier)  # Tuesday 23:00 → Wednesday 01:00
        station = pair_station(team)
        assert numbers(zone_of(station)) == [dossier.number]
    with freeze_time(at(THU, 7)):
        assert numbers(zone_of(station)) == []


def test_dossiers_sent_by_hand_stay_whatever_their_date(team):
    admin, tech = team["admin"], team["tech_all"].member
    with freeze_time(at(WED, 7)):
        in_two_weeks = a_dossier(team, tech, appointment_at=at(WED + timedelta(days=14), 9))
        undated = a_dossier(team, tech)
        done_last_month = a_dossier(team, tech, appointment_at=at(WED - timedelta(days=30), 9))
        for dossier in (in_two_weeks, undated, done_last_month):
            add(admin, dossier)
        station = pair_station(team)
        answer = zone_of(station).json()
    assert [e["dossier"]["number"] for e in answer["entries"]] == [
        done_last_month.number,
        in_two_weeks.number,
        undated.number,
    ]
    assert [e["manual"] for e in answer["entries"]] == [True, True, True]
    assert [e["appointment"] for e in answer["entries"]] == [None, None, None]
    assert answer["entries"][1]["starts_at"] == "2026-12-09T08:00:00Z"
    assert answer["entries"][2]["starts_at"] is None
    assert answer["entries"][0]["added_at"] == "2026-11-25T06:00:00Z"
    # two weeks later the first visit is over: it leaves; the others stay
    with freeze_time(at(WED + timedelta(days=15), 7)):
        assert numbers(zone_of(station)) == [done_last_month.number, undated.number]
    with freeze_time(at(WED + timedelta(days=14), 23, 59)):
        assert numbers(zone_of(station)) == [
            done_last_month.number,
            in_two_weeks.number,
            undated.number,
        ]


def test_a_dossier_both_booked_and_sent_by_hand_is_listed_once_per_appointment(team):
    admin, tech = team["admin"], team["tech_all"].member
    with freeze_time(at(WED, 7)):
        dossier = a_dossier(team, tech)
        book(team, tech, at(WED, 9), dossier=dossier)
        book(team, tech, at(THU, 9), dossier=dossier)
        add(admin, dossier)
        answer = zone_of(pair_station(team)).json()
    assert [(e["dossier"]["number"], e["manual"]) for e in answer["entries"]] == [
        (dossier.number, True),
        (dossier.number, True),
    ]
    assert [e["starts_at"] for e in answer["entries"]] == [
        "2026-11-25T08:00:00Z",
        "2026-11-26T08:00:00Z",
    ]


def test_the_list_widget_shows_a_dossier_once_at_its_first_appointment(team):
    admin, tech = team["admin"], team["tech_all"].member
    with freeze_time(at(WED, 7)):
        dossier = a_dossier(team, tech)
        book(team, tech, at(WED, 9), dossier=dossier)
        book(team, tech, at(THU, 14), dossier=dossier)
        page = admin.client().get(reverse("dossiers:list", args=["acme"])).content.decode()
    widget = page[page.index('id="zone-widget"') :]
    widget = widget[: widget.index("</ul>")]
    assert widget.count(dossier.number) == 1
    assert "25/11 09:00" in widget and "26/11 14:00" not in widget


def test_add_remove_and_the_audit_log(team):
    admin, backoffice = team["admin"], team["backoffice"]
    with freeze_time(at(WED, 7)):
        dossier = a_dossier(team, team["tech_all"].member)
        station = pair_station(team)
        entry = add(backoffice, dossier)
        assert add(admin, dossier) == entry  # already there: nothing changes
        assert numbers(zone_of(station)) == [dossier.number]
        assert zone.remove(admin.member, dossier, actor=admin.user) is True
        assert zone.remove(admin.member, dossier, actor=admin.user) is False
        assert numbers(zone_of(station)) == []
    history = list(
        AuditEntry.objects.filter(
            object_type="dossier", object_id=str(dossier.public_id), action__startswith="exchange"
        )
        .order_by("seq")
        .values_list("action", "actor", "before", "after")
    )
    assert history == [
        (
            "exchange_zone.add",
            backoffice.user.pk,
            {"exchange_zone": False, "by_hand": False},
            {"exchange_zone": True, "by_hand": True},
        ),
        (
            "exchange_zone.remove",
            admin.user.pk,
            {"exchange_zone": True, "by_hand": True},
            {"exchange_zone": False, "by_hand": False},
        ),
    ]
    entry.refresh_from_db()
    assert (entry.added_by, entry.removed_by) == (backoffice.user, admin.user)
    assert entry.removed_at is not None  # kept as history


def test_removing_a_booked_dossier_leaves_it_in_the_zone_through_the_agenda(team):
    admin, tech = team["admin"], team["tech_all"].member
    with freeze_time(at(WED, 7)):
        dossier = a_dossier(team, tech)
        book(team, tech, at(THU, 9), dossier=dossier)
        add(admin, dossier)
        zone.remove(admin.member, dossier, actor=admin.user)
        assert zone.presence_of(dossier).present is True
        assert zone.presence_of(dossier).entry is None
    last = AuditEntry.objects.filter(action="exchange_zone.remove").get()
    assert last.after == {"exchange_zone": True, "by_hand": False}


def test_sent_on_the_day_of_the_visit_it_leaves_at_midnight(team):
    admin, tech = team["admin"], team["tech_all"].member
    with freeze_time(at(WED, 7)):
        dossier = a_dossier(team, tech, appointment_at=at(WED, 15))
        add(admin, dossier)
    with freeze_time(at(WED, 23, 59)):
        assert zone.presence_of(dossier).present is True
    with freeze_time(at(THU, 0, 1)):
        assert zone.presence_of(dossier).present is False


def test_a_lapsed_entry_can_be_sent_again(team):
    admin, tech = team["admin"], team["tech_all"].member
    with freeze_time(at(WED, 7)):
        dossier = a_dossier(team, tech, appointment_at=at(THU, 9))
        first = add(admin, dossier)
    with freeze_time(at(FRI, 7)):
        assert zone.presence_of(dossier).present is False
        second = add(admin, dossier)
        assert second.pk != first.pk
        assert zone.presence_of(dossier).entry == second
    first.refresh_from_db()
    assert first.removed_at is not None and first.removed_by is None


def test_deleted_or_quarantined_dossiers_are_refused_and_leave_the_zone(team):
    admin, tech = team["admin"], team["tech_all"].member
    dossier = a_dossier(team, tech)
    add(admin, dossier)
    Dossier.objects.filter(pk=dossier.pk).update(quarantined_until=timezone.now())
    assert zone.presence_of(dossier).present is False
    other = a_dossier(team, tech)
    Dossier.objects.filter(pk=other.pk).update(deleted_at=timezone.now())
    other.refresh_from_db()
    with nothing_changes(), pytest.raises(zone.DomainError):
        add(admin, other)


def test_the_number_of_dossiers_sent_by_hand_is_capped(team, monkeypatch):
    monkeypatch.setattr(zone, "MAX_BY_HAND", 2)
    admin, tech = team["admin"], team["tech_all"].member
    first, second, third = (a_dossier(team, tech) for _ in range(3))
    add(admin, first)
    add(admin, second)
    with nothing_changes(), pytest.raises(zone.Conflict) as refused:
        add(admin, third)
    assert refused.value.code == "zone_full"
    zone.remove(admin.member, first, actor=admin.user)
    add(admin, third)


# --- who sees what, who may change it ----------------------------------------------------


def test_a_station_sees_the_whole_zone_or_only_its_technicians(team):
    admin = team["admin"]
    with freeze_time(at(WED, 7)):
        mine = a_dossier(team, team["tech_own"].member)
        theirs = a_dossier(team, team["tech_all"].member)
        assigned_to_me_booked_for_them = a_dossier(team, team["tech_own"].member)
        book(team, team["tech_all"].member, at(WED, 10), dossier=theirs)
        book(team, team["tech_own"].member, at(WED, 11), dossier=mine)
        book(team, team["tech_all"].member, at(THU, 8), dossier=assigned_to_me_booked_for_them)
        # booking gave the dossier to the appointment's technician: hand it back
        Dossier.objects.filter(pk=assigned_to_me_booked_for_them.pk).update(
            technician=team["tech_own"].member
        )
        by_hand_mine = a_dossier(team, team["tech_own"].member)
        by_hand_theirs = a_dossier(team, team["tech_all"].member)
        by_hand_nobody = a_dossier(team)
        for dossier in (by_hand_mine, by_hand_theirs, by_hand_nobody):
            add(admin, dossier)
        everyone = zone_of(pair_station(team, "PC bureau", "tech_all")).json()
        own = zone_of(pair_station(team, "Tablette", "tech_own")).json()
        without_web = zone_of(pair_station(team, "Tablette 2", "tech_station")).json()
        office = zone_of(pair_station(team, "PC secrétariat", "backoffice")).json()
    all_numbers = [
        theirs.number,
        mine.number,
        assigned_to_me_booked_for_them.number,
        by_hand_nobody.number,
        by_hand_theirs.number,
        by_hand_mine.number,
    ]
    all_numbers[3:] = sorted(all_numbers[3:])
    assert [e["dossier"]["number"] for e in everyone["entries"]] == all_numbers
    assert [e["dossier"]["number"] for e in office["entries"]] == all_numbers
    assert everyone["everyone"] is True and own["everyone"] is False
    assert [e["dossier"]["number"] for e in own["entries"]] == [
        mine.number,
        assigned_to_me_booked_for_them.number,
        by_hand_mine.number,
    ]
    assert [e["mine"] for e in own["entries"]] == [True, False, True]
    assert without_web["entries"] == []  # assigned nothing
    assert [e["mine"] for e in everyone["entries"]] == [True, False, True, False, True, False]


def test_another_organisations_station_gets_404_and_sees_nothing(team):
    outsider = team["outsider"]
    with freeze_time(at(WED, 7)):
        dossier = a_dossier(team, team["tech_all"].member)
        add(team["admin"], dossier)
        theirs = pair_station({"admin": outsider, "me": outsider}, "PC Globex", "me")
        response = theirs.client().get("/api/v1/orgs/acme/sync/exchange-zone")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert zone_of(theirs).json()["entries"] == []


def test_a_person_token_is_not_a_station(team):
    response = team["admin"].api().get("/api/v1/orgs/acme/sync/exchange-zone")
    assert response.status_code == 403
    assert response.json()["code"] == "station_token_required"


def test_a_station_of_a_blocked_member_is_refused(team):
    station = pair_station(team, "Tablette", "tech_own")
    from comptoir.accounts import services as account_services

    account_services.block_member(team["tech_own"].member, actor=team["admin"].user)
    response = station.get("exchange-zone")
    assert response.status_code == 401


def test_the_zone_costs_a_fixed_number_of_queries(team):
    admin, tech = team["admin"], team["tech_all"].member
    with freeze_time(at(WED, 7)):
        station = pair_station(team)
        zone_of(station)  # warm up: last seen, token

        def count() -> int:
            with CaptureQueriesContext(connection) as queries:
                zone_of(station)
            return len(queries)

        for index in range(2):
            dossier = a_dossier(team, tech)
            book(team, tech, at(WED, 9 + index), dossier=dossier)
            add(admin, a_dossier(team, tech))
        few = count()
        for index in range(6):
            dossier = a_dossier(team, tech)
            book(team, tech, at(THU, 8 + index), dossier=dossier)
            add(admin, a_dossier(team, tech))
        assert count() == few


# --- the web --------------------------------------------------------------------------------


def test_the_list_with_the_zone_costs_the_same_whatever_the_rows(team):
    admin, tech = team["admin"], team["tech_all"].member
    client = admin.client()
    list_url = reverse("dossiers:list", args=["acme"])
    soon = timezone.now() + timedelta(hours=1)
    add(admin, a_dossier(team, tech))
    book(team, tech, soon, dossier=a_dossier(team, tech))
    a_dossier(team, tech)
    client.get(list_url)
    with CaptureQueriesContext(connection) as few:
        client.get(list_url)
    for index in range(10):
        add(admin, a_dossier(team, tech))
        book(team, tech, soon + timedelta(minutes=index), dossier=a_dossier(team, tech))
        a_dossier(team, tech)
    with CaptureQueriesContext(connection) as many:
        response = client.get(list_url)
    assert len(response.context["rows"]) == 33
    assert response.content.decode().count('data-present="true"') == 22
    assert len(many) == len(few)


def url(name: str, dossier: Dossier) -> str:
    return reverse(f"sync:zone-{name}", kwargs={"org": "acme", "dossier_id": dossier.public_id})


def test_the_dossier_page_button_sends_the_dossier_and_takes_it_back(team):
    admin = team["admin"]
    dossier = a_dossier(team, team["tech_all"].member)
    client = admin.client()
    page = client.get(reverse("dossiers:detail", args=["acme", dossier.public_id]))
    content = page.content.decode()
    assert fr("Not in the exchange zone") in content
    assert url("add", dossier) in content
    response = client.post(url("add", dossier))
    assert response.status_code == 302
    assert response["Location"] == reverse("dossiers:detail", args=["acme", dossier.public_id])
    assert zone.presence_of(dossier).entry is not None
    page = client.get(response["Location"]).content.decode()
    assert fr("In the exchange zone") in page
    assert url("remove", dossier) in page
    assert "exchange_zone.add" in page  # the dossier's history
    response = client.post(url("remove", dossier))
    assert response.status_code == 302
    assert zone.presence_of(dossier).present is False


def test_the_list_shows_an_icon_per_row_and_the_zone_at_the_top_right(team):
    admin, tech = team["admin"], team["tech_all"].member
    absent = a_dossier(team, tech)
    sent = a_dossier(team, tech)
    booked = a_dossier(team, tech)
    add(admin, sent)
    book(team, tech, timezone.localtime() + timedelta(hours=1), dossier=booked)
    page = admin.client().get(reverse("dossiers:list", args=["acme"])).content.decode()
    assert page.count('class="zone-mark" data-present="true"') == 2
    assert page.count('class="zone-mark" data-present="false"') == 1
    assert 'aria-label="{}"'.format(
        fr("Send dossier %(number)s to the exchange zone") % {"number": absent.number}
    ) in page.replace("&#x27;", "'")
    assert 'aria-label="{}"'.format(
        fr("Remove dossier %(number)s from the exchange zone") % {"number": sent.number}
    ) in page.replace("&#x27;", "'")
    assert "bi-calendar-x" in page
    assert 'id="zone-widget"' in page
    assert reverse("sync:zone", args=["acme"]) in page
    zone_page = admin.client().get(reverse("sync:zone", args=["acme"])).content.decode()
    assert sent.number in zone_page and booked.number in zone_page
    assert absent.number not in zone_page


def test_the_list_icon_with_htmx_answers_the_new_icon_and_the_zone(team):
    admin = team["admin"]
    dossier = a_dossier(team, team["tech_all"].member)
    response = admin.client().post(
        url("add", dossier), {"back": "list", "query": "q=x"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="zone-mark-{dossier.public_id}"' in body
    assert 'data-present="true"' in body and "bi-calendar-check" in body
    assert url("remove", dossier) in body
    assert 'id="zone-widget" hx-swap-oob="true"' in body


def test_without_javascript_the_list_icon_goes_back_to_the_same_list(team):
    admin = team["admin"]
    dossier = a_dossier(team, team["tech_all"].member)
    response = admin.client().post(url("add", dossier), {"back": "list", "query": "q=rue&page=2"})
    assert response.status_code == 302
    assert response["Location"] == reverse("dossiers:list", args=["acme"]) + "?q=rue&page=2"


def test_an_own_dossiers_technician_sends_only_their_dossiers(team):
    me = team["tech_own"]
    mine = a_dossier(team, me.member)
    theirs = a_dossier(team, team["tech_all"].member)
    assert me.client().post(url("add", mine)).status_code == 302
    with nothing_changes():
        assert me.client().post(url("add", theirs)).status_code == 404
    add(team["admin"], theirs)
    with nothing_changes():
        assert me.client().post(url("remove", theirs)).status_code == 404
    # their zone shows only their dossiers
    page = me.client().get(reverse("sync:zone", args=["acme"])).content.decode()
    assert mine.number in page and theirs.number not in page


def test_roles_without_the_right_change_nothing(team):
    dossier = a_dossier(team, team["tech_all"].member)
    for name in ("add", "remove"):
        with nothing_changes():
            response = team["tech_station"].client().post(url(name, dossier))
        assert response.status_code == 403
        assert_outsider_gets_404(team["outsider"].client(), "POST", url(name, dossier))
    zone_url = reverse("sync:zone", args=["acme"])
    assert_outsider_gets_404(team["outsider"].client(), "GET", zone_url)


def test_the_same_dossier_id_in_another_organisation_answers_404(team):
    outsider = team["outsider"]
    theirs = dossier_services.create_dossier(
        outsider.member,
        dossier_services.DossierInput({"property_city": "Roubaix"}, ["dpe"]),
        actor=outsider.user,
    )
    with nothing_changes():
        response = team["admin"].client().post(url("add", theirs))
    assert response.status_code == 404


def test_the_demo_sends_two_dossiers_by_hand(team):
    from comptoir.core.demo_registry import DemoContext
    from comptoir.sync import demo

    tech = team["tech_all"].member
    later = a_dossier(team, tech, appointment_at=timezone.now() + timedelta(days=5))
    late = a_dossier(team, tech, appointment_at=timezone.now() - timedelta(days=6))
    a_dossier(team, team["tech_own"].member, appointment_at=timezone.now() + timedelta(days=5))
    ctx = DemoContext(write=lambda line: None)
    assert demo._exchange_zone(ctx, team["admin"].org, team["admin"].member, tech) == 2
    assert {entry.dossier for entry in ExchangeZoneEntry.objects.all()} == {later, late}
    assert zone.presence_of(later).present and zone.presence_of(late).present
