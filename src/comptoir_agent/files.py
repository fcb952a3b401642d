"""Writing into the data folder without ever leaving a half-written file or deleting one.

Every write is a temp file beside the target, fsync, os.replace. Nothing the
agent replaces or removes is deleted: it goes to `<data>/.comptoir/trash/<date>/`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Sequence
from datetime import date
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

StrPath = str | os.PathLike[str]
TEMP_PREFIX = ".comptoir-tmp-"
_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
COPY_BUFFER = 1024 * 1024


def year_folders(root: Path) -> list[tuple[str, Path]]:
    """(name, folder) of the `<year>/` folders of a data folder (four digits), sorted."""
    with os.scandir(root) as years:
        return sorted(
            (e.name, Path(e.path))
            for e in years
            if e.is_dir(follow_symlinks=False) and e.name.isdigit() and len(e.name) == 4
        )


def sweep_staged_folders(root: Path) -> None:
    """Remove the folders of new dossiers that a pass staged (`<year>/.comptoir-tmp-<name>/`)
    and never put in place.

    Such a folder holds only copies of the hub's files, written before the one rename
    that puts the dossier in place: a pass cut in between leaves it. The next fetch of
    that dossier starts it afresh, but a dossier not fetched again (deleted on the
    cloud, excluded by the options) would leave it for good. Called by a pass that
    holds the data folder's lock, once its own writes are in place or discarded.
    """
    try:
        years = year_folders(root)
    except OSError:
        return
    for _name, year in years:
        try:
            with os.scandir(year) as entries:
                stale = [
                    e.path
                    for e in entries
                    if e.name.startswith(TEMP_PREFIX) and e.is_dir(follow_symlinks=False)
                ]
        except OSError:
            continue
        for path in stale:
            shutil.rmtree(path, ignore_errors=True)


def stage_bytes(tmp: Path, data: bytes, durable: bool = True) -> None:
    """Write `tmp` (to be os.replace'd onto its target); fsync it unless told not to
    (the caller then fsyncs many files at once with `fsync_all`)."""
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _BINARY, 0o666)
    try:
        view = memoryview(data)
        while view:  # thousands of small files: no Python file object for each
            view = view[os.write(fd, view) :]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


def write_new(path: str, data: bytes) -> os.stat_result:
    """Create `path` (which must not exist) with `data`, not fsynced; its stat as written
    (the caller stages a whole new folder and fsyncs it with `fsync_all`)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if os.name != "nt":
            return os.fstat(fd)
    finally:
        os.close(fd)
    return os.stat(path)  # Windows may set the times as the file is closed


def read_whole(path: str | os.PathLike[str]) -> bytes:
    """A file's bytes, with os.open/os.read: for thousands of small files, no buffered
    file object to build and one read of the size fstat gives."""
    fd = os.open(path, os.O_RDONLY | _BINARY)
    try:
        size = os.fstat(fd).st_size
        parts = []
        while True:
            part = os.read(fd, max(size, 65536))
            if not part:
                break
            parts.append(part)
            size -= len(part)
            if size <= 0 and len(parts) == 1:  # the usual case: read whole at once
                break
    except OSError as exc:
        if exc.filename is None:  # name the file, as open() does
            raise OSError(exc.errno, exc.strerror, os.fspath(path)) from exc
        raise
    finally:
        os.close(fd)
    return parts[0] if len(parts) == 1 else b"".join(parts)  # b"" when empty


def stage_copy(source: Path, tmp: Path, durable: bool = True) -> None:
    """Copy `source` to `tmp` (see `stage_bytes`)."""
    with open(source, "rb") as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst, COPY_BUFFER)
        if durable:
            dst.flush()
            os.fsync(dst.fileno())


def _fsync_path(path: StrPath, directory: bool) -> None:
    if directory:
        sync_dir(path)
        return
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


SYNCFS_FROM = 32  # from that many paths, one syncfs per file system beats an fsync each


def _syncfs(paths: Sequence[StrPath], directories: bool) -> bool:
    """Linux: flush each file system holding `paths` with one syncfs(2) call, which
    makes every file written there durable, as an fsync of each would. False when the
    call is not available (the caller then fsyncs each path)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return False
    by_device: dict[int, StrPath] = {}
    # A folder's files are on its file system: one stat per folder, not per file (a
    # folder itself may be a mount point: each is looked at).
    folders = {path if directories else os.path.dirname(path): path for path in paths}
    for folder, path in folders.items():
        by_device.setdefault(os.stat(folder or ".").st_dev, path)
    for path in by_device.values():
        fd = os.open(path, os.O_RDONLY)
        try:
            if syncfs(fd) != 0:
                return False
        finally:
            os.close(fd)
    return True


def fsync_all(paths: Sequence[StrPath], directories: bool = False, workers: int = 16) -> None:
    """Make many files (or directories) durable: one syncfs per file system for many,
    else an fsync each, concurrently (the file system batches the flushes)."""
    if not paths:
        return
    if len(paths) >= SYNCFS_FROM and _syncfs(paths, directories):
        return
    if len(paths) == 1:
        _fsync_path(paths[0], directories)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(workers, len(paths))) as pool:
        list(pool.map(lambda p: _fsync_path(p, directories), paths))


def json_bytes(doc: dict[str, Any]) -> bytes:
    """`doc` as dossier.json holds it: the text of json.dumps(doc, indent=2,
    ensure_ascii=False) and a newline, in UTF-8.

    json.dumps with an indent runs its pure-Python encoder, several times slower than
    this writer, which uses the C string encoder for each string (a pull writes
    thousands of dossier.json); a test holds the two byte for byte the same.
    """
    parts: list[str] = []
    try:
        _indented(doc, "\n", parts)
    except _Unusual:
        return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    parts.append("\n")
    return "".join(parts).encode("utf-8")


class _Unusual(Exception):
    """A value the short writer leaves to json.dumps (a key that is not a string, a
    type JSON does not know): json.dumps converts it or raises as usual."""


_FLOATS = {float("inf"): "Infinity", float("-inf"): "-Infinity"}


def _indented(value: Any, newline: str, parts: list[str]) -> None:
    if isinstance(value, str):
        parts.append(encode_basestring(value))
    elif value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, int):
        parts.append(int.__repr__(value))
    elif isinstance(value, float):
        parts.append("NaN" if value != value else _FLOATS.get(value) or float.__repr__(value))
    elif isinstance(value, dict):
        if not value:
            parts.append("{}")
            return
        inner = newline + "  "
        parts.append("{")
        first = True
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Unusual
            parts.append(inner if first else "," + inner)
            first = False
            if type(item) is str:  # most values: no call for them
                parts.append(f"{encode_basestring(key)}: {encode_basestring(item)}")
            else:
                parts.append(encode_basestring(key) + ": ")
                _indented(item, inner, parts)
        parts.append(newline + "}")
    elif isinstance(value, list | tuple):
        if not value:
            parts.append("[]")
            return
        inner = newline + "  "
        parts.append("[")
        first = True
        for item in value:
            parts.append(inner if first else "," + inner)
            first = False
            if type(item) is str:
                parts.append(encode_basestring(item))
            else:
                _indented(item, inner, parts)
        parts.append(newline + "]")
    else:
        raise _Unusual


def write_bytes(target: Path, data: bytes) -> None:
    tmp = target.with_name(TEMP_PREFIX + target.name)
    stage_bytes(tmp, data)
    os.replace(tmp, target)


def write_json(target: Path, doc: dict[str, Any]) -> None:
    write_bytes(target, json_bytes(doc))


def sync_dir(folder: StrPath) -> None:
    """fsync a directory so that renames in it survive a power cut (POSIX only)."""
    if sys.platform == "win32":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def free_path(path: Path) -> Path:
    """`path`, or `path (2)`, `path (3)`… whichever does not exist yet."""
    if not path.exists():
        return path
    number = 2
    while True:
        candidate = path.with_name(f"{path.name} ({number})")
        if not candidate.exists():
            return candidate
        number += 1


def trash_dir(trash_root: Path, today: date) -> Path:
    return trash_root / today.isoformat()


def move_to_trash(source: Path, trash_root: Path, rel: str, today: date) -> Path:
    """Move a file or folder to `<trash>/<date>/<rel>`; returns where it went."""
    target = free_path(trash_dir(trash_root, today) / rel)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    return target
