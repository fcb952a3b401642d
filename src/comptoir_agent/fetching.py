"""Writing the hub's version of dossiers on disk (remote changes, `resolve`).

For each dossier: fetch the document (`dossiers/fetch`, 500 at a time),
record the intent in the journal (`applying_rev`: an interrupted write is
recognised and resumed next pass), gather its blobs (already in place, copied
from another local file with the same SHA-256, or downloaded), stage every new
file beside its target (fsynced), move files the new version no longer has to
the trash, os.replace the staged files, write dossier.json last, then move the
merge base in the journal. A dossier whose folder does not exist yet is staged
as a whole folder under a temp name and put in place with one rename.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from comptoir_agent.client import HubClient, HubError
from comptoir_agent.files import (
    TEMP_PREFIX,
    fsync_all,
    json_bytes,
    move_to_trash,
    stage_bytes,
    stage_copy,
    write_new,
)
from comptoir_agent.journal import FileHash, Record
from comptoir_agent.layout import (
    DOSSIER_FILE,
    FileStat,
    dossier_dir_problem,
    is_ignored,
    list_folder,
    name_problem,
    signature_of,
)
from comptoir_agent.planner import Local
from comptoir_agent.protocol import (
    MAX_BATCH_BLOB,
    MAX_BATCH_BYTES,
    MAX_BULK_DOSSIERS,
    canonical_json,
    chunked,
    digest_of_canonical,
    with_manifest,
)
from comptoir_agent.schema import validate_dossier
from comptoir_agent.state import PassState
from comptoir_agent.transfer import (
    DownloadError,
    Progress,
    fetch_batch,
    fetch_large,
    group_by_size,
    in_flight,
)

Hashes = dict[str, dict[str, FileHash]]
R = TypeVar("R")
# The small blobs of one wave of dossiers: small enough that writing one wave while the
# next downloads keeps both the hub and the station busy, big enough for few requests.
WAVE_BYTES = 8 * 1024 * 1024
# Download the next wave and fetch the next page while writing (False: one thing at a
# time, in order, as a replayed simulation needs).
FETCH_AHEAD = True


@dataclass
class Write:
    """One dossier to write: the document, its folder and where each blob comes from."""

    record: Record
    doc: dict[str, Any]
    rev: str  # the revision the written document is
    base_doc: dict[str, Any]  # the merge base after the write (usually `doc`)
    folder: Path
    copies: dict[str, Path]
    present: dict[str, str]  # name → sha256 of what the folder holds now
    keep_replaced: bool = False  # move replaced files to the trash (`resolve --keep cloud`)
    held: bool = False  # `present` was read from the dossier's own folder (checked again)

    def in_place(self, f: dict[str, Any]) -> bool:
        return bool(self.present.get(f["name"]) == f["sha256"])


@dataclass
class Received:
    """What a wave's downloads brought: small blobs by sha256, big ones in files (each
    renamed, not copied, into its first place: `moved`), why the others were not had."""

    blobs: dict[str, bytes] = field(default_factory=dict)
    large: dict[str, Path] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    moved: set[str] = field(default_factory=set)

    def merge(self, other: Received) -> None:
        self.blobs.update(other.blobs)
        self.large.update(other.large)
        self.failed.update(other.failed)


@dataclass
class Staged:
    """What `_stage` wrote for one dossier, not yet in place.

    Either files beside their targets in the dossier's folder (`files`: temp → target),
    or, for a dossier whose folder does not exist yet, the whole folder under a temp
    name (`folder`), whose files already bear their names: one rename puts it in place,
    and the stats taken while writing give the folder's signature without reading it
    again.
    """

    files: list[tuple[Path, Path]]
    folder: str | None = None
    json_stat: os.stat_result | None = None
    stats: list[FileStat] | None = None

    def paths(self) -> Sequence[str | Path]:
        """Every staged file (to make durable before anything goes in place)."""
        if self.folder is None:
            return [tmp for tmp, _ in self.files]
        return [os.path.join(self.folder, name) for name in os.listdir(self.folder)]

    def discard(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)  # only copies of the hub's files
        for tmp, _ in self.files:
            tmp.unlink(missing_ok=True)


class Fetcher:
    def __init__(self, state: PassState) -> None:
        self.state = state
        self.root = state.root
        self.journal = state.journal
        self.client = state.client

    # remote changes -----------------------------------------------------------------------

    def apply(self, ids: list[str]) -> None:
        """Write the hub's head of each dossier of `ids`, 500 per `dossiers/fetch`.

        The network runs ahead of the disk: while one wave of dossiers is written, the
        blobs of the next are downloaded and the next page of documents is fetched (on
        their own connections), so the hub and the station work at the same time. At
        most two waves of blobs are held in memory.
        """
        hashes = self.journal.all_hashes()
        parts = [list(part) for part in chunked(ids, MAX_BULK_DOSSIERS)]
        if not parts:
            return
        pool: Executor = (
            ThreadPoolExecutor(max_workers=2, thread_name_prefix="comptoir-reception")
            if FETCH_AHEAD
            else _InOrder()
        )
        with pool:
            fetcher = self.client.clone()
            page = pool.submit(self._fetch_documents, fetcher, parts[0])
            try:
                for number in range(len(parts)):
                    fetched = page.result()
                    if number + 1 < len(parts):
                        page = pool.submit(self._fetch_documents, fetcher, parts[number + 1])
                    self.state.check_cancel()
                    self._apply_part(pool, fetched, hashes)
            finally:
                wait([page])  # not closed under a request still running
                self.client.requests += fetcher.requests
                fetcher.close()

    def _fetch_documents(self, client: HubClient, ids: list[str]) -> list[dict[str, Any]]:
        answer = client.post(client.org_path("sync/dossiers/fetch"), {"ids": ids})
        dossiers = answer.get("dossiers", []) if isinstance(answer, dict) else []
        return [d for d in dossiers if isinstance(d, dict)]

    def _apply_part(self, pool: Executor, fetched: list[dict[str, Any]], hashes: Hashes) -> None:
        """Write one page of fetched dossiers, wave after wave, each wave's blobs
        downloaded while the wave before it is written."""
        planned: list[list[Write]] = []
        waves = _waves(self._prepare(fetched))
        page = {record.id for wave in waves for record, _, _ in wave}
        for wave in waves:
            # Where local files already hold a content: one journal query per wave. The
            # page's other waves are planned before they are written: their files are
            # no copy source (they may be replaced by then).
            sources = self.journal.files_with_hashes(
                f["sha256"] for _, doc, _ in wave for f in doc["files"]
            )
            busy = page - {record.id for record, _, _ in wave}
            planned.append(
                [
                    w
                    for r, d, v in wave
                    if (w := self.plan_write(r, d, v, d, hashes, sources, busy=busy))
                ]
            )
        if not planned:
            return
        client = self.client.clone()
        # Small blobs ahead; a big one when its wave is written (two waves may need it).
        download = pool.submit(self._download, needed(planned[0]), client, False)
        try:
            for number, writes in enumerate(planned):
                got = download.result()
                if number + 1 < len(planned):
                    download = pool.submit(
                        self._download, needed(planned[number + 1]), client, False
                    )
                self.state.check_cancel()
                self.write_all(writes, hashes, got)
        finally:
            wait([download])
            self.client.requests += client.requests
            client.close()

    def _prepare(self, fetched: list[dict[str, Any]]) -> list[tuple[Record, dict[str, Any], str]]:
        """Check each fetched document and record the intent to write it (one transaction)."""
        ready: list[tuple[Record, dict[str, Any], str]] = []
        changed: list[Record] = []
        with self.journal.transaction():
            for item in fetched:
                ident = str(item.get("id"))
                record = self.state.records.get(ident)
                if record is None:
                    continue
                doc = item.get("document")
                rev = str(item.get("rev") or "")
                changed.append(record)
                if item.get("deleted"):
                    record.remote_deleted = True
                    record.remote_rev = rev or record.remote_rev
                    continue
                problem = document_problem(doc, ident)
                if problem:
                    record.error = f"Document reçu du cloud refusé : {problem}"
                    continue
                assert isinstance(doc, dict)
                record.remote_rev = rev
                record.remote_conflict = bool(item.get("conflict"))
                record.applying_rev = rev
                record.applying_doc = canonical_json(doc).decode("utf-8")
                record.error = None  # a new attempt: an interruption now is only that
                ready.append((record, doc, rev))
            self.journal.save_many(changed)
        return ready

    # one dossier --------------------------------------------------------------------------

    def plan_write(
        self,
        record: Record,
        doc: dict[str, Any],
        rev: str,
        base_doc: dict[str, Any],
        hashes: Hashes,
        sources: dict[str, list[tuple[str, str]]] | None = None,
        keep_replaced: bool = False,
        busy: frozenset[str] | set[str] = frozenset(),
    ) -> Write | None:
        """Where the dossier goes and which blobs local files can supply; None if refused.

        `sources`: the journal's files per content (`Journal.files_with_hashes`) for at
        least this document's files, when the caller has read them for many dossiers.
        """
        wanted = f"{doc['year']}/{doc['number']}"
        rel = record.path or wanted
        if record.path and record.path != wanted and record.path.endswith(f"/{record.number}"):
            # The dossier was renumbered (or moved to another year) on the hub.
            target = self.root / wanted
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(self.root / record.path, target)
                rel = wanted
        folder = self.root / rel
        if folder.exists() and record.path is None:
            other = folder_id(folder)
            if other is not None and other != record.id:
                record.applying_rev = record.applying_doc = None
                self.state.set_error(
                    record.id, f"Le dossier {rel} existe déjà pour un autre dossier"
                )
                return None
        present: dict[str, str] = {}
        held = record.path is not None and folder.exists()
        if held:
            found = self._unchanged(record, folder, hashes)
            if found is None:
                self.state.set_error(
                    record.id, "Modifié pendant la synchronisation : repris au prochain passage"
                )
                return None
            present = found
        record.path = rel
        copies: dict[str, Path] = {}
        if sources is None:
            sources = self.journal.files_with_hashes(f["sha256"] for f in doc["files"])
        for f in doc["files"]:
            if f["sha256"] not in copies:
                source = self._local_copy(sources.get(f["sha256"], []), hashes, busy)
                if source is not None:
                    copies[f["sha256"]] = source
        keep_replaced = keep_replaced or record.pushed_digest is not None
        return Write(record, doc, rev, base_doc, folder, copies, present, keep_replaced, held)

    def write_all(self, writes: list[Write], hashes: Hashes, got: Received | None = None) -> None:
        """Download what is missing, then write every dossier (see the module docstring).

        Files are staged without fsync, fsynced together on a thread pool (the file
        system merges concurrent flushes), then put in place; the journal records the
        whole group in one transaction. A crash in between leaves `applying_rev` set:
        the next pass recognises the written version and adopts or resumes it.
        """
        if got is None:
            got = self._download(needed(writes), self.client)
        else:  # the small blobs came ahead: the big ones now
            got.merge(self._download(needed(writes), self.client, small=False))
        try:
            staged: list[tuple[Write, Staged]] = []
            for write in writes:
                missing = [f["sha256"] for f in write.doc["files"] if f["sha256"] in got.failed]
                if missing:
                    self.state.set_error(
                        write.record.id, f"Téléchargement impossible : {got.failed[missing[0]]}"
                    )
                    continue
                if write.held and self._unchanged(write.record, write.folder, hashes) != (
                    write.present
                ):  # changed here since it was planned (while earlier waves were written)
                    self.state.set_error(
                        write.record.id,
                        "Modifié pendant la synchronisation : repris au prochain passage",
                    )
                    continue
                try:
                    staged.append((write, self._stage(write, got)))
                except OSError as exc:
                    self.state.set_error(
                        write.record.id, f"Écriture impossible dans {write.folder} : {exc}"
                    )
            fsync_all([path for _, items in staged for path in items.paths()])
            done: list[tuple[Write, Staged]] = []
            for write, items in staged:
                try:
                    self._commit(write, items)
                except OSError as exc:
                    items.discard()
                    self.state.set_error(
                        write.record.id, f"Écriture impossible dans {write.folder} : {exc}"
                    )
                    continue
                done.append((write, items))
            # A new folder's own entries, and its name in its parent.
            folders = {w.folder for w, _ in done} | {
                w.folder.parent for w, items in done if items.folder is not None
            }
            fsync_all(sorted(folders), directories=True)
            with self.journal.transaction():
                fresh = {w.record.id: self._record(w, hashes, items) for w, items in done}
                self.journal.save_many(w.record for w, _ in done)
                self.journal.set_many_hashes(fresh)
        finally:
            for path in got.large.values():
                path.unlink(missing_ok=True)

    def _unchanged(self, record: Record, folder: Path, hashes: Hashes) -> dict[str, str] | None:
        """What the folder holds (name → sha256) if it is exactly what the scan saw, else None."""
        try:
            json_stat, stats, refused = list_folder(folder)
        except OSError:
            return None
        if refused:
            return None
        known = hashes.get(record.id, {})
        scanned = self.state.view.scanned.get(record.id)
        if scanned is not None and json_stat is not None:
            # The scan's signature covers every stat: the hashes it recorded still hold.
            if signature_of(json_stat, stats) != scanned.signature:
                return None
            if not all(s.name in known for s in stats):
                return None
            return {s.name: known[s.name].sha256 for s in stats}
        for stat in stats:
            cached = known.get(stat.name)
            if cached is None or cached.size != stat.size or cached.mtime_ns != stat.mtime_ns:
                return None
        return {s.name: known[s.name].sha256 for s in stats}

    def _local_copy(
        self, holders: list[tuple[str, str]], hashes: Hashes, busy: frozenset[str] | set[str]
    ) -> Path | None:
        """A local file that still holds a content (copied instead of downloaded), among
        the files the journal last saw with it, outside the dossiers of `busy`."""
        for dossier_id, name in holders:
            if dossier_id in busy:
                continue
            owner = self.state.records.get(dossier_id)
            if owner is None or owner.path is None:
                continue
            path = self.root / owner.path / name
            known = hashes.get(dossier_id, {}).get(name)
            try:
                st = path.stat()
            except OSError:
                continue
            if known and st.st_size == known.size and st.st_mtime_ns == known.mtime_ns:
                return path
        return None

    def _download(
        self, needed: dict[str, int], client: HubClient, large: bool = True, small: bool = True
    ) -> Received:
        """The blobs of `needed` (sha256 → size): small ones in memory, big ones in the
        state folder (False: leave those out), and why each one not had was not."""
        needed = {
            sha: size
            for sha, size in needed.items()
            if (small if size <= MAX_BATCH_BLOB else large)
        }
        received = Received()
        blobs, failed = received.blobs, received.failed
        if not needed:
            return received
        progress = Progress("Réception", sum(needed.values()), self.state.settings.progress)
        try:
            batched = sorted((s, n) for s, n in needed.items() if n <= MAX_BATCH_BLOB)

            def one(client: HubClient, group: list[str]) -> dict[str, bytes] | str:
                try:
                    return fetch_batch(client, group, progress)
                except DownloadError as exc:
                    return str(exc)

            groups = group_by_size(batched, MAX_BATCH_BYTES)
            for group, got in zip(groups, in_flight(client, groups, one), strict=True):
                if isinstance(got, str):
                    failed.update(dict.fromkeys(group, got))
                    continue
                blobs.update(got)
                failed.update({s: "document absent du cloud" for s in group if s not in got})
            downloads = self.state.paths.state / "downloads"
            for sha, size in sorted(needed.items()):
                if size <= MAX_BATCH_BLOB:
                    continue
                self.state.check_cancel()
                downloads.mkdir(parents=True, exist_ok=True)
                target = downloads / f"{sha}.part"
                try:
                    fetch_large(client, sha, size, target, progress)
                except (DownloadError, HubError) as exc:
                    failed[sha] = str(exc)
                    continue
                received.large[sha] = target
        finally:
            progress.close()
        self.state.stats["downloaded_bytes"] += progress.done
        return received

    def _stage(self, write: Write, got: Received) -> Staged:
        """Write every new content (and dossier.json), not yet in place (see `Staged`).

        Staged first: a copy source in this very folder may be replaced or moved away.
        A big download (already checked and fsynced) is renamed, not copied, into its
        first place; `large` then points there, and another file with the same content
        is copied from it.
        """
        if not write.present and not write.folder.exists():
            return self._stage_folder(write, got)
        doc, folder = write.doc, write.folder
        folder.mkdir(parents=True, exist_ok=True)
        staged = Staged([])
        try:
            for f in sorted(doc["files"], key=lambda f: str(f["name"])):
                if write.in_place(f):
                    continue
                target = folder / f["name"]
                tmp = target.with_name(TEMP_PREFIX + f["name"])
                self._put(write, f["sha256"], tmp, got)
                staged.files.append((tmp, target))
            target = folder / DOSSIER_FILE
            tmp = target.with_name(TEMP_PREFIX + DOSSIER_FILE)
            stage_bytes(tmp, json_bytes(doc), durable=False)
            staged.files.append((tmp, target))  # last: dossier.json goes in place after the files
        except OSError:
            staged.discard()
            raise
        return staged

    def _stage_folder(self, write: Write, got: Received) -> Staged:
        """A dossier new here: its whole folder, written under a temp name beside it (the
        scan skips it; a stale one from an interrupted pass is only the hub's files)."""
        folder = write.folder
        temp = os.path.join(folder.parent, TEMP_PREFIX + folder.name)
        shutil.rmtree(temp, ignore_errors=True)
        os.makedirs(temp)
        staged = Staged([], folder=temp, stats=[])
        assert staged.stats is not None
        try:
            for f in sorted(write.doc["files"], key=lambda f: str(f["name"])):
                name, sha = f["name"], f["sha256"]
                path = os.path.join(temp, name)
                if sha in got.blobs:
                    st = write_new(path, got.blobs[sha])
                else:
                    self._put(write, sha, Path(path), got)
                    st = os.stat(path)
                if not is_ignored(name):  # as the scan lists the folder
                    staged.stats.append(FileStat(name, st.st_size, st.st_mtime_ns))
            staged.json_stat = write_new(os.path.join(temp, DOSSIER_FILE), json_bytes(write.doc))
        except OSError:
            staged.discard()
            raise
        return staged

    def _put(self, write: Write, sha: str, tmp: Path, got: Received) -> None:
        """Write one content at `tmp`, from wherever this pass has it."""
        if sha in got.blobs:
            stage_bytes(tmp, got.blobs[sha], durable=False)
        elif sha in got.large and sha not in got.moved:
            try:
                os.replace(got.large[sha], tmp)
            except OSError:  # not the same file system: copy
                stage_copy(got.large[sha], tmp, durable=False)
            else:
                got.large[sha] = tmp
                got.moved.add(sha)
        elif sha in got.large:
            stage_copy(got.large[sha], tmp, durable=False)
        elif sha in write.copies:
            stage_copy(write.copies[sha], tmp, durable=False)
        else:
            raise OSError(f"contenu de {tmp.name.removeprefix(TEMP_PREFIX)!r} indisponible")

    def _commit(self, write: Write, staged: Staged) -> None:
        """Trash what the new version no longer has, then put the staged files in place."""
        folder, rel = write.folder, str(write.record.path)
        if staged.folder is not None:
            os.rename(staged.folder, folder)  # refused if a non-empty folder appeared there
            return
        trash, today = self.state.paths.trash, self.state.today
        wanted = {f["name"] for f in write.doc["files"]}
        _, stats, _ = list_folder(folder)
        for stat in stats:
            if stat.name not in wanted:
                move_to_trash(folder / stat.name, trash, f"{rel}/{stat.name}", today)
        for tmp, target in staged.files:
            if write.keep_replaced and target.name != DOSSIER_FILE and target.exists():
                move_to_trash(target, trash, f"{rel}/{target.name}", today)
            os.replace(tmp, target)

    def _record(self, write: Write, hashes: Hashes, staged: Staged) -> dict[str, FileHash]:
        """Move the merge base after a write; the caller saves the record, and the files'
        hashes, returned, for many at once (in one transaction)."""
        record, doc, folder = write.record, write.doc, write.folder
        if staged.json_stat is not None and staged.stats is not None:
            json_stat, stats = staged.json_stat, staged.stats  # a new folder, as written
        else:
            json_stat = (folder / DOSSIER_FILE).stat()
            _, stats, _ = list_folder(folder)
        wanted = {f["name"]: f["sha256"] for f in doc["files"]}
        fresh = {
            s.name: FileHash(s.size, s.mtime_ns, wanted[s.name]) for s in stats if s.name in wanted
        }
        written = canonical_json(with_manifest(doc, doc["files"]))
        base = (  # a pull writes the merge base itself: one encoding for both
            written
            if write.base_doc is doc
            else canonical_json(with_manifest(write.base_doc, write.base_doc.get("files", [])))
        )
        record.base_rev = write.rev
        record.base_digest = digest_of_canonical(base)
        record.base_doc = base.decode("utf-8")
        record.local_digest = digest_of_canonical(written)
        record.local_signature = signature_of(json_stat, stats)
        record.number = doc.get("number")
        record.year = doc.get("year")
        record.created_at = doc.get("created_at")
        record.applying_rev = record.applying_doc = None
        record.pushed_rev = record.pushed_digest = None
        record.error = None
        hashes[record.id] = fresh
        self.state.records[record.id] = record
        self.state.view.local[record.id] = Local(
            id=record.id,
            path=str(record.path),
            digest=record.local_digest,
            number=record.number,
            year=record.year,
            created_at=record.created_at,
        )
        return fresh


class _InOrder(Executor):
    """Runs each job when it is submitted (FETCH_AHEAD off)."""

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        future: Future[R] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 (raised by result(), as from a thread)
            future.set_exception(exc)
        return future


def needed(writes: list[Write]) -> dict[str, int]:
    """The contents `writes` must download (sha256 → size): not in place, not copied."""
    downloads: dict[str, int] = {}
    for write in writes:
        for f in write.doc["files"]:
            if f["sha256"] in write.copies or write.in_place(f):
                continue
            downloads[f["sha256"]] = f["size"]
    return downloads


def document_problem(doc: Any, ident: str) -> str | None:
    """Why a document received from the hub must not be written, or None."""
    if not isinstance(doc, dict):
        return "document absent"
    if doc.get("id") != ident:
        return "identifiant différent"
    if not isinstance(doc.get("files"), list):
        return "liste des fichiers absente"
    errors = validate_dossier(doc)
    if errors:
        return errors[0]
    problem = dossier_dir_problem(doc.get("year"), doc.get("number"))
    if problem:
        return problem
    names = [f["name"] for f in doc["files"]]
    if len(set(names)) != len(names):
        return "deux fichiers portent le même nom"
    for name in names:
        problem = name_problem(name)
        if problem:
            return problem
    return None


def folder_id(folder: Path) -> str | None:
    try:
        doc = json.loads((folder / DOSSIER_FILE).read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    ident = doc.get("id") if isinstance(doc, dict) else None
    return ident if isinstance(ident, str) else None


def _waves(
    ready: list[tuple[Record, dict[str, Any], str]],
) -> list[list[tuple[Record, dict[str, Any], str]]]:
    """Groups of fetched dossiers whose small documents add up to about WAVE_BYTES
    (what a wave holds in memory until it is written; the next one downloads
    meanwhile)."""
    limit = WAVE_BYTES
    waves: list[list[tuple[Record, dict[str, Any], str]]] = []
    current: list[tuple[Record, dict[str, Any], str]] = []
    total = 0
    for item in ready:
        size = sum(f["size"] for f in item[1]["files"] if f["size"] <= MAX_BATCH_BLOB)
        if current and total + size > limit:
            waves.append(current)
            current, total = [], 0
        current.append(item)
        total += size
    if current:
        waves.append(current)
    return waves
