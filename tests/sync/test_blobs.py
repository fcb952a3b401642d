"""Content-addressed blobs through the station API: missing, batch, fetch and byte ranges."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from comptoir.core.models import Organization
from comptoir.dossiers.models import Blob
from tests.sync.conftest import StationClient, pair_station

BATCH_TYPE = "application/x-comptoir-batch"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def used(station: StationClient) -> int:
    return Organization.objects.get(slug=station.org).storage_used_bytes


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def parse_batch(body: bytes) -> list[tuple[str, bytes]]:
    header, _sep, rest = body.partition(b"\n")
    out = []
    for entry in json.loads(header):
        out.append((entry["sha256"], rest[: entry["size"]]))
        rest = rest[entry["size"] :]
    assert rest == b"", "bytes left after the last blob"
    return out


@pytest.fixture(autouse=True)
def storage(settings, tmp_path):
    """Blobs go to a fresh folder, so a test sees exactly what was written."""
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
def outsider_station(people):
    from tests.sync.test_protocol import pair_station_for_outsider

    return pair_station_for_outsider(people)


def set_quota(station: StationClient, quota: int) -> None:
    plan = Organization.objects.get(slug=station.org).plan
    plan.storage_quota_bytes = quota
    plan.save(update_fields=["storage_quota_bytes"])


# --- /blobs/missing -------------------------------------------------------------------


def test_missing_lists_each_unknown_hash_once(station):
    """Known hashes are left out; a repeated unknown hash is listed once, in order."""
    known, first, second = b"known", b"first", b"second"
    assert station.batch([known]).status_code == 200
    asked = [sha(first), sha(known), sha(second), sha(first)]
    response = station.post("blobs/missing", {"hashes": asked})
    assert response.status_code == 200
    assert response.json() == {"missing": [sha(first), sha(second)]}


def test_missing_refuses_a_malformed_hash_and_names_it(station):
    """An upper-case or short hash is refused, naming where it is in the request."""
    bad = "ABCDEF" + "0" * 58
    response = station.post("blobs/missing", {"hashes": [sha(b"ok"), bad]})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_input"
    assert "body.payload.hashes.1" in body["message"]


def test_missing_does_not_see_another_organisations_blobs(station, outsider_station):
    """A blob stored by another organisation is still missing for this one."""
    assert outsider_station.batch([b"globex file"]).status_code == 200
    response = station.post("blobs/missing", {"hashes": [sha(b"globex file")]})
    assert response.json()["missing"] == [sha(b"globex file")]


# --- /blobs/batch ---------------------------------------------------------------------


def test_batch_stores_the_files_and_counts_them_once(station, storage):
    """Each file of a batch becomes a Blob, its bytes are kept, the quota counts them."""
    files = [b"%PDF rapport", b"\x89PNG photo", b""]
    response = station.batch(files)
    assert response.status_code == 200, response.content
    assert response.json() == {"stored": [sha(data) for data in files], "existing": []}
    assert set(Blob.objects.values_list("sha256", "size")) == {
        (sha(data), len(data)) for data in files
    }
    assert used(station) == sum(len(data) for data in files)
    assert len(stored_files(storage)) == 3
    for data in files:
        assert b"".join(station.get(f"blobs/{sha(data)}").streaming_content) == data


def test_a_batch_with_a_long_manifest_line_is_read_whole(station, storage):
    """Thousands of entries make a manifest line of hundreds of KiB: all stored."""
    files = [b"piece %d" % index for index in range(3000)]
    response = station.batch(files)
    assert response.status_code == 200, response.content
    assert len(response.json()["stored"]) == 3000
    assert Blob.objects.count() == 3000 and len(stored_files(storage)) == 3000


def test_a_batch_without_an_end_of_line_after_its_manifest_is_refused(station, storage):
    data = b"photo"
    header = json.dumps([{"sha256": sha(data), "size": len(data)}]).encode()
    response = station.client().post(
        station.url("blobs/batch"), header + data, content_type=BATCH_TYPE
    )
    assert response.status_code == 400
    assert response.json()["details"] == {"line": 1}
    assert not Blob.objects.exists() and stored_files(storage) == []


def test_the_same_file_from_two_stations_is_stored_and_counted_once(
    station, other_station, storage
):
    """A second station sending the same bytes finds them existing: one blob, one count."""
    data = b"the same photo" * 100
    assert station.batch([data]).json() == {"stored": [sha(data)], "existing": []}
    again = other_station.batch([data, b"new"])
    assert again.status_code == 200
    assert again.json() == {"stored": [sha(b"new")], "existing": [sha(data)]}
    assert Blob.objects.filter(sha256=sha(data)).count() == 1
    assert used(station) == len(data) + len(b"new")
    assert len(stored_files(storage)) == 2


def test_a_file_repeated_in_one_batch_is_counted_once(station):
    """The manifest may name the same file twice: one blob, counted once."""
    data = b"twice"
    response = station.batch([data, data])
    assert response.status_code == 200
    assert response.json()["stored"] == [sha(data)]
    assert used(station) == len(data)


def test_a_wrong_hash_stores_nothing(station, storage):
    """One file that does not match its hash refuses the whole batch; quota unchanged."""
    good, bad = b"good file", b"bad file!"
    manifest = [
        {"sha256": sha(good), "size": len(good)},
        {"sha256": sha(b"something else"), "size": len(bad)},
    ]
    response = station.batch([good, bad], manifest=manifest)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "hash_mismatch"
    assert body["details"] == {"index": 1, "sha256": sha(b"something else")}
    assert not Blob.objects.exists()
    assert stored_files(storage) == []
    assert used(station) == 0


def test_a_size_that_does_not_add_up_is_refused(station, storage):
    """The manifest announces more bytes than the body carries: size_mismatch, nothing kept."""
    data = b"short"
    manifest = [{"sha256": sha(data), "size": len(data) + 3}]
    response = station.batch([data], manifest=manifest)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "size_mismatch"
    assert str(len(data) + 3) in body["message"]
    assert not Blob.objects.exists() and stored_files(storage) == []


def test_sizes_swapped_between_files_are_a_hash_mismatch(station):
    """The total adds up but the split is wrong: the first file's hash fails."""
    first, second = b"abcd", b"efghij"
    manifest = [
        {"sha256": sha(first), "size": len(second)},
        {"sha256": sha(second), "size": len(first)},
    ]
    response = station.batch([first, second], manifest=manifest)
    assert response.status_code == 422
    assert response.json()["details"]["index"] == 0
    assert not Blob.objects.exists()


def test_a_batch_needs_its_content_type(station, storage):
    """A batch sent as JSON is refused, naming the expected type."""
    data = b"file"
    body = json.dumps([{"sha256": sha(data), "size": len(data)}]).encode() + b"\n" + data
    response = station.client().post(
        station.url("blobs/batch"), body, content_type="application/octet-stream"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "unsupported_media_type"
    assert BATCH_TYPE in response.json()["message"]
    assert not Blob.objects.exists() and stored_files(storage) == []


@pytest.mark.parametrize(
    "header",
    [
        b"not json",
        b'{"sha256": "x", "size": 1}',
        json.dumps([{"sha256": "ABC", "size": 1}]).encode(),
        json.dumps([{"sha256": "a" * 64, "size": -1}]).encode(),
        json.dumps([{"sha256": "a" * 64, "size": True}]).encode(),
        json.dumps([{"sha256": "a" * 64, "size": 4 * 1024 * 1024 + 1}]).encode(),
        json.dumps([{"sha256": "a" * 64}]).encode(),
        json.dumps(["a" * 64]).encode(),
    ],
    ids=["not-json", "object", "bad-hash", "negative", "bool", "too-big", "no-size", "string"],
)
def test_a_bad_manifest_line_is_refused(station, storage, header):
    """A first line that is not a list of {sha256, size} is refused at line 1."""
    response = station.client().post(
        station.url("blobs/batch"), header + b"\nx", content_type=BATCH_TYPE
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["details"] == {"line": 1}
    assert not Blob.objects.exists() and stored_files(storage) == []


def test_a_batch_over_the_quota_stores_nothing(station, storage):
    """Over the organisation's quota: 507 quota_exceeded with the figures, nothing kept."""
    set_quota(station, 10)
    assert station.batch([b"12345"]).status_code == 200
    response = station.batch([b"abcdef"])
    assert response.status_code == 507
    body = response.json()
    assert body["code"] == "quota_exceeded"
    assert body["details"] == {"used": 5, "quota": 10, "requested": 6}
    assert used(station) == 5
    assert list(Blob.objects.values_list("sha256", flat=True)) == [sha(b"12345")]
    assert len(stored_files(storage)) == 1


def test_existing_files_do_not_count_against_the_quota(station):
    """Files the hub already has do not need quota room when sent again."""
    set_quota(station, 10)
    assert station.batch([b"1234567890"]).status_code == 200
    response = station.batch([b"1234567890"])
    assert response.status_code == 200
    assert response.json() == {"stored": [], "existing": [sha(b"1234567890")]}
    assert used(station) == 10


def test_a_technician_without_web_access_can_send_files(people):
    """roles.md: every profile syncs from a station, the station-only technician too."""
    station = pair_station(people, "Tablette sans web", persona="tech_station")
    response = station.batch([b"rapport terrain"])
    assert response.status_code == 200, response.content
    assert response.json()["stored"] == [sha(b"rapport terrain")]


# --- /blobs/fetch and GET /blobs/{sha256} --------------------------------------------


def test_fetch_returns_the_batch_framing_in_the_asked_order(station):
    """What one station sent, another gets back byte for byte, in the asked order."""
    files = [b"first file", b"", b"\x00\x01binary\n\r\n"]
    assert station.batch(files).status_code == 200
    wanted = [sha(files[2]), sha(files[0]), sha(files[1]), sha(files[0])]
    response = station.post("blobs/fetch", {"hashes": wanted})
    assert response.status_code == 200
    assert response["Content-Type"] == BATCH_TYPE
    body = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(body)  # one body, not chunked
    got = parse_batch(body)
    assert got == [(sha(files[2]), files[2]), (sha(files[0]), files[0]), (sha(files[1]), b"")]


def test_a_fetch_of_many_small_blobs_comes_in_few_pieces(station):
    files = [index.to_bytes(2, "big") * 2048 for index in range(600)]  # 2.4 MiB
    assert station.batch(files).status_code == 200
    response = station.post("blobs/fetch", {"hashes": [sha(data) for data in files]})
    pieces = list(response.streaming_content)
    assert len(pieces) <= 4
    assert parse_batch(b"".join(pieces)) == [(sha(data), data) for data in files]


def test_fetch_of_an_unknown_hash_names_what_is_missing(station):
    """Asking for a file the hub does not have: 404 with the missing hashes."""
    assert station.batch([b"here"]).status_code == 200
    response = station.post("blobs/fetch", {"hashes": [sha(b"here"), sha(b"absent")]})
    assert response.status_code == 404
    assert response.json()["details"] == {"missing": [sha(b"absent")]}


def test_get_gives_the_whole_file(station):
    """Without Range: 200, every byte, ranges advertised."""
    data = bytes(range(256)) * 4
    station.batch([data])
    response = station.get(f"blobs/{sha(data)}")
    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert b"".join(response.streaming_content) == data


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=2-5", 2, 5),
        ("bytes=0-0", 0, 0),
        ("bytes=10-", 10, 25),
        ("bytes=-4", 22, 25),
        ("bytes=-100", 0, 25),
        ("bytes=20-999", 20, 25),
    ],
)
def test_get_honours_a_range(station, header, start, end):
    """Range: 206 with exactly the asked bytes and their Content-Range."""
    data = b"abcdefghijklmnopqrstuvwxyz"
    station.batch([data])
    response = station.get(f"blobs/{sha(data)}", HTTP_RANGE=header)
    assert response.status_code == 206
    assert response.content == data[start : end + 1]
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(data)}"


@pytest.mark.parametrize("header", ["bytes=26-", "bytes=30-40", "bytes=5-2", "bytes=-0"])
def test_get_refuses_a_range_outside_the_file(station, header):
    """A range that cannot be served: 416 with the file's size."""
    data = b"abcdefghijklmnopqrstuvwxyz"
    station.batch([data])
    response = station.get(f"blobs/{sha(data)}", HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(data)}"


def test_another_organisations_file_is_not_found(station, outsider_station):
    """Knowing a hash of another organisation gives nothing: 404 on get and fetch."""
    data = b"globex secret report"
    assert outsider_station.batch([data]).status_code == 200
    assert outsider_station.get(f"blobs/{sha(data)}").status_code == 200
    response = station.get(f"blobs/{sha(data)}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert station.post("blobs/fetch", {"hashes": [sha(data)]}).status_code == 404
    assert station.get(f"blobs/{sha(data)}", HTTP_RANGE="bytes=0-3").status_code == 404


def test_get_with_a_malformed_hash_names_it(station):
    """A path that is not a SHA-256 is refused, naming the path parameter."""
    response = station.get("blobs/not-a-hash")
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"
    assert "sha256" in response.json()["message"]


def test_fetch_refuses_more_than_a_batch_can_carry(station, monkeypatch):
    """Asking for more bytes than a batch holds is refused: fetch big files one by one."""
    from comptoir.sync import services

    station.batch([b"0123456789", b"abcdefghij"])
    monkeypatch.setattr(services, "MAX_BATCH_BYTES", 15)
    response = station.post("blobs/fetch", {"hashes": [sha(b"0123456789"), sha(b"abcdefghij")]})
    assert response.status_code == 400
    assert response.json()["code"] == "too_large"
    assert station.post("blobs/fetch", {"hashes": [sha(b"0123456789")]}).status_code == 200


def test_a_batch_over_its_size_limit_is_refused_unread(station, storage, monkeypatch):
    """A body past the batch limit is refused as too_large before anything is stored."""
    from comptoir.sync import services

    monkeypatch.setattr(services, "MAX_BATCH_BYTES", 0)
    data = b"x" * (1024 * 1024 + 1)
    response = station.batch([data])
    assert response.status_code == 400
    assert response.json()["code"] == "too_large"
    assert not Blob.objects.exists() and stored_files(storage) == []


def test_a_file_left_under_a_new_blobs_name_is_replaced_by_the_batchs_bytes(station, storage):
    """A crash can leave bytes under a hash the database never registered: the batch
    that brings that blob writes it whole again (it is not taken as already there)."""
    from comptoir.dossiers.models import blob_path

    data = b"the right bytes"
    org = Organization.objects.get(slug=station.org)
    left = storage / blob_path(org, sha(data))
    left.parent.mkdir(parents=True)
    left.write_bytes(b"half a wr")
    response = station.batch([data])
    assert response.json() == {"stored": [sha(data)], "existing": []}
    assert left.read_bytes() == data
    assert b"".join(station.get(f"blobs/{sha(data)}").streaming_content) == data
    assert [p.name for p in stored_files(storage)] == [sha(data)]  # no temporary file left


def test_batches_read_into_the_kept_buffer_store_their_own_bytes(station, storage):
    """Files are written straight from the buffer a batch is read into, which the next
    batch reuses: each stored file still holds its own bytes, after both batches."""
    from comptoir.dossiers import blobs

    first = [bytes([index]) * 300_000 for index in range(1, 8)]  # 2.1 MB: a kept buffer
    second = [bytes([index]) * 250_000 for index in range(101, 110)]
    assert blobs.SCRATCH_SIZE // 8 < sum(map(len, first)) <= blobs.SCRATCH_SIZE
    for files in (first, second):
        assert station.batch(files).status_code == 200
    org = Organization.objects.get(slug=station.org)
    from comptoir.dossiers.models import blob_path

    for data in first + second:
        assert (storage / blob_path(org, sha(data))).read_bytes() == data
    assert len(stored_files(storage)) == len(first) + len(second)


def test_a_batch_goes_to_a_storage_other_than_local_files(station, settings):
    """With S3-compatible storage (any Django storage), a batch's files are saved whole
    through the storage API."""
    from django.core.files.storage import default_storage

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    files = [b"%PDF " + bytes([index]) * 200_000 for index in range(8)]
    assert station.batch(files).status_code == 200
    org = Organization.objects.get(slug=station.org)
    from comptoir.dossiers.models import blob_path

    for data in files:
        with default_storage.open(blob_path(org, sha(data))) as handle:
            assert handle.read() == data
