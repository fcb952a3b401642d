"""Pulling many dossiers: new folders are written whole and put in place by one rename,
and the next page and the next wave's blobs come down while the current wave is written."""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path
from typing import Any

import pytest

from comptoir_agent import fetching
from comptoir_agent.journal import Journal, Record
from comptoir_agent.layout import scan
from comptoir_agent.protocol import MAX_BULK_DOSSIERS
from tests.agent.conftest import Station, make_doc, paired
from tests.agent.fakehub import Fail, FakeHub


def _files(index: int, count: int = 3) -> dict[str, bytes]:
    return {f"piece-{n}.pdf": f"{index}:{n}:".encode() * 300 for n in range(count)}


def _web_dossiers(hub: FakeHub, count: int) -> list[dict[str, Any]]:
    docs = []
    for index in range(count):
        doc = make_doc(f"2026-{index + 1:05d}")
        hub.web_create(doc, files=_files(index))
        head = hub.head(doc["id"])
        assert head is not None
        docs.append(head)
    return docs


def _same_as_hub(station: Station, hub: FakeHub, docs: list[dict[str, Any]]) -> None:
    for doc in docs:
        assert station.read(doc) == hub.head(doc["id"])
        folder = station.folder(doc)
        names = sorted(p.name for p in folder.iterdir())
        assert names == sorted([*_files(0), "dossier.json"])
        for f in doc["files"]:
            data = (folder / f["name"]).read_bytes()
            assert hub.blobs[f["sha256"]] == data


def _temp_folders(root: Path) -> list[Path]:
    return list(root.glob("*/.comptoir-tmp-*"))


def test_new_folders_arrive_whole_and_the_next_scan_trusts_them(hub, tmp_path):
    docs = _web_dossiers(hub, 6)
    station = paired(hub, tmp_path / "neuf")
    result = station("sync")
    assert result.code == 0, result.err
    _same_as_hub(station, hub, docs)
    assert _temp_folders(station.root) == []
    # The signature recorded from the stats taken while writing is the folder's own:
    # the scan reads no dossier.json and hashes no file.
    journal = Journal(station.root / ".comptoir" / "journal.sqlite3")
    try:
        result_scan = scan(station.root, journal.records(), journal.hashes_by_dossier())
    finally:
        journal.close()
    assert result_scan.hashed_files == 0
    assert len(result_scan.dossiers) == 6
    assert all(d.doc is None and d.error is None for d in result_scan.dossiers)


def test_a_temp_folder_left_by_an_interrupted_pull_is_replaced(hub, tmp_path):
    docs = _web_dossiers(hub, 2)
    station = paired(hub, tmp_path / "neuf")
    stale = station.root / "2026" / f".comptoir-tmp-{docs[0]['number']}"
    stale.mkdir(parents=True)
    (stale / "piece-0.pdf").write_bytes(b"half")
    (stale / "autre.pdf").write_bytes(b"left over")
    result = station("sync")
    assert result.code == 0, result.err
    _same_as_hub(station, hub, docs)
    assert _temp_folders(station.root) == []


def test_a_folder_that_appears_before_the_rename_is_left_alone(hub, tmp_path, monkeypatch):
    docs = _web_dossiers(hub, 3)
    station = paired(hub, tmp_path / "neuf")
    target = station.folder(docs[1])
    real_fsync_all = fetching.fsync_all

    def someone_writes_there(paths: Any, directories: bool = False) -> None:
        if not directories and not target.exists():  # after staging, before the renames
            target.mkdir(parents=True)
            (target / "notes.txt").write_text("à moi")
        real_fsync_all(paths, directories=directories)

    monkeypatch.setattr(fetching, "fsync_all", someone_writes_there)
    result = station("sync")
    assert result.code != 0
    assert (target / "notes.txt").read_text() == "à moi"
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]
    assert _temp_folders(station.root) == []
    for doc in (docs[0], docs[2]):  # the others are written
        assert station.read(doc) == hub.head(doc["id"])
    status = station("status", "--json")
    assert "Écriture impossible" in status.out


class MeetingHub(FakeHub):
    """Holds the second `dossiers/fetch` until a `blobs/fetch` is inside too (else 409):
    proof that the next page is asked while the current one's blobs come down."""

    def __init__(self) -> None:
        super().__init__()
        self.meeting = threading.Barrier(2, timeout=10)
        self.guard = threading.Lock()
        self.pages = 0
        self.met = False

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes
    ) -> tuple[int, Any, str]:
        page = re.search(r"/sync/dossiers/fetch$", path) is not None
        blobs = re.search(r"/sync/blobs/fetch$", path) is not None
        with self.guard:
            if page:
                self.pages += 1
            wait = (page and self.pages == 2) or (blobs and not self.met)
        if wait:
            try:
                self.meeting.wait()
            except threading.BrokenBarrierError:
                raise Fail(409, "alone", "pas de récupération en parallèle") from None
            self.met = True
        return super().handle(method, path, query, headers, body)


@pytest.fixture
def meeting_hub():
    server = MeetingHub()
    server.start()
    yield server
    server.stop()


def test_the_next_page_is_fetched_while_blobs_come_down(meeting_hub, tmp_path, monkeypatch):
    monkeypatch.setattr(fetching, "MAX_BULK_DOSSIERS", 2)
    docs = _web_dossiers(meeting_hub, 5)
    station = paired(meeting_hub, tmp_path / "neuf")
    result = station("sync")
    assert result.code == 0, result.err + result.out
    assert meeting_hub.met
    assert meeting_hub.count("POST", r"/sync/dossiers/fetch$") == 3
    _same_as_hub(station, meeting_hub, docs)


def test_waves_overlap_and_still_write_everything(hub, tmp_path, monkeypatch):
    monkeypatch.setattr(fetching, "WAVE_BYTES", 4000)  # about one dossier per wave
    docs = _web_dossiers(hub, 7)
    station = paired(hub, tmp_path / "neuf")
    result = station("sync")
    assert result.code == 0, result.err
    assert hub.count("POST", r"/sync/blobs/fetch$") >= 7
    _same_as_hub(station, hub, docs)


def test_a_page_that_fails_leaves_the_pages_before_written_and_the_next_pass_ends_it(
    hub, tmp_path, monkeypatch
):
    monkeypatch.setattr(fetching, "MAX_BULK_DOSSIERS", 2)
    docs = _web_dossiers(hub, 5)
    station = paired(hub, tmp_path / "neuf")
    calls = {"n": 0}
    real = FakeHub.fetch

    def second_page_fails(self: FakeHub, st: Any, data: dict[str, Any]) -> tuple[int, Any, str]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise Fail(400, "bad", "page refusée")
        return real(self, st, data)

    monkeypatch.setattr(FakeHub, "fetch", second_page_fails)
    result = station("sync")
    assert result.code != 0
    written = [d for d in docs if (station.folder(d) / "dossier.json").exists()]
    assert len(written) == 2  # the first page (two dossiers) is written and recorded
    monkeypatch.setattr(FakeHub, "fetch", real)
    result = station("sync")
    assert result.code == 0, result.err
    _same_as_hub(station, hub, docs)
    assert _temp_folders(station.root) == []


def test_without_fetch_ahead_the_requests_go_one_at_a_time_in_order(hub, tmp_path, monkeypatch):
    monkeypatch.setattr(fetching, "FETCH_AHEAD", False)
    monkeypatch.setattr(fetching, "MAX_BULK_DOSSIERS", 2)
    docs = _web_dossiers(hub, 4)
    station = paired(hub, tmp_path / "neuf")
    hub.requests.clear()
    result = station("sync")
    assert result.code == 0, result.err
    asked = [p.rsplit("/sync/", 1)[-1] for m, p in hub.requests if m == "POST"]
    fetches = [a for a in asked if a in {"dossiers/fetch", "blobs/fetch"}]
    assert fetches == ["dossiers/fetch", "dossiers/fetch", "blobs/fetch", "blobs/fetch"]
    _same_as_hub(station, hub, docs)


def test_save_many_is_save_in_turn(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite3")
    try:
        with journal.transaction():
            journal.save(Record("a", path="2026/A"))
        with journal.transaction():
            journal.save_many([Record("b", path="2026/A"), Record("c", path="2026/C")])
        records = journal.records()
        assert records["a"].path is None  # the folder is b's now
        assert (records["b"].path, records["c"].path) == ("2026/A", "2026/C")
        with journal.transaction():  # two claim one folder: the last one, as in turn
            journal.save_many([Record("d", path="2026/D"), Record("e", path="2026/D")])
        records = journal.records()
        assert records["d"].path is None and records["e"].path == "2026/D"
    finally:
        journal.close()


def test_the_page_size_is_the_protocols():
    assert fetching.MAX_BULK_DOSSIERS == MAX_BULK_DOSSIERS  # what the tests above shrink


def _dossier(hub: FakeHub, ident: str, number: str, files: dict[str, bytes]) -> dict[str, Any]:
    doc = make_doc(number)
    doc["id"] = ident
    hub.web_create(doc, files=files)
    head = hub.head(ident)
    assert head is not None
    return head


@pytest.mark.parametrize("ahead", [True, False])
def test_a_later_wave_never_copies_a_file_an_earlier_wave_replaces(
    hub, tmp_path, monkeypatch, ahead
):
    """A's file holds X here and becomes Y on the hub; B (a later wave of the same page)
    now needs X, which only A's file held: B gets X, not A's new bytes."""
    monkeypatch.setattr(fetching, "FETCH_AHEAD", ahead)
    old, new = b"X" * 3000, b"Y" * 3000
    a = _dossier(hub, "00000000-0000-4000-8000-00000000000a", "2026-00001", {"plan.pdf": old})
    station = paired(hub, tmp_path / "poste")
    assert station("sync").code == 0  # A (with X) is on the station
    b = _dossier(hub, "ffffffff-0000-4000-8000-00000000000b", "2026-00002", {"copie.pdf": old})
    hub.web_edit(a["id"], {"status": "done"}, files={"plan.pdf": new})
    monkeypatch.setattr(fetching, "WAVE_BYTES", 1000)  # one dossier per wave: A, then B
    result = station("sync")
    assert result.code == 0, result.err + result.out
    assert (station.folder(a) / "plan.pdf").read_bytes() == new
    assert (station.folder(b) / "copie.pdf").read_bytes() == old
    journal = Journal(station.root / ".comptoir" / "journal.sqlite3")
    try:
        assert journal.hashes(b["id"])["copie.pdf"].sha256 == hashlib.sha256(old).hexdigest()
    finally:
        journal.close()


@pytest.mark.parametrize("ahead", [True, False])
def test_two_waves_that_need_the_same_big_file_both_get_it(hub, tmp_path, monkeypatch, ahead):
    from comptoir_agent import transfer

    monkeypatch.setattr(fetching, "FETCH_AHEAD", ahead)
    monkeypatch.setattr(fetching, "MAX_BATCH_BLOB", 2000)
    monkeypatch.setattr(transfer, "MAX_BATCH_BLOB", 2000)
    monkeypatch.setattr(fetching, "WAVE_BYTES", 1000)
    big = bytes(range(256)) * 40  # over MAX_BATCH_BLOB: a ranged download
    docs = [
        _dossier(
            hub,
            f"{n:08x}-0000-4000-8000-000000000000",
            f"2026-0000{n}",
            {"big.dwg": big, "note.txt": bytes([n]) * 1500},  # the note: one wave each
        )
        for n in (1, 2, 3)
    ]
    station = paired(hub, tmp_path / "poste")
    result = station("sync")
    assert result.code == 0, result.err + result.out
    for doc in docs:
        assert (station.folder(doc) / "big.dwg").read_bytes() == big
    assert not list((station.root / ".comptoir").glob("downloads/*.part"))


def test_a_file_edited_while_earlier_waves_are_written_is_kept(hub, tmp_path, monkeypatch):
    """B is planned with the page, then its file is edited here before its wave is
    written: B is not overwritten (the edit stays; the next pass sees both changes)."""
    first = _dossier(hub, "00000000-0000-4000-8000-000000000001", "2026-00001", {"a.pdf": b"a1"})
    second = _dossier(hub, "ffffffff-0000-4000-8000-000000000002", "2026-00002", {"b.pdf": b"b1"})
    station = paired(hub, tmp_path / "poste")
    assert station("sync").code == 0
    hub.web_edit(first["id"], {"status": "done"}, files={"a.pdf": b"a2" * 600})
    hub.web_edit(second["id"], {"status": "done"}, files={"b.pdf": b"b2" * 600})
    monkeypatch.setattr(fetching, "WAVE_BYTES", 1000)
    edited = station.folder(second) / "b.pdf"
    real = fetching.fsync_all

    def user_edits(paths: Any, directories: bool = False) -> None:
        if not directories and edited.read_bytes() == b"b1":  # while the first wave goes
            edited.write_bytes(b"mine")
        real(paths, directories=directories)

    monkeypatch.setattr(fetching, "fsync_all", user_edits)
    result = station("sync")
    assert (station.folder(first) / "a.pdf").read_bytes() == b"a2" * 600
    assert edited.read_bytes() == b"mine"
    assert result.code != 0
    assert "Modifié pendant la synchronisation" in station("status", "--json").out
