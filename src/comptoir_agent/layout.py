"""The local tree: `<data>/<year>/<number>/dossier.json` plus the dossier's files.

`scan()` walks it with os.scandir, reuses the journal's work when nothing
moved (a folder whose stat signature is unchanged is not even read; a file
whose size and mtime are unchanged is not hashed) and hashes the rest on a
thread pool (at most one thread per processor), streaming 1 MiB at a time.
Small files go to the pool in groups (up to 1 MiB or 64 files per task: one
task per 8 KiB file spent more on the pool than on hashing), and a single
group is hashed inline. Sub-folders, symbolic links and a few well-known
temporary files are not synced.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from comptoir_agent.files import TEMP_PREFIX, year_folders
from comptoir_agent.journal import FileHash, Record
from comptoir_agent.protocol import (
    HASH_READ_SIZE,
    MAX_BATCH_BLOB,
    canonical_json,
    digest_of_canonical,
    lone_surrogate,
    with_entries,
)
from comptoir_agent.schema import validate_dossier

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

DOSSIER_FILE = "dossier.json"
IGNORED_NAMES = frozenset({"Thumbs.db", "desktop.ini", ".DS_Store"})
IGNORED_PREFIXES = (TEMP_PREFIX, "~$", ".~lock.")
# A file modified this close to the scan may change again within the same mtime tick:
# its hash is not trusted next time (git's "racily clean" rule).
RACY_NS = 2_000_000_000
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
# One hashing task takes files until it holds this many bytes or files.
GROUP_BYTES = 1024 * 1024
GROUP_FILES = 64
# Folders listed without finding enough files to fill a hashing task: the task starts
# with what it has (a few changed dossiers in thousands are hashed, and sent, early).
FLUSH_FOLDERS = 64
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)
_SCAN_BY_FD = os.scandir in os.supports_fd
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a synced file name, or None when it can."""
    if not name:
        return "nom vide"
    if name in {".", ".."}:
        return f"nom réservé {name!r}"
    if "/" in name or "\\" in name:
        return f"{name!r} contient un séparateur de chemin"
    if CONTROL_CHARS.search(name):
        return f"{name!r} contient un caractère de contrôle"
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:  # bytes the system could not read as UTF-8 (see `printable`)
        return f"{printable(name)!r} n'est pas un nom en UTF-8 (octets illisibles)"
    if size > 255:
        return f"{name[:40]!r}… dépasse 255 octets"
    return None


def printable(name: str) -> str:
    """A name read from the disk as text, whatever its bytes: Python gives the bytes that
    are not UTF-8 (a name from an old archive, in Latin-1) as half characters, which no
    journal, message or request can carry; they are shown as U+FFFD here."""
    return os.fsencode(name).decode("utf-8", "replace")


def dossier_dir_problem(year: Any, number: Any) -> str | None:
    """Why `<year>/<number>` cannot be a local folder name."""
    if not isinstance(year, int) or isinstance(year, bool):
        return "année invalide"
    if not isinstance(number, str):
        return "numéro invalide"
    problem = name_problem(number)
    return f"numéro de dossier : {problem}" if problem else None


def is_ignored(name: str) -> bool:
    return name == DOSSIER_FILE or name in IGNORED_NAMES or name.startswith(IGNORED_PREFIXES)


def hash_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """SHA-256 and size of a file, read 1 MiB at a time.

    With os.open/os.read rather than open(): no buffered file object to build, and
    fewer system calls for a small file, which is most of the cost of hashing one.
    """
    sha, size, _ = hash_and_keep(path, 0)
    return sha, size


def hash_and_keep(
    path: str | os.PathLike[str], keep: int, expected: int = -1
) -> tuple[str, int, bytes | None]:
    """`hash_file`, and the bytes hashed when the file holds at most `keep` bytes (None
    otherwise): exactly what the hash vouches for, whatever happens to the file next.

    `expected`, the size the listing saw, sizes the reads: a read asks for one byte
    more than that (up to 1 MiB), not for 1 MiB. os.read makes a buffer of the size
    asked for, and one of 1 MiB for a file of 8 KiB cost more than the rest of reading
    it (tree A, 10,000 files: 0.24 s against 0.06 s). The file is still read to its
    end, whatever its size now.
    """
    digest = hashlib.sha256()
    size = 0
    kept: list[bytes] | None = [] if keep > 0 else None
    step = HASH_READ_SIZE if expected < 0 else min(HASH_READ_SIZE, expected + 1)
    fd = os.open(path, _READ_FLAGS)
    try:
        while chunk := os.read(fd, step):
            digest.update(chunk)
            size += len(chunk)
            if kept is not None:
                kept.append(chunk)
                if size > keep:
                    kept = None
    except OSError as exc:
        if exc.filename is None:  # name the file, as open() does
            raise OSError(exc.errno, exc.strerror, os.fspath(path)) from exc
        raise
    finally:
        os.close(fd)
    data = None if kept is None else kept[0] if len(kept) == 1 else b"".join(kept)
    return digest.hexdigest(), size, data


class FileStat(NamedTuple):  # a tuple: made for each of thousands of files per scan
    name: str
    size: int
    mtime_ns: int


@dataclass
class LocalDossier:
    """One dossier folder as the scan saw it."""

    path: str  # relative, with "/": "2026/2026-00042"
    signature: str
    id: str | None = None
    number: str | None = None
    year: int | None = None
    created_at: str | None = None
    digest: str | None = None
    error: str | None = None
    doc: dict[str, Any] | None = None  # the synced document, when it was read
    canonical: bytes | None = None  # its canonical JSON (`protocol.canonical_json`)
    hashes: dict[str, FileHash] | None = None  # fresh hashes, when they were computed
    racy: bool = False


@dataclass
class ScanResult:
    dossiers: list[LocalDossier] = field(default_factory=list)
    hashed_files: int = 0
    hashed_bytes: int = 0


@dataclass
class _Pending:
    dossier: LocalDossier
    raw: bytes
    stats: list[FileStat]
    folder: Path
    cache: Mapping[str, FileHash] = field(default_factory=dict)
    parsed: Any = None
    parse_error: str | None = None
    built: bool = False
    contents: dict[str, bytes] = field(default_factory=dict)  # sha256 → bytes (see `Ready`)

    def parse(self) -> None:
        try:
            self.parsed = json.loads(self.raw, parse_constant=_not_a_number)
        except _NotANumber as exc:  # Python reads it, no JSON holds it (the hub refuses it)
            self.parse_error = (
                f"dossier.json n'est pas du JSON valide : {exc.args[0]} n'est pas un nombre"
            )
            return
        except (ValueError, UnicodeDecodeError) as exc:
            self.parse_error = f"dossier.json n'est pas du JSON valide : {exc}"
            return
        except RecursionError:  # "[[[[…" nested beyond what the parser follows
            self.parse_error = "dossier.json n'est pas du JSON valide : trop imbriqué"
            return
        where = lone_surrogate(self.raw, self.parsed)
        if where is not None:
            self.parse_error = (
                f"dossier.json : texte invalide dans {where} "
                "(une moitié de caractère isolée, pas de l'Unicode)"
            )


class _NotANumber(ValueError):
    pass


def _not_a_number(constant: str) -> Any:
    raise _NotANumber(constant)  # NaN, Infinity, -Infinity


def signature_of(json_stat: os.stat_result, stats: list[FileStat]) -> str:
    parts = [f"{json_stat.st_size}:{json_stat.st_mtime_ns}"]
    parts.extend(f"{s.name}\0{s.size}:{s.mtime_ns}" for s in stats)
    return hashlib.sha1("\n".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest()


def list_folder(folder: Path) -> tuple[os.stat_result | None, list[FileStat], list[str]]:
    """dossier.json's stat (None if absent), the synced files' stats, the refused names."""
    json_stat: os.stat_result | None = None
    stats: list[FileStat] = []
    refused: list[str] = []
    # Listed through a descriptor where the system allows it: each entry's stat is then
    # relative to the folder (fstatat), not a walk of the whole path again.
    handle: Any = os.open(folder, _DIR_FLAGS) if _SCAN_BY_FD else folder
    try:
        with os.scandir(handle) as entries:
            for entry in entries:
                if not entry.is_file(follow_symlinks=False):
                    continue
                kind = _kind_of(entry.name)
                if kind is _SYNCED:
                    st = entry.stat(follow_symlinks=False)
                    stats.append(FileStat(entry.name, st.st_size, st.st_mtime_ns))
                elif kind is _JSON:
                    json_stat = entry.stat(follow_symlinks=False)
                elif kind is not _IGNORED:
                    refused.append(kind)
    finally:
        if _SCAN_BY_FD:
            os.close(handle)
    stats.sort()  # by name: names are unique in a folder
    return json_stat, stats, refused


_SYNCED, _JSON, _IGNORED = "synced", "json", "ignored"


@functools.lru_cache(maxsize=8192)
def _kind_of(name: str) -> str:
    """What `list_folder` does with a file name: _SYNCED, _JSON, _IGNORED, or why it is
    refused. Cached: the same names come back in folder after folder."""
    if name == DOSSIER_FILE:
        return _JSON
    if is_ignored(name):
        return _IGNORED
    return name_problem(name) or _SYNCED


def dossier_folders(root: Path) -> list[tuple[str, Path]]:
    """(relative path, folder) of every `<year>/<name>/` folder, sorted."""
    found: list[tuple[str, Path]] = []
    for year_name, year_dir in year_folders(root):
        with os.scandir(year_dir) as entries:
            names = sorted(
                e.name
                for e in entries
                if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")
            )
        found.extend((f"{year_name}/{name}", year_dir / name) for name in names)
    return found


# Told of each dossier read from disk as soon as it is built, with the bytes of its small
# files (sha256 → bytes, files of at most MAX_BATCH_BLOB) read while hashing them.
Ready = Callable[[LocalDossier, dict[str, bytes]], None]


def scan(
    root: Path,
    records: Mapping[str, Record],
    hash_cache: Mapping[str, Mapping[str, FileHash]],
    workers: int = 4,
    progress: Callable[[int], None] | None = None,
    on_ready: Ready | None = None,
    on_found: Callable[[], None] | None = None,
) -> ScanResult:
    """Scan every dossier folder of `root` (see the module docstring).

    With `on_ready`, each dossier whose folder had to be read is handed over as soon as
    its files are hashed, while the scan goes on (the engine sends their files early).
    `on_found` is called once, as soon as a folder holds a dossier.json.
    """
    started_ns = time.time_ns()
    by_path = {r.path: r for r in records.values() if r.path}
    result = ScanResult()

    def listed() -> Iterator[_Pending | None]:
        """The folders to read, as the listing finds them (None: FLUSH_FOLDERS folders
        went by, the hashing should not wait for more to start a task)."""
        found = on_found
        since_flush = 0
        for rel, folder in dossier_folders(root):
            since_flush += 1
            if since_flush >= FLUSH_FOLDERS:
                since_flush = 0
                yield None
            if printable(rel) != rel:  # its name is no UTF-8: nothing can name it
                problem = "nom de dossier illisible (pas en UTF-8) : renommez le dossier"
                result.dossiers.append(LocalDossier(printable(rel), "", error=problem))
                continue
            try:
                json_stat, stats, refused = list_folder(folder)
            except OSError as exc:
                result.dossiers.append(LocalDossier(rel, "", error=f"dossier illisible : {exc}"))
                continue
            if json_stat is None:
                continue  # not a dossier (or one whose first download was interrupted)
            if found is not None:
                found()
                found = None
            signature = signature_of(json_stat, stats)
            racy = json_stat.st_mtime_ns >= started_ns - RACY_NS or any(
                s.mtime_ns >= started_ns - RACY_NS for s in stats
            )
            known = by_path.get(rel)
            if refused:
                refusal = "nom de fichier refusé : " + refused[0]
                dossier = LocalDossier(rel, signature, error=refusal)
                _read_identity(folder, dossier)
                result.dossiers.append(dossier)
                continue
            if known and known.local_signature == signature and known.local_digest:
                result.dossiers.append(
                    LocalDossier(
                        rel,
                        signature,
                        id=known.id,
                        number=known.number,
                        year=known.year,
                        created_at=known.created_at,
                        digest=known.local_digest,
                    )
                )
                continue
            dossier = LocalDossier(rel, signature, racy=racy)
            try:
                raw = (folder / DOSSIER_FILE).read_bytes()
            except OSError as exc:
                dossier.error = f"dossier.json illisible : {exc}"
                result.dossiers.append(dossier)
                continue
            item = _Pending(dossier, raw, stats, folder)
            item.parse()
            ident = item.parsed.get("id") if isinstance(item.parsed, dict) else None
            if isinstance(ident, str):
                item.cache = hash_cache.get(ident, {})
            yield item

    # The listing goes on while the files found so far are hashed: the first dossiers
    # are handed over (and their files sent) before the last folders are listed.
    pending = _hash_pending(listed(), result, started_ns, workers, progress, on_ready)
    for item in pending:
        _build(item)
        result.dossiers.append(item.dossier)
    result.dossiers.sort(key=lambda d: d.path)
    return result


def _read_identity(folder: Path, dossier: LocalDossier) -> None:
    """Best effort: the id and number of a dossier that will not be synced."""
    try:
        doc = json.loads((folder / DOSSIER_FILE).read_bytes())
    except (OSError, ValueError, RecursionError):
        return
    if isinstance(doc, dict):
        _take_identity(doc, dossier)


def _take_identity(doc: dict[str, Any], dossier: LocalDossier) -> None:
    ident, number, year = doc.get("id"), doc.get("number"), doc.get("year")
    created = doc.get("created_at")
    dossier.id = ident if isinstance(ident, str) and ident else None
    dossier.number = number if isinstance(number, str) else None
    dossier.year = year if isinstance(year, int) and not isinstance(year, bool) else None
    dossier.created_at = created if isinstance(created, str) else None


def _hash_pending(
    pending: Iterable[_Pending | None],
    result: ScanResult,
    started_ns: int,
    workers: int,
    progress: Callable[[int], None] | None,
    on_ready: Ready | None = None,
) -> list[_Pending]:
    """Fill each pending dossier's `hashes`, hashing only files the cache cannot vouch for;
    returns the pending dossiers, in order.

    `pending` is read as the hashing goes (None in it: start a task with the files found
    so far). With `on_ready`, the dossiers are built and handed over in order, each as
    soon as its last file is hashed; at most HASH_WINDOW groups are read ahead of the
    hand-over, so the bytes kept for it stay bounded however big the tree.
    """
    items: list[_Pending] = []
    left: dict[int, int] = {}  # id(item) → its files still to hash
    handed = 0  # items[:handed] were handed over

    def jobs() -> Iterator[_Job | None]:
        for item in pending:
            if item is None:
                yield None
                continue
            items.append(item)
            item.dossier.hashes = {}
            todo = []
            for stat in item.stats:
                known = item.cache.get(stat.name)
                if known and known.size == stat.size and known.mtime_ns == stat.mtime_ns:
                    item.dossier.hashes[stat.name] = known
                else:
                    todo.append(stat)
            left[id(item)] = len(todo)  # all counted before any of them is hashed
            for stat in todo:
                yield item, stat

    def hand_over() -> None:
        nonlocal handed
        while on_ready is not None and handed < len(items):
            item = items[handed]
            if left[id(item)]:
                return
            _build(item)
            contents, item.contents = item.contents, {}
            on_ready(item.dossier, contents)
            handed += 1

    submitted: deque[list[_Job]] = deque()

    def path_lists() -> Iterator[tuple[list[tuple[str, int]], bool] | None]:
        for group in _grouped(jobs()):
            if not group:
                yield None  # nothing to start: take what is hashed
                continue
            submitted.append(group)
            threaded = sum(stat.size for _item, stat in group) >= THREADED_BYTES * len(group)
            # The workers get plain paths (building them there measured slower) and the
            # sizes listed, which size the reads.
            files = [(os.path.join(item.folder, stat.name), stat.size) for item, stat in group]
            yield files, threaded

    paths = path_lists()
    first = next((each for each in paths if each is not None), None)
    if first is None:  # nothing to hash: no thread
        hand_over()
        return items
    keep = MAX_BATCH_BLOB if on_ready is not None else 0
    # More threads than processors only fight over the interpreter lock.
    threads = min(max(1, workers), os.cpu_count() or 1)
    with _Pool(threads) as pool:
        work = functools.partial(_hash_group, keep=keep)
        for done in _ahead(pool, work, itertools.chain([first], paths), threads):
            group = submitted.popleft()
            for (item, stat), (sha, problem, data) in zip(group, done, strict=True):
                left[id(item)] -= 1
                hashes = item.dossier.hashes
                assert hashes is not None
                if sha is None and problem == CHANGING:
                    item.dossier.error = (
                        f"fichier {stat.name!r} en cours d'écriture pendant la lecture : "
                        "il sera relu au prochain passage"
                    )
                    continue
                if sha is None:
                    item.dossier.error = f"fichier illisible {stat.name!r} : {problem}"
                    continue
                # A file modified just before the scan could change again unseen: hash it
                # next time.
                mtime = -1 if stat.mtime_ns >= started_ns - RACY_NS else stat.mtime_ns
                hashes[stat.name] = FileHash(stat.size, mtime, sha)
                if data is not None:
                    item.contents[sha] = data
                result.hashed_files += 1
                result.hashed_bytes += stat.size
                if progress:
                    progress(stat.size)
            hand_over()
    hand_over()
    return items


# Hashing tasks (groups of about 1 MiB) queued ahead of the one being taken, per thread.
HASH_WINDOW = 4
# A task whose files average at least this many bytes is hashed on a thread of the pool;
# smaller ones right away on the scan's thread. Hashing a small file is mostly system
# calls, each of which lets go of the interpreter lock: on threads, the scan and the
# hashing spent more time handing the lock over than working (tree A, 10,000 files of
# 8 KiB: the scan alone took twice the processor time and twice as long as on its own
# thread; a whole first pass, 15 % less processor time). A big file is read by the MiB,
# few hand-overs: threads hash big files in parallel (tree B: half the scan's time).
THREADED_BYTES = 256 * 1024
T = TypeVar("T")
R = TypeVar("R")


class _Pool:
    """A thread pool made only when a first task needs it (most scans never do)."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.executor: ThreadPoolExecutor | None = None

    def submit(self, work: Callable[[T], R], job: T) -> Future[R]:
        if self.executor is None:
            from concurrent.futures import ThreadPoolExecutor

            self.executor = ThreadPoolExecutor(max_workers=self.threads)
        future: Future[R] = self.executor.submit(work, job)
        return future

    def __enter__(self) -> _Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)


def _ahead(
    pool: _Pool, work: Callable[[T], R], jobs: Iterable[tuple[T, bool] | None], threads: int
) -> Iterator[R]:
    """`work(job)` for each (job, threaded), in order: on `pool` when `threaded` and
    there are several threads, else at once on this thread. At most HASH_WINDOW x
    threads jobs are started ahead of the result being taken. The jobs may be slow to
    come (a listing finds them): a result is taken as soon as it is there, when the
    next job starts or at a None among the jobs (nothing to start)."""
    window: deque[Future[R] | _Done[R]] = deque()
    for entry in jobs:
        if entry is not None:
            job, threaded = entry
            if threaded and threads > 1:
                window.append(pool.submit(work, job))
            else:
                window.append(_Done(work(job)))
        while window and (len(window) >= HASH_WINDOW * threads or window[0].done()):
            yield window.popleft().result()
    while window:
        yield window.popleft().result()


class _Done(Generic[R]):
    """The result of a job done on the scan's thread, taken in turn like a Future's."""

    __slots__ = ("value",)

    def __init__(self, value: R) -> None:
        self.value = value

    def done(self) -> bool:
        return True

    def result(self) -> R:
        return self.value


_Job = tuple[_Pending, FileStat]


def _job_groups(jobs: list[_Job]) -> list[list[_Job]]:
    """Consecutive jobs in groups of at most GROUP_FILES files and GROUP_BYTES bytes; a
    file bigger than GROUP_BYTES makes a group of its own (big files are hashed in
    parallel, one per task, as before)."""
    return list(_grouped(jobs))


def _grouped(jobs: Iterable[_Job | None]) -> Iterator[list[_Job]]:
    """`_job_groups` as the jobs come; a None among them closes the group under way (an
    empty group when there is none: the caller may take the results that are in)."""
    group: list[_Job] = []
    size = 0
    for job in jobs:
        if job is None:
            yield group
            group, size = [], 0
            continue
        if group and (size + job[1].size > GROUP_BYTES or len(group) >= GROUP_FILES):
            yield group
            group, size = [], 0
        group.append(job)
        size += job[1].size
    if group:
        yield group


# `_hash_group`'s reason for a file whose size changed while it was read
CHANGING = "changing"


def _hash_group(
    files: list[tuple[str, int]], keep: int = 0
) -> list[tuple[str | None, str, bytes | None]]:
    """(sha256, "", bytes kept) or (None, why it could not be read, None) for each
    (path, size listed), in order; the bytes of a file of at most `keep` bytes are kept
    (see hash_and_keep). A file whose size changed since it was listed is being written:
    its hash is not the listed size's (CHANGING)."""
    done: list[tuple[str | None, str, bytes | None]] = []
    for path, expected in files:
        try:
            sha, size, data = hash_and_keep(path, keep, expected)
        except OSError as exc:
            done.append((None, str(exc), None))
            continue
        done.append((sha, "", data) if size == expected else (None, CHANGING, None))
    return done


def _build(item: _Pending) -> None:
    """Parse, attach the manifest, validate and digest one dossier read from disk (once)."""
    if item.built:
        return
    item.built = True
    dossier = item.dossier
    doc = item.parsed
    if item.parse_error:
        dossier.error = item.parse_error
        return
    if not isinstance(doc, dict):
        dossier.error = "dossier.json doit contenir un objet JSON"
        return
    _take_identity(doc, dossier)
    if dossier.error:
        return
    hashes = dossier.hashes or {}
    synced = with_entries(
        doc, ({"name": s.name, "sha256": hashes[s.name].sha256, "size": s.size} for s in item.stats)
    )
    errors = validate_dossier(synced)
    if errors:
        more = f" (+{len(errors) - 3} autres)" if len(errors) > 3 else ""
        dossier.error = "dossier.json invalide : " + " ; ".join(errors[:3]) + more
        return
    dossier.doc = synced
    dossier.canonical = canonical_json(synced)  # once: the digest, the push, the journal
    dossier.digest = digest_of_canonical(dossier.canonical)


def read_dossier(root: Path, rel: str, cache: Mapping[str, FileHash]) -> LocalDossier:
    """Scan one folder now (used just before writing into it, and by `resolve`)."""
    folder = root / rel
    started_ns = time.time_ns()
    json_stat, stats, refused = list_folder(folder)
    signature = signature_of(json_stat, stats) if json_stat else ""
    if json_stat is None:
        return LocalDossier(rel, signature, error="dossier.json manquant")
    if refused:
        return LocalDossier(rel, signature, error="nom de fichier refusé : " + refused[0])
    raw = (folder / DOSSIER_FILE).read_bytes()
    item = _Pending(LocalDossier(rel, signature), raw, stats, folder, cache)
    item.parse()
    _hash_pending([item], ScanResult(), started_ns, 1, None)
    _build(item)
    return item.dossier
