"""Fixtures of the agent's tests: a fake hub on loopback and stations in temporary folders.

Nothing here needs Django (tests/conftest.py is loaded anyway, which is fine).
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from comptoir_agent.cli import main
from tests.agent.fakehub import FakeHub


def make_doc(number: str, year: int = 2026, **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": 1,
        "id": str(uuid.uuid4()),
        "number": number,
        "year": year,
        "status": "scheduled",
        "created_at": f"{year}-03-10T09:00:00+01:00",
        "missions": ["dpe"],
        "client": {"name": "Agence du Beffroi"},
        "files": [],
    }
    doc.update(fields)
    return doc


def write_dossier(root: Path, doc: dict[str, Any], files: dict[str, bytes] | None = None) -> Path:
    folder = root / str(doc["year"]) / doc["number"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dossier.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    for name, data in (files or {}).items():
        (folder / name).write_bytes(data)
    return folder


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Station:
    root: Path

    def __call__(self, *args: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["--data", str(self.root), *args])
        return Result(code, out.getvalue(), err.getvalue())

    def folder(self, doc: dict[str, Any]) -> Path:
        return self.root / str(doc["year"]) / doc["number"]

    def read(self, doc: dict[str, Any]) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.folder(doc) / "dossier.json").read_text())
        return loaded


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    server = FakeHub()
    server.start()
    yield server
    server.stop()


def paired(hub: FakeHub, root: Path, name: str = "PC bureau") -> Station:
    station = Station(root)
    code = hub.add_code(f"CODE-{uuid.uuid4().hex[:6]}")
    result = station("pair", hub.url, code, "--name", name)
    assert result.code == 0, result.err
    return station


@pytest.fixture
def station(hub: FakeHub, tmp_path: Path) -> Station:
    return paired(hub, tmp_path / "poste1")


@pytest.fixture
def other(hub: FakeHub, tmp_path: Path) -> Station:
    return paired(hub, tmp_path / "poste2", name="Tablette")
