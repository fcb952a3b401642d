"""The files of the dossiers a pass will push go up while the scan goes on (ahead.py)."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from typing import Any

import pytest

from comptoir_agent import ahead, engine, layout, transfer
from comptoir_agent.protocol import decode_batch
from tests.agent.conftest import make_doc, paired, write_dossier
from tests.agent.fakehub import Fail, FakeHub


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class RecordingHub(FakeHub):
    """Keeps every batch body's hashes, and tells when a batch arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []
        self.batch_seen = threading.Event()

    def batch(self, headers: Any, body: bytes) -> tuple[int, Any, str]:
        answer = super().batch(headers, body)
        self.batches.append([s for s, _ in decode_batch(body)])
        self.batch_seen.set()
        return answer


@pytest.fixture
def hub():
    server = RecordingHub()
    server.start()
    yield server
    server.stop()


def dossiers(station: Any, count: int, size: int = 4096) -> list[dict[str, Any]]:
    docs = [make_doc(f"2026-{index:05d}") for index in range(1, count + 1)]
    for index, doc in enumerate(docs):
        write_dossier(
            station.root,
            doc,
            files={f"photo-{n}.jpg": bytes([index, n]) * (size // 2) for n in range(3)},
        )
    return docs


def age(root: Any) -> None:
    """Date every file of the data folder an hour back (older than the racy window)."""
    past = time.time() - 3600
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (past, past))


def sent_hashes(hub: RecordingHub) -> list[str]:
    return [h for batch in hub.batches for h in batch]


def batch_before_second_offer(hub: RecordingHub, monkeypatch: Any, why: str) -> list[str]:
    """Make the scan's second offer wait until a batch reached the hub (the scan is not
    over: files must go up meanwhile); returns the numbers offered, as they come."""
    offered: list[str] = []
    real_offer = ahead.Ahead.offer

    def offer(self: ahead.Ahead, dossier: Any, contents: dict[str, bytes]) -> None:
        real_offer(self, dossier, contents)
        offered.append(dossier.number)
        if len(offered) == 2:
            assert hub.batch_seen.wait(10), why

    monkeypatch.setattr(ahead.Ahead, "offer", offer)
    return offered


def test_files_go_up_while_the_scan_goes_on_each_once(hub, tmp_path, monkeypatch):
    monkeypatch.setattr(ahead, "EARLY_BATCH_BYTES", 1)  # a batch per dossier
    monkeypatch.setattr(ahead, "SMALL_BATCH_BYTES", 0)  # each batch asks first
    station = paired(hub, tmp_path / "poste")
    docs = dossiers(station, 6)
    offered = batch_before_second_offer(hub, monkeypatch, "no file reached the hub during the scan")
    result = station("sync")
    assert result.code == 0, result.err
    assert len(offered) == 6
    assert set(hub.dossiers) == {doc["id"] for doc in docs}
    sent = sent_hashes(hub)
    assert len(sent) == len(set(sent)) == 18  # every file once, none sent again later
    assert set(sent) == set(hub.blobs)
    # only the first batches asked (the first two may both be on their way before an
    # answer): the hub lacked all of their files, so the next ones, new files too, went
    # without asking; and the pass's own upload asked nothing more
    assert 1 <= hub.count("POST", "blobs/missing$") <= ahead.IN_FLIGHT < len(hub.batches)
    assert station("status", "--json").code == 0


def test_new_files_go_without_asking_until_the_hub_has_some(hub, tmp_path, monkeypatch):
    """After a question that found every file of its batch missing, the next batches go
    without asking; one whose answer says the hub had some makes the next one ask
    again, and sends only what the hub lacks."""
    monkeypatch.setattr(ahead, "EARLY_BATCH_BYTES", 1)  # a batch per dossier
    monkeypatch.setattr(ahead, "SMALL_BATCH_BYTES", 0)  # no batch is small
    monkeypatch.setattr(ahead, "IN_FLIGHT", 1)  # one after the other: a fixed order
    station = paired(hub, tmp_path / "poste")
    docs = dossiers(station, 5)
    known = {
        sha(data): data
        for number in (2, 3)  # dossiers 3 and 4: a file of each sent by another station
        for data in [(station.folder(docs[number]) / "photo-1.jpg").read_bytes()]
    }
    hub.blobs.update(known)
    assert station("sync").code == 0
    # 1 asks (all new), 2 does not, 3 does not (sends its known file: the answer says
    # so), 4 asks (and keeps its known file), 5 asks too (4 was not all new)
    assert hub.count("POST", "blobs/missing$") == 3
    assert [len(batch) for batch in hub.batches] == [3, 3, 3, 2, 3]
    [third_known, fourth_known] = known
    assert third_known in hub.batches[2] and fourth_known not in hub.batches[3]
    assert set(hub.dossiers) == {doc["id"] for doc in docs}


def test_a_partial_batch_goes_up_while_nothing_is_in_flight(hub, tmp_path, monkeypatch):
    """While no batch is in flight, a batch of EARLY_START_BYTES goes though it is not
    full: the files go up during the scan, not in one batch at its end."""
    monkeypatch.setattr(ahead, "EARLY_START_BYTES", 1)
    station = paired(hub, tmp_path / "poste")
    docs = dossiers(station, 4)
    batch_before_second_offer(hub, monkeypatch, "the first dossier's files waited for the scan")
    assert station("sync").code == 0
    assert len(hub.batches) >= 2  # the first went alone
    sent = sent_hashes(hub)
    assert len(sent) == len(set(sent)) == 12
    assert set(hub.dossiers) == {doc["id"] for doc in docs}


def test_a_small_batch_goes_up_without_asking_first(hub, tmp_path, monkeypatch):
    """Up to SMALL_BATCH_BYTES, the files go without a `blobs/missing` question (one
    round trip, not two): the hub keeps only what it lacks. A bigger batch asks, and
    does not send what the hub has."""
    monkeypatch.setattr(ahead, "EARLY_BATCH_BYTES", 1)  # a batch per dossier
    station = paired(hub, tmp_path / "poste")
    docs = dossiers(station, 2, size=1024)
    known = (station.folder(docs[0]) / "photo-0.jpg").read_bytes()
    hub.blobs[sha(known)] = known  # another station sent it
    assert station("sync").code == 0
    assert hub.count("POST", "blobs/missing$") == 0
    assert sorted(sent_hashes(hub)) == sorted(
        sha((station.folder(doc) / f"photo-{n}.jpg").read_bytes()) for doc in docs for n in range(3)
    )  # the known file too: it was not asked about
    assert set(hub.dossiers) == {doc["id"] for doc in docs}

    monkeypatch.setattr(ahead, "SMALL_BATCH_BYTES", 1024)  # 3 files of 1 KiB: bigger
    later = paired(hub, tmp_path / "autre", name="Tablette")
    files = {f"plan-{n}.pdf": bytes([200 + n]) * 1024 for n in range(3)}
    write_dossier(later.root, make_doc("2026-00100"), files=files)
    hub.blobs[sha(files["plan-1.pdf"])] = files["plan-1.pdf"]
    before = len(hub.batches)
    assert later("sync").code == 0
    assert hub.count("POST", "blobs/missing$") == 1
    assert len(hub.batches) == before + 1
    assert sorted(hub.batches[-1]) == sorted(
        sha(files[name]) for name in ("plan-0.pdf", "plan-2.pdf")
    )


def test_a_file_changed_after_it_was_hashed_goes_up_as_hashed(hub, tmp_path, monkeypatch):
    station = paired(hub, tmp_path / "poste")
    [doc] = dossiers(station, 1)
    photo = station.folder(doc) / "photo-0.jpg"
    before = photo.read_bytes()
    real_offer = ahead.Ahead.offer

    def offer(self: ahead.Ahead, dossier: Any, contents: dict[str, bytes]) -> None:
        photo.write_bytes(b"retouched after the scan read it")
        real_offer(self, dossier, contents)

    monkeypatch.setattr(ahead.Ahead, "offer", offer)
    assert station("sync").code == 0
    assert hub.blobs[sha(before)] == before  # the bytes the pushed manifest names
    monkeypatch.undo()
    assert station("sync").code == 0  # the next pass sends the new version
    assert sha(b"retouched after the scan read it") in hub.blobs
    names = {f["name"]: f["sha256"] for f in hub.dossiers[doc["id"]].doc["files"]}
    assert names["photo-0.jpg"] == sha(b"retouched after the scan read it")


@pytest.mark.parametrize(
    ("options", "args", "sent"),
    [
        ({"enabled": False}, (), False),
        ({"not_systematic": True}, (), False),
        ({"not_systematic": True}, ("--send",), True),
    ],
    ids=["disabled", "not-systematic", "not-systematic-with-send"],
)
def test_nothing_goes_up_early_that_the_pass_would_not_send(hub, tmp_path, options, args, sent):
    station = paired(hub, tmp_path / "poste")
    hub.station().options.update(options)
    dossiers(station, 2)
    station("sync", *args)
    assert bool(hub.batches) is sent
    assert bool(hub.blobs) is sent


def test_dossiers_before_the_send_date_are_not_sent_early(hub, tmp_path):
    station = paired(hub, tmp_path / "poste")
    hub.station().options["send_after"] = "2026-01-01"
    old = make_doc("2025-00001", year=2025, created_at="2025-06-01T09:00:00+02:00")
    new = make_doc("2026-00001")
    write_dossier(station.root, old, files={"ancien.pdf": b"old report"})
    write_dossier(station.root, new, files={"nouveau.pdf": b"new report"})
    assert station("sync").code == 0
    assert sent_hashes(hub) == [sha(b"new report")]
    assert set(hub.dossiers) == {new["id"]}


def test_only_what_changed_goes_up_on_a_later_pass(hub, tmp_path):
    station = paired(hub, tmp_path / "poste")
    docs = dossiers(station, 3)
    age(station.root)  # the scan's cache then vouches for the files it hashed
    assert station("sync").code == 0
    hub.batches.clear()
    asked = hub.count("POST", "blobs/missing$")
    (station.folder(docs[1]) / "note.txt").write_bytes(b"ajout sur le terrain")
    assert station("sync").code == 0
    assert sent_hashes(hub) == [sha(b"ajout sur le terrain")]
    # the dossier's other files (not read again) were asked about with the new one, once
    assert hub.count("POST", "blobs/missing$") == asked + 1


def test_a_known_file_the_hub_lost_is_sent_again_by_the_pass(hub, tmp_path):
    station = paired(hub, tmp_path / "poste")
    [doc] = dossiers(station, 1)
    age(station.root)
    assert station("sync").code == 0
    photo = (station.folder(doc) / "photo-1.jpg").read_bytes()
    del hub.blobs[sha(photo)]  # removed by a clean-up on the hub
    (station.folder(doc) / "note.txt").write_bytes(b"ajout sur le terrain")
    assert station("sync").code == 0
    assert hub.blobs[sha(photo)] == photo
    names = {f["name"] for f in hub.dossiers[doc["id"]].doc["files"]}
    assert {"photo-1.jpg", "note.txt"} <= names


def test_a_refused_early_batch_leaves_the_sending_to_the_pass(hub, tmp_path):
    station = paired(hub, tmp_path / "poste")
    docs = dossiers(station, 3)
    hub.fail("POST", "blobs/batch$", 1, Fail(400, "invalid", "refusé une fois"))
    result = station("sync")
    assert result.code == 0, result.err
    assert set(hub.dossiers) == {doc["id"] for doc in docs}
    assert len(hub.blobs) == 9


def test_over_quota_nothing_is_lost_and_the_dossiers_say_why(hub, tmp_path):
    station = paired(hub, tmp_path / "poste")
    docs = dossiers(station, 2)
    hub.quota_limit = 100
    result = station("sync")
    assert result.code != 0
    assert not hub.dossiers and not hub.blobs
    assert "Quota dépassé" in result.err
    for doc in docs:  # the files are all still here
        assert len(list(station.folder(doc).iterdir())) == 4
    hub.quota_limit = 10**9
    assert station("sync").code == 0
    assert set(hub.dossiers) == {doc["id"] for doc in docs}


def test_the_scan_holds_a_bounded_amount_of_bytes_for_the_sending(hub, tmp_path, monkeypatch):
    """However many dossiers wait, the bytes handed over and not yet sent stay bounded."""
    monkeypatch.setattr(ahead, "HELD_BYTES", 20_000)
    monkeypatch.setattr(ahead, "EARLY_BATCH_BYTES", 10_000)
    station = paired(hub, tmp_path / "poste")
    docs = dossiers(station, 12, size=4000)  # 12 000 bytes per dossier
    slow = threading.Event()
    real_batch = hub.batch

    def batch(headers: Any, body: bytes) -> tuple[int, Any, str]:
        slow.wait(0.05)
        return real_batch(headers, body)

    monkeypatch.setattr(hub, "batch", batch)
    peaks: list[int] = []
    real_offer = ahead.Ahead.offer

    def offer(self: ahead.Ahead, dossier: Any, contents: dict[str, bytes]) -> None:
        real_offer(self, dossier, contents)
        peaks.append(self.held)

    monkeypatch.setattr(ahead.Ahead, "offer", offer)
    assert station("sync").code == 0
    assert max(peaks) <= 20_000 + 12_000
    assert set(hub.dossiers) == {doc["id"] for doc in docs}


def test_the_hashing_runs_a_bounded_number_of_tasks_ahead(tmp_path):
    """The scan's pool is fed a window of tasks, not the whole tree at once."""
    started: list[int] = []
    taken = 0
    lock = threading.Lock()

    def work(job: int) -> int:
        with lock:
            started.append(job)
        return job

    with layout._Pool(2) as pool:
        jobs = [(job, True) for job in range(100)]
        for result in layout._ahead(pool, work, jobs, 2):
            taken += 1
            with lock:
                assert len(started) - taken <= layout.HASH_WINDOW * 2
            assert result == taken - 1
        assert pool.executor is not None
    assert taken == 100


def test_small_files_are_hashed_on_the_scan_thread_and_big_ones_on_the_pool(tmp_path):
    """Hashing small files on threads costs more in handing the interpreter lock over
    than it saves: only tasks of big files go to the pool, and the results still come
    in order."""
    threads: dict[str, set[str]] = {"small": set(), "big": set()}

    def work(job: tuple[str, int]) -> int:
        threads[job[0]].add(threading.current_thread().name)
        return job[1]

    jobs = [(("big" if n % 10 == 0 else "small", n), n % 10 == 0) for n in range(60)]
    with layout._Pool(2) as pool:
        assert list(layout._ahead(pool, work, jobs, 2)) == list(range(60))
    assert threads["small"] == {threading.current_thread().name}
    assert threading.current_thread().name not in threads["big"]

    with layout._Pool(2) as pool:  # nothing big: no thread at all
        assert list(layout._ahead(pool, work, [(("small", 1), False)], 2)) == [1]
        assert pool.executor is None


def test_a_scan_hashes_small_files_without_a_pool_and_big_ones_with_it(tmp_path, monkeypatch):
    made: list[int] = []
    real_submit = layout._Pool.submit

    def submit(self, work, job):
        made.append(len(job))
        return real_submit(self, work, job)

    monkeypatch.setattr(layout._Pool, "submit", submit)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    root = tmp_path / "data"
    notes = {f"note-{n}.txt": b"x" * 100 for n in range(5)}
    folder = write_dossier(root, make_doc("2026-00001"), notes)
    result = layout.scan(root, {}, {})
    assert made == [] and result.hashed_files == 5
    (folder / "video.mp4").write_bytes(b"v" * (2 * layout.GROUP_BYTES))
    result = layout.scan(root, {}, {})
    assert made == [1] and result.hashed_files == 6
    (dossier,) = result.dossiers
    video = hashlib.sha256(b"v" * (2 * layout.GROUP_BYTES)).hexdigest()
    assert dossier.hashes is not None and dossier.hashes["video.mp4"].sha256 == video


def big_files(monkeypatch: pytest.MonkeyPatch, limit: int = 10_000) -> None:
    """Files over `limit` bytes travel as resumable uploads (not kept by the scan)."""
    for module in (ahead, layout, transfer):
        monkeypatch.setattr(module, "MAX_BATCH_BLOB", limit)


def test_a_big_file_goes_up_during_the_scan_once(hub, tmp_path, monkeypatch):
    big_files(monkeypatch)
    station = paired(hub, tmp_path / "poste")
    docs = [make_doc(f"2026-{n:05d}") for n in (1, 2, 3)]
    plans = {n: bytes([n]) * (3 * 1024 * 1024 + 17) for n in range(3)}  # four chunks each
    for n, doc in enumerate(docs):
        write_dossier(station.root, doc, files={"plan.pdf": plans[n], "note.txt": b"n%d" % n})
    real_offer = ahead.Ahead.offer
    offered: list[str] = []

    def offer(self: ahead.Ahead, dossier: Any, contents: dict[str, bytes]) -> None:
        real_offer(self, dossier, contents)
        offered.append(dossier.number)
        if len(offered) == 1:  # the first big file reaches the hub while the scan goes on
            deadline = time.monotonic() + 10
            while sha(plans[0]) not in hub.blobs and time.monotonic() < deadline:
                time.sleep(0.02)
            assert sha(plans[0]) in hub.blobs

    monkeypatch.setattr(ahead.Ahead, "offer", offer)
    assert station("sync").code == 0
    assert {sha(p) for p in plans.values()} <= set(hub.blobs)
    assert hub.count("POST", "sync/uploads$") == 3  # one upload each, none started again
    assert hub.count("PUT", "sync/uploads/") == 3 * 4
    assert set(hub.dossiers) == {doc["id"] for doc in docs}


def test_a_big_file_cut_off_early_is_sent_by_the_pass(hub, tmp_path, monkeypatch):
    big_files(monkeypatch)
    station = paired(hub, tmp_path / "poste")
    doc = make_doc("2026-00001")
    plan = b"p" * (2 * 1024 * 1024 + 5)
    write_dossier(station.root, doc, files={"plan.pdf": plan})
    hub.fail("PUT", "sync/uploads/", 1, Fail(400, "invalid", "coupé"))
    result = station("sync")
    assert result.code == 0, result.err
    assert hub.blobs[sha(plan)] == plan
    assert set(hub.dossiers) == {doc["id"]}


def test_a_pass_that_ends_early_stops_a_big_upload_at_the_next_chunk(hub, tmp_path, monkeypatch):
    big_files(monkeypatch)
    station = paired(hub, tmp_path / "poste")
    doc = make_doc("2026-00001")
    plan = b"q" * (8 * 1024 * 1024)  # eight chunks of the hub's 1 MiB
    write_dossier(station.root, doc, files={"plan.pdf": plan})
    real_upload = hub.upload

    def slow_upload(ident: str, method: str, headers: Any, body: bytes) -> Any:
        time.sleep(0.2)
        return real_upload(ident, method, headers, body)

    monkeypatch.setattr(hub, "upload", slow_upload)
    started = threading.Event()
    real_offer = ahead.Ahead.offer

    def offer(self: ahead.Ahead, dossier: Any, contents: dict[str, bytes]) -> None:
        real_offer(self, dossier, contents)
        deadline = time.monotonic() + 10
        while not hub.count("PUT", "sync/uploads/") and time.monotonic() < deadline:
            time.sleep(0.01)
        started.set()

    def broken(self: Any) -> None:
        raise OSError("disque arraché")

    monkeypatch.setattr(ahead.Ahead, "offer", offer)
    monkeypatch.setattr(engine.SyncPass, "_persist_scan", broken)
    with pytest.raises(OSError, match="disque arraché"):
        station("sync")
    assert started.is_set()
    sent = hub.count("PUT", "sync/uploads/")
    time.sleep(0.5)  # nothing goes on behind the ended pass
    assert hub.count("PUT", "sync/uploads/") == sent <= 3
    assert sha(plan) not in hub.blobs


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_growing_progress_bar_draws_what_is_found_and_nothing_when_idle():
    idle = _Terminal()
    bar = transfer.Progress("Envoi", 0, True, stream=idle, growing=True)
    bar.close()
    assert idle.getvalue() == ""  # no sending: not even an empty line
    shown = _Terminal()
    bar = transfer.Progress("Envoi", 0, True, stream=shown, growing=True)
    bar.grow(2048)
    bar.add(2048)
    bar.close()
    assert "Envoi" in shown.getvalue() and "100,0 %" in shown.getvalue()
    assert shown.getvalue().endswith("\n")


def test_the_feed_is_read_while_the_scan_goes_on_and_only_once(hub, tmp_path, monkeypatch):
    """The first page of the change feed is asked as soon as the scan found a dossier;
    the pass uses that answer (it does not ask again), also when a re-read from the
    start was asked on the web."""
    station = paired(hub, tmp_path / "poste")
    dossiers(station, 4)
    assert station("sync").code == 0
    age(station.root)
    assert station("sync").code == 0  # the scan's cache now knows every file
    hub.requests.clear()
    seen: list[int] = []
    real_offer = ahead.Ahead.found

    def found(self: ahead.Ahead) -> None:
        real_offer(self)
        deadline = time.monotonic() + 10
        while not hub.count("GET", "sync/changes") and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append(hub.count("GET", "sync/changes"))

    monkeypatch.setattr(ahead.Ahead, "found", found)
    assert station("sync").code == 0  # nothing changed: nothing offered, only found
    assert seen == [1]  # asked before the scan went on
    assert hub.count("GET", "sync/changes") == 1
    hub.station().reread += 1  # “Relire depuis le début” on the web
    hub.requests.clear()
    asked: list[str] = []
    real_changes = hub.changes

    def changes(st: Any, query: dict[str, str]) -> Any:
        asked.append(query["since"])
        return real_changes(st, query)

    monkeypatch.setattr(hub, "changes", changes)
    assert station("sync").code == 0
    assert asked == ["0"]  # from the start, asked once
