"""Stations paired through the real API, and helpers to build dossier documents."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from comptoir.dossiers import exchange
from comptoir.sync import services


@dataclass
class StationClient:
    org: str
    token: str
    station_id: str

    def client(self) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Bearer {self.token}")

    def url(self, path: str) -> str:
        return f"/api/v1/orgs/{self.org}/sync/{path}"

    def get(self, path: str, **extra: Any) -> Any:
        return self.client().get(self.url(path), **extra)

    def post(self, path: str, data: Any) -> Any:
        return self.client().post(self.url(path), json.dumps(data), content_type="application/json")

    def batch(self, files: list[bytes], *, manifest: list[dict[str, Any]] | None = None) -> Any:
        manifest = manifest or [
            {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)} for data in files
        ]
        body = json.dumps(manifest).encode() + b"\n" + b"".join(files)
        return self.client().post(
            self.url("blobs/batch"), body, content_type="application/x-comptoir-batch"
        )

    def push(self, *items: dict[str, Any]) -> Any:
        return self.post("dossiers/push", {"dossiers": list(items)})


def pair_station(people: Any, name: str = "PC bureau", persona: str = "tech_all") -> StationClient:
    admin = people["admin"]
    _station, code = services.add_station(
        admin.org, name, member=people[persona].member, actor=admin.user
    )
    response = Client().post(
        "/api/v1/sync/pair",
        json.dumps({"code": code, "version": "1.0.0", "platform": "linux"}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    return StationClient(body["org"], body["token"], body["station"])


@pytest.fixture
def station(people):
    return pair_station(people)


@pytest.fixture
def other_station(people):
    return pair_station(people, "Tablette terrain")


def document(
    number: str = "2026-00100", files: list[bytes] | None = None, **changes: Any
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": 1,
        "id": str(uuid.uuid4()),
        "number": number,
        "year": 2026,
        "status": "scheduled",
        "created_at": "2026-11-18T14:05:00+01:00",
        "missions": ["dpe", "amiante"],
        "client": {"name": "Agence du Beffroi", "email": "contact@beffroi.fr"},
        "property": {"street": "14 rue Esquermoise", "postcode": "59000", "city": "Lille"},
        "appointment": "2026-11-25T09:00:00+01:00",
        "operator": None,
        "custom_fields": {},
        "files": sorted(
            (
                {
                    "name": f"fichier-{index}.pdf",
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "size": len(data),
                }
                for index, data in enumerate(files or [])
            ),
            key=lambda item: item["name"],
        ),
    }
    doc.update(changes)
    return doc


def item(doc: dict[str, Any], base_rev: str | None = None) -> dict[str, Any]:
    return {
        "id": doc["id"],
        "base_rev": base_rev,
        "rev": exchange.revision_id(doc, base_rev),
        "document": doc,
    }
