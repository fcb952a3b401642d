"""Comptoir's WebDAV endpoint against WsgiDAV's own FilesystemProvider, same files, same run.

Both serve one folder of 500 files of 16 KiB and a 20 MiB report:

  comptoir  `/dav/bench/<year>/<number>/`: a dossier whose 501 documents were written
            through the dossier services (blobs in tmpfs, SQLite in tmpfs or the
            PostgreSQL database given); HTTP Basic with an e-mail and a personal token.
  peer      `/bench/<year>/<number>/`: the same bytes in a folder on the same tmpfs,
            served by WsgiDAV's FilesystemProvider (benchmarks/webdav_peer.py), HTTP
            Basic against WsgiDAV's SimpleDomainController, in-memory locks and
            properties.

Same server for both: Gunicorn, `--workers W --threads 4` (Gthread, keep-alive), on
127.0.0.1; the same WsgiDAV settings (comptoir.webdav.config: block size...).
The load comes from this process: threads on keep-alive `http.client` connections.

Measures, in alternating rounds (comptoir, peer, comptoir, peer...), medians:

  1. PROPFIND Depth: 1 (allprop) on the folder   requests/s   goal: comptoir >= 0.5 x peer
  2. GET of the 20 MiB report                     MB/s         goal: comptoir >= 0.8 x peer

and the servers' CPU time (Gunicorn master + workers, from /proc) per request / per MB,
which moves less than throughput when other work shares the machine.

Writes benchmarks/results/webdav.json and prints a table. Exit status 0 when the
measures were made, goals met or not (a miss is printed and recorded); 1 when the
harness broke (a command failed, a server died, the two answers differ).

    .venv/bin/python benchmarks/webdav.py [--rounds 3] [--duration 5] [--database-url URL]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "benchmarks" / "results" / "webdav.json"
BIN = Path(sys.executable).parent
ORG = "bench"
EMAIL = f"admin@{ORG}.test"
FILES, FILE_SIZE = 500, 16 * 1024
REPORT_NAME, REPORT_SIZE = "rapport-final.pdf", 20 * 1024 * 1024
SEED = 20261122
GOALS = {"propfind": 0.5, "get": 0.8}
PROPFIND_BODY = (
    b'<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'
)
KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYENV_VERSION")
SETUP = """
import os
from django.core.files.base import File
from comptoir.core.models import Membership
from comptoir.dossiers import services
member = Membership.objects.get(organization__slug="{org}", user__email="{email}")
dossier = services.create_dossier(member, services.DossierInput({{}}, []), actor=member.user)
folder = os.environ["BENCH_FILES"]
for name in sorted(os.listdir(folder)):
    with open(os.path.join(folder, name), "rb") as stream:
        services.write_document(dossier, File(stream, name=name), name=name, actor=member.user)
print("BENCH", dossier.year, dossier.number)
"""


class HarnessError(Exception):
    """The benchmark could not be made (not: a goal was missed)."""


def log(message: str) -> None:
    print(f"[webdav-bench] {message}", flush=True)


# ----------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {key: os.environ[key] for key in KEPT_ENV if key in os.environ}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def run(command: list[str], env: dict[str, str], what: str) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise HarnessError(f"{what} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (Gunicorn's workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(child) for child in children.read_text().split()]
    for each in pids:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


@dataclass
class Server:
    label: str
    app: str
    env: dict[str, str]
    workers: int
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            str(BIN / "python"),
            "-m",
            "gunicorn",
            self.app,
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--threads",
            "4",
            "--log-level",
            "warning",
        ]
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=out, stderr=out, start_new_session=True
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise HarnessError(
                    f"{self.label} server died:\n{self.log_path.read_text()[-3000:]}"
                )
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.3)
        raise HarnessError(f"{self.label} server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)

    def cpu(self) -> float:
        assert self.process is not None
        return cpu_seconds(self.process.pid)


# ----------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class Target:
    label: str
    server: Server
    folder: str  # URL path of the folder, ending with "/"
    authorization: str

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": self.authorization, **extra}


def propfind(target: Target, connection: http.client.HTTPConnection) -> bytes:
    connection.request(
        "PROPFIND",
        target.folder,
        body=PROPFIND_BODY,
        headers=target.headers(Depth="1", **{"Content-Type": "application/xml"}),
    )
    response = connection.getresponse()
    data = response.read()
    if response.status != 207:
        raise HarnessError(f"{target.label} PROPFIND: {response.status} {data[:300]!r}")
    return data


def get_report(target: Target, connection: http.client.HTTPConnection, sink: bytearray) -> int:
    connection.request("GET", target.folder + REPORT_NAME, headers=target.headers())
    response = connection.getresponse()
    if response.status != 200:
        raise HarnessError(f"{target.label} GET: {response.status} {response.read()[:300]!r}")
    view, size = memoryview(sink), 0
    while True:
        read = response.readinto(view)
        if not read:
            break
        size += read
    return size


@dataclass
class Load:
    requests: int = 0
    bytes: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


def load(target: Target, kind: str, seconds: float, connections: int) -> dict[str, Any]:
    """Requests in a loop on `connections` keep-alive connections for `seconds`."""
    results = [Load() for _ in range(connections)]
    deadline = time.perf_counter() + seconds

    def worker(result: Load) -> None:
        connection = target.connection()
        sink = bytearray(1024 * 1024)
        try:
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                if kind == "propfind":
                    result.bytes += len(propfind(target, connection))
                else:
                    result.bytes += get_report(target, connection, sink)
                result.latencies.append(time.perf_counter() - began)
                result.requests += 1
        except (HarnessError, OSError, http.client.HTTPException) as exc:
            result.errors.append(repr(exc))
        finally:
            connection.close()

    cpu_before, started = target.server.cpu(), time.perf_counter()
    threads = [threading.Thread(target=worker, args=(result,)) for result in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed, cpu = time.perf_counter() - started, target.server.cpu() - cpu_before
    errors = [error for result in results for error in result.errors]
    if errors:
        raise HarnessError(f"{target.label} {kind}: {errors[:3]}")
    requests = sum(result.requests for result in results)
    size = sum(result.bytes for result in results)
    latencies = sorted(value for result in results for value in result.latencies)
    return {
        "requests": requests,
        "seconds": round(elapsed, 3),
        "bytes": size,
        "rps": round(requests / elapsed, 2),
        "mb_per_s": round(size / elapsed / 1e6, 2),
        "p50_ms": round(statistics.median(latencies) * 1000, 2) if latencies else None,
        "server_cpu_s": round(cpu, 3),
        "server_cpu_ms_per_request": round(cpu * 1000 / requests, 3) if requests else None,
        "server_cpu_ms_per_mb": round(cpu * 1000 / (size / 1e6), 3) if size else None,
    }


# ----------------------------------------------------------------------------- set-up


def write_files(folder: Path) -> dict[str, str]:
    """The 500 small files and the report; returns name -> SHA-256."""
    folder.mkdir(parents=True)
    rng = random.Random(SEED)
    digests = {}
    for index in range(1, FILES + 1):
        name = f"photo-{index:04d}.jpg"
        data = rng.randbytes(FILE_SIZE)
        (folder / name).write_bytes(data)
        digests[name] = hashlib.sha256(data).hexdigest()
    report = rng.randbytes(REPORT_SIZE)
    (folder / REPORT_NAME).write_bytes(report)
    digests[REPORT_NAME] = hashlib.sha256(report).hexdigest()
    return digests


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def prepare_comptoir(base: Path, files: Path, database_url: str | None) -> tuple[dict, str, str]:
    data = base / "comptoir"
    data.mkdir()
    env = clean_env(
        {
            "COMPTOIR_DATA_DIR": str(data),
            "DATABASE_URL": database_url or f"sqlite:///{data / 'comptoir.sqlite3'}",
            "COMPTOIR_DEBUG": "0",
            "COMPTOIR_TESTING": "0",
            "COMPTOIR_LOG_LEVEL": "WARNING",
            "EMAIL_URL": f"file://{data / 'mail'}",
        }
    )
    comptoir = str(BIN / "comptoir")
    run([comptoir, "migrate", "--verbosity", "0"], env, "migrate")
    run(
        [
            comptoir,
            "createorg",
            "Bench",
            "--slug",
            ORG,
            "--kind",
            "business",
            "--admin-email",
            EMAIL,
        ],
        env,
        "createorg",
    )
    token = run(
        [comptoir, "token", "create", "--org", ORG, "--member", EMAIL, "--name", "bench"],
        env,
        "token create",
    ).strip()
    started = time.perf_counter()
    out = run(
        [comptoir, "shell", "-c", SETUP.format(org=ORG, email=EMAIL)],
        {**env, "BENCH_FILES": str(files)},
        "documents",
    )
    found = re.search(r"^BENCH (\d+) (\S+)$", out, re.MULTILINE)
    if not found:
        raise HarnessError(f"no dossier made:\n{out}")
    took = time.perf_counter() - started
    log(f"501 documents written through the dossier services in {took:.1f} s")
    return env, token, f"/dav/{ORG}/{found[1]}/{found[2]}/"


def check_answers(targets: list[Target], digests: dict[str, str]) -> dict[str, Any]:
    """Both list the same 501 files and send the same report, before anything is timed."""
    answers: dict[str, Any] = {}
    for target in targets:
        connection = target.connection()
        listing = propfind(target, connection).decode()
        names = sorted(
            {
                href.rstrip("/").rsplit("/", 1)[-1]
                for href in re.findall(r"<[^>]*href>([^<]+)<", listing)
            }
            - {target.folder.rstrip("/").rsplit("/", 1)[-1]}
        )
        sink = bytearray(REPORT_SIZE + 1)
        size = get_report(target, connection, sink)
        sha = hashlib.sha256(sink[:size]).hexdigest()
        connection.close()
        if names != sorted(digests):
            raise HarnessError(
                f"{target.label} lists {len(names)} files, not the {len(digests)} expected"
            )
        if sha != digests[REPORT_NAME]:
            raise HarnessError(f"{target.label} sends another report")
        answers[target.label] = {
            "files": len(names),
            "propfind_bytes": len(listing),
            "report_sha256": sha,
        }
    return answers


# ----------------------------------------------------------------------------- report


def machine() -> dict[str, Any]:
    import django
    import gunicorn
    import wsgidav

    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "django": django.get_version(),
        "wsgidav": wsgidav.__version__,
        "gunicorn": gunicorn.__version__,
        "load_average": os.getloadavg(),
    }


def summarise(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    def median(kind: str, label: str, key: str) -> float:
        return float(statistics.median(r[kind][label][key] for r in rounds))

    summary: dict[str, Any] = {}
    for kind, key, cpu_key in (
        ("propfind", "rps", "server_cpu_ms_per_request"),
        ("get", "mb_per_s", "server_cpu_ms_per_mb"),
    ):
        ours, peer = median(kind, "comptoir", key), median(kind, "peer", key)
        cpu_ours, cpu_peer = median(kind, "comptoir", cpu_key), median(kind, "peer", cpu_key)
        ratio = round(ours / peer, 3) if peer else 0.0
        summary[kind] = {
            "unit": "requests/s" if kind == "propfind" else "MB/s",
            "comptoir": round(ours, 2),
            "peer": round(peer, 2),
            "ratio": ratio,
            "goal": GOALS[kind],
            "passed": ratio >= GOALS[kind],
            "server_cpu_comptoir": cpu_ours,
            "server_cpu_peer": cpu_peer,
            "cpu_ratio": round(cpu_peer / cpu_ours, 3) if cpu_ours else 0.0,
            "cpu_unit": "ms/request" if kind == "propfind" else "ms/MB",
        }
    return summary


def print_table(summary: dict[str, Any]) -> None:
    print()
    heading = f"{'measure':<26}{'comptoir':>12}{'peer':>12}{'ratio':>8}{'goal':>7}"
    print(f"{heading}{'cpu ratio':>11}  result")
    for kind, title in (("propfind", "PROPFIND Depth 1 (501)"), ("get", "GET 20 MiB report")):
        row = summary[kind]
        unit = row["unit"]
        print(
            f"{title:<26}{row['comptoir']:>8.1f} {unit[:3]:<3}{row['peer']:>8.1f} {unit[:3]:<3}"
            f"{row['ratio']:>8.2f}{row['goal']:>7.1f}{row['cpu_ratio']:>11.2f}  "
            f"{'met' if row['passed'] else 'MISSED'}"
        )
    print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measure")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    shm = Path("/dev/shm")
    base = Path(tempfile.mkdtemp(prefix="webdav-bench-", dir=shm if shm.is_dir() else None))
    servers: list[Server] = []
    try:
        log(f"files in {base}")
        digests = write_files(base / "files")
        env, token, folder = prepare_comptoir(base, base / "files", args.database_url)
        peer_folder = folder[len("/dav") :]
        shutil.copytree(base / "files", base / "peer" / peer_folder.strip("/"))
        password = "peer-password"
        ours = Server(
            "comptoir", "comptoir.wsgi:application", env, args.workers, base / "comptoir.log"
        )
        peer_env = clean_env(
            {
                "BENCH_PEER_ROOT": str(base / "peer"),
                "BENCH_PEER_USER": EMAIL,
                "BENCH_PEER_PASSWORD": password,
            }
        )
        theirs = Server(
            "peer", "benchmarks.webdav_peer:application", peer_env, args.workers, base / "peer.log"
        )
        servers = [ours, theirs]
        for server in servers:
            server.start()
        targets = [
            Target("comptoir", ours, folder, basic(EMAIL, token)),
            Target("peer", theirs, peer_folder, basic(EMAIL, password)),
        ]
        answers = check_answers(targets, digests)
        for target in targets:
            for kind in ("propfind", "get"):
                load(target, kind, args.warmup, args.connections)
        rounds = []
        for number in range(1, args.rounds + 1):
            measured: dict[str, Any] = {"propfind": {}, "get": {}}
            for kind in ("propfind", "get"):
                for target in targets if number % 2 else targets[::-1]:
                    measured[kind][target.label] = load(
                        target, kind, args.duration, args.connections
                    )
            rounds.append(measured)
            found, got = measured["propfind"], measured["get"]
            log(
                f"round {number}: PROPFIND {found['comptoir']['rps']} vs {found['peer']['rps']} "
                f"req/s, GET {got['comptoir']['mb_per_s']} vs {got['peer']['mb_per_s']} MB/s"
            )
        summary = summarise(rounds)
        result = {
            "benchmark": "webdav",
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "setup": {
                "files": FILES,
                "file_size": FILE_SIZE,
                "report_size": REPORT_SIZE,
                "database": "postgresql" if args.database_url else "sqlite",
                "data_on_tmpfs": str(base).startswith("/dev/shm"),
                "workers": args.workers,
                "threads": 4,
                "connections": args.connections,
                "rounds": args.rounds,
                "duration_s": args.duration,
                "comptoir_url": folder,
                "peer_url": peer_folder,
                "peer": "wsgidav FilesystemProvider, in-memory locks and properties, Basic auth",
                "tool": "python threads, http.client keep-alive",
            },
            "answers": answers,
            "rounds": rounds,
            "summary": summary,
        }
        OUTPUT.parent.mkdir(parents=True, exist_ok=True)
        OUTPUT.write_text(json.dumps(result, indent=2) + "\n")
        print_table(summary)
        log(f"written {OUTPUT.relative_to(ROOT)}")
        return 0
    except HarnessError as exc:
        log(f"harness failed: {exc}")
        return 1
    finally:
        for server in servers:
            server.stop()
        if args.keep:
            log(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    if __package__ in (None, ""):
        sys.path.insert(0, str(ROOT))
    sys.exit(main())
