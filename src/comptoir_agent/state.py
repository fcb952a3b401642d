"""What the steps of a pass share: the station, the journal, the client, the trees in memory."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Protocol

from comptoir_agent import exit_codes
from comptoir_agent.client import HubClient
from comptoir_agent.config import Paths, Station
from comptoir_agent.journal import Journal, Record
from comptoir_agent.layout import LocalDossier
from comptoir_agent.planner import Base, DeleteLimit, Local, Remote

EXIT_OK, EXIT_ATTENTION, EXIT_SAFETY = exit_codes.OK, exit_codes.ATTENTION, exit_codes.SAFETY


class Cancelled(Exception):
    """SIGTERM/SIGINT arrived: the pass stopped at a safe point."""


class CancelFlag(Protocol):
    """What the pass reads of a stop request (daemon.StopSignal, threading.Event)."""

    def is_set(self) -> bool: ...


class Log:
    """Messages for the person at the station: French, on stderr, silenced by --quiet."""

    def __init__(self, quiet: bool = False, write: Callable[[str], None] | None = None) -> None:
        self.quiet = quiet
        self._write = write

    def info(self, message: str) -> None:
        if not self.quiet:
            self.emit(message)

    def warn(self, message: str) -> None:
        self.emit(message)

    def emit(self, message: str) -> None:
        if self._write is not None:
            self._write(message)
        else:
            print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class PassSettings:
    send: bool = False  # --send: push even when the options say `not_systematic`
    confirm_deletes: bool = False
    delete_limit: DeleteLimit = field(default_factory=DeleteLimit)
    progress: bool = True


@dataclass
class LocalView:
    """The scan turned into planner input: dossiers by id, and folders that cannot be synced."""

    local: dict[str, Local] = field(default_factory=dict)
    scanned: dict[str, LocalDossier] = field(default_factory=dict)
    invalid: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class PassState:
    paths: Paths
    station: Station
    journal: Journal
    client: HubClient
    settings: PassSettings
    log: Log
    today: date
    cancel: CancelFlag | None = None
    records: dict[str, Record] = field(default_factory=dict)
    view: LocalView = field(default_factory=LocalView)
    stats: dict[str, int] = field(
        default_factory=lambda: {"hashed_files": 0, "uploaded_bytes": 0, "downloaded_bytes": 0}
    )

    @property
    def root(self) -> Path:
        return self.paths.root

    def set_error(self, ident: str, reason: str) -> None:
        record = self.records.get(ident) or Record(ident)
        record.error = reason
        with self.journal.transaction():
            self.journal.save(record)
        self.records[ident] = record

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled()


def build_local_view(dossiers: list[LocalDossier], records: dict[str, Record]) -> LocalView:
    """Index the scan by dossier id; a copied folder (same id twice) is not synced."""
    by_id: dict[str, list[LocalDossier]] = {}
    invalid: list[tuple[str, str]] = []
    for dossier in dossiers:
        if dossier.id is None:
            invalid.append((dossier.path, dossier.error or "identifiant du dossier manquant"))
        else:
            by_id.setdefault(dossier.id, []).append(dossier)
    view = LocalView({}, {}, invalid)
    for ident, found in by_id.items():
        chosen = found[0]
        if len(found) > 1:
            known = records.get(ident)
            winners = [d for d in found if known is not None and d.path == known.path]
            paths = ", ".join(d.path for d in found)
            reason = f"même identifiant dans plusieurs dossiers ({paths})"
            chosen = winners[0] if winners else replace(found[0], error=reason)
            invalid.extend((d.path, reason) for d in found if d.path != chosen.path)
        view.scanned[ident] = chosen
        view.local[ident] = local_of(chosen)
    return view


def local_of(dossier: LocalDossier) -> Local:
    """The planner's view of a scanned dossier (one with an id)."""
    assert dossier.id is not None
    return Local(
        id=dossier.id,
        path=dossier.path,
        digest=dossier.digest,
        number=dossier.number,
        year=dossier.year,
        created_at=dossier.created_at,
        error=dossier.error,
    )


def base_of(record: Record) -> Base:
    return Base(
        rev=record.base_rev,
        digest=record.base_digest,
        pushed_digest=record.pushed_digest,
        applying_rev=record.applying_rev,
        error=record.error,
        held=record.path is not None,
    )


def remote_of(record: Record) -> Remote | None:
    if record.remote_rev is None and not record.remote_deleted:
        return None
    return Remote(
        rev=record.remote_rev,
        deleted=record.remote_deleted,
        conflict=record.remote_conflict,
        quarantined_until=record.quarantined_until,
        planned=record.planned,
        number=record.remote_number,
        year=record.remote_year,
    )


def trees(records: dict[str, Record]) -> tuple[dict[str, Base], dict[str, Remote]]:
    base = {i: base_of(r) for i, r in records.items()}
    remote = {i: rr for i, r in records.items() if (rr := remote_of(r)) is not None}
    return base, remote
