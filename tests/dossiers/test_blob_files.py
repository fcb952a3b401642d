"""Blob files on local storage: written through a temporary name and a rename, with a
temporary file a crashed process left under the same name replaced, not fatal."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from comptoir.dossiers import blobs
from comptoir.dossiers.models import blob_path
from tests.agenda.factories import a_dossier


@pytest.fixture
def root(settings, tmp_path) -> Path:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    return tmp_path


@pytest.mark.parametrize("checked", [False, True])
def test_a_leftover_temporary_file_is_replaced(people, root, monkeypatch, checked):
    org = a_dossier(people).organization
    data = b"rapport"
    sha = hashlib.sha256(data).hexdigest()
    folder = (root / blob_path(org, sha)).parent
    folder.mkdir(parents=True)
    leftover = folder / ".part-crashed"
    leftover.write_bytes(b"half a file")
    monkeypatch.setattr(blobs, "_part_name", lambda _folder: str(leftover))
    if checked:
        assert blobs.put_checked(org, sha, iter([b"rap", b"port"]))
    else:
        blobs.put_bytes(org, sha, data)
    assert (root / blob_path(org, sha)).read_bytes() == data
    assert not leftover.exists()


def test_checked_bytes_that_do_not_match_leave_nothing(people, root):
    org = a_dossier(people).organization
    sha = hashlib.sha256(b"right").hexdigest()
    assert blobs.put_checked(org, sha, iter([b"wrong"])) is False
    folder = (root / blob_path(org, sha)).parent
    assert list(folder.iterdir()) == []
