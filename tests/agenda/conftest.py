"""Fixtures of the agenda tests: listed technicians, a fake national address API on
loopback, and the loopback SMTP server of tests/peers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from comptoir.agenda.geocoding import address_key
from tests.agenda.factories import list_everyone
from tests.conftest import Persona
from tests.peers.conftest import Mailbox, free_port, smtp_server

PLACES = {
    "12 rue esquermoise 59000 lille": (50.6386, 3.0614, "12 Rue Esquermoise 59000 Lille"),
    "3 rue de la monnaie 59000 lille": (50.6413, 3.0637, "3 Rue de la Monnaie 59000 Lille"),
    "1 place du theatre 59000 lille": (50.6372, 3.0663, "1 Place du Théâtre 59000 Lille"),
}


@pytest.fixture
def team(people: dict[str, Persona]) -> dict[str, Persona]:
    """The personas of "acme", every internal one listed on the calendar in its colour."""
    list_everyone(people)
    return people


@dataclass
class FakeBan:
    """Answers like api-adresse.data.gouv.fr/search/: GeoJSON, best match first."""

    url: str = ""
    queries: list[str] = field(default_factory=list)
    failing: bool = False


def _handler(state: FakeBan) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            text = query.get("q", [""])[0]
            state.queries.append(text)
            if state.failing:
                self.send_error(503)
                return
            if len(text) < 3:
                self._json(400, {"code": 400, "message": "q must contain at least 3 chars"})
                return
            found = PLACES.get(address_key(text))
            features: list[dict[str, Any]] = []
            if found:
                lat, lon, label = found
                features.append(
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [lon, lat]},
                        "properties": {"label": label, "score": 0.97, "type": "housenumber"},
                    }
                )
            self._json(200, {"type": "FeatureCollection", "version": "draft", "features": features})

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def fake_ban(settings: Any) -> Iterator[FakeBan]:
    """A fake national address API on 127.0.0.1, and the geocoder pointed at it."""
    state = FakeBan()
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/search/"
    settings.COMPTOIR_GEOCODER_URL = state.url
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


__all__ = ["Mailbox", "fake_ban", "smtp_server", "team"]
