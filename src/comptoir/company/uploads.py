"""What an uploaded file really is: read its first bytes, never trust its name or type."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import IO

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from comptoir.core.errors import DomainError

MAX_PDF_BYTES = 20 * 1024 * 1024
MAX_LOGO_BYTES = 2 * 1024 * 1024
IMAGE_SIGNATURES = [
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
]


@dataclass(frozen=True)
class Inspected:
    name: str
    size: int
    sha256: str
    head: bytes
    content_type: str = "application/octet-stream"


def inspect(upload: IO[bytes], name: str) -> Inspected:
    """Size, SHA-256 and the first bytes of a file; the stream is rewound."""
    hasher, size, head = hashlib.sha256(), 0, b""
    upload.seek(0)
    for chunk in iter(lambda: upload.read(1024 * 1024), b""):
        if not head:
            head = chunk[:16]
        hasher.update(chunk)
        size += len(chunk)
    upload.seek(0)
    filename = (name or "fichier").replace("\\", "/").rsplit("/", 1)[-1][:255] or "fichier"
    return Inspected(filename, size, hasher.hexdigest(), head)


def _check_size(found: Inspected, limit: int, field: str) -> None:
    if found.size == 0:
        raise DomainError(
            _("The file “%(name)s” is empty.") % {"name": found.name}, details={"field": field}
        )
    if found.size > limit:
        raise DomainError(
            _("The file “%(name)s” is larger than %(limit)s.")
            % {"name": found.name, "limit": filesizeformat(limit)},
            details={"field": field},
        )


def check_pdf(upload: IO[bytes], name: str) -> Inspected:
    """A real PDF: it starts with "%PDF-", whatever its name says."""
    found = inspect(upload, name)
    _check_size(found, MAX_PDF_BYTES, "file")
    if not found.head.startswith(b"%PDF-"):
        raise DomainError(
            _("“%(name)s” is not a PDF file: export the document as PDF and upload it again.")
            % {"name": found.name},
            code="not_a_pdf",
            details={"field": "file"},
        )
    return Inspected(found.name, found.size, found.sha256, found.head, "application/pdf")


def check_image(upload: IO[bytes], name: str) -> Inspected:
    """A PNG, JPEG, GIF or WebP image (recognised by its signature), at most 2 MB.

    SVG is refused: it can carry scripts, and documents render bitmaps anyway.
    """
    found = inspect(upload, name)
    _check_size(found, MAX_LOGO_BYTES, "logo")
    for signature, content_type, _extension in IMAGE_SIGNATURES:
        if found.head.startswith(signature):
            return Inspected(found.name, found.size, found.sha256, found.head, content_type)
    if found.head[:4] == b"RIFF" and found.head[8:12] == b"WEBP":
        return Inspected(found.name, found.size, found.sha256, found.head, "image/webp")
    raise DomainError(
        _("“%(name)s” is not a PNG, JPEG, GIF or WebP image.") % {"name": found.name},
        code="not_an_image",
        details={"field": "logo"},
    )
