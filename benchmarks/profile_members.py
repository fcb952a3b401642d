"""Where the time of one member-list request goes, in-process (no server, no network).

    python benchmarks/profile_members.py [--members 1000] [--repeat 200] [--top 30]

Builds a temporary data dir like run.py, then, through Django's test Client:
- times the scoped and the bare request (CPU time per request, best of 5 batches), which
  gives a machine-load-independent view of the ratio that run.py measures over HTTP;
- runs cProfile over 20 requests (`--case scoped|bare`) and prints the top functions
  (`--sort cumulative|tottime`).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # benchmarks/run.py


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument(
        "--case",
        choices=["scoped", "bare"],
        default="scoped",
        help="Which request cProfile looks at.",
    )
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="comptoir-profile-"))
    try:
        env = run.bench_env(data_dir, None)
        token, _timings = run.prepare(env, args.members)
        os.environ.update(env)
        sys.path.insert(0, str(run.ROOT))
        import django

        django.setup()
        from django.test import Client

        client = Client(HTTP_HOST="127.0.0.1")
        auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        cases = {"scoped": (run.SCOPED_PATH, auth), "bare": (run.BARE_PATH, {})}
        best: dict[str, float] = {}
        for label, (path, headers) in cases.items():
            assert client.get(path, **headers).status_code == 200
            batches = []
            for _ in range(5):
                began = time.process_time()
                for _ in range(max(1, args.repeat // 5)):
                    client.get(path, **headers)
                batches.append((time.process_time() - began) / max(1, args.repeat // 5))
            best[label] = min(batches)
            print(f"{label}: {best[label] * 1000:.2f} ms CPU per request (best of 5 batches)")
        print(f"in-process ratio (bare time / scoped time): {best['bare'] / best['scoped']:.3f}")
        profiler = cProfile.Profile()
        path, headers = cases[args.case]
        profiler.enable()
        for _ in range(20):
            client.get(path, **headers)
        profiler.disable()
        print(f"\ncProfile of 20 {args.case} requests:")
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
    finally:
        if args.keep:
            print(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
