"""`fsync_all`: many staged files are made durable with one syncfs per file system on
Linux, an fsync each elsewhere (or when syncfs fails)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from comptoir_agent import files


def staged(tmp_path: Path, count: int) -> list[Path]:
    paths = []
    for index in range(count):
        path = tmp_path / f"{files.TEMP_PREFIX}{index}"
        files.stage_bytes(path, b"x" * index, durable=False)
        paths.append(path)
    return paths


def count_fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(files.os, "fsync", counting)
    return calls


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="syncfs is Linux's")
def test_many_files_take_one_syncfs_and_no_fsync(tmp_path, monkeypatch):
    calls = count_fsyncs(monkeypatch)
    files.fsync_all(staged(tmp_path, files.SYNCFS_FROM))
    assert calls == []


def test_without_syncfs_each_file_is_fsynced(tmp_path, monkeypatch):
    calls = count_fsyncs(monkeypatch)
    monkeypatch.setattr(files, "_syncfs", lambda paths, directories: False)
    files.fsync_all(staged(tmp_path, files.SYNCFS_FROM))
    assert len(calls) == files.SYNCFS_FROM


def test_a_few_files_are_fsynced_one_by_one(tmp_path, monkeypatch):
    calls = count_fsyncs(monkeypatch)
    files.fsync_all(staged(tmp_path, 3))
    assert len(calls) == 3


def test_directories_too(tmp_path, monkeypatch):
    folders = []
    for index in range(files.SYNCFS_FROM):
        folder = tmp_path / str(index)
        folder.mkdir()
        folders.append(folder)
    monkeypatch.setattr(files, "_syncfs", lambda paths, directories: False)
    calls = count_fsyncs(monkeypatch)
    files.fsync_all(folders, directories=True)
    assert len(calls) == len(folders)


WEIRD_DOCS = [
    {},
    {"a": []},
    {"a": {}, "b": [[], {}, [1, [2, {"c": None}]]]},
    {"texte": 'é à “guillemets” \\ " \n \t \x00 \u2028 😀', "clé é": "v"},
    {"n": [0, -1, 10**30, 1.5, -0.0, 1e-7, 1e300, float("inf"), float("-inf"), float("nan")]},
    {"b": [True, False, None], "t": (1, "deux")},
    {"missions": ["dpe", "amiante"], "files": [{"name": "a.pdf", "sha256": "a" * 64, "size": 3}]},
]


@pytest.mark.parametrize("doc", WEIRD_DOCS)
def test_dossier_json_is_written_exactly_as_json_dumps_would(doc):
    expected = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    assert files.json_bytes(doc) == expected


def test_the_example_and_its_variants_are_written_exactly_as_json_dumps_would():
    from tests.agent.test_schema import _mutations

    for _path, _value, doc in _mutations():
        if isinstance(doc, dict):
            expected = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
            assert files.json_bytes(doc) == expected


def test_what_json_dumps_converts_or_refuses_is_left_to_it():
    assert files.json_bytes({1: "a", None: 2}) == b'{\n  "1": "a",\n  "null": 2\n}\n'
    with pytest.raises(TypeError):
        files.json_bytes({"a": {1, 2}})


@pytest.mark.parametrize("size", [0, 1, 8192, 65536, 65537, 3 * 1024 * 1024 + 5])
def test_read_whole_reads_every_byte(tmp_path, size):
    path = tmp_path / "f.bin"
    data = os.urandom(size)
    path.write_bytes(data)
    assert files.read_whole(path) == data


def test_read_whole_names_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        files.read_whole(tmp_path / "absent.pdf")
    assert caught.value.filename == str(tmp_path / "absent.pdf")
