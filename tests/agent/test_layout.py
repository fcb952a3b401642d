"""Scanning the data folder: names, validation, and hashing only what changed."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import pytest

from comptoir_agent.journal import MIGRATIONS, FileHash, Journal, Record
from comptoir_agent.layout import name_problem, read_dossier, scan
from comptoir_agent.protocol import document_digest, with_manifest
from tests.agent.conftest import make_doc, write_dossier


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("rapport.pdf", True),
        ("Relevé n°2 (copie).pdf", True),
        (".hidden", True),
        ("", False),
        (".", False),
        ("..", False),
        ("../etc/passwd", False),
        ("a/b", False),
        ("a\\b", False),
        ("tab\there", False),
        ("nul\x00", False),
        ("del\x7f", False),
        ("é" * 127, True),
        ("é" * 128, False),
    ],
)
def test_name_safety(name, ok):
    assert (name_problem(name) is None) is ok


def _old(path: Path) -> None:
    """Age a file so that its hash is trusted (not 'racily clean')."""
    os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))


def test_scan_builds_the_synced_document(tmp_path):
    doc = make_doc("2026-00001", files=[{"name": "stale", "sha256": "0" * 64, "size": 0}])
    write_dossier(tmp_path, doc, {"b.pdf": b"bbb", "a.jpg": b"aa"})
    result = scan(tmp_path, {}, {})
    [found] = result.dossiers
    assert found.error is None
    assert found.id == doc["id"] and found.path == "2026/2026-00001"
    expected = with_manifest(
        doc,
        [
            {"name": "a.jpg", "sha256": hashlib.sha256(b"aa").hexdigest(), "size": 2},
            {"name": "b.pdf", "sha256": hashlib.sha256(b"bbb").hexdigest(), "size": 3},
        ],
    )
    assert found.doc == expected
    assert found.digest == document_digest(expected)
    assert result.hashed_files == 2


def test_scan_ignores_subfolders_temp_files_and_non_year_folders(tmp_path):
    doc = make_doc("2026-00002")
    folder = write_dossier(tmp_path, doc, {"a.pdf": b"a"})
    (folder / "sous-dossier").mkdir()
    (folder / "sous-dossier" / "x.pdf").write_bytes(b"x")
    for junk in (".comptoir-tmp-a.pdf", "~$rapport.docx", "Thumbs.db", ".~lock.a.odt#"):
        (folder / junk).write_bytes(b"junk")
    (tmp_path / "Parametres").mkdir()
    (tmp_path / "2026" / "sans-dossier-json").mkdir()
    [found] = scan(tmp_path, {}, {}).dossiers
    assert [f["name"] for f in found.doc["files"]] == ["a.pdf"]


def test_malformed_dossier_is_reported_and_others_continue(tmp_path):
    good = make_doc("2026-00003")
    write_dossier(tmp_path, good)
    bad = tmp_path / "2026" / "2026-00004"
    bad.mkdir(parents=True)
    (bad / "dossier.json").write_text("{not json")
    invalid = make_doc("2026-00005", status="perdu")
    write_dossier(tmp_path, invalid)
    found = {d.path: d for d in scan(tmp_path, {}, {}).dossiers}
    assert found["2026/2026-00003"].error is None
    assert "JSON valide" in found["2026/2026-00004"].error
    assert found["2026/2026-00005"].error.startswith("dossier.json invalide : status")
    assert found["2026/2026-00005"].id == invalid["id"]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (b'"client": {"name": "A\\ud800"}', "client.name"),  # an escaped half pair
        (b'"client": {"name": "A\xed\xa0\x80"}', "client.name"),  # its bytes, which json takes
        (b'"custom_fields": {"\\udc00": "x"}', "custom_fields"),  # in a key
        (b'"missions": ["dpe", "\\uDBFF"]', "missions[1]"),
    ],
)
def test_half_a_character_makes_its_dossier_red_and_the_scan_goes_on(tmp_path, text, where):
    """A lone surrogate has no UTF-8 form, so the document no canonical bytes: it was an
    error that stopped the whole scan."""
    good = make_doc("2026-00007")
    write_dossier(tmp_path, good)
    bad = make_doc("2026-00008")
    folder = write_dossier(tmp_path, bad)
    key = text.split(b":", 1)[0].strip(b'"').decode()
    bad.pop(key, None)
    raw = json.dumps(bad).encode()
    (folder / "dossier.json").write_bytes(raw[:-1] + b", " + text + b"}")
    found = {d.path: d for d in scan(tmp_path, {}, {}).dossiers}
    assert found["2026/2026-00007"].error is None and found["2026/2026-00007"].digest
    error = found["2026/2026-00008"].error
    assert error == (
        f"dossier.json : texte invalide dans {where} "
        "(une moitié de caractère isolée, pas de l'Unicode)"
    )


def test_a_whole_pair_escaped_is_one_character(tmp_path):
    doc = make_doc("2026-00009", client={"name": "Agence \U0001f3e0"})
    folder = write_dossier(tmp_path, doc)
    (folder / "dossier.json").write_text(json.dumps(doc), encoding="utf-8")  # "\ud83c\udfe0"
    [found] = scan(tmp_path, {}, {}).dossiers
    assert found.error is None and found.doc["client"]["name"] == "Agence \U0001f3e0"


def test_a_dossier_json_nested_too_deep_makes_its_dossier_red_and_the_scan_goes_on(tmp_path):
    """json.loads gives up past about a thousand levels with a RecursionError, which is no
    ValueError: it stopped the whole scan."""
    write_dossier(tmp_path, make_doc("2026-00011"))
    deep = tmp_path / "2026" / "2026-00012"
    deep.mkdir(parents=True)
    (deep / "dossier.json").write_text('{"client": ' + "[" * 100_000 + "]" * 100_000 + "}")
    found = {d.path: d for d in scan(tmp_path, {}, {}).dossiers}
    assert found["2026/2026-00011"].error is None
    assert found["2026/2026-00012"].error == (
        "dossier.json n'est pas du JSON valide : trop imbriqué"
    )


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_in_a_dossier_json_makes_its_dossier_red(tmp_path, constant):
    """Python reads NaN and Infinity, JSON has no such number and the hub refuses a body
    holding one: the whole push of 500 dossiers would fail for one of them."""
    doc = make_doc("2026-00013", custom_fields={"surface": "__here__"})
    folder = write_dossier(tmp_path, doc)
    raw = (folder / "dossier.json").read_text(encoding="utf-8")
    (folder / "dossier.json").write_text(raw.replace('"__here__"', constant), encoding="utf-8")
    [found] = scan(tmp_path, {}, {}).dossiers
    assert found.error == f"dossier.json n'est pas du JSON valide : {constant} n'est pas un nombre"
    assert found.doc is None


def test_a_file_written_while_it_is_read_waits_for_the_next_pass(tmp_path, monkeypatch):
    """A file whose size changed between the listing and the reading is being written
    (by the field software): its hash is not of the size listed, so its dossier waits
    for the next pass instead of going up with a size the hub would refuse."""
    from comptoir_agent import layout

    doc = make_doc("2026-00014")
    write_dossier(tmp_path, doc, {"a.pdf": b"debut", "b.pdf": b"stable"})
    listed = layout.list_folder

    def grown_since(folder):
        json_stat, stats, refused = listed(folder)
        stats = [s._replace(size=s.size - 1) if s.name == "a.pdf" else s for s in stats]
        return json_stat, stats, refused

    monkeypatch.setattr(layout, "list_folder", grown_since)
    [found] = scan(tmp_path, {}, {}).dossiers
    assert found.error == (
        "fichier 'a.pdf' en cours d'écriture pendant la lecture : il sera relu au prochain passage"
    )
    assert found.doc is None and "a.pdf" not in (found.hashes or {})
    monkeypatch.setattr(layout, "list_folder", listed)
    [again] = scan(tmp_path, {}, {}).dossiers
    assert again.error is None and again.doc is not None


def test_control_character_in_a_file_name_makes_the_dossier_red(tmp_path):
    doc = make_doc("2026-00006")
    write_dossier(tmp_path, doc, {"bad\x01name.pdf": b"x"})
    [found] = scan(tmp_path, {}, {}).dossiers
    assert found.error.startswith("nom de fichier refusé")
    assert found.id == doc["id"]


def test_unchanged_folder_is_not_read_nor_hashed(tmp_path):
    doc = make_doc("2026-00007")
    folder = write_dossier(tmp_path, doc, {"a.pdf": b"a" * 1000})
    for path in folder.iterdir():
        _old(path)
    first = scan(tmp_path, {}, {})
    [d] = first.dossiers
    record = Record(
        d.id,
        path=d.path,
        local_signature=d.signature,
        local_digest=d.digest,
        number=d.number,
        year=d.year,
    )
    # Same size and mtime but garbage inside: reading it would make the dossier red.
    path = folder / "dossier.json"
    path.write_bytes(b"x" * path.stat().st_size)
    _old(path)
    second = scan(tmp_path, {d.id: record}, {d.id: d.hashes})
    [again] = second.dossiers
    assert again.error is None
    assert again.digest == d.digest and again.doc is None and second.hashed_files == 0


def test_only_changed_files_are_hashed(tmp_path):
    doc = make_doc("2026-00008")
    folder = write_dossier(tmp_path, doc, {"a.pdf": b"a", "b.pdf": b"b"})
    for path in folder.iterdir():
        _old(path)
    [d] = scan(tmp_path, {}, {}).dossiers
    (folder / "b.pdf").write_bytes(b"changed")
    result = scan(tmp_path, {}, {d.id: d.hashes})
    assert result.hashed_files == 1
    [again] = result.dossiers
    assert again.digest != d.digest


def test_racy_files_are_hashed_again(tmp_path):
    doc = make_doc("2026-00009")
    write_dossier(tmp_path, doc, {"a.pdf": b"a"})
    [d] = scan(tmp_path, {}, {}).dossiers
    assert d.racy and d.hashes["a.pdf"].mtime_ns == -1


def test_read_dossier_uses_the_given_cache(tmp_path):
    doc = make_doc("2026-00010")
    folder = write_dossier(tmp_path, doc, {"a.pdf": b"a"})
    _old(folder / "a.pdf")
    st = (folder / "a.pdf").stat()
    fake = FileHash(st.st_size, st.st_mtime_ns, "f" * 64)  # trusted without hashing
    d = read_dossier(tmp_path, "2026/2026-00010", {"a.pdf": fake})
    assert d.doc["files"][0]["sha256"] == "f" * 64


def test_a_journal_of_the_previous_agent_is_upgraded_in_place(tmp_path):
    path = tmp_path / "j.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    db.execute("INSERT INTO dossiers(id, path, base_rev) VALUES ('id1', '2026/1', '1-a')")
    db.close()
    journal = Journal(path)
    assert journal.db.execute("PRAGMA user_version").fetchone()[0] == 2
    assert journal.record("id1").base_rev == "1-a"
    with journal.transaction():
        journal.note_sent([("id1", "2-b"), ("id1", "3-c")])
    assert set(journal.sent_revs(["id1", "id2"])["id1"]) == {"2-b", "3-c"}
    with journal.transaction():
        journal.clear_sent("id1")
    assert journal.sent_revs(["id1"]) == {}


def test_journal_roundtrip_and_migrations(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    assert journal.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 2
    with journal.transaction():
        journal.save(Record("id1", path="2026/1", base_rev="1-a", remote_conflict=True))
        journal.set_hashes("id1", {"a.pdf": FileHash(1, 2, "s" * 64)})
        journal.set_meta("checkpoint", "42")
    journal.close()
    again = Journal(tmp_path / "j.sqlite3")
    record = again.records()["id1"]
    assert record.path == "2026/1" and record.remote_conflict is True
    assert again.record("id1") == record
    assert again.all_hashes() == {"id1": {"a.pdf": FileHash(1, 2, "s" * 64)}}
    assert again.files_with_hashes(["s" * 64, "t" * 64]) == {"s" * 64: [("id1", "a.pdf")]}
    assert again.checkpoint() == 42


def _files_rows(path: Path) -> list[tuple[str, str]]:
    """What another connection reads of the hash cache (what is on disk)."""
    with sqlite3.connect(path) as other:
        return sorted(other.execute("SELECT dossier, name FROM files").fetchall())


def test_deferred_hashes_are_written_before_any_use_of_the_cache(tmp_path):
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    one = {"a.pdf": FileHash(1, 2, "s" * 64)}
    journal.defer_hashes({"id1": one, "id2": {"b.pdf": FileHash(3, 4, "t" * 64)}})
    assert _files_rows(path) == []  # not yet
    assert journal.hashes("id1") == one  # a read writes them first
    assert _files_rows(path) == [("id1", "a.pdf"), ("id2", "b.pdf")]
    for use in (
        lambda: journal.all_hashes(),
        lambda: journal.files_with_hashes(["s" * 64]),
        lambda: list(journal.hashes_by_dossier()),
        lambda: len(journal.hashes_by_dossier()),
        lambda: journal.set_hashes("id3", {}),
    ):
        journal.defer_hashes({"id1": {"c.pdf": FileHash(5, 6, "u" * 64)}})
        use()
        assert ("id1", "c.pdf") in _files_rows(path)
        journal.set_hashes("id1", one)
    journal.defer_hashes({"id1": {"c.pdf": FileHash(5, 6, "u" * 64)}})
    with journal.transaction():
        journal.forget("id1")  # written, then forgotten, in that order
    assert _files_rows(path) == [("id2", "b.pdf")]


def test_deferred_hashes_are_written_when_the_journal_closes(tmp_path):
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    journal.defer_hashes({"id1": {"a.pdf": FileHash(1, 2, "s" * 64)}})
    journal.close()
    assert Journal(path).hashes("id1") == {"a.pdf": FileHash(1, 2, "s" * 64)}


def test_deferred_hashes_lost_in_a_crash_are_hashed_again(tmp_path):
    """The hashes are a cache: a pass cut before they are written leaves the journal
    without them, and the next scan reads and hashes those files again, rightly."""
    doc = make_doc("2026-00010")
    write_dossier(tmp_path / "data", doc, {"a.pdf": b"premier"})
    journal = Journal(tmp_path / "j.sqlite3")
    first = {d.path: d for d in scan(tmp_path / "data", {}, {}).dossiers}["2026/2026-00010"]
    record = Record(doc["id"], path=first.path, local_signature=first.signature)
    record.local_digest = first.digest
    with journal.transaction():
        journal.save(record)
    journal.defer_hashes({doc["id"]: first.hashes})
    journal.db.close()  # the process dies: the deferred hashes are gone
    again = Journal(tmp_path / "j.sqlite3")
    assert again.hashes(doc["id"]) == {}
    [rescanned] = scan(tmp_path / "data", again.records(), again.hashes_by_dossier()).dossiers
    assert rescanned.digest == first.digest  # the signature matches: the digest is kept
    from comptoir_agent.layout import read_dossier

    fresh = read_dossier(tmp_path / "data", first.path, again.hashes(doc["id"]))
    assert fresh.doc is not None and fresh.doc["files"] == first.doc["files"]


def test_journal_transaction_rolls_back(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    with pytest.raises(RuntimeError), journal.transaction():
        journal.save(Record("id1"))
        raise RuntimeError
    assert journal.records() == {}


def test_a_path_belongs_to_one_dossier(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    with journal.transaction():
        journal.save(Record("id1", path="2026/1"))
        journal.save(Record("id2", path="2026/1"))
    records = journal.records()
    assert records["id1"].path is None and records["id2"].path == "2026/1"


def test_reserved_numbers(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    journal.add_numbers("dossier", ["2026-00010", "2026-00011"], "DUJ")
    journal.add_numbers("dossier", ["2026-00020"], "")
    assert journal.take_number("dossier", "ABC") == "2026-00020"
    assert journal.take_number("dossier", "DUJ") == "2026-00010"
    assert journal.take_number("dossier", "") == "2026-00011"
    assert journal.take_number("dossier", "") is None
    assert journal.unused_numbers("dossier") == []


def test_newer_journal_is_refused(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    journal.db.execute("PRAGMA user_version = 99")
    journal.close()
    with pytest.raises(RuntimeError, match="plus récente"):
        Journal(tmp_path / "j.sqlite3")


def test_written_document_reads_back_identically(tmp_path):
    doc = make_doc("2026-00011", custom_fields={"ratio": 0.1, "x": "é"})
    folder = write_dossier(tmp_path, doc)
    (folder / "dossier.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False))
    [d] = scan(tmp_path, {}, {}).dossiers
    assert d.digest == document_digest(with_manifest(doc, []))
