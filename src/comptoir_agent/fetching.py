"""Writing the hub's version of dossiers on disk (remote changes, `resolve`).

For each dossier: fetch the document (`dossiers/fetch`, 500 at a time),
record the intent in the journal (`applying_rev`: an interrupted write is
recognised and resumed next pass), gather its blobs (already in place, copied
from another local file with the same SHA-256, or downloaded), stage every new
file beside its target (fsynced), move files the new version no longer has to
the trash, os.replace the staged files, write dossier.json last, then move the
merge base in the journal.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from comptoir_agent import transfer
from comptoir_agent.client import HubClient, HubError
from comptoir_agent.files import (
    TEMP_PREFIX,
    fsync_all,
    json_bytes,
    move_to_trash,
    stage_bytes,
    stage_copy,
)
from comptoir_agent.journal import FileHash, Record
from comptoir_agent.layout import (
    DOSSIER_FILE,
    dossier_dir_problem,
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

    def in_place(self, f: dict[str, Any]) -> bool:
        return bool(self.present.get(f["name"]) == f["sha256"])


class Fetcher:
    def __init__(self, state: PassState) -> None:
        self.state = state
        self.root = state.root
        self.journal = state.journal
        self.client = state.client

    # remote changes -----------------------------------------------------------------------

    def apply(self, ids: list[str]) -> None:
        hashes = self.journal.all_hashes()
        for part in chunked(ids, MAX_BULK_DOSSIERS):
            self.state.check_cancel()
            answer = self.client.post(
                self.client.org_path("sync/dossiers/fetch"), {"ids": list(part)}
            )
            dossiers = answer.get("dossiers", []) if isinstance(answer, dict) else []
            fetched = [d for d in dossiers if isinstance(d, dict)]
            ready = self._prepare(fetched)
            for wave in _waves(ready):
                self.state.check_cancel()
                # Where local files already hold a content: one journal query per wave.
                sources = self.journal.files_with_hashes(
                    f["sha256"] for _, doc, _ in wave for f in doc["files"]
                )
                writes = [
                    w for r, d, v in wave if (w := self.plan_write(r, d, v, d, hashes, sources))
                ]
                self.write_all(writes, hashes)

    def _prepare(self, fetched: list[dict[str, Any]]) -> list[tuple[Record, dict[str, Any], str]]:
        """Check each fetched document and record the intent to write it (one transaction)."""
        ready: list[tuple[Record, dict[str, Any], str]] = []
        with self.journal.transaction():
            for item in fetched:
                ident = str(item.get("id"))
                record = self.state.records.get(ident)
                if record is None:
                    continue
                doc = item.get("document")
                rev = str(item.get("rev") or "")
                if item.get("deleted"):
                    record.remote_deleted = True
                    record.remote_rev = rev or record.remote_rev
                    self.journal.save(record)
                    continue
                problem = document_problem(doc, ident)
                if problem:
                    record.error = f"Document reçu du cloud refusé : {problem}"
                    self.journal.save(record)
                    continue
                assert isinstance(doc, dict)
                record.remote_rev = rev
                record.remote_conflict = bool(item.get("conflict"))
                record.applying_rev = rev
                record.applying_doc = canonical_json(doc).decode("utf-8")
                self.journal.save(record)
                ready.append((record, doc, rev))
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
        if record.path is not None and folder.exists():
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
                source = self._local_copy(sources.get(f["sha256"], []), hashes)
                if source is not None:
                    copies[f["sha256"]] = source
        keep_replaced = keep_replaced or record.pushed_digest is not None
        return Write(record, doc, rev, base_doc, folder, copies, present, keep_replaced)

    def write_all(self, writes: list[Write], hashes: Hashes) -> None:
        """Download what is missing, then write every dossier (see the module docstring).

        Files are staged without fsync, fsynced together on a thread pool (the file
        system merges concurrent flushes), then put in place; the journal records the
        whole group in one transaction. A crash in between leaves `applying_rev` set:
        the next pass recognises the written version and adopts or resumes it.
        """
        downloads: dict[str, int] = {}
        for write in writes:
            for f in write.doc["files"]:
                if f["sha256"] in write.copies or write.in_place(f):
                    continue
                downloads[f["sha256"]] = f["size"]
        blobs, large, failed = self._download(downloads)
        moved: set[str] = set()  # big downloads already renamed into a dossier folder
        try:
            staged: list[tuple[Write, list[tuple[Path, Path]]]] = []
            for write in writes:
                missing = [f["sha256"] for f in write.doc["files"] if f["sha256"] in failed]
                if missing:
                    self.state.set_error(
                        write.record.id, f"Téléchargement impossible : {failed[missing[0]]}"
                    )
                    continue
                try:
                    staged.append((write, self._stage(write, blobs, large, moved)))
                except OSError as exc:
                    self.state.set_error(
                        write.record.id, f"Écriture impossible dans {write.folder} : {exc}"
                    )
            fsync_all([tmp for _, items in staged for tmp, _ in items])
            done: list[Write] = []
            for write, items in staged:
                try:
                    self._commit(write, items)
                except OSError as exc:
                    self.state.set_error(
                        write.record.id, f"Écriture impossible dans {write.folder} : {exc}"
                    )
                    continue
                done.append(write)
            fsync_all([w.folder for w in done], directories=True)
            with self.journal.transaction():
                fresh = {write.record.id: self._record(write, hashes) for write in done}
                self.journal.set_many_hashes(fresh)
        finally:
            for path in large.values():
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

    def _local_copy(self, holders: list[tuple[str, str]], hashes: Hashes) -> Path | None:
        """A local file that still holds a content (copied instead of downloaded), among
        the files the journal last saw with it."""
        for dossier_id, name in holders:
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
        self, needed: dict[str, int]
    ) -> tuple[dict[str, bytes], dict[str, Path], dict[str, str]]:
        blobs: dict[str, bytes] = {}
        large: dict[str, Path] = {}
        failed: dict[str, str] = {}
        if not needed:
            return blobs, large, failed
        progress = Progress("Réception", sum(needed.values()), self.state.settings.progress)
        try:
            small = sorted((s, n) for s, n in needed.items() if n <= MAX_BATCH_BLOB)

            def one(client: HubClient, group: list[str]) -> dict[str, bytes] | str:
                try:
                    return fetch_batch(client, group, progress)
                except DownloadError as exc:
                    return str(exc)

            groups = group_by_size(small, MAX_BATCH_BYTES)
            for group, got in zip(groups, in_flight(self.client, groups, one), strict=True):
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
                    fetch_large(self.client, sha, size, target, progress)
                except (DownloadError, HubError) as exc:
                    failed[sha] = str(exc)
                    continue
                large[sha] = target
        finally:
            progress.close()
        self.state.stats["downloaded_bytes"] += progress.done
        return blobs, large, failed

    def _stage(
        self,
        write: Write,
        blobs: dict[str, bytes],
        large: dict[str, Path],
        moved: set[str],
    ) -> list[tuple[Path, Path]]:
        """Write every new content (and dossier.json) beside its target, not yet in place.

        Staged first: a copy source in this very folder may be replaced or moved away.
        A big download (already checked and fsynced) is renamed, not copied, into its
        first place; `large` then points there, and another file with the same content
        is copied from it.
        """
        doc, folder = write.doc, write.folder
        folder.mkdir(parents=True, exist_ok=True)
        staged: list[tuple[Path, Path]] = []
        try:
            for f in sorted(doc["files"], key=lambda f: str(f["name"])):
                if write.in_place(f):
                    continue
                target = folder / f["name"]
                tmp = target.with_name(TEMP_PREFIX + f["name"])
                sha = f["sha256"]
                if sha in blobs:
                    stage_bytes(tmp, blobs[sha], durable=False)
                elif sha in large and sha not in moved:
                    try:
                        os.replace(large[sha], tmp)
                    except OSError:  # not the same file system: copy
                        stage_copy(large[sha], tmp, durable=False)
                    else:
                        large[sha] = tmp
                        moved.add(sha)
                elif sha in large:
                    stage_copy(large[sha], tmp, durable=False)
                elif sha in write.copies:
                    stage_copy(write.copies[sha], tmp, durable=False)
                else:
                    raise OSError(f"contenu de {f['name']!r} indisponible")
                staged.append((tmp, target))
            target = folder / DOSSIER_FILE
            tmp = target.with_name(TEMP_PREFIX + DOSSIER_FILE)
            stage_bytes(tmp, json_bytes(doc), durable=False)
            staged.append((tmp, target))  # last: dossier.json goes in place after the files
        except OSError:
            for tmp, _ in staged:
                tmp.unlink(missing_ok=True)
            raise
        return staged

    def _commit(self, write: Write, staged: list[tuple[Path, Path]]) -> None:
        """Trash what the new version no longer has, then put the staged files in place."""
        folder, rel = write.folder, str(write.record.path)
        trash, today = self.state.paths.trash, self.state.today
        wanted = {f["name"] for f in write.doc["files"]}
        _, stats, _ = list_folder(folder)
        for stat in stats:
            if stat.name not in wanted:
                move_to_trash(folder / stat.name, trash, f"{rel}/{stat.name}", today)
        for tmp, target in staged:
            if write.keep_replaced and target.name != DOSSIER_FILE and target.exists():
                move_to_trash(target, trash, f"{rel}/{target.name}", today)
            os.replace(tmp, target)

    def _record(self, write: Write, hashes: Hashes) -> dict[str, FileHash]:
        """Move the merge base after a write (inside the caller's transaction); the files'
        hashes to record in the journal are returned (recorded for many at once)."""
        record, doc, folder = write.record, write.doc, write.folder
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
        self.journal.save(record)
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
    except (OSError, ValueError):
        return None
    ident = doc.get("id") if isinstance(doc, dict) else None
    return ident if isinstance(ident, str) else None


def _waves(
    ready: list[tuple[Record, dict[str, Any], str]],
) -> list[list[tuple[Record, dict[str, Any], str]]]:
    """Groups of fetched dossiers whose small documents add up to about the batches in
    flight together (what the wave holds in memory until it is written)."""
    limit = MAX_BATCH_BYTES * max(1, transfer.BATCHES_IN_FLIGHT)
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
