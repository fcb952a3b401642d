"""Count the SQL queries of one scoped API request and of one bare-view request.

Run by `benchmarks/run.py` as `python -m benchmarks.queries ORG TOKEN` in the
benchmark's data dir (its environment names COMPTOIR_DATA_DIR and
COMPTOIR_URLCONF=benchmarks.bench_urls). Prints one JSON object on stdout.

The first scoped request of a token may also write `last_used_at` (at most
once a minute), so both the first and a repeated ("steady") request are counted.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> int:
    org, token = argv[1], argv[2]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comptoir.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    counts: dict[str, object] = {}
    bodies = {}
    for label, url, headers in (
        ("scoped_first", f"/api/v1/orgs/{org}/members", auth),
        ("scoped", f"/api/v1/orgs/{org}/members", auth),
        ("bare", f"/bench/bare-members/{org}/", {}),
    ):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, **headers)
        if response.status_code != 200:
            print(f"{url}: HTTP {response.status_code}", file=sys.stderr)
            return 1
        bodies[label] = response.json()
        counts[label] = len(captured.captured_queries)
        counts[f"{label}_sql"] = [query["sql"][:300] for query in captured.captured_queries]
    counts["same_json"] = bodies["scoped"] == bodies["bare"]
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
