"""Blob batches go up two at a time, on two connections, and still stop at a 507."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from comptoir_agent import transfer
from comptoir_agent.client import HubClient, Unreachable
from comptoir_agent.journal import Journal
from comptoir_agent.transfer import Source, upload
from tests.agent.fakehub import DEFAULT_OPTIONS, Fail, FakeHub, StationRec

FILE_SIZE = 16 * 1024
BATCH = 4 * FILE_SIZE  # four files per batch


class OverlapHub(FakeHub):
    """Holds the first batch until a second one arrives (or `wait` seconds pass: refused),
    and records how many batches were inside the hub at once."""

    def __init__(self, wait: float = 10.0, route: str = "/sync/blobs/batch") -> None:
        super().__init__()
        self.held = route
        self.meeting = threading.Barrier(2, timeout=wait)
        self.guard = threading.Lock()
        self.arrived = 0
        self.inside = 0
        self.peak = 0

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes
    ) -> tuple[int, Any, str]:
        if not re.search(self.held, path):
            return super().handle(method, path, query, headers, body)
        with self.guard:
            self.arrived += 1
            first_two = self.arrived <= 2
            self.inside += 1
            self.peak = max(self.peak, self.inside)
        try:
            if first_two:
                try:
                    self.meeting.wait()
                except threading.BrokenBarrierError:
                    raise Fail(409, "alone", "lot seul : pas d'envoi en parallèle") from None
            time.sleep(0.02)  # long enough for a third request to show up, if one could
            return super().handle(method, path, query, headers, body)
        finally:
            with self.guard:
                self.inside -= 1


def _client(hub: FakeHub) -> HubClient:
    hub.stations["poste"] = StationRec("poste", "PC bureau", "cpt_test", dict(DEFAULT_OPTIONS))
    return HubClient(hub.url, "cpt_test", hub.org)


def _sources(folder: Path, count: int, size: int = FILE_SIZE, prefix: str = "doc") -> list[Source]:
    folder.mkdir(parents=True, exist_ok=True)
    sources = []
    for index in range(count):
        data = hashlib.sha256(f"{prefix}{index}".encode()).digest() * (size // 32)
        path = folder / f"{prefix}-{index:03d}.pdf"
        path.write_bytes(data)
        sources.append(Source(path, hashlib.sha256(data).hexdigest(), len(data)))
    return sources


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transfer, "MAX_BATCH_BYTES", BATCH)


@pytest.fixture
def overlap_hub() -> Iterator[OverlapHub]:
    server = OverlapHub()
    server.start()
    yield server
    server.stop()


def test_two_batches_are_in_flight_at_once(overlap_hub, small_batches, tmp_path):
    client = _client(overlap_hub)
    sources = _sources(tmp_path / "docs", 16)  # four batches
    outcome = upload(client, Journal(tmp_path / "j.sqlite3"), sources, False)
    assert outcome.failed == {}
    assert outcome.quota is None
    assert outcome.uploaded_bytes == 16 * FILE_SIZE
    assert set(overlap_hub.blobs) == {s.sha256 for s in sources}
    assert overlap_hub.arrived == 4
    assert overlap_hub.peak == 2  # two at once, never more
    assert client.requests == 1 + 4  # blobs/missing, then the batches of both connections


def test_a_single_batch_uses_a_single_connection(hub, small_batches, tmp_path, monkeypatch):
    def no_clone(self: HubClient) -> HubClient:
        raise AssertionError("no second connection for one batch")

    monkeypatch.setattr(HubClient, "clone", no_clone)
    client = _client(hub)
    sources = _sources(tmp_path / "docs", 3)
    outcome = upload(client, Journal(tmp_path / "j.sqlite3"), sources, False)
    assert outcome.failed == {} and outcome.uploaded_bytes == 3 * FILE_SIZE
    assert hub.count("POST", "blobs/batch$") == 1


def test_quota_stops_further_batches_and_big_uploads(hub, small_batches, tmp_path, monkeypatch):
    monkeypatch.setattr(transfer, "MAX_BATCH_BLOB", 2 * FILE_SIZE)
    hub.quota_limit = BATCH  # room for one batch
    client = _client(hub)
    small = _sources(tmp_path / "docs", 24)  # six batches
    big = _sources(tmp_path / "big", 1, size=3 * FILE_SIZE, prefix="plan")
    outcome = upload(
        client, Journal(tmp_path / "j.sqlite3"), small + big, False, quota_fallback=(1, 2)
    )
    assert outcome.quota is not None and outcome.quota.startswith("Quota dépassé")
    # The two first batches were in flight together; the thread whose batch was stored
    # may have started one more before the 507 came back, and nothing after that.
    assert 2 <= hub.count("POST", "blobs/batch$") <= 3
    assert hub.count("POST", "sync/uploads$") == 0
    assert len(hub.blobs) == 4
    assert outcome.uploaded_bytes == BATCH
    assert set(outcome.failed) == {s.sha256 for s in small + big}


def test_failures_are_reported_per_hash(hub, small_batches, tmp_path):
    client = _client(hub)
    sources = _sources(tmp_path / "docs", 16)
    changed = sources[5]
    changed.path.write_bytes(b"autre contenu")
    hub.fail("POST", "blobs/batch$", 1, Fail(422, "hash_mismatch", "empreinte fausse"))
    outcome = upload(client, Journal(tmp_path / "j.sqlite3"), sources, False)
    assert outcome.quota is None
    assert "a changé pendant la synchronisation" in outcome.failed.pop(changed.sha256)
    # Exactly one batch was refused, as a whole; every other blob is on the hub.
    by_hash = {s.sha256: s for s in sources}
    batches = [
        {s.sha256 for s in batch} - {changed.sha256}
        for batch in transfer._batches([by_hash[h] for h in sorted(by_hash)])
    ]
    assert set(outcome.failed) in batches
    assert set(outcome.failed.values()) == {"envoi refusé par le cloud : empreinte fausse"}
    assert set(hub.blobs) == set(by_hash) - set(outcome.failed) - {changed.sha256}
    assert outcome.uploaded_bytes == FILE_SIZE * len(hub.blobs)


def test_an_unreachable_hub_stops_the_batches_and_is_raised(hub, small_batches, tmp_path):
    client = _client(hub)
    sources = _sources(tmp_path / "docs", 24)  # six batches
    hub.fail("POST", "blobs/batch$", 100, "drop")
    with pytest.raises(Unreachable):
        upload(client, Journal(tmp_path / "j.sqlite3"), sources, False)
    # Two batches at most were tried (each retried once on a fresh connection).
    assert hub.count("POST", "blobs/batch$") <= 4
    assert hub.blobs == {}


def test_the_clone_has_its_own_connection(hub):
    client = _client(hub)
    client.get(client.org_path("sync/station"))
    twin = client.clone()
    assert twin.conn is None and twin.requests == 0
    assert (twin.host, twin.port, twin.prefix, twin.token, twin.org) == (
        client.host,
        client.port,
        client.prefix,
        client.token,
        client.org,
    )
    twin.get(twin.org_path("sync/station"))
    assert twin.conn is not client.conn and client.requests == twin.requests == 1
    twin.close()
    client.close()


def test_two_big_files_go_up_at_once_and_resume_from_the_journal(tmp_path, monkeypatch):
    """Resumable uploads too are two in flight; each one's journal entry is kept until it
    is complete, then forgotten (on the calling thread: the journal is not shared)."""
    monkeypatch.setattr(transfer, "MAX_BATCH_BLOB", FILE_SIZE // 2)
    server = OverlapHub(route=r"/sync/uploads/[0-9a-f-]+$")
    server.start()
    try:
        client = _client(server)
        journal = Journal(tmp_path / "j.sqlite3")
        big = _sources(tmp_path / "big", 4, size=2 * FILE_SIZE, prefix="plan")
        outcome = upload(client, journal, big, False)
        assert outcome.failed == {} and outcome.quota is None
        assert outcome.uploaded_bytes == 4 * 2 * FILE_SIZE
        assert set(server.blobs) == {s.sha256 for s in big}
        assert server.peak == 2
        assert journal.pending_uploads() == []
    finally:
        server.stop()


def test_a_refused_big_file_is_reported_and_the_others_go_up(hub, tmp_path, monkeypatch):
    monkeypatch.setattr(transfer, "MAX_BATCH_BLOB", FILE_SIZE // 2)
    client = _client(hub)
    journal = Journal(tmp_path / "j.sqlite3")
    big = _sources(tmp_path / "big", 3, size=2 * FILE_SIZE, prefix="plan")
    hub.fail("PUT", r"sync/uploads/", 1, Fail(422, "hash_mismatch", "empreinte fausse"))
    outcome = upload(client, journal, big, False)
    assert len(outcome.failed) == 1
    (reason,) = outcome.failed.values()
    assert reason.endswith("refusé : empreinte fausse")
    assert set(hub.blobs) == {s.sha256 for s in big} - set(outcome.failed)
    assert journal.pending_uploads() == []  # refused for good: forgotten, started anew


def test_a_new_station_fetches_two_batches_at_once(tmp_path, monkeypatch):
    """Downloads too: a station pulling many files has two blobs/fetch in flight."""
    from comptoir_agent import fetching
    from tests.agent.conftest import make_doc, paired, write_dossier

    monkeypatch.setattr(transfer, "MAX_BATCH_BYTES", BATCH)
    monkeypatch.setattr(fetching, "MAX_BATCH_BYTES", BATCH)
    server = OverlapHub(route=r"/sync/blobs/fetch$")
    server.start()
    try:
        sender = paired(server, tmp_path / "poste1")
        docs = [make_doc(f"2026-{index:05d}") for index in range(1, 5)]
        for index, doc in enumerate(docs):
            files = {f"piece-{n}.pdf": bytes([index, n]) * (FILE_SIZE // 2) for n in range(4)}
            write_dossier(sender.root, doc, files)
        assert sender("sync").code == 0
        receiver = paired(server, tmp_path / "poste2", name="Tablette")
        server.station("Tablette").options["fetch_missing"] = True
        assert receiver("sync").code == 0
        for doc in docs:
            assert receiver.read(doc) == server.head(doc["id"])
        assert server.arrived >= 4 and server.peak == 2
    finally:
        server.stop()
