"""The calendar feed of a technician with 5,000 appointments, against a static file.

What a subscribed phone or Outlook costs the hub. Makes an organisation with
5,000 appointments for its one member (plus dossiers and contacts, so events carry
missions, addresses and contacts), then measures:

  build          building the feed in-process (the query, the text, the bytes), and
                 the validator alone (`feeds.fingerprint`, what a conditional GET costs)
  feed-200       GET of the feed over HTTP, built on every request
  static-200     the same bytes as a static file, served by WhiteNoise in the same
                 gunicorn (the peer: the least any server can do to send these bytes)
  feed-304       conditional GET (If-None-Match: the feed's ETag) answered 304
  static-304     the same against the static file's ETag

over HTTP on loopback (gunicorn, 2 sync workers, production settings), in
alternating rounds; the report keeps the median of each. The 304 ratio
`feed / static` is the price of checking the secret address, the member's rights
and the data's fingerprint against serving a file from memory.

    .venv/bin/python benchmarks/agenda_ics.py [--appointments 5000] [--rounds 3 --duration 5]

Writes benchmarks/results/agenda_ics.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.run import (  # noqa: E402  (after the path is set)
    ADMIN_EMAIL,
    ORG,
    HarnessError,
    bench_env,
    comptoir,
    cpu_model,
    git_revision,
    percentile,
    server_cpu_seconds,
    start_server,
)

RESULTS = ROOT / "benchmarks" / "results"
STATIC_PATH = "/static/bench/agenda.ics"


def log(message: str) -> None:
    print(f"[agenda-ics] {message}", flush=True)


def prepare(env: dict[str, str], appointments: int) -> tuple[str, dict[str, float]]:
    timings: dict[str, float] = {}
    steps = [
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
            ),
        ),
        (
            "generate_dossiers",
            ("generate", "--org", ORG, "--contacts", "500", "--dossiers", "2000"),
        ),
        ("generate_appointments", ("generate", "--org", ORG, "--appointments", str(appointments))),
    ]
    for label, args in steps:
        started = time.monotonic()
        comptoir(env, *args)
        timings[label] = round(time.monotonic() - started, 2)
    url = comptoir(env, "agenda", "feed-url", "--org", ORG, "--member", ADMIN_EMAIL).strip()
    return urlsplit(url.splitlines()[-1]).path, timings


BUILD_SCRIPT = """
import json, sys, time, statistics
import django
django.setup()
from comptoir.agenda import feeds
from comptoir.agenda.models import CalendarFeed
feed = CalendarFeed.objects.select_related("membership__user", "membership__organization").get()
out = sys.argv[1]
builds, prints = [], []
for _ in range(int(sys.argv[2])):
    began = time.perf_counter()
    built = feeds.build(feed)
    builds.append(time.perf_counter() - began)
    began = time.perf_counter()
    feeds.fingerprint(feed)
    prints.append(time.perf_counter() - began)
open(out, "wb").write(built.body)
print(json.dumps({
    "build_ms": [round(v * 1000, 1) for v in builds],
    "fingerprint_ms": [round(v * 1000, 2) for v in prints],
    "bytes": len(built.body),
    "events": built.body.count(b"BEGIN:VEVENT"),
    "etag": built.etag,
}))
"""


def measure_build(env: dict[str, str], out: Path, repeat: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", BUILD_SCRIPT, str(out), str(repeat)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise HarnessError(f"building the feed failed:\n{done.stderr[-4000:]}")
    data: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return data


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read(), dict(response.getheaders())
    finally:
        conn.close()


def load(
    port: int, path: str, headers: dict[str, str], expect: int, seconds: float, connections: int
) -> dict[str, Any]:
    """Threads looping on GET for `seconds`; any status other than `expect` is an error."""
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    gate = threading.Barrier(connections + 1)
    deadline: list[float] = []

    def worker(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        gate.wait()
        clock = time.perf_counter
        while clock() < deadline[0]:
            began = clock()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                errors[slot] += 1
                conn.close()
                continue
            latencies[slot].append(clock() - began)
            if response.status != expect:
                errors[slot] += 1
            if response.will_close:
                conn.close()
        conn.close()

    threads = [
        threading.Thread(target=worker, args=(slot,), daemon=True) for slot in range(connections)
    ]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline.append(began + seconds)
    gate.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    merged = sorted(value for slot in latencies for value in slot)
    p50, p95 = percentile(merged, 0.5), percentile(merged, 0.95)
    return {
        "rps": round(len(merged) / elapsed, 1),
        "requests": len(merged),
        "errors": sum(errors),
        "p50_ms": None if p50 is None else round(p50 * 1000, 2),
        "p95_ms": None if p95 is None else round(p95 * 1000, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--appointments", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="Seconds per measurement.")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--builds", type=int, default=5, help="In-process builds to time.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="comptoir-agenda-ics-") as scratch:
        data_dir = Path(scratch)
        env = bench_env(data_dir, os.environ.get("BENCH_DATABASE_URL"))
        feed_path, setup = prepare(env, args.appointments)
        log(f"data ready: {setup}")
        static_file = data_dir / "static" / "bench" / "agenda.ics"
        static_file.parent.mkdir(parents=True, exist_ok=True)
        build = measure_build(env, static_file, args.builds)
        log(f"built {build['events']} events, {build['bytes']} bytes, {build['build_ms']} ms")
        server = start_server(env, data_dir, args.workers)
        try:
            status, feed_body, feed_headers = get(server.port, feed_path)
            static_status, static_body, static_headers = get(server.port, STATIC_PATH)
            if (status, static_status) != (200, 200):
                raise HarnessError(f"feed {status}, static file {static_status}")
            if feed_body != static_body:
                raise HarnessError("the feed and the static file differ: unfair comparison")
            cases = {
                "feed-200": (feed_path, {}, 200),
                "static-200": (STATIC_PATH, {}, 200),
                "feed-304": (feed_path, {"If-None-Match": feed_headers["ETag"]}, 304),
                "static-304": (STATIC_PATH, {"If-None-Match": static_headers["ETag"]}, 304),
            }
            for path, headers, expect in cases.values():
                if get(server.port, path, headers)[0] != expect:
                    raise HarnessError(f"{path} with {headers} did not answer {expect}")
            rounds: dict[str, list[dict[str, Any]]] = {label: [] for label in cases}
            for number in range(args.rounds):
                for label, (path, headers, expect) in cases.items():
                    cpu_before = server_cpu_seconds(server.process.pid)
                    measured = load(
                        server.port, path, headers, expect, args.duration, args.connections
                    )
                    cpu_after = server_cpu_seconds(server.process.pid)
                    if cpu_before is not None and cpu_after is not None and measured["requests"]:
                        measured["server_cpu_ms_per_request"] = round(
                            (cpu_after - cpu_before) * 1000 / measured["requests"], 3
                        )
                    if measured["errors"]:
                        raise HarnessError(f"{label}: {measured['errors']} errors under load")
                    rounds[label].append(measured)
                    rps, p50 = measured["rps"], measured["p50_ms"]
                    log(f"round {number + 1} {label}: {rps} req/s, p50 {p50} ms")
        finally:
            server.stop()
    median = {
        label: {
            key: statistics.median(item[key] for item in items)
            for key in ("rps", "p50_ms", "p95_ms", "server_cpu_ms_per_request")
            if all(item.get(key) is not None for item in items)
        }
        for label, items in rounds.items()
    }
    result = {
        "benchmark": "agenda_ics",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "git": git_revision(),
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "database": "postgresql" if os.environ.get("BENCH_DATABASE_URL") else "sqlite",
        "appointments": args.appointments,
        "feed": {"events": build["events"], "bytes": build["bytes"]},
        "setup_seconds": setup,
        "build_in_process_ms": {
            "runs": build["build_ms"],
            "median": statistics.median(build["build_ms"]),
            "fingerprint_median": statistics.median(build["fingerprint_ms"]),
        },
        "http": {"workers": args.workers, "connections": args.connections, "rounds": rounds},
        "median": median,
        "ratios": {
            "feed_304_over_static_304_rps": round(
                median["feed-304"]["rps"] / median["static-304"]["rps"], 3
            ),
            "feed_200_over_static_200_rps": round(
                median["feed-200"]["rps"] / median["static-200"]["rps"], 3
            ),
            "feed_304_over_feed_200_rps": round(
                median["feed-304"]["rps"] / median["feed-200"]["rps"], 1
            ),
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "agenda_ics.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    log(f"median: {json.dumps(median)}")
    log(f"ratios: {result['ratios']} -> {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
