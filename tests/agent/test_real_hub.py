"""Two agents against the real hub: `comptoir serve` on loopback with a fresh SQLite database.

The hub runs in its own processes (migrate, createorg, station add, serve), so
this test needs no Django in the test process either.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.conftest import Station, make_doc, write_dossier

pytestmark = pytest.mark.peer
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _comptoir(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(BIN / "comptoir"), *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def real_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    if not (BIN / "comptoir").exists():
        pytest.skip("the comptoir command is not installed")
    base = tmp_path_factory.mktemp("hub")
    env = {
        **os.environ,
        "COMPTOIR_DATA_DIR": str(base / "var"),
        "DATABASE_URL": f"sqlite:///{base / 'var' / 'hub.sqlite3'}",
        "COMPTOIR_DEBUG": "0",
    }
    env.pop("REDIS_URL", None)
    (base / "var").mkdir()
    _comptoir(env, "migrate", "--verbosity", "0")
    _comptoir(
        env,
        "createorg",
        "Acme Diagnostics",
        "--slug",
        "acme",
        "--kind",
        "business",
        "--admin-email",
        "admin@acme.test",
    )
    codes = [
        _comptoir(env, "station", "add", "--org", "acme", name)
        for name in ("PC bureau", "Tablette")
    ]
    port = _free_port()
    server = subprocess.Popen(
        [str(BIN / "comptoir"), "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("comptoir serve did not start")
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}", codes
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_two_stations_through_the_real_hub(real_hub, tmp_path):
    url, codes = real_hub
    s1, s2 = Station(tmp_path / "pc"), Station(tmp_path / "tablette")
    assert s1("pair", url, codes[0]).code == 0
    assert s2("pair", url, codes[1]).code == 0

    first = make_doc("2026-00501")
    second = make_doc("2026-00502")
    big = os.urandom(5 * 1024 * 1024 + 3)
    write_dossier(s1.root, first, {"rapport.pdf": b"%PDF-1.4 " + os.urandom(2000)})
    write_dossier(s1.root, second, {"plan.dwg": big})
    result = s1("--quiet", "sync")
    assert result.code == 0, result.err

    result = s2("options", "--set", "fetch_missing=true")
    assert result.code == 0, result.err
    result = s2("--quiet", "sync")
    assert result.code == 0, result.err
    fields = {k: v for k, v in s2.read(first).items() if k != "files"}
    assert fields == {k: v for k, v in first.items() if k != "files"}
    assert [f["name"] for f in s2.read(first)["files"]] == ["rapport.pdf"]
    assert (s2.folder(second) / "plan.dwg").read_bytes() == big

    # both stations change the same dossier: the second one to send gets a conflict
    write_dossier(s2.root, {**s2.read(first), "status": "done"})
    assert s2("--quiet", "sync").code == 0
    write_dossier(s1.root, {**s1.read(first), "status": "report_sent"})
    (s1.folder(first) / "rapport.pdf").write_bytes(b"%PDF-1.4 version du PC")
    result = s1("--quiet", "sync")
    assert result.code == 4, result.err
    assert s1.read(first)["status"] == "report_sent"  # never overwritten
    listing = json.loads(s1("conflicts", "--json").out)
    assert [c["id"] for c in listing] == [first["id"]]

    result = s1("resolve", first["number"], "--keep", "both")
    assert result.code == 0, result.err
    assert s1.read(first)["status"] == "done"
    names = sorted(p.name for p in s1.folder(first).iterdir())
    assert "rapport.pdf" in names and any("(conflit PC bureau" in n for n in names)
    assert s1("--quiet", "sync").code == 0
    assert s2("--quiet", "sync").code == 0
    assert sorted(p.name for p in s2.folder(first).iterdir()) == names

    # a pass with nothing to do, then the statuses, offline-computable
    assert s1("--quiet", "sync").code == 0
    status = json.loads(s2("status", "--json").out)
    assert status["counts"]["green"] == 2

    number = s1("number", "next", "dossier")
    assert number.code == 0, number.err
    assert number.out.strip()
    reserved = s1("number", "reserve", "dossier", "--count", "2")
    assert reserved.code == 0, reserved.err
