"""The command line: exit codes, pairing, the token file, startup without Django."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

from comptoir_agent import __version__
from tests.agent.conftest import Station, make_doc, paired, write_dossier
from tests.agent.fakehub import Fail


def test_importing_the_cli_loads_no_django():
    code = (
        "import comptoir_agent.cli, sys; "
        "assert 'django' not in sys.modules and 'ninja' not in sys.modules; "
        "assert not [m for m in sys.modules if m == 'comptoir' or m.startswith('comptoir.')]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_sync_pass_loads_no_django(hub, station):
    code = (
        "import sys; from comptoir_agent.cli import main; "
        f"rc = main(['--data', {str(station.root)!r}, '--quiet', 'sync']); "
        "assert 'django' not in sys.modules, 'django imported'; sys.exit(rc)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_version_and_help(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "comptoir_agent.cli", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.strip() == f"comptoir-agent {__version__}"
    result = subprocess.run(
        [sys.executable, "-m", "comptoir_agent.cli", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "exit codes:" in result.stdout


def test_usage_errors_exit_1(tmp_path, monkeypatch):
    monkeypatch.delenv("COMPTOIR_AGENT_DATA", raising=False)
    assert Station(tmp_path)("frobnicate").code == 1
    assert Station(tmp_path)("resolve", "x", "--keep", "maybe").code == 1
    from comptoir_agent.cli import main

    assert main(["sync"]) == 1  # no data folder given
    assert main([]) == 1


def test_data_folder_from_the_environment(hub, tmp_path, monkeypatch):
    station = paired(hub, tmp_path / "env")
    monkeypatch.setenv("COMPTOIR_AGENT_DATA", str(station.root))
    from comptoir_agent.cli import main

    assert main(["--quiet", "sync"]) == 0


def test_pairing_stores_station_and_private_token(hub, tmp_path):
    station = paired(hub, tmp_path / "p", name="PC bureau")
    info = json.loads((station.root / ".comptoir" / "station.json").read_text())
    assert info["org"] == "acme" and info["name"] == "PC bureau"
    assert info["hub"] == hub.url
    token = station.root / ".comptoir" / "token"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert token.read_text().strip() == hub.station("PC bureau").token
    assert "token" not in info


def test_pairing_twice_needs_force(hub, tmp_path):
    station = paired(hub, tmp_path / "p")
    code = hub.add_code("AGAIN")
    assert station("pair", hub.url, code).code == 1
    assert station("pair", hub.url, code, "--force").code == 0


def test_pairing_with_a_bad_code_exits_2(hub, tmp_path):
    result = Station(tmp_path / "p")("pair", hub.url, "NOPE-NOPE")
    assert result.code == 2
    assert "Appairage refusé" in result.err
    assert not (tmp_path / "p" / ".comptoir" / "token").exists()


def test_not_paired_exits_2(tmp_path):
    (tmp_path / "p").mkdir()
    result = Station(tmp_path / "p")("sync")
    assert result.code == 2 and "pas appairé" in result.err


def test_revoked_token_exits_2(hub, station):
    hub.station("PC bureau").token = "revoked"
    result = station("sync")
    assert result.code == 2 and "appairez-le à nouveau" in result.err.lower()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_hub_exits_3_and_keeps_local_state(hub, station):
    doc = make_doc("2026-00001")
    write_dossier(station.root, doc)
    sentinel = station.root / ".comptoir" / "station.json"
    info = json.loads(sentinel.read_text())
    info["hub"] = f"http://127.0.0.1:{_free_port()}"
    sentinel.write_text(json.dumps(info))
    result = station("sync")
    assert result.code == 3 and "Hub injoignable" in result.err
    status = json.loads(station("status", "--json").out)
    assert status["counts"]["blue"] == 1


def test_busy_hub_is_retried_then_reported_unreachable(hub, station, monkeypatch):
    monkeypatch.setattr("comptoir_agent.client.time.sleep", lambda s: None)
    from comptoir_agent import client

    monkeypatch.setattr(client, "MAX_RETRY_AFTER", 0.0)
    hub.fail("GET", "sync/station", 2, Fail(503, "busy", "busy"))
    assert station("sync").code == 0
    hub.fail("GET", "sync/station", 10, Fail(429, "busy", "busy"))
    assert station("sync").code == 3


def test_token_is_sent_and_never_printed(hub, station):
    token = hub.station("PC bureau").token
    result = station("sync")
    assert token not in result.out + result.err


def test_pair_strips_the_api_prefix(hub, tmp_path):
    station = Station(tmp_path / "p")
    code = hub.add_code("PREFIX")
    assert station("pair", hub.url + "/api/v1/", code).code == 0
    assert json.loads((tmp_path / "p" / ".comptoir" / "station.json").read_text())["hub"] == hub.url


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("comptoir-agent")
    result = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, env={**os.environ}
    )
    assert result.returncode == 0 and __version__ in result.stdout
