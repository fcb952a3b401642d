"""Blob files on local storage: written through a temporary name and a rename, with a
temporary file a crashed process left under the same name replaced, not fatal; the new
blobs of a batch created straight under their name, and what a crash left under a name
replaced, never kept."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from comptoir.dossiers import blobs
from comptoir.dossiers.models import blob_path
from tests.agenda.factories import a_dossier


@pytest.fixture
def root(settings, tmp_path) -> Path:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    return tmp_path


@pytest.mark.parametrize("checked", [False, True])
def test_a_leftover_temporary_file_is_replaced(people, root, monkeypatch, checked):
    org = a_dossier(people).organization
    data = b"rapport"
    sha = hashlib.sha256(data).hexdigest()
    folder = (root / blob_path(org, sha)).parent
    folder.mkdir(parents=True)
    leftover = folder / ".part-crashed"
    leftover.write_bytes(b"half a file")
    monkeypatch.setattr(blobs, "_part_name", lambda _folder: str(leftover))
    if checked:
        assert blobs.put_checked(org, sha, iter([b"rap", b"port"]))
    else:
        blobs.put_bytes(org, sha, data)
    assert (root / blob_path(org, sha)).read_bytes() == data
    assert not leftover.exists()


def test_many_blobs_go_to_their_folders_made_when_missing(people, root):
    """`put_many` makes a blob's folder only when it is not there; one removed in
    between (a clean-up emptied it) is made again."""
    org = a_dossier(people).organization
    first = {hashlib.sha256(b"%d" % n).hexdigest(): b"%d" % n for n in range(40)}
    blobs.put_many(org, first)
    for sha, data in first.items():
        assert (root / blob_path(org, sha)).read_bytes() == data
    gone = (root / blob_path(org, next(iter(first)))).parent
    for path in gone.iterdir():
        path.unlink()
    gone.rmdir()
    again = {hashlib.sha256(b"x%d" % n).hexdigest(): b"x%d" % n for n in range(40)}
    again[next(iter(first))] = first[next(iter(first))]
    blobs.put_many(org, again)
    for sha, data in again.items():
        assert (root / blob_path(org, sha)).read_bytes() == data
    leftovers = list((root / blob_path(org, "00" * 32)).parent.parent.rglob(".part-*"))
    assert leftovers == []


def test_checked_bytes_that_do_not_match_leave_nothing(people, root):
    org = a_dossier(people).organization
    sha = hashlib.sha256(b"right").hexdigest()
    assert blobs.put_checked(org, sha, iter([b"wrong"])) is False
    folder = (root / blob_path(org, sha)).parent
    assert list(folder.iterdir()) == []


class _Trickle:
    """A request body that gives at most `step` bytes per read, and may end early."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step, self.reads = data, step, []

    def read(self, size: int = -1) -> bytes:
        self.reads.append(size)
        piece, self.data = self.data[: min(size, self.step)], self.data[min(size, self.step) :]
        return piece


@pytest.mark.parametrize("step", [1 << 30, 1000])
def test_a_stream_is_saved_by_pieces_and_replaces_what_was_there(db, root, monkeypatch, step):
    monkeypatch.setattr(blobs, "CHUNK", 4096)
    data = bytes(range(256)) * 100  # 25,600 bytes
    target = root / "uploads" / "x" / "0000000000000000"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"an earlier attempt")
    stream = _Trickle(data + b"next request", step)
    assert blobs.save_piecewise("uploads/x/0000000000000000", stream, len(data))
    assert target.read_bytes() == data
    assert max(stream.reads) <= 4096  # never the whole body at once
    assert stream.data == b"next request"  # nothing read beyond the length
    assert [p.name for p in target.parent.iterdir()] == [target.name]


def test_a_stream_cut_short_stores_nothing(db, root):
    data = b"x" * 5000
    assert not blobs.save_piecewise("uploads/y/0000000000000000", _Trickle(data, 700), 6000)
    folder = root / "uploads" / "y"
    assert list(folder.iterdir()) == []  # no chunk, no temporary file


def test_new_blobs_of_a_batch_are_created_under_their_name(people, root, monkeypatch):
    org = a_dossier(people).organization
    many = {hashlib.sha256(b"n%d" % n).hexdigest(): b"n%d" % n * 50 for n in range(30)}

    def no_temporary(_folder: str) -> str:
        raise AssertionError("a new blob went through a temporary file")

    monkeypatch.setattr(blobs, "_part_name", no_temporary)
    blobs.put_many(org, many)
    for sha, data in many.items():
        assert (root / blob_path(org, sha)).read_bytes() == data


def test_what_a_crash_left_under_a_name_is_replaced(people, root):
    """A process killed while it wrote a blob straight under its name left part of it
    there, without a row: the next writer of that blob, whichever way, replaces it."""
    org = a_dossier(people).organization
    data = {kind: b"%s complete bytes" % kind.encode() for kind in ("many", "bytes", "stream")}
    shas = {kind: hashlib.sha256(value).hexdigest() for kind, value in data.items()}
    for kind, sha in shas.items():
        path = root / blob_path(org, sha)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data[kind][:5])  # the part a crash left
    blobs.put_many(org, {shas["many"]: data["many"]})
    blobs.put_bytes(org, shas["bytes"], data["bytes"])
    blobs.put_stream(org, shas["stream"], io.BytesIO(data["stream"]))
    for kind, sha in shas.items():
        assert (root / blob_path(org, sha)).read_bytes() == data[kind], kind
    assert list(root.rglob(".part-*")) == []


def test_a_whole_file_already_under_its_name_is_kept(people, root):
    org = a_dossier(people).organization
    data = b"the same bytes"
    sha = hashlib.sha256(data).hexdigest()
    path = root / blob_path(org, sha)
    blobs.put_bytes(org, sha, data)
    before = path.stat().st_ino
    blobs.put_bytes(org, sha, data)
    blobs.put_stream(org, sha, io.BytesIO(data))
    assert path.stat().st_ino == before and path.read_bytes() == data
