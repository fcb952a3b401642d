"""What an uploaded receipt really is, read from its first bytes (never its name or the
type the browser claims): a JPEG, PNG or HEIC photo, or a PDF, 20 MB at most."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import IO

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from comptoir.core.errors import DomainError

MAX_RECEIPT_BYTES = 20 * 1024 * 1024
ACCEPT = (
    ".jpg,.jpeg,.png,.heic,.heif,.pdf,image/jpeg,image/png,image/heic,image/heif,application/pdf"
)
# ISO base media "ftyp" brands of HEIF photos (iPhones write "heic").
HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}
HEIF_BRANDS = {b"mif1", b"msf1"}


@dataclass(frozen=True)
class ReceiptFile:
    name: str
    size: int
    sha256: str
    content_type: str


def kind_of(head: bytes) -> str | None:
    """The content type the first 16 bytes announce, or None."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in HEIC_BRANDS:
            return "image/heic"
        if brand in HEIF_BRANDS:
            return "image/heif"
    return None


def inspect_receipt(upload: IO[bytes], name: str) -> ReceiptFile:
    """Size, fingerprint and type of a receipt file; refused (naming the file) when it is
    empty, too large, or not a photo or a PDF. The stream is rewound."""
    filename = (name or "justificatif").replace("\\", "/").rsplit("/", 1)[-1][:200]
    filename = filename.strip() or "justificatif"
    hasher, size, head = hashlib.sha256(), 0, b""
    upload.seek(0)
    for chunk in iter(lambda: upload.read(1024 * 1024), b""):
        if len(head) < 16:
            head += chunk[: 16 - len(head)]
        hasher.update(chunk)
        size += len(chunk)
    upload.seek(0)
    if size == 0:
        raise DomainError(
            _("The file “%(name)s” is empty.") % {"name": filename}, details={"field": "file"}
        )
    if size > MAX_RECEIPT_BYTES:
        raise DomainError(
            _("The file “%(name)s” is larger than %(limit)s.")
            % {"name": filename, "limit": filesizeformat(MAX_RECEIPT_BYTES)},
            details={"field": "file"},
        )
    content_type = kind_of(head)
    if content_type is None:
        raise DomainError(
            _("“%(name)s” is not a photo (JPEG, PNG, HEIC) or a PDF.") % {"name": filename},
            code="unsupported_file",
            details={"field": "file"},
        )
    return ReceiptFile(filename, size, hasher.hexdigest(), content_type)
