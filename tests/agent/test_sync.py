"""Sync passes against the in-memory hub: both directions, conflicts, deletions, options."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import time

import pytest

from comptoir_agent import ahead, engine
from comptoir_agent.http import IncompleteRead
from comptoir_agent.journal import Journal
from comptoir_agent.transfer import DownloadError, Progress, fetch_batch, fetch_large
from tests.agent.conftest import make_doc, write_dossier
from tests.agent.fakehub import Fail, rev_for


def test_push_then_fetch_on_another_station(hub, station, other):
    doc = make_doc("2026-00042")
    write_dossier(station.root, doc, {"rapport.pdf": b"%PDF-1.4", "photo.jpg": b"x" * 5000})
    assert station("sync").code == 0
    head = hub.head(doc["id"])
    assert [f["name"] for f in head["files"]] == ["photo.jpg", "rapport.pdf"]
    result = other("sync")
    assert result.code == 0, result.err
    assert other.read(doc) == head
    assert (other.folder(doc) / "photo.jpg").read_bytes() == b"x" * 5000
    assert "1 transférés" in result.out


def test_nothing_changed_pass_is_one_options_and_one_feed_call_and_no_hashing(hub, station):
    for i in range(20):
        doc = make_doc(f"2026-{i:05d}")
        folder = write_dossier(station.root, doc, {"a.pdf": f"{i}".encode() * 100})
        for path in folder.iterdir():
            os.utime(path, ns=(1_700_000_000_000_000_000,) * 2)
    assert station("sync").code == 0
    assert station("sync").code == 0  # reads its own changes back: the checkpoint moves
    hub.requests.clear()
    journal = Journal(station.root / ".comptoir" / "journal.sqlite3")
    before = journal.all_hashes()
    journal.close()
    result = station("sync")
    assert result.code == 0
    # the report the hub already has (counts, errors, checkpoint) is not sent again
    assert hub.requests == [
        ("GET", "/api/v1/orgs/acme/sync/station"),
        ("GET", "/api/v1/orgs/acme/sync/changes"),
    ]
    journal = Journal(station.root / ".comptoir" / "journal.sqlite3")
    assert journal.all_hashes() == before
    journal.close()
    report = hub.station("PC bureau").reports[-1]
    assert report["counts"]["green"] == 20 and report["checkpoint"] == hub.seq


def test_an_unchanged_report_goes_again_after_a_while_and_a_changed_one_at_once(
    hub, station, monkeypatch
):
    write_dossier(station.root, make_doc("2026-00001"))
    assert station("sync").code == 0
    assert station("sync").code == 0  # the checkpoint moves past its own change
    reports = hub.station("PC bureau").reports
    assert len(reports) == 2
    assert station("sync").code == 0
    assert len(reports) == 2
    now = time.time()
    monkeypatch.setattr(engine.time, "time", lambda: now + engine.REPORT_EVERY + 1)
    assert station("sync").code == 0
    assert len(reports) == 3
    write_dossier(station.root, make_doc("2026-00002"))
    assert station("sync").code == 0
    assert len(reports) == 4 and reports[-1]["counts"]["green"] == 2


def test_a_hub_restored_from_a_backup_is_read_again_from_the_start(hub, station):
    """The station's checkpoint is beyond the restored hub's sequence: the hub serves the
    whole feed again, and a change made after the restore reaches the station."""
    docs = [make_doc(f"2026-{index:05d}") for index in (61, 62, 63)]
    for doc in docs:
        write_dossier(station.root, doc)
    assert station("sync").code == 0
    assert station("sync").code == 0
    checkpoint = hub.seq
    # the restore: the sequence goes back to before the last two dossiers' writes
    hub.seq = 1
    for index, doc in enumerate(docs):
        hub.dossiers[doc["id"]].seq = min(index + 1, 1)
    hub.web_edit(docs[2]["id"], {"status": "done"})
    assert hub.seq < checkpoint
    result = station("sync")
    assert result.code == 0, result.err
    assert "relue depuis le début" in result.err
    assert station.read(docs[2])["status"] == "done"
    journal = Journal(station.root / ".comptoir" / "journal.sqlite3")
    assert journal.checkpoint() == hub.seq
    journal.close()


def test_web_edit_updates_the_station(hub, station):
    doc = make_doc("2026-00001")
    write_dossier(station.root, doc, {"a.pdf": b"a"})
    station("sync")
    hub.web_edit(doc["id"], {"status": "done"}, files={"a.pdf": b"a", "b.pdf": b"new"})
    result = station("sync")
    assert result.code == 0, result.err
    assert station.read(doc)["status"] == "done"
    assert (station.folder(doc) / "b.pdf").read_bytes() == b"new"
    # a file the web removed goes to the trash, never deleted
    hub.web_edit(doc["id"], {}, files={"b.pdf": b"new"})
    assert station("sync").code == 0
    assert not (station.folder(doc) / "a.pdf").exists()
    trashed = list((station.root / ".comptoir" / "trash").rglob("a.pdf"))
    assert len(trashed) == 1 and trashed[0].read_bytes() == b"a"


def test_local_edit_is_pushed_with_the_next_generation(hub, station):
    doc = make_doc("2026-00001")
    write_dossier(station.root, doc)
    station("sync")
    first = hub.dossiers[doc["id"]].head_rev
    write_dossier(station.root, {**doc, "status": "done"})
    assert station("sync").code == 0
    head = hub.dossiers[doc["id"]].head_rev
    assert head.startswith("2-") and head != first
    assert hub.head(doc["id"])["status"] == "done"


def test_both_changed_is_a_conflict_kept_on_the_hub_and_never_overwritten(hub, station):
    doc = make_doc("2026-00001")
    write_dossier(station.root, doc, {"a.pdf": b"a"})
    station("sync")
    hub.web_edit(doc["id"], {"status": "done"})
    write_dossier(station.root, {**doc, "status": "report_sent"}, {"a.pdf": b"local"})
    result = station("sync")
    assert result.code == 4
    assert station.read(doc)["status"] == "report_sent"
    assert (station.folder(doc) / "a.pdf").read_bytes() == b"local"
    assert hub.head(doc["id"])["status"] == "done"
    assert len(hub.dossiers[doc["id"]].conflicts) == 1
    status = json.loads(station("status", "--json").out)
    [row] = status["dossiers"]
    assert row["status"] == "orange" and row["conflict"] is True
    pushes = hub.count("POST", "dossiers/push")
    assert station("sync").code == 4  # the conflict was sent once: not again
    assert hub.count("POST", "dossiers/push") == pushes
    listing = json.loads(station("conflicts", "--json").out)
    assert [c["id"] for c in listing] == [doc["id"]]


def _conflict(hub, station, local_files, cloud_files):
    doc = make_doc("2026-00007")
    write_dossier(station.root, doc, {"a.pdf": b"base"})
    station("sync")
    hub.web_edit(doc["id"], {"status": "done"}, files=cloud_files)
    write_dossier(station.root, {**doc, "status": "report_sent"})
    for name, data in local_files.items():
        (station.folder(doc) / name).write_bytes(data)
    assert station("sync").code == 4
    return doc


def test_resolve_keep_local(hub, station):
    doc = _conflict(hub, station, {"a.pdf": b"mine"}, {"a.pdf": b"theirs"})
    result = station("resolve", doc["number"], "--keep", "local")
    assert result.code == 0, result.err
    assert hub.head(doc["id"])["status"] == "report_sent"
    assert not hub.dossiers[doc["id"]].conflicts
    assert station("sync").code == 0
    assert json.loads(station("status", "--json").out)["counts"]["green"] == 1


def test_resolve_keep_cloud_trashes_the_local_version(hub, station):
    doc = _conflict(hub, station, {"a.pdf": b"mine"}, {"a.pdf": b"theirs"})
    result = station("resolve", doc["id"], "--keep", "cloud")
    assert result.code == 0, result.err
    assert station.read(doc)["status"] == "done"
    assert (station.folder(doc) / "a.pdf").read_bytes() == b"theirs"
    trashed = list((station.root / ".comptoir" / "trash").rglob("a.pdf"))
    assert [p.read_bytes() for p in trashed] == [b"mine"]
    assert station("sync").code == 0


def test_resolve_keep_both_renames_local_files(hub, station):
    doc = _conflict(
        hub,
        station,
        {"a.pdf": b"mine", "local-only.txt": b"l"},
        {"a.pdf": b"theirs", "cloud-only.txt": b"c"},
    )
    result = station("resolve", doc["number"], "--keep", "both")
    assert result.code == 0, result.err
    today = __import__("comptoir_agent.config", fromlist=["x"]).local_today().isoformat()
    renamed = f"a (conflit PC bureau {today}).pdf"
    names = sorted(p.name for p in station.folder(doc).iterdir())
    assert names == sorted(["a.pdf", renamed, "cloud-only.txt", "dossier.json", "local-only.txt"])
    assert (station.folder(doc) / "a.pdf").read_bytes() == b"theirs"
    assert (station.folder(doc) / renamed).read_bytes() == b"mine"
    head = hub.head(doc["id"])
    assert head["status"] == "done"
    assert [f["name"] for f in head["files"]] == sorted(
        ["a.pdf", renamed, "cloud-only.txt", "local-only.txt"]
    )
    assert station("sync").code == 0
    # running it again changes nothing
    again = station("resolve", doc["number"], "--keep", "both")
    assert again.code == 0, again.err
    assert sorted(p.name for p in station.folder(doc).iterdir()) == names


def test_resolve_unknown_dossier_is_a_usage_error(station):
    assert station("resolve", "9999", "--keep", "local").code == 1


def test_tombstone_moves_the_folder_to_the_trash(hub, station):
    doc = make_doc("2026-00003")
    write_dossier(station.root, doc, {"a.pdf": b"a"})
    station("sync")
    hub.web_delete(doc["id"])
    assert station("sync").code == 0
    assert not station.folder(doc).exists()
    [trashed] = list((station.root / ".comptoir" / "trash").glob("*/2026/2026-00003"))
    assert (trashed / "a.pdf").read_bytes() == b"a"


def test_too_many_tombstones_need_confirmation(hub, station):
    docs = [make_doc(f"2026-{i:05d}") for i in range(8)]
    for doc in docs:
        write_dossier(station.root, doc)
    station("sync")
    for doc in docs[:3]:
        hub.web_delete(doc["id"])
    result = station("sync", "--max-delete", "2")
    assert result.code == 5
    assert "confirm-deletes" in result.err
    assert all(station.folder(d).exists() for d in docs)
    result = station("sync", "--max-delete", "2", "--confirm-deletes")
    assert result.code == 0, result.err
    assert [station.folder(d).exists() for d in docs[:4]] == [False, False, False, True]


def test_quarantine_is_red_and_keeps_the_local_copy(hub, station):
    doc = make_doc("2026-00004")
    write_dossier(station.root, doc)
    station("sync")
    hub.web_quarantine(doc["id"], "2026-12-31T00:00:00Z")
    result = station("sync")
    assert result.code == 4
    assert station.folder(doc).exists()
    assert "Quarantaine pour suppression jusqu'au 31/12/2026" in result.err


def test_renumbered_by_the_hub_renames_the_folder(hub, station, other):
    doc = make_doc("2026-00050")
    write_dossier(station.root, doc)
    station("sync")
    clash = make_doc("2026-00050")  # another station gave the same number offline
    write_dossier(other.root, clash)
    result = other("sync")
    assert result.code == 0, result.err
    renamed = json.loads((other.root / "2026" / "2026-00050-R" / "dossier.json").read_text())
    assert (renamed["id"], renamed["number"]) == (clash["id"], "2026-00050-R")
    # the folder it left is free for the first station's dossier (fetch_missing)
    assert other.read(doc)["id"] == doc["id"]
    assert other("sync").code == 0
    assert hub.count("POST", "dossiers/push") == 2


def test_a_renumbered_new_dossier_changed_since_the_lost_answer_frees_the_folder(
    hub, station, other
):
    """The hub renumbered a new dossier but its answer was lost; the station changed it
    since: the push is a conflict, and the folder must still leave the number it took."""
    doc = make_doc("2026-00060")
    write_dossier(station.root, doc)
    station("sync")
    clash = make_doc("2026-00060")
    write_dossier(other.root, clash)
    answer = hub.push_one(
        hub.station("Tablette"),
        {"id": clash["id"], "base_rev": None, "rev": rev_for(clash, None), "document": clash},
    )  # the lost push
    assert answer["number"] == "2026-00060-R"
    write_dossier(other.root, {**clash, "status": "done"})
    result = other("sync")
    assert result.code == 4, result.err  # a conflict with its own first version
    kept = json.loads((other.root / "2026" / "2026-00060-R" / "dossier.json").read_text())
    assert (kept["id"], kept["status"]) == (clash["id"], "done")  # the local version, moved
    assert other.read(doc)["id"] == doc["id"]  # the other dossier took its folder
    assert json.loads(other("status", "--json").out)["counts"]["red"] == 0


def test_quota_stops_uploads_but_not_downloads(hub, station):
    hub.quota_limit = 1000
    incoming = make_doc("2026-00010")
    hub.web_create(incoming, {"in.pdf": b"i" * 10})
    doc = make_doc("2026-00011")
    write_dossier(station.root, doc, {"big.pdf": b"b" * 5000})
    result = station("sync")
    assert result.code == 4
    assert "Quota dépassé : 0 Go utilisés sur 0 Go — envoi suspendu" in result.err
    assert (station.folder(incoming) / "in.pdf").read_bytes() == b"i" * 10
    assert doc["id"] not in hub.dossiers
    hub.quota_limit = 10**9
    assert station("sync").code == 0
    assert doc["id"] in hub.dossiers


def test_big_files_use_resumable_uploads_and_ranged_downloads(hub, station, other, monkeypatch):
    # the pass's own upload, which keeps the upload's id in the journal to resume it (the
    # early sending of test_early_upload.py would take the cuts itself)
    monkeypatch.setattr(ahead, "EARLY", False)
    big = os.urandom(5 * 1024 * 1024 + 17)
    doc = make_doc("2026-00020")
    write_dossier(station.root, doc, {"plan.dwg": big})
    hub.fail("PUT", "sync/uploads/", 2, "drop")  # network cut in the middle of the upload
    result = station("sync")
    assert result.code == 3, result.err
    assert station("sync").code == 0
    assert hub.blobs[hashlib.sha256(big).hexdigest()] == big
    # resumed, not restarted: one upload on the hub, each chunk sent once but the 2 cut
    assert len(hub.uploads) == 1
    assert hub.count("PUT", "sync/uploads/") == 6 + 2
    assert other("sync").code == 0
    assert (other.folder(doc) / "plan.dwg").read_bytes() == big
    assert hub.count("GET", "sync/blobs/") == 1


def test_an_upload_the_hub_finished_is_forgotten_by_the_journal(hub, station):
    """The last chunk's answer was lost: the hub has the blob, the journal still the upload."""
    big = os.urandom(5 * 1024 * 1024 + 3)
    sha = hashlib.sha256(big).hexdigest()
    doc = make_doc("2026-00022")
    write_dossier(station.root, doc, {"plan.dwg": big})
    hub.blobs[sha] = big
    journal = Journal(station.root / ".comptoir" / "journal.sqlite3")
    journal.set_upload(sha, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", len(big))
    journal.close()
    assert station("sync").code == 0
    journal = Journal(station.root / ".comptoir" / "journal.sqlite3")
    assert journal.pending_uploads() == []
    journal.close()


class _CutResponse:
    """An answer whose connection drops after `data`: with a Content-Length, reads come
    back short (`read()` of the rest raises IncompleteRead); chunked, they all raise."""

    status = 200

    def __init__(self, data: bytes, chunked: bool) -> None:
        self.data = io.BytesIO(data)
        self.chunked = chunked

    def readline(self, limit: int = -1) -> bytes:
        line = self.data.readline(limit)
        if self.chunked and not line.endswith(b"\n"):
            raise IncompleteRead(line)
        return line

    def read(self, amt: int | None = None) -> bytes:
        data = self.data.read(-1 if amt is None else amt)
        if amt is None or (self.chunked and len(data) < amt):
            raise IncompleteRead(data)
        return data

    def close(self) -> None:
        pass


class _CutClient:
    def __init__(self, data: bytes, chunked: bool) -> None:
        self.response = _CutResponse(data, chunked)
        self.closed = False

    def org_path(self, path: str) -> str:
        return path

    def send(self, *args: object, **kwargs: object) -> _CutResponse:
        return self.response

    def close(self) -> None:
        self.closed = True


def test_a_download_cut_mid_body_is_a_download_error_not_a_crash(tmp_path):
    blob = b"x" * 100
    sha = hashlib.sha256(blob).hexdigest()
    header = json.dumps([{"sha256": sha, "size": len(blob)}]).encode() + b"\n"
    for body, chunked in [(header + blob[:40], True), (header[:10], True), (header[:10], False)]:
        client = _CutClient(body, chunked)
        with pytest.raises(DownloadError):
            fetch_batch(client, [sha], Progress("", 0, False))  # type: ignore[arg-type]
        assert client.closed
    target = tmp_path / "blob.part"
    with pytest.raises(DownloadError):
        fetch_large(_CutClient(blob[:40], True), sha, len(blob), target, Progress("", 0, False))  # type: ignore[arg-type]
    # a clean close before the end keeps what came: the next pass asks for the rest
    with pytest.raises(DownloadError):
        fetch_large(_CutClient(blob[:40], False), sha, len(blob), target, Progress("", 0, False))  # type: ignore[arg-type]
    assert target.read_bytes() == blob[:40]


def test_offset_mismatch_resumes_where_the_hub_says(hub, station):
    big = os.urandom(5 * 1024 * 1024)
    doc = make_doc("2026-00021")
    write_dossier(station.root, doc, {"plan.dwg": big})
    hub.fail("PUT", "sync/uploads/", 1, Fail(409, "offset_mismatch", "offset", offset=0))
    assert station("sync").code == 0
    assert hub.blobs[hashlib.sha256(big).hexdigest()] == big


def test_network_cut_mid_pass_then_rerun_converges(hub, station, other):
    docs = [make_doc(f"2026-{i:05d}") for i in range(5)]
    for i, doc in enumerate(docs):
        write_dossier(station.root, doc, {"f.pdf": bytes([i]) * 100})
    hub.fail("POST", "dossiers/push", 2, "drop")
    assert station("sync").code == 3
    assert station("sync").code == 0
    assert set(hub.dossiers) == {d["id"] for d in docs}
    hub.fail("POST", "blobs/fetch", 2, "drop")
    assert other("sync").code == 3
    assert other("sync").code == 0
    for doc in docs:
        assert other.read(doc) == hub.head(doc["id"])


def test_lost_push_acknowledgement_is_a_no_op_on_retry(hub, station):
    doc = make_doc("2026-00030")
    write_dossier(station.root, doc)
    station("sync")
    write_dossier(station.root, {**doc, "status": "done"})
    # the hub stores the push, then the answer is lost (crash before the journal write)
    journal_path = station.root / ".comptoir" / "journal.sqlite3"
    snapshot = journal_path.read_bytes()
    assert station("sync").code == 0
    head = hub.dossiers[doc["id"]].head_rev
    for suffix in ("-wal", "-shm"):
        (journal_path.parent / (journal_path.name + suffix)).unlink(missing_ok=True)
    journal_path.write_bytes(snapshot)
    assert station("sync").code == 0
    assert hub.dossiers[doc["id"]].head_rev == head
    assert not hub.dossiers[doc["id"]].conflicts


def sync_and_lose_the_answer(station, hub, ident: str) -> None:
    """A sync whose push the hub stores but whose answer never reaches the journal: the
    journal is put back as it was, plus what the agent noted before sending."""
    journal_path = station.root / ".comptoir" / "journal.sqlite3"
    snapshot = journal_path.read_bytes()
    assert station("sync").code == 0
    for suffix in ("-wal", "-shm"):
        (journal_path.parent / (journal_path.name + suffix)).unlink(missing_ok=True)
    journal_path.write_bytes(snapshot)
    db = sqlite3.connect(journal_path)
    with db:
        db.execute(
            "INSERT INTO sent(dossier, rev, sent_at) VALUES (?, ?, datetime('now'))",
            (ident, hub.dossiers[ident].head_rev),
        )
    db.close()


@pytest.mark.parametrize("lost", [1, 2])
def test_an_edit_after_lost_push_answers_follows_them_without_conflict(hub, station, lost):
    """The hub stored the pushes but their answers were lost, and the dossier changed
    again on the station: the next push follows the station's own earlier versions
    instead of conflicting with them."""
    doc = make_doc("2026-00032")
    write_dossier(station.root, doc)
    assert station("sync").code == 0
    for step in range(lost):
        write_dossier(station.root, {**doc, "custom_fields": {"etape": str(step)}})
        sync_and_lose_the_answer(station, hub, doc["id"])
    write_dossier(station.root, {**doc, "status": "done"})
    assert station("sync").code == 0
    dossier = hub.dossiers[doc["id"]]
    assert dossier.doc is not None and dossier.doc["status"] == "done"
    assert not dossier.conflicts
    db = sqlite3.connect(station.root / ".comptoir" / "journal.sqlite3")
    assert db.execute("SELECT COUNT(*) FROM sent").fetchone()[0] == 0
    db.close()


def test_a_sent_revision_does_not_hide_another_writers_version(hub, station, other):
    """`sent` only lets a station follow its own writes: a version from another station
    in between is still a conflict."""
    doc = make_doc("2026-00033")
    write_dossier(station.root, doc)
    assert station("sync").code == 0
    assert other("sync").code == 0
    write_dossier(other.root, {**other.read(doc), "custom_fields": {"par": "l'autre"}})
    assert other("sync").code == 0
    other_rev = hub.dossiers[doc["id"]].head_rev
    journal_path = station.root / ".comptoir" / "journal.sqlite3"
    db = sqlite3.connect(journal_path)
    with db:
        db.execute(
            "INSERT INTO sent(dossier, rev, sent_at) VALUES (?, ?, datetime('now'))",
            (doc["id"], other_rev),
        )
    db.close()
    write_dossier(station.root, {**doc, "status": "done"})
    assert station("sync").code in {0, 4}
    assert hub.dossiers[doc["id"]].conflicts


def test_interrupted_write_is_resumed(hub, station):
    doc = make_doc("2026-00031")
    write_dossier(station.root, doc, {"a.pdf": b"a", "b.pdf": b"b"})
    station("sync")
    hub.web_edit(doc["id"], {"status": "done"}, files={"a.pdf": b"A2", "b.pdf": b"B2"})
    # simulate a kill -9 after the intent was recorded and one file was replaced
    journal = Journal(station.root / ".comptoir" / "journal.sqlite3")
    record = journal.records()[doc["id"]]
    head = hub.dossiers[doc["id"]]
    record.applying_rev = head.head_rev
    from comptoir_agent.protocol import canonical_json

    record.applying_doc = canonical_json(head.doc).decode()
    record.remote_rev = head.head_rev
    with journal.transaction():
        journal.save(record)
    journal.close()
    (station.folder(doc) / "a.pdf").write_bytes(b"A2")
    result = station("sync")
    assert result.code == 0, result.err + result.out
    assert station.read(doc)["status"] == "done"
    assert (station.folder(doc) / "b.pdf").read_bytes() == b"B2"
    assert not hub.dossiers[doc["id"]].conflicts


def _killed_while_writing(hub, station, doc):
    """The journal as a kill -9 in the middle of writing the hub's head leaves it."""
    from comptoir_agent.protocol import canonical_json

    journal = Journal(station.root / ".comptoir" / "journal.sqlite3")
    record = journal.records()[doc["id"]]
    head = hub.dossiers[doc["id"]]
    record.applying_rev = record.remote_rev = head.head_rev
    record.applying_doc = canonical_json(head.doc).decode()
    with journal.transaction():
        journal.save(record)
    journal.close()


def test_a_file_removed_after_an_interrupted_write_is_not_brought_back(hub, station):
    doc = make_doc("2026-00032")
    write_dossier(station.root, doc, {"a.pdf": b"a"})
    station("sync")
    new = {"a.pdf": b"a", "c.pdf": b"C", "d.pdf": b"D"}
    hub.web_edit(doc["id"], {"status": "done"}, files=new)
    _killed_while_writing(hub, station, doc)  # after both new files were put in place…
    folder = station.folder(doc)
    (folder / "c.pdf").write_bytes(b"C")
    (folder / "d.pdf").write_bytes(b"D")
    (folder / "d.pdf").unlink()  # …and the user removed one before the next pass
    result = station("sync")
    assert result.code == 4, result.err  # changed on both sides: a conflict
    assert not (folder / "d.pdf").exists()
    assert len(hub.dossiers[doc["id"]].conflicts) == 1  # the station's version is kept


def test_an_interrupted_write_with_a_staged_file_left_is_resumed(hub, station):
    doc = make_doc("2026-00033")
    write_dossier(station.root, doc, {"a.pdf": b"a"})
    station("sync")
    hub.web_edit(doc["id"], {"status": "done"}, files={"a.pdf": b"a", "c.pdf": b"C", "d.pdf": b"D"})
    _killed_while_writing(hub, station, doc)  # c.pdf in place, d.pdf still staged
    folder = station.folder(doc)
    (folder / "c.pdf").write_bytes(b"C")
    (folder / ".comptoir-tmp-d.pdf").write_bytes(b"D")
    result = station("sync")
    assert result.code == 0, result.err
    assert (folder / "d.pdf").read_bytes() == b"D"
    assert station.read(doc)["status"] == "done"
    assert not hub.dossiers[doc["id"]].conflicts


def test_options_disabled_syncs_nothing(hub, station):
    hub.station("PC bureau").options["enabled"] = False
    doc = make_doc("2026-00040")
    write_dossier(station.root, doc)
    result = station("sync")
    assert result.code == 0
    assert doc["id"] not in hub.dossiers
    assert hub.count("GET", "sync/changes") == 0
    assert json.loads(station("status", "--json").out)["counts"]["grey"] == 1


def test_send_after_excludes_old_dossiers(hub, station):
    hub.station("PC bureau").options["send_after"] = "2026-01-01"
    old = make_doc("2025-00001", year=2025)
    new = make_doc("2026-00001")
    write_dossier(station.root, old)
    write_dossier(station.root, new)
    assert station("sync").code == 0
    assert old["id"] not in hub.dossiers and new["id"] in hub.dossiers
    rows = {
        r["number"]: r["status"] for r in json.loads(station("status", "--json").out)["dossiers"]
    }
    assert rows == {"2025-00001": "grey", "2026-00001": "green"}


def test_not_systematic_needs_send(hub, station):
    hub.station("PC bureau").options["not_systematic"] = True
    doc = make_doc("2026-00041")
    write_dossier(station.root, doc)
    assert station("sync").code == 0
    assert doc["id"] not in hub.dossiers
    assert json.loads(station("status", "--json").out)["counts"]["blue"] == 1
    assert station("sync", "--send").code == 0
    assert doc["id"] in hub.dossiers


def test_update_present_false_shows_newer_on_the_cloud(hub, station):
    hub.station("PC bureau").options["update_present"] = False
    doc = make_doc("2026-00042")
    write_dossier(station.root, doc)
    station("sync")
    hub.web_edit(doc["id"], {"status": "done"})
    assert station("sync").code == 0
    assert station.read(doc)["status"] == "scheduled"
    [row] = json.loads(station("status", "--json").out)["dossiers"]
    assert (row["status"], row["reason"]) == ("orange", "Version plus récente sur le cloud")


def test_fetch_missing_false_does_not_download_other_dossiers(hub, station):
    hub.station("PC bureau").options["fetch_missing"] = False
    hub.web_create(make_doc("2026-00043"))
    assert station("sync").code == 0
    assert not (station.root / "2026").exists()


def test_invalid_remote_document_is_never_written(hub, station):
    doc = make_doc("2026-00044")
    hub.web_create(doc, {"a.pdf": b"a"})
    hub.dossiers[doc["id"]].doc["files"][0]["name"] = "../../evil"
    result = station("sync")
    assert result.code == 4
    assert not (station.root / "evil").exists() and not station.folder(doc).exists()


def test_malformed_local_dossier_is_red_and_others_sync(hub, station):
    good = make_doc("2026-00045")
    write_dossier(station.root, good)
    bad = station.root / "2026" / "2026-00046"
    bad.mkdir(parents=True)
    (bad / "dossier.json").write_text("{")
    result = station("sync")
    assert result.code == 4
    assert good["id"] in hub.dossiers
    report = hub.station("PC bureau").reports[-1]
    assert report["counts"]["red"] == 1 and report["errors"][0]["number"] == "2026-00046"


def test_unreadable_journal_is_not_a_crash(hub, station):
    doc = make_doc("2026-00047")
    write_dossier(station.root, doc)
    assert station("sync").code == 0
    db = sqlite3.connect(station.root / ".comptoir" / "journal.sqlite3")
    assert db.execute("SELECT count(*) FROM dossiers").fetchone()[0] == 1
    db.close()


def test_options_command_shows_and_changes_the_station_options(hub, station):
    result = station("options", "--json")
    assert result.code == 0 and json.loads(result.out)["fetch_missing"] is True
    result = station("options", "--set", "fetch_missing=false", "--set", "window_start=22")
    assert result.code == 0, result.err
    assert hub.station("PC bureau").options["fetch_missing"] is False
    assert hub.station("PC bureau").options["window_start"] == 22
    assert "window_start = 22" in result.out
    assert station("options", "--set", "nonsense").code == 1


def test_widening_the_fetch_options_reads_the_feed_again(hub, station):
    hub.station("PC bureau").options["fetch_missing"] = False
    other_doc = make_doc("2026-00090")
    hub.web_create(other_doc)
    assert station("sync").code == 0
    assert not station.folder(other_doc).exists()
    hub.station("PC bureau").options["fetch_missing"] = True
    assert station("sync").code == 0
    assert station.read(other_doc)["id"] == other_doc["id"]


class _WholeResponse(_CutResponse):
    """A complete answer: reads come back short only at its end, as the client's do."""

    def read(self, amt: int | None = None) -> bytes:
        return self.data.read(-1 if amt is None else amt)


class _BodyClient(_CutClient):
    def __init__(self, data: bytes) -> None:
        super().__init__(data, chunked=False)
        self.response = _WholeResponse(data, chunked=False)


@pytest.mark.parametrize("piece", [1, 7, 100, 1024 * 1024])
def test_a_batch_is_split_into_its_blobs_whatever_the_read_pieces(monkeypatch, piece):
    from comptoir_agent import transfer
    from comptoir_agent.protocol import encode_batch

    monkeypatch.setattr(transfer, "READ_PIECE", piece)
    contents = [b"", b"a" * 250, b"b", bytes(range(256)) * 3, b"", b"z" * 99]
    pairs = [(hashlib.sha256(c).hexdigest(), c) for c in contents]
    body = encode_batch(pairs)
    got = fetch_batch(_BodyClient(body), [s for s, _ in pairs], Progress("", 0, False))  # type: ignore[arg-type]
    assert got == dict(pairs)
    with pytest.raises(DownloadError, match="octets en trop"):
        fetch_batch(_BodyClient(body + b"!"), [s for s, _ in pairs], Progress("", 0, False))  # type: ignore[arg-type]
    with pytest.raises(DownloadError, match="tronqué"):
        fetch_batch(_BodyClient(body[:-1]), [s for s, _ in pairs], Progress("", 0, False))  # type: ignore[arg-type]
    spoiled = body[:-1] + b"y"
    with pytest.raises(DownloadError, match="corrompu"):
        fetch_batch(_BodyClient(spoiled), [s for s, _ in pairs], Progress("", 0, False))  # type: ignore[arg-type]


def _serve_answers(answers: list[bytes]) -> int:
    """A loopback HTTP server giving `answers` in turn, one per request, keeping each
    connection alive until the client drops it; returns its port."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    queue = list(answers)

    def serve(conn: socket.socket) -> None:
        buffer = b""
        with conn:
            while queue:
                while b"\r\n\r\n" not in buffer:
                    try:
                        data = conn.recv(65536)
                    except OSError:  # reset by a client that dropped the connection
                        return
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                buffer = buffer[length:]  # the requests here carry a small JSON body
                try:
                    conn.sendall(queue.pop(0))
                except OSError:  # the client dropped a connection it could not reuse
                    return

    def accept() -> None:
        with listener:
            while queue:
                conn, _ = listener.accept()
                threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return int(listener.getsockname()[1])


def _answer(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body


@pytest.mark.parametrize("spoil", ["extra bytes", "corrupt blob"])
def test_a_refused_batch_leaves_the_client_able_to_fetch_the_next(spoil):
    """Extra bytes beyond a 1 MiB piece, or a corrupt blob early in a big batch: the
    batch is a DownloadError, and the same client's next request works."""
    from comptoir_agent.client import HubClient
    from comptoir_agent.protocol import encode_batch

    big = os.urandom(3 * 1024 * 1024)
    pairs = [(hashlib.sha256(b"abc").hexdigest(), b"abc"), (hashlib.sha256(big).hexdigest(), big)]
    if spoil == "extra bytes":  # they come in the same 1 MiB piece as the last blob
        pairs = pairs[:1]
    body = encode_batch(pairs)
    if spoil == "extra bytes":
        body += b"E" * (2 * 1024 * 1024)
    else:  # the first blob's bytes spoiled on the way
        head = body.index(b"\n") + 1
        body = body[:head] + b"abd" + body[head + 3 :]
    good = encode_batch([(hashlib.sha256(b"ok").hexdigest(), b"ok")])
    port = _serve_answers([_answer(body), _answer(good)])
    client = HubClient(f"http://127.0.0.1:{port}", token="t", org="o")
    with pytest.raises(DownloadError):
        fetch_batch(client, [s for s, _ in pairs], Progress("", 0, False))
    assert fetch_batch(client, ["x"], Progress("", 0, False)) == {
        hashlib.sha256(b"ok").hexdigest(): b"ok"
    }
    client.close()


def test_a_new_dossier_staged_by_a_cut_pass_is_swept_by_the_next(hub, station, other, monkeypatch):
    """A pass cut between staging a new dossier's folder and the rename that puts it in
    place leaves `<year>/.comptoir-tmp-<number>/` (copies of the hub's files). If that
    dossier is never fetched again (deleted on the cloud meanwhile), the next pass still
    removes it; nothing else in the year folder is touched."""
    from comptoir_agent import fetching

    doc = make_doc("2026-00041")
    write_dossier(station.root, doc, {"rapport.pdf": b"report bytes"})
    assert station("sync").code == 0

    def cut(*args: object) -> None:
        raise KeyboardInterrupt  # as a kill between the staging and the rename

    monkeypatch.setattr(fetching.os, "rename", cut)
    assert other("sync").code == 130
    monkeypatch.undo()
    staged = other.root / "2026" / ".comptoir-tmp-2026-00041"
    assert (staged / "rapport.pdf").read_bytes() == b"report bytes"
    notes = other.root / "2026" / ".mes-notes"
    notes.mkdir()
    (notes / "a-garder.txt").write_text("à moi")
    hub.web_delete(doc["id"])
    assert other("sync").code == 0
    assert not staged.exists()
    assert not other.folder(doc).exists()  # deleted on the cloud: not fetched
    assert (notes / "a-garder.txt").read_text() == "à moi"


def test_names_that_are_not_utf8_make_their_dossier_red_and_the_others_sync(hub, station):
    """A file or a folder named in another encoding (Latin-1, from an old archive) has
    a name no journal, message or request can carry: its dossier is red with the reason,
    shown readable, and every other dossier goes up. It stopped the whole pass."""
    good = make_doc("2026-00020")
    write_dossier(station.root, good, {"rapport.pdf": b"%PDF"})
    bad_file = make_doc("2026-00021")
    folder = write_dossier(station.root, bad_file, {"plan.pdf": b"%PDF plan"})
    with open(os.fsencode(folder) + b"/caf\xe9.pdf", "wb") as out:
        out.write(b"latin-1")
    bad_folder = make_doc("2026-00022")
    bad_dir = os.fsencode(station.root / "2026") + b"/2026-0002\xe9"
    os.mkdir(bad_dir)
    with open(bad_dir + b"/dossier.json", "w", encoding="utf-8") as out:
        json.dump(bad_folder, out)
    result = station("sync")
    assert result.code == 4, result.err  # attention: some dossiers are red
    assert hub.head(good["id"]) is not None
    assert bad_file["id"] not in hub.dossiers and bad_folder["id"] not in hub.dossiers
    assert "'caf\ufffd.pdf' n'est pas un nom en UTF-8 (octets illisibles)" in result.err
    assert "nom de dossier illisible (pas en UTF-8)" in result.err
    status = station("status", "--json")
    assert status.code in (0, 4), status.err
    report = json.loads(status.out)
    assert report["counts"]["red"] == 2 and report["counts"]["green"] == 1
