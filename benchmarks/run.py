"""`make bench`: Comptoir's member-list API against a bare Django view, same data, same server.

Steps (see README.md):
 1. a temporary data dir: migrate, collectstatic, `createorg` (an admin), `generate` members,
    and a token for the admin;
 2. count the SQL queries of one request of each kind, in-process (benchmarks/queries.py);
 3. start ONE gunicorn (sync workers) serving Comptoir's URLs plus the bare view
    (benchmarks/bench_urls.py), production-like: COMPTOIR_DEBUG=0, quiet logs;
 4. check both URLs answer the same JSON, then measure requests/second with wrk (when on
    PATH) or a built-in Python load generator, alternating scoped/bare rounds;
 5. report medians, the ratio scoped/bare against the target, and write the figures to
    benchmarks/results/<name>-<UTC timestamp>.json and benchmarks/results/latest.json.

Exit status: 0 when the measurement was made, whatever the ratio (a missed target is
reported, not an error); 1 when the harness itself failed (setup, server, wrong answers).
Standard library only, plus what Comptoir's venv holds.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
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
RESULTS = ROOT / "benchmarks" / "results"
ORG = "bench"
ADMIN_EMAIL = "admin@bench.example"
SCOPED_PATH = f"/api/v1/orgs/{ORG}/members"
BARE_PATH = f"/bench/bare-members/{ORG}/"
# Settings the benchmark must not inherit from the caller's shell: the run is self-contained.
DROPPED_ENV = (
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "SECRET_KEY",
    "SECRET_KEY_FILE",
    "DJANGO_SETTINGS_MODULE",
)

WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "errors_connect": %d, '
    .. '"errors_read": %d, "errors_write": %d, "errors_status": %d, "errors_timeout": %d, '
    .. '"p50_us": %d, "p95_us": %d, "p99_us": %d, "mean_us": %.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.mean))
end
"""


class HarnessError(Exception):
    """The benchmark could not be made (not: the target was missed)."""


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


# --------------------------------------------------------------------------- setup


def bench_env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("COMPTOIR_") and key not in DROPPED_ENV
    }
    env.update(
        {
            "COMPTOIR_DATA_DIR": str(data_dir),
            "COMPTOIR_URLCONF": "benchmarks.bench_urls",
            "COMPTOIR_DEBUG": "0",
            "COMPTOIR_TESTING": "0",
            "COMPTOIR_LOG_LEVEL": "WARNING",
            "COMPTOIR_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SETTINGS_MODULE": "comptoir.settings",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def comptoir(env: dict[str, str], *args: str) -> str:
    command = [sys.executable, "-m", "comptoir.cli", *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise HarnessError(
            f"`comptoir {' '.join(args)}` failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return done.stdout


def prepare(env: dict[str, str], members: int) -> tuple[str, dict[str, float]]:
    timings: dict[str, float] = {}
    steps: list[tuple[str, tuple[str, ...]]] = [
        ("migrate", ("migrate", "--verbosity", "0")),
        ("collectstatic", ("collectstatic", "--noinput", "--verbosity", "0")),
        (
            "createorg",
            (
                "createorg",
                "Bench",
                "--slug",
                ORG,
                "--kind",
                "business",
                "--admin-email",
                ADMIN_EMAIL,
                "--admin-name",
                "Admin Bench",
            ),
        ),
        ("generate", ("generate", "--org", ORG, "--members", str(members))),
    ]
    for label, args in steps:
        started = time.monotonic()
        comptoir(env, *args)
        timings[label] = round(time.monotonic() - started, 2)
    out = comptoir(
        env, "token", "create", "--org", ORG, "--member", ADMIN_EMAIL, "--name", "benchmark"
    )
    lines = out.strip().splitlines()
    token = lines[-1].strip() if lines else ""
    if not token.startswith("cpt_"):
        raise HarnessError(f"`comptoir token create` printed no token: {out!r}")
    return token, timings


def count_queries(env: dict[str, str], token: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.queries", ORG, token],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise HarnessError(f"query count failed:\n{done.stdout}{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if not result.get("same_json"):
        raise HarnessError("in-process: the scoped and bare answers differ")
    return result


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    command: list[str] = field(default_factory=list)

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def start_server(env: dict[str, str], data_dir: Path, workers: int) -> Server:
    port = free_port()
    log_path = data_dir / "gunicorn.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "comptoir.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--chdir",
        str(ROOT),
        "--log-level",
        "warning",
        "--timeout",
        "60",
    ]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    server = Server(process, port, log_path, command)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise HarnessError(f"gunicorn exited ({process.returncode}):\n{server.log_tail()}")
        try:
            status, _body, _ = fetch(port, BARE_PATH, {})
            if status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise HarnessError(f"gunicorn did not answer within 30 s:\n{server.log_tail()}")


def server_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) used so far by gunicorn's master and workers (Linux /proc).

    Throughput on a shared machine moves with whatever else runs; the server's CPU
    time per request moves much less, so it is recorded next to req/s.
    """
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        stats = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except (OSError, IndexError):
                    continue
        family = {pid} | {child for child, fields in stats.items() if int(fields[1]) == pid}
        return sum(int(stats[one][11]) + int(stats[one][12]) for one in family) / ticks
    except (OSError, ValueError, KeyError, IndexError):
        return None


def fetch(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("Content-Type") or ""
    finally:
        conn.close()


def check_answers(port: int, auth: dict[str, str], members: int) -> dict[str, Any]:
    """Both URLs must answer 200 with the same JSON before anything is timed."""
    scoped_status, scoped_body, scoped_type = fetch(port, SCOPED_PATH, auth)
    bare_status, bare_body, bare_type = fetch(port, BARE_PATH, {})
    if scoped_status != 200:
        raise HarnessError(f"{SCOPED_PATH}: HTTP {scoped_status}: {scoped_body[:500]!r}")
    if bare_status != 200:
        raise HarnessError(f"{BARE_PATH}: HTTP {bare_status}: {bare_body[:500]!r}")
    scoped, bare = json.loads(scoped_body), json.loads(bare_body)
    if scoped != bare:
        raise HarnessError("the scoped and bare answers differ: the comparison would be unfair")
    if not isinstance(scoped, list) or len(scoped) != members + 1:
        raise HarnessError(f"expected {members + 1} members, got {len(scoped)}")
    unauthenticated, _, _ = fetch(port, SCOPED_PATH, {})
    if unauthenticated != 401:
        raise HarnessError(f"{SCOPED_PATH} without a token answered {unauthenticated}, not 401")
    return {
        "items": len(scoped),
        "identical_json": True,
        "byte_identical": scoped_body == bare_body,
        "bytes_scoped": len(scoped_body),
        "bytes_bare": len(bare_body),
        "content_type_scoped": scoped_type,
        "content_type_bare": bare_type,
    }


# --------------------------------------------------------------------------- load


@dataclass
class Measure:
    requests: int
    seconds: float
    errors: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    bytes: int
    server_cpu_ms: float | None = None  # server CPU time per request

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "rps": round(self.rps, 1),
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "errors": self.errors,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "p99_ms": self.p99_ms,
            "bytes": self.bytes,
            "server_cpu_ms_per_request": self.server_cpu_ms,
        }


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


class PythonLoad:
    """Threads, each looping on one http.client connection, for a fixed duration.

    The connection is reused while the server keeps it open; gunicorn's sync workers
    close it after each answer, and http.client then reconnects on the next request.
    """

    name = "python"

    def __init__(self, connections: int) -> None:
        self.connections = connections

    def version(self) -> str:
        return f"built-in (http.client, {self.connections} threads)"

    def run(self, port: int, path: str, headers: dict[str, str], seconds: float) -> Measure:
        latencies: list[list[float]] = [[] for _ in range(self.connections)]
        errors = [0] * self.connections
        sizes = [0] * self.connections
        start_gate = threading.Barrier(self.connections + 1)
        deadline_box: list[float] = []

        def worker(slot: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            start_gate.wait()
            deadline = deadline_box[0]
            mine = latencies[slot]
            clock = time.perf_counter
            while clock() < deadline:
                began = clock()
                try:
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    body = response.read()
                except (OSError, http.client.HTTPException):
                    errors[slot] += 1
                    conn.close()
                    continue
                mine.append(clock() - began)
                sizes[slot] += len(body)
                if response.status != 200:
                    errors[slot] += 1
                if response.will_close:
                    conn.close()
            conn.close()

        threads = [
            threading.Thread(target=worker, args=(slot,), daemon=True)
            for slot in range(self.connections)
        ]
        for thread in threads:
            thread.start()
        began = time.perf_counter()
        deadline_box.append(began + seconds)
        start_gate.wait()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        merged = sorted(value for slot in latencies for value in slot)

        def ms(value: float | None) -> float | None:
            return None if value is None else round(value * 1000, 2)

        return Measure(
            len(merged),
            elapsed,
            sum(errors),
            ms(percentile(merged, 0.50)),
            ms(percentile(merged, 0.95)),
            ms(percentile(merged, 0.99)),
            sum(sizes),
        )


class WrkLoad:
    name = "wrk"

    def __init__(self, executable: str, connections: int, script: Path) -> None:
        self.executable = executable
        self.connections = connections
        self.threads = max(1, min(2, connections))
        self.script = script
        script.write_text(WRK_SCRIPT)

    def version(self) -> str:
        done = subprocess.run([self.executable, "-v"], capture_output=True, text=True, check=False)
        text = (done.stdout + done.stderr).strip().splitlines()
        return text[0] if text else "wrk"

    def run(self, port: int, path: str, headers: dict[str, str], seconds: float) -> Measure:
        command = [
            self.executable,
            f"-t{self.threads}",
            f"-c{self.connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            str(self.script),
        ]
        for key, value in headers.items():
            command += ["-H", f"{key}: {value}"]
        command.append(f"http://127.0.0.1:{port}{path}")
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        line = next(
            (row for row in done.stdout.splitlines() if row.startswith("BENCH_JSON ")), None
        )
        if done.returncode != 0 or line is None:
            raise HarnessError(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        data = json.loads(line.removeprefix("BENCH_JSON "))
        errors = (
            data["errors_connect"]
            + data["errors_read"]
            + data["errors_write"]
            + data["errors_status"]
            + data["errors_timeout"]
        )
        return Measure(
            data["requests"],
            data["duration_us"] / 1e6,
            errors,
            round(data["p50_us"] / 1000, 2),
            round(data["p95_us"] / 1000, 2),
            round(data["p99_us"] / 1000, 2),
            data["bytes"],
        )


def pick_tool(choice: str, connections: int, work_dir: Path) -> PythonLoad | WrkLoad:
    executable = shutil.which("wrk")
    if choice == "wrk" and executable is None:
        raise HarnessError("--tool wrk: wrk is not on PATH (Debian: apt-get install wrk)")
    if choice in {"auto", "wrk"} and executable:
        return WrkLoad(executable, connections, work_dir / "report.lua")
    return PythonLoad(connections)


# --------------------------------------------------------------------------- report


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("django", "django-ninja", "pydantic", "gunicorn", "comptoir"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "absent"
    return found


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_revision() -> str | None:
    if shutil.which("git") is None:
        return None
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return None
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "src"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return done.stdout.strip() + ("+dirty" if dirty else "")


def median_of(rounds: list[dict[str, Any]], label: str, key: str) -> float | None:
    values = [row[label][key] for row in rounds if row[label][key] is not None]
    return round(statistics.median(values), 2) if values else None


def write_results(result: dict[str, Any], name: str, stamp: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(text, encoding="utf-8")
    (RESULTS / "latest.json").write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--name", default="members-api", help="Result file name prefix.")
    parser.add_argument("--members", type=int, default=1000, help="Generated members.")
    parser.add_argument("--rounds", type=int, default=3, help="Scoped/bare round pairs.")
    parser.add_argument("--duration", type=float, default=5.0, help="Seconds per measurement.")
    parser.add_argument("--warmup", type=float, default=2.0, help="Warm-up seconds per URL.")
    parser.add_argument("--connections", type=int, default=4, help="Concurrent connections.")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers.")
    parser.add_argument(
        "--tool",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="Load generator: wrk if on PATH (auto), or the built-in one.",
    )
    parser.add_argument(
        "--target", type=float, default=0.6, help="Minimum req/s ratio scoped/bare."
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="An EMPTY database to use instead of a temporary SQLite file "
        "(default: $BENCH_DATABASE_URL).",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the temporary data dir.")
    args = parser.parse_args(argv)
    if args.members < 1 or args.rounds < 1 or args.duration <= 0 or args.connections < 1:
        parser.error("--members, --rounds, --duration and --connections must be positive")
    return args


def bench(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    env = bench_env(data_dir, args.database_url)
    database = "sqlite" if not args.database_url else args.database_url.split(":", 1)[0]
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    log(f"data dir {data_dir} ({database}); preparing {args.members} members…")
    token, setup_timings = prepare(env, args.members)
    queries = count_queries(env, token)
    log(
        f"SQL queries per request: scoped {queries['scoped']} "
        f"(first use of the token {queries['scoped_first']}), bare {queries['bare']}"
    )

    tool = pick_tool(args.tool, args.connections, data_dir)
    server = start_server(env, data_dir, args.workers)
    try:
        auth = {"Authorization": f"Bearer {token}"}
        answers = check_answers(server.port, auth, args.members)
        log(
            f"gunicorn on 127.0.0.1:{server.port} ({args.workers} sync workers); both URLs "
            f"answer the same {answers['items']} members ({answers['bytes_scoped']} bytes)"
        )
        log(f"load generator: {tool.name} — {tool.version()}")
        targets = {"scoped": (SCOPED_PATH, auth), "bare": (BARE_PATH, {})}
        for label, (path, headers) in targets.items():
            tool.run(server.port, path, headers, args.warmup)
            log(f"warmed up {label}")
        rounds: list[dict[str, Any]] = []
        for number in range(1, args.rounds + 1):
            row: dict[str, Any] = {"round": number}
            for label, (path, headers) in targets.items():
                cpu_before = server_cpu_seconds(server.process.pid)
                measure = tool.run(server.port, path, headers, args.duration)
                cpu_after = server_cpu_seconds(server.process.pid)
                if cpu_before is not None and cpu_after is not None and measure.requests:
                    used = cpu_after - cpu_before
                    measure.server_cpu_ms = (
                        round(used / measure.requests * 1000, 2) if used > 0 else None
                    )
                if measure.errors or measure.requests == 0:
                    raise HarnessError(
                        f"round {number} {label}: {measure.errors} errors, "
                        f"{measure.requests} requests\n{server.log_tail()}"
                    )
                row[label] = measure.as_dict()
            row["ratio"] = round(row["scoped"]["rps"] / row["bare"]["rps"], 3)
            rounds.append(row)
            cpu = ""
            if (
                row["scoped"]["server_cpu_ms_per_request"]
                and row["bare"]["server_cpu_ms_per_request"]
            ):
                cpu = (
                    f" (server CPU per request: scoped "
                    f"{row['scoped']['server_cpu_ms_per_request']} ms, bare "
                    f"{row['bare']['server_cpu_ms_per_request']} ms)"
                )
            log(
                f"round {number}: scoped {row['scoped']['rps']:.1f} req/s, "
                f"bare {row['bare']['rps']:.1f} req/s, ratio {row['ratio']:.3f}{cpu}"
            )
        if server.process.poll() is not None:
            raise HarnessError(f"gunicorn died during the run:\n{server.log_tail()}")
    finally:
        server.stop()

    median_scoped = median_of(rounds, "scoped", "rps")
    median_bare = median_of(rounds, "bare", "rps")
    assert median_scoped is not None and median_bare is not None
    ratio = round(median_scoped / median_bare, 3)
    cpu_scoped = median_of(rounds, "scoped", "server_cpu_ms_per_request")
    cpu_bare = median_of(rounds, "bare", "server_cpu_ms_per_request")
    return {
        "name": args.name,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "revision": git_revision(),
        "machine": {
            "nproc": os.cpu_count(),
            "cpu": cpu_model(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            **versions(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg() if hasattr(os, "getloadavg") else None,
        },
        "setup": {
            "org": ORG,
            "members": args.members,
            "items_returned": answers["items"],
            "database": database,
            "server": "gunicorn sync",
            "workers": args.workers,
            "connections": args.connections,
            "rounds": args.rounds,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "settings": {
                "COMPTOIR_DEBUG": "0",
                "COMPTOIR_LOG_LEVEL": "WARNING",
                "gunicorn_log_level": "warning",
                "access_log": False,
            },
            "setup_seconds": setup_timings,
        },
        "tool": {"name": tool.name, "version": tool.version(), "connections": args.connections},
        "urls": {"scoped": SCOPED_PATH, "bare": BARE_PATH},
        "answers": answers,
        "queries": {
            "scoped": queries["scoped"],
            "scoped_first_use": queries["scoped_first"],
            "bare": queries["bare"],
            "scoped_sql": queries["scoped_sql"],
            "scoped_first_use_sql": queries["scoped_first_sql"],
            "bare_sql": queries["bare_sql"],
        },
        "rounds": rounds,
        "median_rps": {"scoped": median_scoped, "bare": median_bare},
        "median_latency_ms": {
            label: {
                "p50": median_of(rounds, label, "p50_ms"),
                "p95": median_of(rounds, label, "p95_ms"),
            }
            for label in ("scoped", "bare")
        },
        "median_server_cpu_ms_per_request": {"scoped": cpu_scoped, "bare": cpu_bare},
        "ratio": ratio,
        "ratio_definition": "median req/s scoped / median req/s bare",
        "median_round_ratio": round(statistics.median(row["ratio"] for row in rounds), 3),
        "cpu_ratio": (round(cpu_bare / cpu_scoped, 3) if cpu_scoped and cpu_bare else None),
        "cpu_ratio_definition": "bare / scoped server CPU ms per request (higher is better, "
        "same scale as ratio; steadier on a busy machine)",
        "target": args.target,
        "passed": ratio >= args.target,
        "cpu_passed": (cpu_bare / cpu_scoped >= args.target if cpu_scoped and cpu_bare else None),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    data_dir = Path(tempfile.mkdtemp(prefix="comptoir-bench-"))
    try:
        result = bench(args, data_dir)
    except HarnessError as exc:
        print(f"[bench] HARNESS ERROR: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("[bench] interrupted", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            log(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    path = write_results(result, args.name, stamp)
    scoped, bare = result["median_rps"]["scoped"], result["median_rps"]["bare"]
    latency = result["median_latency_ms"]
    print()
    print(f"GET {SCOPED_PATH} (token, membership, role check, schema)")
    print(
        f"    median {scoped:.1f} req/s, p50 {latency['scoped']['p50']} ms, "
        f"p95 {latency['scoped']['p95']} ms, {result['queries']['scoped']} SQL queries"
    )
    print(f"GET {BARE_PATH} (bare Django view, the peer)")
    print(
        f"    median {bare:.1f} req/s, p50 {latency['bare']['p50']} ms, "
        f"p95 {latency['bare']['p95']} ms, {result['queries']['bare']} SQL queries"
    )
    cpu = result["median_server_cpu_ms_per_request"]
    if result["cpu_ratio"] is not None:
        print(
            f"server CPU per request: scoped {cpu['scoped']} ms, bare {cpu['bare']} ms "
            f"(CPU ratio bare/scoped {result['cpu_ratio']:.3f})"
        )
    verdict = "PASS" if result["passed"] else "MISSED"
    print(
        f"ratio scoped/bare = {result['ratio']:.3f} (target >= {result['target']}): {verdict}"
        f"; median of per-round ratios {result['median_round_ratio']:.3f}"
    )
    if not result["passed"]:
        print(
            "The target was missed: this is a finding to report, not a harness error "
            "(exit status 0)."
        )
    print(f"results: {path.relative_to(ROOT)} (and benchmarks/results/latest.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
