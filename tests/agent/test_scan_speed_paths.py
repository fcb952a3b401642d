"""The scan's fast paths give the answers of the slow ones: hashing small files in groups
(inline or on threads), and the compiled check of dossier.json before the full validator."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from comptoir_agent import layout
from comptoir_agent.journal import FileHash, Record
from comptoir_agent.layout import FileStat, hash_file, scan
from tests.agent.conftest import make_doc, write_dossier

DOCS = Path(__file__).resolve().parents[2] / "docs" / "sync"
EXAMPLE = json.loads((DOCS / "dossier.example.json").read_text(encoding="utf-8"))
OLD_NS = 1_700_000_000_000_000_000

# hashing ------------------------------------------------------------------------------------


def _job(size: int, name: str = "f") -> tuple[Any, FileStat]:
    return (None, FileStat(name, size, 0))


@pytest.mark.parametrize("listed", [0, 1, 4095, 4096, 4097, 3 * 1024 * 1024, -1])
@pytest.mark.parametrize("actual", [0, 4096, 3 * 1024 * 1024 + 7])
def test_a_file_is_hashed_whole_whatever_size_the_listing_saw(tmp_path, listed, actual):
    """The listed size only sizes the reads: a file grown or shrunk since is read to
    its end, and the bytes kept are exactly those hashed."""
    data = os.urandom(actual)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    sha, size, kept = layout.hash_and_keep(path, 4 * 1024 * 1024, listed)
    assert (sha, size, kept) == (hashlib.sha256(data).hexdigest(), actual, data)
    assert layout.hash_and_keep(path, 0, listed) == (sha, actual, None)


def test_a_small_file_is_read_with_a_buffer_of_its_size(tmp_path, monkeypatch):
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 8192)
    asked: list[int] = []
    real = os.read

    def read(fd: int, count: int) -> bytes:
        asked.append(count)
        return real(fd, count)

    monkeypatch.setattr(layout.os, "read", read)
    layout.hash_and_keep(path, 0, 8192)
    assert asked == [8193, 8193]  # not 1 MiB: the buffer is made at the size asked
    asked.clear()
    layout.hash_and_keep(path, 0)  # size unknown: by the MiB
    assert asked == [layout.HASH_READ_SIZE] * 2


def test_small_files_are_grouped_and_big_ones_alone():
    small = [_job(8 * 1024, f"s{i}") for i in range(150)]
    groups = layout._job_groups(small)
    assert [len(g) for g in groups] == [64, 64, 22]
    mixed = [_job(300_000), _job(300_000), _job(2 * 1024 * 1024), _job(10), _job(600_000)]
    mixed += [_job(600_000)]
    sizes = [[stat.size for _, stat in group] for group in layout._job_groups(mixed)]
    assert sizes == [[300_000, 300_000], [2 * 1024 * 1024], [10, 600_000], [600_000]]
    assert all(sum(g) <= layout.GROUP_BYTES or len(g) == 1 for g in sizes)


def _tree(root: Path, old: bool = True) -> dict[str, bytes]:
    """Three dossiers: many small files, an empty one, one of 1.5 MiB (a group of its own)."""
    contents: dict[str, bytes] = {}
    for number in range(3):
        doc = make_doc(f"2026-0010{number}")
        files = {f"page-{i:03d}.jpg": os.urandom(100 + i) for i in range(70)}
        files["vide.txt"] = b""
        if number == 1:
            files["plan.dwg"] = os.urandom(1536 * 1024)
        folder = write_dossier(root, doc, files)
        for name, data in files.items():
            contents[f"2026/{doc['number']}/{name}"] = data
        if old:
            for path in folder.iterdir():
                os.utime(path, ns=(OLD_NS, OLD_NS))
    return contents


def _summary(result: layout.ScanResult) -> Any:
    return (
        result.hashed_files,
        result.hashed_bytes,
        [(d.path, d.error, d.digest, d.hashes, d.racy) for d in result.dossiers],
    )


@pytest.mark.parametrize("old", [True, False])
def test_threaded_and_inline_hashing_agree(tmp_path, monkeypatch, old):
    contents = _tree(tmp_path, old=old)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)  # threads even on a one-processor runner
    seen: list[list[int]] = []
    results = []
    for workers in (1, 4):
        sizes: list[int] = []
        seen.append(sizes)
        results.append(scan(tmp_path, {}, {}, workers=workers, progress=sizes.append))
    inline, threaded = results
    assert _summary(inline) == _summary(threaded)
    assert sorted(seen[0]) == sorted(seen[1]) == sorted(len(d) for d in contents.values())
    assert inline.hashed_files == len(contents)
    assert inline.hashed_bytes == sum(len(d) for d in contents.values())
    for dossier in threaded.dossiers:
        assert dossier.error is None
        assert dossier.hashes is not None
        for name, known in dossier.hashes.items():
            data = contents[f"{dossier.path}/{name}"]
            assert known.sha256 == hashlib.sha256(data).hexdigest()
            assert known.size == len(data)
            assert known.mtime_ns == (OLD_NS if old else -1)  # racy files: hash again
        assert dossier.racy is not old


def test_an_unreadable_file_marks_its_dossier_only(tmp_path, monkeypatch):
    contents = _tree(tmp_path)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    real = layout.hash_and_keep

    def flaky(path: Any, keep: int, expected: int = -1) -> tuple[str, int, bytes | None]:
        if os.fspath(path).endswith("2026-00101/page-010.jpg"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path, keep, expected)

    monkeypatch.setattr(layout, "hash_and_keep", flaky)
    sizes: list[int] = []
    result = scan(tmp_path, {}, {}, workers=4, progress=sizes.append)
    found = {d.path: d for d in result.dossiers}
    bad = found["2026/2026-00101"]
    assert bad.error is not None
    assert bad.error.startswith("fichier illisible 'page-010.jpg' : [Errno 13] Permission denied")
    assert bad.doc is None and bad.digest is None
    assert bad.hashes is not None and "page-010.jpg" not in bad.hashes
    assert len(bad.hashes) == 72 - 1  # the others of its group were hashed
    assert found["2026/2026-00100"].error is None and found["2026/2026-00102"].error is None
    assert result.hashed_files == len(contents) - 1 == len(sizes)


def test_the_cache_still_spares_the_hashing(tmp_path):
    _tree(tmp_path)
    first = scan(tmp_path, {}, {})
    cache = {d.id: d.hashes for d in first.dossiers if d.id and d.hashes}
    again = scan(tmp_path, {}, cache)
    assert again.hashed_files == 0 and again.hashed_bytes == 0
    assert [d.digest for d in again.dossiers] == [d.digest for d in first.dossiers]


def test_hash_file_reads_everything_and_names_the_file_in_errors(tmp_path):
    path = tmp_path / "gros.bin"
    data = os.urandom(2 * 1024 * 1024 + 123)  # more than two reads
    path.write_bytes(data)
    assert hash_file(path) == (hashlib.sha256(data).hexdigest(), len(data))
    assert hash_file(str(path)) == hash_file(path)
    with pytest.raises(FileNotFoundError) as missing:
        hash_file(tmp_path / "absent.pdf")
    assert missing.value.filename == str(tmp_path / "absent.pdf")
    with pytest.raises(OSError) as folder:
        hash_file(tmp_path)
    assert str(tmp_path) in str(folder.value)


def test_read_dossier_hashes_inline(tmp_path):
    doc = make_doc("2026-00200")
    folder = write_dossier(tmp_path, doc, {"a.pdf": b"a", "b.pdf": b"bb"})
    for path in folder.iterdir():
        os.utime(path, ns=(OLD_NS, OLD_NS))
    dossier = layout.read_dossier(tmp_path, "2026/2026-00200", {})
    assert dossier.error is None and dossier.hashes == {
        "a.pdf": FileHash(1, OLD_NS, hashlib.sha256(b"a").hexdigest()),
        "b.pdf": FileHash(2, OLD_NS, hashlib.sha256(b"bb").hexdigest()),
    }


# the listing feeds the hashing ----------------------------------------------------------------


def _many(root: Path, count: int) -> list[dict[str, Any]]:
    docs = [make_doc(f"2026-{index:05d}") for index in range(1, count + 1)]
    for index, doc in enumerate(docs):
        folder = write_dossier(
            root, doc, {f"photo-{n}.jpg": bytes([index, n]) * 500 for n in range(3)}
        )
        for path in folder.iterdir():
            os.utime(path, ns=(OLD_NS, OLD_NS))
    return docs


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of folders listed so far, in a list (one item) the test reads; each
    listing takes a few milliseconds (the hashing threads have the time to run, however
    loaded the machine)."""
    listed = [0]
    real = layout.list_folder
    monkeypatch.setattr(layout, "FLUSH_FOLDERS", 8)

    def counted(folder: Path) -> Any:
        listed[0] += 1
        time.sleep(0.005)
        return real(folder)

    monkeypatch.setattr(layout, "list_folder", counted)
    return listed


def test_the_first_dossiers_are_handed_over_before_the_last_folders_are_listed(
    tmp_path, monkeypatch
):
    docs = _many(tmp_path, 40)
    listed = _counting(monkeypatch)
    when: list[int] = []
    handed: list[str] = []

    def ready(dossier: layout.LocalDossier, contents: dict[str, bytes]) -> None:
        when.append(listed[0])
        handed.append(dossier.path)
        assert sorted(contents) == sorted(f["sha256"] for f in dossier.doc["files"])  # type: ignore[index]

    streamed = scan(tmp_path, {}, {}, on_ready=ready)
    assert handed == sorted(f"2026/{doc['number']}" for doc in docs)  # all, in order
    assert when[0] < 40  # the first went while the listing went on
    monkeypatch.undo()
    assert _summary(streamed) == _summary(scan(tmp_path, {}, {}))  # what a plain scan finds


def test_a_few_changed_dossiers_among_many_are_handed_over_as_the_listing_finds_them(
    tmp_path, monkeypatch
):
    """A hashing task waits for at most FLUSH_FOLDERS listed folders: a dossier changed
    among thousands of unchanged ones does not wait for the end of the listing."""
    docs = _many(tmp_path, 40)
    first = scan(tmp_path, {}, {})
    records = {
        d.id: Record(d.id, d.path, local_signature=d.signature, local_digest=d.digest)
        for d in first.dossiers
        if d.id
    }
    cache = {d.id: d.hashes for d in first.dossiers if d.id and d.hashes}
    changed = write_dossier(tmp_path, docs[4], {"photo-0.jpg": b"retouched"})
    os.utime(changed / "photo-0.jpg", ns=(OLD_NS + 1, OLD_NS + 1))
    listed = _counting(monkeypatch)
    when: list[int] = []

    def ready(dossier: layout.LocalDossier, contents: dict[str, bytes]) -> None:
        when.append(listed[0])
        assert list(contents) == [hashlib.sha256(b"retouched").hexdigest()]

    result = scan(tmp_path, records, cache, on_ready=ready)
    assert result.hashed_files == 1  # the other files: the cache vouched for them
    assert len(when) == 1 and when[0] <= 5 + 2 * 8  # not at the end (40)
