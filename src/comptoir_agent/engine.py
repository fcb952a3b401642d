"""One sync pass: scan, options, change feed, plan, upload, push, fetch, trash, report.

The decisions come from `planner.plan` (pure); this module does the I/O and
keeps the journal honest: a dossier's merge base moves only after the hub
acknowledged it (push) or after its files are on disk (fetch), each step in a
transaction, so killing the process anywhere and running again converges
(revision ids are content-derived, a resent push answers `unchanged`).
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from comptoir_agent import __version__
from comptoir_agent import ahead as early
from comptoir_agent.client import HubClient, HubError, Lender
from comptoir_agent.files import TEMP_PREFIX, move_to_trash, sweep_staged_folders, sync_dir
from comptoir_agent.journal import FileHash, Record
from comptoir_agent.layout import LocalDossier, Ready, name_problem, read_dossier, scan
from comptoir_agent.planner import RED, Action, Context, Decision, Options, Plan, plan
from comptoir_agent.protocol import (
    MAX_BULK_DOSSIERS,
    MAX_FEED_PAGE,
    digest_of_canonical,
    encode_push,
    next_rev,
    tapered,
)
from comptoir_agent.state import (
    EXIT_ATTENTION,
    EXIT_OK,
    EXIT_SAFETY,
    LocalView,
    PassState,
    build_local_view,
    trees,
)

# A report the hub already has is sent again after this many seconds only.
REPORT_EVERY = 600
# A group's push travels while the next group's files go up (see `_push`).
PUSH_AHEAD = True
# Group pushes in flight together, each on its own connection (with two groups too: the
# last one does not wait for the first one's answer).
PUSHES_IN_FLIGHT = 2
# The smallest group pushed on its own (see `protocol.tapered`): below, a push costs
# more in round trips than it saves in waiting.
PUSH_LEAST = 100


@dataclass
class PassResult:
    exit_code: int
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None
    stats: dict[str, int] = field(default_factory=dict)


@dataclass
class BringResult:
    """What `agenda` did: each zone dossier's decision after the fetch, and those fetched."""

    exit_code: int
    decisions: dict[str, Decision] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)
    present: set[str] = field(default_factory=set)  # the dossiers on the station now
    message: str | None = None
    stats: dict[str, int] = field(default_factory=dict)


def is_partial_apply(
    local_doc: dict[str, Any], base_doc: Any, target_doc: Any, staged: Collection[str] = ()
) -> bool:
    """Whether a folder holds a mix of the base and the target of an interrupted write.

    The write stages every new content as a temporary file, then replaces the files one
    by one: a target file is in place, still at its base version, or — new in the target
    — absent with its staged copy beside it (`staged`: the names that have one). Any
    other absence is the user's doing (a removal the write must not undo).
    """
    if not isinstance(target_doc, dict):
        return False
    base_doc = base_doc if isinstance(base_doc, dict) else {"files": []}

    def fields(doc: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in doc.items() if k != "files"}

    if fields(local_doc) not in (fields(base_doc), fields(target_doc)):
        return False
    allowed = {(f["name"], f["sha256"]) for f in base_doc.get("files", [])}
    allowed |= {(f["name"], f["sha256"]) for f in target_doc.get("files", [])}
    if not all((f["name"], f["sha256"]) in allowed for f in local_doc.get("files", [])):
        return False
    present = {f["name"] for f in local_doc.get("files", [])}
    in_base = {f["name"] for f in base_doc.get("files", [])}
    return all(
        f["name"] in present or (f["name"] not in in_base and f["name"] in staged)
        for f in target_doc.get("files", [])
    )


def _feed_filter(options: Options) -> str:
    """The options the hub filters the feed by (a change means reading it all again)."""
    return json.dumps([options.fetch_missing, str(options.fetch_after), options.fetch_horizon_days])


def _asked_reread(info: Any) -> int | None:
    """The `reread` counter in the hub's answer to `sync/station` (None: none given)."""
    asked = info.get("reread") if isinstance(info, dict) else None
    return asked if isinstance(asked, int) and not isinstance(asked, bool) else None


def _feed_page(since: int) -> str:
    return f"sync/changes?since={since}&limit={MAX_FEED_PAGE}"


def _staged_names(folder: Path) -> set[str]:
    """The files of `folder` a write staged and has not put in place (yet)."""
    try:
        with os.scandir(folder) as entries:
            return {e.name[len(TEMP_PREFIX) :] for e in entries if e.name.startswith(TEMP_PREFIX)}
    except OSError:
        return set()


def options_plan(state: PassState, options: Options, wanted: frozenset[str] = frozenset()) -> Plan:
    """The plan for the state in memory (used for the final statuses and by `status`).

    `wanted`: dossiers to fetch whatever the options say (the exchange zone)."""
    base, remote = trees(state.records)
    send = state.settings.send or not options.not_systematic
    context = Context(
        today=state.today,
        send=send,
        confirm_deletes=state.settings.confirm_deletes,
        delete_limit=state.settings.delete_limit,
        wanted=wanted,
    )
    view = state.view
    return plan(view.local, base, remote, options, context, view.invalid)


def scan_into(
    state: PassState,
    on_ready: Ready | None = None,
    loaded: bool = False,
    on_found: Callable[[], None] | None = None,
) -> str | None:
    """Scan the data folder into `state.view`; returns a safety-stop reason, if any.

    `loaded`: `state.records` already holds the journal's records. `on_found`: called
    once, when the scan finds its first dossier (there will be no safety stop)."""
    if not loaded:
        state.records = state.journal.records()
    result = scan(
        state.root,
        state.records,
        state.journal.hashes_by_dossier(),
        on_ready=on_ready,
        on_found=on_found,
    )
    state.stats["hashed_files"] = result.hashed_files
    state.view = build_local_view(result.dossiers, state.records)
    base, _ = trees(state.records)
    check = plan(state.view.local, base, {}, Options(), Context(state.today), state.view.invalid)
    return check.stop


class SyncPass:
    """One pass over a paired, locked data folder (see the module docstring)."""

    def __init__(self, state: PassState) -> None:
        self.state = state
        self.root = state.root
        self.paths = state.paths
        self.journal = state.journal
        self.client = state.client
        self.settings = state.settings
        self.log = state.log
        self.today = state.today
        self.options = Options()
        self.quota: tuple[int, int] | None = None
        self.reread: int | None = None  # a re-read asked on the web, not yet honoured
        self.trashed = 0
        self.ahead: early.Ahead | None = None
        self.on_hub: frozenset[str] = frozenset()  # hashes the early sending found there

    @property
    def records(self) -> dict[str, Record]:
        return self.state.records

    @property
    def view(self) -> LocalView:
        return self.state.view

    def run(self) -> PassResult:
        try:
            result = self._run()
        finally:
            if self.ahead is not None:
                self.ahead.abandon()
        self.journal.flush_hashes()  # what the scan hashed, when no push wrote it already
        return result

    def _run(self) -> PassResult:
        ahead = None
        if early.EARLY:
            # The files of what the scan finds to push go up while it goes on (ahead.py).
            self.state.records = self.journal.records()
            ahead = self.ahead = early.Ahead(
                self.client,
                self.root,
                self.settings.send,
                self.today,
                self.records,
                self.settings.progress,
                feed_path=self._feed_guess(),
            )
        stop = scan_into(
            self.state,
            ahead.offer if ahead else None,
            loaded=ahead is not None,
            on_found=ahead.found if ahead else None,
        )
        if stop:  # nothing was offered: the hub was asked nothing (see `run`)
            return PassResult(EXIT_SAFETY, message=stop)
        if ahead is not None:
            ahead.close()
        self._persist_scan()
        self._load_station(ahead.station_info() if ahead else None)
        if self.options.enabled:
            self._pull_feed()
        self._mark_partial_applies()
        the_plan = options_plan(self.state, self.options)
        acted = self._execute(the_plan) if self.options.enabled else False
        # Its own writes are in place: a new dossier's folder still staged was left by a
        # pass that was cut, and holds only copies of the hub's files.
        sweep_staged_folders(self.root)
        # Nothing done, nothing changed: the plan is already the final one.
        final = options_plan(self.state, self.options) if acted else the_plan
        if the_plan.deletes_held:
            final.stop = the_plan.stop
        return self._finish(final)

    def bring(self, entries: list[dict[str, Any]]) -> BringResult:
        """`agenda`: write the exchange zone's dossiers here, whatever the fetch options say.

        `entries` are the zone's dossiers as the hub describes them (the change feed's
        shape). The same steps as a pass — safety valves, scan, options, plan, fetch —
        but only fetches: local changes wait for the next `sync`, nothing is trashed,
        and a dossier changed here is never overwritten (the plan decides, as in a pass).
        """
        stop = scan_into(self.state)
        if stop:
            return BringResult(EXIT_SAFETY, message=stop)
        self._persist_scan()
        self._load_station()
        if not self.options.enabled:
            return BringResult(
                EXIT_OK, message="Synchronisation désactivée pour ce poste : rien n'est récupéré."
            )
        wanted = self._observe_zone(entries)
        self._mark_partial_applies()
        the_plan = options_plan(self.state, self.options, wanted)
        for ident in the_plan.ids(Action.ADOPT):
            if ident in wanted:
                self._adopt(ident)
        to_apply = [ident for ident in the_plan.ids(Action.APPLY) if ident in wanted]
        if to_apply:
            self.state.check_cancel()
            from comptoir_agent.fetching import Fetcher  # only when there is something to fetch

            Fetcher(self.state).apply(to_apply)
        return self._brought(wanted, to_apply)

    def _observe_zone(self, entries: list[dict[str, Any]]) -> frozenset[str]:
        """Record the zone's entries like feed entries; a later head the journal knows wins."""
        wanted: set[str] = set()
        observed: list[Record] = []
        with self.journal.transaction():
            for item in entries:
                ident = str(item.get("id"))
                known = self.records.get(ident)
                seq = item.get("seq")
                older = (
                    known is not None
                    and isinstance(known.remote_seq, int)
                    and isinstance(seq, int)
                    and seq < known.remote_seq
                )
                if not older:
                    observed.append(self._observe(item))
                wanted.add(ident)
            self.journal.save_many(observed)
        return frozenset(wanted)

    def _brought(self, wanted: frozenset[str], applied: list[str]) -> BringResult:
        final = options_plan(self.state, self.options, wanted)
        decisions = {ident: final.decisions[ident] for ident in wanted if ident in final.decisions}
        present = set(self.view.local)
        for ident in wanted - present:
            error = (self.records.get(ident) or Record(ident)).error
            if error:  # not here: say why (the plan would only say "to resume")
                decisions[ident] = Decision(ident, Action.NONE, RED, error)
        fetched = [
            ident
            for ident in applied
            if ident in present and not (self.records.get(ident) or Record(ident)).error
        ]
        attention = any(d.colour == RED or d.conflict for d in decisions.values())
        code = EXIT_ATTENTION if attention else EXIT_OK
        return BringResult(code, decisions, fetched, present, stats=dict(self.state.stats))

    # scan → journal ---------------------------------------------------------------------

    def _persist_scan(self) -> None:
        seen: set[str] = set()
        hashes: dict[str, dict[str, FileHash]] = {}
        changed: list[Record] = []
        with self.journal.transaction():
            for ident, dossier in self.view.scanned.items():
                seen.add(ident)
                record = self.records.get(ident) or Record(ident)
                before = _scanned_fields(record)
                record.path = dossier.path
                if dossier.error is None:
                    record.number = dossier.number
                    record.year = dossier.year
                    record.created_at = dossier.created_at
                    record.local_signature = None if dossier.racy else dossier.signature
                    record.local_digest = dossier.digest
                    if dossier.hashes is not None:
                        hashes[ident] = dossier.hashes
                if _scanned_fields(record) != before or ident not in self.records:
                    changed.append(record)
                    self.records[ident] = record
            # Two statements for them all: a first scan records thousands of dossiers.
            self.journal.save_many(changed)
            # Written while the pushes travel, or at the end (`Journal.defer_hashes`)
            self.journal.defer_hashes(hashes)
            for ident, record in self.records.items():
                if ident not in seen and record.path is not None:
                    record.path = None
                    record.local_signature = None
                    self.journal.save(record)

    # station and feed -------------------------------------------------------------------

    def _load_station(self, info: Any = None) -> None:
        """The station's options, quota and re-read request (`info`: the hub's answer to
        `sync/station`, when the early sending already asked)."""
        if info is None:
            info = self.client.get(self.client.org_path("sync/station")) or {}
        raw_options = info.get("options") if isinstance(info, dict) else None
        self.options = Options.of_station(info)
        quota = info.get("quota") if isinstance(info, dict) else None
        if isinstance(quota, dict) and isinstance(quota.get("used"), int):
            limit = quota.get("limit")
            self.quota = (int(quota["used"]), int(limit) if isinstance(limit, int) else 0)
        asked = _asked_reread(info)
        honoured = self._reread_done()
        if asked is not None and asked > honoured:
            self.reread = asked  # honoured (recorded) by `_pull_feed`
        feed_filter = _feed_filter(self.options)
        with self.journal.transaction():
            self.journal.set_meta("options", json.dumps(raw_options or {}, sort_keys=True))
            if self.quota:
                self.journal.set_meta("quota", json.dumps(list(self.quota)))
            if self.journal.get_meta("feed_filter", feed_filter) != feed_filter:
                # The hub filters the feed by these options: dossiers it left out before
                # may be wanted now, so read the feed again from the start.
                self.journal.set_meta("checkpoint", "0")
                self.log.info("Options de récupération changées : relecture complète du cloud.")
            self.journal.set_meta("feed_filter", feed_filter)
            if asked is not None and asked < honoured:
                # The hub went back (restored): follow it, or its next request would be
                # taken for one already honoured.
                self.journal.set_meta("reread", str(asked))

    def _feed_guess(self) -> Callable[[Any], str | None]:
        """For the early sending: the feed page this pass will read first, told from the
        station's answer as `_load_station` and `_pull_feed` will (a wrong guess only
        costs the request: the pass asks itself for any other page)."""
        checkpoint = self.journal.checkpoint()
        stored = self.journal.get_meta("feed_filter")
        done = self._reread_done()

        def guess(info: Any) -> str | None:
            if not isinstance(info, dict):
                return None
            asked = _asked_reread(info)
            refilter = stored is not None and stored != _feed_filter(Options.of_station(info))
            since = 0 if refilter or (asked is not None and asked > done) else checkpoint
            return self.client.org_path(_feed_page(since))

        return guess

    def _reread_done(self) -> int:
        """The last `reread` value of the hub that a feed pass honoured (0: none)."""
        raw = self.journal.get_meta("reread", "0") or "0"
        return int(raw) if raw.isdigit() else 0

    def _pull_feed(self) -> None:
        since = self.journal.checkpoint()
        if self.reread is not None:
            # Asked on the web (“Relire depuis le début”): the whole feed again, which only
            # re-lists dossiers as a first pass does. The value is recorded with the last
            # page only, so a pass cut short (or a lost answer) reads it all again.
            self.log.info(
                "Relecture complète demandée depuis le cloud : "
                "la liste des dossiers est relue depuis le début."
            )
            since = 0
        early = self.ahead
        while True:
            path = self.client.org_path(_feed_page(since))
            page = early.feed_page(path) if early is not None else None
            early = None  # only the first page is asked early
            if page is None:
                page = self.client.get(path)
            results = page.get("results", []) if isinstance(page, dict) else []
            next_seq = int(page.get("next", since)) if isinstance(page, dict) else since
            if isinstance(page, dict) and page.get("reset"):
                self.log.warn(
                    "Le cloud est revenu en arrière (sauvegarde restaurée ?) : "
                    "la liste des changements est relue depuis le début."
                )
            done = not isinstance(page, dict) or bool(page.get("done", True))
            last = done or not results or next_seq == since
            with self.journal.transaction():
                self.journal.save_many([self._observe(item) for item in results])
                self.journal.set_meta("checkpoint", str(next_seq))
                if last and self.reread is not None:
                    self.journal.set_meta("reread", str(self.reread))
            if last:
                return
            since = next_seq

    def _observe(self, item: dict[str, Any]) -> Record:
        """Take a feed entry into the dossier's record (the caller saves it)."""
        ident = str(item.get("id"))
        record = self.records.get(ident) or Record(ident)
        record.remote_rev = item.get("rev") or None
        record.remote_seq = item.get("seq")
        record.remote_deleted = bool(item.get("deleted"))
        record.remote_conflict = bool(item.get("conflict"))
        record.quarantined_until = item.get("quarantined_until") or None
        record.planned = item.get("planned") or None
        record.remote_number = item.get("number")
        record.remote_year = item.get("year")
        record.remote_size = item.get("size")
        if record.number is None:
            record.number, record.year = record.remote_number, record.remote_year
        self.records[ident] = record
        return record

    def _mark_partial_applies(self) -> None:
        for ident, local in list(self.view.local.items()):
            record = self.records.get(ident)
            scanned = self.view.scanned.get(ident)
            if not record or not record.applying_doc or not scanned or scanned.doc is None:
                continue
            if local.digest == record.base_digest:
                continue
            target = json.loads(record.applying_doc)
            staged = _staged_names(self.root / scanned.path)
            if is_partial_apply(scanned.doc, record.base_document(), target, staged):
                self.view.local[ident] = replace(local, partial_apply=True)

    # execution --------------------------------------------------------------------------

    def _execute(self, the_plan: Plan) -> bool:
        """Carry out the plan; False when it held nothing to do (the state is unchanged)."""
        if all(d.action is Action.NONE for d in the_plan.decisions.values()):
            return False
        for ident in the_plan.ids(Action.ADOPT):
            self._adopt(ident)
        self.state.check_cancel()
        pushes = the_plan.ids(Action.PUSH)
        refetch = self._push(pushes) if pushes else []
        applies = the_plan.ids(Action.APPLY)
        to_apply = applies + [i for i in refetch if i not in applies]
        if to_apply:
            self.state.check_cancel()
            from comptoir_agent.fetching import Fetcher  # only when there is something to fetch

            Fetcher(self.state).apply(to_apply)
        trash = the_plan.ids(Action.TRASH)
        if trash:
            self._trash(trash)
        forget = the_plan.ids(Action.FORGET)
        if forget:
            with self.journal.transaction():
                for ident in forget:
                    self.journal.forget(ident)
                    self.records.pop(ident, None)
        return True

    def _document(self, ident: str) -> LocalDossier | None:
        """The local document of a dossier, read again if the scan only used its cache."""
        scanned = self.view.scanned.get(ident)
        if scanned is None:
            return None
        if scanned.doc is not None:
            return scanned
        fresh = read_dossier(self.root, scanned.path, self.journal.hashes(ident))
        if fresh.doc is not None and fresh.hashes:
            with self.journal.transaction():
                self.journal.set_hashes(ident, fresh.hashes)
        self.view.scanned[ident] = fresh
        return fresh

    def _set_error(self, ident: str, reason: str) -> None:
        self.state.set_error(ident, reason)

    def _adopt(self, ident: str) -> None:
        record = self.records[ident]
        dossier = self._document(ident)
        if dossier is None or dossier.canonical is None or dossier.digest is None:
            return
        record.base_rev = record.remote_rev
        record.base_digest = dossier.digest
        record.base_doc = dossier.canonical.decode("utf-8")
        record.local_digest = dossier.digest
        record.pushed_rev = record.pushed_digest = record.applying_rev = None
        record.applying_doc = None
        record.error = None
        with self.journal.transaction():
            self.journal.save(record)

    def _push(self, ids: list[str]) -> list[str]:
        """Upload the missing blobs, then push; returns the ids to fetch back (renumbered).

        Dossiers go by groups of at most MAX_BULK_DOSSIERS, smaller towards the end (the
        last group's push is what the pass waits for once its files are up): a group's
        files, then the group itself. With several groups, a group's push travels on its
        own connection while the next group's files go up, PUSHES_IN_FLIGHT at most (the
        hub checks one while it writes the other); the answers are recorded in order as
        they come.
        """
        from concurrent.futures import Future, ThreadPoolExecutor

        ready: dict[str, LocalDossier] = {}
        canonical: dict[str, bytes] = {}  # set with the document by the scan (`_build`)
        for ident in ids:
            dossier = self._document(ident)
            if dossier is None or dossier.canonical is None or dossier.digest is None:
                self._set_error(ident, (dossier.error if dossier else None) or "dossier illisible")
                continue
            ready[ident] = dossier
            canonical[ident] = dossier.canonical
        # In the scan's order, the early sending's: the first group's files are up first.
        ordered = sorted(ready.items(), key=lambda pair: pair[1].path)
        groups = list(tapered(ordered, MAX_BULK_DOSSIERS, PUSH_LEAST))
        ahead = len(groups) > 1 and PUSH_AHEAD
        pushers = min(PUSHES_IN_FLIGHT, len(groups)) if ahead else 0
        pusher = ThreadPoolExecutor(max_workers=pushers) if pushers else None
        push_clients = [self.client.clone() for _ in range(pushers)]
        lender = Lender(push_clients)
        sent: list[tuple[list[dict[str, Any]], Future[Any]]] = []
        quota_told = False
        try:
            for group in groups:
                self.state.check_cancel()
                self._early_wait(group)
                items, quota = self._upload_group(group)
                if quota and not quota_told:
                    self.log.warn(quota)
                    quota_told = True
                if not items:
                    continue
                self._note_sent(items)
                path = self.client.org_path("sync/dossiers/push")
                body = encode_push(items, canonical)
                if pusher is not None:
                    post = functools.partial(_post, path=path, body=body)
                    sent.append((items, pusher.submit(lender.run, post)))
                else:
                    done: Future[Any] = Future()
                    done.set_result(self.client.post_encoded(path, body))
                    sent.append((items, done))
            self._early_done()
            self.journal.flush_hashes()  # while the hub reads the pushes
            refetch: list[str] = []
            for items, answered in sent:
                answer = answered.result()
                results = {str(r.get("id")): r for r in (answer or {}).get("results", [])}
                with self.journal.transaction():
                    for item in items:
                        ident = item["id"]
                        if self._pushed(item, results.get(ident), canonical[ident]):
                            refetch.append(item["id"])
            return refetch
        finally:
            if pusher is not None:
                pusher.shutdown(wait=True, cancel_futures=True)
            for each in push_clients:
                self.client.requests += each.requests
                each.close()

    def _early_wait(self, group: Sequence[tuple[str, LocalDossier]]) -> None:
        """Wait until the early sending has sent this group's files (or is over), so
        that the group goes while the files of the next ones still travel."""
        if self.ahead is None:
            return
        hashes = {f["sha256"] for _ident, d in group for f in d.doc["files"]}  # type: ignore[index]
        self.on_hub = self.on_hub | self.ahead.wait_sent(hashes - self.on_hub)

    def _early_done(self) -> None:
        """Wait for the early sending; what it sent counts, what it found on the hub is
        not asked again."""
        ahead, self.ahead = self.ahead, None
        if ahead is None:
            return
        ahead.finish()
        self.state.stats["uploaded_bytes"] += ahead.sent_bytes
        self.client.requests += ahead.requests
        self.on_hub = self.on_hub | ahead.sent
        # an upload the journal still names for a blob now on the hub is finished
        for sha, _id, _size in self.journal.pending_uploads():
            if sha in self.on_hub:
                self.journal.drop_upload(sha)

    def _upload_group(
        self, group: Sequence[tuple[str, LocalDossier]]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Send the files a group of dossiers needs; the push items of those whose files
        are all on the hub (the others get their error), and the quota message if any."""
        from comptoir_agent.transfer import Source, upload

        on_hub = self.on_hub
        sources = [
            Source(self.root / d.path / f["name"], f["sha256"], f["size"])
            for _ident, d in group
            for f in d.doc["files"]  # type: ignore[index]
            if f["sha256"] not in on_hub
        ]
        outcome = upload(self.client, self.journal, sources, self.settings.progress, self.quota)
        self.state.stats["uploaded_bytes"] += outcome.uploaded_bytes
        items = []
        for ident, dossier in group:
            doc = dossier.doc
            assert doc is not None and dossier.digest is not None
            failures = [
                outcome.failed[f["sha256"]] for f in doc["files"] if f["sha256"] in outcome.failed
            ]
            if failures:
                self._set_error(ident, failures[0])
                continue
            base_rev = self.records[ident].base_rev if ident in self.records else None
            items.append(
                {
                    "id": ident,
                    "base_rev": base_rev,
                    "rev": next_rev(base_rev, dossier.digest),
                    "document": doc,
                }
            )
        return items, outcome.quota

    def _note_sent(self, items: list[dict[str, Any]]) -> None:
        """Name the revisions sent before whose answer never came (the hub lets the new
        version follow them instead of calling it a conflict with them), and note these
        ones before they leave."""
        earlier = self.journal.sent_revs(item["id"] for item in items)
        for item in items:
            revs = [rev for rev in earlier.get(item["id"], []) if rev != item["rev"]]
            if revs:
                item["sent"] = revs
        with self.journal.transaction():
            self.journal.note_sent((item["id"], item["rev"]) for item in items)

    def _pushed(
        self, item: dict[str, Any], result: dict[str, Any] | None, canonical: bytes
    ) -> bool:
        """Record one push answer (inside a transaction); True when the head must be fetched.
        `canonical`: the canonical bytes of the item's document."""
        ident = item["id"]
        record = self.records.get(ident) or Record(ident)
        self.records[ident] = record
        doc = item["document"]
        digest = digest_of_canonical(canonical)
        if result is None:
            record.error = "Pas de réponse du cloud pour ce dossier"
            self.journal.save(record)
            return False
        status = result.get("status")
        head_rev = result.get("head_rev") or result.get("rev") or item["rev"]
        if status in {"accepted", "unchanged", "conflict"}:
            self.journal.clear_sent(ident)
        if status == "rejected":
            record.error = _rejection(result)
            self.journal.save(record)
            return False
        renumbered = bool(result.get("number")) and result.get("number") != doc.get("number")
        if status == "conflict":
            record.pushed_rev = item["rev"]
            record.pushed_digest = digest
            record.remote_rev = head_rev
            record.remote_conflict = True
            record.error = None
            if renumbered and item["base_rev"] is None:
                # The hub renumbered this new dossier but that answer was lost, and it
                # was changed since: the folder takes the hub's number (so that it does
                # not hold another dossier's place), the local version stays as it is.
                self._renumber(record, doc, str(result["number"]))
            self.journal.save(record)
            return False
        if status not in {"accepted", "unchanged"}:
            record.error = f"Réponse inattendue du cloud : {status!r}"
            self.journal.save(record)
            return False
        # Our revision is on the hub (as the head, or in its history when the hub
        # renumbered it or moved on since): it is the merge base. A newer head is
        # fetched in this very pass.
        record.base_rev = item["rev"]
        record.base_digest = digest
        record.base_doc = canonical.decode("utf-8")
        record.remote_rev = head_rev
        record.remote_seq = result.get("head_seq") or result.get("seq") or record.remote_seq
        record.pushed_rev = record.pushed_digest = None
        record.error = None
        record.remote_deleted = False
        if renumbered and not self._renumber(record, doc, str(result["number"])):
            self.journal.save(record)
            return False
        self.journal.save(record)
        return bool(head_rev != item["rev"])

    def _renumber(self, record: Record, doc: dict[str, Any], number: str) -> bool:
        """The hub kept another number: move the folder (the head is fetched next)."""
        problem = name_problem(number)
        if problem or record.path is None:
            record.error = f"Numéro donné par le cloud inutilisable : {problem}"
            return False
        new_rel = f"{record.path.rsplit('/', 1)[0]}/{number}"
        if new_rel != record.path:
            new = self.root / new_rel
            if new.exists():
                record.error = (
                    f"Renuméroté {number} par le cloud, mais le dossier {new_rel} existe déjà"
                )
                return False
            os.replace(self.root / record.path, new)
            sync_dir(new.parent)
            record.path = new_rel
            self.log.info(f"Dossier {doc.get('number')} renuméroté {number} par le cloud.")
        local = self.view.local.get(record.id)
        if local is not None:
            self.view.local[record.id] = replace(local, path=new_rel, number=number)
        scanned = self.view.scanned.get(record.id)
        if scanned is not None:
            scanned.path = new_rel
        return True

    # tombstones -------------------------------------------------------------------------

    def _trash(self, ids: list[str]) -> None:
        for ident in ids:
            record = self.records.get(ident)
            local = self.view.local.get(ident)
            if record is None or local is None:
                continue
            source = self.root / local.path
            try:
                if source.exists():
                    where = move_to_trash(source, self.paths.trash, local.path, self.today)
                    self.log.info(
                        f"Dossier {local.number} supprimé sur le cloud : déplacé dans {where}"
                    )
            except OSError as exc:
                self._set_error(ident, f"Mise à la corbeille impossible : {exc}")
                continue
            with self.journal.transaction():
                self.journal.forget(ident)
            self.records.pop(ident, None)
            self.view.local.pop(ident, None)
            self.view.scanned.pop(ident, None)
            self.trashed += 1

    # report -----------------------------------------------------------------------------

    def _finish(self, final: Plan) -> PassResult:
        counts = final.counts()
        errors: list[dict[str, Any]] = []
        for ident, decision in final.decisions.items():
            if decision.colour == RED:
                record = self.records.get(ident)
                errors.append(
                    {
                        "dossier": ident,
                        "number": record.number if record else None,
                        "reason": decision.reason,
                    }
                )
        for path, reason in final.invalid:
            errors.append({"dossier": None, "number": path.rsplit("/", 1)[-1], "reason": reason})
        report = {
            "version": __version__,
            "counts": counts,
            "errors": errors[:200],
            "checkpoint": self.journal.checkpoint(),
        }
        if self._report_due(report):
            try:
                self.client.post(self.client.org_path("sync/station/report"), report)
            except HubError as exc:
                if exc.status == 401:
                    raise
                self.log.warn(f"Rapport non envoyé au cloud : {exc.message}")
            else:
                with self.journal.transaction():
                    self.journal.set_meta("last_report", json.dumps(report, sort_keys=True))
                    self.journal.set_meta("last_report_at", str(time.time()))
        attention = counts[RED] > 0 or any(d.conflict for d in final.decisions.values())
        code = EXIT_SAFETY if final.stop else EXIT_ATTENTION if attention else EXIT_OK
        return PassResult(code, counts, errors, final.stop, dict(self.state.stats))

    def _report_due(self, report: dict[str, Any]) -> bool:
        """Whether to send the report: it changed, or the last one is REPORT_EVERY old.
        (The station's “last seen” on the web follows its every call, reports or not.)"""
        if self.journal.get_meta("last_report") != json.dumps(report, sort_keys=True):
            return True
        try:
            sent_at = float(self.journal.get_meta("last_report_at") or 0)
        except ValueError:
            return True
        return not 0 <= time.time() - sent_at < REPORT_EVERY


def _rejection(result: dict[str, Any]) -> str:
    message = str(result.get("message") or result.get("code") or "refusé")
    details = result.get("details") if isinstance(result.get("details"), dict) else {}
    assert isinstance(details, dict)
    errors = details.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        loc = ".".join(str(p) for p in errors[0].get("loc", []))
        message += f" ({loc} : {errors[0].get('msg')})"
    if result.get("code") == "missing_blobs":
        message = "Documents manquants sur le cloud : renvoi au prochain passage"
    return f"Refusé par le cloud : {message}"


def _scanned_fields(record: Record) -> tuple[Any, ...]:
    """What `_persist_scan` may change in a record (compared to skip unchanged rows)."""
    return (
        record.path,
        record.number,
        record.year,
        record.created_at,
        record.local_signature,
        record.local_digest,
    )


def _post(client: HubClient, path: str, body: bytes) -> Any:
    return client.post_encoded(path, body)
