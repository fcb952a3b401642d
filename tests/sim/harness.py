"""A deterministic, seeded simulation of the sync: one hub, several agents, faults.

`run_seed(seed, workdir)` builds a world from one `random.Random(seed)`: the real
hub (Django, reached in-process through the test `Client`), two to four real
agents (the `comptoir-agent` command line, in-process, each with its own data
folder and journal) and the web editing the same dossiers. Then it plays random
steps — local edits, web edits, sync passes, conflict resolutions — while the
network drops requests (before or after the hub handled them, or in the middle
of an answer or of an uploaded chunk), the hub is killed in the middle of a
request (its uncommitted work is rolled back) and agents are killed at a random
request, file rename or journal commit (then rebuilt from their data folder, as
a restarted process would be). Then it heals: no more faults, passes until
nothing moves, every conflict resolved, passes again; and checks the invariants
(`check_world`): convergence, no version lost, every byte matching its hash,
sane journals.

docs/sync/simulation.md explains the fault model and how to replay a seed.
Nothing here is used by the product.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import random
import re
import sqlite3
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

from comptoir_agent import ahead as agent_ahead
from comptoir_agent import cli as agent_cli
from comptoir_agent import client as agent_client
from comptoir_agent import conflicts as agent_conflicts
from comptoir_agent import engine as agent_engine
from comptoir_agent import fetching as agent_fetching
from comptoir_agent import files as agent_files
from comptoir_agent import http as agent_http
from comptoir_agent import journal as agent_journal
from comptoir_agent import layout as agent_layout
from comptoir_agent import transfer as agent_transfer
from comptoir_agent.client import HubClient
from comptoir_agent.journal import Journal

SIM_HUB = "http://hub.sim"
KILLED = -9  # the exit "code" of an agent killed by the simulation
LARGE_FILE = 1024  # files above this go through chunked uploads / ranged downloads
CHUNK_SIZE = 384  # the chunk size the hub asks for
YEAR = 2026
FILE_NAMES = ("rapport.pdf", "photo-1.jpg", "photo-2.jpg", "plan.dwg", "annexe.txt")
STATUSES = ("to_schedule", "scheduled", "done", "report_sent", "invoiced", "paid", "archived")
CITIES = ("Lille", "Roubaix", "Tourcoing", "Douai", "Arras", "Lens", "Béthune")
CLIENTS = ("Agence du Beffroi", "Cabinet Vauban", "SCI des Flandres", "Mme Lefebvre")
VIRTUAL_START = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)
USER_MTIME_START = 1_500_000_000 * 10**9  # harness writes get unique, old mtimes
QUIESCENCE_ROUNDS = 8
AFTER_WORK = "after the answer was built"
UPLOAD_ID = re.compile(r"uploads/[0-9a-f-]{36}")


class AgentKilled(BaseException):
    """kill -9 of an agent process: nothing of the agent catches it."""


class HubKilled(BaseException):
    """kill -9 of the hub in the middle of a request."""


class SimCrash(Exception):
    """The product misbehaved outright (a traceback, an unexpected exit code)."""


# --- the world's shared state while a seed runs -------------------------------------------


@dataclass
class AgentRun:
    """One agent process: a command line invocation, maybe killed at its N-th event."""

    agent: Agent
    faults: bool
    kill_at: int | None
    depth: int = 0
    events: int = 0

    def tick(self) -> bool:
        """Count an event (request, rename, journal commit); True when the process dies here."""
        self.events += 1
        return self.kill_at is not None and self.events >= self.kill_at


class _Active:
    world: World | None = None
    runs: list[AgentRun] = []


ACTIVE = _Active()


def _current_run() -> AgentRun | None:
    return ACTIVE.runs[-1] if ACTIVE.runs else None


def _agent_event(kind: str) -> None:
    """A kill point inside the agent (a file rename, a journal commit)."""
    run = _current_run()
    if run is not None and run.tick():
        assert ACTIVE.world is not None
        ACTIVE.world.faults[f"agent_kill_{kind}"] += 1
        raise AgentKilled(kind)


class SimJournal(Journal):
    """The agent's journal; a kill may land just before any COMMIT (rolled back).

    Not fsynced: a simulated kill -9 loses no page cache (power cuts are out of scope).
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.db.execute("PRAGMA synchronous=OFF")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with super().transaction():
            yield
            _agent_event("commit")


class _ModuleProxy:
    """Stands for a module inside one agent module (`os`, `time`), with a few overrides."""

    def __init__(self, module: Any, **overrides: Any) -> None:
        self._module = module
        self.__dict__.update(overrides)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def _replace_hooked(src: Any, dst: Any) -> None:
    _agent_event("rename")
    os.replace(src, dst)


def _rename_hooked(src: Any, dst: Any) -> None:  # a new dossier's folder put in place
    _agent_event("rename")
    os.rename(src, dst)


def _no_fsync(fd: int) -> None:
    return None  # see SimJournal: durability against power cuts is not simulated


def _no_fsync_all(paths: Any, directories: bool = False, workers: int = 16) -> None:
    return None


# Argparse is rebuilt on every call of the command line: built once here (same parser).
_parser = functools.cache(agent_cli.build_parser)


def _never_racy() -> int:
    # The scan trusts no file modified in the 2 s before it ("racily clean"). Wall-clock
    # dependent, so it would make replays differ: the harness gives every file it writes
    # a unique mtime instead, and the scan's clock is far in the future.
    return 2**62


# --- the network: the seam is HubClient._connect -------------------------------------------


class SimResponse:
    """What `comptoir_agent.http.Response` offers the agent, over bytes, maybe cut short."""

    def __init__(
        self,
        status: int,
        headers: dict[str, str],
        body: bytes,
        cut: int | None = None,
        cut_kind: str = "eof",
    ) -> None:
        self.status = status
        self.reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.chunked = "content-length" not in self.headers
        self.cut = cut is not None
        self.cut_kind = cut_kind
        self.body = body if cut is None else body[:cut]
        self.pos = 0

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def _broken(self, partial: bytes) -> BaseException:
        if self.cut_kind == "reset":
            return ConnectionResetError(104, "Connection reset by peer (simulated)")
        return agent_http.IncompleteRead(partial)

    def read(self, amt: int | None = None) -> bytes:
        rest = self.body[self.pos :]
        if amt is None or amt < 0:
            self.pos = len(self.body)
            if self.cut:
                raise self._broken(rest)
            return rest
        data = rest[:amt]
        self.pos += len(data)
        if len(data) < amt and self.cut and (self.chunked or self.cut_kind == "reset"):
            # Chunked bodies raise IncompleteRead; a known length gives a short read.
            raise self._broken(data)
        return data

    def readline(self, limit: int = -1) -> bytes:
        rest = self.body[self.pos :]
        end = rest.find(b"\n")
        size = len(rest) if end < 0 else end + 1
        if limit is not None and limit >= 0:
            size = min(size, limit)
        data = rest[:size]
        self.pos += len(data)
        if end < 0 and self.cut and (self.chunked or self.cut_kind == "reset"):
            raise self._broken(data)
        return data

    def close(self) -> None:
        self.pos = len(self.body)


@dataclass
class HubAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


class SimConnection:
    """A `comptoir_agent.http.Connection` whose other end is the in-process hub."""

    sock = None

    def __init__(self, world: World, run: AgentRun | None) -> None:
        self.world = world
        self.run = run
        self.answer: SimResponse | None = None
        self.error: BaseException | None = None

    def request(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.answer, self.error = None, None
        self.world.network_request(self, method, url, body, dict(headers or {}))

    def getresponse(self) -> SimResponse:
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        assert self.answer is not None, "getresponse() without request()"
        answer, self.answer = self.answer, None
        return answer

    def close(self) -> None:
        self.answer = None


def _no_sleep(seconds: float) -> None:
    return None


class SimClient(HubClient):
    """The agent's HubClient: its own `_send_once` (retry once, error mapping) runs as is;
    only the connection is the simulated one. Sleeps are no-ops."""

    def __init__(
        self,
        hub: str,
        token: str | None = None,
        org: str | None = None,
        sleep: Any = None,
        read_timeout: float = agent_client.READ_TIMEOUT,
    ) -> None:
        super().__init__(hub, token, org, sleep=_no_sleep, read_timeout=read_timeout)
        self.run = _current_run()

    def _connect(self) -> agent_http.Connection:
        if self.conn is None:
            world = ACTIVE.world
            assert world is not None, "the simulated hub is not running"
            world.network_connect(self.run)
            self.conn = SimConnection(world, self.run)  # type: ignore[assignment]
        return self.conn


# --- the hub, in-process ---------------------------------------------------------------------


class Clock:
    """The hub's clock: virtual, one second per request (replays must not depend on time)."""

    def __init__(self) -> None:
        self.current = VIRTUAL_START

    def now(self) -> datetime:
        return self.current

    def tick(self, seconds: float = 1.0) -> None:
        self.current += timedelta(seconds=seconds)


class Hub:
    """Dispatches requests to the real Django application; can die in the middle of one.

    A kill raises HubKilled before the K-th SQL statement of the request: the hub's
    open transaction (a savepoint here) rolls back, what committed before stays, as
    after a kill -9. Statements inside a savepoint-less atomic block at the request's
    top level are not kill points (in production that block is its own transaction;
    here it could not be rolled back alone): the kill moves to the next statement.
    """

    def __init__(self, clock: Clock) -> None:
        from django.test import Client

        self.clock = clock
        self.client = Client(raise_request_exception=True)

    def handle(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: dict[str, str],
        *,
        kill_at: int | None = None,
        deliver: int | None = None,
    ) -> HubAnswer:
        from django.db import connection

        extra: dict[str, Any] = {}
        for name, value in headers.items():
            key = name.lower()
            if key == "content-type":
                extra["CONTENT_TYPE"] = value
            elif key not in {"content-length", "host"}:
                extra["HTTP_" + name.upper().replace("-", "_")] = value
        if body is not None:
            sent = body if deliver is None else body[:deliver]
            extra["CONTENT_LENGTH"] = str(len(body))
            extra["wsgi.input"] = io.BytesIO(sent)  # a cut body: short reads, as on a socket
        self.clock.tick()
        base = len(connection.atomic_blocks)
        count = 0

        def killer(execute: Callable[..., Any], sql: str, params: Any, many: bool, ctx: Any) -> Any:
            nonlocal count
            if kill_at is not None and not sql.lstrip().upper().startswith(
                ("SAVEPOINT", "RELEASE", "ROLLBACK")
            ):
                count += 1
                blocks = connection.atomic_blocks[base:]
                if count >= kill_at and (not blocks or blocks[0].savepoint):
                    raise HubKilled(f"statement {count}")
            return execute(sql, params, many, ctx)

        with connection.execute_wrapper(killer):
            response = self.client.generic(method, url, **extra)
            # (No response.close(): the test client closes it with the signal that would
            # close the database connection disconnected; closing again would close it.)
            if response.streaming:
                content = b"".join(response.streaming_content)  # type: ignore[attr-defined]
            else:
                content = response.content
            if kill_at is not None:
                # Killed after the work, before the answer left: the client sees nothing.
                raise HubKilled(AFTER_WORK)
        return HubAnswer(response.status_code, dict(response.items()), content)


# --- agents and local folders ----------------------------------------------------------------


@dataclass
class Agent:
    index: int
    name: str
    root: Path
    station: Any = None  # the hub's Station row


@dataclass(frozen=True)
class LocalCopy:
    """A dossier folder as the harness reads it (independently of the agent's code)."""

    id: str
    path: str
    doc: dict[str, Any]
    digest: str


def canonical(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest_of(doc: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(doc)).hexdigest()[:32]


def rev_digest(rev: str) -> str:
    return rev.partition("-")[2]


def _synced_name(name: str) -> bool:
    return name != "dossier.json" and not name.startswith(
        (agent_files.TEMP_PREFIX, "~$", ".~lock.")
    )


def read_local(root: Path) -> dict[str, LocalCopy]:
    """Every dossier folder `<year>/<number>/` of a data folder, with its file manifest.

    As the agent's layout sees them: a hidden folder (the agent's own
    `.comptoir-tmp-<number>/`, a new dossier being written) is not a dossier, and the
    simulated user does not work in it.
    """
    found: dict[str, LocalCopy] = {}
    for year in sorted(root.iterdir()):
        if not (year.is_dir() and year.name.isdigit() and len(year.name) == 4):
            continue
        for folder in sorted(year.iterdir()):
            meta = folder / "dossier.json"
            if folder.name.startswith(".") or not folder.is_dir() or not meta.is_file():
                continue
            doc = json.loads(meta.read_bytes())
            manifest = []
            for path in sorted(folder.iterdir()):
                if path.is_file() and _synced_name(path.name):
                    data = path.read_bytes()
                    sha = hashlib.sha256(data).hexdigest()
                    manifest.append({"name": path.name, "sha256": sha, "size": len(data)})
            doc["files"] = manifest
            ident = str(doc.get("id"))
            if ident in found:
                raise SimCrash(f"{root}: the id {ident} is in two folders")
            found[ident] = LocalCopy(ident, f"{year.name}/{folder.name}", doc, digest_of(doc))
    return found


# --- results -----------------------------------------------------------------------------------


@dataclass
class SimResult:
    seed: int
    violations: list[str]
    faults: Counter[str]
    stats: Counter[str]
    trace: list[str]
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.violations

    def explain(self, tail: int = 80) -> str:
        lines = [f"seed {self.seed}: {len(self.violations)} violation(s)"]
        lines += [f"  - {v}" for v in self.violations[:30]]
        lines.append(f"faults: {dict(self.faults)}")
        lines.append(f"last {min(tail, len(self.trace))} trace lines:")
        lines += [f"  {t}" for t in self.trace[-tail:]]
        lines.append(f"replay: COMPTOIR_SIM_SEED={self.seed} pytest tests/sim -p no:xdist")
        return "\n".join(lines)


@dataclass
class Rates:
    """Fault probabilities, per request attempt (scaled by the seed's intensity)."""

    cut_before: float = 0.025
    cut_after: float = 0.025
    cut_response: float = 0.025
    cut_body: float = 0.02
    cut_chunk: float = 0.25  # a chunk PUT cut in the middle of its body
    hub_kill: float = 0.02
    hub_kill_write: float = 0.08  # requests that store something (push, upload, resolve)
    busy: float = 0.01
    web_during_pass: float = 0.04
    nested_pass: float = 0.03
    agent_kill: float = 0.3  # per agent command: killed at a random event

    def scaled(self, factor: float) -> Rates:
        values = {k: min(0.9, v * factor) for k, v in vars(self).items()}
        values["agent_kill"] = min(0.9, self.agent_kill * max(factor, 0.5))
        return Rates(**values)


# --- the world ----------------------------------------------------------------------------------


class World:
    """One seed's hub, agents and bookkeeping. Use `run_seed`."""

    def __init__(self, seed: int, workdir: Path, rates: Rates | None = None) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.workdir = workdir
        self.faults: Counter[str] = Counter()
        self.stats: Counter[str] = Counter()
        self.trace: list[str] = []
        self.clock = Clock()
        self.hub = Hub(self.clock)
        intensity = self.rng.choice((0.5, 1.0, 1.0, 2.0))
        self.rates = (rates or Rates()).scaled(intensity)
        self.faults_on = False
        self.hub_down = 0
        self.mtime_ns = USER_MTIME_START
        self.agents: list[Agent] = []
        self.org: Any = None
        self.admin: Any = None
        self.tech: Any = None
        # what must be on the hub at the end
        self.hub_versions: dict[tuple[str, str], str] = {}  # (dossier, rev) → who
        self.user_versions: dict[tuple[int, str], LocalCopy] = {}  # last local edit per agent
        self.owed: list[tuple[str, str, str, dict[str, Any]]] = []  # who, id, digest, doc
        self.web_files = 0
        self.trace.append(f"seed {seed} intensity {intensity}")

    def log(self, line: str) -> None:
        self.trace.append(line)

    # setup --------------------------------------------------------------------------------

    def setup(self) -> None:
        from comptoir.accounts import services as accounts
        from comptoir.core.models import Plan
        from comptoir.core.services import create_organization
        from comptoir.sync import configure, services

        plan, _created = Plan.objects.get_or_create(
            code="test", defaults={"name": "Test", "max_web_users": 50}
        )
        self.org = create_organization("Acme Diagnostics", "acme", "business", plan=plan)
        self.admin = accounts.add_member(
            self.org, actor=None, display_name="Admin", role="admin", email="admin@acme.test"
        ).membership
        self.tech = accounts.add_member(
            self.org,
            actor=self.admin.user,
            display_name="Tech",
            role="technician_all",
            email="tech@acme.test",
        ).membership
        count = self.rng.choice((2, 2, 3, 3, 4))
        for index in range(count):
            name = f"Poste {index + 1}"
            station, code = services.add_station(
                self.org, name, member=self.tech, actor=self.admin.user
            )
            configure.set_station_options(
                station, {"fetch_missing": True}, admin_password=None, actor=None
            )
            agent = Agent(index, name, self.workdir / f"agent{index + 1}", station)
            self.agents.append(agent)
            code_out = self.cli(agent, "pair", SIM_HUB, code, "--name", name)
            if code_out != 0:
                raise SimCrash(f"{name}: pairing failed ({code_out})")
        first = self.agents[0]
        for _ in range(self.rng.randint(1, 3)):
            self.new_dossier(first)
        self.cli(first, "sync")
        self.log(f"setup: {count} agents, {len(read_local(first.root))} dossiers")

    # command line of an agent --------------------------------------------------------------

    def cli(
        self,
        agent: Agent,
        *args: str,
        faults: bool = False,
        kill: bool = False,
        depth: int = 0,
    ) -> int:
        """Run `comptoir-agent --data ROOT --quiet ARGS` in-process, as a fresh process would."""
        kill_at = self.rng.randint(1, 24) if kill else None
        run = AgentRun(agent, faults=faults, kill_at=kill_at, depth=depth)
        ACTIVE.runs.append(run)
        out, err = io.StringIO(), io.StringIO()
        label = f"{agent.name}: {' '.join(args[:1] if args[0] == 'pair' else args[:3])}"
        try:
            with redirect_stdout(out), redirect_stderr(err):
                code = agent_cli.main(["--data", str(agent.root), "--quiet", *args])
        except AgentKilled as exc:
            self.log(f"{label} → killed at event {run.events} ({exc})")
            self.stats["agent_killed"] += 1
            return KILLED
        except HubKilled as exc:  # pragma: no cover - the network catches it
            raise SimCrash(f"{label}: the hub kill escaped the network ({exc})") from exc
        except Exception as exc:  # any traceback of the product is a finding
            detail = "".join(traceback.format_exception(exc))
            raise SimCrash(f"{label} crashed:\n{detail}\nstderr: {err.getvalue()}") from exc
        finally:
            ACTIVE.runs.pop()
        self.stats[f"exit_{code}"] += 1
        message = err.getvalue().strip().replace("\n", " | ")[:300]
        self.log(f"{label} → {code} ({run.events} events){' ' + message if message else ''}")
        if code in (1, 2):
            raise SimCrash(f"{label}: unexpected exit {code}: {err.getvalue()}")
        return code

    # the network --------------------------------------------------------------------------

    def network_connect(self, run: AgentRun | None) -> None:
        if run is not None and run.faults and self.faults_on and self.hub_down > 0:
            self.hub_down -= 1
            self.faults["hub_down_refused"] += 1
            raise ConnectionRefusedError(111, "Connection refused (hub restarting)")

    def network_request(
        self,
        conn: SimConnection,
        method: str,
        url: str,
        body: bytes | None,
        headers: dict[str, str],
    ) -> None:
        run = conn.run
        path = url.split("?", 1)[0]
        short = path.removeprefix("/api/v1/").removeprefix(f"orgs/{self.org.slug}/")
        short = UPLOAD_ID.sub("uploads/<id>", short)  # the hub's random ids stay out of traces
        self.stats["requests"] += 1
        if short.startswith(("sync/dossiers/push", "sync/blobs/batch", "sync/uploads")) or (
            short.endswith("/resolve")
        ):
            self.stats["hub_writes"] += 1
        if run is not None and run.tick():
            after = self.rng.random() < 0.5
            if after:
                self._dispatch(method, url, body, headers)
            self.faults["agent_kill_request_after" if after else "agent_kill_request"] += 1
            raise AgentKilled(f"{method} {short} ({'after' if after else 'before'} the hub)")
        if method == "PUT" and "/uploads/" in path:
            self.stats["upload_chunks"] += 1
        if method == "GET" and "/blobs/" in path:
            self.stats["ranged_get" if "Range" in headers else "blob_get"] += 1
        if run is None or not run.faults or not self.faults_on:
            conn.answer = self._respond(self._dispatch(method, url, body, headers))
            return
        self._concurrency(run)
        rates, roll = self.rates, self.rng.random()
        chunk = method == "PUT" and "/uploads/" in path
        writes = method in {"POST", "PUT"} and not short.endswith(
            ("station/report", "blobs/missing", "dossiers/fetch", "blobs/fetch")
        )
        thresholds: list[tuple[str, float]] = [
            ("cut_before", rates.cut_before),
            ("cut_body", (rates.cut_chunk if chunk else rates.cut_body) if body else 0.0),
            ("hub_kill", rates.hub_kill_write if writes else rates.hub_kill),
            ("cut_after", rates.cut_after),
            ("cut_response", rates.cut_response * (3 if "/blobs/" in path else 1)),
            ("busy", rates.busy),
        ]
        fault = "none"
        for name, chance in thresholds:
            if roll < chance:
                fault = name
                break
            roll -= chance
        if fault == "none":
            conn.answer = self._respond(self._dispatch(method, url, body, headers))
            return
        self.log(f"  fault {fault} on {method} {short}")
        if fault == "cut_before":
            self.faults["cut_before"] += 1
            exc_type = self.rng.choice((ConnectionResetError, BrokenPipeError))
            raise exc_type(104, "connection dropped before the hub (simulated)")
        if fault == "cut_body":
            assert body is not None
            self.faults["cut_chunk" if chunk else "cut_body"] += 1
            self._dispatch(method, url, body, headers, deliver=self.rng.randrange(len(body)))
            raise BrokenPipeError(32, "connection dropped while sending (simulated)")
        if fault == "hub_kill":  # (counted by _dispatch: hub_kill_mid / hub_kill_after_work)
            # Most requests run a handful of statements: kill early more often.
            kill_at = self.rng.choice((self.rng.randint(1, 6), self.rng.randint(1, 40)))
            self._dispatch(method, url, body, headers, kill_at=kill_at)
            conn.error = agent_http.RemoteDisconnected("hub killed (simulated)")
            return
        if fault == "busy":
            self.faults["busy"] += 1
            conn.answer = SimResponse(503, {"Retry-After": "1", "Content-Length": "0"}, b"")
            return
        answer = self._dispatch(method, url, body, headers)
        if fault == "cut_after" or not answer.body:
            self.faults["cut_after"] += 1
            conn.error = agent_http.RemoteDisconnected("answer lost (simulated)")
            return
        self.faults["cut_response"] += 1
        cut_kind = self.rng.choice(("eof", "reset"))
        conn.answer = self._respond(answer, cut=self.rng.randrange(len(answer.body)), kind=cut_kind)

    def _respond(self, answer: HubAnswer, cut: int | None = None, kind: str = "eof") -> SimResponse:
        return SimResponse(answer.status, answer.headers, answer.body, cut, kind)

    def _dispatch(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: dict[str, str],
        *,
        kill_at: int | None = None,
        deliver: int | None = None,
    ) -> HubAnswer:
        try:
            answer = self.hub.handle(method, url, body, headers, kill_at=kill_at, deliver=deliver)
        except HubKilled as exc:
            self.hub_down = self.rng.randint(0, 2)
            self.faults["hub_kill_after_work" if exc.args[0] == AFTER_WORK else "hub_kill_mid"] += 1
            self.log(f"  hub killed ({exc}); down for {self.hub_down} connections")
            return HubAnswer(0, {}, b"")
        if answer.status >= 500:
            raise SimCrash(f"the hub answered {answer.status} to {method} {url}: {answer.body!r}")
        if deliver is None:
            self._observe(method, url, body, answer)
        return answer

    def _observe(self, method: str, url: str, body: bytes | None, answer: HubAnswer) -> None:
        """Remember every revision the hub said it holds (it must still hold it at the end)."""
        if method != "POST" or answer.status != 200:
            return
        if url.endswith("/sync/dossiers/push"):
            sent = json.loads(body or b"{}").get("dossiers", [])
            numbers = {item["id"]: item["document"].get("number") for item in sent}
            for result in json.loads(answer.body).get("results", []):
                if result.get("status") in {"accepted", "unchanged", "conflict"}:
                    self.hub_versions[(result["id"], result["rev"])] = "push"
                    self.stats[f"push_{result['status']}"] += 1
                    if numbers.get(result["id"]) not in (None, result.get("number")):
                        self.stats["renumbered"] += 1
                elif result.get("status") == "rejected":
                    self.stats[f"push_rejected_{result.get('code')}"] += 1
        elif url.endswith("/resolve"):
            ident = url.rsplit("/", 2)[-2]
            self.hub_versions[(ident, json.loads(answer.body)["rev"])] = "station resolve"

    def _concurrency(self, run: AgentRun) -> None:
        """While a pass is in flight: the web edits, or another agent runs a whole pass."""
        if self.rng.random() < self.rates.web_during_pass:
            self.log("  (web edit during a pass)")
            self.stats["web_during_pass"] += 1
            self.web_edit()
        if run.depth == 0 and self.rng.random() < self.rates.nested_pass:
            others = [a for a in self.agents if a is not run.agent]
            other = self.rng.choice(others)
            self.log(f"  (nested pass of {other.name})")
            self.stats["nested_pass"] += 1
            self.cli(other, "sync", faults=True, kill=self.rng.random() < 0.3, depth=1)

    # local edits (the field software, on the station) -----------------------------------------

    def _write(self, path: Path, data: bytes) -> None:
        path.write_bytes(data)
        self.mtime_ns += 1_000_000
        os.utime(path, ns=(self.mtime_ns, self.mtime_ns))

    def _before_edit(self, agent: Agent, ident: str, current: LocalCopy | None) -> None:
        """The agent replaced the user's last version (not the user): it must be on the hub."""
        last = self.user_versions.get((agent.index, ident))
        if last is not None and (current is None or current.digest != last.digest):
            self.owed.append((agent.name, ident, last.digest, last.doc))

    def _after_edit(self, agent: Agent, ident: str) -> None:
        copy = read_local(agent.root).get(ident)
        if copy is not None:
            self.user_versions[(agent.index, ident)] = copy

    def local_edit(self, agent: Agent) -> None:
        local = read_local(agent.root)
        roll = self.rng.random()
        if roll < 0.15 or not local:
            self.new_dossier(agent)
            return
        ident = self.rng.choice(sorted(local))
        copy = local[ident]
        self._before_edit(agent, ident, copy)
        folder = agent.root / copy.path
        names = [f["name"] for f in copy.doc["files"]]
        if roll < 0.6:
            raw = json.loads((folder / "dossier.json").read_bytes())
            what = self.rng.choice(("status", "client", "city", "note", "appointment"))
            if what == "status":
                raw["status"] = self.rng.choice(STATUSES)
            elif what == "client":
                raw["client"] = {"name": self.rng.choice(CLIENTS)}
            elif what == "city":
                prop = dict(raw.get("property") or {})
                prop["city"] = self.rng.choice(CITIES)
                raw["property"] = prop
            elif what == "note":
                custom = dict(raw.get("custom_fields") or {})
                custom["note"] = f"{agent.name} {self.rng.randint(0, 999)}"
                raw["custom_fields"] = custom
            else:
                day = self.rng.randint(1, 28)
                raw["appointment"] = self.rng.choice((None, f"{YEAR}-04-{day:02d}T09:00:00+02:00"))
            indent = self.rng.choice((None, 2))
            self._write(folder / "dossier.json", json.dumps(raw, indent=indent).encode())
            self.log(f"{agent.name}: edit {what} of {copy.path}")
        elif roll < 0.9 or not names:
            name = self.rng.choice(FILE_NAMES)
            self._write(folder / name, self._content())
            self.log(f"{agent.name}: write {copy.path}/{name}")
        else:
            name = self.rng.choice(sorted(names))
            (folder / name).unlink()
            self.log(f"{agent.name}: remove {copy.path}/{name}")
        self.stats["local_edits"] += 1
        self._after_edit(agent, ident)

    def _content(self) -> bytes:
        big = self.rng.random() < 0.3
        size = self.rng.randint(LARGE_FILE + 1, 3 * LARGE_FILE) if big else self.rng.randint(1, 700)
        return self.rng.randbytes(size)

    def new_dossier(self, agent: Agent) -> None:
        number = f"{YEAR}-9{self.rng.randint(0, 12):04d}"  # stations clash often: renumbering
        if (agent.root / str(YEAR) / number).exists():  # (maybe a first download, interrupted)
            return
        ident = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        doc = {
            "schema": 1,
            "id": ident,
            "number": number,
            "year": YEAR,
            "status": "scheduled",
            "created_at": f"{YEAR}-03-10T09:00:00+01:00",
            "missions": ["dpe"],
            "client": {"name": self.rng.choice(CLIENTS)},
            "files": [],
        }
        if self.chance(0.8):  # without a property type the web cannot edit it (see docs)
            doc["property"] = {"type": self.rng.choice(("flat", "house", "building"))}
        folder = agent.root / str(YEAR) / number
        folder.mkdir(parents=True)
        for _ in range(self.rng.randint(0, 2)):
            self._write(folder / self.rng.choice(FILE_NAMES), self._content())
        self._write(folder / "dossier.json", json.dumps(doc).encode())
        self.stats["local_new"] += 1
        self.log(f"{agent.name}: new dossier {number} {ident[:8]}")
        self._after_edit(agent, ident)

    # the web --------------------------------------------------------------------------------

    def _hub_dossiers(self) -> list[Any]:
        from comptoir.dossiers.models import Dossier

        return list(
            Dossier.objects.filter(organization=self.org, deleted_at__isnull=True).order_by(
                "public_id"
            )
        )

    def web_edit(self) -> None:
        from django.core.files.base import ContentFile

        from comptoir.core.errors import DomainError
        from comptoir.dossiers import services
        from comptoir.dossiers.lifecycle import may_move

        dossiers = self._hub_dossiers()
        if not dossiers:
            return
        roll = self.rng.random()
        actor = self.admin.user
        if roll < 0.08:  # only a dossier that never had a document may be deleted
            dossiers = [d for d in dossiers if services.deletion_refusal(d) is None] or dossiers
        dossier = self.rng.choice(dossiers)
        try:
            if roll < 0.08 and services.deletion_refusal(dossier) is None:
                services.delete_dossier(dossier, actor=actor)
                self.stats["web_deletes"] += 1
                self.log(f"web: delete {dossier.number}")
                return
            if roll < 0.45:
                field_name, value = self.rng.choice(
                    (
                        ("property_city", self.rng.choice(CITIES)),
                        ("lots", str(self.rng.randint(1, 40))),
                        ("floor", str(self.rng.randint(0, 9))),
                        ("custom_fields", {"web": str(self.rng.randint(0, 999))}),
                    )
                )
                services.update_dossier(
                    self.admin, dossier, services.DossierInput({field_name: value}), actor=actor
                )
                what = field_name
            elif roll < 0.7:
                allowed = [s for s in STATUSES if may_move(dossier.status, s)]
                status = self.rng.choice(allowed)
                services.change_status(dossier, status, actor=actor)
                what = f"status {status}"
            else:
                self.web_files += 1
                name = f"web-{self.web_files}.pdf"
                services.add_document(
                    dossier, ContentFile(self._content(), name=name), kind="report", actor=actor
                )
                what = f"document {name}"
        except DomainError as exc:
            self.log(f"web: refused on {dossier.number}: {exc}")
            return
        dossier.refresh_from_db()
        self.hub_versions[(str(dossier.public_id), dossier.revision)] = "web"
        self.stats["web_edits"] += 1
        self.log(f"web: {what} on {dossier.number} → {dossier.revision[:10]}")

    def web_resolve(self, dossier: Any) -> None:
        from comptoir.dossiers.models import DossierRevision
        from comptoir.sync import services

        open_revisions = list(
            DossierRevision.objects.filter(
                dossier=dossier, is_conflict=True, resolved_at__isnull=True
            ).order_by("pk")
        )
        keep_rev = self.rng.choice([None, *open_revisions]) if open_revisions else None
        services.resolve(
            dossier,
            keep="cloud" if keep_rev is None else "local",
            head_rev=dossier.revision,
            document=None if keep_rev is None else keep_rev.document,
            source="web:admin",
            actor=self.admin.user,
        )
        dossier.refresh_from_db()
        self.hub_versions[(str(dossier.public_id), dossier.revision)] = "web resolve"
        self.stats["web_resolves"] += 1
        kept = "cloud" if keep_rev is None else keep_rev.rev[:10]
        self.log(f"web: resolve {dossier.number} keeping {kept}")

    def resolve(self, dossier: Any, faults: bool) -> None:
        """A person resolves one conflict: on the web, or on a station that holds it."""
        ident = str(dossier.public_id)
        holders = [a for a in self.agents if ident in read_local(a.root)]
        if not holders or self.rng.random() < 0.3:
            self.web_resolve(dossier)
            return
        agent = self.rng.choice(holders)
        keep = self.rng.choice(("local", "cloud", "both"))
        if keep != "local":
            # The person chose to drop what this station has that the cloud lacks.
            self.user_versions.pop((agent.index, ident), None)
        code = self.cli(
            agent, "resolve", ident, "--keep", keep, faults=faults, kill=faults and self.chance(0.3)
        )
        self.stats[f"station_resolve_{code}"] += 1

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    # phases -----------------------------------------------------------------------------------

    def sync_all(self, faults: bool) -> list[int]:
        return [self.cli(agent, "sync", faults=faults) for agent in self.agents]

    def fault_phase(self, steps: int) -> None:
        self.faults_on = True
        for step in range(steps):
            roll = self.rng.random()
            self.log(f"-- step {step}")
            if roll < 0.35:
                agent = self.rng.choice(self.agents)
                for _ in range(self.rng.randint(1, 3)):
                    self.local_edit(agent)
            elif roll < 0.5:
                self.web_edit()
            elif roll < 0.92:
                agent = self.rng.choice(self.agents)
                self.cli(agent, "sync", faults=True, kill=self.chance(self.rates.agent_kill))
            else:
                conflicted = [d for d in self._hub_dossiers() if d.in_conflict]
                if conflicted:
                    self.resolve(self.rng.choice(conflicted), faults=True)
        self.faults_on = False
        self.hub_down = 0

    def heal(self, label: str) -> list[str]:
        """Passes on every agent, round after round, until quiescent (bounded).

        Quiescent: a whole round sent nothing to store (no push, upload, resolve), the
        hub's sequence did not move, and every journal's checkpoint is at that sequence
        (each agent saw everything). A livelock (the same push again and again) fails.
        """
        from comptoir.sync.services import current_sequence

        for round_number in range(QUIESCENCE_ROUNDS):
            sequence, writes = current_sequence(self.org), self.stats["hub_writes"]
            codes = self.sync_all(faults=False)
            self.log(f"{label} round {round_number}: exit codes {codes}")
            bad = [c for c in codes if c not in (0, 4)]
            if bad:
                return [f"{label}: a pass without faults ended with exit code {bad[0]}"]
            seen = {journal_rows(agent)[1].get("checkpoint") for agent in self.agents}
            if (
                self.stats["hub_writes"] == writes
                and current_sequence(self.org) == sequence
                and seen == {str(sequence)}
            ):
                self.stats[f"{label}_rounds"] = round_number + 1
                return []
        return [f"{label}: not quiescent after {QUIESCENCE_ROUNDS} rounds of passes"]

    def resolve_all(self) -> None:
        for dossier in self._hub_dossiers():
            if dossier.in_conflict:
                self.resolve(dossier, faults=False)

    def finish_obligations(self) -> None:
        for agent in self.agents:
            local = read_local(agent.root)
            for (index, ident), _last in list(self.user_versions.items()):
                if index == agent.index:
                    self._before_edit(agent, ident, local.get(ident))


# --- invariants ------------------------------------------------------------------------------


def journal_rows(agent: Agent) -> tuple[dict[str, dict[str, Any]], dict[str, str], set[str]]:
    """The agent's journal, read with sqlite3 (not with the agent's code)."""
    db = sqlite3.connect(agent.root / ".comptoir" / "journal.sqlite3")
    try:
        db.row_factory = sqlite3.Row
        rows = {row["id"]: dict(row) for row in db.execute("SELECT * FROM dossiers")}
        meta = {row["key"]: row["value"] for row in db.execute("SELECT key, value FROM meta")}
        uploads = {row[0] for row in db.execute("SELECT sha256 FROM uploads")}
    finally:
        db.close()
    return rows, meta, uploads


def agent_status(world: World, agent: Agent) -> dict[str, dict[str, Any]]:
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        agent_cli.main(["--data", str(agent.root), "status", "--json"])
    return {row["id"]: row for row in json.loads(out.getvalue())["dossiers"]}


def check_world(world: World, strict: bool) -> list[str]:
    """Every invariant of docs/sync/simulation.md; returns the violations (empty: all hold).

    strict: after every conflict was resolved (every side equals the head). Otherwise
    conflicts may be open: a station then holds the head or one of the kept versions,
    and shows the dossier to verify, as the hub flags it.
    """
    from comptoir.dossiers import blobs
    from comptoir.dossiers.exchange import head_document
    from comptoir.dossiers.models import Blob, Document, Dossier, DossierRevision
    from comptoir.sync.services import current_sequence

    problems: list[str] = []
    org = world.org
    dossiers = list(Dossier.objects.filter(organization=org).order_by("public_id"))
    revisions: dict[str, list[Any]] = {}
    for revision in DossierRevision.objects.filter(dossier__organization=org).select_related(
        "dossier"
    ):
        revisions.setdefault(str(revision.dossier.public_id), []).append(revision)
    heads: dict[str, dict[str, Any]] = {}

    # the hub: revisions are content-addressed, the head is kept, the flag is honest
    for dossier in dossiers:
        ident = str(dossier.public_id)
        mine = revisions.get(ident, [])
        for revision in mine:
            if digest_of(revision.document) != rev_digest(revision.rev):
                problems.append(
                    f"hub: revision {revision.rev} of {dossier.number} holds another document "
                    f"(digest {digest_of(revision.document)})"
                )
        if dossier.deleted_at is not None:
            continue
        head = head_document(dossier)
        if head is None:
            problems.append(f"hub: the head {dossier.revision} of {dossier.number} is not kept")
            continue
        heads[ident] = head
        open_conflicts = [r for r in mine if r.is_conflict and r.resolved_at is None]
        if dossier.in_conflict != bool(open_conflicts):
            problems.append(
                f"hub: {dossier.number} in_conflict={dossier.in_conflict} with "
                f"{len(open_conflicts)} open conflict revision(s)"
            )
        if strict and dossier.in_conflict:
            problems.append(f"hub: {dossier.number} still in conflict after resolution")
        if head.get("number") != dossier.number or head.get("year") != dossier.year:
            problems.append(f"hub: head of {dossier.number} says {head.get('number')}")
        records = sorted(
            Document.objects.filter(dossier=dossier, removed_at__isnull=True).values_list(
                "name", "sha256", "size"
            )
        )
        listed = sorted((f["name"], f["sha256"], f["size"]) for f in head["files"])
        if records != listed:
            problems.append(f"hub: the documents of {dossier.number} differ from its head")

    # every version ever written is the head or a kept revision
    for (ident, rev), who in sorted(world.hub_versions.items()):
        if not any(r.rev == rev for r in revisions.get(ident, [])):
            problems.append(f"lost: revision {rev} of {ident[:8]} ({who}) is not on the hub")
    for who, ident, digest, _doc in world.owed:
        kept = {digest_of(r.document) for r in revisions.get(ident, [])}
        if digest not in kept:
            problems.append(
                f"lost: {who}'s version {digest[:12]} of {ident[:8]} was replaced on the "
                "station but is not on the hub"
            )

    # every blob's bytes match their hash; every listed file has its blob
    stored = {b.sha256: b for b in Blob.objects.filter(organization=org, purged_at__isnull=True)}
    for blob in stored.values():
        try:
            with blobs.open_blob(org, blob.sha256) as handle:
                data = handle.read()
        except OSError as exc:
            problems.append(f"blob {blob.sha256[:12]}: unreadable ({exc})")
            continue
        if hashlib.sha256(data).hexdigest() != blob.sha256 or len(data) != blob.size:
            problems.append(f"blob {blob.sha256[:12]}: its bytes do not match its hash or size")
    for ident, head in heads.items():
        for entry in head["files"]:
            if entry["sha256"] not in stored:
                problems.append(f"hub: {ident[:8]} lists {entry['name']} but has no blob for it")
    if strict:  # the quota counts exactly the blobs and the open upload reservations
        from comptoir.sync.models import Upload

        org.refresh_from_db(fields=["storage_used_bytes"])
        reserved = sum(
            Upload.objects.filter(
                organization=org, completed_at__isnull=True, abandoned_at__isnull=True
            ).values_list("reserved", flat=True)
        )
        counted = sum(b.size for b in stored.values()) + reserved
        world.stats["quota_drift_bytes"] += org.storage_used_bytes - counted
        world.stats["quota_drift_seeds"] += org.storage_used_bytes != counted
        if org.storage_used_bytes != counted:
            problems.append(
                f"hub: quota counts {org.storage_used_bytes} bytes, the blobs and open "
                f"uploads hold {counted}"
            )

    # the stations: converged, files matching the hub, journals sane
    sequence = current_sequence(org)
    by_id = {str(d.public_id): d for d in dossiers}
    for agent in world.agents:
        local = read_local(agent.root)
        rows, meta, uploads = journal_rows(agent)
        status = agent_status(world, agent)
        if meta.get("checkpoint") != str(sequence):
            problems.append(f"{agent.name}: checkpoint {meta.get('checkpoint')} ≠ hub {sequence}")
        agent.station.refresh_from_db()
        if agent.station.checkpoint != sequence or (strict and agent.station.errors):
            problems.append(
                f"{agent.name}: last report to the hub: checkpoint {agent.station.checkpoint}, "
                f"errors {agent.station.errors}"
            )
        finished = sorted(sha[:12] for sha in uploads if sha in stored)
        if finished:  # (one for a file removed before its upload ended may stay)
            problems.append(f"{agent.name}: the journal still uploads {finished}, already stored")
        for ident, copy in sorted(local.items()):
            gone = by_id.get(ident)
            if gone is None:
                problems.append(f"{agent.name}: {copy.path} is not on the hub")
            elif gone.deleted_at is not None:
                # Deleted on the web but changed here: kept, shown to verify, never pushed.
                shown = status.get(ident, {})
                if shown.get("status") != "orange" or not shown.get("conflict"):
                    problems.append(f"{agent.name}: {copy.path} deleted on the hub, shown {shown}")
        for ident, gone in sorted(by_id.items()):
            if gone.deleted_at is not None and ident not in local and ident in rows:
                problems.append(f"{agent.name}: deleted {gone.number} still in the journal")
        for ident, head in sorted(heads.items()):
            dossier = by_id[ident]
            copy = local.get(ident)
            row = rows.get(ident)
            where = f"{agent.name}: {dossier.number}"
            if copy is None:
                problems.append(f"{where} is missing on the station")
                continue
            if row is None:
                problems.append(f"{where} is not in the journal")
                continue
            if row["error"]:
                problems.append(f"{where} left an error: {row['error']}")
            if row["applying_rev"] and (strict or not dossier.in_conflict):
                # (in conflict, a write interrupted before the local edit stays recorded)
                problems.append(f"{where} left an unfinished write ({row['applying_rev']})")
            if row["remote_rev"] != dossier.revision:
                problems.append(f"{where}: journal remote {row['remote_rev']} ≠ {dossier.revision}")
            if bool(row["remote_conflict"]) != dossier.in_conflict:
                problems.append(f"{where}: journal conflict flag ≠ hub")
            shown = status.get(ident, {})
            if dossier.in_conflict:
                kept = {digest_of(r.document) for r in revisions.get(ident, [])}
                if copy.digest not in kept:
                    problems.append(f"{where}: local copy in conflict is no kept version")
                if not shown.get("conflict") or shown.get("status") != "orange":
                    problems.append(f"{where}: in conflict on the hub, shown {shown}")
                continue
            if copy.digest != digest_of(head):
                diff = sorted(
                    k for k in set(head) | set(copy.doc) if head.get(k) != copy.doc.get(k)
                )
                problems.append(f"{where} differs from the hub head (fields {diff})")
            if copy.path != f"{dossier.year}/{dossier.number}":
                problems.append(f"{where} is in the folder {copy.path}")
            if row["base_rev"] != dossier.revision or row["pushed_digest"]:
                problems.append(f"{where}: journal base {row['base_rev']} ≠ {dossier.revision}")
            if shown.get("status") != "green" or shown.get("conflict"):
                problems.append(f"{where}: shown {shown.get('status')} instead of green")
    return problems


# --- running a seed ---------------------------------------------------------------------------


@contextmanager
def _patched(world: World, storage: Path) -> Iterator[None]:
    """Everything the simulation swaps in, restored afterwards."""
    from django.test.utils import override_settings
    from django.utils import timezone

    from comptoir.sync import services

    os_proxy = _ModuleProxy(os, replace=_replace_hooked, rename=_rename_hooked, fsync=_no_fsync)
    time_proxy = _ModuleProxy(time, time_ns=_never_racy)
    swaps: list[tuple[Any, str, Any]] = [
        (agent_client, "HubClient", SimClient),
        (agent_journal, "Journal", SimJournal),
        (agent_files, "os", os_proxy),
        (agent_fetching, "os", os_proxy),
        (agent_engine, "os", os_proxy),
        (agent_conflicts, "os", os_proxy),
        (agent_layout, "time", time_proxy),
        (agent_cli, "build_parser", _parser),
        (agent_fetching, "fsync_all", _no_fsync_all),  # (no fsync: no thread pool for it)
        (agent_transfer, "MAX_BATCH_BLOB", LARGE_FILE),
        # One request at a time, so that a seed replays exactly (the requests in flight
        # together are tested in tests/agent/test_upload_in_flight.py, test_push_pipeline.py)
        (agent_transfer, "BATCHES_IN_FLIGHT", 1),
        (agent_engine, "PUSH_AHEAD", False),
        (agent_fetching, "FETCH_AHEAD", False),
        (agent_ahead, "EARLY", False),
        (agent_fetching, "MAX_BATCH_BLOB", LARGE_FILE),
        (services, "CHUNK_SIZE", CHUNK_SIZE),
        (timezone, "now", world.clock.now),
    ]
    saved = [(obj, name, getattr(obj, name)) for obj, name, _value in swaps]
    storages = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(storage)},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with ExitStack() as stack:
        stack.enter_context(override_settings(STORAGES=storages))
        for obj, name, value in swaps:
            setattr(obj, name, value)
        stack.callback(lambda: [setattr(o, n, v) for o, n, v in saved])
        ACTIVE.world, ACTIVE.runs = world, []
        stack.callback(setattr, ACTIVE, "world", None)
        yield


def run_seed(
    seed: int,
    workdir: Path,
    *,
    steps: int | None = None,
    rates: Rates | None = None,
    before_check: Callable[[World], None] | None = None,
) -> SimResult:
    """Play one seed in a transaction that is rolled back; returns what was found.

    `before_check` lets a test tamper with the world before the invariants are checked
    (to prove the checker sees it).
    """
    from django.db import transaction

    started = time.perf_counter()
    workdir.mkdir(parents=True, exist_ok=True)
    world = World(seed, workdir, rates)
    violations: list[str] = []
    with _patched(world, workdir / "hub-files"), transaction.atomic():
        try:
            world.setup()
            world.fault_phase(steps if steps is not None else world.rng.randint(6, 12))
            violations += world.heal("heal")
            if not violations:
                world.finish_obligations()
                if before_check is not None:
                    before_check(world)
                violations += check_world(world, strict=False)
            if not violations:
                world.resolve_all()
                violations += world.heal("resolved")
            if not violations:
                violations += check_world(world, strict=True)
        except SimCrash as exc:
            violations.append(f"crash: {exc}")
        finally:
            transaction.set_rollback(True)
    result = SimResult(seed, violations, world.faults, world.stats, world.trace)
    result.seconds = time.perf_counter() - started
    return result
