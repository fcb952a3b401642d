"""A real hub for the agent's tests: `comptoir serve` on loopback over a fresh SQLite file.

Everything runs in separate processes (migrate, createorg, station add, serve), so
the test process needs no Django. The hub can be stopped with SIGKILL and started
again over the same database and files, as after a power cut.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RealHub:
    def __init__(self, base: Path, org: str = "acme") -> None:
        if not (BIN / "comptoir").exists():
            pytest.skip("the comptoir command is not installed")
        self.org = org
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (base / "var").mkdir(parents=True)
        self.env = {
            **os.environ,
            "COMPTOIR_DATA_DIR": str(base / "var"),
            "DATABASE_URL": f"sqlite:///{base / 'var' / 'hub.sqlite3'}",
            "COMPTOIR_DEBUG": "0",
        }
        self.env.pop("REDIS_URL", None)
        self.server: subprocess.Popen[bytes] | None = None
        self.comptoir("migrate", "--verbosity", "0")
        self.comptoir(
            "createorg",
            "Acme Diagnostics",
            "--slug",
            org,
            "--kind",
            "business",
            "--admin-email",
            f"admin@{org}.test",
        )

    def comptoir(self, *args: str) -> str:
        result = subprocess.run(
            [str(BIN / "comptoir"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout.strip()

    def pairing_code(self, name: str) -> str:
        return self.comptoir("station", "add", "--org", self.org, name)

    def start(self, workers: int = 1) -> None:
        self.server = subprocess.Popen(
            [str(BIN / "comptoir"), "serve", "--port", str(self.port), "--workers", str(workers)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.server.poll() is not None:
                    pytest.fail("comptoir serve did not start")
                time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL to the whole process group: no clean shutdown, as after a crash."""
        if self.server is not None:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait(timeout=30)
            self.server = None

    def stop(self) -> None:
        if self.server is not None:
            os.killpg(self.server.pid, signal.SIGTERM)
            self.server.wait(timeout=30)
            self.server = None
