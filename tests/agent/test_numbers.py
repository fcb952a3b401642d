"""Numbers: from the hub when online, from a reserved block when offline."""

from __future__ import annotations

import json
import socket

from tests.agent.conftest import Station


def _cut(station: Station) -> None:
    sentinel = station.root / ".comptoir" / "station.json"
    info = json.loads(sentinel.read_text())
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        info["hub"] = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sentinel.write_text(json.dumps(info))


def test_next_online(hub, station):
    result = station("number", "next", "dossier", "--operator", "DUJ")
    assert (result.code, result.out.strip()) == (0, "2026-00001")


def test_reserve_then_next_offline(hub, station):
    result = station("number", "reserve", "dossier", "--count", "3", "--operator", "DUJ")
    assert result.code == 0 and "3 numéros réservés : 2026-00001 … 2026-00003" in result.out
    _cut(station)
    taken = [station("number", "next", "dossier", "--operator", "DUJ") for _ in range(4)]
    assert [t.out.strip() for t in taken[:3]] == ["2026-00001", "2026-00002", "2026-00003"]
    assert "bloc réservé" in taken[0].err
    assert taken[3].code == 3 and "aucun numéro réservé" in taken[3].err


def test_invoice_numbers_are_never_given_to_stations(station):
    result = station("number", "next", "invoice")
    assert result.code == 1 and "facture" in result.err
    assert station("number", "reserve", "dossier", "--count", "0").code == 1
