"""Safety valves: an unmounted or emptied data folder never looks like "everything deleted"."""

from __future__ import annotations

import shutil

from tests.agent.conftest import make_doc, write_dossier


def test_missing_data_folder_is_a_safety_stop(hub, station):
    write_dossier(station.root, make_doc("2026-00001"))
    assert station("sync").code == 0
    moved = station.root.with_name("ailleurs")
    station.root.rename(moved)
    result = station("sync")
    assert result.code == 5 and "introuvable" in result.err
    assert hub.count("GET", "sync/changes") == 1  # nothing was asked of the hub


def test_emptied_data_folder_is_a_safety_stop(hub, station):
    docs = [make_doc(f"2026-{i:05d}") for i in range(3)]
    for doc in docs:
        write_dossier(station.root, doc)
    assert station("sync").code == 0
    hub.requests.clear()
    shutil.rmtree(station.root / "2026")
    result = station("sync")
    assert result.code == 5 and "aucun dossier" in result.err
    assert hub.requests == []
    assert station("status").code == 5
    # the journal still knows them: putting the folder back is not a conflict
    for doc in docs:
        write_dossier(station.root, doc)
    assert station("sync").code == 0
    assert all(not d.conflicts for d in hub.dossiers.values())


def test_missing_sentinel_with_a_journal_is_a_safety_stop(hub, station):
    write_dossier(station.root, make_doc("2026-00001"))
    assert station("sync").code == 0
    (station.root / ".comptoir" / "station.json").unlink()
    result = station("sync")
    assert result.code == 5 and "station.json" in result.err


def test_one_removed_dossier_is_not_a_deletion_on_the_hub(hub, station):
    docs = [make_doc(f"2026-{i:05d}") for i in range(2)]
    for doc in docs:
        write_dossier(station.root, doc)
    station("sync")
    shutil.rmtree(station.folder(docs[0]))
    assert station("sync").code == 0
    assert not hub.dossiers[docs[0]["id"]].deleted
    assert not station.folder(docs[0]).exists()  # not fetched back: nothing changed on the cloud


def test_two_passes_at_once_are_refused(hub, station):
    from comptoir_agent.config import Paths, StateLock

    with StateLock(Paths(station.root)):
        result = station("sync")
    assert result.code == 1 and "autre synchronisation" in result.err
