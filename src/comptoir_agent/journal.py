"""The station's SQLite journal: the merge base and the remote observations.

One row per dossier keeps three things (Dropbox Nucleus's trees, flattened):
what the local scan last saw (`path`, `local_*`), what was last synced with the
hub (`base_*`, the merge base) and what the change feed last said (`remote_*`).
`files` caches each local file's SHA-256 with the size and mtime it had, so a
scan hashes only what changed. `meta` holds the feed checkpoint and the last
options. Every write is a transaction; the schema version is `user_version`.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MIGRATIONS: list[str] = [
    # 1: first schema
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE dossiers (
        id TEXT PRIMARY KEY,
        path TEXT,
        number TEXT,
        year INTEGER,
        created_at TEXT,
        local_signature TEXT,
        local_digest TEXT,
        base_rev TEXT,
        base_digest TEXT,
        base_doc TEXT,
        pushed_rev TEXT,
        pushed_digest TEXT,
        remote_rev TEXT,
        remote_seq INTEGER,
        remote_deleted INTEGER NOT NULL DEFAULT 0,
        remote_conflict INTEGER NOT NULL DEFAULT 0,
        quarantined_until TEXT,
        planned TEXT,
        remote_number TEXT,
        remote_year INTEGER,
        remote_size INTEGER,
        applying_rev TEXT,
        applying_doc TEXT,
        error TEXT,
        updated_at TEXT
    );
    CREATE UNIQUE INDEX dossiers_path ON dossiers(path) WHERE path IS NOT NULL;
    CREATE TABLE files (
        dossier TEXT NOT NULL,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        PRIMARY KEY (dossier, name)
    ) WITHOUT ROWID;
    CREATE INDEX files_sha256 ON files(sha256);
    CREATE TABLE uploads (
        sha256 TEXT PRIMARY KEY,
        upload_id TEXT NOT NULL,
        size INTEGER NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE numbers (
        series TEXT NOT NULL,
        number TEXT NOT NULL,
        operator TEXT NOT NULL DEFAULT '',
        reserved_at TEXT NOT NULL,
        used_at TEXT,
        PRIMARY KEY (series, number)
    );
    """,
    # 2: revisions sent and not yet acknowledged (a lost answer must not turn the
    # station's next version into a conflict with its own earlier one)
    """
    CREATE TABLE sent (
        dossier TEXT NOT NULL,
        rev TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        PRIMARY KEY (dossier, rev)
    ) WITHOUT ROWID;
    """,
]

MAX_SENT = 20  # the hub reads that many; older ones are forgotten


@dataclass
class Record:
    """A dossier as the journal knows it (see the module docstring)."""

    id: str
    path: str | None = None
    number: str | None = None
    year: int | None = None
    created_at: str | None = None
    local_signature: str | None = None
    local_digest: str | None = None
    base_rev: str | None = None
    base_digest: str | None = None
    base_doc: str | None = None
    pushed_rev: str | None = None
    pushed_digest: str | None = None
    remote_rev: str | None = None
    remote_seq: int | None = None
    remote_deleted: bool = False
    remote_conflict: bool = False
    quarantined_until: str | None = None
    planned: str | None = None
    remote_number: str | None = None
    remote_year: int | None = None
    remote_size: int | None = None
    applying_rev: str | None = None
    applying_doc: str | None = None
    error: str | None = None
    updated_at: str | None = None

    def base_document(self) -> dict[str, Any] | None:
        if not self.base_doc:
            return None
        doc: dict[str, Any] = json.loads(self.base_doc)
        return doc


COLUMNS = [f.name for f in fields(Record)]
# Built from the dataclass's field names, never from input.
_SELECT = "SELECT " + ", ".join(COLUMNS) + " FROM dossiers"  # noqa: S608
_UPSERT = (
    "INSERT OR REPLACE INTO dossiers (" + ", ".join(COLUMNS) + ") "
    "VALUES (" + ", ".join("?" for _ in COLUMNS) + ")"
)


@dataclass(frozen=True)
class FileHash:
    size: int
    mtime_ns: int
    sha256: str


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Journal:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self._migrate()
        # File hashes to record later (`defer_hashes`), by dossier id
        self._deferred: dict[str, dict[str, FileHash]] = {}

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):  # a cache: hashed again, never in the way
            self.flush_hashes()
        self.db.close()

    def _migrate(self) -> None:
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        if version > len(MIGRATIONS):
            raise RuntimeError(
                f"Le journal {self.path} vient d'une version plus récente de l'agent "
                f"(schéma {version}) : mettez l'agent à jour."
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for statement in script.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any exception."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # meta ------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def checkpoint(self) -> int:
        return int(self.get_meta("checkpoint", "0") or 0)

    def options(self) -> dict[str, Any] | None:
        raw = self.get_meta("options")
        if raw is None:
            return None
        loaded: dict[str, Any] = json.loads(raw)
        return loaded

    # dossiers --------------------------------------------------------------

    def records(self) -> dict[str, Record]:
        cursor = self.db.execute(_SELECT)
        result: dict[str, Record] = {}
        for row in cursor:
            record = Record(*row)
            record.remote_deleted = bool(record.remote_deleted)
            record.remote_conflict = bool(record.remote_conflict)
            result[record.id] = record
        return result

    def record(self, dossier_id: str) -> Record | None:
        row = self.db.execute(_SELECT + " WHERE id = ?", (dossier_id,)).fetchone()
        if row is None:
            return None
        record = Record(*row)
        return replace(
            record,
            remote_deleted=bool(record.remote_deleted),
            remote_conflict=bool(record.remote_conflict),
        )

    def save(self, record: Record) -> None:
        """Insert or replace one row (call inside a transaction)."""
        record.updated_at = now_iso()
        if record.path is not None:
            self.db.execute(
                "UPDATE dossiers SET path = NULL WHERE path = ? AND id != ?",
                (record.path, record.id),
            )
        values = [getattr(record, name) for name in COLUMNS]
        self.db.execute(_UPSERT, values)

    def save_many(self, records: Iterable[Record]) -> None:
        """`save` each record, in that order, with two statements for them all (call
        inside a transaction)."""
        batch = list(records)
        paths = [r.path for r in batch if r.path is not None]
        if len(set(paths)) != len(paths):  # two of them claim one folder: the last wins
            for record in batch:
                self.save(record)
            return
        stamp = now_iso()
        for record in batch:
            record.updated_at = stamp
        self.db.executemany(
            "UPDATE dossiers SET path = NULL WHERE path = ? AND id != ?",
            [(r.path, r.id) for r in batch if r.path is not None],
        )
        self.db.executemany(_UPSERT, [[getattr(r, name) for name in COLUMNS] for r in batch])

    def forget(self, dossier_id: str) -> None:
        self.flush_hashes()
        self.db.execute("DELETE FROM dossiers WHERE id = ?", (dossier_id,))
        self.db.execute("DELETE FROM files WHERE dossier = ?", (dossier_id,))
        self.db.execute("DELETE FROM sent WHERE dossier = ?", (dossier_id,))

    # file hashes ----------------------------------------------------------

    def all_hashes(self) -> dict[str, dict[str, FileHash]]:
        self.flush_hashes()
        result: dict[str, dict[str, FileHash]] = {}
        for dossier, name, size, mtime_ns, sha in self.db.execute(
            "SELECT dossier, name, size, mtime_ns, sha256 FROM files"
        ):
            result.setdefault(dossier, {})[name] = FileHash(size, mtime_ns, sha)
        return result

    def hashes(self, dossier_id: str) -> dict[str, FileHash]:
        """One dossier's entry of `all_hashes()` (empty when it has none)."""
        self.flush_hashes()
        return {
            name: FileHash(size, mtime_ns, sha)
            for name, size, mtime_ns, sha in self.db.execute(
                "SELECT name, size, mtime_ns, sha256 FROM files WHERE dossier = ?", (dossier_id,)
            )
        }

    def hashes_by_dossier(self) -> Mapping[str, dict[str, FileHash]]:
        """`all_hashes()` read one dossier at a time, when asked: a scan needs the hashes
        of the folders that changed only, usually few of many."""
        return _HashesByDossier(self)

    def set_hashes(self, dossier_id: str, hashes: dict[str, FileHash]) -> None:
        self.set_many_hashes({dossier_id: hashes})

    def set_many_hashes(self, by_dossier: Mapping[str, dict[str, FileHash]]) -> None:
        """Replace the file hashes of several dossiers (three statements, not two each)."""
        self.flush_hashes()
        self._write_hashes(by_dossier)

    def defer_hashes(self, by_dossier: Mapping[str, dict[str, FileHash]]) -> None:
        """`set_many_hashes`, written later: at `flush_hashes`, which any other use of
        the hashes calls first, or when the journal is closed. The scan's thousands of
        hashes are so written while the pass waits for the hub (tree A: 30 ms of 10,000
        rows, which the first push waited for). They are a cache: a pass cut before they
        are written hashes those files again, and nothing else depends on them."""
        self._deferred.update(by_dossier)

    def flush_hashes(self) -> None:
        """Write the deferred hashes now (in the transaction under way, if any)."""
        if not self._deferred:
            return
        pending, self._deferred = self._deferred, {}
        if self.db.in_transaction:
            self._write_hashes(pending)
            return
        with self.transaction():
            self._write_hashes(pending)

    def _write_hashes(self, by_dossier: Mapping[str, dict[str, FileHash]]) -> None:
        if not by_dossier:
            return
        self.db.executemany(
            "DELETE FROM files WHERE dossier = ?", [(ident,) for ident in by_dossier]
        )
        self.db.executemany(
            "INSERT INTO files(dossier, name, size, mtime_ns, sha256) VALUES (?, ?, ?, ?, ?)",
            [
                (ident, name, h.size, h.mtime_ns, h.sha256)
                for ident, hashes in by_dossier.items()
                for name, h in hashes.items()
            ],
        )

    def _select_in(self, sql: str, values: list[str]) -> Iterator[tuple[Any, ...]]:
        """The rows of `sql` (whose `{marks}` is an IN list) for `values`, 500 at a time:
        SQLite bounds the parameters of one statement. Each part is ordered on its own."""
        for start in range(0, len(values), 500):
            part = values[start : start + 500]
            marks = ", ".join("?" for _ in part)
            yield from self.db.execute(sql.format(marks=marks), part)

    def files_with_hashes(self, hashes: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
        """(dossier id, file name) of the local files last seen with each of these
        contents: sha256 → [(dossier id, name)], contents no file holds left out."""
        self.flush_hashes()
        found: dict[str, list[tuple[str, str]]] = {}
        for dossier, name, sha in self._select_in(
            "SELECT dossier, name, sha256 FROM files WHERE sha256 IN ({marks}) "
            "ORDER BY dossier, name",
            sorted(set(hashes)),
        ):
            found.setdefault(str(sha), []).append((str(dossier), str(name)))
        return found

    # sent revisions ---------------------------------------------------------

    def sent_revs(self, dossier_ids: Iterable[str]) -> dict[str, list[str]]:
        """The revisions sent for these dossiers and never acknowledged, newest first."""
        found: dict[str, list[str]] = {}
        for dossier, rev in self._select_in(
            "SELECT dossier, rev FROM sent WHERE dossier IN ({marks}) ORDER BY sent_at DESC, rev",
            list(dossier_ids),
        ):
            found.setdefault(str(dossier), []).append(str(rev))
        return {key: revs[:MAX_SENT] for key, revs in found.items()}

    def note_sent(self, items: Iterable[tuple[str, str]]) -> None:
        """Remember (dossier id, revision) pairs about to be sent (inside a transaction)."""
        stamp = datetime.now(UTC).isoformat(timespec="microseconds")
        self.db.executemany(
            "INSERT OR IGNORE INTO sent(dossier, rev, sent_at) VALUES (?, ?, ?)",
            [(dossier, rev, stamp) for dossier, rev in items],
        )

    def clear_sent(self, dossier_id: str) -> None:
        """The hub answered for this dossier: what it was sent is known to it."""
        self.db.execute("DELETE FROM sent WHERE dossier = ?", (dossier_id,))

    # uploads ----------------------------------------------------------------

    def upload_for(self, sha256: str) -> str | None:
        row = self.db.execute(
            "SELECT upload_id FROM uploads WHERE sha256 = ?", (sha256,)
        ).fetchone()
        return str(row[0]) if row else None

    def set_upload(self, sha256: str, upload_id: str, size: int) -> None:
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO uploads(sha256, upload_id, size, created_at) "
                "VALUES (?, ?, ?, ?)",
                (sha256, upload_id, size, now_iso()),
            )

    def drop_upload(self, sha256: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM uploads WHERE sha256 = ?", (sha256,))

    def pending_uploads(self) -> list[tuple[str, str, int]]:
        return [
            (str(s), str(u), int(n))
            for s, u, n in self.db.execute("SELECT sha256, upload_id, size FROM uploads")
        ]

    # reserved numbers -------------------------------------------------------

    def add_numbers(self, series: str, numbers: Iterable[str], operator: str) -> None:
        with self.transaction():
            self.db.executemany(
                "INSERT OR IGNORE INTO numbers(series, number, operator, reserved_at) "
                "VALUES (?, ?, ?, ?)",
                [(series, n, operator, now_iso()) for n in numbers],
            )

    def take_number(self, series: str, operator: str) -> str | None:
        """Mark the first unused reserved number of the series used and return it."""
        query = "SELECT number FROM numbers WHERE series = ? AND used_at IS NULL"
        params: tuple[str, ...] = (series,)
        if operator:
            query += " AND operator IN (?, '')"
            params = (series, operator)
        with self.transaction():
            row = self.db.execute(query + " ORDER BY reserved_at, rowid LIMIT 1", params).fetchone()
            if row is None:
                return None
            self.db.execute(
                "UPDATE numbers SET used_at = ? WHERE series = ? AND number = ?",
                (now_iso(), series, row[0]),
            )
        return str(row[0])

    def unused_numbers(self, series: str) -> list[str]:
        return [
            str(r[0])
            for r in self.db.execute(
                "SELECT number FROM numbers WHERE series = ? AND used_at IS NULL "
                "ORDER BY reserved_at, rowid",
                (series,),
            )
        ]


class _HashesByDossier(Mapping[str, dict[str, FileHash]]):
    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def __getitem__(self, dossier_id: str) -> dict[str, FileHash]:
        found = self.journal.hashes(dossier_id)
        if not found:
            raise KeyError(dossier_id)
        return found

    def __iter__(self) -> Iterator[str]:
        self.journal.flush_hashes()
        rows = self.journal.db.execute("SELECT DISTINCT dossier FROM files").fetchall()
        return (str(row[0]) for row in rows)

    def __len__(self) -> int:
        self.journal.flush_hashes()
        row = self.journal.db.execute("SELECT COUNT(DISTINCT dossier) FROM files").fetchone()
        return int(row[0])
