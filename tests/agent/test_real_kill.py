"""Real processes killed with SIGKILL: the agent mid-upload, the hub mid-sync.

`comptoir serve` runs on loopback over SQLite; the agent runs as its own
`comptoir-agent` process so that SIGKILL leaves exactly what a crash leaves (its
journal, half-sent chunks on the hub, a transaction cut short). After the restart
everything converges and every byte on a second station matches the first.
Where the kill lands depends on timing; what is asserted holds wherever it lands.
"""

from __future__ import annotations

import hashlib
import json
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.conftest import Station, make_doc, write_dossier
from tests.agent.realhub import BIN, RealHub

pytestmark = pytest.mark.peer
MIB = 1024 * 1024


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RealHub]:
    if not (BIN / "comptoir-agent").exists():
        pytest.skip("the comptoir-agent command is not installed")
    server = RealHub(tmp_path / "hub")
    server.start()
    yield server
    server.stop()


def paired(hub: RealHub, root: Path, name: str) -> Station:
    station = Station(root)
    result = station("pair", hub.url, hub.pairing_code(name), "--name", name)
    assert result.code == 0, result.err
    return station


def agent_process(station: Station, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN / "comptoir-agent"), "--data", str(station.root), "--quiet", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for(condition: object, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 120
    while not condition():  # type: ignore[operator]
        if process.poll() is not None:
            pytest.fail(f"the agent ended (exit {process.returncode}) before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.005)


def hub_files(hub: RealHub, kind: str) -> list[Path]:
    """Stored chunks ("uploads") or blobs ("blobs") under the hub's data folder."""
    base = Path(hub.env["COMPTOIR_DATA_DIR"])
    return [path for path in base.rglob("*") if path.is_file() and kind in path.parts]


def digest_tree(station: Station) -> dict[str, str]:
    """Every document on the station's disk: dossier number/name → SHA-256."""
    found = {}
    for folder in sorted(station.root.glob("[0-9]*/*")):
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.name != "dossier.json":
                found[f"{folder.name}/{path.name}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def fresh_station_pulls_everything(hub: RealHub, tmp_path: Path) -> Station:
    tablet = paired(hub, tmp_path / "tablette", "Tablette")
    assert tablet("options", "--set", "fetch_missing=true").code == 0
    result = tablet("--quiet", "sync")
    assert result.code == 0, result.err
    return tablet


def test_agent_killed_mid_upload_resumes_and_the_bytes_arrive_whole(hub, tmp_path):
    pc = paired(hub, tmp_path / "pc", "PC bureau")
    big = random.Random(7).randbytes(64 * MIB)  # eight chunks of 8 MiB
    doc = make_doc("2026-00701")
    write_dossier(pc.root, doc, {"releve.las": big, "rapport.pdf": b"%PDF-1.4 rapport"})

    process = agent_process(pc, "sync")
    wait_for(lambda: hub_files(hub, "uploads"), process, "the first chunk reached the hub")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL  # killed mid-upload, not finished

    result = pc("--quiet", "sync")  # a restarted agent: only its journal and the disk
    assert result.code == 0, result.err
    status = json.loads(pc("status", "--json").out)
    assert status["counts"]["green"] == 1

    tablet = fresh_station_pulls_everything(hub, tmp_path)
    assert (tablet.folder(doc) / "releve.las").read_bytes() == big
    assert digest_tree(tablet) == digest_tree(pc)
    assert not hub_files(hub, "uploads")  # assembled: no chunk left behind


def test_hub_killed_mid_sync_restarts_and_everything_converges(hub, tmp_path):
    pc = paired(hub, tmp_path / "pc", "PC bureau")
    rng = random.Random(11)
    docs = []
    for n in range(300):
        doc = make_doc(f"2026-{1000 + n:05d}", client={"name": f"Client {n}"})
        write_dossier(pc.root, doc, {"rapport.pdf": b"%PDF-1.4 " + rng.randbytes(4096)})
        docs.append(doc)

    process = agent_process(pc, "sync")
    wait_for(lambda: len(hub_files(hub, "blobs")) >= 20, process, "the first files reached the hub")
    hub.kill()  # SIGKILL to the server's whole process group, mid-sync
    code = process.wait(timeout=300)
    assert code == 3, process.stderr.read().decode() if process.stderr else code  # unreachable
    if process.stderr:
        process.stderr.close()

    hub.start()  # the same database and files, after the crash
    result = pc("--quiet", "sync")
    assert result.code == 0, result.err
    assert json.loads(pc("status", "--json").out)["counts"]["green"] == len(docs)
    again = pc("--quiet", "sync")  # nothing left to do, nothing in error
    assert again.code == 0, again.err

    tablet = fresh_station_pulls_everything(hub, tmp_path)
    assert len(digest_tree(tablet)) == len(docs)
    assert digest_tree(tablet) == digest_tree(pc)
    for doc in rng.sample(docs, 5):
        assert tablet.read(doc)["client"] == doc["client"]
