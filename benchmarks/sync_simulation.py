"""Thousands of seeds of the sync simulation (docs/sync/simulation.md), outside pytest.

Each worker process sets Django up on its own throwaway SQLite database (a temp
dir, migrated once), then plays seeds through tests/sim/harness.py: each seed
runs in a transaction rolled back at its end, with its own data folders and
blob storage. Progress goes to stdout; the figures (seeds run, failures with
their seeds, seconds, faults injected by kind) go to
benchmarks/results/sync_simulation.json.

    .venv/bin/python benchmarks/sync_simulation.py [--seeds 2000] [--start 0] [--jobs N]

Replay a failing seed with `COMPTOIR_SIM_SEED=<seed> pytest tests/sim -p no:xdist`.
Exit status: 0 when every seed held every invariant, 1 when one did not (or crashed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
RESULT_FILE = RESULTS / "sync_simulation.json"
BATCH = 4  # seeds per task: few round trips, fine-grained enough for progress
# Settings the run must not inherit from the caller's shell: it is self-contained.
DROPPED_ENV = ("DATABASE_URL", "REDIS_URL", "COMPTOIR_STORAGE_URL", "COMPTOIR_URLCONF")

_WORKDIR: Path | None = None


def log(message: str) -> None:
    print(f"[sync-sim] {message}", flush=True)


def _init_worker(base: str) -> None:
    """A fresh interpreter: Django on a new SQLite database in `base`, migrated."""
    global _WORKDIR
    workdir = Path(tempfile.mkdtemp(prefix="worker-", dir=base))
    for name in DROPPED_ENV:
        os.environ.pop(name, None)
    os.environ.update(
        {
            "COMPTOIR_DATA_DIR": str(workdir / "var"),
            "COMPTOIR_TESTING": "1",
            "COMPTOIR_DEBUG": "0",
            "COMPTOIR_LOG_LEVEL": "ERROR",
            "DJANGO_SETTINGS_MODULE": "comptoir.settings",
        }
    )
    (workdir / "var").mkdir()
    sys.path.insert(0, str(ROOT))
    import logging

    import django

    django.setup()
    logging.getLogger("django.request").setLevel(logging.ERROR)  # 4xx are part of the game
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    call_command("migrate", verbosity=0, interactive=False)
    setup_test_environment()  # the test client's host, in-memory e-mail
    _WORKDIR = workdir


def _run_batch(seeds: list[int]) -> list[dict[str, Any]]:
    from tests.sim.harness import run_seed

    assert _WORKDIR is not None
    out = []
    for seed in seeds:
        folder = _WORKDIR / f"seed-{seed}"
        try:
            result = run_seed(seed, folder)
            record = {
                "seed": seed,
                "ok": result.ok,
                "violations": result.violations[:20],
                "faults": dict(result.faults),
                "stats": dict(result.stats),
                "seconds": round(result.seconds, 3),
                "trace_tail": result.trace[-60:] if not result.ok else [],
            }
        except Exception as exc:  # noqa: BLE001 - a harness failure is reported with its seed
            record = {
                "seed": seed,
                "ok": False,
                "violations": [f"harness error: {exc!r}"],
                "faults": {},
                "stats": {},
                "seconds": 0.0,
                "trace_tail": [],
            }
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        out.append(record)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seeds", type=int, default=2000, help="how many seeds (default 2000)")
    parser.add_argument("--start", type=int, default=0, help="first seed (default 0)")
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: CPUs)"
    )
    parser.add_argument("--output", type=Path, default=RESULT_FILE, help="the JSON results")
    args = parser.parse_args(argv)
    seeds = list(range(args.start, args.start + args.seeds))
    batches = [seeds[i : i + BATCH] for i in range(0, len(seeds), BATCH)]
    jobs = max(1, min(args.jobs, len(batches)))
    log(f"{len(seeds)} seeds from {args.start}, {jobs} worker(s)")
    started = time.monotonic()
    results: list[dict[str, Any]] = []
    faults: Counter[str] = Counter()
    stats: Counter[str] = Counter()
    failures: list[dict[str, Any]] = []
    next_report = 0.0
    with (
        tempfile.TemporaryDirectory(prefix="comptoir-sync-sim-") as base,
        ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=get_context("spawn"),
            initializer=_init_worker,
            initargs=(base,),
        ) as pool,
    ):
        pending: set[Future[list[dict[str, Any]]]] = {
            pool.submit(_run_batch, batch) for batch in batches
        }
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                for record in future.result():
                    results.append(record)
                    faults.update(record["faults"])
                    stats.update(record["stats"])
                    if not record["ok"]:
                        failures.append(record)
                        log(f"seed {record['seed']} FAILED: {record['violations'][:3]}")
            elapsed = time.monotonic() - started
            if elapsed >= next_report or not pending:
                rate = len(results) / elapsed if elapsed else 0.0
                left = (len(seeds) - len(results)) / rate if rate else 0.0
                log(
                    f"{len(results)}/{len(seeds)} seeds, {len(failures)} failed, "
                    f"{rate:.2f} seeds/s, about {left:.0f} s left"
                )
                next_report = elapsed + 15
    seconds = time.monotonic() - started
    failures.sort(key=lambda r: r["seed"])
    summary = {
        "benchmark": "sync-simulation",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "seeds": {"start": args.start, "count": len(seeds)},
        "jobs": jobs,
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "passed": len(results) - len(failures),
        "failed": len(failures),
        "failed_seeds": [r["seed"] for r in failures],
        "failures": [
            {"seed": r["seed"], "violations": r["violations"], "trace_tail": r["trace_tail"]}
            for r in failures[:50]
        ],
        "seconds": round(seconds, 1),
        "seeds_per_second": round(len(results) / seconds, 3) if seconds else None,
        "seconds_per_seed_cpu": round(sum(r["seconds"] for r in results) / len(results), 3)
        if results
        else None,
        "faults": dict(sorted(faults.items())),
        "faults_total": sum(faults.values()),
        "quota_drift_seeds": sorted(
            r["seed"] for r in results if r["stats"].get("quota_drift_seeds")
        ),
        "activity": dict(sorted(stats.items())),
        "replay": "COMPTOIR_SIM_SEED=<seed> .venv/bin/pytest tests/sim -p no:xdist",
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", "utf-8")
    log(
        f"done: {summary['passed']} passed, {summary['failed']} failed in {seconds:.0f} s "
        f"({summary['seeds_per_second']} seeds/s); {summary['faults_total']} faults injected"
    )
    log(f"results: {args.output}")
    if failures:
        log(f"failed seeds: {summary['failed_seeds'][:20]}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
