"""The change feed through the station API: sequences, paging, checkpoints, filters, flags."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from freezegun import freeze_time

from comptoir.dossiers import services as dossier_services
from comptoir.dossiers.models import Dossier
from comptoir.sync import configure
from comptoir.sync.models import Station
from comptoir.sync.services import current_sequence
from tests.sync.conftest import StationClient, document, item


def feed(station: StationClient, since: int = 0, limit: int = 1000) -> dict[str, Any]:
    response = station.get(f"changes?since={since}&limit={limit}")
    assert response.status_code == 200, response.content
    return response.json()


def ids(page: dict[str, Any]) -> list[str]:
    return [entry["id"] for entry in page["results"]]


def push(station: StationClient, doc: dict[str, Any], base: str | None = None) -> dict[str, Any]:
    result = station.push(item(doc, base)).json()["results"][0]
    assert result["status"] in {"accepted", "conflict"}, result
    return result


def model(station: StationClient) -> Station:
    return Station.objects.get(public_id=station.station_id)


def options(station: StationClient, **values: Any) -> None:
    configure.set_station_options(
        model(station), values, own_settings=True, admin_password=None, actor=None
    )


def planned_in(days: int) -> str:
    return (timezone.localtime() + timedelta(days=days)).replace(microsecond=0).isoformat()


def test_sequences_grow_and_each_dossier_appears_once_at_its_latest(station):
    """Every write takes a higher sequence; the feed lists a dossier once, at its last one."""
    docs = [document(number=f"2026-0{index}") for index in range(3)]
    first = [push(station, doc) for doc in docs]
    seqs = [result["seq"] for result in first]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    edited = push(station, {**docs[0], "status": "done"}, first[0]["rev"])
    assert edited["seq"] > max(seqs)
    page = feed(station)
    assert ids(page) == [docs[1]["id"], docs[2]["id"], docs[0]["id"]]
    assert [entry["seq"] for entry in page["results"]] == [seqs[1], seqs[2], edited["seq"]]
    assert page["results"][-1]["rev"] == edited["rev"]
    assert page["next"] == edited["seq"] and page["done"] is True


def test_an_entry_describes_the_dossier(station):
    """Number, year, revision, size and planned date come with each entry."""
    data = b"%PDF rapport"
    station.batch([data])
    doc = document(number="2026-00077", files=[data])
    result = push(station, doc)
    (entry,) = feed(station)["results"]
    assert entry == {
        "id": doc["id"],
        "number": "2026-00077",
        "year": 2026,
        "rev": result["rev"],
        "seq": result["seq"],
        "deleted": False,
        "quarantined_until": None,
        "conflict": False,
        "size": len(data),
        "planned": "2026-11-25",
    }


def test_small_pages_follow_next_until_done(station):
    """limit=2 over five dossiers: pages of 2, 2, 1 chained by `next`, `done` on the last."""
    docs = [document(number=f"2026-1{index}") for index in range(5)]
    for doc in docs:
        push(station, doc)
    since, pages = 0, []
    while True:
        page = feed(station, since, limit=2)
        pages.append((len(page["results"]), page["done"]))
        assert page["next"] > since
        since = page["next"]
        if page["done"]:
            break
    assert pages == [(2, False), (2, False), (1, True)]
    assert since == current_sequence(Dossier.objects.get(public_id=docs[0]["id"]).organization)
    assert feed(station, since) == {"results": [], "next": since, "done": True, "reset": False}


def test_an_exact_last_page_is_done(station):
    """Four dossiers read two by two: the second page says done, no empty third page."""
    for index in range(4):
        push(station, document(number=f"2026-2{index}"))
    first = feed(station, 0, limit=2)
    second = feed(station, first["next"], limit=2)
    assert (first["done"], second["done"]) == (False, True)
    assert len(ids(first) + ids(second)) == 4


def test_the_checkpoint_advances_when_the_filter_keeps_nothing(station, other_station):
    """A station told about nothing still moves its checkpoint to the current sequence."""
    for index in range(3):
        last = push(station, document(number=f"2026-3{index}"))
    page = feed(other_station)
    assert page == {"results": [], "next": last["seq"], "done": True, "reset": False}
    assert feed(other_station, page["next"]) == page
    # a later change the other station holds shows up above that checkpoint
    doc = document(number="2026-00399")
    mine = push(other_station, doc)
    after = feed(other_station, page["next"])
    assert ids(after) == [doc["id"]] and after["next"] == mine["seq"]


def test_bad_feed_parameters_are_refused(station):
    """A negative `since` or a limit outside 1–1000 is refused, naming the parameter."""
    for query, where in (("since=-1", "since"), ("limit=0", "limit"), ("limit=1001", "limit")):
        response = station.get(f"changes?{query}")
        assert response.status_code == 422, query
        assert where in response.json()["message"]


def test_a_deleted_dossier_reaches_its_holder_as_a_tombstone(people, station, other_station):
    """Deleting on the web: the holder sees deleted:true; a station without it sees nothing."""
    options(other_station, fetch_missing=True)
    doc = document()
    pushed = push(station, doc)
    assert ids(feed(other_station)) == [doc["id"]]  # wanted, not held
    dossier = Dossier.objects.get(public_id=doc["id"])
    dossier_services.delete_dossier(dossier, actor=people["admin"].user)
    (entry,) = feed(station, pushed["seq"])["results"]
    assert entry["id"] == doc["id"] and entry["deleted"] is True
    assert entry["seq"] > pushed["seq"]
    assert feed(other_station, pushed["seq"])["results"] == []
    fetched = station.post("dossiers/fetch", {"ids": [doc["id"]]}).json()["dossiers"][0]
    assert fetched["deleted"] is True


def test_fetch_missing_announces_every_dossier(station, other_station):
    """With fetch_missing the other station hears of dossiers it never held."""
    doc = document()
    push(station, doc)
    assert feed(other_station)["results"] == []
    options(other_station, fetch_missing=True)
    assert ids(feed(other_station)) == [doc["id"]]


def test_fetch_after_keeps_dossiers_planned_or_created_from_that_date(station, other_station):
    """fetch_after: planned on or after the date, or unplanned and created on or after it."""
    before = document(number="2026-40", appointment="2026-03-01T09:00:00+01:00")
    on_the_day = document(number="2026-41", appointment="2026-06-01T08:00:00+02:00")
    later = document(number="2026-42", appointment="2026-09-01T09:00:00+02:00")
    unplanned_old = document(
        number="2026-43", appointment=None, created_at="2026-01-10T09:00:00+01:00"
    )
    unplanned_new = document(
        number="2026-44", appointment=None, created_at="2026-07-10T09:00:00+02:00"
    )
    for doc in (before, on_the_day, later, unplanned_old, unplanned_new):
        push(station, doc)
    options(other_station, fetch_missing=True, fetch_after="2026-06-01")
    assert set(ids(feed(other_station))) == {on_the_day["id"], later["id"], unplanned_new["id"]}


def test_a_dossier_beyond_the_horizon_is_not_lost_when_it_comes_closer(station, other_station):
    """The horizon moves with the days: the far dossier must still reach the station in time."""
    options(other_station, fetch_missing=True, fetch_horizon_days=7)
    near = document(number="2026-50", appointment=planned_in(2))
    far = document(number="2026-51", appointment=planned_in(30))
    push(station, near)
    push(station, far)
    now = timezone.now()
    with freeze_time(now):
        today = feed(other_station)
    seen = {entry["id"]: entry["planned"] for entry in today["results"]}
    with freeze_time(now + timedelta(days=25)):  # the far dossier is now 5 days away
        later = feed(other_station, today["next"])
    seen.update({entry["id"]: entry["planned"] for entry in later["results"]})
    assert near["id"] in seen
    assert far["id"] in seen, "the checkpoint moved past the far dossier: it is never fetched"
    assert seen[far["id"]] == far["appointment"][:10]


def test_common_options_apply_unless_the_station_has_its_own(people, station, other_station):
    """use_common: the common fetch_missing applies; a station with its own settings keeps them."""
    doc = document()
    push(station, doc)
    configure.set_company_options(
        people["admin"].org,
        {"use_common": True},
        common={"fetch_missing": True},
        invoice_station=None,
        admin_password=None,
        actor=people["admin"].user,
    )
    assert ids(feed(other_station)) == [doc["id"]]
    options(other_station, fetch_missing=False)  # own settings from now on
    assert feed(other_station)["results"] == []


def test_a_conflict_is_flagged_to_every_station_holding_the_dossier(station, other_station):
    """Two stations edit the same base: both feeds show conflict:true at the new sequence."""
    doc = document()
    first = push(station, doc)
    other_station.post("dossiers/fetch", {"ids": [doc["id"]]})
    accepted = push(station, {**doc, "status": "done"}, first["rev"])
    conflict = push(other_station, {**doc, "operator": "DUJ"}, first["rev"])
    assert conflict["status"] == "conflict"
    for holder in (station, other_station):
        (entry,) = feed(holder, accepted["seq"])["results"]
        assert entry["conflict"] is True
        assert entry["rev"] == accepted["rev"]
        assert entry["seq"] > accepted["seq"]


def test_the_feed_stays_within_the_organisation(people, station):
    """Another organisation's station, even fetching everything, never hears of these dossiers."""
    from tests.sync.test_protocol import pair_station_for_outsider

    push(station, document())
    outsider = pair_station_for_outsider(people)
    outsider_model = model(outsider)
    configure.set_station_options(
        outsider_model, {"fetch_missing": True}, own_settings=True, admin_password=None, actor=None
    )
    page = feed(outsider)
    assert page["results"] == [] and page["next"] == 0


def test_a_checkpoint_beyond_a_restored_hub_reads_the_feed_again(people, station):
    """A hub restored from a backup has gone back: a checkpoint it gave before is beyond
    its sequence, and the feed starts again from 0 (with `reset`) instead of staying
    silent until the sequence catches up."""
    from comptoir.dossiers.models import ChangeCounter

    docs = [document(f"2026-0030{index}") for index in range(3)]
    for doc in docs:
        push(station, doc)
    checkpoint = feed(station)["next"]
    assert feed(station, since=checkpoint) == {
        "results": [],
        "next": checkpoint,
        "done": True,
        "reset": False,
    }
    org = Dossier.objects.get(public_id=docs[0]["id"]).organization
    ChangeCounter.objects.filter(organization=org).update(last=2)
    Dossier.objects.filter(organization=org).update(change_seq=1)
    page = feed(station, since=checkpoint)
    assert page["reset"] is True and page["done"] is True
    assert set(ids(page)) == {doc["id"] for doc in docs}
    assert page["next"] == 2
    assert feed(station, since=2)["reset"] is False
