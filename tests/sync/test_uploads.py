"""Resumable uploads of large files through the station API: chunks, resume, hash, quota."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from comptoir.core.models import Organization
from comptoir.dossiers.models import Blob, Document, Dossier, blob_path
from comptoir.sync import services
from comptoir.sync.models import Upload
from tests.sync.conftest import StationClient, document, item, pair_station

DATA = bytes(range(256)) * 4  # 1 KiB
SHA = hashlib.sha256(DATA).hexdigest()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def used(station: StationClient) -> int:
    return Organization.objects.get(slug=station.org).storage_used_bytes


def stored_files(root: Path, part: str = "") -> list[Path]:
    if not root.exists():
        return []
    return [path for path in root.rglob("*") if path.is_file() and part in str(path)]


def start(station: StationClient, digest: str = SHA, size: int = len(DATA)) -> dict:
    response = station.post("uploads", {"sha256": digest, "size": size})
    assert response.status_code == 201, response.content
    return response.json()


def put(
    station: StationClient, upload_id: str, data: bytes, begin: int, total: int = len(DATA)
) -> object:
    return station.client().put(
        station.url(f"uploads/{upload_id}"),
        data,
        content_type="application/octet-stream",
        headers={"Content-Range": f"bytes {begin}-{begin + len(data) - 1}/{total}"},
    )


def set_quota(station: StationClient, quota: int) -> None:
    plan = Organization.objects.get(slug=station.org).plan
    plan.storage_quota_bytes = quota
    plan.save(update_fields=["storage_quota_bytes"])


@pytest.fixture(autouse=True)
def storage(settings, tmp_path):
    """Chunks and blobs go to a fresh folder, so a test sees exactly what was written."""
    root = tmp_path / "files"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root)},
        },
    }
    return root


def test_start_reserves_the_quota(station):
    """Starting an upload reserves its size against the quota before any byte arrives."""
    state = start(station)
    assert state["offset"] == 0 and state["complete"] is False
    assert state["chunk_size"] == services.CHUNK_SIZE and state["id"]
    assert used(station) == len(DATA)
    assert Upload.objects.get().reserved == len(DATA)


def test_starting_the_same_file_again_resumes_the_same_upload(station, other_station):
    """A second start, even from another station, finds the upload: reserved once."""
    first = start(station)
    assert put(station, first["id"], DATA[:100], 0).status_code == 200
    second = start(other_station)
    assert second["id"] == first["id"] and second["offset"] == 100
    assert Upload.objects.count() == 1
    assert used(station) == len(DATA)


def test_a_file_the_hub_has_is_complete_at_once(station):
    """Starting the upload of a stored file: complete, nothing reserved, no upload kept."""
    assert station.batch([DATA]).status_code == 200
    state = start(station)
    assert state["complete"] is True and state["offset"] == len(DATA)
    assert not Upload.objects.exists()
    assert used(station) == len(DATA)


def test_chunks_in_order_complete_the_upload(station, storage):
    """Three chunks: the offset follows, the last one stores the blob and drops the chunks."""
    upload_id = start(station)["id"]
    offsets = []
    for begin in (0, 400, 800):
        response = put(station, upload_id, DATA[begin : begin + 400], begin)
        assert response.status_code == 200, response.content
        offsets.append((response.json()["offset"], response.json()["complete"]))
    assert offsets == [(400, False), (800, False), (1024, True)]
    assert Blob.objects.get(sha256=SHA).size == len(DATA)
    assert b"".join(station.get(f"blobs/{SHA}").streaming_content) == DATA
    assert used(station) == len(DATA)  # the reservation became the blob, not counted twice
    upload = Upload.objects.get()
    assert upload.completed_at is not None and upload.reserved == 0
    assert stored_files(storage, "/uploads/") == []
    assert station.get(f"uploads/{upload_id}").json()["complete"] is True


def test_a_chunk_at_the_wrong_offset_is_409_with_the_offset(station):
    """A repeated or skipped chunk is refused with the offset to resume from."""
    upload_id = start(station)["id"]
    assert put(station, upload_id, DATA[:300], 0).status_code == 200
    for begin in (0, 500):
        response = put(station, upload_id, DATA[begin : begin + 100], begin)
        assert response.status_code == 409
        body = response.json()
        assert body["code"] == "offset_mismatch"
        assert body["details"] == {"offset": 300}
    upload = Upload.objects.get()
    assert upload.offset == 300 and upload.chunks == [[0, 299]]


def test_resume_after_a_crash(station):
    """After a crash the agent asks where the upload stands and continues from there."""
    upload_id = start(station)["id"]
    assert put(station, upload_id, DATA[:512], 0).status_code == 200
    # the agent restarts with nothing but the upload id it wrote down
    state = station.get(f"uploads/{upload_id}")
    assert state.status_code == 200
    assert state.json() == {
        "id": upload_id,
        "offset": 512,
        "chunk_size": services.CHUNK_SIZE,
        "complete": False,
    }
    offset = state.json()["offset"]
    done = put(station, upload_id, DATA[offset:], offset)
    assert done.status_code == 200 and done.json()["complete"] is True
    assert Blob.objects.filter(sha256=SHA).exists()


def test_wrong_bytes_are_refused_at_the_last_chunk(station, storage):
    """The last chunk checks SHA-256: 422, nothing stored, quota back, upload abandoned."""
    wrong = DATA[::-1]
    upload_id = start(station)["id"]
    assert put(station, upload_id, wrong[:600], 0).status_code == 200
    response = put(station, upload_id, wrong[600:], 600)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "hash_mismatch"
    assert body["details"] == {"sha256": SHA}
    assert not Blob.objects.exists()
    assert used(station) == 0
    assert stored_files(storage) == []
    upload = Upload.objects.get()
    assert upload.abandoned_at is not None and upload.reserved == 0
    assert station.get(f"uploads/{upload_id}").status_code == 404
    assert put(station, upload_id, DATA, 0).status_code == 404
    # starting again is a fresh upload with a fresh reservation
    again = start(station)
    assert again["id"] != upload_id and again["offset"] == 0
    assert used(station) == len(DATA)


def test_a_completed_upload_serves_a_dossier_push(station):
    """The uploaded file is a blob the hub knows: a dossier naming it is accepted."""
    upload_id = start(station)["id"]
    assert put(station, upload_id, DATA, 0).json()["complete"] is True
    doc = document()
    doc["files"] = [{"name": "plan.dwg", "sha256": SHA, "size": len(DATA)}]
    result = station.push(item(doc)).json()["results"][0]
    assert result["status"] == "accepted", result
    stored = Document.objects.get(dossier=Dossier.objects.get(public_id=doc["id"]))
    assert (stored.name, stored.sha256, stored.size) == ("plan.dwg", SHA, len(DATA))


def test_over_the_quota_the_upload_does_not_start(station):
    """507 quota_exceeded with the figures; no upload, no reservation."""
    set_quota(station, 1500)
    assert station.batch([b"x" * 600]).status_code == 200
    response = station.post("uploads", {"sha256": SHA, "size": len(DATA)})
    assert response.status_code == 507
    body = response.json()
    assert body["code"] == "quota_exceeded"
    assert body["details"] == {"used": 600, "quota": 1500, "requested": len(DATA)}
    assert body["message"]
    assert not Upload.objects.exists()
    assert used(station) == 600


def test_expired_uploads_give_the_quota_back(station, storage):
    """After 24 hours without a chunk, the reservation is released and the chunks dropped."""
    stale_id = start(station)["id"]
    assert put(station, stale_id, DATA[:100], 0).status_code == 200
    other = b"another large file" * 10
    fresh_id = start(station, sha(other), len(other))["id"]
    assert used(station) == len(DATA) + len(other)
    now = timezone.now()
    Upload.objects.filter(public_id=stale_id).update(updated_at=now - timedelta(hours=25))
    Upload.objects.filter(public_id=fresh_id).update(updated_at=now - timedelta(hours=23))
    assert services.expire_uploads() == 1
    assert used(station) == len(other)
    assert stored_files(storage, "/uploads/") == []
    assert station.get(f"uploads/{stale_id}").status_code == 404
    assert station.get(f"uploads/{fresh_id}").status_code == 200
    assert services.expire_uploads() == 0


def test_an_oversized_chunk_is_refused(station, monkeypatch):
    """A chunk over the largest chunk size is refused; the upload does not move."""
    monkeypatch.setattr(services, "MAX_CHUNK", 256)
    upload_id = start(station)["id"]
    response = put(station, upload_id, DATA[:257], 0)
    assert response.status_code == 400
    assert response.json()["details"] == {"field": "Content-Range"}
    assert put(station, upload_id, DATA[:256], 0).status_code == 200
    assert Upload.objects.get().offset == 256


@pytest.mark.parametrize(
    "content_range",
    [
        "",
        "bytes 0-99",
        "bytes 0-99/2048",
        "bytes 99-0/1024",
        "bytes 0-1024/1024",
        "bytes 0-49/1024",
    ],
    ids=["missing", "no-total", "wrong-total", "backwards", "past-end", "length-differs"],
)
def test_a_bad_content_range_is_refused(station, content_range):
    """The range must be bytes START-END/TOTAL, fit the upload and match the body."""
    upload_id = start(station)["id"]
    response = station.client().put(
        station.url(f"uploads/{upload_id}"),
        DATA[:100],
        content_type="application/octet-stream",
        headers={"Content-Range": content_range} if content_range else {},
    )
    assert response.status_code == 400
    assert response.json()["details"] == {"field": "Content-Range"}
    assert Upload.objects.get().offset == 0


def test_a_chunk_sent_again_after_completion_is_harmless(station):
    """Retrying the last chunk after the answer was lost says complete again."""
    upload_id = start(station)["id"]
    assert put(station, upload_id, DATA, 0).json()["complete"] is True
    again = put(station, upload_id, DATA, 0)
    assert again.status_code == 200 and again.json()["complete"] is True
    assert used(station) == len(DATA)


def test_the_same_file_stored_meanwhile_by_a_batch_is_counted_once(station, other_station):
    """An upload finishing after a batch stored the same bytes gives its reservation back."""
    upload_id = start(station)["id"]
    assert other_station.batch([DATA]).status_code == 200
    assert used(station) == 2 * len(DATA)  # the upload's reservation and the batch
    assert put(station, upload_id, DATA, 0).json()["complete"] is True
    assert Blob.objects.filter(sha256=SHA).count() == 1
    assert used(station) == len(DATA)


def test_an_unknown_or_foreign_upload_is_not_found(people, station):
    """A made-up id and another organisation's upload both answer 404."""
    from tests.sync.test_protocol import pair_station_for_outsider

    assert station.get("uploads/not-a-uuid").status_code == 404
    assert station.get("uploads/00000000-0000-4000-8000-000000000000").status_code == 404
    outsider = pair_station_for_outsider(people)
    foreign_id = start(outsider)["id"]
    response = station.get(f"uploads/{foreign_id}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert put(station, foreign_id, DATA, 0).status_code == 404


def test_an_empty_file_upload_completes_at_once(station):
    """A zero-byte file has no chunk to send: starting its upload completes it."""
    empty = sha(b"")
    state = start(station, empty, 0)
    assert state["complete"] is True
    assert Blob.objects.get(sha256=empty).size == 0


def test_a_technician_without_web_access_can_upload(people):
    """The station-only technician's station uploads large files too."""
    station = pair_station(people, "Tablette sans web", persona="tech_station")
    upload_id = start(station)["id"]
    assert put(station, upload_id, DATA, 0).json()["complete"] is True


def test_an_empty_upload_announced_with_another_hash_is_refused(station):
    """Zero bytes never match a non-empty file's hash: refused up front, nothing kept."""
    response = station.post("uploads", {"sha256": SHA, "size": 0})
    assert response.status_code == 400
    assert response.json()["code"] == "hash_mismatch"
    assert not Blob.objects.exists()


@pytest.mark.parametrize("right", [True, False])
def test_on_a_storage_that_is_not_local_files_the_hash_decides_too(settings, station, right):
    """S3-like storages (here Django's in-memory one) get the blob only when it matches."""
    from django.core.files.storage import default_storage

    from comptoir.dossiers import blobs
    from comptoir.dossiers.models import blob_path

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    assert blobs._local_root() is None
    payload = DATA if right else DATA[::-1]
    upload_id = start(station)["id"]
    assert put(station, upload_id, payload[:600], 0).status_code == 200
    response = put(station, upload_id, payload[600:], 600)
    org = Organization.objects.get(slug=station.org)
    if right:
        assert response.status_code == 200 and response.json()["complete"]
        with blobs.open_blob(org, SHA) as stored:
            assert stored.read() == DATA
    else:
        assert response.status_code == 422 and response.json()["code"] == "hash_mismatch"
        assert not default_storage.exists(blob_path(org, SHA))
        assert not Blob.objects.exists()


def test_a_chunk_cut_short_is_refused_and_stores_nothing(station, storage):
    """The body ends before the length the request announced (a connection cut): 400
    `short_chunk`, the offset does not move, no chunk file is left."""
    import io

    from comptoir.sync.models import Station

    upload_id = start(station)["id"]
    member_station = Station.objects.get(organization__slug=station.org)
    body = io.BytesIO(DATA[:300])
    with pytest.raises(services.DomainError) as refused:
        services.put_chunk(member_station, upload_id, "bytes 0-399/1024", body, 400)
    assert refused.value.code == "short_chunk"
    assert Upload.objects.get().offset == 0
    assert [p.read_bytes() for p in stored_files(storage, "/uploads/")] in ([], [b""])
    assert put(station, upload_id, DATA[:400], 0).json()["offset"] == 400  # resumes as usual


def test_on_local_files_the_chunks_are_written_in_place_and_the_blob_is_that_file(station, storage):
    """One part file holds the chunks at their offsets; the last chunk's hash check
    renames it into the blob (the same file: the bytes were written once)."""
    upload_id = start(station)["id"]
    assert put(station, upload_id, DATA[:400], 0).status_code == 200
    (part,) = stored_files(storage, "/uploads/")
    assert part.name.endswith(".part") and part.read_bytes() == DATA[:400]
    inode = part.stat().st_ino
    assert put(station, upload_id, DATA[400:800], 400).status_code == 200
    assert part.read_bytes() == DATA[:800]
    assert put(station, upload_id, DATA[800:], 800).json()["complete"] is True
    org = Organization.objects.get(slug=station.org)
    blob = storage / blob_path(org, SHA)
    assert blob.read_bytes() == DATA and blob.stat().st_ino == inode
    assert stored_files(storage, "/uploads/") == []


def test_a_chunk_cut_short_after_others_keeps_only_the_bytes_before_it(station, storage):
    import io

    from comptoir.sync.models import Station

    upload_id = start(station)["id"]
    assert put(station, upload_id, DATA[:400], 0).status_code == 200
    member_station = Station.objects.get(organization__slug=station.org)
    with pytest.raises(services.DomainError):
        services.put_chunk(
            member_station, upload_id, "bytes 400-799/1024", io.BytesIO(b"\0" * 250), 400
        )
    (part,) = stored_files(storage, "/uploads/")
    assert part.read_bytes() == DATA[:400]
    assert put(station, upload_id, DATA[400:], 400).json()["complete"] is True
    assert b"".join(station.get(f"blobs/{SHA}").streaming_content) == DATA


def test_an_upload_begun_in_chunk_objects_ends_in_them(station, storage):
    """An upload whose first chunks were stored as objects (a hub updated meanwhile)
    carries on that way: its chunks are put together at the end."""
    upload_id = start(station)["id"]
    upload = Upload.objects.get()
    name = upload.chunk_name(0)
    (storage / name).parent.mkdir(parents=True)
    (storage / name).write_bytes(DATA[:400])
    Upload.objects.filter(pk=upload.pk).update(offset=400, chunks=[[0, 399]])
    assert put(station, upload_id, DATA[400:], 400).json()["complete"] is True
    assert b"".join(station.get(f"blobs/{SHA}").streaming_content) == DATA
    assert stored_files(storage, "/uploads/") == []


def test_the_process_that_took_every_chunk_does_not_read_the_file_again(
    station, storage, monkeypatch
):
    """The chunks are hashed on their way in: the last one checks the hash without a
    second reading of the part file."""
    from comptoir.dossiers import blobs as blob_store

    def no_reading(*args: object, **kwargs: object) -> object:
        raise AssertionError("the part file was read again")

    monkeypatch.setattr(blob_store.hashlib, "file_digest", no_reading)
    upload_id = start(station)["id"]
    for begin in (0, 400, 800):
        response = put(station, upload_id, DATA[begin : begin + 400], begin)
        assert response.status_code == 200, response.content
    assert response.json()["complete"] is True
    assert b"".join(station.get(f"blobs/{SHA}").streaming_content) == DATA


@pytest.mark.parametrize("right", [True, False])
def test_a_chunk_taken_by_another_process_makes_the_last_one_read_the_file(
    station, storage, monkeypatch, right
):
    """Without the running hash of every chunk (another web process took one), the
    last chunk hashes the part file itself: right bytes stored, wrong ones refused."""
    from comptoir.dossiers import blobs as blob_store

    read = []
    real = blob_store.hashlib.file_digest
    monkeypatch.setattr(
        blob_store.hashlib, "file_digest", lambda *a, **k: read.append(1) or real(*a, **k)
    )
    payload = DATA if right else DATA[:800] + DATA[800:][::-1]
    upload_id = start(station)["id"]
    assert put(station, upload_id, payload[:400], 0).status_code == 200
    blob_store._running.clear()  # as if the next chunk had gone to another process
    assert put(station, upload_id, payload[400:800], 400).status_code == 200
    response = put(station, upload_id, payload[800:], 800)
    assert read == [1]
    org = Organization.objects.get(slug=station.org)
    if right:
        assert response.json()["complete"] is True
        assert (storage / blob_path(org, SHA)).read_bytes() == DATA
    else:
        assert response.status_code == 422 and response.json()["code"] == "hash_mismatch"
        assert not (storage / blob_path(org, SHA)).exists()
        assert stored_files(storage, "/uploads/") == []


def test_wrong_bytes_hashed_on_the_way_are_refused(station, storage):
    payload = DATA[:800] + bytes(224)
    upload_id = start(station)["id"]
    for begin in (0, 400):
        assert put(station, upload_id, payload[begin : begin + 400], begin).status_code == 200
    response = put(station, upload_id, payload[800:], 800)
    assert response.status_code == 422 and response.json()["code"] == "hash_mismatch"
    org = Organization.objects.get(slug=station.org)
    assert not (storage / blob_path(org, SHA)).exists()
    assert not Blob.objects.exists()
    assert used(station) == 0


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="flock: POSIX only")
def test_a_part_file_held_too_long_answers_busy_and_changes_nothing(station, storage, monkeypatch):
    """A request stuck while it holds the part file (a dead connection) does not hold
    the next one for ever: 409 `upload_busy`, the offset and the bytes unchanged."""
    import fcntl
    import os

    from comptoir.dossiers import blobs as blob_store

    monkeypatch.setattr(blob_store, "PART_WAIT", 0.05)
    upload_id = start(station)["id"]
    assert put(station, upload_id, DATA[:400], 0).status_code == 200
    (part,) = stored_files(storage, "/uploads/")
    holder = os.open(part, os.O_RDWR)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        response = put(station, upload_id, DATA[400:800], 400)
    finally:
        os.close(holder)
    assert response.status_code == 409 and response.json()["code"] == "upload_busy"
    assert Upload.objects.get().offset == 400
    assert part.read_bytes() == DATA[:400]
    assert put(station, upload_id, DATA[400:], 400).json()["complete"] is True


def test_the_checked_bytes_replace_a_file_a_crash_left_under_the_blobs_name(station, storage):
    org = Organization.objects.get(slug=station.org)
    left = storage / blob_path(org, SHA)
    left.parent.mkdir(parents=True)
    left.write_bytes(b"truncated by a power cut")
    upload_id = start(station)["id"]
    assert put(station, upload_id, DATA[:600], 0).status_code == 200
    assert put(station, upload_id, DATA[600:], 600).json()["complete"] is True
    assert left.read_bytes() == DATA


def test_a_late_copy_of_a_chunk_after_the_end_leaves_no_part_file(station, storage):
    """A retry of a middle chunk that arrives once the upload is complete answers the
    complete state and creates nothing."""
    upload_id = start(station)["id"]
    assert put(station, upload_id, DATA[:600], 0).status_code == 200
    assert put(station, upload_id, DATA[600:], 600).json()["complete"] is True
    late = put(station, upload_id, DATA[600:], 600)
    assert late.status_code == 200 and late.json()["complete"] is True
    assert stored_files(storage, "/uploads/") == []


def _make_stale(upload_id: str) -> None:
    Upload.objects.filter(public_id=upload_id).update(
        updated_at=timezone.now() - timedelta(hours=25)
    )


def test_an_upload_storing_a_chunk_right_now_is_not_expired(station, storage, monkeypatch):
    """The expiry holds the part file as a chunk does: an upload whose file is held by a
    request storing a chunk is not stale, and keeps its bytes and its reservation."""
    from comptoir.dossiers import blobs

    upload_id = start(station)["id"]
    assert put(station, upload_id, DATA[:100], 0).status_code == 200
    _make_stale(upload_id)
    [part] = stored_files(storage, "/uploads/")
    monkeypatch.setattr(blobs, "PART_WAIT", 0.05)
    with blobs.PartFile(str(part), create=False):
        assert services.expire_uploads() == 0
    assert part.read_bytes() == DATA[:100]
    assert used(station) == len(DATA)
    assert services.expire_uploads() == 1  # once it is left alone
    assert stored_files(storage, "/uploads/") == [] and used(station) == 0


def test_a_chunk_for_an_upload_that_expired_meanwhile_is_refused(station, storage, monkeypatch):
    """An upload read by a chunk's request, then expired before the chunk is checked:
    404 (start again), and nothing is written for it."""
    upload_id = start(station)["id"]
    assert put(station, upload_id, DATA[:100], 0).status_code == 200
    real_upload_for = services.upload_for

    def expiring(station_: object, public_id: str) -> Upload:
        upload = real_upload_for(station_, public_id)  # type: ignore[arg-type]
        _make_stale(public_id)
        assert services.expire_uploads() == 1
        return upload

    monkeypatch.setattr(services, "upload_for", expiring)
    response = put(station, upload_id, DATA[100:200], 100)
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "not_found"
    assert stored_files(storage, "/uploads/") == []
    assert used(station) == 0


def test_a_chunk_object_for_an_upload_that_expired_meanwhile_is_dropped(
    station, storage, monkeypatch
):
    """On a storage without part files (S3), chunks are objects: one stored while the
    upload expired is removed again, and the answer is 404."""
    from comptoir.dossiers import blobs

    monkeypatch.setattr(blobs, "part_path", lambda name: None)  # as on an object storage
    upload_id = start(station)["id"]
    assert put(station, upload_id, DATA[:100], 0).status_code == 200
    assert len(stored_files(storage, "/uploads/")) == 1
    real_save = blobs.save_piecewise

    def save_then_expire(name: str, stream: object, length: int) -> bool:
        saved = real_save(name, stream, length)  # type: ignore[arg-type]
        _make_stale(upload_id)
        assert services.expire_uploads() == 1  # drops the first chunk
        return saved

    monkeypatch.setattr(blobs, "save_piecewise", save_then_expire)
    response = put(station, upload_id, DATA[100:200], 100)
    assert response.status_code == 404, response.content
    assert stored_files(storage, "/uploads/") == []
    assert used(station) == 0
