"""Dossiers go up by groups; a group's push travels while the next group's files go up,
and every answer is recorded."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from comptoir_agent import ahead, engine
from tests.agent.conftest import make_doc, paired, write_dossier
from tests.agent.fakehub import Fail, FakeHub

GROUP = 3


class HoldingHub(FakeHub):
    """Holds the first push until a later request releases it (`releases`), or refuses
    it after `wait` seconds: then the test fails."""

    refusal = ""

    def __init__(self, wait: float = 10.0) -> None:
        super().__init__()
        self.released = threading.Event()
        self.pushes = 0
        self.wait = wait
        self.guard = threading.Lock()

    def releases(self, path: str, push: int | None) -> bool:
        """Whether this request (`push`: its number among the pushes) frees the first push."""
        raise NotImplementedError

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes
    ) -> tuple[int, Any, str]:
        push = None
        if path.endswith("/sync/dossiers/push"):
            with self.guard:
                self.pushes += 1
                push = self.pushes
        if self.releases(path, push):
            self.released.set()
        if push == 1 and not self.released.wait(self.wait):
            raise Fail(409, "alone", self.refusal)
        return super().handle(method, path, query, headers, body)


class PipelineHub(HoldingHub):
    """The first push waits for files of a later group."""

    refusal = "envoi des dossiers sans envoi de fichiers en parallèle"

    def releases(self, path: str, push: int | None) -> bool:
        return path.endswith("/sync/blobs/batch") and self.pushes >= 1


@pytest.fixture
def pipeline_hub(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(engine, "MAX_BULK_DOSSIERS", GROUP)
    monkeypatch.setattr(ahead, "EARLY", False)  # the files would all go up during the scan
    server = PipelineHub()
    server.start()
    yield server
    server.stop()


def test_a_groups_push_travels_while_the_next_groups_files_go_up(pipeline_hub, tmp_path):
    station = paired(pipeline_hub, tmp_path / "poste")
    docs = [make_doc(f"2026-{index:05d}") for index in range(1, 2 * GROUP + 2)]
    for index, doc in enumerate(docs):
        write_dossier(station.root, doc, files={f"photo-{index}.jpg": bytes([index]) * 4096})
    result = station("sync")
    assert result.code == 0, result.out
    assert pipeline_hub.pushes == 3  # 7 dossiers in groups of 3
    assert set(pipeline_hub.dossiers) == {doc["id"] for doc in docs}
    status = station("status", "--json")
    assert status.code == 0
    assert station("sync").code == 0  # every answer was recorded: nothing to send again
    assert pipeline_hub.pushes == 3


def test_a_single_group_is_pushed_and_recorded(hub, tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "MAX_BULK_DOSSIERS", GROUP)
    station = paired(hub, tmp_path / "poste")
    for index in range(GROUP):
        write_dossier(station.root, make_doc(f"2026-{index + 1:05d}"))
    assert station("sync").code == 0
    assert len(hub.dossiers) == GROUP


class TwoPushesHub(HoldingHub):
    """The first push waits for a second one."""

    refusal = "un seul envoi de dossiers à la fois"

    def releases(self, path: str, push: int | None) -> bool:
        return push == 2


@pytest.mark.parametrize("count", [2 * GROUP, 2 * GROUP + 1])
def test_two_groups_pushes_travel_together(tmp_path, monkeypatch, count):
    """Two pushes in flight together, also when there are only two groups: the last one
    does not wait for the first one's answer (the hub checks one while it writes the
    other)."""
    monkeypatch.setattr(engine, "MAX_BULK_DOSSIERS", GROUP)
    server = TwoPushesHub()
    server.start()
    try:
        station = paired(server, tmp_path / "poste")
        docs = [make_doc(f"2026-{index:05d}") for index in range(1, count + 1)]
        for index, doc in enumerate(docs):
            write_dossier(station.root, doc, files={f"photo-{index}.jpg": bytes([index]) * 512})
        result = station("sync")
        assert result.code == 0, result.err
        groups = -(-count // GROUP)
        assert server.pushes == groups
        assert set(server.dossiers) == {doc["id"] for doc in docs}
        assert station("sync").code == 0  # every answer was recorded: nothing to send again
        assert server.pushes == groups
    finally:
        server.stop()
