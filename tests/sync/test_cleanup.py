"""“Volume de données”: usage per year; removing a date range's cloud copies after quarantine."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from comptoir.core.errors import Conflict, DomainError
from comptoir.core.models import AuditEntry, Organization
from comptoir.dossiers import services as dossier_services
from comptoir.dossiers.models import Blob, Dossier, blob_path
from comptoir.sync import cleanup, configure, services
from comptoir.sync.models import QUARANTINE, CloudCleanup, Station
from tests.sync.conftest import StationClient, document, item

SHARED = b"logo used in 2024 and 2025"
OLD = b"%PDF report of 2024"
NEW = b"%PDF report of 2025, a little longer"
FROM, TO = date(2024, 1, 1), date(2024, 12, 31)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def model(station: StationClient) -> Station:
    return Station.objects.get(public_id=station.station_id)


def dossier_doc(number: str, created: str, files: list[bytes]) -> dict[str, Any]:
    return document(
        number=number, files=files, created_at=created, year=int(created[:4]), appointment=None
    )


def push(station: StationClient, doc: dict[str, Any], base: str | None = None) -> dict[str, Any]:
    return station.push(item(doc, base)).json()["results"][0]


def feed_entry(station: StationClient, doc: dict[str, Any], since: int = 0) -> dict[str, Any]:
    results = station.get(f"changes?since={since}").json()["results"]
    return next(entry for entry in results if entry["id"] == doc["id"])


@dataclass
class Scene:
    org: Organization
    admin: Any
    old: dict[str, Any]
    old_empty: dict[str, Any]
    new: dict[str, Any]
    revs: dict[str, str]

    def used(self) -> int:
        self.org.refresh_from_db(fields=["storage_used_bytes"])
        return self.org.storage_used_bytes


@pytest.fixture(autouse=True)
def storage(settings, tmp_path):
    """Blobs go to a fresh folder, so a test sees exactly what was removed."""
    root = tmp_path / "files"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root)},
        },
    }
    return root


@pytest.fixture
def scene(people, station) -> Scene:
    """Two dossiers of 2024 (one with files) and one of 2025 sharing a file with 2024."""
    assert station.batch([SHARED, OLD, NEW]).status_code == 200
    old = dossier_doc("2024-00001", "2024-03-10T10:00:00+01:00", [OLD, SHARED])
    old_empty = dossier_doc("2024-00002", "2024-07-01T10:00:00+02:00", [])
    new = dossier_doc("2025-00001", "2025-02-01T10:00:00+01:00", [SHARED, NEW])
    revs = {}
    for doc in (old, old_empty, new):
        result = push(station, doc)
        assert result["status"] == "accepted", result
        revs[doc["id"]] = result["rev"]
    return Scene(people["admin"].org, people["admin"].user, old, old_empty, new, revs)


def send_after(station: StationClient, day: str) -> None:
    configure.set_station_options(
        model(station), {"send_after": day}, own_settings=True, admin_password=None, actor=None
    )


def quarantine(scene: Scene) -> CloudCleanup:
    return cleanup.request(scene.org, FROM, TO, actor=scene.admin, confirm_senders=True)


def test_usage_by_year_counts_dossiers_and_bytes(people, scene):
    """Per year, newest first: dossiers, bytes of their files; deleted dossiers left out."""
    doomed = Dossier.objects.get(number="2024-00002")
    dossier_services.delete_dossier(doomed, actor=scene.admin)
    assert cleanup.usage_by_year(scene.org) == [
        {"year": 2025, "dossiers": 1, "size": len(SHARED) + len(NEW), "quarantined": 0},
        {"year": 2024, "dossiers": 1, "size": len(OLD) + len(SHARED), "quarantined": 0},
    ]
    assert cleanup.usage_by_year(people["outsider"].org) == []


def test_plan_lists_the_stations_still_sending_the_range(people, scene, station, other_station):
    """A station sends a range unless its “send dossiers dated after” is past the range's end."""
    found = cleanup.plan(scene.org, FROM, TO)
    assert (found.dossiers, found.size) == (2, len(OLD) + len(SHARED))
    assert [s.name for s in found.senders] == ["PC bureau", "Tablette terrain"]
    send_after(other_station, "2025-01-01")
    send_after(station, "2024-12-31")  # still sends the range's last day
    assert [s.name for s in cleanup.plan(scene.org, FROM, TO).senders] == ["PC bureau"]
    configure.set_company_options(
        scene.org,
        {"enable_all": False},
        common=None,
        invoice_station=None,
        admin_password=None,
        actor=scene.admin,
    )
    configure.set_station_options(
        model(station), {"force_activation": False}, admin_password=None, actor=None
    )
    assert cleanup.plan(scene.org, FROM, TO).senders == []


def test_a_revoked_station_does_not_send(scene, station, other_station):
    """Revoked stations are not asked to move their date."""
    send_after(other_station, "2025-01-01")
    services.revoke_station(model(station), actor=scene.admin)
    assert cleanup.plan(scene.org, FROM, TO).senders == []


def test_plan_refuses_a_backwards_range(scene):
    """The start date must come before the end date."""
    with pytest.raises(DomainError) as caught:
        cleanup.plan(scene.org, TO, FROM)
    assert caught.value.details == {"field": "date_from"}


def test_request_refuses_while_stations_still_send(scene, other_station):
    """Without confirmation, stations still sending the range stop the request."""
    with pytest.raises(Conflict) as caught:
        cleanup.request(scene.org, FROM, TO, actor=scene.admin, confirm_senders=False)
    assert caught.value.code == "stations_still_send"
    assert caught.value.details == {"stations": ["PC bureau", "Tablette terrain"]}
    assert "PC bureau" in caught.value.message
    assert not CloudCleanup.objects.exists()
    assert not Dossier.objects.filter(quarantined_until__isnull=False).exists()


def test_request_with_nothing_in_the_range_is_refused(scene, station, other_station):
    """A range without any dossier on the cloud has nothing to clean."""
    with pytest.raises(DomainError):
        cleanup.request(
            scene.org, date(2020, 1, 1), date(2020, 12, 31), actor=scene.admin, confirm_senders=True
        )
    assert not CloudCleanup.objects.exists()


def test_request_quarantines_the_range_for_30_days(scene, station, other_station):
    """Once no station sends the range, its dossiers are quarantined and the stations told."""
    send_after(station, "2025-01-01")
    send_after(other_station, "2025-01-01")
    before = timezone.now()
    request = cleanup.request(scene.org, FROM, TO, actor=scene.admin, confirm_senders=False)
    assert request.state == "quarantine"
    assert (request.dossier_count, request.size) == (2, len(OLD) + len(SHARED))
    assert before + QUARANTINE <= request.quarantine_until <= timezone.now() + QUARANTINE
    quarantined = set(
        Dossier.objects.filter(quarantined_until=request.quarantine_until).values_list(
            "number", flat=True
        )
    )
    assert quarantined == {"2024-00001", "2024-00002"}
    entry = feed_entry(station, scene.old)
    shown = parse_datetime(entry["quarantined_until"])
    assert abs(shown - request.quarantine_until) < timedelta(milliseconds=1)
    assert feed_entry(station, scene.new)["quarantined_until"] is None
    assert cleanup.usage_by_year(scene.org)[1]["quarantined"] == 2
    audit = AuditEntry.objects.get(action="cloud.cleanup.request")
    assert audit.after["dossiers"] == 2 and audit.actor == scene.admin
    assert cleanup.quarantine_days_left(request) in {29, 30}


def test_a_quarantined_dossier_cannot_be_pushed(scene, station):
    """A station sending a quarantined dossier gets “quarantined”; other dossiers still pass."""
    quarantine(scene)
    edited = {**scene.old, "status": "done"}
    result = push(station, edited, scene.revs[scene.old["id"]])
    assert (result["status"], result["code"]) == ("rejected", "quarantined")
    assert Dossier.objects.get(public_id=scene.old["id"]).status != "done"
    fresh = push(station, dossier_doc("2025-00009", "2025-05-01T10:00:00+02:00", []))
    assert fresh["status"] == "accepted"


def test_cancel_lifts_the_quarantine(scene, station):
    """Cancelling: no quarantine left, stations told at a new sequence, pushes accepted again."""
    request = quarantine(scene)
    quarantined_seq = feed_entry(station, scene.old)["seq"]
    cleanup.cancel(request, actor=scene.admin)
    request.refresh_from_db()
    assert request.state == "cancelled" and request.cancelled_by == scene.admin
    assert not Dossier.objects.filter(quarantined_until__isnull=False).exists()
    entry = feed_entry(station, scene.old, quarantined_seq)
    assert entry["quarantined_until"] is None and entry["seq"] > quarantined_seq
    edited = {**scene.old, "status": "done"}
    assert push(station, edited, scene.revs[scene.old["id"]])["status"] == "accepted"
    assert AuditEntry.objects.filter(action="cloud.cleanup.cancel").count() == 1
    with pytest.raises(Conflict) as caught:
        cleanup.cancel(request, actor=scene.admin)
    assert caught.value.code == "not_cancellable"
    # a cancelled clean-up never runs
    assert cleanup.execute_due(request.quarantine_until + timedelta(days=1)) == 0
    assert not Blob.objects.filter(purged_at__isnull=False).exists()


def test_execute_due_removes_the_files_used_only_in_the_range(scene, station, storage: Path):
    """After the quarantine: files only in the range are removed and their bytes given back."""
    request = quarantine(scene)
    used_before = scene.used()
    assert cleanup.execute_due(timezone.now()) == 0  # still in quarantine
    assert not Blob.objects.filter(purged_at__isnull=False).exists()

    assert cleanup.execute_due(request.quarantine_until + timedelta(seconds=1)) == 1
    request.refresh_from_db()
    assert request.state == "done" and request.freed == len(OLD)
    purged = Blob.objects.get(sha256=sha(OLD))
    assert purged.purged_at is not None
    assert not (storage / blob_path(scene.org, sha(OLD))).exists()
    assert Blob.objects.get(sha256=sha(SHARED)).purged_at is None  # the 2025 dossier uses it
    assert (storage / blob_path(scene.org, sha(SHARED))).exists()
    assert scene.used() == used_before - len(OLD)
    assert station.get(f"blobs/{sha(OLD)}").status_code == 404
    assert station.post("blobs/missing", {"hashes": [sha(OLD)]}).json()["missing"] == [sha(OLD)]
    audit = AuditEntry.objects.get(action="cloud.cleanup.done")
    assert audit.after == {"freed": len(OLD), "dossiers": 2}
    assert cleanup.execute_due(request.quarantine_until + timedelta(days=1)) == 0


def test_a_purged_file_must_be_sent_again_before_a_dossier_names_it(scene, station):
    """A removed file counts as missing: a push naming it waits for the bytes, then passes."""
    request = quarantine(scene)
    cleanup.execute_due(request.quarantine_until + timedelta(seconds=1))
    doc = dossier_doc("2025-00010", "2025-06-01T10:00:00+02:00", [OLD])
    refused = push(station, doc)
    assert (refused["status"], refused["code"]) == ("rejected", "missing_blobs")
    assert refused["details"]["missing"] == [sha(OLD)]
    used = scene.used()
    assert station.batch([OLD]).json() == {"stored": [sha(OLD)], "existing": []}
    assert scene.used() == used + len(OLD)
    assert Blob.objects.get(sha256=sha(OLD)).purged_at is None
    assert push(station, doc)["status"] == "accepted"
    assert b"".join(station.get(f"blobs/{sha(OLD)}").streaming_content) == OLD


def test_resolving_a_conflict_with_a_purged_file_asks_for_it(scene, station, other_station):
    """Resolve keeping a version that names a removed file: 422 missing_blobs naming it."""
    request = quarantine(scene)
    cleanup.execute_due(request.quarantine_until + timedelta(seconds=1))
    base = scene.revs[scene.new["id"]]
    other_station.post("dossiers/fetch", {"ids": [scene.new["id"]]})
    accepted = push(station, {**scene.new, "status": "done"}, base)
    assert push(other_station, {**scene.new, "operator": "DUJ"}, base)["status"] == "conflict"
    files = [*scene.new["files"], {"name": "ancien.pdf", "sha256": sha(OLD), "size": len(OLD)}]
    keep = {**scene.new, "files": sorted(files, key=lambda entry: entry["name"])}
    response = other_station.post(
        f"dossiers/{scene.new['id']}/resolve",
        {"keep": "local", "head_rev": accepted["rev"], "document": keep},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "missing_blobs"
    assert response.json()["details"] == {"missing": [sha(OLD)]}
    assert Dossier.objects.get(public_id=scene.new["id"]).in_conflict


@pytest.mark.parametrize("extra", [0, 60])
def test_quarantine_and_cancel_take_the_same_few_queries_for_many_dossiers(scene, station, extra):
    """Each dossier still gets its own sequence (the feed pages on them), taken together."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for index in range(extra):
        push(station, dossier_doc(f"2024-{index + 100:05d}", "2024-05-01T10:00:00+02:00", []))
    before = Dossier.objects.order_by("-change_seq").values_list("change_seq", flat=True)[0]
    with CaptureQueriesContext(connection) as asked:
        request = quarantine(scene)
    assert len(asked) <= 25
    seqs = list(
        Dossier.objects.filter(quarantined_until=request.quarantine_until).values_list(
            "change_seq", flat=True
        )
    )
    assert len(seqs) == 2 + extra == len(set(seqs)) and min(seqs) > before
    with CaptureQueriesContext(connection) as asked:
        cleanup.cancel(request, actor=scene.admin)
    assert len(asked) <= 25
    assert not Dossier.objects.filter(quarantined_until__isnull=False).exists()
    assert feed_entry(station, scene.old, max(seqs))["quarantined_until"] is None
