"""Blob bytes in the storage, named by their SHA-256 (see models.blob_path).

Local files by default, any Django storage (S3-compatible) by configuration.
On a local file system, writes go straight to the final name through a
temporary file and a rename: a crash never leaves half a blob under a hash.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, default_storage

from comptoir.core.models import Organization
from comptoir.dossiers.models import blob_path

CHUNK = 1024 * 1024


def _local_root() -> str | None:
    storage = default_storage
    if isinstance(storage, FileSystemStorage) or (
        hasattr(storage, "_wrapped") and isinstance(storage._wrapped, FileSystemStorage)
    ):
        return str(storage.location)  # type: ignore[attr-defined]
    return None


def _write_local(root: str, name: str, chunks: Iterator[bytes]) -> None:
    final = os.path.join(root, name)
    if os.path.exists(final):
        return
    folder = os.path.dirname(final)
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".part-")
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        os.replace(temporary, final)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def exists(org: Organization, sha256: str) -> bool:
    return bool(default_storage.exists(blob_path(org, sha256)))


def put_bytes(org: Organization, sha256: str, data: bytes) -> str:
    name = blob_path(org, sha256)
    root = _local_root()
    if root is not None:
        _write_local(root, name, iter((data,)))
    elif not default_storage.exists(name):
        default_storage.save(name, ContentFile(data))
    return name


def put_stream(org: Organization, sha256: str, stream: BinaryIO) -> str:
    name = blob_path(org, sha256)
    stream.seek(0)
    root = _local_root()
    if root is not None:
        _write_local(root, name, iter(lambda: stream.read(CHUNK), b""))
    elif not default_storage.exists(name):
        default_storage.save(name, File(stream))
    stream.seek(0)
    return name


def open_blob(org: Organization, sha256: str) -> BinaryIO:
    return default_storage.open(blob_path(org, sha256), "rb")  # type: ignore[return-value]


def delete(org: Organization, sha256: str) -> None:
    default_storage.delete(blob_path(org, sha256))
