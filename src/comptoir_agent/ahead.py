"""Files sent while the scan goes on, before the plan exists.

A first pass over thousands of new dossiers read and hashed every file, then
planned, then read every file again to send it, the hub idle all through the
scan. Here the scan hands each dossier it had to read over as soon as its files
are hashed, with the bytes it hashed (`layout.Ready`). A thread of its own asks
the hub for the station's options, decides for each dossier what the plan would
(`planner.decide`, with what the journal knew before the pass) and, for a
dossier to push, sends the files the hub lacks, two requests in flight, each
on its own connection: small files in batches of EARLY_BATCH_BYTES — the bytes
sent are the bytes hashed, so a file changed since is sent at the next pass —
and big ones through their resumable upload (the hub resumes it by its hash
when a pass is cut, so no upload id needs keeping).

Blobs are named by their hash and a batch changes no dossier: a blob sent for a
dossier the plan does not push after all (the change feed said something new)
costs bytes, never correctness. This thread never touches the journal. Any
failure — quota, network, a refusal — only ends the early sending: the pass's
own upload then finds what the hub still lacks and tells why.
"""

from __future__ import annotations

import functools
import threading
from collections import deque
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from comptoir_agent.client import HubClient, Lender
from comptoir_agent.journal import Record
from comptoir_agent.layout import LocalDossier
from comptoir_agent.planner import Action, Context, Options, decide
from comptoir_agent.protocol import MAX_BATCH_BLOB

if TYPE_CHECKING:
    from concurrent.futures import Future

    from comptoir_agent.transfer import Progress

# Off in the simulation, whose passes run on one thread in a fixed order.
EARLY = True
# Bytes of files per early batch: small, so the hub starts storing early in the scan.
EARLY_BATCH_BYTES = 8 * 1024 * 1024
# ... or this many while no batch is in flight (fewer wait for more, or for the scan's
# end: a request for each of a few changed dossiers costs more than it saves).
EARLY_START_BYTES = 1024 * 1024
# Bytes handed over and not yet taken into a batch; beyond, the scan waits.
HELD_BYTES = 32 * 1024 * 1024
# Small files the scan's cache knew (not read): whether the hub has them is asked with a
# batch's own question, at most this many per batch.
EARLY_CHECKS = 2000
IN_FLIGHT = 2
# A batch of at most this many bytes (and nothing to check) is sent without first asking
# which of its files the hub lacks: at worst these bytes travel for nothing.
SMALL_BATCH_BYTES = 256 * 1024
# Once a question found every file of its batch missing (new files, as in a first pass),
# the next batches go without asking, whatever their size, until a batch's answer says the
# hub had some of them: then at most one batch per flight travelled for nothing.


class EarlyStop(Exception):
    """The early sending ends here (the pass's own upload takes over)."""


class Ahead:
    """The early sending of one pass (see the module docstring).

    The calling thread lends `client` for the station request only: it must not use
    it before `station_info()` has returned.
    """

    def __init__(
        self,
        client: HubClient,
        root: Path,
        send: bool,
        today: date,
        records: Mapping[str, Record],
        show_progress: bool = False,
        feed_path: Callable[[Any], str | None] | None = None,
    ) -> None:
        self.client = client
        self.root = root
        self.send = send  # --send
        self.show_progress = show_progress
        self.progress: Progress | None = None
        self.large: set[str] = set()  # big files whose upload started
        self.today = today
        self.records = dict(records)  # the journal before the pass
        self.cond = threading.Condition()
        self.items: deque[tuple[LocalDossier, dict[str, bytes]]] = deque()
        self.held = 0
        self.closed = False  # the scan is over: nothing more will be offered
        self.stopped = False  # nothing more will be sent
        # The hub is asked nothing before the scan found a dossier or ended without a
        # safety stop (a stopped pass sends no request at all).
        self.go = threading.Event()
        self.halt = threading.Event()  # set with `stopped`: a big upload sends no more
        self.info: Any = None
        self.info_error: Exception | None = None
        self.info_ready = threading.Event()
        # The first page of the change feed, asked while the scan goes on: `feed_path`
        # tells, from the station's answer, which page the pass will read first.
        self.feed_path = feed_path
        self.feed: tuple[str, Any] | None = None
        self.feed_thread: threading.Thread | None = None
        self.sent_bytes = 0
        self.sent: set[str] = set()  # guarded by `cond`
        self.all_new = False  # the last answer: the hub lacked every file of its batch
        self.finished = False  # the thread is over: `sent` grows no more
        self.requests = 0
        self.thread = threading.Thread(target=self._run, name="comptoir-envoi-anticipe")
        self.thread.daemon = True
        self.thread.start()

    # the scan's side --------------------------------------------------------------------

    def offer(self, dossier: LocalDossier, contents: dict[str, bytes]) -> None:
        """A dossier read and hashed by the scan, with the bytes of its small files."""
        if dossier.doc is None or dossier.id is None or dossier.error:
            return
        size = sum(len(data) for data in contents.values())
        with self.cond:
            while not self.stopped and self.held and self.held + size > HELD_BYTES:
                self.cond.wait()
            if self.stopped:
                return
            self.items.append((dossier, contents))
            self.held += size
            self.cond.notify_all()
        self.go.set()

    def found(self) -> None:
        """The scan found a dossier: it will not end in a safety stop, so the hub may be
        asked for the station's options (and the feed's first page) while it goes on."""
        self.go.set()

    def close(self) -> None:
        """The scan is over (without a safety stop: see `abandon`)."""
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        self.go.set()

    def station_info(self) -> Any:
        """The hub's answer to `sync/station` (raises what the request raised)."""
        self.info_ready.wait()
        if self.info_error is not None:
            raise self.info_error
        return self.info

    def feed_page(self, path: str) -> Any:
        """The hub's answer to `GET path` if it was asked early (None otherwise: ask)."""
        self.info_ready.wait()
        if self.feed_thread is not None:
            self.feed_thread.join()
        if self.feed is not None and self.feed[0] == path:
            return self.feed[1]
        return None

    def wait_sent(self, hashes: set[str]) -> frozenset[str]:
        """Those of `hashes` the hub has, once each of them is there or the early sending
        is over: the pass pushes a group of dossiers as soon as their files are up, while
        the later groups' files still travel."""
        with self.cond:
            while not self.finished and not hashes <= self.sent:
                self.cond.wait()
            return frozenset(hashes & self.sent)

    def finish(self) -> None:
        """Wait until everything offered is sent (or the sending stopped)."""
        self.close()
        self.thread.join()

    def abandon(self) -> None:
        """Stop at once (the pass ends early): nothing more starts; waits for the thread."""
        self._stop()
        self.thread.join()
        if self.feed_thread is not None:
            self.feed_thread.join()

    # the thread -------------------------------------------------------------------------

    def _stop(self) -> None:
        self.halt.set()
        with self.cond:
            self.stopped = True
            self.items.clear()
            self.held = 0
            self.cond.notify_all()
        self.go.set()

    def _take(self) -> tuple[LocalDossier, dict[str, bytes]] | None:
        with self.cond:
            while not self.items and not self.closed and not self.stopped:
                self.cond.wait()
            if self.stopped or not self.items:
                return None
            item = self.items.popleft()
            self.held -= sum(len(data) for data in item[1].values())
            self.cond.notify_all()
            return item

    def _run(self) -> None:
        try:
            self._work()
        finally:
            with self.cond:
                self.finished = True
                self.cond.notify_all()

    def _work(self) -> None:
        clients: list[HubClient] = []
        self.go.wait()
        if self.stopped:  # abandoned before anything was asked
            self.info_ready.set()
            return
        try:
            try:
                self.info = self.client.get(self.client.org_path("sync/station")) or {}
                # Made before the lent client goes back: a clone copies it.
                clients = [self.client.clone() for _ in range(IN_FLIGHT)]
                options = Options.of_station(self.info)
                path = self.feed_path(self.info) if self.feed_path and options.enabled else None
                if path is not None:
                    reader = self.client.clone()
                    self.feed_thread = threading.Thread(
                        target=self._read_feed, args=(reader, path), name="comptoir-flux"
                    )
                    self.feed_thread.daemon = True
                    self.feed_thread.start()
            except Exception as exc:  # noqa: BLE001 - raised in the pass's thread
                self.info_error = exc
                return
            finally:
                self.info_ready.set()
            context = Context(today=self.today, send=self.send or not options.not_systematic)
            if options.enabled and context.send:
                self._send_all(options, context, clients)
        except Exception:  # noqa: BLE001, S110 - any failure only ends the early sending
            pass
        finally:
            self._stop()
            with self.cond:
                for each in clients:
                    self.requests += each.requests
            for each in clients:
                each.close()

    def _read_feed(self, client: HubClient, path: str) -> None:
        """Ask the feed's first page; any failure leaves it to the pass (it asks again)."""
        try:
            self.feed = (path, client.get(path))
        except Exception:  # noqa: BLE001, S110 - the pass asks again and reports
            pass
        finally:
            with self.cond:
                self.requests += client.requests
            client.close()

    def _send_all(self, options: Options, context: Context, clients: list[HubClient]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from comptoir_agent.state import base_of, local_of, remote_of
        from comptoir_agent.transfer import Progress

        lender = Lender(clients)
        lock = threading.Lock()
        pool = ThreadPoolExecutor(max_workers=IN_FLIGHT, thread_name_prefix="comptoir-envoi")
        flying: deque[Future[None]] = deque()
        self.progress = Progress("Envoi", 0, self.show_progress, growing=True)

        def launch(job: Callable[[HubClient], None]) -> None:
            while len(flying) >= IN_FLIGHT:
                flying.popleft().result()  # a failure ends the sending here
            flying.append(pool.submit(lender.run, job))

        def batch_job(batch: dict[str, bytes], check: set[str]) -> Callable[[HubClient], None]:
            return lambda own: self._send_batch(own, batch, lock, check)

        try:
            batch: dict[str, bytes] = {}
            check: set[str] = set()  # small files the scan did not read (its cache knew them)
            size = 0
            while (item := self._take()) is not None:
                dossier, contents = item
                assert dossier.id is not None and dossier.doc is not None
                record = self.records.get(dossier.id)
                base = base_of(record) if record else None
                remote = remote_of(record) if record else None
                decision = decide(dossier.id, local_of(dossier), base, remote, options, context)
                if decision.action is not Action.PUSH:
                    continue
                for entry in dossier.doc.get("files", []):
                    sha = entry["sha256"]
                    data = contents.get(sha)
                    if data is not None and sha not in batch:
                        batch[sha] = data
                        size += len(data)
                    elif data is None and entry["size"] <= MAX_BATCH_BLOB:
                        check.add(sha)
                    elif entry["size"] > MAX_BATCH_BLOB and sha not in self.large:
                        # A big file is not kept by the scan: its resumable upload reads it
                        # again (the hub checks its hash at the end).
                        self.large.add(sha)
                        path = self.root / dossier.path / entry["name"]
                        launch(functools.partial(self._send_large, path, sha, entry["size"], lock))
                while flying and flying[0].done():
                    flying.popleft().result()  # a failure ends the sending here
                # Full, or worth a request while nothing is in flight: the hub would be
                # idle, so it starts early in the scan; when it is the slower, batches
                # fill up while the earlier ones travel.
                idle = not flying and size >= EARLY_START_BYTES
                if idle or size >= EARLY_BATCH_BYTES or len(check) >= EARLY_CHECKS:
                    launch(batch_job(batch, check))
                    batch, check, size = {}, set(), 0
            if batch or check:
                launch(batch_job(batch, check))
            while flying:
                flying.popleft().result()
        finally:
            self._stop()  # the scan stops waiting on a failure
            pool.shutdown(wait=True, cancel_futures=True)
            self._progress().close()

    def _progress(self) -> Progress:
        assert self.progress is not None  # made by _send_all before any sending
        return self.progress

    def _send_batch(
        self, client: HubClient, batch: dict[str, bytes], lock: threading.Lock, check: set[str]
    ) -> None:
        """Send what the hub lacks of `batch`; the files of `check` it has count as sent
        (asked in the same request: the pass's upload does not ask for them again)."""
        from comptoir_agent.protocol import BlobHeader, encode_batch_header
        from comptoir_agent.transfer import missing_hashes

        check = check - batch.keys()
        small = sum(len(data) for data in batch.values()) <= SMALL_BATCH_BYTES
        if not check and (small or self.all_new):
            # Small, or new files like the last batch's: sent without asking first (the
            # hub keeps only what it lacks), one round trip instead of two.
            missing = set(batch)
        else:
            missing = missing_hashes(client, [*batch, *check])
            if batch:
                self.all_new = missing >= batch.keys()
        wanted = [sha for sha in batch if sha in missing]
        size = sum(len(batch[sha]) for sha in wanted)
        if wanted:
            self._progress().grow(size)
            headers = [BlobHeader(sha, len(batch[sha])) for sha in wanted]
            body = b"".join([encode_batch_header(headers), *(batch[sha] for sha in wanted)])
            answer = client.post_batch(client.org_path("sync/blobs/batch"), body)
            if isinstance(answer, dict) and answer.get("existing"):
                self.all_new = False  # the hub had some: the next batch asks first
            self._progress().add(size)
        self._sent({*batch, *(check - missing)}, size)

    def _send_large(
        self, path: Path, sha256: str, size: int, lock: threading.Lock, client: HubClient
    ) -> None:
        """One big file's resumable upload (the hub resumes it by its hash next time if
        this pass is cut: no journal needed); a refusal only ends the early sending."""
        from comptoir_agent.transfer import Source, UploadOutcome, _send_chunks, start_upload

        large = start_upload(client, Source(path, sha256, size))
        if not large.complete:
            self._progress().grow(size - large.offset)
            outcome = UploadOutcome()
            if not _send_chunks(client, large, outcome, self._progress(), None, lock, self.halt):
                raise EarlyStop(outcome.quota or next(iter(outcome.failed.values()), "envoi"))
            self._sent(set(), outcome.uploaded_bytes)
        self._sent({sha256}, 0)

    def _sent(self, hashes: set[str], size: int) -> None:
        with self.cond:
            self.sent.update(hashes)
            self.sent_bytes += size
            self.cond.notify_all()
