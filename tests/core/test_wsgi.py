"""The WSGI entry point leaves what it built while starting out of the cycle collector."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, json
before = gc.get_freeze_count()
import comptoir.wsgi
from django.urls import get_resolver
print(json.dumps({"before": before, "frozen": gc.get_freeze_count(),
                  "left": len(gc.get_objects()), "resolved": bool(get_resolver().url_patterns)}))
"""


def test_starting_freezes_the_objects_it_made(tmp_path):
    env = {
        **os.environ,
        "COMPTOIR_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "comptoir.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["before"] == 0 and seen["resolved"]
    # Django, the apps and the API: tens of thousands of objects, of which a full
    # collection now walks only the few made after the freeze.
    assert seen["frozen"] > 20_000
    assert seen["left"] < seen["frozen"] / 10
