"""Two agents against the real hub: `comptoir serve` on loopback with a fresh SQLite database.

The hub runs in its own processes (migrate, createorg, station add, serve), so
this test needs no Django in the test process either.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from tests.agent.conftest import Station, make_doc, write_dossier
from tests.agent.realhub import RealHub

pytestmark = pytest.mark.peer


@pytest.fixture(scope="module")
def real_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    hub = RealHub(tmp_path_factory.mktemp("hub"))
    codes = [hub.pairing_code(name) for name in ("PC bureau", "Tablette")]
    hub.start()
    try:
        yield hub.url, codes
    finally:
        hub.stop()


def test_two_stations_through_the_real_hub(real_hub, tmp_path):
    url, codes = real_hub
    s1, s2 = Station(tmp_path / "pc"), Station(tmp_path / "tablette")
    assert s1("pair", url, codes[0]).code == 0
    assert s2("pair", url, codes[1]).code == 0

    first = make_doc("2026-00501")
    second = make_doc("2026-00502")
    big = os.urandom(17 * 1024 * 1024 + 3)  # two chunks, one connection
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
