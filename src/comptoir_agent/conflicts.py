"""`comptoir-agent conflicts` and `resolve DOSSIER --keep local|cloud|both`.

Local files are changed first and the hub is told last, so an interrupted
resolve is simply run again: the second run finds the same merge and sends it.
`cloud` and `both` never delete a local file: replaced ones go to the trash,
differing ones are kept under `name (conflit <poste> <YYYY-MM-DD>).ext`.
"""

from __future__ import annotations

import os
import re
from datetime import date
from typing import Any

from comptoir_agent.fetching import Fetcher, document_problem
from comptoir_agent.journal import FileHash, Record
from comptoir_agent.layout import LocalDossier, read_dossier
from comptoir_agent.protocol import canonical_json, document_digest, rev_digest, with_manifest
from comptoir_agent.state import PassState
from comptoir_agent.transfer import Source, upload

KEEP_CHOICES = ("local", "cloud", "both")
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\<>:"|?*]')


class ResolveError(Exception):
    pass


def find_record(records: dict[str, Record], ref: str) -> Record:
    """A dossier by id, or by number (refused when two years share the number)."""
    if ref in records:
        return records[ref]
    matches = [r for r in records.values() if ref in (r.number, r.remote_number)]
    if not matches:
        raise ResolveError(f"Dossier inconnu de ce poste : {ref}")
    if len(matches) > 1:
        ids = ", ".join(sorted(r.id for r in matches))
        raise ResolveError(
            f"Plusieurs dossiers portent le numéro {ref} : précisez l'identifiant ({ids})"
        )
    return matches[0]


def in_conflict(records: dict[str, Record]) -> list[Record]:
    found = [r for r in records.values() if r.remote_conflict or r.pushed_digest]
    return sorted(found, key=lambda r: (r.year or 0, r.number or "", r.id))


def conflict_name(name: str, station: str, day: date, taken: set[str]) -> str:
    """`rapport.pdf` → `rapport (conflit PC bureau 2026-11-20).pdf`, unique among `taken`."""
    poste = _UNSAFE.sub("-", station).strip() or "poste"
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    number = 1
    while True:
        extra = f" {number}" if number > 1 else ""
        tag = f" (conflit {poste} {day.isoformat()}{extra})"
        room = 255 - len((tag + suffix).encode("utf-8"))
        short = stem.encode("utf-8")[: max(room, 1)].decode("utf-8", "ignore")
        candidate = f"{short}{tag}{suffix}"
        if candidate not in taken:
            return candidate
        number += 1


def merge_both(
    cloud: dict[str, Any], local: dict[str, Any], station: str, day: date
) -> tuple[dict[str, Any], dict[str, str]]:
    """Cloud fields, the union of files; a local file that differs is kept under a conflict name.

    Returns the merged document and the renames to do locally (old name → new name).
    """
    files = {f["name"]: dict(f) for f in cloud.get("files", [])}
    taken = set(files) | {f["name"] for f in local.get("files", [])}
    renames: dict[str, str] = {}
    for f in local.get("files", []):
        theirs = files.get(f["name"])
        if theirs is None:
            files[f["name"]] = dict(f)
        elif theirs["sha256"] != f["sha256"]:
            new = conflict_name(f["name"], station, day, taken)
            taken.add(new)
            renames[f["name"]] = new
            files[new] = {"name": new, "sha256": f["sha256"], "size": f["size"]}
    return with_manifest(cloud, files.values()), renames


class Resolver:
    def __init__(self, state: PassState) -> None:
        self.state = state
        self.journal = state.journal
        self.client = state.client

    def resolve(self, ref: str, keep: str) -> str:
        if keep not in KEEP_CHOICES:
            raise ResolveError(f"--keep doit valoir local, cloud ou both (pas {keep!r})")
        self.state.records = self.journal.records()
        record = find_record(self.state.records, ref)
        answer = self.client.get(self.client.org_path(f"sync/dossiers/{record.id}/conflicts"))
        head = answer.get("head") if isinstance(answer, dict) else None
        if not isinstance(head, dict) or not head.get("rev"):
            raise ResolveError("Le cloud n'a pas renvoyé la version de référence du dossier")
        head_rev = str(head["rev"])
        cloud = head.get("document")
        problem = document_problem(cloud, record.id)
        if problem:
            raise ResolveError(f"Version du cloud inutilisable : {problem}")
        assert isinstance(cloud, dict)
        if keep == "local":
            return self._keep_local(record, head_rev)
        if keep == "cloud":
            return self._keep_cloud(record, head_rev, cloud)
        return self._keep_both(record, head_rev, cloud)

    def _local(self, record: Record) -> LocalDossier:
        if record.path is None:
            raise ResolveError(
                "Ce dossier n'est pas sur ce poste : seule --keep cloud est possible"
            )
        hashes = self.journal.all_hashes().get(record.id, {})
        local = read_dossier(self.state.root, record.path, hashes)
        if local.error or local.doc is None or local.digest is None:
            raise ResolveError(f"Copie locale inutilisable : {local.error}")
        if local.hashes is not None:
            with self.journal.transaction():
                self.journal.set_hashes(record.id, local.hashes)
        self.state.view.scanned[record.id] = local  # what the writer checks the folder against
        return local

    def _upload(self, record: Record, doc: dict[str, Any]) -> None:
        folder = self.state.root / str(record.path)
        sources = [Source(folder / f["name"], f["sha256"], f["size"]) for f in doc["files"]]
        outcome = upload(self.client, self.journal, sources, self.state.settings.progress)
        if outcome.failed:
            raise ResolveError(next(iter(outcome.failed.values())))

    def _send(self, record: Record, keep: str, head_rev: str, doc: dict[str, Any] | None) -> str:
        payload: dict[str, Any] = {"keep": keep, "head_rev": head_rev}
        if doc is not None:
            payload["document"] = doc
        answer = self.client.post(
            self.client.org_path(f"sync/dossiers/{record.id}/resolve"), payload
        )
        rev = answer.get("rev") if isinstance(answer, dict) else None
        if not isinstance(rev, str) or not rev:
            raise ResolveError("Réponse du cloud sans révision")
        return rev

    def _settle(self, record: Record, rev: str, doc: dict[str, Any], local_digest: str) -> None:
        """The resolved version is the merge base and the known head."""
        record.base_rev = rev
        record.base_digest = document_digest(doc)
        record.base_doc = canonical_json(doc).decode("utf-8")
        record.local_digest = local_digest
        record.remote_rev = rev
        record.remote_conflict = False
        record.pushed_rev = record.pushed_digest = None
        record.applying_rev = record.applying_doc = None
        record.error = None
        with self.journal.transaction():
            self.journal.save(record)
        if rev_digest(rev) != record.base_digest:
            # The hub adjusted the kept version (it keeps its own number): write its head.
            Fetcher(self.state).apply([record.id])

    def _keep_local(self, record: Record, head_rev: str) -> str:
        local = self._local(record)
        assert local.doc is not None and local.digest is not None
        self._upload(record, local.doc)
        rev = self._send(record, "local", head_rev, local.doc)
        self._settle(record, rev, local.doc, local.digest)
        return f"Conflit résolu : la version de ce poste est gardée ({rev})."

    def _write(
        self,
        record: Record,
        doc: dict[str, Any],
        head_rev: str,
        base: dict[str, Any],
        hashes: dict[str, dict[str, FileHash]],
    ) -> None:
        fetcher = Fetcher(self.state)
        write = fetcher.plan_write(record, doc, head_rev, base, hashes, keep_replaced=True)
        if write is None:
            raise ResolveError(record.error or "écriture impossible")
        record.error = None
        fetcher.write_all([write], hashes)
        if record.error:
            raise ResolveError(record.error)

    def _keep_cloud(self, record: Record, head_rev: str, cloud: dict[str, Any]) -> str:
        if record.path is not None:
            self._local(record)  # refreshes the hash cache the writer checks against
        hashes = self.journal.all_hashes()
        self._write(record, cloud, head_rev, cloud, hashes)
        rev = self._send(record, "cloud", head_rev, None)
        self._settle(record, rev, cloud, document_digest(cloud))
        return (
            f"Conflit résolu : la version du cloud est gardée ({rev}) ; "
            "les fichiers remplacés sont dans la corbeille."
        )

    def _keep_both(self, record: Record, head_rev: str, cloud: dict[str, Any]) -> str:
        local = self._local(record)
        assert local.doc is not None
        merged, renames = merge_both(cloud, local.doc, self.state.station.name, self.state.today)
        folder = self.state.root / str(record.path)
        mine = dict(self.journal.all_hashes().get(record.id, {}))
        for old, new in renames.items():
            os.replace(folder / old, folder / new)
            entry = mine.pop(old)
            mine[new] = FileHash(entry.size, entry.mtime_ns, entry.sha256)
        with self.journal.transaction():
            self.journal.set_hashes(record.id, mine)
        self._local(record)  # the renamed folder, as the writer will find it
        self._write(record, merged, head_rev, cloud, self.journal.all_hashes())
        self._upload(record, merged)
        rev = self._send(record, "both", head_rev, merged)
        self._settle(record, rev, merged, document_digest(merged))
        kept = ", ".join(renames.values()) or "aucun fichier différent"
        return (
            f"Conflit résolu : champs du cloud, fichiers réunis ({rev}). Copies locales : {kept}."
        )
