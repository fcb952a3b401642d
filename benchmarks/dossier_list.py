"""The dossier list at scale against the Django admin changelist of the same model.

Makes an organisation with 100,000 dossiers and 50,000 contacts with `comptoir
generate` (timed), then measures server time (the view, in-process, through
the whole middleware stack) for:

  comptoir        /o/bench/dossiers/                  default filters, 50 rows
  comptoir-search /o/bench/dossiers/?q=<street>       search by street name
  admin           /bench-admin/dossiers/dossier/       the admin changelist, 50 rows
  admin-search    /bench-admin/dossiers/dossier/?q=<street>

in alternating rounds, and the query count of Comptoir's list at 50 and 200 rows
per page (it must not grow with the page size). Writes
benchmarks/results/dossier-list-<stamp>.json and dossier-list-latest.json.

    .venv/bin/python benchmarks/dossier_list.py [--dossiers 100000 --contacts 50000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
STREET = "esquermoise"


def log(message: str) -> None:
    print(f"[dossier-list] {message}", flush=True)


def prepare(data_dir: Path, dossiers: int, contacts: int) -> dict[str, float]:
    env = {
        **os.environ,
        "COMPTOIR_DATA_DIR": str(data_dir),
        "COMPTOIR_TESTING": "0",
        "DJANGO_SETTINGS_MODULE": "comptoir.settings",
    }
    for name in ("DATABASE_URL", "REDIS_URL", "COMPTOIR_URLCONF"):
        env.pop(name, None)
    comptoir = [sys.executable, "-m", "comptoir.cli"]
    subprocess.run([*comptoir, "migrate", "-v0"], env=env, check=True)
    subprocess.run(
        [
            *comptoir,
            "createorg",
            "Bench",
            "--slug",
            "bench",
            "--kind",
            "business",
            "--admin-email",
            "admin@bench.example",
        ],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    started = time.monotonic()
    subprocess.run(
        [
            *comptoir,
            "generate",
            "--org",
            "bench",
            "--contacts",
            str(contacts),
            "--dossiers",
            str(dossiers),
        ],
        env=env,
        check=True,
    )
    return {"generate_seconds": round(time.monotonic() - started, 1)}


def setup_django(data_dir: Path) -> None:
    os.environ.update(
        {
            "COMPTOIR_DATA_DIR": str(data_dir),
            "COMPTOIR_TESTING": "0",
            "DJANGO_SETTINGS_MODULE": "benchmarks.bench_admin_settings",
            "COMPTOIR_ALLOWED_HOSTS": "testserver",
        }
    )
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def timed(client: Any, url: str, params: dict[str, str]) -> float:
    started = time.perf_counter()
    response = client.get(url, params)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    return elapsed


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return round(ordered[index], 1)


def measure(rounds: int, requests: int) -> dict[str, Any]:
    from django.test import Client

    from comptoir.core.models import Membership

    admin = Membership.objects.filter(organization__slug="bench").select_related("user")
    member = admin.get(role="admin")
    client = Client()
    client.force_login(member.user, backend="comptoir.accounts.backends.LoginOrEmailBackend")
    cases = {
        "comptoir": ("/o/bench/dossiers/", {}),
        "comptoir-search": ("/o/bench/dossiers/", {"q": STREET}),
        "admin": ("/bench-admin/dossiers/dossier/", {}),
        "admin-search": ("/bench-admin/dossiers/dossier/", {"q": STREET}),
    }
    for url, params in cases.values():  # warm caches and connections
        for _ in range(3):
            timed(client, url, params)
    samples: dict[str, list[float]] = {label: [] for label in cases}
    for _round in range(rounds):
        for label, (url, params) in cases.items():
            samples[label] += [timed(client, url, params) for _ in range(requests)]
    return {
        label: {
            "p50_ms": percentile(values, 0.5),
            "p95_ms": percentile(values, 0.95),
            "mean_ms": round(statistics.fmean(values), 1),
            "n": len(values),
        }
        for label, values in samples.items()
    }


def query_counts() -> dict[str, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from comptoir.core.models import Membership
    from comptoir.dossiers import listing

    member = Membership.objects.select_related("user").get(organization__slug="bench", role="admin")
    client = Client()
    client.force_login(member.user, backend="comptoir.accounts.backends.LoginOrEmailBackend")
    setup_test_environment()  # after the timings: it instruments template rendering
    counts = {}
    for size in (50, 200):
        listing.PAGE_SIZE = size
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/o/bench/dossiers/")
        assert len(response.context["rows"]) == size
        counts[f"rows_{size}"] = len(queries)
    listing.PAGE_SIZE = 50
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dossiers", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=20, help="Requests per case and round.")
    parser.add_argument("--data-dir", help="Reuse a prepared data folder (skips generate).")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="comptoir-bench-") as scratch:
        data_dir = Path(args.data_dir or scratch)
        prep = {} if args.data_dir else prepare(data_dir, args.dossiers, args.contacts)
        log(f"data ready {prep}")
        setup_django(data_dir)
        timings = measure(args.rounds, args.requests)
        counts = query_counts()
    ratio = {
        "list_admin_over_comptoir_p50": round(
            timings["admin"]["p50_ms"] / timings["comptoir"]["p50_ms"], 2
        ),
        "search_admin_over_comptoir_p50": round(
            timings["admin-search"]["p50_ms"] / timings["comptoir-search"]["p50_ms"], 2
        ),
    }
    goals = {
        "comptoir_list_at_least_as_fast_as_admin": timings["comptoir"]["p50_ms"]
        <= timings["admin"]["p50_ms"],
        "comptoir_search_at_least_as_fast_as_admin": timings["comptoir-search"]["p50_ms"]
        <= timings["admin-search"]["p50_ms"],
        "p95_under_100_ms": max(timings["comptoir"]["p95_ms"], timings["comptoir-search"]["p95_ms"])
        < 100,
        "queries_do_not_grow_with_page_size": counts["rows_50"] == counts["rows_200"],
    }
    result = {
        "benchmark": "dossier-list",
        "when": datetime.now(UTC).isoformat(),
        "dossiers": args.dossiers,
        "contacts": args.contacts,
        "nproc": os.cpu_count(),
        "python": sys.version.split()[0],
        **prep,
        "server_time": timings,
        "ratios": ratio,
        "queries": counts,
        "goals": goals,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for name in (f"dossier-list-{stamp}.json", "dossier-list-latest.json"):
        (RESULTS / name).write_text(json.dumps(result, indent=2), encoding="utf-8")
    for label, figures in timings.items():
        log(f"{label:<16} p50 {figures['p50_ms']:>7} ms   p95 {figures['p95_ms']:>7} ms")
    log(f"queries: {counts}   goals: {goals}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
