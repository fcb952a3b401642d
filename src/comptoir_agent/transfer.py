"""Moving documents: blob uploads (batches, chunked resumable uploads), downloads, progress.

Blobs are content-addressed: the hub is asked which hashes it lacks (5000 at a
time), small files travel in `blobs/batch` bodies of up to 32 MiB, files over
4 MiB through `uploads` (resumable: the upload id is kept in the journal, and
a 409 `offset_mismatch` resumes at the offset the hub gives). Downloads use
`blobs/fetch` batches and `GET blobs/{sha256}` with `Range` for big files.
Every received byte is checked against its SHA-256 before it is used.

Batches go up two at a time, each on its own connection (`HubClient.clone`):
while the hub reads and stores one, the next is read from disk and sent. A
507 stops the start of any further batch (the one already in flight ends).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

from comptoir_agent.client import HubClient, HubError, Lender, read_json
from comptoir_agent.files import read_whole
from comptoir_agent.http import ProtocolError, Response
from comptoir_agent.journal import Journal
from comptoir_agent.protocol import (
    HASH_READ_SIZE,
    MAX_BATCH_BLOB,
    MAX_BATCH_BYTES,
    MAX_MISSING_QUERY,
    BlobHeader,
    FramingError,
    chunked,
    encode_batch_header,
    parse_batch_header,
)

# Blob batches sent at once, each on its own connection.
BATCHES_IN_FLIGHT = 2
T = TypeVar("T")
R = TypeVar("R")


class Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal and not --quiet."""

    def __init__(
        self,
        label: str,
        total: int,
        enabled: bool,
        stream: IO[str] | None = None,
        growing: bool = False,
    ) -> None:
        self.stream = stream or sys.stderr
        # growing: the total is not known yet (`grow` adds to it as work is found)
        self.enabled = enabled and (total > 0 or growing) and self.stream.isatty()
        self.label = label
        self.total = total
        self.done = 0
        self.started = time.monotonic()
        self.drawn = 0.0
        self.lock = threading.Lock()  # transfers in flight together add to it

    def add(self, amount: int) -> None:
        with self.lock:
            self._add(amount)

    def grow(self, amount: int) -> None:
        with self.lock:
            self.total += amount

    def _add(self, amount: int) -> None:
        self.done += amount
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.drawn < 0.1 and self.done < self.total:
            return
        self.drawn = now
        ratio = min(1.0, self.done / self.total) if self.total else 0.0
        width = 30
        filled = int(ratio * width)
        speed = self.done / max(now - self.started, 1e-6)
        percent = f"{ratio * 100:5.1f}".replace(".", ",")  # French: 42,5 %
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
            f"{percent} % {human_size(self.done)}/{human_size(self.total)} "
            f"{human_size(int(speed))}/s "
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.drawn:  # a bar that was never drawn leaves no empty line
            self.stream.write("\n")
            self.stream.flush()


def human_size(size: int) -> str:
    """French-style sizes: 31,2 Go."""
    value = float(size)
    for unit in ("o", "Ko", "Mo", "Go"):
        if value < 1024 or unit == "Go":
            text = f"{value:.1f}" if unit != "o" else f"{int(value)}"
            return f"{text.replace('.', ',')} {unit}"
        value /= 1024
    return f"{size} o"  # pragma: no cover


def quota_message(details: dict[str, object], fallback: tuple[int, int] | None = None) -> str:
    used, limit = details.get("used"), details.get("limit")
    if not isinstance(used, int) or not isinstance(limit, int):
        used, limit = fallback if fallback else (None, None)
    if isinstance(used, int) and isinstance(limit, int):
        return f"Quota dépassé : {gigabytes(used)} utilisés sur {gigabytes(limit)} — envoi suspendu"
    return "Quota dépassé — envoi suspendu"


def gigabytes(size: int) -> str:
    value = size / 1_000_000_000
    text = f"{value:.1f}".replace(".", ",")
    return f"{text.removesuffix(',0')} Go"


@dataclass(frozen=True)
class Source:
    """A local file that holds a blob to upload."""

    path: Path
    sha256: str
    size: int


@dataclass
class UploadOutcome:
    failed: dict[str, str] = field(default_factory=dict)  # sha256 → reason
    quota: str | None = None  # set when the hub refused with 507: nothing more was sent
    uploaded_bytes: int = 0


def missing_hashes(client: HubClient, hashes: Sequence[str]) -> set[str]:
    missing: set[str] = set()
    for part in chunked(sorted(set(hashes)), MAX_MISSING_QUERY):
        answer = client.post(client.org_path("sync/blobs/missing"), {"hashes": list(part)})
        missing.update(str(h) for h in (answer or {}).get("missing", []))
    return missing


def upload(
    client: HubClient,
    journal: Journal,
    sources: Iterable[Source],
    show_progress: bool,
    quota_fallback: tuple[int, int] | None = None,
) -> UploadOutcome:
    """Send every blob the hub lacks; stop at the first 507 (quota)."""
    by_hash: dict[str, Source] = {}
    for source in sources:
        by_hash.setdefault(source.sha256, source)
    outcome = UploadOutcome()
    if not by_hash:
        return outcome
    missing = missing_hashes(client, list(by_hash))
    for sha in sorted(set(by_hash) - missing):
        if journal.upload_for(sha):  # finished on the hub, but the answer was lost
            journal.drop_upload(sha)
    todo = [by_hash[h] for h in sorted(missing) if h in by_hash]
    if not todo:
        return outcome
    progress = Progress("Envoi", sum(s.size for s in todo), show_progress)
    try:
        small = [s for s in todo if s.size <= MAX_BATCH_BLOB]
        big = [s for s in todo if s.size > MAX_BATCH_BLOB]
        _send_batches(client, list(_batches(small)), outcome, progress, quota_fallback)
        if outcome.quota is None:
            _send_large(client, journal, big, outcome, progress, quota_fallback, threading.Lock())
    finally:
        progress.close()
    if outcome.quota:
        for source in todo:
            outcome.failed.setdefault(source.sha256, outcome.quota)
    return outcome


def _batches(sources: list[Source]) -> Iterable[list[Source]]:
    batch: list[Source] = []
    size = 0
    for source in sources:
        if batch and size + source.size > MAX_BATCH_BYTES:
            yield batch
            batch, size = [], 0
        batch.append(source)
        size += source.size
    if batch:
        yield batch


def _send_batches(
    client: HubClient,
    batches: list[list[Source]],
    outcome: UploadOutcome,
    progress: Progress,
    quota_fallback: tuple[int, int] | None,
) -> None:
    """Send the batches, BATCHES_IN_FLIGHT at a time; none starts after a 507 (quota).

    Each request in flight has its own client (one connection each); `client` is one of
    them, the others are clones closed at the end. The first exception (the hub
    unreachable…) stops the start of further batches and is raised once the batches in
    flight have ended.
    """
    lock = threading.Lock()  # outcome is shared by the threads
    stop = threading.Event()

    def send(own: HubClient, batch: list[Source]) -> None:
        if not stop.is_set() and not _send_batch(
            own, batch, outcome, progress, quota_fallback, lock, stop
        ):
            stop.set()

    in_flight(client, batches, send)


class _Skipped(Exception):
    """A job of `in_flight` not started because an earlier one failed (never raised
    out of it: the failure comes first in the jobs' order)."""


def in_flight(client: HubClient, jobs: Sequence[T], work: Callable[[HubClient, T], R]) -> list[R]:
    """`work(client, job)` for each job, BATCHES_IN_FLIGHT at a time, each on its own
    connection (`client` and clones of it, closed at the end): the results in the jobs'
    order. The first exception is raised once the jobs in flight have ended; the jobs
    not started by then are dropped."""
    if len(jobs) < 2 or BATCHES_IN_FLIGHT < 2:
        return [work(client, job) for job in jobs]
    twins = [client.clone() for _ in range(BATCHES_IN_FLIGHT - 1)]
    lender = Lender((client, *twins))
    failed = threading.Event()

    def run(job: T) -> R:
        if failed.is_set():  # another job failed: this one does not start
            raise _Skipped
        try:
            return lender.run(lambda own: work(own, job))
        except BaseException:
            failed.set()
            raise

    pool = ThreadPoolExecutor(max_workers=BATCHES_IN_FLIGHT, thread_name_prefix="comptoir-envoi")
    try:
        return [future.result() for future in [pool.submit(run, job) for job in jobs]]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for twin in twins:
            client.requests += twin.requests
            twin.close()


def _send_batch(
    client: HubClient,
    batch: list[Source],
    outcome: UploadOutcome,
    progress: Progress,
    quota_fallback: tuple[int, int] | None,
    lock: threading.Lock,
    stop: threading.Event | None = None,
) -> bool:
    """One blobs/batch request; False when the quota stops all uploads.

    Not sent when `stop` is set by the time the files are read.
    """
    parts: list[bytes] = []
    headers: list[BlobHeader] = []
    for source in batch:
        try:
            data = read_whole(source.path)
        except OSError as exc:
            with lock:
                outcome.failed[source.sha256] = f"fichier illisible {source.path.name!r} : {exc}"
            continue
        # Checked here: one changed file would make the hub refuse the whole batch.
        if len(data) != source.size or hashlib.sha256(data).hexdigest() != source.sha256:
            with lock:
                outcome.failed[source.sha256] = (
                    f"{source.path.name!r} a changé pendant la synchronisation : "
                    "renvoi au prochain passage"
                )
            continue
        parts.append(data)
        headers.append(BlobHeader(source.sha256, source.size))
    if not headers:
        return True
    if stop is not None and stop.is_set():  # a 507 (or an error) came while reading
        return True
    body = b"".join([encode_batch_header(headers), *parts])
    parts.clear()  # only the body stays in memory while it travels
    try:
        client.post_batch(client.org_path("sync/blobs/batch"), body)
    except HubError as exc:
        with lock:
            if exc.status == 507:
                if outcome.quota is None:
                    outcome.quota = quota_message(exc.details, quota_fallback)
                return False
            for header in headers:
                outcome.failed[header.sha256] = f"envoi refusé par le cloud : {exc.message}"
        return True
    sent = sum(h.size for h in headers)
    with lock:
        outcome.uploaded_bytes += sent
        progress.add(sent)
    return True


@dataclass
class _Large:
    """A big file's resumable upload: opened on the calling thread (the journal lives
    there), its chunks sent on any, its end written back to the journal by the caller."""

    source: Source
    upload_id: str = ""
    offset: int = 0
    chunk_size: int = 1
    complete: bool = False
    drop: bool = False  # forget the journal's upload id (finished, or refused for good)


def _send_large(
    client: HubClient,
    journal: Journal,
    big: list[Source],
    outcome: UploadOutcome,
    progress: Progress,
    quota_fallback: tuple[int, int] | None,
    lock: threading.Lock,
) -> None:
    """The resumable uploads of `big`, BATCHES_IN_FLIGHT at a time; none starts after a
    507 (quota). Journal reads and writes stay on this thread."""
    stop = threading.Event()

    def run(each: HubClient, large: _Large) -> None:
        if stop.is_set():
            return
        try:
            _send_chunks(each, large, outcome, progress, quota_fallback, lock)
        finally:
            if outcome.quota is not None:
                stop.set()

    uploads: list[_Large] = []
    for source in big:
        if outcome.quota is not None:
            break
        large = _Large(source)
        try:
            large.upload_id, large.offset, large.chunk_size, large.complete = _open_upload(
                client, journal, source
            )
        except HubError as exc:
            _chunked_refused(large, exc, outcome, quota_fallback, lock)
            _journal_done(journal, large)
            continue
        uploads.append(large)
    try:
        in_flight(client, uploads, run)
    finally:
        for large in uploads:
            _journal_done(journal, large)


def _journal_done(journal: Journal, large: _Large) -> None:
    if large.drop:
        journal.drop_upload(large.source.sha256)


def _send_chunks(
    client: HubClient,
    large: _Large,
    outcome: UploadOutcome,
    progress: Progress,
    quota_fallback: tuple[int, int] | None,
    lock: threading.Lock,
    halt: threading.Event | None = None,
) -> bool:
    """Send the chunks of an opened upload from its offset; records the outcome. True
    when the upload is complete.

    `halt`: once set, no further chunk is sent (the upload stays open on the hub, which
    resumes it by its hash)."""
    source = large.source
    try:
        with open(source.path, "rb") as handle:
            while not large.complete:
                if halt is not None and halt.is_set():
                    return False
                handle.seek(large.offset)
                chunk = handle.read(min(large.chunk_size, source.size - large.offset))
                if not chunk:
                    raise OSError("fichier raccourci pendant l'envoi")
                end = large.offset + len(chunk) - 1
                try:
                    answer = client.send(
                        "PUT",
                        client.org_path(f"sync/uploads/{large.upload_id}"),
                        chunk,
                        {
                            "Content-Range": f"bytes {large.offset}-{end}/{source.size}",
                            "Content-Type": "application/octet-stream",
                        },
                    )
                    state = _json(answer)
                except HubError as exc:
                    if exc.code == "offset_mismatch" and isinstance(exc.details.get("offset"), int):
                        large.offset = int(exc.details["offset"])
                        continue
                    raise
                with lock:
                    progress.add(len(chunk))
                    outcome.uploaded_bytes += len(chunk)
                new_offset = state.get("offset")
                large.offset = new_offset if isinstance(new_offset, int) else end + 1
                large.complete = bool(state.get("complete"))
    except HubError as exc:
        _chunked_refused(large, exc, outcome, quota_fallback, lock)
        return False
    except OSError as exc:
        with lock:
            outcome.failed[source.sha256] = f"lecture de {source.path.name!r} impossible : {exc}"
        return False
    large.drop = True
    return True


def _chunked_refused(
    large: _Large,
    exc: HubError,
    outcome: UploadOutcome,
    quota_fallback: tuple[int, int] | None,
    lock: threading.Lock,
) -> None:
    with lock:
        if exc.status == 507:
            if outcome.quota is None:
                outcome.quota = quota_message(exc.details, quota_fallback)
            return
        if exc.code in {"hash_mismatch", "not_found"}:
            large.drop = True
        outcome.failed[large.source.sha256] = (
            f"envoi de {large.source.path.name!r} refusé : {exc.message}"
        )


def _json(response: Response) -> dict[str, object]:
    value = read_json(response)
    return value if isinstance(value, dict) else {}


def _open_upload(client: HubClient, journal: Journal, source: Source) -> tuple[str, int, int, bool]:
    """Resume the journal's upload of this blob when the hub still has it, else start one."""
    known = journal.upload_for(source.sha256)
    if known:
        try:
            state = client.get(client.org_path(f"sync/uploads/{known}")) or {}
            chunk = int(state.get("chunk_size") or DEFAULT_CHUNK)
            return known, int(state.get("offset", 0)), chunk, bool(state.get("complete"))
        except HubError as exc:
            if exc.status != 404:
                raise
            journal.drop_upload(source.sha256)
    large = start_upload(client, source)
    if large.upload_id:
        journal.set_upload(source.sha256, large.upload_id, source.size)
    return large.upload_id, large.offset, large.chunk_size, large.complete


DEFAULT_CHUNK = 8 * 1024 * 1024  # when the hub does not say


def start_upload(client: HubClient, source: Source) -> _Large:
    """`POST sync/uploads`: a new upload of `source`, the one the hub has going for these
    bytes (it resumes an upload by its hash), or a complete one when it has them."""
    state = client.post(
        client.org_path("sync/uploads"), {"sha256": source.sha256, "size": source.size}
    )
    large = _Large(source, chunk_size=DEFAULT_CHUNK)
    if state.get("complete"):  # the hub already has this content
        large.offset, large.complete = source.size, True
        return large
    large.upload_id = str(state["id"])
    large.offset = int(state.get("offset", 0))
    large.chunk_size = max(int(state.get("chunk_size") or DEFAULT_CHUNK), 1)
    return large


# downloads ----------------------------------------------------------------------------------


class DownloadError(Exception):
    pass


READ_PIECE = 1024 * 1024  # a batch's body is read by pieces this big


def fetch_batch(client: HubClient, hashes: Sequence[str], progress: Progress) -> dict[str, bytes]:
    """One blobs/fetch request (≤ 32 MiB): the blobs the hub sent, each checked."""
    response = client.send(
        "POST",
        client.org_path("sync/blobs/fetch"),
        _json_body({"hashes": list(hashes)}),
        {"Content-Type": "application/json", "Accept": "application/x-comptoir-batch"},
    )
    try:
        header_line = response.readline(1024 * 1024 * 4)
        headers = parse_batch_header(header_line)
        blobs: dict[str, bytes] = {}
        pending = bytearray()  # read by pieces of READ_PIECE, not one read per blob
        index = 0
        while index < len(headers):
            while len(pending) < headers[index].size:
                piece = response.read(max(READ_PIECE, headers[index].size - len(pending)))
                if not piece:
                    raise DownloadError("lot de documents tronqué")
                pending += piece
            used = 0
            with memoryview(pending) as view:
                while index < len(headers) and len(pending) - used >= headers[index].size:
                    header = headers[index]
                    data = bytes(view[used : used + header.size])
                    if hashlib.sha256(data).hexdigest() != header.sha256:
                        raise DownloadError(f"document {header.sha256[:12]}… corrompu en route")
                    blobs[header.sha256] = data
                    progress.add(header.size)
                    used += header.size
                    index += 1
            del pending[:used]
        rest = response.read()  # to the end: the connection serves the next request
        if pending or rest:
            raise DownloadError("octets en trop dans le lot de documents")
    except DownloadError:
        # A corrupt blob stops the reading mid-answer: the connection cannot serve
        # another request (the next one opens a new connection).
        response.close()
        client.close()
        raise
    except FramingError as exc:
        try:
            response.read()
        except (OSError, ProtocolError):  # a header cut short by the network
            client.close()
        raise DownloadError(str(exc)) from exc
    except (OSError, ValueError, ProtocolError) as exc:
        # A connection cut mid-body: a short read, a reset, or IncompleteRead (chunked).
        response.close()
        client.close()
        raise DownloadError(f"téléchargement interrompu : {exc}") from exc
    return blobs


def _json_body(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def fetch_large(
    client: HubClient, sha256: str, size: int, target: Path, progress: Progress
) -> None:
    """GET blobs/{sha256} into `target` (resuming a partial file with Range), checked, fsynced."""
    have = target.stat().st_size if target.exists() else 0
    if have > size:
        target.unlink()
        have = 0
    digest = hashlib.sha256()
    if have:
        with open(target, "rb") as existing:
            while chunk := existing.read(HASH_READ_SIZE):
                digest.update(chunk)
        progress.add(have)
    if have < size:
        headers = {"Accept": "application/octet-stream"}
        if have:
            headers["Range"] = f"bytes={have}-{size - 1}"
        response = client.send("GET", client.org_path(f"sync/blobs/{sha256}"), None, headers)
        if have and response.status != 206:
            # The hub ignored the range: start over.
            digest = hashlib.sha256()
            have = 0
        try:
            with open(target, "ab" if have else "wb") as out:
                while chunk := response.read(HASH_READ_SIZE):
                    out.write(chunk)
                    digest.update(chunk)
                    have += len(chunk)
                    progress.add(len(chunk))
                out.flush()
                os.fsync(out.fileno())
        except (OSError, ValueError, ProtocolError) as exc:
            response.close()
            client.close()
            raise DownloadError(f"téléchargement interrompu : {exc}") from exc
    if have < size:  # the connection closed early: kept, the next pass resumes with Range
        client.close()
        raise DownloadError(f"document {sha256[:12]}… incomplet : reprise au prochain passage")
    if have != size or digest.hexdigest() != sha256:
        target.unlink(missing_ok=True)
        raise DownloadError(f"document {sha256[:12]}… incomplet ou corrompu")


def group_by_size(
    items: Sequence[tuple[str, int]], limit: int = MAX_BATCH_BYTES
) -> list[list[str]]:
    """Hashes grouped so that each group's sizes add up to at most `limit`."""
    groups: list[list[str]] = []
    current: list[str] = []
    total = 0
    for sha, size in items:
        if current and total + size > limit:
            groups.append(current)
            current, total = [], 0
        current.append(sha)
        total += size
    if current:
        groups.append(current)
    return groups
