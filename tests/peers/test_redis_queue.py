"""At scale, jobs go through Redis (RQ): a real Redis on loopback, real processes.

`comptoir shell` enqueues the e-mail task as the application would, and
`comptoir worker --burst` (RQ, the backend's job class) sends it: the message
lands in the mail folder. Skipped without a Redis on 127.0.0.1:6379, unless
COMPTOIR_REQUIRE_PEERS=1 (CI).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.peer
REDIS = ("127.0.0.1", 6379)


def redis_is_up() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1):
            return True
    except OSError:
        return False


def run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "comptoir.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_a_queued_email_is_sent_by_the_redis_worker(tmp_path: Path, worker_id: str):
    if not redis_is_up():
        if os.environ.get("COMPTOIR_REQUIRE_PEERS") == "1":
            pytest.fail("no Redis on 127.0.0.1:6379 (COMPTOIR_REQUIRE_PEERS=1)")
        pytest.skip("no Redis on 127.0.0.1:6379")
    database = 10 + (int(worker_id[2:]) if worker_id.startswith("gw") else 0)
    env = {
        **os.environ,
        "COMPTOIR_DATA_DIR": str(tmp_path),
        "COMPTOIR_TESTING": "0",
        "REDIS_URL": f"redis://127.0.0.1:6379/{database}",
        "EMAIL_URL": f"file://{tmp_path / 'mail'}",
    }
    env.pop("DATABASE_URL", None)
    run(env, "migrate", "-v0")
    run(env, "shell", "-c", "import django_rq; django_rq.get_queue('default').empty()")
    run(
        env,
        "shell",
        "-c",
        "from comptoir.accounts.tasks import send_email; "
        "send_email.enqueue(['jean.durant@megadiags.fr'], 'Vos rendez-vous', 'Bonjour')",
    )
    output = run(env, "worker", "--burst")
    assert "Job OK" in output
    sent = list((tmp_path / "mail").glob("*.log"))
    assert len(sent) == 1
    text = sent[0].read_text()
    assert "To: jean.durant@megadiags.fr" in text
    assert "Subject: Vos rendez-vous" in text
