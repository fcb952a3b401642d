"""Blob bytes in the storage, named by their SHA-256 (see models.blob_path).

Local files by default, any Django storage (S3-compatible) by configuration.

On a local file system, a blob counts once its row (`Blob`) is recorded, which
happens after its bytes are written: a name without a row is never read. So
the blobs of a batch, new to the database, are created straight under their
name (never over a file: O_EXCL); a name already there is what a crash or a
concurrent request left, and is replaced through a temporary file and a rename,
as every other write is. A name kept as it is must have the expected size (a
crash leaves a shorter file).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, BinaryIO

from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, default_storage

from comptoir.core.models import Organization
from comptoir.dossiers.models import blob_path

CHUNK = 1024 * 1024


def _local_root() -> str | None:
    storage = default_storage
    if isinstance(storage, FileSystemStorage) or (
        hasattr(storage, "_wrapped") and isinstance(storage._wrapped, FileSystemStorage)
    ):
        return str(storage.location)  # type: ignore[attr-defined]
    return None


_names = itertools.count()


def _part_name(folder: str) -> str:
    """A temporary name no other process or thread uses (cheaper than mkstemp's random
    names, which matters for thousands of small blobs)."""
    return f"{folder}{os.sep}.part-{os.getpid()}-{threading.get_ident()}-{next(_names)}"


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL


def _create(temporary: str, folder: str) -> int:
    """Open a new temporary file in `folder`, making the folder when it is not there
    yet (asked of the system only then: thousands of small blobs go to a few hundred
    folders that exist already)."""
    try:
        return os.open(temporary, _CREATE, 0o600)
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)
    except FileExistsError:  # left by a crashed process that had the same pid
        os.unlink(temporary)
    return os.open(temporary, _CREATE, 0o600)


def _write_local(
    root: str,
    name: str,
    chunks: Iterator[bytes | memoryview],
    check: Callable[[], bool] | None = None,
    keep_size: int | None = None,
) -> bool:
    """Write `name` under `root` through a temporary file beside it and a rename.

    With `keep_size`, a file already there with that many bytes is kept as it is (its
    content is its name; a shorter one is what a crash left). With `check`, the bytes
    are always read and the rename happens only when `check()` says yes once they are
    written; False then, and nothing is left behind.
    """
    final = os.path.join(root, name)
    if check is None and keep_size is not None and _size(final) == keep_size:
        return True
    folder = os.path.dirname(final)
    temporary = _part_name(folder)
    handle = _create(temporary, folder)
    try:
        try:
            for chunk in chunks:  # os.write: no file object for each of thousands of blobs
                view = memoryview(chunk)
                while view:
                    view = view[os.write(handle, view) :]
        finally:
            os.close(handle)
        if check is not None and not check():
            os.unlink(temporary)
            return False
        os.replace(temporary, final)
        return True
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return None


def _create_new(root: str, name: str, data: bytes | memoryview) -> bool:
    """Create `name` under `root` with `data`, only if no file has that name (False
    then, nothing written). A write that fails leaves its part under the name: another
    request may have replaced it meanwhile, and a name without its row is not read."""
    final = os.path.join(root, name)
    try:
        handle = os.open(final, _CREATE, 0o600)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(final), exist_ok=True)
        try:
            handle = os.open(final, _CREATE, 0o600)
        except FileExistsError:
            return False
    except FileExistsError:
        return False
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(handle, view) :]
    finally:
        os.close(handle)
    return True


def exists(org: Organization, sha256: str) -> bool:
    return bool(default_storage.exists(blob_path(org, sha256)))


def put_bytes(org: Organization, sha256: str, data: bytes | memoryview) -> str:
    name = blob_path(org, sha256)
    root = _local_root()
    if root is not None:
        _write_local(root, name, iter((data,)), keep_size=len(data))
    elif not default_storage.exists(name):
        default_storage.save(name, ContentFile(bytes(data)))
    return name


def put_many(org: Organization, blobs: Mapping[str, bytes | memoryview]) -> None:
    """Store several blobs (sha256: bytes) the database does not have, each as
    `put_bytes` would; on local files each created straight under its name, without
    first looking for it (a stat, a temporary name and a rename per blob were half of
    writing thousands of small ones): see the module's docstring."""
    root = _local_root()
    if root is None:
        for sha256, data in blobs.items():
            put_bytes(org, sha256, data)
        return
    for sha256, data in blobs.items():
        name = blob_path(org, sha256)
        if not _create_new(root, name, data):  # left by a crash, or being written
            _write_local(root, name, iter((data,)))


def put_checked(org: Organization, sha256: str, chunks: Iterator[bytes]) -> bool:
    """Store the bytes of `chunks` as blob `sha256` only if they hash to it.

    On local files the bytes are written once, hashed on the way, to a temporary file
    beside the final name that is renamed only when the hash matches. Elsewhere they
    go through a local temporary file first (a storage cannot take back a save).
    Returns False, storing nothing, when the hash differs.
    """
    hasher = hashlib.sha256()

    def hashed() -> Iterator[bytes]:
        for chunk in chunks:
            hasher.update(chunk)
            yield chunk

    root = _local_root()
    if root is None:
        with tempfile.TemporaryFile() as spool:
            for chunk in hashed():
                spool.write(chunk)
            if hasher.hexdigest() != sha256:
                return False
            put_stream(org, sha256, spool)
        return True
    return _write_local(
        root, blob_path(org, sha256), hashed(), check=lambda: hasher.hexdigest() == sha256
    )


def save_piecewise(name: str, stream: BinaryIO, length: int) -> bool:
    """Store the next `length` bytes of `stream` under `name`, replacing what is there.

    On local files they are read by pieces of CHUNK and written as they come: a 16 MiB
    request body is never held (and copied) whole. False, storing nothing, when the
    stream ends before `length` bytes.
    """
    root = _local_root()
    if root is None:
        data = stream.read(length)
        if len(data) != length:
            return False
        if default_storage.exists(name):
            default_storage.delete(name)
        default_storage.save(name, ContentFile(data))
        return True
    got = 0

    def pieces() -> Iterator[bytes]:
        nonlocal got
        while got < length:
            piece = stream.read(min(CHUNK, length - got))
            if not piece:
                return
            got += len(piece)
            yield piece

    return _write_local(root, name, pieces(), check=lambda: got == length)


def part_path(name: str) -> str | None:
    """Where an upload's bytes gather in one file, on local files (None elsewhere: the
    chunks are then kept as storage objects and put together at the end)."""
    root = _local_root()
    return None if root is None else os.path.join(root, name)


class PartFile:
    """An upload's part file, held under an exclusive lock (across processes, where the
    system has flock) while a chunk is checked, written and counted.

    A chunk goes straight to its offset, written once. The process that writes every
    chunk of an upload in turn (a station sends them in order on one connection)
    hashes them on the way: the last chunk then needs no second reading of the file.
    """

    def __init__(self, path: str, create: bool) -> None:
        """`create`: the upload's first chunk (FileNotFoundError otherwise when the file
        is gone: the upload ended meanwhile)."""
        self.path = path
        # Threads of this process first (flock may not tell them apart, on NFS), then
        # other processes.
        self._thread_lock = _thread_lock(path)
        if not self._thread_lock.acquire(timeout=PART_WAIT):
            raise PartBusy
        try:
            flags = os.O_RDWR | getattr(os, "O_BINARY", 0)
            if create:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                flags |= os.O_CREAT
            self.handle = os.open(path, flags, 0o600)
            try:
                self.locked = _lock(self.handle)
            except BaseException:
                os.close(self.handle)
                raise
        except BaseException:
            self._thread_lock.release()
            raise
        self._hasher: Any = None
        self._end = 0

    def __enter__(self) -> PartFile:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            os.close(self.handle)  # (and the file lock with it)
        finally:
            self._thread_lock.release()

    def write(self, offset: int, stream: BinaryIO, length: int) -> bool:
        """Write the next `length` bytes of `stream` at `offset`, by pieces of CHUNK.
        False when the stream ends before: the file keeps only the bytes before
        `offset`."""
        hasher = _running_from(self.path, offset) if self.locked else None
        got = 0
        for piece in _pieces(stream, length):
            if not piece:
                os.ftruncate(self.handle, offset)
                _forget_running(self.path)
                return False
            if hasher is not None:
                hasher.update(piece)
            view = memoryview(piece)
            while view:
                written = _pwrite(self.handle, view, offset + got)
                got += written
                view = view[written:]
        self._hasher, self._end = hasher, offset + length
        return True

    def counted(self) -> None:
        """The chunk is the upload's now (its offset moved): keep hashing from there."""
        if self._hasher is not None:
            _keep_running(self.path, self._end, self._hasher)

    def digest(self, size: int) -> str | None:
        """The SHA-256 of the whole file when this process hashed all `size` bytes."""
        _forget_running(self.path)
        if self._hasher is None or self._end != size:
            return None
        return str(self._hasher.hexdigest())


class PartBusy(Exception):
    """Another request held the part file for longer than PART_WAIT seconds."""


PART_WAIT = 20.0


def _lock(handle: int) -> bool:
    """Take the part file's lock (False: the system has no flock). A request stuck on
    a dead connection must not hold the next one for ever: PartBusy after PART_WAIT."""
    try:
        import fcntl
    except ImportError:  # (no flock: chunks are written as they come, hashed at the end)
        return False
    deadline = time.monotonic() + PART_WAIT
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise PartBusy from None
            time.sleep(0.01)
        except OSError:  # no lock on this file system (NFS without lockd): no running hash
            return False


_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


def _thread_lock(path: str) -> threading.Lock:
    with _thread_locks_guard:
        if len(_thread_locks) > 4 * RUNNING_MAX:  # drop the ones no thread holds
            for key in [k for k, held in _thread_locks.items() if not held.locked()]:
                del _thread_locks[key]
        return _thread_locks.setdefault(path, threading.Lock())


RUNNING_MAX = 64  # uploads whose running hash a process keeps (the oldest go first)
_running: OrderedDict[str, tuple[int, Any]] = OrderedDict()
_running_guard = threading.Lock()


def _running_from(path: str, offset: int) -> Any:
    """A hash of the part file's bytes before `offset`, if this process has one."""
    with _running_guard:
        if offset == 0:
            _running.pop(path, None)
            return hashlib.sha256()
        entry = _running.get(path)
        if entry is None or entry[0] != offset:
            _running.pop(path, None)
            return None
        return entry[1].copy()


def _keep_running(path: str, end: int, hasher: Any) -> None:
    with _running_guard:
        _running[path] = (end, hasher)
        _running.move_to_end(path)
        while len(_running) > RUNNING_MAX:
            _running.popitem(last=False)


def _forget_running(path: str) -> None:
    with _running_guard:
        _running.pop(path, None)


def _fill(readinto: Callable[[memoryview], int], view: memoryview) -> int:
    """Read into `view` until it is full or the stream ends; how many bytes came."""
    filled = 0
    while filled < len(view) and (count := readinto(view[filled:])):
        filled += count
    return filled


# A batch's body is read into one buffer. A new buffer of megabytes costs its pages, faulted
# in and zeroed, at each request: the process keeps a few of the size of the agent's batches
# (8 MiB and a header) for the next ones.
SCRATCH_SIZE = 9 * 1024 * 1024
SCRATCH_KEPT = 2
_scratch: list[bytearray] = []
_scratch_guard = threading.Lock()


@contextlib.contextmanager
def read_body(stream: Any, length: int) -> Iterator[memoryview]:
    """The next `length` bytes of `stream` (fewer if it ends before), into one buffer when
    the stream can `readinto`. Valid inside the `with` only: the buffer may serve the next
    request then (copy what is kept)."""
    kept = SCRATCH_SIZE // 8 < length <= SCRATCH_SIZE
    if kept:
        with _scratch_guard:
            buffer = _scratch.pop() if _scratch else bytearray(SCRATCH_SIZE)
    else:
        buffer = bytearray(length)
    try:
        with memoryview(buffer) as view:
            readinto = getattr(stream, "readinto", None)
            if readinto is None:
                data = stream.read(length)
                filled = len(data)
                view[:filled] = data
            else:
                filled = _fill(readinto, view[:length])
            with view[:filled] as body:
                yield body
    finally:
        if kept:
            with _scratch_guard:
                if len(_scratch) < SCRATCH_KEPT:
                    _scratch.append(buffer)


def _pieces(stream: Any, length: int) -> Iterator[bytes | memoryview]:
    """The next `length` bytes of `stream` by pieces of up to CHUNK, then an empty piece
    if it ends before. A stream that can `readinto` fills one buffer again and again
    (each piece is valid until the next one is asked for); another one is `read`."""
    readinto = getattr(stream, "readinto", None)
    left = length
    if readinto is None:
        while left > 0:
            piece = stream.read(min(CHUNK, left))
            if not piece:
                yield b""
                return
            left -= len(piece)
            yield piece
        return
    buffer = memoryview(bytearray(min(CHUNK, length)))
    while left > 0:
        want = min(len(buffer), left)
        filled = _fill(readinto, buffer[:want])
        if filled:
            yield buffer[:filled]
        if filled < want:
            yield b""
            return
        left -= filled


def _pwrite(handle: int, data: memoryview, offset: int) -> int:
    if hasattr(os, "pwrite"):
        return os.pwrite(handle, data, offset)
    os.lseek(handle, offset, os.SEEK_SET)  # (a system without pwrite)
    return os.write(handle, data)


def adopt_part(org: Organization, sha256: str, path: str, digest: str | None = None) -> bool:
    """Make the file at `path` blob `sha256` if its bytes hash to it (renamed into place,
    not copied, over any file of that name). False when they do not: the file is
    removed and nothing is stored. `digest`: the file's hash, when it was computed on
    the way in (`PartFile.digest`); read from the file otherwise."""
    if digest is None:
        with open(path, "rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
    if digest != sha256:
        os.unlink(path)
        return False
    root = _local_root()
    assert root is not None
    final = os.path.join(root, blob_path(org, sha256))
    os.makedirs(os.path.dirname(final), exist_ok=True)
    # Over whatever is there: the same bytes, or what a crash left under that name.
    os.replace(path, final)
    return True


def put_stream(org: Organization, sha256: str, stream: BinaryIO) -> str:
    name = blob_path(org, sha256)
    stream.seek(0)
    root = _local_root()
    if root is not None:
        size = stream.seek(0, os.SEEK_END)
        stream.seek(0)
        _write_local(root, name, iter(lambda: stream.read(CHUNK), b""), keep_size=size)
    elif not default_storage.exists(name):
        default_storage.save(name, File(stream))
    stream.seek(0)
    return name


def open_blob(org: Organization, sha256: str) -> BinaryIO:
    return default_storage.open(blob_path(org, sha256), "rb")  # type: ignore[return-value]


def read_many(org: Organization, hashes: list[str]) -> Iterator[bytes]:
    """The bytes of each blob in turn (small ones: each is read whole). On local files they
    are read straight from their path, without a storage File object for each."""
    root = _local_root()
    for sha256 in hashes:
        if root is None:
            with open_blob(org, sha256) as handle:
                yield handle.read()
            continue
        with open(os.path.join(root, blob_path(org, sha256)), "rb", buffering=0) as raw:
            yield raw.readall()


def delete(org: Organization, sha256: str) -> None:
    default_storage.delete(blob_path(org, sha256))
